//! `GET /v1/drafts`, `POST /v1/drafts/{id}/approve` and `.../reject`: the
//! second pair of eyes (`[issue] approvals = 2`, docs/API.md). Approving
//! runs the write the draft came from, named as prepared by its author and
//! signed by the approver, and answers what the direct call would have.

use super::blocking;
use super::licenses::{Asker, amend_now, issue_now, status_now};
use crate::drafts::{Action, Draft};
use crate::error::ApiError;
use crate::extract::{Body, Path};
use crate::rate::TokenKey;
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tally_model::{Attribution, validate};

pub async fn list(State(s): State<AppState>) -> Json<Value> {
    let own = s.verifier.authority().to_string();
    let drafts: Vec<Value> = s
        .drafts
        .list()
        .into_iter()
        .map(|d| {
            let (authority, number) = d.subject(&own);
            let mut v = serde_json::to_value(&d).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                o.insert("authority".into(), json!(authority));
                o.insert("number".into(), json!(number));
            }
            v
        })
        .collect();
    Json(json!({"approvals": s.approvals, "drafts": drafts}))
}

/// Whether `asker` is another person than the one who prepared `draft`:
/// another token, and another name.
fn another_person(draft: &Draft, asker: &Asker) -> Result<(), ApiError> {
    let same_token = asker
        .key
        .is_some_and(|k| hex::encode(k.0) == draft.preparer_token);
    let same_name = asker
        .person
        .as_ref()
        .is_some_and(|p| tally_model::linkage::same_name(&p.name, &draft.prepared_by.name));
    if same_token || same_name {
        return Err(ApiError::forbidden(
            "a draft is approved by another person than the one who prepared it",
        ));
    }
    Ok(())
}

pub async fn approve(
    State(s): State<AppState>,
    Path(id): Path<String>,
    token: Option<Extension<TokenKey>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let asker = Asker::of(&s, token);
    let draft = s.drafts.take(&id)?;
    if let Err(e) = another_person(&draft, &asker) {
        s.drafts.restore(draft);
        return Err(e);
    }
    let people = Attribution {
        prepared_by: Some(draft.prepared_by.clone()),
        signatory: asker.person.clone(),
    };
    let done = match draft.action.clone() {
        Action::Issue {
            document,
            visibility,
        } => issue_now(&s, document, visibility, people, asker.key).await,
        Action::Status {
            authority,
            number,
            status,
            reason,
        } => status_now(&s, (authority, number), status, reason, people, asker.key).await,
        Action::Amend {
            authority,
            number,
            document,
        } => amend_now(&s, (authority, number), document, people, asker.key).await,
    };
    match done {
        Ok(answer) => {
            let drafts = s.drafts.clone();
            let signed = draft.clone();
            blocking(move || drafts.forget(&signed)).await?;
            tracing::info!(draft = %draft.id, "draft approved and signed");
            Ok(answer)
        }
        // Still pending: the officers see why, and may reject it.
        Err(e) => {
            s.drafts.restore(draft);
            Err(e)
        }
    }
}

/// The body of `POST /v1/drafts/{id}/reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    pub reason: String,
}

pub async fn reject(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(body): Body<RejectBody>,
) -> Result<Json<Value>, ApiError> {
    let reason = body.reason.trim().to_string();
    validate::required("reason", &reason)
        .and_then(|()| validate::free_text("reason", &reason))
        .map_err(|e| ApiError::invalid_json(e.0))?;
    let draft = s.drafts.take(&id)?;
    let drafts = s.drafts.clone();
    let dropped = draft.clone();
    if let Err(e) = blocking(move || drafts.forget(&dropped)).await {
        s.drafts.restore(draft);
        return Err(e);
    }
    tracing::info!(draft = %draft.id, "draft rejected");
    Ok(Json(
        json!({"draft": draft.id, "rejected": true, "reason": reason}),
    ))
}
