//! `tally-bench`: Tally's end-to-end figures in one run.
//!
//! ```text
//! cargo run --release -p tally-bench -- [--quick] [--json]    the figures (BENCHMARKS.md)
//! cargo run --release -p tally-bench -- --load [--quick] [--json]   60 s of mixed load
//! ```
//!
//! `--only raw,disk,records,ingest,api,pkcs11,propagation,sealing,announcements,statistics` runs a subset (the others print
//! as null). `TALLY_BENCH_DIR` picks the disk for the temporary stores.
//! Progress goes to stderr; the table (or with `--json` one JSON object) to
//! stdout. The HTTP figures run the node as a child process: this binary with
//! `--serve DIR`, the same code as `tally run --dir DIR`.

#![recursion_limit = "256"]

mod announcements;
mod api;
mod disk;
mod fixtures;
mod ingest;
mod load;
mod pkcs11;
mod propagation;
mod raw;
mod records;
mod sealing;
mod startup;
mod statistics;

use serde_json::{Value, json};
use std::time::Instant;

struct Args {
    quick: bool,
    json: bool,
    load: bool,
    only: Option<Vec<String>>,
    serve: Option<std::path::PathBuf>,
    /// `--pkcs11-child DIR N` (see `pkcs11.rs`).
    pkcs11_child: Option<(std::path::PathBuf, usize)>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        quick: false,
        json: false,
        load: false,
        only: None,
        serve: None,
        pkcs11_child: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--json" => a.json = true,
            "--load" => a.load = true,
            "--only" => {
                let v = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--only needs a list"))?;
                a.only = Some(v.split(',').map(|s| s.trim().to_string()).collect());
            }
            "--serve" => {
                a.serve = Some(
                    it.next()
                        .ok_or_else(|| anyhow::anyhow!("--serve needs a directory"))?
                        .into(),
                )
            }
            "--pkcs11-child" => {
                let (Some(dir), Some(n)) = (it.next(), it.next()) else {
                    anyhow::bail!("--pkcs11-child needs DIR N");
                };
                a.pkcs11_child = Some((dir.into(), n.parse()?));
            }
            "-h" | "--help" => {
                println!(
                    "tally-bench [--quick] [--json] [--only raw,disk,records,ingest,api,pkcs11,propagation,sealing,announcements,statistics]\n\
                     tally-bench --load [--quick] [--json]\n\
                     TALLY_BENCH_DIR=DIR puts the temporary stores on DIR"
                );
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(a)
}

/// mimalloc rather than the system allocator: a verify request allocates
/// and frees a few hundred small objects (the license, its view, the JSON),
/// and with mimalloc the node spent 43-47 µs of CPU per request instead of
/// 54-55 µs (`tally-bench --only api`, two runs each, BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Some(dir) = a.serve {
        // The node process: exactly `tally run --dir DIR`.
        tally_node::init_tracing(tally_node::cli::LogFormat::Text);
        return rt.block_on(async {
            let node = tally_node::Node::start(&dir).await?;
            node.run_until(tally_node::shutdown_signal()).await
        });
    }
    if let Some((dir, n)) = &a.pkcs11_child {
        return pkcs11::child(dir, *n);
    }
    fixtures::since_start();
    let effective = fixtures::effective_cores();
    progress!(
        "machine: {} cores, {}; load average {}; {effective:.2} cores usable by this run right now",
        fixtures::cores(),
        fixtures::cpu_model(),
        fixtures::load_average()
    );
    if effective < fixtures::cores() as f64 * 0.8 {
        progress!(
            "WARNING: other processes hold {:.1} of {} cores; figures will be low",
            fixtures::cores() as f64 - effective,
            fixtures::cores()
        );
    }
    let started = Instant::now();
    if a.load {
        let l = rt.block_on(load::run(a.quick))?;
        print_load(&a, &l, started.elapsed().as_secs_f64());
        return Ok(());
    }
    let want = |s: &str| a.only.as_ref().is_none_or(|o| o.iter().any(|x| x == s));
    let mut f = Figures::default();
    if want("raw") {
        progress!("raw: single-core signature checks (ZIP-215) of typical entries");
        let r = raw::run(a.quick);
        progress!(
            "raw: {:.0} verify/s single, {:.0}/s batch (512), {:.0} B per entry",
            r.verify_per_s,
            r.batch_verify_per_s,
            r.entry_bytes
        );
        f.raw = Some(r);
    }
    if want("disk") {
        f.disk = Some(disk::run(a.quick)?);
    }
    if want("records") {
        f.records = Some(records::run(a.quick)?);
    }
    if want("ingest") {
        f.ingest = Some(rt.block_on(ingest::run(a.quick))?);
    }
    if want("api") {
        let mut api = rt.block_on(api::run(a.quick))?;
        if a.quick {
            api.startup_large_ms = Some(rt.block_on(startup::large())?);
        }
        f.api = Some(api);
    }
    if want("pkcs11") {
        f.pkcs11 = pkcs11::run(a.quick)?;
    }
    if want("propagation") {
        f.prop = Some(rt.block_on(propagation::run(a.quick))?);
    }
    if want("sealing") {
        f.sealing = Some(sealing::run(a.quick));
    }
    if want("announcements") {
        f.announcements = Some(announcements::run(a.quick));
    }
    if want("statistics") {
        f.statistics = Some(statistics::run(a.quick)?);
    }
    let wall = started.elapsed().as_secs_f64();
    progress!(
        "done in {wall:.0} s; load average {}",
        fixtures::load_average()
    );
    if a.json {
        println!("{}", f.json(a.quick));
    } else {
        f.table(a.quick, wall, effective);
    }
    // Nodes' background tasks may still be winding down; do not wait for them.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(())
}

