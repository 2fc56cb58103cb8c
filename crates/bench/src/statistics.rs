//! `statistics_ms_at_60k`: a large exporter's year. 60,000 export licenses
//! of its log to twelve counterpart States, each with one recorded exit
//! dated across the year, in a redb store; then `Store::statistics` for the
//! whole period grouped by month, counterpart and category (what the
//! console's Statistics page asks), timed over several runs after a warm
//! one. The target: under 200 ms.

use crate::fixtures::{Docs, LogWriter, cores, temp_root};
use crate::progress;
use std::time::Instant;
use tally_model::{AuthorityKey, Checkpoint, Date, Direction, Document, DocumentRef, License};
use tally_model::{ShipmentLine, ShipmentRecord};
use tally_store::statistics::Grouping;
use tally_store::{EngineKind, StatisticsQuery, Store};

/// The exporter's licenses in a year.
pub const LICENSES: u64 = 60_000;
/// Entries appended per commit while building the store.
const BATCH: usize = 2_000;

const COUNTERPARTS: [&str; 12] = [
    "MX", "GT", "CO", "BR", "AR", "CL", "PE", "CA", "PA", "HN", "EC", "UY",
];

pub struct Figures {
    pub licenses: u64,
    /// Median of the timed runs.
    pub ms: f64,
    pub flows: usize,
}

pub fn run(quick: bool) -> anyhow::Result<Figures> {
    let runs = if quick { 9 } else { 15 };
    progress!("statistics: signing {LICENSES} licenses and as many exits");
    let docs = Docs::new();
    let mut docs_out = Vec::with_capacity(2 * LICENSES as usize);
    for n in 0..LICENSES {
        let mut l = docs.export(n, "MX-SEDENA");
        if let License::Export(e) = &mut l {
            e.importing_country = COUNTERPARTS[(n % 12) as usize].to_string();
            e.items[0].serials.clear();
        }
        docs_out.push(Document::License(l));
        docs_out.push(exit(n));
    }
    let mut writer = LogWriter::new("US-STAT", AuthorityKey::from_bytes(&[12; 32]));
    let entries = writer.sign(docs_out, cores());
    let dir = temp_root("tally-bench-statistics-")?;
    let store = Store::open(dir.path(), EngineKind::Redb)?;
    for chunk in entries.chunks(BATCH) {
        store.append_batch(chunk)?;
    }
    let q = StatisticsQuery {
        country: "US".into(),
        from: Some(Date::from_unix_ms(0)),
        to: None,
        group: Grouping::all(),
        direction: None,
        counterpart: None,
        category: None,
        hs: None,
    };
    let date_at = Date::from_unix_ms;
    let warm = store.statistics(&q, &date_at)?;
    let licensed: u64 = warm.flows.iter().map(|f| f.licenses).sum();
    anyhow::ensure!(
        licensed == 2 * LICENSES,
        "every license counts once per category: {licensed}"
    );
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let s = store.statistics(&q, &date_at);
            (t.elapsed().as_secs_f64() * 1e3, s.is_ok())
        })
        .filter_map(|(ms, ok)| ok.then_some(ms))
        .collect();
    ms.sort_by(f64::total_cmp);
    let out = Figures {
        licenses: LICENSES,
        ms: ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN),
        flows: warm.flows.len(),
    };
    progress!(
        "statistics: {:.1} ms median of {} runs over {} licenses and {} exits ({} flows); fastest {:.1}, slowest {:.1}",
        out.ms,
        ms.len(),
        LICENSES,
        LICENSES,
        out.flows,
        ms.first().copied().unwrap_or(f64::NAN),
        ms.last().copied().unwrap_or(f64::NAN)
    );
    Ok(out)
}

/// The recorded exit of license `n`, dated on one of the year's days.
fn exit(n: u64) -> Document {
    let date = Date::from_ymd(2026, 1, 1).expect("a date");
    let date = Date::from_unix_ms((date.days() + (n % 365) as i64) * 86_400_000);
    Document::Shipment(ShipmentRecord {
        license: DocumentRef {
            authority: "US-STAT".into(),
            number: Docs::export_number(n),
        },
        checkpoint: Checkpoint {
            country: "US".into(),
            port: "USLAX".into(),
            direction: Direction::Exit,
        },
        date: date.to_string(),
        exporter: None,
        importer: None,
        items: vec![
            ShipmentLine {
                line: 1,
                quantity: 10,
                serials: vec![],
            },
            ShipmentLine {
                line: 2,
                quantity: 2_000,
                serials: vec![],
            },
        ],
        verdict: "accept".into(),
        failed_rules: vec![],
    })
}
