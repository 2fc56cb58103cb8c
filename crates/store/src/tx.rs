//! [`Tx`]: a staged transaction (garage's `Db::transaction(|tx| ...)`
//! shape). Reads see the transaction's own writes; nothing reaches the engine
//! until [`crate::Store::transaction`] commits every write in one durable
//! batch, and an error discards them all.

use crate::clock::{AlertClock, Due};
use crate::codec::{decode_head, decode_signed, encode_evidence, encode_head};
use crate::engine::{Batch, Engine, Op};
use crate::error::{Result, StoreError};
use crate::keys;
use crate::opener::SealedReader;
use crate::state::{Alert, AnnouncedKey, EntryPointer, Evidence, LicenseState, RotatedKey};
use crate::view::View;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tally_model::trust::KeyCompromise;
use tally_model::{
    AlertKind, AuthorityId, ChainStep, DocumentRef, EntryHash, License, SignedEntry, VerifiedEntry,
    alert_id, chain_step,
};

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
    /// Per authority, every announcement of it that counts (`N` rows, oldest
    /// first) as this transaction sees them, when there are at most
    /// [`ANNOUNCED_HELD`] (`None`: more, read by range each time). A
    /// catch-up batch reads its issuer's for each sealed entry; writing an
    /// `N` row forgets them all.
    announced: std::cell::RefCell<HashMap<String, Option<std::rc::Rc<Vec<AnnouncedKey>>>>>,
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
    /// What runs once this transaction committed, in the order given
    /// ([`Tx::on_commit`]); dropped unrun when it does not commit.
    after: Vec<AfterCommit>,
}

/// How many announcements of one authority a transaction keeps in memory
/// (an issuer announces one key a rotation: a few a year).
const ANNOUNCED_HELD: usize = 64;

/// Work that may only happen once a transaction's writes are durable.
pub type AfterCommit = Box<dyn FnOnce() + Send>;

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

impl<'a> Tx<'a> {
    pub(crate) fn new(engine: &'a dyn Engine, reader: Option<&'a dyn SealedReader>) -> Tx<'a> {
        Tx {
            engine,
            reads: std::cell::OnceCell::new(),
            pending: BTreeMap::new(),
            announced: Default::default(),
            reader,
            compromised: Arc::default(),
            due: AlertClock::default().due(),
            documents: HashMap::new(),
            after: Vec::new(),
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

    /// Runs `f` once this transaction has committed (after its durable
    /// commit returned Ok), never if it does not: what a peer or an operator
    /// may hear of only when this node cannot lose it.
    pub fn on_commit(&mut self, f: impl FnOnce() + Send + 'static) {
        self.after.push(Box::new(f));
    }

    /// The writes as one engine batch, and what runs after it commits.
    pub(crate) fn into_parts(self) -> (Batch, Vec<AfterCommit>) {
        let after = self.after;
        let batch = self
            .pending
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => Op::Put(k, v),
                None => Op::Delete(k),
            })
            .collect();
        (batch, after)
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

    /// Keeps `document`, just applied from the entry at `log_key`, for
    /// [`View::applied_document`].
    pub(crate) fn remember_document(&mut self, log_key: Vec<u8>, document: &License) {
        self.documents.insert(log_key, Box::new(document.clone()));
    }

