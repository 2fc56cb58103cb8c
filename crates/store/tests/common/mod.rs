//! Fixtures of the conformance suite, the crash test and the benchmark: the
//! test kit's signed logs and documents, and the chain check over a store.
#![allow(dead_code)]

use std::collections::BTreeMap;
use tally_model::{EntryHash, OpenedEntry, SignedEntry, VerifiedEntry};
use tally_store::Store;
pub use tally_testkit::Log;
pub use tally_testkit::docs::*;

/// Continues `authority`'s log (signed with key `key`) from the head `store` holds.
pub fn resume(authority: &str, key: u8, store: &Store) -> Log {
    let id = authority.parse().expect("fixture authority id");
    Log::resume(authority, key, store.head(&id).expect("head"))
}

/// Checks every log in `store` against its writer's public key: signatures,
/// dense seqs from 1, prev links, and the head. Returns entries checked.
pub fn verify_chains(store: &Store, keys: &BTreeMap<String, u8>) -> u64 {
    let mut checked = 0;
    for (authority, head, head_hash) in store.heads().expect("heads") {
        let key = keys
            .get(authority.as_str())
            .unwrap_or_else(|| panic!("unexpected authority {authority}"));
        let public = tally_testkit::key(*key).public();
        let mut expect_seq = 1;
        let mut prev: Option<EntryHash> = None;
        while expect_seq <= head {
            let chunk = store.range(&authority, expect_seq, 512).expect("range");
            assert!(
                !chunk.is_empty(),
                "{authority}: log ends before head {head}"
            );
            for signed in chunk {
                let signed = SignedEntry::decode(&signed.encode()).expect("round-trips");
                let opened = OpenedEntry::open(signed).expect("opens");
                let v = VerifiedEntry::verify(opened, &public)
                    .unwrap_or_else(|e| panic!("{authority} {expect_seq}: {e}"));
                let e = v.entry();
                assert_eq!(e.seq, expect_seq, "{authority}: dense seqs");
                assert_eq!(e.prev, prev, "{authority} {expect_seq}: prev link");
                assert_eq!(
                    store.by_hash(&v.id()).expect("by_hash"),
                    Some((authority.clone(), expect_seq))
                );
                prev = Some(v.id());
                expect_seq += 1;
                checked += 1;
            }
        }
        assert_eq!(expect_seq, head + 1, "{authority}: log runs past head");
        assert_eq!(prev, Some(head_hash), "{authority}: head hash");
    }
    checked
}
