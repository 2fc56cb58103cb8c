//! `POST /v1/licenses`, `GET /v1/licenses/{authority}/{number}`, and the
//! issuer's status changes and amendments.

use super::blocking;
use crate::error::ApiError;
use crate::extract::{Body, Path, Query};
use crate::rate::{Kind, TokenKey};
use crate::state::AppState;
use crate::view::LicenseView;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tally_model::{AuthorityId, License, LicenseKind, Status};
use tally_verify::state::{LicenseState, TallyRow};
use tally_verify::{Existing, Reader, Trial, Visibility};

/// The query of the write routes: `?dry_run=true` runs every rule the real
/// call runs, signs nothing, writes nothing and is charged to no rate limit
/// (docs/API.md, "Dry runs").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteQuery {
    #[serde(default)]
    pub dry_run: bool,
    /// `POST /v1/licenses` only: `skip` answers 200 `{"skipped": true}`
    /// for a document this authority already issued with that content.
    #[serde(default)]
    pub if_exists: Option<IfExists>,
}

impl WriteQuery {
    /// Refuses `if_exists` on a route other than `POST /v1/licenses`.
    pub(crate) fn without_if_exists(&self) -> Result<(), ApiError> {
        match self.if_exists {
            None => Ok(()),
            Some(_) => Err(ApiError::invalid_json(
                "if_exists applies to POST /v1/licenses only",
            )),
        }
    }
}

/// What `POST /v1/licenses` does with a number this authority already used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IfExists {
    /// The same content as first issued: skipped (200); another: 409.
    Skip,
}

/// The answer of a dry run, with `extra` fields of the route.
fn trial_answer(t: &Trial, extra: Value) -> Value {
    let mut body = json!({
        "dry_run": true,
        "recipients": t.recipients,
        "unreached": t.unreached,
        "warnings": t.warnings,
    });
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
    body
}

pub async fn issue(
    State(s): State<AppState>,
    token: Option<Extension<TokenKey>>,
    Query(q): Query<WriteQuery>,
    Body(mut body): Body<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // `visibility` says how the document travels, not what it says: it is
    // not part of the signed document.
    let visibility: Visibility = match body.as_object_mut().and_then(|o| o.remove("visibility")) {
        None => Visibility::default(),
        Some(v) => serde_json::from_value(v)
            .map_err(|_| ApiError::invalid_json("visibility must be \"parties\" or \"network\""))?,
    };
    let license: License = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid_json(format!("the body is not the expected JSON: {e}")))?;
    let v = s.verifier.clone();
    let authority = v.authority().to_string();
    let number = license.number().to_string();
    // Kept to list every fault of a refused document (422 `details`).
    let offered = license.clone();
    let country = v.authority().country();
    // A skip is decided before any charge: re-running an import costs no
    // rate for what it skips.
    if q.if_exists == Some(IfExists::Skip)
        && let Some(skipped) = skip(&s, &license).await?
    {
        return Ok((StatusCode::OK, Json(skipped)));
    }
    if q.dry_run {
        let trial = blocking(move || {
            v.issuer()
                .try_issue_as(license, visibility)
                .map_err(ApiError::from)
        })
        .await
        .map_err(|e| e.with_faults(&offered, country))?;
        let extra = json!({"authority": authority, "number": number});
        return Ok((StatusCode::OK, Json(trial_answer(&trial, extra))));
    }
    s.charge(token.map(|t| t.0), Kind::Document)?;
    let issued = blocking(move || {
        v.issuer()
            .issue_as(license, visibility)
            .map_err(ApiError::from)
    })
    .await
    .map_err(|e| e.with_faults(&offered, country))?;
    tracing::info!(license = %number, seq = issued.entry.seq, sealed = !issued.recipients.is_empty(), "issued");
    let body = json!({
        "authority": authority,
        "number": number,
        "entry": issued.entry,
        "recipients": issued.recipients,
        "warnings": issued.warnings,
    });
    Ok((StatusCode::CREATED, Json(body)))
}

/// `if_exists=skip`: the answer when `license` was issued already with the
/// same content; 409 when with another; `None` when not at all.
async fn skip(s: &AppState, license: &License) -> Result<Option<Value>, ApiError> {
    let (v, offered) = (s.verifier.clone(), license.clone());
    let existing = blocking(move || v.issuer().existing(&offered).map_err(ApiError::from)).await?;
    match existing {
        Existing::None => Ok(None),
        Existing::Same(entry) => Ok(Some(json!({
            "skipped": true,
            "authority": s.verifier.authority(),
            "number": license.number(),
            "entry": entry,
        }))),
        Existing::Different(why) => Err(ApiError::from(tally_verify::IssueError::Conflict(
            format!("{why}; nothing was issued"),
        ))),
    }
}

