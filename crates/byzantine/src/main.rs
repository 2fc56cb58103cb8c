//! The long run: `cargo run --release -p tally-byzantine -- --cases N
//! [--len L] [--from K] [--seed S] [--engine redb|sled]`. Case k uses seed
//! `S + k`, so a run stopped at case K resumes with `--from K`; a failing
//! case is replayed alone with `--from K --cases 1`. Prints each case's
//! disagreements and failures, and at the end the totals: cases, entries
//! delivered and stored, faults per class.

use std::collections::BTreeMap;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: u64| -> anyhow::Result<u64> {
        Ok(match arg(&args, name) {
            Some(v) => v.parse()?,
            None => default,
        })
    };
    let cases = num("--cases", 100)?;
    let len = num("--len", 200)? as usize;
    let from = num("--from", 0)?;
    let seed = num("--seed", 0x7a11_7a11)?;
    let engine = match arg(&args, "--engine").as_deref() {
        None | Some("redb") => tally_store::EngineKind::Redb,
        Some("sled") => tally_store::EngineKind::Sled,
        Some(other) => anyhow::bail!("unknown engine {other:?}"),
    };
    let started = Instant::now();
    let (mut entries, mut stored, mut bad, mut split) = (0usize, 0u64, 0usize, 0u64);
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    for k in from..from + cases {
        let r = tally_byzantine::run_case(seed.wrapping_add(k), len, engine)?;
        entries += r.entries;
        stored += r.stored;
        split += u64::from(r.split_by_fork);
        for (c, n) in &r.faults {
            *faults.entry(format!("{c:?}")).or_default() += n;
        }
        for d in r.disagreements.iter().chain(&r.failures) {
            bad += 1;
            println!("case {k} (seed {}): {d}", r.seed);
        }
        if (k + 1 - from) % 10 == 0 {
            println!(
                "{} cases, {entries} entries delivered to each of 3 nodes, {stored} stored, {bad} problems, {:.0} s",
                k + 1 - from,
                started.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "done: {cases} cases from {from}, {entries} entries delivered to each of 3 nodes ({} deliveries), {stored} stored, {bad} disagreements or failed transactions, {split} cases where the readers ended on two branches of a proven fork (derived states not compared), {:.0} s",
        entries * 3,
        started.elapsed().as_secs_f64()
    );
    for (c, n) in faults {
        println!("  {c}: {n}");
    }
    anyhow::ensure!(bad == 0, "{bad} problems");
    Ok(())
}
