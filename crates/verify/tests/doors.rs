//! The verifier's doors over a real store: what gets in, what is refused and why.

use std::sync::{Arc, Mutex, RwLock};
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::{key, trust_list};
use tally_verify::{
    CheckRequest, IngestOutcome, IssueError, ProofOutcome, Publish, Rejection, Verifier,
};

/// What the verifier published: entries, and equivocation proofs.
type Published = (Vec<SignedEntry>, Vec<Vec<u8>>);

#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Published>>);

impl Publish for Captured {
    fn entry(&self, s: &SignedEntry) {
        self.0.lock().expect("lock").0.push(s.clone());
    }
    fn evidence(&self, p: Vec<u8>) {
        self.0.lock().expect("lock").1.push(p);
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    v: Verifier,
    /// The verifier's store, read directly to judge what it did.
    store: Store,
    published: Captured,
}

/// Noon UTC on 2027-01-15, the day the fixtures' crossings happen.
fn fixture_now() -> i64 {
    let day = Date::from_ymd(2027, 1, 15).expect("a date").days();
    day * 86_400_000 + 43_200_000
}

/// A US-DDTC node that trusts MX-SEDENA (key 2) and GT-DIGECAM (key 3),
/// living on 2027-01-15.
fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let trust = trust_list(&[("MX-SEDENA", 2), ("GT-DIGECAM", 3)]);
    let published = Captured::default();
    let v = Verifier::builder(store.clone(), "US-DDTC".parse().expect("valid"), key(1))
        .trust(Arc::new(RwLock::new(trust)))
        .publish(Box::new(published.clone()))
        .clock(Box::new(tally_verify::FixedClock(fixture_now())))
        .build();
    Rig {
        _dir: dir,
        v,
        store,
        published,
    }
}

/// MX-SEDENA's certificate `number`, valid 2026-2030 so any test clock is inside it.
fn import_cert(number: &str) -> License {
    License::Import(ImportCertificate {
        valid_from: "2026-01-01".into(),
        valid_until: "2030-12-31".into(),
        ..tally_testkit::docs::import_certificate(number)
    })
}

fn export(number: &str) -> License {
    serde_json::from_value(serde_json::json!({
        "kind": "export", "number": number, "exporting_country": "US", "importing_country": "MX",
        "exporter": {"name": "Acme Arms Inc."}, "importer": {"name": "Importadora del Norte SA"},
        "end_user": {"name": "Policia Estatal"},
        "items": [{"line": 1, "category": "firearm", "quantity": 100, "unit": "units", "serials": ["S1", "S2"]}],
        "valid_from": "2026-01-01", "valid_until": "2030-12-31",
        "import_certificate": {"authority": "MX-SEDENA", "number": "IC-1"}
    }))
    .expect("valid export")
}

/// A chain of `n` MX-SEDENA entries signed with `k`.
fn mx_chain(k: &AuthorityKey, n: u64) -> Vec<VerifiedEntry> {
    let mut out: Vec<VerifiedEntry> = Vec::new();
    for seq in 1..=n {
        let e = Entry {
            authority: "MX-SEDENA".parse().expect("valid"),
            seq,
            prev: out.last().map(|p| p.id()),
            issued_at_ms: 1_790_000_000_000 + seq as i64,
            recipients: vec![],
            body: Body::Document(Document::License(import_cert(&format!("IC-{seq}")))),
        };
        out.push(k.sign(&e));
    }
    out
}

fn bytes(v: &VerifiedEntry) -> Vec<u8> {
    v.signed().encode()
}

