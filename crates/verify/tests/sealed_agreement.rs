//! Agreement on sealed entries (issue: a sealed license could be poisoned
//! for its recipients only, and a party could be excluded unseen). A
//! trusted issuer that lies in its recipient list gets one fixed outcome at
//! each reader, and never makes a transaction fail: logs keep advancing on
//! recipients exactly as on bystanders.

use std::sync::{Arc, RwLock};
use tally_model::seal::{
    DeterministicRandom, EncryptionPublic, EncryptionSecret, Header, PairKeys, seal_payload,
};
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::docs::{export, status};
use tally_testkit::{Log, T0, key, trust_list};
use tally_verify::sealing::{SealOpener, Sealing};
use tally_verify::{IngestOutcome, NoPublish, Verifier};

const NOW: i64 = T0 + 36_000_000;

fn enc(n: u8) -> EncryptionSecret {
    EncryptionSecret::from_bytes([n; 32])
}

/// US's encryption secret; MX's; CA's; GT's card key and the one GT
/// announces later in its log.
const US_ENC: u8 = 201;
const MX_ENC: u8 = 202;
const CA_ENC: u8 = 203;
const GT_CARD_ENC: u8 = 204;
const GT_LOG_ENC: u8 = 205;

struct Node {
    _dir: tempfile::TempDir,
    v: Verifier,
    /// The verifier's store, read directly to judge what it did.
    store: Store,
}

impl Node {
    /// A node of `authority` (signing key `signing`, encryption secret
    /// `secret`) trusting US (key 1), MX (key 2) and GT (key 3), each card
    /// with its encryption key (GT's card key only).
    fn new(authority: &str, signing: u8, secret: u8) -> Node {
        Node::in_dir(
            tempfile::tempdir().expect("tempdir"),
            authority,
            signing,
            secret,
        )
    }

    /// The node on the store in `dir` (a restart, maybe with other keys).
    fn in_dir(dir: tempfile::TempDir, authority: &str, signing: u8, secret: u8) -> Node {
        let own: AuthorityId = authority.parse().expect("valid");
        let mut list = trust_list(&[("US-DDTC", 1), ("MX-SEDENA", 2), ("GT-DIGECAM", 3)]);
        list.cards.retain(|c| c.authority != own);
        for c in &mut list.cards {
            let n = match c.authority.as_str() {
                "US-DDTC" => US_ENC,
                "MX-SEDENA" => MX_ENC,
                _ => GT_CARD_ENC,
            };
            c.encryption_keys = vec![CardKey::new(enc(n).public().to_hex(), 0)];
        }
        let trust = Arc::new(RwLock::new(list));
        let sealing = Arc::new(Sealing::new(
            vec![enc(secret)],
            Box::new(DeterministicRandom::new([secret; 32])),
        ));
        let opener = SealOpener {
            sealing: sealing.clone(),
            trust: trust.clone(),
            own: own.clone(),
        };
        let store = Store::open_with(
            dir.path(),
            tally_store::OpenOptions {
                engine: EngineKind::default(),
                reader: Some(Arc::new(opener)),
                ..Default::default()
            },
        )
        .expect("store");
        let v = Verifier::builder(store.clone(), own, key(signing))
            .trust(trust)
            .publish(Box::new(NoPublish))
            .clock(Box::new(tally_verify::FixedClock(NOW)))
            .sealing(sealing)
            .build();
        Node {
            _dir: dir,
            v,
            store,
        }
    }

    fn take(&self, e: &VerifiedEntry) {
        let out = self
            .v
            .ingest()
            .entry(&e.signed().encode())
            .expect("no transaction fails");
        assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    }

    fn alerts(&self, kind: AlertKind) -> Vec<tally_store::state::Alert> {
        self.store
            .alerts()
            .expect("alerts")
            .into_iter()
            .filter(|a| a.kind == kind)
            .collect()
    }

    fn reads(&self, number: &str) -> bool {
        let us: AuthorityId = "US-DDTC".parse().expect("valid");
        self.store
            .license_checked(&us, number)
            .expect("reads never fail")
            .is_some()
    }
}

