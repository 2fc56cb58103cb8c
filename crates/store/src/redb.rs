//! The redb engine: one table, one write transaction with immediate
//! durability (fsync) per commit, and a re-open after an I/O error.
//!
//! After a failed write (a full disk, an I/O error) redb refuses every
//! later write with "Previous I/O error occurred. Please close and re-open
//! the database". So a failed commit marks the database for re-opening, and
//! the next commit (or read) closes it and opens the file again, which
//! rolls back to the last committed transaction: what was acknowledged is
//! there, what failed was never acknowledged. While the file cannot be
//! opened (the disk is still full), every call answers the open's error and
//! the next one tries again.

use crate::engine::{Batch, Engine, EngineKind, Op, Rows};
use crate::error::{Result, StoreError};
use redb::{Database, Durability, ReadTransaction, ReadableDatabase, TableDefinition};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tally");

/// redb's page cache. Its default (1 GiB) made a node's memory grow with its
/// store for the first gigabyte; 64 MiB holds the hot pages (heads, recent
/// log, license states) and keeps memory flat under load.
const CACHE_BYTES: usize = 64 * 1024 * 1024;
/// redb's cache while its integrity check reads the whole file at start.
pub(crate) const CHECK_CACHE_BYTES: usize = 16 * 1024 * 1024;

pub struct RedbEngine {
    path: PathBuf,
    /// `None` after a re-open failed; commits hold the read side (the
    /// store serializes them), a re-open the write side.
    db: RwLock<Option<Database>>,
    /// A write failed: the database must be closed and opened again.
    reopen: AtomicBool,
}

fn err(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Redb(e.into())
}

impl RedbEngine {
    pub fn open(path: &Path) -> Result<RedbEngine> {
        if !path.exists() {
            Self::create(path)?;
        }
        Ok(RedbEngine {
            path: path.to_path_buf(),
            db: RwLock::new(Some(Self::open_db(path)?)),
            reopen: AtomicBool::new(false),
        })
    }

    fn open_db(path: &Path) -> Result<Database> {
        Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(err)
    }

    /// The open database, re-opened first if a write failed since.
    fn db(&self) -> Result<RwLockReadGuard<'_, Option<Database>>> {
        if self.reopen.load(Ordering::Acquire) {
            let mut db = self.db.write().unwrap_or_else(|p| p.into_inner());
            if self.reopen.load(Ordering::Acquire) {
                // Closed first: redb locks its file, so a second handle
                // on it would be refused.
                *db = None;
                *db = Some(Self::open_db(&self.path)?);
                self.reopen.store(false, Ordering::Release);
                tracing::warn!(path = %self.path.display(), "the store was re-opened after a failed write");
            }
        }
        let db = self.db.read().unwrap_or_else(|p| p.into_inner());
        if db.is_none() {
            return Err(StoreError::Io {
                path: self.path.clone(),
                source: std::io::Error::other("the database is closed after a failed write"),
            });
        }
        Ok(db)
    }

    fn commit_to(db: &Database, batch: Batch) -> Result<()> {
        let mut txn = db.begin_write().map_err(err)?;
        // The default, stated because it is the whole point of this engine.
        txn.set_durability(Durability::Immediate).map_err(err)?;
        {
            let mut table = txn.open_table(TABLE).map_err(err)?;
            let ops = last_per_key(batch);
            apply_sorted(&mut table, &ops).map_err(err)?;
        }
        txn.commit().map_err(err)
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

    /// A read transaction on the open database and its one table.
    fn read(&self) -> Result<(ReadTransaction, Table)> {
        let db = self.db()?;
        let db = db.as_ref().expect("db() returns an open database");
        let txn = db.begin_read().map_err(err)?;
        let table = txn.open_table(TABLE).map_err(err)?;
        Ok((txn, table))
    }
}

type Table = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

fn get_in(table: &Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(table.get(key).map_err(err)?.map(|v| v.value().to_vec()))
}

fn collect(table: &Table, start: &[u8], end: &[u8], limit: usize, rev: bool) -> Result<Rows> {
    if start >= end {
        return Ok(Vec::new());
    }
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

impl Engine for RedbEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_in(&self.read()?.1, key)
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        collect(&self.read()?.1, start, end, limit, false)
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        collect(&self.read()?.1, start, end, limit, true)
    }

    fn commit(&self, batch: Batch) -> Result<()> {
        let db = self.db()?;
        let committed = Self::commit_to(db.as_ref().expect("db() returns an open database"), batch);
        if committed.is_err() {
            // Whatever failed, a fresh handle is the way back: redb keeps
            // refusing writes on this one after an I/O error.
            self.reopen.store(true, Ordering::Release);
        }
        committed
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Redb
    }

    fn snapshot(&self) -> Result<Box<dyn Engine>> {
        let (txn, table) = self.read()?;
        Ok(Box::new(RedbSnapshot { _txn: txn, table }))
    }
}

/// [`Engine::snapshot`]: one read transaction, its table opened once.
struct RedbSnapshot {
    /// Kept for as long as the table is read: the snapshot's pages stay
    /// allocated while it lives.
    _txn: ReadTransaction,
    table: Table,
}

