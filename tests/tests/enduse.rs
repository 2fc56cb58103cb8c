//! End-use assurance over two in-process nodes: the United States, which
//! requires Mexico's confirmation before it licenses an export there
//! (`[issue] require_enduse_confirmation = ["MX"]`), asks Mexico whether
//! an end-user certificate is genuine; the request, 40 days old, is owed
//! its answer and `enduse.unanswered` opens on both nodes; the export is
//! refused until Mexico's authority confirms; then the alert closes and
//! the export is signed. A request to a State no one trusts an authority
//! of is refused, and so is an answer to a request that is not held.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use tally_tests::{Api, As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(20);
const AUTHORITIES: [&str; 2] = ["US-DDTC", "MX-SEDENA"];
const US: usize = 0;
const MX: usize = 1;

fn request(number: &str, importing: &str) -> Value {
    json!({"kind": "enduse_request", "number": number,
        "exporting_country": "US", "importing_country": importing,
        "export_license": "EXP-2026-0070",
        "end_user_certificate": {"number": "EUC-2026-118", "date": docs::day(-45),
                                 "issued_by": "Secretaría de la Defensa Nacional"},
        "end_user": {"name": "Policia Estatal"},
        "date": docs::day(-40)})
}

fn answer(number: &str, request: &str, verdict: &str) -> Value {
    json!({"kind": "enduse_answer", "number": number,
        "importing_country": "MX", "exporting_country": "US",
        "request": {"authority": "US-DDTC", "number": request},
        "answer": verdict, "comment": "issued by DCAM on the date stated",
        "date": docs::day(0)})
}

/// The `enduse.unanswered` alerts a node holds: (id, open, detail).
async fn unanswered(api: &Api) -> Result<Vec<(String, bool, String)>> {
    let (status, body) = api
        .get(As::Officer, "/v1/alerts?all=true&kind=enduse.unanswered")
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

/// Waits until both nodes hold exactly the alert `id`, open as `open`,
/// saying `says`.
async fn on_both(net: &Net, id: &str, open: bool, says: &str) -> Result<()> {
    for i in [US, MX] {
        let api = net.api(i);
        let what = format!("{} holds {id} open={open}", net.authority(i));
        let holds = async || {
            unanswered(&api).await.is_ok_and(|a| {
                a.len() == 1 && a[0].0 == id && a[0].1 == open && a[0].2.contains(says)
            })
        };
        if wait_until(REPLICATION, &what, holds).await.is_err() {
            anyhow::bail!("{what}; it holds {:?}", unanswered(&api).await?);
        }
    }
    Ok(())
}

/// POST /v1/licenses as the issuer: (status, error message).
async fn refused(api: &Api, doc: &Value) -> Result<(u16, String)> {
    let (status, body) = api.post(As::Issuer, "/v1/licenses", doc).await?;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    Ok((status, message.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_waits_for_the_importing_state_to_confirm_the_end_use() -> Result<()> {
    let net = Net::start_with(&AUTHORITIES).await?;
    net.node(US)
        .verifier()
        .require_enduse_confirmation(BTreeSet::from(["MX".to_string()]));
    let (us, mx) = (net.api(US), net.api(MX));
    mx.issue(&docs::import("IC-2026-0070", "MX", "US", 10))
        .await?;
    us.until_holds("/v1/licenses/MX-SEDENA/IC-2026-0070")
        .await?;
    let export = docs::export("EXP-2026-0070", &[], 10, &[], "IC-2026-0070");

    // Nothing asked yet: refused, saying what to do.
    let (status, why) = refused(&us, &export).await?;
    ensure!(
        status == 422 && why.contains("require_enduse_confirmation"),
        "{status} {why}"
    );
    // Nobody of Panama is trusted here: there is no one to ask.
    let (status, why) = refused(&us, &request("EUR-2026-0009", "PA")).await?;
    ensure!(
        status == 422 && why.contains("no authority of PA is trusted"),
        "{status} {why}"
    );

    let asked = us.issue(&request("EUR-2026-0001", "MX")).await?;
    let seq = asked["entry"]["seq"]
        .as_u64()
        .context("the request's seq")?;
    let id = format!("enduse.unanswered:US-DDTC/EUR-2026-0001:US-DDTC:{seq}");
    on_both(&net, &id, true, "no answer by").await?;
    let (status, why) = refused(&us, &export).await?;
    ensure!(
        status == 422 && why.contains("EUR-2026-0001") && why.contains("not confirmed"),
        "{status} {why}"
    );

    // Mexico cannot answer what it does not hold; then it answers.
    let (status, why) =
        refused(&mx, &answer("RES-2026-0009", "EUR-2026-0404", "confirmed")).await?;
    ensure!(status == 422 && why.contains("not held"), "{status} {why}");
    mx.until_holds("/v1/licenses/US-DDTC/EUR-2026-0001").await?;
    mx.issue(&answer("RES-2026-0001", "EUR-2026-0001", "confirmed"))
        .await?;
    on_both(&net, &id, false, "came on").await?;
    us.until_holds("/v1/licenses/MX-SEDENA/RES-2026-0001")
        .await?;
    us.issue(&export).await?;

    // The request and the answer stay between the two States.
    let (_, request) = mx
        .get(As::Officer, "/v1/licenses/US-DDTC/EUR-2026-0001")
        .await?;
    ensure!(
        request["readers"] == json!(["US-DDTC", "MX-SEDENA"]),
        "{request}"
    );
    net.shutdown().await;
    Ok(())
}
