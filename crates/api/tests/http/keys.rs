//! `POST /v1/keys/rotate`: a new signing key announced in the node's own
//! log; the next entry is signed with it and a peer takes it with the card
//! it had; `GET /v1/authorities` shows both keys and the seq bound.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;
use std::sync::{Arc, RwLock};
use tally_verify::{IngestOutcome, NoPublish, Verifier};

#[tokio::test]
async fn rotating_the_signing_key() {
    let r = Rig::new();
    // Room for both exports below (linkage at issue).
    let mut ic = import_certificate("IC-1");
    ic["items"][0]["quantity"] = json!(200);
    ic["items"][1]["quantity"] = json!(10000);
    r.ingest_foreign(MX, ic);
    r.issue(&export("EXP-1")).await;

    // The rig's verifier was started without encryption keys.
    let bad = r
        .post(
            "/v1/keys/rotate",
            Some(&r.admin),
            &json!({"purpose": "encryption"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "invalid_json");
    assert!(bad.text.contains("no encryption keys"), "{}", bad.text);
    for body in [
        json!({"purpose": "other"}),
        json!({}),
        json!({"purpose": "signing", "x": 1}),
    ] {
        let a = r.post("/v1/keys/rotate", Some(&r.admin), &body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text);
    }

    let a = r
        .post(
            "/v1/keys/rotate",
            Some(&r.admin),
            &json!({"purpose": "signing"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let body = a.json();
    let new_key = hex::encode(key(100).public().as_bytes());
    assert_eq!(body["key_id"], new_key.as_str());
    assert_eq!(body["entry"]["seq"], 2);
    assert_eq!(r.state.verifier.public_key_hex(), new_key);

    r.issue(&export("EXP-2")).await;

    // The listing: the card's key retired after 2, then the new key.
    let list = r.get("/v1/authorities", Some(&r.officer)).await.json();
    let keys = list[0]["keys"].as_array().cloned().unwrap_or_default();
    let old_key = hex::encode(key(1).public().as_bytes());
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_eq!(keys[0]["key_id"], old_key.as_str());
    assert_eq!(keys[0]["retired_after_seq"], 2);
    assert_eq!(keys[1]["key_id"], new_key.as_str());
    assert_eq!(keys[1]["retired_after_seq"], serde_json::Value::Null);

    // A peer that only ever saw the card with key 1 takes the whole log.
    let us: tally_model::AuthorityId = US.parse().expect("valid");
    let log = r
        .state
        .verifier
        .reader()
        .and_then(|reader| reader.range(&us, 1, 10))
        .expect("log");
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].key_id(), &key(100).public().to_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        tally_store::Store::open(dir.path(), tally_store::EngineKind::default()).expect("store");
    let mx = Verifier::builder(store, MX.parse().expect("valid"), key(2))
        .trust(Arc::new(RwLock::new(tally_testkit::trust_list(&[(US, 1)]))))
        .publish(Box::new(NoPublish))
        .build();
    let raw: Vec<Vec<u8>> = log.iter().map(|s| s.encode()).collect();
    let out = mx.ingest().many(&raw).expect("io");
    assert!(
        out.iter().all(|o| matches!(o, IngestOutcome::Accepted(_))),
        "{out:?}"
    );
}

struct PanickingRotator;

impl tally_api::KeyRotator for PanickingRotator {
    fn rotate_signing(&self) -> Result<tally_api::RotatedKey, tally_api::ApiError> {
        panic!("a bug in a handler");
    }

    fn rotate_encryption(&self) -> Result<tally_api::RotatedKey, tally_api::ApiError> {
        panic!("a bug in a handler");
    }
}

/// Regression (issue: a panic inside a handler went unnoticed: the
/// connection dropped and health stayed ok): the request answers 500 in
/// the contract's shape, the panic is counted, and health turns degraded.
#[tokio::test]
async fn a_panicking_handler_is_counted_and_turns_health_degraded() {
    let mut r = Rig::new();
    r.state = r
        .state
        .clone()
        .with_rotator(std::sync::Arc::new(PanickingRotator));
    r.app = tally_api::router(r.state.clone());
    let a = r.get("/v1/health", None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = r
        .post(
            "/v1/keys/rotate",
            Some(&r.admin),
            &serde_json::json!({"purpose": "signing"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.text);
    assert_eq!(a.error_code(), "internal");
    let a = r.get("/v1/health", None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    assert_eq!(a.json()["status"], "degraded");
    let m = r.get("/metrics", None).await;
    assert!(
        m.text.contains("tally_http_handler_panics_total 1"),
        "{}",
        m.text
    );
}
