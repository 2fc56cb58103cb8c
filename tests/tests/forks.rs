//! Forks between real nodes in one process: the two sides of a fork meeting
//! in a heads exchange, and a copy of a node's keys signing elsewhere
//! (`log.cloned`).

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use std::time::Duration;
use tally_model::{AuthorityId, AuthorityKey};
use tally_tests::{As, Net, docs, signed, wait_until};
use tally_verify::IngestOutcome;

/// Far more than one anti-entropy round of the rig (500 ms).
const ROUND: Duration = Duration::from_secs(10);

fn authority_key(net: &Net, i: usize) -> Result<AuthorityKey> {
    tally_node::keys::load_authority_key(&net.members[i].dir.join("keys/authority.key"))
}

/// Equivocation proofs node `i` serves at `GET /v1/evidence`.
async fn evidence(net: &Net, i: usize) -> Result<Vec<Value>> {
    let (status, body) = net.api(i).get(As::Officer, "/v1/evidence").await?;
    ensure!(status == 200, "{status} {body}");
    Ok(body.as_array().context("an array")?.clone())
}

/// US-DDTC holds GT-DIGECAM's seq 1 and 2, MX-SEDENA holds another seq 1 of
/// GT (GT signed both sides; GT itself never runs). US's head (2) is above
/// MX's (1), so the old heads exchange, which compared hashes only at equal
/// heads, never noticed: no proof anywhere. Now each side compares its
/// entry at the peer's head (or pulls from its own head), so both prove the
/// fork within a round of meeting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_two_sides_of_a_fork_meeting_in_a_heads_exchange_are_proven_on_both() -> Result<()> {
    let (us, mx, gt) = (0, 1, 2);
    let mut net = Net::init(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"])?;
    net.trust_without_dialing(us, gt)?;
    net.trust_without_dialing(mx, gt)?;
    net.start_node(us).await?;
    net.start_node(mx).await?;

    let key = authority_key(&net, gt)?;
    let a1 = signed(&key, "GT-DIGECAM", 1, None, docs::sample("GT-DIGECAM", 1))?;
    let a2 = signed(
        &key,
        "GT-DIGECAM",
        2,
        Some(a1.id()),
        docs::sample("GT-DIGECAM", 2),
    )?;
    let b1 = signed(&key, "GT-DIGECAM", 1, None, docs::sample("GT-DIGECAM", 101))?;
    let got = net.ingest(us, vec![a1, a2]).await?;
    ensure!(
        got.iter().all(|o| matches!(o, IngestOutcome::Accepted(_))),
        "{got:?}"
    );
    let got = net.ingest(mx, vec![b1]).await?;
    ensure!(matches!(got[..], [IngestOutcome::Accepted(_)]), "{got:?}");
    for i in [us, mx] {
        ensure!(evidence(&net, i).await?.is_empty());
    }

    // They meet.
    net.trust(us, mx)?;
    net.trust(mx, us)?;
    net.wait_links().await?;
    for i in [us, mx] {
        let what = format!("{} proves GT-DIGECAM's fork", net.authority(i));
        wait_until(ROUND, &what, async || {
            evidence(&net, i).await.is_ok_and(|e| !e.is_empty())
        })
        .await?;
        for e in evidence(&net, i).await? {
            ensure!(e["authority"] == "GT-DIGECAM" && e["seq"] == 1, "{e}");
        }
        let alerts = net.reader(i)?.alerts()?;
        ensure!(
            alerts.iter().any(|a| a.id == "equivocation:-:GT-DIGECAM:1"),
            "{alerts:?}"
        );
    }
    net.shutdown().await;
    Ok(())
}

/// A copy of US-DDTC's keys signs the entry after US's head elsewhere, and MX holds it
/// (it chains). When US hears of it in a heads exchange it must not take it
/// as its own (the code before the fix appended it: US's log silently
/// continued with an entry US never wrote): it keeps it as evidence, raises
/// `log.cloned`, answers issuing with 503 `unavailable` and says
/// `"signing": "stopped"`; the alert survives a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_copy_of_the_keys_signing_elsewhere_stops_the_node_signing() -> Result<()> {
    let (us, mx) = (0, 1);
    let mut net = Net::start_with(&["US-DDTC", "MX-SEDENA"]).await?;
    let (status, body) = net
        .api(us)
        .post(As::Issuer, "/v1/licenses", &docs::sample("US-DDTC", 0))
        .await?;
    ensure!(status == 201, "{status} {body}");
    net.converge(ROUND).await?;

    // US's head (its document, after any key announcement of its own),
    // and a clone signed with US's key as the entry after it.
    let us_id: AuthorityId = "US-DDTC".parse()?;
    let head = net.seq(mx, "US-DDTC")?;
    ensure!(head == net.seq(us, "US-DDTC")?, "converged");
    let held = net
        .reader(mx)?
        .entry_at(&us_id, head)?
        .context("MX holds US's head")?;
    let clone = signed(
        &authority_key(&net, us)?,
        "US-DDTC",
        head + 1,
        Some(held.id()),
        docs::sample("US-DDTC", 77),
    )?;
    let got = net.ingest(mx, vec![clone.clone()]).await?;
    ensure!(matches!(got[..], [IngestOutcome::Accepted(_)]), "{got:?}");

    let alert = format!("log.cloned:-:US-DDTC:{}", head + 1);
    wait_until(ROUND, "US-DDTC raises log.cloned", async || {
        net.reader(us)
            .and_then(|r| Ok(r.alerts()?))
            .is_ok_and(|a| a.iter().any(|a| a.id == alert))
    })
    .await?;
    ensure!(
        net.seq(us, "US-DDTC")? == head,
        "US took the clone into its log"
    );
    ensure!(!net.stores(us, &clone.id())?, "the clone is in US's log");
    let kept = net.reader(us)?.cloned()?;
    ensure!(kept == vec![clone.clone()], "{kept:?}");

    let (status, body) = net
        .api(us)
        .post(As::Issuer, "/v1/licenses", &docs::sample("US-DDTC", 1))
        .await?;
    ensure!(status == 503, "{status} {body}");
    ensure!(body["error"]["code"] == "unavailable", "{body}");
    let (_, st) = net.api(us).get(As::Officer, "/v1/status").await?;
    ensure!(st["signing"] == "stopped", "{st}");
    ensure!(
        st["reason"]
            .as_str()
            .is_some_and(|r| r.contains("log.cloned")),
        "{st}"
    );
    let (status, alerts) = net.api(us).get(As::Officer, "/v1/alerts").await?;
    ensure!(status == 200, "{status} {alerts}");
    ensure!(alerts.to_string().contains(&alert), "{alerts}");

    // The evidence and the alert survive a restart.
    net.restart(us).await?;
    ensure!(net.reader(us)?.cloned()? == vec![clone]);
    let alerts = net.reader(us)?.alerts()?;
    ensure!(alerts.iter().any(|a| a.id == alert), "{alerts:?}");
    net.shutdown().await;
    Ok(())
}
