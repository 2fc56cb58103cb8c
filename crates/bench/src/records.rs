//! `disk_bytes_per_record`: what a shipment record of many serials costs a
//! node's disk beside its entry (hardening: a token's byte budget bounds the
//! entries, so the store must not multiply them). Accepted records of one
//! line with 2,000 64-character serials each, every serial new, each its
//! own durable commit (as `POST /v1/shipments/verify` writes them), appended
//! to a redb store; the file after a reopen and the live keys and values by
//! row kind, per record, against the raw `SignedEntry` bytes.

use crate::fixtures::{LogWriter, cores, day, temp_root};
use crate::progress;
use tally_model::{AuthorityKey, Checkpoint, Direction, Document, DocumentRef};
use tally_model::{ShipmentLine, ShipmentRecord};
use tally_store::{EngineKind, Store};

/// Serials on each record's line: the largest check the API takes in one
/// request is bounded by bytes, and 2,000 serials of 64 characters is the
/// case the hardening probe measured.
pub const SERIALS: usize = 2_000;

pub struct Records {
    pub records: u64,
    pub raw_entry_bytes: f64,
    /// The redb file per record, after a reopen.
    pub file: f64,
    /// Keys and values per record, engine overhead excluded.
    pub live: f64,
    /// `live` by row kind: `prefix:bytes/rows`.
    pub live_by_prefix: String,
}

pub fn run(quick: bool) -> anyhow::Result<Records> {
    let n: u64 = if quick { 20 } else { 100 };
    progress!("records: signing {n} records of {SERIALS} serials each");
    let mut writer = LogWriter::new("MX-REC", AuthorityKey::from_bytes(&[11; 32]));
    let docs = (0..n).map(record).collect();
    let entries = writer.sign(docs, cores());
    let raw: u64 = entries
        .iter()
        .map(|e| e.signed().encode().len() as u64)
        .sum();
    let dir = temp_root("tally-bench-records-")?;
    let store = Store::open(dir.path(), EngineKind::Redb)?;
    for e in &entries {
        store.append(e)?;
    }
    drop(store);
    let store = Store::open(dir.path(), EngineKind::Redb)?;
    let file = store.disk_bytes()? as f64 / n as f64;
    drop(store);
    let live = crate::disk::live_bytes(dir.path(), EngineKind::Redb)?;
    let out = Records {
        records: n,
        raw_entry_bytes: raw as f64 / n as f64,
        file,
        live: live.iter().map(|(_, b, _)| b).sum::<u64>() as f64 / n as f64,
        live_by_prefix: crate::disk::by_prefix(&live, n),
    };
    progress!(
        "records: {:.0} B of redb file per record ({:.2}x its {:.0}-B entry); live keys+values {:.0} B/record ({:.2}x): {}",
        out.file,
        out.file / out.raw_entry_bytes,
        out.raw_entry_bytes,
        out.live,
        out.live / out.raw_entry_bytes,
        out.live_by_prefix
    );
    Ok(out)
}

/// Record `n`: an accepted entry into Mexico under one export license, its
/// line declaring [`SERIALS`] serials no record declared before.
fn record(n: u64) -> Document {
    let serials = (0..SERIALS)
        .map(|k| format!("{:0>64}", format!("REC{n:06}X{k:05}")))
        .collect();
    Document::Shipment(ShipmentRecord {
        license: DocumentRef {
            authority: "US-REC".into(),
            number: format!("EXP-{n:07}"),
        },
        checkpoint: Checkpoint {
            country: "MX".into(),
            port: "Nuevo Laredo".into(),
            direction: Direction::Entry,
        },
        date: day(0),
        exporter: None,
        importer: None,
        items: vec![ShipmentLine {
            line: 1,
            quantity: SERIALS as u64,
            serials,
        }],
        verdict: "accept".into(),
        failed_rules: vec![],
    })
}
