//! Fixed authority keys, the cards that publish them, and trust lists.

use tally_model::{AuthorityKey, Card, CardKey, TrustList};

/// The authority signing key `n`: the secret is `[n; 32]`.
pub fn key(n: u8) -> AuthorityKey {
    AuthorityKey::from_bytes(&[n; 32])
}

/// The card of `authority` (`CC-NAME`) listing `key` from the epoch on.
pub fn card(authority: &str, key: &AuthorityKey) -> Card {
    let country = authority.get(..2).unwrap_or(authority);
    Card {
        contact: None,
        authority: authority.parse().expect("fixture authority id"),
        country: country.into(),
        name: format!("{authority} licensing office"),
        peer_id: format!("12D3KooW{country}"),
        addresses: vec!["/ip4/127.0.0.1/tcp/4710".into()],
        keys: vec![CardKey {
            public_key: hex::encode(key.public().as_bytes()),
            valid_from_ms: 0,
            valid_until_ms: None,
            retired_after_seq: None,
            compromised_after_seq: None,
        }],
        encryption_keys: Vec::new(),
    }
}

/// A trust list of these authorities, each with its fixed key `(authority, n)`.
pub fn trust_list(trusted: &[(&str, u8)]) -> TrustList {
    let mut trust = TrustList::default();
    for (authority, n) in trusted {
        trust.upsert(card(authority, &key(*n)));
    }
    trust
}
