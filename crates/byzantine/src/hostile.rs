//! The hostile trusted issuer: US-DDTC, whose keys every node trusts, writes
//! a log mixing honest entries with the faults a trusted issuer can commit
//! (and the rows of the decoding table, docs/PROTOCOL.md 2.5), while
//! GT-DIGECAM writes an honest log announcing encryption keys that US seals
//! to. What it produces is a
//! timeline of signed entries; the nodes ([`crate::nodes`]) receive it in
//! different orders and batches.

use tally_model::seal::{
    DeterministicRandom, EncryptionPublic, EncryptionSecret, Header, PairKeys, seal_payload,
};
use tally_model::{
    AuthorityId, Body, Document, EncryptionKey, Recipient, SealedPayload, Status, UnknownDocument,
    VerifiedEntry,
};
use tally_testkit::docs::{export, status};
use tally_testkit::{Log, Rng, T0};

/// The receivers' clock: ten hours after the fixtures' epoch.
pub const NOW: i64 = T0 + 36_000_000;

/// Signing keys (testkit `key(n)`, secret `[n; 32]`) and encryption secrets.
pub const US_KEY: u8 = 1;
pub const MX_KEY: u8 = 2;
pub const GT_KEY: u8 = 3;
pub const CA_KEY: u8 = 4;
pub const US_ENC: u8 = 201;
pub const MX_ENC: u8 = 202;
pub const CA_ENC: u8 = 203;
pub const GT_CARD_ENC: u8 = 204;

pub fn enc(n: u8) -> EncryptionSecret {
    EncryptionSecret::from_bytes([n; 32])
}

/// What an entry of the timeline is, for the run's per-class counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    Honest,
    Clear,
    StatusChange,
    TorsionR,
    ReorderedRecipients,
    UnreachedLie,
    ForeignKey,
    BadWrap,
    LeftOut,
    StanzaFlood,
    UnknownKind,
    UnknownValue,
    Malformed,
    FutureTime,
    Fork,
    /// US announces an encryption key of its pool (a repeat at times: it
    /// does not count), so its sixteen newest keys move.
    UsAnnounce,
    /// An honest export sealed with a key of US's pool: one still among its
    /// sixteen newest opens, an older or unannounced one does not.
    PoolIssuerKey,
    GtAnnounce,
    /// GT denies, in clear, a buyer US's exports name (written otherwise),
    /// or withdraws its last denial: `denial.match` opens and closes on
    /// every US export, whichever arrives first.
    GtDenial,
    /// US lends rifles R1 and R2 on temporary exports (some already due
    /// back), records their exits and returns (a return of what never left
    /// at times: the recorder says accept), and exits R1 under a permanent
    /// export too: `return.overdue`, `delivery.overdue` and the
    /// `serial.repeat` a return excuses, in any arrival order.
    Temporary,
}

impl Class {
    const US: [Class; 18] = [
        Class::Honest,
        Class::Clear,
        Class::StatusChange,
        Class::TorsionR,
        Class::ReorderedRecipients,
        Class::UnreachedLie,
        Class::ForeignKey,
        Class::BadWrap,
        Class::LeftOut,
        Class::StanzaFlood,
        Class::UnknownKind,
        Class::UnknownValue,
        Class::Malformed,
        Class::FutureTime,
        Class::Fork,
        Class::UsAnnounce,
        Class::PoolIssuerKey,
        Class::Temporary,
    ];
}

/// One delivery: which log it belongs to (for interleaving), its bytes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub gt: bool,
    pub class: Class,
    pub bytes: Vec<u8>,
}

struct Writer {
    log: Log,
    pairs: PairKeys,
    random: DeterministicRandom,
    issued: Vec<String>,
    /// GT's newest encryption key as US has seen it announced.
    gt_key: EncryptionPublic,
    /// The secret US seals with (its card key but for [`Class::PoolIssuerKey`]).
    issuer: EncryptionSecret,
    /// US's pool keys in the order their first announcement counts.
    counted: Vec<u64>,
    /// Temporary exports issued so far.
    trips: Vec<String>,
}

