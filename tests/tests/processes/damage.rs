//! A damaged store is found, not served: `tally verify-store` says so (exit
//! 1), and a node started on it reports degraded health and refuses writes;
//! damage only the background check finds (the engine's own check passes)
//! turns every read and check route to 503 once it is found.

use super::docs;
use super::rig::{Proc, eventually, path_str, tally};
use anyhow::{Context, Result, ensure};
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
    // Forty documents after the node's own key announcements.
    let entries = us.heads().await?.get(US).map_or(0, |h| h.seq);
    ensure!(entries >= 40, "{entries}");
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
    ensure!(out.contains(&format!("{entries} entries")), "{out}");

    let file = us.dir.join("store").join("store.redb");
    let mut bytes = std::fs::read(&file)?;
    // The middle 16 KiB: pages of the log whatever the store's exact
    // layout (4 KiB there could fall on a free page).
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid - 8192..mid + 8192] {
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
    // Nothing is read from it either (it answered from an empty stand-in).
    for path in [
        "/v1/log/US-DDTC",
        "/v1/licenses/US-DDTC/IC-US-1",
        "/v1/alerts",
    ] {
        let (status, body) = us.answer(reqwest::Method::GET, path, None).await?;
        ensure!(
            status == 503 && body["error"]["code"] == "unavailable",
            "{path}: {status} {body}"
        );
    }
    us.sigterm(WAIT).await?;
    Ok(())
}

/// Regression (issue 20: when the check failed the node still answered
/// reads and verdicts): US issues licenses and stops; one old entry of its
/// log is altered in place through the engine (one byte of its signature
/// flipped, as a foreign writer or bit rot beneath the engine's checksums
/// would), so the engine's integrity check and the head check before serving
/// both pass. The node starts serving, its background check walks the logs,
/// finds the entry, and from then on every read and check route answers 503
/// `unavailable` (the log and a license among them), health answers 503
/// `degraded` with the reason, `/v1/status` gives it, and `/metrics` still
/// answers. Polled under a timeout: the check runs after the node serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_check_turns_a_damaged_store_to_503() -> Result<()> {
    use reqwest::Method;
    use serde_json::json;
    let root = tempfile::tempdir()?;
    let mut us = Proc::init(root.path(), US)?;
    us.start().await?;
    for i in 0..12 {
        us.issue(&docs::import(&format!("IC-US-{i}"), "US", "MX"))
            .await?;
    }
    // Sound: the routes answer.
    let (status, body) = us
        .answer(Method::GET, "/v1/licenses/US-DDTC/IC-US-1", None)
        .await?;
    ensure!(status == 200, "{status} {body}");
    // The background check of a sound store goes to the end and says so.
    eventually(
        "US's background check finds its store sound",
        WAIT,
        async || {
            let status = us.get("/v1/status").await?;
            ensure!(status["store"]["check"] == "sound", "{status}");
            Ok(())
        },
    )
    .await?;
    us.sigterm(WAIT).await?;

    // Flip the last byte (in the signature) of US's entry 3, in place.
    let store_dir = us.dir.join("store");
    {
        let engine = tally_store::engine::open(&store_dir, tally_store::EngineKind::Redb)?;
        let key = tally_store::keys::log(US, 3);
        let mut value = engine.get(&key)?.context("entry 3 is stored")?;
        let last = value.len() - 1;
        value[last] ^= 0x01;
        engine.commit(vec![tally_store::engine::Op::Put(key, value)])?;
    }
    ensure!(
        tally_store::check_engine(&store_dir, tally_store::EngineKind::Redb)?.is_none(),
        "the engine's own check must not see this damage"
    );

    us.start_answering().await?;
    let (_, health) = eventually("US's background check finds the damage", WAIT, async || {
        let (status, body) = us.health_answer().await?;
        ensure!(status == 503, "health: {status} {body}");
        Ok((status, body))
    })
    .await?;
    ensure!(health["status"] == "degraded", "{health}");
    let reason = health["reason"].as_str().unwrap_or_default().to_owned();
    ensure!(
        reason.contains("damaged") && reason.contains("seq 3"),
        "{health}"
    );

    let verify = json!({
        "license": {"authority": US, "number": "IC-US-1"},
        "checkpoint": {"country": "US", "port": "USPRT", "direction": "entry"},
        "items": [{"line": 1, "quantity": 1}],
    });
    for (method, path, body) in [
        (Method::GET, "/v1/log/US-DDTC", None),
        (Method::GET, "/v1/licenses/US-DDTC/IC-US-1", None),
        (Method::GET, "/v1/alerts", None),
        (Method::GET, "/v1/authorities", None),
        (Method::GET, "/v1/evidence", None),
        (
            Method::GET,
            "/v1/shipments?authority=US-DDTC&number=IC-US-1",
            None,
        ),
        (Method::POST, "/v1/shipments/verify", Some(&verify)),
    ] {
        let (status, answer) = us.answer(method.clone(), path, body).await?;
        ensure!(
            status == 503 && answer["error"]["code"] == "unavailable",
            "{method} {path}: {status} {answer}"
        );
        ensure!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("damaged")),
            "{method} {path}: {answer}"
        );
    }
    let status = us.get("/v1/status").await?;
    ensure!(status["store"]["status"] == "damaged", "{status}");
    ensure!(
        status["store"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("seq 3")),
        "{status}"
    );
    ensure!(
        status["logs"] == json!([]),
        "no heads from a damaged store: {status}"
    );
    let metrics = us.metrics().await?;
    ensure!(
        metrics.contains("tally_store_writable 0"),
        "metrics answer, and say so: {metrics}"
    );
    let (code, body) = us.try_issue(&docs::import("IC-US-X", "US", "MX")).await?;
    ensure!(
        code == 503 && body["error"]["code"] == "unavailable",
        "{code} {body}"
    );
    us.sigterm(WAIT).await?;
    Ok(())
}

