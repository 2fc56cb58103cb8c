//! Multi-node test rig: real Tally nodes started in this process, on
//! loopback, each in its own directory under one temporary directory, with
//! real stores and real libp2p swarms.
//!
//! Layout:
//! - [`Net`]: n nodes that trust each other; restart one, stop and start one,
//!   cut the network into groups by rewriting trust lists and heal it, read
//!   heads and logs, wait for convergence.
//! - [`Api`]: an HTTP client of one node with its officer, issuer and admin tokens.
//! - [`docs`]: valid documents of docs/API.md (import, export, transit).
//! - [`Rogue`]: a bare `tally_p2p` swarm with a fresh identity, for hostile-peer tests.
//! - [`wait_until`]: polling with a timeout and a message; tests never sleep
//!   to synchronise.
//!
//! Nodes listen on `/ip4/127.0.0.1/tcp/0` and `127.0.0.1:0`; the cards the
//! nodes trust are written after start-up with the addresses actually bound.
//! Keys are the ones `tally init` generates, not fixed ones: tests run in
//! parallel processes on the same loopback, and a stale dial to a port that
//! another test's node reuses must fail the handshake (another peer id)
//! rather than join two tests' networks.

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tally_model::{AuthorityId, AuthorityKey, Card, CardKey, License};
use tally_node::config::{Config, NodeDir, Settings};
use tally_node::{Node, admin, files};
use tally_p2p::{Multiaddr, NetEvent, P2pHandle, PeerId, SyncAnswer, SyncQuery};

/// Sample authorities, in the order [`Net::start`] uses them.
pub const AUTHORITIES: [&str; 5] = ["US-DDTC", "MX-SEDENA", "GT-DIGECAM", "CA-GAC", "BR-EB"];

/// Anti-entropy interval of rig nodes (default 3 s): short, so tests are quick.
const SYNC_INTERVAL_MS: u64 = 500;
/// Trust-file polling interval of rig nodes (default 1 s).
const WATCH_INTERVAL_MS: u64 = 200;
/// Longest redial backoff of rig nodes (default 30 s), so a peer that comes
/// back is found again quickly.
const REDIAL_MAX_MS: u64 = 2000;
/// How long the rig waits for connections to come up or go down.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(20);

pub use tally_testkit::wait_until;

/// The tokens of one node, created before it starts.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub officer: String,
    pub issuer: String,
    pub admin: String,
}

/// One node of the rig: its directory, identity and tokens; the running node
/// while it is started.
pub struct Member {
    pub authority: String,
    pub dir: PathBuf,
    /// The libp2p peer id; the same across restarts (same key file).
    pub peer_id: PeerId,
    pub tokens: Tokens,
    node: Option<Node>,
}

impl Member {
    /// `DIR/card.toml`, rewritten with the bound addresses on every start.
    pub fn card_path(&self) -> PathBuf {
        self.dir.join("card.toml")
    }
}

/// A network of in-process nodes.
pub struct Net {
    /// Node directories; removed when the rig drops.
    _root: tempfile::TempDir,
    pub members: Vec<Member>,
    /// Who trusts whom, as (truster, trusted): what [`Net::heal`] restores.
    trust: BTreeSet<(usize, usize)>,
    /// Pairs cut by [`Net::partition`].
    cut: BTreeSet<(usize, usize)>,
    /// `[alerts] delivery_days` of nodes started from now on (the
    /// directory's config when `None`).
    delivery_days: Option<u32>,
    http: reqwest::Client,
}

/// Creates an API token; `role` is `officer`, `issuer` or `admin`.
fn create_token(dir: &Path, role: &str) -> Result<String> {
    // The role type lives in tally-api, which this crate does not depend on;
    // its serde name is the CLI's, so it is built from the name.
    let parsed = serde_json::from_value(Value::from(role))?;
    admin::token_create(dir, parsed, &format!("rig {role}"))
}

