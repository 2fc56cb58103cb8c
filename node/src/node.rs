//! The composition root: opens the store, loads keys and trust, and starts
//! the swarm, the router, the sync worker, the trust watcher and the API,
//! all under one cancellation token.
//!
//! Every service runs as a named task that returns why it ended: a service
//! that ends before the node is told to stop is a failure, and
//! [`Node::run_until`] returns it (so `tally run` exits non-zero and systemd's
//! `Restart=on-failure` restarts the node).

use crate::config::{Config, NodeDir, Settings};
use crate::peers::PeerTable;
use crate::router::{Publisher, Router};
use crate::sync::{SyncJobs, SyncWorker};
use crate::watch::TrustWatcher;
use crate::{files, keys};
use anyhow::{Context, anyhow};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tally_api::server::ServerConfig;
use tally_api::tokens::TokenBook;
use tally_api::{AppState, Metrics};
use tally_model::Card;
use tally_p2p::{Multiaddr, P2pHandle, PeerId};
use tally_store::Store;
use tally_verify::Verifier;
use tally_verify::sealing::SealOpener;
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Capacity of the queue from the verifier to the network.
const PUBLISH_QUEUE: usize = 1024;
/// The API listener's backlog (the kernel caps it at `net.core.somaxconn`):
/// clients beyond `api.max_connections` wait there until a slot frees. The
/// default of `TcpListener::bind` (128 here) made a client beyond 1,024 + 128
/// held connections lose its SYN and retry after 1, 3, 7 s, so health could
/// not answer soon after a slow-client flood was cut off.
const API_BACKLOG: u32 = 4096;

/// Binds the HTTP API's listener with [`API_BACKLOG`].
fn api_listener(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(API_BACKLOG)
}

/// Whether the store directory is absent or empty (see [`Node::start_with`]).
fn store_missing(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// A running node.
pub struct Node {
    settings: Settings,
    verifier: Verifier,
    p2p: P2pHandle,
    api_addr: SocketAddr,
    cancel: CancellationToken,
    services: Services,
    /// The background store check: it stops when the node is cancelled, and
    /// the node waits for it, so no store handle outlives [`Node::shutdown`].
    checker: Option<tokio::task::JoinHandle<()>>,
}

/// The node's tasks, each under a name that errors and logs use.
struct Services {
    tasks: JoinSet<anyhow::Result<()>>,
    names: HashMap<tokio::task::Id, &'static str>,
    cancel: CancellationToken,
}

/// What a service that returns nothing tells when it returns: fine when the
/// node was stopping, `why` otherwise.
fn ended(cancel: &CancellationToken, why: &'static str) -> anyhow::Result<()> {
    if cancel.is_cancelled() {
        Ok(())
    } else {
        Err(anyhow!(why))
    }
}

impl Services {
    /// Runs `service` as the task `name`. A service that returns before the
    /// node is cancelled has stopped unexpectedly; its own error, if any, says why.
    fn spawn(
        &mut self,
        name: &'static str,
        service: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let cancel = self.cancel.clone();
        let handle = self.tasks.spawn(async move {
            let result = service.await;
            match result {
                Err(e) => Err(e),
                Ok(()) if cancel.is_cancelled() => Ok(()),
                Ok(()) => Err(anyhow!("it returned while the node was running")),
            }
        });
        self.names.insert(handle.id(), name);
    }

    fn name(&self, id: tokio::task::Id) -> &'static str {
        self.names.get(&id).copied().unwrap_or("unknown")
    }

    /// The error naming the service of a task that ended, or `None` when it
    /// ended as asked.
    fn outcome(
        &self,
        done: Result<(tokio::task::Id, anyhow::Result<()>), JoinError>,
    ) -> Option<anyhow::Error> {
        match done {
            Ok((_, Ok(()))) => None,
            Ok((id, Err(e))) => Some(e.context(format!("service `{}` stopped", self.name(id)))),
            Err(e) if e.is_cancelled() => {
                Some(anyhow!("service `{}` was cancelled", self.name(e.id())))
            }
            Err(e) => Some(anyhow!("service `{}` panicked", self.name(e.id()))),
        }
    }
}

