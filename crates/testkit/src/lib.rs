//! Tally's test kit: the fixtures every test suite, the benchmarks and the
//! fuzz targets share, written once. A dev-only crate: no layered library
//! depends on it except as a dev dependency (the layer test enforces that).
//!
//! Layout:
//! - [`keys`]: fixed authority keys (`key(n)`), cards, trust lists.
//! - [`docs`]: sample documents as model types (export license, import
//!   certificate, transit authorization, amendment, status change, shipment
//!   record, key rotation), all dated from [`T0`].
//! - [`forge`]: signed bytes only a hostile writer makes (raw signatures,
//!   torsion in `R`).
//! - [`json`]: the same documents as the contract's JSON, dated from today,
//!   and the docs/API.md examples.
//! - [`log`]: [`Log`], one authority's log as its writer sees it: signs the
//!   next entry.
//! - [`rng`]: [`Rng`], a small deterministic generator.
//! - [`wait`]: [`wait_until`], the one way a test waits for a condition.
//!
//! The rule ids are not here: `tally_verify::rules::RULE_IDS` is their source.

pub mod docs;
pub mod forge;
pub mod json;
pub mod keys;
pub mod log;
pub mod rng;
#[cfg(feature = "wait")]
pub mod wait;

pub use docs::T0;
pub use keys::{card, key, trust_list};
pub use log::Log;
pub use rng::Rng;
#[cfg(feature = "wait")]
pub use wait::{TimedOut, wait_until};

/// The sample authorities: the exporter, the importer, the transit country.
pub const US: &str = "US-DDTC";
pub const MX: &str = "MX-SEDENA";
pub const GT: &str = "GT-DIGECAM";
