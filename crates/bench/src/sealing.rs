//! `sealing`: what one sealed entry costs the opener (`SealOpener::open`)
//! of a node that rotated its encryption key 0, 100 and 300 times, for a
//! bystander (the entry is sealed to another party) and for a recipient
//! (sealed to the key this node had when the entry was issued). In-process,
//! no network: 24 issuers with one key each, their entries interleaved as
//! a catch-up from many peers brings them.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tally_model::seal::{self, DeterministicRandom, EncryptionSecret, Header, PairKeys};
use tally_model::{AuthorityId, Body, CardKey, Entry, Recipient, TrustList};
use tally_verify::sealing::{SealOpener, Sealing};

/// Own retired keys measured.
pub const RETIRED: [usize; 3] = [0, 100, 300];
const ISSUERS: usize = 24;
const PER_ISSUER: u64 = 20;
/// Time between two of this node's rotations in the fixture.
const ROTATION_MS: i64 = 3_600_000;
const T0: i64 = tally_testkit::docs::T0;

#[derive(Debug, Clone, Copy)]
pub enum Case {
    /// Sealed to another party: this node tries and finds nothing.
    Bystander,
    /// Sealed to this node's newest key.
    Recipient,
    /// Sealed to the key this node had at the entry's time, spread over
    /// its key history.
    RecipientHistory,
}

impl Case {
    pub fn label(self) -> &'static str {
        match self {
            Case::Bystander => "bystander",
            Case::Recipient => "recipient, newest key",
            Case::RecipientHistory => "recipient, key of its time",
        }
    }
}

pub struct Row {
    pub case: Case,
    pub retired: usize,
    /// Every secret tried on every entry, as before the keys were dated.
    pub undated: bool,
    /// Warm pair cache: the steady state.
    pub us_per_entry: f64,
    /// The first pass over the entries, on an empty pair cache.
    pub first_pass_us: f64,
    /// Pair keys asked for (one tag each) and derived (one X25519 each),
    /// per entry over every pass.
    pub tags_per_entry: f64,
    pub derived_per_entry: f64,
}

pub struct Figures {
    pub rows: Vec<Row>,
}

fn secret(tag: u8, n: usize) -> EncryptionSecret {
    let mut b = [tag; 32];
    // Bytes 1..9: X25519 clamps the low bits of byte 0 (eight values of
    // byte 0 are one key).
    b[1..9].copy_from_slice(&(n as u64).to_le_bytes());
    EncryptionSecret::from_bytes(b)
}

fn issuer(i: usize) -> AuthorityId {
    format!("US-BENCH{i:02}")
        .parse()
        .expect("bench authority id")
}

/// This node's keys: key `i` announced at `T0 + i * ROTATION_MS`, the
/// newest (`retired`) current.
fn own_keys(retired: usize) -> Vec<(EncryptionSecret, i64)> {
    (0..=retired)
        .rev()
        .map(|i| (secret(0xA0, i), T0 + i as i64 * ROTATION_MS))
        .collect()
}

fn trust() -> TrustList {
    let mut trust = TrustList::default();
    for i in 0..ISSUERS {
        let id = issuer(i);
        let mut card = tally_testkit::keys::card(id.as_str(), &tally_testkit::keys::key(1));
        card.encryption_keys = vec![CardKey::new(secret(0xB0, i).public().to_hex(), 0)];
        trust.upsert(card);
    }
    trust
}

/// The entries, interleaved by issuer, sealed as `case` says.
fn entries(case: Case, own: &[(EncryptionSecret, i64)]) -> Vec<Entry> {
    let me: AuthorityId = "MX-SEDENA".parse().expect("id");
    let other = secret(0xC0, 0).public();
    let mut random = DeterministicRandom::new([0x5E; 32]);
    let pairs = PairKeys::new(64);
    let mut out = Vec::new();
    for seq in 1..=PER_ISSUER {
        for i in 0..ISSUERS {
            // Oldest first in time: key j of own history for history entries.
            let j = (seq as usize * ISSUERS + i) % own.len();
            let (to, at) = match case {
                Case::Bystander => (other, own[0].1 + 1),
                Case::Recipient => (own[0].0.public(), own[0].1 + 1),
                Case::RecipientHistory => (own[j].0.public(), own[j].1 + ROTATION_MS / 2),
            };
            let document = tally_testkit::docs::export(&format!("EXP-{seq}"), 1, &[]);
            let mut entry = Entry {
                authority: issuer(i),
                seq,
                prev: Some(tally_model::EntryHash([seq as u8; 32])),
                issued_at_ms: at,
                recipients: vec![],
                body: Body::Document(document.clone()),
            };
            let sealed = seal::seal(
                &secret(0xB0, i),
                Header::of(&entry),
                &document,
                &[Recipient {
                    authority: me.clone(),
                    encryption_key: to,
                }],
                &["GT".parse().expect("iso")],
                &mut random,
                &pairs,
            )
            .expect("seals");
            entry.body = Body::Sealed(sealed);
            out.push(entry);
        }
    }
    out
}