/// US's pool of encryption keys to announce and seal with: more than the
/// sixteen a reader tries, few enough that repeats happen.
const US_POOL: u64 = 24;

fn us_pool(i: u64) -> EncryptionSecret {
    EncryptionSecret::from_bytes([150 + i as u8; 32])
}

fn recipient(authority: &str, key: EncryptionPublic) -> Recipient {
    Recipient {
        authority: authority.parse().expect("a fixture authority"),
        encryption_key: key,
    }
}

impl Writer {
    fn at(&self) -> i64 {
        T0 + 1000 * (self.log.seq as i64 + 1)
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
            &self.issuer,
            header,
            &payload,
            to,
            &mut self.random,
            &self.pairs,
        )
        .expect("the fixture keys seal");
        let at = self.at();
        self.log.next_body(at, Body::Sealed(sealed))
    }

    /// The honest list: US first, MX, GT with the newest key US saw.
    fn honest_list(&self) -> (Vec<Recipient>, Vec<EncryptionPublic>) {
        (
            vec![
                recipient("US-DDTC", self.issuer.public()),
                recipient("MX-SEDENA", enc(MX_ENC).public()),
                recipient("GT-DIGECAM", self.gt_key),
            ],
            vec![self.issuer.public(), enc(MX_ENC).public(), self.gt_key],
        )
    }

    fn honest(&mut self, document: Document) -> VerifiedEntry {
        let (list, to) = self.honest_list();
        self.sealed(document, list, &[], &to)
    }

    fn next_number(&mut self) -> String {
        let n = format!("EXP-{}", self.issued.len() + 1);
        self.issued.push(n.clone());
        n
    }

    /// Runs `make` without advancing the log (an entry every node refuses).
    fn aside(&mut self, make: impl FnOnce(&mut Writer) -> Vec<u8>) -> Vec<u8> {
        let (seq, prev) = (self.log.seq, self.log.prev);
        let bytes = make(self);
        (self.log.seq, self.log.prev) = (seq, prev);
        bytes
    }
}

pub use tally_testkit::forge::{signed_raw, torsion_in_r};

impl Writer {
    /// The next US entry of `class` (an honest one or a fault). `held` are
    /// entries already written, for forks.
    fn write(&mut self, class: Class, rng: &mut Rng, held: &mut Vec<VerifiedEntry>) -> Vec<u8> {
        match class {
            Class::Honest => {
                let n = self.next_number();
                self.honest(export(&n, rng.range(1, 500), &[]))
                    .signed()
                    .encode()
            }
            Class::Clear => {
                let n = self.next_number();
                let at = self.at();
                self.log.next_at(at, export(&n, 10, &[])).signed().encode()
            }
            Class::StatusChange => self.status_change(rng),
            Class::TorsionR => {
                let n = self.next_number();
                let e = self.honest(export(&n, 5, &[]));
                torsion_in_r(&e, US_KEY, rng.next_u64())
            }
            Class::ReorderedRecipients
            | Class::UnreachedLie
            | Class::ForeignKey
            | Class::LeftOut
            | Class::StanzaFlood => {
                let n = self.next_number();
                let (list, to, unreached) = self.lying_list(class, rng);
                self.sealed(export(&n, 5, &[]), list, unreached, &to)
                    .signed()
                    .encode()
            }
            Class::BadWrap => self.bad_wrap(rng),
            Class::UnknownKind => {
                let at = self.at();
                let unknown = Body::Unknown(UnknownDocument {
                    reason: String::new(),
                    bytes: Vec::new(),
                });
                self.log.next_body(at, unknown).signed().encode()
            }
            Class::UnknownValue => self.unknown_value(),
            Class::Malformed => self.aside(|w| {
                let at = w.at();
                let e = w.log.next_at(at, export("EXP-X", 5, &[]));
                let mut bytes = e.signed().entry_bytes().to_vec();
                bytes.extend_from_slice(&[0x10, 0x01]);
                signed_raw(&bytes, US_KEY)
            }),
            Class::FutureTime => self.aside(Writer::issued_in_the_future),
            Class::Fork => match held.pop() {
                Some(e) => {
                    // Another document at a seq already written.
                    let entry = tally_model::Entry {
                        body: Body::Document(export("EXP-FORK", 1, &[])),
                        ..e.entry().clone()
                    };
                    tally_testkit::key(US_KEY).sign(&entry).signed().encode()
                }
                None => self.aside(Writer::issued_in_the_future),
            },
            Class::UsAnnounce => {
                let i = rng.range(0, US_POOL - 1);
                self.announce(i)
            }
            Class::PoolIssuerKey => {
                let n = self.next_number();
                // Half the time the oldest key still tried (the sixteenth
                // newest), which the next announcement pushes out: where
                // paths that open at different moments could part.
                self.issuer = match self.counted.len().checked_sub(16) {
                    Some(k) if rng.range(0, 1) == 0 => us_pool(self.counted[k]),
                    _ => us_pool(rng.range(0, US_POOL - 1)),
                };
                let e = self.honest(export(&n, 5, &[]));
                self.issuer = enc(US_ENC);
                e.signed().encode()
            }
            Class::Temporary => self.temporary(rng),
            Class::GtAnnounce | Class::GtDenial => unreachable!("GT's class"),
        }
    }

