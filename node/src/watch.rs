//! Applies `trust.toml` and `tokens.toml` changes made by the CLI while the
//! node runs: the verifier's trust list, the allow list and dials, the tokens.

use crate::config::NodeDir;
use crate::files;
use crate::peers::PeerTable;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tally_api::tokens::TokenBook;
use tally_model::TrustList;
use tally_p2p::{Multiaddr, P2pHandle, PeerId};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The peers to allow and dial, from the trust list's cards.
pub fn trusted_peers(list: &TrustList) -> Vec<(PeerId, Vec<Multiaddr>)> {
    list.cards
        .iter()
        .filter_map(|c| {
            let peer = c.peer_id.parse().ok()?;
            let addrs = c.addresses.iter().filter_map(|a| a.parse().ok()).collect();
            Some((peer, addrs))
        })
        .collect()
}

/// Logs a re-derivation's progress (after a change of key compromises).
pub fn reindex_progress() -> impl FnMut(tally_store::Progress) {
    let mut last = std::time::Instant::now();
    move |p: tally_store::Progress| {
        if p.entries >= p.total || last.elapsed() >= Duration::from_secs(2) {
            last = std::time::Instant::now();
            info!(entries = p.entries, of = p.total, "re-deriving the state");
        }
    }
}

/// Changes are written by rename, so the inode tells two same-sized
/// rewrites within one timestamp tick apart.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

pub struct TrustWatcher {
    pub dir: NodeDir,
    /// Re-derives the state when the key compromises change (opening what
    /// is sealed to this node on the way).
    pub verifier: tally_verify::Verifier,
    pub trust: Arc<RwLock<TrustList>>,
    pub tokens: Arc<RwLock<TokenBook>>,
    pub p2p: P2pHandle,
    pub peers: Arc<PeerTable>,
    pub interval: Duration,
}

impl TrustWatcher {
    /// Applies the current trust list (at start-up and on every change).
    pub async fn apply(&self, list: TrustList) {
        self.peers.set_trusted(&list);
        let peers = trusted_peers(&list);
        let compromises = list.compromises();
        if let Ok(mut t) = self.trust.write() {
            *t = list;
        }
        // New entries a declaration covers are refused from now on (the
        // verifier reads the list); stored ones stop counting once the
        // store has re-derived without them.
        if let Some(why) = self.verifier.store_health().damaged {
            // Nothing is derived from a damaged store (nor served from it).
            warn!(reason = %why, "the store is damaged: the key compromises are not applied to it");
        } else {
            Self::apply_compromised(self.verifier.clone(), compromises).await;
        }
        if let Err(e) = self.p2p.set_trusted(peers).await {
            warn!(error = %e, "cannot update the allow list");
        }
    }

    async fn apply_compromised(
        v: tally_verify::Verifier,
        compromises: Vec<tally_model::KeyCompromise>,
    ) {
        match tokio::task::spawn_blocking(move || {
            v.apply_compromised(compromises, &mut reindex_progress())
        })
        .await
        {
            Ok(Ok(Some(report))) => info!(
                entries = report.entries,
                "re-derived the state without the entries of compromised keys"
            ),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => warn!(error = %e, "cannot apply the key compromises"),
            Err(e) => warn!(error = %e, "cannot apply the key compromises"),
        }
    }

    pub async fn run(self, cancel: CancellationToken) {
        let trust_path = self.dir.trust();
        let mut last = stamp(&trust_path);
        let mut tick = tokio::time::interval(self.interval);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = stamp(&trust_path);
            if now != last {
                last = now;
                match files::read_trust(&trust_path) {
                    Ok(list) => {
                        info!(
                            authorities = list.cards.len(),
                            "trust list changed; applying"
                        );
                        self.apply(list).await;
                    }
                    Err(e) => warn!(error = %e, "trust list unreadable; keeping the previous one"),
                }
            }
            if let Ok(mut t) = self.tokens.write()
                && let Err(e) = t.reload_if_changed()
            {
                warn!(error = %e, "tokens file unreadable; keeping the previous tokens");
            }
        }
    }
}