#[derive(Default)]
struct Figures {
    raw: Option<raw::Raw>,
    disk: Option<disk::Disk>,
    records: Option<records::Records>,
    ingest: Option<ingest::Ingest>,
    api: Option<api::Api>,
    prop: Option<propagation::Propagation>,
    sealing: Option<sealing::Figures>,
    announcements: Option<announcements::Figures>,
    statistics: Option<statistics::Figures>,
    /// `issue_pkcs11_per_s`; `None` without SoftHSM2.
    pkcs11: Option<f64>,
}

/// A number rounded to `d` decimals; null when unknown.
fn num(x: Option<f64>, d: i32) -> Value {
    match x {
        Some(v) if v.is_finite() => {
            let m = 10f64.powi(d);
            json!((v * m).round() / m)
        }
        _ => Value::Null,
    }
}

fn machine() -> Value {
    json!({"cores": fixtures::cores(), "model": fixtures::cpu_model()})
}

impl Figures {
    fn ingest_ratio(&self) -> Option<f64> {
        Some(self.ingest.as_ref()?.clear.per_s / self.raw.as_ref()?.verify_per_s)
    }

    /// Sealed catch-up, B a recipient, over clear catch-up of the same count.
    fn sealed_party_ratio(&self) -> Option<f64> {
        let i = self.ingest.as_ref()?;
        Some(i.party.as_ref()?.per_s / i.clear.per_s)
    }

    /// Sealed catch-up, B not a recipient, over clear catch-up.
    fn sealed_other_ratio(&self) -> Option<f64> {
        let i = self.ingest.as_ref()?;
        Some(i.other.as_ref()?.per_s / i.clear.per_s)
    }

    /// A recipient's store after a sealed catch-up, bytes per entry.
    fn sealed_recipient_disk(&self) -> Option<f64> {
        Some(self.ingest.as_ref()?.party.as_ref()?.disk_bytes_per_entry)
    }

    /// The same over the entry's bytes as the recipient received them,
    /// sealed: the disk target's ratio (what a node stores for each entry
    /// it holds, over the entry itself).
    /// A clear catch-up's disk per entry over the entry itself.
    fn clear_disk_ratio(&self) -> Option<f64> {
        let clear = &self.ingest.as_ref()?.clear;
        Some(clear.disk_bytes_per_entry / clear.entry_bytes)
    }

