//! Anti-entropy: pull what gossip missed.
//!
//! On every new connection, on every gap seen in gossip, and every
//! `sync.interval_ms` with a random connected peer, the worker compares log
//! heads with the peer and pulls the missing ranges. Entries go through
//! `Ingest::many` (batch signature checks, one durable commit per
//! range) while the next range is already being fetched.

use crate::peers::PeerTable;
use crate::verdict;
use bytes::Bytes;
use rand::seq::IndexedRandom;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally_api::{Metrics, Source};
use tally_model::AuthorityId;
use tally_p2p::{P2pHandle, PeerId};
use tally_verify::{IngestOutcome, Preverified, Signing, StoreError, Verifier};
use tokio::sync::mpsc;
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

/// Catch-ups at least this long report their progress.
const PROGRESS_AFTER: u64 = 10_000;
/// How often a long catch-up reports.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Pending sync requests: bounded, and at most one queued per peer.
#[derive(Clone)]
pub struct SyncJobs {
    tx: mpsc::Sender<PeerId>,
    queued: Arc<Mutex<HashSet<PeerId>>>,
}

/// Peers waiting for a sync round; more are dropped (the timer retries).
const MAX_QUEUED: usize = 256;

/// Verified ranges of a catch-up that may wait for the commit stage, and
/// commit together: with 512-entry ranges, up to 4,096 entries (6.7 MB of
/// sealed entries) in one transaction. The commit stage waits on its fsync
/// for about a quarter of its time, so fewer, larger commits go faster: 8
/// took clear catch-up from 20,101-24,259 to 25,644-26,950 entries/s; 16
/// gained nothing more (BENCHMARKS.md).
const GROUP_RANGES: usize = 8;

/// Ranges whose signatures are checked at once (each on its own blocking
/// thread), and fetched ahead of that check. Two took catch-up of sealed
/// entries not addressed here (no opening, a light commit) from
/// 31,448-33,568 to 39,496-40,468 entries/s and left the others level.
/// (Two range requests in flight instead of one gained nothing.)
const PREVERIFY_AT_ONCE: usize = 2;

impl SyncJobs {
    pub fn new() -> (SyncJobs, mpsc::Receiver<PeerId>) {
        let (tx, rx) = mpsc::channel(MAX_QUEUED);
        (
            SyncJobs {
                tx,
                queued: Arc::default(),
            },
            rx,
        )
    }

    pub fn request(&self, peer: PeerId) {
        let mut q = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        if q.insert(peer) && self.tx.try_send(peer).is_err() {
            q.remove(&peer);
        }
    }

    fn done(&self, peer: &PeerId) {
        self.queued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(peer);
    }
}

/// How far a long catch-up (a node back from days offline, a new node
/// pulling ten years of logs) is: said every few seconds once it is
/// [`PROGRESS_AFTER`] entries or more.
struct CatchUp<'a> {
    authority: &'a AuthorityId,
    total: u64,
    done: u64,
    started: Instant,
    last: Instant,
}

