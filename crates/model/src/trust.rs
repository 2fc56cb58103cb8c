//! Cards and the trust list: which authorities, keys and peers a node accepts.
//!
//! A card is the public description of an authority, written by `tally init`
//! and exchanged out of band; the trust list is the set of cards an
//! administrator added. Keys are checked for weakness when a card is trusted,
//! which is what makes batch verification safe later.
//!
//! A card travels out of band (mail, a USB stick), so an administrator
//! compares its [fingerprint](Card::fingerprint) with the issuing
//! authority's over a second channel (a phone call) before trusting it.

use crate::id::AuthorityId;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// Seq of the authority's key rotation that retired this key: it signs
    /// nothing of that authority's log after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_after_seq: Option<u64>,
    /// Seq after which this key is declared compromised: it signs nothing of
    /// that authority's log after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_after_seq: Option<u64>,
}

impl CardKey {
    /// An open-ended key valid from `valid_from_ms`, without seq bounds.
    pub fn new(public_key: String, valid_from_ms: i64) -> CardKey {
        CardKey {
            public_key,
            valid_from_ms,
            valid_until_ms: None,
            retired_after_seq: None,
            compromised_after_seq: None,
        }
    }

    /// Whether this key may sign entry `seq` issued at `at_ms`: within its
    /// time window and not past its retirement or compromise.
    pub fn signs(&self, at_ms: i64, seq: u64) -> bool {
        at_ms >= self.valid_from_ms
            && self.valid_until_ms.is_none_or(|until| at_ms <= until)
            && self.retired_after_seq.is_none_or(|r| seq <= r)
            && self.compromised_after_seq.is_none_or(|n| seq <= n)
    }
}

/// An administrator's declaration (`tally trust revoke-key`): `key_id` of
/// `authority` is compromised after seq `after_seq` of its log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyCompromise {
    pub authority: AuthorityId,
    /// 64 lowercase hex digits of the public key.
    pub key_id: String,
    pub after_seq: u64,
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
    /// X25519 public keys that documents are sealed to (section 3a of the
    /// design); the newest by `valid_from_ms` seals. Absent in cards from
    /// before sealing: such an authority cannot be a recipient.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encryption_keys: Vec<CardKey>,
    /// Whom a partner's officer calls about this authority's documents
    /// (an office, a phone, an address): shown by offline verifiers beside
    /// its seals. Like the name, not part of the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// The longest point of contact a card may carry, in characters.
pub const MAX_CONTACT_CHARS: usize = 200;

/// Why a card cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card for {authority}: {reason}")]
pub struct CardError {
    pub authority: String,
    pub reason: String,
}