    fn sealed_recipient_disk_ratio(&self) -> Option<f64> {
        let party = self.ingest.as_ref()?.party.as_ref()?;
        Some(party.disk_bytes_per_entry / party.entry_bytes)
    }

    fn json(&self, quick: bool) -> Value {
        let raw = self.raw.as_ref();
        let api = self.api.as_ref();
        let prop = self.prop.as_ref();
        let disk = self.disk.as_ref();
        let ingest = self.ingest.as_ref();
        json!({
            "raw_verify_per_s": num(raw.map(|r| r.verify_per_s), 0),
            "batch_verify_per_s": num(raw.map(|r| r.batch_verify_per_s), 0),
            "ingest_per_s": num(ingest.map(|i| i.clear.per_s), 0),
            "ingest_ratio_to_raw_verify": num(self.ingest_ratio(), 3),
            "ingest_sealed_party_per_s": num(ingest.and_then(|i| i.party.as_ref()).map(|c| c.per_s), 0),
            "ingest_sealed_party_ratio": num(self.sealed_party_ratio(), 3),
            "ingest_sealed_other_per_s": num(ingest.and_then(|i| i.other.as_ref()).map(|c| c.per_s), 0),
            "ingest_sealed_other_ratio": num(self.sealed_other_ratio(), 3),
            "sealed_entry_bytes": num(ingest.and_then(|i| i.party.as_ref()).map(|c| c.entry_bytes), 0),
            "disk_bytes_per_entry_clear_catchup": num(ingest.map(|i| i.clear.disk_bytes_per_entry), 0),
            "disk_clear_catchup_ratio_to_raw": num(self.clear_disk_ratio(), 2),
            "disk_bytes_per_entry_sealed_recipient": num(self.sealed_recipient_disk(), 0),
            "disk_sealed_recipient_ratio_to_raw": num(self.sealed_recipient_disk_ratio(), 2),
            "disk_bytes_per_entry_sealed_other": num(ingest.and_then(|i| i.other.as_ref()).map(|c| c.disk_bytes_per_entry), 0),
            "issue_per_s": num(api.map(|a| a.issue.per_s()), 0),
            "issue_p50_ms": num(api.map(|a| a.issue.p(50.0)), 2),
            "issue_p99_ms": num(api.map(|a| a.issue.p(99.0)), 2),
            "issue_pkcs11_per_s": num(self.pkcs11, 0),
            "verify_api_per_s": num(api.map(|a| a.verify.per_s()), 0),
            "verify_api_p50_ms": num(api.map(|a| a.verify.p(50.0)), 2),
            "verify_api_p99_ms": num(api.map(|a| a.verify.p(99.0)), 2),
            "health_per_s": num(api.map(|a| a.health.per_s()), 0),
            "verify_api_ratio_to_health": num(api.map(|a| a.verify.per_s() / a.health.per_s()), 3),
            "propagation_p50_ms": num(prop.map(|p| p.p50_ms), 1),
            "propagation_p99_ms": num(prop.map(|p| p.p99_ms), 1),
            "disk_bytes_per_entry_redb": num(disk.map(|d| d.redb), 0),
            "disk_bytes_per_entry_sled": num(disk.map(|d| d.sled), 0),
            "disk_bytes_per_entry_redb_scattered_serials": num(disk.map(|d| d.redb_scattered), 0),
            "disk_appends_per_s_redb_scattered_serials": num(disk.map(|d| d.redb_scattered_appends_per_s), 0),
            "disk_bytes_per_record": num(self.records.as_ref().map(|r| r.file), 0),
            "disk_record_ratio_to_raw": num(self.records.as_ref().map(|r| r.file / r.raw_entry_bytes), 2),
            "raw_entry_bytes": num(disk.map(|d| d.raw_entry_bytes).or(raw.map(|r| r.entry_bytes)), 0),
            "rss_mb_at_1m": num(api.map(|a| a.rss_mb), 1),
            "startup_ms_at_1m": num(api.filter(|_| !quick).map(|a| a.startup_ms), 0),
            "startup_ms_small": num(api.filter(|_| quick).map(|a| a.startup_ms), 0),
            "startup_ms_large": num(api.and_then(|a| a.startup_large_ms), 0),
            "startup_licenses_small": api.filter(|_| quick).map(|a| a.licenses),
            "startup_licenses_large": api.and_then(|a| a.startup_large_ms).map(|_| startup::LARGE),
            "sealed_open_us_per_entry": self.sealing.as_ref().map(sealing::Figures::json),
            "sealed_us_per_entry_by_announcements": self.announcements.as_ref().map(announcements::Figures::json),
            "statistics_ms_at_60k": num(self.statistics.as_ref().map(|s| s.ms), 1),
            "quick": quick,
            "machine": machine(),
        })
    }