/// The settings of `DIR/tally.toml` with the rig's short intervals.
fn rig_settings(dir: &Path) -> Result<Settings> {
    let dir = NodeDir(dir.to_path_buf());
    let mut settings = Config::load(&dir)?.settings(&dir)?;
    settings.sync.interval_ms = SYNC_INTERVAL_MS;
    settings.sync.watch_interval_ms = WATCH_INTERVAL_MS;
    settings.p2p.redial_max_ms = REDIAL_MAX_MS;
    // Tests issue and record far faster than any border office.
    settings.api_rate = tally_node::config::RateConfig {
        records_per_minute: 1_000_000,
        documents_per_minute: 1_000_000,
        record_bytes_per_minute: 1 << 40,
        node_record_bytes_per_minute: 1 << 40,
    };
    Ok(settings)
}

/// Initialises one node directory (not started).
fn init_member(root: &Path, authority: &str) -> Result<Member> {
    let dir = root.join(authority.to_lowercase());
    let name = format!("{authority} (test)");
    let init = admin::init(
        &dir,
        authority,
        &name,
        "/ip4/127.0.0.1/tcp/0",
        "127.0.0.1:0",
        None,
    )
    .with_context(|| format!("init {authority}"))?;
    Ok(Member {
        authority: authority.to_string(),
        peer_id: init.peer_id.parse()?,
        tokens: Tokens {
            officer: create_token(&dir, "officer")?,
            issuer: create_token(&dir, "issuer")?,
            admin: init.admin_token,
        },
        dir,
        node: None,
    })
}

impl Net {
    /// Initialises one node per authority (none started, nobody trusted).
    pub fn init(authorities: &[&str]) -> Result<Net> {
        let root = tempfile::Builder::new().prefix("tally-net-").tempdir()?;
        let members = authorities
            .iter()
            .map(|a| init_member(root.path(), a))
            .collect::<Result<_>>()?;
        Ok(Net {
            _root: root,
            members,
            trust: BTreeSet::new(),
            cut: BTreeSet::new(),
            delivery_days: None,
            http: reqwest::Client::new(),
        })
    }

    /// `n` nodes of [`AUTHORITIES`] (in order), started, trusting each other,
    /// each connected to the n-1 others.
    pub async fn start(n: usize) -> Result<Net> {
        ensure!(
            n <= AUTHORITIES.len(),
            "at most {} nodes",
            AUTHORITIES.len()
        );
        Net::start_with(&AUTHORITIES[..n]).await
    }

    /// [`Net::start`] with the given authorities.
    pub async fn start_with(authorities: &[&str]) -> Result<Net> {
        let mut net = Net::init(authorities)?;
        for i in 0..net.len() {
            net.start_node(i).await?;
        }
        net.trust_all()?;
        net.wait_links().await?;
        Ok(net)
    }

    /// [`Net::start_with`] with `[alerts] delivery_days` set on every node.
    pub async fn start_with_delivery_days(authorities: &[&str], days: u32) -> Result<Net> {
        let mut net = Net::init(authorities)?;
        net.delivery_days = Some(days);
        for i in 0..net.len() {
            net.start_node(i).await?;
        }
        net.trust_all()?;
        net.wait_links().await?;
        Ok(net)
    }

