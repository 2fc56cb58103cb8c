//! Which of an issuer's encryption keys a reader tries on a sealed entry
//! (docs/PROTOCOL.md 6.7): the protocol's selection, as one pure function
//! every path shares (opening, sealing, the vectors tool).
//!
//! An issuer's keys are those on its card (as if announced at seq 0) and
//! those it announced in its own log. Each key counts once per log: an
//! announcement of a key the log already announced is invalid
//! ([`crate::lifecycle::Refusal::KeyAnnounced`]) and is not an input here.
//! So the keys valid at an entry's time, newest first, are distinct, and a
//! store can hand over only the [`MAX_ISSUER_KEYS`] newest of them: what a
//! reader reads per entry does not grow with what an issuer announced.

use crate::seal::EncryptionPublic;
use crate::trust::CardKey;

/// Most of an issuer's encryption keys a sealed entry is tried against: the
/// newest valid at the entry's time. An issuer that announces thousands of
/// keys cannot make every reader try them all.
pub const MAX_ISSUER_KEYS: usize = 16;

/// One announcement that counts: the key (hex, as announced), the instant
/// it is valid from, and the seq of the announcing entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced<'a> {
    pub public_key: &'a str,
    pub valid_from_ms: i64,
    pub seq: u64,
}

/// The issuer keys, oldest first: with `at_ms`, the (at most
/// [`MAX_ISSUER_KEYS`]) newest valid at that instant, the keys a sealed
/// entry issued then is tried against; without, every key. Newest means
/// the largest `(valid_from_ms, seq)`, card keys at seq 0 in card order;
/// a key on the card and announced too stands at its newest place. Keys
/// that do not parse are skipped.
///
/// `announced` needs only the [`MAX_ISSUER_KEYS`] newest valid at `at_ms`
/// (or every one, without `at_ms`): an older one cannot be selected.
pub fn select<'a>(
    card: &'a [CardKey],
    announced: impl IntoIterator<Item = Announced<'a>>,
    at_ms: Option<i64>,
) -> Vec<EncryptionPublic> {
    // Filtered on time before anything is parsed, sorted once, and walked
    // from the newest: one pass, not a parse of each and a quadratic
    // de-duplication.
    let mut keys: Vec<(i64, u64, &str)> = card
        .iter()
        .map(|k| (k.valid_from_ms, 0, k.public_key.as_str()))
        .chain(
            announced
                .into_iter()
                .map(|a| (a.valid_from_ms, a.seq, a.public_key)),
        )
        .filter(|(from, _, _)| at_ms.is_none_or(|at| *from <= at))
        .collect();
    keys.sort_by_key(|(from, seq, _)| (*from, *seq));
    // No low-order check here: it costs a whole X25519, and it is made
    // where keys come in (cards are checked when trusted, announcements by
    // the lifecycle rule), by sealing for every recipient, and by opening,
    // whose pair-key derivation refuses a non-contributory DH.
    let cap = if at_ms.is_some() {
        MAX_ISSUER_KEYS
    } else {
        usize::MAX
    };
    // Each key once, at its newest place; oldest first in the answer.
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<EncryptionPublic> = Vec::new();
    for (_, _, hex) in keys.iter().rev() {
        if out.len() == cap {
            break;
        }
        if let Some(k) = EncryptionPublic::parse(hex)
            && seen.insert(k)
        {
            out.push(k);
        }
    }
    out.reverse();
    out
}

/// Of an issuer's announcements in log order, those that count: the first
/// announcement of each key (a later one of the same key is invalid). For
/// readers that hold a whole log (the vectors tool, tests); a store keeps
/// only what counts as it applies.
pub fn counted<'a>(in_log_order: &[Announced<'a>]) -> Vec<Announced<'a>> {
    let mut seen = std::collections::HashSet::new();
    in_log_order
        .iter()
        .filter(|a| seen.insert(a.public_key))
        .copied()
        .collect()
}

