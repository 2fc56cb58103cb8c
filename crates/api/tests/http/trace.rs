//! `GET /v1/trace`: a seized firearm traced by make and serial to the
//! license that lists it and the crossings that declared it.

use crate::rig::*;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_serial_is_traced_to_its_license_and_crossings() {
    let r = Rig::new();
    r.foreign_documents();
    let o = Some(r.officer.as_str());
    r.issue(&export("EXP-1")).await;
    // EXP-2 lists no serials; its crossing declares one.
    r.ingest_foreign(MX, import_of("IC-2", "MX", "US", 10));
    let a = r.issue(&export_of("EXP-2", &[], 10, &[], "IC-2")).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    for (number, serial) in [("EXP-1", "AC1000"), ("EXP-2", "ZZ-77")] {
        let a = r
            .post(
                "/v1/shipments/verify",
                o,
                &shipment(number, "US", "exit", 1, &[serial], true),
            )
            .await;
        assert_eq!(a.json()["verdict"], "accept", "{}", a.text);
    }

    // Written the way an officer reads it off the slide.
    let a = r.get("/v1/trace?make=ACME&serial=ac-1000", o).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let rows = a.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    let row = &rows[0];
    assert_eq!(row["license"], json!({"authority": US, "number": "EXP-1"}));
    assert_eq!(
        (row["line"].clone(), row["listed"].clone()),
        (json!(1), json!(true))
    );
    assert_eq!(
        (row["make"].clone(), row["model"].clone()),
        (json!("Acme"), json!("P9"))
    );
    assert_eq!(row["crossings"].as_array().map(Vec::len), Some(1), "{row}");
    assert_eq!(row["crossings"][0]["country"], "US");
    assert_eq!(row["crossings"][0]["direction"], "exit");
    assert_eq!(row["crossings"][0]["recorded_by"], US);
    assert_eq!(row["delivered_to"], json!(null));

    // Declared at the crossing only: traced, not listed.
    let rows = r.get("/v1/trace?make=acme&serial=ZZ77", o).await.json();
    assert_eq!(rows[0]["license"]["number"], "EXP-2", "{rows}");
    assert_eq!(rows[0]["listed"], false, "{rows}");
    assert_eq!(rows[0]["crossings"][0]["direction"], "exit");

    // Another maker's firearm with the same marking is not this one.
    let rows = r.get("/v1/trace?make=Other&serial=AC1000", o).await.json();
    assert_eq!(rows, json!([]));
    // Nothing names an unknown serial.
    let rows = r.get("/v1/trace?make=Acme&serial=NOPE1", o).await.json();
    assert_eq!(rows, json!([]));
}

#[tokio::test]
async fn a_trace_needs_both_terms_and_a_token() {
    let r = Rig::new();
    let o = Some(r.officer.as_str());
    for path in [
        "/v1/trace?make=Acme",
        "/v1/trace?serial=AC1000",
        "/v1/trace?make=%20&serial=AC1000",
        "/v1/trace?make=Acme&serial=AC1000&extra=1",
    ] {
        let a = r.get(path, o).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.text);
    }
    let long = "A".repeat(129);
    let a = r
        .get(&format!("/v1/trace?make=Acme&serial={long}"), o)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    let a = r.get("/v1/trace?make=Acme&serial=AC1000", None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.text);
}