    /// `[alerts] delivery_days` of nodes started (or restarted) from now on.
    pub fn set_delivery_days(&mut self, days: u32) {
        self.delivery_days = Some(days);
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The running node `i`. Panics (a test bug) when it is stopped.
    pub fn node(&self, i: usize) -> &Node {
        self.members[i]
            .node
            .as_ref()
            .unwrap_or_else(|| panic!("node {i} is not running"))
    }

    /// A reader on node `i`'s store as it stands now (take a new one to
    /// see what arrives later).
    pub fn reader(&self, i: usize) -> Result<tally_verify::Reader> {
        Ok(self.node(i).verifier().reader()?)
    }

    /// Ingests `entries` at node `i` through its verifier, one by one, as
    /// gossip would hand them over.
    pub async fn ingest(
        &self,
        i: usize,
        entries: Vec<tally_model::SignedEntry>,
    ) -> Result<Vec<tally_verify::IngestOutcome>> {
        let v = self.node(i).verifier().clone();
        tokio::task::spawn_blocking(move || {
            entries
                .iter()
                .map(|e| Ok(v.ingest().entry(&e.encode())?))
                .collect::<Result<Vec<_>>>()
        })
        .await?
    }

    pub fn is_running(&self, i: usize) -> bool {
        self.members[i].node.is_some()
    }

    pub fn authority(&self, i: usize) -> &str {
        &self.members[i].authority
    }

    /// Starts node `i` and writes its card with the addresses it bound.
    pub async fn start_node(&mut self, i: usize) -> Result<()> {
        ensure!(!self.is_running(i), "node {i} is already running");
        let m = &mut self.members[i];
        let mut settings = rig_settings(&m.dir)?;
        if let Some(days) = self.delivery_days {
            settings.delivery_days = days;
        }
        let node = Node::spawn(settings)
            .await
            .with_context(|| format!("starting {}", m.authority))?;
        files::write_card(&m.card_path(), &node.card().await?)?;
        m.node = Some(node);
        Ok(())
    }

    /// Shuts node `i` down cleanly (its directory stays).
    pub async fn stop_node(&mut self, i: usize) -> Result<()> {
        let node = self.members[i].node.take().context("node is not running")?;
        node.shutdown().await;
        Ok(())
    }

    /// Stops and starts node `i` on the same directory. It listens on a new
    /// port: it dials the others from their cards, while their trust lists
    /// still hold its old address (nobody re-adds its card), so they only
    /// see it again because it dials them. Two nodes restarted in turn would
    /// each hold the other's old port: re-[`Net::trust`] them then. Waits
    /// until it is connected to every node it trusts both ways.
    pub async fn restart(&mut self, i: usize) -> Result<()> {
        self.stop_node(i).await?;
        self.start_node(i).await?;
        self.wait_links().await
    }

    /// Node `i` trusts node `j` (`tally trust add` of j's current card).
    pub fn trust(&mut self, i: usize, j: usize) -> Result<()> {
        admin::trust_add(&self.members[i].dir, &self.members[j].card_path())?;
        self.trust.insert((i, j));
        Ok(())
    }

    /// Node `i` trusts authority `j` (its keys) without dialing it: the card
    /// is added with no addresses, so neither side dials unless `j` does.
    pub fn trust_without_dialing(&mut self, i: usize, j: usize) -> Result<()> {
        let mut card = files::read_card(&self.members[j].card_path())?;
        card.addresses.clear();
        let path = self.members[i]
            .dir
            .join(format!("{}.nodial.toml", self.authority(j)));
        files::write_card(&path, &card)?;
        admin::trust_add(&self.members[i].dir, &path)?;
        Ok(())
    }

    /// Node `i` stops trusting node `j` (`tally trust remove`).
    pub fn untrust(&mut self, i: usize, j: usize) -> Result<()> {
        admin::trust_remove(&self.members[i].dir, self.authority(j))?;
        self.trust.remove(&(i, j));
        Ok(())
    }

    /// Every node trusts every other.
    pub fn trust_all(&mut self) -> Result<()> {
        for i in 0..self.len() {
            for j in 0..self.len() {
                if i != j {
                    self.trust(i, j)?;
                }
            }
        }
        Ok(())
    }

    /// Pairs of running nodes that trust each other both ways.
    fn links(&self) -> Vec<(usize, usize)> {
        self.trust
            .iter()
            .copied()
            .filter(|&(i, j)| i < j && self.trust.contains(&(j, i)))
            .filter(|&(i, j)| self.is_running(i) && self.is_running(j))
            .collect()
    }

    /// Whether node `i` has a connection to node `j`.
    pub async fn connected(&self, i: usize, j: usize) -> bool {
        let peers = self.node(i).p2p().connected_peers().await;
        peers.is_ok_and(|p| p.contains(&self.members[j].peer_id))
    }

    /// Waits until every pair of running nodes that trust each other is
    /// connected, seen from both sides.
    pub async fn wait_links(&self) -> Result<()> {
        let links = self.links();
        wait_until(
            LINK_TIMEOUT,
            "every trusting pair is connected",
            async || {
                for &(i, j) in &links {
                    if !self.connected(i, j).await || !self.connected(j, i).await {
                        return false;
                    }
                }
                true
            },
        )
        .await?;
        Ok(())
    }

    /// Cuts the network into `groups` (node indexes) by removing, on every
    /// node, the trust in every node of another group; waits until those
    /// connections are down. Removing an authority also stops accepting its
    /// entries, so nothing leaks across the cut through a third node.
    pub async fn partition(&mut self, groups: &[&[usize]]) -> Result<()> {
        let group_of = |n: usize| groups.iter().position(|g| g.contains(&n));
        let cross: Vec<(usize, usize)> = self
            .trust
            .iter()
            .copied()
            .filter(|&(i, j)| group_of(i) != group_of(j))
            .collect();
        for &(i, j) in &cross {
            self.untrust(i, j)?;
            self.cut.insert((i, j));
        }
        let running: Vec<(usize, usize)> = cross
            .into_iter()
            .filter(|&(i, j)| self.is_running(i) && self.is_running(j))
            .collect();
        wait_until(LINK_TIMEOUT, "cut connections are closed", async || {
            for &(i, j) in &running {
                if self.connected(i, j).await {
                    return false;
                }
            }
            true
        })
        .await?;
        Ok(())
    }

    /// Restores the trust [`Net::partition`] removed (with the nodes' current
    /// cards) and waits until every trusting pair is connected again.
    pub async fn heal(&mut self) -> Result<()> {
        for (i, j) in std::mem::take(&mut self.cut) {
            self.trust(i, j)?;
        }
        self.wait_links().await
    }

    /// Issues `doc` at node `i` through its verifier; returns the entry's seq.
    pub async fn issue(&self, i: usize, doc: Value) -> Result<u64> {
        let seqs = self.issue_many(i, vec![doc]).await?;
        seqs.last().copied().context("nothing issued")
    }

    /// Issues `docs` at node `i` one after the other (each durably stored and
    /// published), in one blocking task; returns their seqs.
    pub async fn issue_many(&self, i: usize, docs: Vec<Value>) -> Result<Vec<u64>> {
        let v = self.node(i).verifier().clone();
        // `"visibility"` travels beside the document, as the API takes it.
        let docs: Vec<(License, tally_verify::Visibility)> = docs
            .into_iter()
            .map(|mut d| {
                let visibility = match d.as_object_mut().and_then(|o| o.remove("visibility")) {
                    Some(v) => serde_json::from_value(v)?,
                    None => tally_verify::Visibility::default(),
                };
                Ok((serde_json::from_value(d)?, visibility))
            })
            .collect::<Result<_>>()?;
        tokio::task::spawn_blocking(move || {
            docs.into_iter()
                .map(|(d, vis)| Ok(v.issuer().issue_as(d, vis)?.entry.seq))
                .collect::<Result<Vec<u64>>>()
        })
        .await?
    }

    /// Node `i`'s log heads: authority -> (seq, hex hash).
    pub fn heads(&self, i: usize) -> Result<BTreeMap<String, (u64, String)>> {
        Ok(self
            .reader(i)?
            .heads()?
            .into_iter()
            .map(|(a, seq, h)| (a.to_string(), (seq, h.to_hex())))
            .collect())
    }

    /// Node `i`'s head seq of `authority` (0 when it holds none).
    /// The head of node `i`'s own log: the entries it opened with at its
    /// first start (its own key announcements, such as the paper key's,
    /// `[paper] enabled` being the default) and what it issued since. A
    /// test that counts what it issues counts from here.
    pub fn own_seq(&self, i: usize) -> Result<u64> {
        self.seq(i, self.authority(i))
    }

    pub fn seq(&self, i: usize, authority: &str) -> Result<u64> {
        let a: AuthorityId = authority.parse()?;
        let head = self.reader(i)?.head(&a)?;
        Ok(head.map_or(0, |(s, _)| s))
    }

    /// Every log node `i` holds, as the exact stored `SignedEntry` bytes.
    pub fn logs(&self, i: usize) -> Result<BTreeMap<String, Vec<Vec<u8>>>> {
        let store = self.reader(i)?;
        let mut out = BTreeMap::new();
        for (a, seq, _) in store.heads()? {
            let n = usize::try_from(seq)?;
            let entries: Vec<Vec<u8>> = store.range(&a, 1, n)?.iter().map(|e| e.encode()).collect();
            ensure!(
                entries.len() == n,
                "{a}: {} entries under head {seq}",
                entries.len()
            );
            out.insert(a.to_string(), entries);
        }
        Ok(out)
    }

    /// Whether node `i` stores an entry with this id anywhere.
    pub fn stores(&self, i: usize, entry_id: &tally_model::EntryHash) -> Result<bool> {
        Ok(self.reader(i)?.by_hash(entry_id)?.is_some())
    }

    fn running(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.is_running(i)).collect()
    }

