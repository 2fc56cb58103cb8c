//! The store's one error enum.

use std::path::PathBuf;

/// Why a store operation failed. A refused entry is a caller bug caught by a
/// safety net ([`StoreError::NotNext`]); everything else is the disk or the
/// directory being other than expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    #[error("redb: {0}")]
    Redb(#[from] redb::Error),
    /// A write through a read-only snapshot ([`crate::Store::snapshot`]): a
    /// bug of the caller, refused rather than written.
    #[error("a read-only snapshot of the store cannot commit")]
    ReadOnly,
    #[error("store directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Stored bytes that do not decode: the disk or a foreign writer damaged
    /// the store. Never a panic.
    #[error("corrupt store value under key {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A sealed document this node applied no longer opens (a secret lost,
    /// or a store written before the issuer's key was recorded): the license
    /// reads as unreadable (`document.unreadable`), nothing else stops.
    #[error("{authority} {number} does not open here: {reason}")]
    Unreadable {
        authority: String,
        number: String,
        reason: String,
    },
    /// A rebuild of the derived records was stopped (shutdown); the store
    /// is marked and the next open finishes it.
    #[error(
        "the rebuild of the derived records was interrupted; it finishes when the store is opened again"
    )]
    Interrupted,
    /// The integrity check found the store damaged: it refuses writes
    /// until it is replaced (docs/OPERATIONS.md).
    #[error("the store is damaged: {0}")]
    Damaged(String),
    #[error(
        "store at {path} has schema version {found}, but this build of tally reads schema version \
         {expected}; use a build that matches the store, or rebuild the store from the network"
    )]
    SchemaMismatch {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error(
        "store at {path} was created by the {found} engine, but the configuration asks for {wanted}; \
         set `engine = \"{found}\"` or point the store at an empty directory"
    )]
    WrongEngine {
        path: PathBuf,
        found: String,
        wanted: String,
    },
    /// The caller validated the chain; this catches the case where it raced
    /// or was wrong. Nothing of the refused append (or batch) was written.
    #[error(
        "entry {got} of {authority} is not next in its log: expected seq {expected} linking to the held head"
    )]
    NotNext {
        authority: String,
        expected: u64,
        got: u64,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Why a write failed, in a few words without paths or engine
    /// internals: what a client is told with its 503.
    pub fn cause(&self) -> &'static str {
        match self {
            StoreError::Damaged(_) => "the store is damaged",
            e if e.is_disk_full() => "the disk is full (No space left on device)",
            StoreError::Redb(_) | StoreError::Sled(_) | StoreError::Io { .. } => {
                "a store I/O error"
            }
            _ => "a store error",
        }
    }

    /// Whether the file system ran out of space (ENOSPC, or a quota).
    pub fn is_disk_full(&self) -> bool {
        if let StoreError::Io { source, .. } = self
            && matches!(
                source.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        {
            return true;
        }
        // The engines wrap the I/O error in their own types; its text is
        // the OS's.
        let text = self.to_string();
        text.contains("os error 28") || text.contains("No space left")
    }

    pub(crate) fn corrupt(key: &[u8], reason: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            key: crate::keys::display(key),
            reason: reason.to_string(),
        }
    }
}