#[test]
fn entries_from_peers_are_accepted_only_when_everything_holds() {
    let r = rig();
    let chain = mx_chain(&key(2), 3);
    assert!(
        matches!(r.v.ingest().entry(&bytes(&chain[0])).expect("io"), IngestOutcome::Accepted(p) if p.seq == 1)
    );
    assert!(matches!(
        r.v.ingest().entry(&bytes(&chain[0])).expect("io"),
        IngestOutcome::Duplicate
    ));
    assert!(matches!(
        r.v.ingest().entry(&bytes(&chain[2])).expect("io"),
        IngestOutcome::Gap {
            have: 1,
            seq: 3,
            ..
        }
    ));

    // Forged: one flipped bit in the signed bytes.
    let mut forged = bytes(&chain[1]);
    let i = forged.len() / 2;
    forged[i] ^= 1;
    let out = r.v.ingest().entry(&forged).expect("io");
    assert!(
        matches!(
            out,
            IngestOutcome::Rejected(Rejection::BadSignature | Rejection::Malformed(_))
        ),
        "{out:?}"
    );

    // Signed by a key MX-SEDENA's card does not list.
    let other = mx_chain(&key(9), 2);
    assert!(matches!(
        r.v.ingest().entry(&bytes(&other[1])).expect("io"),
        IngestOutcome::Rejected(Rejection::UntrustedKey(_))
    ));

    // An authority nobody trusts.
    let e = Entry {
        authority: "CA-GAC".parse().expect("valid"),
        ..chain[0].entry().clone()
    };
    assert!(matches!(
        r.v.ingest().entry(&bytes(&key(2).sign(&e))).expect("io"),
        IngestOutcome::Rejected(Rejection::UntrustedAuthority(_))
    ));

    // Broken chain: seq 2 whose prev is not entry 1.
    let e = Entry {
        prev: Some(EntryHash([7; 32])),
        ..chain[1].entry().clone()
    };
    assert!(matches!(
        r.v.ingest().entry(&bytes(&key(2).sign(&e))).expect("io"),
        IngestOutcome::Rejected(Rejection::BrokenChain(_))
    ));

    // Nothing of the refused entries was stored.
    let mx = "MX-SEDENA".parse().expect("valid");
    assert_eq!(r.store.head(&mx).expect("io").map(|h| h.0), Some(1));
    assert!(matches!(
        r.v.ingest().entry(&bytes(&chain[1])).expect("io"),
        IngestOutcome::Accepted(_)
    ));
}

#[test]
fn equivocation_is_refused_stored_as_proof_and_published() {
    let r = rig();
    let chain = mx_chain(&key(2), 1);
    r.v.ingest().entry(&bytes(&chain[0])).expect("io");
    let fork = Entry {
        issued_at_ms: 1,
        ..chain[0].entry().clone()
    };
    let fork = key(2).sign(&fork);
    let out = r.v.ingest().entry(&bytes(&fork)).expect("io");
    assert!(
        matches!(out, IngestOutcome::Rejected(Rejection::Equivocation(_))),
        "{out:?}"
    );
    let ev = r.store.evidence().expect("io");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].seq, 1);
    assert_eq!(
        r.published.0.lock().expect("lock").1.len(),
        1,
        "proof gossiped"
    );
    // The held entry stays the one of record.
    let held = r
        .store
        .entry_at(&"MX-SEDENA".parse().expect("valid"), 1)
        .expect("io")
        .expect("held");
    assert_eq!(held.id(), chain[0].id());
    // A received proof is checked, and a fake one refused.
    let proof = encode_proof(chain[0].signed(), fork.signed());
    let other = rig();
    assert_eq!(
        other.v.ingest().proof(&proof).expect("io"),
        ProofOutcome::New
    );
    assert_eq!(
        other.v.ingest().proof(&proof).expect("io"),
        ProofOutcome::Known
    );
    let same = encode_proof(chain[0].signed(), chain[0].signed());
    assert_eq!(
        rig().v.ingest().proof(&same).expect("io"),
        ProofOutcome::Invalid
    );
    assert_eq!(
        rig().v.ingest().proof(b"garbage").expect("io"),
        ProofOutcome::Invalid
    );
    // A fork of an authority this node does not trust is not its business.
    let stranger = |at: i64| {
        let e = Entry {
            authority: "CA-GAC".parse().expect("valid"),
            issued_at_ms: at,
            ..chain[0].entry().clone()
        };
        key(7).sign(&e)
    };
    let (x, y) = (stranger(1), stranger(2));
    let foreign = encode_proof(x.signed(), y.signed());
    assert_eq!(
        rig().v.ingest().proof(&foreign).expect("io"),
        ProofOutcome::NotTrusted
    );
}

