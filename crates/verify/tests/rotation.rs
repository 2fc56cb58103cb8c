//! Keys by seq (docs/PROTOCOL.md 5.2): a signing key
//! retires at its rotation's seq, and a key declared compromised after seq N
//! signs nothing past N; entries already stored past N stop counting.

use std::sync::{Arc, RwLock};
use tally_model::trust::KeyCompromise;
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::docs::{import, rotation};
use tally_testkit::{Log, T0, key, trust_list};
use tally_verify::{IngestOutcome, NoPublish, Rejection, Verifier};

/// Ten hours after the fixtures' epoch: every rotation below is in force.
const NOW: i64 = T0 + 36_000_000;
/// After `rotation(n)`'s `valid_from_ms` (T0 + 1 h).
const LATER: i64 = T0 + 7_200_000;

struct Rig {
    _dir: tempfile::TempDir,
    store: Store,
    trust: Arc<RwLock<TrustList>>,
    v: Verifier,
}

/// A US-DDTC node trusting MX-SEDENA's card (key 2).
fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let trust = Arc::new(RwLock::new(trust_list(&[("MX-SEDENA", 2)])));
    let v = Verifier::builder(store.clone(), "US-DDTC".parse().expect("valid"), key(1))
        .trust(trust.clone())
        .publish(Box::new(NoPublish))
        .clock(Box::new(tally_verify::FixedClock(NOW)))
        .build();
    Rig {
        _dir: dir,
        store,
        trust,
        v,
    }
}

impl Rig {
    /// The ids of the store's alerts of `kind`.
    fn alert_ids(&self, kind: AlertKind) -> Vec<String> {
        self.store
            .alerts()
            .expect("alerts")
            .into_iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.id)
            .collect()
    }
}

fn bytes(v: &VerifiedEntry) -> Vec<u8> {
    v.signed().encode()
}

fn accepted(o: &IngestOutcome) -> bool {
    matches!(o, IngestOutcome::Accepted(_))
}

fn untrusted_key(o: &IngestOutcome) -> bool {
    matches!(o, IngestOutcome::Rejected(Rejection::UntrustedKey(_)))
}

/// MX's log: seq 1 by key 2, seq 2 the rotation to key 12 (signed by key 2).
/// The log is left signing with key 2 (the caller picks the next key).
fn rotated_mx() -> (Log, Vec<VerifiedEntry>) {
    let mut mx = Log::new("MX-SEDENA", 2);
    let first = mx.next_at(LATER, import("IC-1"));
    let rot = mx.next_at(LATER + 1, rotation(12));
    (mx, vec![first, rot])
}

/// Regression (issue: back-dating bypassed key expiry; the seq half): an
/// old signing key kept signing after its rotation, because keys were
/// judged on time only. Fails before keys were judged by seq.
#[test]
fn the_old_key_signs_nothing_after_its_rotation_and_the_new_key_signs_after_it() {
    let r = rig();
    let (mut mx, head) = rotated_mx();
    for e in &head {
        assert!(accepted(&r.v.ingest().entry(&bytes(e)).expect("io")));
    }
    let rotated = r.store.rotated_keys(&mx.authority).expect("rotations");
    assert_eq!(rotated.len(), 1);
    assert_eq!(
        rotated[0].signed_by,
        hex::encode(key(2).public().as_bytes())
    );

    // The old key, after the rotation, even dated in its card's window.
    let tip = (mx.seq, mx.prev);
    let stale = mx.next_at(LATER + 2, import("IC-3"));
    let out = r.v.ingest().entry(&bytes(&stale)).expect("io");
    assert!(untrusted_key(&out), "{out:?}");
    assert_eq!(
        r.store.head(&mx.authority).expect("head").map(|h| h.0),
        Some(2)
    );

    // The new key is trusted from seq 3, without a new card.
    (mx.seq, mx.prev) = tip;
    mx.key = key(12);
    let fresh = mx.next_at(LATER + 2, import("IC-3"));
    assert!(accepted(&r.v.ingest().entry(&bytes(&fresh)).expect("io")));
    // ... but not before its rotation's valid_from_ms.
    let early = mx.next_at(T0 + 1000, import("IC-4"));
    let out = r.v.ingest().entry(&bytes(&early)).expect("io");
    assert!(
        matches!(out, IngestOutcome::Rejected(_)),
        "an entry of the new key dated before the rotation: {out:?}"
    );
}

