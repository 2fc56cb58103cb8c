//! Tally's domain model: what an authority signs and how a log hangs together.
//!
//! No I/O lives here; every function is pure, so the rules can be tested in
//! isolation and reused by the store, the network and the verifier alike.
//!
//! Layout:
//! - [`id`]: authority ids (`CC-NAME`), ISO 3166-1 country codes, document numbers.
//! - [`date`]: calendar dates (`YYYY-MM-DD`, UTC) and the civil-day arithmetic they need.
//! - [`document`]: the documents as the JSON of docs/API.md.
//! - [`validate`]: the `invalid_document` rules, each fault collected at
//!   its JSON pointer ([`faults`]); [`amendment`]: the `invalid_amendment`
//!   rules.
//! - [`error`]: [`DecodeError`], why bytes are not an entry or a document.
//! - [`entry`]: `Entry`, `SignedEntry`, signing and verification over exact bytes.
//! - [`signature`]: the one Ed25519 verification rule (ZIP-215) and which keys may be trusted.
//! - [`scan`]: which signed bytes are well-formed protobuf, before they are decoded.
//! - [`wire`]: conversion between the model and the protobuf wire types
//!   (`wire_license`: the documents inside an entry).
//! - [`alert`]: alert kinds and their deterministic ids.
//! - [`linkage`]: how documents of different logs must fit together at
//!   issue (same party, category-and-unit coverage, import allocation).
//! - [`lifecycle`]: the structural rules of a log as one pure transition
//!   (number used once, revoked is final, versions, amendments).
//! - [`judgement`]: the rules that join documents of different logs into
//!   alerts (off route, after revocation, discrepancy, import withdrawn,
//!   delivery overdue), pure.
//! - [`provenance`]: who prepared and signed a document, and the rules of
//!   migrated records (`original_issue_date`, `shipped_before`).
//! - [`recipients`]: who may read a document (its party countries).
//! - [`route`]: which country may record a crossing in each direction.
//! - [`chain`]: the chain rule (next, duplicate, gap, equivocation, broken link).
//! - [`trust`]: cards and the trust list (which keys and peers this node accepts).
//! - [`x25519`]: the authorities' encryption keys; [`random`]: where
//!   sealing's randomness comes from.
//! - [`issuer_keys`]: which of an issuer's encryption keys a reader tries
//!   on a sealed entry (the 16 newest valid at its time, each key once).
//! - [`signer`]: the one signer every signature goes through, and the
//!   key-file signer.
//! - [`seal`]: sealed entries: encrypting a document to its recipients and
//!   opening it (X25519, HKDF-SHA256, (X)ChaCha20-Poly1305).

pub mod alert;
pub mod amendment;
pub mod att;
pub mod chain;
pub mod date;
pub mod denial;
pub mod document;
pub mod enduse;
pub mod entry;
pub mod error;
pub mod faults;
pub mod fields;
pub mod id;
pub mod issuer_keys;
pub mod judgement;
pub mod key_documents;
pub mod lifecycle;
pub mod linkage;
pub mod plan;
pub mod provenance;
pub mod random;
pub mod recipients;
pub mod route;
#[cfg(any(test, feature = "sample"))]
pub mod sample;
pub mod scan;
pub mod seal;
pub mod signature;
pub mod signer;
pub mod temporary;
pub mod trust;
pub mod validate;
mod wire;
mod wire_license;
pub mod x25519;

pub use alert::{AlertKind, alert_id, alert_subject};
pub use amendment::validate_amendment;
pub use chain::{ChainStep, chain_step};
pub use date::Date;
pub use document::{
    Category, Checkpoint, Decision, DeliveryLine, DeliveryVerification, Direction, Document,
    DocumentRef, EncryptionKey, EndUserCertificate, EnduseAnswer, EnduseRequest, EnduseVerdict,
    ExportLicense, ImportCertificate, Item, KeyRotation, License, LicenseKind, Money, PaperKey,
    Party, PlannedShipment, Recipient, SealedPayload, ShipmentLine, ShipmentRecord,
    ShipmentVerdict, Shipments, Status, StatusChange, Temporary, TemporaryPurpose,
    TransitAuthorization, TransportMode, Unit,
};
pub use entry::{
    AuthorityKey, Body, Entry, EntryHash, MAX_ENTRY_BYTES, MAX_STANZAS, OpenedEntry, Sealed,
    SignWithError, SignedEntry, Stanza, UnknownDocument, VerifiedEntry, VerifyError, verify_batch,
};
pub use error::DecodeError;
pub use id::{AuthorityId, Country, IdError};
pub use lifecycle::{Refusal, Standing, Transition};
pub use provenance::{Attribution, Person};
pub use route::{normalize_make, normalize_serial, on_route, same_make};
pub use seal::{
    EncryptionPublic, EncryptionSecret, Header, Opening, OsRandom, PairKeys, Random, SUITE,
    SealError, Unopenable, open, seal,
};
pub use trust::{Card, CardKey, KeyCompromise, TrustList};
pub use validate::{Invalid, validate_license};
pub use wire::{decode_proof, encode_proof};
