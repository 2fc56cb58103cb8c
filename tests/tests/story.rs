//! The three-node story (import certificate to revocation), entirely over HTTP against three
//! in-process nodes: US-DDTC (exporter), MX-SEDENA (importer) and GT-DIGECAM
//! (transit). Documents are issued where they belong, replicate, and each
//! country checks and records its own crossings; the exporter sees the
//! tallies of all three without asking, and a revocation reaches the border.

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::time::Duration;
use tally_tests::{Api, As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(15);
const EXPORT: &str = "EXP-2026-0001";
const LICENSE: &str = "/v1/licenses/US-DDTC/EXP-2026-0001";

/// The rules of docs/API.md, in their order.
use tally_verify::rules::RULE_IDS as RULES;

/// Issues `doc` at `api` as its issuer; returns the 201 body.
async fn issue(api: &Api, doc: &Value) -> Result<Value> {
    let (status, body) = api.post(As::Issuer, "/v1/licenses", doc).await?;
    ensure!(status == 201, "issuing {}: {status} {body}", doc["number"]);
    Ok(body)
}

/// Waits until `api` holds the document at `path`.
async fn until_held(api: &Api, path: &str) -> Result<()> {
    let what = format!("{} holds {path}", api.base);
    wait_until(REPLICATION, &what, async || {
        api.get(As::Officer, path)
            .await
            .is_ok_and(|(status, _)| status == 200)
    })
    .await?;
    Ok(())
}

/// A consignment under the export license at a checkpoint of `country`.
fn shipment(
    country: &str,
    port: &str,
    direction: &str,
    quantity: u64,
    serials: &[&str],
    record: bool,
) -> Value {
    json!({
        "license": {"authority": "US-DDTC", "number": EXPORT},
        "checkpoint": {"country": country, "port": port, "direction": direction},
        "exporter": "Acme Arms Inc.", "importer": "Importadora del Norte SA",
        "items": [{"line": 1, "quantity": quantity, "serials": serials}],
        "record": record,
    })
}

/// A check's answer, reduced to what the story asserts.
#[derive(Debug)]
struct Verdict {
    verdict: String,
    failed: Vec<String>,
    record: Value,
    body: Value,
}

/// `POST /v1/shipments/verify` as an officer; checks the answer's shape.
async fn verify(api: &Api, req: &Value) -> Result<Verdict> {
    let (status, body) = api.post(As::Officer, "/v1/shipments/verify", req).await?;
    ensure!(status == 200, "verify: {status} {body}");
    let checks = body["checks"].as_array().context("checks")?;
    let rules: Vec<&str> = checks.iter().filter_map(|c| c["rule"].as_str()).collect();
    ensure!(rules == RULES, "rules in the contract's order: {body}");
    let failed = checks
        .iter()
        .filter(|c| c["ok"] != true)
        .filter_map(|c| c["rule"].as_str().map(String::from))
        .collect();
    Ok(Verdict {
        verdict: body["verdict"].as_str().context("verdict")?.to_string(),
        failed,
        record: body["record"].clone(),
        body,
    })
}

/// Checks and records a consignment that must be accepted; returns the record's seq.
async fn accepted(api: &Api, req: &Value, recorded_by: &str) -> Result<u64> {
    let v = verify(api, req).await?;
    ensure!(
        v.verdict == "accept" && v.failed.is_empty(),
        "expected accept: {}",
        v.body
    );
    ensure!(
        v.record["authority"] == recorded_by,
        "recorded by {recorded_by}: {}",
        v.body
    );
    v.record["seq"].as_u64().context("record seq")
}

/// Checks (and records) a consignment that must fail exactly `rule`.
async fn rejected_by(api: &Api, req: &Value, rule: &str) -> Result<()> {
    let v = verify(api, req).await?;
    ensure!(
        v.verdict == "reject" && v.failed == [rule],
        "expected a rejection by {rule} alone: {}",
        v.body
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_node_story_from_certificate_to_revocation() -> Result<()> {
    let net = Net::start(3).await?;
    let (us, mx, gt) = (net.api(0), net.api(1), net.api(2));
    let serials: Vec<String> = (1000..1010).map(|n| format!("AC{n}")).collect();

    // The importing State certifies the import: its log's first document,
    // after the node's own key announcements.
    let opened = net.own_seq(1)?;
    let ic = issue(&mx, &docs::import("IC-2026-0042", "MX", "US", 10)).await?;
    assert_eq!(ic["authority"], "MX-SEDENA");
    assert_eq!(ic["entry"]["seq"], opened + 1);
    until_held(&us, "/v1/licenses/MX-SEDENA/IC-2026-0042").await?;

    // The exporting State licenses the export, through Guatemala, in parts.
    let doc = docs::export(EXPORT, &["GT"], 10, &serials, "IC-2026-0042");
    let ex = issue(&us, &doc).await?;
    assert_eq!(ex["authority"], "US-DDTC");
    until_held(&gt, LICENSE).await?;

    // The transit State authorizes the passage.
    issue(&gt, &docs::transit("TR-2026-0007", "GT", EXPORT)).await?;

    // Every document reaches its parties: the export and the transit
    // authorization all three, the import certificate the US and Mexico
    // only (Guatemala holds its sealed entry and cannot read it).
    let documents = [LICENSE, "/v1/licenses/GT-DIGECAM/TR-2026-0007"];
    for api in [&us, &mx, &gt] {
        for path in documents {
            until_held(api, path).await?;
        }
    }
    until_held(&mx, "/v1/licenses/MX-SEDENA/IC-2026-0042").await?;
    net.converge(REPLICATION).await?;
    let (status, _) = gt
        .get(As::Officer, "/v1/licenses/MX-SEDENA/IC-2026-0042")
        .await?;
    assert_eq!(status, 404, "GT is no party to MX's import certificate");
    let (_, license) = mx.get(As::Officer, LICENSE).await?;
    // As issued, naming who prepared and signed it: the rig's issuer token.
    let mut issued = doc.clone();
    issued["prepared_by"] = serde_json::json!({"name": "rig issuer"});
    issued["signatory"] = serde_json::json!({"name": "rig issuer"});
    assert_eq!(license["document"], issued, "the document as issued, at MX");
    assert_eq!(
        license["transit_authorizations"][0]["number"],
        "TR-2026-0007"
    );

    // Each country checks and records its own crossing.
    let all: Vec<&str> = serials.iter().map(String::as_str).collect();
    accepted(
        &us,
        &shipment("US", "USLAX", "exit", 10, &all, true),
        "US-DDTC",
    )
    .await?;
    accepted(
        &gt,
        &shipment("GT", "GTPRQ", "transit", 10, &all, true),
        "GT-DIGECAM",
    )
    .await?;
    // A country records only its own crossings.
    let (status, body) = mx
        .post(
            As::Officer,
            "/v1/shipments/verify",
            &shipment("GT", "GTPRQ", "transit", 1, &[], true),
        )
        .await?;
    assert_eq!(status, 403, "{body}");

    // Partial entries into Mexico until the licensed quantity is used up.
    accepted(
        &mx,
        &shipment("MX", "MXNLD", "entry", 4, &all[0..4], true),
        "MX-SEDENA",
    )
    .await?;
    accepted(
        &mx,
        &shipment("MX", "MXNLD", "entry", 4, &all[4..8], true),
        "MX-SEDENA",
    )
    .await?;
    rejected_by(
        &mx,
        &shipment("MX", "MXNLD", "entry", 1, &all[0..1], true),
        "items.serials",
    )
    .await?;
    accepted(
        &mx,
        &shipment("MX", "MXNLD", "entry", 2, &all[8..10], true),
        "MX-SEDENA",
    )
    .await?;
    rejected_by(
        &mx,
        &shipment("MX", "MXNLD", "entry", 1, &[], true),
        "items.quantity",
    )
    .await?;

    // The importer verifies that the ten reached the final recipient; more
    // than entered is refused.
    let delivery = |number: &str, quantity: u64| {
        json!({"kind": "delivery", "number": number, "importing_country": "MX",
               "export_license": {"authority": "US-DDTC", "number": EXPORT},
               "delivered_to": {"name": "Fuerza Civil de Nuevo León"}, "date": docs::day(0),
               "items": [{"line": 1, "quantity": quantity}]})
    };
    let (status, body) = mx
        .post(As::Issuer, "/v1/licenses", &delivery("DV-2026-0003", 11))
        .await?;
    assert_eq!(status, 422, "{body}");
    let (status, body) = mx
        .post(As::Issuer, "/v1/licenses", &delivery("DV-2026-0003", 10))
        .await?;
    assert_eq!(status, 201, "{body}");

    // The exporter sees the three countries' tallies, and the delivery,
    // without asking anyone.
    let expected = json!([{"line": 1, "licensed": 10, "exit": 10, "transit": 10, "entry": 10, "delivered": 10}]);
    wait_until(
        REPLICATION,
        "US-DDTC's tally shows exit, transit and entry",
        async || {
            us.get(As::Officer, LICENSE)
                .await
                .is_ok_and(|(_, l)| l["tally"] == expected)
        },
    )
    .await?;
    let path = format!("/v1/shipments?authority=US-DDTC&number={EXPORT}");
    wait_until(
        REPLICATION,
        "US-DDTC lists every recorded crossing",
        async || {
            us.get(As::Officer, &path)
                .await
                .is_ok_and(|(_, s)| s.as_array().is_some_and(|a| a.len() == 7))
        },
    )
    .await?;
    let (_, shipments) = us.get(As::Officer, &path).await?;
    let rows = shipments.as_array().context("shipments")?;
    let by = |who: &str, verdict: &str| {
        rows.iter()
            .filter(|r| r["recorded_by"] == who && r["verdict"] == verdict)
            .count()
    };
    assert_eq!(
        [
            by("US-DDTC", "accept"),
            by("GT-DIGECAM", "accept"),
            by("MX-SEDENA", "accept"),
            by("MX-SEDENA", "reject")
        ],
        [1, 1, 3, 2],
        "{shipments}"
    );

    // A revocation at the exporter reaches the importer's border.
    let revoke = json!({"status": "revoked", "reason": "end-user concerns"});
    let (status, body) = us
        .post(As::Issuer, &format!("{LICENSE}/status"), &revoke)
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "revoked");
    let probe = shipment("MX", "MXNLD", "entry", 1, &[], false);
    let took = wait_until(
        Duration::from_secs(10),
        "MX refuses on license.status",
        async || {
            verify(&mx, &probe).await.is_ok_and(|v| {
                v.verdict == "reject" && v.failed.contains(&"license.status".to_string())
            })
        },
    )
    .await?;
    println!("revocation reached the MX border check in {took:?}");
    let (_, l) = mx.get(As::Officer, LICENSE).await?;
    assert_eq!(l["status"], "revoked");
    // Revoked is final.
    let reinstate = json!({"status": "active", "reason": "mistake"});
    let (status, body) = us
        .post(As::Issuer, &format!("{LICENSE}/status"), &reinstate)
        .await?;
    assert_eq!(status, 409, "{body}");
    net.shutdown().await;
    Ok(())
}