    /// Waits until every running node has the same heads, then checks that
    /// their logs are byte for byte identical. Returns the common heads.
    pub async fn converge(&self, timeout: Duration) -> Result<BTreeMap<String, (u64, String)>> {
        let nodes = self.running();
        let first = *nodes.first().context("no node running")?;
        wait_until(timeout, "every node has the same heads", async || {
            let Ok(h0) = self.heads(first) else {
                return false;
            };
            nodes.iter().all(|&i| self.heads(i).is_ok_and(|h| h == h0))
        })
        .await
        .with_context(|| self.heads_report())?;
        self.assert_converged()?;
        self.heads(first)
    }

    /// Fails unless every running node holds identical logs (same bytes).
    pub fn assert_converged(&self) -> Result<()> {
        let nodes = self.running();
        let first = *nodes.first().context("no node running")?;
        let reference = self.logs(first)?;
        for &i in &nodes[1..] {
            ensure!(
                self.logs(i)? == reference,
                "{} and {} hold different logs\n{}",
                self.authority(first),
                self.authority(i),
                self.heads_report()
            );
        }
        Ok(())
    }

    /// Every running node's head seqs, for failure messages.
    pub fn heads_report(&self) -> String {
        let mut out = String::from("heads (seq per authority) on each node:\n");
        for i in self.running() {
            let seqs: BTreeMap<String, u64> = self
                .heads(i)
                .unwrap_or_default()
                .into_iter()
                .map(|(a, (s, _))| (a, s))
                .collect();
            out.push_str(&format!("  {}: {seqs:?}\n", self.authority(i)));
        }
        out
    }

