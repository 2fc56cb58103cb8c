//! A rebuild of the derived records (a key compromise declared while the
//! node runs, or a reindex) says it is under way, so nothing is read from
//! half-built records, and stops within a chunk when the node shuts down;
//! the next open finishes it (issue 28, finding 2: a revoke-key declaration
//! served a half-built state for minutes and ignored SIGTERM).

mod common;

use common::*;
use tally_store::{EngineKind, Store, StoreError};

#[test]
fn a_rebuild_is_visible_and_interruptible_and_the_next_open_finishes_it() {
    for engine in [EngineKind::Redb, EngineKind::Sled] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), engine).expect("store");
        let mut us = resume("US-DDTC", 1, &store);
        // More than one chunk of entries.
        for n in 0..2_100 {
            store
                .append(&us.next(export(&format!("EXP-{n}"), 10, &[])))
                .expect("append");
        }
        assert_eq!(store.rebuilding(), None);
        let digest = store.derived_digest().expect("digest");
        let mut seen = Vec::new();
        let err = store
            .reindex_with(&tally_store::Keyless, &mut |p| {
                seen.push(store.rebuilding());
                if p.entries >= 1_000 {
                    store.interrupt_rebuild();
                }
            })
            .expect_err("interrupted");
        assert!(matches!(err, StoreError::Interrupted), "{err}");
        assert!(
            seen.iter()
                .all(|s| s.as_deref().is_some_and(|s| s.contains(" of 2100 entries"))),
            "{seen:?}"
        );
        assert_eq!(store.rebuilding(), None, "cleared when it stops");
        drop(store);
        let store = Store::open(dir.path(), engine).expect("reopens and finishes");
        assert_eq!(store.derived_digest().expect("digest"), digest, "{engine}");
    }
}
