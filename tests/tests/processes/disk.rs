//! A full disk under a whole `tally` process (issue "hardening"): its node
//! directory on a small tmpfs, filled by a ballast file and by issuing.
//! Writes answer 503 `unavailable` naming the cause, health is degraded
//! with the reason, `tally_store_writable` is 0; once the ballast goes the
//! node re-opens its store on the next write and writes again, and every
//! acknowledged document is there, also after a restart.

use super::docs;
use super::rig::{Proc, check_chain, eventually, path_str};
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const US: &str = "US-DDTC";
/// The tmpfs: room for the node's files, a ballast, and some documents.
const TMPFS_BYTES: u64 = 8 << 20;
/// Free space left beside the ballast once the node runs.
const HEADROOM_BYTES: u64 = 1 << 20;
/// At most this many documents before the disk must be full.
const MAX_DOCUMENTS: usize = 20_000;
/// At most this many documents go in while the disk stays full (into the
/// room a re-open gives back).
const MAX_ON_FULL: usize = 50;
const WAIT: Duration = Duration::from_secs(30);

/// A tmpfs mounted by the test; unmounted (lazily, so a process still
/// holding a file cannot keep it) when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `bytes` on `dir`; `None` (with the reason) when
    /// this environment does not permit mounting.
    fn mount(dir: &Path, bytes: u64) -> Result<Result<Tmpfs, String>> {
        std::fs::create_dir_all(dir)?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Ok(Ok(Tmpfs(dir.to_path_buf()))),
            Ok(o) => Ok(Err(format!(
                "mount -t tmpfs failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            ))),
            Err(e) => Ok(Err(format!("cannot run mount: {e}"))),
        }
    }

    /// Bytes free on it.
    fn available(&self) -> Result<u64> {
        let out = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&self.0)
            .output()?;
        ensure!(out.status.success(), "df failed: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .with_context(|| format!("df printed {out:?}"))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `bytes` of incompressible data (tmpfs does not compress, but a
/// sparse file would take no room) to `path`.
fn ballast(path: &Path, bytes: u64) -> Result<()> {
    let chunk: Vec<u8> = (0..64 * 1024).map(|_| rand::random::<u8>()).collect();
    let mut f = std::fs::File::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        std::io::Write::write_all(&mut f, &chunk[..n])?;
        left -= n as u64;
    }
    Ok(())
}

/// Issues network-visible documents, noting each acknowledged number in
/// `acknowledged`, until one is refused (its status and body); fails once
/// `acknowledged` holds `most`.
async fn issue_until_refused(
    us: &Proc,
    acknowledged: &mut Vec<String>,
    most: usize,
    what: &str,
) -> Result<(u16, serde_json::Value)> {
    loop {
        ensure!(acknowledged.len() < most, "{most} documents: {what}");
        let mut doc = docs::any(US, "FULL", acknowledged.len());
        doc["visibility"] = serde_json::json!("network");
        let (status, body) = us.try_issue(&doc).await?;
        match status {
            201 => acknowledged.push(doc["number"].as_str().context("number")?.to_owned()),
            _ => return Ok((status, body)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_degrades_health_and_writes_resume_when_space_returns() -> Result<()> {
    let root = tempfile::tempdir()?;
    let mnt = root.path().join("disk");
    let tmpfs = match Tmpfs::mount(&mnt, TMPFS_BYTES)? {
        Ok(t) => t,
        Err(why) => {
            eprintln!("skipped: {why} (the test mounts a tmpfs and needs root)");
            return Ok(());
        }
    };
    let mut us = Proc::init_at(mnt.join(US), root.path().join("US.log"), US)?;
    let result = fill_and_recover(&mut us, &tmpfs).await;
    if result.is_err() {
        eprintln!("----- {US} log tail -----\n{}", us.log_tail(80));
    }
    drop(us);
    drop(tmpfs);
    result
}

async fn fill_and_recover(us: &mut Proc, tmpfs: &Tmpfs) -> Result<()> {
    us.start().await?;
    // The entries the log opens with (the node's own key announcements).
    let own = us.log(US).await?.len();
    let ballast_file = tmpfs.0.join("ballast");
    let free = tmpfs.available()?;
    ensure!(free > HEADROOM_BYTES, "only {free} bytes free on the tmpfs");
    ballast(&ballast_file, free - HEADROOM_BYTES)?;

    // Issue until the disk is full.
    let mut acknowledged = Vec::new();
    let (status, body) =
        issue_until_refused(us, &mut acknowledged, MAX_DOCUMENTS, "the disk is not full").await?;
    let before_full = acknowledged.len();
    eprintln!("  {before_full} documents acknowledged before the disk was full");
    ensure!(before_full > 0, "nothing was acknowledged: {status} {body}");
    ensure!(
        status == 503 && body["error"]["code"] == "unavailable",
        "a write on a full disk: {status} {body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("No space left") || message.contains("os error 28"),
        "the 503 does not name the cause: {message}"
    );
    let (status, health) = us.health_answer().await?;
    ensure!(
        status == 503 && health["status"] == "degraded",
        "health on a full disk: {status} {health}"
    );
    let reason = health["reason"].as_str().unwrap_or_default();
    ensure!(
        reason.contains("No space left") || reason.contains("os error 28"),
        "health's reason: {reason}"
    );
    ensure!(
        us.metric("tally_store_writable").await? == 0.0
            && us.metric("tally_store_write_faults_total").await? >= 1.0,
        "metrics on a full disk:\n{}",
        us.metrics().await?
    );
    // While the disk stays full, writes re-open the store and fail again,
    // and reads keep working on the re-opened store. The re-open gives back
    // the room the failed write had taken (a few pages on the tmpfs), which
    // can hold a few small writes before the next refusal: those are
    // acknowledged like any other (and checked below).
    for _ in 0..3 {
        let (status, body) = issue_until_refused(
            us,
            &mut acknowledged,
            before_full + MAX_ON_FULL,
            &format!("{MAX_ON_FULL} writes went in on a full disk"),
        )
        .await?;
        ensure!(
            status == 503,
            "a write on a still full disk: {status} {body}"
        );
        us.get(&format!("/v1/licenses/{US}/{}", acknowledged[0]))
            .await
            .context("a read while the disk is full")?;
    }
    ensure!(
        us.health_answer().await?.0 == 503,
        "health while the disk stays full"
    );

    // Space returns: the next write re-opens the store and goes in.
    std::fs::remove_file(&ballast_file)?;
    let freed = Instant::now();
    let mut n = acknowledged.len();
    eventually("a write after space returned", WAIT, async || {
        let mut doc = docs::any(US, "FULL", n);
        doc["visibility"] = serde_json::json!("network");
        let (status, body) = us.try_issue(&doc).await?;
        match status {
            201 => {
                acknowledged.push(doc["number"].as_str().context("number")?.to_owned());
                n += 1;
                Ok(())
            }
            // A number whose write failed may have been taken by a retry.
            409 => {
                n += 1;
                bail!("409 {body}")
            }
            _ => bail!("{status} {body}"),
        }
    })
    .await?;
    eprintln!(
        "  writes resumed {:.0} ms after space returned",
        freed.elapsed().as_secs_f64() * 1000.0
    );
    for i in 0..10 {
        let mut doc = docs::any(US, "AFTER", i);
        doc["visibility"] = serde_json::json!("network");
        us.issue(&doc).await?;
        acknowledged.push(doc["number"].as_str().context("number")?.to_owned());
    }
    let (status, health) = us.health_answer().await?;
    ensure!(status == 200, "health after recovery: {status} {health}");
    ensure!(
        us.metric("tally_store_writable").await? == 1.0,
        "tally_store_writable after recovery"
    );

    let all_there = async |us: &Proc, when: &str| -> Result<()> {
        for number in &acknowledged {
            us.get(&format!("/v1/licenses/{US}/{number}"))
                .await
                .with_context(|| format!("{number}, acknowledged, is missing {when}"))?;
        }
        let log = us.log(US).await?;
        check_chain(US, &log)?;
        ensure!(
            log.len() == own + acknowledged.len(),
            "{} entries in US's log {when}, {own} its own and {} acknowledged",
            log.len(),
            acknowledged.len()
        );
        Ok(())
    };
    all_there(us, "after recovery").await?;

    let status = us.sigterm(WAIT).await?;
    ensure!(status.success(), "SIGTERM: {status}");
    us.start().await?;
    all_there(us, "after a restart").await?;
    let (status, health) = us.health_answer().await?;
    ensure!(status == 200, "health after the restart: {status} {health}");
    let status = us.sigterm(WAIT).await?;
    ensure!(status.success(), "SIGTERM: {status}");
    let out = super::rig::tally(&["verify-store", "--dir", path_str(&us.dir)?])?;
    ensure!(
        out.status.success(),
        "verify-store after the full disk: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}
