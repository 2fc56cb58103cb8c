//! Rebuilding the derived records from the logs: a reindex, a change of
//! the key compromise declarations in force, a schema upgrade. The caller
//! hands the step that applies one entry ([`ApplyStep`]): the store holds no
//! keys to open what is sealed.

use crate::clock::{AlertClock, OverdueMark};
use crate::codec::decode;
use crate::codec::decode_signed;
use crate::engine::Op;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::store::Store;
use crate::tx::{self, Tx};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_model::trust::KeyCompromise;
use tally_model::{AuthorityId, EntryHash, SignedEntry};

/// Entries per commit when reindexing, and rows per scan when deleting:
/// bounds memory whatever the size of the logs.
pub(crate) const REINDEX_CHUNK: usize = 1024;

/// What a reindex did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReindexReport {
    pub authorities: usize,
    /// Entries replayed.
    pub entries: u64,
    /// Derived records deleted before the replay.
    pub deleted: u64,
    pub elapsed: Duration,
}

/// How far a reindex has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Entries applied so far.
    pub entries: u64,
    /// Entries in every log.
    pub total: u64,
}

/// A fingerprint of every derived record, to compare an incremental build
/// with a reindex (or two nodes) without holding the records in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedDigest {
    pub records: u64,
    /// SHA-256 over every (key, value) in key order, each length-prefixed.
    pub sha256: EntryHash,
}

/// A rebuild's replay of the logs: the step that applies an entry, the
/// declarations and the date it applies them with, and how far it got.
struct Replay<'a> {
    step: &'a dyn ApplyStep,
    compromised: Arc<Vec<KeyCompromise>>,
    clock: AlertClock,
    total: u64,
    entries: u64,
}

