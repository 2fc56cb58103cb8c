//! `tally import` against a running node (docs/API.md): a file of documents,
//! three good and two faulty; the dry run names the faulty rows and signs
//! nothing, the real run issues three and refuses two, a second run skips
//! the three.

use anyhow::{Result, ensure};
use std::process::ExitCode;
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

    let dry = import(&api.base, &api.tokens.issuer, &file, None, true).await?;
    ensure!((dry.issued, dry.skipped) == (3, 0), "{dry:?}");
    ensure!(rows(&dry) == [3, 5], "the faulty rows by number: {dry:?}");
    ensure!(dry.refused[1].number == "IC-4", "{dry:?}");
    ensure!(net.seq(0, "MX-SEDENA")? == 0, "a dry run signs nothing");

    let real = import(&api.base, &api.tokens.issuer, &file, None, false).await?;
    ensure!((real.issued, real.skipped) == (3, 0), "{real:?}");
    ensure!(rows(&real) == [3, 5], "{real:?}");
    ensure!(real.exit_code() == ExitCode::from(1), "some rows refused");
    ensure!(net.seq(0, "MX-SEDENA")? == 3, "three documents signed");

    let again = import(&api.base, &api.tokens.issuer, &file, None, false).await?;
    ensure!((again.issued, again.skipped) == (0, 3), "{again:?}");
    ensure!(net.seq(0, "MX-SEDENA")? == 3, "nothing issued twice");

    let csv = dir.path().join("records.csv");
    std::fs::write(&csv, "number\n")?;
    ensure!(
        import(&api.base, &api.tokens.issuer, &csv, None, false)
            .await
            .is_err(),
        "CSV is refused with a message, not misread"
    );
    net.shutdown().await;
    Ok(())
}
