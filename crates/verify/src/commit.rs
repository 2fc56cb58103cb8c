//! The stateful half of taking entries in ([`crate::Ingest::commit`]), under the
//! write lock, in one store transaction: each pre-verified entry is placed
//! in its chain (next, duplicate, gap, broken link, equivocation, a clone of
//! this node's own log) and appended, or refused with its reason. What a
//! peer may hear of (equivocation proofs) and what stops signing (a clone)
//! is handed to the transaction's commit hook ([`Tx::on_commit`]): it
//! happens only once the transaction committed, still under the write lock.

use crate::Verifier;
use crate::apply::Applier;
use crate::ingest::{IngestOutcome, Preverified, Rejection};
use std::collections::HashMap;
use tally_model::{
    AuthorityId, Body, ChainStep, Document, Entry, EntryHash, SignedEntry, VerifiedEntry,
    chain_step,
};
use tally_store::state::Evidence;
use tally_store::{Opening, RotatedKey, StoreError, Tx};

impl Verifier {
    /// A peer offered an entry of this node's own log at `seq` that this
    /// node did not write: signing stops until restart.
    fn stop_for_clone(&self, seq: u64) {
        let own = &self.inner.authority;
        let reason = format!(
            "log.cloned: a peer offered an entry of {own} at seq {seq} that this node \
             did not write (a copy of its signing key signs elsewhere)"
        );
        tracing::error!(authority = %own, seq, "{reason}; signing stopped until restart");
        self.stop_signing(reason);
    }

    /// [`crate::Ingest::commit`]; with `defer`, entries are appended to their
    /// chains only, and their logs noted as behind (gossip).
    pub(crate) fn commit_as(
        &self,
        p: Preverified,
        defer: bool,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let _w = self.lock();
        // What gossip appended and has not applied yet goes first: every
        // later step reads the derived state (rotations, compromises) and
        // applies in seq order.
        let behind = self.take_behind();
        let mut batch = Batch {
            verifier: self.clone(),
            applier: self.applier(),
            own: self.inner.authority.clone(),
            recovering: self.signing().state == crate::Signing::Recovering,
            defer,
            appended_at: HashMap::new(),
            rotations: HashMap::new(),
            deferred: Vec::new(),
            clone_seen: false,
        };
        let outcomes = self.inner.store.transaction(|tx| {
            for a in &behind {
                batch.applier.apply_behind(tx, a)?;
            }
            let mut outcomes = Vec::with_capacity(p.entries.len() + 1);
            for (v, opened) in p.entries.iter().zip(p.opened) {
                let outcome = batch.place(tx, v, opened)?;
                let go_on = matches!(
                    outcome,
                    IngestOutcome::Accepted(_) | IngestOutcome::Duplicate
                );
                outcomes.push(outcome);
                if !go_on {
                    return Ok::<_, StoreError>(outcomes);
                }
            }
            if let Some(r) = p.failure {
                outcomes.push(IngestOutcome::Rejected(r));
            }
            Ok(outcomes)
        });
        match outcomes {
            Ok(outcomes) => {
                self.put_behind(batch.deferred);
                Ok(outcomes)
            }
            Err(e) => {
                // Nothing was written: what was behind still is.
                self.put_behind(behind);
                Err(e)
            }
        }
    }
}

/// A log's head (seq, hash) and the entry it holds at one seq.
type Held = (Option<(u64, EntryHash)>, Option<SignedEntry>);

/// One commit's state, carried from entry to entry.
struct Batch {
    verifier: Verifier,
    applier: Applier,
    own: AuthorityId,
    recovering: bool,
    /// Append to the chain only (gossip): applied after the verdict.
    defer: bool,
    /// `issued_at` of what this batch appended, by (authority, seq): the
    /// next entry of a log compares its time with it without reading and
    /// decoding the entry it just wrote.
    appended_at: HashMap<(AuthorityId, u64), i64>,
    /// Each log's rotations, read once per batch; forgotten when the batch
    /// appends a rotation of that log or moves a compromised tail out of it.
    rotations: HashMap<AuthorityId, Vec<RotatedKey>>,
    /// Logs appended to but not applied (`defer`).
    deferred: Vec<AuthorityId>,
    /// Whether an entry of this node's own log that someone else signed
    /// was seen (signing stops once, after the commit).
    clone_seen: bool,
}

