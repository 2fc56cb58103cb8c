//! This node's encryption secrets on the timeline of their announcements,
//! and which of them a sealed entry can be addressed to (docs/PROTOCOL.md
//! 6.7, "Which of its own keys a receiver tries").
//!
//! An issuer seals to the newest key of ours it has seen. At an entry's
//! `issued_at` that is the key we had announced by then, or, for an issuer
//! whose clock is behind ours, one announced up to
//! [`crate::ingest::MAX_CLOCK_AHEAD_MS`] later, or, for an issuer that had
//! not yet seen our last rotation, the key it replaced less than
//! [`REPLACED_KEY_GRACE_MS`] before. So an entry is tried against at most
//! three of our keys whatever their number: what a node pays per sealed
//! entry (bystander or recipient) does not grow with its rotations. The
//! other secrets are the archive: consulted only to read again a document
//! that was opened once ([`OwnKeys::archive`]).

use crate::ingest::MAX_CLOCK_AHEAD_MS;
use tally_model::seal::{EncryptionPublic, EncryptionSecret};

/// How long after one of our rotations an issuer may still seal to the key
/// it replaced, because the announcement had not reached it yet.
pub const REPLACED_KEY_GRACE_MS: i64 = 30 * 86_400_000;

/// Most own keys one entry is tried against (the current key at the
/// entry's time, the one current a clock skew later, the one it replaced),
/// besides keys whose announcement this node does not know.
pub const MAX_OWN_KEYS_PER_ENTRY: usize = 3;

struct OwnKey {
    secret: EncryptionSecret,
    /// `valid_from_ms` of its announcement (this authority's log, or its
    /// card); `None` until known.
    valid_from_ms: Option<i64>,
}

/// Every secret this node kept, newest first as given (the first seals).
#[derive(Default)]
pub(crate) struct OwnKeys {
    keys: Vec<OwnKey>,
    /// Indexes into `keys` of the dated ones, oldest announcement first
    /// (ties: the one added later is the newer).
    timeline: Vec<usize>,
}

impl OwnKeys {
    pub(crate) fn new(secrets: Vec<EncryptionSecret>) -> OwnKeys {
        let mut keys = OwnKeys {
            keys: secrets
                .into_iter()
                .map(|secret| OwnKey {
                    secret,
                    valid_from_ms: None,
                })
                .collect(),
            timeline: Vec::new(),
        };
        keys.sort();
        keys
    }

    fn sort(&mut self) {
        let mut timeline: Vec<usize> = (0..self.keys.len())
            .filter(|i| self.keys[*i].valid_from_ms.is_some())
            .collect();
        timeline.sort_by_key(|i| (self.keys[*i].valid_from_ms, std::cmp::Reverse(*i)));
        self.timeline = timeline;
    }

