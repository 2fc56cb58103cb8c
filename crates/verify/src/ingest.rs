//! Entries from peers: decode -> trusted signer -> signature -> chain -> document -> store.
//!
//! Each step either passes the entry on or ends with an outcome; the store is
//! reached only at the end, so nothing unverified is stored or forwarded.

use crate::Verifier;
use tally_model::{
    Body, ChainStep, Document, Entry, EntryHash, License, SignedEntry, Status, VerifiedEntry,
    chain_step, validate_amendment, validate_license,
};
use tally_store::StoreError;
use tally_store::state::{EntryPointer, Evidence};

/// What ingesting one entry came to. Maps onto gossipsub's Accept / Ignore / Reject.
#[derive(Debug)]
pub enum IngestOutcome {
    /// Stored (durably): accept and forward.
    Accepted(EntryPointer),
    /// Already held: ignore.
    Duplicate,
    /// Ahead of the local log: ignore, and pull `have + 1 ..` from the sender.
    Gap {
        authority: tally_model::AuthorityId,
        have: u64,
        seq: u64,
    },
    /// Forged, untrusted or against the rules: reject (the sender is penalized).
    Rejected(Rejection),
}

/// What checking an equivocation proof came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofOutcome {
    /// Proves a fork this node did not know of: stored; forward it.
    New,
    /// Already held: ignore.
    Known,
    /// About an authority or key this node does not trust: ignore, no penalty.
    NotTrusted,
    /// Proves nothing (malformed, same bytes, bad signature): reject.
    Invalid,
}

/// Why an entry was refused; `reason()` is safe to log at debug.
#[derive(Debug)]
pub enum Rejection {
    Malformed(String),
    UntrustedAuthority(String),
    UntrustedKey(String),
    BadSignature,
    BrokenChain(String),
    /// The authority signed two entries for one seq; the proof is stored.
    Equivocation(Evidence),
    InvalidDocument(String),
}

impl Rejection {
    pub fn reason(&self) -> String {
        match self {
            Rejection::Malformed(m) => format!("malformed: {m}"),
            Rejection::UntrustedAuthority(a) => format!("untrusted authority {a}"),
            Rejection::UntrustedKey(k) => format!("key {k} not trusted at the entry's time"),
            Rejection::BadSignature => "bad signature".into(),
            Rejection::BrokenChain(m) => format!("broken chain: {m}"),
            Rejection::Equivocation(e) => {
                format!("equivocation by {} at seq {}", e.authority, e.seq)
            }
            Rejection::InvalidDocument(m) => format!("invalid document: {m}"),
        }
    }

    /// A short stable label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::UntrustedAuthority(_) => "untrusted_authority",
            Rejection::UntrustedKey(_) => "untrusted_key",
            Rejection::BadSignature => "bad_signature",
            Rejection::BrokenChain(_) => "broken_chain",
            Rejection::Equivocation(_) => "equivocation",
            Rejection::InvalidDocument(_) => "invalid_document",
        }
    }
}

/// A range whose signatures were checked (see [`Verifier::preverify`]):
/// the entries up to the first failure, and that failure.
#[derive(Debug)]
pub struct Preverified {
    entries: Vec<(SignedEntry, Entry)>,
    failure: Option<Rejection>,
}

impl Preverified {
    /// Entries that passed (the failure, if any, comes after them).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// An entry whose signature holds and whose place in the chain is next.
struct ChainedEntry(VerifiedEntry);

impl Verifier {
    /// Validates one entry from a peer and stores it if it is next in its log.
    pub fn ingest(&self, bytes: &[u8]) -> Result<IngestOutcome, StoreError> {
        let _w = self.lock();
        self.ingest_locked(bytes)
    }

    /// Ingests consecutive entries (a sync `Range` answer), stopping at the
    /// first that is not accepted: [`Verifier::preverify`] then
    /// [`Verifier::commit`].
    pub fn ingest_many(
        &self,
        entries: &[impl AsRef<[u8]>],
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        self.commit(self.preverify(entries))
    }