fn recipient(authority: &str, secret: u8) -> Recipient {
    Recipient {
        authority: authority.parse().expect("valid"),
        encryption_key: enc(secret).public(),
    }
}

/// A hostile US: signs entries sealing `document` with the payload's
/// recipient list as given, and stanzas to `to`.
struct Issuer {
    log: Log,
    pairs: PairKeys,
    random: DeterministicRandom,
}

impl Issuer {
    fn new() -> Issuer {
        Issuer {
            log: Log::new("US-DDTC", 1),
            pairs: PairKeys::default(),
            random: DeterministicRandom::new([7; 32]),
        }
    }

    fn sealed(
        &mut self,
        document: Document,
        recipients: Vec<Recipient>,
        unreached: &[&str],
        to: &[EncryptionPublic],
    ) -> VerifiedEntry {
        let payload = SealedPayload {
            document,
            recipients,
            unreached: unreached.iter().map(|c| c.parse().expect("iso")).collect(),
        };
        let header = Header {
            authority: &self.log.authority,
            seq: self.log.seq + 1,
            prev: self.log.prev,
        };
        let sealed = seal_payload(
            &enc(US_ENC),
            header,
            &payload,
            to,
            &mut self.random,
            &self.pairs,
        )
        .expect("seals");
        let at = T0 + 1000 * (self.log.seq as i64 + 1);
        self.log.next_body(at, Body::Sealed(sealed))
    }

    /// The honest list: US first, MX, GT unreached.
    fn honest(&mut self, document: Document) -> VerifiedEntry {
        self.sealed(
            document,
            vec![recipient("US-DDTC", US_ENC), recipient("MX-SEDENA", MX_ENC)],
            &["GT"],
            &[enc(US_ENC).public(), enc(MX_ENC).public()],
        )
    }
}

#[test]
fn a_reordered_recipient_list_is_invalid_at_readers_and_stops_nothing() {
    let mx = Node::new("MX-SEDENA", 2, MX_ENC);
    let ca = Node::new("CA-GAC", 4, CA_ENC);
    let mut us = Issuer::new();
    // MX listed first: readers would re-open it with MX's key as the
    // issuer's, and fail on every later read.
    let poisoned = us.sealed(
        export("EXP-1", 10, &[]),
        vec![recipient("MX-SEDENA", MX_ENC), recipient("US-DDTC", US_ENC)],
        &["GT"],
        &[enc(US_ENC).public(), enc(MX_ENC).public()],
    );
    let revoke = us.honest(status("EXP-1", Status::Revoked, "withdrawn"));
    let fine = us.honest(export("EXP-2", 10, &[]));
    for e in [&poisoned, &revoke, &fine] {
        mx.take(e);
        ca.take(e);
    }
    assert!(!mx.reads("EXP-1"), "not applied");
    assert!(mx.reads("EXP-2"), "the log went on");
    let invalid = mx.alerts(AlertKind::DocumentInvalid);
    assert!(
        invalid
            .iter()
            .any(|a| a.detail.contains("issuer is not listed first")),
        "{invalid:?}"
    );
    // The bystander stored the same entries and learned nothing.
    assert_eq!(
        mx.store.heads().expect("heads"),
        ca.store.heads().expect("heads")
    );
    assert!(ca.store.alerts().expect("alerts").is_empty());
    assert!(!ca.reads("EXP-2"));
}