    /// One step of the rifles' trips ([`Class::Temporary`]).
    fn temporary(&mut self, rng: &mut Rng) -> Vec<u8> {
        use tally_model::Direction;
        use tally_testkit::docs::{doc_ref, shipment, temporary_export};
        let step = if self.trips.is_empty() {
            0
        } else {
            rng.range(0, 3)
        };
        let trip = |w: &Writer, rng: &mut Rng| {
            let k = rng.range(0, w.trips.len() as u64 - 1) as usize;
            doc_ref("US-DDTC", &w.trips[k])
        };
        let doc = match step {
            0 => {
                let n = format!("TMP-{}", self.trips.len() + 1);
                self.trips.push(n.clone());
                // Due back before the receivers' today, or long after.
                let by = if rng.range(0, 1) == 0 {
                    "2026-10-20"
                } else {
                    "2027-06-01"
                };
                temporary_export(&n, 2, &["R1", "R2"], "2026-10-15", by)
            }
            1 => shipment(
                trip(self, rng),
                Direction::Exit,
                "US",
                &[(1, 2, &["R1", "R2"])],
                true,
            ),
            2 => {
                let serial: &[&str] = if rng.range(0, 1) == 0 {
                    &["R1"]
                } else {
                    &["r-2"]
                };
                shipment(
                    trip(self, rng),
                    Direction::Return,
                    "US",
                    &[(1, 1, serial)],
                    true,
                )
            }
            // R1 leaving under one of US's other exports.
            _ => {
                let number = match self.issued.len() {
                    0 => "EXP-404".to_string(),
                    k => self.issued[rng.range(0, k as u64 - 1) as usize].clone(),
                };
                shipment(
                    doc_ref("US-DDTC", &number),
                    Direction::Exit,
                    "US",
                    &[(1, 1, &["R1"])],
                    true,
                )
            }
        };
        self.honest(doc).signed().encode()
    }

    /// US announces pool key `i` (the first announcement of a key counts).
    fn announce(&mut self, i: u64) -> Vec<u8> {
        if !self.counted.contains(&i) {
            self.counted.push(i);
        }
        let key = us_pool(i).public();
        let at = self.at();
        let doc = Document::EncryptionKey(EncryptionKey {
            public_key: key.0,
            valid_from_ms: at - 500,
        });
        self.log.next_at(at, doc).signed().encode()
    }