/// Within one range (catch-up), a rotation earlier in the range retires its
/// signer for the entries after it, and makes the new key sign them.
#[test]
fn a_rotation_in_the_same_range_counts() {
    let r = rig();
    let (mut mx, mut range) = rotated_mx();
    let tip = (mx.seq, mx.prev);
    range.push(mx.next_at(LATER + 2, import("IC-3")));
    let raw: Vec<Vec<u8>> = range.iter().map(bytes).collect();
    let out = r.v.ingest().many(&raw).expect("io");
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(accepted(&out[0]) && accepted(&out[1]), "{out:?}");
    assert!(untrusted_key(&out[2]), "{out:?}");
    assert_eq!(
        r.store.head(&mx.authority).expect("head").map(|h| h.0),
        Some(2)
    );

    // A fresh node takes the whole range with the new key after the rotation.
    let r2 = rig();
    (mx.seq, mx.prev) = tip;
    mx.key = key(12);
    range[2] = mx.next_at(LATER + 2, import("IC-3"));
    let raw: Vec<Vec<u8>> = range.iter().map(bytes).collect();
    let out = r2.v.ingest().many(&raw).expect("io");
    assert!(out.iter().all(accepted), "{out:?}");
}

/// Catch-up pre-verifies the next range before the previous one commits:
/// the rotation is not stored when the old key's entry is pre-verified, and
/// the commit refuses it.
#[test]
fn a_range_preverified_before_the_rotation_committed_is_refused_at_commit() {
    let r = rig();
    let (mut mx, head) = rotated_mx();
    let stale = mx.next_at(LATER + 2, import("IC-3"));
    let first =
        r.v.ingest()
            .preverify(&[bytes(&head[0]), bytes(&head[1])])
            .expect("io");
    let second = r.v.ingest().preverify(&[bytes(&stale)]).expect("io");
    assert_eq!(
        second.len(),
        1,
        "the old key was still trusted before the rotation was stored"
    );
    let out = r.v.ingest().commit(first).expect("io");
    assert!(out.iter().all(accepted), "{out:?}");
    let out = r.v.ingest().commit(second).expect("io");
    assert!(untrusted_key(&out[0]), "{out:?}");
    assert_eq!(
        r.store.head(&mx.authority).expect("head").map(|h| h.0),
        Some(2)
    );
}

/// This node's own rotation: the verifier signs with the new key at once,
/// and its own older entries stay trusted up to the rotation.
#[test]
fn the_node_rotates_its_own_key() {
    let r = rig();
    let us: AuthorityId = "US-DDTC".parse().expect("valid");
    let before =
        r.v.issuer()
            .issue(tally_testkit::docs::import_license_for("IC-A", "US", "MX"))
            .expect("issued");
    let old = key(1).public().to_bytes();
    let rot = r.v.issuer().rotate_signing_key(key(21)).expect("rotated");
    assert_eq!(rot.entry.seq, 2);
    assert_eq!(
        rot.signed.key_id(),
        &old,
        "the rotation is signed by the old key"
    );
    assert_eq!(
        r.v.public_key_hex(),
        hex::encode(key(21).public().as_bytes())
    );
    let after =
        r.v.issuer()
            .issue(tally_testkit::docs::import_license_for("IC-B", "US", "MX"))
            .expect("issued");
    assert_eq!(after.signed.key_id(), &key(21).public().to_bytes());
    let at = |s: &SignedEntry| s.open().expect("opens").issued_at_ms;
    assert!(
        r.v.trusted_key(&us, &old, at(&before.signed), 1)
            .expect("io")
            .is_some()
    );
    assert!(
        r.v.trusted_key(&us, &old, at(&after.signed), 3)
            .expect("io")
            .is_none()
    );
    let new = key(21).public().to_bytes();
    assert!(
        r.v.trusted_key(&us, &new, at(&after.signed), 3)
            .expect("io")
            .is_some()
    );
    assert!(matches!(
        r.v.issuer().rotate_signing_key(key(21)),
        Err(tally_verify::IssueError::BadRequest(_))
    ));

    // A peer that trusts US's original card follows the rotation.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let mx = Verifier::builder(store, "MX-SEDENA".parse().expect("valid"), key(2))
        .trust(Arc::new(RwLock::new(trust_list(&[("US-DDTC", 1)]))))
        .publish(Box::new(NoPublish))
        .clock(Box::new(tally_verify::FixedClock(tally_verify::now_ms())))
        .build();
    let raw: Vec<Vec<u8>> = [&before.signed, &rot.signed, &after.signed]
        .iter()
        .map(|s| s.encode())
        .collect();
    let out = mx.ingest().many(&raw).expect("io");
    assert!(out.iter().all(accepted), "{out:?}");
}

