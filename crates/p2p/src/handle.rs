//! The node-facing API: `P2pHandle` (commands into the swarm task over a bounded channel, each
//! with a oneshot reply) and `NetEvent` (what the swarm task tells the node).

use bytes::Bytes;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::gossip::{Acceptance, MessageRef, Topic};
use crate::sync::{Answered, Head, SyncAnswer, SyncQuery};

/// What the swarm task tells the node. Events come only from trusted peers.
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message waiting for a verdict. The node must call
    /// [`P2pHandle::report`] with `message` once, within the configured
    /// `gossip_verdict_window_ms`; nothing is forwarded before Accept.
    Gossip {
        topic: Topic,
        /// The peer that forwarded it (Reject lowers this peer's score).
        from: PeerId,
        message: MessageRef,
        data: Bytes,
    },
    /// A peer's sync query. Answer through `reply` within
    /// `sync_request_timeout_ms`; dropping `reply` answers the peer with an error.
    SyncQuery {
        from: PeerId,
        query: SyncQuery,
        reply: oneshot::Sender<SyncAnswer>,
    },
    /// The first connection to a trusted peer is up: a good moment to pull.
    PeerConnected(PeerId),
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
}

pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Bytes,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Report {
        message: MessageRef,
        acceptance: Acceptance,
    },
    SetTrusted {
        peers: Vec<(PeerId, Vec<Multiaddr>)>,
        reply: oneshot::Sender<()>,
    },
    Sync {
        peer: PeerId,
        query: SyncQuery,
        reply: oneshot::Sender<Result<Answered, Error>>,
    },
    ConnectedPeers {
        reply: oneshot::Sender<Vec<PeerId>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Result<Vec<Multiaddr>, Error>>,
    },
}

/// A cloneable handle to the swarm task. Every call is a command over a
/// bounded channel (it waits while the channel is full) and fails with
/// [`Error::Shutdown`] once the task has stopped.
#[derive(Debug, Clone)]
pub struct P2pHandle {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) local_peer_id: PeerId,
    /// Child of the token given to `spawn`: `shutdown` stops this service only.
    pub(crate) cancel: CancellationToken,
    /// Cancelled when the swarm task has returned (or panicked).
    pub(crate) finished: CancellationToken,
}

impl P2pHandle {
    /// This node's peer id (derived from the libp2p identity key).
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Asks the swarm task to stop. Returns at once; see [`P2pHandle::join`].
    pub fn shutdown(&self) {
        self.cancel.cancel();
    }

    /// Waits until the swarm task has stopped and dropped its connections.
    pub async fn join(&self) {
        self.finished.cancelled().await;
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)
    }

    /// Publishes `data` on `topic` to every subscribed peer. Having no peers
    /// yet is not an error: the message is simply not sent, and the pull
    /// (anti-entropy) path delivers it later.
    pub async fn publish(&self, topic: Topic, data: Bytes) -> Result<(), Error> {
        self.call(|reply| Command::Publish { topic, data, reply })
            .await?
    }

    /// Gives the node's verdict on a received gossip message.
    pub async fn report(&self, message: MessageRef, acceptance: Acceptance) -> Result<(), Error> {
        self.commands
            .send(Command::Report {
                message,
                acceptance,
            })
            .await
            .map_err(|_| Error::Shutdown)
    }

    /// Replaces the trusted peers (the allow list). New peers are dialed at
    /// the given addresses and redialed with backoff while not connected;
    /// peers no longer listed are disconnected. A peer with no addresses is
    /// allowed to connect but never dialed.
    pub async fn set_trusted(&self, peers: Vec<(PeerId, Vec<Multiaddr>)>) -> Result<(), Error> {
        self.call(|reply| Command::SetTrusted { peers, reply })
            .await
    }

    async fn sync(&self, peer: PeerId, query: SyncQuery) -> Result<Answered, Error> {
        self.call(|reply| Command::Sync { peer, query, reply })
            .await?
    }

    /// Asks a trusted peer for the heads of every log it holds.
    pub async fn heads(&self, peer: PeerId) -> Result<Vec<Head>, Error> {
        match self.sync(peer, SyncQuery::Heads).await? {
            Answered::Heads(heads) => Ok(heads),
            Answered::Refused(message) => Err(Error::Refused { peer, message }),
            Answered::Range(_) | Answered::Empty => Err(Error::UnexpectedResponse { peer }),
        }
    }

    /// Asks a trusted peer for up to `limit` encoded `SignedEntry`s of
    /// `authority`'s log from `from` (`limit` 0: as many as the peer allows).
    /// The peer may send fewer (its own bounds); more than `limit` are dropped.
    /// The entries are unverified bytes.
    pub async fn range(
        &self,
        peer: PeerId,
        authority: String,
        from: u64,
        limit: u32,
    ) -> Result<Vec<Bytes>, Error> {
        let query = SyncQuery::Range {
            authority,
            from,
            limit,
        };
        match self.sync(peer, query).await? {
            Answered::Range(mut entries) => {
                if limit > 0 {
                    entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                }
                Ok(entries)
            }
            Answered::Refused(message) => Err(Error::Refused { peer, message }),
            Answered::Heads(_) | Answered::Empty => Err(Error::UnexpectedResponse { peer }),
        }
    }

    /// Asks a trusted peer for the equivocation proofs it holds (encoded,
    /// unverified; at most the peer's range bound).
    pub async fn evidence(&self, peer: PeerId) -> Result<Vec<Bytes>, Error> {
        match self.sync(peer, SyncQuery::Evidence).await? {
            Answered::Range(proofs) => Ok(proofs),
            Answered::Refused(message) => Err(Error::Refused { peer, message }),
            Answered::Heads(_) | Answered::Empty => Err(Error::UnexpectedResponse { peer }),
        }
    }

    /// Peers with at least one open connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, Error> {
        self.call(|reply| Command::ConnectedPeers { reply }).await
    }

    /// The addresses the node actually listens on (the bound port when
    /// configured with `tcp/0`). Waits until at least one is known.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, Error> {
        self.call(|reply| Command::ListenAddrs { reply }).await?
    }
}
