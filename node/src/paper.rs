//! The authority's paper key at start (docs/PROTOCOL.md 14): loaded from
//! its file (created when missing, for a node initialised before seals)
//! and announced in the authority's own log when the log does not hold it
//! yet, so that partners' bundles hold it before the first print.

use crate::config::Settings;
use crate::keys;
use std::sync::Arc;
use tally_model::signer::{FileSigner, Signer};
use tally_verify::Verifier;
use tracing::{info, warn};

/// The paper key's signer, once its announcement was tried. A node that
/// may not sign now (recovering its log, stopped) announces at a later
/// start; until then its prints are refused (503).
pub fn settle(settings: &Settings, verifier: &Verifier) -> anyhow::Result<Arc<dyn Signer>> {
    let key = keys::load_or_create_paper_key(&settings.paper_key)?;
    let signer = FileSigner::new(&key);
    match verifier.issuer().announce_paper_key(signer.public_key()) {
        Ok(Some(issued)) => info!(seq = issued.entry.seq, "announced the paper key"),
        Ok(None) => {}
        Err(e) => warn!(error = %e, "the paper key is not announced yet; seals wait for it"),
    }
    Ok(Arc::new(signer))
}
