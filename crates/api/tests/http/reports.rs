//! `GET /v1/reports/att` (docs/API.md, "The ATT report"): the category VIII
//! tables drafted from this node's documents and crossings, placed by
//! sub-category, with what cannot be placed listed apart; as JSON, CSV and
//! a workbook that a spreadsheet reader opens with the fixture's sheets and
//! columns.

use crate::rig::*;
use axum::http::StatusCode;
use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};

fn year() -> String {
    day(0)[..4].to_string()
}

/// An export license whose one line is a military rifle of `action`.
fn rifles(number: &str, action: Option<&str>) -> Value {
    let mut e = export(number);
    e["import_certificate"]["number"] = json!("IC-2");
    e["items"] = json!([{"line": 1, "category": "firearm", "description": "rifle",
        "hs_code": "930190", "make": "Acme", "model": "R5", "quantity": 20, "unit": "units"}]);
    if let Some(a) = action {
        e["items"][0]["action"] = json!(a);
    }
    e
}

async fn json_report(r: &Rig, query: &str) -> Value {
    let a = r
        .get(
            &format!("/v1/reports/att?year={}&{query}", year()),
            Some(&r.issuer),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    serde_json::from_str(&a.text).expect("json")
}

#[tokio::test]
async fn the_att_report_counts_firearms_by_sub_category_and_lists_what_it_cannot_place() {
    let r = Rig::new();
    r.foreign_documents();
    r.ingest_foreign(MX, import_certificate("IC-2"));
    r.issue(&export("EXP-1")).await;
    r.issue(&rifles("EXP-2", None)).await;
    let o = Some(r.officer.as_str());
    let exit = shipment("EXP-1", "US", "exit", 10, &["AC1000"], true);
    assert_eq!(
        r.post("/v1/shipments/verify", o, &exit).await.status,
        StatusCode::OK
    );

    let v = json_report(&r, "format=json").await;
    assert_eq!(v["state"], "US");
    assert_eq!(v["basis"], "authorized");
    let rows: Vec<(Value, Value, Value)> = v["exports"]
        .as_array()
        .expect("exports")
        .iter()
        .map(|row| {
            (
                row["subcategory"].clone(),
                row["state"].clone(),
                row["items"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [(json!("small_arms_1"), json!("MX"), json!(100))],
        "the pistols (9302) of EXP-1; its cartridges are outside category VIII: {v}"
    );
    assert_eq!(v["exports"][0]["description"], "Acme P9 9x19mm pistol");
    assert_eq!(v["imports"], json!([]), "the US imported nothing");
    let unplaced = v["unplaced"].as_array().expect("unplaced");
    assert_eq!(unplaced.len(), 1, "{v}");
    assert_eq!(unplaced[0]["license"]["number"], "EXP-2");
    assert!(
        unplaced[0]["reason"].as_str().unwrap().contains("9301.90"),
        "{}",
        unplaced[0]
    );

    let v = json_report(&r, "basis=actual&format=json").await;
    assert_eq!(
        v["exports"][0]["items"], 10,
        "what crossed at the US exit: {v}"
    );
    assert_eq!(v["exports"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["unplaced"], json!([]), "nothing of EXP-2 crossed");

    // CSV: one table column, the nil imports table said so.
    let a = r
        .get(
            &format!("/v1/reports/att?year={}&format=csv", year()),
            Some(&r.issuer),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(
        a.text
            .starts_with("# Draft derived from confidential exchanges")
    );
    assert!(
        a.text.contains(
            "exports,VIII. Small arms and light weapons,Small arms 1. Revolvers and self-loading pistols,MX,100,,Acme P9 9x19mm pistol,"
        ),
        "{}",
        a.text
    );
    assert!(
        a.text
            .contains("imports,VIII. Small arms and light weapons,,,0,,nil report,")
    );
    assert!(a.text.contains("unplaced exports,"), "{}", a.text);

    // The workbook opens with a reader, with the fixture's sheets and columns.
    let a = r
        .get(&format!("/v1/reports/att?year={}", year()), Some(&r.issuer))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(a.bytes)).expect("an xlsx");
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/att_template.json")).expect("fixture");
    let names: Vec<String> = fixture["sheets"]
        .as_array()
        .expect("sheets")
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(book.sheet_names(), names);
    for sheet in fixture["sheets"].as_array().expect("sheets") {
        let name = sheet["name"].as_str().unwrap();
        let range = book.worksheet_range(name).expect("the sheet");
        let header: Vec<String> = (0..range.width())
            .map(|c| range.get((1, c)).map(|d| d.to_string()).unwrap_or_default())
            .collect();
        let want: Vec<String> = sheet["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(header[..want.len()], want[..], "{name}");
    }
    let exports = book.worksheet_range("Exports").expect("exports");
    assert_eq!(exports.get((2, 2)), Some(&Data::String("MX".into())));
    assert_eq!(exports.get((2, 3)), Some(&Data::Float(100.0)));

    for bad in [
        "year=26",
        "year=2026&basis=hoped",
        "year=2026&format=pdf",
        "basis=actual",
    ] {
        let a = r
            .get(&format!("/v1/reports/att?{bad}"), Some(&r.issuer))
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
    }
    let a = r.get("/v1/reports/att?year=2026", o).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

#[test]
fn the_report_files_follow_the_fixture() {
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/att_template.json")).expect("fixture");
    let sheets: Vec<(String, Vec<String>)> = fixture["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["columns"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let ours: Vec<(String, Vec<String>)> = tally_api::report_att::SHEETS
        .iter()
        .map(|(n, c)| (n.to_string(), c.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(ours, sheets);
}