    fn table(&self, quick: bool, wall: f64, effective: f64) {
        println!(
            "Tally benchmarks{} on {} cores ({}; {effective:.2} usable at the start), {wall:.0} s wall, load average at the end {}",
            if quick { " (--quick)" } else { "" },
            fixtures::cores(),
            fixtures::cpu_model(),
            fixtures::load_average()
        );
        println!();
        println!("{:<28} {:>12}  {:<26}", "figure", "value", "target");
        for r in self.rows() {
            r.print();
        }
        println!();
        if let Some(r) = &self.raw {
            println!(
                "raw: batch verification (512 per batch) {:.0}/s = {:.2}x single",
                r.batch_verify_per_s,
                r.batch_verify_per_s / r.verify_per_s
            );
        }
        if let Some(i) = &self.ingest {
            print_ingest(i);
        }
        if let Some(a) = &self.api {
            print_api(a);
        }
        if let Some(p) = &self.prop {
            print_propagation(p);
        }
        if let Some(s) = &self.sealing {
            s.table();
        }
        if let Some(a) = &self.announcements {
            a.table();
        }
        if let Some(d) = &self.disk {
            print_disk(d);
        }
        if let Some(r) = &self.records {
            println!(
                "records: {} records of {} serials, one per commit: {:.0} B of redb file per record ({:.2}x its {:.0}-B entry); live {:.0} B/record: {}",
                r.records,
                records::SERIALS,
                r.file,
                r.file / r.raw_entry_bytes,
                r.raw_entry_bytes,
                r.live,
                r.live_by_prefix
            );
        }
        if let Some(s) = &self.statistics {
            println!(
                "statistics: {:.1} ms (median) for a year of {} licenses and as many exits, {} flows (target < 200 ms)",
                s.ms, s.licenses, s.flows
            );
        }
    }

    /// The figures of the table, in order, each with its target if it has one.
    fn rows(&self) -> Vec<Row> {
        let mut rows = self.ingest_rows();
        rows.extend(self.api_and_propagation_rows());
        rows.extend(self.disk_rows());
        rows
    }

    fn ingest_rows(&self) -> Vec<Row> {
        vec![
            Row::plain(
                "raw_verify_per_s",
                self.raw.as_ref().map(|r| r.verify_per_s),
                0,
            ),
            Row::plain(
                "batch_verify_per_s",
                self.raw.as_ref().map(|r| r.batch_verify_per_s),
                0,
            ),
            Row::plain(
                "ingest_per_s",
                self.ingest.as_ref().map(|i| i.clear.per_s),
                0,
            ),
            Row::goal(
                "ingest_ratio_to_raw_verify",
                self.ingest_ratio(),
                2,
                ">= 1.5",
                |r| r >= 1.5,
            ),
            Row::goal(
                "ingest_sealed_party_ratio",
                self.sealed_party_ratio(),
                3,
                ">= 1.2",
                |r| r >= 1.2,
            ),
            Row::goal(
                "ingest_sealed_other_ratio",
                self.sealed_other_ratio(),
                3,
                ">= 1.8",
                |r| r >= 1.8,
            ),
            Row {
                met: self.clear_disk_ratio().map(|r| r <= 1.8),
                target: "<= 1.8 x the clear entry".into(),
                ..Row::plain(
                    "disk_bytes_per_entry_clear_catchup",
                    self.ingest.as_ref().map(|i| i.clear.disk_bytes_per_entry),
                    0,
                )
            },
            Row {
                met: self.sealed_recipient_disk_ratio().map(|r| r <= 2.0),
                target: "<= 2 x sealed_entry_bytes".into(),
                ..Row::plain(
                    "disk_bytes_per_entry_sealed_recipient",
                    self.sealed_recipient_disk(),
                    0,
                )
            },
        ]
    }

