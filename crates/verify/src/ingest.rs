//! [`Ingest`]: entries from peers: decode -> trusted signer -> signature ->
//! chain -> store.
//!
//! Each step either passes the entry on or ends with an outcome; the store is
//! reached only at the end, so nothing unverified is stored or forwarded. The
//! typestate is `SignedEntry -> OpenedEntry -> VerifiedEntry`, and only
//! `tally-model`'s checked constructors mint a `VerifiedEntry`. Whether the
//! document is valid is not decided here: a node stores every entry whose
//! signature and chain hold (that is what nodes agree on), and the store
//! applies its document or keeps it as evidence (docs/ARCHITECTURE.md).

use crate::Verifier;
use std::collections::HashMap;
use tally_model::{AuthorityId, Body, Document, OpenedEntry, SignedEntry, VerifiedEntry};
use tally_store::Opening;
use tally_store::StoreError;
use tally_store::state::{EntryPointer, Evidence};
use tally_store::{AnnouncedKey, RotatedKey};

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
    /// Not stored: forged, malformed, untrusted, off the chain or a fork
    /// ([`Rejection::acceptance`] says which of these penalize the sender).
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
    /// `issued_at` before the previous entry's of the same log, or too far
    /// ahead of this node's clock (it may come again later).
    Time(String),
    /// An entry of this node's own authority that this node did not write
    /// (outside recovery): kept as evidence, `log.cloned` raised, signing
    /// stopped. Not the relay's fault.
    LogCloned {
        seq: u64,
    },
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
            Rejection::Time(m) => format!("time: {m}"),
            Rejection::LogCloned { seq } => {
                format!("an entry of this node's own log at seq {seq} that it did not write")
            }
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
            Rejection::Time(_) => "time",
            Rejection::LogCloned { .. } => "log_cloned",
        }
    }
}

/// How far ahead of this node's clock an entry's `issued_at` may be.
pub const MAX_CLOCK_AHEAD_MS: i64 = 5 * 60 * 1000;

/// A range whose signatures were checked (see [`crate::Ingest::preverify`]):
/// the entries up to the first failure, and that failure.
#[derive(Debug)]
pub struct Preverified {
    pub(crate) entries: Vec<VerifiedEntry>,
    /// Per entry: its sealed document, when this node could open it ahead
    /// ([`tally_store::Store::open_ahead`]).
    pub(crate) opened: Vec<Option<Opening>>,
    pub(crate) failure: Option<Rejection>,
}

impl Preverified {
    /// Entries that passed (the failure, if any, comes after them).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether every entry of the range passed.
    pub fn is_complete(&self) -> bool {
        self.failure.is_none()
    }

