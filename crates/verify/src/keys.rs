//! Which key the node trusts for an authority at an instant.
//!
//! Its own authority's key is always trusted; other authorities' keys come
//! from the trust list (cards an administrator added) and from key rotations
//! in their logs, each signed by a key trusted before it.

use crate::Verifier;
use ed25519_dalek::VerifyingKey;
use tally_model::AuthorityId;
use tally_model::trust::parse_key;
use tally_store::StoreError;

impl Verifier {
    /// The key `key_id` if trusted for `authority` at `at_ms`. A store
    /// error is an error (this node's fault), never "not trusted".
    pub fn trusted_key(
        &self,
        authority: &AuthorityId,
        key_id: &[u8; 32],
        at_ms: i64,
    ) -> Result<Option<VerifyingKey>, StoreError> {
        if authority == &self.inner.authority {
            let own = self.inner.key.public();
            if own.as_bytes() == key_id {
                return Ok(Some(own));
            }
        } else if !self.is_trusted_authority(authority) {
            return Ok(None);
        }
        let in_card = self
            .inner
            .trust
            .read()
            .is_ok_and(|t| t.trusts(authority, key_id, at_ms));
        if in_card {
            return Ok(self.decompressed(key_id));
        }
        let rotated = self.inner.store.rotated_keys(authority)?;
        Ok(rotated.iter().find_map(|r| {
            let k = parse_key(&r.public_key)?;
            (k.as_bytes() == key_id && at_ms >= r.valid_from_ms && !k.is_weak()).then_some(k)
        }))
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
        let k = VerifyingKey::from_bytes(key_id).ok()?;
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
