//! The redb engine: one table, one write transaction with immediate
//! durability (fsync) per commit.

use crate::engine::{Batch, Engine, EngineKind, Op, Rows};
use crate::error::{Result, StoreError};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};
use std::path::Path;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tally");

/// redb's page cache. Its default (1 GiB) made a node's memory grow with its
/// store for the first gigabyte; 64 MiB holds the hot pages (heads, recent
/// log, license states) and keeps memory flat under load.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

pub struct RedbEngine {
    db: Database,
}

fn err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Redb(e.into())
}

impl RedbEngine {
    pub fn open(path: &Path) -> Result<RedbEngine> {
        if !path.exists() {
            Self::create(path)?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(err)?;
        Ok(RedbEngine { db })
    }

    /// Creates a new database beside `path` and renames it into place, so a
    /// process killed while creating leaves no half-written file that the
    /// next start would refuse as "not a redb database".
    fn create(path: &Path) -> Result<()> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("creating");
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(io)?;
        }
        {
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&tmp)
                .map_err(err)?;
            // Readers open the table and fail if it was never created.
            let txn = db.begin_write().map_err(err)?;
            txn.open_table(TABLE).map_err(err)?;
            txn.commit().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    fn collect(&self, start: &[u8], end: &[u8], limit: usize, rev: bool) -> Result<Rows> {
        if start >= end {
            return Ok(Vec::new());
        }
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        let range = table.range::<&[u8]>(start..end).map_err(err)?;
        let mut rows = Vec::new();
        let mut push = |kv: Result<_, redb::StorageError>| -> Result<()> {
            let (k, v): (redb::AccessGuard<&[u8]>, redb::AccessGuard<&[u8]>) = kv.map_err(err)?;
            rows.push((k.value().to_vec(), v.value().to_vec()));
            Ok(())
        };
        if rev {
            for kv in range.rev().take(limit) {
                push(kv)?;
            }
        } else {
            for kv in range.take(limit) {
                push(kv)?;
            }
        }
        Ok(rows)
    }
}

impl Engine for RedbEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        Ok(table.get(key).map_err(err)?.map(|v| v.value().to_vec()))
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        self.collect(start, end, limit, false)
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        self.collect(start, end, limit, true)
    }

    fn commit(&self, batch: Batch) -> Result<()> {
        let mut txn = self.db.begin_write().map_err(err)?;
        // The default, stated because it is the whole point of this engine.
        txn.set_durability(Durability::Immediate).map_err(err)?;
        {
            let mut table = txn.open_table(TABLE).map_err(err)?;
            for op in &batch {
                match op {
                    Op::Put(k, v) => {
                        table.insert(k.as_slice(), v.as_slice()).map_err(err)?;
                    }
                    Op::Delete(k) => {
                        table.remove(k.as_slice()).map_err(err)?;
                    }
                }
            }
        }
        txn.commit().map_err(err)
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Redb
    }
}