    /// The stateless half of ingesting a range, run without the write lock
    /// so that a caller can check the next range's signatures on one core
    /// while the previous range is committed on the other: decodes, finds
    /// each signer's trusted key, and batch-verifies the signatures (strict
    /// for keys that passed the weak-key check when trusted). Stops at the
    /// first entry that fails.
    pub fn preverify(&self, entries: &[impl AsRef<[u8]>]) -> Preverified {
        let mut opened = Vec::with_capacity(entries.len());
        let mut failure = None;
        for bytes in entries {
            match self.open(bytes.as_ref()) {
                Ok(t) => opened.push(t),
                Err(r) => {
                    failure = Some(r);
                    break;
                }
            }
        }
        let pairs: Vec<_> = opened.iter().map(|(s, _, k)| (s, k)).collect();
        if !tally_model::verify_batch(&pairs) {
            // Find the first bad one; everything before it stands.
            let bad = opened
                .iter()
                .position(|(s, _, k)| s.verify_with(k).is_err())
                .unwrap_or(opened.len());
            if bad < opened.len() {
                opened.truncate(bad);
                failure = Some(Rejection::BadSignature);
            }
        }
        Preverified {
            entries: opened.into_iter().map(|(s, e, _)| (s, e)).collect(),
            failure,
        }
    }

    /// The stateful half, under the write lock: places each pre-verified
    /// entry in its chain, checks its document, and appends every accepted
    /// entry in one durable commit.
    pub fn commit(&self, p: Preverified) -> Result<Vec<IngestOutcome>, StoreError> {
        let _w = self.lock();
        let mut outcomes = Vec::with_capacity(p.entries.len() + 1);
        let mut ready: Vec<VerifiedEntry> = Vec::new();
        let mut pending_heads: std::collections::HashMap<
            tally_model::AuthorityId,
            (u64, EntryHash),
        > = Default::default();
        for (signed, entry) in p.entries {
            let head = match pending_heads.get(&entry.authority) {
                Some(h) => Some(*h),
                None => self.store().head(&entry.authority)?,
            };
            let hash = signed.id();
            let held = match head {
                Some((h, _)) if entry.seq <= h => self.held_hash(&entry, &ready)?,
                _ => None,
            };
            match chain_step(head, held, entry.seq, entry.prev, hash) {
                ChainStep::Next => {}
                ChainStep::Duplicate => {
                    outcomes.push(IngestOutcome::Duplicate);
                    continue;
                }
                other => {
                    self.store().append_batch(&ready)?;
                    outcomes.push(self.step_outcome(other, signed, &entry)?);
                    return Ok(outcomes);
                }
            }
            let verified = VerifiedEntry::trusted(signed, entry);
            if let Err(r) = self.check_document(&verified, &ready) {
                self.store().append_batch(&ready)?;
                outcomes.push(IngestOutcome::Rejected(r));
                return Ok(outcomes);
            }
            pending_heads.insert(
                verified.entry().authority.clone(),
                (verified.entry().seq, hash),
            );
            outcomes.push(IngestOutcome::Accepted(EntryPointer {
                seq: verified.entry().seq,
                hash,
            }));
            ready.push(verified);
        }
        self.store().append_batch(&ready)?;
        if let Some(r) = p.failure {
            outcomes.push(IngestOutcome::Rejected(r));
        }
        Ok(outcomes)
    }

    fn held_hash(
        &self,
        entry: &Entry,
        ready: &[VerifiedEntry],
    ) -> Result<Option<EntryHash>, StoreError> {
        if let Some(v) = ready
            .iter()
            .find(|v| v.entry().authority == entry.authority && v.entry().seq == entry.seq)
        {
            return Ok(Some(v.id()));
        }
        Ok(self
            .store()
            .entry_at(&entry.authority, entry.seq)?
            .map(|s| s.id()))
    }

    /// Decodes, finds the trusted key for the signer at the entry's time.
    fn open(
        &self,
        bytes: &[u8],
    ) -> Result<(SignedEntry, Entry, ed25519_dalek::VerifyingKey), Rejection> {
        let signed = SignedEntry::decode(bytes).map_err(|e| Rejection::Malformed(e.to_string()))?;
        let entry = signed
            .open()
            .map_err(|e| Rejection::Malformed(e.to_string()))?;
        if !self.is_trusted_authority(&entry.authority) {
            return Err(Rejection::UntrustedAuthority(entry.authority.to_string()));
        }
        let key = self
            .trusted_key(&entry.authority, signed.key_id(), entry.issued_at_ms)
            .ok_or_else(|| Rejection::UntrustedKey(hex::encode(&signed.key_id()[..8])))?;
        Ok((signed, entry, key))
    }