/// Issue 28 item 8: the widened text rule (Unicode 16.0 default-ignorable
/// and bidi controls, U+2028/2029, U+FFF9-FFFB) is structural on ingest too:
/// a peer's document with a soft hyphen, a Hangul filler or a tag character
/// in a name is kept as evidence and not applied.
#[test]
fn newly_refused_characters_are_structural_on_ingest() {
    let r = rig();
    let mx: tally_model::AuthorityId = "MX-SEDENA".parse().expect("valid");
    let mut prev = None;
    for (seq, c) in [
        (1u64, '\u{AD}'),
        (2, '\u{3164}'),
        (3, '\u{E0041}'),
        (4, '\u{2028}'),
    ] {
        let License::Import(mut ic) = import_cert(&format!("IC-{seq}")) else {
            unreachable!("an import certificate")
        };
        ic.importer.name = format!("Importadora{c}del Norte SA");
        let signed = key(2).sign(&Entry {
            authority: mx.clone(),
            seq,
            prev,
            issued_at_ms: seq as i64,
            recipients: vec![],
            body: Body::Document(Document::License(License::Import(ic))),
        });
        let out = r.v.ingest().entry(&bytes(&signed)).expect("io");
        assert!(matches!(out, IngestOutcome::Accepted(_)), "{c:?}: {out:?}");
        assert!(
            r.store
                .license(&mx, &format!("IC-{seq}"))
                .expect("read")
                .is_none(),
            "{c:?} applied"
        );
        prev = Some(signed.id());
    }
    let alerts = r.store.alerts().expect("alerts");
    assert_eq!(alerts.len(), 4, "{alerts:?}");
    assert!(
        alerts
            .iter()
            .all(|a| a.kind == tally_model::AlertKind::DocumentInvalid),
        "{alerts:?}"
    );
}

