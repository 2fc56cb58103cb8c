//! `POST /v1/import/read`: the console's upload reads a file as `tally
//! import` does, and signs nothing.

use crate::rig::*;
use axum::http::{Method, StatusCode};

#[tokio::test]
async fn a_spreadsheet_is_read_into_documents_and_nothing_is_signed() {
    let r = Rig::new();
    let i = Some(r.issuer.as_str());
    let before = r.heads().await;
    // Windows-1252, `;` and dd/mm/yyyy, as a Spanish-locale spreadsheet saves.
    let mut csv = b"kind;number;importing_country;exporting_country;importer.name;exporter.name;valid_from;valid_until;line;category;quantity;unit;serials\r\n".to_vec();
    csv.extend_from_slice(b"import;DCAM/PI/2026/0042;MX;US;Importadora del Norte;Acme;01/02/2026;31/12/2026;1;firearm;2;units;007|0008\r\n");
    csv.extend_from_slice(b";DCAM/PI/2026/0042;;;;;;;2;ammunition;100;rounds;\r\n");
    csv.extend_from_slice(
        b"import;B-2;MX;US;Armer\xeda Sur;Acme;01/02/2026;31/12/2026;x;firearm;2;units;\r\n",
    );
    let a = r
        .raw(
            Method::POST,
            "/v1/import/read?format=csv",
            i,
            Some("text/csv"),
            csv,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    let docs = v["documents"].as_array().expect("documents");
    assert_eq!(docs.len(), 2, "{v}");
    assert_eq!(docs[0]["row"], 2);
    assert_eq!(docs[0]["document"]["number"], "DCAM/PI/2026/0042");
    assert_eq!(docs[0]["document"]["valid_from"], "2026-02-01");
    assert_eq!(docs[0]["document"]["items"][1]["quantity"], 100);
    assert_eq!(docs[0]["document"]["items"][0]["serials"][0], "007");
    assert_eq!(docs[1]["row"], 4);
    assert!(
        docs[1]["error"].as_str().expect("error").contains("line"),
        "{v}"
    );

    let a = r
        .raw(
            Method::POST,
            "/v1/import/read?format=jsonl",
            i,
            Some("application/x-ndjson"),
            b"{\"kind\": \"import\", \"number\": \"A\"}\n\nnot json\n".to_vec(),
        )
        .await;
    let v = a.json();
    assert_eq!(v["documents"][0]["document"]["number"], "A");
    assert_eq!(v["documents"][1]["row"], 3);
    assert!(v["documents"][1]["error"].is_string());

    let bad = r
        .raw(Method::POST, "/v1/import/read?format=xlsx", i, None, vec![])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    let officer = r
        .raw(
            Method::POST,
            "/v1/import/read?format=csv",
            Some(&r.officer),
            None,
            vec![],
        )
        .await;
    assert_eq!(officer.status, StatusCode::FORBIDDEN);
    assert_eq!(r.heads().await, before, "reading signs nothing");
}
