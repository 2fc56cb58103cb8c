//! Tally's storage: the only crate that names a storage engine.
//!
//! Layout:
//! - [`engine`]: the narrow ordered key-value trait (get, range scans, one
//!   atomic durable batch) and [`EngineKind`], the config switch.
//! - [`sled`] and [`redb`]: the two engines behind it.
//! - [`keys`]: the key layout of the one keyspace (prefixes, order-preserving
//!   encoding of strings and numbers) and the schema version.
//! - [`state`]: the typed values kept besides the logs.
//! - `derive`: what one entry changes in the derived records; a pure function
//!   shared by append and reindex.
//! - [`store`]: [`Store`], the typed operations: append (log record, head,
//!   hash index and derived records in one durable batch), log reads, derived
//!   reads, evidence, tokens, reindex.
//! - [`error`]: the one error enum, [`StoreError`].
//!
//! An entry is acknowledged when [`Store::append`] or [`Store::append_batch`]
//! returns `Ok`: it is then committed with everything derived from it, as
//! durably as the engine promises (see [`EngineKind`]).

mod derive;
pub mod engine;
pub mod error;
pub mod keys;
pub mod redb;
pub mod sled;
pub mod state;
pub mod store;

pub use engine::{EngineKind, UnknownEngine};
pub use error::{Result, StoreError};
pub use state::{
    EntryPointer, Evidence, LicenseEvent, LicenseState, RotatedKey, SerialUse, ShipmentRow,
    TallyRow, TokenRecord,
};
pub use store::{DerivedDigest, ReindexReport, Store};