#[test]
fn a_structurally_invalid_document_is_kept_as_evidence_not_applied() {
    let r = rig();
    let mx: tally_model::AuthorityId = "MX-SEDENA".parse().expect("valid");
    // MX-SEDENA signs an export license "from" the US: wrong issuing country.
    let bad = key(2).sign(&Entry {
        authority: mx.clone(),
        seq: 1,
        prev: None,
        issued_at_ms: 1,
        recipients: vec![],
        body: Body::Document(Document::License(export("EXP-X"))),
    });
    let out = r.v.ingest().entry(&bytes(&bad)).expect("io");
    assert!(
        matches!(out, IngestOutcome::Accepted(_)),
        "stored and Accepted for gossip: {out:?}"
    );
    assert_eq!(r.store.head(&mx).expect("head").map(|h| h.0), Some(1));
    assert!(
        r.store.license(&mx, "EXP-X").expect("read").is_none(),
        "not applied"
    );
    let alerts = r.store.alerts().expect("alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].id, "document.invalid:MX-SEDENA/EXP-X:MX-SEDENA:1");
    assert_eq!(alerts[0].kind, tally_model::AlertKind::DocumentInvalid);

    // The log goes on with the next entry, which applies as usual.
    let next = key(2).sign(&Entry {
        authority: mx.clone(),
        seq: 2,
        prev: Some(bad.id()),
        issued_at_ms: 2,
        recipients: vec![],
        body: Body::Document(Document::License(import_cert("IC-9"))),
    });
    let out = r.v.ingest().entry(&bytes(&next)).expect("io");
    assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    assert!(r.store.license(&mx, "IC-9").expect("read").is_some());
    assert_eq!(r.store.applied_through(&mx).expect("mark"), 2);
}

#[test]
fn ingest_many_batches_and_stops_at_the_first_bad_entry() {
    let r = rig();
    let chain = mx_chain(&key(2), 50);
    let all: Vec<Vec<u8>> = chain.iter().map(bytes).collect();
    let out = r.v.ingest().many(&all[..30]).expect("io");
    assert_eq!(out.len(), 30);
    assert!(out.iter().all(|o| matches!(o, IngestOutcome::Accepted(_))));
    let mut rest = all[30..].to_vec();
    rest[5][10] ^= 1;
    let out = r.v.ingest().many(&rest).expect("io");
    assert!(
        out.len() <= 6
            && out[..5]
                .iter()
                .all(|o| matches!(o, IngestOutcome::Accepted(_))),
        "{out:?}"
    );
    assert_eq!(
        r.store
            .head(&"MX-SEDENA".parse().expect("valid"))
            .expect("io")
            .map(|h| h.0),
        Some(35)
    );
}

#[test]
fn issuing_amending_and_status_follow_the_contract() {
    let r = rig();
    // The import certificate comes first (linkage at issue).
    let ic = tally_testkit::Log::new("MX-SEDENA", 2).next(Document::License(import_cert("IC-1")));
    assert!(matches!(
        r.v.ingest().entry(&bytes(&ic)).expect("io"),
        IngestOutcome::Accepted(_)
    ));
    let issued = r.v.issuer().issue(export("EXP-1")).expect("issued");
    assert_eq!(issued.entry.seq, 1);
    assert_eq!(
        r.published.0.lock().expect("lock").0.len(),
        1,
        "published after storing"
    );
    assert!(matches!(
        r.v.issuer().issue(export("EXP-1")),
        Err(IssueError::Conflict(_))
    ));
    let mut foreign = export("EXP-2");
    if let License::Export(e) = &mut foreign {
        e.exporting_country = "CA".into();
    }
    assert!(matches!(
        r.v.issuer().issue(foreign),
        Err(IssueError::InvalidDocument(_))
    ));

    let mut lower = export("EXP-1");
    if let License::Export(e) = &mut lower {
        e.items[0].quantity = 50;
    }
    let (version, _) =
        r.v.issuer()
            .amend("US-DDTC", "EXP-1", lower)
            .expect("amended");
    assert_eq!(version, 2);
    assert!(
        matches!(
            r.v.issuer().amend("US-DDTC", "EXP-1", export("EXP-1")),
            Err(IssueError::InvalidAmendment(_))
        ),
        "raising back is refused"
    );
    assert!(matches!(
        r.v.issuer().amend("MX-SEDENA", "IC-1", import_cert("IC-1")),
        Err(IssueError::Forbidden(_))
    ));
    assert!(matches!(
        r.v.issuer()
            .set_status("US-DDTC", "NOPE", Status::Suspended, "x".into()),
        Err(IssueError::NotFound)
    ));

    r.v.issuer()
        .set_status("US-DDTC", "EXP-1", Status::Suspended, "inquiry".into())
        .expect("suspend");
    r.v.issuer()
        .set_status("US-DDTC", "EXP-1", Status::Active, "cleared".into())
        .expect("reinstate");
    r.v.issuer()
        .set_status("US-DDTC", "EXP-1", Status::Revoked, "diversion".into())
        .expect("revoke");
    assert!(matches!(
        r.v.issuer()
            .set_status("US-DDTC", "EXP-1", Status::Active, "".into()),
        Err(IssueError::Conflict(_))
    ));
    let state = r
        .store
        .license(&"US-DDTC".parse().expect("valid"), "EXP-1")
        .expect("io")
        .expect("held");
    assert_eq!((state.status, state.version), (Status::Revoked, 2));
    assert_eq!(state.history.len(), 5);
}

fn check_req(
    direction: &str,
    country: &str,
    quantity: u64,
    serials: &[&str],
    record: bool,
) -> CheckRequest {
    serde_json::from_value(serde_json::json!({
        "license": {"authority": "US-DDTC", "number": "EXP-1"},
        "checkpoint": {"country": country, "port": "X", "direction": direction},
        "date": "2027-01-15",
        "items": [{"line": 1, "quantity": quantity, "serials": serials}],
        "record": record
    }))
    .expect("valid request")
}

#[test]
fn recorded_shipments_count_down_and_serials_are_single_use() {
    let r = rig();
    // The import certificate MX-SEDENA issued, received over the network.
    let ic = mx_entry(1, None, 1);
    assert!(matches!(
        r.v.ingest().entry(&bytes(&ic)).expect("io"),
        IngestOutcome::Accepted(_)
    ));
    r.v.issuer().issue(export("EXP-1")).expect("issued");

    let c =
        r.v.checker()
            .check(check_req("exit", "US", 60, &["S1"], true))
            .expect("checked");
    assert!(c.verdict.accepted(), "{:?}", c.verdict);
    assert!(c.record.is_some());
    let c =
        r.v.checker()
            .check(check_req("exit", "US", 41, &[], false))
            .expect("checked");
    assert_eq!(c.verdict.failed_rules(), ["items.quantity"]);
    let c =
        r.v.checker()
            .check(check_req("exit", "US", 40, &["S1"], false))
            .expect("checked");
    assert_eq!(c.verdict.failed_rules(), ["items.serials"]);
    // A rejected record is signed but does not count.
    let c =
        r.v.checker()
            .check(check_req("exit", "US", 99, &["S2"], true))
            .expect("checked");
    assert!(!c.verdict.accepted() && c.record.is_some());
    let c =
        r.v.checker()
            .check(check_req("exit", "US", 40, &["S2"], true))
            .expect("checked");
    assert!(c.verdict.accepted(), "{:?}", c.verdict);
    let c =
        r.v.checker()
            .check(check_req("exit", "US", 1, &[], false))
            .expect("checked");
    assert_eq!(c.verdict.failed_rules(), ["items.quantity"], "used up");
    // Other directions have their own count.
    let c =
        r.v.checker()
            .check(check_req("entry", "MX", 100, &["S1"], false))
            .expect("checked");
    assert!(c.verdict.accepted(), "{:?}", c.verdict);
    // Recording a crossing in another country is refused and writes nothing.
    let head = r
        .store
        .head(&"US-DDTC".parse().expect("valid"))
        .expect("io");
    assert!(matches!(
        r.v.checker().check(check_req("entry", "MX", 1, &[], true)),
        Err(IssueError::Forbidden(_))
    ));
    assert_eq!(
        r.store
            .head(&"US-DDTC".parse().expect("valid"))
            .expect("io"),
        head
    );
}

#[test]
fn a_field_unknown_to_this_version_survives_store_and_wire() {
    // A newer node adds field 99 to Entry. This node must verify, store and
    // serve the exact bytes, so the signature still holds everywhere.
    let r = rig();
    let k = key(2);
    let e = mx_chain(&k, 1)[0].entry().clone();
    let mut entry_bytes = e.encode();
    entry_bytes.extend_from_slice(&[0x9a, 0x06, 0x03, b'n', b'e', b'w']);
    let mut msg = b"tally/entry/v1".to_vec();
    msg.extend_from_slice(&entry_bytes);
    use ed25519_dalek::Signer;
    let sk = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
    let sig = sk.sign(&msg).to_bytes();
    // Wire form built by hand: field 1 entry, 2 key_id, 3 signature.
    let mut wire = Vec::new();
    for (tag, bytes) in [
        (0x0a, &entry_bytes[..]),
        (0x12, &k.public().to_bytes()[..]),
        (0x1a, &sig[..]),
    ] {
        wire.push(tag);
        let mut n = bytes.len();
        while n >= 0x80 {
            wire.push((n as u8) | 0x80);
            n >>= 7;
        }
        wire.push(n as u8);
        wire.extend_from_slice(bytes);
    }
    assert!(matches!(
        r.v.ingest().entry(&wire).expect("io"),
        IngestOutcome::Accepted(_)
    ));
    let stored = r
        .store
        .entry_at(&"MX-SEDENA".parse().expect("valid"), 1)
        .expect("io")
        .expect("held");
    assert_eq!(stored.entry_bytes(), &entry_bytes[..], "stored untouched");
    assert_eq!(stored.encode(), wire, "served untouched");
    stored.verify_with(&k.public()).expect("still verifies");
}

/// A US-DDTC verifier over `store` whose clock always says `now`.
fn at(store: &Store, now: i64) -> Verifier {
    at_builder(store, now).build()
}

/// [`at`] before it is built (to give it more).
fn at_builder(store: &Store, now: i64) -> tally_verify::VerifierBuilder {
    let trust = trust_list(&[("MX-SEDENA", 2)]);
    Verifier::builder(store.clone(), "US-DDTC".parse().expect("valid"), key(1))
        .trust(Arc::new(RwLock::new(trust)))
        .publish(Box::new(Captured::default()))
        .clock(Box::new(tally_verify::FixedClock(now)))
}

fn mx_entry(seq: u64, prev: Option<EntryHash>, issued_at_ms: i64) -> VerifiedEntry {
    key(2).sign(&Entry {
        authority: "MX-SEDENA".parse().expect("valid"),
        seq,
        prev,
        issued_at_ms,
        recipients: vec![],
        body: Body::Document(Document::License(import_cert(&format!("IC-{seq}")))),
    })
}

/// Regression (issue: back-dating bypassed key expiry): an entry dated more
/// than 5 minutes ahead of this node's clock, or before the previous entry
/// of its log, is refused without being stored; the same entry is accepted
/// once the clock has caught up.
#[test]
fn time_never_goes_backwards_and_the_future_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let now = 1_800_000_000_000;
    let v = at(&store, now);
    let mx: AuthorityId = "MX-SEDENA".parse().expect("valid");

    let first = mx_entry(1, None, now - 60_000);
    assert!(matches!(
        v.ingest().entry(&bytes(&first)).expect("io"),
        IngestOutcome::Accepted(_)
    ));

    let future = mx_entry(2, Some(first.id()), now + 5 * 60_000 + 1);
    let out = v.ingest().entry(&bytes(&future)).expect("io");
    assert!(
        matches!(out, IngestOutcome::Rejected(Rejection::Time(_))),
        "{out:?}"
    );
    assert_eq!(
        store.head(&mx).expect("head").map(|h| h.0),
        Some(1),
        "not stored"
    );
    let later = at(&store, now + 60_000);
    assert!(matches!(
        later.ingest().entry(&bytes(&future)).expect("io"),
        IngestOutcome::Accepted(_)
    ));

    let backdated = mx_entry(3, Some(future.id()), now - 120_000);
    let out = later.ingest().entry(&bytes(&backdated)).expect("io");
    assert!(
        matches!(out, IngestOutcome::Rejected(Rejection::Time(_))),
        "{out:?}"
    );
    assert_eq!(
        store.head(&mx).expect("head").map(|h| h.0),
        Some(2),
        "not stored"
    );
    let in_1970 = mx_entry(3, Some(future.id()), 0);
    let out = later.ingest().entry(&bytes(&in_1970)).expect("io");
    assert!(
        matches!(out, IngestOutcome::Rejected(Rejection::Time(_))),
        "{out:?}"
    );
}

