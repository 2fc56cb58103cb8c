//! `GET /v1/paper/{authority}/{number}`: the printable page of one of this
//! node's documents with its QR seal, or (`?format=seal`) the seal's text
//! (docs/API.md, "Paper seals"), then each annex page's, one a line. Each
//! print is recorded by the paper desk.
//! `GET /v1/paper/bundle`: the trust bundle offline verifiers hold.

use super::blocking;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::rate::TokenKey;
use crate::state::AppState;
use axum::Extension;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::Response;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Html,
    Seal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintQuery {
    #[serde(default)]
    pub format: Format,
}

/// `GET /v1/paper/bundle` (officer): the trust bundle, signed.
pub async fn bundle(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Result<axum::Json<tally_verify::paper::Bundle>, ApiError> {
    let desk = desk(&s)?;
    let v = s.verifier.clone();
    blocking(move || desk.bundle(&v)).await.map(axum::Json)
}

fn desk(s: &AppState) -> Result<std::sync::Arc<crate::paper::PaperDesk>, ApiError> {
    s.paper.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this node prints no seals: set [paper] enabled = true in tally.toml and restart",
        )
    })
}

pub async fn print(
    axum::extract::State(s): axum::extract::State<AppState>,
    Path((authority, number)): Path<(String, String)>,
    Query(q): Query<PrintQuery>,
    token: Option<Extension<TokenKey>>,
) -> Result<Response, ApiError> {
    let desk = desk(&s)?;
    let by = super::licenses::Asker::of(&s, token).person;
    let v = s.verifier.clone();
    let print = blocking(move || desk.print(&v, &authority, &number, by.as_ref())).await?;
    tracing::info!(license = %print.summary.number, version = print.summary.version, "printed a seal");
    let (body, content_type) = match q.format {
        // The main seal first, then each annex page's, one a line.
        Format::Seal => (
            std::iter::once(&print.sealed)
                .chain(print.annexes.iter().map(|(_, sealed)| sealed))
                .map(|sealed| format!("{}\n", sealed.text))
                .collect(),
            "text/plain; charset=utf-8",
        ),
        Format::Html => (crate::paper_page::page(&print), "text/html; charset=utf-8"),
    };
    let mut r = super::console::under_csp(content_type, body);
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}
