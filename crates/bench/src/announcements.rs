//! `announcements`: what a sealed entry costs a recipient whose issuer
//! announced 0, 1,000 or 10,000 encryption keys in its log (issue 28: a
//! trusted issuer must not be able to slow every reader by announcing).
//! In-process, a real redb store: the issuer's announcements arrive as a
//! catch-up, then sealed entries to this node by gossip (one commit each)
//! and in one sync range.

use std::sync::{Arc, RwLock};
use std::time::Instant;
use tally_model::seal::{DeterministicRandom, EncryptionSecret, Header, PairKeys, seal_payload};
use tally_model::{
    AuthorityId, Body, CardKey, Document, EncryptionKey, Recipient, SealedPayload, VerifiedEntry,
};
use tally_store::{EngineKind, Store};
use tally_testkit::{Log, T0, key, trust_list};
use tally_verify::sealing::{SealOpener, Sealing};
use tally_verify::{NoPublish, Verifier};

/// Announcements measured.
pub const ANNOUNCED: [usize; 3] = [0, 1_000, 10_000];
const MX_ENC: u8 = 202;

pub struct Row {
    pub announced: usize,
    /// One sealed entry per ingest (one commit each).
    pub gossip_us_per_entry: f64,
    /// Sealed entries in one sync range (pre-verified, one commit).
    pub range_us_per_entry: f64,
}

pub struct Figures {
    pub rows: Vec<Row>,
}

fn issuer_secret(n: usize) -> EncryptionSecret {
    let mut b = [77u8; 32];
    b[1..9].copy_from_slice(&(n as u64).to_le_bytes());
    EncryptionSecret::from_bytes(b)
}

fn recipient() -> (tempfile::TempDir, Verifier) {
    let dir = tempfile::tempdir().expect("tempdir");
    let own: AuthorityId = "MX-SEDENA".parse().expect("valid");
    let mut list = trust_list(&[("US-DDTC", 1)]);
    list.cards[0].encryption_keys = vec![CardKey::new(issuer_secret(0).public().to_hex(), 0)];
    let trust = Arc::new(RwLock::new(list));
    let sealing = Arc::new(Sealing::new(
        vec![EncryptionSecret::from_bytes([MX_ENC; 32])],
        Box::new(DeterministicRandom::new([MX_ENC; 32])),
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
    let v = Verifier::builder(store, own, key(2))
        .trust(trust)
        .publish(Box::new(NoPublish))
        .clock(Box::new(tally_verify::FixedClock(T0 + 86_400_000)))
        .sealing(sealing)
        .build();
    (dir, v)
}

/// An export sealed by the issuer's key `issuer` to MX.
fn sealed(log: &mut Log, issuer: &EncryptionSecret, n: usize, pairs: &PairKeys) -> VerifiedEntry {
    let mx_public = EncryptionSecret::from_bytes([MX_ENC; 32]).public();
    let payload = SealedPayload {
        document: tally_testkit::docs::export(&format!("EXP-{n}"), 10, &[]),
        recipients: vec![
            Recipient {
                authority: log.authority.clone(),
                encryption_key: issuer.public(),
            },
            Recipient {
                authority: "MX-SEDENA".parse().expect("valid"),
                encryption_key: mx_public,
            },
        ],
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
        &[issuer.public(), mx_public],
        &mut DeterministicRandom::new([n as u8; 32]),
        pairs,
    )
    .expect("seals");
    log.next_body(T0 + 3_600_000, Body::Sealed(body))
}

fn sync(v: &Verifier, range: &[VerifiedEntry]) {
    let bytes: Vec<Vec<u8>> = range.iter().map(|e| e.signed().encode()).collect();
    let p = v.ingest().preverify(&bytes).expect("preverifies");
    v.ingest().commit(p).expect("commits");
}

fn measure(announced: usize, entries: usize) -> Row {
    let (_dir, v) = recipient();
    let mut log = Log::new("US-DDTC", 1);
    let announcements: Vec<VerifiedEntry> = (1..=announced)
        .map(|i| {
            log.next_at(
                T0 + i as i64,
                Document::EncryptionKey(EncryptionKey {
                    public_key: issuer_secret(i).public().0,
                    valid_from_ms: T0 + i as i64,
                }),
            )
        })
        .collect();
    for range in announcements.chunks(500) {
        sync(&v, range);
    }
    let newest = issuer_secret(announced);
    let pairs = PairKeys::default();
    let gossiped: Vec<VerifiedEntry> = (0..entries)
        .map(|n| sealed(&mut log, &newest, n, &pairs))
        .collect();
    let ranged: Vec<VerifiedEntry> = (0..entries)
        .map(|n| sealed(&mut log, &newest, entries + n, &pairs))
        .collect();
    let started = Instant::now();
    for e in &gossiped {
        v.ingest().entry(&e.signed().encode()).expect("ingests");
    }
    let gossip = started.elapsed().as_secs_f64() * 1e6 / entries as f64;
    let started = Instant::now();
    sync(&v, &ranged);
    let range = started.elapsed().as_secs_f64() * 1e6 / entries as f64;
    let us: AuthorityId = "US-DDTC".parse().expect("valid");
    let read = v
        .reader()
        .and_then(|r| r.license(&us, &format!("EXP-{}", 2 * entries - 1)))
        .expect("reads");
    assert!(read.is_some(), "the recipient reads what was sealed to it");
    Row {
        announced,
        gossip_us_per_entry: gossip,
        range_us_per_entry: range,
    }
}

pub fn run(quick: bool) -> Figures {
    let entries = if quick { 50 } else { 200 };
    let rows = ANNOUNCED
        .iter()
        .map(|&n| {
            let row = measure(n, entries);
            crate::progress!(
                "announcements: issuer with {n} announced keys: {:.0} us per sealed entry by gossip, {:.1} us in a sync range",
                row.gossip_us_per_entry,
                row.range_us_per_entry
            );
            row
        })
        .collect();
    Figures { rows }
}

impl Figures {
    /// `{"gossip": {"0": us, ...}, "range": {"0": us, ...}}`.
    pub fn json(&self) -> serde_json::Value {
        let mut gossip = serde_json::Map::new();
        let mut range = serde_json::Map::new();
        for r in &self.rows {
            let n = r.announced.to_string();
            gossip.insert(n.clone(), crate::num(Some(r.gossip_us_per_entry), 0));
            range.insert(n, crate::num(Some(r.range_us_per_entry), 1));
        }
        serde_json::json!({ "gossip": gossip, "range": range })
    }

    pub fn table(&self) {
        for r in &self.rows {
            println!(
                "announcements: issuer with {} keys: sealed entry {:.0} us by gossip, {:.1} us in a sync range",
                r.announced, r.gossip_us_per_entry, r.range_us_per_entry
            );
        }
    }
}