/// The issuer never stamps an entry earlier than its previous one, even
/// when its clock steps back.
/// The same rule inside one range: the commit compares an entry's time
/// with the entry this batch just appended before it (kept in memory, not
/// read back), and a back-dated one ends the range there.
#[test]
fn time_never_goes_backwards_within_one_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let now = 1_800_000_000_000;
    let v = at(&store, now);
    let first = mx_entry(1, None, now - 60_000);
    let second = mx_entry(2, Some(first.id()), now - 30_000);
    let backdated = mx_entry(3, Some(second.id()), now - 45_000);
    let out = v
        .ingest()
        .many(&[bytes(&first), bytes(&second), bytes(&backdated)])
        .expect("io");
    assert!(matches!(out[0], IngestOutcome::Accepted(_)), "{out:?}");
    assert!(matches!(out[1], IngestOutcome::Accepted(_)), "{out:?}");
    assert!(
        matches!(out[2], IngestOutcome::Rejected(Rejection::Time(_))),
        "{out:?}"
    );
    let mx: AuthorityId = "MX-SEDENA".parse().expect("valid");
    assert_eq!(store.head(&mx).expect("head").map(|h| h.0), Some(2));
}

#[test]
fn the_issuer_clamps_its_stamps_when_its_clock_steps_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let now = 1_800_000_000_000;
    at(&store, now)
        .issuer()
        .issue(tally_testkit::docs::import_license_for("IC-A", "US", "MX"))
        .expect("issued");
    let issued = at(&store, now - 3_600_000)
        .issuer()
        .issue(tally_testkit::docs::import_license_for("IC-B", "US", "MX"))
        .expect("issued");
    let entry = issued.signed.open().expect("decodes");
    assert_eq!(entry.issued_at_ms, now, "clamped to the previous stamp");
}

