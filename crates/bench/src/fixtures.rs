//! Typical documents, signed logs built fast (hash chain in order, signatures
//! on every core), stores filled directly, and node directories on loopback.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;
use tally_model::seal::{self, DeterministicRandom, EncryptionSecret, Header, PairKeys};
use tally_model::{
    AuthorityId, AuthorityKey, Body, Card, Document, Entry, EntryHash, License, Recipient,
    TrustList, VerifiedEntry,
};
use tally_node::config::{Config, NodeDir, Settings};
use tally_store::Store;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    tally_verify::now_ms()
}

/// `YYYY-MM-DD`, `offset` days from today (UTC).
pub fn day(offset: i64) -> String {
    tally_model::Date::from_unix_ms(now_ms() + offset * 86_400_000).to_string()
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Progress goes to stderr.
#[macro_export]
macro_rules! progress {
    ($($t:tt)*) => {{
        eprintln!("[bench {:>7.1}s] {}", $crate::fixtures::since_start(), format!($($t)*));
    }};
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

pub fn since_start() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// The documents every figure uses, so the figures compare like with like.
pub struct Docs {
    export: License,
    import: License,
}

pub const IMPORTER: &str = "Importadora del Norte SA";
pub const EXPORTER: &str = "Acme Arms Inc.";
/// Export licenses per import certificate in the verify-API store.
pub const EXPORTS_PER_IC: u64 = 1000;
/// Serials listed on line 1 of each export license.
pub const SERIALS: u64 = 10;

impl Docs {
    /// A typical export license: two item lines (pistols with ten serials,
    /// cartridges), full parties, end use, conditions; and the import
    /// certificate kind that covers it.
    pub fn new() -> Docs {
        let from = day(-30);
        let until = day(365);
        let export = serde_json::from_value(serde_json::json!({
            "kind": "export", "number": "EXP-0000000",
            "exporting_country": "US", "importing_country": "MX", "transit_countries": [],
            "exporter": {"name": EXPORTER, "id": "FFL-1-23-45678", "address": "100 Industrial Way, Springfield, MA"},
            "importer": {"name": IMPORTER, "address": "Av. Constitucion 400, Monterrey, NL"},
            "end_user": {"name": "Policia Estatal de Nuevo Leon"}, "end_use": "law enforcement",
            "items": [
                {"line": 1, "category": "firearm", "description": "semi-automatic pistol", "hs_code": "930200",
                 "make": "Acme", "model": "P9", "caliber": "9x19mm", "quantity": 50, "unit": "units",
                 "serials": []},
                {"line": 2, "category": "ammunition", "description": "cartridges", "hs_code": "930630",
                 "make": "Acme", "model": "FMJ 124gr", "caliber": "9x19mm", "quantity": 10000, "unit": "rounds"}
            ],
            "valid_from": from, "valid_until": until,
            "import_certificate": {"authority": "MX-SEDENA", "number": "IC-0000000"},
            "shipments": "partial", "conditions": "no re-export without prior written authorization"
        }))
        .expect("export template");
        let import = serde_json::from_value(serde_json::json!({
            "kind": "import", "number": "IC-0000000",
            "importing_country": "MX", "exporting_country": "US",
            "importer": {"name": IMPORTER, "address": "Av. Constitucion 400, Monterrey, NL"},
            "exporter": {"name": EXPORTER},
            "end_user": {"name": "Policia Estatal de Nuevo Leon"}, "end_use": "law enforcement",
            "items": [
                {"line": 1, "category": "firearm", "description": "semi-automatic pistol", "quantity": 1000000, "unit": "units"},
                {"line": 2, "category": "ammunition", "description": "cartridges", "quantity": 1000000000, "unit": "rounds"}
            ],
            "valid_from": from, "valid_until": until
        }))
        .expect("import template");
        Docs { export, import }
    }

    pub fn export_number(n: u64) -> String {
        format!("EXP-{n:07}")
    }

    pub fn serial(n: u64, k: u64) -> String {
        format!("SN{n:07}-{k}")
    }

    /// A serial that shares no trace bucket with any other of the fixture:
    /// what a license listing firearms from no common run costs.
    pub fn scattered_serial(n: u64, k: u64) -> String {
        // splitmix64: spread, and ending in a letter half the time.
        let mut z = (n * SERIALS + k).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        format!("{:016X}", z ^ (z >> 31))
    }

    /// Export license `n`, covered by import certificate `n / EXPORTS_PER_IC` of `ic_authority`.
    pub fn export(&self, n: u64, ic_authority: &str) -> License {
        self.export_listing(n, ic_authority, Self::serial)
    }

    /// [`Docs::export`] with line 1's serials made by `serial(n, k)`.
    pub fn export_listing(
        &self,
        n: u64,
        ic_authority: &str,
        serial: fn(u64, u64) -> String,
    ) -> License {
        let mut l = self.export.clone();
        if let License::Export(e) = &mut l {
            e.number = Self::export_number(n);
            e.items[0].serials = (0..SERIALS).map(|k| serial(n, k)).collect();
            if let Some(ic) = &mut e.import_certificate {
                ic.authority = ic_authority.to_string();
                ic.number = format!("IC-{:07}", n / EXPORTS_PER_IC);
            }
        }
        l
    }

    pub fn import(&self, k: u64) -> License {
        let mut l = self.import.clone();
        if let License::Import(i) = &mut l {
            i.number = format!("IC-{k:07}");
        }
        l
    }
}

/// The writer of one authority's log.
pub struct LogWriter {
    pub key: AuthorityKey,
    pub authority: AuthorityId,
    pub seq: u64,
    pub prev: Option<EntryHash>,
    /// When set, every document is sealed (`tally_model::seal::seal`)
    /// before it is signed, as `POST /v1/licenses` does.
    pub sealer: Option<Sealer>,
}

/// What sealing a log's documents takes: the issuer's X25519 secret, the
/// recipients (the issuer is always added by `seal`), the random source
/// (seeded: the bench's sealed logs are reproducible) and the pair keys.
pub struct Sealer {
    pub issuer: EncryptionSecret,
    pub recipients: Vec<Recipient>,
    pub random: DeterministicRandom,
    pub pairs: PairKeys,
}

impl Sealer {
    pub fn new(issuer: EncryptionSecret, recipients: Vec<Recipient>) -> Sealer {
        Sealer {
            issuer,
            recipients,
            random: DeterministicRandom::new([0x5E; 32]),
            pairs: PairKeys::new(16),
        }
    }
}

impl LogWriter {
    pub fn new(authority: &str, key: AuthorityKey) -> LogWriter {
        LogWriter {
            key,
            authority: authority.parse().expect("bench authority id"),
            seq: 0,
            prev: None,
            sealer: None,
        }
    }

    /// A writer whose entries are sealed by `sealer`.
    pub fn sealed(authority: &str, key: AuthorityKey, sealer: Sealer) -> LogWriter {
        LogWriter {
            sealer: Some(sealer),
            ..LogWriter::new(authority, key)
        }
    }

    /// The next entries: the chain is built in order (encode + SHA-256),
    /// then the signatures are made on `threads` threads.
    pub fn sign(&mut self, docs: Vec<Document>, threads: usize) -> Vec<VerifiedEntry> {
        let mut entries = Vec::with_capacity(docs.len());
        for doc in docs {
            self.seq += 1;
            let mut e = Entry {
                authority: self.authority.clone(),
                seq: self.seq,
                prev: self.prev,
                issued_at_ms: now_ms(),
                recipients: vec![],
                body: Body::Document(doc),
            };
            if let (Some(s), Body::Document(doc)) = (&mut self.sealer, &e.body) {
                let sealed = seal::seal(
                    &s.issuer,
                    Header::of(&e),
                    doc,
                    &s.recipients,
                    &[],
                    &mut s.random,
                    &s.pairs,
                )
                .expect("the bench's documents seal");
                e.body = Body::Sealed(sealed);
            }
            let id = EntryHash::of(&e.encode());
            self.prev = Some(id);
            entries.push((e, id));
        }
        let key = &self.key;
        let per = entries.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = entries
                .chunks(per)
                .map(|chunk| {
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|(e, id)| {
                                let v = key.sign(e);
                                assert_eq!(v.id(), *id, "entry encoding is deterministic");
                                v
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("signer thread"))
                .collect()
        })
    }
}

/// `n` distinct typical entries (export licenses 0..n) of `authority`,
/// signed on `threads` threads with the key of secret `secret`.
pub fn typical_entries(
    authority: &str,
    secret: [u8; 32],
    n: u64,
    threads: usize,
) -> (AuthorityKey, Vec<VerifiedEntry>) {
    entries_listing(authority, secret, n, threads, Docs::serial)
}

/// [`typical_entries`] with line 1's serials made by `serial(n, k)`.
pub fn entries_listing(
    authority: &str,
    secret: [u8; 32],
    n: u64,
    threads: usize,
    serial: fn(u64, u64) -> String,
) -> (AuthorityKey, Vec<VerifiedEntry>) {
    let docs = Docs::new();
    let mut w = LogWriter::new(authority, AuthorityKey::from_bytes(&secret));
    let signed = w.sign(
        (0..n)
            .map(|i| Document::License(docs.export_listing(i, "MX-SEDENA", serial)))
            .collect(),
        threads,
    );
    (w.key, signed)
}

/// Appends `count` entries made by `doc(i)` (i from 0) to `store`, `chunk`
/// per durable commit, signing the next chunk while the previous commits.
pub fn fill(
    store: &Store,
    writer: &mut LogWriter,
    count: u64,
    chunk: usize,
    label: &str,
    doc: impl Fn(u64) -> Document + Send + Sync,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let threads = cores();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let (tx, rx) = sync_channel::<Vec<VerifiedEntry>>(2);
        let doc = &doc;
        s.spawn(move || {
            let mut i = 0u64;
            while i < count {
                let n = (count - i).min(chunk as u64);
                let docs = (i..i + n).map(doc).collect();
                let signed = writer.sign(docs, threads);
                if tx.send(signed).is_err() {
                    return;
                }
                i += n;
            }
        });
        let mut done = 0u64;
        let mut last = Instant::now();
        for batch in rx {
            store.append_batch(&batch).context("filling the store")?;
            done += batch.len() as u64;
            if last.elapsed().as_secs_f64() > 5.0 {
                last = Instant::now();
                progress!(
                    "  {label}: {done}/{count} entries ({:.0}/s)",
                    done as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
        Ok(())
    })?;
    progress!(
        "  {label}: {count} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A port free on loopback right now, below the kernel's ephemeral range
/// (so the nodes' own outgoing connections cannot take it before the node
/// that was given it listens), and not handed out twice by this process.
pub fn free_port() -> anyhow::Result<u16> {
    use std::sync::Mutex;
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = if low > 12_000 {
        (10_000, low)
    } else {
        (low.max(1024), 65_000)
    };
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..10_000 {
        let port = rand::random_range(from..to);
        if given.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return Ok(port);
        }
    }
    anyhow::bail!("no free port on loopback between {from} and {to}")
}

/// Where temporary node directories go: `TALLY_BENCH_DIR` or the system temp dir.
pub fn temp_root(prefix: &str) -> anyhow::Result<tempfile::TempDir> {
    let b = tempfile::Builder::new().prefix(prefix).to_owned();
    Ok(match std::env::var_os("TALLY_BENCH_DIR") {
        Some(d) => b.tempdir_in(d)?,
        None => b.tempdir()?,
    })
}

/// A node directory made by `tally init`.
pub struct NodeSetup {
    pub dir: PathBuf,
    pub card: Card,
    pub settings: Settings,
}

impl NodeSetup {
    /// `tally init` with a fixed loopback p2p port and an API on `127.0.0.1:0`.
    pub fn init(dir: &Path, authority: &str) -> anyhow::Result<NodeSetup> {
        Self::init_with(dir, authority, "127.0.0.1:0")
    }

    pub fn init_with(dir: &Path, authority: &str, api: &str) -> anyhow::Result<NodeSetup> {
        let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_port()?);
        tally_node::admin::init(
            dir,
            authority,
            &format!("bench {authority}"),
            &p2p,
            api,
            None,
        )
        .with_context(|| format!("initialising {authority}"))?;
        let card = tally_node::files::read_card(&dir.join("card.toml"))?;
        let nd = NodeDir(dir.to_path_buf());
        // The benchmark issues and records far faster than the per-token
        // limits allow a border office: raise them in `tally.toml` (the
        // node processes it starts read it from there).
        let mut config = Config::load(&nd)?;
        config.api.rate = tally_node::config::RateConfig {
            records_per_minute: 1_000_000,
            documents_per_minute: 1_000_000,
            record_bytes_per_minute: 1 << 40,
            node_record_bytes_per_minute: 1 << 40,
        };
        // Its load generators hold many requests of one token at once.
        config.api.max_connections_per_token = config.api.max_connections;
        tally_node::files::write_atomic(&nd.config(), toml::to_string(&config)?.as_bytes(), 0o600)?;
        let settings = config.settings(&nd)?;
        Ok(NodeSetup {
            dir: dir.to_path_buf(),
            card,
            settings,
        })
    }

    pub fn authority_key(&self) -> anyhow::Result<AuthorityKey> {
        tally_node::keys::load_authority_key(&self.settings.authority_key)
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open(
            &self.settings.store_path,
            self.settings.engine,
        )?)
    }

    pub fn trust(&self, cards: impl IntoIterator<Item = Card>) -> anyhow::Result<()> {
        let mut list = TrustList::default();
        for c in cards {
            if c.authority != self.card.authority {
                list.upsert(c);
            }
        }
        tally_node::files::write_trust(&self.dir.join("trust.toml"), &list)
    }

    pub fn token(&self, role: tally_api::Role) -> anyhow::Result<String> {
        tally_node::admin::token_create(&self.dir, role, "bench")
    }
}

/// A card for an authority with no node (its key is trusted; nothing is dialed).
pub fn offline_card(authority: &str, key: &AuthorityKey) -> Card {
    let mut card = tally_testkit::card(authority, key);
    card.name = "bench offline authority".into();
    card.peer_id = tally_p2p::Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_string();
    card.addresses.clear();
    card
}

/// Resident set size of a process, in MiB (`VmRSS` of /proc/PID/status).
pub fn rss_mb(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Percentile (0-100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Apparent size of a file or directory tree, in bytes.
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| dir_bytes(&e.path())).sum())
        .unwrap_or(0)
}

/// How many cores this process can actually use right now: a busy loop on
/// one thread against one per core. Other sessions' processes (with the
/// kernel's autogroup scheduling, even niced ones) can take whole cores.
pub fn effective_cores() -> f64 {
    fn spin(d: std::time::Duration) -> u64 {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < d {
            for _ in 0..1000 {
                n = std::hint::black_box(n + 1);
            }
        }
        n
    }
    let d = std::time::Duration::from_millis(300);
    let one = spin(d) as f64;
    let all: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..cores()).map(|_| s.spawn(move || spin(d))).collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    all as f64 / one
}

/// Bytes actually allocated on disk (st_blocks) under a path.
pub fn allocated_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.blocks() * 512;
    }
    std::fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| allocated_bytes(&e.path())).sum())
        .unwrap_or(0)
}
