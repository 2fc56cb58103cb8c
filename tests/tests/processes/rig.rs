//! Real `tally` processes in temporary directories: the binary, `init`,
//! `trust`, `token`, `run`, SIGTERM and SIGKILL, and the HTTP calls the tests make.

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a process may take to answer `/v1/health` after `tally run`.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an HTTP request may take before it counts as failed.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two looks at a condition.
const POLL: Duration = Duration::from_millis(50);

/// The `tally` binary of this build, built at most once per test process.
///
/// `env!("CARGO_BIN_EXE_tally")` exists only inside tally-node's own tests, so
/// the binary is found next to this test executable (`target/<profile>/deps/
/// processes-*` -> `target/<profile>/tally`). When it is missing or older than
/// a source it is built from, it is built through cargo. Concurrent test
/// processes (nextest runs one per test) are serialized by cargo's own file
/// lock on the build directory; the `OnceLock` makes it once per process.
pub fn tally_bin() -> Result<&'static Path> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| build().map_err(|e| format!("{e:#}")))
        .as_deref()
        .map_err(|e| anyhow!("cannot build the tally binary: {e}"))
}

/// What the `tally` binary is built from (docs/ARCHITECTURE.md), relative to the workspace.
const SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "node",
    "proto",
    "crates/model",
    "crates/store",
    "crates/p2p",
    "crates/verify",
    "crates/api",
];

/// The newest modification time under `path`, skipping the packages' own
/// tests, benches and examples (they do not go into the binary).
fn newest(path: &Path) -> std::io::Result<std::time::SystemTime> {
    let meta = std::fs::metadata(path)?;
    let mut t = meta.modified()?;
    if meta.is_dir() {
        for e in std::fs::read_dir(path)? {
            let e = e?;
            let name = e.file_name();
            if matches!(
                name.to_str(),
                Some("tests" | "benches" | "examples" | "target")
            ) {
                continue;
            }
            t = t.max(newest(&e.path())?);
        }
    }
    Ok(t)
}

