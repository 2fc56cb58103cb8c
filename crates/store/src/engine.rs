//! The narrow ordered key-value door every engine sits behind (as in garage):
//! point reads, ordered range scans, one atomic durable batch.

use crate::error::{Result, StoreError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// One change in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Changes that commit together or not at all.
pub type Batch = Vec<Op>;

/// Keys and values, in key order.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// An ordered byte keyspace. Reads may run concurrently with each other and
/// with a commit; the store serializes commits itself.
pub trait Engine: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Up to `limit` rows with `start <= key < end`, ascending.
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows>;
    /// Up to `limit` rows with `start <= key < end`, descending.
    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows>;
    /// Applies every op atomically; the batch is on disk (as far as the
    /// engine promises, see [`EngineKind`]) when this returns.
    fn commit(&self, batch: Batch) -> Result<()>;
    /// Which engine this is.
    fn kind(&self) -> EngineKind;
    /// A read-only engine whose reads all see the last commit as of now and
    /// share one engine transaction (a shipment check makes a dozen reads;
    /// opening a transaction for each was a tenth of its time). Its
    /// `commit` answers [`StoreError::ReadOnly`].
    fn snapshot(&self) -> Result<Box<dyn Engine>>;
}

/// Which engine holds a store. Config: `engine = "redb"` or `engine = "sled"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// sled 0.34: `flush` writes and `sync_file_range`s its log, so a commit
    /// survives a killed process but not necessarily a power loss.
    Sled,
    /// redb: copy-on-write B-tree, every commit `fsync`s before returning, so
    /// a commit survives a killed process and a power loss. The default: the
    /// crash test passes on both, and only this one promises what an
    /// acknowledgement means (see the crate README).
    #[default]
    Redb,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Sled => "sled",
            EngineKind::Redb => "redb",
        }
    }
    pub const ALL: [EngineKind; 2] = [EngineKind::Sled, EngineKind::Redb];
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not an engine name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown storage engine {0:?}: expected \"redb\" or \"sled\"")]
pub struct UnknownEngine(pub String);

impl FromStr for EngineKind {
    type Err = UnknownEngine;
    fn from_str(s: &str) -> Result<EngineKind, UnknownEngine> {
        match s {
            "sled" => Ok(EngineKind::Sled),
            "redb" => Ok(EngineKind::Redb),
            other => Err(UnknownEngine(other.to_string())),
        }
    }
}

/// Opens (or creates) the engine's files under `dir`, which the caller has
/// already claimed for this engine.
pub fn open(dir: &Path, kind: EngineKind) -> Result<Box<dyn Engine>> {
    Ok(match kind {
        EngineKind::Sled => Box::new(crate::sled::SledEngine::open(&dir.join(SLED_DIR))?),
        EngineKind::Redb => Box::new(crate::redb::RedbEngine::open(&dir.join(REDB_FILE))?),
    })
}

/// Where each engine keeps its files inside a store directory.
pub const SLED_DIR: &str = "sled";
pub const REDB_FILE: &str = "store.redb";
/// A one-line file naming the engine that created the directory.
pub const ENGINE_MARKER: &str = "ENGINE";

/// Whether files of `kind` already exist under `dir`.
pub fn files_exist(dir: &Path, kind: EngineKind) -> bool {
    match kind {
        EngineKind::Sled => dir.join(SLED_DIR).exists(),
        EngineKind::Redb => dir.join(REDB_FILE).exists(),
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_names() {
        for (name, kind) in [("sled", EngineKind::Sled), ("redb", EngineKind::Redb)] {
            assert_eq!(name.parse::<EngineKind>(), Ok(kind));
            assert_eq!(kind.to_string(), name);
            let json = format!("\"{name}\"");
            assert_eq!(serde_json::to_string(&kind).expect("serializes"), json);
            assert_eq!(
                serde_json::from_str::<EngineKind>(&json).expect("parses"),
                kind
            );
        }
        assert!(serde_json::from_str::<EngineKind>("\"Redb\"").is_err());
        let err = "rocksdb".parse::<EngineKind>().expect_err("unknown");
        assert!(err.to_string().contains("\"redb\" or \"sled\""), "{err}");
        assert_eq!(EngineKind::default(), EngineKind::Redb);
    }
}
