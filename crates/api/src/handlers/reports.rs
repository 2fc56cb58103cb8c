//! `GET /v1/reports/att` (docs/API.md, "The ATT report"): the ATT annual
//! report's category VIII tables for one year, drafted from what this node
//! reads (`tally_verify::att_report`), as XLSX, CSV or JSON.

use super::blocking;
use crate::error::ApiError;
use crate::extract::Query;
use crate::report_att;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_verify::att_report::Basis;

/// The years a report may cover (as documents' dates).
const YEARS: std::ops::RangeInclusive<i64> = 2000..=2100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    pub year: String,
    /// `authorized` (default) or `actual`.
    pub basis: Option<String>,
    /// `xlsx` (default), `csv` or `json`.
    pub format: Option<String>,
}

pub async fn att(
    State(s): State<AppState>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let year = q
        .year
        .parse::<i64>()
        .ok()
        .filter(|y| YEARS.contains(y))
        .ok_or_else(|| ApiError::invalid_json(format!("year {:?} is not 2000-2100", q.year)))?;
    let basis = match q.basis.as_deref() {
        None => Basis::Authorized,
        Some(b) => Basis::parse(b).ok_or_else(|| {
            ApiError::invalid_json(format!("basis {b:?}: use authorized or actual"))
        })?,
    };
    let format = q.format.unwrap_or_else(|| "xlsx".into());
    if !["xlsx", "csv", "json"].contains(&format.as_str()) {
        return Err(ApiError::invalid_json(format!(
            "format {format:?}: use xlsx, csv or json"
        )));
    }
    let v = s.verifier.clone();
    let report = blocking(move || {
        Ok(v.reader()?
            .att_report(v.authority(), year, basis, v.timezone())?)
    })
    .await?;
    let file = format!("att-report-{}-{year}.{format}", report.state);
    let disposition = format!("attachment; filename=\"{file}\"");
    let (kind, body): (&str, Vec<u8>) = match format.as_str() {
        "json" => {
            return Ok(axum::Json(report).into_response());
        }
        "csv" => (
            "text/csv; charset=utf-8",
            report_att::csv(&report).into_bytes(),
        ),
        _ => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            report_att::xlsx(&report).map_err(ApiError::internal)?,
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}
