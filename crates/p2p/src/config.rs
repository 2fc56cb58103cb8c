//! `Config` (what an operator writes) and `Settings` (the checked runtime form the swarm task uses).

use std::time::Duration;

use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Networking settings of one node. Every bound here exists so that a peer,
/// trusted or not, cannot make the node use unbounded memory or time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Multiaddr the node listens on for peer connections. Other authorities
    /// put this (with the public host) in the node's card, so it should be stable;
    /// `/ip4/127.0.0.1/tcp/0` is for tests.
    pub listen: String,
    /// Largest gossip message (an encoded `SignedEntry` or an evidence blob), in
    /// bytes. Larger messages are refused on publish and rejected on receipt, so
    /// one peer cannot make every node buffer huge payloads.
    pub max_gossip_bytes: usize,
    /// Most entries returned in one sync `Range` response; a requested `limit`
    /// above this (or 0) is clamped to it. Bounds the work one request causes.
    pub max_range_entries: u32,
    /// Largest encoded sync response, in bytes: responses we send are truncated
    /// to fit and larger responses we receive are refused before allocating.
    /// Must be at least `max_gossip_bytes` so any entry fits in a response.
    pub max_response_bytes: usize,
    /// How long a sync request (ours or a peer's) may take before it is failed,
    /// so a silent peer or a slow node does not hold a slot forever.
    pub sync_request_timeout_ms: u64,
    /// Inbound sync requests one peer may have waiting for this node's answer;
    /// more are refused with an error so one peer cannot starve the others.
    pub max_inbound_sync_per_peer: usize,
    /// Inbound sync requests all peers together may have waiting; more are refused.
    pub max_inbound_sync_total: usize,
    /// Outbound sync requests this node may have in flight; more fail with `Busy`.
    pub max_outbound_sync: usize,
    /// Established connections in total. Peers are trusted authorities, so this
    /// only needs to exceed twice the size of the trust list.
    pub max_connections: u32,
    /// Established connections per peer. 2 lets two nodes that dial each other
    /// at the same moment keep both connections instead of refusing each other's.
    pub max_connections_per_peer: u32,
    /// Incoming connections still in the handshake. The allow list can only
    /// refuse a peer after the handshake reveals its id, so this bounds what
    /// untrusted dialers cost.
    pub max_pending_incoming: u32,
    /// First delay before redialing a trusted peer that is not connected; it
    /// doubles on each failure up to `redial_max_ms`.
    pub redial_initial_ms: u64,
    /// Longest delay between redials of an unreachable trusted peer, so a peer
    /// that comes back is found again within this time.
    pub redial_max_ms: u64,
    /// Gossipsub heartbeat. Meshes are repaired and lazy gossip sent once per
    /// heartbeat, so a short one makes propagation quick in a small network.
    pub gossip_heartbeat_ms: u64,
    /// How long a received gossip message waits for the node's verdict. It is
    /// only forwarded on Accept while it is still cached; after this window an
    /// Accept forwards nothing (the pull path still delivers it to peers).
    pub gossip_verdict_window_ms: u64,
    /// Capacity of the handle -> swarm command channel; callers wait when it is full.
    pub command_capacity: usize,
    /// Capacity of the swarm -> node event channel. When it is full the swarm
    /// does not wait: gossip is ignored and sync queries are refused.
    pub event_capacity: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "/ip4/0.0.0.0/tcp/4710".to_owned(),
            max_gossip_bytes: 1024 * 1024,
            max_range_entries: 512,
            max_response_bytes: 4 * 1024 * 1024,
            sync_request_timeout_ms: 10_000,
            max_inbound_sync_per_peer: 8,
            max_inbound_sync_total: 64,
            max_outbound_sync: 64,
            max_connections: 256,
            max_connections_per_peer: 2,
            max_pending_incoming: 32,
            redial_initial_ms: 500,
            redial_max_ms: 30_000,
            gossip_heartbeat_ms: 300,
            gossip_verdict_window_ms: 10_000,
            command_capacity: 256,
            event_capacity: 1024,
        }
    }
}

/// `Config` after checking, in the types the swarm task needs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub listen: Multiaddr,
    pub max_gossip_bytes: usize,
    pub max_range_entries: u32,
    pub max_response_bytes: usize,
    pub sync_request_timeout: Duration,
    pub max_inbound_sync_per_peer: usize,
    pub max_inbound_sync_total: usize,
    pub max_outbound_sync: usize,
    pub max_connections: u32,
    pub max_connections_per_peer: u32,
    pub max_pending_incoming: u32,
    pub redial_initial: Duration,
    pub redial_max: Duration,
    pub gossip_heartbeat: Duration,
    pub gossip_verdict_window: Duration,
    pub command_capacity: usize,
    pub event_capacity: usize,
}