    /// A status change of a license issued so far (or of one never issued).
    fn status_change(&mut self, rng: &mut Rng) -> Vec<u8> {
        let number = match self.issued.len() {
            0 => "EXP-404".to_string(),
            k => self.issued[rng.range(0, k as u64 - 1) as usize].clone(),
        };
        let s = [Status::Suspended, Status::Active, Status::Revoked][rng.range(0, 2) as usize];
        self.honest(status(&number, s, "review")).signed().encode()
    }

    /// The recipient list a sealed entry of `class` claims, the keys it is
    /// really sealed to, and the countries it calls unreached.
    fn lying_list(
        &self,
        class: Class,
        rng: &mut Rng,
    ) -> (
        Vec<Recipient>,
        Vec<EncryptionPublic>,
        &'static [&'static str],
    ) {
        let (mut list, mut to) = self.honest_list();
        let mut unreached: &'static [&'static str] = &[];
        match class {
            Class::ReorderedRecipients => list.rotate_left(1 + rng.range(0, 1) as usize),
            Class::UnreachedLie => {
                list.pop();
                to.pop();
                unreached = &["GT"];
            }
            Class::ForeignKey => {
                let fake = EncryptionSecret::from_bytes([rng.next_u64() as u8 | 2; 32]).public();
                let who = ["MX-FAKE", "GT-DIGECAM", "CA-GAC"][rng.range(0, 2) as usize];
                list.push(recipient(who, fake));
                to.push(fake);
            }
            Class::LeftOut => {
                list = vec![recipient("US-DDTC", enc(US_ENC).public())];
                unreached = &["MX", "GT"];
            }
            Class::StanzaFlood => {
                for i in 0..rng.range(10, 200) {
                    to.push(EncryptionSecret::from_bytes([(i % 250) as u8 + 3; 32]).public());
                }
                to.dedup();
            }
            _ => unreachable!("not a lie about recipients: {class:?}"),
        }
        (list, to, unreached)
    }

    /// An honest sealed entry with one stanza's wrapped key damaged, signed
    /// at the seq it was sealed for.
    fn bad_wrap(&mut self, rng: &mut Rng) -> Vec<u8> {
        let n = self.next_number();
        let (list, to) = self.honest_list();
        let (seq, prev) = (self.log.seq, self.log.prev);
        let e = self.sealed(export(&n, 5, &[]), list, &[], &to);
        let Body::Sealed(mut s) = e.entry().body.clone() else {
            unreachable!("sealed above")
        };
        let which = rng.range(0, s.stanzas.len() as u64 - 1) as usize;
        s.stanzas[which].wrapped[30] ^= 1;
        (self.log.seq, self.log.prev) = (seq, prev);
        let at = self.at();
        self.log.next_body(at, Body::Sealed(s)).signed().encode()
    }

    /// A clear license whose unit "units" is changed to "unitz" after
    /// encoding, signed over those bytes.
    fn unknown_value(&mut self) -> Vec<u8> {
        let n = self.next_number();
        let at = self.at();
        let e = self.log.next_at(at, export(&n, 5, &[]));
        let mut bytes = e.signed().entry_bytes().to_vec();
        if let Some(p) = bytes.windows(5).position(|w| w == b"units") {
            bytes[p + 4] = b'z';
        }
        // The log goes on from these bytes, as their writer's would.
        self.log.prev = Some(tally_model::EntryHash::of(&bytes));
        signed_raw(&bytes, US_KEY)
    }

    /// An entry issued an hour after the receivers' clock.
    fn issued_in_the_future(&mut self) -> Vec<u8> {
        self.log
            .next_at(NOW + 3_600_000, export("EXP-F", 5, &[]))
            .signed()
            .encode()
    }
}

