//! Checking and recording consignments: verdicts, tallies, shipments, and
//! the refusal to record at another country's checkpoint.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::{Value, json};

use tally_verify::rules::RULE_IDS as RULES;

fn failed(v: &Value) -> Vec<String> {
    v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["rule"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn a_recorded_crossing_shows_in_the_tally_and_the_shipments() {
    let r = Rig::new();
    r.foreign_documents();
    let o = Some(r.officer.as_str());
    r.issue(&export("EXP-1")).await;

    // A check without record writes nothing.
    let before = r.heads().await;
    let a = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "US", "exit", 40, &["AC1000"], false),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["verdict"], "accept", "{v}");
    let rules: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["rule"].as_str())
        .collect();
    assert_eq!(rules, RULES);
    assert!(
        v["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["detail"].is_string())
    );
    assert_eq!(v["record"], json!(null));
    assert_eq!(v["license"]["number"], "EXP-1");
    assert_eq!(v["license"]["tally"][0]["exit"], 0);
    assert_eq!(r.heads().await, before);

    // Recorded at a US exit checkpoint.
    let a = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "US", "exit", 40, &["AC1000"], true),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["verdict"], "accept", "{v}");
    assert_eq!(v["record"]["authority"], US);
    assert_eq!(v["record"]["seq"], 2);
    assert_eq!(v["record"]["hash"].as_str().map(str::len), Some(64));
    assert_eq!(
        v["license"]["tally"][0]["exit"], 40,
        "the answer shows the tally after the record"
    );

    let l = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json();
    assert_eq!(
        l["tally"][0],
        json!({"line": 1, "licensed": 100, "exit": 40, "transit": 0, "entry": 0, "delivered": 0})
    );
    assert_eq!(l["tally"][1]["exit"], 0);

    let a = r
        .get("/v1/shipments?authority=US-DDTC&number=EXP-1", o)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ships = a.json();
    let ships = ships.as_array().expect("shipments");
    assert_eq!(ships.len(), 1);
    let s = &ships[0];
    assert_eq!(s["recorded_by"], US);
    assert_eq!(s["seq"], 2);
    assert_eq!(
        s["checkpoint"],
        json!({"country": "US", "port": "USPRT", "direction": "exit"})
    );
    assert_eq!(s["date"], day(0));
    assert_eq!(s["verdict"], "accept");
    assert_eq!(
        s["items"],
        json!([{"line": 1, "quantity": 40, "serials": ["AC1000"]}])
    );
    let log = r.get("/v1/log/US-DDTC?from=2", o).await.json();
    assert_eq!(log[0]["kind"], "shipment");

    // The same serial again, and too much: rejected, and a rejected record
    // does not count.
    let a = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "US", "exit", 61, &["AC1000"], true),
        )
        .await;
    let v = a.json();
    assert_eq!(v["verdict"], "reject");
    assert_eq!(failed(&v), ["items.quantity", "items.serials"]);
    assert_eq!(v["record"]["seq"], 3);
    let l = r.get("/v1/licenses/US-DDTC/EXP-1", o).await.json();
    assert_eq!(l["tally"][0]["exit"], 40);
    let ships = r
        .get("/v1/shipments?authority=US-DDTC&number=EXP-1", o)
        .await
        .json();
    let verdicts: Vec<&str> = ships
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["verdict"].as_str())
        .collect();
    assert_eq!(verdicts, ["accept", "reject"], "oldest first");

    // What is left still passes.
    let v = r
        .verify(&shipment("EXP-1", "US", "exit", 60, &["AC1001"], false))
        .await;
    assert_eq!(v["verdict"], "accept", "{v}");
}

#[tokio::test]
async fn recording_at_a_foreign_checkpoint_is_forbidden_and_writes_nothing() {
    let r = Rig::new();
    r.foreign_documents();
    let o = Some(r.officer.as_str());
    r.post("/v1/licenses", Some(&r.issuer), &export("EXP-1"))
        .await;
    let before = r.heads().await;
    for (country, direction) in [("MX", "entry"), ("GT", "transit")] {
        let a = r
            .post(
                "/v1/shipments/verify",
                o,
                &shipment("EXP-1", country, direction, 1, &[], true),
            )
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{country}: {}", a.text);
        assert_eq!(a.error_code(), "forbidden");
        // A check alone is fine there.
        let a = r
            .post(
                "/v1/shipments/verify",
                o,
                &shipment("EXP-1", country, direction, 1, &[], false),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.json()["verdict"], "accept", "{}", a.text);
    }
    assert_eq!(r.heads().await, before);
    let ships = r
        .get("/v1/shipments?authority=US-DDTC&number=EXP-1", o)
        .await
        .json();
    assert_eq!(ships, json!([]));
}

