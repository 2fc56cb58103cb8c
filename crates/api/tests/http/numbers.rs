//! Numbers as States write them (docs/API.md, "What makes a document
//! invalid"): a national reference with slashes is issued, read, changed and
//! checked, its slashes percent-encoded in paths.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;

const NUMBER: &str = "DCAM/PI/2026/0042";
const IN_PATH: &str = "DCAM%2FPI%2F2026%2F0042";

#[tokio::test]
async fn a_number_with_slashes_is_one_path_segment_on_every_route() {
    let r = Rig::new();
    r.foreign_documents();
    let o = Some(r.officer.as_str());
    let i = Some(r.issuer.as_str());
    let a = r.issue(&export(NUMBER)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.json()["number"], NUMBER, "{}", a.text);

    let path = format!("/v1/licenses/{US}/{IN_PATH}");
    let a = r.get(&path, o).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["number"], NUMBER);
    // Unencoded, the slashes are more segments: no such route.
    let a = r.get(&format!("/v1/licenses/{US}/{NUMBER}"), o).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);

    // A check finds the license by its number (the route through GT
    // lacks its transit authorization here, which is another rule).
    let a = r
        .verify(&shipment(NUMBER, "US", "exit", 1, &["AC1000"], true))
        .await;
    assert_eq!(a["license"]["number"], NUMBER, "{a}");
    let known = a["checks"].as_array().and_then(|c| {
        c.iter()
            .find(|c| c["rule"] == "license.known")
            .map(|c| c["ok"].clone())
    });
    assert_eq!(known, Some(json!(true)), "{a}");

    let a = r
        .post(
            &format!("{path}/status"),
            i,
            &json!({"status": "suspended", "reason": "inquiry"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = r.get(&path, o).await;
    assert_eq!(a.json()["status"], "suspended", "{}", a.text);

    // `? # %` stay refused: they would end a path or start an escape.
    for bad in ["DCAM?1", "DCAM#1", "DCAM%2F1"] {
        let a = r.post("/v1/licenses", i, &export(bad)).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            a.text
        );
    }
}
