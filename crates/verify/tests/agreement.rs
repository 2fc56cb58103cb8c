//! Agreement on signatures (issue: signature checks disagreed by path): an
//! entry whose signature carries a small-order component in `R` gets one
//! verdict whichever way it arrives (gossip one by one, sync ranges of any
//! size and composition) and from the store check. Under the earlier rule
//! gossip (a batch of one) and some ranges accepted it while single checks
//! refused it.

use std::sync::{Arc, RwLock};
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::docs::import;
use tally_testkit::{Log, Rng, T0, key, trust_list};
use tally_verify::{IngestOutcome, NoPublish, Verifier};

const NOW: i64 = T0 + 36_000_000;

fn node() -> (tempfile::TempDir, Store, Verifier) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let v = Verifier::builder(store.clone(), "US-DDTC".parse().expect("valid"), key(1))
        .trust(Arc::new(RwLock::new(trust_list(&[("MX-SEDENA", 2)]))))
        .publish(Box::new(NoPublish))
        .clock(Box::new(tally_verify::FixedClock(NOW)))
        .build();
    (dir, store, v)
}

/// `honest`'s bytes with a point of order 8 in `R` (MX's key 2).
fn with_torsion_in_r(honest: &VerifiedEntry, nonce: u8) -> Vec<u8> {
    tally_testkit::forge::torsion_in_r(honest, 2, u64::from(nonce))
}

#[test]
fn torsion_in_r_gets_one_verdict_on_every_path() {
    let mut mx = Log::new("MX-SEDENA", 2);
    let log: Vec<Vec<u8>> = (0..12u8)
        .map(|i| {
            let e = mx.next_at(T0 + 1000 * i64::from(i), import(&format!("IC-{i}")));
            // Every third entry carries torsion in R.
            if i % 3 == 1 {
                with_torsion_in_r(&e, i + 1)
            } else {
                e.signed().encode()
            }
        })
        .collect();
    let authority: AuthorityId = "MX-SEDENA".parse().expect("valid");

    // Gossip: one by one.
    let (_d, store, v) = node();
    for (i, bytes) in log.iter().enumerate() {
        let out = v.ingest().entry(bytes).expect("io");
        assert!(
            matches!(out, IngestOutcome::Accepted(_)),
            "seq {}: {out:?}",
            i + 1
        );
    }
    let gossip_head = store.head(&authority).expect("head");
    assert_eq!(gossip_head.map(|h| h.0), Some(12));

    // Sync: ranges of random sizes, many compositions, on fresh nodes.
    let mut rng = Rng::from_time();
    let seed = rng.0;
    for round in 0..20 {
        let (_d, store, v) = node();
        let mut from = 0;
        while from < log.len() {
            let size = rng.range(1, 6) as usize;
            let to = (from + size).min(log.len());
            let out = v.ingest().many(&log[from..to]).expect("io");
            assert!(
                out.iter().all(|o| matches!(o, IngestOutcome::Accepted(_))),
                "seed {seed} round {round} range {from}..{to}: {out:?}"
            );
            from = to;
        }
        assert_eq!(store.head(&authority).expect("head"), gossip_head);
    }

    // The store check judges every signature with the same rule.
    let mut judged = 0;
    let report = store.check_chains(
        &mut |signed| {
            judged += 1;
            let k = ed25519_dalek::VerifyingKey::from_bytes(signed.key_id()).ok()?;
            signed.verify_with(&k).err().map(|e| e.to_string())
        },
        &mut |_| {},
    );
    assert!(report.is_sound(), "{}", report.summary());
    assert_eq!(judged, 12);
}

/// `entry` bytes signed by MX's key 2, in the canonical wrapper.
fn signed_raw(entry: &[u8]) -> Vec<u8> {
    tally_testkit::forge::signed_raw(entry, 2)
}

/// What a well-formed entry is (PROTOCOL.md 2.5): byte-level faults are
/// refused on every path; a document this version cannot read (an unknown
/// kind, an unknown value) is stored and raises `document.invalid`, so a
/// newer writer's log never stops at an older reader.
#[test]
fn byte_faults_are_refused_and_unknown_documents_are_stored_as_invalid() {
    let mut mx = Log::new("MX-SEDENA", 2);
    let honest = mx.next_at(T0, import("IC-1"));
    let bytes = honest.signed().entry_bytes().to_vec();
    // "units" is the only unit of the import's line; make it "unitz".
    let at = bytes
        .windows(5)
        .position(|w| w == b"units")
        .expect("the unit is in the bytes");
    let mut unknown_value = bytes.clone();
    unknown_value[at + 4] = b'z';
    // The body replaced by a Document whose only field is unknown (kind 50).
    let head = {
        let e = honest.entry();
        let mut h = vec![0x0a, e.authority.as_str().len() as u8];
        h.extend_from_slice(e.authority.as_str().as_bytes());
        h.extend_from_slice(&[0x10, 1]);
        h.push(0x20);
        let mut t = e.issued_at_ms as u64;
        while t >= 0x80 {
            h.push(0x80 | (t as u8 & 0x7f));
            t >>= 7;
        }
        h.push(t as u8);
        h
    };
    let mut unknown_kind = head.clone();
    unknown_kind.extend_from_slice(&[0x32, 0x03, 0x92, 0x03, 0x00]);
    // seq twice.
    let mut duplicated = bytes.clone();
    duplicated.extend_from_slice(&[0x10, 0x01]);
    // Both document and sealed.
    let mut both = bytes.clone();
    both.extend_from_slice(&[0x3a, 0x00]);

    for (name, entry) in [
        ("duplicated seq", &duplicated),
        ("document and sealed", &both),
    ] {
        let (_d, store, v) = node();
        let out = v.ingest().entry(&signed_raw(entry)).expect("io");
        assert!(
            matches!(
                out,
                IngestOutcome::Rejected(tally_verify::Rejection::Malformed(_))
            ),
            "{name}: {out:?}"
        );
        assert_eq!(store.head(&mx.authority).expect("head"), None, "{name}");
    }
    for (name, entry) in [
        ("unknown value", &unknown_value),
        ("unknown kind", &unknown_kind),
    ] {
        let (_d, store, v) = node();
        let out = v.ingest().entry(&signed_raw(entry)).expect("io");
        assert!(matches!(out, IngestOutcome::Accepted(_)), "{name}: {out:?}");
        assert_eq!(
            store.head(&mx.authority).expect("head").map(|h| h.0),
            Some(1)
        );
        let alerts = store.alerts().expect("alerts");
        assert_eq!(alerts.len(), 1, "{name}: {alerts:?}");
        assert_eq!(alerts[0].kind, AlertKind::DocumentInvalid);
        assert!(
            alerts[0].detail.contains("unknown_kind"),
            "{name}: {}",
            alerts[0].detail
        );
    }
}
