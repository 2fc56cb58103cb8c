//! The test rig: a US-DDTC node's router over a real store in a temp dir, a
//! real verifier, a token book with one token per role, and a fake network.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use std::sync::{Arc, RwLock};
use tally_api::{AppState, Metrics, Network, PeerStatus, Role, TokenBook, router};
use tally_model::{
    Body as EntryBody, Document, Entry, EntryHash, License, TrustList, VerifiedEntry,
};
use tally_store::{EngineKind, Store};
use tally_verify::{IngestOutcome, NoPublish, Verifier};
use tower::ServiceExt;

pub use tally_testkit::json::{
    day, export, export_of, import_certificate, import_of, shipment, transit,
};
pub use tally_testkit::{GT, MX, US, card, key};

/// US-DDTC's verifier (key 1) over a store in `dir`, trusting `trust`.
pub fn us_verifier(dir: &std::path::Path, trust: TrustList) -> Verifier {
    us_builder(dir, trust).build()
}

/// [`us_verifier`] before it is built (to give it more).
pub fn us_builder(dir: &std::path::Path, trust: TrustList) -> tally_verify::VerifierBuilder {
    let store = Store::open(&dir.join("store"), EngineKind::default()).expect("store");
    Verifier::builder(store, US.parse().expect("valid"), key(1))
        .trust(Arc::new(RwLock::new(trust)))
        .publish(Box::new(NoPublish))
}

/// A network of two trusted peers, one connected.
pub struct FakeNetwork;

impl Network for FakeNetwork {
    fn peer_id(&self) -> String {
        "12D3KooWUS".into()
    }
    fn peers(&self) -> Vec<PeerStatus> {
        vec![
            PeerStatus {
                peer_id: "12D3KooWMX".into(),
                authority: Some(MX.into()),
                connected: true,
                last_sync_ms: Some(1_795_000_000_000),
            },
            PeerStatus {
                peer_id: "12D3KooWGT".into(),
                authority: Some(GT.into()),
                connected: false,
                last_sync_ms: None,
            },
        ]
    }
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub app: Router,
    pub state: AppState,
    pub officer: String,
    pub issuer: String,
    pub admin: String,
    /// MX-SEDENA's and GT-DIGECAM's log heads, for signing their next entries.
    heads: std::sync::Mutex<std::collections::HashMap<String, (u64, EntryHash)>>,
}

/// The answer to one request.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as sent (a spreadsheet is not text).
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the contract's error shape and returns the code.
    pub fn error_code(&self) -> String {
        let v = self.json();
        let code = v["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {v}"));
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "error without message: {v}");
        assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{v}");
        code.to_string()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Rotates the rig's signing key to fixed keys 100, 101, ... (the node's
/// key files are not part of the API crate).
pub struct TestRotator {
    verifier: tally_verify::Verifier,
    next: std::sync::atomic::AtomicU8,
}

impl tally_api::KeyRotator for TestRotator {
    fn rotate_signing(&self) -> Result<tally_api::RotatedKey, tally_api::ApiError> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let new = key(n);
        let key_id = hex::encode(new.public().as_bytes());
        let issued = self.verifier.issuer().rotate_signing_key(new)?;
        Ok(tally_api::RotatedKey {
            key_id,
            entry: issued.entry,
        })
    }

    fn rotate_encryption(&self) -> Result<tally_api::RotatedKey, tally_api::ApiError> {
        // A fixed key: the signing keys' counter stays as the tests expect.
        let secret = tally_model::EncryptionSecret::from_bytes([0xEE; 32]);
        let key_id = secret.public().to_hex();
        let issued = self.verifier.issuer().rotate_encryption_key(secret)?;
        Ok(tally_api::RotatedKey {
            key_id,
            entry: issued.entry,
        })
    }
}

