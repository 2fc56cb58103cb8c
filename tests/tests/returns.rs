//! Temporary exports over two in-process nodes: the United States lends
//! two rifles to a shooting competition in Mexico. They leave, the day
//! after their return date `return.overdue` opens on both States' nodes,
//! one comes back (still open), the other comes back (closed, saying they
//! came back late). The border rules take a return only of what left
//! under the license and has not come back yet, and only for a temporary
//! export; the license page counts what came back; a rifle that came back
//! and leaves again under another temporary export is no serial repeat.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::time::Duration;
use tally_tests::{Api, As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(20);
const AUTHORITIES: [&str; 2] = ["US-DDTC", "MX-SEDENA"];
const US: usize = 0;
const MX: usize = 1;
const RIFLES: [&str; 2] = ["BRX-31001", "BRX-31002"];

/// A temporary export of `serials` for a competition, valid from 30 days
/// ago until `until` and due back by `return_by` (offsets from today).
fn temporary(number: &str, serials: &[&str], until: i64, return_by: i64) -> Value {
    let serials: Vec<String> = serials.iter().map(|s| s.to_string()).collect();
    let mut doc = docs::export(number, &[], serials.len() as u64, &serials, "IC-2026-0061");
    doc["valid_until"] = json!(docs::day(until));
    doc["end_use"] = json!("Campeonato Nacional de Tiro Deportivo, Guadalajara");
    doc["temporary"] = json!({"purpose": "competition", "return_by": docs::day(return_by)});
    doc
}

/// Checks (and with `record`, records) a crossing of line 1 of `number` in
/// `direction` at the US border, dated `date`; the answer.
async fn cross(
    api: &Api,
    number: &str,
    direction: &str,
    date: i64,
    serials: &[&str],
    record: bool,
) -> Result<Value> {
    let req = json!({"license": {"authority": "US-DDTC", "number": number},
        "checkpoint": {"country": "US", "port": "USLRD", "direction": direction},
        "date": docs::day(date),
        "items": [{"line": 1, "quantity": serials.len(), "serials": serials}], "record": record});
    let (status, body) = api.post(As::Officer, "/v1/shipments/verify", &req).await?;
    ensure!(status == 200, "{direction} of {number}: {status} {body}");
    Ok(body)
}

/// The failed rules of a verdict, and its detail for `rule`.
fn failed(v: &Value, rule: &str) -> (Vec<String>, String) {
    let checks = v["checks"].as_array().cloned().unwrap_or_default();
    let failed = checks
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["rule"].as_str().map(str::to_string))
        .collect();
    let detail = checks
        .iter()
        .find(|c| c["rule"] == rule)
        .and_then(|c| c["detail"].as_str())
        .unwrap_or_default()
        .to_string();
    (failed, detail)
}

/// Every alert of `kind` a node holds: (id, open, detail).
async fn alerts(api: &Api, kind: &str) -> Result<Vec<(String, bool, String)>> {
    let (status, body) = api
        .get(As::Officer, &format!("/v1/alerts?all=true&kind={kind}"))
        .await?;
    ensure!(status == 200, "alerts: {status} {body}");
    let mut out = Vec::new();
    for a in body.as_array().context("alerts are a list")? {
        out.push((
            a["id"].as_str().context("id")?.to_string(),
            a["open"].as_bool().context("open")?,
            a["detail"].as_str().unwrap_or_default().to_string(),
        ));
    }
    Ok(out)
}

