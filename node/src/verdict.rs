//! The verifier's verdicts on what peers send ([`PeerVerdict`], decided on
//! the outcome types in `tally_verify::acceptance`), mapped onto what the
//! node reports: gossipsub's acceptance and the metrics' outcomes. Nothing
//! is decided here.

use tally_api::Outcome;
use tally_verify::{Acceptance, PeerVerdict, Penalty};

/// gossipsub's verdict: a penalty is a Reject (that is how gossipsub lowers
/// the sender's score), a refusal without one an Ignore.
pub fn gossip(verdict: PeerVerdict) -> tally_p2p::Acceptance {
    match (verdict.acceptance, verdict.penalty) {
        (_, Penalty::InvalidMessage) => tally_p2p::Acceptance::Reject,
        (Acceptance::Accept, Penalty::None) => tally_p2p::Acceptance::Accept,
        (Acceptance::Ignore | Acceptance::Reject, Penalty::None) => tally_p2p::Acceptance::Ignore,
    }
}

/// How the metrics count an entry with this verdict.
pub fn outcome(verdict: PeerVerdict) -> Outcome {
    match verdict.acceptance {
        Acceptance::Accept => Outcome::Accepted,
        Acceptance::Ignore => Outcome::Ignored,
        Acceptance::Reject => Outcome::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_penalty_rejects_on_gossip() {
        use tally_p2p::Acceptance as Gossip;
        assert_eq!(gossip(PeerVerdict::ACCEPT), Gossip::Accept);
        assert_eq!(gossip(PeerVerdict::IGNORE), Gossip::Ignore);
        assert_eq!(gossip(PeerVerdict::REJECT), Gossip::Reject);
        assert_eq!(gossip(PeerVerdict::REFUSE), Gossip::Ignore);
        assert_eq!(outcome(PeerVerdict::REFUSE), Outcome::Rejected);
    }
}