    fn api_and_propagation_rows(&self) -> Vec<Row> {
        let api = self.api.as_ref();
        let prop = self.prop.as_ref();
        let vr = api.map(|a| a.verify.per_s() / a.health.per_s());
        vec![
            Row::goal(
                "issue_per_s",
                api.map(|a| a.issue.per_s()),
                0,
                ">= 300",
                |r| r >= 300.0,
            ),
            Row::goal("issue_pkcs11_per_s", self.pkcs11, 0, ">= 300", |r| {
                r >= 300.0
            }),
            Row::plain("verify_api_per_s", api.map(|a| a.verify.per_s()), 0),
            Row::plain("verify_api_p50_ms", api.map(|a| a.verify.p(50.0)), 2),
            Row::goal(
                "verify_api_p99_ms",
                api.map(|a| a.verify.p(99.0)),
                2,
                "< 2",
                |p| p < 2.0,
            ),
            Row::plain("health_per_s", api.map(|a| a.health.per_s()), 0),
            Row::goal("verify_api_ratio_to_health", vr, 3, ">= 0.5", |r| r >= 0.5),
            Row::plain("propagation_p50_ms", prop.map(|p| p.p50_ms), 1),
            Row::goal(
                "propagation_p99_ms",
                prop.map(|p| p.p99_ms),
                1,
                "< 200",
                |p| p < 200.0,
            ),
        ]
    }

    /// The disk figures, then the node's memory and start-up.
    fn disk_rows(&self) -> Vec<Row> {
        let api = self.api.as_ref();
        let disk = self.disk.as_ref();
        let raw_b = disk.map(|d| d.raw_entry_bytes);
        let mut rows = Vec::new();
        for (name, v) in [
            ("disk_bytes_per_entry_redb", disk.map(|d| d.redb)),
            ("disk_bytes_per_entry_sled", disk.map(|d| d.sled)),
            (
                "disk_bytes_per_entry_redb_scattered_serials",
                disk.map(|d| d.redb_scattered),
            ),
        ] {
            // Clear entries appended straight to a store: reported beside
            // the clear entry's size; the target is the recipient's above.
            let ratio = v.zip(raw_b).map(|(v, r)| v / r);
            rows.push(Row {
                target: format!("{:.2} x raw_entry_bytes", ratio.unwrap_or(f64::NAN)),
                ..Row::plain(name, v, 0)
            });
        }
        rows.extend([
            Row::plain("raw_entry_bytes", raw_b, 0),
            Row::goal("rss_mb_at_1m", api.map(|a| a.rss_mb), 1, "<= 150", |m| {
                m <= 150.0
            }),
        ]);
        rows.extend(startup_rows(api));
        rows
    }
}