    /// An HTTP client of node `i`.
    /// Node `i`'s directory.
    pub fn dir(&self, i: usize) -> &std::path::Path {
        &self.members[i].dir
    }

    pub fn api(&self, i: usize) -> Api {
        Api {
            http: self.http.clone(),
            base: self.node(i).api_url(),
            tokens: self.members[i].tokens.clone(),
        }
    }

    /// Shuts every running node down.
    pub async fn shutdown(mut self) {
        for m in &mut self.members {
            if let Some(node) = m.node.take() {
                node.shutdown().await;
            }
        }
    }
}

/// Which of a node's tokens a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Officer,
    Issuer,
    Admin,
    /// No `Authorization` header.
    Nobody,
}

/// An HTTP client of one node.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub base: String,
    pub tokens: Tokens,
}

impl Api {
    fn token(&self, who: As) -> Option<&str> {
        match who {
            As::Officer => Some(&self.tokens.officer),
            As::Issuer => Some(&self.tokens.issuer),
            As::Admin => Some(&self.tokens.admin),
            As::Nobody => None,
        }
    }

    async fn send(&self, who: As, req: reqwest::RequestBuilder) -> Result<(u16, Value)> {
        let req = match self.token(who) {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.timeout(Duration::from_secs(10)).send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }

    /// `GET path`: (status, JSON body, or the text as a JSON string).
    pub async fn get(&self, who: As, path: &str) -> Result<(u16, Value)> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(who, req).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, who: As, path: &str, body: &Value) -> Result<(u16, Value)> {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(who, req).await
    }

