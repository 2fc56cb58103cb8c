//! Engine benchmark: durable single appends/s, batched appends/s (256 per
//! batch), disk bytes per entry against raw entry bytes, open time and
//! reindex rate, for each engine. `cargo bench -p tally-store [-- --quick] [--json]`;
//! `TALLY_BENCH_DIR` picks the disk (default: the system temp dir).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Log, scripted};
use std::time::Instant;
use tally_model::VerifiedEntry;
use tally_store::{EngineKind, Store};

const BATCH: usize = 256;

struct Figures {
    engine: EngineKind,
    single_per_s: f64,
    batched_per_s: f64,
    entries: u64,
    disk_bytes: u64,
    /// Keys and values as the store lays them out (logs, indexes, derived
    /// records), before the engine's own overhead.
    live_bytes: u64,
    raw_bytes: u64,
    open_ms: f64,
    reindex_per_s: f64,
}

/// `n` signed entries spread over three authorities, signed before timing.
fn entries(n: usize) -> Vec<VerifiedEntry> {
    let mut logs = [
        Log::new("US-DDTC", 1),
        Log::new("MX-SEDENA", 2),
        Log::new("GT-DIGECAM", 3),
    ];
    (0..n)
        .map(|i| {
            let log = &mut logs[i % 3];
            let doc = scripted(log.authority.as_str(), log.seq + 1);
            log.next(doc)
        })
        .collect()
}

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("TALLY_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("temp dir in TALLY_BENCH_DIR"),
        None => tempfile::tempdir().expect("temp dir"),
    }
}

fn run(engine: EngineKind, singles: usize, batched: usize) -> Figures {
    let single_entries = entries(singles);
    let dir = bench_dir();
    let store = Store::open(dir.path(), engine).expect("opens");
    let t = Instant::now();
    for e in &single_entries {
        store.append(e).expect("appends");
    }
    let single_per_s = singles as f64 / t.elapsed().as_secs_f64();
    drop(store);

    let batch_entries = entries(batched);
    let raw_bytes: u64 = batch_entries
        .iter()
        .map(|e| e.signed().encode().len() as u64)
        .sum();
    let dir = bench_dir();
    let store = Store::open(dir.path(), engine).expect("opens");
    let t = Instant::now();
    for chunk in batch_entries.chunks(BATCH) {
        store.append_batch(chunk).expect("appends");
    }
    let batched_per_s = batched as f64 / t.elapsed().as_secs_f64();
    drop(store);

    let t = Instant::now();
    let store = Store::open(dir.path(), engine).expect("reopens");
    let open_ms = t.elapsed().as_secs_f64() * 1000.0;
    let entries = store.entry_count().expect("count");
    let disk_bytes = store.disk_bytes().expect("disk");
    let t = Instant::now();
    let report = store.reindex().expect("reindex");
    let reindex_per_s = report.entries as f64 / t.elapsed().as_secs_f64();
    drop(store);
    let live_bytes = live_bytes(dir.path(), engine);
    Figures {
        engine,
        single_per_s,
        batched_per_s,
        entries,
        disk_bytes,
        live_bytes,
        raw_bytes,
        open_ms,
        reindex_per_s,
    }
}

/// Sums every key and value, a bounded chunk at a time.
fn live_bytes(dir: &std::path::Path, kind: EngineKind) -> u64 {
    let engine = tally_store::engine::open(dir, kind).expect("engine");
    let mut start = Vec::new();
    let mut total = 0;
    loop {
        let rows = engine.scan(&start, &[0xFF], 4096).expect("scan");
        let Some((last, _)) = rows.last() else {
            return total;
        };
        start = last.clone();
        start.push(0);
        total += rows
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum::<u64>();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let json = args.iter().any(|a| a == "--json");
    let (singles, batched) = if quick { (200, 2_560) } else { (2_000, 51_200) };
    let figures: Vec<Figures> = EngineKind::ALL
        .into_iter()
        .map(|e| run(e, singles, batched))
        .collect();
    if json {
        for f in &figures {
            println!(
                "{{\"engine\":\"{}\",\"single_appends_per_s\":{:.0},\"batched_appends_per_s\":{:.0},\"batch\":{BATCH},\"entries\":{},\"disk_bytes\":{},\"disk_bytes_per_entry\":{:.0},\"live_bytes_per_entry\":{:.0},\"raw_bytes_per_entry\":{:.0},\"open_ms\":{:.1},\"reindex_entries_per_s\":{:.0}}}",
                f.engine,
                f.single_per_s,
                f.batched_per_s,
                f.entries,
                f.disk_bytes,
                f.disk_bytes as f64 / f.entries as f64,
                f.live_bytes as f64 / f.entries as f64,
                f.raw_bytes as f64 / f.entries as f64,
                f.open_ms,
                f.reindex_per_s
            );
        }
        return;
    }
    println!(
        "{singles} single appends, {batched} entries in batches of {BATCH}{}",
        if quick { " (--quick)" } else { "" }
    );
    println!(
        "{:<6} {:>10} {:>12} {:>11} {:>11} {:>10} {:>9} {:>9} {:>11}",
        "engine",
        "single/s",
        "batched/s",
        "disk B/ent",
        "live B/ent",
        "raw B/ent",
        "disk/raw",
        "open ms",
        "reindex/s"
    );
    for f in &figures {
        let disk = f.disk_bytes as f64 / f.entries as f64;
        let raw = f.raw_bytes as f64 / f.entries as f64;
        println!(
            "{:<6} {:>10.0} {:>12.0} {:>11.0} {:>11.0} {:>10.0} {:>9.1} {:>9.1} {:>11.0}",
            f.engine.as_str(),
            f.single_per_s,
            f.batched_per_s,
            disk,
            f.live_bytes as f64 / f.entries as f64,
            raw,
            disk / raw,
            f.open_ms,
            f.reindex_per_s
        );
    }
}
