//! `GET /v1/paper/{authority}/{number}`: the printable page and the seal of
//! one of this node's documents, signed by the announced paper key, each
//! print recorded.

use crate::rig::*;
use axum::http::StatusCode;
use std::sync::Arc;
use tally_api::paper::PaperDesk;
use tally_model::signer::{FileSigner, Signer as _};
use tally_verify::paper::{Genuine, PaperKey};

/// This node's point of contact (its `contact` setting).
const CONTACT: &str = "Licensing desk, +1 202 555 0100";

fn desk(r: &Rig) -> (PaperDesk, [u8; 32]) {
    let signer = FileSigner::new(&key(50));
    let public = signer.public_key();
    let audit = r.dir.path().join("paper-prints.jsonl");
    let desk = PaperDesk::new(Arc::new(signer), audit).with_contact(Some(CONTACT.into()));
    (desk, public)
}

#[tokio::test]
async fn a_print_carries_a_genuine_seal_and_is_recorded() {
    let mut r = Rig::new();
    r.foreign_documents();
    let (paper, public) = desk(&r);
    r.state = r.state.clone().with_paper(paper);
    r.app = tally_api::router(r.state.clone());
    let (i, o) = (Some(r.issuer.as_str()), Some(r.officer.as_str()));
    assert_eq!(
        r.post("/v1/licenses", i, &export("EXP-1")).await.status,
        StatusCode::CREATED
    );

    // Not announced yet: no print.
    let a = r.get("/v1/paper/US-DDTC/EXP-1", i).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    r.state
        .verifier
        .issuer()
        .announce_paper_key(public)
        .expect("announces")
        .expect("a new entry");
    assert!(
        r.state
            .verifier
            .issuer()
            .announce_paper_key(public)
            .expect("ok")
            .is_none(),
        "announced once"
    );

    let a = r.get("/v1/paper/US-DDTC/EXP-1?format=seal", i).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.content_type().starts_with("text/plain"));
    let seal = tally_verify::paper::read(&a.text).expect("a seal");
    assert_eq!(seal.summary.number, "EXP-1");
    assert_eq!(seal.summary.route, ["US", "GT", "MX"]);
    let keys = [PaperKey {
        authority: US.into(),
        public_key: public,
        compromised: false,
    }];
    assert_eq!(seal.genuine(&keys), Genuine::Genuine);
    let announced = r
        .state
        .verifier
        .reader()
        .expect("reader")
        .paper_keys(&US.parse().expect("id"))
        .expect("keys");
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].public_key, hex::encode(public));

    let page = r.get("/v1/paper/US-DDTC/EXP-1", i).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.text.contains("<svg"), "the QR code");
    assert!(page.text.contains("Importadora del Norte SA"));
    assert!(page.text.contains("AC1000"), "the serials are on the page");
    assert!(page.headers.get("content-security-policy").is_some());

    let audit = std::fs::read_to_string(r.dir.path().join("paper-prints.jsonl")).expect("audit");
    assert_eq!(audit.lines().count(), 2, "{audit}");
    assert!(audit.lines().all(|l| l.contains("\"number\":\"EXP-1\"")));

    // The bundle an officer's verifier holds: the announced key, the
    // document's status, a signature that holds for it.
    let b = r.get("/v1/paper/bundle", o).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    let bundle: tally_verify::paper::Bundle = serde_json::from_str(&b.text).expect("a bundle");
    bundle
        .verified(Some(&public))
        .expect("signed by the paper key");
    assert_eq!(bundle.produced_by, US);
    let own = bundle.authorities.iter().find(|a| a.authority == US);
    assert_eq!(
        own.and_then(|a| a.contact.as_deref()),
        Some(CONTACT),
        "the bundle names this authority's point of contact"
    );
    assert!(
        bundle
            .statuses
            .iter()
            .any(|st| st.number == "EXP-1" && st.status == "active")
    );
    assert!(
        bundle
            .statuses
            .iter()
            .any(|st| st.authority == "MX-SEDENA" && st.number == "IC-1"),
        "the documents this node reads"
    );
    assert_eq!(bundle.genuine(&seal), Genuine::Genuine);
    assert_eq!(bundle.status_of(&seal, seal.times.printed_at), "active");

    // The authorities list this node's paper key beside its other keys.
    let list = r.get("/v1/authorities", o).await.json();
    let keys = list[0]["keys"].as_array().expect("keys").clone();
    assert!(
        keys.iter()
            .any(|k| k["purpose"] == "paper" && k["key_id"] == hex::encode(public)),
        "{list}"
    );

    // Another authority's document, an unknown one, an officer.
    let a = r.get("/v1/paper/MX-SEDENA/IC-1", i).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    let a = r.get("/v1/paper/US-DDTC/NOPE", i).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    let a = r.get("/v1/paper/US-DDTC/EXP-1", o).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// A rig whose paper key is announced; the key's public half.
