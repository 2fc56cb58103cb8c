//! The composition root: [`Node::spawn`] reads the node directory's files,
//! opens the store, builds the verifier, and spawns each service with its
//! settings and the handles they share, all under one cancellation token.
//! The steps before serving are in `startup.rs`, the services in
//! `services.rs`; [`Node`] is what runs, until [`Node::shutdown`] or
//! [`Node::run_until`].

use crate::config::Settings;
use crate::router::Publisher;
use crate::services::{Handles, Services};
use crate::startup::{self, NodeFiles};
use anyhow::{Context, anyhow};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tally_model::{Card, CardKey};
use tally_p2p::{Multiaddr, P2pHandle, PeerId};
use tally_verify::Verifier;
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
    services: Services,
    /// The background store check: it stops when the node is cancelled, and
    /// the node waits for it, so no store handle outlives [`Node::shutdown`].
    checker: Option<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// Starts the node of directory `dir` as its `tally.toml` says (what
    /// the benchmarks and most tests start); returns once the API listens.
    pub async fn start(dir: &Path) -> anyhow::Result<Node> {
        Node::spawn(Settings::load(dir)?).await
    }

    /// Starts the node `settings` describe (`tally run` sets `new_log`,
    /// tests shorten intervals) and returns once the API listens: reads the
    /// directory's files, opens the store, builds the verifier, then spawns
    /// each service with its settings and the handles they share.
    pub async fn spawn(settings: Settings) -> anyhow::Result<Node> {
        // A bad key file refuses the start before anything (the store) is created.
        let files = NodeFiles::load(&settings)?;
        let opened = startup::open_store(&settings, files.opener(&settings)).await?;
        let authority_key = startup::settle_keys(&settings, &opened, &files)?;
        startup::apply_pending(&opened.store, &files.trust_list, files.opener(&settings)).await?;
        let (publisher, outgoing) = Publisher::channel(PUBLISH_QUEUE);
        let verifier = startup::verifier(&settings, opened, &files, authority_key, publisher);

        let cancel = CancellationToken::new();
        let mut services = Services::new(cancel.clone());
        let NodeFiles {
            node_key,
            trust_list,
            trust,
            tokens,
            ..
        } = files;
        let (p2p, events) = tally_p2p::spawn(settings.p2p.clone(), node_key, cancel.child_token())
            .context("starting the p2p service")?;
        let handles = Handles::new(verifier.clone(), p2p.clone());
        services
            .spawn_trust_watcher(&settings, &handles, trust, tokens.clone(), trust_list)
            .await;
        services.spawn_p2p(&p2p);
        services.spawn_overdue_pass(&handles);
        if settings.signing.is_some() {
            services.spawn_signer_watch(&handles);
        }
        let sync = services.spawn_sync(&settings, &handles);
        services.spawn_router(&handles, sync, events, outgoing);
        let card = own_card(&settings, &verifier, &p2p)
            .await
            .ok()
            .map(Arc::new);
        let paper = match settings.paper {
            true => Some(crate::paper::settle(&settings, &verifier)?),
            false => None,
        };
        let api_addr = services.spawn_api(&settings, &handles, tokens, card, paper)?;
        // Spawned last, so a start that fails leaves no check running.
        let checker = crate::integrity::spawn_background_check(
            &verifier,
            settings.dir.card(),
            cancel.clone(),
        );
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
        own_card(&self.settings, &self.verifier, &self.p2p).await
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
        self.verifier.interrupt_rebuild();
        self.cancel.cancel();
        self.p2p.shutdown();
        self.p2p.join().await;
        let mut first = None;
        while let Some(ended) = self.services.next_ended().await {
            if let Some(e) = ended {
                first.get_or_insert(e);
            }
        }
        if let Some(checker) = self.checker.take()
            && checker.await.is_err()
        {
            first.get_or_insert(anyhow!("the background store check panicked"));
        }
        // The last handle: dropping it closes the store.
        // Dropping the last handle closes the store, and the engine writes
        // its allocator state. On a damaged file a release build of it
        // panicked there (exit 101 on SIGTERM): the node still stops
        // cleanly, and says so.
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
            Some(ended) = self.services.next_ended() => {
                // A task that ended on its own is a failure even if it says Ok.
                Some(ended.unwrap_or_else(|| anyhow!("a service stopped unexpectedly")))
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

/// This node's card: its signing keys as its log retired them, its
/// encryption key, and the addresses it actually listens on (useful when it
/// was configured with `tcp/0`).
async fn own_card(
    settings: &Settings,
    verifier: &Verifier,
    p2p: &P2pHandle,
) -> anyhow::Result<Card> {
    let addrs = p2p.listen_addrs().await?;
    let public = verifier.public_key_hex();
    let keys = if verifier.store_health().damaged.is_some() {
        // The retired keys live in the log, which a damaged store cannot be
        // trusted (or safely read) for: the current key alone.
        vec![CardKey::new(public.to_ascii_lowercase(), 0)]
    } else {
        crate::rotate::own_card_keys(&verifier.reader()?, &settings.authority, &public)?
    };
    let encryption_keys = verifier
        .encryption_public()
        .map(|k| CardKey::new(k.to_hex(), 0))
        .into_iter()
        .collect();
    Ok(Card {
        contact: settings.contact.clone(),
        authority: settings.authority.clone(),
        country: settings.authority.country().to_string(),
        name: settings.name.clone(),
        peer_id: p2p.local_peer_id().to_string(),
        addresses: addrs.iter().map(|a| a.to_string()).collect(),
        keys,
        encryption_keys,
    })
}
