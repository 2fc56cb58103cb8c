//! `ingest_per_s`: a fresh node B catches up node A's log over real libp2p
//! on loopback (both in this process), until B's head equals A's: every
//! entry verified (batch), chain-checked and durably committed by B.

use crate::fixtures::{Docs, LogWriter, NodeSetup, temp_root};
use crate::progress;
use std::time::{Duration, Instant};
use tally_model::Document;
use tally_node::Node;

pub struct Ingest {
    pub entries: u64,
    pub per_s: f64,
    /// From B's start to its first entry of A (start-up, dial, handshake, first range).
    pub first_entry_ms: f64,
}

pub async fn run(quick: bool) -> anyhow::Result<Ingest> {
    let n: u64 = if quick { 20_000 } else { 100_000 };
    let root = temp_root("tally-bench-ingest-")?;
    let a = NodeSetup::init(&root.path().join("a"), "US-SRC")?;
    let b = NodeSetup::init(&root.path().join("b"), "MX-DST")?;
    a.trust([b.card.clone()])?;
    b.trust([a.card.clone()])?;

    progress!("ingest: filling node A with {n} entries");
    {
        let store = a.open_store()?;
        let mut w = LogWriter::new("US-SRC", a.authority_key()?);
        let docs = Docs::new();
        tokio::task::block_in_place(|| {
            crate::fixtures::fill(&store, &mut w, n, 4096, "node A", |i| {
                Document::License(docs.export(i, "MX-SEDENA"))
            })
        })?;
    }
    let node_a = Node::start(&a.dir).await?;
    let authority = a.card.authority.clone();

    progress!("ingest: starting node B; timing until B holds all {n} entries");
    let t0 = Instant::now();
    let node_b = Node::start(&b.dir).await?;
    let store = node_b.verifier().store().clone();
    let mut first = None;
    let deadline = Duration::from_secs(if quick { 300 } else { 900 });
    let mut last_report = Instant::now();
    loop {
        let seq = store.head(&authority)?.map_or(0, |(s, _)| s);
        if seq > 0 && first.is_none() {
            first = Some(t0.elapsed());
        }
        if seq >= n {
            break;
        }
        if t0.elapsed() > deadline {
            anyhow::bail!("node B holds {seq} of {n} entries after {deadline:?}");
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            progress!(
                "  node B: {seq}/{n} ({:.0}/s)",
                seq as f64 / t0.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = t0.elapsed();
    let per_s = n as f64 / elapsed.as_secs_f64();
    progress!(
        "ingest: {n} entries in {:.2} s = {per_s:.0}/s (first entry after {:.0} ms)",
        elapsed.as_secs_f64(),
        first.unwrap_or_default().as_secs_f64() * 1000.0
    );
    node_b.shutdown().await;
    node_a.shutdown().await;
    Ok(Ingest {
        entries: n,
        per_s,
        first_entry_ms: first.unwrap_or_default().as_secs_f64() * 1000.0,
    })
}
