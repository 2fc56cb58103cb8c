//! `POST /v1/licenses`, `GET /v1/licenses/{authority}/{number}`, and the
//! issuer's status changes and amendments.

use super::blocking;
use crate::drafts::Action;
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
use tally_model::{Attribution, AuthorityId, License, LicenseKind, Person, Status};
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

/// Who made a write request: the person its token names (none without
/// a token) and the token's hash, charged for what it signs.
#[derive(Debug, Clone)]
pub(crate) struct Asker {
    pub key: Option<TokenKey>,
    pub person: Option<Person>,
}

impl Asker {
    pub(crate) fn of(s: &AppState, token: Option<Extension<TokenKey>>) -> Asker {
        let key = token.map(|t| t.0);
        let person = key.and_then(|k| {
            s.tokens
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .person_of(&k.0)
        });
        Asker { key, person }
    }

    /// Prepared and signed by the asker alone (one approval).
    fn alone(&self) -> Attribution {
        Attribution {
            prepared_by: self.person.clone(),
            signatory: self.person.clone(),
        }
    }
}

/// `[issue] approvals = 2`: keeps `action` as a draft for another person
/// to approve (202), once every rule passed on it as a dry run.
fn drafted(
    s: &AppState,
    asker: &Asker,
    action: Action,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let person = asker.person.clone().unwrap_or(Person {
        name: "unnamed".into(),
        title: None,
    });
    let key = asker.key.map_or([0; 32], |k| k.0);
    let draft = s.drafts.add(action, person, &key)?;
    tracing::info!(draft = %draft.id, "draft awaits approval");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"draft": draft.id, "awaiting": "approval"})),
    ))
}

pub async fn issue(
    State(s): State<AppState>,
    token: Option<Extension<TokenKey>>,
    Query(q): Query<WriteQuery>,
    Body(mut body): Body<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // `visibility` says how the document travels, not what it says: it is
    // not part of the signed document.
    let asked: Option<Visibility> = match body.as_object_mut().and_then(|o| o.remove("visibility"))
    {
        None => None,
        Some(v) => Some(serde_json::from_value(v).map_err(|_| {
            ApiError::invalid_json("visibility must be \"parties\" or \"network\"")
        })?),
    };
    let mut license: License = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid_json(format!("the body is not the expected JSON: {e}")))?;
    let visibility = asked.unwrap_or_else(|| Visibility::default_for(&license));
    let asker = Asker::of(&s, token);
    // The node names who prepared and signed a document, whatever the body said.
    license.set_attribution(asker.alone());
    // A skip is decided before any charge: re-running an import costs no
    // rate for what it skips.
    if q.if_exists == Some(IfExists::Skip)
        && let Some(skipped) = skip(&s, &license).await?
    {
        return Ok((StatusCode::OK, Json(skipped)));
    }
    if q.dry_run || s.approvals > 1 {
        let trial = try_issue(&s, license.clone(), visibility).await?;
        if q.dry_run {
            let extra = json!({"authority": s.verifier.authority(), "number": license.number()});
            return Ok((StatusCode::OK, Json(trial_answer(&trial, extra))));
        }
        let document = license.without_attribution();
        return drafted(
            &s,
            &asker,
            Action::Issue {
                document,
                visibility,
            },
        );
    }
    issue_now(&s, license, visibility, asker.alone(), asker.key).await
}

async fn try_issue(
    s: &AppState,
    license: License,
    visibility: Visibility,
) -> Result<Trial, ApiError> {
    let v = s.verifier.clone();
    let (offered, country) = (license.clone(), v.authority().country());
    blocking(move || {
        v.issuer()
            .try_issue_as(license, visibility)
            .map_err(ApiError::from)
    })
    .await
    .map_err(|e| e.with_faults(&offered, country))
}

