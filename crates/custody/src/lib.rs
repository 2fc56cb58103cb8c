//! Where an authority's signing key lives, behind one signer.
//!
//! Every signature a node makes goes through [`Signer`]: today log entries,
//! later paper seals. Two implementations:
//!
//! - [`FileSigner`], the default: the Ed25519 secret in a 0600 file, signing
//!   with ed25519-dalek in the node's memory (tally-model's `AuthorityKey`);
//! - [`Pkcs11Signer`]: the key generated inside a hardware security module
//!   and used through PKCS#11 (the `cryptoki` crate), so the secret never
//!   enters the node's memory or disk (docs/OPERATIONS.md, "Signing keys in
//!   an HSM (PKCS#11)").
//!
//! **What is signed is the caller's business.** A signer signs the bytes it
//! is handed, whole, with pure Ed25519 (RFC 8032; CKM_EDDSA without
//! parameters in a token). The caller passes the message already
//! domain-separated: for an entry, `"tally/entry/v1" || entry`, built by
//! tally-model, which owns the signature rule and its domain prefix
//! (docs/PROTOCOL.md 3.1). A signer never adds, strips or checks a prefix,
//! so nothing about the protocol lives here and a token's signatures verify
//! under the protocol's one rule (`tally_model::signature::verify`) like
//! ed25519-dalek's.
//!
//! **A token that goes away is not a broken node.** [`SignerError`] tells a
//! token that is absent or lost its session ([`SignerError::Unavailable`]:
//! writes answer 503, reads go on, the signer reconnects by itself on a
//! later call) from a PIN the token refused ([`SignerError::PinRefused`]:
//! the node exits with its own code and is not restarted, since retrying
//! would lock a real HSM's PIN).

mod error;
mod file;
mod pin;
mod pkcs11;

pub use error::SignerError;
pub use file::FileSigner;
pub use pin::{PinFileError, read_pin_file};
pub use pkcs11::{Pkcs11Config, Pkcs11Signer, RECONNECT_INTERVAL};

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
    entry: &tally_model::Entry,
) -> Result<tally_model::VerifiedEntry, SignerError> {
    entry
        .sign_with(&signer.public_key(), |message| signer.sign(message))
        .map_err(|e| match e {
            tally_model::SignWithError::Signer(e) => e,
            tally_model::SignWithError::BadSignature => SignerError::BadSignature {
                signer: signer.description(),
            },
        })
}

/// The largest message a signer is ever handed by this version, in bytes:
/// an entry's signed message, the 14-byte domain prefix and the entry bytes
/// (docs/PROTOCOL.md 3.1). Entries are bounded by
/// [`tally_model::MAX_ENTRY_BYTES`] (384 KiB, the whole signed entry on the
/// wire, so the entry bytes inside are a little smaller), which makes the
/// bound 393,230 bytes. Ed25519 hashes the message twice and a token signs it
/// in one `C_Sign` call (pure EdDSA has no multi-part form that a token must
/// offer), so a token must accept single-part messages of this size: check
/// a module with it before trusting it with an authority's key.
pub fn max_message_bytes() -> usize {
    tally_model::entry::DOMAIN.len() + tally_model::MAX_ENTRY_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_message_is_the_largest_entry_with_its_prefix() {
        assert_eq!(max_message_bytes(), 14 + 384 * 1024);
        assert_eq!(max_message_bytes(), 393_230);
    }
}