    fn ingest_locked(&self, bytes: &[u8]) -> Result<IngestOutcome, StoreError> {
        let (signed, entry, key) = match self.open(bytes) {
            Ok(t) => t,
            Err(r) => return Ok(IngestOutcome::Rejected(r)),
        };
        if signed.verify_with(&key).is_err() {
            return Ok(IngestOutcome::Rejected(Rejection::BadSignature));
        }
        let chained = match self.chain(signed, entry)? {
            Ok(c) => c,
            Err(outcome) => return Ok(outcome),
        };
        if let Err(r) = self.check_document(&chained.0, &[]) {
            return Ok(IngestOutcome::Rejected(r));
        }
        let v = chained.0;
        self.store().append(&v)?;
        Ok(IngestOutcome::Accepted(EntryPointer {
            seq: v.entry().seq,
            hash: v.id(),
        }))
    }

    /// Places a verified entry in its chain.
    fn chain(
        &self,
        signed: SignedEntry,
        entry: Entry,
    ) -> Result<Result<ChainedEntry, IngestOutcome>, StoreError> {
        let head = self.store().head(&entry.authority)?;
        let held = match head {
            Some((h, _)) if entry.seq <= h => self.held_hash(&entry, &[])?,
            _ => None,
        };
        let step = chain_step(head, held, entry.seq, entry.prev, signed.id());
        if step == ChainStep::Next {
            return Ok(Ok(ChainedEntry(VerifiedEntry::trusted(signed, entry))));
        }
        Ok(Err(self.step_outcome(step, signed, &entry)?))
    }

    fn step_outcome(
        &self,
        step: ChainStep,
        signed: SignedEntry,
        entry: &Entry,
    ) -> Result<IngestOutcome, StoreError> {
        Ok(match step {
            ChainStep::Next => {
                IngestOutcome::Rejected(Rejection::BrokenChain("internal: next".into()))
            }
            ChainStep::Duplicate => IngestOutcome::Duplicate,
            ChainStep::Gap { have } => IngestOutcome::Gap {
                authority: entry.authority.clone(),
                have,
                seq: entry.seq,
            },
            ChainStep::BrokenLink => IngestOutcome::Rejected(Rejection::BrokenChain(format!(
                "seq {} does not link to the held log",
                entry.seq
            ))),
            ChainStep::Equivocation { .. } => {
                let held = self
                    .store()
                    .entry_at(&entry.authority, entry.seq)?
                    .ok_or_else(|| StoreError::Corrupt {
                        key: format!("{}/{}", entry.authority, entry.seq),
                        reason: "equivocation without the held entry".into(),
                    })?;
                let evidence = Evidence {
                    authority: entry.authority.clone(),
                    seq: entry.seq,
                    entries: [held.encode(), signed.encode()],
                };
                self.store().put_evidence(&evidence)?;
                self.inner
                    .publish
                    .evidence(tally_model::encode_proof(&held, &signed));
                IngestOutcome::Rejected(Rejection::Equivocation(evidence))
            }
        })
    }

