//! What the API and the node read through the verifier, beyond a check's
//! answer: the reads built on several records, written once here.

use crate::Verifier;
use tally_model::DocumentRef;
use tally_store::{LicenseReads, LicenseState, StoreError};

impl Verifier {
    /// The licenses citing import certificate `ic`, as they stand (those
    /// not held or not readable here left out).
    pub fn citing_licenses(&self, ic: &DocumentRef) -> Result<Vec<LicenseState>, StoreError> {
        self.store().citing_licenses(ic)
    }
}
