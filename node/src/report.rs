//! `tally report att`: the ATT annual report's category VIII tables,
//! drafted by a node (`GET /v1/reports/att` as JSON) and written here as a
//! workbook or CSV by the same code the node's own download uses; the lines
//! the node could not place in a sub-category are named on standard error,
//! for the officer to decide.

use crate::client::{call, escape};
use anyhow::{Context, bail};
use std::path::Path;
use tally_verify::att_report::{AttReport, Table};

/// `tally report WHAT`.
pub async fn run(what: crate::cli::ReportCommand) -> anyhow::Result<()> {
    match what {
        crate::cli::ReportCommand::Att {
            api,
            token,
            year,
            out,
            basis,
        } => att(&api, &token, year, basis.as_deref(), &out).await,
    }
}

/// Writes the report of `year` on `basis` (authorized or actual) to `out`,
/// `.xlsx` or `.csv` by its extension.
pub async fn att(
    api: &str,
    token: &str,
    year: i64,
    basis: Option<&str>,
    out: &Path,
) -> anyhow::Result<()> {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or_default();
    if !["xlsx", "csv"].contains(&ext) {
        bail!("{}: the report is written as .xlsx or .csv", out.display());
    }
    let year = year.to_string();
    let mut params = vec![("year", year.as_str()), ("format", "json")];
    if let Some(b) = basis {
        params.push(("basis", b));
    }
    let url = reqwest::Url::parse_with_params(
        &format!("{}/v1/reports/att", api.trim_end_matches('/')),
        &params,
    )
    .with_context(|| format!("{api} is not a URL"))?;
    let value = call(reqwest::Method::GET, url.as_str(), token, None).await?;
    let report: AttReport =
        serde_json::from_value(value).context("the node's answer is not a report")?;
    for u in &report.unplaced {
        let table = match u.table {
            Table::Exports => "exports",
            Table::Imports => "imports",
        };
        eprintln!(
            "not placed ({table}): {}/{} line {}, {} x {}: {}",
            escape(&u.license.authority),
            escape(&u.license.number),
            u.line,
            u.quantity,
            escape(&u.description),
            escape(&u.reason)
        );
    }
    let bytes = if ext == "csv" {
        tally_api::report_att::csv(&report).into_bytes()
    } else {
        tally_api::report_att::xlsx(&report).context("writing the workbook")?
    };
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {}: {} export rows, {} import rows, {} lines not placed",
        out.display(),
        report.exports.len(),
        report.imports.len(),
        report.unplaced.len()
    );
    Ok(())
}
