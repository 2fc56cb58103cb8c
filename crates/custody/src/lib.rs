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

mod pin;
mod pkcs11;

pub use pin::{PinFileError, read_pin_file};
pub use pkcs11::{Pkcs11Config, Pkcs11Signer, RECONNECT_INTERVAL};
pub use tally_model::signer::{FileSigner, Signer, SignerError, max_message_bytes, sign_entry};
