//! The node's services, each a named task under the node's cancellation
//! token: the trust watcher, the swarm, the overdue pass, the sync worker,
//! the router and the HTTP API. Each is spawned here with its part of the
//! settings and the handles the services share ([`Handles`]).
//!
//! Every service returns why it ended: a service that ends before the node
//! is told to stop is a failure, and [`crate::Node::run_until`] returns it
//! (so `tally run` exits non-zero and systemd's `Restart=on-failure`
//! restarts the node).

use crate::config::Settings;
use crate::peers::PeerTable;
use crate::router::{Outgoing, Router};
use crate::sync::{SyncJobs, SyncWorker};
use crate::watch::TrustWatcher;
use anyhow::{Context, anyhow};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tally_api::server::ServerConfig;
use tally_api::tokens::TokenBook;
use tally_api::{AppState, Metrics};
use tally_model::{Card, TrustList};
use tally_p2p::{NetEvent, P2pHandle};
use tally_verify::Verifier;
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

/// The API listener's backlog (the kernel caps it at `net.core.somaxconn`):
/// clients beyond `api.max_connections` wait there until a slot frees. The
/// default of `TcpListener::bind` (128 here) made a client beyond 1,024 + 128
/// held connections lose its SYN and retry after 1, 3, 7 s, so health could
/// not answer soon after a slow-client flood was cut off.
const API_BACKLOG: u32 = 4096;

/// Binds the HTTP API's listener with [`API_BACKLOG`].
fn api_listener(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(API_BACKLOG)
}

/// What the services share; cheap to clone.
#[derive(Clone)]
pub(crate) struct Handles {
    pub verifier: Verifier,
    pub p2p: P2pHandle,
    /// The peer table behind `/v1/status`.
    pub peers: Arc<PeerTable>,
    pub metrics: Metrics,
}

impl Handles {
    pub fn new(verifier: Verifier, p2p: P2pHandle) -> Handles {
        Handles {
            peers: Arc::new(PeerTable::new(p2p.local_peer_id())),
            verifier,
            p2p,
            metrics: Metrics::new(),
        }
    }
}

/// The node's tasks, each under a name that errors and logs use.
pub(crate) struct Services {
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
    /// No service yet; every one spawned stops when `cancel` is cancelled.
    pub fn new(cancel: CancellationToken) -> Services {
        Services {
            tasks: JoinSet::new(),
            names: HashMap::new(),
            cancel,
        }
    }

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

    /// Waits for the next service to end: `None` when none is left,
    /// otherwise its error (`None` inside when it ended as asked).
    pub async fn next_ended(&mut self) -> Option<Option<anyhow::Error>> {
        let done = self.tasks.join_next_with_id().await?;
        Some(self.outcome(done))
    }

    /// The trust watcher: applies `trust_list` (the one read at start) now,
    /// then every change of `trust.toml` and `tokens.toml`.
    pub async fn spawn_trust_watcher(
        &mut self,
        settings: &Settings,
        handles: &Handles,
        trust: Arc<RwLock<TrustList>>,
        tokens: Arc<RwLock<TokenBook>>,
        trust_list: TrustList,
    ) {
        let watcher = TrustWatcher {
            dir: settings.dir.clone(),
            verifier: handles.verifier.clone(),
            trust,
            tokens,
            p2p: handles.p2p.clone(),
            peers: handles.peers.clone(),
            interval: Duration::from_millis(settings.sync.watch_interval_ms),
        };
        watcher.apply(trust_list).await;
        let c = self.cancel.clone();
        self.spawn("trust watcher", async move {
            watcher.run(c).await;
            Ok(())
        });
    }

    /// The swarm: its task ends when the p2p service does.
    pub fn spawn_p2p(&mut self, p2p: &P2pHandle) {
        let p = p2p.clone();
        self.spawn("p2p", async move {
            p.join().await;
            Ok(())
        });
    }

    /// `delivery.overdue` depends on the date: at start and every hour,
    /// open those whose exits fell due since the last pass.
    pub fn spawn_overdue_pass(&mut self, handles: &Handles) {
        let overdue = handles.verifier.clone();
        let c = self.cancel.clone();
        self.spawn("overdue pass", async move {
            crate::overdue::run(overdue, crate::overdue::INTERVAL, c).await;
            Ok(())
        });
    }

