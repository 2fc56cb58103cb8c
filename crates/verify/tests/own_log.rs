//! Entries of the node's own authority from the network: taken only while
//! it recovers its log; otherwise `log.cloned`, evidence, and no signing.

use std::sync::{Arc, RwLock};
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::{key, trust_list};
use tally_verify::{
    IngestOutcome, IssueError, NoPublish, Rejection, Signing, Verifier, VerifierBuilder,
};

fn verifier(store: &Store) -> Verifier {
    builder(store).build()
}

fn builder(store: &Store) -> VerifierBuilder {
    Verifier::builder(store.clone(), "US-DDTC".parse().expect("valid"), key(1))
        .trust(Arc::new(RwLock::new(trust_list(&[("MX-SEDENA", 2)]))))
        .publish(Box::new(NoPublish))
}

/// US-DDTC's own import certificate `number`, for goods from MX.
fn import(number: &str) -> License {
    tally_testkit::docs::us_import_from_mx(number)
}

/// US-DDTC's entry at `seq` after `prev`, signed with its key elsewhere.
fn own(seq: u64, prev: Option<EntryHash>, number: &str) -> SignedEntry {
    let entry = Entry {
        authority: "US-DDTC".parse().expect("valid"),
        seq,
        prev,
        issued_at_ms: tally_verify::now_ms(),
        recipients: vec![],
        body: Body::Document(Document::License(import(number))),
    };
    key(1).sign(&entry).signed().clone()
}

fn unavailable<T: std::fmt::Debug>(r: Result<T, IssueError>) -> bool {
    matches!(r, Err(IssueError::Unavailable(_)))
}

#[test]
fn an_own_entry_this_node_did_not_write_is_evidence_and_stops_signing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let v = verifier(&store);
    let first = v.issuer().issue(import("IC-1")).expect("issued");
    // What it wrote itself comes back as a duplicate.
    let back = v.ingest().entry(&first.signed.encode()).expect("ingest");
    assert!(matches!(back, IngestOutcome::Duplicate), "{back:?}");
    assert_eq!(v.signing().state, Signing::Ok);

    // Beyond its head, chaining: before the fix, appended as its own.
    let next = own(2, Some(first.entry.hash), "IC-X");
    let got = v.ingest().entry(&next.encode()).expect("ingest");
    assert!(
        matches!(
            got,
            IngestOutcome::Rejected(Rejection::LogCloned { seq: 2 })
        ),
        "{got:?}"
    );
    let us: AuthorityId = "US-DDTC".parse().expect("valid");
    assert_eq!(store.head(&us).expect("head").map(|h| h.0), Some(1));
    assert_eq!(store.cloned().expect("cloned"), vec![next]);
    let ids = |s: &Store| -> Vec<String> {
        s.alerts()
            .expect("alerts")
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert!(ids(&store).contains(&"log.cloned:-:US-DDTC:2".to_string()));
    assert_eq!(v.signing().state, Signing::Stopped);
    assert!(unavailable(v.issuer().issue(import("IC-2"))));
    assert!(unavailable(v.issuer().set_status(
        "US-DDTC",
        "IC-1",
        Status::Suspended,
        "x".into()
    )));
    assert!(unavailable(v.issuer().rotate_signing_key(
        tally_model::AuthorityKey::from_bytes(&[9; 32])
    )));

    // Another seq 1: also an equivocation proof.
    let other = own(1, None, "IC-Y");
    let got = v.ingest().entry(&other.encode()).expect("ingest");
    assert!(
        matches!(
            got,
            IngestOutcome::Rejected(Rejection::LogCloned { seq: 1 })
        ),
        "{got:?}"
    );
    assert_eq!(store.evidence().expect("evidence").len(), 1);

    // Evidence and alerts survive a reindex and a restart; the stop does not.
    v.reindex(&mut |_| {}).expect("reindex");
    assert!(ids(&store).contains(&"log.cloned:-:US-DDTC:1".to_string()));
    assert!(ids(&store).contains(&"log.cloned:-:US-DDTC:2".to_string()));
    drop((v, store));
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let v = verifier(&store);
    assert_eq!(store.cloned().expect("cloned").len(), 2);
    assert!(ids(&store).contains(&"log.cloned:-:US-DDTC:2".to_string()));
    assert_eq!(v.signing().state, Signing::Ok);
}

#[test]
fn while_recovering_own_entries_come_back_and_nothing_is_signed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let v = builder(&store).recovering("store missing").build();
    assert_eq!(v.signing().state, Signing::Recovering);
    assert!(unavailable(v.issuer().issue(import("IC-2"))));
    let one = own(1, None, "IC-1");
    let got = v.ingest().entry(&one.encode()).expect("ingest");
    assert!(matches!(got, IngestOutcome::Accepted(_)), "{got:?}");
    assert!(store.cloned().expect("cloned").is_empty());
    assert!(v.recovered());
    assert_eq!(v.signing().state, Signing::Ok);
    let next = v.issuer().issue(import("IC-2")).expect("issued");
    assert_eq!(next.entry.seq, 2);
}
