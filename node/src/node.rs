//! The composition root: opens the store, loads keys and trust, and starts
//! the swarm, the router, the sync worker, the trust watcher and the API,
//! all under one cancellation token.

use crate::config::{Config, NodeDir, Settings};
use crate::peers::PeerTable;
use crate::router::{Publisher, Router};
use crate::sync::{SyncJobs, SyncWorker};
use crate::watch::TrustWatcher;
use crate::{files, keys};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tally_api::tokens::TokenBook;
use tally_api::{AppState, Metrics};
use tally_model::{Card, CardKey};
use tally_p2p::{Multiaddr, P2pHandle, PeerId};
use tally_store::Store;
use tally_verify::Verifier;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Capacity of the queue from the verifier to the network.
const PUBLISH_QUEUE: usize = 1024;

/// A running node.
pub struct Node {
    settings: Settings,
    verifier: Verifier,
    p2p: P2pHandle,
    api_addr: SocketAddr,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Node {
    /// Starts the node of directory `dir` as its `tally.toml` says; returns
    /// once the API listens.
    pub async fn start(dir: &Path) -> anyhow::Result<Node> {
        let dir = NodeDir(dir.to_path_buf());
        Node::start_with(Config::load(&dir)?.settings(&dir)?).await
    }

    /// Starts a node with settings built in code (tests tune them this way
    /// rather than by rewriting `tally.toml`); returns once the API listens.
    pub async fn start_with(settings: Settings) -> anyhow::Result<Node> {
        let dir = settings.dir.clone();
        let authority_key = keys::load_authority_key(&settings.authority_key)?;
        let node_key = keys::load_node_key(&settings.node_key)?;
        let trust_list = files::read_trust(&dir.trust())?;
        let tokens = Arc::new(RwLock::new(
            TokenBook::load(dir.tokens()).context("loading tokens")?,
        ));
        let (path, engine) = (settings.store_path.clone(), settings.engine);
        let store = tokio::task::spawn_blocking(move || Store::open(&path, engine))
            .await?
            .with_context(|| format!("opening the store at {}", settings.store_path.display()))?;

        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let trust = Arc::new(RwLock::new(trust_list.clone()));
        let (out_tx, out_rx) = tokio::sync::mpsc::channel(PUBLISH_QUEUE);
        let verifier = Verifier::new(
            store,
            settings.authority.clone(),
            authority_key,
            trust.clone(),
            Box::new(Publisher(out_tx)),
        );
        let (p2p, events) = tally_p2p::spawn(settings.p2p.clone(), node_key, cancel.child_token())
            .context("starting the p2p service")?;
        let peers = Arc::new(PeerTable::new(p2p.local_peer_id()));
        let metrics = Metrics::new();

        let watcher = TrustWatcher {
            dir: dir.clone(),
            trust,
            tokens: tokens.clone(),
            p2p: p2p.clone(),
            peers: peers.clone(),
            interval: Duration::from_millis(settings.sync.watch_interval_ms),
        };
        watcher.apply(trust_list).await;
        tasks.spawn(watcher.run(cancel.clone()));

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
        tasks.spawn(worker.run(job_rx, cancel.clone()));
        let router = Router {
            verifier: verifier.clone(),
            p2p: p2p.clone(),
            peers: peers.clone(),
            metrics: metrics.clone(),
            sync: jobs,
        };
        tasks.spawn(router.run(events, out_rx, cancel.clone()));

        let listener = tokio::net::TcpListener::bind(settings.api_listen)
            .await
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
        };
        let c = cancel.clone();
        tasks.spawn(async move {
            if let Err(e) =
                tally_api::serve(listener, state, async move { c.cancelled().await }).await
            {
                tracing::error!(error = %e, "API server failed");
            }
        });
        info!(authority = %settings.authority, peer = %p2p.local_peer_id(), api = %api_addr, "node started");
        Ok(Node {
            settings,
            verifier,
            p2p,
            api_addr,
            cancel,
            tasks,
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
        Ok(Card {
            authority: settings.authority.clone(),
            country: settings.authority.country().to_string(),
            name: settings.name.clone(),
            peer_id: p2p.local_peer_id().to_string(),
            addresses: addrs.iter().map(|a| a.to_string()).collect(),
            keys: vec![CardKey {
                public_key: public,
                valid_from_ms: 0,
                valid_until_ms: None,
            }],
        })
    }

    /// Stops every service and waits for them; the store is closed when the
    /// last handle drops.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        self.p2p.shutdown();
        self.p2p.join().await;
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until a task ends on its own (a fatal error) or `stop` resolves.
    pub async fn run_until(
        mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            _ = stop => {}
            _ = self.tasks.join_next() => {
                tracing::error!("a node service stopped unexpectedly; shutting down");
            }
        }
        self.shutdown().await;
        Ok(())
    }
}
