//! The doors into a node's store, and the shipment rules.
//!
//! Nothing reaches `tally-store` except through a [`Verifier`] (it hands
//! out no raw store handle; the node's start opens the store and gives it
//! away). The verifier holds what every door shares (the store, this
//! authority's keys, the trust list, the clock, the write lock) and hands
//! out one service per job, each in its own module:
//! - [`Verifier::ingest`] -> [`Ingest`] (`ingest.rs`, with `commit.rs`):
//!   an entry from a peer is decoded, its signer checked against the trust
//!   list, its signature verified, its place in the chain decided, and only
//!   then appended and applied (`gossip`, `entry`, `many`, `preverify` +
//!   `commit` for sync, `proof` for equivocation proofs).
//! - [`Verifier::issuer`] -> [`Issuer`] (`issue.rs`): a document of this
//!   node's authority is validated, signed, appended, then published
//!   (`issue`, `issue_as`, `amend`, `set_status`, the key rotations; each
//!   with a `try_` dry run that signs nothing); `existing.rs`: whether a
//!   document was issued already (`if_exists=skip`).
//! - [`Verifier::checker`] -> [`Checker`] (`check.rs`): the eleven rules of
//!   docs/API.md over one snapshot of the store; a rejection is a
//!   [`Verdict`], never an error. With `record`, the verdict becomes a
//!   signed shipment record in the local log.
//! - [`Verifier::reader`] -> [`Reader`] (`reader.rs`): every read the API
//!   and the node make, one snapshot per request.
//! - [`Verifier::integrity`] -> [`Integrity`] (`integrity.rs`): the store
//!   checks (walk the chains, read every record, mark damaged or checked).
//! - [`att_report`]: the ATT annual report drafted from a [`Reader`].
//! - [`paper`]: paper seals: a document's signed summary in a QR code, read
//!   back and judged genuine, altered or untrusted, and the trust bundle an
//!   offline verifier holds (pure: it touches no store).
//!
//! Layout besides:
//! - `builder`: [`VerifierBuilder`], everything a verifier is given, given
//!   before it exists (no setters after).
//! - [`keys`]: which key the node trusts for an authority at an instant.
//! - [`acceptance`]: what an outcome means for the peer that sent the entry.
//! - [`rules`]: the shipment rules as pure functions over [`rules::Facts`].
//! - [`apply`]: opening sealed entries above the store, and applying them.
//! - [`sealing`]: this node's encryption keys, sealing and opening.
//! - [`error`]: the error enum of the issuing operations.
//! - [`signing`]: whether the node may sign now (recovering, stopped).

pub mod acceptance;
pub mod apply;
pub mod att_report;
mod builder;
pub mod check;
mod commit;
mod enduse;
pub mod error;
mod existing;
pub mod ingest;
mod integrity;
pub mod issue;
mod issue_linkage;
pub mod keys;
pub mod own_keys;
pub mod paper;
mod reader;
pub mod rules;
pub mod sealing;
pub mod signing;
pub mod timezone;

pub use acceptance::{Acceptance, PeerVerdict, Penalty};
pub use builder::{IntoSigner, VerifierBuilder};
pub use check::{CheckRequest, Checked, Checker};
pub use error::IssueError;
pub use existing::Existing;
pub use ingest::{Ingest, IngestOutcome, Preverified, ProofOutcome, Rejection};
pub use integrity::Integrity;
pub use issue::{Issued, Issuer, Trial, Visibility};
pub use reader::{Reader, StoreHealth};
pub use rules::{Check, Verdict};
pub use signing::{Signing, SigningState};
/// The store's typed values travel through the verifier's answers.
pub use tally_store::{StoreError, state, statistics, trace};
pub use timezone::{TimeZone, UnknownTimeZone};

use std::sync::{Arc, Mutex, RwLock};
use tally_model::signer::Signer;
use tally_model::{AuthorityId, SignedEntry, TrustList};
use tally_store::Store;

/// Where the verifier sends what it signed or proved, so peers learn of it.
/// The node implements it over the p2p handle; it must not block.
pub trait Publish: Send + Sync + 'static {
    /// A new entry of the local log.
    fn entry(&self, signed: &SignedEntry);
    /// An encoded equivocation proof.
    fn evidence(&self, proof: Vec<u8>);
}

