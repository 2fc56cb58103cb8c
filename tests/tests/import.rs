//! `tally import` against a running node (docs/API.md, docs/IMPORT.md): a
//! file of documents, three good and two faulty; the dry run names the
//! faulty rows and signs nothing, the real run issues three and refuses two,
//! a second run skips the three. Then the same from a CSV file written the
//! way a spreadsheet in a Spanish locale writes it. And `tally export` takes
//! them out again, with a cursor.

use anyhow::{Result, ensure};
use std::process::ExitCode;
use tally_node::client::{ExportAsk, export};
use tally_node::import::{Imported, import};
use tally_testkit::json::import_of;
use tally_tests::Net;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_names_its_faulty_rows_and_runs_twice_without_issuing_twice() -> Result<()> {
    let mut net = Net::init(&["MX-SEDENA"])?;
    net.start_node(0).await?;
    let api = net.api(0);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("records.jsonl");
    let mut bad_date = import_of("IC-4", "MX", "US", 10);
    bad_date["valid_until"] = "2000-01-01".into();
    let lines = [
        import_of("IC-1", "MX", "US", 10).to_string(),
        import_of("IC-2", "MX", "US", 10).to_string(),
        "{not json".to_string(),
        String::new(),
        bad_date.to_string(),
        import_of("IC-3", "MX", "US", 10).to_string(),
    ];
    std::fs::write(&file, lines.join("\n"))?;
    let rows = |done: &Imported| done.refused.iter().map(|r| r.row).collect::<Vec<_>>();

    // The log may hold the node's own key announcements already.
    let start = net.seq(0, "MX-SEDENA")?;
    let dry = import(&api.base, &api.tokens.issuer, &file, None, true).await?;
    ensure!((dry.issued, dry.skipped) == (3, 0), "{dry:?}");
    ensure!(rows(&dry) == [3, 5], "the faulty rows by number: {dry:?}");
    ensure!(dry.refused[1].number == "IC-4", "{dry:?}");
    ensure!(net.seq(0, "MX-SEDENA")? == start, "a dry run signs nothing");

    let real = import(&api.base, &api.tokens.issuer, &file, None, false).await?;
    ensure!((real.issued, real.skipped) == (3, 0), "{real:?}");
    ensure!(rows(&real) == [3, 5], "{real:?}");
    ensure!(real.exit_code() == ExitCode::from(1), "some rows refused");
    ensure!(
        net.seq(0, "MX-SEDENA")? == start + 3,
        "three documents signed"
    );

    let again = import(&api.base, &api.tokens.issuer, &file, None, false).await?;
    ensure!((again.issued, again.skipped) == (0, 3), "{again:?}");
    ensure!(
        net.seq(0, "MX-SEDENA")? == start + 3,
        "nothing issued twice"
    );

    // And out again: `tally export` writes what the node holds, then gives
    // the cursor after which a second export finds nothing new.
    let out = dir.path().join("licenses.jsonl");
    let ask = |since| ExportAsk {
        what: "licenses",
        from: None,
        to: None,
        since,
        format: None,
    };
    let cursor = export(&api.base, &api.tokens.issuer, &ask(None), Some(&out)).await?;
    let text = std::fs::read_to_string(&out)?;
    let numbers: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["number"].as_str().map(String::from))
        .collect();
    ensure!(numbers == ["IC-1", "IC-2", "IC-3"], "{text}");
    let cursor = cursor.ok_or_else(|| anyhow::anyhow!("no cursor: {text}"))?;
    export(
        &api.base,
        &api.tokens.issuer,
        &ask(Some(&cursor)),
        Some(&out),
    )
    .await?;
    let text = std::fs::read_to_string(&out)?;
    ensure!(text.lines().count() == 1, "only the cursor line: {text}");

    // The same from a spreadsheet in a Spanish locale: `;`, Windows-1252,
    // dd/mm/yyyy, one row per item line; IC-7's quantity is not a number.
    let mut sheet = b"kind;number;importing_country;exporting_country;importer.name;exporter.name;end_use;valid_from;valid_until;line;category;description;hs_code;quantity;unit\r\n".to_vec();
    for (number, quantity) in [
        ("IC-5", "10"),
        ("IC-6", "10"),
        ("IC-7", "diez"),
        ("IC-8", "4"),
    ] {
        sheet.extend_from_slice(
            format!("import;{number};MX;US;Importadora del Norte SA;Acme Arms Inc.;seguridad p")
                .as_bytes(),
        );
        sheet.push(0xFA); // ú in Windows-1252
        sheet.extend_from_slice(
            format!("blica;01/11/2026;31/12/2027;1;firearm;pistola;930200;{quantity};units\r\n")
                .as_bytes(),
        );
    }
    let csv = dir.path().join("registros.csv");
    std::fs::write(&csv, &sheet)?;
    let first = import(&api.base, &api.tokens.issuer, &csv, None, false).await?;
    ensure!((first.issued, first.skipped) == (3, 0), "{first:?}");
    ensure!(rows(&first) == [4], "the header is row 1: {first:?}");
    let again = import(&api.base, &api.tokens.issuer, &csv, None, false).await?;
    ensure!((again.issued, again.skipped) == (0, 3), "{again:?}");
    let reader = net.api(0);
    let (status, body) = reader
        .get(tally_tests::As::Officer, "/v1/licenses/MX-SEDENA/IC-5")
        .await?;
    ensure!(status == 200, "{status} {body}");
    ensure!(body["document"]["end_use"] == "seguridad pública", "{body}");
    ensure!(body["document"]["valid_from"] == "2026-11-01", "{body}");

    // The sample file of docs/IMPORT.md imports as it is.
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/import-sample.csv");
    let done = import(&api.base, &api.tokens.issuer, &sample, None, false).await?;
    ensure!((done.issued, done.refused.len()) == (2, 0), "{done:?}");
    net.shutdown().await;
    Ok(())
}