impl Batch {
    /// Places `v` in its chain: appends it, or says why not.
    fn place(
        &mut self,
        tx: &mut Tx,
        v: &VerifiedEntry,
        opened: Option<Opening>,
    ) -> Result<IngestOutcome, StoreError> {
        let entry = v.entry();
        let (head, held) = self.held(tx, v)?;
        let step = chain_step(
            head,
            held.as_ref().map(|s| s.id()),
            entry.seq,
            entry.prev,
            v.id(),
        );
        let foreign = entry.authority == self.own
            && !self.recovering
            && !matches!(step, ChainStep::Duplicate);
        if foreign {
            return self.clone_seen(tx, v, held.as_ref());
        }
        Ok(match step {
            ChainStep::Next => self.next(tx, v, head, opened)?,
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
                let held = held.ok_or_else(|| StoreError::Corrupt {
                    key: format!("{}/{}", entry.authority, entry.seq),
                    reason: "equivocation without the held entry".into(),
                })?;
                let evidence = self.keep_evidence(tx, &held, v)?;
                IngestOutcome::Rejected(Rejection::Equivocation(evidence))
            }
        })
    }

    /// The log's head and the entry held at `v`'s seq. A held entry past a
    /// declared key compromise does not stand against the authority's
    /// genuine continuation (signed by a trusted key: it passed
    /// `preverify`): the compromised tail leaves the log as evidence and
    /// this entry resumes it (or, further on, is a gap that pulls the
    /// genuine entries before).
    fn held(&mut self, tx: &mut Tx, v: &VerifiedEntry) -> Result<Held, StoreError> {
        let entry = v.entry();
        let read = |tx: &mut Tx| -> Result<_, StoreError> {
            let head = tx.head(&entry.authority)?;
            let held = match head {
                Some((h, _)) if entry.seq <= h => tx.entry_at(&entry.authority, entry.seq)?,
                _ => None,
            };
            Ok((head, held))
        };
        let (head, held) = read(tx)?;
        if entry.authority != self.own
            && held.as_ref().is_some_and(|h| h.id() != v.id())
            && let Some(from) = tx.displace_compromised_tail(&entry.authority, entry.seq)?
        {
            tracing::info!(
                authority = %entry.authority,
                from,
                seq = entry.seq,
                "the authority's genuine log replaces entries past a key compromise"
            );
            self.rotations.clear();
            return read(tx);
        }
        Ok((head, held))
    }

    /// An entry of this node's own log that it did not write: kept as
    /// evidence (with a proof when it holds another entry at that seq);
    /// signing stops after the commit.
    fn clone_seen(
        &mut self,
        tx: &mut Tx,
        v: &VerifiedEntry,
        held: Option<&SignedEntry>,
    ) -> Result<IngestOutcome, StoreError> {
        if let Some(held) = held {
            self.keep_evidence(tx, held, v)?;
        }
        tx.put_cloned(v.signed())?;
        let seq = v.entry().seq;
        if !self.clone_seen {
            self.clone_seen = true;
            // After the commit (the evidence is durable), still under the
            // write lock: nothing is signed after the clone was seen.
            let verifier = self.verifier.clone();
            tx.on_commit(move || verifier.stop_for_clone(seq));
        }
        Ok(IngestOutcome::Rejected(Rejection::LogCloned { seq }))
    }

    /// Keeps the two entries at one seq as evidence; a proof new to this
    /// node is published after the commit.
    fn keep_evidence(
        &mut self,
        tx: &mut Tx,
        held: &SignedEntry,
        v: &VerifiedEntry,
    ) -> Result<Evidence, StoreError> {
        let entry = v.entry();
        let evidence = Evidence {
            authority: entry.authority.clone(),
            seq: entry.seq,
            entries: [held.encode(), v.signed().encode()],
        };
        if tx.put_evidence(&evidence)? {
            // A peer must never hear of a proof this node could lose.
            let proof = tally_model::encode_proof(held, v.signed());
            let verifier = self.verifier.clone();
            tx.on_commit(move || verifier.inner.publish.evidence(proof));
        }
        Ok(evidence)
    }

    /// The next entry of its log: appended, unless it is dated before the
    /// entry it follows (time never goes backwards along a log, so a key's
    /// validity judged on `issued_at` cannot be bought by back-dating) or a
    /// rotation committed since it was pre-verified retired its signer.
    fn next(
        &mut self,
        tx: &mut Tx,
        v: &VerifiedEntry,
        head: Option<(u64, EntryHash)>,
        opened: Option<Opening>,
    ) -> Result<IngestOutcome, StoreError> {
        let entry = v.entry();
        if let Some((seq, _)) = head {
            let before = match self.appended_at.get(&(entry.authority.clone(), seq)) {
                Some(&at) => at,
                None => issued_at(tx, &entry.authority, seq)?,
            };
            if before > entry.issued_at_ms {
                return Ok(IngestOutcome::Rejected(Rejection::Time(format!(
                    "seq {} is dated before seq {seq}",
                    entry.seq
                ))));
            }
        }
        let rotations = match self.rotations.entry(entry.authority.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(tx.rotated_keys(&entry.authority)?)
            }
        };
        if retired_in(rotations, entry, v.signed().key_id()) {
            return Ok(IngestOutcome::Rejected(Rejection::UntrustedKey(format!(
                "{} (retired before seq {})",
                hex::encode(&v.signed().key_id()[..8]),
                entry.seq
            ))));
        }
        let pointer = if self.defer {
            self.deferred.push(entry.authority.clone());
            tx.append_chain(v)?
        } else {
            // Opened ahead when it opened there (confirmed against what the
            // log announced since); otherwise here, where a key this batch
            // announced counts.
            let opening = match opened {
                Some(o) => self.applier.confirm(tx, entry, o)?,
                None => self.applier.opening(tx, entry)?,
            };
            tx.append(v, opening)?
        };
        self.appended_at
            .insert((entry.authority.clone(), entry.seq), entry.issued_at_ms);
        if matches!(entry.body, Body::Document(Document::KeyRotation(_))) {
            self.rotations.remove(&entry.authority);
        }
        Ok(IngestOutcome::Accepted(pointer))
    }
}

/// `issued_at_ms` of the held entry `seq` of `authority`'s log.
fn issued_at(tx: &Tx, authority: &AuthorityId, seq: u64) -> Result<i64, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: format!("{authority}/{seq}"),
        reason,
    };
    let signed = tx
        .entry_at(authority, seq)?
        .ok_or_else(|| corrupt("the head entry is missing".into()))?;
    let entry = signed.open().map_err(|e| corrupt(e.to_string()))?;
    Ok(entry.issued_at_ms)
}

/// Whether one of `rotations` (of `entry`'s log) before it was signed by
/// `key_id` (which then signs nothing after it).
fn retired_in(rotations: &[RotatedKey], entry: &Entry, key_id: &[u8; 32]) -> bool {
    let signer = hex::encode(key_id);
    rotations
        .iter()
        .any(|r| r.entry.seq < entry.seq && r.signed_by.eq_ignore_ascii_case(&signer))
}
