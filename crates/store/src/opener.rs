//! [`Opener`]: how the store reads a sealed entry's document when it applies
//! it. The store knows no keys and no cryptography; the node hands it an
//! opener (the verifier's sealing keys) when it opens the store, so appends
//! and reindexes apply sealed documents the same way.
//!
//! Whatever a sealed entry holds, opening it never fails a transaction: the
//! outcome is one of the values below, and each has a fixed effect
//! (`derive::apply`).

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
    /// applies.
    Document {
        document: Box<Document>,
        readers: Vec<crate::state::Reader>,
        doubts: Vec<Doubt>,
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

/// Opens sealed entries addressed to this node.
pub trait Opener: Send + Sync + 'static {
    /// Opens `entry`; `announced` are the encryption keys its authority
    /// announced in its own log (besides those on its card).
    fn open(&self, entry: &Entry, announced: &[crate::state::AnnouncedKey]) -> Opening;

    /// Opens again an entry that [`Opener::open`] opened when it was
    /// applied, with the issuer's encryption key recorded then
    /// (`issuer_key`, hex): how a recipient reads a sealed license it keeps
    /// no clear copy of. `None` when it does not open (a secret was lost).
    fn reopen(&self, entry: &Entry, issuer_key: &str) -> Option<Document>;

    /// Whether `key` (hex) is an encryption key of `authority` on the card
    /// this node trusts for it (or, for this node, one of its own). Keys an
    /// authority announced in its log are the store's to check.
    fn card_knows(&self, authority: &tally_model::AuthorityId, key: &str) -> bool;
}
