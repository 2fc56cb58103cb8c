//! Gossip push: the two topics, message ids, the gossipsub configuration for a small network of
//! trusted nodes, and the peer-score parameters that make a Reject cost the sender.

use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
    PeerScoreThresholds, TopicHash, TopicScoreParams, ValidationMode, score_parameter_decay,
};
use sha2::{Digest, Sha256};

use crate::Error;
use crate::config::Settings;

/// A gossip topic. Both carry self-authenticating payloads, so gossipsub's own
/// message signing is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `tally/entries/1`: each message is one encoded `SignedEntry`.
    Entries,
    /// `tally/evidence/1`: equivocation proofs, opaque to this crate.
    Evidence,
}

impl Topic {
    pub const ALL: [Topic; 2] = [Topic::Entries, Topic::Evidence];

    /// The topic name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Entries => "tally/entries/1",
            Topic::Evidence => "tally/evidence/1",
        }
    }

    pub(crate) fn ident(self) -> IdentTopic {
        IdentTopic::new(self.name())
    }

    pub(crate) fn hash(self) -> TopicHash {
        self.ident().hash()
    }

    pub(crate) fn from_hash(hash: &TopicHash) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.hash() == *hash)
    }
}

/// The node's verdict on a gossip message. Nothing is forwarded before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Valid and new: forward it to the mesh.
    Accept,
    /// Not forwarded, no penalty: a duplicate, a gap to pull, or no capacity.
    Ignore,
    /// Invalid: not forwarded, and the peer that sent it loses score.
    Reject,
}

impl From<Acceptance> for MessageAcceptance {
    fn from(a: Acceptance) -> Self {
        match a {
            Acceptance::Accept => MessageAcceptance::Accept,
            Acceptance::Ignore => MessageAcceptance::Ignore,
            Acceptance::Reject => MessageAcceptance::Reject,
        }
    }
}

/// Which received message a verdict is about. Opaque; hand it back to
/// [`P2pHandle::report`](crate::P2pHandle::report) exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub(crate) id: MessageId,
    pub(crate) source: PeerId,
}

impl MessageRef {
    /// The peer that forwarded the message to us (not necessarily its author).
    pub fn source(&self) -> PeerId {
        self.source
    }
}

/// Message id: SHA-256 of the whole message bytes, signature included, on
/// both topics.
///
/// Not the entry id (SHA-256 of the `entry` bytes alone): gossipsub drops a
/// message whose id it has seen, before the node gives a verdict, so with an
/// entry-id message id a copy of an entry with a bad signature, seen first,
/// was rejected and then made the genuine entry a "duplicate": never handed
/// to the node, never relayed, and only delivered by the next pull seconds
/// later. With the whole bytes, a forged copy is a different message and
/// cannot shadow the genuine one.
///
/// The cost: the same entry under two signature encodings is two messages.
/// The node answers the second with Ignore (it already has the entry), so
/// it travels at most one hop further; a signature is deterministic
/// (Ed25519), so an honest author produces only one anyway.
///
/// No domain separation: these ids are only gossipsub's duplicate-cache and
/// IHAVE/IWANT keys, compared with each other and never with the entry ids,
/// chain hashes or card fingerprints the node signs or stores, so there is
/// nothing for a collision across uses to confuse. The topic is not hashed
/// in either: the same bytes on the other topic are refused on their own
/// merits (an entry does not decode as evidence and vice versa).
fn message_id(message: &gossipsub::Message) -> MessageId {
    MessageId::new(Sha256::digest(&message.data).as_slice())
}

/// Room for the gossipsub RPC framing around one payload.
const RPC_OVERHEAD: usize = 1024;

/// The transport-level frame limit. libp2p-gossipsub 0.50.1 checks the size
/// of its whole receive buffer, not of one message (protocol.rs, `decode`),
/// so a frame limit of exactly one maximum message resets the stream when a
/// large honest message arrives with another behind it, losing both until
/// sync. Twice the message bound keeps that from happening; the per-message
/// bound is enforced on receipt (`on_gossip` rejects larger payloads).
fn frame_limit(max_gossip_bytes: usize) -> usize {
    max_gossip_bytes
        .saturating_mul(2)
        .saturating_add(RPC_OVERHEAD)
}

/// Gossipsub for a network of 2 to a few hundred trusted nodes, where each
/// node usually trusts only some of the others.
///
/// Mesh sizes: a subscribing peer joins the mesh at once while the mesh has
/// fewer than `mesh_n_low` peers, so with `mesh_n_low = 6` every peer of a
/// small network is in the mesh from its first subscription, without waiting
/// for a heartbeat. `mesh_outbound_min = 2` keeps `2 * outbound <= mesh_n` and
/// `outbound <= mesh_n_low`, as gossipsub requires. `flood_publish` (on) sends
/// our own messages to every subscribed peer, not just the mesh.
pub(crate) fn config(s: &Settings) -> Result<gossipsub::Config, Error> {
    let heartbeats = |d: Duration| {
        usize::try_from(
            d.as_millis()
                .div_ceil(s.gossip_heartbeat.as_millis().max(1)),
        )
        .unwrap_or(usize::MAX)
    };
    gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(message_id)
        .max_transmit_size(frame_limit(s.max_gossip_bytes))
        .heartbeat_interval(s.gossip_heartbeat)
        // Default initial delay is 5 s; the first mesh repair should come with the first heartbeat.
        .heartbeat_initial_delay(s.gossip_heartbeat)
        // A message stays in the cache (and can still be forwarded on Accept)
        // for `history_length` heartbeats: that is the node's verdict window.
        .history_length(heartbeats(s.gossip_verdict_window).max(5))
        .history_gossip(3)
        .mesh_n(8)
        .mesh_n_low(6)
        .mesh_n_high(12)
        .mesh_outbound_min(2)
        .gossip_lazy(8)
        .flood_publish(true)
        .build()
        .map_err(|e| Error::Config {
            key: "gossip_heartbeat_ms",
            reason: format!("gossipsub refused the derived configuration: {e}"),
        })
}