/// Start-up after a clean stop: at a million licenses in the full run; at
/// 50,000 and 250,000 in the quick run, where the larger may take at most
/// 20% (or 25 ms) more than the smaller.
fn startup_rows(api: Option<&api::Api>) -> Vec<Row> {
    let Some(a) = api else {
        return vec![Row::plain("startup_ms_at_1m", None, 0)];
    };
    let Some(large) = a.startup_large_ms else {
        return vec![Row::goal(
            "startup_ms_at_1m",
            Some(a.startup_ms),
            0,
            "< 500",
            |s| s < 500.0,
        )];
    };
    let small = a.startup_ms;
    vec![
        Row::goal("startup_ms_small", Some(small), 0, "< 500", |s| s < 500.0),
        Row {
            met: Some(large <= (small * 1.2).max(small + 25.0)),
            target: "within 20% (or 25 ms) of small".into(),
            ..Row::plain("startup_ms_large", Some(large), 0)
        },
    ]
}

/// One line of the figures table: a figure, its value, and its target with
/// whether it was met (no target: no verdict).
struct Row {
    name: &'static str,
    value: Option<f64>,
    decimals: usize,
    target: String,
    met: Option<bool>,
}

impl Row {
    fn plain(name: &'static str, value: Option<f64>, decimals: usize) -> Row {
        Row {
            name,
            value,
            decimals,
            target: String::new(),
            met: None,
        }
    }

    /// A figure with a target: met when `meets(value)`.
    fn goal(
        name: &'static str,
        value: Option<f64>,
        decimals: usize,
        target: &str,
        meets: fn(f64) -> bool,
    ) -> Row {
        Row {
            target: target.into(),
            met: value.map(meets),
            ..Row::plain(name, value, decimals)
        }
    }

    fn print(&self) {
        let d = self.decimals;
        let value = self
            .value
            .filter(|x| x.is_finite())
            .map_or("-".to_string(), |x| format!("{x:.d$}"));
        let verdict = match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        println!(
            "{:<28} {value:>12}  {:<26} {verdict}",
            self.name, self.target
        );
    }
}

fn print_ingest(i: &ingest::Ingest) {
    for (name, c) in [
        ("clear", Some(&i.clear)),
        ("sealed to B", i.party.as_ref()),
        ("sealed, not to B", i.other.as_ref()),
    ] {
        if let Some(c) = c {
            println!(
                "ingest ({name}): {} entries of {:.0} B, {:.0}/s; first entry {:.0} ms after node B's start; B's store {:.0} B/entry",
                c.entries, c.entry_bytes, c.per_s, c.first_entry_ms, c.disk_bytes_per_entry
            );
        }
    }
}

fn print_api(a: &api::Api) {
    println!(
        "api: {} licenses ({} entries), built in {:.0} s, {:.0} MB on disk ({:.0} B/entry); start-ups {:?} ms, after kill -9 {:.0} ms",
        a.licenses,
        a.entries,
        a.build_s,
        a.disk_bytes as f64 / 1e6,
        a.disk_bytes as f64 / a.entries as f64,
        a.startup_all_ms
            .iter()
            .map(|x| x.round())
            .collect::<Vec<_>>(),
        a.crash_startup_ms
    );
    println!(
        "api: {} connections; verify x1 (no queueing): {:.0}/s p50 {:.2} ms p99 {:.2} ms; health p50 {:.2} ms p99 {:.2} ms; RSS idle {:.0} MB, after verify {:.0} MB",
        a.conc,
        a.verify_single.per_s(),
        a.verify_single.p(50.0),
        a.verify_single.p(99.0),
        a.health.p(50.0),
        a.health.p(99.0),
        a.rss_idle_mb,
        a.rss_mb
    );
    println!(
        "api: issue x{} (sealed): {:.0}/s p50 {:.2} ms p99 {:.2} ms; node CPU {:.0} µs per issue",
        api::ISSUE_CONCURRENCY,
        a.issue.per_s(),
        a.issue.p(50.0),
        a.issue.p(99.0),
        a.issue.node_cpu_us
    );
    println!(
        "api: CPU per request (node / client): verify {:.0} / {:.0} µs, health {:.0} / {:.0} µs; Checker::check alone {:.1} µs on one thread, {:.0}/s on all cores",
        a.verify.node_cpu_us,
        a.verify.client_cpu_us,
        a.health.node_cpu_us,
        a.health.client_cpu_us,
        a.check_us,
        a.check_all_cores_per_s
    );
}

