//! `disk_bytes_per_entry_{redb,sled}`: the same typical entries appended to
//! a store of each engine, 512 per durable commit (what catch-up commits),
//! against the raw encoded `SignedEntry` bytes.

use crate::fixtures::{cores, entries_listing, temp_root, typical_entries};
use crate::progress;
use std::time::Instant;
use tally_store::{EngineKind, Store};

pub struct Disk {
    pub entries: u64,
    pub raw_entry_bytes: f64,
    pub redb: f64,
    pub sled: f64,
    pub redb_appends_per_s: f64,
    pub sled_appends_per_s: f64,
    /// Keys and values as the store lays them out, per entry (engine overhead excluded).
    pub live: f64,
    /// The redb store after `Database::compact()`.
    pub redb_compacted: f64,
    /// One entry per durable commit (what gossip and `issue` do): fsync-bound.
    pub redb_single_per_s: f64,
    pub sled_single_per_s: f64,
    /// redb, the same entries but their ten serials from no common run
    /// (each its own trace bucket, spread over the keyspace): the file per
    /// entry, the live bytes per entry and appends/s.
    pub redb_scattered: f64,
    pub live_scattered: f64,
    pub redb_scattered_appends_per_s: f64,
}

pub fn run(quick: bool) -> anyhow::Result<Disk> {
    let n: u64 = if quick { 20_000 } else { 100_000 };
    progress!("disk: signing {n} entries");
    let (_, entries) = typical_entries("US-DISK", [9; 32], n, cores());
    let raw: u64 = entries
        .iter()
        .map(|e| e.signed().encode().len() as u64)
        .sum();
    let mut out = Disk {
        entries: n,
        raw_entry_bytes: raw as f64 / n as f64,
        redb: 0.0,
        sled: 0.0,
        redb_appends_per_s: 0.0,
        sled_appends_per_s: 0.0,
        live: 0.0,
        redb_compacted: 0.0,
        redb_single_per_s: 0.0,
        sled_single_per_s: 0.0,
        redb_scattered: 0.0,
        live_scattered: 0.0,
        redb_scattered_appends_per_s: 0.0,
    };
    for kind in [EngineKind::Redb, EngineKind::Sled] {
        let dir = temp_root("tally-bench-disk-")?;
        let store = Store::open(dir.path(), kind)?;
        let t = Instant::now();
        for chunk in entries.chunks(512) {
            store.append_batch(chunk)?;
        }
        let rate = n as f64 / t.elapsed().as_secs_f64();
        drop(store);
        // Reopened, so what is measured is what stays on disk.
        let store = Store::open(dir.path(), kind)?;
        let per = store.disk_bytes()? as f64 / n as f64;
        let allocated = crate::fixtures::allocated_bytes(dir.path()) as f64 / n as f64;
        drop(store);
        let live = live_bytes(dir.path(), kind)?;
        let total: u64 = live.iter().map(|(_, b, _)| b).sum();
        progress!(
            "disk: {kind}: {per:.0} B/entry ({:.2}x raw; {allocated:.0} B/entry allocated), {rate:.0} appends/s in batches of 512; live keys+values {:.0} B/entry: {}",
            per / out.raw_entry_bytes,
            total as f64 / n as f64,
            by_prefix(&live, n)
        );
        out.live = total as f64 / n as f64;
        if kind == EngineKind::Redb {
            // What redb's own compaction would give back (the store never calls it).
            let file = dir.path().join(tally_store::engine::REDB_FILE);
            let mut db = redb::Database::open(&file)?;
            let t = Instant::now();
            db.compact()?;
            drop(db);
            out.redb_compacted = crate::fixtures::dir_bytes(&file) as f64 / n as f64;
            progress!(
                "disk: redb after Database::compact() ({:.1} s): {:.0} B/entry ({:.2}x raw)",
                t.elapsed().as_secs_f64(),
                out.redb_compacted,
                out.redb_compacted / out.raw_entry_bytes
            );
        }
        let singles = if quick { 300 } else { 1000 };
        let dir = temp_root("tally-bench-disk1-")?;
        let store = Store::open(dir.path(), kind)?;
        let t = Instant::now();
        for e in entries.iter().take(singles) {
            store.append(e)?;
        }
        let single = singles as f64 / t.elapsed().as_secs_f64();
        progress!("disk: {kind}: {single:.0} single-entry durable commits/s");
        match kind {
            EngineKind::Redb => {
                (out.redb, out.redb_appends_per_s, out.redb_single_per_s) = (per, rate, single)
            }
            EngineKind::Sled => {
                (out.sled, out.sled_appends_per_s, out.sled_single_per_s) = (per, rate, single)
            }
        }
    }
    scattered(&mut out, n)?;
    Ok(out)
}

/// The redb figures again with serials that share no trace bucket.
fn scattered(out: &mut Disk, n: u64) -> anyhow::Result<()> {
    let (_, entries) = entries_listing(
        "US-DISK",
        [9; 32],
        n,
        cores(),
        crate::fixtures::Docs::scattered_serial,
    );
    let dir = temp_root("tally-bench-disk-scattered-")?;
    let store = Store::open(dir.path(), EngineKind::Redb)?;
    let t = Instant::now();
    for chunk in entries.chunks(512) {
        store.append_batch(chunk)?;
    }
    out.redb_scattered_appends_per_s = n as f64 / t.elapsed().as_secs_f64();
    drop(store);
    let store = Store::open(dir.path(), EngineKind::Redb)?;
    out.redb_scattered = store.disk_bytes()? as f64 / n as f64;
    drop(store);
    let live = live_bytes(dir.path(), EngineKind::Redb)?;
    out.live_scattered = live.iter().map(|(_, b, _)| b).sum::<u64>() as f64 / n as f64;
    progress!(
        "disk: redb, serials from no common run: {:.0} B/entry, {:.0} appends/s in batches of 512; live keys+values {:.0} B/entry: {}",
        out.redb_scattered,
        out.redb_scattered_appends_per_s,
        out.live_scattered,
        by_prefix(&live, n)
    );
    Ok(())
}

/// `live_bytes` per entry, for progress lines: `prefix:bytes/rows ...`.
pub fn by_prefix(live: &[(u8, u64, u64)], n: u64) -> String {
    live.iter()
        .map(|(p, b, c)| format!("{}:{:.0}B/{}rows", *p as char, *b as f64 / n as f64, c))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes of keys and values per key prefix (the first byte): (prefix, bytes, rows).
pub fn live_bytes(dir: &std::path::Path, kind: EngineKind) -> anyhow::Result<Vec<(u8, u64, u64)>> {
    let engine = tally_store::engine::open(dir, kind)?;
    let mut by: std::collections::BTreeMap<u8, (u64, u64)> = Default::default();
    let mut start = Vec::new();
    loop {
        let rows = engine.scan(&start, &[0xFF], 4096)?;
        let Some((last, _)) = rows.last() else {
            break;
        };
        start = last.clone();
        start.push(0);
        for (k, v) in &rows {
            let e = by.entry(k[0]).or_default();
            e.0 += (k.len() + v.len()) as u64;
            e.1 += 1;
        }
    }
    Ok(by.into_iter().map(|(p, (b, c))| (p, b, c)).collect())
}