    /// Checks an equivocation proof received from a peer and stores it.
    pub fn ingest_proof(&self, bytes: &[u8]) -> Result<ProofOutcome, StoreError> {
        let Ok((a, b)) = tally_model::decode_proof(bytes) else {
            return Ok(ProofOutcome::Invalid);
        };
        let (Ok(ea), Ok(eb)) = (a.open(), b.open()) else {
            return Ok(ProofOutcome::Invalid);
        };
        if ea.authority != eb.authority || ea.seq != eb.seq || a.id() == b.id() {
            return Ok(ProofOutcome::Invalid);
        }
        if !self.is_trusted_authority(&ea.authority) {
            return Ok(ProofOutcome::NotTrusted);
        }
        for (s, e) in [(&a, &ea), (&b, &eb)] {
            match self.trusted_key(&e.authority, s.key_id(), e.issued_at_ms) {
                Some(k) if s.verify_with(&k).is_ok() => {}
                Some(_) => return Ok(ProofOutcome::Invalid),
                None => return Ok(ProofOutcome::NotTrusted),
            }
        }
        let _w = self.lock();
        let known = self
            .store()
            .evidence()?
            .iter()
            .any(|e| e.authority == ea.authority && e.seq == ea.seq);
        if known {
            return Ok(ProofOutcome::Known);
        }
        self.store().put_evidence(&Evidence {
            authority: ea.authority.clone(),
            seq: ea.seq,
            entries: [a.encode(), b.encode()],
        })?;
        Ok(ProofOutcome::New)
    }

    /// The rules a document must keep to be appended to its issuer's log;
    /// the same as the API enforces, so a peer cannot plant what it refuses.
    fn check_document(&self, v: &VerifiedEntry, batch: &[VerifiedEntry]) -> Result<(), Rejection> {
        let entry = v.entry();
        let country = entry.authority.country();
        let doc = match &entry.body {
            Body::Document(d) => d,
            Body::Sealed(_) => return Ok(()),
        };
        let bad = |m: String| Err(Rejection::InvalidDocument(m));
        let current = |number: &str| -> Result<Option<(License, Status, u32)>, Rejection> {
            // An earlier entry of the same batch may have changed it.
            let mut state = self
                .store()
                .license(&entry.authority, number)
                .map_err(|e| Rejection::Malformed(e.to_string()))?
                .map(|s| (s.document, s.status, s.version));
            for p in batch
                .iter()
                .filter(|p| p.entry().authority == entry.authority)
            {
                match p.entry().document() {
                    Some(Document::License(l)) if l.number() == number => {
                        state = Some((l.clone(), Status::Active, 1))
                    }
                    Some(Document::Amendment { version, license })
                        if license.number() == number =>
                    {
                        if let Some(s) = state.as_mut() {
                            s.0 = license.clone();
                            s.2 = *version;
                        }
                    }
                    Some(Document::StatusChange(c)) if c.number == number => {
                        if let Some(s) = state.as_mut() {
                            s.1 = c.status;
                        }
                    }
                    _ => {}
                }
            }
            Ok(state)
        };
        match doc {
            Document::License(l) => {
                validate_license(l, country).or_else(|e| bad(e.0))?;
                if current(l.number())?.is_some() {
                    return bad(format!("number {} already used", l.number()));
                }
            }
            Document::Amendment { version, license } => {
                validate_license(license, country).or_else(|e| bad(e.0))?;
                let Some((old, status, old_version)) = current(license.number())? else {
                    return bad(format!("amends unknown {}", license.number()));
                };
                if status == Status::Revoked {
                    return bad("amends a revoked license".into());
                }
                if *version != old_version + 1 {
                    return bad(format!("version {version} does not follow {old_version}"));
                }
                validate_amendment(&old, license).or_else(|e| bad(e.0))?;
            }
            Document::StatusChange(c) => {
                let Some((_, status, _)) = current(&c.number)? else {
                    return bad(format!("status of unknown {}", c.number));
                };
                if status == Status::Revoked {
                    return bad("revoked is final".into());
                }
            }
            Document::Shipment(s) => {
                if s.checkpoint.country != country.as_str() {
                    return bad(format!(
                        "a shipment at {} recorded by an authority of {country}",
                        s.checkpoint.country
                    ));
                }
                if s.date.parse::<tally_model::Date>().is_err() {
                    return bad(format!("date {:?}", s.date));
                }
                if s.items
                    .iter()
                    .any(|l| l.quantity > tally_model::validate::MAX_QUANTITY)
                {
                    return bad("a shipment line above the largest quantity".into());
                }
            }
            Document::KeyRotation(k) => {
                let ok = tally_model::trust::parse_key(&k.new_key).is_some_and(|k| !k.is_weak());
                if !ok {
                    return bad("rotation to a malformed or weak key".into());
                }
            }
        }
        Ok(())
    }
}