/// A thousand documents from a spreadsheet in a Spanish locale (`;`,
/// Windows-1252, `dd/mm/yyyy`), three of them faulty: the dry run names the
/// three rows and signs nothing, the real run issues 997 and refuses 3,
/// and running it again skips the 997.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_row_spreadsheet_imports_once() -> Result<()> {
    let mut net = Net::init(&["MX-SEDENA"])?;
    net.start_node(0).await?;
    let api = net.api(0);
    let dir = tempfile::tempdir()?;
    let mut sheet = b"kind;number;importing_country;exporting_country;importer.name;exporter.name;end_use;valid_from;valid_until;line;category;description;hs_code;quantity;unit\r\n".to_vec();
    // Rows 2..=1001; three faulty: a quantity in words, a date that is not
    // one, a heading that is not a firearm's.
    let faulty = [(101, 2), (502, 3), (903, 4)];
    for n in 1..=1000usize {
        let row = n + 1;
        let (quantity, from, hs) = match faulty.iter().find(|(r, _)| *r == row) {
            Some((_, 2)) => ("diez", "01/11/2026", "930200"),
            Some((_, 3)) => ("10", "31/02/2026", "930200"),
            Some(_) => ("10", "01/11/2026", "940000"),
            None => ("10", "01/11/2026", "930200"),
        };
        sheet.extend_from_slice(
            format!("import;DCAM/PI/2026/{n:04};MX;US;Importadora del Norte SA;Acme Arms Inc.;seguridad p").as_bytes(),
        );
        sheet.push(0xFA);
        sheet.extend_from_slice(
            format!("blica;{from};31/12/2027;1;firearm;pistola;{hs};{quantity};units\r\n")
                .as_bytes(),
        );
    }
    let file = dir.path().join("registros-2025.csv");
    std::fs::write(&file, &sheet)?;
    let rows = |done: &Imported| done.refused.iter().map(|r| r.row).collect::<Vec<_>>();
    let faulty_rows: Vec<usize> = faulty.iter().map(|(r, _)| *r).collect();

    // The log may hold the node's own key announcements already.
    let start = net.seq(0, "MX-SEDENA")?;
    let dry = import(&api.base, &api.tokens.issuer, &file, Some("csv"), true).await?;
    ensure!((dry.issued, dry.skipped) == (997, 0), "{:?}", dry.refused);
    ensure!(rows(&dry) == faulty_rows, "{:?}", dry.refused);
    // The node's faults are placed in the sheet: row 903's heading is in
    // its `hs_code` cell.
    let heading = dry.refused.iter().find(|r| r.row == 903).expect("row 903");
    ensure!(
        heading
            .faults
            .iter()
            .any(|f| (f.row, f.column.as_str()) == (903, "hs_code")),
        "{heading:?}"
    );
    ensure!(net.seq(0, "MX-SEDENA")? == start, "a dry run signs nothing");

    let real = import(&api.base, &api.tokens.issuer, &file, None, false).await?;
    ensure!(
        (real.issued, real.skipped) == (997, 0),
        "{:?}",
        real.refused
    );
    ensure!(rows(&real) == faulty_rows, "{:?}", real.refused);
    ensure!(
        net.seq(0, "MX-SEDENA")? == start + 997,
        "997 documents signed"
    );

    let again = import(&api.base, &api.tokens.issuer, &file, None, false).await?;
    ensure!((again.issued, again.skipped) == (0, 997), "{again:?}");
    ensure!(rows(&again) == faulty_rows, "{:?}", again.refused);
    ensure!(
        net.seq(0, "MX-SEDENA")? == start + 997,
        "nothing issued twice"
    );
    net.shutdown().await;
    Ok(())
}