#[test]
fn claims_a_reader_cannot_confirm_raise_party_excluded_and_still_apply() {
    let mx = Node::new("MX-SEDENA", 2, MX_ENC);
    let ca = Node::new("CA-GAC", 4, CA_ENC);
    let mut us = Issuer::new();
    let fake = EncryptionSecret::from_bytes([99; 32]).public();
    // A stanza for an invented authority's key.
    let invented = us.sealed(
        export("EXP-1", 10, &[]),
        vec![
            recipient("US-DDTC", US_ENC),
            recipient("MX-SEDENA", MX_ENC),
            Recipient {
                authority: "MX-FAKE".parse().expect("valid"),
                encryption_key: fake,
            },
        ],
        &["GT"],
        &[enc(US_ENC).public(), enc(MX_ENC).public(), fake],
    );
    // GT (which MX trusts, with a key) claimed unreached: MX cannot
    // confirm; the issuer may trust no one there. Every node with the
    // same trust reads the same doubt.
    let unreached = us.honest(export("EXP-2", 10, &[]));
    // MX's stanza is there but its wrap is broken: MX was meant to read
    // it and cannot.
    let mut broken = us.honest(export("EXP-3", 10, &[]));
    {
        let Body::Sealed(mut s) = broken.entry().body.clone() else {
            unreachable!()
        };
        for st in &mut s.stanzas {
            st.wrapped[30] ^= 1;
        }
        // Re-sign the tampered body as the issuer would.
        us.log.seq -= 1;
        us.log.prev = Some(unreached.id());
        broken = us
            .log
            .next_body(broken.entry().issued_at_ms, Body::Sealed(s));
    }
    // MX has a stanza but the list leaves it out, claiming MX unreached.
    let left_out = us.sealed(
        export("EXP-4", 10, &[]),
        vec![recipient("US-DDTC", US_ENC)],
        &["GT", "MX"],
        &[enc(US_ENC).public(), enc(MX_ENC).public()],
    );
    for e in [&invented, &unreached, &broken, &left_out] {
        mx.take(e);
        ca.take(e);
    }
    assert!(mx.reads("EXP-1") && mx.reads("EXP-2"), "doubts still apply");
    assert!(!mx.reads("EXP-3") && !mx.reads("EXP-4"));
    let excluded: Vec<String> = mx
        .alerts(AlertKind::PartyExcluded)
        .into_iter()
        .map(|a| a.detail)
        .collect();
    assert_eq!(excluded.len(), 3, "{excluded:#?}");
    assert!(excluded[0..].iter().any(|d| d.contains("MX-FAKE")));
    assert!(
        excluded
            .iter()
            .any(|d| d.contains("lists GT as having no reader"))
    );
    assert!(excluded.iter().any(|d| d.contains("does not open")));
    let invalid = mx.alerts(AlertKind::DocumentInvalid);
    assert!(
        invalid
            .iter()
            .any(|a| a.detail.contains("MX-SEDENA is a party and is not listed")),
        "{invalid:?}"
    );
    assert!(ca.store.alerts().expect("alerts").is_empty());
}

/// A recipient key announced in its authority's log after the document
/// that names it: the doubt is settled when the announcement arrives, so
/// the alerts do not depend on the order the two logs came in.
#[test]
fn a_key_claim_is_judged_again_when_the_key_is_announced() {
    let mut gt = Log::new("GT-DIGECAM", 3);
    let announce = gt.next_at(
        T0,
        Document::EncryptionKey(EncryptionKey {
            public_key: enc(GT_LOG_ENC).public().0,
            valid_from_ms: T0,
        }),
    );
    let mut us = Issuer::new();
    let to_gt = us.sealed(
        export("EXP-1", 10, &[]),
        vec![
            recipient("US-DDTC", US_ENC),
            recipient("MX-SEDENA", MX_ENC),
            recipient("GT-DIGECAM", GT_LOG_ENC),
        ],
        &[],
        &[
            enc(US_ENC).public(),
            enc(MX_ENC).public(),
            enc(GT_LOG_ENC).public(),
        ],
    );
    let first = Node::new("MX-SEDENA", 2, MX_ENC);
    first.take(&to_gt);
    assert_eq!(first.alerts(AlertKind::PartyExcluded).len(), 1);
    first.take(&announce);
    let second = Node::new("MX-SEDENA", 2, MX_ENC);
    second.take(&announce);
    second.take(&to_gt);
    assert!(first.alerts(AlertKind::PartyExcluded).is_empty());
    assert!(second.alerts(AlertKind::PartyExcluded).is_empty());
    assert_eq!(
        first.store.alerts().expect("alerts"),
        second.store.alerts().expect("alerts")
    );
    // A reindex derives the same.
    first.v.reindex(&mut |_| {}).expect("reindex");
    assert!(first.alerts(AlertKind::PartyExcluded).is_empty());
    assert!(first.reads("EXP-1"));
}

