//! Denial notices over three in-process nodes: Guatemala's DIGECAM refuses
//! an export to a buyer and tells its partners; the United States then
//! licenses an export to the same buyer written otherwise, and Mexico, the
//! importing State, reads the license. Both readers of the license raise
//! `denial.match` whichever of the denial and the license arrived first;
//! the issuing officer is warned in the answer; the alert closes when the
//! denial is withdrawn; a denial published to its parties only is matched
//! by no one else.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::time::Duration;
use tally_tests::{Api, As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(20);
const AUTHORITIES: [&str; 3] = ["US-DDTC", "MX-SEDENA", "GT-DIGECAM"];
const US: usize = 0;
const MX: usize = 1;
const GT: usize = 2;

/// GT's denial of pistols for Mexico to `end_user`, dated 30 days ago.
fn denial(number: &str, end_user: &str) -> Value {
    json!({"kind": "denial", "number": number, "denying_country": "GT",
        "applicant": {"name": "Armeria La Antigua"},
        "end_user": {"name": end_user},
        "goods": [{"category": "firearm", "hs_heading": "9302", "description": "pistols"}],
        "destination": "MX", "criterion": "ATT Art. 7(1): risk of diversion",
        "date": docs::day(-30)})
}

/// A US export of pistols to Mexico for `end_user`.
fn export(number: &str, end_user: &str) -> Value {
    let mut doc = docs::export(number, &[], 5, &[], "IC-2026-0050");
    doc["end_user"] = json!({"name": end_user});
    doc
}

/// The `denial.match` alerts a node holds about `number`: (id, open).
async fn matches(api: &Api, number: &str) -> Result<Vec<(String, bool)>> {
    let (status, body) = api
        .get(
            As::Officer,
            &format!("/v1/alerts?all=true&kind=denial.match&authority=US-DDTC&number={number}"),
        )
        .await?;
    ensure!(status == 200, "alerts: {status} {body}");
    let mut out = Vec::new();
    for a in body.as_array().context("alerts are a list")? {
        out.push((
            a["id"].as_str().context("id")?.to_string(),
            a["open"].as_bool().context("open")?,
        ));
    }
    Ok(out)
}

/// Waits until the license's readers, US and MX, hold exactly `want`.
async fn on_readers(net: &Net, number: &str, want: &[(String, bool)]) -> Result<()> {
    for i in [US, MX] {
        let api = net.api(i);
        let what = format!("{} holds {want:?} about {number}", net.authority(i));
        let holds = async || matches(&api, number).await.is_ok_and(|m| m == want);
        if wait_until(REPLICATION, &what, holds).await.is_err() {
            anyhow::bail!("{what}; it holds {:?}", matches(&api, number).await?);
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_denied_buyer_is_matched_in_either_order_and_closes_when_withdrawn() -> Result<()> {
    let net = Net::start_with(&AUTHORITIES).await?;
    let (us, mx, gt) = (net.api(US), net.api(MX), net.api(GT));
    mx.issue(&docs::import("IC-2026-0050", "MX", "US", 50))
        .await?;
    us.until_holds("/v1/licenses/MX-SEDENA/IC-2026-0050")
        .await?;

    // The denial first: published in clear, so the US reads it.
    let den1 = gt
        .issue(&denial("DEN-1", "Comercial Armas del Sur, S.A. de C.V."))
        .await?;
    ensure!(
        den1["recipients"] == json!([]),
        "a denial travels in clear by default: {den1}"
    );
    us.until_holds("/v1/licenses/GT-DIGECAM/DEN-1").await?;
    let den1_seq = den1["entry"]["seq"].as_u64().context("seq")?;
    // A dry run warns as the signature will, and signs nothing.
    let (status, trial) = us
        .post(
            As::Issuer,
            "/v1/licenses?dry_run=true",
            &export("EXP-1", "COMERCIAL ARMAS DEL SUR SA"),
        )
        .await?;
    ensure!(
        status == 200 && trial["warnings"].to_string().contains("denial DEN-1"),
        "the dry run warns: {status} {trial}"
    );
    let answer = us
        .issue(&export("EXP-1", "COMERCIAL ARMAS DEL SUR SA"))
        .await?;
    let warnings = answer["warnings"].to_string();
    ensure!(
        warnings.contains("denial.match") && warnings.contains("DEN-1"),
        "the issuing officer is told: {answer}"
    );
    let id1 = format!("denial.match:US-DDTC/EXP-1:GT-DIGECAM:{den1_seq}");
    on_readers(&net, "EXP-1", &[(id1.clone(), true)]).await?;

    // The license first, the denial after.
    us.issue(&export("EXP-2", "Distribuidora Pacífico")).await?;
    mx.until_holds("/v1/licenses/US-DDTC/EXP-2").await?;
    on_readers(&net, "EXP-2", &[]).await?;
    let den2 = gt
        .issue(&denial("DEN-2", "DISTRIBUIDORA PACIFICO LTDA."))
        .await?;
    let den2_seq = den2["entry"]["seq"].as_u64().context("seq")?;
    let id2 = format!("denial.match:US-DDTC/EXP-2:GT-DIGECAM:{den2_seq}");
    on_readers(&net, "EXP-2", &[(id2, true)]).await?;

    // Guatemala withdraws DEN-1: the match stays on record, closed.
    let (status, body) = gt
        .post(
            As::Issuer,
            "/v1/licenses/GT-DIGECAM/DEN-1/status",
            &json!({"status": "revoked", "reason": "entered in error"}),
        )
        .await?;
    ensure!(status == 200, "withdrawing DEN-1: {status} {body}");
    on_readers(&net, "EXP-1", &[(id1, false)]).await?;

    // A denial told to its parties only (GT and the destination, MX): the
    // US cannot read it, so its export to that buyer matches nothing.
    let mut quiet = denial("DEN-3", "Casa de Armas Quetzal");
    quiet["visibility"] = json!("parties");
    let den3 = gt.issue(&quiet).await?;
    ensure!(
        den3["recipients"].to_string().contains("MX-SEDENA")
            && !den3["recipients"].to_string().contains("US-DDTC"),
        "sealed to GT and MX: {den3}"
    );
    mx.until_holds("/v1/licenses/GT-DIGECAM/DEN-3").await?;
    let answer = us.issue(&export("EXP-3", "Casa de Armas Quetzal")).await?;
    ensure!(
        !answer["warnings"].to_string().contains("denial.match"),
        "{answer}"
    );
    mx.until_holds("/v1/licenses/US-DDTC/EXP-3").await?;
    let (status, _) = us.get(As::Officer, "/v1/licenses/GT-DIGECAM/DEN-3").await?;
    ensure!(status != 200, "the US does not read DEN-3");
    // Mexico reads both, and so raises the match the US cannot see.
    let id3 = format!(
        "denial.match:US-DDTC/EXP-3:GT-DIGECAM:{}",
        den3["entry"]["seq"].as_u64().context("seq")?
    );
    let holds = async || {
        matches(&mx, "EXP-3")
            .await
            .is_ok_and(|m| m == [(id3.clone(), true)])
    };
    wait_until(REPLICATION, "MX matches EXP-3 with DEN-3", holds).await?;
    ensure!(matches(&us, "EXP-3").await?.is_empty(), "US holds no match");
    net.shutdown().await;
    Ok(())
}
