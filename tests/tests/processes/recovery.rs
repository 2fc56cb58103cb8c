//! A node that lost its store (keys kept) must not fork its own log: it
//! recovers the log from a trusted peer before it signs again.

use super::docs;
use super::rig::{Net, eventually};
use anyhow::{Context, Result, ensure};
use std::time::Duration;

const US: &str = "US-DDTC";
const MX: &str = "MX-SEDENA";
const WAIT: Duration = Duration::from_secs(30);

/// US issues 1-4 (MX holds them); MX stops; US's store is deleted and US
/// restarts: issuing answers 503 `unavailable` and `/v1/status` says
/// `recovering` (on the code before the fix, US issued a new seq 1 and the
/// two States kept different US logs with no proof anywhere). MX comes
/// back: US catches up to seq 4, then issues seq 5; no proof on either node.
/// (Each seq counts after the entries US's log opens with: its own key
/// announcements.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_its_store_recovers_its_log_before_it_signs() -> Result<()> {
    let mut net = Net::init(&[US, MX])?;
    net.trust_all()?;
    net.start_all().await?;
    // US's log opens with its own key announcements (k entries).
    let k = net.own_heads().await?[US];
    for i in 1..=4 {
        net.node(US)
            .issue(&docs::import(&format!("IC-US-{i}"), "US", "MX"))
            .await?;
    }
    let old = eventually("MX holds US 1-4", WAIT, async || {
        let heads = net.node(MX).heads().await?;
        let h = heads.get(US).context("no US log at MX")?;
        ensure!(h.seq == k + 4, "MX holds US at {}", h.seq);
        Ok(h.clone())
    })
    .await?;
    net.node_mut(MX).sigterm(WAIT).await?;

    // The disk is lost; the keys were kept.
    net.node_mut(US).sigterm(WAIT).await?;
    let store = net.node(US).dir.join("store");
    std::fs::remove_dir_all(&store)?;
    net.node_mut(US).start().await?;

    let doc = docs::import("IC-US-NEW", "US", "MX");
    let (status, body) = net.node(US).try_issue(&doc).await?;
    ensure!(status == 503, "issuing while recovering: {status} {body}");
    ensure!(body["error"]["code"] == "unavailable", "{body}");
    let st = net.node(US).get("/v1/status").await?;
    ensure!(st["signing"] == "recovering", "{st}");
    ensure!(st["reason"].is_string(), "{st}");

    net.node_mut(MX).start().await?;
    eventually("US recovers its log and signs again", WAIT, async || {
        let st = net.node(US).get("/v1/status").await?;
        ensure!(st["signing"] == "ok", "{st}");
        Ok(())
    })
    .await?;
    let heads = net.node(US).heads().await?;
    ensure!(
        heads.get(US) == Some(&old),
        "US's head after recovery: {heads:?}"
    );

    let next = net.node(US).issue(&doc).await?;
    ensure!(next.seq == k + 5, "the next entry is seq {}", next.seq);
    eventually("MX holds US seq 5", WAIT, async || {
        let heads = net.node(MX).heads().await?;
        ensure!(heads.get(US) == Some(&next), "{heads:?}");
        Ok(())
    })
    .await?;
    for n in [US, MX] {
        let ev = net.node(n).evidence().await?;
        ensure!(ev.is_empty(), "{n} holds proofs: {ev:?}");
    }
    net.pass();
    Ok(())
}
