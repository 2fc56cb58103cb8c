//! Finding a damaged store before serving it: the engine's own integrity
//! check ([`check_engine`], with the store closed) and a walk over every
//! log's chain ([`Store::check_chains`]: hashes, prev links, dense seqs,
//! heads, the hash index, and signatures through a caller's judge).

use crate::codec::decode_signed;
use crate::engine::{self, EngineKind, REDB_FILE, SLED_DIR};
use crate::error::Result;
use crate::keys;
use crate::rebuild::Progress;
use crate::store::Store;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use tally_model::{AuthorityId, EntryHash, SignedEntry};

/// Problems listed in a report at most (the count goes on).
pub const MAX_PROBLEMS: usize = 100;

/// Entries read per scan while walking a log.
const CHUNK: usize = 1024;

/// What the walk over the logs found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    pub logs: usize,
    /// Entries read and checked.
    pub entries: u64,
    /// Problems found (at most [`MAX_PROBLEMS`] listed).
    pub problems: Vec<String>,
    /// Problems found, listed or not.
    pub problem_count: u64,
    /// The walk was told to stop before it reached the end
    /// ([`Store::check_chains_until`]): sound only as far as it went.
    pub stopped: bool,
}

impl ChainReport {
    pub fn is_sound(&self) -> bool {
        self.problem_count == 0
    }

    fn problem(&mut self, p: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        }
    }

    /// One line for logs and health: the first problem, and how many more.
    pub fn summary(&self) -> String {
        match self.problems.first() {
            None => "sound".into(),
            Some(first) if self.problem_count > 1 => {
                format!("{first} (and {} more problems)", self.problem_count - 1)
            }
            Some(first) => first.clone(),
        }
    }
}

/// The storage engine's own integrity check of the store in `dir`, which
/// must not be open (the node stopped, or before it opens it): `Ok(None)`
/// when sound, `Ok(Some(what))` when damaged. redb checks every page's
/// checksum and its allocator state (and repairs what it can: a repair is
/// still reported, since something wrote the file outside redb); sled
/// 0.34 has no page checksums to check, so for it this opens the tree and
/// reads every record (damage it cannot see is left to the chain walk).
pub fn check_engine(dir: &Path, kind: EngineKind) -> Result<Option<String>> {
    let run = || -> Result<Option<String>> {
        match kind {
            EngineKind::Redb => {
                let path = dir.join(REDB_FILE);
                // The check reads every page once: a small cache keeps it
                // from growing the node's memory by the size of the file
                // (redb's default cache is 1 GiB; the bench saw 1.1 GB RSS
                // at a million licenses).
                let mut db = match redb::Database::builder()
                    .set_cache_size(crate::redb::CHECK_CACHE_BYTES)
                    .open(&path)
                {
                    Ok(db) => db,
                    Err(e) => return Ok(Some(format!("redb cannot open {}: {e}", path.display()))),
                };
                match db.check_integrity() {
                    Ok(true) => Ok(None),
                    // The allocator state is rebuilt after any unclean stop
                    // (a kill -9, a power loss): redb repairs it and every
                    // committed page still checks out. Not damage; a page
                    // that fails its checksum is an error below.
                    Ok(false) => {
                        tracing::warn!(
                            path = %path.display(),
                            "redb repaired its allocator state (the last stop was not clean)"
                        );
                        Ok(None)
                    }
                    Err(e) => Ok(Some(format!(
                        "redb integrity check of {}: {e}",
                        path.display()
                    ))),
                }
            }
            EngineKind::Sled => {
                let path = dir.join(SLED_DIR);
                let e = match engine::open(dir, kind) {
                    Ok(e) => e,
                    Err(e) => return Ok(Some(format!("sled cannot open {}: {e}", path.display()))),
                };
                let mut start = Vec::new();
                loop {
                    let rows = match e.scan(&start, &[0xFF; 8], CHUNK) {
                        Ok(rows) => rows,
                        Err(err) => {
                            return Ok(Some(format!("sled read of {}: {err}", path.display())));
                        }
                    };
                    let Some((last, _)) = rows.last() else {
                        return Ok(None);
                    };
                    start = last.clone();
                    start.push(0);
                    if rows.len() < CHUNK {
                        return Ok(None);
                    }
                }
            }
        }
    };
    // The engines promise errors, not panics, for damaged files only in
    // their checks; a panic anywhere here is damage too.
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r,
        Err(_) => Ok(Some(format!(
            "the {kind} engine panicked reading the store in {}",
            dir.display()
        ))),
    }
}

