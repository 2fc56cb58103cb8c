//! The HTTP figures, against a node run as a child process (this binary with
//! `--serve DIR`, which is `tally run --dir DIR`), so its RSS and start-up
//! are the node's alone: `verify_api_per_s` and latencies, `health_per_s`,
//! `startup_ms_at_1m`, `rss_mb_at_1m`.

use crate::fixtures::{
    Docs, EXPORTER, IMPORTER, LogWriter, NodeSetup, SERIALS, day, free_port, offline_card,
    percentile, rss_mb, temp_root,
};
use crate::progress;
use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_model::{AuthorityKey, Document};

pub const AUTHORITY: &str = "US-BENCH";
pub const IC_AUTHORITY: &str = "MX-SEDENA";

/// A node directory whose store holds `n` export licenses of its own
/// authority and the import certificates (of a trusted, offline MX
/// authority) that cover them, built directly with `Store::append_batch`.
pub struct BigNode {
    pub root: tempfile::TempDir,
    pub setup: NodeSetup,
    pub licenses: u64,
    pub entries: u64,
    pub api: String,
    pub officer: String,
    pub issuer: String,
    pub disk_bytes: u64,
    pub build_s: f64,
}

pub fn build(n: u64) -> anyhow::Result<BigNode> {
    let started = Instant::now();
    let root = temp_root("tally-bench-api-")?;
    let port = free_port()?;
    let api = format!("127.0.0.1:{port}");
    let setup = NodeSetup::init_with(&root.path().join("node"), AUTHORITY, &api)?;
    let ic_key = AuthorityKey::from_bytes(&rand::random());
    // With an encryption key on its card, MX-SEDENA is a recipient of the
    // export licenses issued through the API (they are sealed to it).
    let mut ic_card = offline_card(IC_AUTHORITY, &ic_key);
    ic_card.encryption_keys.push(tally_model::CardKey {
        public_key: tally_model::seal::EncryptionSecret::from_bytes([0x2B; 32])
            .public()
            .to_hex(),
        valid_from_ms: 0,
        valid_until_ms: None,
        retired_after_seq: None,
        compromised_after_seq: None,
    });
    setup.trust([ic_card])?;
    let officer = setup.token(tally_api::Role::Officer)?;
    let issuer = setup.token(tally_api::Role::Issuer)?;
    let docs = Docs::new();
    let store = setup.open_store()?;
    // Certificates for the fill's exports, then `ISSUE_ICS` more for the
    // licenses issued through the API: an export is issued only against a
    // certificate the node holds with quantity left (linkage at issue).
    let ics = n.div_ceil(crate::fixtures::EXPORTS_PER_IC) + ISSUE_ICS;
    progress!("api: building a store of {n} licenses (+{ics} import certificates)");
    let mut w = LogWriter::new(IC_AUTHORITY, ic_key);
    crate::fixtures::fill(&store, &mut w, ics, 4096, "import certificates", |k| {
        Document::License(docs.import(k))
    })?;
    let mut w = LogWriter::new(AUTHORITY, setup.authority_key()?);
    crate::fixtures::fill(&store, &mut w, n, 4096, "export licenses", |i| {
        Document::License(docs.export(i, IC_AUTHORITY))
    })?;
    let entries = store.entry_count()?;
    drop(store);
    let disk_bytes = crate::fixtures::dir_bytes(&setup.settings.store_path);
    Ok(BigNode {
        root,
        setup,
        licenses: n,
        entries,
        api: format!("http://{api}"),
        officer,
        issuer,
        disk_bytes,
        build_s: started.elapsed().as_secs_f64(),
    })
}

/// CPU time (user + system) of a process so far, in ms (/proc/PID/stat).
pub fn cpu_ms(pid: Option<u32>) -> f64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".into(),
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return f64::NAN;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
    (ticks(11) + ticks(12)) * 10.0
}

