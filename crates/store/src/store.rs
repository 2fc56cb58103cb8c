//! [`Store`]: typed operations over one engine. Every write goes through a
//! staged transaction ([`Store::transaction`]) that commits the log record,
//! head, hash index and derived records in one durable batch.

use crate::clock::{AlertClock, OverdueMark};
use crate::codec::decode;
use crate::engine::{self, ENGINE_MARKER, Engine, EngineKind, Op, io_err};
use crate::error::{Result, StoreError};
use crate::keys::{self};
use crate::opener::SealedReader;
use crate::tx::Tx;
use crate::view::EngineView;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tally_model::trust::KeyCompromise;
use tally_model::{AuthorityId, DocumentRef, VerifiedEntry};

/// Exits read per commit by the date-driven `delivery.overdue` pass: bounds
/// how long it holds the write lock.
const OVERDUE_CHUNK: usize = 256;

/// A handle on an open store. Cheap to clone; appends are serialized inside,
/// reads run concurrently. Every call blocks on disk I/O: async callers use
/// `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) engine: Box<dyn Engine>,
    /// Reads back sealed documents this node opened (see [`SealedReader`]).
    pub(crate) reader: Option<Arc<dyn SealedReader>>,
    /// Key compromises in force (see [`Store::apply_compromised`]).
    pub(crate) compromised: std::sync::RwLock<Arc<Vec<KeyCompromise>>>,
    /// Today's date and `delivery_days` (see [`Store::set_clock`]).
    pub(crate) clock: std::sync::RwLock<AlertClock>,
    /// Why the last commit failed, until one succeeds: what health reports
    /// while the node cannot write (disk full, I/O error).
    pub(crate) fault: Mutex<Option<String>>,
    /// Commits that failed since the store was opened.
    pub(crate) faults: std::sync::atomic::AtomicU64,
    /// What the integrity check found wrong, once it found something: the
    /// store refuses every write from then on, and health reports it.
    pub(crate) damaged: Mutex<Option<String>>,
    /// The background check (every chain, every signature, every record)
    /// went to the end and found nothing.
    pub(crate) checked: std::sync::atomic::AtomicBool,
    /// While derived records are rebuilt (a reindex, or a key compromise
    /// declared while running): how far it got. Reads must not be answered
    /// from the half-built records meanwhile.
    pub(crate) rebuilding: Mutex<Option<String>>,
    /// Set to stop a rebuild between two chunks (shutdown): the store stays
    /// marked as reindexing and the next open finishes the rebuild.
    pub(crate) interrupt: std::sync::atomic::AtomicBool,
    /// One appender at a time: the chain check reads the head and the commit
    /// writes the next one, and nothing may slip in between.
    pub(crate) append: Mutex<()>,
    pub(crate) dir: PathBuf,
}

/// How a store opens (see [`Store::open_with`]).
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// The engine (the config's `[store] engine`).
    pub engine: EngineKind,
    /// Reads back sealed documents this node opened. With one, an
    /// interrupted reindex is left for the caller, who holds the keys to
    /// open what it applies ([`Store::rebuild_pending`]; reads answer
    /// "rebuilding" meanwhile); without, the open finishes it.
    pub reader: Option<Arc<dyn SealedReader>>,
    /// Judges date-driven alerts (the node's time zone and `[alerts]
    /// delivery_days`) from the first reindex on.
    pub clock: AlertClock,
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