impl Store {
    /// Reads every record of the store through the engine, as the running
    /// node's background check does after the chain walk: a page whose
    /// layout is damaged makes the engine fail or panic on the way, which
    /// is reported here (`Some(what)`) instead of on some later read. It
    /// does not verify redb's page checksums: that check needs the store
    /// closed ([`check_engine`], run by `tally verify-store`), and a node
    /// serves without waiting for an O(store) read. Reads one snapshot (what
    /// was committed when it began; redb keeps those pages meanwhile).
    /// Stops, sound as far as it went, as soon as `stop` says so.
    pub fn read_every_record_until(
        &self,
        progress: &mut dyn FnMut(u64),
        stop: &dyn Fn() -> bool,
    ) -> Option<String> {
        // The store as it stood when the check began: a node that fills
        // while it runs (a catch-up) must not keep the read chasing it.
        let snapshot = match catch_unwind(AssertUnwindSafe(|| self.engine().snapshot())) {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Some(format!("the store cannot be read: {e}")),
            Err(_) => return Some("opening a read of the store panicked".into()),
        };
        let mut start = Vec::new();
        let mut records = 0u64;
        loop {
            if stop() {
                return None;
            }
            let rows = match catch_unwind(AssertUnwindSafe(|| {
                snapshot.scan(&start, &[0xFF; 8], CHUNK)
            })) {
                Ok(Ok(rows)) => rows,
                Ok(Err(e)) => return Some(format!("a record after {records} cannot be read: {e}")),
                Err(_) => return Some(format!("reading the records after {records} panicked")),
            };
            records += rows.len() as u64;
            progress(records);
            let (last, _) = rows.last()?;
            if rows.len() < CHUNK {
                return None;
            }
            start = last.clone();
            start.push(0);
        }
    }

    /// Walks every log: each record decodes, sits under its own authority
    /// and seq, seqs are dense from 1, each `prev` is the hash of the entry
    /// before, the hash index points back at it, and the head is the last
    /// entry's hash. `judge` may check more of each entry (its signature)
    /// and returns what is wrong with it. Reads that fail (the engine found
    /// damage) are problems, not errors; a panic reading is one too.
    pub fn check_chains(
        &self,
        judge: &mut dyn FnMut(&SignedEntry) -> Option<String>,
        progress: &mut dyn FnMut(Progress),
    ) -> ChainReport {
        self.check_chains_until(judge, progress, &|| false)
    }