/// Waits until both nodes hold exactly one `return.overdue`, `id`, open
/// or not as `open`, its detail saying `says`.
async fn overdue_everywhere(net: &Net, id: &str, open: bool, says: &str) -> Result<()> {
    for i in [US, MX] {
        let api = net.api(i);
        let what = format!(
            "{} holds {id} open={open} saying {says:?}",
            net.authority(i)
        );
        let holds = async || {
            alerts(&api, "return.overdue").await.is_ok_and(|a| {
                a.len() == 1 && a[0].0 == id && a[0].1 == open && a[0].2.contains(says)
            })
        };
        if wait_until(REPLICATION, &what, holds).await.is_err() {
            anyhow::bail!(
                "{what}; it holds {:?}",
                alerts(&api, "return.overdue").await?
            );
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_temporary_export_comes_back_and_closes_return_overdue() -> Result<()> {
    let net = Net::start_with(&AUTHORITIES).await?;
    let (us, mx) = (net.api(US), net.api(MX));
    mx.issue(&docs::import("IC-2026-0061", "MX", "US", 10))
        .await?;
    us.until_holds("/v1/licenses/MX-SEDENA/IC-2026-0061")
        .await?;

    // A return date before the end of validity is refused as typed.
    let (status, body) = us
        .post(
            As::Issuer,
            "/v1/licenses",
            &temporary("TMP-2026-0001", &RIFLES, 10, 5),
        )
        .await?;
    ensure!(
        status == 422
            && body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("before valid_until"),
        "{status} {body}"
    );
    // Valid until yesterday and due back yesterday: what left yesterday is
    // overdue today.
    us.issue(&temporary("TMP-2026-0001", &RIFLES, -1, -1))
        .await?;
    mx.until_holds("/v1/licenses/US-DDTC/TMP-2026-0001").await?;
    let exit = cross(&us, "TMP-2026-0001", "exit", -1, &RIFLES, true).await?;
    ensure!(exit["verdict"] == "accept", "{exit}");
    let exit_seq = exit["record"]["seq"].as_u64().context("record seq")?;
    let id = format!("return.overdue:US-DDTC/TMP-2026-0001:US-DDTC:{exit_seq}");
    overdue_everywhere(
        &net,
        &id,
        true,
        "2 left on a temporary export and 0 came back",
    )
    .await?;

    // The first rifle comes back: still open.
    let back = cross(&us, "TMP-2026-0001", "return", 0, &RIFLES[..1], true).await?;
    ensure!(back["verdict"] == "accept", "{back}");
    let (_, validity) = failed(&back, "license.validity");
    ensure!(
        validity.contains("a return after valid_until"),
        "{validity}"
    );
    overdue_everywhere(&net, &id, true, "and 1 came back").await?;

    // It cannot come back twice, and what never left cannot come back.
    let again = cross(&us, "TMP-2026-0001", "return", 0, &RIFLES[..1], false).await?;
    let (rules, why) = failed(&again, "items.serials");
    ensure!(
        rules.contains(&"items.serials".to_string()) && why.contains("already crossed at return"),
        "{again}"
    );
    let stranger = cross(&us, "TMP-2026-0001", "return", 0, &["BRX-99999"], false).await?;
    let (rules, _) = failed(&stranger, "items.serials");
    ensure!(rules.contains(&"items.serials".to_string()), "{stranger}");

    // The second comes back: closed, and it says they were late.
    let back = cross(&us, "TMP-2026-0001", "return", 0, &RIFLES[1..], true).await?;
    ensure!(back["verdict"] == "accept", "{back}");
    overdue_everywhere(&net, &id, false, "came back late").await?;
    let (_, license) = mx
        .get(As::Officer, "/v1/licenses/US-DDTC/TMP-2026-0001")
        .await?;
    ensure!(
        license["tally"][0]["exit"] == 2 && license["tally"][0]["return"] == 2,
        "{license}"
    );
    ensure!(
        license["document"]["temporary"]["purpose"] == "competition",
        "{license}"
    );

    // A permanent export has no return.
    us.issue(&docs::export("EXP-2026-0002", &[], 1, &[], "IC-2026-0061"))
        .await?;
    let home = json!({"license": {"authority": "US-DDTC", "number": "EXP-2026-0002"},
        "checkpoint": {"country": "US", "port": "USLRD", "direction": "return"},
        "items": [{"line": 1, "quantity": 1}]});
    let (_, verdict) = us.post(As::Officer, "/v1/shipments/verify", &home).await?;
    let (rules, why) = failed(&verdict, "route.checkpoint");
    ensure!(
        rules == ["route.checkpoint", "items.quantity"] && why.contains("permanent export"),
        "{verdict}"
    );

    // The first rifle leaves again for next year's match: it came back, so
    // the two exits are no serial repeat.
    us.issue(&temporary("TMP-2026-0002", &RIFLES[..1], 30, 60))
        .await?;
    let exit = cross(&us, "TMP-2026-0002", "exit", 0, &RIFLES[..1], true).await?;
    ensure!(exit["verdict"] == "accept", "{exit}");
    wait_until(REPLICATION, "MX holds the second exit", async || {
        net.seq(MX, "US-DDTC")
            .is_ok_and(|s| s >= net.seq(US, "US-DDTC").unwrap_or(u64::MAX))
    })
    .await?;
    for i in [US, MX] {
        let repeats = alerts(&net.api(i), "serial.repeat").await?;
        ensure!(repeats.is_empty(), "{}: {repeats:?}", net.authority(i));
    }
    net.shutdown().await;
    Ok(())
}
