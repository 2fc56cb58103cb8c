//! The one place where network events meet validation.
//!
//! Gossip goes to `Ingest::gossip`, and its outcome's verdict
//! (`IngestOutcome::acceptance`, decided in tally-verify) becomes the
//! gossipsub verdict (Accept forwards, Ignore drops, Reject penalizes the
//! sender; see verdict.rs); a gap asks the sync worker to pull from the
//! sender. Sync queries are answered
//! from the store. Entries the verifier signs or proves are published from here.

use crate::peers::PeerTable;
use crate::sync::SyncJobs;
use crate::verdict;
use bytes::Bytes;
use std::sync::Arc;
use tally_api::{Metrics, Source};
use tally_model::AuthorityId;
use tally_p2p::{
    Acceptance, Head, MessageRef, NetEvent, P2pHandle, PeerId, SyncAnswer, SyncQuery, Topic,
};
use tally_verify::{IngestOutcome, Penalty, ProofOutcome, Publish, Verifier};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// What the verifier asks to publish; bounded, so a stalled network never
/// blocks issuing (pull delivers what is dropped here).
pub enum Outgoing {
    Entry(Bytes),
    Evidence(Bytes),
}

/// Hands the verifier's output to the router without blocking.
pub struct Publisher(pub mpsc::Sender<Outgoing>);

impl Publisher {
    /// A publisher and the queue the router drains, bounded at `capacity`.
    pub fn channel(capacity: usize) -> (Publisher, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Publisher(tx), rx)
    }
}

impl Publish for Publisher {
    fn entry(&self, signed: &tally_model::SignedEntry) {
        if self
            .0
            .try_send(Outgoing::Entry(signed.encode().into()))
            .is_err()
        {
            debug!("publish queue full; the entry will reach peers by sync");
        }
    }
    fn evidence(&self, proof: Vec<u8>) {
        let _ = self.0.try_send(Outgoing::Evidence(proof.into()));
    }
}

pub struct Router {
    pub verifier: Verifier,
    pub p2p: P2pHandle,
    pub peers: Arc<PeerTable>,
    pub metrics: Metrics,
    pub sync: SyncJobs,
}

impl Router {
    pub async fn run(
        self,
        mut events: mpsc::Receiver<NetEvent>,
        mut outgoing: mpsc::Receiver<Outgoing>,
        cancel: CancellationToken,
    ) {
        loop {
            tokio::select! {
                // Local work first: publishing what this node signed.
                biased;
                _ = cancel.cancelled() => return,
                Some(out) = outgoing.recv() => self.publish(out).await,
                ev = events.recv() => match ev {
                    Some(ev) => self.event(ev).await,
                    None => return,
                },
            }
        }
    }

    async fn publish(&self, out: Outgoing) {
        let (topic, data) = match out {
            Outgoing::Entry(b) => (Topic::Entries, b),
            Outgoing::Evidence(b) => (Topic::Evidence, b),
        };
        if let Err(e) = self.p2p.publish(topic, data).await {
            debug!(error = %e, "publish failed; sync will deliver");
        }
    }

    async fn event(&self, ev: NetEvent) {
        match ev {
            NetEvent::Gossip {
                topic: Topic::Entries,
                from,
                message,
                data,
            } => self.gossiped_entry(from, message, data).await,
            NetEvent::Gossip {
                topic: Topic::Evidence,
                from,
                message,
                data,
            } => self.gossiped_proof(from, message, data).await,
            NetEvent::SyncQuery { from, query, reply } => {
                let v = self.verifier.clone();
                let answer = tokio::task::spawn_blocking(move || answer(&v, query))
                    .await
                    .unwrap_or_else(|_| SyncAnswer::Error("internal error".into()));
                if reply.send(answer).is_err() {
                    debug!(peer = %from, "sync reply dropped");
                }
            }
            NetEvent::PeerConnected(peer) => {
                self.peers.set_connected(&peer, true);
                self.metrics
                    .set_connected_peers(self.peers.connected_count() as u64);
                self.sync.request(peer);
            }
            NetEvent::PeerDisconnected(peer) => {
                self.peers.set_connected(&peer, false);
                self.metrics
                    .set_connected_peers(self.peers.connected_count() as u64);
            }
        }
    }

    /// A gossiped entry: ingested, its verdict reported to gossipsub, then
    /// applied. The verdict comes right after the durable chain append,
    /// before anything is opened or applied (a recipient of a sealed
    /// document answers as fast as a bystander).
    async fn gossiped_entry(&self, from: PeerId, message: MessageRef, data: Bytes) {
        let v = self.verifier.clone();
        let outcome = tokio::task::spawn_blocking(move || v.ingest().gossip(&data)).await;
        let accepted = matches!(outcome, Ok(Ok(IngestOutcome::Accepted(_))));
        let acceptance = match outcome {
            Ok(Ok(outcome)) => self.entry_verdict(from, outcome),
            Ok(Err(e)) => {
                warn!(error = %e, "store failed while ingesting; not acknowledged");
                Acceptance::Ignore
            }
            Err(e) => {
                warn!(error = %e, "ingest task failed");
                Acceptance::Ignore
            }
        };
        let _ = self.p2p.report(message, acceptance).await;
        if accepted {
            let v = self.verifier.clone();
            match tokio::task::spawn_blocking(move || v.ingest().apply_behind()).await {
                Ok(Ok(())) => {}
                // Still behind: the next commit or start applies it.
                Ok(Err(e)) => warn!(error = %e, "cannot apply an accepted entry yet"),
                Err(e) => warn!(error = %e, "apply task failed"),
            }
        }
    }

