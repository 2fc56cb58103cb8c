//! How the redb engine writes a batch so that its leaves stay full.
//!
//! A B-tree leaf that overflows is split in half. Most of Tally's rows
//! arrive in key order (a log's entries by seq, its licenses by number),
//! so inserted one by one each leaf split leaves a half-full page behind
//! that nothing fills again: the log's entries took about twice their size
//! on disk. redb's mutable cursor instead buffers a run of ascending keys
//! inserted into one gap and packs them, with the leaf around the gap,
//! into full pages. So a batch is applied in key order: each run of new
//! keys that fall into one gap of the table goes in through a cursor;
//! a key already present is overwritten in place, a delete removes.
//!
//! The outcome equals applying the ops one by one: ops on the same key
//! keep only the last (the batch is sorted stably by key).

use crate::engine::{Batch, Op};
use redb::Table;
use std::ops::Bound;

/// The key an op changes.
fn key(op: &Op) -> &[u8] {
    match op {
        Op::Put(k, _) | Op::Delete(k) => k,
    }
}

/// The batch in key order with only the last op on each key: what applying
/// it in order would leave.
pub(crate) fn last_per_key(mut batch: Batch) -> Batch {
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
pub(crate) fn apply(table: &mut Table<&[u8], &[u8]>, ops: &[Op]) -> Result<(), redb::Error> {
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
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::redb::RedbEngine;
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
