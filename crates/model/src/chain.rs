//! The chain rule: where an entry fits in its authority's log.

use crate::entry::EntryHash;

/// Where an incoming entry stands relative to the local copy of its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainStep {
    /// Extends the log by one: store it.
    Next,
    /// Already held, byte for byte.
    Duplicate,
    /// Ahead of the local head: entries `have + 1 .. seq - 1` are missing.
    Gap { have: u64 },
    /// Same seq as a held entry, different bytes: the authority forked its log.
    Equivocation { existing: EntryHash },
    /// Claims to be next but does not link to the local head (or is malformed).
    BrokenLink,
}

/// Decides where an entry with (`seq`, `prev`, `hash`) stands, given the local
/// `head` (seq and hash of the newest held entry) and `held_at_seq`, the hash
/// of the entry the log already holds at `seq` (the caller looks it up
/// whenever `seq` is at or below the head).
pub fn chain_step(
    head: Option<(u64, EntryHash)>,
    held_at_seq: Option<EntryHash>,
    seq: u64,
    prev: Option<EntryHash>,
    hash: EntryHash,
) -> ChainStep {
    if seq == 0 || (seq == 1) != prev.is_none() {
        return ChainStep::BrokenLink;
    }
    if let Some(existing) = held_at_seq {
        return if existing == hash {
            ChainStep::Duplicate
        } else {
            ChainStep::Equivocation { existing }
        };
    }
    let (head_seq, head_hash) = match head {
        Some((s, h)) => (s, Some(h)),
        None => (0, None),
    };
    if seq <= head_seq {
        // The log is dense, so an entry at or below the head is always held;
        // a caller that found none has a damaged store: refuse, do not guess.
        return ChainStep::BrokenLink;
    }
    if seq > head_seq + 1 {
        return ChainStep::Gap { have: head_seq };
    }
    if prev == head_hash {
        ChainStep::Next
    } else {
        ChainStep::BrokenLink
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> EntryHash {
        EntryHash([n; 32])
    }

    #[test]
    fn chain_rule_table() {
        use ChainStep::*;
        let cases = [
            ("first entry", None, None, 1, None, h(1), Next),
            (
                "first with prev",
                None,
                None,
                1,
                Some(h(9)),
                h(1),
                BrokenLink,
            ),
            ("seq zero", None, None, 0, None, h(1), BrokenLink),
            (
                "next links",
                Some((1, h(1))),
                None,
                2,
                Some(h(1)),
                h(2),
                Next,
            ),
            (
                "next without prev",
                Some((1, h(1))),
                None,
                2,
                None,
                h(2),
                BrokenLink,
            ),
            (
                "next wrong prev",
                Some((1, h(1))),
                None,
                2,
                Some(h(7)),
                h(2),
                BrokenLink,
            ),
            (
                "gap",
                Some((1, h(1))),
                None,
                5,
                Some(h(4)),
                h(5),
                Gap { have: 1 },
            ),
            (
                "gap from empty",
                None,
                None,
                3,
                Some(h(2)),
                h(3),
                Gap { have: 0 },
            ),
            (
                "duplicate",
                Some((2, h(2))),
                Some(h(2)),
                2,
                Some(h(1)),
                h(2),
                Duplicate,
            ),
            (
                "equivocation",
                Some((2, h(2))),
                Some(h(1)),
                1,
                None,
                h(8),
                Equivocation { existing: h(1) },
            ),
            (
                "reordered: older unseen",
                Some((3, h(3))),
                None,
                2,
                Some(h(1)),
                h(2),
                BrokenLink,
            ),
        ];
        for (name, head, held, seq, prev, hash, want) in cases {
            assert_eq!(chain_step(head, held, seq, prev, hash), want, "{name}");
        }
    }
}
