//! `GET /v1/export/{what}` (docs/API.md, "Exports"): what this node reads,
//! as JSON lines ending with a cursor, or CSV; `since` gives only what came
//! after a cursor.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The JSON lines of an export, and its cursor (the last line).
fn lines(text: &str) -> (Vec<Value>, String) {
    let mut rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let last = rows.pop().expect("the cursor line");
    let cursor = last["cursor"].as_str().expect("a cursor").to_string();
    (rows, cursor)
}

fn numbers(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} {}",
                r["authority"].as_str().unwrap(),
                r["number"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn an_export_lists_what_this_node_reads_and_then_only_what_came_after() {
    let r = Rig::new();
    r.foreign_documents();
    let i = Some(r.issuer.as_str());
    let o = Some(r.officer.as_str());
    let mut first = export("EXP-1");
    first["end_use"] = json!("=SUM(A1:A9)");
    assert_eq!(
        r.post("/v1/licenses", i, &first).await.status,
        StatusCode::CREATED
    );
    let a = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "US", "exit", 10, &["AC1000"], true),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = r.get("/v1/export/licenses", i).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let (rows, cursor) = lines(&a.text);
    let mut got = numbers(&rows);
    got.sort();
    assert_eq!(
        got,
        ["GT-DIGECAM TR-1", "MX-SEDENA IC-1", "US-DDTC EXP-1"],
        "{}",
        a.text
    );
    let exp = rows.iter().find(|r| r["number"] == "EXP-1").unwrap();
    assert_eq!(
        exp["tally"][0]["exit"], 10,
        "the row is the license as GET answers it: {exp}"
    );

    // Only what came after the cursor: a license suspended since.
    let a = r
        .post(
            "/v1/licenses/US-DDTC/EXP-1/status",
            i,
            &json!({"status": "suspended", "reason": "audit"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = r
        .get(&format!("/v1/export/licenses?since={cursor}"), i)
        .await;
    let (rows, _) = lines(&a.text);
    assert_eq!(numbers(&rows), ["US-DDTC EXP-1"], "{}", a.text);
    assert_eq!(rows[0]["status"], "suspended");

    // Crossings, with their license.
    let a = r.get("/v1/export/shipments", i).await;
    let (rows, cursor) = lines(&a.text);
    assert_eq!(rows.len(), 1, "{}", a.text);
    assert_eq!(rows[0]["license"]["number"], "EXP-1");
    assert_eq!(rows[0]["items"][0]["serials"], json!(["AC1000"]));
    let a = r
        .get(&format!("/v1/export/shipments?since={cursor}"), i)
        .await;
    assert_eq!(lines(&a.text).0.len(), 0, "{}", a.text);

    // CSV: a row per item line; a formula from a document is defused.
    let a = r
        .get("/v1/export/licenses?format=csv&from=2000-01-01", i)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut csv = a.text.lines();
    let header: Vec<&str> = csv.next().unwrap().split(',').collect();
    assert_eq!(header[..2], ["authority", "number"]);
    let rows: Vec<&str> = csv.collect();
    let exp1: Vec<&&str> = rows
        .iter()
        .filter(|l| l.starts_with("US-DDTC,EXP-1,"))
        .collect();
    assert_eq!(exp1.len(), 2, "two item lines: {}", a.text);
    assert!(exp1[0].contains(",'=SUM(A1:A9),"), "{}", exp1[0]);

    // Issuers only; bad requests are refused.
    assert_eq!(
        r.get("/v1/export/licenses", o).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        r.get("/v1/export/passports", i).await.status,
        StatusCode::NOT_FOUND
    );
    for bad in ["since=nope", "format=xlsx", "from=12/01/2026"] {
        let a = r.get(&format!("/v1/export/licenses?{bad}"), i).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
    }
}
