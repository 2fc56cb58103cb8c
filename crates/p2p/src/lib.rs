//! `tally-p2p`: Tally's libp2p swarm. It moves bytes between trusted peers and
//! knows peer ids and topics, never licenses, entries' meaning or the store.
//!
//! # Layout
//!
//! - `config`: [`Config`] (operator-facing, serde) and its checked runtime form.
//! - `service`: [`spawn`] and the one task that owns the `Swarm`.
//! - `handle`: [`P2pHandle`] (commands in) and [`NetEvent`] (events out).
//! - `behaviour`: the composed libp2p behaviours (allow list, connection
//!   limits, gossipsub, `/tally/sync/1`, identify, ping).
//! - `gossip`: topics, message ids, gossipsub and peer-score settings.
//! - `sync`: the sync query/answer types and their wire conversion and bounds.
//! - `codec`: length-prefixed prost frames for `/tally/sync/1`.
//! - `dialer`: trusted peers and redial backoff.
//! - `inbound`: peers' sync queries waiting for the node, and their bounds.
//! - `error`: [`Error`].
//!
//! # How a node uses it
//!
//! `spawn` returns a handle and an event receiver. The node calls
//! `set_trusted` with its trust list (and again whenever the list changes),
//! then loops over events: every [`NetEvent::Gossip`] gets exactly one
//! [`P2pHandle::report`] (Accept forwards it, Reject also penalises the
//! sender); every [`NetEvent::SyncQuery`] gets an answer through its `reply`.
//! On [`NetEvent::PeerConnected`] and on a timer it pulls with
//! [`P2pHandle::heads`] and [`P2pHandle::range`], since gossip alone does not
//! guarantee delivery.

mod behaviour;
mod codec;
mod config;
mod dialer;
mod error;
mod gossip;
mod handle;
mod inbound;
mod service;
mod sync;

pub use config::Config;
pub use error::Error;
pub use gossip::{Acceptance, MessageRef, Topic};
pub use handle::{NetEvent, P2pHandle};
pub use libp2p::identity::Keypair;
pub use libp2p::{Multiaddr, PeerId};
pub use service::spawn;
pub use sync::{Head, SyncAnswer, SyncQuery};