impl Node {
    /// Starts the node of directory `dir` as its `tally.toml` says; returns
    /// once the API listens.
    pub async fn start(dir: &Path) -> anyhow::Result<Node> {
        let dir = NodeDir(dir.to_path_buf());
        Node::start_with(Config::load(&dir)?.settings(&dir)?).await
    }

    /// [`Node::start`], with `tally run --new-log`.
    pub async fn start_opts(dir: &Path, new_log: bool) -> anyhow::Result<Node> {
        let dir = NodeDir(dir.to_path_buf());
        let mut settings = Config::load(&dir)?.settings(&dir)?;
        settings.new_log = new_log;
        Node::start_with(settings).await
    }

    /// Starts a node with settings built in code (tests tune them this way
    /// rather than by rewriting `tally.toml`); returns once the API listens.
    pub async fn start_with(settings: Settings) -> anyhow::Result<Node> {
        let dir = settings.dir.clone();
        // A bad key file refuses the start before anything (the store) is
        // created; an interrupted key rotation is finished first.
        if !crate::rotate::interrupted(&settings.authority_key) {
            keys::load_authority_key(&settings.authority_key)?;
        }
        let node_key = keys::load_node_key(&settings.node_key)?;
        // Every secret kept, dated by the card until the log is open.
        let sealing = crate::archive::load_sealing(
            &settings.encryption_key,
            &dir.card(),
            &settings.authority,
        )?;
        let trust_list = files::read_trust(&dir.trust())?;
        let trust = Arc::new(RwLock::new(trust_list.clone()));
        let opener: Arc<dyn tally_store::Opener> = Arc::new(SealOpener {
            sealing: sealing.clone(),
            trust: trust.clone(),
            own: settings.authority.clone(),
        });
        let tokens = Arc::new(RwLock::new(
            TokenBook::load(dir.tokens()).context("loading tokens")?,
        ));
        // A store that is missing at start (its directory absent or empty:
        // `tally init` creates it, so a lost disk or a restore of the keys
        // alone looks like this) means this node does not know its own
        // head: it must not sign before it has its log back from peers, or
        // it would fork it. The recovery is marked in the store itself
        // (`Store::set_recovering`, written before anything is pulled), so a
        // crash mid-recovery resumes it; it is cleared when a trusted peer
        // has confirmed the head (sync.rs). `--new-log` skips all of it.
        let missing = store_missing(&settings.store_path);
        let (path, engine) = (settings.store_path.clone(), settings.engine);
        let clock = settings.alert_clock();
        let mark = missing && !settings.new_log;
        let (store, recovering, engine_damage) = tokio::task::spawn_blocking(move || {
            // The engine's own integrity check needs the store closed: it
            // runs before the store opens (the chain walk runs in the
            // background once the node serves).
            let engine_damage = if missing {
                None
            } else {
                info!(path = %path.display(), engine = %engine, "checking the store's integrity");
                tally_store::check_engine(&path, engine)?
            };
            let store = match &engine_damage {
                None => Store::open_clocked(&path, engine, Some(opener), clock)?,
                // A damaged file may make the engine fail or panic while
                // opening; the node then serves an empty stand-in that
                // refuses writes, so health can say why.
                Some(_) => {
                    let o = opener.clone();
                    let p = path.clone();
                    let c = clock.clone();
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                        Store::open_clocked(&p, engine, Some(o), c)
                    })) {
                        Ok(Ok(store)) => store,
                        _ => {
                            let stand_in = std::env::temp_dir().join(format!(
                                "tally-damaged-{}-{}",
                                std::process::id(),
                                tally_verify::now_ms()
                            ));
                            tracing::error!(
                                path = %path.display(),
                                "the damaged store does not open; serving nothing from it"
                            );
                            Store::open_clocked(&stand_in, engine, Some(opener), clock)?
                        }
                    }
                }
            };
            if mark {
                store.set_recovering(true)?;
            }
            // A damaged store is not read beyond what opening it took: a
            // read of a damaged page can panic (the engine promises errors
            // only in its check), and nothing is served from it anyway.
            let recovering = engine_damage.is_none() && store.recovering()?;
            Ok::<_, tally_store::StoreError>((store, recovering, engine_damage))
        })
        .await?
        .with_context(|| format!("opening the store at {}", settings.store_path.display()))?;
        if let Some(what) = engine_damage {
            store.set_damaged(what);
        }
        if missing && settings.new_log {
            info!(authority = %settings.authority, "the store was missing; --new-log: starting a new log");
        }
        // An interrupted rotation is settled against the log; a damaged
        // store (or the empty stand-in for one that does not open) cannot
        // say what the log announced, so the files are left as they are.
        if store.damaged().is_none() {
            crate::rotate::recover(&settings.authority_key, &store, &settings.authority)?;
        }
        // The encryption key: an interrupted rotation finished, created only
        // when this authority never announced one, refused when missing or
        // not the announced one (never replaced silently).
        crate::rotate::settle_encryption_key(
            &settings.encryption_key,
            &dir.card(),
            &store,
            &settings.authority,
            recovering,
            &sealing,
        )?;
        let authority_key = keys::load_authority_key(&settings.authority_key)?;
        let compromises = trust_list.compromises();
        let s = store.clone();
        if store.damaged().is_none() {
            tokio::task::spawn_blocking(move || {
                s.apply_compromised(compromises, &mut crate::watch::reindex_progress())
            })
            .await?
            .context("applying the key compromises")?;
        }
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.apply_behind())
            .await?
            .context("applying entries a stop left behind their chain append")?;

        let cancel = CancellationToken::new();
        let mut services = Services {
            tasks: JoinSet::new(),
            names: HashMap::new(),
            cancel: cancel.clone(),
        };
        let (out_tx, out_rx) = tokio::sync::mpsc::channel(PUBLISH_QUEUE);
        let verifier = Verifier::new(
            store,
            settings.authority.clone(),
            authority_key,
            trust.clone(),
            Box::new(Publisher(out_tx)),
        );
        verifier.set_sealing(sealing);
        verifier.set_timezone(settings.timezone.clone());
        if recovering {
            let reason = "the store was missing at start: recovering this authority's log from \
                          trusted peers (tally run --new-log declares it new)";
            tracing::warn!(authority = %settings.authority, "{reason}; issuing answers 503 until a trusted peer confirms the head");
            verifier.begin_recovery(reason);
        }
        let (p2p, events) = tally_p2p::spawn(settings.p2p.clone(), node_key, cancel.child_token())
            .context("starting the p2p service")?;
        let peers = Arc::new(PeerTable::new(p2p.local_peer_id()));
        let metrics = Metrics::new();

        let watcher = TrustWatcher {
            dir: dir.clone(),
            store: verifier.store().clone(),
            trust,
            tokens: tokens.clone(),
            p2p: p2p.clone(),
            peers: peers.clone(),
            interval: Duration::from_millis(settings.sync.watch_interval_ms),
        };
        watcher.apply(trust_list).await;
        let c = cancel.clone();
        services.spawn("trust watcher", async move {
            watcher.run(c).await;
            Ok(())
        });
        let p = p2p.clone();
        services.spawn("p2p", async move {
            p.join().await;
            Ok(())
        });

        // `delivery.overdue` depends on the date: at start and every hour,
        // open those whose exits fell due since the last pass.
        let overdue = verifier.store().clone();
        let c = cancel.clone();
        services.spawn("overdue pass", async move {
            crate::overdue::run(overdue, crate::overdue::INTERVAL, c).await;
            Ok(())
        });

        let (jobs, job_rx) = SyncJobs::new();
        let worker = SyncWorker {
            verifier: verifier.clone(),
            p2p: p2p.clone(),
            peers: peers.clone(),
            metrics: metrics.clone(),
            jobs: jobs.clone(),
            interval: Duration::from_millis(settings.sync.interval_ms),
            range_limit: settings.sync.range_limit,
        };
        let c = cancel.clone();
        services.spawn("sync", async move {
            worker.run(job_rx, c).await;
            Ok(())
        });
        let router = Router {
            verifier: verifier.clone(),
            p2p: p2p.clone(),
            peers: peers.clone(),
            metrics: metrics.clone(),
            sync: jobs,
        };
        let c = cancel.clone();
        services.spawn("router", async move {
            router.run(events, out_rx, c.clone()).await;
            ended(&c, "the network's event stream ended")
        });

        let listener = api_listener(settings.api_listen)
            .with_context(|| format!("cannot listen on api.listen = {}", settings.api_listen))?;
        let api_addr = listener.local_addr()?;
        let card = Self::own_card(&settings, &verifier, &p2p)
            .await
            .ok()
            .map(Arc::new);
        let state = AppState {
            verifier: verifier.clone(),
            tokens,
            network: peers,
            metrics,
            card,
            rotator: Some(Arc::new(crate::rotate::KeyFiles::new(
                verifier.clone(),
                settings.authority_key.clone(),
                dir.card(),
                settings.encryption_key.clone(),
            ))),
            rate: Arc::new(tally_api::rate::RateLimiter::new(settings.api_rate)),
            token_slots: Arc::new(tally_api::rate::TokenSlots::new(
                settings.api_max_connections_per_token,
            )),
        };
        let c = cancel.clone();
        let server = ServerConfig {
            max_connections: settings.api_max_connections,
            ..ServerConfig::default()
        };
        services.spawn("api", async move {
            let drained = tally_api::server::serve_with(listener, state, server, async move {
                c.cancelled().await
            })
            .await
            .context("the HTTP server failed")?;
            if !drained.is_clean() {
                // The store stays open until that call returns.
                anyhow::bail!("a store call of an HTTP request was still running at shutdown");
            }
            Ok(())
        });
        // The full check, in the background once the node serves: every
        // log's chain (hashes, links, seqs, heads, hash index) and every
        // entry's signature. When it finds damage the store turns damaged:
        // health degraded, every read and check route 503, sync refused.
        // Spawned last, so a start that fails leaves no check running.
        let checked = verifier.clone();
        let own_card = dir.card();
        let c = cancel.clone();
        let checker = tokio::task::spawn_blocking(move || check_store(&checked, &own_card, &c));
        info!(authority = %settings.authority, peer = %p2p.local_peer_id(), api = %api_addr, "node started");
        Ok(Node {
            settings,
            verifier,
            p2p,
            api_addr,
            cancel,
            services,
            checker: Some(checker),
        })
    }

    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    pub fn peer_id(&self) -> PeerId {
        self.p2p.local_peer_id()
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn p2p(&self) -> &P2pHandle {
        &self.p2p
    }

    pub async fn listen_addrs(&self) -> anyhow::Result<Vec<Multiaddr>> {
        Ok(self.p2p.listen_addrs().await?)
    }

    /// This node's card with the addresses it actually listens on (useful
    /// when it was configured with `tcp/0`).
    pub async fn card(&self) -> anyhow::Result<Card> {
        Self::own_card(&self.settings, &self.verifier, &self.p2p).await
    }

    async fn own_card(
        settings: &Settings,
        verifier: &Verifier,
        p2p: &P2pHandle,
    ) -> anyhow::Result<Card> {
        let addrs = p2p.listen_addrs().await?;
        let public = verifier.public_key_hex();
        let keys = if verifier.store().damaged().is_some() {
            // The retired keys live in the log, which a damaged store
            // cannot be trusted (or safely read) for: the current key alone.
            vec![tally_model::CardKey::new(public.to_ascii_lowercase(), 0)]
        } else {
            crate::rotate::own_card_keys(verifier.store(), &settings.authority, &public)?
        };
        let encryption_keys = verifier
            .encryption_public()
            .map(|k| tally_model::CardKey {
                public_key: k.to_hex(),
                valid_from_ms: 0,
                valid_until_ms: None,
                retired_after_seq: None,
                compromised_after_seq: None,
            })
            .into_iter()
            .collect();
        Ok(Card {
            authority: settings.authority.clone(),
            country: settings.authority.country().to_string(),
            name: settings.name.clone(),
            peer_id: p2p.local_peer_id().to_string(),
            addresses: addrs.iter().map(|a| a.to_string()).collect(),
            keys,
            encryption_keys,
        })
    }

    /// Whether the full store check started in the background at start
    /// (chains and signatures) has finished (benchmarks wait for it, so
    /// that it does not share the cores with what they time).
    pub fn store_check_done(&self) -> bool {
        self.checker.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Stops every service and waits for them, the HTTP server's connections
    /// and the store calls its requests started included (for a bounded
    /// time, see [`tally_api::server::ServerConfig::shutdown_grace`]). When
    /// it returns, this node holds no store handle any more: the store is
    /// closed and the directory can be opened again, in this process too.
    pub async fn shutdown(self) {
        if let Err(e) = self.stop().await {
            tracing::error!(error = %format!("{e:#}"), "the node did not stop cleanly");
        }
    }

    /// [`Node::shutdown`], returning the first service that failed.
    async fn stop(mut self) -> anyhow::Result<()> {
        // A rebuild of the derived records (a key compromise declared while
        // running) stops at its next chunk; the next start finishes it.
        self.verifier.store().interrupt_rebuild();
        self.cancel.cancel();
        self.p2p.shutdown();
        self.p2p.join().await;
        let mut first = None;
        while let Some(done) = self.services.tasks.join_next_with_id().await {
            if let Some(e) = self.services.outcome(done) {
                first.get_or_insert(e);
            }
        }
        if let Some(checker) = self.checker.take()
            && checker.await.is_err()
        {
            first.get_or_insert(anyhow!("the background store check panicked"));
        }
        // The last handle: dropping it closes the store, and the engine
        // writes its allocator state. On a damaged file a released build of
        // it panicked there (issue 28, finding 9 re-probe: exit 101 on
        // SIGTERM): the node still stops cleanly, and says so.
        let verifier = self.verifier;
        let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(verifier)));
        if closed.is_err() {
            tracing::error!("closing the store panicked (the store is damaged)");
        }
        first.map_or(Ok(()), Err)
    }

    /// Runs until `stop` resolves (then shuts down and returns `Ok`) or a
    /// service ends on its own (then shuts down and returns its error,
    /// naming the service).
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let failed = tokio::select! {
            () = stop => None,
            Some(done) = self.services.tasks.join_next_with_id() => {
                // A task that ended on its own is a failure even if it says Ok.
                Some(self.services.outcome(done).unwrap_or_else(|| anyhow!("a service stopped unexpectedly")))
            }
        };
        match failed {
            None => self.stop().await,
            Some(e) => {
                tracing::error!(error = %format!("{e:#}"), "a node service stopped unexpectedly; shutting down");
                if let Err(more) = self.stop().await {
                    tracing::error!(error = %format!("{more:#}"), "the node did not stop cleanly");
                }
                Err(e)
            }
        }
    }
}