/// Peer scoring. Peers are trusted authorities and traffic is sparse, so the
/// rewards and the "too few deliveries" penalty that suit busy public networks
/// are off (weight 0): a quiet honest peer keeps a score of 0. What remains are
/// penalties:
///
/// * P4, invalid messages: each Reject adds 1 to a counter that decays to zero
///   over about 30 minutes; the score is `-10 * counter^2` per topic.
/// * P7, protocol misbehaviour (re-grafting during backoff, broken IWANT
///   promises): beyond 6 incidents, `-10 * excess^2`, decaying over 10 minutes.
/// * P6 (same IP) is off: the allow list already decides who may connect.
///
/// Thresholds: below 0 (one Reject) the peer leaves our mesh (we stop
/// forwarding to it but still publish to it); below -10 (two Rejects: -40) we
/// stop exchanging IHAVE/IWANT gossip with it; below -50 we stop publishing to
/// it; below -80 (three Rejects: -90) it is graylisted: everything it sends
/// over gossipsub is dropped before it reaches the node. The connection stays up: sync requests from the peer still
/// work (the node validates what it pulls anyway), and the score recovers as
/// the counter decays.
pub(crate) fn scoring() -> (PeerScoreParams, PeerScoreThresholds) {
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -10.0,
        invalid_message_deliveries_decay: score_parameter_decay(Duration::from_secs(30 * 60)),
        ..TopicScoreParams::default()
    };
    let params = PeerScoreParams {
        topics: Topic::ALL
            .into_iter()
            .map(|t| (t.hash(), topic.clone()))
            .collect(),
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: 0.0,
        behaviour_penalty_weight: -10.0,
        behaviour_penalty_threshold: 6.0,
        behaviour_penalty_decay: score_parameter_decay(Duration::from_secs(10 * 60)),
        ..PeerScoreParams::default()
    };
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 20.0,
    };
    (params, thresholds)
}

/// Builds gossipsub with the configuration and scoring above, subscribed to both topics.
pub(crate) fn behaviour(s: &Settings) -> Result<gossipsub::Behaviour, Error> {
    let internal = |reason: String| Error::Transport(format!("gossipsub: {reason}"));
    let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config(s)?)
        .map_err(|e| internal(e.to_owned()))?;
    let (params, thresholds) = scoring();
    gossipsub
        .with_peer_score(params, thresholds)
        .map_err(internal)?;
    for topic in Topic::ALL {
        gossipsub
            .subscribe(&topic.ident())
            .map_err(|e| internal(e.to_string()))?;
    }
    Ok(gossipsub)
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use tally_proto::v1::SignedEntry;

    use super::*;
    use crate::Config;

    fn msg(topic: Topic, data: Vec<u8>) -> gossipsub::Message {
        gossipsub::Message {
            source: None,
            data,
            sequence_number: None,
            topic: topic.hash(),
        }
    }

    /// A copy of an entry with another signature is another message, so a
    /// forged copy seen first cannot make the genuine one a duplicate.
    #[test]
    fn entry_message_id_covers_the_signature() {
        let signed = |sig: &'static [u8]| SignedEntry {
            entry: bytes::Bytes::from_static(b"the entry"),
            key_id: bytes::Bytes::from_static(&[1; 32]),
            signature: bytes::Bytes::from_static(sig),
        };
        let genuine = signed(b"sig a").encode_to_vec();
        let a = message_id(&msg(Topic::Entries, genuine.clone()));
        let b = message_id(&msg(Topic::Entries, signed(b"sig b").encode_to_vec()));
        assert_ne!(a, b);
        assert_eq!(a.0, Sha256::digest(&genuine).to_vec());
        assert_ne!(a.0, Sha256::digest(b"the entry").to_vec());
    }

    #[test]
    fn other_messages_hash_the_data() {
        let garbage = vec![0xff, 0xff, 0xff];
        let cases = [
            (Topic::Entries, garbage.clone()),
            (Topic::Evidence, garbage),
            (Topic::Evidence, b"proof".to_vec()),
        ];
        for (topic, data) in cases {
            assert_eq!(
                message_id(&msg(topic, data.clone())).0,
                Sha256::digest(&data).to_vec()
            );
        }
    }

    #[test]
    fn topics_round_trip() {
        for t in Topic::ALL {
            assert_eq!(Topic::from_hash(&t.hash()), Some(t));
        }
        assert_eq!(Topic::from_hash(&IdentTopic::new("other").hash()), None);
    }

    #[test]
    fn default_settings_build_a_scored_behaviour() {
        let s = Settings::try_from(&Config::default()).expect("valid");
        let c = config(&s).expect("gossipsub accepts the derived config");
        assert!(c.history_length() * 300 >= 10_000);
        let (params, thresholds) = scoring();
        params.validate().expect("valid params");
        thresholds.validate().expect("valid thresholds");
        behaviour(&s).expect("behaviour builds");
    }
}
