//! `GET /v1/statistics` (docs/API.md, "Statistics"): what this node's State
//! licensed and what crossed, by month, counterpart and category, with the
//! refusals by rule; as JSON or CSV, each marked confidential.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The flows as (category, unit, [licensed, exited, entered], licenses).
fn flows(v: &Value) -> Vec<(String, String, [u64; 3], u64)> {
    v["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| {
            let n = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {f}"));
            (
                f["category"].as_str().unwrap_or("-").to_string(),
                f["unit"].as_str().expect("unit").to_string(),
                [n("licensed"), n("exited"), n("entered")],
                n("licenses"),
            )
        })
        .collect()
}

#[tokio::test]
async fn statistics_count_licensed_and_crossed_quantities_and_refusals() {
    let r = Rig::new();
    r.foreign_documents();
    let i = Some(r.issuer.as_str());
    let o = Some(r.officer.as_str());
    r.issue(&export("EXP-1")).await;
    let exit = shipment("EXP-1", "US", "exit", 10, &["AC1000"], true);
    let a = r.post("/v1/shipments/verify", o, &exit).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // More than the license allows: refused, and recorded as such.
    let over = shipment("EXP-1", "US", "exit", 500, &[], true);
    let a = r.post("/v1/shipments/verify", o, &over).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v: Value = serde_json::from_str(&a.text).expect("json");
    assert_eq!(v["verdict"], "reject", "{v}");

    let a = r
        .get("/v1/statistics?group=month,counterpart,category", i)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v: Value = serde_json::from_str(&a.text).expect("json");
    assert_eq!(
        flows(&v),
        vec![
            ("firearm".into(), "units".into(), [100, 10, 0], 1),
            ("ammunition".into(), "rounds".into(), [5000, 0, 0], 1),
        ],
        "{v}"
    );
    let month = &day(0)[..7];
    for f in v["flows"].as_array().expect("flows") {
        assert_eq!(f["month"], month, "{f}");
        assert_eq!(f["counterpart"], "MX", "{f}");
        assert_eq!(f["direction"], "export", "{f}");
    }
    assert_eq!(v["refusals"], json!({"items.quantity": 1}), "{v}");
    assert!(
        v["notice"]
            .as_str()
            .expect("notice")
            .contains("CIFTA Art. XII")
    );
    let refused = v["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["kind"] == "shipment.refused")
        .expect("the refusal raised its alert");
    assert_eq!(refused["raised"], 1, "{refused}");

    // Filters: one heading, another direction, a period before anything.
    let a = r.get("/v1/statistics?hs=9302", i).await;
    let v: Value = serde_json::from_str(&a.text).expect("json");
    assert_eq!(
        flows(&v),
        vec![("-".into(), "units".into(), [100, 10, 0], 1)],
        "{v}"
    );
    let a = r.get("/v1/statistics?direction=import", i).await;
    let v: Value = serde_json::from_str(&a.text).expect("json");
    assert_eq!(v["flows"], json!([]), "the US imported nothing: {v}");
    let a = r.get("/v1/statistics?to=2020-12-31", i).await;
    let v: Value = serde_json::from_str(&a.text).expect("json");
    assert_eq!(v["flows"], json!([]), "{v}");
    assert_eq!(v["refusals"], json!({}), "{v}");

    // CSV: the notice first, then one row per flow.
    let a = r.get("/v1/statistics?group=category&format=csv", i).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let lines: Vec<&str> = a.text.lines().collect();
    assert!(
        lines[0].starts_with("# Derived from confidential exchanges"),
        "{}",
        a.text
    );
    assert_eq!(
        &lines[1..],
        [
            "month,counterpart,category,direction,unit,licensed,exited,transited,entered,delivered,licenses,licenses_revoked",
            ",,firearm,export,units,100,10,0,0,0,1,0",
            ",,ammunition,export,rounds,5000,0,0,0,0,1,0",
        ]
    );

    // Bad questions are refused with a reason; an officer may not ask.
    for bad in [
        "group=year",
        "from=2026-13-01",
        "from=2026-12-01&to=2026-01-01",
        "direction=north",
        "country=mexico",
        "category=cannon",
        "hs=93x",
        "format=pdf",
        "colour=red",
    ] {
        let a = r.get(&format!("/v1/statistics?{bad}"), i).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
    }
    assert_eq!(
        r.get("/v1/statistics", o).await.status,
        StatusCode::FORBIDDEN
    );
}