fn announced() -> (Rig, [u8; 32]) {
    let mut r = Rig::new();
    r.foreign_documents();
    let (paper, public) = desk(&r);
    r.state = r.state.clone().with_paper(paper);
    r.app = tally_api::router(r.state.clone());
    r.state
        .verifier
        .issuer()
        .announce_paper_key(public)
        .expect("announces");
    (r, public)
}

#[tokio::test]
async fn serials_past_the_main_page_go_on_annex_pages_each_sealed() {
    let (r, public) = announced();
    let i = Some(r.issuer.as_str());
    let mut doc = export("EXP-9");
    let serials: Vec<String> = (0..450).map(|n| format!("zx-{n:04}")).collect();
    doc["items"][0]["quantity"] = 450.into();
    doc["items"][0]["serials"] = serde_json::json!(serials);
    // IC-1 covers 100 pistols: IC-9 covers these.
    let mut ic = import_certificate("IC-9");
    ic["items"][0]["quantity"] = 500.into();
    r.ingest_foreign(MX, ic);
    doc["import_certificate"]["number"] = "IC-9".into();
    let a = r.post("/v1/licenses", i, &doc).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);

    let keys = [PaperKey {
        authority: US.into(),
        public_key: public,
        compromised: false,
    }];
    let a = r.get("/v1/paper/US-DDTC/EXP-9?format=seal", i).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let texts: Vec<&str> = a.text.lines().collect();
    assert_eq!(texts.len(), 4, "the main seal and 3 annex pages'");
    let main = tally_verify::paper::read(texts[0]).expect("the main seal");
    assert!(main.annex.is_none());
    assert_eq!(main.genuine(&keys), Genuine::Genuine);
    assert_eq!(main.summary.lines[0].serial_count, 450);
    let mut total = 0;
    for (k, text) in texts[1..].iter().enumerate() {
        let seal = tally_verify::paper::read(text).expect("an annex seal");
        assert_eq!(seal.genuine(&keys), Genuine::Genuine, "annex {k}");
        let annex = seal.annex.expect("an annex");
        assert_eq!((annex.line, annex.part, annex.parts), (1, k as u32 + 1, 3));
        assert_eq!(seal.summary.number, "EXP-9");
        total += annex.count;
    }
    assert_eq!(total, 450, "the parts' counts add up to the line's");

    // The page: the main sheet says where the serials are, then three
    // annex sheets, each with its serials and its own QR code.
    let page = r.get("/v1/paper/US-DDTC/EXP-9", i).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let html = &page.text;
    assert!(html.contains("On annex pages 1 to 3."), "{html:.2000}");
    assert_eq!(html.matches("<article class=\"annex\"").count(), 3);
    assert_eq!(html.matches("<svg").count(), 4, "four QR codes");
    assert!(html.contains("Annex 3 of 3"));
    assert!(html.contains("<li>ZX0449</li>"), "normalized, on its annex");
    assert!(
        html.contains("start=\"201\"><li>ZX0200</li>"),
        "numbered through the line"
    );
    let main_sheet = &html[..html.find("<article").expect("an annex")];
    assert!(!main_sheet.contains("zx-0001"), "not on the main sheet");
    let audit = std::fs::read_to_string(r.dir.path().join("paper-prints.jsonl")).expect("audit");
    assert!(
        audit.lines().all(|l| l.contains("\"annexes\":3")),
        "{audit}"
    );
}

#[tokio::test]
async fn a_document_of_too_many_lines_is_not_printed() {
    let (r, _) = announced();
    let i = Some(r.issuer.as_str());
    let mut doc = export("EXP-10");
    let line = doc["items"][0].clone();
    let items: Vec<serde_json::Value> = (1..=40)
        .map(|n| {
            let mut it = line.clone();
            it["line"] = n.into();
            it["quantity"] = 2.into();
            it["serials"] = serde_json::json!([format!("L{n}A"), format!("L{n}B")]);
            it
        })
        .collect();
    doc["items"] = serde_json::json!(items);
    let a = r.post("/v1/licenses", i, &doc).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let a = r.get("/v1/paper/US-DDTC/EXP-10", i).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    let e = a.json();
    assert_eq!(e["error"]["code"], "seal_too_large");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("40 item lines") && message.contains("version 25"),
        "{message}"
    );
    assert!(
        !r.dir.path().join("paper-prints.jsonl").exists(),
        "a refused print is not recorded"
    );
}
