//! [`Snapshot`]: the store as it stood at one instant, for reading only.
//! Its reads share one engine transaction and all see the same commit (a
//! shipment check reads a dozen records, a license page its transits,
//! deliveries and citing exports). It has no write at all: a caller cannot
//! append through it, which the compiler says, not a run-time error.
//! Short-lived: redb keeps the pages it reads while it lives.
//!
//! ```compile_fail,E0599
//! # fn f(store: &tally_store::Store, e: &tally_model::VerifiedEntry) {
//! let snapshot = store.snapshot().expect("snapshot");
//! snapshot.append(e); // no such method: a snapshot only reads
//! # }
//! ```

use crate::error::Result;
use crate::state::{
    Alert, AnnouncedKey, Evidence, LicenseState, RotatedKey, SerialUse, ShipmentRow, TallyRow,
};
use crate::store::Store;
use tally_model::{AuthorityId, Direction, DocumentRef, EntryHash, SignedEntry};

/// A read-only view of the store as it stood when [`Store::snapshot`] took
/// it.
pub struct Snapshot {
    /// A handle on one engine snapshot; kept private, so that only the
    /// reads below reach it.
    store: Store,
}

impl Store {
    /// The store as it stands now, for reading only (see [`Snapshot`]).
    pub fn snapshot(&self) -> Result<Snapshot> {
        Ok(Snapshot {
            store: self.read_only()?,
        })
    }
}

/// Each read of a [`Snapshot`] is the [`Store`]'s read of the same name,
/// over the snapshot's one engine transaction.
macro_rules! reads {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        impl Snapshot {
            $(
                #[doc = concat!("See [`Store::", stringify!($name), "`].")]
                pub fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                    self.store.$name($($arg),*)
                }
            )*
        }
    };
}

reads! {
    heads() -> Vec<(AuthorityId, u64, EntryHash)>;
    head(authority: &AuthorityId) -> Option<(u64, EntryHash)>;
    entry_at(authority: &AuthorityId, seq: u64) -> Option<SignedEntry>;
    range(authority: &AuthorityId, from: u64, limit: usize) -> Vec<SignedEntry>;
    by_hash(hash: &EntryHash) -> Option<(AuthorityId, u64)>;
    license(authority: &AuthorityId, number: &str) -> Option<LicenseState>;
    license_checked(authority: &AuthorityId, number: &str) -> Option<LicenseState>;
    licenses_of(authority: &AuthorityId, limit: usize) -> Vec<LicenseState>;
    licenses_after(authority: &AuthorityId, after: Option<&str>, limit: usize) -> Vec<LicenseState>;
    shipments_after(after: Option<&[u8]>, limit: usize) -> Vec<(Vec<u8>, ShipmentRow)>;
    transits_for(export: &DocumentRef) -> Vec<LicenseState>;
    deliveries_for(export: &DocumentRef) -> Vec<LicenseState>;
    citing(ic: &DocumentRef) -> Vec<DocumentRef>;
    tallies(license: &LicenseState) -> Vec<TallyRow>;
    serial_use(license: &DocumentRef, direction: Direction, country: &str, serial: &str) -> Option<SerialUse>;
    shipments(license: &DocumentRef) -> Vec<ShipmentRow>;
    accepted_shipments(license: &LicenseState, direction: Direction, country: &str) -> u64;
    announced_keys(authority: &AuthorityId) -> Vec<AnnouncedKey>;
    paper_keys(authority: &AuthorityId) -> Vec<AnnouncedKey>;
    rotated_keys(authority: &AuthorityId) -> Vec<RotatedKey>;
    evidence() -> Vec<Evidence>;
    cloned() -> Vec<SignedEntry>;
    alerts() -> Vec<Alert>;
    issuer_announcements(authority: &AuthorityId, at_ms: Option<i64>, limit: usize) -> Vec<AnnouncedKey>;
    trace(make: &str, serial: &str) -> Vec<crate::trace::TraceRow>;
    statistics(q: &crate::StatisticsQuery, date_at: crate::statistics::DateAt<'_>) -> crate::Statistics;
}

impl crate::LicenseReads for Snapshot {
    fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        Snapshot::license(self, authority, number)
    }
    fn citing(&self, ic: &DocumentRef) -> Result<Vec<DocumentRef>> {
        Snapshot::citing(self, ic)
    }
}
