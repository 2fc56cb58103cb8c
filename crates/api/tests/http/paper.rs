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