/// Signs `license` as prepared and signed by `people`, charging `key`.
pub(crate) async fn issue_now(
    s: &AppState,
    mut license: License,
    visibility: Visibility,
    people: Attribution,
    key: Option<TokenKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    license.set_attribution(people);
    let v = s.verifier.clone();
    let authority = v.authority().to_string();
    let number = license.number().to_string();
    // Kept to list every fault of a refused document (422 `details`).
    let (offered, country) = (license.clone(), v.authority().country());
    s.charge(key, Kind::Document)?;
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
        _ => (None, vec![]),
    };
    // An import certificate's exports; an end-use request's answers.
    let citing = match state.kind {
        LicenseKind::Import | LicenseKind::EnduseRequest => reader.citing_licenses(&reference)?,
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
) -> Result<(StatusCode, Json<Value>), ApiError> {
    q.without_if_exists()?;
    let asker = Asker::of(&s, token);
    let status = body.status;
    if q.dry_run || s.approvals > 1 {
        let (v, people) = (s.verifier.clone(), asker.alone());
        let (a, n, reason) = (authority.clone(), number.clone(), body.reason.clone());
        let trial = blocking(move || {
            v.issuer()
                .try_set_status(&a, &n, status, reason, people)
                .map_err(ApiError::from)
        })
        .await?;
        if q.dry_run {
            return Ok((
                StatusCode::OK,
                Json(trial_answer(&trial, json!({"status": status}))),
            ));
        }
        let action = Action::Status {
            authority,
            number,
            status,
            reason: body.reason,
        };
        return drafted(&s, &asker, action);
    }
    status_now(
        &s,
        (authority, number),
        status,
        body.reason,
        asker.alone(),
        asker.key,
    )
    .await
}

/// Signs a status change as prepared and signed by `people`.
pub(crate) async fn status_now(
    s: &AppState,
    (authority, number): (String, String),
    status: Status,
    reason: String,
    people: Attribution,
    key: Option<TokenKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    s.charge(key, Kind::Document)?;
    let v = s.verifier.clone();
    let issued = blocking(move || {
        v.issuer()
            .set_status_as(&authority, &number, status, reason, people)
            .map_err(ApiError::from)
    })
    .await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "status": status,
            "entry": issued.entry,
        })),
    ))
}

pub async fn amend(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
    token: Option<Extension<TokenKey>>,
    Query(q): Query<WriteQuery>,
    Body(mut license): Body<License>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    q.without_if_exists()?;
    let asker = Asker::of(&s, token);
    license.set_attribution(asker.alone());
    if q.dry_run || s.approvals > 1 {
        let v = s.verifier.clone();
        let (offered, country) = (license.clone(), v.authority().country());
        let (a, n, l) = (authority.clone(), number.clone(), license.clone());
        let (version, trial) =
            blocking(move || v.issuer().try_amend(&a, &n, l).map_err(ApiError::from))
                .await
                .map_err(|e| e.with_faults(&offered, country))?;
        if q.dry_run {
            return Ok((
                StatusCode::OK,
                Json(trial_answer(&trial, json!({"version": version}))),
            ));
        }
        let action = Action::Amend {
            authority,
            number,
            document: license.without_attribution(),
        };
        return drafted(&s, &asker, action);
    }
    amend_now(&s, (authority, number), license, asker.alone(), asker.key).await
}

/// Signs an amendment as prepared and signed by `people`.
pub(crate) async fn amend_now(
    s: &AppState,
    (authority, number): (String, String),
    mut license: License,
    people: Attribution,
    key: Option<TokenKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    license.set_attribution(people);
    let v = s.verifier.clone();
    let (offered, country) = (license.clone(), v.authority().country());
    s.charge(key, Kind::Document)?;
    let (version, issued) = blocking(move || {
        v.issuer()
            .amend(&authority, &number, license)
            .map_err(ApiError::from)
    })
    .await
    .map_err(|e| e.with_faults(&offered, country))?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "version": version,
            "entry": issued.entry,
        })),
    ))
}
