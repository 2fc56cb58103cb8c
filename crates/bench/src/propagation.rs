//! `propagation_p50_ms` / `propagation_p99_ms`: nodes in one process, each
//! trusting every other (a full mesh of connections); an entry is issued at
//! one node (in turn) and timed from the `issue` call until every node has
//! stored it durably.

use crate::fixtures::{Docs, NodeSetup, percentile, rss_mb, temp_root};
use crate::progress;
use std::path::Path;
use std::time::{Duration, Instant};
use tally_model::{AuthorityId, License};
use tally_node::Node;
use tally_verify::Verifier;

pub struct Propagation {
    pub nodes: usize,
    pub entries: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Per (entry, receiving node): how long until that node had it.
    pub each_p50_ms: f64,
    pub each_p99_ms: f64,
    pub connect_s: f64,
    pub rss_mb: f64,
    pub timeouts: usize,
}

pub async fn run(quick: bool) -> anyhow::Result<Propagation> {
    let (n, count): (usize, usize) = if quick { (10, 50) } else { (50, 200) };
    let root = temp_root("tally-bench-prop-")?;
    let (nodes, connect_s) = full_mesh(root.path(), n).await?;
    // Let gossipsub subscriptions and meshes settle (a few heartbeats).
    tokio::time::sleep(Duration::from_secs(3)).await;

    let stores: Vec<Verifier> = nodes.iter().map(|n| n.verifier().clone()).collect();
    let docs = Docs::new();
    let warmup = n.min(5);
    let mut all = Vec::new();
    let mut each = Vec::new();
    let mut timeouts = 0;
    for k in 0..warmup + count {
        let issuer = k % n;
        let v = nodes[issuer].verifier().clone();
        let license = docs.export(k as u64, "MX-SEDENA");
        let stores = stores.clone();
        let spread =
            tokio::task::spawn_blocking(move || issue_and_wait(&v, license, &stores, issuer))
                .await?;
        if k >= warmup {
            all.push(spread.latest);
            each.extend(spread.per_node);
            timeouts += usize::from(spread.timed_out);
        }
        if (k + 1) % 25 == 0 {
            progress!(
                "  {}/{} entries, last {:.1} ms",
                k + 1,
                warmup + count,
                spread.latest
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rss = rss_mb(None).unwrap_or(f64::NAN);
    progress!("propagation: stopping {n} nodes");
    let mut set = tokio::task::JoinSet::new();
    for node in nodes {
        set.spawn(node.shutdown());
    }
    while set.join_next().await.is_some() {}
    all.sort_by(f64::total_cmp);
    each.sort_by(f64::total_cmp);
    let out = Propagation {
        nodes: n,
        entries: count,
        p50_ms: percentile(&all, 50.0),
        p99_ms: percentile(&all, 99.0),
        max_ms: all.last().copied().unwrap_or(f64::NAN),
        each_p50_ms: percentile(&each, 50.0),
        each_p99_ms: percentile(&each, 99.0),
        connect_s,
        rss_mb: rss,
        timeouts,
    };
    progress!(
        "propagation: all {n} nodes: p50 {:.1} ms p99 {:.1} ms max {:.1} ms; per node p50 {:.1} ms p99 {:.1} ms",
        out.p50_ms,
        out.p99_ms,
        out.max_ms,
        out.each_p50_ms,
        out.each_p99_ms
    );
    Ok(out)
}

/// `n` nodes under `root`, each trusting every other, started and
/// connected to all the others; with the seconds the mesh took.
async fn full_mesh(root: &Path, n: usize) -> anyhow::Result<(Vec<Node>, f64)> {
    progress!("propagation: initialising {n} nodes");
    let mut setups = Vec::new();
    for i in 0..n {
        let authority = format!("US-P{i:02}");
        setups.push(NodeSetup::init(&root.join(&authority), &authority)?);
    }
    let cards: Vec<_> = setups.iter().map(|s| s.card.clone()).collect();
    for s in &setups {
        s.trust(cards.iter().cloned())?;
    }
    let mut nodes = Vec::new();
    for s in &setups {
        nodes.push(Node::start(&s.dir).await?);
    }
    let t = Instant::now();
    progress!(
        "propagation: waiting for the full mesh ({} connections)",
        n * (n - 1) / 2
    );
    loop {
        let mut missing = 0;
        for node in &nodes {
            let c = node.p2p().connected_peers().await.unwrap_or_default().len();
            missing += (n - 1).saturating_sub(c);
        }
        if missing == 0 {
            break;
        }
        if t.elapsed() > Duration::from_secs(120) {
            anyhow::bail!("{missing} peer links still missing after 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_s = t.elapsed().as_secs_f64();
    progress!(
        "propagation: full mesh after {connect_s:.1} s; process RSS {:.0} MB",
        rss_mb(None).unwrap_or(f64::NAN)
    );
    Ok((nodes, connect_s))
}

/// How one entry reached the other nodes.
struct Spread {
    /// When the last receiving node had it, ms after the issue began.
    latest: f64,
    /// When each receiving node had it (the deadline for those that never did).
    per_node: Vec<f64>,
    /// Some node did not have it within the deadline.
    timed_out: bool,
}

/// Issues `license` at `v` (node `issuer`) and polls every store until each
/// holds it durably, or 30 s have passed.
fn issue_and_wait(v: &Verifier, license: License, stores: &[Verifier], issuer: usize) -> Spread {
    let authority: AuthorityId = v.authority().clone();
    let t0 = Instant::now();
    let issued = v.issuer().issue(license).expect("issue");
    let seq = issued.entry.seq;
    let mut seen: Vec<Option<f64>> = vec![None; stores.len()];
    let deadline = Duration::from_secs(30);
    loop {
        let mut left = 0;
        for (i, s) in stores.iter().enumerate() {
            if seen[i].is_none() {
                if s.reader()
                    .and_then(|r| r.head(&authority))
                    .ok()
                    .flatten()
                    .is_some_and(|(h, _)| h >= seq)
                {
                    seen[i] = Some(t0.elapsed().as_secs_f64() * 1000.0);
                } else {
                    left += 1;
                }
            }
        }
        if left == 0 || t0.elapsed() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let timed_out = seen.iter().any(Option::is_none);
    let per_node: Vec<f64> = seen
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != issuer)
        .map(|(_, s)| s.unwrap_or(deadline.as_secs_f64() * 1000.0))
        .collect();
    let latest = per_node.iter().copied().fold(0.0, f64::max);
    Spread {
        latest,
        per_node,
        timed_out,
    }
}
