//! A damaged store is found, not served: `tally verify-store` says so (exit
//! 1), and a node started on it reports degraded health and refuses writes.

use super::docs;
use super::rig::{Proc, eventually, path_str, tally};
use anyhow::{Result, ensure};
use std::time::Duration;

const US: &str = "US-DDTC";
const WAIT: Duration = Duration::from_secs(30);

/// Regression (issue: a damaged store was served): US issues documents and
/// stops; bytes in the middle of its store file are flipped.
/// `tally verify-store` exits 1 naming the damage (it did not exist
/// before), and `tally run` on the store answers `/v1/health` 503
/// `degraded` (it answered 200 and served the damaged store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_found_and_reported_not_served() -> Result<()> {
    let root = tempfile::tempdir()?;
    let mut us = Proc::init(root.path(), US)?;
    us.start().await?;
    for i in 0..40 {
        us.issue(&docs::import(&format!("IC-US-{i}"), "US", "MX"))
            .await?;
    }
    us.sigterm(WAIT).await?;
    let dir = path_str(&us.dir)?.to_owned();

    let sound = tally(&["verify-store", "--dir", &dir])?;
    let out = String::from_utf8_lossy(&sound.stdout);
    ensure!(
        sound.status.success(),
        "a sound store: {}\n{out}{}",
        sound.status,
        String::from_utf8_lossy(&sound.stderr)
    );
    ensure!(out.contains("40 entries"), "{out}");

    let file = us.dir.join("store").join("store.redb");
    let mut bytes = std::fs::read(&file)?;
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 4096] {
        *b ^= 0x5A;
    }
    std::fs::write(&file, &bytes)?;

    let damaged = tally(&["verify-store", "--dir", &dir])?;
    let out = String::from_utf8_lossy(&damaged.stdout);
    ensure!(
        damaged.status.code() == Some(1),
        "a damaged store: {}\n{out}{}",
        damaged.status,
        String::from_utf8_lossy(&damaged.stderr)
    );
    ensure!(out.contains("DAMAGED"), "{out}");

    us.start_answering().await?;
    let (status, body) = eventually("US reports a degraded health", WAIT, async || {
        let (status, body) = us.health_answer().await?;
        ensure!(status == 503, "health: {status} {body}");
        Ok((status, body))
    })
    .await?;
    ensure!(
        status == 503 && body["status"] == "degraded",
        "{status} {body}"
    );
    ensure!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("damaged")),
        "{body}"
    );
    let (status, body) = us.try_issue(&docs::import("IC-US-X", "US", "MX")).await?;
    ensure!(
        status == 503 && body["error"]["code"] == "unavailable",
        "{status} {body}"
    );
    us.sigterm(WAIT).await?;
    Ok(())
}
