//! Tally's storage: the only crate that names a storage engine.
//!
//! Layout, from the bottom up (a module imports only from those above it
//! in this list; the engine factory and its two engines are the one circle):
//! - [`engine`]: the narrow ordered key-value trait (get, range scans, one
//!   atomic durable batch) and [`EngineKind`], the config switch; [`sled`]
//!   and [`redb`]: the two engines behind it.
//! - [`error`]: the one error enum, [`StoreError`].
//! - [`keys`]: the key layout of the one keyspace (prefixes, order-preserving
//!   encoding of strings and numbers) and the schema version.
//! - `codec`: the bytes of values (JSON records, heads, evidence).
//! - [`state`]: the typed values kept besides the logs; [`clock`]:
//!   [`AlertClock`], today's date and `delivery_days`.
//! - [`opener`]: [`Opening`], what the store is handed about a sealed entry
//!   (opened above it), and [`SealedReader`], how it reads one back.
//! - `view`: read access to one consistent state, shared by reads and
//!   transactions; `license` and `record`: a license as stored, read back
//!   with its document; `serial_rows`: the bytes of the two rows each
//!   recorded serial adds.
//! - [`tx`]: [`Tx`], the staged transaction: reads see its own writes;
//!   `flow_rows`: the rows statistics count, written through it.
//! - `compromise`, `doubts`, `judge`: what a declared key compromise, an
//!   unconfirmed recipient claim and the alerts that join logs (off route,
//!   discrepancy, after revocation, import withdrawn, delivery overdue,
//!   serial repeat) do to the derived records.
//! - `derive`: applying one entry to the derived records (the second,
//!   idempotent step after the chain append): [`Tx::append`], [`Tx::apply`];
//!   `derive_keys`: the rows of the keys a log announces.
//! - [`store`]: [`Store`], the handle: open, transactions, health; `logs`
//!   and `reads`: its reads of the logs and of the derived records;
//!   `snapshot`: [`Snapshot`], those reads at one instant, and nothing else;
//!   [`trace`]: every readable license line naming a serial;
//!   [`statistics`]: the flows, refusals and alerts of a period;
//!   `rebuild`: reindex and key compromises, with the caller's
//!   [`ApplyStep`]; [`integrity`]: the background check.
//!
//! An entry is acknowledged when the [`Store::transaction`] that appended it
//! returns `Ok`: it is then committed with everything derived from it, as
//! durably as the engine promises (see [`EngineKind`]).

pub mod clock;
mod codec;
mod compromise;
mod denials;
mod derive;
mod derive_keys;
mod doubts;
mod enduse;
pub mod engine;
pub mod error;
mod flow_rows;
pub mod integrity;
mod judge;
pub mod keys;
mod license;
mod logs;
pub mod opener;
mod reads;
mod rebuild;
mod record;
pub mod redb;
mod serial_rows;
pub mod sled;
mod snapshot;
pub mod state;
pub mod statistics;
pub mod store;
pub mod trace;
pub mod tx;
mod view;

pub use clock::{AlertClock, DEFAULT_DELIVERY_DAYS};
pub use engine::{EngineKind, UnknownEngine};
pub use error::{Result, StoreError};
pub use integrity::{ChainReport, check_engine};
pub use license::LicenseReads;
pub use opener::{Doubt, Opening, SealedReader};
pub use rebuild::{ApplyStep, DerivedDigest, Keyless, Progress, ReindexReport};
pub use snapshot::Snapshot;
pub use state::{
    Alert, AnnouncedKey, EntryPointer, Evidence, LicenseEvent, LicenseState, RotatedKey,
    SerialIndexRow, SerialUse, ShipmentRow, TallyRow,
};
pub use statistics::{Statistics, StatisticsQuery};
pub use store::{OpenOptions, Store};
pub use trace::{TraceCrossing, TraceDelivery, TraceRow};
pub use tx::Tx;