    pub(crate) fn newest(&self) -> Option<&EncryptionSecret> {
        self.keys.first().map(|k| &k.secret)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Every public key, newest first.
    pub(crate) fn publics(&self) -> Vec<EncryptionPublic> {
        self.keys.iter().map(|k| k.secret.public()).collect()
    }

    pub(crate) fn holds(&self, public: &EncryptionPublic) -> bool {
        self.keys.iter().any(|k| k.secret.public() == *public)
    }

    /// Makes `secret`, announced from `valid_from_ms`, the newest.
    pub(crate) fn add_newest(&mut self, secret: EncryptionSecret, valid_from_ms: i64) {
        self.keys.insert(
            0,
            OwnKey {
                secret,
                valid_from_ms: Some(valid_from_ms),
            },
        );
        self.sort();
    }

    /// Records when held keys were announced; a later call wins for a key
    /// it names again (the log's announcement over the card's line).
    pub(crate) fn set_valid_from(&mut self, announced: &[(EncryptionPublic, i64)]) {
        for (public, from) in announced {
            for k in self
                .keys
                .iter_mut()
                .filter(|k| k.secret.public() == *public)
            {
                k.valid_from_ms = Some(*from);
            }
        }
        self.sort();
    }

    /// How many held keys have no known announcement.
    pub(crate) fn undated(&self) -> usize {
        self.keys.len() - self.timeline.len()
    }

    /// The keys an entry issued at `at_ms` can be sealed to, the likeliest
    /// first: the key current at `at_ms`, the one current a clock skew
    /// later, the one the current replaced less than the grace before
    /// `at_ms`; then every key whose announcement is unknown (none once
    /// the node has read its log and card).
    pub(crate) fn around(&self, at_ms: i64) -> Vec<EncryptionSecret> {
        let from = |i: usize| {
            self.keys[self.timeline[i]]
                .valid_from_ms
                .unwrap_or(i64::MAX)
        };
        // Dated keys announced by `t`: the last of them is current at `t`.
        let current_at = |t: i64| {
            self.timeline
                .partition_point(|i| self.keys[*i].valid_from_ms.is_some_and(|v| v <= t))
                .checked_sub(1)
        };
        let mut picked: Vec<usize> = Vec::with_capacity(MAX_OWN_KEYS_PER_ENTRY);
        let current = current_at(at_ms);
        picked.extend(current);
        picked.extend(current_at(at_ms.saturating_add(MAX_CLOCK_AHEAD_MS)));
        if let Some(c) = current.filter(|c| *c > 0)
            && from(c) > at_ms.saturating_sub(REPLACED_KEY_GRACE_MS)
        {
            picked.push(c - 1);
        }
        picked.dedup();
        let mut out: Vec<EncryptionSecret> = Vec::with_capacity(picked.len());
        for i in picked {
            let secret = &self.keys[self.timeline[i]].secret;
            if !out.iter().any(|s| s.public() == secret.public()) {
                out.push(secret.clone());
            }
        }
        let undated = self.keys.iter().filter(|k| k.valid_from_ms.is_none());
        for k in undated.take(self.keys.len() - self.timeline.len()) {
            if !out.iter().any(|s| s.public() == k.secret.public()) {
                out.push(k.secret.clone());
            }
        }
        out
    }

    /// Every secret, newest first, but those in `tried`: the archive, for
    /// reading again a document whose key is no longer around its time.
    pub(crate) fn archive(&self, tried: &[EncryptionSecret]) -> Vec<EncryptionSecret> {
        self.keys
            .iter()
            .filter(|k| !tried.iter().any(|t| t.public() == k.secret.public()))
            .map(|k| k.secret.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn secret(n: u16) -> EncryptionSecret {
        let mut b = [0x42; 32];
        b[1..3].copy_from_slice(&n.to_le_bytes());
        EncryptionSecret::from_bytes(b)
    }

    /// Keys 0..=n, key i announced on day 10 * i.
    fn rotated(n: u16) -> OwnKeys {
        let mut keys = OwnKeys::new(vec![]);
        for i in 0..=n {
            keys.add_newest(secret(i), i64::from(i) * 10 * DAY);
        }
        keys
    }

    fn ids(keys: &[EncryptionSecret]) -> Vec<u16> {
        keys.iter()
            .map(|k| {
                (0..=1000)
                    .find(|n| secret(*n).public() == k.public())
                    .expect("known")
            })
            .collect()
    }

    #[test]
    fn an_entry_is_tried_against_the_keys_of_its_time_only() {
        let keys = rotated(300);
        // Day 1005: key 100 is current (day 1000), it replaced key 99 five
        // days before, inside the grace.
        assert_eq!(ids(&keys.around(1005 * DAY)), vec![100, 99]);
        // Day 1045: key 104 current since day 1040.
        assert_eq!(ids(&keys.around(1045 * DAY)), vec![104, 103]);
        // Past the grace: key 100 replaced key 99 more than 30 days before.
        let keys = {
            let mut k = OwnKeys::new(vec![]);
            k.add_newest(secret(0), 0);
            k.add_newest(secret(1), 100 * DAY);
            k
        };
        assert_eq!(ids(&keys.around(131 * DAY)), vec![1]);
        assert_eq!(ids(&keys.around(129 * DAY)), vec![1, 0]);
        // Two minutes before key 1's announcement: a clock behind ours.
        assert_eq!(ids(&keys.around(100 * DAY - 120_000)), vec![0, 1]);
        assert_eq!(ids(&keys.around(100 * DAY - 600_000)), vec![0]);
        // Before any key: none (nothing could be sealed to us).
        let late = {
            let mut k = OwnKeys::new(vec![]);
            k.add_newest(secret(5), 50 * DAY);
            k
        };
        assert!(late.around(DAY).is_empty());
    }

    #[test]
    fn rapid_rotations_still_give_at_most_three_keys() {
        let mut keys = OwnKeys::new(vec![]);
        for i in 0..300u16 {
            keys.add_newest(secret(i), 1_000 + i64::from(i) * 26);
        }
        for at in [0, 1_000, 2_000, 5_000, 8_800, 1_000_000, i64::MIN, i64::MAX] {
            assert!(keys.around(at).len() <= MAX_OWN_KEYS_PER_ENTRY, "at {at}");
        }
        assert_eq!(keys.archive(&keys.around(2_000)).len(), 300 - 3);
    }

    #[test]
    fn undated_keys_are_tried_until_their_announcement_is_known() {
        let mut keys = OwnKeys::new(vec![secret(2), secret(1), secret(0)]);
        assert_eq!(keys.undated(), 3);
        assert_eq!(ids(&keys.around(5)), vec![2, 1, 0]);
        keys.set_valid_from(&[
            (secret(0).public(), 0),
            (secret(1).public(), 100 * DAY),
            (secret(2).public(), 200 * DAY),
        ]);
        assert_eq!(keys.undated(), 0);
        assert_eq!(ids(&keys.around(150 * DAY)), vec![1]);
        assert_eq!(ids(&keys.around(5)), vec![0]);
        assert_eq!(keys.newest().map(|s| s.public()), Some(secret(2).public()));
    }
}