pub(crate) fn dir_bytes(path: &Path) -> Result<u64> {
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
    /// Opens the store in `dir` with `kind`, creating both if needed, with
    /// the other [`OpenOptions`] left at their defaults (no keys: it reads
    /// no sealed document, so it finishes a reindex that a crash
    /// interrupted before returning, as [`crate::Keyless`] does).
    pub fn open(dir: &Path, kind: EngineKind) -> Result<Store> {
        Store::open_with(
            dir,
            OpenOptions {
                engine: kind,
                ..OpenOptions::default()
            },
        )
    }

    /// Opens the store in `dir` as `options` say, creating both if needed.
    /// Fails with a message naming both versions (or engines) if `dir`
    /// holds a store of another schema version or another engine.
    pub fn open_with(dir: &Path, options: OpenOptions) -> Result<Store> {
        let OpenOptions {
            engine: kind,
            reader,
            clock,
        } = options;
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
        store.settle_pending_rebuild_at_open()?;
        tracing::debug!(path = %dir.display(), engine = %kind, "store open");
        Ok(store)
    }

    pub(crate) fn engine(&self) -> &dyn Engine {
        self.inner.engine.as_ref()
    }

    /// A handle on the store as it stands now whose writes are refused
    /// ([`StoreError::ReadOnly`]): what a [`crate::Snapshot`] reads through
    /// (which has no write to call in the first place).
    pub(crate) fn read_only(&self) -> Result<Store> {
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

    pub(crate) fn reader(&self) -> Option<&dyn SealedReader> {
        self.inner.reader.as_deref()
    }

    pub(crate) fn compromised(&self) -> Arc<Vec<KeyCompromise>> {
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

    /// The date-driven pass of `delivery.overdue` and `return.overdue`:
    /// re-judges every license with an accepted exit that fell due, or a
    /// temporary export whose return date passed, since the last pass (all
    /// of them when `delivery_days` or `enduse_days` changed or no pass ran
    /// yet), and the end-use requests owed their answer since, in bounded
    /// chunks, each its own commit so appends interleave. Returns how many
    /// licenses it re-judged. A crash midway only repeats work: judging is
    /// idempotent.
    pub fn judge_overdue(&self) -> Result<usize> {
        let due = self.clock().due();
        let mark: Option<OverdueMark> = match self.engine().get(keys::OVERDUE_KEY)? {
            Some(v) => decode(keys::OVERDUE_KEY, &v).ok(),
            None => None,
        };
        // Exits that fell due, return dates that passed (overdue the day
        // after) and requests owed their answer, after the last pass's
        // today; everything again when a setting changed or no pass ran.
        let (from_exit, from_return, from_request) = match mark {
            Some(m)
                if m.delivery_days == due.delivery_days
                    && m.enduse_days == Some(due.enduse_days) =>
            {
                if m.through >= due.today {
                    return Ok(0);
                }
                (
                    m.through.days() - i64::from(due.delivery_days) + 1,
                    m.through.days(),
                    m.through.days() - i64::from(due.enduse_days),
                )
            }
            _ => (i64::MIN, i64::MIN, i64::MIN),
        };
        let license =
            |tx: &mut Tx, l: &DocumentRef| crate::judge::license(tx, l, crate::judge::Held::Before);
        let mut judged = self.judge_due(
            keys::exit_date_from(from_exit),
            keys::exit_date_from(due.latest_due_exit().saturating_add(1)),
            keys::exit_date_license,
            license,
        )?;
        judged += self.judge_due(
            keys::return_by_from(from_return),
            keys::return_by_from(due.today.days()),
            keys::return_by_license,
            license,
        )?;
        judged += self.judge_due(
            keys::request_date_from(from_request),
            keys::request_date_from(due.today.days() - i64::from(due.enduse_days) + 1),
            keys::request_date_license,
            crate::enduse::rejudge,
        )?;
        let mark = OverdueMark {
            delivery_days: due.delivery_days,
            through: due.today,
            enduse_days: Some(due.enduse_days),
        };
        self.transaction(|tx| {
            tx.put_json(keys::OVERDUE_KEY.to_vec(), &mark);
            Ok::<_, StoreError>(())
        })?;
        Ok(judged)
    }

    /// Re-judges with `judge` the documents of the index rows in
    /// `start..end`, a chunk a commit; how many.
    fn judge_due(
        &self,
        mut start: Vec<u8>,
        end: Vec<u8>,
        license_of: fn(&[u8]) -> Option<DocumentRef>,
        judge: impl Fn(&mut Tx, &DocumentRef) -> Result<()>,
    ) -> Result<usize> {
        let mut judged = 0usize;
        loop {
            let rows = self.engine().scan(&start, &end, OVERDUE_CHUNK)?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            let mut after = last.clone();
            after.push(0);
            let mut licenses: Vec<DocumentRef> =
                rows.iter().filter_map(|(k, _)| license_of(k)).collect();
            licenses.sort();
            licenses.dedup();
            judged += licenses.len();
            self.transaction(|tx| {
                for l in &licenses {
                    judge(tx, l)?;
                }
                Ok::<_, StoreError>(())
            })?;
            start = after;
        }
        Ok(judged)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
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
        let (batch, after) = tx.into_parts();
        if !batch.is_empty() {
            let committed = self.engine().commit(batch);
            self.note_commit(&committed);
            committed?;
        }
        for f in after {
            f();
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
    /// [`crate::Keyless`]: a sealed entry derives nothing (the verifier opens and
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
        crate::view::applied_through(
            &EngineView(self.engine(), self.reader()),
            authority.as_str(),
        )
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