/// The background check of a running node: walks every log of the store
/// (see [`Store::check_chains`]) judging each entry's signature as `tally
/// verify-store` does, with progress in the log; marks the store damaged
/// when it finds anything wrong.
fn check_store(verifier: &Verifier, own_card: &Path, cancel: &CancellationToken) {
    let store = verifier.store();
    if store.damaged().is_some() {
        // The check before serving found damage already.
        return;
    }
    let started = std::time::Instant::now();
    info!("checking every log's chain and signatures in the background");
    let mut trust = verifier.trust();
    if let Ok(card) = files::read_card(own_card)
        && trust.card(&card.authority).is_none()
    {
        trust.cards.push(card);
    }
    let mut judge = crate::admin::SignatureJudge::new(verifier, trust);
    let mut last = std::time::Instant::now();
    let mut chunk = std::time::Instant::now();
    let mut progress = |p: tally_store::Progress| {
        if last.elapsed() >= Duration::from_secs(5) {
            info!(entries = p.entries, of = p.total, "store check progress");
            last = std::time::Instant::now();
        }
        // At low priority: rest as long as each chunk took, so the check
        // takes at most half a core from serving (at a million entries it
        // runs for about a minute this way instead of half that at full
        // speed).
        std::thread::sleep(chunk.elapsed().min(Duration::from_millis(200)));
        chunk = std::time::Instant::now();
    };
    let report = store.check_chains_until(&mut |e| judge.judge(e), &mut progress, &|| {
        cancel.is_cancelled()
    });
    if report.stopped {
        info!(
            entries = report.entries,
            "store check stopped: the node is stopping"
        );
        return;
    }
    if report.is_sound() {
        info!(
            logs = report.logs,
            entries = report.entries,
            unchecked = judge.unchecked,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store check: every log's chain and signatures are sound"
        );
    } else {
        for p in &report.problems {
            tracing::error!(problem = %p, "store check: damage");
        }
        store.set_damaged(format!(
            "the background check found a log damaged: {}; stop the node and run `tally verify-store`",
            report.summary()
        ));
    }
}
