//! The lists the console's forms pick from: `GET /v1/licenses` (filtered,
//! paged summaries with what is left per line) and
//! `GET /v1/licenses/{authority}/{number}/amendable` (what an amendment may
//! change, in the words the amendment rules refuse with).

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// `(authority, number)` of every summary of a page.
fn refs(page: &Value) -> Vec<(String, String)> {
    page["licenses"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|s| {
                    (
                        s["authority"].as_str().unwrap_or_default().to_string(),
                        s["number"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The summary of `number` in `page`.
fn of<'a>(page: &'a Value, number: &str) -> &'a Value {
    page["licenses"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["number"] == number))
        .unwrap_or_else(|| panic!("{number} not listed: {page}"))
}

async fn page(r: &Rig, query: &str) -> Value {
    let a = r
        .get(&format!("/v1/licenses{query}"), Some(&r.officer))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.text);
    a.json()
}

#[tokio::test]
async fn the_forms_pick_from_filtered_pages_with_what_is_left() {
    let r = Rig::new();
    r.foreign_documents();
    r.ingest_foreign(MX, import_certificate("IC-2"));
    r.issue(&export("EXP-1")).await;
    let o = Some(r.officer.as_str());
    let exit = shipment("EXP-1", "US", "exit", 10, &["AC1000"], true);
    let a = r.post("/v1/shipments/verify", o, &exit).await;
    assert_eq!(a.json()["verdict"], "accept", "{}", a.text);

    // The import certificates for this exporting country, with what each has left.
    let ics = page(&r, "?kind=import&exporting=US&status=active").await;
    let mut got = refs(&ics);
    got.sort();
    assert_eq!(
        got,
        [(MX.to_string(), "IC-1".into()), (MX.into(), "IC-2".into())]
    );
    let ic1 = of(&ics, "IC-1");
    let firearms = |s: &Value| {
        s["allocation"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["category"] == "firearm").cloned())
            .unwrap_or_else(|| panic!("no firearm allocation: {s}"))
    };
    assert_eq!(
        firearms(ic1),
        json!({"category": "firearm", "unit": "units", "licensed": 100, "allocated": 100, "left": 0})
    );
    assert_eq!(firearms(of(&ics, "IC-2"))["left"], 100);
    assert_eq!(ic1["importer"]["name"], "Importadora del Norte SA");
    assert_eq!(ic1["citing"], 1);

    // The export: per line what crossed, serials counted, not listed.
    let exports = page(&r, "?kind=export").await;
    let e = of(&exports, "EXP-1");
    assert_eq!(e["status"], "active");
    assert_eq!(e["transit_countries"], json!(["GT"]));
    let line = &e["lines"][0];
    assert_eq!(
        (
            line["line"].clone(),
            line["quantity"].clone(),
            line["exit"].clone(),
            line["entry"].clone(),
            line["delivered"].clone(),
            line["undelivered"].clone(),
            line["serials"].clone()
        ),
        (
            json!(1),
            json!(100),
            json!(10),
            json!(0),
            json!(0),
            json!(0),
            json!(2)
        ),
        "{e}"
    );
    assert!(e.get("items").is_none(), "{e}");

    // Route filters: through GT yes, through PA no; nothing undelivered yet.
    assert_eq!(refs(&page(&r, "?kind=export&transit=GT").await).len(), 1);
    assert_eq!(refs(&page(&r, "?kind=export&transit=PA").await).len(), 0);
    assert_eq!(
        refs(&page(&r, "?kind=export&undelivered=true").await).len(),
        0
    );
    assert_eq!(refs(&page(&r, "?country=GT&kind=transit").await).len(), 1);
    assert_eq!(refs(&page(&r, "?status=revoked").await).len(), 0);
    assert_eq!(refs(&page(&r, &format!("?authority={US}")).await).len(), 1);

    // Pages, newest first: every document once.
    let all = page(&r, "").await;
    assert_eq!(refs(&all).len(), 4, "{all}");
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let q = match &before {
            None => "?limit=3".to_string(),
            Some(b) => format!("?limit=3&before={}", enc(b)),
        };
        let p = page(&r, &q).await;
        seen.extend(refs(&p));
        match p["next"].as_str() {
            Some(n) => before = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, refs(&all));
    // The newest first: the export was issued after the foreign documents' time.
    assert_eq!(seen[0], (US.to_string(), "EXP-1".to_string()));
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_bad_filter_is_400() {
    let r = Rig::new();
    for q in [
        "?kind=permit",
        "?status=lost",
        "?country=usa",
        "?transit=1",
        "?limit=0",
        "?limit=201",
        "?before=yesterday",
        "?authority=nobody",
        "?colour=red",
    ] {
        let a = r.get(&format!("/v1/licenses{q}"), Some(&r.officer)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}: {}", a.text);
        assert_eq!(a.error_code(), "invalid_json", "{q}");
    }
}

#[tokio::test]
async fn the_server_says_what_an_amendment_may_change_in_the_rules_words() {
    let r = Rig::new();
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let o = Some(r.officer.as_str());
    let exit = shipment("EXP-1", "US", "exit", 10, &[], true);
    r.post("/v1/shipments/verify", o, &exit).await;

    let a = r.get("/v1/licenses/US-DDTC/EXP-1/amendable", o).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["amendable"], true, "{v}");
    assert_eq!(v["reason"], Value::Null);
    assert_eq!(v["document"]["number"], "EXP-1");
    let rule = |p: &str| {
        v["rules"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["pointer"] == p).cloned())
            .unwrap_or_else(|| panic!("no rule for {p}: {v}"))
    };
    assert_eq!(rule("/carriers")["change"], "free");
    assert_eq!(rule("/items/*/quantity")["change"], "lower");
    assert_eq!(rule("/valid_until")["change"], "earlier");
    assert_eq!(rule("/transit_countries")["change"], "remove_only");
    assert_eq!(
        v["floors"][0],
        json!({"pointer": "/items/0/quantity", "min": 10})
    );

    // What the table calls frozen, the amendment rules refuse in its words.
    for (pointer, edit) in [
        ("/exporter", json!({"name": "Other Arms LLC"})),
        ("/brokers", json!([{"name": "Broker LLC"}])),
        ("/conditions", json!("none at all")),
    ] {
        let frozen = rule(pointer);
        assert_eq!(frozen["change"], "frozen", "{pointer}");
        let mut doc = v["document"].clone();
        doc[&pointer[1..]] = edit;
        let a = r
            .post(
                "/v1/licenses/US-DDTC/EXP-1/amend?dry_run=true",
                Some(&r.issuer),
                &doc,
            )
            .await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
        let message = a.json()["error"]["message"].clone();
        assert!(
            message
                .as_str()
                .zip(frozen["reason"].as_str())
                .is_some_and(|(m, why)| m.contains(why)),
            "{pointer}: refused with {message}, the table says {}",
            frozen["reason"]
        );
    }

    // Another authority's document: listed, not amendable here.
    let a = r.get("/v1/licenses/MX-SEDENA/IC-1/amendable", o).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["amendable"], false);
    assert!(
        v["reason"]
            .as_str()
            .is_some_and(|s| s.contains("another authority")),
        "{v}"
    );
    assert!(v["allocated"].is_array(), "{v}");
    let a = r.get("/v1/licenses/US-DDTC/NOPE/amendable", o).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
}