impl Rig {
    /// A US-DDTC node trusting MX-SEDENA (key 2) and GT-DIGECAM (key 3).
    pub fn new() -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let verifier = us_verifier(dir.path(), tally_testkit::trust_list(&[(MX, 2), (GT, 3)]));
        let mut book = TokenBook::load(dir.path().join("tokens.toml")).expect("token book");
        let officer = book.create(Role::Officer, "officer").expect("token");
        let issuer = book.create(Role::Issuer, "issuer").expect("token");
        let admin = book.create(Role::Admin, "admin").expect("token");
        let state_verifier = verifier.clone();
        let state = AppState::new(
            verifier,
            Arc::new(RwLock::new(book)),
            Arc::new(FakeNetwork),
            Metrics::new(),
        )
        .with_card(card(US, &key(1)))
        .with_rotator(Arc::new(TestRotator {
            verifier: state_verifier,
            next: std::sync::atomic::AtomicU8::new(100),
        }));
        Rig {
            app: router(state.clone()),
            dir,
            state,
            officer,
            issuer,
            admin,
            heads: Default::default(),
        }
    }

    /// The same rig with other per-token rate limits.
    pub fn with_rate(mut self, config: tally_api::rate::RateConfig) -> Rig {
        self.state = self.state.with_rate(config);
        self.app = router(self.state.clone());
        self
    }

    /// The same rig with `[issue] approvals` set, drafts kept in `drafts`.
    pub fn with_approvals(mut self, approvals: u8, drafts: tally_api::drafts::Drafts) -> Rig {
        self.state = self.state.with_approvals(approvals, drafts);
        self.app = router(self.state.clone());
        self
    }

    /// A new token of a named person (`tally token create --name --title`).
    pub fn named_token(&self, role: Role, label: &str, name: &str, title: &str) -> String {
        let person = tally_model::Person {
            name: name.into(),
            title: Some(title.into()),
        };
        self.state
            .tokens
            .write()
            .expect("book")
            .create_for(role, label, Some(&person))
            .expect("token")
    }

    pub fn token(&self, role: Option<Role>) -> Option<&str> {
        role.map(|r| match r {
            Role::Officer => self.officer.as_str(),
            Role::Issuer => self.issuer.as_str(),
            Role::Admin => self.admin.as_str(),
        })
    }

    /// Sends a request with a raw body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Body::from(body)).expect("request");
        let res = self.app.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        Answer {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.raw(Method::GET, path, token, None, vec![]).await
    }

    /// An officer's `POST /v1/shipments/verify`: the answer's JSON.
    pub async fn verify(&self, shipment: &Value) -> Value {
        self.post("/v1/shipments/verify", Some(&self.officer), shipment)
            .await
            .json()
    }

    /// An issuer's `POST /v1/licenses` that must be answered 201.
    pub async fn issue(&self, document: &Value) -> Answer {
        let a = self
            .post("/v1/licenses", Some(&self.issuer), document)
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.raw(
            Method::POST,
            path,
            token,
            Some("application/json"),
            serde_json::to_vec(body).expect("json"),
        )
        .await
    }

    /// Signs `license` as the next entry of `authority`'s log (MX key 2, GT
    /// key 3) and ingests it, as if it came from that authority's node.
    pub fn ingest_foreign(&self, authority: &str, license: Value) -> VerifiedEntry {
        let license: License = serde_json::from_value(license).expect("a license");
        let k = match authority {
            MX => key(2),
            GT => key(3),
            other => panic!("no key for {other}"),
        };
        let mut heads = self.heads.lock().expect("lock");
        let head = heads.get(authority).copied();
        let entry = Entry {
            authority: authority.parse().expect("valid"),
            seq: head.map_or(1, |(s, _)| s + 1),
            prev: head.map(|(_, h)| h),
            issued_at_ms: 1_790_000_000_000,
            recipients: vec![],
            body: EntryBody::Document(Document::License(license)),
        };
        let signed = k.sign(&entry);
        let outcome = self
            .state
            .verifier
            .ingest()
            .entry(&signed.signed().encode())
            .expect("store");
        assert!(
            matches!(outcome, IngestOutcome::Accepted(_)),
            "{authority} entry refused: {outcome:?}"
        );
        heads.insert(authority.to_string(), (entry.seq, signed.id()));
        signed
    }

    /// MX-SEDENA's import certificate IC-1 and GT-DIGECAM's transit
    /// authorization for US-DDTC's EXP-1: what a clean export relies on.
    pub fn foreign_documents(&self) {
        self.ingest_foreign(MX, import_certificate("IC-1"));
        self.ingest_foreign(GT, transit("TR-1", "EXP-1"));
    }

    /// Every log head, as `GET /v1/status` shows it.
    pub async fn heads(&self) -> Value {
        let s = self.get("/v1/status", Some(&self.officer)).await;
        assert_eq!(s.status, StatusCode::OK, "{}", s.text);
        s.json()["logs"].clone()
    }
}
