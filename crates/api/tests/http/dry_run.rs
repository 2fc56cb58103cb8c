//! `?dry_run=true` on the write routes (docs/API.md, "Dry runs"): every rule
//! the real call runs, the same errors, and nothing signed, written or
//! charged to the token's rate limit.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;
use tally_api::rate::RateConfig;

#[tokio::test]
async fn a_dry_run_answers_what_the_call_would_and_writes_nothing() {
    let r = Rig::new().with_rate(RateConfig {
        documents_per_minute: 1,
        ..RateConfig::default()
    });
    r.foreign_documents();
    let i = Some(r.issuer.as_str());
    let o = Some(r.officer.as_str());
    let before = r.heads().await;

    // Many dry runs, over the rate of one document a minute.
    for _ in 0..3 {
        let a = r
            .post("/v1/licenses?dry_run=true", i, &export("EXP-1"))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let body = a.json();
        assert_eq!(body["dry_run"], true, "{body}");
        assert_eq!(body["number"], "EXP-1", "{body}");
        assert!(body["recipients"].is_array(), "{body}");
        assert!(body["unreached"].is_array(), "{body}");
    }
    assert_eq!(r.heads().await, before, "a dry run appends nothing");
    let a = r.get(&format!("/v1/licenses/{US}/EXP-1"), o).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);

    // The same refusals as the real call.
    let mut bad = export("EXP-2");
    bad["valid_until"] = json!("2000-01-01");
    let dry = r.post("/v1/licenses?dry_run=true", i, &bad).await;
    assert_eq!(dry.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", dry.text);

    // The real call, then its dry-run changes.
    let a = r.issue(&export("EXP-1")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let after = r.heads().await;
    let dry = r
        .post("/v1/licenses?dry_run=true", i, &export("EXP-1"))
        .await;
    assert_eq!(
        dry.status,
        StatusCode::CONFLICT,
        "number used: {}",
        dry.text
    );
    let path = format!("/v1/licenses/{US}/EXP-1");
    let mut lower = export("EXP-1");
    lower["items"][0]["quantity"] = json!(5);
    let a = r
        .post(&format!("{path}/amend?dry_run=true"), i, &lower)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        (a.json()["dry_run"].clone(), a.json()["version"].clone()),
        (json!(true), json!(2))
    );
    let status = json!({"status": "revoked", "reason": "test"});
    let a = r
        .post(&format!("{path}/status?dry_run=true"), i, &status)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(r.heads().await, after, "dry runs append nothing");
    let license = r.get(&path, o).await.json();
    assert_eq!(
        (license["version"].clone(), license["status"].clone()),
        (json!(1), json!("active"))
    );

    // A recorded check: the verdict, no record, who would have read it.
    let crossing = shipment("EXP-1", "US", "exit", 1, &["AC1000"], true);
    let a = r
        .post("/v1/shipments/verify?dry_run=true", o, &crossing)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let body = a.json();
    assert_eq!(body["dry_run"], true, "{body}");
    assert_eq!(body["record"], json!(null), "{body}");
    assert!(
        body["verdict"].is_string() && body["recipients"].is_array(),
        "{body}"
    );
    assert_eq!(r.heads().await, after, "a dry-run record appends nothing");
    // Without the flag it records, and the answer has no dry-run fields.
    let a = r.verify(&crossing).await;
    assert!(a["record"].is_object() && a.get("dry_run").is_none(), "{a}");

    // An unknown query parameter is refused, not ignored.
    let a = r
        .post("/v1/licenses?dryrun=true", i, &export("EXP-3"))
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
}

/// Issue 23: a refused document lists every fault, each at a JSON pointer
/// into the body, in the order the rules run: the first is the one the
/// message names (the refusal itself is unchanged), and a dry run lists the
/// same. Nothing is written either way.
#[tokio::test]
async fn a_refusal_lists_every_fault_at_its_pointer() {
    let r = Rig::new();
    r.foreign_documents();
    let i = Some(r.issuer.as_str());
    let before = r.heads().await;
    let mut bad = export("EXP-3");
    bad["importing_country"] = json!("XX");
    bad["items"][0]["serials"] = json!(["AC1000", "AC\u{7}1001", "AC1000"]);
    bad["items"][1]["quantity"] = json!(0);
    bad["exporter"]["name"] = json!("  ");
    let want = [
        "/importing_country",
        "/exporter/name",
        "/items/0/serials/1",
        "/items/0/serials/2",
        "/items/1/quantity",
    ];
    for path in ["/v1/licenses", "/v1/licenses?dry_run=true"] {
        let a = r.post(path, i, &bad).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
        let error = &a.json()["error"];
        assert_eq!(error["code"], "invalid_document", "{error}");
        let details = error["details"].as_array().expect("details");
        let pointers: Vec<&str> = details
            .iter()
            .map(|d| d["pointer"].as_str().expect("pointer"))
            .collect();
        assert_eq!(pointers, want, "{error}");
        assert_eq!(details[0]["message"], error["message"], "{error}");
        assert!(
            details[2]["message"].as_str().unwrap().contains("U+0007"),
            "{error}"
        );
    }
    assert_eq!(r.heads().await, before, "nothing written");

    // A refusal by another rule than the document's own keeps its message
    // alone, at the whole body.
    let mut unlinked = export("EXP-4");
    unlinked["import_certificate"]["number"] = json!("IC-NONE");
    let a = r.post("/v1/licenses", i, &unlinked).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    let error = &a.json()["error"];
    assert!(
        error["message"].as_str().unwrap().contains("not held"),
        "{error}"
    );
    assert_eq!(
        error["details"],
        json!([{"pointer": "", "message": error["message"]}])
    );
}