/// `tally trust revoke-key` at the verifier and store level: entries of MX
/// past N signed by the compromised key stay stored but stop counting and
/// raise `key.compromised` (one per entry); new ones are refused; a key a
/// compromised key announced past N is trusted for nothing.
#[test]
fn a_compromise_stops_stored_entries_counting_and_refuses_new_ones() {
    let r = rig();
    let mut mx = Log::new("MX-SEDENA", 2);
    let mut all = vec![];
    for n in 1..=4 {
        all.push(mx.next_at(LATER + n, import(&format!("IC-{n}"))));
    }
    // The thief rotates to a key of its own at seq 5 and signs seq 6 with it.
    all.push(mx.next_at(LATER + 5, rotation(13)));
    mx.key = key(13);
    all.push(mx.next_at(LATER + 6, import("IC-6")));
    let raw: Vec<Vec<u8>> = all.iter().map(bytes).collect();
    assert!(r.v.ingest().many(&raw).expect("io").iter().all(accepted));
    let mx_id = mx.authority.clone();
    assert!(r.store.license(&mx_id, "IC-4").expect("io").is_some());

    // Declared: key 2 compromised after seq 2.
    let declaration = KeyCompromise {
        authority: mx_id.clone(),
        key_id: hex::encode(key(2).public().as_bytes()),
        after_seq: 2,
    };
    let compromises = {
        let mut t = r.trust.write().expect("lock");
        t.declare_compromise(declaration);
        t.compromises()
    };
    let mut steps = 0;
    let report =
        r.v.apply_compromised(compromises.clone(), &mut |_| steps += 1)
            .expect("reindex");
    assert!(report.is_some() && steps > 0, "re-derived, with progress");
    assert!(
        r.v.apply_compromised(compromises, &mut |_| {})
            .expect("io")
            .is_none(),
        "unchanged declarations re-derive nothing"
    );

    assert_eq!(
        r.store.head(&mx_id).expect("head").map(|h| h.0),
        Some(6),
        "still stored"
    );
    for n in 1..=2 {
        assert!(
            r.store
                .license(&mx_id, &format!("IC-{n}"))
                .expect("io")
                .is_some()
        );
    }
    for n in [3, 4, 6] {
        assert!(
            r.store
                .license(&mx_id, &format!("IC-{n}"))
                .expect("io")
                .is_none(),
            "IC-{n} no longer counts"
        );
    }
    let alerts = r.alert_ids(AlertKind::KeyCompromised);
    let want: Vec<String> = [3, 4, 5, 6]
        .iter()
        .map(|s| format!("key.compromised:-:MX-SEDENA:{s}"))
        .collect();
    assert_eq!(alerts, want);
    // Nothing the thief holds signs anything more.
    for k in [2u8, 13] {
        let id = key(k).public().to_bytes();
        assert!(
            r.v.trusted_key(&mx_id, &id, LATER + 7, 7)
                .expect("io")
                .is_none(),
            "key {k}"
        );
    }
    let next = mx.next_at(LATER + 7, import("IC-7"));
    assert!(untrusted_key(
        &r.v.ingest().entry(&bytes(&next)).expect("io")
    ));
    // Before the compromise point the key is still MX's.
    let id = key(2).public().to_bytes();
    assert!(
        r.v.trusted_key(&mx_id, &id, LATER + 1, 2)
            .expect("io")
            .is_some()
    );

    // Issue 28 item 3: declaring the same key again with a larger seq
    // used to replace the first declaration, re-accept seq 3-6 and close
    // their alerts. Declarations only narrow: nothing changes.
    let compromises = {
        let mut t = r.trust.write().expect("lock");
        let in_force = t.declare_compromise(KeyCompromise {
            authority: mx_id.clone(),
            key_id: hex::encode(key(2).public().as_bytes()),
            after_seq: 100_000,
        });
        assert_eq!(in_force, 2);
        t.compromises()
    };
    assert!(
        r.v.apply_compromised(compromises, &mut |_| {})
            .expect("io")
            .is_none(),
        "a wider re-declaration re-derives nothing"
    );
    assert_eq!(r.alert_ids(AlertKind::KeyCompromised), want);
    assert!(r.store.license(&mx_id, "IC-3").expect("io").is_none());
    assert!(
        r.v.trusted_key(&mx_id, &id, LATER + 3, 3)
            .expect("io")
            .is_none()
    );
}