fn build() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("the test executable is not under target/<profile>/deps")?;
    let target_dir = profile_dir
        .parent()
        .context("the profile directory has no parent")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => bail!("odd profile directory {}", profile_dir.display()),
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("tests/ has a parent")?;
    let bin = profile_dir.join("tally");
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let mut sources = std::time::SystemTime::UNIX_EPOCH;
    for s in SOURCES {
        sources = sources.max(newest(&workspace.join(s))?);
    }
    if built.is_some_and(|b| b >= sources) {
        return Ok(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    // Selecting tally-tests too resolves features as `cargo nextest run -p
    // tally-tests` does, so the shared dependencies are not rebuilt.
    let out = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "-p",
            "tally-tests",
            "-p",
            "tally-node",
            "--bin",
            "tally",
        ])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .context("running cargo build")?;
    ensure!(
        out.status.success(),
        "cargo build -p tally-node failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(bin.exists(), "cargo built no {}", bin.display());
    eprintln!(
        "built {} in {:.1}s",
        bin.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(bin)
}

/// Runs `tally ARGS` to completion.
pub fn tally(args: &[&str]) -> Result<Output> {
    let out = Command::new(tally_bin()?)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running tally {}", args.join(" ")))?;
    Ok(out)
}

/// Runs `tally init` for `authority` in `dir` (p2p on a free loopback port,
/// the API on `api`), with `extra` arguments after them.
pub fn tally_init(dir: &Path, authority: &str, api: &str, extra: &[&str]) -> Result<Output> {
    let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let mut args = vec![
        "init",
        "--dir",
        path_str(dir)?,
        "--authority",
        authority,
        "--name",
        "Test authority",
        "--p2p-listen",
        &p2p,
        "--api-listen",
        api,
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

/// Runs `tally ARGS` and insists on success; returns stdout.
pub fn tally_ok(args: &[&str]) -> Result<String> {
    let out = tally(args)?;
    ensure!(
        out.status.success(),
        "tally {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A free loopback port, never the same twice in one test process. Chosen
/// below Linux's ephemeral range (32768+), so the nodes' many outgoing
/// connections cannot take it between this check and the node's bind;
/// random, so parallel test processes rarely pick the same.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = rand::random_range(20_000..32_000);
        let mut given = lock(&GIVEN);
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
}

/// Polls `probe` until it returns `Ok`, for at most `timeout`. An `Err` means
/// "not yet"; the last one is reported when time runs out.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Result<T>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(e) if start.elapsed() >= timeout => {
                return Err(e.context(format!("timed out after {timeout:?} waiting for {what}")));
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// A log head as `/v1/status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

/// Authority -> head, for every log a node holds.
pub type Heads = BTreeMap<String, Head>;

/// One row of `GET /v1/log/{authority}`.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub seq: u64,
    pub hash: String,
    pub prev: Option<String>,
}

/// A node's HTTP API with its admin and issuer tokens; cheap to clone into tasks.
#[derive(Clone)]
pub struct Api {
    pub authority: String,
    pub base: String,
    admin_token: String,
    issuer_token: String,
    http: reqwest::Client,
}

/// One node directory and, while it runs, its `tally run` child. Derefs to its [`Api`].
pub struct Proc {
    pub api: Api,
    pub dir: PathBuf,
    pub peer_id: String,
    pub card: PathBuf,
    pub p2p_port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Api {
    /// The issuer token (for a CLI command the test runs).
    pub fn issuer_token(&self) -> &str {
        &self.issuer_token
    }
}

impl std::ops::Deref for Proc {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Proc {
    /// `tally init --json` in `root/<authority>` on fresh ports, with a
    /// faster sync and watch cadence, plus an issuer token.
    pub fn init(root: &Path, authority: &str) -> Result<Proc> {
        Proc::init_at(
            root.join(authority),
            root.join(format!("{authority}.log")),
            authority,
        )
    }

    /// [`Proc::init`] in `dir`, with its process output appended to `log`
    /// (kept apart when `dir` is on a file system the test fills).
    pub fn init_at(dir: PathBuf, log: PathBuf, authority: &str) -> Result<Proc> {
        let (p2p_port, api_port) = (free_port(), free_port());
        let p2p = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
        let api = format!("127.0.0.1:{api_port}");
        let out = tally_ok(&[
            "init",
            "--dir",
            path_str(&dir)?,
            "--authority",
            authority,
            "--name",
            &format!("{authority} licensing authority"),
            "--p2p-listen",
            &p2p,
            "--api-listen",
            &api,
            "--json",
        ])?;
        let init: Value = serde_json::from_str(out.trim())
            .with_context(|| format!("init --json printed {out:?}"))?;
        let field = |k: &str| -> Result<String> {
            init[k]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("init --json has no {k:?}: {init}"))
        };
        ensure!(field("authority")? == authority, "init --json: {init}");
        tune_config(&dir.join("tally.toml"))?;
        let issuer = tally_ok(&[
            "token",
            "create",
            "--dir",
            path_str(&dir)?,
            "--role",
            "issuer",
            "--label",
            "processes test",
            "--json",
        ])?;
        let issuer: Value = serde_json::from_str(issuer.trim())?;
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .no_proxy()
            .build()?;
        let api = Api {
            authority: authority.to_owned(),
            base: field("api")?,
            admin_token: field("admin_token")?,
            issuer_token: issuer["token"]
                .as_str()
                .context("token create --json has no token")?
                .to_owned(),
            http,
        };
        Ok(Proc {
            api,
            peer_id: field("peer_id")?,
            card: PathBuf::from(field("card")?),
            p2p_port,
            log,
            dir,
            child: None,
        })
    }

    pub fn p2p_addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.p2p_port)
    }

    /// `tally trust add --dir SELF CARD`.
    pub fn trust_card(&self, card: &Path) -> Result<()> {
        tally_ok(&[
            "trust",
            "add",
            "--dir",
            path_str(&self.dir)?,
            path_str(card)?,
        ])
        .map(drop)
    }

    pub fn trust(&self, other: &Proc) -> Result<()> {
        self.trust_card(&other.card)
    }

    /// `tally trust remove --dir SELF ID`.
    pub fn untrust(&self, authority: &str) -> Result<()> {
        tally_ok(&["trust", "remove", "--dir", path_str(&self.dir)?, authority]).map(drop)
    }

    /// `tally run` as a child (output appended to the node's log file), then
    /// waits for `/v1/health`.
    pub async fn start(&mut self) -> Result<()> {
        self.launch(true).await
    }

    /// Starts `tally run` and waits until `/v1/health` answers at all
    /// (200, or 503 degraded).
    pub async fn start_answering(&mut self) -> Result<()> {
        self.launch(false).await
    }

    async fn launch(&mut self, healthy: bool) -> Result<()> {
        ensure!(
            self.child.is_none(),
            "{} is already running",
            self.authority
        );
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = Command::new(tally_bin()?)
            .args(["run", "--dir"])
            .arg(&self.dir)
            .env("NO_COLOR", "1")
            .env(
                "TALLY_LOG",
                std::env::var("TALLY_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("spawning tally run")?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                bail!("{} exited at start-up ({status})", self.authority);
            }
            let up = if healthy {
                self.health().await.is_ok()
            } else {
                self.health_answer().await.is_ok()
            };
            if up {
                return Ok(());
            }
            ensure!(
                started.elapsed() < START_TIMEOUT,
                "{} did not answer /v1/health within {START_TIMEOUT:?}",
                self.authority
            );
            tokio::time::sleep(POLL).await;
        }
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGTERM, then waits up to `within` for the exit status.
    pub async fn sigterm(&mut self, within: Duration) -> Result<ExitStatus> {
        let pid = self.pid().context("not running")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .context("running kill -TERM")?;
        ensure!(status.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        loop {
            let child = self.child.as_mut().context("not running")?;
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            ensure!(
                started.elapsed() < within,
                "{} still running {within:?} after SIGTERM",
                self.authority
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (`Child::kill`) and reap.
    pub fn sigkill(&mut self) -> Result<()> {
        let mut child = self.child.take().context("not running")?;
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn health(&self) -> Result<()> {
        let r = self.http.get(self.url("/v1/health")).send().await?;
        ensure!(r.status().is_success(), "health: {}", r.status());
        Ok(())
    }

    /// `GET /v1/health`: its status and body, whatever they are.
    pub async fn health_answer(&self) -> Result<(u16, Value)> {
        let r = self.http.get(self.url("/v1/health")).send().await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// GET with the admin token (which includes officer); insists on 200.
    pub async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// A request with the admin token, whatever the answer: (status, JSON
    /// body or null).
    pub async fn answer(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request
            .send()
            .await
            .with_context(|| format!("{method} {path} on {}", self.authority))?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// POST with the admin token; insists on 200.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(&self.admin_token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request
            .send()
            .await
            .with_context(|| format!("{method} {path} on {}", self.authority))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        ensure!(
            status.as_u16() == 200,
            "{method} {path} on {}: {status} {body}",
            self.authority
        );
        Ok(body)
    }

    pub async fn metrics(&self) -> Result<String> {
        Ok(self
            .http
            .get(self.url("/metrics"))
            .send()
            .await?
            .text()
            .await?)
    }

    /// The value of one sample of `/metrics` (e.g.
    /// `tally_entries_total{source="gossip",outcome="rejected"}`); 0 when absent.
    pub async fn metric(&self, sample: &str) -> Result<f64> {
        let text = self.metrics().await?;
        Ok(text
            .lines()
            .find_map(|l| {
                l.strip_prefix(sample)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0.0))
    }

    /// `POST /v1/licenses` with the issuer token, whatever the answer: (status, body).
    pub async fn try_issue(&self, document: &Value) -> Result<(u16, Value)> {
        let r = self
            .http
            .post(self.url("/v1/licenses"))
            .bearer_auth(&self.issuer_token)
            .json(document)
            .send()
            .await
            .with_context(|| format!("POST /v1/licenses on {}", self.authority))?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// `POST /v1/licenses` with the issuer token; returns the new entry's (seq, hash).
    pub async fn issue(&self, document: &Value) -> Result<Head> {
        let r = self
            .http
            .post(self.url("/v1/licenses"))
            .bearer_auth(&self.issuer_token)
            .json(document)
            .send()
            .await
            .with_context(|| format!("POST /v1/licenses on {}", self.authority))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        ensure!(
            status.as_u16() == 201,
            "POST /v1/licenses on {}: {status} {body}",
            self.authority
        );
        entry_pointer(&body["entry"])
    }

    /// The heads of every log, from `/v1/status`.
    pub async fn heads(&self) -> Result<Heads> {
        let status = self.get("/v1/status").await?;
        let logs = status["logs"].as_array().context("status without logs")?;
        logs.iter()
            .map(|l| {
                let authority = l["authority"].as_str().context("log authority")?;
                let seq = l["seq"].as_u64().context("log seq")?;
                let hash = l["head"].as_str().context("log head")?;
                Ok((
                    authority.to_owned(),
                    Head {
                        seq,
                        hash: hash.to_owned(),
                    },
                ))
            })
            .collect()
    }

    /// Peer id -> connected, from `/v1/status`.
    pub async fn peers(&self) -> Result<BTreeMap<String, bool>> {
        let status = self.get("/v1/status").await?;
        let peers = status["peers"].as_array().context("status without peers")?;
        Ok(peers
            .iter()
            .filter_map(|p| Some((p["peer_id"].as_str()?.to_owned(), p["connected"].as_bool()?)))
            .collect())
    }

    /// The whole log of `authority` (paged through `GET /v1/log`).
    pub async fn log(&self, authority: &str) -> Result<Vec<LogRow>> {
        let mut rows = Vec::new();
        loop {
            let from = rows.len() + 1;
            let page = self
                .get(&format!("/v1/log/{authority}?from={from}&limit=1000"))
                .await?;
            let page = page.as_array().context("log is not a list")?;
            for r in page {
                rows.push(LogRow {
                    seq: r["seq"].as_u64().context("log row seq")?,
                    hash: r["hash"].as_str().context("log row hash")?.to_owned(),
                    prev: r["prev"].as_str().map(str::to_owned),
                });
            }
            if page.len() < 1000 {
                return Ok(rows);
            }
        }
    }

    pub async fn evidence(&self) -> Result<Vec<Value>> {
        let v = self.get("/v1/evidence").await?;
        Ok(v.as_array().context("evidence is not a list")?.clone())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `{"seq", "hash"}` as a [`Head`].
pub fn entry_pointer(v: &Value) -> Result<Head> {
    Ok(Head {
        seq: v["seq"]
            .as_u64()
            .with_context(|| format!("no seq in {v}"))?,
        hash: v["hash"]
            .as_str()
            .with_context(|| format!("no hash in {v}"))?
            .to_owned(),
    })
}

/// Checks that `rows` is a whole chain: seq 1, 2, 3 ... and each `prev` is
/// the hash before it (none for seq 1).
pub fn check_chain(authority: &str, rows: &[LogRow]) -> Result<()> {
    let mut prev: Option<&str> = None;
    for (i, r) in rows.iter().enumerate() {
        ensure!(
            r.seq == i as u64 + 1,
            "{authority}: row {i} has seq {}",
            r.seq
        );
        ensure!(
            r.prev.as_deref() == prev,
            "{authority} seq {}: prev {:?}, but the entry before is {prev:?}",
            r.seq,
            r.prev
        );
        prev = Some(&r.hash);
    }
    Ok(())
}

/// Shorter sync and watch cadences and redial backoff, so the tests run in
/// seconds rather than minutes (the defaults suit a real network), and
/// per-token rate limits far above what the tests issue and record.
fn tune_config(path: &Path) -> Result<()> {
    let text = std::fs::read_to_string(path)?;
    let mut seen = 0;
    let tuned: Vec<String> = text
        .lines()
        .map(|line| {
            let key = line.split('=').next().unwrap_or("").trim();
            let value = match key {
                "interval_ms" => "500",
                "watch_interval_ms" => "200",
                "redial_max_ms" => "2000",
                "records_per_minute" | "documents_per_minute" => "1000000",
                _ => return line.to_owned(),
            };
            seen += 1;
            format!("{key} = {value}")
        })
        .collect();
    ensure!(
        seen == 5,
        "tally.toml lacks a sync, p2p or api.rate key:\n{text}"
    );
    // Rewritten in place so the mode (0600) stays.
    std::fs::write(path, tuned.join("\n") + "\n")?;
    Ok(())
}

pub fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

/// A set of node directories under one temporary directory. Dropping it
/// kills every process; unless [`Net::pass`] was called (a failure or a
/// panic), it prints the tail of every node's log first. With `TALLY_KEEP`
/// set, the directories and logs are kept for a look afterwards.
pub struct Net {
    pub nodes: Vec<Proc>,
    passed: bool,
    // Last, so the processes die before their directories go.
    tmp: tempfile::TempDir,
}

impl Net {
    /// The head of each node's own log, asked of the node: the entries it
    /// opened with at its first start (its own key announcements, such as
    /// the paper key's, `[paper] enabled` being the default) and what it
    /// issued since. A test that counts what it issues counts from here.
    pub async fn own_heads(&self) -> Result<BTreeMap<String, u64>> {
        let mut heads = BTreeMap::new();
        for node in &self.nodes {
            let seq = node
                .heads()
                .await?
                .get(&node.authority)
                .map_or(0, |h| h.seq);
            heads.insert(node.authority.clone(), seq);
        }
        Ok(heads)
    }

    /// `init` for each authority (not started, nobody trusted).
    pub fn init(authorities: &[&str]) -> Result<Net> {
        let tmp = tempfile::Builder::new()
            .prefix("tally-processes-")
            .tempdir()?;
        let mut nodes = Vec::new();
        for a in authorities {
            nodes.push(Proc::init(tmp.path(), a)?);
        }
        Ok(Net {
            nodes,
            passed: false,
            tmp,
        })
    }

    pub fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// Every node trusts every other.
    pub fn trust_all(&self) -> Result<()> {
        for a in &self.nodes {
            for b in &self.nodes {
                if a.authority != b.authority {
                    a.trust(b)?;
                }
            }
        }
        Ok(())
    }

    pub async fn start_all(&mut self) -> Result<()> {
        for n in &mut self.nodes {
            n.start().await?;
        }
        Ok(())
    }

    pub fn node(&self, authority: &str) -> &Proc {
        self.nodes
            .iter()
            .find(|n| n.authority == authority)
            .expect("the test names one of its own nodes")
    }

    pub fn node_mut(&mut self, authority: &str) -> &mut Proc {
        self.nodes
            .iter_mut()
            .find(|n| n.authority == authority)
            .expect("the test names one of its own nodes")
    }

    /// Marks the test as passed: no log dump on drop.
    pub fn pass(&mut self) {
        self.passed = true;
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if std::env::var_os("TALLY_KEEP").is_some() {
            self.tmp.disable_cleanup(true);
            eprintln!(
                "TALLY_KEEP: node directories and logs kept in {}",
                self.tmp.path().display()
            );
        }
        if !self.passed {
            for n in &self.nodes {
                eprintln!(
                    "----- {} ({}) log tail -----\n{}",
                    n.authority,
                    n.log.display(),
                    n.log_tail(150)
                );
            }
        }
    }
}

/// Waits until every node in `nodes` reports the same heads, each holding at
/// least `want` (authority -> seq); returns them.
pub async fn converge(
    what: &str,
    nodes: &[&Proc],
    want: &BTreeMap<String, u64>,
    timeout: Duration,
) -> Result<Heads> {
    eventually(what, timeout, async || {
        let mut views = Vec::new();
        for n in nodes {
            views.push((n.authority.as_str(), n.heads().await?));
        }
        let first = &views[0].1;
        for (authority, seq) in want {
            let have = first.get(authority).map_or(0, |h| h.seq);
            ensure!(
                have >= *seq,
                "{} holds {authority} up to {have}, want {seq}; views: {}",
                views[0].0,
                show(&views)
            );
        }
        ensure!(
            views.iter().all(|(_, h)| h == first),
            "views differ: {}",
            show(&views)
        );
        Ok(first.clone())
    })
    .await
}

fn show(views: &[(&str, Heads)]) -> String {
    views
        .iter()
        .map(|(node, heads)| {
            let heads: Vec<String> = heads
                .iter()
                .map(|(a, h)| format!("{a}:{}:{}", h.seq, &h.hash[..8.min(h.hash.len())]))
                .collect();
            format!("{node}[{}]", heads.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `{"authority": seq}` wanted by [`converge`].
pub fn want(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(a, s)| ((*a).to_owned(), *s)).collect()
}

/// Every file under `dir`: relative path -> (mode, contents), to compare a
/// directory byte for byte before and after a command.
pub fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, (u32, Vec<u8>)>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let meta = std::fs::metadata(&d)?;
        out.insert(
            d.strip_prefix(dir)?.to_path_buf(),
            (meta.permissions().mode(), Vec::new()),
        );
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            let meta = std::fs::symlink_metadata(&p)?;
            if meta.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir)?.to_path_buf(),
                    (meta.permissions().mode(), std::fs::read(&p)?),
                );
            }
        }
    }
    Ok(out)
}

/// Locks a mutex of plain test data, a poisoned one included.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
