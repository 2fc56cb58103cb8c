//! [`Tx`]: a staged transaction (garage's `Db::transaction(|tx| ...)`
//! shape). Reads see the transaction's own writes; nothing reaches the engine
//! until [`crate::Store::transaction`] commits every write in one durable
//! batch, and an error discards them all.

use crate::clock::{AlertClock, Due};
use crate::derive;
use crate::engine::{Batch, Engine, Op};
use crate::error::{Result, StoreError};
use crate::keys;
use crate::opener::SealedReader;
use crate::state::{Alert, AnnouncedKey, EntryPointer, Evidence, LicenseState, RotatedKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tally_model::trust::KeyCompromise;
use tally_model::{
    AlertKind, AuthorityId, ChainStep, DocumentRef, EntryHash, License, SignedEntry, VerifiedEntry,
    alert_id, chain_step,
};

/// Read access to a consistent state: the engine, or the engine plus a
/// transaction's pending writes.
pub(crate) trait View {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Reads back sealed documents this node opened, when it has its keys.
    fn reader(&self) -> Option<&dyn SealedReader>;
    /// The document this view applied from the log entry at `log_key`
    /// itself, kept in memory (a transaction's own applies).
    fn applied_document(&self, _log_key: &[u8]) -> Option<License> {
        None
    }
}

/// The committed state as a [`View`], for reads outside a transaction.
pub(crate) struct EngineView<'a>(pub &'a dyn Engine, pub Option<&'a dyn SealedReader>);

impl View for EngineView<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn reader(&self) -> Option<&dyn SealedReader> {
        self.1
    }
}

/// Writes pending over the engine. Obtained from [`crate::Store::transaction`],
/// which holds the store's single-writer lock for its whole life.
pub struct Tx<'a> {
    engine: &'a dyn Engine,
    /// The engine's snapshot every read of this transaction goes through,
    /// taken at the first read: one engine read transaction for the dozens
    /// of reads an append makes (each had opened its own). The store's
    /// writer lock means nothing commits while it lives.
    reads: std::cell::OnceCell<Box<dyn Engine>>,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Reads back sealed documents this node opened (a license's current
    /// version, when an entry applied here refers to it).
    reader: Option<&'a dyn SealedReader>,
    /// Key compromises in force: entries they cover are kept, not applied.
    compromised: Arc<Vec<KeyCompromise>>,
    /// Today's date and `delivery_days`, fixed for the whole transaction.
    due: Due,
    /// The license documents this transaction applied, by their log key:
    /// reading one back (the alert judge reads every license it applies)
    /// then neither decodes nor opens its entry again. As large as the
    /// transaction's own entries.
    /// Boxed: the map's growth then moves pointers, not documents.
    documents: HashMap<Vec<u8>, Box<License>>,
}

impl View for Tx<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.reads()?.get(key),
        }
    }
    fn reader(&self) -> Option<&dyn SealedReader> {
        self.reader
    }
    fn applied_document(&self, log_key: &[u8]) -> Option<License> {
        self.documents.get(log_key).map(|l| (**l).clone())
    }
}

pub(crate) fn encode_head(seq: u64, hash: &EntryHash) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&hash.0);
    v
}

pub(crate) fn decode_head(key: &[u8], v: &[u8]) -> Result<(u64, EntryHash)> {
    let (seq, hash) = v
        .split_first_chunk::<8>()
        .filter(|(_, h)| h.len() == 32)
        .ok_or_else(|| StoreError::corrupt(key, "head is not seq (8) + hash (32)"))?;
    let hash = EntryHash::from_slice(hash).ok_or_else(|| StoreError::corrupt(key, "hash"))?;
    Ok((u64::from_be_bytes(*seq), hash))
}

pub(crate) fn decode_signed(key: &[u8], v: &[u8]) -> Result<SignedEntry> {
    SignedEntry::decode(v).map_err(|e| StoreError::corrupt(key, e))
}

