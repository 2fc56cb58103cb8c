//! Opening above the store: the second step of taking an entry in (after
//! its durable chain append, docs/PROTOCOL.md section 5), done here because
//! the keys are here. Each sealed entry addressed to this node is opened
//! with the issuer's keys as the transaction sees them (a rotation earlier
//! in the same batch counts), and the store is handed what it came to
//! ([`tally_store::Tx::apply`]); the store never calls back to open.
//!
//! Every path that applies goes through [`Applier`]: gossip (applied right
//! after its Accept), sync batches (opened ahead on the other core, see
//! `ingest.rs`), the node's own issues, what a stop left behind, and every
//! rebuild (reindex, key compromise declarations, schema upgrades).

use crate::Verifier;
use crate::sealing::SealOpener;
use tally_model::{AuthorityId, Body, Entry, KeyCompromise, SignedEntry};
use tally_store::{AnnouncedKey, ApplyStep, Opening, Progress, ReindexReport, Result, Tx};

/// Applies entries past their log's applied mark, opening the sealed ones
/// with this node's keys (none: every sealed entry reads as not addressed
/// here, as on a bystander).
#[derive(Clone)]
pub struct Applier {
    pub(crate) opener: Option<SealOpener>,
}

impl Applier {
    /// An applier that opens with `opener` (tools that hold the node's keys
    /// without running it: `tally reindex`).
    pub fn new(opener: Option<SealOpener>) -> Applier {
        Applier { opener }
    }

    /// What opening `entry` comes to, when it is sealed and this node has
    /// keys; the issuer's announced keys are read through `tx`.
    pub fn opening(&self, tx: &Tx, entry: &Entry) -> Result<Option<Opening>> {
        match (&self.opener, &entry.body) {
            (Some(opener), Body::Sealed(_)) => {
                let announced = announcements(opener, tx, entry)?;
                Ok(Some(opener.open(entry, &announced)))
            }
            _ => Ok(None),
        }
    }

    /// What a document opened ahead of its batch's commit (with the
    /// announcements committed before the batch) comes to as `tx` sees the
    /// log: the same, unless an announcement applied since (earlier in the
    /// batch, or gossip's) pushed the key that opened it out of the newest
    /// the protocol tries (docs/PROTOCOL.md 6.7); then it is opened again.
    pub fn confirm(&self, tx: &Tx, entry: &Entry, ahead: Opening) -> Result<Option<Opening>> {
        let (Some(opener), Opening::Document { readers, .. }) = (&self.opener, &ahead) else {
            return self.opening(tx, entry);
        };
        if !opener.reads_announcements(entry) {
            return Ok(Some(ahead));
        }
        let announced = announcements(opener, tx, entry)?;
        let opened_with = readers.first().map(|r| r.encryption_key.as_str());
        if opened_with.is_some_and(|key| opener.tries(entry, &announced, key)) {
            Ok(Some(ahead))
        } else {
            Ok(Some(opener.open(entry, &announced)))
        }
    }

    /// What this node's own new `entry` comes to: when it sealed it,
    /// `payload` (what it sealed, with the key it sealed with listed first)
    /// is judged as an opened payload is, without decrypting it again;
    /// otherwise as [`Applier::opening`] says.
    pub fn own_opening(
        &self,
        tx: &Tx,
        entry: &Entry,
        payload: Option<tally_model::SealedPayload>,
    ) -> Result<Option<Opening>> {
        let sealed_with = payload
            .as_ref()
            .and_then(|p| p.recipients.first())
            .map(|r| r.encryption_key);
        match (&self.opener, payload, sealed_with) {
            (Some(opener), Some(payload), Some(key)) => {
                Ok(Some(opener.opened(entry, payload, &key)))
            }
            _ => self.opening(tx, entry),
        }
    }

    /// Applies `authority`'s entries past its applied mark, in seq order;
    /// returns how many.
    pub fn apply_behind(&self, tx: &mut Tx, authority: &AuthorityId) -> Result<u64> {
        let mut applied = 0;
        while let Some((signed, entry)) = tx.next_behind(authority)? {
            self.apply(tx, &signed, &entry)?;
            applied += 1;
        }
        Ok(applied)
    }
}

/// The announcements of `entry`'s issuer that opening it needs, as `tx`
/// sees them: the newest that count, valid at its time.
fn announcements(opener: &SealOpener, tx: &Tx, entry: &Entry) -> Result<Vec<AnnouncedKey>> {
    if !opener.reads_announcements(entry) {
        return Ok(Vec::new());
    }
    tx.issuer_announcements(
        &entry.authority,
        Some(entry.issued_at_ms),
        tally_model::issuer_keys::MAX_ISSUER_KEYS,
    )
}

impl ApplyStep for Applier {
    fn apply(&self, tx: &mut Tx, signed: &SignedEntry, entry: &Entry) -> Result<()> {
        let opening = self.opening(tx, entry)?;
        tx.apply(signed, entry, opening)
    }
}

impl Verifier {
    /// Re-judges `delivery.overdue` of the licenses whose exits fell due
    /// since the last pass (the date moves, no entry does); returns how many
    /// (see [`tally_store::Store::judge_overdue`]).
    pub fn judge_overdue(&self) -> Result<usize> {
        self.inner.store.judge_overdue()
    }

    /// Rebuilds every derived record from the logs, opening what is sealed
    /// to this node (see [`tally_store::Store::reindex_with`]).
    pub fn reindex(&self, progress: &mut dyn FnMut(Progress)) -> Result<ReindexReport> {
        self.inner.store.reindex_with(&self.applier(), progress)
    }

    /// Puts `compromises` in force; when they changed, rebuilds the derived
    /// records, opening what is sealed to this node (see
    /// [`tally_store::Store::apply_compromised`]).
    pub fn apply_compromised(
        &self,
        compromises: Vec<KeyCompromise>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Option<ReindexReport>> {
        self.inner
            .store
            .apply_compromised(compromises, &self.applier(), progress)
    }
}

/// What a start settles before the node serves, with `applier` opening what
/// is sealed to this node: a rebuild a stop interrupted finished (first: what
/// a start reads next must not be half-built), `compromises` put in force
/// (rebuilding when they changed), then the entries a stop left behind their
/// chain append applied. Returns the report of a rebuild, when one ran.
pub fn settle(
    store: &tally_store::Store,
    applier: &Applier,
    compromises: Vec<KeyCompromise>,
    progress: &mut dyn FnMut(Progress),
) -> Result<Option<ReindexReport>> {
    let mut report = None;
    if store.rebuild_pending()? {
        report = Some(store.reindex_with(applier, progress)?);
    }
    if let Some(r) = store.apply_compromised(compromises, applier, progress)? {
        report = Some(r);
    }
    if store.damaged().is_some() {
        return Ok(report);
    }
    let mut applied = 0;
    for (authority, head, _) in store.heads()? {
        if store.applied_through(&authority)? < head {
            applied += store.transaction(|tx| applier.apply_behind(tx, &authority))?;
        }
    }
    if applied > 0 {
        tracing::info!(
            entries = applied,
            "applied entries a stop left behind their chain append"
        );
    }
    Ok(report)
}