    /// Takes `next`, the range that follows this complete one, so that both
    /// commit in one transaction (one fsync). Refused (`next` handed back)
    /// when this range stopped at a failure: nothing may follow it.
    pub fn append(&mut self, next: Preverified) -> Result<(), Box<Preverified>> {
        if !self.is_complete() {
            return Err(Box::new(next));
        }
        self.entries.extend(next.entries);
        self.opened.extend(next.opened);
        self.failure = next.failure;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The key rotation `opened` announces, as the store will record it.
fn pending_rotation(
    (opened, _): &(OpenedEntry, ed25519_dalek::VerifyingKey),
) -> Option<(AuthorityId, RotatedKey)> {
    let entry = opened.entry();
    let Body::Document(Document::KeyRotation(r)) = &entry.body else {
        return None;
    };
    let rotated = RotatedKey {
        public_key: r.new_key.clone(),
        valid_from_ms: r.valid_from_ms,
        entry: EntryPointer {
            seq: entry.seq,
            hash: opened.signed().id(),
        },
        signed_by: hex::encode(opened.signed().key_id()),
        // A rotation to a weak key still retires its signer; the new key is
        // never trusted (the store records it the same way).
        compromised: tally_model::trust::parse_key(&r.new_key)
            .is_none_or(|k| tally_model::signature::key_weakness(k.as_bytes()).is_some()),
    };
    Some((entry.authority.clone(), rotated))
}

/// Entries from peers (docs/PROTOCOL.md): gossip one at a time, sync
/// ranges verified ahead (`preverify`) and committed under the write
/// lock (`commit`), equivocation proofs; each decoded, its signer and
/// signature checked, its place in the chain decided, then appended and
/// applied. Handed out by [`Verifier::ingest`].
pub struct Ingest {
    v: Verifier,
}

impl Verifier {
    /// The Ingest door (see [Ingest]).
    pub fn ingest(&self) -> Ingest {
        Ingest { v: self.clone() }
    }
}

impl Ingest {
    /// Gossip's door (docs/ARCHITECTURE.md, one flow for every entry): checks
    /// one entry and appends it to its chain, durably, without opening or
    /// applying it, so that the answer (the gossip verdict) takes the same
    /// time on a recipient of a sealed document as on a bystander. The
    /// caller reports the verdict, then calls [`crate::Ingest::apply_behind`];
    /// anything else that commits applies it first.
    pub fn gossip(&self, bytes: &[u8]) -> Result<IngestOutcome, StoreError> {
        let p = self.v.preverify_as(&[bytes], false)?;
        let mut outcomes = self.v.commit_as(p, true)?;
        Ok(outcomes.pop().unwrap_or(IngestOutcome::Duplicate))
    }

    /// Applies what [`crate::Ingest::gossip`] appended: opens sealed
    /// documents addressed here and derives the state, in one transaction.
    pub fn apply_behind(&self) -> Result<(), StoreError> {
        let _w = self.v.lock();
        let behind = self.v.take_behind();
        if behind.is_empty() {
            return Ok(());
        }
        let applier = self.v.applier();
        let done = self.v.inner.store.transaction(|tx| {
            for a in &behind {
                applier.apply_behind(tx, a)?;
            }
            Ok::<_, StoreError>(())
        });
        if done.is_err() {
            self.v.put_behind(behind);
        }
        done
    }

    /// Validates one entry from a peer and stores it if it is next in its log.
    pub fn entry(&self, bytes: &[u8]) -> Result<IngestOutcome, StoreError> {
        let mut outcomes = self.commit(self.preverify(&[bytes])?)?;
        Ok(outcomes.pop().unwrap_or(IngestOutcome::Duplicate))
    }

    /// Ingests consecutive entries (a sync `Range` answer), stopping at the
    /// first that is not accepted: [`crate::Ingest::preverify`] then
    /// [`crate::Ingest::commit`].
    pub fn many(&self, entries: &[impl AsRef<[u8]>]) -> Result<Vec<IngestOutcome>, StoreError> {
        self.commit(self.preverify(entries)?)
    }

    /// The stateless half of ingesting a range, run without the write lock
    /// so that a caller can check the next range's signatures on one core
    /// while the previous range is committed on the other: decodes, finds
    /// each signer's trusted key, and batch-verifies the signatures (strict
    /// for keys that passed the weak-key check when trusted). Stops at the
    /// first entry that fails. A store error is this node's fault, never the
    /// peer's: it is an `Err`, not a rejection.
    pub fn preverify(&self, entries: &[impl AsRef<[u8]>]) -> Result<Preverified, StoreError> {
        self.v.preverify_as(entries, true)
    }

    /// The stateful half, under the write lock, in one store transaction:
    /// places each pre-verified entry in its chain and appends it (the
    /// document is applied by the store, or kept as evidence if it breaks the
    /// structural rules: docs/ARCHITECTURE.md). Every accepted entry is
    /// durable when this returns.
    ///
    /// Entries of this node's own authority are taken only while it
    /// recovers its log (see [`crate::signing`]). Otherwise one that is not
    /// byte-identical to what this node holds at that seq (or lies beyond
    /// its head) was signed by someone else with its keys: it is kept as
    /// evidence (with an equivocation proof when this node holds another
    /// entry at that seq), `log.cloned` is raised, and signing stops.
    pub fn commit(&self, p: Preverified) -> Result<Vec<IngestOutcome>, StoreError> {
        self.v.commit_as(p, false)
    }

    /// Checks an equivocation proof received from a peer and stores it.
    pub fn proof(&self, bytes: &[u8]) -> Result<ProofOutcome, StoreError> {
        let Ok((a, b)) = tally_model::decode_proof(bytes) else {
            return Ok(ProofOutcome::Invalid);
        };
        let (Ok(ea), Ok(eb)) = (a.open(), b.open()) else {
            return Ok(ProofOutcome::Invalid);
        };
        if ea.authority != eb.authority || ea.seq != eb.seq || a.id() == b.id() {
            return Ok(ProofOutcome::Invalid);
        }
        if !self.v.is_trusted_authority(&ea.authority) {
            return Ok(ProofOutcome::NotTrusted);
        }
        for (s, e) in [(&a, &ea), (&b, &eb)] {
            match self
                .v
                .trusted_key(&e.authority, s.key_id(), e.issued_at_ms, e.seq)?
            {
                Some(k) if s.verify_with(&k).is_ok() => {}
                Some(_) => return Ok(ProofOutcome::Invalid),
                None => return Ok(ProofOutcome::NotTrusted),
            }
        }
        let _w = self.v.lock();
        let new = self.v.inner.store.put_evidence(&Evidence {
            authority: ea.authority.clone(),
            seq: ea.seq,
            entries: [a.encode(), b.encode()],
        })?;
        Ok(if new {
            ProofOutcome::New
        } else {
            ProofOutcome::Known
        })
    }
}

impl Verifier {
    pub(crate) fn take_behind(&self) -> Vec<AuthorityId> {
        let mut b = self.inner.behind.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *b).into_iter().collect()
    }

    pub(crate) fn put_behind(&self, logs: impl IntoIterator<Item = AuthorityId>) {
        self.inner
            .behind
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(logs);
    }

    /// [`crate::Ingest::preverify`]; `open` also opens the sealed documents
    /// addressed here (catch-up does; gossip opens nothing before its
    /// verdict).
    fn preverify_as(
        &self,
        entries: &[impl AsRef<[u8]>],
        open: bool,
    ) -> Result<Preverified, StoreError> {
        let mut opened = Vec::with_capacity(entries.len());
        let mut failure = None;
        // Rotations earlier in this range: the keys they announce sign the
        // entries after them (the range commits in order, and stops at the
        // first entry that does not go in).
        let mut rotations = Vec::new();
        for bytes in entries {
            match self.open(bytes.as_ref(), &rotations)? {
                Ok(t) => {
                    if let Some(r) = pending_rotation(&t) {
                        rotations.push(r);
                    }
                    opened.push(t)
                }
                Err(r) => {
                    failure = Some(r);
                    break;
                }
            }
        }
        let (entries, bad) = VerifiedEntry::verify_run(opened);
        if bad.is_some() {
            failure = Some(Rejection::BadSignature);
        }
        // The documents' stateless rules too, here beside the signatures
        // rather than in the one-thread commit stage.
        let entries: Vec<VerifiedEntry> = entries
            .into_iter()
            .map(VerifiedEntry::check_document)
            .collect();
        // And the sealed documents addressed to this node are opened here,
        // with the announcements committed before the range (the commit
        // stage confirms the key that opened is still one the protocol
        // tries, `Applier::confirm`).
        let mut announced = Announcements::default();
        let applier = self.applier();
        let mut opened = Vec::with_capacity(entries.len());
        for v in &entries {
            let e = v.entry();
            let Some(opener) = applier.opener.as_ref().filter(|_| open) else {
                opened.push(None);
                continue;
            };
            if !matches!(e.body, Body::Sealed(_)) {
                opened.push(None);
                continue;
            }
            let keys = if opener.reads_announcements(e) {
                announced.valid_at(&self.inner.store, &e.authority, e.issued_at_ms)?
            } else {
                Vec::new()
            };
            // Only a document that opened is kept: that outcome is the
            // payload's own, whichever keys are announced later; any other
            // may yet open with a key the same range announces, so the
            // commit stage tries again.
            opened.push(match opener.open(e, &keys) {
                o @ tally_store::Opening::Document { .. } => Some(o),
                _ => None,
            });
        }
        Ok(Preverified {
            entries,
            opened,
            failure,
        })
    }

    /// Decodes, finds the trusted key for the signer at the entry's time
    /// and seq (`pending`: rotations earlier in the same range).
    #[allow(clippy::type_complexity)]
    fn open(
        &self,
        bytes: &[u8],
        pending: &[(AuthorityId, RotatedKey)],
    ) -> Result<Result<(OpenedEntry, ed25519_dalek::VerifyingKey), Rejection>, StoreError> {
        let opened = match SignedEntry::decode(bytes).and_then(OpenedEntry::open) {
            Ok(o) => o,
            Err(e) => return Ok(Err(Rejection::Malformed(e.to_string()))),
        };
        let entry = opened.entry();
        if entry.issued_at_ms > self.now_ms().saturating_add(MAX_CLOCK_AHEAD_MS) {
            return Ok(Err(Rejection::Time(format!(
                "issued_at {} is more than 5 minutes ahead of this node's clock",
                entry.issued_at_ms
            ))));
        }
        if !self.is_trusted_authority(&entry.authority) {
            return Ok(Err(Rejection::UntrustedAuthority(
                entry.authority.to_string(),
            )));
        }
        let key_id = *opened.signed().key_id();
        let pending: Vec<RotatedKey> = pending
            .iter()
            .filter(|(a, _)| a == &entry.authority)
            .map(|(_, r)| r.clone())
            .collect();
        let signer = crate::keys::Signer {
            authority: &entry.authority,
            key_id: &key_id,
            at_ms: entry.issued_at_ms,
            seq: entry.seq,
        };
        let store = &self.inner.store;
        let rotations = || store.rotated_keys(&entry.authority);
        match self.trusted_signer(&signer, rotations, &pending)? {
            Some(key) => Ok(Ok((opened, key))),
            None => Ok(Err(Rejection::UntrustedKey(hex::encode(&key_id[..8])))),
        }
    }
}

/// The announcements a range's sealed entries are opened with, read from
/// the committed store: per issuer, its newest that count once, and again
/// at an entry's time only when one of those is newer than the entry
/// (then an older one may be among the newest valid at its time).
#[derive(Default)]
struct Announcements(HashMap<AuthorityId, Vec<AnnouncedKey>>);

impl Announcements {
    fn valid_at(
        &mut self,
        store: &tally_store::Store,
        authority: &AuthorityId,
        at_ms: i64,
    ) -> Result<Vec<AnnouncedKey>, StoreError> {
        let limit = tally_model::issuer_keys::MAX_ISSUER_KEYS;
        let newest = match self.0.entry(authority.clone()) {
            std::collections::hash_map::Entry::Occupied(k) => k.into_mut(),
            std::collections::hash_map::Entry::Vacant(k) => {
                k.insert(store.issuer_announcements(authority, None, limit)?)
            }
        };
        if newest.iter().all(|a| a.valid_from_ms <= at_ms) {
            return Ok(newest.clone());
        }
        store.issuer_announcements(authority, Some(at_ms), limit)
    }
}
