//! `POST /v1/shipments/verify` and `GET /v1/shipments`.

use super::blocking;
use super::licenses::license_view;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, Query};
use crate::rate::{Kind, TokenKey};
use crate::view::ShipmentView;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tally_model::{AuthorityId, DocumentRef};
use tally_verify::{CheckRequest, Checked};

pub async fn verify(
    State(s): State<AppState>,
    token: Option<Extension<TokenKey>>,
    Body(req): Body<CheckRequest>,
) -> Result<Json<Value>, ApiError> {
    // A check alone writes nothing and is not limited; a record is.
    if req.record {
        s.charge(token.map(|t| t.0), Kind::Record)?;
    }
    let v = s.verifier.clone();
    let metrics = s.metrics.clone();
    blocking(move || {
        let Checked {
            verdict,
            license,
            tallies,
            record,
        } = v.check(req)?;
        for c in &verdict.checks {
            metrics.verdict(c.rule, c.ok);
        }
        metrics.verdict_total(verdict.label());
        let license = match license {
            Some(state) => Some(license_view(&v, state, &tallies)?),
            None => None,
        };
        let record = record.map(
            |e| json!({"authority": v.authority().as_str(), "seq": e.seq, "hash": e.hash.to_hex()}),
        );
        Ok(Json(json!({
            "verdict": verdict.as_str(),
            "checks": verdict.checks,
            "license": license,
            "record": record,
        })))
    })
    .await
}

/// The query of `GET /v1/shipments`.
#[derive(Debug, Deserialize)]
pub struct LicenseQuery {
    pub authority: String,
    pub number: String,
}

pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<LicenseQuery>,
) -> Result<Json<Vec<ShipmentView>>, ApiError> {
    let v = s.verifier.clone();
    blocking(move || {
        let r = DocumentRef {
            authority: q.authority,
            number: q.number,
        };
        let store = v.store();
        let license = match r.authority.parse::<AuthorityId>() {
            Ok(a) => store.license(&a, &r.number)?,
            Err(_) => None,
        };
        let document = license.as_ref().map(|l| &l.document);
        let rows = store.shipments(&r)?;
        Ok(Json(
            rows.into_iter()
                .map(|row| ShipmentView::new(row, document))
                .collect(),
        ))
    })
    .await
}