fn print_propagation(p: &propagation::Propagation) {
    println!(
        "propagation: {} nodes, full mesh up in {:.1} s, {} entries; all nodes max {:.1} ms; per receiving node p50 {:.1} ms p99 {:.1} ms; timeouts {}; bench process RSS {:.0} MB",
        p.nodes,
        p.connect_s,
        p.entries,
        p.max_ms,
        p.each_p50_ms,
        p.each_p99_ms,
        p.timeouts,
        p.rss_mb
    );
}

fn print_disk(d: &disk::Disk) {
    println!(
        "disk: {} entries per engine, 512 per commit; appends/s redb {:.0}, sled {:.0}; one entry per commit: redb {:.0}/s, sled {:.0}/s; live keys+values {:.0} B/entry ({:.2}x raw); redb after compact() {:.0} B/entry ({:.2}x raw); redb with serials from no common run {:.0} B/entry, {:.0} appends/s",
        d.entries,
        d.redb_appends_per_s,
        d.sled_appends_per_s,
        d.redb_single_per_s,
        d.sled_single_per_s,
        d.live,
        d.live / d.raw_entry_bytes,
        d.redb_compacted,
        d.redb_compacted / d.raw_entry_bytes,
        d.redb_scattered,
        d.redb_scattered_appends_per_s
    );
}

fn print_load(a: &Args, l: &load::Load, wall: f64) {
    if a.json {
        println!(
            "{}",
            json!({
                "load_seconds": l.seconds,
                "licenses": l.licenses,
                "verify_connections": l.verify_conc,
                "issue_connections": l.issue_conc,
                "verify_requests": l.verify.lat_ms.len(),
                "verify_per_s": num(Some(l.verify.per_s()), 0),
                "verify_p50_ms": num(Some(l.verify.p(50.0)), 2),
                "verify_p99_ms": num(Some(l.verify.p(99.0)), 2),
                "issue_requests": l.issue.lat_ms.len(),
                "issue_per_s": num(Some(l.issue.per_s()), 0),
                "issue_p50_ms": num(Some(l.issue.p(50.0)), 2),
                "issue_p99_ms": num(Some(l.issue.p(99.0)), 2),
                "status_5xx": l.status_5xx(),
                "status_4xx": l.verify.s4xx + l.issue.s4xx,
                "transport_errors": l.verify.errors + l.issue.errors,
                "rss_mb_samples": l.rss.iter().map(|(t, r)| json!([t, num(Some(*r), 1)])).collect::<Vec<_>>(),
                "rss_growth_second_half_mb": num(Some(l.rss_growth_mb()), 1),
                "store_growth_mb": num(Some(l.store_growth_mb), 1),
                "quick": a.quick,
                "machine": machine(),
            })
        );
        return;
    }
    println!(
        "Tally mixed load{}: {} s against one node holding {} licenses, {wall:.0} s wall",
        if a.quick { " (--quick)" } else { "" },
        l.seconds,
        l.licenses
    );
    for (name, s, c) in [
        ("verify", &l.verify, l.verify_conc),
        ("issue", &l.issue, l.issue_conc),
    ] {
        println!(
            "{name:<7} x{c:<3} {:>8} requests {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  4xx {}  5xx {}  errors {}",
            s.lat_ms.len(),
            s.per_s(),
            s.p(50.0),
            s.p(99.0),
            s.s4xx,
            s.s5xx,
            s.errors
        );
    }
    println!("5xx total: {} (must be 0)", l.status_5xx());
    println!(
        "node RSS every 5 s (MB): {}",
        l.rss
            .iter()
            .map(|(t, r)| format!("{t:.0}s:{r:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "RSS growth over the second half ({:.0} s to end): {:.1} MB; the store grew {:.1} MB during the run",
        l.seconds / 2.0,
        l.rss_growth_mb(),
        l.store_growth_mb
    );
}
