//! `POST /v1/import/read`: a file of national records read into documents,
//! as `tally import` reads it ([`crate::import_file`]), for the console's
//! upload. It signs nothing: the console then sends each document to
//! `POST /v1/licenses?if_exists=skip` (with `dry_run=true` first), so the
//! node decides what was issued already, as for the CLI.

use crate::error::ApiError;
use crate::extract::{Query, RawBody};
use crate::import_file::{decode, documents, json_lines};
use axum::Json;
use serde::Deserialize;
use serde_json::{Value, json};

/// Documents one upload may hold (the body limit bounds it first).
const MAX_DOCUMENTS: usize = 10_000;

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    pub format: Format,
}

pub async fn read(
    Query(q): Query<ReadQuery>,
    RawBody(bytes): RawBody,
) -> Result<Json<Value>, ApiError> {
    let text = decode(&bytes);
    let read = match q.format {
        Format::Csv => documents(&text),
        Format::Jsonl => json_lines(&text),
    };
    if read.len() > MAX_DOCUMENTS {
        return Err(ApiError::invalid_json(format!(
            "{} documents: at most {MAX_DOCUMENTS} at once (tally import takes more)",
            read.len()
        )));
    }
    let listed: Vec<Value> = read
        .into_iter()
        .map(|r| match r.document {
            Ok(d) => json!({"row": r.row, "number": r.number, "document": d}),
            Err(why) => json!({"row": r.row, "number": r.number, "error": why}),
        })
        .collect();
    Ok(Json(json!({"format": q.format, "documents": listed})))
}
