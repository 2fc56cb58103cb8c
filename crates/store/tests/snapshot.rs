//! `Store::snapshot`: one read-only view of the store for a request's
//! several reads, on both engines.

mod common;

use common::*;
use tally_model::AuthorityId;
use tally_store::{EngineKind, Store};

fn id(s: &str) -> AuthorityId {
    s.parse().expect("authority id")
}

fn reads_what_was_committed(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), kind).expect("opens");
    let mut us = Log::new("US-DDTC", 1);
    store
        .append(&us.next(export("EXP-1", 10, &[])))
        .expect("appends");

    let snapshot = store.snapshot().expect("snapshot");
    assert!(
        snapshot
            .license(&id("US-DDTC"), "EXP-1")
            .expect("reads")
            .is_some()
    );
    assert_eq!(
        snapshot.head(&id("US-DDTC")).expect("head").map(|h| h.0),
        Some(1)
    );

    // A snapshot has no write to call: that it cannot append is the
    // compiler's to say (the `compile_fail` example on `Snapshot`).
    let second = us.next(export("EXP-2", 10, &[]));
    assert!(
        store
            .license(&id("US-DDTC"), "EXP-2")
            .expect("reads")
            .is_none()
    );

    store
        .append(&second)
        .expect("the store itself still appends");
    if kind == EngineKind::Redb {
        // One read transaction: the later commit is not in it.
        assert!(
            snapshot
                .license(&id("US-DDTC"), "EXP-2")
                .expect("reads")
                .is_none()
        );
    }
    assert!(
        store
            .snapshot()
            .expect("snapshot")
            .license(&id("US-DDTC"), "EXP-2")
            .expect("reads")
            .is_some(),
        "a new snapshot sees the new commit"
    );
}

#[test]
fn redb_snapshot() {
    reads_what_was_committed(EngineKind::Redb);
}

#[test]
fn sled_snapshot() {
    reads_what_was_committed(EngineKind::Sled);
}
