//! Tally's wire types, generated from `proto/tally/v1/*.proto`.
//!
//! Only `tally-model` (entries and documents) and `tally-p2p` (sync messages)
//! use these; prost types never cross `tally-model`'s public API.

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/tally.v1.rs"));
}

pub use prost::Message;