    /// [`Store::check_chains`], stopping as soon as `stop` says so (a node
    /// shutting down while its background check runs must not keep the
    /// store open): the report then says [`ChainReport::stopped`].
    pub fn check_chains_until(
        &self,
        judge: &mut dyn FnMut(&SignedEntry) -> Option<String>,
        progress: &mut dyn FnMut(Progress),
        stop: &dyn Fn() -> bool,
    ) -> ChainReport {
        let mut report = ChainReport::default();
        let heads = match catch_unwind(AssertUnwindSafe(|| self.heads())) {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                report.problem(format!("the log heads cannot be read: {e}"));
                return report;
            }
            Err(_) => {
                report.problem("reading the log heads panicked".into());
                return report;
            }
        };
        report.logs = heads.len();
        let total: u64 = heads.iter().map(|(_, seq, _)| seq).sum();
        let mut check = Check {
            report,
            judge,
            progress,
            stop,
            total,
        };
        for (authority, head_seq, head_hash) in heads {
            let mut walk = LogWalk {
                a: authority.as_str().to_owned(),
                authority,
                head_seq,
                expected: 1,
                prev: None,
            };
            if self.walk_log(&mut walk, &mut check) {
                check.report.stopped = true;
                return check.report;
            }
            walk.check_head(&mut check.report, head_hash);
        }
        (check.progress)(Progress {
            entries: check.report.entries,
            total,
        });
        check.report
    }

    /// Walks one log up to the head read at the start (a running node
    /// appends meanwhile); true when told to stop.
    fn walk_log(&self, walk: &mut LogWalk, check: &mut Check<'_>) -> bool {
        loop {
            let rows = match catch_unwind(AssertUnwindSafe(|| {
                self.log_rows(&walk.authority, walk.expected, CHUNK)
            })) {
                Ok(Ok(rows)) => rows,
                Ok(Err(e)) => {
                    check.report.problem(format!(
                        "{}: entries from seq {} cannot be read: {e}",
                        walk.a, walk.expected
                    ));
                    return false;
                }
                Err(_) => {
                    check.report.problem(format!(
                        "{}: reading entries from seq {} panicked",
                        walk.a, walk.expected
                    ));
                    return false;
                }
            };
            let n = rows.len();
            for (k, v) in rows {
                if (check.stop)() {
                    return true;
                }
                if seq_of(&k).is_some_and(|s| s > walk.head_seq) {
                    return false;
                }
                check.report.entries += 1;
                self.check_record(walk, check, &k, &v);
                if check.report.entries.is_multiple_of(10_000) {
                    (check.progress)(Progress {
                        entries: check.report.entries,
                        total: check.total,
                    });
                }
            }
            if n < CHUNK {
                return false;
            }
        }
    }

    /// One record: under its own key and seq, decodes, links to the one
    /// before, is indexed by its hash, and passes the caller's judge.
    fn check_record(&self, walk: &mut LogWalk, check: &mut Check<'_>, k: &[u8], v: &[u8]) {
        let report = &mut check.report;
        let a = walk.a.clone();
        if k != keys::log(&a, walk.expected) {
            report.problem(format!("{a}: seq {} is missing", walk.expected));
            // Resynchronise on what is there.
            walk.expected = seq_of(k).unwrap_or(walk.expected);
            walk.prev = None;
        }
        let seq = walk.expected;
        walk.expected += 1;
        let signed = match decode_signed(k, v) {
            Ok(s) => s,
            Err(e) => {
                report.problem(format!("{a} seq {seq}: {e}"));
                walk.prev = None;
                return;
            }
        };
        let id = signed.id();
        match signed.open() {
            Err(e) => report.problem(format!("{a} seq {seq}: the entry does not decode: {e}")),
            Ok(entry) => {
                if entry.authority.as_str() != a || entry.seq != seq {
                    report.problem(format!(
                        "{a} seq {seq}: the record holds {} seq {}",
                        entry.authority, entry.seq
                    ));
                }
                if seq > 1 && walk.prev.is_some() && entry.prev != walk.prev {
                    report.problem(format!(
                        "{a} seq {seq}: prev does not link to the hash of seq {}",
                        seq - 1
                    ));
                }
                if seq == 1 && entry.prev.is_some() {
                    report.problem(format!("{a} seq 1 has a prev"));
                }
            }
        }
        // Like the reads above, a panic here is damage found, not the end
        // of the check (a release build of the engine panicked reading a
        // damaged index page).
        match catch_unwind(AssertUnwindSafe(|| self.by_hash(&id))) {
            Ok(Ok(Some((ia, iseq)))) if ia == walk.authority && iseq == seq => {}
            Ok(Ok(_)) => report.problem(format!(
                "{a} seq {seq}: the hash index does not point at this entry ({})",
                id.to_hex()
            )),
            Ok(Err(e)) => report.problem(format!("{a} seq {seq}: hash index: {e}")),
            Err(_) => report.problem(format!("{a} seq {seq}: reading the hash index panicked")),
        }
        // The judge reads the store too (the keys of the log).
        match catch_unwind(AssertUnwindSafe(|| (check.judge)(&signed))) {
            Ok(None) => {}
            Ok(Some(p)) => report.problem(format!("{a} seq {seq}: {p}")),
            Err(_) => report.problem(format!("{a} seq {seq}: judging it panicked")),
        }
        walk.prev = Some(id);
    }
}

/// What the walk carries from log to log: the report, the caller's judge,
/// progress and stop callbacks.
struct Check<'a> {
    report: ChainReport,
    judge: &'a mut dyn FnMut(&SignedEntry) -> Option<String>,
    progress: &'a mut dyn FnMut(Progress),
    stop: &'a dyn Fn() -> bool,
    total: u64,
}

/// Where the walk stands in one log.
struct LogWalk {
    authority: AuthorityId,
    a: String,
    head_seq: u64,
    /// The seq the next record should hold.
    expected: u64,
    /// The hash of the record before, when it decoded.
    prev: Option<EntryHash>,
}

impl LogWalk {
    /// The head must be the log's last entry, by seq and by hash.
    fn check_head(&self, report: &mut ChainReport, head_hash: EntryHash) {
        let (a, head_seq) = (&self.a, self.head_seq);
        let last = self.expected - 1;
        if last != head_seq {
            report.problem(format!(
                "{a}: the head says seq {head_seq}, the log ends at {last}"
            ));
        } else if self.prev.is_some_and(|p| p != head_hash) {
            report.problem(format!(
                "{a}: the head hash is not the hash of the last entry"
            ));
        }
    }
}

/// The seq of a log key (its last 8 bytes, big-endian).
fn seq_of(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}