/// Issue "keys and forks": after `revoke-key MX K --after-seq 2` and MX's
/// new card (key 22), MX's genuine seq 3 used to meet the thief's stored
/// seq 3 as an equivocation (refused, kept as proof), so MX's log could
/// never resume. The compromised tail must stop counting and give way: it
/// leaves the log as evidence and the genuine entries take seq 3 on.
#[test]
fn the_genuine_continuation_replaces_a_compromised_tail() {
    let r = rig();
    let mut mx = Log::new("MX-SEDENA", 2);
    let genuine: Vec<VerifiedEntry> = (1..=2)
        .map(|n| mx.next_at(LATER + n, import(&format!("IC-{n}"))))
        .collect();
    let head_2 = Some((2, genuine[1].id()));
    let thief: Vec<VerifiedEntry> = (3..=5)
        .map(|n| mx.next_at(LATER + n, import(&format!("IC-{n}"))))
        .collect();
    let raw: Vec<Vec<u8>> = genuine.iter().chain(&thief).map(bytes).collect();
    assert!(r.v.ingest().many(&raw).expect("io").iter().all(accepted));
    let mx_id = mx.authority.clone();

    // revoke-key after seq 2, then MX's new card: key 22, key 2 marked.
    let compromises = {
        let mut t = r.trust.write().expect("lock");
        t.declare_compromise(KeyCompromise {
            authority: mx_id.clone(),
            key_id: hex::encode(key(2).public().as_bytes()),
            after_seq: 2,
        });
        let mut card = tally_testkit::card("MX-SEDENA", &key(22));
        let mut old = tally_testkit::card("MX-SEDENA", &key(2)).keys.remove(0);
        old.compromised_after_seq = Some(2);
        card.keys.push(old);
        t.upsert(card);
        t.compromises()
    };
    r.v.apply_compromised(compromises, &mut |_| {})
        .expect("re-derive");

    let mut resumed = Log::resume("MX-SEDENA", 22, head_2);
    let next: Vec<VerifiedEntry> = (3..=4)
        .map(|n| resumed.next_at(LATER + 10 + n, import(&format!("IC-G{n}"))))
        .collect();
    // Seq 4 first (gossip out of order): the tail gives way, 3 is a gap.
    let out = r.v.ingest().entry(&bytes(&next[1])).expect("io");
    assert!(
        matches!(
            out,
            IngestOutcome::Gap {
                have: 2,
                seq: 4,
                ..
            }
        ),
        "{out:?}"
    );
    let out =
        r.v.ingest()
            .many(&next.iter().map(bytes).collect::<Vec<_>>())
            .expect("io");
    assert!(out.iter().all(accepted), "{out:?}");

    assert_eq!(
        r.store.head(&mx_id).expect("head"),
        Some((4, next[1].id())),
        "the genuine log resumed at seq 3"
    );
    assert!(r.store.evidence().expect("io").is_empty(), "no fork proven");
    assert!(
        !r.store
            .alerts()
            .expect("alerts")
            .iter()
            .any(|a| a.kind == AlertKind::Equivocation),
        "no equivocation raised"
    );
    for n in ["IC-1", "IC-2", "IC-G3", "IC-G4"] {
        assert!(r.store.license(&mx_id, n).expect("io").is_some(), "{n}");
    }
    for n in ["IC-3", "IC-4", "IC-5"] {
        assert!(r.store.license(&mx_id, n).expect("io").is_none(), "{n}");
    }
    for t in &thief {
        assert_eq!(
            r.store.by_hash(&t.id()).expect("io"),
            None,
            "out of the log"
        );
    }
    let compromised = r.alert_ids(AlertKind::KeyCompromised);
    assert_eq!(compromised.len(), 3, "the thief's entries stay reported");
    // A reindex (which rebuilds alerts from the log, where the thief's
    // entries no longer are) derives the same state, alerts included.
    let before = r.store.derived_digest().expect("digest");
    let displaced = r.store.displaced().expect("displaced");
    assert!(
        !displaced.is_empty(),
        "the thief's entries are kept as evidence"
    );
    r.v.reindex(&mut |_| {}).expect("reindex");
    assert_eq!(r.store.derived_digest().expect("digest"), before);
    // The evidence is not derived state: a reindex keeps it.
    assert_eq!(r.store.displaced().expect("displaced"), displaced);
    // The thief's entries offered again are refused (key compromised).
    assert!(untrusted_key(
        &r.v.ingest().entry(&bytes(&thief[2])).expect("io")
    ));
}