/// A point of contact is shown to officers of other States: printable text
/// on one line, at most [`MAX_CONTACT_CHARS`] characters.
pub fn check_contact(contact: &str) -> Result<(), String> {
    if contact.trim().is_empty() {
        return Err("the point of contact is empty".into());
    }
    if contact.chars().count() > MAX_CONTACT_CHARS {
        return Err(format!(
            "the point of contact is longer than {MAX_CONTACT_CHARS} characters"
        ));
    }
    if contact
        .chars()
        .any(|c| c.is_control() || crate::validate::is_refused_char(c))
    {
        return Err("the point of contact holds a control or invisible character".into());
    }
    Ok(())
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
        if let Some(c) = &self.contact {
            check_contact(c).map_err(err)?;
        }
        for k in &self.keys {
            let key = parse_key(&k.public_key)
                .ok_or_else(|| err(format!("{} is not an Ed25519 public key", k.public_key)))?;
            if let Some(weak) = crate::signature::key_weakness(key.as_bytes()) {
                return Err(err(format!("{} is a weak key: {weak}", k.public_key)));
            }
        }
        for k in &self.encryption_keys {
            let key = crate::seal::EncryptionPublic::parse(&k.public_key)
                .ok_or_else(|| err(format!("{:?} is not an X25519 public key", k.public_key)))?;
            // A low-order key makes every pair key with it predictable.
            if key.is_low_order() {
                return Err(err(format!("{} is a low-order X25519 key", k.public_key)));
            }
        }
        Ok(())
    }

    /// SHA-256 of [`Card::fingerprint_input`]: what administrators compare
    /// out of band before trusting a card.
    pub fn fingerprint_bytes(&self) -> [u8; 32] {
        Sha256::digest(self.fingerprint_input()).into()
    }

    /// The fingerprint as people read it: 16 groups of 4 lowercase hex
    /// digits joined by dashes, e.g. `3f2a-09bc-...` (79 characters).
    /// Dashes rather than spaces so the whole fingerprint is one word:
    /// a double-click selects it and `--expect-fingerprint` takes it
    /// without quotes. [`normalize_fingerprint`] reads it back with any
    /// separators and case.
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode(self.fingerprint_bytes());
        let groups: Vec<&str> = (0..16).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        groups.join("-")
    }

    /// The canonical bytes a fingerprint hashes: the card's authority and
    /// every field of every key on it, nothing else. UTF-8 text, one
    /// `\n`-terminated line each:
    ///
    /// ```text
    /// tally/card/v2
    /// authority US-DDTC
    /// key signing <hex> from <ms> until <ms|-> retired <seq|-> compromised <seq|->
    /// key encryption <hex> from <ms> until <ms|-> retired <seq|-> compromised <seq|->
    /// ```
    ///
    /// * The first line separates this use of SHA-256 from every other one
    ///   in Tally (entry signatures, entry ids, gossip ids) and versions the
    ///   encoding (`tally/card/v1` covered the public keys only).
    /// * `<hex>` is the public key in 64 lowercase hex digits (an Ed25519
    ///   key for `signing`, an X25519 key for `encryption`); `from` and
    ///   `until` are the key's validity in Unix milliseconds (decimal,
    ///   `-` when the card sets no end), `retired` and `compromised` its
    ///   seq bounds (`-` when unset).
    /// * The key lines are sorted (bytewise) and each listed once, so the
    ///   order or letter case a card happens to use does not change the
    ///   fingerprint, while any change to a key's validity, seq bounds or
    ///   compromise mark does: a fingerprint compared over the phone vouches
    ///   for every key and every limit on it.
    /// * Names, peer id and addresses are left out: the fingerprint names
    ///   who signs and reads, and keys are what make entries trustworthy (a
    ///   wrong address only fails to connect).
    ///
    /// Unambiguous for every card [`Card::check`] accepts: an authority id
    /// has no spaces or line breaks, its keys are hex and every field has a
    /// fixed place. An administrator can recompute it with
    /// `printf '...' | sha256sum`.
    pub fn fingerprint_input(&self) -> Vec<u8> {
        canonical_card(&self.authority, &self.keys, &self.encryption_keys)
    }
}

/// The domain-separation line that opens the fingerprinted encoding.
pub const CARD_DOMAIN: &str = "tally/card/v2";

/// See [`Card::fingerprint_input`].
fn canonical_card(authority: &AuthorityId, signing: &[CardKey], encryption: &[CardKey]) -> Vec<u8> {
    let mut out = format!("{CARD_DOMAIN}\nauthority {authority}\n");
    let mut lines: Vec<String> = Vec::with_capacity(signing.len() + encryption.len());
    for (purpose, keys) in [("signing", signing), ("encryption", encryption)] {
        for k in keys {
            lines.push(key_line(purpose, k));
        }
    }
    lines.sort_unstable();
    lines.dedup();
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out.into_bytes()
}

/// One key's line of [`Card::fingerprint_input`] (without its `\n`).
fn key_line(purpose: &str, k: &CardKey) -> String {
    fn or_dash<T: std::fmt::Display>(v: Option<T>) -> String {
        v.map_or_else(|| "-".to_owned(), |v| v.to_string())
    }
    format!(
        "key {purpose} {} from {} until {} retired {} compromised {}",
        k.public_key.to_ascii_lowercase(),
        k.valid_from_ms,
        or_dash(k.valid_until_ms),
        or_dash(k.retired_after_seq),
        or_dash(k.compromised_after_seq),
    )
}

/// A fingerprint as typed or pasted, in canonical form (64 lowercase hex
/// digits), ignoring case and the separators people use between groups
/// (spaces, dashes, colons); `None` if what remains is not 64 hex digits.
pub fn normalize_fingerprint(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == '-' || *c == ':'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digits)
}

