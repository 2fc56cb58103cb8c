//! The trusted peers and when to dial them: dial at once when trusted, redial with jittered
//! exponential backoff while not connected. Pure state; the swarm task does the dialing.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use rand::Rng;
use tokio::time::Instant;

/// A connection that lasted this long was healthy, so losing it restarts the
/// backoff from the initial delay; shorter ones (e.g. a peer that accepts the
/// handshake and then refuses us because it does not trust us) keep doubling it.
const STABLE_CONNECTION: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct Peer {
    addrs: Vec<Multiaddr>,
    /// Delay before the next redial after a failure.
    backoff: Duration,
    /// When to dial next; `None` while connected or while a dial is in flight.
    next_dial: Option<Instant>,
    /// Set while at least one connection is up.
    connected_since: Option<Instant>,
}

/// What `replace` changed, for the swarm task to apply to the allow list.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Change {
    pub added: Vec<PeerId>,
    pub removed: Vec<PeerId>,
}

#[derive(Debug)]
pub(crate) struct Trusted {
    peers: HashMap<PeerId, Peer>,
    initial: Duration,
    max: Duration,
}

impl Trusted {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Trusted {
            peers: HashMap::new(),
            initial,
            max,
        }
    }

    pub fn contains(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    pub fn addrs(&self, peer: &PeerId) -> Vec<Multiaddr> {
        self.peers
            .get(peer)
            .map(|p| p.addrs.clone())
            .unwrap_or_default()
    }

    /// Makes `list` the trusted set. New peers, and known ones that are not
    /// connected, are due for a dial now.
    pub fn replace(&mut self, list: Vec<(PeerId, Vec<Multiaddr>)>, now: Instant) -> Change {
        let mut change = Change::default();
        let mut next: HashMap<PeerId, Peer> = HashMap::with_capacity(list.len());
        for (id, addrs) in list {
            let peer = match self.peers.remove(&id).or_else(|| next.remove(&id)) {
                Some(mut p) => {
                    p.addrs = addrs;
                    if p.connected_since.is_none() {
                        p.backoff = self.initial;
                        p.next_dial = Some(now);
                    }
                    p
                }
                None => {
                    change.added.push(id);
                    Peer {
                        addrs,
                        backoff: self.initial,
                        next_dial: Some(now),
                        connected_since: None,
                    }
                }
            };
            next.insert(id, peer);
        }
        change.removed = self.peers.drain().map(|(id, _)| id).collect();
        self.peers = next;
        change
    }

    /// Peers to dial now (with their addresses); each is marked in flight.
    /// Peers without addresses are skipped: they can only dial us.
    pub fn due(&mut self, now: Instant) -> Vec<(PeerId, Vec<Multiaddr>)> {
        self.peers
            .iter_mut()
            .filter(|(_, p)| p.next_dial.is_some_and(|t| t <= now))
            .filter_map(|(id, p)| {
                p.next_dial = None;
                (!p.addrs.is_empty()).then(|| (*id, p.addrs.clone()))
            })
            .collect()
    }

    /// When the next dial is due, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.peers.values().filter_map(|p| p.next_dial).min()
    }

    pub fn on_connected(&mut self, peer: &PeerId, now: Instant) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.connected_since.get_or_insert(now);
            p.next_dial = None;
        }
    }

    /// The last connection to `peer` closed.
    pub fn on_disconnected(&mut self, peer: &PeerId, now: Instant) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        if p.connected_since
            .take()
            .is_some_and(|since| now.saturating_duration_since(since) >= STABLE_CONNECTION)
        {
            p.backoff = self.initial;
        }
        Self::schedule(p, self.max, now);
    }

    /// A dial to `peer` failed; ignored while another connection is up.
    pub fn on_dial_failed(&mut self, peer: &PeerId, now: Instant) {
        if let Some(p) = self.peers.get_mut(peer)
            && p.connected_since.is_none()
            && p.next_dial.is_none()
        {
            Self::schedule(p, self.max, now);
        }
    }

    fn schedule(p: &mut Peer, max: Duration, now: Instant) {
        // Jitter keeps two nodes that lost each other from redialing in lockstep.
        let jitter = p.backoff.mul_f64(rand::rng().random_range(0.0..0.25));
        p.next_dial = Some(now + p.backoff + jitter);
        p.backoff = p.backoff.saturating_mul(2).min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn peer() -> PeerId {
        PeerId::random()
    }

    fn addr() -> Multiaddr {
        "/ip4/127.0.0.1/tcp/1".parse().expect("valid multiaddr")
    }

    /// Delay of the scheduled redial, checked to be within the jitter range of `base`.
    fn assert_redial_in(t: &Trusted, now: Instant, base: Duration) {
        let at = t.next_deadline().expect("a redial is scheduled");
        let delay = at - now;
        assert!(
            delay >= base && delay <= base + base / 4,
            "delay {delay:?}, expected {base:?} + up to 25%"
        );
    }

    #[test]
    fn new_peers_are_dialed_at_once_and_failures_back_off() {
        let now = Instant::now();
        let mut t = Trusted::new(500 * MS, 4000 * MS);
        let p = peer();
        assert_eq!(t.replace(vec![(p, vec![addr()])], now).added, vec![p]);
        assert_eq!(t.due(now), vec![(p, vec![addr()])]);
        assert_eq!(t.next_deadline(), None, "in flight");
        for base in [500, 1000, 2000, 4000, 4000] {
            t.on_dial_failed(&p, now);
            assert_redial_in(&t, now, base * MS);
            assert!(t.due(now).is_empty(), "not due yet");
            assert_eq!(t.due(now + 5000 * MS).len(), 1);
        }
    }

    #[test]
    fn short_connections_keep_backing_off_and_stable_ones_reset() {
        let now = Instant::now();
        let mut t = Trusted::new(500 * MS, 30_000 * MS);
        let p = peer();
        t.replace(vec![(p, vec![addr()])], now);
        t.due(now);
        t.on_connected(&p, now);
        t.on_dial_failed(&p, now);
        assert_eq!(
            t.next_deadline(),
            None,
            "failures while connected do not schedule"
        );
        t.on_disconnected(&p, now + MS);
        assert_redial_in(&t, now + MS, 500 * MS);
        t.due(now + 10_000 * MS);
        t.on_connected(&p, now + 10_000 * MS);
        t.on_disconnected(&p, now + 10_001 * MS);
        assert_redial_in(&t, now + 10_001 * MS, 1000 * MS);
        t.due(now + 20_000 * MS);
        t.on_connected(&p, now + 20_000 * MS);
        t.on_disconnected(&p, now + 40_000 * MS);
        assert_redial_in(&t, now + 40_000 * MS, 500 * MS);
    }

    #[test]
    fn replace_reports_changes_and_keeps_connected_state() {
        let now = Instant::now();
        let mut t = Trusted::new(500 * MS, 30_000 * MS);
        let (a, b, c) = (peer(), peer(), peer());
        t.replace(vec![(a, vec![addr()]), (b, vec![])], now);
        t.due(now);
        t.on_connected(&a, now);
        let change = t.replace(vec![(a, vec![addr()]), (c, vec![addr()])], now);
        assert_eq!(change.added, vec![c]);
        assert_eq!(change.removed, vec![b]);
        assert!(t.contains(&a) && t.contains(&c) && !t.contains(&b));
        assert_eq!(
            t.due(now),
            vec![(c, vec![addr()])],
            "connected a is not redialed"
        );
        t.on_disconnected(&b, now);
        t.on_dial_failed(&b, now);
        assert_eq!(
            t.next_deadline(),
            None,
            "untrusted peers are never scheduled"
        );
    }

    #[test]
    fn peers_without_addresses_are_not_dialed() {
        let now = Instant::now();
        let mut t = Trusted::new(500 * MS, 30_000 * MS);
        t.replace(vec![(peer(), vec![])], now);
        assert!(t.due(now).is_empty());
        assert_eq!(t.next_deadline(), None);
    }
}