impl<'a> Tx<'a> {
    pub(crate) fn new(engine: &'a dyn Engine, reader: Option<&'a dyn SealedReader>) -> Tx<'a> {
        Tx {
            engine,
            reads: std::cell::OnceCell::new(),
            pending: BTreeMap::new(),
            reader,
            compromised: Arc::default(),
            due: AlertClock::default().due(),
            documents: HashMap::new(),
        }
    }

    fn reads(&self) -> Result<&dyn Engine> {
        if let Some(s) = self.reads.get() {
            return Ok(s.as_ref());
        }
        let snapshot = self.engine.snapshot()?;
        Ok(self.reads.get_or_init(|| snapshot).as_ref())
    }

    pub(crate) fn with_clock(mut self, clock: &AlertClock) -> Tx<'a> {
        self.due = clock.due();
        self
    }

    /// Today's date and `delivery_days` this transaction judges with.
    pub(crate) fn due(&self) -> Due {
        self.due
    }

    pub(crate) fn with_compromised(mut self, compromised: Arc<Vec<KeyCompromise>>) -> Tx<'a> {
        self.compromised = compromised;
        self
    }

    pub(crate) fn compromised(&self) -> &[KeyCompromise] {
        &self.compromised
    }

    pub(crate) fn into_batch(self) -> Batch {
        self.pending
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => Op::Put(k, v),
                None => Op::Delete(k),
            })
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Keeps `document`, just applied from the entry at `log_key`, for
    /// [`View::applied_document`].
    pub(crate) fn remember_document(&mut self, log_key: Vec<u8>, document: &License) {
        self.documents.insert(log_key, Box::new(document.clone()));
    }

    pub(crate) fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.forget_document(&key);
        self.pending.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.forget_document(&key);
        self.pending.insert(key, None);
    }

    /// A log entry rewritten or removed (a compromised tail moved aside)
    /// no longer carries the document remembered for it.
    fn forget_document(&mut self, key: &[u8]) {
        if !self.documents.is_empty() {
            self.documents.remove(key);
        }
    }

    pub(crate) fn get_json<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        View::get(self, key)?
            .map(|b| derive::decode(key, &b))
            .transpose()
    }

    /// Every row whose key starts with `prefix`, this transaction's writes
    /// (and deletions) included, in key order.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.scan_prefix_limit(prefix, usize::MAX)
    }

    /// The first `limit` rows of [`Tx::scan_prefix`].
    pub(crate) fn scan_prefix_limit(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let end = keys::prefix_end(prefix);
        // Pending deletions may hide engine rows: read as many more.
        let deleted = self
            .pending
            .range(prefix.to_vec()..end.clone())
            .filter(|(_, v)| v.is_none())
            .count();
        let mut rows: BTreeMap<Vec<u8>, Vec<u8>> = self
            .reads()?
            .scan(prefix, &end, limit.saturating_add(deleted))?
            .into_iter()
            .collect();
        for (k, v) in self.pending.range(prefix.to_vec()..end) {
            match v {
                Some(v) => rows.insert(k.clone(), v.clone()),
                None => rows.remove(k),
            };
        }
        Ok(rows.into_iter().take(limit).collect())
    }

    pub(crate) fn put_json<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put_raw(key, derive::encode(value));
    }

    // ---- the typed operations a verifier needs inside one transaction ----

    /// The newest entry of `authority`'s log, this transaction's appends included.
    pub fn head(&self, authority: &AuthorityId) -> Result<Option<(u64, EntryHash)>> {
        let key = keys::head(authority.as_str());
        View::get(self, &key)?
            .map(|v| decode_head(&key, &v))
            .transpose()
    }

    pub fn entry_at(&self, authority: &AuthorityId, seq: u64) -> Result<Option<SignedEntry>> {
        let key = keys::log(authority.as_str(), seq);
        View::get(self, &key)?
            .map(|v| decode_signed(&key, &v))
            .transpose()
    }

    /// Keys `authority` announced in its own log, in log order, this
    /// transaction's writes included.
    pub fn rotated_keys(&self, authority: &AuthorityId) -> Result<Vec<RotatedKey>> {
        self.scan_prefix(&keys::rotated_prefix(authority.as_str()))?
            .into_iter()
            .map(|(k, v)| derive::decode(&k, &v))
            .collect()
    }

    /// The encryption keys `authority` announced in its own log, oldest first.
    pub fn announced_keys(&self, authority: &AuthorityId) -> Result<Vec<AnnouncedKey>> {
        self.scan_prefix(&keys::announced_prefix(authority.as_str()))?
            .into_iter()
            .map(|(k, v)| derive::decode(&k, &v))
            .collect()
    }

    /// A document of `authority` as it stands, this transaction's writes
    /// included; `None` also when it is sealed and no longer opens here, so
    /// that nothing about a sealed document fails a transaction.
    pub fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        let key = keys::license(authority.as_str(), number);
        crate::readable(
            View::get(self, &key)?
                .map(|v| derive::load_license(self, &key, &v))
                .transpose(),
        )
    }

    /// The export licenses that cite the import certificate `ic` (whatever
    /// their status), by reference, this transaction's writes included.
    pub fn citing(&self, ic: &DocumentRef) -> Result<Vec<DocumentRef>> {
        Ok(self
            .scan_prefix(&keys::cites_prefix(ic))?
            .into_iter()
            .filter_map(|(k, _)| keys::linked_document(&k))
            .collect())
    }

    /// The delivery verifications about `export`, whoever issued them.
    pub fn deliveries_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        let mut out = Vec::new();
        for (k, _) in self.scan_prefix(&keys::delivery_prefix(export))? {
            let Some(r) = keys::linked_document(&k) else {
                return Err(StoreError::corrupt(&k, "delivery link key"));
            };
            let Ok(a) = r.authority.parse::<AuthorityId>() else {
                continue;
            };
            if let Some(s) = self.license(&a, &r.number)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The accepted shipments of `license` that count (recorded in a country
    /// its route allows for their direction), this transaction's writes
    /// included.
    pub fn tallies(&self, license: &LicenseState) -> Result<Vec<crate::state::TallyRow>> {
        let mut rows: Vec<crate::state::TallyRow> = self
            .scan_prefix(&keys::tally_prefix(&license.reference()))?
            .into_iter()
            .map(|(k, v)| derive::decode(&k, &v))
            .collect::<Result<_>>()?;
        rows.retain(|t| tally_model::on_route(&license.document, t.direction, &t.country));
        Ok(rows)
    }

    /// Appends `v` to its log (it must be next after the head) and applies
    /// it to the derived state, with `opening` for a sealed entry (what the
    /// caller opened: see [`Tx::apply`]). The entry is acknowledged once the
    /// transaction commits.
    pub fn append(
        &mut self,
        v: &VerifiedEntry,
        opening: Option<crate::Opening>,
    ) -> Result<EntryPointer> {
        let pointer = self.append_chain(v)?;
        derive::apply(
            self,
            v.entry(),
            v.id(),
            v.signed().key_id(),
            v.document_check(),
            opening,
        )?;
        Ok(pointer)
    }

    /// The first step of taking an entry in, alone: the chain records (log
    /// record, head, hash index), not what the document derives. Gossip
    /// acknowledges an entry after this step, before opening it, so that a
    /// recipient answers as fast as a bystander; [`Tx::apply_behind`] then
    /// applies it (and a start applies what a crash left behind).
    pub fn append_chain(&mut self, v: &VerifiedEntry) -> Result<EntryPointer> {
        let entry = v.entry();
        let a = entry.authority.as_str();
        let head = self.head(&entry.authority)?;
        if chain_step(head, None, entry.seq, entry.prev, v.id()) != ChainStep::Next {
            return Err(StoreError::NotNext {
                authority: a.to_string(),
                expected: head.map_or(1, |(s, _)| s + 1),
                got: entry.seq,
            });
        }
        self.put_raw(keys::log(a, entry.seq), v.signed().encode());
        self.put_raw(keys::head(a), encode_head(entry.seq, &v.id()));
        let mut at = entry.seq.to_be_bytes().to_vec();
        at.extend_from_slice(a.as_bytes());
        self.put_raw(keys::hash(&v.id()), at);
        Ok(EntryPointer {
            seq: entry.seq,
            hash: v.id(),
        })
    }

    /// The next entry of `authority`'s log past its applied mark (appended,
    /// not applied yet), with its decoded entry: what the caller opens, when
    /// it is sealed, and hands to [`Tx::apply`].
    pub fn next_behind(
        &self,
        authority: &AuthorityId,
    ) -> Result<Option<(SignedEntry, tally_model::Entry)>> {
        let seq = derive::applied_through(self, authority.as_str())? + 1;
        if self.head(authority)?.is_none_or(|(head, _)| seq > head) {
            return Ok(None);
        }
        let key = keys::log(authority.as_str(), seq);
        let signed = self
            .entry_at(authority, seq)?
            .ok_or_else(|| StoreError::corrupt(&key, "missing below the head"))?;
        let entry = signed.open().map_err(|e| StoreError::corrupt(&key, e))?;
        Ok(Some((signed, entry)))
    }

    /// Applies `entry` (decoded from `signed`), the next of its log past
    /// the applied mark, to the derived records; an entry already applied
    /// changes nothing. `opening`: what opening it came to when it is
    /// sealed, done by the caller (the store holds no keys); `None` for a
    /// sealed entry is read as not addressed here. No opening and no
    /// document content fails the transaction: each outcome has its effect
    /// (`document.invalid`, `party.excluded`, or nothing).
    pub fn apply(
        &mut self,
        signed: &SignedEntry,
        entry: &tally_model::Entry,
        opening: Option<crate::Opening>,
    ) -> Result<()> {
        derive::apply(self, entry, signed.id(), signed.key_id(), None, opening)
    }

    /// When the entry held at `seq` of `authority`'s log is past a declared
    /// key compromise, moves that compromised tail out of the log (kept as
    /// evidence) so the authority's genuine entry can take its place;
    /// returns the first seq moved. See `compromise::displace_tail`.
    pub fn displace_compromised_tail(
        &mut self,
        authority: &AuthorityId,
        seq: u64,
    ) -> Result<Option<u64>> {
        crate::compromise::displace_tail(self, authority, seq)
    }

    /// Keeps an equivocation proof and raises its alert; storing the same
    /// proof twice changes nothing. True if this node did not know of a fork
    /// of that (authority, seq) before.
    pub fn put_evidence(&mut self, evidence: &Evidence) -> Result<bool> {
        let prefix = keys::Key::new(keys::EVIDENCE)
            .str(evidence.authority.as_str())
            .u64(evidence.seq)
            .build();
        let known = !self
            .engine
            .scan(&prefix, &keys::prefix_end(&prefix), 1)?
            .is_empty()
            || self.pending.keys().any(|k| k.starts_with(&prefix));
        let key = keys::evidence(
            evidence.authority.as_str(),
            evidence.seq,
            &EntryHash::of(&evidence.entries[1]),
        );
        self.put_raw(key, crate::store::encode_evidence(evidence));
        raise_equivocation(self, evidence)?;
        Ok(!known)
    }

    /// Keeps `foreign`, an entry of this node's own authority that this node
    /// did not write (a copy of its keys signs elsewhere), and raises
    /// `log.cloned` for its seq. Storing it again changes nothing. True if
    /// this node did not hold that entry as cloned before.
    pub fn put_cloned(&mut self, foreign: &SignedEntry) -> Result<bool> {
        let entry = foreign
            .open()
            .map_err(|e| StoreError::corrupt(&keys::alert("log.cloned"), e))?;
        let key = keys::cloned(entry.authority.as_str(), entry.seq, &foreign.id());
        let new = View::get(self, &key)?.is_none();
        self.put_raw(key, foreign.encode());
        raise_cloned(self, foreign)?;
        Ok(new)
    }

    /// Raises (or re-raises, unchanged) an alert.
    pub(crate) fn raise(&mut self, alert: &Alert) {
        self.put_json(keys::alert(&alert.id), alert);
    }
}

/// The `log.cloned` alert of a foreign entry of the node's own authority,
/// raised at the entry's time (so a reindex raises the same alert).
pub(crate) fn raise_cloned(tx: &mut Tx, foreign: &SignedEntry) -> Result<()> {
    let entry = foreign
        .open()
        .map_err(|e| StoreError::corrupt(&keys::alert("log.cloned"), e))?;
    let id = alert_id(AlertKind::LogCloned, None, &entry.authority, entry.seq);
    let mut at = entry.issued_at_ms;
    if let Some(held) = tx.get_json::<Alert>(&keys::alert(&id))? {
        at = at.min(held.raised_at_ms);
    }
    tx.raise(&Alert {
        id,
        kind: AlertKind::LogCloned,
        license: None,
        raised_at_ms: at,
        detail: format!(
            "a peer offered an entry of {} at seq {} that this node did not write: \
             a copy of its signing key signs elsewhere; this node stopped signing \
             until its administrator restarts it",
            entry.authority, entry.seq
        ),
        open: true,
    });
    Ok(())
}

/// The `equivocation` alert of a proof: raised at the earlier of the two
/// entries' times, so nodes that saw the two sides in either order agree.
pub(crate) fn raise_equivocation(tx: &mut Tx, evidence: &Evidence) -> Result<()> {
    let mut at = i64::MAX;
    for bytes in &evidence.entries {
        let entry = SignedEntry::decode(bytes)
            .and_then(|s| s.open())
            .map_err(|e| StoreError::corrupt(&keys::alert("equivocation"), e))?;
        at = at.min(entry.issued_at_ms);
    }
    let id = alert_id(
        AlertKind::Equivocation,
        None,
        &evidence.authority,
        evidence.seq,
    );
    if let Some(held) = tx.get_json::<Alert>(&keys::alert(&id))? {
        at = at.min(held.raised_at_ms);
    }
    tx.raise(&Alert {
        id,
        kind: AlertKind::Equivocation,
        license: None,
        raised_at_ms: at,
        detail: format!(
            "{} signed two different entries at seq {}: its log is forked",
            evidence.authority, evidence.seq
        ),
        open: true,
    });
    Ok(())
}
