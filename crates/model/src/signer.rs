//! The one signer every signature of a node goes through (log entries
//! today, paper seals later): where the authority's key lives is the
//! signer's business, what is signed is the caller's. A signer signs the
//! bytes it is handed, whole, with pure Ed25519 (RFC 8032); the message is
//! already domain-separated by this crate ([`crate::entry::DOMAIN`],
//! docs/PROTOCOL.md 3.1), and [`sign_entry`] checks the signature under the
//! protocol's rule before the entry counts as verified.
//!
//! Here: the [`Signer`] trait, why a signature was not made
//! ([`SignerError`], sorted by what the node does about it), and
//! [`FileSigner`], the key in a 0600 file. The PKCS#11 signer (a key
//! generated inside a hardware security module) is `tally-custody`'s, so
//! that the verifier signs without depending on a token library.

use ed25519_dalek::{Signer as _, SigningKey};

/// One signing key, wherever it is kept. Shared by the node's tasks behind
/// an `Arc<dyn Signer>`.
pub trait Signer: Send + Sync {
    /// The Ed25519 public key (what the authority's card and `key_id` carry).
    fn public_key(&self) -> [u8; 32];

    /// Signs `message` whole with pure Ed25519. `message` is the complete
    /// signed message, domain prefix included (see the crate's docs).
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError>;

    /// Where the key is, for status pages and logs: never a secret, never
    /// the PIN.
    fn description(&self) -> String;

    /// Whether the signer could sign now, without signing anything: a token
    /// that went away is looked for again (paced like a signature's
    /// reconnection). The node asks while its token is away, so that health
    /// recovers without a write. A key in memory always can.
    fn check(&self) -> Result<(), SignerError> {
        Ok(())
    }
}

/// Signs `entry` with `signer`: tally-model builds the message (its domain
/// prefix, docs/PROTOCOL.md 3.1) and checks the signature under the
/// protocol's rule before the entry counts as verified; the signer only
/// signs the bytes. What the issuing path calls in place of
/// `AuthorityKey::sign`.
pub fn sign_entry(
    signer: &dyn Signer,
    entry: &crate::Entry,
) -> Result<crate::VerifiedEntry, SignerError> {
    entry
        .sign_with(&signer.public_key(), |message| signer.sign(message))
        .map_err(|e| match e {
            crate::SignWithError::Signer(e) => e,
            crate::SignWithError::BadSignature => SignerError::BadSignature {
                signer: signer.description(),
            },
        })
}

/// The largest message a signer is ever handed by this version, in bytes:
/// an entry's signed message, the 14-byte domain prefix and the entry bytes
/// (docs/PROTOCOL.md 3.1). Entries are bounded by
/// [`crate::MAX_ENTRY_BYTES`] (384 KiB, the whole signed entry on the
/// wire, so the entry bytes inside are a little smaller), which makes the
/// bound 393,230 bytes. Ed25519 hashes the message twice and a token signs it
/// in one `C_Sign` call (pure EdDSA has no multi-part form that a token must
/// offer), so a token must accept single-part messages of this size: check
/// a module with it before trusting it with an authority's key.
pub fn max_message_bytes() -> usize {
    crate::entry::DOMAIN.len() + crate::MAX_ENTRY_BYTES
}