impl<'a> CatchUp<'a> {
    fn new(authority: &'a AuthorityId, total: u64) -> CatchUp<'a> {
        let started = Instant::now();
        CatchUp {
            authority,
            total,
            done: 0,
            started,
            last: started,
        }
    }

    /// `n` more entries committed.
    fn committed(&mut self, n: u64) {
        self.done += n;
        if self.total >= PROGRESS_AFTER && self.last.elapsed() >= PROGRESS_EVERY {
            self.last = Instant::now();
            tracing::info!(
                authority = %self.authority,
                done = self.done,
                of = self.total,
                elapsed_s = self.started.elapsed().as_secs(),
                "catching up"
            );
        }
    }

    /// The catch-up ended (caught up, or stopped by a failure).
    fn finished(&self) {
        if self.total >= PROGRESS_AFTER {
            tracing::info!(authority = %self.authority, done = self.done, elapsed_ms = self.started.elapsed().as_millis() as u64, "caught up");
        }
    }
}

pub struct SyncWorker {
    pub verifier: Verifier,
    pub p2p: P2pHandle,
    pub peers: Arc<PeerTable>,
    pub metrics: Metrics,
    pub jobs: SyncJobs,
    pub interval: Duration,
    pub range_limit: u32,
}

impl SyncWorker {
    pub async fn run(self, mut rx: mpsc::Receiver<PeerId>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                Some(peer) = rx.recv() => {
                    self.jobs.done(&peer);
                    self.round(peer).await;
                }
                _ = tick.tick() => {
                    self.refresh_metrics().await;
                    let connected = self.p2p.connected_peers().await.unwrap_or_default();
                    // The thread-local rng must not live across an await.
                    let pick = connected.choose(&mut rand::rng()).copied();
                    if let Some(peer) = pick {
                        self.round(peer).await;
                    }
                }
            }
        }
    }

    async fn refresh_metrics(&self) {
        let v = self.verifier.clone();
        if let Ok(Ok(heads)) = tokio::task::spawn_blocking(move || v.reader()?.heads()).await {
            for (authority, seq, _) in heads {
                self.metrics.set_entries_stored(authority.as_str(), seq);
            }
        }
    }

    /// One anti-entropy round with `peer`.
    async fn round(&self, peer: PeerId) {
        let heads = match self.p2p.heads(peer).await {
            Ok(h) => h,
            Err(e) => {
                debug!(%peer, error = %e, "heads request failed");
                return;
            }
        };
        let own = self.verifier.authority().clone();
        // The peer's head of this node's own log: (0, none) when it holds none.
        let mut own_head: (u64, Option<Vec<u8>>) = (0, None);
        for head in heads {
            let Ok(authority) = head.authority.parse::<AuthorityId>() else {
                continue;
            };
            if !self.verifier.is_trusted_authority(&authority) {
                continue;
            }
            if authority == own {
                own_head = (head.seq, Some(head.hash.clone()));
            }
            self.pull(peer, &authority, head.seq, &head.hash).await;
        }
        if self.verifier.signing().state == Signing::Recovering {
            self.confirm_recovery(peer, own_head).await;
        }
        self.pull_evidence(peer).await;
        self.peers.synced(&peer, tally_verify::now_ms());
    }

    /// While recovering its own log after a store loss: a trusted peer's
    /// Heads answer names this authority at seq S (or not at all: S = 0)
    /// and this node now holds S with the same hash: the head is confirmed,
    /// the recovery mark is cleared from the store, and signing resumes.
    async fn confirm_recovery(
        &self,
        peer: PeerId,
        (their_seq, their_hash): (u64, Option<Vec<u8>>),
    ) {
        if !self.peers.is_trusted(&peer) {
            return;
        }
        let v = self.verifier.clone();
        let done =
            tokio::task::spawn_blocking(move || v.confirm_head(their_seq, their_hash.as_deref()))
                .await;
        match done {
            Ok(Ok(Some(seq))) => info!(
                %peer, seq, their_seq,
                "a trusted peer confirmed this authority's log head: recovery done, signing resumes"
            ),
            Ok(Ok(None)) => {
                debug!(%peer, their_seq, "recovering: not caught up with the peer's head yet")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "store failed while ending the recovery"),
            Err(_) => {}
        }
    }

    /// Pulls `authority`'s log from `peer` up to `their_seq`, fetching the
    /// next range while the current one is verified and stored.
    async fn pull(&self, peer: PeerId, authority: &AuthorityId, their_seq: u64, their_hash: &[u8]) {
        let v = self.verifier.clone();
        let a = authority.clone();
        let ours = tokio::task::spawn_blocking(move || v.reader()?.head(&a))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let our_seq = ours.map_or(0, |(s, _)| s);
        if their_seq > our_seq {
            self.catch_up(peer, authority, our_seq, their_seq).await;
            return;
        }
        if their_seq == 0 {
            return;
        }
        // The peer's head is one this node holds: if this node's entry at
        // that seq has other bytes, the two sides of a fork met here; fetch
        // the peer's entry so the verifier proves the fork (the proof is
        // stored and gossiped).
        let differs = match ours {
            Some((s, h)) if s == their_seq => h.0[..] != *their_hash,
            _ => self.held_differs(authority, their_seq, their_hash).await,
        };
        if differs {
            match self
                .p2p
                .range(peer, authority.to_string(), their_seq, 1)
                .await
            {
                Ok(entries) => {
                    self.ingest(peer, entries).await;
                }
                Err(e) => debug!(%peer, %authority, error = %e, "range request failed"),
            }
        }
    }

    /// Whether this node holds entry `seq` of `authority`'s log with another
    /// hash than `hash`.
    async fn held_differs(&self, authority: &AuthorityId, seq: u64, hash: &[u8]) -> bool {
        let v = self.verifier.clone();
        let a = authority.clone();
        tokio::task::spawn_blocking(move || v.reader()?.entry_at(&a, seq))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|e| e.id().0[..] != *hash)
    }

    /// Pulls `authority`'s log from `our_seq` to `their_seq`. Three stages
    /// overlap: fetching the next range (network), checking a range's
    /// signatures and opening its sealed documents (two ranges at once, no
    /// lock),
    /// committing the ranges before (one thread, one fsync per group).
    /// Each hands over through a bounded queue.
    async fn catch_up(&self, peer: PeerId, authority: &AuthorityId, our_seq: u64, their_seq: u64) {
        let (fetched_tx, fetched_rx) = mpsc::channel(PREVERIFY_AT_ONCE);
        let (verified_tx, verified_rx) = mpsc::channel(GROUP_RANGES);
        tokio::join!(
            self.fetch_ranges(peer, authority, (our_seq, their_seq), fetched_tx),
            self.preverify_ranges(fetched_rx, verified_tx),
            self.commit_ranges(
                peer,
                authority,
                their_seq.saturating_sub(our_seq),
                verified_rx
            ),
        );
    }

    /// The fetching stage: ranges of at most `range_limit` entries, from
    /// this node's head, not after it: the first entry is normally a
    /// duplicate, and if the peer holds another entry there, the two sides
    /// of a fork met and the verifier proves it (a chain that diverged
    /// earlier differs at this seq too). Stops when the next stage does.
    async fn fetch_ranges(
        &self,
        peer: PeerId,
        authority: &AuthorityId,
        (our_seq, their_seq): (u64, u64),
        fetched: mpsc::Sender<Vec<Bytes>>,
    ) {
        let mut from = our_seq.max(1);
        while from <= their_seq {
            let entries = match self
                .p2p
                .range(peer, authority.to_string(), from, self.range_limit)
                .await
            {
                Ok(e) if !e.is_empty() => e,
                Ok(_) => return,
                Err(e) => {
                    debug!(%peer, %authority, error = %e, "range request failed");
                    return;
                }
            };
            from += entries.len() as u64;
            // Closed when the verifying stage stopped: so does this.
            if fetched.send(entries).await.is_err() {
                return;
            }
        }
    }

    /// The verifying stage: each fetched range's signatures checked and its
    /// sealed documents opened; stops at the first range that does not
    /// pass whole.
    async fn preverify_ranges(
        &self,
        mut fetched: mpsc::Receiver<Vec<Bytes>>,
        verified: mpsc::Sender<Preverified>,
    ) {
        use futures::StreamExt;
        // Two ranges at once, handed on in order: the commit stage waited
        // for one range's check while the second core sat idle.
        let mut checked = futures::stream::poll_fn(|cx| fetched.poll_recv(cx))
            .map(|entries| {
                let v = self.verifier.clone();
                async move {
                    let n = entries.len();
                    let pre = tokio::task::spawn_blocking(move || v.ingest().preverify(&entries));
                    (n, pre.await)
                }
            })
            .buffered(PREVERIFY_AT_ONCE);
        while let Some((n, pre)) = checked.next().await {
            let pre = match pre {
                Ok(Ok(pre)) => pre,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "store failed during sync");
                    return;
                }
                Err(_) => return,
            };
            let complete = pre.len() == n;
            if verified.send(pre).await.is_err() || !complete {
                return;
            }
        }
    }

    /// The committing stage. Group commit: ranges verified while the last
    /// commit ran go in together, one transaction and one fsync (the commit
    /// stage waited on its fsync for a third of its time).
    async fn commit_ranges(
        &self,
        peer: PeerId,
        authority: &AuthorityId,
        total: u64,
        mut verified: mpsc::Receiver<Preverified>,
    ) {
        let mut progress = CatchUp::new(authority, total);
        while let Some(mut pre) = verified.recv().await {
            for _ in 1..GROUP_RANGES {
                let Ok(next) = verified.try_recv() else { break };
                if let Err(next) = pre.append(next) {
                    // Cannot happen (a range stops the stages at its
                    // failure); committed on its own if it did.
                    if !self.commit(peer, pre).await {
                        return;
                    }
                    pre = *next;
                }
            }
            let n = pre.len() as u64;
            if !self.commit(peer, pre).await {
                return;
            }
            progress.committed(n);
        }
        progress.finished();
    }

    /// Commits a pre-verified range; true when every entry was stored or
    /// already held.
    async fn commit(&self, peer: PeerId, pre: Preverified) -> bool {
        let v = self.verifier.clone();
        let n = pre.len();
        let outcomes = tokio::task::spawn_blocking(move || v.ingest().commit(pre)).await;
        self.all_held(peer, n, outcomes)
    }

    /// Fetches the peer's equivocation proofs: gossip may have carried them
    /// while this node was offline.
    async fn pull_evidence(&self, peer: PeerId) {
        let proofs = match self.p2p.evidence(peer).await {
            Ok(p) => p,
            Err(e) => {
                debug!(%peer, error = %e, "evidence request failed");
                return;
            }
        };
        if proofs.is_empty() {
            return;
        }
        let v = self.verifier.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for p in proofs {
                if let Err(e) = v.ingest().proof(&p) {
                    tracing::warn!(error = %e, "store failed while storing a proof");
                    return;
                }
            }
        })
        .await;
    }

    /// Ingests a range; true when every entry was stored or already held.
    async fn ingest(&self, peer: PeerId, entries: Vec<Bytes>) -> bool {
        let v = self.verifier.clone();
        let n = entries.len();
        let outcomes = tokio::task::spawn_blocking(move || v.ingest().many(&entries)).await;
        self.all_held(peer, n, outcomes)
    }

    /// Counts the outcomes of a range of `n` entries stored on the blocking
    /// pool; true when every one was stored or already held.
    fn all_held(
        &self,
        peer: PeerId,
        n: usize,
        outcomes: Result<Result<Vec<IngestOutcome>, StoreError>, JoinError>,
    ) -> bool {
        let outcomes = match outcomes {
            Ok(Ok(o)) => o,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "store failed during sync");
                return false;
            }
            Err(_) => return false,
        };
        self.count(peer, &outcomes) && outcomes.len() == n
    }

    /// Counts outcomes in the metrics ([`IngestOutcome::sync_acceptance`]);
    /// false if any entry was not stored.
    fn count(&self, peer: PeerId, outcomes: &[IngestOutcome]) -> bool {
        let mut complete = true;
        for o in outcomes {
            if let IngestOutcome::Rejected(r) = o {
                debug!(%peer, reason = %r.reason(), "synced entry rejected");
                self.metrics.entry_refused(Source::Sync, r.label());
            }
            self.metrics
                .entry_outcome(Source::Sync, verdict::outcome(o.sync_acceptance()));
            complete &= o.is_held();
        }
        complete
    }
}
