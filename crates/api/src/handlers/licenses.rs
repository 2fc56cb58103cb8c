//! `POST /v1/licenses`, `GET /v1/licenses/{authority}/{number}`, and the
//! issuer's status changes and amendments.

use super::blocking;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, Path};
use crate::view::{self, LicenseView, Pointer, StoredLicense, StoredTally};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tally_model::{AuthorityId, DocumentRef, EntryHash, License, LicenseKind, Status};
use tally_verify::Verifier;

/// `{"seq", "hash"}` of an entry this node just wrote.
pub(crate) fn pointer(seq: u64, hash: EntryHash) -> Pointer {
    Pointer {
        seq,
        hash: hash.to_hex(),
    }
}

pub async fn issue(
    State(s): State<AppState>,
    Body(license): Body<License>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let v = s.verifier.clone();
    let authority = v.authority().to_string();
    let number = license.number().to_string();
    let issued = blocking(move || v.issue(license).map_err(ApiError::from)).await?;
    tracing::info!(license = %number, seq = issued.entry.seq, "issued");
    let body = json!({
        "authority": authority,
        "number": number,
        "entry": pointer(issued.entry.seq, issued.entry.hash),
    });
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn get(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
) -> Result<Json<LicenseView>, ApiError> {
    let v = s.verifier.clone();
    blocking(move || {
        let not_found = || ApiError::not_found(format!("no license {number} of {authority}"));
        let Ok(id) = authority.parse::<AuthorityId>() else {
            return Err(not_found());
        };
        let store = v.store();
        let state = store
            .license(&id, &number)
            .map_err(ApiError::internal)?
            .ok_or_else(not_found)?;
        let tallies = store
            .tallies(&DocumentRef { authority, number })
            .map_err(ApiError::internal)?;
        license_view(&v, &state, &tallies)
    })
    .await
    .map(Json)
}

/// The GET answer for a stored license state and its tally rows (store
/// records, read through their serde form; see [`crate::view`]).
pub(crate) fn license_view<L: Serialize, T: Serialize>(
    v: &Verifier,
    state: &L,
    tallies: &T,
) -> Result<LicenseView, ApiError> {
    let state: StoredLicense = view::read(state)?;
    let tallies: Vec<StoredTally> = view::read(tallies)?;
    let transits = match state.kind {
        LicenseKind::Export => {
            let r = DocumentRef {
                authority: state.authority.clone(),
                number: state.number.clone(),
            };
            let held = v.store().transits_for(&r).map_err(ApiError::internal)?;
            Some(view::read::<_, Vec<StoredLicense>>(&held)?)
        }
        LicenseKind::Import | LicenseKind::Transit => None,
    };
    Ok(LicenseView::new(state, &tallies, transits))
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
    Body(body): Body<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let v = s.verifier.clone();
    let status = body.status;
    let issued = blocking(move || {
        v.set_status(&authority, &number, status, body.reason)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(Json(json!({
        "status": status,
        "entry": pointer(issued.entry.seq, issued.entry.hash),
    })))
}

pub async fn amend(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
    Body(license): Body<License>,
) -> Result<Json<Value>, ApiError> {
    let v = s.verifier.clone();
    let (version, issued) = blocking(move || {
        v.amend(&authority, &number, license)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(Json(json!({
        "version": version,
        "entry": pointer(issued.entry.seq, issued.entry.hash),
    })))
}
