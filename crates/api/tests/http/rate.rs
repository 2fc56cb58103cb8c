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
        ..RateConfig::default()
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
        ..RateConfig::default()
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

/// What a record reserves before it is written: the largest entry.
const RESERVATION: u64 = tally_model::MAX_ENTRY_BYTES as u64;

/// A record at a US exit of line 1 with `n` 64-character serials.
fn heavy_record(prefix: char, n: usize) -> serde_json::Value {
    let serials: Vec<String> = (0..n).map(|i| format!("{prefix}{i:063}")).collect();
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    shipment("EXP-1", "US", "exit", n as u64, &refs, true)
}

/// Issue 28 item 10: each record of 2,000 64-character serials was a
/// 262,750-byte entry; at 2 a second a token added ~1.9 GB an hour to every
/// party's disk, and minting tokens multiplied it. Bytes are now bounded
/// per token (`record_bytes_per_minute`) and across tokens
/// (`node_record_bytes_per_minute`): over either, 429 with Retry-After and
/// nothing written; checks without `record` stay unlimited.
#[tokio::test]
async fn record_bytes_are_bounded_per_token_and_per_node() {
    // Room for one reservation and 1,000 bytes: after one record of more
    // than 1,000 bytes the token's budget refuses the next.
    let r = Rig::new().with_rate(RateConfig {
        record_bytes_per_minute: RESERVATION + 1_000,
        ..RateConfig::default()
    });
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let o = Some(r.officer.as_str());
    let a = r
        .post("/v1/shipments/verify", o, &heavy_record('A', 50))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.json()["record"]["seq"].is_u64(), "{}", a.text);
    let before = r.heads().await;
    let a = r
        .post("/v1/shipments/verify", o, &heavy_record('B', 50))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert_eq!(a.error_code(), "rate_limited");
    assert!(a.text.contains("bytes"), "{}", a.text);
    let wait = retry_after(&a);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.heads().await, before, "nothing written");
    // A check alone is not limited.
    let mut check = heavy_record('B', 50);
    check["record"] = json!(false);
    let a = r.post("/v1/shipments/verify", o, &check).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // Another token has its own budget.
    let a = r
        .post(
            "/v1/shipments/verify",
            Some(r.issuer.as_str()),
            &heavy_record('C', 50),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // Across tokens: the node's budget.
    let r = Rig::new().with_rate(RateConfig {
        node_record_bytes_per_minute: RESERVATION + 1_000,
        ..RateConfig::default()
    });
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let a = r
        .post(
            "/v1/shipments/verify",
            Some(r.officer.as_str()),
            &heavy_record('A', 50),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let before = r.heads().await;
    for token in [r.issuer.as_str(), r.admin.as_str()] {
        let a = r
            .post("/v1/shipments/verify", Some(token), &heavy_record('D', 50))
            .await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
        assert!(a.text.contains("all tokens together"), "{}", a.text);
        retry_after(&a);
    }
    assert_eq!(r.heads().await, before, "nothing written");

    // A refused record (422) costs nothing: the reservation comes back.
    let r = Rig::new().with_rate(RateConfig {
        record_bytes_per_minute: RESERVATION + 1_000,
        ..RateConfig::default()
    });
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let o = Some(r.officer.as_str());
    let mut bad = heavy_record('E', 50);
    bad["items"] = json!([{"line": 1, "quantity": 1, "serials": []}, {"line": 1, "quantity": 1, "serials": []}]);
    for _ in 0..3 {
        let a = r.post("/v1/shipments/verify", o, &bad).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    }
    let a = r
        .post("/v1/shipments/verify", o, &heavy_record('E', 50))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}

/// Issue 28, the re-probe: a record of many serials stored several times
/// its entry at every party (its serial rows), and the byte budget counted
/// only the entry. It now counts what the write stored. A record of 100
/// serials is an entry of about 7 KB and stores about 38 KB: with 20,000
/// bytes to spare beyond one reservation, counting the entry alone would let
/// a second record through.
#[tokio::test]
async fn the_byte_budget_counts_what_a_record_stores() {
    let r = Rig::new().with_rate(RateConfig {
        record_bytes_per_minute: RESERVATION + 20_000,
        ..RateConfig::default()
    });
    r.foreign_documents();
    // Line 1 lists the record's serials, so the record is accepted and its
    // serials are stored (a rejected record stores none).
    let record = heavy_record('A', 100);
    let mut license = export("EXP-1");
    license["items"][0]["serials"] = record["items"][0]["serials"].clone();
    r.issue(&license).await;
    let o = Some(r.officer.as_str());
    let a = r.post("/v1/shipments/verify", o, &record).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json()["verdict"], "accept", "{}", a.text);
    let seq = a.json()["record"]["seq"].as_u64().expect("recorded");
    let log = r
        .get(&format!("/v1/log/US-DDTC?from={seq}&limit=1"), o)
        .await;
    let entry = log.text.len();
    assert!(
        entry < 20_000,
        "the entry alone fits the spare bytes: {entry}"
    );
    let a = r
        .post("/v1/shipments/verify", o, &heavy_record('B', 100))
        .await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.text);
    assert!(a.text.contains("bytes"), "{}", a.text);
}