/// `Checker::check` in this process over the built store: the part of a
/// verify request that is the rules and the store reads. Returns µs per
/// call on one thread, and calls per second on one thread and on every core
/// (how well the reads scale).
pub fn check_in_process(node: &BigNode, requests: usize) -> anyhow::Result<(f64, f64, f64)> {
    use std::sync::RwLock;
    let store = node.setup.open_store()?;
    let trust = tally_node::files::read_trust(&node.setup.dir.join("trust.toml"))?;
    let v = tally_verify::Verifier::builder(store, AUTHORITY.parse()?, node.setup.authority_key()?)
        .trust(Arc::new(RwLock::new(trust)))
        .publish(Box::new(tally_verify::NoPublish))
        .build();
    let make = verify_body(node);
    let mut seed = 0x1234_5678_9ABC_DEF1u64;
    let mut reqs = |n: usize| -> anyhow::Result<Vec<tally_verify::CheckRequest>> {
        Ok((0..n)
            .map(|_| serde_json::from_value(make(xorshift(&mut seed))))
            .collect::<Result<_, _>>()?)
    };
    let run = |reqs: Vec<tally_verify::CheckRequest>| -> anyhow::Result<usize> {
        let mut accepted = 0;
        for r in reqs {
            accepted += usize::from(v.checker().check(r)?.verdict.accepted());
        }
        Ok(accepted)
    };
    let one = reqs(requests)?;
    let t = Instant::now();
    let accepted = run(one)?;
    let single = t.elapsed().as_secs_f64();
    if accepted != requests {
        bail!("in-process checks: {accepted} of {requests} accepted");
    }
    let threads = crate::fixtures::cores();
    let sets: Vec<_> = (0..threads)
        .map(|_| reqs(requests / threads))
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    std::thread::scope(|s| {
        let hs: Vec<_> = sets.into_iter().map(|set| s.spawn(|| run(set))).collect();
        hs.into_iter()
            .try_for_each(|h| h.join().expect("check thread").map(|_| ()))
    })?;
    let all = t.elapsed().as_secs_f64();
    let per = requests / threads * threads;
    Ok((
        single * 1e6 / requests as f64,
        requests as f64 / single,
        per as f64 / all,
    ))
}

/// A node running as a child process.
pub struct NodeProcess {
    child: Child,
}

