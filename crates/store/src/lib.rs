//! Tally's storage: the only crate that names a storage engine.
//!
//! Layout:
//! - [`engine`]: the narrow ordered key-value trait (get, range scans, one
//!   atomic durable batch) and [`EngineKind`], the config switch.
//! - [`sled`] and [`redb`]: the two engines behind it.
//! - [`keys`]: the key layout of the one keyspace (prefixes, order-preserving
//!   encoding of strings and numbers) and the schema version.
//! - [`opener`]: [`Opening`], what the store is handed about a sealed entry
//!   (opened above it), and [`SealedReader`], how it reads one back.
//! - [`state`]: the typed values kept besides the logs.
//! - [`tx`]: [`Tx`], the staged transaction: reads see its own writes; the
//!   typed writes (append an entry, keep evidence) happen inside one.
//! - `derive`: applying one entry to the derived records (the second,
//!   idempotent step after the chain append), shared by append and reindex.
//! - `record`: the bytes of a license record (protobuf; older stores' JSON
//!   still read).
//! - `judge`: alerts that join logs (off route, discrepancy, after
//!   revocation, import withdrawn, delivery overdue, serial repeat),
//!   re-judged per license from the set held (and today's date).
//! - [`clock`]: [`AlertClock`], today's date and `delivery_days`.
//! - [`store`]: [`Store`], the typed operations: transactions, log reads,
//!   derived reads (route-filtered tallies, alerts), evidence, reindex.
//! - [`error`]: the one error enum, [`StoreError`].
//!
//! An entry is acknowledged when the [`Store::transaction`] that appended it
//! returns `Ok`: it is then committed with everything derived from it, as
//! durably as the engine promises (see [`EngineKind`]).

pub mod clock;
mod compromise;
mod derive;
mod doubts;
pub mod engine;
pub mod error;
pub mod integrity;
mod judge;
pub mod keys;
pub mod opener;
mod record;
pub mod redb;
pub mod sled;
pub mod state;
pub mod store;
pub mod tx;

pub use clock::{AlertClock, DEFAULT_DELIVERY_DAYS};
pub use engine::{EngineKind, UnknownEngine};
pub use error::{Result, StoreError};
pub use integrity::{ChainReport, check_engine};
pub use opener::{Doubt, Opening, SealedReader};
pub use state::{
    Alert, AnnouncedKey, EntryPointer, Evidence, LicenseEvent, LicenseState, RotatedKey,
    SerialIndexRow, SerialUse, ShipmentRow, TallyRow,
};
pub use store::{ApplyStep, DerivedDigest, Keyless, Progress, ReindexReport, Store};
pub use tx::Tx;

/// A license read where an unreadable sealed document counts as absent.
pub(crate) fn readable(
    read: error::Result<Option<state::LicenseState>>,
) -> error::Result<Option<state::LicenseState>> {
    match read {
        Err(error::StoreError::Unreadable { .. }) => Ok(None),
        other => other,
    }
}
