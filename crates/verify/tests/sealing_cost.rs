//! Issue 28, finding 1: what one sealed entry costs a node grew with every
//! rotation of its own encryption key (each entry was tried against every
//! secret it ever had: 301 pair keys and tags per entry after 300
//! rotations, and past the pair cache one X25519 each). Now an entry is
//! tried against the own keys of its time only (docs/PROTOCOL.md 6.7): the
//! count is the same after 0, 100 or 300 rotations, bystander or
//! recipient, and a document sealed to an old key still opens.

use std::sync::{Arc, RwLock};
use tally_model::seal::{self, DeterministicRandom, EncryptionSecret, Header, PairKeys};
use tally_model::*;
use tally_store::{Opening, SealedReader};
use tally_testkit::T0;
use tally_verify::own_keys::MAX_OWN_KEYS_PER_ENTRY;
use tally_verify::sealing::{SealOpener, Sealing};

/// This node rotated once an hour.
const ROTATION_MS: i64 = 3_600_000;

fn secret(tag: u8, n: usize) -> EncryptionSecret {
    let mut b = [tag; 32];
    // Not byte 0: X25519 ignores its three low bits.
    b[1..9].copy_from_slice(&(n as u64).to_le_bytes());
    EncryptionSecret::from_bytes(b)
}

fn own_key(n: usize) -> EncryptionSecret {
    secret(0xA0, n)
}

fn own_key_from(n: usize) -> i64 {
    T0 + n as i64 * ROTATION_MS
}

const US_ENC: u8 = 0xB0;

/// A node of `who` whose key 0 came with its card and keys 1..=`retired`
/// came by rotation, as a running node knows them.
fn node(who: &str, retired: usize) -> (Arc<Sealing>, SealOpener) {
    let sealing = Arc::new(Sealing::new(
        vec![own_key(0)],
        Box::new(DeterministicRandom::new([3; 32])),
    ));
    sealing.set_valid_from(&[(own_key(0).public(), own_key_from(0))]);
    for n in 1..=retired {
        sealing.add_newest(own_key(n), own_key_from(n));
    }
    let mut trust = tally_testkit::trust_list(&[("US-DDTC", 1)]);
    trust.cards[0].encryption_keys = vec![CardKey::new(secret(US_ENC, 0).public().to_hex(), 0)];
    let opener = SealOpener {
        sealing: sealing.clone(),
        trust: Arc::new(RwLock::new(trust)),
        own: who.parse().expect("id"),
    };
    (sealing, opener)
}

/// US-DDTC's export `seq`, issued at `at`, sealed to MX-SEDENA's key `to`.
fn sealed(seq: u64, at: i64, to: &EncryptionSecret) -> Entry {
    let document = tally_testkit::docs::export(&format!("EXP-{seq}"), 1, &[]);
    let mut entry = Entry {
        authority: "US-DDTC".parse().expect("id"),
        seq,
        prev: Some(EntryHash([seq as u8; 32])),
        issued_at_ms: at,
        recipients: vec![],
        body: Body::Document(document.clone()),
    };
    let body = seal::seal(
        &secret(US_ENC, 0),
        Header::of(&entry),
        &document,
        &[Recipient {
            authority: "MX-SEDENA".parse().expect("id"),
            encryption_key: to.public(),
        }],
        &["GT".parse().expect("iso")],
        &mut DeterministicRandom::new([seq as u8; 32]),
        &PairKeys::new(4),
    )
    .expect("seals");
    entry.body = Body::Sealed(body);
    entry
}

/// Pair keys asked for (one tag each) and derived (one X25519 each) by
/// one `open` of `entry`.
fn cost(sealing: &Sealing, opener: &SealOpener, entry: &Entry) -> (Opening, u64, u64) {
    let (asked, derived) = sealing.pair_costs();
    let opening = opener.open(entry, &[]);
    let (asked2, derived2) = sealing.pair_costs();
    (opening, asked2 - asked, derived2 - derived)
}

#[test]
fn a_sealed_entry_costs_the_same_after_0_100_or_300_rotations() {
    let mut seen = Vec::new();
    for retired in [0, 100, 300] {
        let newest = own_key(retired);
        let now = own_key_from(retired) + 60_000;

        // A bystander (JM is no party): nothing opens, few keys tried.
        let (sealing, opener) = node("JM-FLA", retired);
        let entry = sealed(1, now, &secret(0xC0, 0));
        let (opening, asked, derived) = cost(&sealing, &opener, &entry);
        assert!(matches!(opening, Opening::NotAddressed), "{opening:?}");
        assert!(
            asked <= MAX_OWN_KEYS_PER_ENTRY as u64,
            "bystander, {retired}: {asked} tags"
        );
        assert!(derived <= asked);

        // A recipient of a fresh entry, sealed to its newest key.
        let (sealing, opener) = node("MX-SEDENA", retired);
        let (opening, fresh, derived) = cost(&sealing, &opener, &sealed(2, now, &newest));
        assert!(matches!(opening, Opening::Document { .. }), "{opening:?}");
        assert!(fresh <= MAX_OWN_KEYS_PER_ENTRY as u64 && derived <= fresh);

        // A recipient of an entry of long ago, sealed to the key it had then.
        let old = retired / 3;
        let entry = sealed(3, own_key_from(old) + 1_000, &own_key(old));
        let (opening, then, derived) = cost(&sealing, &opener, &entry);
        assert!(matches!(opening, Opening::Document { .. }), "{opening:?}");
        assert!(then <= MAX_OWN_KEYS_PER_ENTRY as u64 && derived <= then);
        seen.push((retired, asked, fresh, then));
    }
    eprintln!(
        "(retired own keys, tags per entry: bystander, recipient, recipient of an old entry): {seen:?}"
    );
    // Independent of the count: what 100 rotations cost, 300 cost too.
    assert_eq!(seen[1].1..=seen[1].3, seen[2].1..=seen[2].3, "{seen:?}");
}

/// An issuer that had not seen this node's last rotation seals to the key
/// it replaced: that still opens within the grace, and the key it was
/// sealed to is what a later read opens it with. Past the grace it is no
/// longer tried on fresh entries, and a read of a document opened with it
/// before still works (the archive).
#[test]
fn the_replaced_key_opens_within_the_grace_and_old_documents_reread() {
    let (sealing, opener) = node("MX-SEDENA", 10);
    let day = 86_400_000;
    let previous = own_key(9);
    let soon = sealed(1, own_key_from(10) + day, &previous);
    assert!(matches!(opener.open(&soon, &[]), Opening::Document { .. }));
    let late = sealed(2, own_key_from(10) + 31 * day, &previous);
    assert!(
        matches!(opener.open(&late, &[]), Opening::NotAddressed),
        "a key replaced 31 days before the entry is not tried"
    );
    // Read again with the issuer key recorded: the window, then the archive.
    let issuer = secret(US_ENC, 0).public().to_hex();
    assert!(opener.reopen(&soon, &issuer).is_some());
    assert!(
        opener.reopen(&late, &issuer).is_some(),
        "the archive opens it"
    );
    let foreign = sealed(3, own_key_from(10), &secret(0xC0, 0));
    assert!(opener.reopen(&foreign, &issuer).is_none());
    assert!(
        opener.reopen(&foreign, &issuer).is_none(),
        "twice: remembered"
    );
    assert_eq!(sealing.undated(), 0);
}
