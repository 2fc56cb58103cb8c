//! [`Store`]: typed operations over one engine; appends write the log record,
//! head, hash index and derived records in one durable batch.

use crate::derive::{self, View, decode, encode};
use crate::engine::{self, Batch, ENGINE_MARKER, Engine, EngineKind, Op, io_err};
use crate::error::{Result, StoreError};
use crate::keys::{self, KeyReader};
use crate::state::{
    Evidence, LicenseState, RotatedKey, SerialUse, ShipmentRow, TallyRow, TokenRecord,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tally_model::{
    AuthorityId, ChainStep, Direction, DocumentRef, EntryHash, SignedEntry, VerifiedEntry,
    chain_step,
};

/// Entries per commit when reindexing, and rows per scan when deleting:
/// bounds memory whatever the size of the logs.
const REINDEX_CHUNK: usize = 1024;

/// A handle on an open store. Cheap to clone; appends are serialized inside,
/// reads run concurrently. Every call blocks on disk I/O: async callers use
/// `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Box<dyn Engine>,
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

/// A fingerprint of every derived record, to compare an incremental build
/// with a reindex (or two nodes) without holding the records in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedDigest {
    pub records: u64,
    /// SHA-256 over every (key, value) in key order, each length-prefixed.
    pub sha256: EntryHash,
}

/// Pending writes of a batch over the engine, so that each entry of a batch
/// sees the heads and derived records of the entries before it.
struct Overlay<'a> {
    engine: &'a dyn Engine,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a> Overlay<'a> {
    fn new(engine: &'a dyn Engine) -> Overlay<'a> {
        Overlay {
            engine,
            pending: BTreeMap::new(),
        }
    }
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }
    fn apply(&mut self, batch: Batch) {
        for op in batch {
            match op {
                Op::Put(k, v) => self.pending.insert(k, Some(v)),
                Op::Delete(k) => self.pending.insert(k, None),
            };
        }
    }
    fn into_batch(self) -> Batch {
        self.pending
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => Op::Put(k, v),
                None => Op::Delete(k),
            })
            .collect()
    }
}

/// The committed state as a [`View`], for reads outside an append.
struct EngineView<'a>(&'a dyn Engine);

impl View for EngineView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
}

impl View for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.engine.get(key),
        }
    }
}

fn encode_head(seq: u64, hash: &EntryHash) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&hash.0);
    v
}

fn decode_head(key: &[u8], v: &[u8]) -> Result<(u64, EntryHash)> {
    let (seq, hash) = v
        .split_first_chunk::<8>()
        .filter(|(_, h)| h.len() == 32)
        .ok_or_else(|| StoreError::corrupt(key, "head is not seq (8) + hash (32)"))?;
    let hash = EntryHash::from_slice(hash).ok_or_else(|| StoreError::corrupt(key, "hash"))?;
    Ok((u64::from_be_bytes(*seq), hash))
}

fn authority_of(key: &[u8], s: &str) -> Result<AuthorityId> {
    s.parse()
        .map_err(|e| StoreError::corrupt(key, format_args!("authority: {e}")))
}

fn decode_signed(key: &[u8], v: &[u8]) -> Result<SignedEntry> {
    SignedEntry::decode(v).map_err(|e| StoreError::corrupt(key, e))
}

fn decode_verified(key: &[u8], v: &[u8]) -> Result<VerifiedEntry> {
    let signed = decode_signed(key, v)?;
    let entry = signed.open().map_err(|e| StoreError::corrupt(key, e))?;
    // The store holds only entries that were verified before they were appended.
    Ok(VerifiedEntry::trusted(signed, entry))
}

