//! `startup_ms_small` / `startup_ms_large`: the start-up after a clean stop
//! of a node holding 50,000 licenses, then of one holding 250,000, in the
//! quick run, so that it shows whether start-up still grows with history
//! (the full run's `startup_ms_at_1m` is the same measure at a million).

use crate::api::{build, start_ups};
use crate::progress;

/// The larger store's licenses (the smaller is the quick API bench's).
pub const LARGE: u64 = 250_000;

/// The median of three start-ups of a node of `LARGE` licenses.
pub async fn large() -> anyhow::Result<f64> {
    let node = tokio::task::block_in_place(|| build(LARGE))?;
    progress!(
        "start-up: store of {} entries built in {:.1} s, {:.0} MB on disk",
        node.entries,
        node.build_s,
        node.disk_bytes as f64 / 1e6
    );
    let (p, mut startups) = start_ups(&node).await?;
    tokio::task::block_in_place(|| p.stop())?;
    startups.sort_by(f64::total_cmp);
    Ok(startups[1])
}
