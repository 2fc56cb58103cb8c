//! What an entry or a proof means for the peer that sent it: passed on
//! ([`Acceptance::Accept`]), dropped without blame ([`Acceptance::Ignore`])
//! or refused ([`Acceptance::Reject`]), and what the sender's score loses
//! ([`Penalty`]). Decided here, on the outcome types themselves, with
//! exhaustive matches: a new kind of rejection does not compile until it
//! has a verdict. The node only maps a verdict onto gossipsub's and onto
//! its metrics (node/src/verdict.rs).
//!
//! Two ways in, two policies: an entry relayed by gossip judges its relay,
//! who may be honest and merely see another trust list or the other side
//! of a fork first; an entry pulled by sync was asked for by this node, and
//! sync carries no score.

use crate::ingest::{IngestOutcome, ProofOutcome, Rejection};

/// The verdict on a message a peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Valid and new: stored, and forwarded to the mesh.
    Accept,
    /// Not forwarded, not counted against anyone: a duplicate, a gap to
    /// pull, or a refusal that is not the sender's fault.
    Ignore,
    /// Refused: not stored, not forwarded.
    Reject,
}

/// What the peer that sent a message loses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Penalty {
    /// Nothing.
    None,
    /// An invalid message on a gossip topic: gossipsub counts it against
    /// the sender (the score the p2p crate configures, `-10 * count^2` per
    /// topic, decaying over about 30 minutes).
    InvalidMessage,
}

/// An [`Acceptance`] and the [`Penalty`] that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerVerdict {
    pub acceptance: Acceptance,
    pub penalty: Penalty,
}

impl PeerVerdict {
    /// Passed on, no penalty.
    pub const ACCEPT: PeerVerdict = PeerVerdict {
        acceptance: Acceptance::Accept,
        penalty: Penalty::None,
    };
    /// Dropped without blame.
    pub const IGNORE: PeerVerdict = PeerVerdict {
        acceptance: Acceptance::Ignore,
        penalty: Penalty::None,
    };
    /// Refused, and the sender penalised.
    pub const REJECT: PeerVerdict = PeerVerdict {
        acceptance: Acceptance::Reject,
        penalty: Penalty::InvalidMessage,
    };
    /// Refused, no penalty (what sync refuses: it carries no score).
    pub const REFUSE: PeerVerdict = PeerVerdict {
        acceptance: Acceptance::Reject,
        penalty: Penalty::None,
    };
}

impl Rejection {
    /// The verdict on the relay of a gossiped entry refused for this reason.
    ///
    /// Not the relay's fault, so no penalty: trust lists differ between
    /// nodes (an honest peer may forward an authority it trusts and this
    /// node does not), a clock may run ahead, and an honest relay that saw
    /// the other side of a fork first forwards what looks like an
    /// equivocation or a broken link here (the proof is gossiped on its own
    /// topic); an entry of this node's own log it did not write is kept as
    /// evidence. What no honest node forwards (malformed bytes, a signature
    /// that does not verify) is rejected and penalised.
    pub fn acceptance(&self) -> PeerVerdict {
        match self {
            Rejection::UntrustedAuthority(_)
            | Rejection::UntrustedKey(_)
            | Rejection::Equivocation(_)
            | Rejection::BrokenChain(_)
            | Rejection::Time(_)
            | Rejection::LogCloned { .. } => PeerVerdict::IGNORE,
            Rejection::Malformed(_) | Rejection::BadSignature => PeerVerdict::REJECT,
        }
    }

    /// The verdict on the peer that served, by sync, an entry refused for
    /// this reason: refused and counted as such, without penalty (this node
    /// asked for the range, and sync carries no score); the range stops
    /// there.
    pub fn sync_acceptance(&self) -> PeerVerdict {
        match self {
            Rejection::Malformed(_)
            | Rejection::UntrustedAuthority(_)
            | Rejection::UntrustedKey(_)
            | Rejection::BadSignature
            | Rejection::BrokenChain(_)
            | Rejection::Equivocation(_)
            | Rejection::Time(_)
            | Rejection::LogCloned { .. } => PeerVerdict::REFUSE,
        }
    }
}

impl IngestOutcome {
    /// The verdict on the relay of a gossiped entry with this outcome (a
    /// gap is ignored: the node pulls from the relay instead).
    pub fn acceptance(&self) -> PeerVerdict {
        match self {
            IngestOutcome::Accepted(_) => PeerVerdict::ACCEPT,
            IngestOutcome::Duplicate | IngestOutcome::Gap { .. } => PeerVerdict::IGNORE,
            IngestOutcome::Rejected(r) => r.acceptance(),
        }
    }

    /// The verdict on the peer that served, by sync, an entry with this
    /// outcome.
    pub fn sync_acceptance(&self) -> PeerVerdict {
        match self {
            IngestOutcome::Accepted(_) => PeerVerdict::ACCEPT,
            IngestOutcome::Duplicate | IngestOutcome::Gap { .. } => PeerVerdict::IGNORE,
            IngestOutcome::Rejected(r) => r.sync_acceptance(),
        }
    }

    /// Whether this node holds the entry now (stored, or held already): a
    /// pulled range goes on only while this holds.
    pub fn is_held(&self) -> bool {
        match self {
            IngestOutcome::Accepted(_) | IngestOutcome::Duplicate => true,
            IngestOutcome::Gap { .. } | IngestOutcome::Rejected(_) => false,
        }
    }
}

impl ProofOutcome {
    /// The verdict on the relay of a gossiped equivocation proof: one that
    /// proves nothing is rejected; one about an authority or key this node
    /// does not trust is not the relay's fault.
    pub fn acceptance(self) -> PeerVerdict {
        match self {
            ProofOutcome::New => PeerVerdict::ACCEPT,
            ProofOutcome::Known | ProofOutcome::NotTrusted => PeerVerdict::IGNORE,
            ProofOutcome::Invalid => PeerVerdict::REJECT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_rejection() -> Vec<Rejection> {
        vec![
            Rejection::Malformed("x".into()),
            Rejection::UntrustedAuthority("XX-NONE".into()),
            Rejection::UntrustedKey("00".into()),
            Rejection::BadSignature,
            Rejection::BrokenChain("x".into()),
            Rejection::Equivocation(tally_store::state::Evidence {
                authority: "US-DDTC".parse().expect("an authority id"),
                seq: 1,
                entries: [vec![1], vec![2]],
            }),
            Rejection::Time("x".into()),
            Rejection::LogCloned { seq: 1 },
        ]
    }

    /// Only what no honest node forwards costs the relay its score.
    #[test]
    fn only_forgeries_penalise_a_relay() {
        for r in every_rejection() {
            let v = r.acceptance();
            let forged = matches!(r, Rejection::Malformed(_) | Rejection::BadSignature);
            assert_eq!(v == PeerVerdict::REJECT, forged, "{}", r.reason());
            assert_eq!(v == PeerVerdict::IGNORE, !forged, "{}", r.reason());
        }
    }

    /// A pulled entry that is refused stops its range and is counted
    /// refused, never penalised.
    #[test]
    fn sync_refuses_without_penalty() {
        for r in every_rejection() {
            assert_eq!(r.sync_acceptance(), PeerVerdict::REFUSE, "{}", r.reason());
            assert!(!IngestOutcome::Rejected(r).is_held());
        }
    }
}