fn positive<T: PartialOrd + Default>(key: &'static str, v: T) -> Result<T, Error> {
    if v > T::default() {
        Ok(v)
    } else {
        Err(Error::Config {
            key,
            reason: "must be greater than 0".to_owned(),
        })
    }
}

fn millis(key: &'static str, ms: u64) -> Result<Duration, Error> {
    positive(key, ms).map(Duration::from_millis)
}

impl TryFrom<&Config> for Settings {
    type Error = Error;

    fn try_from(c: &Config) -> Result<Self, Error> {
        let listen = c.listen.parse::<Multiaddr>().map_err(|e| Error::Config {
            key: "listen",
            reason: format!("not a multiaddr: {e}"),
        })?;
        // Gossipsub refuses a frame limit under 100 bytes; nothing useful is that small anyway.
        if c.max_gossip_bytes < 1024 {
            return Err(Error::Config {
                key: "max_gossip_bytes",
                reason: "must be at least 1024".to_owned(),
            });
        }
        if c.max_response_bytes < c.max_gossip_bytes {
            return Err(Error::Config {
                key: "max_response_bytes",
                reason: "must be at least max_gossip_bytes so any entry fits in a response"
                    .to_owned(),
            });
        }
        let redial_initial = millis("redial_initial_ms", c.redial_initial_ms)?;
        let redial_max = millis("redial_max_ms", c.redial_max_ms)?;
        if redial_max < redial_initial {
            return Err(Error::Config {
                key: "redial_max_ms",
                reason: "must be at least redial_initial_ms".to_owned(),
            });
        }
        let gossip_heartbeat = millis("gossip_heartbeat_ms", c.gossip_heartbeat_ms)?;
        let gossip_verdict_window = millis("gossip_verdict_window_ms", c.gossip_verdict_window_ms)?;
        if gossip_verdict_window < gossip_heartbeat {
            return Err(Error::Config {
                key: "gossip_verdict_window_ms",
                reason: "must be at least gossip_heartbeat_ms".to_owned(),
            });
        }
        Ok(Settings {
            listen,
            max_gossip_bytes: c.max_gossip_bytes,
            max_range_entries: positive("max_range_entries", c.max_range_entries)?,
            max_response_bytes: c.max_response_bytes,
            sync_request_timeout: millis("sync_request_timeout_ms", c.sync_request_timeout_ms)?,
            max_inbound_sync_per_peer: positive(
                "max_inbound_sync_per_peer",
                c.max_inbound_sync_per_peer,
            )?,
            max_inbound_sync_total: positive("max_inbound_sync_total", c.max_inbound_sync_total)?,
            max_outbound_sync: positive("max_outbound_sync", c.max_outbound_sync)?,
            max_connections: positive("max_connections", c.max_connections)?,
            max_connections_per_peer: positive(
                "max_connections_per_peer",
                c.max_connections_per_peer,
            )?,
            max_pending_incoming: positive("max_pending_incoming", c.max_pending_incoming)?,
            redial_initial,
            redial_max,
            gossip_heartbeat,
            gossip_verdict_window,
            command_capacity: positive("command_capacity", c.command_capacity)?,
            event_capacity: positive("event_capacity", c.event_capacity)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        let s = Settings::try_from(&Config::default()).expect("default config is valid");
        assert_eq!(s.listen.to_string(), "/ip4/0.0.0.0/tcp/4710");
        assert_eq!(s.redial_initial, Duration::from_millis(500));
    }

    #[test]
    fn bad_values_name_their_key() {
        type Edit = fn(&mut Config);
        let cases: &[(&str, Edit)] = &[
            ("listen", |c| c.listen = "not an addr".into()),
            ("max_gossip_bytes", |c| c.max_gossip_bytes = 10),
            ("max_response_bytes", |c| c.max_response_bytes = 2048),
            ("max_range_entries", |c| c.max_range_entries = 0),
            ("sync_request_timeout_ms", |c| c.sync_request_timeout_ms = 0),
            ("max_inbound_sync_per_peer", |c| {
                c.max_inbound_sync_per_peer = 0
            }),
            ("max_connections", |c| c.max_connections = 0),
            ("redial_max_ms", |c| c.redial_max_ms = 100),
            ("gossip_verdict_window_ms", |c| {
                c.gossip_verdict_window_ms = 10
            }),
            ("event_capacity", |c| c.event_capacity = 0),
        ];
        for (key, edit) in cases {
            let mut c = Config::default();
            edit(&mut c);
            match Settings::try_from(&c) {
                Err(Error::Config { key: k, .. }) => assert_eq!(k, *key),
                other => panic!("{key}: expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_keys_are_refused_and_missing_keys_default() {
        let c: Config = toml::from_str("max_range_entries = 7").expect("partial config parses");
        assert_eq!(c.max_range_entries, 7);
        assert_eq!(c.listen, Config::default().listen);
        assert!(toml::from_str::<Config>("max_range_entrys = 7").is_err());
    }
}