/// Publishes nowhere: for tools (`reindex`) and tests.
pub struct NoPublish;

impl Publish for NoPublish {
    fn entry(&self, _: &SignedEntry) {}
    fn evidence(&self, _: Vec<u8>) {}
}

/// The node's verifier: cheap to clone, shared by the API and the router.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    authority: AuthorityId,
    /// What signs with the current signing key (a key file's or a token's,
    /// see tally-custody); swapped by [`crate::Issuer::rotate_signing_key`].
    key: RwLock<Arc<dyn Signer>>,
    trust: Arc<RwLock<TrustList>>,
    publish: Box<dyn Publish>,
    /// Decompressed public keys of trusted signers, by key bytes.
    keys: RwLock<std::collections::HashMap<[u8; 32], ed25519_dalek::VerifyingKey>>,
    /// What "now" is: the system clock, or a fixed one in tests.
    clock: Box<dyn Clock>,
    /// Whose date "today" is (the node's `timezone`).
    timezone: TimeZone,
    /// One writer at a time: the head read, the signature and the append of
    /// an entry happen as one step, and a check followed by its record sees
    /// no other record slip in between (no double spend of a quantity).
    write: Mutex<()>,
    /// Whether this node signs now (see [`signing`]).
    signing: RwLock<SigningState>,
    /// Why the signer's token is away, since a signature or a check found
    /// it so and until one finds it back (see [`signing`]).
    signer_away: Mutex<Option<String>>,
    /// This node's encryption keys; unset: documents go out in clear and
    /// nothing sealed is read (tools, some tests).
    sealing: Option<Arc<sealing::Sealing>>,
    /// Logs whose newest entries gossip appended and acknowledged but has
    /// not applied yet ([`crate::Ingest::gossip`]); applied by
    /// [`crate::Ingest::apply_behind`], or first thing by the next commit.
    behind: Mutex<std::collections::BTreeSet<AuthorityId>>,
    /// `[issue] require_enduse_confirmation` (see `enduse`).
    enduse_required: RwLock<std::collections::BTreeSet<String>>,
}

impl Verifier {
    /// Milliseconds since the Unix epoch, by this verifier's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// Today's date in the node's `timezone`, by this verifier's clock.
    pub fn today(&self) -> tally_model::Date {
        self.inner.timezone.date_at(self.now_ms())
    }

    /// Whose date "today" is (the node's `timezone`).
    pub fn timezone(&self) -> &TimeZone {
        &self.inner.timezone
    }

    pub(crate) fn sealing(&self) -> Option<&Arc<sealing::Sealing>> {
        self.inner.sealing.as_ref()
    }

    /// The encryption key peers seal to, when this node has one.
    pub fn encryption_public(&self) -> Option<tally_model::seal::EncryptionPublic> {
        self.sealing().and_then(|s| s.public())
    }

    /// How this node applies entries: opening what is sealed to it with its
    /// keys first (see [`apply`]).
    pub fn applier(&self) -> apply::Applier {
        apply::Applier {
            opener: self.sealing().map(|sealing| sealing::SealOpener {
                sealing: sealing.clone(),
                trust: self.inner.trust.clone(),
                own: self.inner.authority.clone(),
            }),
        }
    }

    pub fn authority(&self) -> &AuthorityId {
        &self.inner.authority
    }

    /// Hex of this node's authority public key.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.own_public())
    }

    /// The current signing key's public half.
    pub(crate) fn own_public(&self) -> [u8; 32] {
        self.signer().public_key()
    }

    /// What signs with the current signing key, for as long as the caller
    /// holds it (a rotation swaps in another for later callers).
    pub(crate) fn signer(&self) -> Arc<dyn Signer> {
        // Swapping a signer cannot leave it half-written: a poisoned lock
        // still holds a whole one.
        self.inner
            .key
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The trust list as it stands now (the node replaces it on change).
    pub fn trust(&self) -> TrustList {
        self.inner
            .trust
            .read()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // A panic while holding the lock cannot leave the store half-written
        // (each append is one atomic batch), so a poisoned lock is still usable.
        self.inner
            .write
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where a verifier reads the time: injectable, so that tests and the
/// protocol's vectors are reproducible.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

/// A clock that always says the same instant.
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// Milliseconds since the Unix epoch, by the system clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