/// A rotation to a weak key (here one with a torsion component, which the
/// signature rule would accept signatures from) is kept, raises
/// `document.invalid`, and still retires the key that signed it, alone or
/// in a catch-up range: the log waits for a new card (PROTOCOL.md 5.3).
#[test]
fn a_rotation_to_a_weak_key_retires_its_signer_and_trusts_nothing() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let strong = key(12).public().to_bytes();
    let weak = (CompressedEdwardsY(strong).decompress().expect("point") + EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    let weak_rotation = || {
        Document::KeyRotation(KeyRotation {
            new_key: hex::encode(weak),
            valid_from_ms: T0 + 3_600_000,
        })
    };
    for in_one_range in [false, true] {
        let r = rig();
        let mut mx = Log::new("MX-SEDENA", 2);
        let first = mx.next_at(LATER, import("IC-1"));
        let rot = mx.next_at(LATER + 1, weak_rotation());
        let tip = (mx.seq, mx.prev);
        let by_old = mx.next_at(LATER + 2, import("IC-3"));
        let range = [&first, &rot, &by_old];
        let out: Vec<IngestOutcome> = if in_one_range {
            let raw: Vec<Vec<u8>> = range.iter().map(|e| bytes(e)).collect();
            r.v.ingest().many(&raw).expect("io")
        } else {
            range
                .iter()
                .map(|e| r.v.ingest().entry(&bytes(e)).expect("io"))
                .collect()
        };
        assert!(accepted(&out[0]) && accepted(&out[1]), "{out:?}");
        assert!(
            untrusted_key(&out[2]),
            "old key after its rotation: {out:?}"
        );
        assert_eq!(r.alert_ids(AlertKind::DocumentInvalid).len(), 1);
        // Nor does anything signed with the weak key count: a forged
        // signature over its torsion would otherwise pass.
        (mx.seq, mx.prev) = tip;
        let by_weak = {
            let e = mx.next_at(LATER + 2, import("IC-3"));
            let mut s = e.signed().clone();
            s = SignedEntry::decode(&{
                let mut w = s.encode();
                let n = w.len();
                w[n - 98..n - 66].copy_from_slice(&weak);
                w
            })
            .expect("decodes");
            s
        };
        let out = r.v.ingest().entry(&by_weak.encode()).expect("io");
        assert!(untrusted_key(&out), "weak key: {out:?}");
        assert_eq!(
            r.store.head(&mx.authority).expect("head").map(|h| h.0),
            Some(2)
        );
    }
}
