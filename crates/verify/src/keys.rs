//! Which key the node trusts for an authority at an instant.
//!
//! Its own authority's current key is always trusted; other authorities'
//! keys come from the trust list (cards an administrator added) and from key
//! rotations in their logs, each signed by a key trusted before it. A key is
//! judged on the entry's time and on its seq: see [`judge`].

use crate::Verifier;
use ed25519_dalek::VerifyingKey;
use tally_model::{AuthorityId, TrustList};
use tally_store::{RotatedKey, StoreError};

/// Who signed an entry, and where in its log.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub authority: &'a AuthorityId,
    pub key_id: &'a [u8; 32],
    /// The entry's `issued_at_ms`.
    pub at_ms: i64,
    /// The entry's seq.
    pub seq: u64,
}

/// Whether `s.key_id` may sign entry `s.seq` of `s.authority`'s log, issued
/// at `s.at_ms` (docs/PROTOCOL.md 5.2), given this node's own
/// current key (when `s.authority` is this node's), the trust list and the
/// key rotations learned from that authority's log:
///
/// 1. a key that signed a rotation at seq R signs nothing after R, and a key
///    declared compromised after N (declaration or card) nothing after N;
/// 2. this node's current key signs its own log; a key of its own that
///    signed a rotation at R signed its own log up to R;
/// 3. a card key signs within its time window and seq bounds;
/// 4. a key announced by a rotation at seq R (not itself covered by a
///    compromise) signs from R + 1 and from the rotation's `valid_from_ms`.
pub fn judge(
    s: &Signer,
    own_key: Option<&[u8; 32]>,
    trust: &TrustList,
    rotated: &[RotatedKey],
) -> bool {
    let hex_id = hex::encode(s.key_id);
    let is = |k: &str| k.eq_ignore_ascii_case(&hex_id);
    let retired = rotated
        .iter()
        .any(|r| is(&r.signed_by) && s.seq > r.entry.seq);
    if retired || trust.compromised_before(s.authority, s.key_id, s.seq) {
        return false;
    }
    if let Some(own) = own_key
        && (own == s.key_id || rotated.iter().any(|r| is(&r.signed_by)))
    {
        return true;
    }
    if trust.trusts(s.authority, s.key_id, s.at_ms, s.seq) {
        return true;
    }
    rotated.iter().any(|r| {
        !r.compromised && is(&r.public_key) && s.at_ms >= r.valid_from_ms && s.seq > r.entry.seq
    })
}

impl Verifier {
    /// The key `key_id` if trusted for entry `seq` of `authority`'s log,
    /// issued at `at_ms` (see [`judge`]), by the rotations the store holds.
    /// A store error is an error (this node's fault), never "not trusted".
    pub fn trusted_key(
        &self,
        authority: &AuthorityId,
        key_id: &[u8; 32],
        at_ms: i64,
        seq: u64,
    ) -> Result<Option<VerifyingKey>, StoreError> {
        let signer = Signer {
            authority,
            key_id,
            at_ms,
            seq,
        };
        let store = &self.inner.store;
        self.trusted_signer(&signer, || store.rotated_keys(authority), &[])
    }

    /// The key of `s` if trusted (see [`judge`]): `authority`'s rotations
    /// read with `rotations` (from the snapshot or transaction the caller
    /// reads everything else from; only when the authority is trusted at
    /// all), plus `pending` ones not stored yet (earlier entries of the
    /// same batch).
    pub(crate) fn trusted_signer(
        &self,
        s: &Signer,
        rotations: impl FnOnce() -> Result<Vec<RotatedKey>, StoreError>,
        pending: &[RotatedKey],
    ) -> Result<Option<VerifyingKey>, StoreError> {
        let (authority, key_id) = (s.authority, s.key_id);
        let own = authority == &self.inner.authority;
        if !own && !self.is_trusted_authority(authority) {
            return Ok(None);
        }
        let mut rotated = rotations()?;
        rotated.extend(pending.iter().cloned());
        let own_key = own.then(|| self.own_public());
        let trusted = match self.inner.trust.read() {
            Ok(trust) => judge(s, own_key.as_ref(), &trust, &rotated),
            Err(_) => false,
        };
        Ok(if trusted {
            self.decompressed(key_id)
        } else {
            None
        })
    }

    /// The key for `key_id`, decompressed once and then cached: trust was
    /// decided by the caller, this only saves the curve arithmetic.
    fn decompressed(&self, key_id: &[u8; 32]) -> Option<VerifyingKey> {
        if let Some(k) = self
            .inner
            .keys
            .read()
            .ok()
            .and_then(|c| c.get(key_id).copied())
        {
            return Some(k);
        }
        // Card keys were checked when trusted; keys announced in a log are
        // checked here, once (a weak key is never cached, never trusted).
        let k = VerifyingKey::from_bytes(key_id)
            .ok()
            .filter(|k| tally_model::signature::key_weakness(k.as_bytes()).is_none())?;
        if let Ok(mut cache) = self.inner.keys.write() {
            // Trusted keys only, so the cache is bounded by the trust list;
            // the cap guards against a list edited in a loop.
            if cache.len() >= 4096 {
                cache.clear();
            }
            cache.insert(*key_id, k);
        }
        Some(k)
    }