/// The opener of a node holding `own`, each dated by its announcement as
/// a running node dates them (card, then log). `undated`: as before the
/// dates were used (every secret tried on every entry), for comparison.
fn opener(own: Vec<(EncryptionSecret, i64)>, who: &str, undated: bool) -> SealOpener {
    let dated: Vec<_> = own.iter().map(|(s, at)| (s.public(), *at)).collect();
    let sealing = Sealing::new(
        own.into_iter().map(|(s, _)| s).collect(),
        Box::new(DeterministicRandom::new([1; 32])),
    );
    if !undated {
        sealing.set_valid_from(&dated);
    }
    SealOpener {
        sealing: Arc::new(sealing),
        trust: Arc::new(RwLock::new(trust())),
        own: who.parse().expect("id"),
    }
}

/// Microseconds per `open`, over at least `span`, after a first pass on
/// an empty pair cache (as after a start); pair keys asked for and derived.
fn measure(case: Case, retired: usize, undated: bool, span: Duration) -> Row {
    let own = own_keys(retired);
    let entries = entries(case, &own);
    let who = match case {
        Case::Bystander => "JM-FLA",
        _ => "MX-SEDENA",
    };
    let opener = opener(own, who, undated);
    let expect_document = !matches!(case, Case::Bystander);
    let first = Instant::now();
    for e in &entries {
        let opened = matches!(opener.open(e, &[]), tally_store::Opening::Document { .. });
        assert_eq!(opened, expect_document, "{} seq {}", e.authority, e.seq);
    }
    let first_pass_us = first.elapsed().as_secs_f64() * 1e6 / entries.len() as f64;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < span {
        for e in &entries {
            std::hint::black_box(opener.open(e, &[]));
        }
        n += entries.len() as u64;
    }
    let us_per_entry = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    let (asked, derived) = opener.sealing.pair_costs();
    let opened = (n + entries.len() as u64) as f64;
    Row {
        case,
        retired,
        undated,
        us_per_entry,
        first_pass_us,
        tags_per_entry: asked as f64 / opened,
        derived_per_entry: derived as f64 / opened,
    }
}

pub fn run(quick: bool) -> Figures {
    let span = Duration::from_millis(if quick { 300 } else { 1500 });
    let mut rows = Vec::new();
    for undated in [false, true] {
        for case in [Case::Bystander, Case::Recipient, Case::RecipientHistory] {
            for retired in RETIRED {
                let row = measure(case, retired, undated, span);
                crate::progress!(
                    "sealing{}: {}, {} retired own keys: {:.1} us per entry (first pass {:.1} us); {:.2} tags, {:.3} X25519 per entry",
                    if undated { " (every secret tried)" } else { "" },
                    case.label(),
                    retired,
                    row.us_per_entry,
                    row.first_pass_us,
                    row.tags_per_entry,
                    row.derived_per_entry
                );
                rows.push(row);
            }
        }
    }
    Figures { rows }
}

impl Figures {
    /// `{"bystander": {"0": us, "100": us, ...}, ...}`; the undated rows
    /// under `"... (every secret tried)"`.
    pub fn json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for r in &self.rows {
            let by = out
                .entry(Self::label(r))
                .or_insert_with(|| serde_json::json!({}));
            by[r.retired.to_string()] = crate::num(Some(r.us_per_entry), 1);
        }
        out.into()
    }

    fn label(r: &Row) -> String {
        if r.undated {
            format!("{} (every secret tried)", r.case.label())
        } else {
            r.case.label().to_string()
        }
    }

    pub fn table(&self) {
        let mut labels: Vec<String> = self.rows.iter().map(Self::label).collect();
        labels.dedup();
        for label in labels {
            let cells: Vec<String> = self
                .rows
                .iter()
                .filter(|r| Self::label(r) == label)
                .map(|r| {
                    format!(
                        "{} retired {:.1} us (first pass {:.1} us; {:.2} tags, {:.3} X25519)",
                        r.retired,
                        r.us_per_entry,
                        r.first_pass_us,
                        r.tags_per_entry,
                        r.derived_per_entry
                    )
                })
                .collect();
            println!(
                "sealing: open per entry, {label}, {ISSUERS} issuers: {}",
                cells.join(", ")
            );
        }
    }
}
