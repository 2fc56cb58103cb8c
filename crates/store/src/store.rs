//! [`Store`]: typed operations over one engine. Every write goes through a
//! staged transaction ([`Store::transaction`]) that commits the log record,
//! head, hash index and derived records in one durable batch.

use crate::clock::{AlertClock, OverdueMark};
use crate::derive::{self, decode};
use crate::engine::{self, ENGINE_MARKER, Engine, EngineKind, Op, io_err};
use crate::error::{Result, StoreError};
use crate::keys::{self, KeyReader};
use crate::opener::SealedReader;
use crate::state::{Alert, Evidence, LicenseState, RotatedKey, SerialUse, ShipmentRow, TallyRow};
use crate::tx::{self, EngineView, Tx, decode_head, decode_signed};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tally_model::trust::KeyCompromise;
use tally_model::{
    AuthorityId, Direction, DocumentRef, EntryHash, SignedEntry, VerifiedEntry, on_route,
};

/// Entries per commit when reindexing, and rows per scan when deleting:
/// bounds memory whatever the size of the logs.
const REINDEX_CHUNK: usize = 1024;

/// Exits read per commit by the date-driven `delivery.overdue` pass: bounds
/// how long it holds the write lock.
const OVERDUE_CHUNK: usize = 256;

/// A handle on an open store. Cheap to clone; appends are serialized inside,
/// reads run concurrently. Every call blocks on disk I/O: async callers use
/// `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Box<dyn Engine>,
    /// Reads back sealed documents this node opened (see [`SealedReader`]).
    reader: Option<Arc<dyn SealedReader>>,
    /// Key compromises in force (see [`Store::apply_compromised`]).
    compromised: std::sync::RwLock<Arc<Vec<KeyCompromise>>>,
    /// Today's date and `delivery_days` (see [`Store::set_clock`]).
    clock: std::sync::RwLock<AlertClock>,
    /// Why the last commit failed, until one succeeds: what health reports
    /// while the node cannot write (disk full, I/O error).
    fault: Mutex<Option<String>>,
    /// Commits that failed since the store was opened.
    faults: std::sync::atomic::AtomicU64,
    /// What the integrity check found wrong, once it found something: the
    /// store refuses every write from then on, and health reports it.
    damaged: Mutex<Option<String>>,
    /// The background check (every chain, every signature, every record)
    /// went to the end and found nothing.
    checked: std::sync::atomic::AtomicBool,
    /// While derived records are rebuilt (a reindex, or a key compromise
    /// declared while running): how far it got. Reads must not be answered
    /// from the half-built records meanwhile.
    rebuilding: Mutex<Option<String>>,
    /// Set to stop a rebuild between two chunks (shutdown): the store stays
    /// marked as reindexing and the next open finishes the rebuild.
    interrupt: std::sync::atomic::AtomicBool,
    /// One appender at a time: the chain check reads the head and the commit
    /// writes the next one, and nothing may slip in between.
    append: Mutex<()>,
    dir: PathBuf,
}

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

fn authority_of(key: &[u8], s: &str) -> Result<AuthorityId> {
    s.parse()
        .map_err(|e| StoreError::corrupt(key, format_args!("authority: {e}")))
}

pub(crate) fn encode_evidence(e: &Evidence) -> Vec<u8> {
    let [first, second] = &e.entries;
    let len = u32::try_from(first.len())
        .expect("an encoded entry is at most MAX_ENTRY_BYTES, far below 4 GiB");
    let mut v = Vec::with_capacity(4 + first.len() + second.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(first);
    v.extend_from_slice(second);
    v
}

fn decode_evidence(key: &[u8], v: &[u8]) -> Result<Evidence> {
    let mut r = KeyReader::new(key);
    let (authority, seq) = r
        .str()
        .zip(r.u64())
        .ok_or_else(|| StoreError::corrupt(key, "evidence key"))?;
    let (len, rest) = v
        .split_first_chunk::<4>()
        .ok_or_else(|| StoreError::corrupt(key, "evidence value too short"))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(StoreError::corrupt(key, "evidence value too short"));
    }
    let (first, second) = rest.split_at(len);
    Ok(Evidence {
        authority: authority_of(key, &authority)?,
        seq,
        entries: [first.to_vec(), second.to_vec()],
    })
}

