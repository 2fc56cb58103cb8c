//! Shared test rig: start nodes with fixed keys on loopback, wait for conditions with a timeout.

use std::time::Duration;

use bytes::Bytes;
use tally_p2p::{
    Config, Keypair, MessageRef, Multiaddr, NetEvent, P2pHandle, PeerId, SyncAnswer, SyncQuery,
    Topic, spawn,
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Upper bound on any single wait; generous for a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn key(n: u8) -> Keypair {
    Keypair::ed25519_from_bytes([n; 32]).expect("32 bytes is a valid ed25519 secret key")
}

pub fn config() -> Config {
    Config {
        listen: "/ip4/127.0.0.1/tcp/0".to_owned(),
        redial_initial_ms: 50,
        redial_max_ms: 1000,
        ..Config::default()
    }
}

pub struct Node {
    pub handle: P2pHandle,
    pub events: mpsc::Receiver<NetEvent>,
    pub id: PeerId,
    pub addrs: Vec<Multiaddr>,
}

/// A gossip message as the node sees it.
pub struct Gossip {
    pub topic: Topic,
    pub from: PeerId,
    pub message: MessageRef,
    pub data: Bytes,
}

impl Node {
    pub async fn start(n: u8) -> Node {
        Node::start_with(n, config()).await
    }

    pub async fn start_with(n: u8, config: Config) -> Node {
        let (handle, events) =
            spawn(config, key(n), CancellationToken::new()).expect("service starts");
        let addrs = within("listen address", handle.listen_addrs())
            .await
            .expect("listening");
        Node {
            id: handle.local_peer_id(),
            handle,
            events,
            addrs,
        }
    }

    pub fn card(&self) -> (PeerId, Vec<Multiaddr>) {
        (self.id, self.addrs.clone())
    }

    pub async fn trust(&self, others: &[&Node]) {
        let list = others.iter().map(|o| o.card()).collect();
        self.handle.set_trusted(list).await.expect("set_trusted");
    }

    pub async fn is_connected_to(&self, other: &Node) -> bool {
        self.handle
            .connected_peers()
            .await
            .expect("connected_peers")
            .contains(&other.id)
    }

    /// The next event `pick` accepts; events it declines are dropped.
    pub async fn next_event<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(NetEvent) -> Option<T>,
    ) -> T {
        within(what, async {
            loop {
                let event = self.events.recv().await.expect("event channel open");
                if let Some(t) = pick(event) {
                    return t;
                }
            }
        })
        .await
    }

    pub async fn next_gossip(&mut self) -> Gossip {
        self.next_event("gossip", |e| match e {
            NetEvent::Gossip {
                topic,
                from,
                message,
                data,
            } => Some(Gossip {
                topic,
                from,
                message,
                data,
            }),
            _ => None,
        })
        .await
    }

    pub async fn next_query(&mut self) -> (PeerId, SyncQuery, oneshot::Sender<SyncAnswer>) {
        self.next_event("sync query", |e| match e {
            NetEvent::SyncQuery { from, query, reply } => Some((from, query, reply)),
            _ => None,
        })
        .await
    }

    /// Stops the service and waits for its task to end.
    pub async fn stop(self) {
        self.handle.shutdown();
        within("shutdown", self.handle.join()).await;
    }
}

/// Awaits `f`, failing the test if it takes longer than [`WAIT`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Polls `check` until it holds, failing the test after [`WAIT`].
pub async fn eventually(what: &str, check: impl AsyncFnMut() -> bool) {
    if let Err(e) = tally_testkit::wait_until(WAIT, what, check).await {
        panic!("{e}");
    }
}

/// Publishes `data` from `from` until `to` receives it. Early publishes can
/// reach nobody (the peer's subscription has not arrived yet); later ones are
/// duplicates and no-ops, so exactly one copy travels.
pub async fn publish_until_received(
    from: &Node,
    to: &mut Node,
    topic: Topic,
    data: &[u8],
) -> Gossip {
    within("gossip delivery", async {
        loop {
            from.handle
                .publish(topic, Bytes::copy_from_slice(data))
                .await
                .expect("publish");
            let got = tokio::time::timeout(Duration::from_millis(300), to.next_gossip()).await;
            if let Ok(gossip) = got {
                return gossip;
            }
        }
    })
    .await
}
