//! Planned shipments over two in-process nodes: the United States plans
//! one consignment by road from Laredo to Nuevo Laredo. A crossing there is
//! checked with no flag; one at El Paso is accepted (the license allows
//! it) but flagged in the answer, and `shipment.unplanned` opens on both
//! States' nodes; an amendment that plans El Paso too (shipment data may
//! change) takes the alert back everywhere.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::time::Duration;
use tally_tests::{Api, As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(20);
const AUTHORITIES: [&str; 2] = ["US-DDTC", "MX-SEDENA"];
const US: usize = 0;
const MX: usize = 1;

fn plan(exit: &str, entry: &str) -> Value {
    json!({"exit_point": exit, "entry_point": entry, "mode": "road",
        "from": docs::day(-2), "to": docs::day(5), "carrier": "Transportes del Golfo SA"})
}

fn export(plans: &[Value]) -> Value {
    let mut doc = docs::export("EXP-2026-0090", &[], 10, &[], "IC-2026-0090");
    doc["planned_shipments"] = json!(plans);
    doc
}

async fn exit_at(api: &Api, port: &str) -> Result<Value> {
    let req = json!({"license": {"authority": "US-DDTC", "number": "EXP-2026-0090"},
        "checkpoint": {"country": "US", "port": port, "direction": "exit"},
        "items": [{"line": 1, "quantity": 1}], "record": true});
    let (status, body) = api.post(As::Officer, "/v1/shipments/verify", &req).await?;
    ensure!(
        status == 200 && body["verdict"] == "accept",
        "{port}: {status} {body}"
    );
    Ok(body)
}

/// The `shipment.unplanned` alerts a node holds.
async fn unplanned(api: &Api) -> Result<Vec<String>> {
    let (status, body) = api
        .get(As::Officer, "/v1/alerts?all=true&kind=shipment.unplanned")
        .await?;
    ensure!(status == 200, "{status} {body}");
    Ok(body
        .as_array()
        .context("a list")?
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_string))
        .collect())
}

async fn on_both(net: &Net, want: &[String]) -> Result<()> {
    for i in [US, MX] {
        let api = net.api(i);
        let what = format!("{} holds {want:?}", net.authority(i));
        if wait_until(REPLICATION, &what, async || {
            unplanned(&api).await.is_ok_and(|a| a == want)
        })
        .await
        .is_err()
        {
            anyhow::bail!("{what}; it holds {:?}", unplanned(&api).await?);
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crossing_off_the_plan_is_flagged_and_raised_until_the_plan_names_it() -> Result<()> {
    let net = Net::start_with(&AUTHORITIES).await?;
    let (us, mx) = (net.api(US), net.api(MX));
    mx.issue(&docs::import("IC-2026-0090", "MX", "US", 10))
        .await?;
    us.until_holds("/v1/licenses/MX-SEDENA/IC-2026-0090")
        .await?;
    us.issue(&export(&[plan("USLRD", "MXNLD")])).await?;

    let planned = exit_at(&us, "USLRD").await?;
    ensure!(planned.get("flags").is_none(), "{planned}");
    let elsewhere = exit_at(&us, "USELP").await?;
    let flag = elsewhere["flags"][0].as_str().unwrap_or_default();
    ensure!(
        flag.starts_with("shipment.unplanned: exit at \"USELP\"") && flag.contains("USLRD"),
        "{elsewhere}"
    );
    let seq = elsewhere["record"]["seq"].as_u64().context("record")?;
    let id = format!("shipment.unplanned:US-DDTC/EXP-2026-0090:US-DDTC:{seq}");
    on_both(&net, std::slice::from_ref(&id)).await?;

    // El Paso planned too: the crossing was planned after all.
    let (status, body) = us
        .post(
            As::Issuer,
            "/v1/licenses/US-DDTC/EXP-2026-0090/amend",
            &export(&[plan("USLRD", "MXNLD"), plan("USELP", "MXCJS")]),
        )
        .await?;
    ensure!(status == 200, "amending the plan: {status} {body}");
    on_both(&net, &[]).await?;
    net.shutdown().await;
    Ok(())
}
