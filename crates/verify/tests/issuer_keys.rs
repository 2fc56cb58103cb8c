//! Which issuer keys open a sealed entry (docs/PROTOCOL.md 6.7), on every
//! path: an issuer's announcements count once per key, and a document
//! opened ahead of a sync range's commit opens there only if the key that
//! opened it is still among the sixteen newest the log announced by then.

mod support;

use tally_model::seal::{DeterministicRandom, EncryptionSecret, Header, PairKeys, seal_payload};
use tally_model::*;
use tally_testkit::docs::export;
use tally_testkit::{Log, T0};
use tally_verify::{IngestOutcome, Verifier};

const MX_ENC: u8 = 202;
const US_CARD_ENC: u8 = 201;

fn enc(n: u8) -> EncryptionSecret {
    EncryptionSecret::from_bytes([n; 32])
}

/// US's announced key `i` (1-based).
fn announced(i: u8) -> EncryptionSecret {
    enc(100 + i)
}

/// MX's node, trusting US (signing key 1, card encryption key
/// `US_CARD_ENC`).
fn mx() -> (tempfile::TempDir, Verifier) {
    support::sealed_node("MX-SEDENA", 2, MX_ENC, enc(US_CARD_ENC).public())
}

fn announcement(log: &mut Log, key: &EncryptionSecret, valid_from_ms: i64) -> VerifiedEntry {
    log.next_at(
        T0,
        Document::EncryptionKey(EncryptionKey {
            public_key: key.public().0,
            valid_from_ms,
        }),
    )
}

/// An export of US sealed by its key `issuer` to MX, honestly listed.
fn sealed(log: &mut Log, issuer: &EncryptionSecret, number: &str) -> VerifiedEntry {
    let payload = SealedPayload {
        document: export(number, 10, &[]),
        recipients: vec![
            Recipient {
                authority: log.authority.clone(),
                encryption_key: issuer.public(),
            },
            Recipient {
                authority: "MX-SEDENA".parse().expect("valid"),
                encryption_key: enc(MX_ENC).public(),
            },
        ],
        // The fixture's route crosses GT, which has no key here.
        unreached: vec!["GT".parse().expect("iso")],
    };
    let header = Header {
        authority: &log.authority,
        seq: log.seq + 1,
        prev: log.prev,
    };
    let body = seal_payload(
        issuer,
        header,
        &payload,
        &[issuer.public(), enc(MX_ENC).public()],
        &mut DeterministicRandom::new([log.seq as u8; 32]),
        &PairKeys::default(),
    )
    .expect("seals");
    log.next_body(T0 + 1_000, Body::Sealed(body))
}

fn gossip(v: &Verifier, e: &VerifiedEntry) {
    let out = v
        .ingest()
        .entry(&e.signed().encode())
        .expect("no transaction fails");
    assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
}

fn sync(v: &Verifier, range: &[VerifiedEntry]) {
    let bytes: Vec<Vec<u8>> = range.iter().map(|e| e.signed().encode()).collect();
    let p = v.ingest().preverify(&bytes).expect("preverifies");
    for out in v.ingest().commit(p).expect("no transaction fails") {
        assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    }
}

fn reads(v: &Verifier, number: &str) -> bool {
    let us: AuthorityId = "US-DDTC".parse().expect("valid");
    v.reader()
        .expect("a snapshot")
        .license_checked(&us, number)
        .expect("reads never fail")
        .is_some()
}

/// US announces keys 1 to 16, then key 17, then seals EXP-OLD with key 1
/// (no longer among the sixteen newest) and EXP-NEW with key 2 (still
/// among them). A node that had 1 to 16 before a sync range brought the
/// rest opened EXP-OLD ahead of the commit; it must come to what a node
/// taking every entry by gossip comes to.
#[test]
fn an_entry_opened_ahead_opens_only_with_a_key_still_tried_at_commit() {
    let mut us = Log::new("US-DDTC", 1);
    let mut log: Vec<VerifiedEntry> = (1..=17)
        .map(|i| announcement(&mut us, &announced(i), T0 + i64::from(i)))
        .collect();
    log.push(sealed(&mut us, &announced(1), "EXP-OLD"));
    log.push(sealed(&mut us, &announced(2), "EXP-NEW"));

    let (_a, by_gossip) = mx();
    for e in &log {
        gossip(&by_gossip, e);
    }
    let (_b, by_sync) = mx();
    for e in &log[..16] {
        gossip(&by_sync, e);
    }
    sync(&by_sync, &log[16..]);

    for v in [&by_gossip, &by_sync] {
        assert!(!reads(v, "EXP-OLD"), "key 1 is not among the 16 newest");
        assert!(reads(v, "EXP-NEW"), "key 2 is");
    }
    // And a rebuild from the logs derives the same.
    by_sync.reindex(&mut |_| {}).expect("reindex");
    assert!(!reads(&by_sync, "EXP-OLD"));
    assert!(reads(&by_sync, "EXP-NEW"));
}

/// A key announced again counts at its first place only: the repeat is
/// kept as evidence (`document.invalid`, "already announced"), and an
/// issuer cannot move an old key back among the newest by repeating it.
#[test]
fn a_key_announced_twice_counts_once() {
    let mut us = Log::new("US-DDTC", 1);
    let mut log: Vec<VerifiedEntry> = (1..=16)
        .map(|i| announcement(&mut us, &announced(i), T0 + i64::from(i)))
        .collect();
    // Key 17 pushes key 1 out; key 1 again, valid later, would bring it
    // back to the newest place if a repeat counted.
    log.push(announcement(&mut us, &announced(17), T0 + 17));
    log.push(announcement(&mut us, &announced(1), T0 + 18));
    log.push(sealed(&mut us, &announced(1), "EXP-OLD"));

    let (_a, by_gossip) = mx();
    for e in &log {
        gossip(&by_gossip, e);
    }
    let (_b, by_sync) = mx();
    sync(&by_sync, &log);

    for v in [&by_gossip, &by_sync] {
        assert!(!reads(v, "EXP-OLD"));
        let invalid: Vec<String> = v
            .reader()
            .expect("a snapshot")
            .alerts()
            .expect("alerts")
            .into_iter()
            .filter(|a| a.kind == AlertKind::DocumentInvalid)
            .map(|a| a.detail)
            .collect();
        assert_eq!(invalid.len(), 1, "{invalid:?}");
        assert!(
            invalid[0].contains("already announced at seq 1"),
            "{invalid:?}"
        );
    }
}