/// A license as it stands; a sealed one this node applied but can no
/// longer open (a secret lost) answers 200 with `"document": null` and
/// `"unreadable"`, the reason.
pub async fn get(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let v = s.verifier.clone();
    blocking(move || {
        let not_found = || ApiError::not_found(format!("no license {number} of {authority}"));
        let Ok(id) = authority.parse::<AuthorityId>() else {
            return Err(not_found());
        };
        let reader = v.reader()?;
        let state = match reader.license_checked(&id, &number) {
            Ok(state) => state.ok_or_else(not_found)?,
            Err(tally_verify::StoreError::Unreadable { reason, .. }) => {
                return Ok(json!({
                    "authority": id,
                    "number": number,
                    "document": null,
                    "unreadable": reason,
                }));
            }
            Err(e) => return Err(e.into()),
        };
        let tallies = reader.tallies(&state)?;
        let view: LicenseView = license_view(&reader, state, &tallies)?;
        serde_json::to_value(view).map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
    .map(Json)
}

/// The GET answer for a stored license state and its tally rows, with
/// what the reader holds of it: for an export, the transit authorizations
/// and delivery verifications; for an import certificate, the exports
/// citing it.
pub(crate) fn license_view(
    reader: &Reader,
    state: LicenseState,
    tallies: &[TallyRow],
) -> Result<LicenseView, ApiError> {
    let reference = state.reference();
    let (transits, deliveries) = match state.kind {
        LicenseKind::Export => (
            Some(reader.transits_for(&reference)?),
            reader.deliveries_for(&reference)?,
        ),
        LicenseKind::Import | LicenseKind::Transit | LicenseKind::Delivery => (None, vec![]),
    };
    let citing = match state.kind {
        LicenseKind::Import => reader.citing_licenses(&reference)?,
        _ => vec![],
    };
    Ok(license_view_of(
        state,
        tallies,
        transits,
        &deliveries,
        citing,
    ))
}

/// The answer for `state` with what was read of it (an export's
/// `transits` and `deliveries`, an import certificate's `citing`
/// exports): by [`license_view`], or by a check from its one snapshot.
pub(crate) fn license_view_of(
    state: LicenseState,
    tallies: &[TallyRow],
    transits: Option<Vec<LicenseState>>,
    deliveries: &[LicenseState],
    citing: Vec<LicenseState>,
) -> LicenseView {
    let delivered = match state.kind {
        LicenseKind::Export => tally_verify::state::delivered(&state, deliveries),
        _ => Default::default(),
    };
    LicenseView::new(state, tallies, transits)
        .with_citing(citing)
        .with_delivered(&delivered)
}

/// The body of `POST .../status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    pub status: Status,
    #[serde(default)]
    pub reason: String,
}

pub async fn set_status(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
    token: Option<Extension<TokenKey>>,
    Query(q): Query<WriteQuery>,
    Body(body): Body<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    q.without_if_exists()?;
    let v = s.verifier.clone();
    let status = body.status;
    if q.dry_run {
        let trial = blocking(move || {
            v.issuer()
                .try_set_status(&authority, &number, status, body.reason)
                .map_err(ApiError::from)
        })
        .await?;
        return Ok(Json(trial_answer(&trial, json!({"status": status}))));
    }
    s.charge(token.map(|t| t.0), Kind::Document)?;
    let issued = blocking(move || {
        v.issuer()
            .set_status(&authority, &number, status, body.reason)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(Json(json!({
        "status": status,
        "entry": issued.entry,
    })))
}

pub async fn amend(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
    token: Option<Extension<TokenKey>>,
    Query(q): Query<WriteQuery>,
    Body(license): Body<License>,
) -> Result<Json<Value>, ApiError> {
    q.without_if_exists()?;
    let v = s.verifier.clone();
    let (offered, country) = (license.clone(), v.authority().country());
    if q.dry_run {
        let (version, trial) = blocking(move || {
            v.issuer()
                .try_amend(&authority, &number, license)
                .map_err(ApiError::from)
        })
        .await
        .map_err(|e| e.with_faults(&offered, country))?;
        return Ok(Json(trial_answer(&trial, json!({"version": version}))));
    }
    s.charge(token.map(|t| t.0), Kind::Document)?;
    let (version, issued) = blocking(move || {
        v.issuer()
            .amend(&authority, &number, license)
            .map_err(ApiError::from)
    })
    .await
    .map_err(|e| e.with_faults(&offered, country))?;
    Ok(Json(json!({
        "version": version,
        "entry": issued.entry,
    })))
}
