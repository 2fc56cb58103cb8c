//! Slow clients against a whole `tally` process (the operational
//! limits of docs/API.md): a connection whose request headers never finish is closed
//! within the 10 s header timeout, and `/v1/health` still answers within
//! 12 s while 2,000 such connections are held, at the default
//! `api.max_connections` (1,024: the rest wait in the listen backlog until
//! the held ones time out). Loopback only.

use super::rig::Proc;
use anyhow::{Context, Result, ensure};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const US: &str = "US-DDTC";
/// Request headers that never end (no blank line).
const PARTIAL: &[u8] = b"GET /v1/health HTTP/1.1\r\nHost: tally\r\nX-Slow: 1\r\n";
const HELD: usize = 2000;
/// docs/API.md: headers must arrive within 10 s.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// What the issue allows health while the connections are held.
const HEALTH_WITHIN: Duration = Duration::from_secs(12);

/// How long until the server closes `s` (EOF or reset), at most `limit`.
async fn closed_after(s: &mut TcpStream, since: Instant, limit: Duration) -> Result<Duration> {
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    read.with_context(|| format!("still open after {limit:?}"))?;
    Ok(since.elapsed())
}

/// `GET /v1/health` over a fresh connection, by hand (no client pool):
/// the status line's code.
async fn health(addr: &str) -> Result<u16> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"GET /v1/health HTTP/1.1\r\nHost: tally\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("no status line in {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_headers_are_closed_and_health_answers_under_two_thousand() -> Result<()> {
    // Both this test's ends and the node's need descriptors: the node
    // raises its own limit at start; this process raises its here.
    if let Ok((soft, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        && soft < hard
    {
        let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard);
    }
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    if soft < HELD as u64 + 256 {
        eprintln!("skipped: the open-file limit ({soft}) is below {HELD} connections");
        return Ok(());
    }
    let root = tempfile::tempdir()?;
    let mut us = Proc::init(root.path(), US)?;
    us.start().await?;
    let addr = us
        .base
        .strip_prefix("http://")
        .context("the API base is http://")?
        .to_owned();

    // One partial connection alone: closed within the header timeout.
    let mut one = TcpStream::connect(&addr).await?;
    let since = Instant::now();
    one.write_all(PARTIAL).await?;
    let took = closed_after(&mut one, since, HEADER_TIMEOUT + Duration::from_secs(5)).await?;
    eprintln!("  a partial-header connection was closed after {took:?}");
    ensure!(
        took >= HEADER_TIMEOUT - Duration::from_secs(2)
            && took <= HEADER_TIMEOUT + Duration::from_secs(1),
        "a partial-header connection was closed after {took:?}"
    );

    // 2,000 of them held at once, opened together (one after another
    // they took 11 s on a loaded machine: the first had timed out by then).
    let since = Instant::now();
    let mut held = futures::future::try_join_all((0..HELD).map(|_| async {
        let mut s = TcpStream::connect(&addr).await?;
        s.write_all(PARTIAL).await?;
        anyhow::Ok(s)
    }))
    .await?;
    let opened = since.elapsed();
    eprintln!("  {HELD} partial connections opened in {opened:?}");
    ensure!(
        opened < HEADER_TIMEOUT / 2,
        "opening {HELD} connections took {opened:?}: they were not all held at once"
    );
    let asked = Instant::now();
    let status = tokio::time::timeout(HEALTH_WITHIN, health(&addr))
        .await
        .with_context(|| format!("health did not answer within {HEALTH_WITHIN:?}"))??;
    let latency = asked.elapsed();
    eprintln!("  health answered {status} in {latency:?} with {HELD} partial connections held");
    ensure!(status == 200, "health: {status}");

    // Every held connection is closed by the server in the end: the first
    // batch at the timeout, the ones that waited for a slot after theirs.
    let deadline = 2 * HEADER_TIMEOUT + Duration::from_secs(5);
    let mut latest = Duration::ZERO;
    for s in &mut held {
        let left = deadline.saturating_sub(since.elapsed());
        latest = latest.max(closed_after(s, since, left).await?);
    }
    eprintln!("  all {HELD} closed by the server within {latest:?}");
    ensure!(us.is_running(), "the node died");
    us.health().await?;
    Ok(())
}
