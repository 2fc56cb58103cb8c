//! `GET /v1/trace`: tracing a seized firearm by make and serial (docs/API.md).

use super::blocking;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tally_verify::trace::TraceRow;

/// Longest make or serial a trace takes (as a document's text fields).
const MAX_TERM: usize = 128;

/// The query of `GET /v1/trace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    pub make: String,
    pub serial: String,
}

pub async fn trace(
    State(s): State<AppState>,
    Query(q): Query<TraceQuery>,
) -> Result<Json<Vec<TraceRow>>, ApiError> {
    for (name, value) in [("make", &q.make), ("serial", &q.serial)] {
        if value.trim().is_empty() || value.chars().count() > MAX_TERM {
            return Err(ApiError::invalid_json(format!(
                "{name} must be 1 to {MAX_TERM} characters"
            )));
        }
    }
    let v = s.verifier.clone();
    blocking(move || Ok(Json(v.reader()?.trace(&q.make, &q.serial)?))).await
}
