//! Migrated records: a license issued before Tally, brought in with its
//! original date of issue and what crossed before; its countdown starts
//! from that, and it may cite an import certificate that never entered Tally.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

fn migrated(number: &str, certificate: &str) -> Value {
    let mut doc = export(number);
    doc["import_certificate"]["number"] = json!(certificate);
    doc["migrated"] = json!(true);
    doc["original_issue_date"] = json!("2025-06-02");
    doc["items"][0]["shipped_before"] = json!(40);
    doc
}

fn check<'a>(v: &'a Value, rule: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["rule"] == rule)
        .expect("rule")
}

#[tokio::test]
async fn a_migrated_license_counts_down_from_what_crossed_before() {
    let r = Rig::new();
    r.foreign_documents();
    let (i, o) = (Some(r.issuer.as_str()), Some(r.officer.as_str()));

    // Not migrated: the certificate must be held, and shipped_before is refused.
    let mut plain = export("EXP-1");
    plain["import_certificate"]["number"] = json!("IC-OLD");
    let a = r.post("/v1/licenses", i, &plain).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert!(a.text.contains("not held"), "{}", a.text);
    let mut half = migrated("EXP-1", "IC-OLD");
    half["migrated"] = json!(false);
    let a = r.post("/v1/licenses", i, &half).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    let refused = a.json();
    let pointers: Vec<&str> = refused["error"]["details"]
        .as_array()
        .expect("details")
        .iter()
        .filter_map(|d| d["pointer"].as_str())
        .collect();
    assert!(
        pointers.contains(&"/original_issue_date") && pointers.contains(&"/items/0/shipped_before"),
        "{pointers:?}"
    );

    // Migrated: issued, citing a certificate this node never held.
    let a = r
        .post("/v1/licenses", i, &migrated("EXP-1", "IC-OLD"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let l = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json();
    assert_eq!(l["document"]["migrated"], true);
    assert_eq!(l["document"]["original_issue_date"], "2025-06-02");
    assert_eq!(l["tally"][0]["shipped_before"], 40);

    // 100 licensed, 40 crossed before Tally: 60 left at the border.
    let over = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "US", "exit", 61, &[], false),
        )
        .await
        .json();
    assert_eq!(over["verdict"], "reject", "{over}");
    let q = check(&over, "items.quantity");
    assert_eq!(q["ok"], false);
    assert!(
        q["detail"].as_str().expect("detail").contains("60 left"),
        "{q}"
    );
    let ok = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "US", "exit", 60, &[], false),
        )
        .await
        .json();
    assert_eq!(ok["verdict"], "accept", "{ok}");
    let ic = check(&ok, "import.authorization");
    assert!(
        ic["detail"]
            .as_str()
            .expect("detail")
            .contains("migrated record"),
        "{ic}"
    );

    // What crossed before is a floor for amendments, and the migration is frozen.
    let mut lower = migrated("EXP-1", "IC-OLD");
    lower["items"][0]["quantity"] = json!(39);
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &lower).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    let mut moved = migrated("EXP-1", "IC-OLD");
    moved["original_issue_date"] = json!("2025-06-03");
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &moved).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.error_code(), "invalid_amendment");
}
