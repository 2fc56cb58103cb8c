//! X25519 keys of the authorities: the public key a document is sealed to
//! (its hex is the key id in cards, announcements and payloads) and the
//! node's secret.

use crate::random::Random;
use std::fmt;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// An authority's X25519 encryption public key (32 bytes). Its hex is its
/// key id in cards, announcements and payloads.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncryptionPublic(pub [u8; 32]);

impl EncryptionPublic {
    /// Parses 64 hex digits. Says nothing about the key's order: callers
    /// that accept a key (cards, announcements) also check
    /// [`is_low_order`](Self::is_low_order).
    pub fn parse(hex_text: &str) -> Option<EncryptionPublic> {
        let bytes = hex::decode(hex_text).ok()?;
        Self::from_slice(&bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<EncryptionPublic> {
        bytes.try_into().ok().map(EncryptionPublic)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// True for a key whose DH with any secret is not contributory: a point
    /// of order dividing 8 (on the curve or its twist, in any encoding).
    /// Decided by a DH with a fixed scalar: a clamped scalar is 8 times a
    /// number below the prime subgroup's order, so the result is the
    /// identity exactly when the point's order divides 8.
    pub fn is_low_order(&self) -> bool {
        let probe = StaticSecret::from([0x55; 32]);
        !probe
            .diffie_hellman(&PublicKey::from(self.0))
            .was_contributory()
    }
}

impl fmt::Display for EncryptionPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for EncryptionPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionPublic({})", hex::encode(&self.0[..8]))
    }
}

/// An authority's X25519 encryption secret. Zeroed on drop; `Debug` shows
/// only the public key.
#[derive(Clone)]
pub struct EncryptionSecret {
    pub(crate) secret: StaticSecret,
    // Kept so opening does not pay a base-point multiplication per entry.
    pub(crate) public: EncryptionPublic,
}

impl EncryptionSecret {
    pub fn from_bytes(bytes: [u8; 32]) -> EncryptionSecret {
        let secret = StaticSecret::from(bytes);
        let public = EncryptionPublic(PublicKey::from(&secret).to_bytes());
        EncryptionSecret { secret, public }
    }

    /// A fresh secret from `random`.
    pub fn generate(random: &mut dyn Random) -> EncryptionSecret {
        let mut bytes = Zeroizing::new([0u8; 32]);
        random.fill(&mut bytes[..]);
        Self::from_bytes(*bytes)
    }

    /// The secret bytes, for the node's key file. Handle with care.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    pub fn public(&self) -> EncryptionPublic {
        self.public
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionSecret(public {})", self.public.to_hex())
    }
}
