//! Issue 28, finding 9 (re-probe): the chain walk behind `tally
//! verify-store` and the node's background check reads the store for every
//! entry beyond its rows (the hash index, the keys that judge it). Damage
//! made one of those reads panic in a released build of the engine, and the
//! check died with it (exit 101) instead of reporting the damage. A panic
//! anywhere in the walk is damage found, and the walk goes on.

mod common;

use common::*;
use tally_store::{EngineKind, Store};

#[test]
fn a_panic_while_judging_an_entry_is_reported_and_the_walk_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::Redb).expect("store");
    let mut us = resume("US-DDTC", 1, &store);
    for n in 1..=6 {
        store
            .append(&us.next(export(&format!("EXP-{n}"), 10, &[])))
            .expect("append");
    }
    let mut judged = 0;
    let report = store.check_chains(
        &mut |e| {
            judged += 1;
            let seq = e.open().expect("decodes").seq;
            assert_ne!(seq, 3, "a read of a damaged page panicked");
            None
        },
        &mut |_| {},
    );
    assert_eq!((report.entries, judged), (6, 6), "{report:?}");
    assert!(!report.is_sound(), "{report:?}");
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(
        report.problems[0].contains("seq 3") && report.problems[0].contains("panicked"),
        "{report:?}"
    );
}
