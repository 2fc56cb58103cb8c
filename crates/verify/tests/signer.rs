//! The issuing path signs through a tally-custody signer: a token that is
//! away refuses the write (503 `unavailable` naming the token) with nothing
//! appended, reads go on, and signing resumes once the token answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tally_model::signer::{FileSigner, Signer, SignerError};
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::{key, trust_list};
use tally_verify::{IssueError, NoPublish, Verifier};

/// A key file's signer behind a token that can be taken away, or that
/// answers signatures of another key.
struct Token {
    inner: FileSigner,
    away: AtomicBool,
    wrong: AtomicBool,
    pin_refused: AtomicBool,
}

impl Signer for Token {
    fn public_key(&self) -> [u8; 32] {
        self.inner.public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        self.check()?;
        if self.pin_refused.load(Ordering::SeqCst) {
            return Err(SignerError::PinRefused {
                token: "tally-test".into(),
                locked: false,
            });
        }
        if self.wrong.load(Ordering::SeqCst) {
            return FileSigner::new(&key(7)).sign(message);
        }
        self.inner.sign(message)
    }

    fn check(&self) -> Result<(), SignerError> {
        if self.away.load(Ordering::SeqCst) {
            return Err(SignerError::Unavailable {
                token: "tally-test".into(),
                reason: "CKR_DEVICE_REMOVED".into(),
            });
        }
        Ok(())
    }

    fn description(&self) -> String {
        "token \"tally-test\"".into()
    }
}

fn import(number: &str) -> License {
    tally_testkit::docs::us_import_from_mx(number)
}

#[test]
fn a_token_away_refuses_writes_without_appending_and_signing_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let token = Arc::new(Token {
        inner: FileSigner::new(&key(1)),
        away: AtomicBool::new(false),
        wrong: AtomicBool::new(false),
        pin_refused: AtomicBool::new(false),
    });
    let signer: Arc<dyn Signer> = token.clone();
    let us: AuthorityId = "US-DDTC".parse().expect("valid");
    let v = Verifier::builder(store.clone(), us.clone(), signer)
        .trust(Arc::new(RwLock::new(trust_list(&[("MX-SEDENA", 2)]))))
        .publish(Box::new(NoPublish))
        .build();
    assert_eq!(v.public_key_hex(), hex::encode(key(1).public().as_bytes()));
    let first = v.issuer().issue(import("IC-1")).expect("issued");
    // The same bytes as the key in memory signs.
    let entry = first.signed.open().expect("opens");
    assert_eq!(key(1).sign(&entry).signed(), &first.signed);

    token.away.store(true, Ordering::SeqCst);
    match v.issuer().issue(import("IC-2")) {
        Err(IssueError::Unavailable(why)) => assert!(why.contains("tally-test"), "{why}"),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(store.head(&us).expect("head").map(|h| h.0), Some(1));
    // Reads go on.
    let reader = v.reader().expect("reader");
    assert!(reader.license(&us, "IC-1").expect("read").is_some());
    assert!(reader.license(&us, "IC-2").expect("read").is_none());
    drop(reader);
    let away = v.signer_away().expect("the token is away");
    assert!(away.contains("tally-test"), "{away}");
    assert!(v.check_signer().is_some(), "still away");

    // Found back by a check, without a write.
    token.away.store(false, Ordering::SeqCst);
    assert_eq!(v.check_signer(), None);
    let second = v.issuer().issue(import("IC-2")).expect("issued again");
    assert_eq!(second.entry.seq, 2);
    assert_eq!(v.signer_away(), None);

    // A signature of another key is never appended.
    token.wrong.store(true, Ordering::SeqCst);
    assert!(matches!(
        v.issuer().issue(import("IC-3")),
        Err(IssueError::Signer(SignerError::BadSignature { .. }))
    ));
    assert_eq!(store.head(&us).expect("head").map(|h| h.0), Some(2));
    assert_eq!(v.signer_away(), None);

    // A PIN refused on reconnection: 500, and health says why.
    token.wrong.store(false, Ordering::SeqCst);
    token.pin_refused.store(true, Ordering::SeqCst);
    assert!(matches!(
        v.issuer().issue(import("IC-3")),
        Err(IssueError::Signer(SignerError::PinRefused { .. }))
    ));
    assert!(v.signer_away().is_some_and(|why| why.contains("PIN")));
    assert_eq!(store.head(&us).expect("head").map(|h| h.0), Some(2));
}