    /// Bytes of the keys and values this transaction writes so far: what
    /// its commit adds or rewrites, the same on every node that applies the
    /// same entries (a byte budget charges a write with it).
    pub fn written_bytes(&self) -> u64 {
        self.pending
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.len() + v.len()) as u64))
            .sum()
    }

    pub(crate) fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.forget_document(&key);
        self.forget_announced(&key);
        self.pending.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.forget_document(&key);
        self.forget_announced(&key);
        self.pending.insert(key, None);
    }

    fn forget_announced(&mut self, key: &[u8]) {
        if key.first() == Some(&keys::ANNOUNCED_BY_TIME) {
            self.announced.get_mut().clear();
        }
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
            .map(|b| crate::codec::decode(key, &b))
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

    /// The last `limit` rows with `start <= key < end`, this transaction's
    /// writes (and deletions) included, in descending key order.
    pub(crate) fn scan_range_rev(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let range = start.to_vec()..end.to_vec();
        // Pending deletions may hide engine rows: read as many more.
        let deleted = self
            .pending
            .range(range.clone())
            .filter(|(_, v)| v.is_none())
            .count();
        let mut rows: BTreeMap<Vec<u8>, Vec<u8>> = self
            .reads()?
            .scan_rev(start, end, limit.saturating_add(deleted))?
            .into_iter()
            .collect();
        for (k, v) in self.pending.range(range) {
            match v {
                Some(v) => rows.insert(k.clone(), v.clone()),
                None => rows.remove(k),
            };
        }
        Ok(rows.into_iter().rev().take(limit).collect())
    }

    pub(crate) fn put_json<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put_raw(key, crate::codec::encode(value));
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
            .map(|(k, v)| crate::codec::decode(&k, &v))
            .collect()
    }

    /// The encryption keys `authority` announced in its own log, oldest first.
    pub fn announced_keys(&self, authority: &AuthorityId) -> Result<Vec<AnnouncedKey>> {
        self.scan_prefix(&keys::announced_prefix(authority.as_str()))?
            .into_iter()
            .map(|(k, v)| crate::codec::decode(&k, &v))
            .collect()
    }

    /// The `limit` newest announcements of `authority` that count, valid
    /// at `at_ms` (any time without it), oldest first, this transaction's
    /// writes included: what `tally_model::issuer_keys::select` needs, in
    /// one short reverse read however many keys the issuer announced.
    pub fn issuer_announcements(
        &self,
        authority: &AuthorityId,
        at_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AnnouncedKey>> {
        if let Some(all) = self.all_announced(authority)? {
            let upto = all.partition_point(|a| at_ms.is_none_or(|at| a.valid_from_ms <= at));
            return Ok(all[upto.saturating_sub(limit)..upto].to_vec());
        }
        let (start, end) = keys::announced_until(authority.as_str(), at_ms);
        let mut out = self
            .scan_range_rev(&start, &end, limit)?
            .into_iter()
            .map(|(k, v)| crate::codec::decode(&k, &v))
            .collect::<Result<Vec<AnnouncedKey>>>()?;
        out.reverse();
        Ok(out)
    }

    /// Every announcement of `authority` that counts, oldest first, read
    /// once per transaction (see `Tx::announced`); `None` when it has more
    /// than [`ANNOUNCED_HELD`].
    fn all_announced(
        &self,
        authority: &AuthorityId,
    ) -> Result<Option<std::rc::Rc<Vec<AnnouncedKey>>>> {
        if let Some(held) = self.announced.borrow().get(authority.as_str()) {
            return Ok(held.clone());
        }
        let (start, end) = keys::announced_until(authority.as_str(), None);
        let rows = self.scan_range_rev(&start, &end, ANNOUNCED_HELD + 1)?;
        let held = if rows.len() > ANNOUNCED_HELD {
            None
        } else {
            let mut all = rows
                .into_iter()
                .map(|(k, v)| crate::codec::decode(&k, &v))
                .collect::<Result<Vec<AnnouncedKey>>>()?;
            all.reverse();
            Some(std::rc::Rc::new(all))
        };
        self.announced
            .borrow_mut()
            .insert(authority.to_string(), held.clone());
        Ok(held)
    }

    /// What the lifecycle rule needs to know of `doc` when it names no
    /// document of the log: whether the key it announces was announced
    /// before (each key counts once, docs/PROTOCOL.md 6.7).
    pub fn announcement_prior(
        &self,
        authority: &AuthorityId,
        doc: &tally_model::Document,
    ) -> Result<tally_model::lifecycle::Prior<'static>> {
        use tally_model::lifecycle::{Prior, announced_key};
        let Some(key) = announced_key(doc) else {
            return Ok(Prior::Nothing);
        };
        Ok(match self.announcement_of(authority, &key)? {
            Some(earlier) => Prior::Announced(earlier.entry.seq),
            None => Prior::Nothing,
        })
    }

    /// The announcement of `public_key` (hex) in `authority`'s log that
    /// counts, if it announced that key.
    pub fn announcement_of(
        &self,
        authority: &AuthorityId,
        public_key: &str,
    ) -> Result<Option<AnnouncedKey>> {
        self.get_json(&keys::announced_by_key(authority.as_str(), public_key))
    }

    /// A document of `authority` as it stands, this transaction's writes
    /// included; `None` also when it is sealed and no longer opens here, so
    /// that nothing about a sealed document fails a transaction.
    pub fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        let key = keys::license(authority.as_str(), number);
        crate::license::readable(
            View::get(self, &key)?
                .map(|v| crate::license::load_license(self, &key, &v))
                .transpose(),
        )
    }

    /// [`Tx::license`] by reference: `None` also when its authority is no
    /// authority id (a reference another document makes).
    pub fn license_by_ref(&self, r: &DocumentRef) -> Result<Option<LicenseState>> {
        match r.authority.parse::<AuthorityId>() {
            Ok(a) => self.license(&a, &r.number),
            Err(_) => Ok(None),
        }
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

    /// The alerts of `kind` about `license` held, this transaction's writes
    /// included (what an issuer tells the officer about a document it just
    /// appended: `denial.match`).
    pub fn alerts_about(
        &self,
        kind: tally_model::AlertKind,
        license: &DocumentRef,
    ) -> Result<Vec<crate::state::Alert>> {
        let mut out = Vec::new();
        for (k, v) in self.scan_prefix(&keys::alert_prefix(kind.as_str(), license))? {
            out.push(crate::codec::decode(&k, &v)?);
        }
        Ok(out)
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
            .map(|(k, v)| crate::codec::decode(&k, &v))
            .collect::<Result<_>>()?;
        rows.retain(|t| tally_model::on_route(&license.document, t.direction, &t.country));
        Ok(rows)
    }

    /// The first step of taking an entry in, alone: the chain records (log
    /// record, head, hash index), not what the document derives. Gossip
    /// acknowledges an entry after this step, before opening it, so that a
    /// recipient answers as fast as a bystander; the verifier then applies
    /// it ([`Tx::next_behind`], [`Tx::apply`]), as a start applies what a
    /// crash left behind.
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
        self.put_raw(key, encode_evidence(evidence));
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