/// Parses a hex Ed25519 public key.
pub fn parse_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// The cards this node accepts, and the key compromises its administrator
/// declared (kept apart from the cards, so replacing a card keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    #[serde(default, rename = "card")]
    pub cards: Vec<Card>,
    #[serde(default, rename = "compromised", skip_serializing_if = "Vec::is_empty")]
    pub compromised: Vec<KeyCompromise>,
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

    /// Whether the card of `authority` lists `key_id` for entry `seq`
    /// issued at `at_ms` (time window and seq bounds), and no declaration
    /// says it is compromised before `seq`. Compares the hex text only: no
    /// point decompression, which would cost a third of a signature check on
    /// every entry.
    pub fn trusts(&self, authority: &AuthorityId, key_id: &[u8; 32], at_ms: i64, seq: u64) -> bool {
        let Some(card) = self.card(authority) else {
            return false;
        };
        let wanted = hex::encode(key_id);
        !self.compromised_before(authority, key_id, seq)
            && card
                .keys
                .iter()
                .any(|k| k.public_key.eq_ignore_ascii_case(&wanted) && k.signs(at_ms, seq))
    }

    /// The seq after which `key_id` of `authority` is compromised, by the
    /// administrator's declarations or the authority's card (the smallest).
    pub fn compromised_after(&self, authority: &AuthorityId, key_id: &[u8; 32]) -> Option<u64> {
        let wanted = hex::encode(key_id);
        let declared = self
            .compromised
            .iter()
            .filter(|c| &c.authority == authority && c.key_id.eq_ignore_ascii_case(&wanted))
            .map(|c| c.after_seq);
        let carded = self
            .card(authority)
            .into_iter()
            .flat_map(|c| &c.keys)
            .filter(|k| k.public_key.eq_ignore_ascii_case(&wanted))
            .filter_map(|k| k.compromised_after_seq);
        declared.chain(carded).min()
    }

    /// Whether `key_id` of `authority` is compromised for entry `seq`.
    pub fn compromised_before(&self, authority: &AuthorityId, key_id: &[u8; 32], seq: u64) -> bool {
        self.compromised_after(authority, key_id)
            .is_some_and(|n| seq > n)
    }

    /// Whether the encryption key `public_hex` (X25519, hex) of `authority`
    /// is declared compromised (`tally trust revoke-key`, which takes
    /// signing and encryption keys alike) or marked so on its card: nothing
    /// is sealed to it any more, whatever seq the declaration names, since
    /// whatever is sealed now comes after it.
    pub fn encryption_key_compromised(&self, authority: &AuthorityId, public_hex: &str) -> bool {
        self.encryption_compromise(authority, public_hex).is_some()
    }

    /// The seq of `authority`'s log after which its encryption key
    /// `public_hex` is compromised (the smallest of the declarations and the
    /// card's mark), or `None` when it is not.
    pub fn encryption_compromise(&self, authority: &AuthorityId, public_hex: &str) -> Option<u64> {
        let declared = self
            .compromised
            .iter()
            .filter(|c| &c.authority == authority && c.key_id.eq_ignore_ascii_case(public_hex))
            .map(|c| c.after_seq);
        let carded = self
            .card(authority)
            .into_iter()
            .flat_map(|c| &c.encryption_keys)
            .filter(|k| k.public_key.eq_ignore_ascii_case(public_hex))
            .filter_map(|k| k.compromised_after_seq);
        declared.chain(carded).min()
    }

    /// Every compromise in force: the declarations and what cards carry,
    /// sorted, each (authority, key) once with its smallest seq.
    pub fn compromises(&self) -> Vec<KeyCompromise> {
        let mut all: std::collections::BTreeMap<(AuthorityId, String), u64> = Default::default();
        let carded = self.cards.iter().flat_map(|c| {
            c.keys.iter().filter_map(|k| {
                Some(KeyCompromise {
                    authority: c.authority.clone(),
                    key_id: k.public_key.to_ascii_lowercase(),
                    after_seq: k.compromised_after_seq?,
                })
            })
        });
        for c in self.compromised.iter().cloned().chain(carded) {
            let n = all
                .entry((c.authority, c.key_id.to_ascii_lowercase()))
                .or_insert(c.after_seq);
            *n = (*n).min(c.after_seq);
        }
        all.into_iter()
            .map(|((authority, key_id), after_seq)| KeyCompromise {
                authority,
                key_id,
                after_seq,
            })
            .collect()
    }

    /// Records the declaration for (authority, key). Declarations only ever
    /// narrow: when one for that key exists already, the smaller seq stays
    /// in force (re-declaring with a larger seq would otherwise accept
    /// again the entries past the first point and close their
    /// `key.compromised` alerts). Returns the seq in force afterwards.
    pub fn declare_compromise(&mut self, c: KeyCompromise) -> u64 {
        let same = |d: &KeyCompromise| {
            d.authority == c.authority && d.key_id.eq_ignore_ascii_case(&c.key_id)
        };
        let after_seq = self
            .compromised
            .iter()
            .filter(|d| same(d))
            .map(|d| d.after_seq)
            .fold(c.after_seq, u64::min);
        self.compromised.retain(|d| !same(d));
        self.compromised.push(KeyCompromise {
            key_id: c.key_id.to_ascii_lowercase(),
            after_seq,
            ..c
        });
        self.compromised.sort();
        after_seq
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

    #[test]
    fn a_point_of_contact_is_one_printable_line_of_200_characters() {
        assert!(check_contact("DDTC Response Team, +1 202 663 1282").is_ok());
        assert!(check_contact(&"é".repeat(MAX_CONTACT_CHARS)).is_ok());
        for bad in [
            String::new(),
            "  ".into(),
            "a".repeat(MAX_CONTACT_CHARS + 1),
            "call\nme".into(),
            "desk\u{1b}[31m".into(),
            "desk \u{202e}moc.liam".into(),
        ] {
            assert!(check_contact(&bad).is_err(), "{bad:?}");
        }
    }
    use crate::entry::AuthorityKey;

    fn card(authority: &str, key: &AuthorityKey) -> Card {
        Card {
            contact: None,
            authority: authority.parse().expect("valid"),
            country: authority[..2].to_string(),
            name: "test".into(),
            peer_id: "12D3KooW".into(),
            addresses: vec![],
            keys: vec![CardKey {
                valid_until_ms: Some(2000),
                ..CardKey::new(hex::encode(key.public().as_bytes()), 1000)
            }],
            encryption_keys: Vec::new(),
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
        assert!(t.trusts(&us, &id, 1500, 1));
        assert!(!t.trusts(&us, &id, 999, 1) && !t.trusts(&us, &id, 2001, 1));
        assert!(!t.trusts(&mx, &id, 1500, 1) && !t.trusts(&us, &[0; 32], 1500, 1));
        assert!(t.key_for(&us, &id, 999).is_none());
        assert!(t.key_for(&us, &id, 2001).is_none());
        assert!(t.key_for(&mx, &id, 1500).is_none());
        assert!(t.key_for(&us, &[0; 32], 1500).is_none());
        let text = toml::to_string(&t).unwrap_or_default();
        assert!(text.is_empty() || text.contains("US-DDTC"));
    }

    /// A fixed card's fingerprint, pinned: it is compared between nodes and
    /// people, so any change to the encoding must show up here.
    #[test]
    fn fingerprint_of_a_fixed_card() {
        let k = AuthorityKey::from_bytes(&[5; 32]);
        let c = card("US-DDTC", &k);
        let key_hex = hex::encode(k.public().as_bytes());
        let text = format!(
            "tally/card/v2\nauthority US-DDTC\n\
             key signing {key_hex} from 1000 until 2000 retired - compromised -\n"
        );
        assert_eq!(c.fingerprint_input(), text.as_bytes());
        assert_eq!(
            c.fingerprint_bytes().to_vec(),
            Sha256::digest(text.as_bytes()).to_vec()
        );
        assert_eq!(c.fingerprint(), FIXED_FINGERPRINT);
        let shown = c.fingerprint();
        let groups: Vec<&str> = shown.split('-').collect();
        assert_eq!(groups.len(), 16);
        assert!(groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }));
    }

    /// Computed outside Rust (Python's `cryptography` for the public key of
    /// the secret `[5; 32]`, then `hashlib.sha256` of the text above). The
    /// same card's v1 fingerprint was `04a7-70e6-...-af0e`.
    const FIXED_FINGERPRINT: &str =
        "5762-094a-7ff1-dcf8-a417-68df-f9b0-332b-e16d-02a2-fe8d-4ab7-7369-ff08-f39c-694b";

    /// Regression (issue 20: the fingerprint did not cover a key's
    /// validity, seq bounds or compromise marks, so a card edited to widen
    /// a key's validity or drop its retirement passed an out-of-band check).
    #[test]
    fn fingerprint_covers_authority_and_every_field_of_every_key() {
        let k = AuthorityKey::from_bytes(&[5; 32]);
        let k2 = AuthorityKey::from_bytes(&[6; 32]);
        let base = card("US-DDTC", &k);
        let fp = base.fingerprint();

        // Not covered: name, peer id, addresses, key order and case.
        let mut same = base.clone();
        same.name = "another name".into();
        same.peer_id = "12D3KooWother".into();
        same.addresses = vec!["/ip4/10.0.0.1/tcp/1".into()];
        same.keys[0].public_key = same.keys[0].public_key.to_uppercase();
        assert_eq!(same.fingerprint(), fp);
        let mut two = base.clone();
        two.keys
            .push(CardKey::new(hex::encode(k2.public().as_bytes()), 0));
        let mut two_reversed = two.clone();
        two_reversed.keys.reverse();
        assert_eq!(two.fingerprint(), two_reversed.fingerprint());

        // Covered: the authority, every key, and every field of a key.
        assert_ne!(two.fingerprint(), fp);
        assert_ne!(card("US-BATFE", &k).fingerprint(), fp);
        assert_ne!(card("US-DDTC", &k2).fingerprint(), fp);
        type Change = (&'static str, fn(&mut CardKey));
        let changes: [Change; 7] = [
            ("valid_from_ms", |k| k.valid_from_ms = 7),
            ("valid_until_ms unset", |k| k.valid_until_ms = None),
            ("valid_until_ms later", |k| k.valid_until_ms = Some(2001)),
            ("retired_after_seq set", |k| k.retired_after_seq = Some(4)),
            ("compromised_after_seq set", |k| {
                k.compromised_after_seq = Some(4)
            }),
            ("compromised_after_seq 0", |k| {
                k.compromised_after_seq = Some(0)
            }),
            ("another key", |k| {
                k.public_key = hex::encode(AuthorityKey::from_bytes(&[7; 32]).public().as_bytes())
            }),
        ];
        let mut seen = vec![fp.clone()];
        for (what, change) in changes {
            let mut c = base.clone();
            change(&mut c.keys[0]);
            let changed = c.fingerprint();
            assert!(!seen.contains(&changed), "{what} does not change it");
            seen.push(changed);
        }
        let mut retired = base.clone();
        retired.keys[0].retired_after_seq = Some(4);
        let mut retired_later = base.clone();
        retired_later.keys[0].retired_after_seq = Some(5);
        assert_ne!(retired.fingerprint(), retired_later.fingerprint());

        // Encryption keys: covered, field by field, and not the same as a
        // signing key with the same bytes.
        let x = crate::seal::EncryptionSecret::from_bytes([9; 32])
            .public()
            .to_hex();
        let mut sealed = base.clone();
        sealed.encryption_keys = vec![CardKey::new(x.clone(), 0)];
        assert_ne!(sealed.fingerprint(), fp);
        let mut as_signing = base.clone();
        as_signing.keys.push(CardKey::new(x.clone(), 0));
        assert_ne!(sealed.fingerprint(), as_signing.fingerprint());
        let mut sealed_retired = sealed.clone();
        sealed_retired.encryption_keys[0].retired_after_seq = Some(3);
        assert_ne!(sealed_retired.fingerprint(), sealed.fingerprint());
        let mut sealed_compromised = sealed.clone();
        sealed_compromised.encryption_keys[0].compromised_after_seq = Some(3);
        assert_ne!(sealed_compromised.fingerprint(), sealed.fingerprint());
        assert_ne!(
            sealed_compromised.fingerprint(),
            sealed_retired.fingerprint()
        );
        let mut sealed_until = sealed.clone();
        sealed_until.encryption_keys[0].valid_until_ms = Some(5);
        assert_ne!(sealed_until.fingerprint(), sealed.fingerprint());
        let text = String::from_utf8(sealed.fingerprint_input()).expect("utf-8");
        assert!(
            text.lines()
                .any(|l| l == format!("key encryption {x} from 0 until - retired - compromised -")),
            "{text}"
        );
    }

    #[test]
    fn typed_fingerprints_normalize() {
        let fp = card("US-DDTC", &AuthorityKey::from_bytes(&[5; 32])).fingerprint();
        let bare = fp.replace('-', "");
        for typed in [
            fp.clone(),
            fp.to_uppercase(),
            fp.replace('-', " "),
            fp.replace('-', ":"),
            bare.clone(),
            format!("  {fp}\n"),
        ] {
            assert_eq!(
                normalize_fingerprint(&typed).as_deref(),
                Some(bare.as_str())
            );
        }
        for bad in [
            "",
            "abcd",
            &bare[1..],
            &format!("{bare}0"),
            &format!("g{}", &bare[1..]),
        ] {
            assert_eq!(normalize_fingerprint(bad), None, "{bad:?}");
        }
    }

    /// The seq bounds of a card key and of a declaration, as a table:
    /// (retired after, compromised on the card, declared, seq, trusted).
    #[test]
    fn card_keys_are_judged_by_seq_too() {
        let k = AuthorityKey::from_bytes(&[5; 32]);
        let us: AuthorityId = "US-DDTC".parse().expect("valid");
        let id = k.public().to_bytes();
        type Row = (Option<u64>, Option<u64>, Option<u64>, u64, bool);
        let rows: &[Row] = &[
            (None, None, None, 1, true),
            (None, None, None, 1_000_000, true),
            (Some(5), None, None, 5, true),
            (Some(5), None, None, 6, false),
            (None, Some(3), None, 3, true),
            (None, Some(3), None, 4, false),
            (None, None, Some(7), 7, true),
            (None, None, Some(7), 8, false),
            (Some(9), None, Some(7), 8, false),
            (Some(5), Some(8), None, 6, false),
            (None, Some(9), Some(4), 6, false),
        ];
        for &(retired, carded, declared, seq, want) in rows {
            let mut c = card("US-DDTC", &k);
            c.keys[0].retired_after_seq = retired;
            c.keys[0].compromised_after_seq = carded;
            let mut t = TrustList::default();
            t.upsert(c);
            if let Some(n) = declared {
                t.declare_compromise(KeyCompromise {
                    authority: us.clone(),
                    key_id: hex::encode(id),
                    after_seq: n,
                });
            }
            assert_eq!(
                t.trusts(&us, &id, 1500, seq),
                want,
                "retired {retired:?} carded {carded:?} declared {declared:?} seq {seq}"
            );
            let expected = match (carded, declared) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            assert_eq!(t.compromised_after(&us, &id), expected);
            assert_eq!(t.compromises().len(), usize::from(expected.is_some()));
            // A card written without the new fields still parses, and the
            // list round-trips through its file format.
            let text = toml::to_string(&t).expect("serializes");
            assert_eq!(toml::from_str::<TrustList>(&text).expect("parses"), t);
        }
        let old = "[[card]]\nauthority = \"US-DDTC\"\ncountry = \"US\"\nname = \"x\"\npeer_id = \"p\"\n[[card.keys]]\npublic_key = \"00\"\nvalid_from_ms = 0\n";
        let parsed: TrustList = toml::from_str(old).expect("an old trust file parses");
        assert!(parsed.compromised.is_empty());
        assert_eq!(parsed.cards[0].keys[0].retired_after_seq, None);
    }

    /// Issue 28 item 3: `revoke-key --after-seq 450` then `--after-seq
    /// 100000` cancelled the first declaration; the smallest must count.
    #[test]
    fn compromise_declarations_only_narrow() {
        let k = AuthorityKey::from_bytes(&[5; 32]);
        let us: AuthorityId = "US-DDTC".parse().expect("valid");
        let id = k.public().to_bytes();
        let mut t = TrustList::default();
        t.upsert(card("US-DDTC", &k));
        let declare = |t: &mut TrustList, key_id: String, after_seq| {
            t.declare_compromise(KeyCompromise {
                authority: us.clone(),
                key_id,
                after_seq,
            })
        };
        assert_eq!(declare(&mut t, hex::encode(id), 450), 450);
        let first = t.compromises();
        // Larger (also spelled in capitals): the first one stays.
        assert_eq!(declare(&mut t, hex::encode(id), 100_000), 450);
        assert_eq!(declare(&mut t, hex::encode_upper(id), 1_000), 450);
        assert_eq!(t.compromised_after(&us, &id), Some(450));
        assert!(!t.trusts(&us, &id, 1500, 451));
        assert_eq!(t.compromises(), first, "nothing to re-derive");
        assert_eq!(t.compromised.len(), 1, "one declaration a key");
        // Smaller: narrows.
        assert_eq!(declare(&mut t, hex::encode(id), 100), 100);
        assert_eq!(t.compromised_after(&us, &id), Some(100));
        assert!(!t.trusts(&us, &id, 1500, 101));
        assert!(t.trusts(&us, &id, 1500, 100));
        assert_eq!(t.compromised.len(), 1);
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
        // A strong key plus a point of order 8: mixed order, refused too.
        let mixed = (curve25519_dalek::edwards::CompressedEdwardsY(k.public().to_bytes())
            .decompress()
            .expect("point")
            + curve25519_dalek::constants::EIGHT_TORSION[1])
            .compress();
        let mut c = card("US-DDTC", &k);
        c.keys[0].public_key = hex::encode(mixed.as_bytes());
        let err = c.check().expect_err("mixed order").to_string();
        assert!(err.contains("mixed order"), "{err}");
    }
}
