//! Paper seals (docs/PROTOCOL.md 14): what a node prints on a
//! license, import certificate or transit authorization so that a phone
//! at a border post verifies it with no network.
//!
//! The established stack, each step its own module:
//! - [`summary`]: what the seal says of the document, a subset of the
//!   printed page (never its value, conditions, readers or log entry), and
//!   `summary_cbor`, its CBOR map with integer keys;
//! - [`seal`]: the summary in CWT claims (`iss`, `iat`, `exp`, `cti`),
//!   signed as a COSE_Sign1 (Ed25519, alg -19) by the authority's paper key
//!   through the same [`tally_model::signer::Signer`] as its log key,
//!   compressed with zlib and written in Base45 after `TLY1:`; read back
//!   and judged genuine, altered or untrusted;
//! - [`annex`]: annex pages, for the serials of a line too long for the
//!   main page: which lines go there, their parts, and each part's claim
//!   (sealed by [`seal::seal_annex`] under a `cti` of its own);
//! - [`bundle`]: what an offline verifier holds: the trusted paper keys and
//!   the status of every document, signed by the producing node;
//! - [`qr`]: the text as a QR code (alphanumeric, level Q, version 25 at
//!   most), drawn as SVG.

pub mod annex;
pub mod bundle;
pub mod qr;
pub mod seal;
pub mod summary;
mod summary_cbor;

pub use annex::{Annex, AnnexPart, annex_cti, annexed_lines, parts};
pub use bundle::{Bundle, BundleAuthority, BundleError, BundleKey, BundleStatus};
pub use qr::{Qr, QrError, qr};
pub use seal::{
    Genuine, NotASeal, PaperKey, Read, SealError, Sealed, Times, read, seal, seal_annex,
};
pub use summary::{SealLine, SealParty, Summary, SummaryError};
