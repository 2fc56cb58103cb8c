//! `GET /v1/authorities`: cards with their fingerprints and keys in the
//! shape of docs/API.md's "Keys and time", unknown fields null.

use crate::rig::*;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};
use tally_api::{AppState, Metrics, Role, TokenBook, router};
use tally_model::{AuthorityKey, CardKey, TrustList};
use tower::ServiceExt;

/// What the listing says about a card whose one key signs without bounds.
fn expected(authority: &str, k: &AuthorityKey, own: bool) -> Value {
    let c = card(authority, k);
    let key_id = hex::encode(k.public().as_bytes());
    json!({
        "authority": authority,
        "country": &authority[..2],
        "name": c.name,
        "peer_id": c.peer_id,
        "addresses": c.addresses,
        "fingerprint": c.fingerprint(),
        "keys": [{
            "key_id": key_id,
            "purpose": "signing",
            "valid_from_ms": 0,
            "valid_until_ms": null,
            "retired_after_seq": null,
            "compromised_after_seq": null,
            "public_key": key_id,
        }],
        "self": own,
    })
}

#[tokio::test]
async fn authorities_list_fingerprints_and_keys() {
    let r = Rig::new();
    let a = r.get("/v1/authorities", Some(&r.officer)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json(),
        json!([
            expected(US, &key(1), true),
            expected(GT, &key(3), false),
            expected(MX, &key(2), false),
        ])
    );
    for entry in a.json().as_array().expect("a list") {
        let fp = entry["fingerprint"].as_str().expect("a fingerprint");
        assert_eq!(fp.len(), 16 * 4 + 15, "{fp}");
        let key_id = entry["keys"][0]["key_id"].as_str().expect("key_id");
        assert_eq!(key_id.len(), 64);
        assert!(
            key_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
    }
    assert_eq!(
        r.get("/v1/authorities", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// A node without its own card, trusting a card with a bounded key written
/// in capitals and a second key.
#[tokio::test]
async fn authorities_show_key_bounds_and_a_node_without_its_card() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut mx = card(MX, &key(2));
    mx.keys[0].public_key = mx.keys[0].public_key.to_uppercase();
    mx.keys[0].valid_from_ms = 1_000;
    mx.keys[0].valid_until_ms = Some(2_000);
    mx.keys.push(CardKey {
        public_key: hex::encode(key(4).public().as_bytes()),
        valid_from_ms: 1_500,
        valid_until_ms: None,
        retired_after_seq: None,
        compromised_after_seq: None,
    });
    let mut trust = TrustList::default();
    trust.upsert(mx.clone());
    let verifier = us_verifier(dir.path(), trust);
    let mut book = TokenBook::load(dir.path().join("tokens.toml")).expect("token book");
    let officer = book.create(Role::Officer, "officer").expect("token");
    let state = AppState::new(
        verifier,
        Arc::new(RwLock::new(book)),
        Arc::new(FakeNetwork),
        Metrics::new(),
    );
    let req = Request::get("/v1/authorities")
        .header("authorization", format!("Bearer {officer}"))
        .body(Body::empty())
        .expect("request");
    let res = router(state).oneshot(req).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    let body = to_bytes(res.into_body(), 1 << 20).await.expect("body");
    let list: Value = serde_json::from_slice(&body).expect("JSON");

    assert_eq!(
        list[0],
        json!({
            "authority": US,
            "country": "US",
            "name": US,
            "peer_id": "12D3KooWUS",
            "addresses": [],
            "fingerprint": null,
            "keys": [],
            "self": true,
        })
    );
    let key_id = |k: &AuthorityKey| hex::encode(k.public().as_bytes());
    assert_eq!(list[1]["fingerprint"], mx.fingerprint());
    // The capitals do not change the fingerprint; the validity bounds do
    // (v2 covers every field of every key).
    let mut lower = mx.clone();
    lower.keys[0].public_key = lower.keys[0].public_key.to_lowercase();
    assert_eq!(list[1]["fingerprint"], lower.fingerprint());
    let mut unbounded = lower.clone();
    unbounded.keys[0].valid_until_ms = None;
    assert_ne!(list[1]["fingerprint"], unbounded.fingerprint());
    assert_eq!(
        list[1]["keys"],
        json!([
            {
                "key_id": key_id(&key(2)),
                "purpose": "signing",
                "valid_from_ms": 1_000,
                "valid_until_ms": 2_000,
                "retired_after_seq": null,
                "compromised_after_seq": null,
                "public_key": key_id(&key(2)),
            },
            {
                "key_id": key_id(&key(4)),
                "purpose": "signing",
                "valid_from_ms": 1_500,
                "valid_until_ms": null,
                "retired_after_seq": null,
                "compromised_after_seq": null,
                "public_key": key_id(&key(4)),
            },
        ])
    );
}

/// Regression (issue 20: `GET /v1/authorities` listed no encryption keys):
/// a card's X25519 keys and the ones announced in an authority's log are
/// listed with purpose `encryption`, in docs/API.md's shape, null where unset;
/// a declared compromise of one shows as its `compromised_after_seq`.
#[tokio::test]
async fn authorities_list_encryption_keys_from_cards_and_logs() {
    use tally_model::EncryptionSecret;
    let dir = tempfile::tempdir().expect("tempdir");
    let x = |n: u8| EncryptionSecret::from_bytes([n; 32]).public().to_hex();
    let mut mx = card(MX, &key(2));
    mx.encryption_keys = vec![
        CardKey {
            valid_until_ms: Some(9_000),
            retired_after_seq: Some(3),
            ..CardKey::new(x(11), 1_000)
        },
        CardKey::new(x(12), 2_000),
    ];
    let mut trust = TrustList::default();
    trust.upsert(mx.clone());
    trust.declare_compromise(tally_model::KeyCompromise {
        authority: MX.parse().expect("valid"),
        key_id: x(12),
        after_seq: 7,
    });
    // US seals with its own key (it announces another below).
    let verifier = us_builder(dir.path(), trust)
        .sealing(Arc::new(tally_verify::sealing::Sealing::new(
            vec![EncryptionSecret::from_bytes([0xED; 32])],
            Box::new(tally_model::OsRandom),
        )))
        .build();
    let mut book = TokenBook::load(dir.path().join("tokens.toml")).expect("token book");
    let officer = book.create(Role::Officer, "officer").expect("token");
    let state = AppState::new(
        verifier.clone(),
        Arc::new(RwLock::new(book)),
        Arc::new(FakeNetwork),
        Metrics::new(),
    )
    .with_card(card(US, &key(1)));
    // US announces an encryption key in its own log (after its first one).
    let announced = EncryptionSecret::from_bytes([0xEE; 32]);
    verifier
        .issuer()
        .rotate_encryption_key(announced.clone())
        .expect("announced");
    let app = router(state);
    let get = |token: String| {
        let app = app.clone();
        async move {
            let req = Request::get("/v1/authorities")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .expect("request");
            let res = app.oneshot(req).await.expect("infallible");
            let status = res.status();
            let body = to_bytes(res.into_body(), 1 << 20).await.expect("body");
            (
                status,
                serde_json::from_slice::<Value>(&body).expect("JSON"),
            )
        }
    };
    let (status, list) = get(officer).await;
    assert_eq!(status, StatusCode::OK, "{list}");

    let encryption = |view: &Value| -> Vec<Value> {
        view["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter(|k| k["purpose"] == "encryption")
            .cloned()
            .collect()
    };
    let us_keys = encryption(&list[0]);
    assert_eq!(list[0]["authority"], US, "{list}");
    assert_eq!(
        us_keys,
        vec![json!({
            "key_id": announced.public().to_hex(),
            "purpose": "encryption",
            "valid_from_ms": issued_valid_from(&verifier),
            "valid_until_ms": null,
            "retired_after_seq": null,
            "compromised_after_seq": null,
            "public_key": announced.public().to_hex(),
        })],
        "{list}"
    );
    let mx_view = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|v| v["authority"] == MX)
        .expect("MX listed");
    assert_eq!(
        encryption(mx_view),
        vec![
            json!({
                "key_id": x(11),
                "purpose": "encryption",
                "valid_from_ms": 1_000,
                "valid_until_ms": 9_000,
                "retired_after_seq": 3,
                "compromised_after_seq": null,
                "public_key": x(11),
            }),
            json!({
                "key_id": x(12),
                "purpose": "encryption",
                "valid_from_ms": 2_000,
                "valid_until_ms": null,
                "retired_after_seq": null,
                "compromised_after_seq": 7,
                "public_key": x(12),
            }),
        ],
        "{mx_view}"
    );
    // The signing key is still there, first.
    assert_eq!(mx_view["keys"][0]["purpose"], "signing", "{mx_view}");
    assert_eq!(mx_view["fingerprint"], mx.fingerprint());
}

/// When US's own log announced its encryption key.
fn issued_valid_from(v: &tally_verify::Verifier) -> i64 {
    let us: tally_model::AuthorityId = US.parse().expect("valid");
    v.reader()
        .and_then(|r| r.announced_keys(&us))
        .expect("announced keys")
        .last()
        .expect("one announced")
        .valid_from_ms
}