impl Store {
    /// At open: a rebuild a stop interrupted is finished here when the
    /// store was opened without keys (it reads nothing sealed either way);
    /// with keys it is left to the caller, who can open what it applies.
    pub(crate) fn settle_pending_rebuild_at_open(&self) -> Result<()> {
        if self.rebuild_pending()? {
            if self.reader().is_some() {
                // The caller holds the keys: it finishes the rebuild.
                self.set_rebuilding(Some(
                    "a rebuild was interrupted; it finishes when the node starts".into(),
                ));
            } else {
                tracing::warn!(path = %self.dir().display(), "finishing a reindex that was interrupted");
                self.reindex_with(&Keyless, &mut |p| {
                    tracing::info!(
                        entries = p.entries,
                        of = p.total,
                        "rebuilding derived records"
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Puts `compromises` (`tally trust revoke-key`, and what cards carry)
    /// in force: entries they cover stay stored but derive nothing and
    /// raise `key.compromised`. When they differ from the ones the derived
    /// records were built with, rebuilds them ([`Store::reindex_with`],
    /// applying each entry with `step`, calling `progress`) and returns its
    /// report.
    pub fn apply_compromised(
        &self,
        mut compromises: Vec<KeyCompromise>,
        step: &dyn ApplyStep,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Option<ReindexReport>> {
        compromises.sort();
        compromises.dedup();
        if let Ok(mut c) = self.inner.compromised.write() {
            *c = Arc::new(compromises.clone());
        }
        let built: Vec<KeyCompromise> = match self.engine().get(keys::COMPROMISED_KEY)? {
            Some(v) => decode(keys::COMPROMISED_KEY, &v)?,
            None => vec![],
        };
        if built == compromises {
            return Ok(None);
        }
        tracing::warn!(
            declarations = compromises.len(),
            "key compromises changed: rebuilding derived records without the entries they cover"
        );
        self.reindex_with(step, progress).map(Some)
    }

    /// Deletes every derived record and rebuilds them by replaying every log
    /// in seq order, a bounded chunk per commit; see [`Store::reindex_with`].
    pub fn reindex(&self) -> Result<ReindexReport> {
        self.reindex_with(&Keyless, &mut |_| {})
    }

    /// [`Store::reindex`], applying each entry with `step` (the verifier's
    /// opens sealed entries first: the store holds no keys) and calling
    /// `progress` after every committed chunk. Appends wait meanwhile;
    /// reads answer "rebuilding" until it returns. A crash midway leaves it
    /// pending ([`Store::rebuild_pending`]). The result does not depend on
    /// the order logs are replayed in (docs/ARCHITECTURE.md).
    pub fn reindex_with(
        &self,
        step: &dyn ApplyStep,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ReindexReport> {
        self.set_rebuilding(Some("starting".into()));
        let result = self.rebuild(step, progress);
        self.set_rebuilding(None);
        result
    }

    /// Whether a rebuild of the derived records was started and not
    /// finished (a crash, a stop, a schema upgrade): the node finishes it
    /// at start ([`Store::reindex_with`]).
    pub fn rebuild_pending(&self) -> Result<bool> {
        Ok(self.engine().get(keys::REINDEX_KEY)?.is_some())
    }

    pub(crate) fn set_rebuilding(&self, state: Option<String>) {
        *self
            .inner
            .rebuilding
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = state;
    }

    /// Why the derived records are not to be read now: a rebuild is under
    /// way, with how far it got. `None` when they are whole.
    pub fn rebuilding(&self) -> Option<String> {
        self.inner
            .rebuilding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops a rebuild in progress at its next chunk (within a fraction of
    /// a second); it fails with [`StoreError::Interrupted`] and the next
    /// open of the store finishes it. Later rebuilds of this handle stop at
    /// once too: this is for shutting down.
    pub fn interrupt_rebuild(&self) {
        self.inner
            .interrupt
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn rebuild(
        &self,
        step: &dyn ApplyStep,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ReindexReport> {
        let started = Instant::now();
        let _guard = self.lock();
        let compromised = self.compromised();
        // One date for the whole rebuild, whatever its length.
        let due = self.clock().due();
        let clock = AlertClock::fixed(due.delivery_days, due.today)
            .with_denial_days(due.denial_days)
            .with_enduse_days(due.enduse_days);
        self.engine().commit(vec![
            Op::Put(keys::REINDEX_KEY.to_vec(), b"1".to_vec()),
            Op::Delete(keys::COMPROMISED_KEY.to_vec()),
        ])?;
        let deleted = self.delete_derived()?;
        let heads = self.heads()?;
        let mut replay = Replay {
            step,
            compromised: compromised.clone(),
            clock,
            total: heads.iter().map(|(_, seq, _)| seq).sum(),
            entries: 0,
        };
        for (authority, head, _) in &heads {
            self.replay_log(&mut replay, authority, *head, progress)?;
        }
        self.raise_kept_alerts()?;
        let mut done = vec![
            Op::Delete(keys::REINDEX_KEY.to_vec()),
            Op::Put(
                keys::OVERDUE_KEY.to_vec(),
                crate::codec::encode(&OverdueMark {
                    delivery_days: due.delivery_days,
                    through: due.today,
                    enduse_days: Some(due.enduse_days),
                }),
            ),
        ];
        if !compromised.is_empty() {
            done.push(Op::Put(
                keys::COMPROMISED_KEY.to_vec(),
                crate::codec::encode(compromised.as_ref()),
            ));
        }
        self.engine().commit(done)?;
        let report = ReindexReport {
            authorities: heads.len(),
            entries: replay.entries,
            deleted,
            elapsed: started.elapsed(),
        };
        tracing::info!(
            authorities = report.authorities,
            entries = report.entries,
            deleted = report.deleted,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "reindex done"
        );
        Ok(report)
    }

    /// Deletes every derived record, a bounded chunk per commit; returns how
    /// many.
    fn delete_derived(&self) -> Result<u64> {
        let engine = self.engine();
        let mut deleted = 0u64;
        for prefix in keys::DERIVED {
            let start = [prefix];
            let end = keys::prefix_end(&start);
            loop {
                let rows = engine.scan(&start, &end, REINDEX_CHUNK)?;
                if rows.is_empty() {
                    break;
                }
                deleted += rows.len() as u64;
                engine.commit(rows.into_iter().map(|(k, _)| Op::Delete(k)).collect())?;
            }
        }
        Ok(deleted)
    }

    /// Applies `authority`'s log from seq 1 to `head` with the replay's
    /// step, a bounded chunk per commit, reporting progress; stops between
    /// chunks when told to ([`Store::interrupt_rebuild`]).
    fn replay_log(
        &self,
        replay: &mut Replay<'_>,
        authority: &AuthorityId,
        head: u64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        let engine = self.engine();
        let total = replay.total;
        let mut from = 1;
        while from <= head {
            let rows = self.log_rows(authority, from, REINDEX_CHUNK)?;
            let mut tx = Tx::new(engine, self.reader())
                .with_compromised(replay.compromised.clone())
                .with_clock(&replay.clock);
            let mut next = from;
            for (k, v) in &rows {
                let signed = decode_signed(k, v)?;
                let entry = signed.open().map_err(|e| StoreError::corrupt(k, e))?;
                // A log with a hole would derive a different state than
                // the one that was acknowledged: refuse, do not guess.
                if entry.seq != next {
                    return Err(StoreError::corrupt(
                        k,
                        format_args!("log of {authority} skips from {next}"),
                    ));
                }
                next += 1;
                // The store holds only entries that were verified before
                // they were appended; applying reads them, it mints nothing.
                replay.step.apply(&mut tx, &signed, &entry)?;
            }
            if next == from {
                return Err(StoreError::corrupt(
                    &keys::head(authority.as_str()),
                    format_args!("head {head} but the log ends before {from}"),
                ));
            }
            engine.commit(tx.into_batch())?;
            replay.entries += next - from;
            from = next;
            self.set_rebuilding(Some(format!("{} of {total} entries", replay.entries)));
            progress(Progress {
                entries: replay.entries,
                total,
            });
            if self
                .inner
                .interrupt
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return Err(StoreError::Interrupted);
            }
        }
        Ok(())
    }

    /// Raises again the alerts of what is kept beside the logs: forks,
    /// clones of this node's log, compromised tails moved aside.
    fn raise_kept_alerts(&self) -> Result<()> {
        let mut tx = Tx::new(self.engine(), self.reader());
        for evidence in self.evidence()? {
            tx::raise_equivocation(&mut tx, &evidence)?;
        }
        for foreign in self.cloned()? {
            tx::raise_cloned(&mut tx, &foreign)?;
        }
        for displaced in self.displaced()? {
            crate::compromise::raise_displaced(&mut tx, &displaced)?;
        }
        self.engine().commit(tx.into_batch())
    }

    /// Fingerprint of every derived record, streamed in bounded chunks.
    pub fn derived_digest(&self) -> Result<DerivedDigest> {
        let mut hasher = Sha256::new();
        let mut records = 0u64;
        for prefix in keys::DERIVED {
            let mut start = vec![prefix];
            let end = keys::prefix_end(&start);
            loop {
                let rows = self.engine().scan(&start, &end, REINDEX_CHUNK)?;
                let Some((last, _)) = rows.last() else {
                    break;
                };
                // The smallest key after `last`.
                let mut after = last.clone();
                after.push(0);
                for (k, v) in &rows {
                    hasher.update((k.len() as u64).to_be_bytes());
                    hasher.update(k);
                    hasher.update((v.len() as u64).to_be_bytes());
                    hasher.update(v);
                }
                records += rows.len() as u64;
                start = after;
            }
        }
        Ok(DerivedDigest {
            records,
            sha256: EntryHash(hasher.finalize().into()),
        })
    }
}

/// How a rebuild applies one entry: opens it when it is sealed (above the
/// store, with keys it does not hold) and hands the outcome to
/// [`Tx::apply`]. The verifier's opens; [`crate::Keyless`] opens nothing.
pub trait ApplyStep {
    fn apply(&self, tx: &mut Tx, signed: &SignedEntry, entry: &tally_model::Entry) -> Result<()>;
}

/// Applies without keys: a sealed entry derives nothing (as on a node it is
/// not addressed to). For tools and tests that hold no keys.
pub struct Keyless;

impl ApplyStep for Keyless {
    fn apply(&self, tx: &mut Tx, signed: &SignedEntry, entry: &tally_model::Entry) -> Result<()> {
        tx.apply(signed, entry, None)
    }
}
