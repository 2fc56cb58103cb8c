//! The default signer: the authority's Ed25519 secret in a key file, signing
//! in the node's memory with ed25519-dalek.

use crate::{Signer, SignerError};
use ed25519_dalek::{Signer as _, SigningKey};
use tally_model::AuthorityKey;

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
    fn signs_like_the_authority_key_and_verifies_under_the_protocols_rule() {
        let key = AuthorityKey::from_bytes(&[7; 32]);
        let signer = FileSigner::new(&key);
        assert_eq!(signer.public_key(), key.public().to_bytes());
        let message = b"tally/entry/v1 some entry bytes";
        let sig = signer.sign(message).expect("a file key always signs");
        assert!(tally_model::signature::verify(
            &signer.public_key(),
            message,
            &sig
        ));
        assert!(!format!("{signer:?}").contains(&hex::encode([7u8; 32])));
        assert!(signer.description().contains(&hex::encode(key.public())));
    }

    #[test]
    fn an_entry_signed_through_the_trait_is_the_entry_the_key_signs() {
        use tally_model::{Body, Document, Entry, License};
        let key = AuthorityKey::from_bytes(&[7; 32]);
        let entry = Entry {
            authority: "US-DDTC".parse().expect("an authority id"),
            seq: 1,
            prev: None,
            issued_at_ms: 1_790_000_000_000,
            recipients: vec![],
            body: Body::Document(Document::License(License::Export(
                tally_model::sample::export_license(),
            ))),
        };
        let through = crate::sign_entry(&FileSigner::new(&key), &entry).expect("signed");
        let direct = key.sign(&entry);
        assert_eq!(through.signed(), direct.signed());
    }
}
