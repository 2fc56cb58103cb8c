//! Inbound sync queries waiting for the node's answer: the per-peer and total bounds, and the
//! timeout after which a query is answered with an error instead.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use libp2p::PeerId;
use tokio::sync::oneshot;

use crate::sync::SyncAnswer;

/// One query the node has not answered yet. `C` is the libp2p response
/// channel (generic so the bookkeeping can be tested without a swarm).
pub(crate) struct Pending<C> {
    pub peer: PeerId,
    pub channel: C,
    /// Most entries the answer may carry (the clamped `limit`).
    pub max_entries: usize,
}

type Answer<K> = BoxFuture<'static, (K, Option<SyncAnswer>)>;

pub(crate) struct Inbound<K, C> {
    pending: HashMap<K, Pending<C>>,
    per_peer: HashMap<PeerId, usize>,
    answers: FuturesUnordered<Answer<K>>,
    max_per_peer: usize,
    max_total: usize,
    timeout: Duration,
}

impl<K, C> Inbound<K, C>
where
    K: Copy + Eq + std::hash::Hash + Send + 'static,
{
    pub fn new(max_per_peer: usize, max_total: usize, timeout: Duration) -> Self {
        Inbound {
            pending: HashMap::new(),
            per_peer: HashMap::new(),
            answers: FuturesUnordered::new(),
            max_per_peer,
            max_total,
            timeout,
        }
    }

    /// Whether one more query from `peer` fits under both bounds.
    pub fn has_room(&self, peer: &PeerId) -> bool {
        self.pending.len() < self.max_total
            && self.per_peer.get(peer).copied().unwrap_or(0) < self.max_per_peer
    }

    /// Tracks a query until `answer` resolves, its sender is dropped, or the timeout passes.
    pub fn insert(&mut self, id: K, pending: Pending<C>, answer: oneshot::Receiver<SyncAnswer>) {
        *self.per_peer.entry(pending.peer).or_insert(0) += 1;
        self.pending.insert(id, pending);
        let timeout = self.timeout;
        self.answers.push(
            async move {
                let answer = tokio::time::timeout(timeout, answer).await;
                (id, answer.ok().and_then(Result::ok))
            }
            .boxed(),
        );
    }

    /// The next query whose answer is in: `None` when the node dropped the
    /// reply or ran out of time. Never resolves while nothing is pending.
    /// Cancel-safe: nothing is removed before the answer is returned.
    pub async fn next(&mut self) -> (Pending<C>, Option<SyncAnswer>) {
        loop {
            let Some((id, answer)) = self.answers.next().await else {
                return std::future::pending().await;
            };
            if let Some(pending) = self.pending.remove(&id) {
                if let Some(n) = self.per_peer.get_mut(&pending.peer) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.per_peer.remove(&pending.peer);
                    }
                }
                return (pending, answer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(peer: PeerId) -> Pending<()> {
        Pending {
            peer,
            channel: (),
            max_entries: 1,
        }
    }

    #[tokio::test]
    async fn bounds_per_peer_and_in_total_free_up_on_answer() {
        let mut inbound = Inbound::<u32, ()>::new(2, 3, Duration::from_secs(10));
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        let mut replies = Vec::new();
        for (id, peer) in [(1, a), (2, a), (3, b)] {
            assert!(inbound.has_room(&peer));
            let (tx, rx) = oneshot::channel();
            inbound.insert(id, pending(peer), rx);
            replies.push(tx);
        }
        assert!(!inbound.has_room(&a), "a is at its own bound");
        assert!(!inbound.has_room(&c), "the total bound is reached");

        let first = replies.remove(0);
        first
            .send(SyncAnswer::Heads(vec![]))
            .expect("receiver alive");
        let (done, answer) = inbound.next().await;
        assert_eq!(done.peer, a);
        assert_eq!(answer, Some(SyncAnswer::Heads(vec![])));
        assert!(inbound.has_room(&a) && inbound.has_room(&c));

        drop(replies);
        for _ in 0..2 {
            let (_, answer) = inbound.next().await;
            assert_eq!(answer, None, "a dropped reply is no answer");
        }
        assert!(inbound.pending.is_empty() && inbound.per_peer.is_empty());
    }
}
