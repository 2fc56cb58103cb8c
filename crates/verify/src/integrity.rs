//! The integrity door: what the checks of a store's soundness may do to it
//! (`tally verify-store` on a stopped node, the running node's background
//! check): walk every log's chain, read every record, and mark the store
//! damaged or checked, which is what health then reports. Nothing else of
//! the store is reachable through it.

use crate::Verifier;
use tally_model::SignedEntry;
use tally_store::{ChainReport, Progress, Store};

/// The checks of one store's soundness, handed out by
/// [`Verifier::integrity`].
pub struct Integrity {
    store: Store,
}

impl Verifier {
    /// The door the integrity checks go through.
    pub fn integrity(&self) -> Integrity {
        Integrity {
            store: self.inner.store.clone(),
        }
    }
}

impl Integrity {
    /// What a check found wrong with the store, once one found something.
    pub fn damaged(&self) -> Option<String> {
        self.store.damaged()
    }

    /// Every log's chain walked, `judge` deciding on each entry's signature
    /// (see [`Store::check_chains`]).
    pub fn check_chains(
        &self,
        judge: &mut dyn FnMut(&SignedEntry) -> Option<String>,
        progress: &mut dyn FnMut(Progress),
    ) -> ChainReport {
        self.store.check_chains(judge, progress)
    }

    /// [`Integrity::check_chains`], stopping as soon as `stop` says so (see
    /// [`Store::check_chains_until`]).
    pub fn check_chains_until(
        &self,
        judge: &mut dyn FnMut(&SignedEntry) -> Option<String>,
        progress: &mut dyn FnMut(Progress),
        stop: &dyn Fn() -> bool,
    ) -> ChainReport {
        self.store.check_chains_until(judge, progress, stop)
    }

    /// Every record read through the engine from one snapshot; what failed,
    /// if anything (see [`Store::read_every_record_until`]).
    pub fn read_every_record_until(
        &self,
        progress: &mut dyn FnMut(u64),
        stop: &dyn Fn() -> bool,
    ) -> Option<String> {
        self.store.read_every_record_until(progress, stop)
    }

    /// Marks the store damaged: it refuses every write from then on, and
    /// health says `what`.
    pub fn mark_damaged(&self, what: impl Into<String>) {
        self.store.set_damaged(what);
    }

    /// Records that a background check went to the end and found nothing.
    pub fn mark_checked(&self) {
        self.store.set_checked();
    }
}
