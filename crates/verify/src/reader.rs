//! The read door: what the API (and the node's read paths) learn from the
//! store goes through a [`Reader`], one consistent snapshot per request, so
//! that an answer built from several records (a license, its transits, its
//! deliveries, the exports citing it) shows one moment of the store. A
//! reader cannot write. [`StoreHealth`] says whether the store may be read
//! at all.

use crate::Verifier;
use tally_model::{AuthorityId, DocumentRef, EntryHash, SignedEntry};
use tally_store::state::{AnnouncedKey, Evidence, RotatedKey, ShipmentRow};
use tally_store::{Alert, LicenseReads, LicenseState, Snapshot, Store, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// A read-only view of the store as it stood when it was taken.
pub struct Reader {
    snapshot: Snapshot,
}

/// What the health and status routes say of the store.
#[derive(Debug, Clone, Default)]
pub struct StoreHealth {
    /// What the integrity check found wrong, once it found something.
    pub damaged: Option<String>,
    /// Why the last commit failed, until one succeeds.
    pub fault: Option<String>,
    /// Commits that failed since the store opened.
    pub faults: u64,
    /// How far a rebuild of the derived records got, while one runs.
    pub rebuilding: Option<String>,
    /// The background check went to the end and found nothing.
    pub checked: bool,
}

impl Verifier {
    /// A reader on the store as it stands now (one engine snapshot: take
    /// one per request, and let it go).
    pub fn reader(&self) -> Result<Reader> {
        Reader::of(&self.inner.store)
    }

    /// Stops a rebuild of the derived records at its next chunk (shutting
    /// down); the next start finishes it.
    pub fn interrupt_rebuild(&self) {
        self.inner.store.interrupt_rebuild();
    }

    /// The store's health, read without touching the engine.
    pub fn store_health(&self) -> StoreHealth {
        let store = &self.inner.store;
        StoreHealth {
            damaged: store.damaged(),
            fault: store.fault(),
            faults: store.fault_count(),
            rebuilding: store.rebuilding(),
            checked: store.checked(),
        }
    }
}

impl Reader {
    /// A reader on `store` as it stands now: for a node's start, which
    /// reads its own log (announced keys) before the verifier exists.
    pub fn of(store: &Store) -> Result<Reader> {
        Ok(Reader {
            snapshot: store.snapshot()?,
        })
    }

    /// Every log held: (authority, head seq, head hash).
    pub fn heads(&self) -> Result<Vec<(AuthorityId, u64, EntryHash)>> {
        self.snapshot.heads()
    }

    /// The newest entry of `authority`'s log: (seq, hash).
    pub fn head(&self, authority: &AuthorityId) -> Result<Option<(u64, EntryHash)>> {
        self.snapshot.head(authority)
    }

    /// Entry `seq` of `authority`'s log.
    pub fn entry_at(&self, authority: &AuthorityId, seq: u64) -> Result<Option<SignedEntry>> {
        self.snapshot.entry_at(authority, seq)
    }

    /// Up to `limit` licenses of `authority`, by number.
    pub fn licenses_of(&self, authority: &AuthorityId, limit: usize) -> Result<Vec<LicenseState>> {
        self.snapshot.licenses_of(authority, limit)
    }

    /// Up to `limit` licenses of `authority` numbered after `after`.
    pub fn licenses_after(
        &self,
        authority: &AuthorityId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LicenseState>> {
        self.snapshot.licenses_after(authority, after, limit)
    }

    /// Up to `limit` recorded crossings after the one at key `after`, each
    /// with its key (the next page starts after the last).
    pub fn shipments_after(
        &self,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, ShipmentRow)>> {
        self.snapshot.shipments_after(after, limit)
    }

    /// Up to `limit` entries of `authority`'s log from seq `from`.
    pub fn range(
        &self,
        authority: &AuthorityId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<SignedEntry>> {
        self.snapshot.range(authority, from, limit)
    }

    /// A license as it stands; [`StoreError::Unreadable`] when it is held
    /// but its sealed document does not open here.
    pub fn license_checked(
        &self,
        authority: &AuthorityId,
        number: &str,
    ) -> Result<Option<LicenseState>> {
        self.snapshot.license_checked(authority, number)
    }

    /// A license as it stands (`None`: not held, or unreadable here).
    pub fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        self.snapshot.license(authority, number)
    }

    /// The transit authorizations of export license `export`.
    pub fn transits_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        self.snapshot.transits_for(export)
    }

    /// The delivery verifications of export license `export`.
    pub fn deliveries_for(&self, export: &DocumentRef) -> Result<Vec<LicenseState>> {
        self.snapshot.deliveries_for(export)
    }

    /// The licenses citing import certificate `ic`, as they stand.
    pub fn citing_licenses(&self, ic: &DocumentRef) -> Result<Vec<LicenseState>> {
        self.snapshot.citing_licenses(ic)
    }

    /// The accepted crossings of `license` that count, per line, direction
    /// and recording country.
    pub fn tallies(&self, license: &LicenseState) -> Result<Vec<tally_store::TallyRow>> {
        self.snapshot.tallies(license)
    }

    /// The crossings recorded under `license`.
    pub fn shipments(&self, license: &DocumentRef) -> Result<Vec<ShipmentRow>> {
        self.snapshot.shipments(license)
    }

    /// Signing keys `authority`'s log rotated to.
    pub fn rotated_keys(&self, authority: &AuthorityId) -> Result<Vec<RotatedKey>> {
        self.snapshot.rotated_keys(authority)
    }

    /// Encryption keys `authority` announced in its log.
    /// Paper keys `authority` announced in its own log, in log order.
    pub fn paper_keys(&self, authority: &AuthorityId) -> Result<Vec<AnnouncedKey>> {
        self.snapshot.paper_keys(authority)
    }

    pub fn announced_keys(&self, authority: &AuthorityId) -> Result<Vec<AnnouncedKey>> {
        self.snapshot.announced_keys(authority)
    }

    /// Every equivocation proof held.
    pub fn evidence(&self) -> Result<Vec<Evidence>> {
        self.snapshot.evidence()
    }

    /// Every alert held.
    pub fn alerts(&self) -> Result<Vec<Alert>> {
        self.snapshot.alerts()
    }

    /// Every license line this node reads that names the serial of a
    /// firearm of `make` (see [`tally_store::trace`]).
    pub fn trace(&self, make: &str, serial: &str) -> Result<Vec<tally_store::TraceRow>> {
        self.snapshot.trace(make, serial)
    }

    /// The statistics `q` asks for (see [`tally_store::statistics`]), dated
    /// in the node's timezone.
    pub fn statistics(
        &self,
        q: &tally_store::StatisticsQuery,
        timezone: &crate::TimeZone,
    ) -> Result<tally_store::Statistics> {
        self.snapshot.statistics(q, &|ms| timezone.date_at(ms))
    }

    /// Where the entry with this id sits: (authority, seq).
    pub fn by_hash(&self, hash: &EntryHash) -> Result<Option<(AuthorityId, u64)>> {
        self.snapshot.by_hash(hash)
    }

    /// Entries of this node's own authority that it did not write, kept as
    /// evidence of `log.cloned`.
    pub fn cloned(&self) -> Result<Vec<SignedEntry>> {
        self.snapshot.cloned()
    }
}