fn encode_evidence(e: &Evidence) -> Vec<u8> {
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
    /// store of another schema version or another engine. Finishes a reindex
    /// that a crash interrupted before returning.
    pub fn open(dir: &Path, kind: EngineKind) -> Result<Store> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        claim_dir(dir, kind)?;
        let engine = engine::open(dir, kind)?;
        match engine.get(keys::SCHEMA_KEY)? {
            Some(v) => {
                let found = String::from_utf8_lossy(&v).trim().to_string();
                if found.parse::<u32>().ok() != Some(keys::SCHEMA_VERSION) {
                    return Err(StoreError::SchemaMismatch {
                        path: dir.to_path_buf(),
                        found,
                        expected: keys::SCHEMA_VERSION,
                    });
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
                append: Mutex::new(()),
                dir: dir.to_path_buf(),
            }),
        };
        store.check_heads()?;
        if store.engine().get(keys::REINDEX_KEY)?.is_some() {
            tracing::warn!(path = %dir.display(), "finishing a reindex that was interrupted");
            store.reindex()?;
        }
        tracing::debug!(path = %dir.display(), engine = %kind, "store open");
        Ok(store)
    }

    fn engine(&self) -> &dyn Engine {
        self.inner.engine.as_ref()
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

    fn log_rows(&self, authority: &AuthorityId, from: u64, limit: usize) -> Result<engine::Rows> {
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

    /// Appends one entry; see [`Store::append_batch`].
    pub fn append(&self, entry: &VerifiedEntry) -> Result<()> {
        self.append_batch(std::slice::from_ref(entry))
    }

    /// Appends entries (of any authorities) in one durable commit: each must
    /// be next in its chain, after the held head or the previous entry of
    /// the same authority in `entries`. Log records, heads, hash index and
    /// derived records commit together; on error nothing is written. When
    /// this returns `Ok` the entries are acknowledged.
    pub fn append_batch(&self, entries: &[VerifiedEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let _guard = self.lock();
        let mut overlay = Overlay::new(self.engine());
        for v in entries {
            let entry = v.entry();
            let a = entry.authority.as_str();
            let head_key = keys::head(a);
            let head = overlay
                .get(&head_key)?
                .map(|h| decode_head(&head_key, &h))
                .transpose()?;
            if chain_step(head, None, entry.seq, entry.prev, v.id()) != ChainStep::Next {
                return Err(StoreError::NotNext {
                    authority: a.to_string(),
                    expected: head.map_or(1, |(s, _)| s + 1),
                    got: entry.seq,
                });
            }
            overlay.put(keys::log(a, entry.seq), v.signed().encode());
            overlay.put(head_key, encode_head(entry.seq, &v.id()));
            let mut at = entry.seq.to_be_bytes().to_vec();
            at.extend_from_slice(a.as_bytes());
            overlay.put(keys::hash(&v.id()), at);
            let derived = derive::derive(&overlay, v)?;
            overlay.apply(derived);
        }
        self.engine().commit(overlay.into_batch())
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

    /// A license, import certificate or transit authorization as it stands.
    pub fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        self.license_at(&keys::license(authority.as_str(), number))
    }

    fn license_at(&self, key: &[u8]) -> Result<Option<LicenseState>> {
        let view = EngineView(self.engine());
        self.engine()
            .get(key)?
            .map(|v| derive::load_license(&view, key, &v))
            .transpose()
    }

    /// Up to `limit` of `authority`'s documents, by number.
    pub fn licenses_of(&self, authority: &AuthorityId, limit: usize) -> Result<Vec<LicenseState>> {
        let prefix = keys::license_prefix(authority.as_str());
        let view = EngineView(self.engine());
        self.engine()
            .scan(&prefix, &keys::prefix_end(&prefix), limit)?
            .into_iter()
            .map(|(k, v)| derive::load_license(&view, &k, &v))
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

    /// Accepted quantities of `license`, per (line, direction, country).
    pub fn tallies(&self, license: &DocumentRef) -> Result<Vec<TallyRow>> {
        self.scan_json(&keys::tally_prefix(license), usize::MAX)
    }

    /// The earliest accepted crossing of `serial` under `license` in
    /// `direction`; `country` counts only for transit (pass the transit country).
    pub fn serial_use(
        &self,
        license: &DocumentRef,
        direction: Direction,
        country: Option<&str>,
        serial: &str,
    ) -> Result<Option<SerialUse>> {
        self.get_json(&keys::serial(license, direction, country, serial))
    }

    /// Every shipment recorded under `license`, accepted or not, oldest first.
    pub fn shipments(&self, license: &DocumentRef) -> Result<Vec<ShipmentRow>> {
        self.scan_json(&keys::shipment_prefix(license), usize::MAX)
    }

    /// Accepted shipments under `license` in `direction` (in `country` if
    /// given): what a single-shipment license is checked against.
    pub fn accepted_shipments(
        &self,
        license: &DocumentRef,
        direction: Direction,
        country: Option<&str>,
    ) -> Result<u64> {
        let n = self
            .shipments(license)?
            .iter()
            .filter(|s| {
                s.verdict == "accept"
                    && s.checkpoint.direction == direction
                    && country.is_none_or(|c| s.checkpoint.country == c)
            })
            .count();
        Ok(n as u64)
    }

    /// Keys `authority` announced in its own log, in log order.
    pub fn rotated_keys(&self, authority: &AuthorityId) -> Result<Vec<RotatedKey>> {
        self.scan_json(&keys::rotated_prefix(authority.as_str()), usize::MAX)
    }

    // ---- evidence and tokens ----

    /// Keeps proof of an equivocation, durably; storing the same proof twice
    /// changes nothing.
    pub fn put_evidence(&self, evidence: &Evidence) -> Result<()> {
        let key = keys::evidence(
            evidence.authority.as_str(),
            evidence.seq,
            &EntryHash::of(&evidence.entries[1]),
        );
        self.engine()
            .commit(vec![Op::Put(key, encode_evidence(evidence))])
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

    /// Stores an API token under the hash of its secret.
    pub fn put_token(&self, hash_hex: &str, token: &TokenRecord) -> Result<()> {
        self.engine()
            .commit(vec![Op::Put(keys::token(hash_hex), encode(token))])
    }

    pub fn token(&self, hash_hex: &str) -> Result<Option<TokenRecord>> {
        self.get_json(&keys::token(hash_hex))
    }

    /// Every token, by the hash of its secret.
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        let start = [keys::TOKEN];
        self.engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let hash = KeyReader::new(&k)
                    .str()
                    .ok_or_else(|| StoreError::corrupt(&k, "token key"))?;
                Ok((hash, decode(&k, &v)?))
            })
            .collect()
    }

    /// Removes a token; false if there was none.
    pub fn delete_token(&self, hash_hex: &str) -> Result<bool> {
        let key = keys::token(hash_hex);
        if self.engine().get(&key)?.is_none() {
            return Ok(false);
        }
        self.engine().commit(vec![Op::Delete(key)])?;
        Ok(true)
    }

    // ---- reindex ----

    /// Deletes every derived record and rebuilds them by replaying every log
    /// in seq order, a bounded chunk per commit. Appends wait meanwhile;
    /// reads see half-built derived records until it returns, so run it with
    /// the node stopped (`tally reindex`). A crash midway is finished by the
    /// next [`Store::open`].
    pub fn reindex(&self) -> Result<ReindexReport> {
        let started = Instant::now();
        let _guard = self.lock();
        let engine = self.engine();
        engine.commit(vec![Op::Put(keys::REINDEX_KEY.to_vec(), b"1".to_vec())])?;

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
        let mut entries = 0u64;
        for (authority, head, _) in &heads {
            let mut from = 1;
            while from <= *head {
                let rows = self.log_rows(authority, from, REINDEX_CHUNK)?;
                let mut overlay = Overlay::new(engine);
                let mut next = from;
                for (k, v) in &rows {
                    let verified = decode_verified(k, v)?;
                    // A log with a hole would derive a different state than
                    // the one that was acknowledged: refuse, do not guess.
                    if verified.entry().seq != next {
                        return Err(StoreError::corrupt(
                            k,
                            format_args!("log of {authority} skips from {next}"),
                        ));
                    }
                    next += 1;
                    let derived = derive::derive(&overlay, &verified)?;
                    overlay.apply(derived);
                }
                if next == from {
                    return Err(StoreError::corrupt(
                        &keys::head(authority.as_str()),
                        format_args!("head {head} but the log ends before {from}"),
                    ));
                }
                engine.commit(overlay.into_batch())?;
                entries += next - from;
                from = next;
            }
        }
        engine.commit(vec![Op::Delete(keys::REINDEX_KEY.to_vec())])?;
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

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .field("engine", &self.kind())
            .finish()
    }
}