    /// While the signing token is away, looks for it once a second, so that
    /// health recovers without a write (crate::signing).
    pub fn spawn_signer_watch(&mut self, handles: &Handles) {
        let verifier = handles.verifier.clone();
        let c = self.cancel.clone();
        self.spawn("signing token watch", async move {
            crate::signing::watch(verifier, c).await;
            Ok(())
        });
    }

    /// The sync worker; returns the queue of sync rounds it serves.
    pub fn spawn_sync(&mut self, settings: &Settings, handles: &Handles) -> SyncJobs {
        let (jobs, job_rx) = SyncJobs::new();
        let worker = SyncWorker {
            verifier: handles.verifier.clone(),
            p2p: handles.p2p.clone(),
            peers: handles.peers.clone(),
            metrics: handles.metrics.clone(),
            jobs: jobs.clone(),
            interval: Duration::from_millis(settings.sync.interval_ms),
            range_limit: settings.sync.range_limit,
        };
        let c = self.cancel.clone();
        self.spawn("sync", async move {
            worker.run(job_rx, c).await;
            Ok(())
        });
        jobs
    }

    /// The router: the network's events in, what the verifier signed out.
    pub fn spawn_router(
        &mut self,
        handles: &Handles,
        sync: SyncJobs,
        events: mpsc::Receiver<NetEvent>,
        outgoing: mpsc::Receiver<Outgoing>,
    ) {
        let router = Router {
            verifier: handles.verifier.clone(),
            p2p: handles.p2p.clone(),
            peers: handles.peers.clone(),
            metrics: handles.metrics.clone(),
            sync,
        };
        let c = self.cancel.clone();
        self.spawn("router", async move {
            router.run(events, outgoing, c.clone()).await;
            ended(&c, "the network's event stream ended")
        });
    }

    /// The HTTP API on `api.listen` (bound now: a start fails when it is
    /// taken); returns the address it listens on.
    pub fn spawn_api(
        &mut self,
        settings: &Settings,
        handles: &Handles,
        tokens: Arc<RwLock<TokenBook>>,
        card: Option<Arc<Card>>,
        paper: Option<Arc<dyn tally_model::signer::Signer>>,
    ) -> anyhow::Result<SocketAddr> {
        let listener = api_listener(settings.api_listen)
            .with_context(|| format!("cannot listen on api.listen = {}", settings.api_listen))?;
        let addr = listener.local_addr()?;
        let mut state = api_state(settings, handles, tokens, card)?;
        if let Some(signer) = paper {
            let desk = tally_api::paper::PaperDesk::new(signer, settings.dir.paper_prints())
                .with_contact(settings.contact.clone());
            state = state.with_paper(desk);
        }
        let server = ServerConfig {
            max_connections: settings.api_max_connections,
            ..ServerConfig::default()
        };
        let c = self.cancel.clone();
        self.spawn("api", async move {
            let drained =
                tally_api::serve(listener, state, server, async move { c.cancelled().await })
                    .await
                    .context("the HTTP server failed")?;
            if !drained.is_clean() {
                // The store stays open until that call returns.
                anyhow::bail!("a store call of an HTTP request was still running at shutdown");
            }
            Ok(())
        });
        Ok(addr)
    }
}

/// What the API's handlers touch: the shared handles, the tokens, this
/// node's card, its key files (for rotations) and the per-token limits.
fn api_state(
    settings: &Settings,
    handles: &Handles,
    tokens: Arc<RwLock<TokenBook>>,
    card: Option<Arc<Card>>,
) -> anyhow::Result<AppState> {
    let drafts = settings.dir.drafts();
    let drafts = tally_api::drafts::Drafts::open(&drafts)
        .with_context(|| format!("cannot read the drafts in {}", drafts.display()))?;
    Ok(AppState {
        verifier: handles.verifier.clone(),
        tokens,
        network: handles.peers.clone(),
        metrics: handles.metrics.clone(),
        card,
        rotator: Some(Arc::new(crate::rotate::KeyFiles {
            in_token: std::sync::Mutex::new(settings.signing.clone()),
            ..crate::rotate::KeyFiles::new(
                handles.verifier.clone(),
                settings.authority_key.clone(),
                settings.dir.card(),
                settings.encryption_key.clone(),
            )
        })),
        rate: Arc::new(tally_api::rate::RateLimiter::new(settings.api_rate)),
        token_slots: Arc::new(tally_api::rate::TokenSlots::new(
            settings.api_max_connections_per_token,
        )),
        approvals: settings.approvals,
        drafts: Arc::new(drafts),
        paper: None,
    })
}
