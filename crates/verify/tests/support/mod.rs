//! A node that reads sealed entries, for the tests that need one beside a
//! US-DDTC log they write themselves.

use std::sync::{Arc, RwLock};
use tally_model::seal::{DeterministicRandom, EncryptionPublic, EncryptionSecret};
use tally_model::{AuthorityId, CardKey};
use tally_store::{EngineKind, Store};
use tally_testkit::{T0, key, trust_list};
use tally_verify::sealing::{SealOpener, Sealing};
use tally_verify::{NoPublish, Verifier};

/// The node of `authority` (testkit signing key `signing`, encryption
/// secret `[secret; 32]`) trusting US-DDTC (key 1), whose card carries the
/// encryption key `us_card`; its clock ten hours after [`T0`].
pub fn sealed_node(
    authority: &str,
    signing: u8,
    secret: u8,
    us_card: EncryptionPublic,
) -> (tempfile::TempDir, Verifier) {
    let dir = tempfile::tempdir().expect("tempdir");
    let own: AuthorityId = authority.parse().expect("valid");
    let mut list = trust_list(&[("US-DDTC", 1)]);
    list.cards[0].encryption_keys = vec![CardKey::new(us_card.to_hex(), 0)];
    let trust = Arc::new(RwLock::new(list));
    let sealing = Arc::new(Sealing::new(
        vec![EncryptionSecret::from_bytes([secret; 32])],
        Box::new(DeterministicRandom::new([secret; 32])),
    ));
    let opener = SealOpener {
        sealing: sealing.clone(),
        trust: trust.clone(),
        own: own.clone(),
    };
    let options = tally_store::OpenOptions {
        engine: EngineKind::default(),
        reader: Some(Arc::new(opener)),
        ..Default::default()
    };
    let store = Store::open_with(dir.path(), options).expect("store");
    let v = Verifier::builder(store, own, key(signing))
        .trust(trust)
        .publish(Box::new(NoPublish))
        .clock(Box::new(tally_verify::FixedClock(T0 + 36_000_000)))
        .sealing(sealing)
        .build();
    (dir, v)
}
