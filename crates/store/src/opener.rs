//! [`Opener`]: how the store reads a sealed entry's document when it applies
//! it. The store knows no keys and no cryptography; the node hands it an
//! opener (the verifier's sealing keys) when it opens the store, so appends
//! and reindexes apply sealed documents the same way.

use tally_model::{Document, Entry};

/// What opening a sealed entry came to.
#[derive(Debug, Clone)]
pub enum Opening {
    /// Addressed to this node, opened and checked: apply it. `readers` are
    /// its sealed recipient list (the issuer first): who can read it, and
    /// with which of their encryption keys.
    Document {
        document: Box<Document>,
        readers: Vec<crate::state::Reader>,
    },
    /// Not addressed to this node: keep the entry, apply nothing.
    NotAddressed,
    /// Addressed to this node (a tag matched) but it does not open, or its
    /// recipient list is wrong: keep it as evidence, raise
    /// `document.invalid` with the reason.
    Invalid(String),
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
}
