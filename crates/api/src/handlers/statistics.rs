//! `GET /v1/statistics` (docs/API.md, "Statistics"): the flows this node's
//! State licensed, exported, imported and saw in transit, the crossings
//! refused by rule and the alerts raised, over a period, from what this
//! node reads (the counting rules are `tally_store::statistics`'s).

use super::blocking;
use crate::error::ApiError;
use crate::export_csv::text_cell;
use crate::extract::Query;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tally_model::linkage::{category_name, unit_name};
use tally_model::{Category, Date};
use tally_verify::statistics::{FlowDirection, Grouping, Statistics, StatisticsQuery};

/// What every answer and download says of itself: the figures come from
/// documents the partners sealed to this State alone.
pub const NOTICE: &str = "Derived from confidential exchanges (CIFTA Art. XII): \
                          not for publication without the partners' consent.";

/// The query of `GET /v1/statistics`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatisticsParams {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Comma-separated: `month`, `counterpart`, `category`.
    pub group: Option<String>,
    pub direction: Option<String>,
    /// A counterpart State, ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub category: Option<String>,
    /// An HS heading or subheading: 2 to 10 digits.
    pub hs: Option<String>,
    /// `json` (default) or `csv` (the flows).
    pub format: Option<String>,
}

fn date(name: &str, value: Option<&str>) -> Result<Option<Date>, ApiError> {
    value
        .map(|d| {
            d.parse::<Date>()
                .map_err(|_| ApiError::invalid_json(format!("{name} {d:?} is not YYYY-MM-DD")))
        })
        .transpose()
}

fn grouping(group: Option<&str>) -> Result<Grouping, ApiError> {
    let mut g = Grouping::default();
    for part in group
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        match part {
            "month" => g.month = true,
            "counterpart" => g.counterpart = true,
            "category" => g.category = true,
            other => {
                return Err(ApiError::invalid_json(format!(
                    "group {other:?}: use month, counterpart and category"
                )));
            }
        }
    }
    Ok(g)
}

/// The query as the store takes it, for a node of `country`.
fn query(p: &StatisticsParams, country: &str) -> Result<StatisticsQuery, ApiError> {
    let from = date("from", p.from.as_deref())?;
    let to = date("to", p.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(ApiError::invalid_json("from is after to"));
    }
    let direction = p
        .direction
        .as_deref()
        .map(|d| {
            FlowDirection::parse(d).ok_or_else(|| {
                ApiError::invalid_json(format!("direction {d:?}: use export, import or transit"))
            })
        })
        .transpose()?;
    let counterpart = p
        .country
        .as_deref()
        .map(|c| {
            let ok = c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase());
            ok.then(|| c.to_string()).ok_or_else(|| {
                ApiError::invalid_json(format!("country {c:?} is not an ISO 3166-1 alpha-2 code"))
            })
        })
        .transpose()?;
    let category = p
        .category
        .as_deref()
        .map(|c| {
            serde_json::from_value::<Category>(serde_json::Value::String(c.into())).map_err(|_| {
                ApiError::invalid_json(format!(
                    "category {c:?}: use firearm, part, ammunition, explosive or related"
                ))
            })
        })
        .transpose()?;
    let hs = p
        .hs
        .as_deref()
        .map(|h| {
            let ok = (2..=10).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_digit());
            ok.then(|| h.to_string())
                .ok_or_else(|| ApiError::invalid_json(format!("hs {h:?} is not 2 to 10 digits")))
        })
        .transpose()?;
    Ok(StatisticsQuery {
        country: country.to_string(),
        from,
        to,
        group: grouping(p.group.as_deref())?,
        direction,
        counterpart,
        category,
        hs,
    })
}

pub async fn statistics(
    State(s): State<AppState>,
    Query(p): Query<StatisticsParams>,
) -> Result<Response, ApiError> {
    let csv = match p.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid_json(format!(
                "format {other:?}: use json or csv"
            )));
        }
    };
    let v = s.verifier.clone();
    let q = query(&p, v.authority().country().as_str())?;
    let stats = blocking(move || Ok(v.reader()?.statistics(&q, v.timezone())?)).await?;
    if csv {
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"statistics.csv\"",
            ),
        ];
        return Ok((headers, flows_csv(&stats)).into_response());
    }
    let mut body = serde_json::to_value(&stats).map_err(ApiError::internal)?;
    body["notice"] = NOTICE.into();
    Ok(axum::Json(body).into_response())
}

/// The flows as CSV, the notice on the first line (a spreadsheet shows it
/// above the table; a reader told that `#` begins a comment skips it).
pub fn flows_csv(stats: &Statistics) -> String {
    let mut out = format!("# {NOTICE}\n");
    out.push_str(
        "month,counterpart,category,direction,unit,licensed,exited,transited,entered,\
         delivered,licenses,licenses_revoked\n",
    );
    for f in &stats.flows {
        let cells = [
            text_cell(f.month.clone().unwrap_or_default()),
            text_cell(f.counterpart.clone().unwrap_or_default()),
            f.category.map(category_name).unwrap_or_default().into(),
            f.direction
                .map(FlowDirection::as_str)
                .unwrap_or_default()
                .into(),
            f.unit.map(unit_name).unwrap_or_default().into(),
            f.licensed.to_string(),
            f.exited.to_string(),
            f.transited.to_string(),
            f.entered.to_string(),
            f.delivered.to_string(),
            f.licenses.to_string(),
            f.licenses_revoked.to_string(),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