/// A recipient whose encryption secret is lost: the license it applied no
/// longer opens. Reads say so, checks fail `license.known` with the reason,
/// and entries about it keep being accepted.
#[test]
fn a_document_that_no_longer_opens_is_unreadable_and_stops_nothing() {
    let mx = Node::new("MX-SEDENA", 2, MX_ENC);
    let mut us = Issuer::new();
    let issued = us.honest(export("EXP-1", 10, &[]));
    mx.take(&issued);
    assert!(mx.reads("EXP-1"));
    // Restarted with another secret (the key file was lost and replaced).
    let Node {
        _dir: dir,
        v,
        store,
    } = mx;
    drop((v, store));
    let mx = Node::in_dir(dir, "MX-SEDENA", 2, 77);
    let us_id: AuthorityId = "US-DDTC".parse().expect("valid");
    let err = mx
        .store
        .license_checked(&us_id, "EXP-1")
        .expect_err("unreadable");
    assert!(
        matches!(err, tally_store::StoreError::Unreadable { .. }),
        "{err}"
    );
    assert!(mx.store.license(&us_id, "EXP-1").expect("reads").is_none());
    // The issuer seals the next change to MX's new key.
    let revoke = us.sealed(
        status("EXP-1", Status::Suspended, "inquiry"),
        vec![recipient("US-DDTC", US_ENC), recipient("MX-SEDENA", 77)],
        &["GT"],
        &[enc(US_ENC).public(), enc(77).public()],
    );
    mx.take(&revoke);
    let unreadable = mx.alerts(AlertKind::DocumentUnreadable);
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert_eq!(
        unreadable[0].license.as_ref().map(|l| l.number.as_str()),
        Some("EXP-1")
    );
}

/// Gossip's verdict comes after the chain append alone (issue: a recipient
/// Accepted only after opening and applying, so its timing told who the
/// recipients were): the entry is stored and acknowledged before it is
/// opened; the apply step, or any later commit, applies it.
#[test]
fn gossip_acknowledges_after_the_chain_append_and_applies_after() {
    let mx = Node::new("MX-SEDENA", 2, MX_ENC);
    let mut us = Issuer::new();
    let first = us.honest(export("EXP-1", 10, &[]));
    let second = us.honest(export("EXP-2", 10, &[]));
    let us_id: AuthorityId = "US-DDTC".parse().expect("valid");
    let out = mx.v.ingest().gossip(&first.signed().encode()).expect("io");
    assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    assert_eq!(mx.store.head(&us_id).expect("head").map(|h| h.0), Some(1));
    assert_eq!(mx.store.applied_through(&us_id).expect("mark"), 0);
    assert!(!mx.reads("EXP-1"), "not opened before the verdict");
    mx.v.ingest().apply_behind().expect("applies");
    assert!(mx.reads("EXP-1"));
    // Left behind, the next commit applies it first, in order.
    let out = mx.v.ingest().gossip(&second.signed().encode()).expect("io");
    assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    let third = us.honest(export("EXP-3", 10, &[]));
    mx.take(&third);
    assert!(mx.reads("EXP-2") && mx.reads("EXP-3"));
    assert_eq!(mx.store.applied_through(&us_id).expect("mark"), 3);
}

/// A stop between gossip's chain append and its apply step loses nothing:
/// the start applies what is behind the applied mark.
#[test]
fn a_stop_between_append_and_apply_is_applied_at_start() {
    let mx = Node::new("MX-SEDENA", 2, MX_ENC);
    let mut us = Issuer::new();
    let e = us.honest(export("EXP-1", 10, &[]));
    let out = mx.v.ingest().gossip(&e.signed().encode()).expect("io");
    assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    let Node {
        _dir: dir,
        v,
        store,
    } = mx;
    drop((v, store));
    let mx = Node::in_dir(dir, "MX-SEDENA", 2, MX_ENC);
    assert!(!mx.reads("EXP-1"));
    let settled = tally_verify::apply::settle(&mx.store, &mx.v.applier(), vec![], &mut |_| {});
    assert!(settled.expect("applies").is_none(), "no rebuild");
    assert_eq!(
        mx.store
            .applied_through(&"US-DDTC".parse().expect("valid"))
            .expect("mark"),
        1
    );
    assert!(mx.reads("EXP-1"));
}