    /// `POST /v1/licenses` as the issuer, which must answer 201: its body.
    /// Waits until this node answers 200 to `GET path` (a document it holds
    /// and reads).
    pub async fn until_holds(&self, path: &str) -> Result<()> {
        wait_until(
            Duration::from_secs(20),
            &format!("{} holds {path}", self.base),
            async || {
                self.get(As::Officer, path)
                    .await
                    .is_ok_and(|(status, _)| status == 200)
            },
        )
        .await?;
        Ok(())
    }

    pub async fn issue(&self, doc: &Value) -> Result<Value> {
        let (status, body) = self.post(As::Issuer, "/v1/licenses", doc).await?;
        anyhow::ensure!(status == 201, "issuing {}: {status} {body}", doc["number"]);
        Ok(body)
    }

    /// The value of one sample of `GET /metrics`, e.g.
    /// `tally_entries_total{source="gossip",outcome="rejected"}`; 0 when absent.
    /// Read as an officer: the families derived from opened documents
    /// (`tally_alerts_open`) show only to a token.
    pub async fn metric(&self, sample: &str) -> Result<u64> {
        let (status, body) = self.get(As::Officer, "/metrics").await?;
        ensure!(status == 200, "GET /metrics: {status}");
        let text = body.as_str().context("metrics are text")?;
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0))
    }
}

/// A signed entry of `authority` at `seq` after `prev`, carrying the license
/// `doc` (JSON), signed with `key` now: what a peer (honest or not) sends.
pub fn signed(
    key: &tally_model::AuthorityKey,
    authority: &str,
    seq: u64,
    prev: Option<tally_model::EntryHash>,
    doc: Value,
) -> Result<tally_model::SignedEntry> {
    let entry = tally_model::Entry {
        authority: authority.parse()?,
        seq,
        prev,
        issued_at_ms: tally_verify::now_ms(),
        recipients: vec![],
        body: tally_model::Body::Document(tally_model::Document::License(serde_json::from_value(
            doc,
        )?)),
    };
    Ok(key.sign(&entry).signed().clone())
}

/// Valid documents of docs/API.md as JSON, for the API and the verifier.
pub mod docs {
    pub use tally_testkit::json::{
        day, export_of as export, import_of as import, items, sample, transit_of as transit,
    };
}

/// What a [`Rogue`] serves to peers that pull from it.
#[derive(Debug, Default)]
struct Offer {
    /// (authority, seq, entry id, encoded `SignedEntry`).
    entries: Vec<(String, u64, Vec<u8>, Vec<u8>)>,
}

impl Offer {
    fn answer(&self, query: SyncQuery) -> SyncAnswer {
        match query {
            SyncQuery::Heads => {
                let mut heads: BTreeMap<&str, (u64, &[u8])> = BTreeMap::new();
                for (a, seq, id, _) in &self.entries {
                    let head = heads.entry(a).or_insert((*seq, id));
                    if *seq >= head.0 {
                        *head = (*seq, id);
                    }
                }
                SyncAnswer::Heads(
                    heads
                        .into_iter()
                        .map(|(a, (seq, id))| tally_p2p::Head {
                            authority: a.to_string(),
                            seq,
                            hash: id.to_vec(),
                        })
                        .collect(),
                )
            }
            SyncQuery::Range {
                authority, from, ..
            } => SyncAnswer::Range(
                self.entries
                    .iter()
                    .filter(|(a, seq, _, _)| *a == authority && *seq >= from)
                    .map(|(_, _, _, bytes)| bytes.clone().into())
                    .collect(),
            ),
            // The rogue holds no proofs.
            SyncQuery::Evidence => SyncAnswer::Range(Vec::new()),
        }
    }
}