/// Regression (issue: "today" was the UTC date): at 2027-01-16T03:00Z it is
/// still the 15th in Mexico City (UTC-6). A node there checks against the
/// 15th by default and records a crossing dated the 14th (one day either
/// side); on UTC's date it would check against the 16th and refuse the 14th.
#[test]
fn today_is_the_date_in_the_nodes_timezone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let day = Date::from_ymd(2027, 1, 16).expect("a date").days();
    let now = day * 86_400_000 + 3 * 3_600_000;
    let utc = at(&store, now);
    assert_eq!(utc.today().to_string(), "2027-01-16", "UTC by default");
    let v = at_builder(&store, now)
        .timezone(tally_verify::TimeZone::named("America/Mexico_City").expect("a zone"))
        .build();
    assert_eq!(v.today().to_string(), "2027-01-15");

    let ic = mx_entry(1, None, 1);
    assert!(matches!(
        v.ingest().entry(&bytes(&ic)).expect("io"),
        IngestOutcome::Accepted(_)
    ));
    let mut license = export("EXP-1");
    if let License::Export(e) = &mut license {
        e.valid_until = "2027-01-15".into();
    }
    v.issuer().issue(license).expect("issued");

    // Without a date, the check is for today there: still valid.
    let mut req = check_req("exit", "US", 1, &[], false);
    req.date = None;
    let c = v.checker().check(req).expect("checked");
    assert!(c.verdict.accepted(), "{:?}", c.verdict);

    // A crossing of the day before is recorded.
    let mut req = check_req("exit", "US", 1, &[], true);
    req.date = Some("2027-01-14".into());
    let c = v
        .checker()
        .check(req)
        .expect("a crossing of yesterday there");
    assert!(c.record.is_some());

    // On UTC's date, the same requests are refused.
    let v = utc;
    let mut req = check_req("exit", "US", 1, &[], false);
    req.date = None;
    let c = v.checker().check(req).expect("checked");
    assert_eq!(c.verdict.failed_rules(), ["license.validity"]);
    let mut req = check_req("exit", "US", 1, &[], true);
    req.date = Some("2027-01-14".into());
    assert!(matches!(
        v.checker().check(req),
        Err(IssueError::InvalidDocument(_))
    ));
}
