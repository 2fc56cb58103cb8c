//! `POST /v1/shipments/verify` and `GET /v1/shipments`.

use super::blocking;
use super::licenses::WriteQuery;
use super::licenses::license_view_of;
use crate::error::ApiError;
use crate::extract::{Body, Query};
use crate::metrics::Metrics;
use crate::rate::{Kind, TokenKey};
use crate::state::AppState;
use crate::view::{DryRunView, RecordView, ShipmentView, VerifyAnswer};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tally_model::{AuthorityId, DocumentRef, LicenseKind};
use tally_verify::{CheckRequest, Checked, Verifier};

/// Most serials a check may declare and still run on the request's own task:
/// such a check is a handful of point reads (tens of microseconds), less
/// than handing it to the blocking pool costs (two thread wake-ups). A
/// larger declaration, or a record (a durable commit), goes to the pool.
const INLINE_SERIALS: usize = 64;

pub async fn verify(
    State(s): State<AppState>,
    token: Option<Extension<TokenKey>>,
    Query(q): Query<WriteQuery>,
    Body(req): Body<CheckRequest>,
) -> Result<Json<VerifyAnswer>, ApiError> {
    q.without_if_exists()?;
    if q.dry_run {
        // Charged to nothing: it writes nothing.
        let (v, metrics) = (s.verifier.clone(), s.metrics.clone());
        return blocking(move || answer(&v, &metrics, req, true))
            .await
            .map(|(a, _)| Json(a));
    }
    // A check alone writes nothing and is not limited; a record is: by
    // count, and by the bytes it stores (the token's budget and the
    // node's), reserved now and settled with what its write stored: the
    // entry and the rows derived from it, which every party stores alike.
    let token = token.map(|t| t.0);
    let reservation = match token {
        Some(t) if req.record => {
            s.charge(Some(t), Kind::Record)?;
            Some(s.rate.reserve_record_bytes(t)?)
        }
        _ => None,
    };
    let inline = !req.record && req.declared_serials() <= INLINE_SERIALS;
    let v = s.verifier.clone();
    let metrics = s.metrics.clone();
    let answer = move || answer(&v, &metrics, req, false);
    let answered = if inline {
        answer()
    } else {
        blocking(answer).await
    };
    if let Some(r) = reservation {
        let written = answered.as_ref().map_or(0, |(_, bytes)| *bytes);
        s.rate.settle_record_bytes(r, written);
    }
    answered.map(|(a, _)| Json(a))
}

/// The answer, and the bytes the record added to the log (0 without one).
fn answer(
    v: &Verifier,
    metrics: &Metrics,
    req: CheckRequest,
    dry: bool,
) -> Result<(VerifyAnswer, u64), ApiError> {
    let Checked {
        verdict,
        license,
        tallies,
        transits,
        deliveries,
        citing,
        record,
        record_bytes,
        trial,
    } = if dry {
        v.checker().dry_run(req)?
    } else {
        v.checker().check(req)?
    };
    for c in &verdict.checks {
        metrics.verdict(c.rule, c.ok);
    }
    metrics.verdict_total(verdict.label());
    let license = match license {
        Some(state) => {
            let transits = (state.kind == LicenseKind::Export).then_some(transits);
            Some(license_view_of(
                state,
                &tallies,
                transits,
                &deliveries,
                citing,
            ))
        }
        None => None,
    };
    Ok((
        VerifyAnswer {
            verdict: verdict.as_str(),
            record: record.map(|e| RecordView {
                authority: v.authority().clone(),
                seq: e.seq,
                hash: e.hash.to_hex(),
            }),
            checks: verdict.checks,
            flags: verdict.flags,
            license,
            dry_run: dry.then(|| {
                let t = trial.unwrap_or_default();
                DryRunView {
                    dry_run: true,
                    recipients: t.recipients,
                    unreached: t.unreached,
                    warnings: t.warnings,
                }
            }),
        },
        record_bytes,
    ))
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
        let reader = v.reader()?;
        let license = match r.authority.parse::<AuthorityId>() {
            Ok(a) => reader.license(&a, &r.number)?,
            Err(_) => None,
        };
        let document = license.as_ref().map(|l| &l.document);
        let rows = reader.shipments(&r)?;
        Ok(Json(
            rows.into_iter()
                .map(|row| ShipmentView::new(row, document))
                .collect(),
        ))
    })
    .await
}