/// A bare libp2p swarm speaking Tally's protocols with a fresh identity:
/// ignores gossip, answers pulls with what it was told to [`Rogue::offer`].
pub struct Rogue {
    pub p2p: P2pHandle,
    pub peer_id: PeerId,
    pub addrs: Vec<Multiaddr>,
    offer: Arc<Mutex<Offer>>,
}

impl Rogue {
    /// Spawns the swarm on a free loopback port; it trusts nobody yet.
    pub async fn spawn() -> Result<Rogue> {
        let config = tally_p2p::Config {
            listen: "/ip4/127.0.0.1/tcp/0".into(),
            redial_max_ms: REDIAL_MAX_MS,
            ..Default::default()
        };
        let keypair = tally_p2p::Keypair::generate_ed25519();
        let (p2p, events) = tally_p2p::spawn(config, keypair, Default::default())?;
        let offer = Arc::new(Mutex::new(Offer::default()));
        tokio::spawn(serve(events, p2p.clone(), offer.clone()));
        Ok(Rogue {
            peer_id: p2p.local_peer_id(),
            addrs: p2p.listen_addrs().await?,
            p2p,
            offer,
        })
    }

    /// Allows and dials these nodes.
    pub async fn dial(&self, net: &Net, nodes: &[usize]) -> Result<()> {
        let mut peers = Vec::new();
        for &i in nodes {
            peers.push((net.members[i].peer_id, net.node(i).listen_addrs().await?));
        }
        Ok(self.p2p.set_trusted(peers).await?)
    }

    /// A card presenting this swarm as the node of `authority`, signing with `key`.
    pub fn card(&self, authority: &str, key: &AuthorityKey) -> Result<Card> {
        let authority: AuthorityId = authority.parse()?;
        Ok(Card {
            contact: None,
            country: authority.country().to_string(),
            name: format!("{authority} (rogue)"),
            peer_id: self.peer_id.to_string(),
            addresses: self.addrs.iter().map(|a| a.to_string()).collect(),
            keys: vec![CardKey {
                public_key: to_hex(key.public().as_bytes()),
                valid_from_ms: 0,
                valid_until_ms: None,
                retired_after_seq: None,
                compromised_after_seq: None,
            }],
            authority,
            encryption_keys: Vec::new(),
        })
    }

    /// Serves `signed` (an encoded `SignedEntry`) to peers that pull from this swarm.
    pub fn offer(&self, signed: &tally_model::SignedEntry) -> Result<()> {
        let entry = signed.open()?;
        let mut offer = self.offer.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        offer.entries.push((
            entry.authority.to_string(),
            entry.seq,
            signed.id().0.to_vec(),
            signed.encode(),
        ));
        Ok(())
    }

    pub async fn shutdown(self) {
        self.p2p.shutdown();
        self.p2p.join().await;
    }
}

/// The rogue's event loop: every gossip message gets a verdict (Ignore),
/// every pull an answer from the offer.
async fn serve(
    mut events: tokio::sync::mpsc::Receiver<NetEvent>,
    p2p: P2pHandle,
    offer: Arc<Mutex<Offer>>,
) {
    while let Some(event) = events.recv().await {
        match event {
            NetEvent::Gossip { message, .. } => {
                let _ = p2p.report(message, tally_p2p::Acceptance::Ignore).await;
            }
            NetEvent::SyncQuery { query, reply, .. } => {
                let answer = match offer.lock() {
                    Ok(o) => o.answer(query),
                    Err(_) => SyncAnswer::Error("poisoned".into()),
                };
                let _ = reply.send(answer);
            }
            NetEvent::PeerConnected(_) | NetEvent::PeerDisconnected(_) => {}
        }
    }
}

/// Lower-case hex (this crate does not depend on `hex`).
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
