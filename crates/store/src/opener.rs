//! What the store is handed about a sealed entry, and the one thing it may
//! ask about one.
//!
//! The store knows no keys and no cryptography. Sealed entries are opened
//! above it (the verifier, `tally_verify::apply`), before they are applied:
//! the store is handed the [`Opening`] and derives from it
//! ([`crate::Tx::apply`]); whatever a sealed entry holds, the outcome is one
//! of the values below, each with a fixed effect, and none fails a
//! transaction.
//!
//! The store keeps no clear copy of a sealed document, so reading one back
//! (a license's current version) needs it opened again: that is the one
//! call it makes upwards, through the [`SealedReader`] it is given when it
//! opens. A read changes nothing, so it cannot make two nodes derive
//! different states; when it fails the license answers `unreadable`.

use tally_model::validate::Invalid;
use tally_model::{Document, Entry};

/// What opening a sealed entry came to.
#[derive(Debug, Clone)]
pub enum Opening {
    /// Addressed to this node, opened, and its recipient list keeps the
    /// rules every reader can check: apply it. `readers` is who can read it
    /// and with which encryption keys: the issuer first, with the key whose
    /// stanza opened here (never the payload's claim), then the payload's
    /// other recipients. `doubts` are claims this node cannot confirm (see
    /// [`Doubt`]): each raises `party.excluded`, and the document still
    /// applies. `unconfirmed`: the readers (the issuer aside) whose keys no
    /// card this node trusts names; the store confirms those its logs
    /// announced and keeps the others waiting for their announcement.
    Document {
        document: Box<Document>,
        readers: Vec<crate::state::Reader>,
        doubts: Vec<Doubt>,
        unconfirmed: Vec<crate::state::Reader>,
        /// The document's stateless rules (`validate::validate_license`, for
        /// a license or an amendment), run where it was opened: catch-up
        /// opens beside the signature check, on the other core, so the
        /// one-thread commit stage does not run them (as for a clear
        /// entry's `VerifiedEntry::check_document`). `None`: not run, the
        /// lifecycle runs them.
        checked: Option<Result<(), Invalid>>,
    },
    /// Not addressed to this node: keep the entry, apply nothing.
    NotAddressed,
    /// A stanza's tag matched but it does not open (unwrap, commitment,
    /// decryption or decoding failed): this node was meant to read it and
    /// cannot. Keep the entry, raise `party.excluded` with the reason.
    Excluded(String),
    /// Opened, but its recipient list breaks a rule every reader checks
    /// alike (a party country left out, the issuer not first with the key
    /// that opened, this node missing while a party): keep it as evidence,
    /// raise `document.invalid` with the reason.
    Invalid(String),
}

/// A claim of a readable document's recipient list that this node cannot
/// share with every other reader: `unreached` for a country this node trusts
/// an authority of, or a recipient key this node has not seen announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doubt {
    pub reason: String,
}

/// Reads back a sealed document this node opened when it applied it.
pub trait SealedReader: Send + Sync + 'static {
    /// Opens again an entry that opened when it was applied, with the
    /// issuer's encryption key recorded then (`issuer_key`, hex): how a
    /// recipient reads a sealed license it keeps no clear copy of. `None`
    /// when it does not open (a secret was lost or dropped).
    fn reopen(&self, entry: &Entry, issuer_key: &str) -> Option<Document>;
}
