//! A real `Verifier` over a real store (redb, in a fresh temporary
//! directory per input) taking a sequence of steps a peer or an officer
//! could cause: arbitrary bytes, mutated valid entries, well-signed entries
//! with fuzzed fields (seq, prev, signer, document), sync ranges,
//! equivocation proofs and shipment checks.
//!
//! It must never panic, and after every step the store must hold only what
//! the rules allow: dense, linked logs of trusted authorities whose every
//! entry carries a valid signature by a key trusted for its authority, and
//! documents that pass the same validation as the API.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use tally_fuzz::{EXPORT_JSON, IMPORT_JSON, TRANSIT_JSON, key, license, sealed_of};
use tally_model::trust::parse_key;
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_verify::{CheckRequest, IngestOutcome, ProofOutcome, Publish, Rejection, Verifier};

/// The node is US-DDTC (key 1); MX-SEDENA (key 2) and GT-DIGECAM (key 3)
/// are on its trust list; HN-DIGECAM (key 4) is not.
const AUTHORITIES: [&str; 4] = ["US-DDTC", "MX-SEDENA", "GT-DIGECAM", "HN-DIGECAM"];
const NUMBERS: [&str; 4] = ["EXP-2026-0001", "IC-2026-0042", "TR-2026-0007", "DOC-4"];
const DATES: [&str; 7] = [
    "2026-11-01",
    "2026-12-01",
    "2027-04-30",
    "2027-06-30",
    "2028-01-01",
    "2026-10-31",
    "bogus",
];
const COUNTRIES: [&str; 4] = ["US", "MX", "GT", "HN"];
const MAX_STEPS: usize = 12;

struct Fixtures {
    mx: Vec<VerifiedEntry>,
    us: VerifiedEntry,
    trust: TrustList,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let trust = tally_fuzz::trust_list(&[("MX-SEDENA", 2), ("GT-DIGECAM", 3)]);
        Fixtures {
            mx: tally_fuzz::mx_chain(),
            us: tally_fuzz::us_first(),
            trust,
        }
    })
}

/// Where the temporary stores go: memory when the machine has it.
fn scratch() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Vec<Vec<u8>>>>);

