//! `[api.rate]`: per-token limits on documents issued and shipments
//! recorded; over the limit, 429 `rate_limited` with `Retry-After`, and
//! nothing written.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;
use tally_api::rate::RateConfig;

fn retry_after(a: &Answer) -> u64 {
    a.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in {:?}", a.headers))
}

#[tokio::test]
async fn documents_over_the_limit_are_refused_with_retry_after() {
    let r = Rig::new().with_rate(RateConfig {
        records_per_minute: 120,
        documents_per_minute: 2,
    });
    r.foreign_documents();
    let i = Some(r.issuer.as_str());
    // Small exports, so the import certificate covers all of them.
    let small = |n: &str| {
        let mut d = export(n);
        d["items"][0]["quantity"] = serde_json::json!(2);
        if let Some(ammunition) = d["items"].get_mut(1) {
            ammunition["quantity"] = serde_json::json!(10);
        }
        d
    };
    for n in ["EXP-1", "EXP-2"] {
        let a = r.post("/v1/licenses", i, &small(n)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    }
    let before = r.heads().await;
    let a = r.post("/v1/licenses", i, &small("EXP-3")).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert_eq!(a.error_code(), "rate_limited");
    let wait = retry_after(&a);
    assert!((1..=60).contains(&wait), "{wait}");
    // Status changes and amendments count as documents too.
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            i,
            &json!({"status": "suspended", "reason": "x"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert_eq!(r.heads().await, before, "nothing written");
    let a = r.get("/v1/licenses/US-DDTC/EXP-3", i).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // Another token has its own allowance.
    let a = r
        .post("/v1/licenses", Some(r.admin.as_str()), &small("EXP-3"))
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

#[tokio::test]
async fn records_are_limited_and_checks_are_not() {
    let r = Rig::new().with_rate(RateConfig {
        records_per_minute: 1,
        documents_per_minute: 600,
    });
    r.foreign_documents();
    let o = Some(r.officer.as_str());
    r.issue(&export("EXP-1")).await;
    let record = shipment("EXP-1", "US", "exit", 1, &[], true);
    let a = r.post("/v1/shipments/verify", o, &record).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.json()["record"].is_object(), "{}", a.text);
    let before = r.heads().await;
    let a = r.post("/v1/shipments/verify", o, &record).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert_eq!(a.error_code(), "rate_limited");
    let wait = retry_after(&a);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.heads().await, before, "nothing written");
    // Checks without record go on.
    for _ in 0..5 {
        let a = r
            .post(
                "/v1/shipments/verify",
                o,
                &shipment("EXP-1", "US", "exit", 1, &[], false),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
}