#[tokio::test]
async fn unknown_licenses_and_missing_authorizations() {
    let r = Rig::new();

    let v = r
        .verify(&shipment("EXP-404", "US", "exit", 1, &[], false))
        .await;
    assert_eq!(v["verdict"], "reject");
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["checks"][0]["rule"], "license.known");
    assert_eq!(v["license"], json!(null));
    assert_eq!(v["record"], json!(null));

    // With MX's certificate not yet in force, and without GT's
    // authorization (the export can be issued against a certificate that
    // starts later; the border checks it on the day).
    let mut ic = import_certificate("IC-1");
    ic["valid_from"] = json!(day(10));
    r.ingest_foreign(MX, ic);
    r.issue(&export("EXP-1")).await;
    let v = r
        .verify(&shipment("EXP-1", "US", "exit", 1, &[], false))
        .await;
    assert_eq!(
        failed(&v),
        ["import.authorization", "transit.authorization"]
    );

    // Every check counts in the metrics (shown to a token only).
    let m = r.get("/metrics", Some(&r.officer)).await.text;
    assert!(
        m.contains("tally_verification_checks_total{rule=\"license.known\",ok=\"false\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tally_verification_checks_total{rule=\"license.known\",ok=\"true\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tally_verification_checks_total{rule=\"import.authorization\",ok=\"false\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("tally_verdicts_total{verdict=\"reject\"} 2"),
        "{m}"
    );
}

#[tokio::test]
async fn shipments_of_an_unknown_license_are_an_empty_list() {
    let r = Rig::new();
    let a = r
        .get(
            "/v1/shipments?authority=US-DDTC&number=NONE",
            Some(&r.officer),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json(), json!([]));
}

/// Issue 28 item 7: a check declaring line 1 twice with 100 serials each
/// (200 on a line licensed for 100), or 50 serials on a line that is not on
/// the license, was recorded with all its serials. Both are refused with
/// 422 and nothing is recorded; a line not on the license without serials
/// stays a verdict failing `items.match`.
#[tokio::test]
async fn duplicate_lines_and_serials_on_unlicensed_lines_are_refused() {
    let r = Rig::new();
    r.foreign_documents();
    let o = Some(r.officer.as_str());
    r.issue(&export("EXP-1")).await;
    let serials = |prefix: &str, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i:04}")).collect()
    };
    let before = r.heads().await;

    let mut twice = shipment("EXP-1", "US", "exit", 100, &[], true);
    twice["items"] = json!([
        {"line": 1, "quantity": 100, "serials": serials("A", 100)},
        {"line": 1, "quantity": 100, "serials": serials("B", 100)},
    ]);
    let mut unlicensed = shipment("EXP-1", "US", "exit", 50, &[], true);
    unlicensed["items"] = json!([{"line": 3, "quantity": 50, "serials": serials("C", 50)}]);
    // Line 1 twice without serials: still a duplicate.
    let mut twice_bare = shipment("EXP-1", "US", "exit", 1, &[], true);
    twice_bare["items"] = json!([
        {"line": 1, "quantity": 1, "serials": []},
        {"line": 1, "quantity": 1, "serials": []},
    ]);
    for (what, body, says) in [
        ("line 1 twice", &twice, "duplicate line number 1"),
        (
            "line 1 twice, no serials",
            &twice_bare,
            "duplicate line number 1",
        ),
        ("serials on line 3", &unlicensed, "licensed quantity of 0"),
    ] {
        for record in [true, false] {
            let mut body = body.clone();
            body["record"] = json!(record);
            let a = r.post("/v1/shipments/verify", o, &body).await;
            assert_eq!(
                a.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what} record={record}: {}",
                a.text
            );
            assert_eq!(a.error_code(), "invalid_document", "{what}");
            assert!(a.text.contains(says), "{what}: {}", a.text);
        }
    }
    assert_eq!(r.heads().await, before, "nothing recorded");
    let ships = r
        .get("/v1/shipments?authority=US-DDTC&number=EXP-1", o)
        .await
        .json();
    assert_eq!(ships, json!([]));

    // Line 3 without serials: a verdict, not an error.
    let mut bare = shipment("EXP-1", "US", "exit", 5, &[], false);
    bare["items"] = json!([{"line": 3, "quantity": 5, "serials": []}]);
    let a = r.post("/v1/shipments/verify", o, &bare).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["verdict"], "reject", "{v}");
    assert!(failed(&v).contains(&"items.match".to_string()), "{v}");

    // Two distinct lines within their quantities still pass.
    let mut fine = shipment("EXP-1", "US", "exit", 100, &[], false);
    fine["items"] = json!([
        {"line": 1, "quantity": 100, "serials": serials("A", 100)},
        {"line": 2, "quantity": 10, "serials": []},
    ]);
    let a = r.post("/v1/shipments/verify", o, &fine).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
}