impl Publish for Captured {
    fn entry(&self, _: &SignedEntry) {}
    fn evidence(&self, proof: Vec<u8>) {
        self.0.lock().expect("not poisoned").push(proof);
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// One gossip message.
    Gossip(Piece),
    /// A sync range answer.
    Range(Vec<Piece>),
    /// An equivocation proof from a peer, as bytes.
    RawProof(Vec<u8>),
    /// An equivocation proof of two made entries.
    Proof(Made, Made),
    /// An officer's check of a consignment.
    Check(Check),
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Raw(Vec<u8>),
    /// A genuine entry of the fixtures (MX-SEDENA's log, then US-DDTC's first).
    Genuine(u8),
    /// A genuine entry with some bytes overwritten and maybe cut short.
    Mutated {
        index: u8,
        edits: Vec<(u16, u8)>,
        cut: Option<u16>,
    },
    /// A well-signed entry whose fields the fuzzer picks.
    Made(Made),
}

#[derive(Arbitrary, Debug)]
struct Made {
    authority: u8,
    signer: u8,
    seq: Seq,
    prev: Prev,
    at: i64,
    doc: Doc,
}

#[derive(Arbitrary, Debug)]
enum Seq {
    Next,
    Head,
    Back(u8),
    Ahead(u8),
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
enum Prev {
    Head,
    Held(u8),
    Raw([u8; 32]),
    Empty,
}

#[derive(Arbitrary, Debug)]
enum Doc {
    Issue(Shape),
    Json(String),
    /// `version: None` is the one after the held version.
    Amend {
        version: Option<u32>,
        shape: Shape,
    },
    Status {
        number: u8,
        status: u8,
    },
    Shipment {
        number: u8,
        by: u8,
        country: u8,
        direction: u8,
        date: u8,
        lines: Vec<(u32, u64)>,
        accept: bool,
    },
    Rotate {
        to: u8,
        raw: [u8; 32],
        valid_from_ms: i64,
    },
    Sealed(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Shape {
    kind: u8,
    number: u8,
    quantity: u64,
    lines: u8,
    from: u8,
    until: u8,
}

#[derive(Arbitrary, Debug)]
struct Check {
    authority: u8,
    number: u8,
    country: u8,
    direction: u8,
    date: Option<u8>,
    exporter: Option<String>,
    lines: Vec<(u32, u64, Vec<u8>)>,
    record: bool,
}

/// A fuzzed quantity. With the `cap-quantities` feature it stays below
/// 2^32, so that sums of quantities cannot overflow: for fuzzing past a known
/// overflow until it is fixed (README.md). Without it, any `u64`.
fn quantity(q: u64) -> u64 {
    if cfg!(feature = "cap-quantities") {
        q % (1 << 32)
    } else {
        q
    }
}

fn pick<T: Copy>(items: &[T], i: u8) -> T {
    items[usize::from(i) % items.len()]
}

fn direction(i: u8) -> Direction {
    pick(&[Direction::Exit, Direction::Transit, Direction::Entry], i)
}

/// The signing key `signer` names for `authority`: its own, a rotation
/// target, MX-SEDENA's (the wrong one for others) or one nobody trusts.
fn signer_key(authority: usize, signer: u8) -> AuthorityKey {
    match signer % 4 {
        0 => key(authority as u8 + 1),
        1 => key(6),
        2 => key(2),
        _ => key(9),
    }
}

/// A document of kind `shape.kind` that an authority of `country` may issue.
fn shaped(country: &str, s: &Shape) -> License {
    let other = if country == "MX" { "US" } else { "MX" };
    let number = pick(&NUMBERS, s.number).to_string();
    let (from, until) = (pick(&DATES, s.from).into(), pick(&DATES, s.until).into());
    let mut l = match s.kind % 3 {
        0 => license(EXPORT_JSON),
        1 => license(IMPORT_JSON),
        _ => license(TRANSIT_JSON),
    };
    match &mut l {
        License::Export(d) => {
            d.exporting_country = country.into();
            d.importing_country = other.into();
            d.transit_countries
                .retain(|t| t.as_str() != country && t.as_str() != other);
            d.import_certificate = Some(DocumentRef {
                authority: format!("{other}-SEDENA"),
                number: "IC-2026-0042".into(),
            });
            shape_items(&mut d.items, s);
            (d.number, d.valid_from, d.valid_until) = (number, from, until);
        }
        License::Import(d) => {
            d.importing_country = country.into();
            d.exporting_country = other.into();
            shape_items(&mut d.items, s);
            (d.number, d.valid_from, d.valid_until) = (number, from, until);
        }
        License::Transit(d) => {
            d.transit_country = country.into();
            (d.number, d.valid_from, d.valid_until) = (number, from, until);
        }
        // Not among the shapes above (kind % 3).
        License::Delivery(_) => {}
    }
    l
}

/// 1-4 firearm lines, each of the fuzzed quantity.
fn shape_items(items: &mut Vec<Item>, s: &Shape) {
    let Some(first) = items.first().cloned() else {
        return;
    };
    items.clear();
    for line in 1..=u32::from(s.lines % 4) + 1 {
        items.push(Item {
            line,
            quantity: quantity(s.quantity),
            serials: if line == 1 {
                first.serials.clone()
            } else {
                vec![]
            },
            ..first.clone()
        });
    }
}

struct Node {
    _dir: tempfile::TempDir,
    v: Verifier,
    /// The verifier's store, read directly to judge what it did.
    store: Store,
    proofs: Captured,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::Builder::new()
            .prefix("tally-fuzz-")
            .tempdir_in(scratch())
            .expect("a temporary directory");
        let store = Store::open(dir.path(), EngineKind::default()).expect("a fresh store opens");
        let proofs = Captured::default();
        let v = Verifier::builder(store.clone(), "US-DDTC".parse().expect("valid"), key(1))
            .trust(Arc::new(RwLock::new(fixtures().trust.clone())))
            .publish(Box::new(proofs.clone()))
            .build();
        Node {
            _dir: dir,
            v,
            store,
            proofs,
        }
    }

    fn heads(&self) -> BTreeMap<AuthorityId, (u64, EntryHash)> {
        self.store
            .heads()
            .expect("heads read")
            .into_iter()
            .map(|(a, s, h)| (a, (s, h)))
            .collect()
    }

    fn genuine(&self, i: u8) -> Vec<u8> {
        let f = fixtures();
        let i = usize::from(i) % (f.mx.len() + 1);
        f.mx.get(i).unwrap_or(&f.us).signed().encode()
    }

    fn made(&self, m: &Made) -> Vec<u8> {
        let ai = usize::from(m.authority) % AUTHORITIES.len();
        let authority: AuthorityId = AUTHORITIES[ai].parse().expect("valid");
        let country = &AUTHORITIES[ai][..2];
        let head = self.store.head(&authority).expect("head reads");
        let head_seq = head.map_or(0, |(s, _)| s);
        let seq = match m.seq {
            Seq::Next => head_seq + 1,
            Seq::Head => head_seq.max(1),
            Seq::Back(n) => head_seq.saturating_sub(u64::from(n)).max(1),
            Seq::Ahead(n) => head_seq + 2 + u64::from(n),
            Seq::Raw(s) => s.max(1),
        };
        let prev = match &m.prev {
            Prev::Head => head.map(|(_, h)| h),
            Prev::Held(n) => {
                let at = head_seq.saturating_sub(u64::from(*n));
                self.store
                    .entry_at(&authority, at)
                    .expect("entry reads")
                    .map(|s| s.id())
            }
            Prev::Raw(h) => Some(EntryHash(*h)),
            Prev::Empty => None,
        };
        // The decoder refuses entries whose prev does not fit seq 1; keep
        // that shape so the later checks are reached.
        let prev = if seq == 1 {
            None
        } else {
            prev.or(Some(EntryHash([0; 32])))
        };
        let body = match &m.doc {
            Doc::Issue(s) => Body::Document(Document::License(shaped(country, s))),
            Doc::Json(text) => match serde_json::from_str::<License>(text) {
                Ok(mut l) => {
                    match &mut l {
                        License::Export(d) => d.items.iter_mut(),
                        License::Import(d) => d.items.iter_mut(),
                        License::Transit(_) | License::Delivery(_) => [].iter_mut(),
                    }
                    .for_each(|it| it.quantity = quantity(it.quantity));
                    if let License::Delivery(d) = &mut l {
                        d.items
                            .iter_mut()
                            .for_each(|it| it.quantity = quantity(it.quantity));
                    }
                    Body::Document(Document::License(l))
                }
                Err(_) => Body::Sealed(sealed_of(text.as_bytes())),
            },
            Doc::Amend { version, shape } => {
                let license = shaped(country, shape);
                let version = version.unwrap_or_else(|| {
                    self.store
                        .license(&authority, license.number())
                        .expect("license reads")
                        .map_or(2, |l| l.version.saturating_add(1))
                });
                Body::Document(Document::Amendment {
                    version: version.max(2),
                    license,
                })
            }
            Doc::Status { number, status } => {
                Body::Document(Document::StatusChange(StatusChange {
                    number: pick(&NUMBERS, *number).into(),
                    status: pick(
                        &[Status::Active, Status::Suspended, Status::Revoked],
                        *status,
                    ),
                    reason: "fuzz".into(),
                    effective_at_ms: m.at,
                    prepared_by: None,
                    signatory: None,
                }))
            }
            Doc::Shipment {
                number,
                by,
                country: c,
                direction: d,
                date,
                lines,
                accept,
            } => Body::Document(Document::Shipment(ShipmentRecord {
                license: DocumentRef {
                    authority: pick(&AUTHORITIES, *by).into(),
                    number: pick(&NUMBERS, *number).into(),
                },
                checkpoint: Checkpoint {
                    country: if *c % 2 == 0 {
                        country.into()
                    } else {
                        pick(&COUNTRIES, *c).into()
                    },
                    port: "PORT".into(),
                    direction: direction(*d),
                },
                date: pick(&DATES, *date).into(),
                exporter: None,
                importer: None,
                items: lines
                    .iter()
                    .take(4)
                    .map(|(line, q)| ShipmentLine {
                        line: line % 5,
                        quantity: quantity(*q),
                        serials: vec![],
                    })
                    .collect(),
                verdict: if *accept { "accept" } else { "reject" }.into(),
                failed_rules: vec![],
            })),
            Doc::Rotate {
                to,
                raw,
                valid_from_ms,
            } => {
                let new_key = match to % 3 {
                    0 => key(6).public().to_bytes(),
                    1 => key(7).public().to_bytes(),
                    _ => *raw,
                };
                Body::Document(Document::KeyRotation(KeyRotation {
                    new_key: hex::encode(new_key),
                    valid_from_ms: *valid_from_ms,
                }))
            }
            Doc::Sealed(b) => Body::Sealed(sealed_of(b)),
        };
        let at = if m.at % 2 == 0 {
            1_790_000_000_000 + (m.at % 1_000_000)
        } else {
            m.at
        };
        let entry = Entry {
            authority,
            seq,
            prev,
            issued_at_ms: at,
            recipients: vec![],
            body,
        };
        signer_key(ai, m.signer).sign(&entry).signed().encode()
    }

    fn bytes(&self, p: &Piece) -> Vec<u8> {
        match p {
            Piece::Raw(b) => b.clone(),
            Piece::Genuine(i) => self.genuine(*i),
            Piece::Mutated { index, edits, cut } => {
                let mut b = self.genuine(*index);
                for (at, v) in edits.iter().take(8) {
                    if !b.is_empty() {
                        let i = usize::from(*at) % b.len();
                        b[i] = *v;
                    }
                }
                if let Some(c) = cut {
                    b.truncate(usize::from(*c));
                }
                b
            }
            Piece::Made(m) => self.made(m),
        }
    }

    fn step(&self, s: &Step) {
        match s {
            Step::Gossip(p) => {
                let b = self.bytes(p);
                let before = self.heads();
                let outcome = self
                    .v
                    .ingest()
                    .entry(&b)
                    .expect("no store error on a healthy store");
                self.check_outcome(&b, &outcome, &before);
            }
            Step::Range(pieces) => {
                let all: Vec<Vec<u8>> = pieces.iter().take(6).map(|p| self.bytes(p)).collect();
                let before = self.store.entry_count().expect("count");
                let outcomes = self
                    .v
                    .ingest()
                    .many(&all)
                    .expect("no store error on a healthy store");
                assert!(outcomes.len() <= all.len());
                let accepted = outcomes
                    .iter()
                    .filter(|o| matches!(o, IngestOutcome::Accepted(_)))
                    .count() as u64;
                let after = self.store.entry_count().expect("count");
                assert_eq!(after - before, accepted, "{outcomes:?}");
                // Everything after the first refusal is left for a later pull.
                if let Some(i) = outcomes.iter().position(|o| {
                    !matches!(o, IngestOutcome::Accepted(_) | IngestOutcome::Duplicate)
                }) {
                    assert_eq!(i + 1, outcomes.len(), "{outcomes:?}");
                }
            }
            Step::RawProof(b) => self.proof(b),
            Step::Proof(a, b) => {
                let (a, b) = (self.made(a), self.made(b));
                let (Ok(a), Ok(b)) = (SignedEntry::decode(&a), SignedEntry::decode(&b)) else {
                    unreachable!("made entries decode");
                };
                self.proof(&encode_proof(&a, &b));
            }
            Step::Check(c) => self.check(c),
        }
    }

    fn proof(&self, b: &[u8]) {
        let had = self.store.evidence().expect("evidence reads").len();
        let outcome = self.v.ingest().proof(b).expect("no store error");
        let now = self.store.evidence().expect("evidence reads").len();
        match outcome {
            ProofOutcome::New => {
                let (x, y) = decode_proof(b).expect("a stored proof decodes");
                assert_ne!(x.id(), y.id());
                assert_eq!(now, had + 1, "a new proof is stored");
            }
            ProofOutcome::Known | ProofOutcome::NotTrusted | ProofOutcome::Invalid => {
                assert_eq!(now, had, "{outcome:?} stores nothing");
            }
        }
    }

    fn check(&self, c: &Check) {
        let req = CheckRequest {
            license: DocumentRef {
                authority: pick(&AUTHORITIES, c.authority).into(),
                number: pick(&NUMBERS, c.number).into(),
            },
            checkpoint: Checkpoint {
                country: pick(&COUNTRIES, c.country).into(),
                port: "PORT".into(),
                direction: direction(c.direction),
            },
            date: c.date.map(|d| pick(&DATES, d).into()),
            exporter: c.exporter.clone(),
            importer: None,
            items: c
                .lines
                .iter()
                .take(4)
                .map(|(line, q, serials)| ShipmentLine {
                    line: line % 5,
                    quantity: quantity(*q),
                    serials: serials
                        .iter()
                        .take(4)
                        .map(|s| format!("AC100{}", s % 4))
                        .collect(),
                })
                .collect(),
            record: c.record,
        };
        let own = self.heads().get(self.v.authority()).map_or(0, |h| h.0);
        let recording = req.record && req.checkpoint.country == "US";
        match self.v.checker().check(req) {
            Ok(checked) => {
                let v = &checked.verdict;
                assert_eq!(v.accepted(), v.checks.iter().all(|c| c.ok));
                match checked.license {
                    None => assert_eq!(v.checks.len(), 1),
                    Some(_) => assert_eq!(v.checks.len(), 11),
                }
                let now = self.heads().get(self.v.authority()).map_or(0, |h| h.0);
                assert_eq!(now, own + u64::from(checked.record.is_some()));
                assert_eq!(checked.record.is_some(), recording);
            }
            Err(
                tally_verify::IssueError::BadRequest(_) | tally_verify::IssueError::Forbidden(_),
            ) => {}
            Err(e) => panic!("check failed on a healthy store: {e}"),
        }
    }

    fn check_outcome(
        &self,
        b: &[u8],
        outcome: &IngestOutcome,
        before: &BTreeMap<AuthorityId, (u64, EntryHash)>,
    ) {
        let after = self.heads();
        match outcome {
            IngestOutcome::Accepted(p) => {
                let s = SignedEntry::decode(b).expect("an accepted entry decodes");
                let e = s.open().expect("an accepted entry opens");
                assert_eq!(p.hash, s.id());
                assert_eq!(p.seq, e.seq);
                assert_eq!(before.get(&e.authority).map_or(0, |h| h.0) + 1, e.seq);
                assert_eq!(after.get(&e.authority), Some(&(p.seq, p.hash)));
                let mut rest = after.clone();
                rest.remove(&e.authority);
                let mut was = before.clone();
                was.remove(&e.authority);
                assert_eq!(rest, was, "only the entry's own log moves");
                let held = self
                    .store
                    .entry_at(&e.authority, e.seq)
                    .expect("reads")
                    .expect("the accepted entry is held");
                assert_eq!(held.entry_bytes(), s.entry_bytes());
            }
            other => {
                assert_eq!(&after, before, "{other:?} changed the logs");
                match other {
                    IngestOutcome::Duplicate => {
                        let s = SignedEntry::decode(b).expect("a duplicate decodes");
                        assert!(self.store.by_hash(&s.id()).expect("reads").is_some());
                    }
                    IngestOutcome::Gap { have, seq, .. } => assert!(*seq > have + 1),
                    IngestOutcome::Rejected(Rejection::Equivocation(ev)) => {
                        let held = self.store.evidence().expect("evidence reads");
                        assert!(
                            held.iter()
                                .any(|h| h.authority == ev.authority && h.seq == ev.seq)
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    /// What the store holds is only what the rules let in.
    fn invariants(&self) {
        for (authority, (head_seq, head_hash)) in self.heads() {
            assert_ne!(
                authority.as_str(),
                "HN-DIGECAM",
                "an untrusted authority's entry"
            );
            let own = AUTHORITIES
                .iter()
                .position(|a| *a == authority.as_str())
                .map(|i| key(i as u8 + 1).public().to_bytes());
            // A rotated key is trusted only after its rotation is stored, so
            // an entry it signed comes later in the log than the rotation.
            let mut rotated: Vec<[u8; 32]> = Vec::new();
            let mut prev: Option<EntryHash> = None;
            let log = self
                .store
                .range(&authority, 1, usize::MAX)
                .expect("log reads");
            assert_eq!(log.len() as u64, head_seq, "dense log");
            for (i, s) in log.iter().enumerate() {
                let e = s.open().expect("a stored entry opens");
                assert_eq!(e.seq, i as u64 + 1);
                assert_eq!(e.authority, authority);
                assert_eq!(e.prev, prev, "linked log");
                let claimed = ed25519_dalek::VerifyingKey::from_bytes(s.key_id())
                    .expect("a stored key id is a key");
                assert!(
                    s.verify_with(&claimed).is_ok(),
                    "stored with a bad signature"
                );
                let ok_key = Some(*s.key_id()) == own || rotated.contains(s.key_id());
                assert!(ok_key, "signed by a key never trusted for {authority}");
                let country = authority.country();
                match &e.body {
                    Body::Document(Document::License(l)) => {
                        assert_eq!(validate_license(l, country), Ok(()));
                    }
                    Body::Document(Document::Amendment { license, .. }) => {
                        assert_eq!(validate_license(license, country), Ok(()));
                    }
                    Body::Document(Document::Shipment(r)) => {
                        assert_eq!(r.checkpoint.country, country.as_str());
                    }
                    Body::Document(Document::KeyRotation(k)) => {
                        let k = parse_key(&k.new_key).expect("a rotation names a key");
                        assert!(tally_model::signature::key_weakness(k.as_bytes()).is_none());
                        rotated.push(k.to_bytes());
                    }
                    _ => {}
                }
                prev = Some(s.id());
            }
            assert_eq!(prev, Some(head_hash));
        }
        for proof in self.proofs.0.lock().expect("not poisoned").iter() {
            let (a, b) = decode_proof(proof).expect("published proofs decode");
            let (ea, eb) = (a.open().expect("opens"), b.open().expect("opens"));
            assert_eq!((ea.authority, ea.seq), (eb.authority, eb.seq));
            assert_ne!(a.id(), b.id());
        }
        for ev in self.store.evidence().expect("evidence reads") {
            let [a, b] = &ev.entries;
            let (a, b) = (
                SignedEntry::decode(a).expect("evidence decodes"),
                SignedEntry::decode(b).expect("evidence decodes"),
            );
            for s in [&a, &b] {
                let e = s.open().expect("evidence opens");
                assert_eq!((&e.authority, e.seq), (&ev.authority, ev.seq));
                let claimed = ed25519_dalek::VerifyingKey::from_bytes(s.key_id()).expect("a key");
                assert!(
                    s.verify_with(&claimed).is_ok(),
                    "evidence with a bad signature"
                );
            }
            assert_ne!(a.id(), b.id());
        }
    }
}

fuzz_target!(|steps: Vec<Step>| {
    let node = Node::new();
    for s in steps.iter().take(MAX_STEPS) {
        node.step(s);
        node.invariants();
    }
});