/// The at most [`MAX_ISSUER_KEYS`] newest of `counted` valid at `at_ms`
/// (all of them without `at_ms`), oldest first: what a store hands to
/// [`select`].
pub fn newest<'a>(counted: &[Announced<'a>], at_ms: Option<i64>) -> Vec<Announced<'a>> {
    let mut valid: Vec<Announced<'a>> = counted
        .iter()
        .filter(|a| at_ms.is_none_or(|at| a.valid_from_ms <= at))
        .copied()
        .collect();
    valid.sort_by_key(|a| (a.valid_from_ms, a.seq));
    if at_ms.is_some() && valid.len() > MAX_ISSUER_KEYS {
        valid.drain(..valid.len() - MAX_ISSUER_KEYS);
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::EncryptionSecret;

    fn public(n: u8) -> String {
        EncryptionSecret::from_bytes([n; 32]).public().to_hex()
    }

    /// The selection of docs/PROTOCOL.md 6.7 as written: every key valid at
    /// `at`, sorted by (valid_from, seq), each at its last place, the 16
    /// newest.
    fn reference(card: &[CardKey], all: &[Announced], at: Option<i64>) -> Vec<EncryptionPublic> {
        let mut keys: Vec<(i64, u64, EncryptionPublic)> = card
            .iter()
            .filter_map(|k| EncryptionPublic::parse(&k.public_key).map(|p| (k.valid_from_ms, 0, p)))
            .chain(all.iter().filter_map(|a| {
                EncryptionPublic::parse(a.public_key).map(|p| (a.valid_from_ms, a.seq, p))
            }))
            .collect();
        keys.sort_by_key(|(from, seq, _)| (*from, *seq));
        keys.retain(|(from, _, _)| at.is_none_or(|at| *from <= at));
        let mut out: Vec<EncryptionPublic> = Vec::new();
        for (_, _, k) in keys {
            out.retain(|o| o != &k);
            out.push(k);
        }
        if at.is_some() && out.len() > MAX_ISSUER_KEYS {
            out.drain(..out.len() - MAX_ISSUER_KEYS);
        }
        out
    }

    /// What a store hands over (the newest counted announcements) selects
    /// exactly what the whole log of counted announcements does, card keys,
    /// repeats, ties and times before every key included.
    #[test]
    fn the_newest_counted_announcements_select_what_the_whole_log_does() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let keys: Vec<String> = (1..=40).map(public).collect();
        for _ in 0..500 {
            let card: Vec<CardKey> = (0..next(3))
                .map(|_| CardKey::new(keys[next(40) as usize].clone(), next(50) as i64))
                .collect();
            let log: Vec<Announced> = (1..=next(60))
                .map(|seq| Announced {
                    public_key: &keys[next(40) as usize],
                    valid_from_ms: next(50) as i64,
                    seq,
                })
                .collect();
            let counted = counted(&log);
            for at in [None, Some(-1), Some(next(60) as i64)] {
                assert_eq!(
                    select(&card, newest(&counted, at), at),
                    reference(&card, &counted, at),
                    "at {at:?}"
                );
            }
        }
    }

    #[test]
    fn a_repeated_announcement_does_not_count() {
        let (a, b) = (public(1), public(2));
        let log = [
            Announced {
                public_key: &a,
                valid_from_ms: 10,
                seq: 1,
            },
            Announced {
                public_key: &b,
                valid_from_ms: 20,
                seq: 2,
            },
            // Would move `a` to the newest place if it counted.
            Announced {
                public_key: &a,
                valid_from_ms: 30,
                seq: 3,
            },
        ];
        let got = select(&[], newest(&counted(&log), None), None);
        let want: Vec<EncryptionPublic> = [&a, &b]
            .iter()
            .filter_map(|k| EncryptionPublic::parse(k))
            .collect();
        assert_eq!(got, want);
    }
}
