//! [`View`]: read access to one consistent state (the committed engine, or
//! a transaction's writes over it), and the reads every layer above shares.

use crate::engine::Engine;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::opener::SealedReader;
use tally_model::License;

/// Read access to a consistent state: the engine, or the engine plus a
/// transaction's pending writes.
pub(crate) trait View {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Reads back sealed documents this node opened, when it has its keys.
    fn reader(&self) -> Option<&dyn SealedReader>;
    /// The document this view applied from the log entry at `log_key`
    /// itself, kept in memory (a transaction's own applies).
    fn applied_document(&self, _log_key: &[u8]) -> Option<License> {
        None
    }
}

/// The committed state as a [`View`], for reads outside a transaction.
pub(crate) struct EngineView<'a>(pub &'a dyn Engine, pub Option<&'a dyn SealedReader>);

impl View for EngineView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn reader(&self) -> Option<&dyn SealedReader> {
        self.1
    }
}

/// Seq through which `authority`'s log is applied (0: none).
pub(crate) fn applied_through(view: &dyn View, authority: &str) -> Result<u64> {
    let key = keys::applied(authority);
    match view.get(&key)? {
        None => Ok(0),
        Some(v) => v
            .as_slice()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::corrupt(&key, "applied mark is not 8 bytes")),
    }
}
