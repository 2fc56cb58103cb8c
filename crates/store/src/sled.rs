//! The sled 0.34 engine: one tree, `apply_batch` then `flush` per commit.

use crate::engine::{Batch, Engine, EngineKind, Op, Rows};
use crate::error::{Result, StoreError};
use std::path::Path;

pub struct SledEngine {
    db: sled::Db,
    /// A snapshot's handle: commits refused. sled has no read transactions
    /// (each read is consistent on its own), so this is all a snapshot is.
    read_only: bool,
}

impl SledEngine {
    /// Opens the tree. sled releases its file lock only when its background
    /// flusher stops, shortly after the last handle of a previous open in
    /// this process drops; a lock still held is retried for a few seconds
    /// before it is reported.
    pub fn open(path: &Path) -> Result<SledEngine> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match sled::Config::new().path(path).open() {
                Ok(db) => {
                    return Ok(SledEngine {
                        db,
                        read_only: false,
                    });
                }
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Engine for SledEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        if start >= end {
            return Ok(Vec::new());
        }
        let mut rows = Vec::new();
        for kv in self.db.range(start..end).take(limit) {
            let (k, v) = kv?;
            rows.push((k.to_vec(), v.to_vec()));
        }
        Ok(rows)
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Rows> {
        if start >= end {
            return Ok(Vec::new());
        }
        let mut rows = Vec::new();
        for kv in self.db.range(start..end).rev().take(limit) {
            let (k, v) = kv?;
            rows.push((k.to_vec(), v.to_vec()));
        }
        Ok(rows)
    }

    fn commit(&self, batch: Batch) -> Result<()> {
        if self.read_only {
            return Err(StoreError::ReadOnly);
        }
        let mut b = sled::Batch::default();
        for op in batch {
            match op {
                Op::Put(k, v) => b.insert(k, v),
                Op::Delete(k) => b.remove(k),
            }
        }
        self.db.apply_batch(b)?;
        // Without this the batch sits in sled's page cache until its
        // background flusher runs (every 500 ms by default).
        self.db.flush()?;
        Ok(())
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Sled
    }

    fn snapshot(&self) -> Result<Box<dyn Engine>> {
        Ok(Box::new(SledEngine {
            db: self.db.clone(),
            read_only: true,
        }))
    }
}