    /// The gossipsub verdict on an ingested entry ([`IngestOutcome::acceptance`]),
    /// counted in the metrics; a gap asks the sync worker to pull from the
    /// sender.
    fn entry_verdict(&self, from: PeerId, outcome: IngestOutcome) -> Acceptance {
        let verdict = outcome.acceptance();
        match &outcome {
            IngestOutcome::Accepted(_) | IngestOutcome::Duplicate => {}
            IngestOutcome::Gap {
                authority,
                have,
                seq,
            } => {
                debug!(peer = %from, %authority, have, seq, "gap; pulling");
                self.sync.request(from);
            }
            IngestOutcome::Rejected(r) => {
                match verdict.penalty {
                    Penalty::None => {
                        debug!(peer = %from, reason = %r.reason(), "gossip entry refused without penalty")
                    }
                    Penalty::InvalidMessage => {
                        debug!(peer = %from, reason = %r.reason(), "gossip entry rejected")
                    }
                }
                self.metrics.entry_refused(Source::Gossip, r.label());
            }
        }
        self.metrics
            .entry_outcome(Source::Gossip, verdict::outcome(verdict));
        verdict::gossip(verdict)
    }

    /// A gossiped equivocation proof: stored when new, its verdict
    /// ([`ProofOutcome::acceptance`]) reported.
    async fn gossiped_proof(&self, from: PeerId, message: MessageRef, data: Bytes) {
        let v = self.verifier.clone();
        let ok = tokio::task::spawn_blocking(move || v.ingest().proof(&data)).await;
        let acceptance = match ok {
            Ok(Ok(proof)) => {
                if proof == ProofOutcome::Invalid {
                    debug!(peer = %from, "equivocation proof rejected");
                }
                verdict::gossip(proof.acceptance())
            }
            // A store or task failure is not the relay's fault.
            _ => Acceptance::Ignore,
        };
        let _ = self.p2p.report(message, acceptance).await;
    }
}

/// What a node with a damaged store answers every sync query (the details
/// stay in its own log and health).
pub const DAMAGED_SYNC_ERROR: &str =
    "unavailable: this node's store is damaged; it serves nothing from it";

/// Answers a peer's sync query from the store. Any node serves any log it
/// holds, so a node that was offline catches up from whoever is up.
///
/// A node whose store is damaged (either integrity check failed) answers
/// every query with an error instead of entries or heads it cannot vouch
/// for; peers pull from someone else.
fn answer(v: &Verifier, query: SyncQuery) -> SyncAnswer {
    if v.store_health().damaged.is_some() {
        return SyncAnswer::Error(DAMAGED_SYNC_ERROR.into());
    }
    let reader = match v.reader() {
        Ok(r) => r,
        Err(e) => return SyncAnswer::Error(format!("the store cannot be read: {e}")),
    };
    match query {
        SyncQuery::Heads => match reader.heads() {
            Ok(heads) => SyncAnswer::Heads(
                heads
                    .into_iter()
                    .map(|(authority, seq, hash)| Head {
                        authority: authority.to_string(),
                        seq,
                        hash: hash.0.to_vec(),
                    })
                    .collect(),
            ),
            Err(e) => SyncAnswer::Error(format!("store: {e}")),
        },
        SyncQuery::Evidence => match reader.evidence() {
            Ok(list) => SyncAnswer::Range(
                list.iter()
                    .filter_map(|e| {
                        let a = tally_model::SignedEntry::decode(&e.entries[0]).ok()?;
                        let b = tally_model::SignedEntry::decode(&e.entries[1]).ok()?;
                        Some(Bytes::from(tally_model::encode_proof(&a, &b)))
                    })
                    .collect(),
            ),
            Err(e) => SyncAnswer::Error(format!("store: {e}")),
        },
        SyncQuery::Range {
            authority,
            from,
            limit,
        } => {
            let Ok(authority) = authority.parse::<AuthorityId>() else {
                return SyncAnswer::Error("malformed authority".into());
            };
            match reader.range(&authority, from, limit as usize) {
                Ok(entries) => SyncAnswer::Range(
                    entries
                        .into_iter()
                        .map(|e| Bytes::from(e.encode()))
                        .collect(),
                ),
                Err(e) => SyncAnswer::Error(format!("store: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, RwLock};

    /// Regression (issue 20: a node whose store check failed still served
    /// its entries to peers): once the store is damaged, every sync query
    /// (heads, ranges, evidence) is answered with an error, never entries.
    #[test]
    fn a_damaged_store_answers_peers_with_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = tally_store::Store::open(dir.path(), tally_store::EngineKind::default())
            .expect("store");
        let v = Verifier::builder(
            store,
            "US-DDTC".parse().expect("an authority id"),
            tally_model::AuthorityKey::from_bytes(&[1; 32]),
        )
        .trust(Arc::new(RwLock::new(tally_model::TrustList::default())))
        .publish(Box::new(tally_verify::NoPublish))
        .build();
        let queries = || {
            [
                SyncQuery::Heads,
                SyncQuery::Evidence,
                SyncQuery::Range {
                    authority: "US-DDTC".into(),
                    from: 1,
                    limit: 10,
                },
            ]
        };
        for q in queries() {
            assert!(!matches!(answer(&v, q), SyncAnswer::Error(_)), "sound");
        }
        v.integrity()
            .mark_damaged("US-DDTC seq 1: the signature does not verify");
        for q in queries() {
            match answer(&v, q) {
                SyncAnswer::Error(e) => {
                    assert_eq!(e, DAMAGED_SYNC_ERROR);
                    assert!(!e.contains("seq 1"), "details stay local: {e}");
                }
                other => panic!("answered {other:?} from a damaged store"),
            }
        }
    }
}
