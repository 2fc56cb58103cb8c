//! Bytes as a peer sends them (gossip message, sync range item, evidence):
//! `SignedEntry::decode`, `open`, `verify_with`, `decode_proof` and the bare
//! `Entry` decoder must never panic, and what decodes must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tally_model::{
    Entry, EntryHash, OpenedEntry, SignedEntry, VerifiedEntry, decode_proof, encode_proof,
    verify_batch,
};

fn fixed_key() -> &'static ed25519_dalek::VerifyingKey {
    static KEY: OnceLock<ed25519_dalek::VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| tally_fuzz::key(2).public())
}

fuzz_target!(|data: &[u8]| {
    let key = fixed_key();
    if let Ok(s) = SignedEntry::decode(data) {
        // decode(encode(x)) == x, and the id is the hash of the exact bytes.
        let wire = s.encode();
        assert_eq!(SignedEntry::decode(&wire).as_ref(), Ok(&s));
        assert_eq!(s.id(), EntryHash::of(s.entry_bytes()));
        let opened = s.open();
        if let Ok(e) = &opened {
            assert!(e.seq >= 1 && (e.seq == 1) == e.prev.is_none());
            assert_eq!(Entry::decode(&e.encode()).as_ref(), Ok(e));
        }
        let single = s.verify_with(key);
        // Batch verification agrees with the single check (one rule, ZIP-215).
        assert_eq!(verify_batch(&[(&s, key)]), single.is_ok());
        if let Ok(o) = OpenedEntry::open(s.clone()) {
            match VerifiedEntry::verify(o, key) {
                Ok(v) => {
                    // Only the seeds' genuine entries can get here: the signature held.
                    assert!(single.is_ok());
                    assert_eq!(Ok(v.entry()), opened.as_ref());
                    assert_eq!(v.id(), s.id());
                }
                Err(_) => assert!(single.is_err()),
            }
        }
    }
    if let Ok(e) = Entry::decode(data) {
        assert!(e.seq >= 1 && (e.seq == 1) == e.prev.is_none());
        assert_eq!(Entry::decode(&e.encode()).as_ref(), Ok(&e));
    }
    if let Ok((a, b)) = decode_proof(data) {
        let again = decode_proof(&encode_proof(&a, &b));
        assert_eq!(again.as_ref(), Ok(&(a, b)));
    }
});