    /// Whether the node accepts entries of `authority` at all.
    pub fn is_trusted_authority(&self, authority: &AuthorityId) -> bool {
        authority == &self.inner.authority
            || self
                .inner
                .trust
                .read()
                .map(|t| t.card(authority).is_some())
                .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_model::AuthorityKey;
    use tally_store::state::EntryPointer;

    fn pk(n: u8) -> [u8; 32] {
        AuthorityKey::from_bytes(&[n; 32]).public().to_bytes()
    }

    fn rotation(seq: u64, from: u8, to: u8, valid_from_ms: i64, compromised: bool) -> RotatedKey {
        RotatedKey {
            public_key: hex::encode(pk(to)),
            valid_from_ms,
            entry: EntryPointer {
                seq,
                hash: tally_model::EntryHash([seq as u8; 32]),
            },
            signed_by: hex::encode(pk(from)),
            compromised,
        }
    }

    /// The key-by-seq rule as a table. MX's card lists key 1 (from time
    /// 0); its log rotated 1 -> 2 at seq 10 (valid from time 100) and
    /// 2 -> 3 at seq 20 (valid from time 200).
    #[test]
    fn keys_are_judged_by_time_and_seq() {
        let mx: AuthorityId = "MX-SEDENA".parse().expect("valid");
        let mut card = tally_model::Card {
            contact: None,
            authority: mx.clone(),
            country: "MX".into(),
            name: "x".into(),
            peer_id: "p".into(),
            addresses: vec![],
            keys: vec![tally_model::CardKey::new(hex::encode(pk(1)), 0)],
            encryption_keys: Vec::new(),
        };
        let mut trust = TrustList::default();
        trust.upsert(card.clone());
        let log = [
            rotation(10, 1, 2, 100, false),
            rotation(20, 2, 3, 200, false),
        ];
        // (key, at_ms, seq, trusted)
        let rows: &[(u8, i64, u64, bool)] = &[
            (1, 50, 1, true),
            (1, 50, 10, true),  // the rotation itself
            (1, 50, 11, false), // retired after 10, whatever the time
            (1, 500, 11, false),
            (2, 150, 10, false), // not before its rotation's seq
            (2, 150, 11, true),
            (2, 50, 11, false), // nor before its valid_from_ms
            (2, 250, 20, true),
            (2, 250, 21, false), // retired in turn
            (3, 250, 21, true),
            (3, 150, 21, false),
            (4, 250, 21, false), // never announced
        ];
        let judge_row = |trust: &TrustList, log: &[RotatedKey], k: u8, at_ms, seq| {
            judge(
                &Signer {
                    authority: &mx,
                    key_id: &pk(k),
                    at_ms,
                    seq,
                },
                None,
                trust,
                log,
            )
        };
        for &(k, at, seq, want) in rows {
            assert_eq!(
                judge_row(&trust, &log, k, at, seq),
                want,
                "key {k} at {at} seq {seq}"
            );
        }

        // A compromise of key 2 after seq 15: key 2 stops there, and a
        // rotation it signed past 15 (recorded as compromised) announces nothing.
        trust.declare_compromise(tally_model::KeyCompromise {
            authority: mx.clone(),
            key_id: hex::encode(pk(2)),
            after_seq: 15,
        });
        let log = [
            rotation(10, 1, 2, 100, false),
            rotation(20, 2, 3, 200, true),
        ];
        for (k, at, seq, want) in [(2, 150, 15, true), (2, 150, 16, false), (3, 250, 21, false)] {
            assert_eq!(
                judge_row(&trust, &log, k, at, seq),
                want,
                "key {k} seq {seq}"
            );
        }
        // A new card brings key 5; the card can carry key 1's retirement.
        card.keys[0].retired_after_seq = Some(10);
        card.keys
            .push(tally_model::CardKey::new(hex::encode(pk(5)), 0));
        trust.upsert(card);
        assert!(judge_row(&trust, &[], 5, 300, 16));
        assert!(!judge_row(&trust, &[], 1, 300, 11), "the card's seq bound");
        assert!(judge_row(&trust, &[], 1, 300, 10));

        // This node's own log: its current key, and its old key up to its rotation.
        let own = pk(2);
        let log = [rotation(10, 1, 2, 100, false)];
        let empty = TrustList::default();
        for (k, seq, want) in [(2, 11, true), (1, 10, true), (1, 11, false), (9, 11, false)] {
            let s = Signer {
                authority: &mx,
                key_id: &pk(k),
                at_ms: 150,
                seq,
            };
            assert_eq!(
                judge(&s, Some(&own), &empty, &log),
                want,
                "own key {k} seq {seq}"
            );
        }
    }
}
