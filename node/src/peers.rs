//! The node's view of its peers: which authority each trusted peer id
//! belongs to, whether it is connected, when it was last synced. Read by the
//! API's `/v1/status`, written by the router and the trust watcher.

use std::collections::BTreeMap;
use std::sync::RwLock;
use tally_api::{Network, PeerStatus};
use tally_model::TrustList;
use tally_p2p::PeerId;

#[derive(Debug, Default)]
pub struct PeerTable {
    local: String,
    inner: RwLock<BTreeMap<String, PeerStatus>>,
}

impl PeerTable {
    pub fn new(local: PeerId) -> PeerTable {
        PeerTable {
            local: local.to_string(),
            inner: RwLock::default(),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, PeerStatus>> {
        // The map holds plain data; a panic elsewhere cannot leave it inconsistent.
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Aligns the table with the trust list: one row per trusted peer.
    pub fn set_trusted(&self, trust: &TrustList) {
        let mut map = self.write();
        let wanted: BTreeMap<String, String> = trust
            .cards
            .iter()
            .map(|c| (c.peer_id.clone(), c.authority.to_string()))
            .collect();
        map.retain(|peer, _| wanted.contains_key(peer));
        for (peer, authority) in wanted {
            let row = map.entry(peer.clone()).or_insert_with(|| PeerStatus {
                peer_id: peer,
                authority: None,
                connected: false,
                last_sync_ms: None,
            });
            row.authority = Some(authority);
        }
    }

    /// Only trusted peers have rows; a disconnect that follows a trust
    /// removal must not bring the row back.
    pub fn set_connected(&self, peer: &PeerId, connected: bool) {
        if let Some(row) = self.write().get_mut(&peer.to_string()) {
            row.connected = connected;
        }
    }

    /// Whether `peer` is the node of a trusted authority.
    pub fn is_trusted(&self, peer: &PeerId) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&peer.to_string())
    }

    pub fn synced(&self, peer: &PeerId, at_ms: i64) {
        if let Some(row) = self.write().get_mut(&peer.to_string()) {
            row.last_sync_ms = Some(at_ms);
        }
    }

    pub fn connected_count(&self) -> usize {
        self.inner
            .read()
            .map(|m| m.values().filter(|p| p.connected).count())
            .unwrap_or(0)
    }
}

impl Network for PeerTable {
    fn peer_id(&self) -> String {
        self.local.clone()
    }
    fn peers(&self) -> Vec<PeerStatus> {
        self.inner
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}