/// Claims `dir` for `kind`, or says which engine already owns it.
fn claim_dir(dir: &Path, kind: EngineKind) -> Result<()> {
    let marker = dir.join(ENGINE_MARKER);
    match fs::read_to_string(&marker) {
        Ok(text) => {
            let found = text.trim();
            if found == kind.as_str() {
                return Ok(());
            }
            if found.parse::<EngineKind>().is_err() {
                return Err(StoreError::Corrupt {
                    key: marker.display().to_string(),
                    reason: format!("names no engine: {found:?}"),
                });
            }
            Err(StoreError::WrongEngine {
                path: dir.to_path_buf(),
                found: found.to_string(),
                wanted: kind.to_string(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A directory from before the marker existed, or a hand-made one.
            if let Some(other) = EngineKind::ALL
                .into_iter()
                .find(|&o| o != kind && engine::files_exist(dir, o))
            {
                return Err(StoreError::WrongEngine {
                    path: dir.to_path_buf(),
                    found: other.to_string(),
                    wanted: kind.to_string(),
                });
            }
            // Written whole (temp file, fsync, rename, fsync the directory),
            // so a crash leaves either no marker or a complete one.
            let tmp = dir.join(format!("{ENGINE_MARKER}.tmp"));
            fs::write(&tmp, format!("{kind}\n")).map_err(io_err(&tmp))?;
            fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(io_err(&tmp))?;
            fs::rename(&tmp, &marker).map_err(io_err(&marker))?;
            fs::File::open(dir)
                .and_then(|f| f.sync_all())
                .map_err(io_err(dir))?;
            Ok(())
        }
        Err(e) => Err(io_err(&marker)(e)),
    }
}

fn dir_bytes(path: &Path) -> Result<u64> {
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in fs::read_dir(path).map_err(io_err(path))? {
        let entry = entry.map_err(io_err(path))?;
        total += dir_bytes(&entry.path())?;
    }
    Ok(total)
}

impl Store {
    /// Opens the store in `dir` with `kind`, creating both if needed. Fails
    /// with a message naming both versions (or engines) if `dir` holds a
    /// store of another schema version or another engine. Without keys it
    /// reads no sealed document, so it finishes a reindex that a crash
    /// interrupted before returning, as [`Keyless`] does.
    pub fn open(dir: &Path, kind: EngineKind) -> Result<Store> {
        Store::open_with(dir, kind, None)
    }

    /// [`Store::open`] with the [`SealedReader`] that reads back sealed
    /// documents this node opened. With one, an interrupted reindex is left
    /// for the caller, who holds the keys to open what it applies
    /// ([`Store::rebuild_pending`]; reads answer "rebuilding" meanwhile).
    pub fn open_with(
        dir: &Path,
        kind: EngineKind,
        reader: Option<Arc<dyn SealedReader>>,
    ) -> Result<Store> {
        Store::open_clocked(dir, kind, reader, AlertClock::default())
    }

    /// [`Store::open_with`], judging date-driven alerts with `clock` (the
    /// node's time zone and `[alerts] delivery_days`) from the first
    /// reindex on.
    pub fn open_clocked(
        dir: &Path,
        kind: EngineKind,
        reader: Option<Arc<dyn SealedReader>>,
        clock: AlertClock,
    ) -> Result<Store> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        claim_dir(dir, kind)?;
        let engine = engine::open(dir, kind)?;
        match engine.get(keys::SCHEMA_KEY)? {
            Some(v) => {
                let found = String::from_utf8_lossy(&v).trim().to_string();
                match found.parse::<u32>().ok() {
                    Some(keys::SCHEMA_VERSION) => {}
                    Some(old) if keys::SCHEMA_MIGRATES_FROM.contains(&old) => {
                        // Only derived records changed: mark a reindex as
                        // under way and the new version in one commit; the
                        // reindex below (or after a crash, the next open)
                        // rebuilds them.
                        tracing::warn!(
                            path = %dir.display(),
                            from = old,
                            to = keys::SCHEMA_VERSION,
                            "upgrading the store's schema: rebuilding derived records from the logs"
                        );
                        engine.commit(vec![
                            Op::Put(keys::REINDEX_KEY.to_vec(), b"1".to_vec()),
                            Op::Put(
                                keys::SCHEMA_KEY.to_vec(),
                                keys::SCHEMA_VERSION.to_string().into_bytes(),
                            ),
                        ])?;
                    }
                    _ => {
                        return Err(StoreError::SchemaMismatch {
                            path: dir.to_path_buf(),
                            found,
                            expected: keys::SCHEMA_VERSION,
                        });
                    }
                }
            }
            None => {
                if !engine.scan(&[], &[0xFF], 1)?.is_empty() {
                    return Err(StoreError::SchemaMismatch {
                        path: dir.to_path_buf(),
                        found: "none (records without a schema key)".into(),
                        expected: keys::SCHEMA_VERSION,
                    });
                }
                engine.commit(vec![Op::Put(
                    keys::SCHEMA_KEY.to_vec(),
                    keys::SCHEMA_VERSION.to_string().into_bytes(),
                )])?;
            }
        }
        let store = Store {
            inner: Arc::new(Inner {
                engine,
                reader,
                compromised: Default::default(),
                clock: std::sync::RwLock::new(clock),
                fault: Mutex::new(None),
                faults: Default::default(),
                damaged: Mutex::new(None),
                checked: std::sync::atomic::AtomicBool::new(false),
                rebuilding: Mutex::new(None),
                interrupt: Default::default(),
                append: Mutex::new(()),
                dir: dir.to_path_buf(),
            }),
        };
        store.check_heads()?;
        if store.rebuild_pending()? {
            if store.reader().is_some() {
                // The caller holds the keys: it finishes the rebuild.
                store.set_rebuilding(Some(
                    "a rebuild was interrupted; it finishes when the node starts".into(),
                ));
            } else {
                tracing::warn!(path = %dir.display(), "finishing a reindex that was interrupted");
                store.reindex_with(&Keyless, &mut |p| {
                    tracing::info!(
                        entries = p.entries,
                        of = p.total,
                        "rebuilding derived records"
                    )
                })?;
            }
        }
        tracing::debug!(path = %dir.display(), engine = %kind, "store open");
        Ok(store)
    }

    pub(crate) fn engine(&self) -> &dyn Engine {
        self.inner.engine.as_ref()
    }

    /// A read-only handle on the store as it stands now: its reads share
    /// one engine transaction and all see the same commit (a shipment check
    /// reads a dozen records). Its writes are refused
    /// ([`StoreError::ReadOnly`]). Short-lived: redb keeps the pages it
    /// reads while it lives.
    pub fn snapshot(&self) -> Result<Store> {
        let damaged = self
            .inner
            .damaged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(Store {
            inner: Arc::new(Inner {
                engine: self.engine().snapshot()?,
                reader: self.inner.reader.clone(),
                compromised: std::sync::RwLock::new(self.compromised()),
                clock: std::sync::RwLock::new(self.clock()),
                fault: Mutex::new(None),
                faults: Default::default(),
                damaged: Mutex::new(damaged),
                checked: std::sync::atomic::AtomicBool::new(false),
                rebuilding: Mutex::new(self.rebuilding()),
                interrupt: Default::default(),
                append: Mutex::new(()),
                dir: self.inner.dir.clone(),
            }),
        })
    }

    fn reader(&self) -> Option<&dyn SealedReader> {
        self.inner.reader.as_deref()
    }

    fn compromised(&self) -> Arc<Vec<KeyCompromise>> {
        self.inner
            .compromised
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    fn tx(&self) -> Tx<'_> {
        Tx::new(self.engine(), self.reader())
            .with_compromised(self.compromised())
            .with_clock(&self.clock())
    }

    /// Today's date and `delivery_days` as the store judges them.
    pub fn clock(&self) -> AlertClock {
        self.inner
            .clock
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// Judges date-driven alerts with `clock` from now on. Alerts already
    /// held change at the next [`Store::judge_overdue`] pass (which
    /// re-judges every exit when `delivery_days` changed).
    pub fn set_clock(&self, clock: AlertClock) {
        if let Ok(mut c) = self.inner.clock.write() {
            *c = clock;
        }
    }

    /// The date-driven pass of `delivery.overdue`: re-judges every license
    /// with an accepted exit that fell due since the last pass (all of them
    /// when `delivery_days` changed or no pass ran yet), in bounded chunks,
    /// each its own commit so appends interleave. Returns how many licenses
    /// it re-judged. A crash midway only repeats work: judging is idempotent.
    pub fn judge_overdue(&self) -> Result<usize> {
        let due = self.clock().due();
        let mark: Option<OverdueMark> = match self.engine().get(keys::OVERDUE_KEY)? {
            Some(v) => decode(keys::OVERDUE_KEY, &v).ok(),
            None => None,
        };
        let from_exit = match mark {
            Some(m) if m.delivery_days == due.delivery_days => {
                if m.through >= due.today {
                    return Ok(0);
                }
                // Exits that fell due after the last pass's today.
                m.through.days() - i64::from(due.delivery_days) + 1
            }
            _ => i64::MIN,
        };
        let end = keys::exit_date_from(due.latest_due_exit().saturating_add(1));
        let mut start = keys::exit_date_from(from_exit);
        let mut judged = 0usize;
        loop {
            let rows = self.engine().scan(&start, &end, OVERDUE_CHUNK)?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            let mut after = last.clone();
            after.push(0);
            let mut licenses: Vec<DocumentRef> = rows
                .iter()
                .filter_map(|(k, _)| keys::exit_date_license(k))
                .collect();
            licenses.sort();
            licenses.dedup();
            judged += licenses.len();
            self.transaction(|tx| {
                for l in &licenses {
                    crate::judge::license(tx, l)?;
                }
                Ok::<_, StoreError>(())
            })?;
            start = after;
        }
        let mark = OverdueMark {
            delivery_days: due.delivery_days,
            through: due.today,
        };
        self.transaction(|tx| {
            tx.put_json(keys::OVERDUE_KEY.to_vec(), &mark);
            Ok::<_, StoreError>(())
        })?;
        Ok(judged)
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

    fn lock(&self) -> MutexGuard<'_, ()> {
        // A panic while holding the lock committed nothing (the commit is the
        // last step), so the store behind a poisoned lock is intact.
        self.inner
            .append
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn kind(&self) -> EngineKind {
        self.engine().kind()
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Every head must be the last record of its log: cheap (one reverse
    /// seek per authority) and catches a store a foreign writer damaged.
    fn check_heads(&self) -> Result<()> {
        for (authority, seq, _) in self.heads()? {
            let prefix = keys::log_prefix(authority.as_str());
            let last = self
                .engine()
                .scan_rev(&prefix, &keys::prefix_end(&prefix), 1)?;
            let want = keys::log(authority.as_str(), seq);
            if last.first().map(|(k, _)| k) != Some(&want) {
                return Err(StoreError::corrupt(
                    &keys::head(authority.as_str()),
                    format_args!("head {seq} is not the last record of the log"),
                ));
            }
        }
        Ok(())
    }

    // ---- logs ----

    /// The newest entry of `authority`'s log: (seq, hash).
    pub fn head(&self, authority: &AuthorityId) -> Result<Option<(u64, EntryHash)>> {
        let key = keys::head(authority.as_str());
        self.engine()
            .get(&key)?
            .map(|v| decode_head(&key, &v))
            .transpose()
    }

    /// Every log's head, by authority id. Unbounded on purpose: one row per
    /// authority, and only trusted authorities' entries are ever appended.
    pub fn heads(&self) -> Result<Vec<(AuthorityId, u64, EntryHash)>> {
        let start = [keys::HEAD];
        let rows = self
            .engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?;
        rows.into_iter()
            .map(|(k, v)| {
                let name = KeyReader::new(&k)
                    .str()
                    .ok_or_else(|| StoreError::corrupt(&k, "head key"))?;
                let (seq, hash) = decode_head(&k, &v)?;
                Ok((authority_of(&k, &name)?, seq, hash))
            })
            .collect()
    }

    pub fn entry_at(&self, authority: &AuthorityId, seq: u64) -> Result<Option<SignedEntry>> {
        let key = keys::log(authority.as_str(), seq);
        self.engine()
            .get(&key)?
            .map(|v| decode_signed(&key, &v))
            .transpose()
    }

    /// Up to `limit` entries of `authority`'s log from `from` on, in seq
    /// order. The caller bounds `limit`.
    pub fn range(
        &self,
        authority: &AuthorityId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<SignedEntry>> {
        self.log_rows(authority, from, limit)?
            .into_iter()
            .map(|(k, v)| decode_signed(&k, &v))
            .collect()
    }

    pub(crate) fn log_rows(
        &self,
        authority: &AuthorityId,
        from: u64,
        limit: usize,
    ) -> Result<engine::Rows> {
        let a = authority.as_str();
        self.engine().scan(
            &keys::log(a, from),
            &keys::prefix_end(&keys::log_prefix(a)),
            limit,
        )
    }

    /// Where the entry with this id sits.
    pub fn by_hash(&self, hash: &EntryHash) -> Result<Option<(AuthorityId, u64)>> {
        let key = keys::hash(hash);
        let Some(v) = self.engine().get(&key)? else {
            return Ok(None);
        };
        let (seq, name) = v
            .split_first_chunk::<8>()
            .ok_or_else(|| StoreError::corrupt(&key, "hash index value too short"))?;
        let name = std::str::from_utf8(name).map_err(|e| StoreError::corrupt(&key, e))?;
        Ok(Some((authority_of(&key, name)?, u64::from_be_bytes(*seq))))
    }

    /// Entries held, over every log (logs are dense, so the sum of heads).
    pub fn entry_count(&self) -> Result<u64> {
        Ok(self.heads()?.iter().map(|(_, seq, _)| seq).sum())
    }

    /// Bytes the store's files take on disk (apparent size).
    pub fn disk_bytes(&self) -> Result<u64> {
        dir_bytes(&self.inner.dir)
    }

    /// Runs `f` in a staged transaction under the store's single-writer
    /// lock: `f` reads its own writes, and every write commits in one
    /// durable batch when it returns `Ok` (nothing is written on `Err`).
    /// What `f` appended is acknowledged when this returns `Ok`.
    pub fn transaction<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let _guard = self.lock();
        if let Some(reason) = self.damaged() {
            return Err(StoreError::Damaged(reason).into());
        }
        let mut tx = self.tx();
        let out = f(&mut tx)?;
        if !tx.is_empty() {
            let committed = self.engine().commit(tx.into_batch());
            self.note_commit(&committed);
            committed?;
        }
        Ok(out)
    }

    fn note_commit(&self, result: &Result<()>) {
        let mut fault = self
            .inner
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match result {
            Ok(()) => *fault = None,
            Err(e) => {
                tracing::error!(error = %e, "the store cannot write");
                self.inner
                    .faults
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *fault = Some(e.to_string());
            }
        }
    }

    /// Why the store could not write the last time it tried, until a write
    /// succeeds again; `None` when it writes.
    pub fn fault(&self) -> Option<String> {
        self.inner
            .fault
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// How many commits failed since the store was opened.
    pub fn fault_count(&self) -> u64 {
        self.inner.faults.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Marks the store damaged (what the integrity check found): from now
    /// on every write is refused with [`StoreError::Damaged`].
    pub fn set_damaged(&self, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::error!(reason = %reason, "the store is damaged: writes are refused");
        *self
            .inner
            .damaged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(reason);
    }

    /// Records that the background check went to the end and found the
    /// store sound (`/v1/status` says so; benchmarks wait for it).
    pub fn set_checked(&self) {
        self.inner
            .checked
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the background check went to the end and found it sound.
    pub fn checked(&self) -> bool {
        self.inner
            .checked
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// What damage the integrity check found, if any.
    pub fn damaged(&self) -> Option<String> {
        self.inner
            .damaged
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Appends entries (of any authorities) in one durable commit; see
    /// [`Tx::append`]. On error nothing is written. Without keys, as
    /// [`Keyless`]: a sealed entry derives nothing (the verifier opens and
    /// applies what is sealed to its node).
    pub fn append_batch(&self, entries: &[VerifiedEntry]) -> Result<()> {
        self.transaction(|tx| {
            for v in entries {
                tx.append(v, None)?;
            }
            Ok(())
        })
    }

    /// Appends one entry; see [`Store::append_batch`].
    pub fn append(&self, entry: &VerifiedEntry) -> Result<()> {
        self.append_batch(std::slice::from_ref(entry))
    }

    /// Seq through which `authority`'s log is applied to the derived records.
    pub fn applied_through(&self, authority: &AuthorityId) -> Result<u64> {
        derive::applied_through(
            &EngineView(self.engine(), self.reader()),
            authority.as_str(),
        )
    }

    // ---- derived records ----

    fn get_json<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        self.engine().get(key)?.map(|v| decode(key, &v)).transpose()
    }

    fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<T>> {
        self.engine()
            .scan(prefix, &keys::prefix_end(prefix), limit)?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect()
    }

    /// A license, import certificate or transit authorization as it stands;
    /// `None` also when it is sealed and no longer opens here (see
    /// [`Store::license_checked`]), so joins across documents go on.
    pub fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        crate::readable(self.license_checked(authority, number))
    }

    /// [`Store::license`], but a sealed document that no longer opens here
    /// is [`StoreError::Unreadable`] with the reason: what a license page
    /// and a border check say about the license asked for.
    pub fn license_checked(
        &self,
        authority: &AuthorityId,
        number: &str,
    ) -> Result<Option<LicenseState>> {
        self.license_at(&keys::license(authority.as_str(), number))
    }

    fn license_at(&self, key: &[u8]) -> Result<Option<LicenseState>> {
        let view = EngineView(self.engine(), self.reader());
        self.engine()
            .get(key)?
            .map(|v| derive::load_license(&view, key, &v))
            .transpose()
    }

    /// Up to `limit` of `authority`'s documents, by number.
    pub fn licenses_of(&self, authority: &AuthorityId, limit: usize) -> Result<Vec<LicenseState>> {
        let prefix = keys::license_prefix(authority.as_str());
        let view = EngineView(self.engine(), self.reader());
        self.engine()
            .scan(&prefix, &keys::prefix_end(&prefix), limit)?
            .into_iter()
            .filter_map(|(k, v)| {
                crate::readable(derive::load_license(&view, &k, &v).map(Some)).transpose()
            })
            .collect()
    }

    /// The transit authorizations that cover `export`, whichever State gave them.
    pub fn transits_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        let prefix = keys::transit_prefix(export);
        let links = self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), usize::MAX)?;
        let mut out = Vec::with_capacity(links.len());
        for (k, _) in links {
            let mut r = KeyReader::new(&k);
            // Past the export license's authority and number, to the transit's.
            let _ = (r.str(), r.str());
            let (authority, number) = r
                .str()
                .zip(r.str())
                .ok_or_else(|| StoreError::corrupt(&k, "transit link key"))?;
            if let Some(state) = self.license_at(&keys::license(&authority, &number))? {
                out.push(state);
            }
        }
        Ok(out)
    }

    /// The delivery verifications about `export`, whoever issued them.
    pub fn deliveries_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        let prefix = keys::delivery_prefix(export);
        let mut out = Vec::new();
        for (k, _) in self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), usize::MAX)?
        {
            let r = keys::linked_document(&k)
                .ok_or_else(|| StoreError::corrupt(&k, "delivery link key"))?;
            if let Some(state) = self.license_at(&keys::license(&r.authority, &r.number))? {
                out.push(state);
            }
        }
        Ok(out)
    }

    /// The export licenses that cite the import certificate `ic` (whatever
    /// their status), by reference.
    pub fn citing(&self, ic: &DocumentRef) -> Result<Vec<DocumentRef>> {
        let prefix = keys::cites_prefix(ic);
        Ok(self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), usize::MAX)?
            .into_iter()
            .filter_map(|(k, _)| keys::linked_document(&k))
            .collect())
    }

    /// Accepted quantities of `license` per (line, direction, country), as
    /// recorded by every country: what [`Store::tallies`] filters.
    pub fn recorded_tallies(&self, license: &DocumentRef) -> Result<Vec<TallyRow>> {
        self.scan_json(&keys::tally_prefix(license), usize::MAX)
    }

    /// The tallies that count for `license` as it stands: only rows recorded
    /// in a country its route allows for their direction.
    pub fn tallies(&self, license: &LicenseState) -> Result<Vec<TallyRow>> {
        let mut rows = self.recorded_tallies(&license.reference())?;
        rows.retain(|t| on_route(&license.document, t.direction, &t.country));
        Ok(rows)
    }

    /// The earliest crossing of `serial` (compared normalized) under
    /// `license` in `direction` recorded in `country` (the checkpoint country).
    pub fn serial_use(
        &self,
        license: &DocumentRef,
        direction: Direction,
        country: &str,
        serial: &str,
    ) -> Result<Option<SerialUse>> {
        let serial = tally_model::normalize_serial(serial);
        self.get_json(&keys::serial(license, direction, country, &serial))
    }

    /// Every shipment recorded under `license`, accepted or not, oldest first.
    pub fn shipments(&self, license: &DocumentRef) -> Result<Vec<ShipmentRow>> {
        self.scan_json(&keys::shipment_prefix(license), usize::MAX)
    }

    /// Accepted shipments under `license` in `direction` that count (recorded
    /// in `country`, which its route allows): what a single-shipment license
    /// is checked against.
    pub fn accepted_shipments(
        &self,
        license: &LicenseState,
        direction: Direction,
        country: &str,
    ) -> Result<u64> {
        if !on_route(&license.document, direction, country) {
            return Ok(0);
        }
        let n = self
            .shipments(&license.reference())?
            .iter()
            .filter(|s| {
                s.verdict == tally_model::ShipmentVerdict::Accept.as_str()
                    && s.checkpoint.direction == direction
                    && s.checkpoint.country == country
            })
            .count();
        Ok(n as u64)
    }

    /// Encryption keys `authority` announced in its own log, in log order.
    pub fn announced_keys(
        &self,
        authority: &AuthorityId,
    ) -> Result<Vec<crate::state::AnnouncedKey>> {
        self.scan_json(&keys::announced_prefix(authority.as_str()), usize::MAX)
    }

    pub fn rotated_keys(&self, authority: &AuthorityId) -> Result<Vec<RotatedKey>> {
        self.scan_json(&keys::rotated_prefix(authority.as_str()), usize::MAX)
    }

    // ---- evidence and alerts ----

    /// Keeps proof of an equivocation, durably, with its alert; storing the
    /// same proof twice changes nothing. True if no fork at that (authority,
    /// seq) was known before.
    pub fn put_evidence(&self, evidence: &Evidence) -> Result<bool> {
        self.transaction(|tx| tx.put_evidence(evidence))
    }

    /// Every equivocation proof held, by authority and seq.
    pub fn evidence(&self) -> Result<Vec<Evidence>> {
        let start = [keys::EVIDENCE];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| decode_evidence(&k, &v))
            .collect()
    }

    /// Entries of this node's own authority that it did not write, kept as
    /// evidence of `log.cloned`, by seq.
    pub fn cloned(&self) -> Result<Vec<SignedEntry>> {
        let start = [keys::CLONED];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| decode_signed(&k, &v))
            .collect()
    }

    /// Entries past a key compromise that the authority's genuine log
    /// replaced (kept as evidence; see `Tx::displace_compromised_tail`).
    pub fn displaced(&self) -> Result<Vec<SignedEntry>> {
        let start = [keys::DISPLACED];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| decode_signed(&k, &v))
            .collect()
    }

    /// Whether the node is recovering its own log after its store was found
    /// missing at start (see `tally_node::Node::start_with`).
    pub fn recovering(&self) -> Result<bool> {
        Ok(self.engine().get(keys::RECOVERING_KEY)?.is_some())
    }

    /// Marks (durably) that the node recovers its own log, or that it is done.
    pub fn set_recovering(&self, recovering: bool) -> Result<()> {
        let _guard = self.lock();
        let op = if recovering {
            Op::Put(keys::RECOVERING_KEY.to_vec(), b"1".to_vec())
        } else {
            Op::Delete(keys::RECOVERING_KEY.to_vec())
        };
        self.engine().commit(vec![op])
    }

    /// Every alert held, in id order. Alerts are few (one per suspicious
    /// event); the API sorts, filters and pages them.
    pub fn alerts(&self) -> Result<Vec<Alert>> {
        self.scan_json(&[keys::ALERT], usize::MAX)
    }

    // ---- reindex ----

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

    fn set_rebuilding(&self, state: Option<String>) {
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
        let engine = self.engine();
        let compromised = self.compromised();
        let clock = self.clock();
        let due = clock.due();
        engine.commit(vec![
            Op::Put(keys::REINDEX_KEY.to_vec(), b"1".to_vec()),
            Op::Delete(keys::COMPROMISED_KEY.to_vec()),
        ])?;

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

        let heads = self.heads()?;
        let total: u64 = heads.iter().map(|(_, seq, _)| seq).sum();
        let mut entries = 0u64;
        for (authority, head, _) in &heads {
            let mut from = 1;
            while from <= *head {
                let rows = self.log_rows(authority, from, REINDEX_CHUNK)?;
                // One date for the whole rebuild, whatever its length.
                let mut tx = Tx::new(engine, self.reader())
                    .with_compromised(compromised.clone())
                    .with_clock(&AlertClock::fixed(due.delivery_days, due.today));
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
                    step.apply(&mut tx, &signed, &entry)?;
                }
                if next == from {
                    return Err(StoreError::corrupt(
                        &keys::head(authority.as_str()),
                        format_args!("head {head} but the log ends before {from}"),
                    ));
                }
                engine.commit(tx.into_batch())?;
                entries += next - from;
                from = next;
                self.set_rebuilding(Some(format!("{entries} of {total} entries")));
                progress(Progress { entries, total });
                if self
                    .inner
                    .interrupt
                    .load(std::sync::atomic::Ordering::SeqCst)
                {
                    return Err(StoreError::Interrupted);
                }
            }
        }
        let mut tx = Tx::new(engine, self.reader());
        for evidence in self.evidence()? {
            tx::raise_equivocation(&mut tx, &evidence)?;
        }
        for foreign in self.cloned()? {
            tx::raise_cloned(&mut tx, &foreign)?;
        }
        for displaced in self.displaced()? {
            crate::compromise::raise_displaced(&mut tx, &displaced)?;
        }
        engine.commit(tx.into_batch())?;
        let mut done = vec![
            Op::Delete(keys::REINDEX_KEY.to_vec()),
            Op::Put(
                keys::OVERDUE_KEY.to_vec(),
                derive::encode(&OverdueMark {
                    delivery_days: due.delivery_days,
                    through: due.today,
                }),
            ),
        ];
        if !compromised.is_empty() {
            done.push(Op::Put(
                keys::COMPROMISED_KEY.to_vec(),
                derive::encode(compromised.as_ref()),
            ));
        }
        engine.commit(done)?;
        let report = ReindexReport {
            authorities: heads.len(),
            entries,
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
/// [`Tx::apply`]. The verifier's opens; [`Keyless`] opens nothing.
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

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .field("engine", &self.kind())
            .finish()
    }
}
