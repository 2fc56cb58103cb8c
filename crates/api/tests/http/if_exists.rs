//! `POST /v1/licenses?if_exists=skip` (docs/API.md): a document this
//! authority already issued with the same content is skipped (200, not
//! charged to the rate limit), another content under its number is 409,
//! and a new number is issued.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;
use tally_api::rate::RateConfig;

#[tokio::test]
async fn an_import_run_twice_issues_nothing_twice() {
    let r = Rig::new().with_rate(RateConfig {
        documents_per_minute: 2,
        ..RateConfig::default()
    });
    r.foreign_documents();
    let i = Some(r.issuer.as_str());
    let skip = "/v1/licenses?if_exists=skip";

    let a = r.post(skip, i, &export("EXP-1")).await;
    assert_eq!(a.status, StatusCode::CREATED, "not issued yet: {}", a.text);
    let first = a.json()["entry"].clone();
    let before = r.heads().await;
    for _ in 0..3 {
        let a = r.post(skip, i, &export("EXP-1")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.json()["skipped"], true, "{}", a.text);
        assert_eq!(a.json()["entry"], first, "{}", a.text);
    }
    assert_eq!(r.heads().await, before, "a skip appends nothing");

    // Amended since: the content as first issued still counts as the same.
    let path = format!("/v1/licenses/{US}/EXP-1");
    let mut lower = export("EXP-1");
    lower["items"][0]["quantity"] = json!(5);
    let a = r.post(&format!("{path}/amend"), i, &lower).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = r.post(skip, i, &export("EXP-1")).await;
    assert_eq!(a.status, StatusCode::OK, "as first issued: {}", a.text);
    // Another content under the number: a conflict, never an amendment.
    let a = r.post(skip, i, &lower).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.text);

    // The skips were not charged: the second document of the minute is.
    let a = r.post(skip, i, &export("EXP-2")).await;
    assert_eq!(
        a.status,
        StatusCode::TOO_MANY_REQUESTS,
        "amend + EXP-1 used the two: {}",
        a.text
    );

    // Elsewhere the parameter is refused.
    let a = r
        .post(&format!("{path}/amend?if_exists=skip"), i, &lower)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
}