/// Why a [`Signer`] did not sign, or a token key could not be opened.
///
/// The variants are sorted by what the node does: [`Unavailable`] answers
/// writes with 503 and keeps serving reads (the signer reconnects by itself);
/// [`PinRefused`] stops the node with its own exit code and no restart (a
/// real HSM locks its PIN after a few wrong tries); everything else is a
/// set-up mistake to fix before starting again. No variant carries a PIN.
///
/// [`Unavailable`]: SignerError::Unavailable
/// [`PinRefused`]: SignerError::PinRefused
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The token is absent, was removed, or its session was lost
    /// (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
    /// CKR_SESSION_CLOSED, CKR_DEVICE_ERROR, the module finalised under the
    /// signer). The next call re-initialises the module and re-opens the
    /// session.
    #[error("signing token {token:?} is unavailable: {reason}")]
    Unavailable { token: String, reason: String },
    /// The token refused the PIN (CKR_PIN_INCORRECT, or CKR_PIN_LOCKED when
    /// `locked`). Retrying with the same PIN would only lock it.
    #[error("signing token {token:?} refused the PIN{}", if *locked { " (the PIN is locked)" } else { "" })]
    PinRefused { token: String, locked: bool },
    /// No key pair of that label on the token, or not the key the signer was
    /// opened with (a token swapped for another).
    #[error("signing token {token:?} has no usable Ed25519 key labelled {label:?}: {reason}")]
    KeyNotFound {
        token: String,
        label: String,
        reason: String,
    },
    /// Generation refused to make a second key under a label in use.
    #[error("signing token {token:?} already holds a key labelled {label:?}")]
    KeyExists { token: String, label: String },
    /// The PKCS#11 module could not be loaded (a wrong path, a missing
    /// library).
    #[error("PKCS#11 module {module}: {reason}")]
    Module { module: String, reason: String },
    /// The signer answered a signature that does not verify with its own
    /// public key under the protocol's rule (a token signing with another
    /// key or another EdDSA scheme): nothing was issued.
    #[error("{signer} made a signature that does not verify with its public key")]
    BadSignature { signer: String },
    /// Anything else the token answered (an unsupported mechanism, a
    /// malformed answer): not expected to pass by retrying.
    #[error("signing token {token:?}: {reason}")]
    Failed { token: String, reason: String },
}

impl SignerError {
    /// The token is away for now: answer 503 and try again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SignerError::Unavailable { .. })
    }
}

use crate::entry::AuthorityKey;

/// A signing key held in memory (loaded from the node's 0600 key file).
/// Its secret is never printed and is zeroed when dropped.
pub struct FileSigner {
    key: SigningKey,
}

impl FileSigner {
    /// The signer of `key`, tally-model's authority key as the node loads it
    /// today; signing is the same ed25519-dalek signing as
    /// [`AuthorityKey::sign`]'s, so its entries are unchanged.
    pub fn new(key: &AuthorityKey) -> FileSigner {
        let secret = zeroize::Zeroizing::new(key.to_bytes());
        FileSigner {
            key: SigningKey::from_bytes(&secret),
        }
    }
}

impl std::fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileSigner({})", hex::encode(self.key.verifying_key()))
    }
}

impl Signer for FileSigner {
    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        Ok(self.key.sign(message).to_bytes())
    }

    fn description(&self) -> String {
        format!(
            "key file (public key {})",
            hex::encode(self.key.verifying_key())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_message_is_the_largest_entry_with_its_prefix() {
        assert_eq!(max_message_bytes(), 14 + 384 * 1024);
        assert_eq!(max_message_bytes(), 393_230);
    }

    #[test]
    fn signs_like_the_authority_key_and_verifies_under_the_protocols_rule() {
        let key = AuthorityKey::from_bytes(&[7; 32]);
        let signer = FileSigner::new(&key);
        assert_eq!(signer.public_key(), key.public().to_bytes());
        let message = b"tally/entry/v1 some entry bytes";
        let sig = signer.sign(message).expect("a file key always signs");
        assert!(crate::signature::verify(
            &signer.public_key(),
            message,
            &sig
        ));
        assert!(!format!("{signer:?}").contains(&hex::encode([7u8; 32])));
        assert!(signer.description().contains(&hex::encode(key.public())));
    }

    #[test]
    fn an_entry_signed_through_the_trait_is_the_entry_the_key_signs() {
        use crate::{Body, Document, Entry, License};
        let key = AuthorityKey::from_bytes(&[7; 32]);
        let entry = Entry {
            authority: "US-DDTC".parse().expect("an authority id"),
            seq: 1,
            prev: None,
            issued_at_ms: 1_790_000_000_000,
            recipients: vec![],
            body: Body::Document(Document::License(License::Export(
                crate::sample::export_license(),
            ))),
        };
        let through = super::sign_entry(&FileSigner::new(&key), &entry).expect("signed");
        let direct = key.sign(&entry);
        assert_eq!(through.signed(), direct.signed());
    }
}
