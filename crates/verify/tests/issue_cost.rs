//! What issuing a sealed document costs its issuer: the pair keys its
//! seal asks for, and nothing to open its own new entry again (the issue
//! path applies the payload it sealed; it does not decrypt what it just
//! encrypted). The document applies as if it had been opened.

use std::sync::{Arc, RwLock};
use tally_model::seal::{DeterministicRandom, EncryptionSecret};
use tally_model::*;
use tally_store::{EngineKind, OpenOptions, Store};
use tally_testkit::{T0, key, trust_list};
use tally_verify::Verifier;
use tally_verify::sealing::{SealOpener, Sealing};

fn enc(n: u8) -> EncryptionSecret {
    EncryptionSecret::from_bytes([n; 32])
}

#[test]
fn a_sealed_issue_asks_only_its_own_seals_pair_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let own: AuthorityId = "MX-SEDENA".parse().expect("valid");
    let mut list = trust_list(&[("US-DDTC", 1)]);
    list.cards[0].encryption_keys = vec![CardKey::new(enc(201).public().to_hex(), 0)];
    let trust = Arc::new(RwLock::new(list));
    let sealing = Arc::new(Sealing::new(
        vec![enc(202)],
        Box::new(DeterministicRandom::new([7; 32])),
    ));
    let opener = SealOpener {
        sealing: sealing.clone(),
        trust: trust.clone(),
        own: own.clone(),
    };
    let store = Store::open_with(
        dir.path(),
        OpenOptions {
            engine: EngineKind::default(),
            reader: Some(Arc::new(opener)),
            ..OpenOptions::default()
        },
    )
    .expect("store");
    let v = Verifier::builder(store.clone(), own.clone(), key(2))
        .trust(trust)
        .clock(Box::new(tally_verify::FixedClock(T0 + 36_000_000)))
        .sealing(sealing.clone())
        .build();

    let (asked, _) = sealing.pair_costs();
    let issued = v
        .issuer()
        .issue(tally_testkit::docs::import_license_for("IC-1", "MX", "US"))
        .expect("issued");
    let (after, _) = sealing.pair_costs();
    assert_eq!(
        issued.recipients,
        vec![own.clone(), "US-DDTC".parse().expect("valid")]
    );
    // The issuer's own stanza and US's: nothing asked to open it again.
    assert_eq!(after - asked, 2);
    let entry = issued.signed.open().expect("decodes");
    assert!(
        matches!(entry.body, Body::Sealed(_)),
        "sealed to its parties"
    );
    // Applied as opened: the license reads back (this read opens it).
    assert!(
        store
            .license_checked(&own, "IC-1")
            .expect("reads")
            .is_some()
    );
}
