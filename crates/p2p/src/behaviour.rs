//! The composed `NetworkBehaviour`: which libp2p protocols run on every connection, and in what order.

use libp2p::{
    allow_block_list, connection_limits, gossipsub, identify, identity::Keypair, ping,
    request_response, swarm::NetworkBehaviour,
};

use crate::codec::{PROTOCOL, SyncCodec};
use crate::config::Settings;
use crate::{Error, gossip};

/// Protocol version announced by identify; a peer on another major version is
/// visible in logs rather than failing obscurely.
const IDENTIFY_PROTOCOL: &str = "/tally/1.0.0";

/// Field order matters: the swarm asks each behaviour in turn whether to
/// accept a connection, so the allow list refuses untrusted peers before any
/// other behaviour (or the connection count) sees them.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    pub limits: connection_limits::Behaviour,
    pub gossipsub: gossipsub::Behaviour,
    pub sync: request_response::Behaviour<SyncCodec>,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
}

impl Behaviour {
    pub fn new(key: &Keypair, s: &Settings) -> Result<Self, Error> {
        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(s.max_connections))
            .with_max_established_per_peer(Some(s.max_connections_per_peer))
            .with_max_pending_incoming(Some(s.max_pending_incoming));
        let sync = request_response::Behaviour::with_codec(
            SyncCodec {
                max_response_bytes: s.max_response_bytes,
            },
            [(PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(s.sync_request_timeout)
                // Streams per connection, both directions: our own requests plus
                // the peer's allowance, so a peer cannot open more than it may use.
                .with_max_concurrent_streams(
                    s.max_inbound_sync_per_peer
                        .saturating_add(s.max_outbound_sync),
                ),
        );
        Ok(Behaviour {
            allow: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(limits),
            gossipsub: gossip::behaviour(s)?,
            sync,
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.to_owned(),
                key.public(),
            )),
            ping: ping::Behaviour::default(),
        })
    }
}