/// GT announces a new encryption key; US will seal to it.
fn gt_announces(gt: &mut Log, us: &mut Writer, rng: &mut Rng) -> Delivery {
    let secret = EncryptionSecret::from_bytes([rng.next_u64() as u8 | 1; 32]);
    let e = gt.next_at(
        T0 + 1000 * (gt.seq as i64 + 1),
        Document::EncryptionKey(EncryptionKey {
            public_key: secret.public().0,
            valid_from_ms: T0,
        }),
    );
    us.gt_key = secret.public();
    Delivery {
        gt: true,
        class: Class::GtAnnounce,
        bytes: e.signed().encode(),
    }
}

/// GT denies the buyer of US's exports, or (one time in three, when it has
/// denied before) withdraws its last denial.
fn gt_denies(gt: &mut Log, last: &mut Option<String>, rng: &mut Rng) -> Delivery {
    let at = T0 + 1000 * (gt.seq as i64 + 1);
    let document = match last.take() {
        Some(number) if rng.range(0, 2) == 0 => {
            status(&number, tally_model::Status::Revoked, "withdrawn")
        }
        _ => {
            let number = format!("DEN-{}", gt.seq + 1);
            *last = Some(number.clone());
            Document::License(tally_testkit::docs::denial(
                &number,
                "GT",
                "IMPORTADORA DEL NORTE, S.A.",
                "2026-06-01",
            ))
        }
    };
    Delivery {
        gt: true,
        class: Class::GtDenial,
        bytes: gt.next_at(at, document).signed().encode(),
    }
}

/// `bytes` as a US entry verified under US's key, one time in eight (drawn
/// from `rng` only for US entries that open): a seq to fork at later.
fn held_for_a_fork(bytes: &[u8], rng: &mut Rng) -> Option<VerifiedEntry> {
    if let Ok(s) = tally_model::SignedEntry::decode(bytes)
        && let Ok(o) = tally_model::OpenedEntry::open(s)
        && o.entry().authority.as_str() == "US-DDTC"
        && rng.range(0, 7) == 0
        && let Ok(v) = tally_model::VerifiedEntry::verify(o, &tally_testkit::key(US_KEY).public())
    {
        return Some(v);
    }
    None
}

/// The timeline of one case: `len` US entries (faults drawn by `rng`) with
/// GT's announcements among them.
pub fn timeline(rng: &mut Rng, len: usize) -> Vec<Delivery> {
    let mut us = Writer {
        log: Log::new("US-DDTC", US_KEY),
        pairs: PairKeys::default(),
        random: DeterministicRandom::new([rng.next_u64() as u8; 32]),
        issued: Vec::new(),
        gt_key: enc(GT_CARD_ENC).public(),
        issuer: enc(US_ENC),
        counted: Vec::new(),
        trips: Vec::new(),
    };
    let mut gt = Log::new("GT-DIGECAM", GT_KEY);
    let mut out = Vec::with_capacity(len + len / 8);
    let mut held: Vec<VerifiedEntry> = Vec::new();
    let mut last_denial = None;
    // Fourteen keys announced first: two more and the sixteen newest start
    // to move, within a short case.
    for i in 0..14 {
        out.push(Delivery {
            gt: false,
            class: Class::UsAnnounce,
            bytes: us.announce(i),
        });
    }
    for _ in 0..len {
        if rng.range(0, 9) == 0 {
            out.push(gt_announces(&mut gt, &mut us, rng));
        }
        if rng.range(0, 19) == 0 {
            out.push(gt_denies(&mut gt, &mut last_denial, rng));
        }
        let class = Class::US[rng.range(0, Class::US.len() as u64 - 1) as usize];
        let bytes = us.write(class, rng, &mut held);
        held.extend(held_for_a_fork(&bytes, rng));
        out.push(Delivery {
            gt: false,
            class,
            bytes,
        });
    }
    out
}

/// The authority ids the harness uses.
pub fn id(s: &str) -> AuthorityId {
    s.parse().expect("a fixture authority")
}