impl Engine for RedbSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_in(&self.table, key)
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        collect(&self.table, start, end, limit, false)
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        collect(&self.table, start, end, limit, true)
    }

    fn commit(&self, _: Batch) -> Result<()> {
        Err(StoreError::ReadOnly)
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Redb
    }

    fn snapshot(&self) -> Result<Box<dyn Engine>> {
        Err(StoreError::ReadOnly)
    }
}

// How the redb engine writes a batch so that its leaves stay full.
//
// A B-tree leaf that overflows is split in half. Most of Tally's rows
// arrive in key order (a log's entries by seq, its licenses by number),
// so inserted one by one each leaf split leaves a half-full page behind
// that nothing fills again: the log's entries took about twice their size
// on disk. redb's mutable cursor instead buffers a run of ascending keys
// inserted into one gap and packs them, with the leaf around the gap,
// into full pages. So a batch is applied in key order: each run of new
// keys that fall into one gap of the table goes in through a cursor;
// a key already present is overwritten in place, a delete removes.
//
// The outcome equals applying the ops one by one: ops on the same key
// keep only the last (the batch is sorted stably by key).

/// The key an op changes.
fn key(op: &Op) -> &[u8] {
    match op {
        Op::Put(k, _) | Op::Delete(k) => k,
    }
}

/// The batch in key order with only the last op on each key: what applying
/// it in order would leave.
fn last_per_key(mut batch: Batch) -> Batch {
    batch.sort_by(|a, b| key(a).cmp(key(b)));
    let mut out: Batch = Vec::with_capacity(batch.len());
    for op in batch {
        match out.last_mut() {
            Some(last) if key(last) == key(&op) => *last = op,
            _ => out.push(op),
        }
    }
    out
}

/// Applies `ops` (sorted, one per key: [`last_per_key`]) to `table`.
fn apply_sorted(
    table: &mut redb::Table<&[u8], &[u8]>,
    ops: &[Op],
) -> std::result::Result<(), redb::Error> {
    let mut i = 0;
    while i < ops.len() {
        let (k, v) = match &ops[i] {
            Op::Delete(k) => {
                table.remove(k.as_slice())?;
                i += 1;
                continue;
            }
            Op::Put(k, v) => (k, v),
        };
        let mut cursor = table.lower_bound_mut(Bound::Included(k.as_slice()))?;
        // The smallest key held at or after `k`: every key of the batch
        // below it is new and falls into this one gap.
        let next: Option<Vec<u8>> = cursor.peek_next()?.map(|(nk, _)| nk.value().to_vec());
        if next.as_deref() == Some(k.as_slice()) {
            cursor.close()?;
            table.insert(k.as_slice(), v.as_slice())?;
            i += 1;
            continue;
        }
        while let Some(Op::Put(k, v)) = ops.get(i) {
            if next.as_deref().is_some_and(|n| k.as_slice() >= n) {
                break;
            }
            // Cannot be refused: `k` is above the last key inserted (the
            // batch is sorted, one op per key) and below `next`.
            cursor.insert_before(k.as_slice(), v.as_slice())?;
            i += 1;
        }
        cursor.close()?;
    }
    Ok(())
}

#[cfg(test)]
mod pack_tests {
    use super::*;
    use crate::engine::{Engine, Op};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Ops on a small keyspace, so that batches overwrite, delete and
    /// insert around keys already held.
    fn ops() -> impl Strategy<Value = Batch> {
        let key = prop::collection::vec(0u8..4, 1..4);
        let op = (
            key,
            prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        )
            .prop_map(|(k, v)| match v {
                Some(v) => Op::Put(k, v),
                None => Op::Delete(k),
            });
        prop::collection::vec(op, 0..60)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// A real redb file after batches applied through cursors holds
        /// what applying every op one by one leaves.
        #[test]
        fn batches_leave_what_ops_one_by_one_leave(batches in prop::collection::vec(ops(), 1..5)) {
            let dir = tempfile::tempdir().unwrap();
            let engine = RedbEngine::open(&dir.path().join("store.redb")).unwrap();
            let mut model = BTreeMap::new();
            for batch in batches {
                for op in &batch {
                    match op {
                        Op::Put(k, v) => { model.insert(k.clone(), v.clone()); }
                        Op::Delete(k) => { model.remove(k); }
                    }
                }
                engine.commit(batch).unwrap();
                let held = engine.scan(&[], &[0xFF; 8], usize::MAX).unwrap();
                let want: Vec<_> = model.clone().into_iter().collect();
                prop_assert_eq!(held, want);
            }
        }
    }

    fn put(k: &str, v: &str) -> Op {
        Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn the_last_op_on_a_key_wins_whatever_the_order() {
        let ops = last_per_key(vec![
            put("b", "1"),
            put("a", "1"),
            Op::Delete(b"b".to_vec()),
            put("c", "1"),
            put("b", "2"),
            put("c", "2"),
            Op::Delete(b"c".to_vec()),
        ]);
        assert_eq!(
            ops,
            vec![put("a", "1"), put("b", "2"), Op::Delete(b"c".to_vec())]
        );
    }
}
