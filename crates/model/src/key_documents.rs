//! The documents that announce an authority's keys: a new signing key
//! ([`KeyRotation`]), its encryption key ([`EncryptionKey`]) and its paper
//! key ([`PaperKey`]). Never sealed: every node needs them. Re-exported by
//! `crate::document` beside the other documents.

use crate::x25519::EncryptionPublic;
use serde::{Deserialize, Serialize};

/// A new signing key, announced in the log and signed by the current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// Hex of the 32-byte Ed25519 public key.
    pub new_key: String,
    pub valid_from_ms: i64,
}

/// A new X25519 encryption key of the authority, announced in its own log.
/// Always network-visible (never sealed): every node must be able to seal to
/// it. Issuers seal to the newest key seen; the old secret stays to read old
/// entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionKey {
    /// The 32-byte X25519 public key; lowercase hex in JSON, like
    /// [`KeyRotation::new_key`].
    #[serde(with = "hex32")]
    pub public_key: [u8; 32],
    pub valid_from_ms: i64,
}

/// The authority's paper key (docs/PROTOCOL.md 14): an Ed25519 key that
/// signs only the seals printed on its documents, announced in its own log
/// (never sealed: every verifier needs it) and rotated on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperKey {
    /// The 32-byte Ed25519 public key; lowercase hex in JSON.
    #[serde(with = "hex32")]
    pub public_key: [u8; 32],
    pub valid_from_ms: i64,
}

impl EncryptionKey {
    pub fn public(&self) -> EncryptionPublic {
        EncryptionPublic(self.public_key)
    }
}

/// Serde for a 32-byte key as 64 lowercase hex digits.
mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(key))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(D::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| D::Error::custom("expected 64 hex digits (32 bytes)"))
    }
}