/// Issue 28, finding 9 (re-probe): with a released build of the engine,
/// one byte flipped at the start of some 4 KiB pages of a 40-license store
/// made a read after the engine's own check panic: `tally run` exited 101 at
/// start-up (the node's card read its rotated keys) instead of answering
/// 503, `tally verify-store` exited 101 (the hash index read, then closing
/// the store) instead of 1, and SIGTERM ended the node with 101 (closing
/// the store). Each page hit in turn: the check exits 0 (sound) or 1
/// (damaged); a node started on the same damage answers, its log answers
/// 503 whenever its health does, and SIGTERM stops it with 0. (The engine
/// built with debug assertions, as tests build it, mostly reports these as
/// errors rather than panics; the release build is the one that crashed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_in_any_page_is_reported_never_a_crash() -> Result<()> {
    let root = tempfile::tempdir()?;
    let mut us = Proc::init(root.path(), US)?;
    us.start().await?;
    for i in 0..40 {
        us.issue(&tally_testkit::json::import_of(
            &format!("IC-{i:03}"),
            "US",
            "MX",
            5,
        ))
        .await?;
    }
    us.sigterm(WAIT).await?;
    let dir = path_str(&us.dir)?.to_owned();
    let file = us.dir.join("store").join("store.redb");
    let pristine = std::fs::read(&file)?;
    // The engine's check may repair what it can (a commit slot): each run
    // starts from the same damage.
    let damage = |page: usize| -> Result<()> {
        let mut bytes = pristine.clone();
        bytes[page * 4096] ^= 0x5A;
        Ok(std::fs::write(&file, &bytes)?)
    };
    for page in 1..pristine.len() / 4096 {
        damage(page)?;
        let check = tally(&["verify-store", "--dir", &dir])?;
        ensure!(
            matches!(check.status.code(), Some(0 | 1)),
            "page {page}: verify-store {}: {}",
            check.status,
            String::from_utf8_lossy(&check.stderr)
                .lines()
                .take(2)
                .collect::<Vec<_>>()
                .join(" | ")
        );
        damage(page)?;
        us.start_answering()
            .await
            .with_context(|| format!("page {page}: {}", us.log_tail(5)))?;
        let (health, _) = us.health_answer().await?;
        let (log, body) = us
            .answer(reqwest::Method::GET, "/v1/log/US-DDTC", None)
            .await?;
        ensure!(
            (health == 503) == (log == 503),
            "page {page}: health {health}, log {log} {body}"
        );
        let stopped = us.sigterm(WAIT).await?;
        ensure!(stopped.success(), "page {page}: SIGTERM: {stopped}");
    }
    Ok(())
}