impl NodeProcess {
    pub fn spawn(dir: &Path) -> anyhow::Result<NodeProcess> {
        let exe = std::env::current_exe()?;
        let child = Command::new(exe)
            .arg("--serve")
            .arg(dir)
            .env(
                "TALLY_LOG",
                std::env::var("TALLY_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning the node process")?;
        Ok(NodeProcess { child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: a crash.
    pub fn crash(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM (a clean shutdown, as `tally run` does), then waits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("the node did not stop within 30 s of SIGTERM")
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the node and waits for `GET /v1/health`; returns it with the
/// milliseconds from spawn to the first 200.
pub async fn start(node: &BigNode) -> anyhow::Result<(NodeProcess, f64)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let t = Instant::now();
    let p = NodeProcess::spawn(&node.setup.dir)?;
    let url = format!("{}/v1/health", node.api);
    loop {
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            return Ok((p, t.elapsed().as_secs_f64() * 1000.0));
        }
        if t.elapsed() > Duration::from_secs(120) {
            bail!("the node did not answer /v1/health within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Waits until the node's background store check (every chain, signature
/// and record, started with the node) has gone to the end, so that it does
/// not share the cores with what is timed next; returns how long it took.
pub async fn check_finished(node: &BigNode) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let t = Instant::now();
    let url = format!("{}/v1/status", node.api);
    loop {
        if let Ok(r) = client.get(&url).bearer_auth(&node.officer).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            match v["store"]["check"].as_str() {
                Some("sound") => return Ok(t.elapsed().as_secs_f64() * 1000.0),
                Some("running") => {}
                _ => bail!("the node's store is not ok: {}", v["store"]),
            }
        }
        if t.elapsed() > Duration::from_secs(600) {
            bail!("the node's background store check did not finish within 600 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What concurrent clients measured.
#[derive(Default, Debug)]
pub struct Stats {
    pub lat_ms: Vec<f64>,
    pub ok: u64,
    pub s4xx: u64,
    pub s5xx: u64,
    pub errors: u64,
    /// 2xx answers whose body contains `"verdict":"accept"`.
    pub accepted: u64,
    pub seconds: f64,
    /// CPU of the node process per recorded request, µs (when measured).
    pub node_cpu_us: f64,
    /// CPU of this (client) process per recorded request, µs.
    pub client_cpu_us: f64,
}

impl Stats {
    pub fn per_s(&self) -> f64 {
        self.lat_ms.len() as f64 / self.seconds
    }
    pub fn p(&self, p: f64) -> f64 {
        percentile(&self.lat_ms, p)
    }
    fn merge(&mut self, o: Stats) {
        self.lat_ms.extend(o.lat_ms);
        self.ok += o.ok;
        self.s4xx += o.s4xx;
        self.s5xx += o.s5xx;
        self.errors += o.errors;
        self.accepted += o.accepted;
    }
}

pub type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// `conc` connections (one task each, keep-alive) send requests back to back
/// for `warmup + span`; only the last `span` is recorded.
pub async fn hammer(
    client: &reqwest::Client,
    conc: usize,
    warmup: Duration,
    span: Duration,
    make: MakeRequest,
) -> Stats {
    let start = Instant::now();
    let record_from = start + warmup;
    let end = record_from + span;
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..conc {
        let client = client.clone();
        let make = make.clone();
        tasks.spawn(async move {
            let mut s = Stats::default();
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ ((t as u64 + 1) * 0x2545_F491_4F6C_DD1D);
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let rb = make(&client, xorshift(&mut seed));
                let t0 = Instant::now();
                let outcome = match rb.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.bytes().await {
                            Ok(body) => Some((status, body)),
                            Err(_) => None,
                        }
                    }
                    Err(_) => None,
                };
                let done = Instant::now();
                if t0 < record_from {
                    continue;
                }
                if done > end {
                    break;
                }
                s.lat_ms.push((done - t0).as_secs_f64() * 1000.0);
                match outcome {
                    Some((st, body)) if st.is_success() => {
                        s.ok += 1;
                        if contains(&body, br#""verdict":"accept""#) {
                            s.accepted += 1;
                        }
                    }
                    Some((st, _)) if st.is_server_error() => s.s5xx += 1,
                    Some(_) => s.s4xx += 1,
                    None => s.errors += 1,
                }
            }
            s
        });
    }
    let mut all = Stats::default();
    while let Some(r) = tasks.join_next().await {
        if let Ok(s) = r {
            all.merge(s);
        }
    }
    all.seconds = span.as_secs_f64();
    all.lat_ms.sort_by(f64::total_cmp);
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `POST /v1/shipments/verify` of a random license of `node`: an exit at a
/// US port of one pistol (with its serial) and 100 cartridges; every rule
/// passes, nothing is recorded.
pub fn verify_request(node: &BigNode) -> MakeRequest {
    let url = format!("{}/v1/shipments/verify", node.api);
    let token = node.officer.clone();
    let body = verify_body(node);
    Arc::new(move |c: &reqwest::Client, r: u64| c.post(&url).bearer_auth(&token).json(&body(r)))
}

fn verify_body(node: &BigNode) -> impl Fn(u64) -> serde_json::Value + Send + Sync + 'static {
    let n = node.licenses;
    let date = day(0);
    move |r: u64| {
        let i = r % n;
        serde_json::json!({
            "license": {"authority": AUTHORITY, "number": Docs::export_number(i)},
            "checkpoint": {"country": "US", "port": "USLAX", "direction": "exit"},
            "date": date, "exporter": EXPORTER, "importer": IMPORTER,
            "items": [{"line": 1, "quantity": 1, "serials": [Docs::serial(i, (r >> 32) % SERIALS)]},
                      {"line": 2, "quantity": 100}],
            "record": false
        })
    }
}

pub fn health_request(node: &BigNode) -> MakeRequest {
    let url = format!("{}/v1/health", node.api);
    Arc::new(move |c: &reqwest::Client, _| c.get(&url))
}

pub fn client(conc: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(conc * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

pub struct Api {
    pub licenses: u64,
    pub entries: u64,
    pub build_s: f64,
    pub disk_bytes: u64,
    pub startup_ms: f64,
    pub startup_all_ms: Vec<f64>,
    /// Quick run: the start-up of a node of `startup::LARGE` licenses
    /// (set by `main`, after this bench).
    pub startup_large_ms: Option<f64>,
    pub rss_idle_mb: f64,
    pub rss_mb: f64,
    pub conc: usize,
    pub verify: Stats,
    pub health: Stats,
    /// One connection: the latency without queueing.
    pub verify_single: Stats,
    /// `Checker::check` alone, in process, one thread, µs per call.
    pub check_us: f64,
    /// `Checker::check` alone, in process, calls/s on every core.
    pub check_all_cores_per_s: f64,
    /// Start-up after the node was killed with SIGKILL.
    pub crash_startup_ms: f64,
    /// `POST /v1/licenses` of export licenses sealed to the issuer and
    /// MX-SEDENA, each a durable commit, over `ISSUE_CONCURRENCY` connections.
    pub issue: Stats,
}

pub const ISSUE_CONCURRENCY: usize = 4;

/// Import certificates kept for the licenses issued through the API, each
/// cited by `ISSUE_EXPORTS_PER_IC` of them (a certificate is cited by a few
/// export licenses in practice; issuing sums what the others took).
pub const ISSUE_ICS: u64 = 2_000;
pub const ISSUE_EXPORTS_PER_IC: u64 = 10;

/// `POST /v1/licenses` of a new export license (numbers `ISSUE-{i}`, `i`
/// from `from`; new serials), as `--load` issues them.
pub fn issue_request(node: &BigNode, from: u64) -> MakeRequest {
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = Arc::new(AtomicU64::new(from));
    let url = format!("{}/v1/licenses", node.api);
    let token = node.issuer.clone();
    let docs = Arc::new(Docs::new());
    let n = node.licenses;
    let first_issue_ic = n.div_ceil(crate::fixtures::EXPORTS_PER_IC);
    Arc::new(move |c: &reqwest::Client, _| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let mut body = serde_json::to_value(docs.export(n + i, IC_AUTHORITY)).expect("json");
        body["number"] = serde_json::json!(format!("ISSUE-{i}"));
        let ic = first_issue_ic + (i / ISSUE_EXPORTS_PER_IC) % ISSUE_ICS;
        body["import_certificate"]["number"] = serde_json::json!(format!("IC-{ic:07}"));
        c.post(&url).bearer_auth(&token).json(&body)
    })
}

pub const CONCURRENCY: usize = 16;

/// [`hammer`], also measuring the CPU the node (`pid`) and this process
/// spend per request over the recorded span.
async fn hammer_cpu(
    client: &reqwest::Client,
    conc: usize,
    warmup: Duration,
    span: Duration,
    make: MakeRequest,
    pid: u32,
) -> Stats {
    let c = client.clone();
    let probe = tokio::spawn(async move {
        tokio::time::sleep(warmup).await;
        (cpu_ms(Some(pid)), cpu_ms(None))
    });
    let mut s = hammer(&c, conc, warmup, span, make).await;
    let (node0, me0) = probe.await.unwrap_or((f64::NAN, f64::NAN));
    let n = s.lat_ms.len().max(1) as f64;
    s.node_cpu_us = (cpu_ms(Some(pid)) - node0) * 1000.0 / n;
    s.client_cpu_us = (cpu_ms(None) - me0) * 1000.0 / n;
    s
}

pub async fn run(quick: bool) -> anyhow::Result<Api> {
    let n: u64 = if quick { 50_000 } else { 1_000_000 };
    let node = tokio::task::block_in_place(|| build(n))?;
    progress!(
        "api: store of {} entries built in {:.1} s, {:.0} MB on disk",
        node.entries,
        node.build_s,
        node.disk_bytes as f64 / 1e6
    );
    let (check_us, check_1, check_n) =
        tokio::task::block_in_place(|| check_in_process(&node, 20_000))?;
    progress!(
        "api: Checker::check in process: {check_us:.1} µs per call; {check_1:.0}/s on one thread, {check_n:.0}/s on {} threads",
        crate::fixtures::cores()
    );
    let (p, startups) = start_ups(&node).await?;
    let mut sorted = startups.clone();
    sorted.sort_by(f64::total_cmp);
    let startup_ms = sorted[1];
    let check_ms = check_finished(&node).await?;
    progress!(
        "api: the background store check finished {:.1} s after the last start-up",
        check_ms / 1000.0
    );
    let rss_idle_mb = rss_mb(Some(p.pid())).unwrap_or(f64::NAN);

    let load = Hammer {
        client: client(CONCURRENCY)?,
        span: Duration::from_secs(if quick { 5 } else { 15 }),
        warm: Duration::from_secs(2),
        pid: p.pid(),
    };
    let (verify_single, verify, rss) = load.verify(&node).await?;
    let health = load.health(&node).await;
    let issue = load.issue(&node).await?;
    // Start-up after a crash: redb recovers its allocator state first.
    tokio::task::block_in_place(|| p.crash())?;
    let (p, crash_startup_ms) = start(&node).await?;
    progress!("api: start-up after kill -9: /v1/health answered after {crash_startup_ms:.0} ms");
    tokio::task::block_in_place(|| p.stop())?;
    drop(node.root);
    Ok(Api {
        licenses: node.licenses,
        entries: node.entries,
        build_s: node.build_s,
        disk_bytes: node.disk_bytes,
        startup_ms,
        startup_all_ms: startups,
        startup_large_ms: None,
        rss_idle_mb,
        rss_mb: rss,
        conc: CONCURRENCY,
        verify,
        health,
        verify_single,
        check_us,
        check_all_cores_per_s: check_n,
        crash_startup_ms,
        issue,
    })
}

/// Three start-ups of the node: the first two stopped cleanly, the last
/// left running. Returns it and the milliseconds each took to answer.
pub async fn start_ups(node: &BigNode) -> anyhow::Result<(NodeProcess, Vec<f64>)> {
    let mut startups = Vec::new();
    let mut running = None;
    for i in 0..3 {
        let (p, ms) = start(node).await?;
        progress!(
            "api: start-up {} of 3: /v1/health answered after {ms:.0} ms",
            i + 1
        );
        startups.push(ms);
        if i < 2 {
            tokio::task::block_in_place(|| p.stop())?;
        } else {
            running = Some(p);
        }
    }
    Ok((running.expect("started"), startups))
}

/// How the HTTP figures load the running node (`pid`): one client, each
/// measurement `warm` then `span` long.
struct Hammer {
    client: reqwest::Client,
    span: Duration,
    warm: Duration,
    pid: u32,
}

impl Hammer {
    async fn measure(&self, conc: usize, make: MakeRequest) -> Stats {
        hammer_cpu(&self.client, conc, self.warm, self.span, make, self.pid).await
    }

    /// Verify over one connection (the latency without queueing), then
    /// over [`CONCURRENCY`], and the node's RSS right after; every answer
    /// must be an accept.
    async fn verify(&self, node: &BigNode) -> anyhow::Result<(Stats, Stats, f64)> {
        let conc = CONCURRENCY;
        progress!("api: verify, 1 connection, {}s", self.span.as_secs());
        let verify_single = self.measure(1, verify_request(node)).await;
        progress!(
            "api: verify x1: {:.0}/s p50 {:.2} ms p99 {:.2} ms",
            verify_single.per_s(),
            verify_single.p(50.0),
            verify_single.p(99.0)
        );
        progress!("api: verify, {conc} connections, {}s", self.span.as_secs());
        let verify = self.measure(conc, verify_request(node)).await;
        let rss = rss_mb(Some(self.pid)).unwrap_or(f64::NAN);
        progress!(
            "api: verify x{conc}: {:.0}/s p50 {:.2} ms p99 {:.2} ms ({} accepted of {}, {} 4xx, {} 5xx, {} errors); node RSS {rss:.0} MB; CPU per request: node {:.0} µs, client {:.0} µs",
            verify.per_s(),
            verify.p(50.0),
            verify.p(99.0),
            verify.accepted,
            verify.lat_ms.len(),
            verify.s4xx,
            verify.s5xx,
            verify.errors,
            verify.node_cpu_us,
            verify.client_cpu_us
        );
        if verify.accepted != verify.ok || verify.ok == 0 {
            bail!(
                "verify answers were not all accept ({} of {}): the benchmark's fixtures are wrong",
                verify.accepted,
                verify.ok
            );
        }
        Ok((verify_single, verify, rss))
    }

    async fn health(&self, node: &BigNode) -> Stats {
        let conc = CONCURRENCY;
        progress!("api: health, {conc} connections, {}s", self.span.as_secs());
        let health = self.measure(conc, health_request(node)).await;
        progress!(
            "api: health x{conc}: {:.0}/s p50 {:.2} ms p99 {:.2} ms; CPU per request: node {:.0} µs, client {:.0} µs",
            health.per_s(),
            health.p(50.0),
            health.p(99.0),
            health.node_cpu_us,
            health.client_cpu_us
        );
        health
    }

    /// Issue over [`ISSUE_CONCURRENCY`] connections, after one request
    /// that checks the license is sealed to MX-SEDENA; every answer must
    /// be a 201.
    async fn issue(&self, node: &BigNode) -> anyhow::Result<Stats> {
        let probe = issue_request(node, 0);
        let first = probe(&self.client, 0).send().await?;
        let status = first.status();
        let text = first.text().await?;
        let sealed_to: Vec<String> = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| serde_json::from_value(v["recipients"].clone()).ok())
            .unwrap_or_default();
        if !status.is_success() || !sealed_to.iter().any(|r| r == IC_AUTHORITY) {
            bail!("POST /v1/licenses: {status}, not sealed to {IC_AUTHORITY}: {text}");
        }
        progress!(
            "api: issue, {ISSUE_CONCURRENCY} connections, {}s (sealed to {sealed_to:?})",
            self.span.as_secs()
        );
        let issue = self
            .measure(ISSUE_CONCURRENCY, issue_request(node, 1))
            .await;
        progress!(
            "api: issue x{ISSUE_CONCURRENCY}: {:.0}/s p50 {:.2} ms p99 {:.2} ms ({} 4xx, {} 5xx, {} errors); CPU per request: node {:.0} µs, client {:.0} µs",
            issue.per_s(),
            issue.p(50.0),
            issue.p(99.0),
            issue.s4xx,
            issue.s5xx,
            issue.errors,
            issue.node_cpu_us,
            issue.client_cpu_us
        );
        if issue.ok == 0 || issue.s4xx + issue.s5xx + issue.errors > 0 {
            bail!(
                "issue answers were not all 201 ({} of {})",
                issue.ok,
                issue.lat_ms.len()
            );
        }
        Ok(issue)
    }
}
