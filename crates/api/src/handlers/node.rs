//! The node's own endpoints: health, status, authorities, tokens, evidence,
//! logs and metrics (the OpenAPI document is served by the route table).

use super::blocking;
use crate::error::ApiError;
use crate::extract::{Body, Path, Query};
use crate::rate::{Kind, TokenKey};
use crate::state::AppState;
use crate::tokens::{Role, TokenBook, TokenError};
use crate::view::{AuthorityView, rfc3339};
use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use tally_model::{AlertKind, AuthorityId};

/// `{"status": "ok"}`, or 503 `degraded` with the reason while the store
/// cannot write or the signing token is away.
pub async fn health(State(s): State<AppState>) -> (StatusCode, Json<Value>) {
    let health = s.verifier.store_health();
    if let Some(reason) = health.damaged {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "degraded", "reason": format!("the store is damaged: {reason}")}),
            ),
        );
    }
    if let Some(reason) = s.metrics.panicked() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "reason": reason})),
        );
    }
    if let Some(reason) = s.verifier.signer_away() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "degraded", "reason": format!("cannot sign: {reason}")})),
        );
    }
    match health.fault {
        None => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "degraded", "reason": format!("the store cannot write: {reason}")}),
            ),
        ),
    }
}

/// This node: authority, peer id, peers, log heads, whether it signs, and
/// the store's state. While the store is damaged the heads are not read
/// from it (`logs` is empty) and `store` gives the reason; otherwise
/// `store.check` says whether the background check is `running` or found
/// the store `sound`.
pub async fn status(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let health = s.verifier.store_health();
    let (damaged, checked) = (health.damaged.clone(), health.checked);
    let v = s.verifier.clone();
    let heads = if damaged.is_some() {
        vec![]
    } else {
        blocking(move || Ok::<_, ApiError>(v.reader()?.heads()?)).await?
    };
    let logs: Vec<Value> = heads
        .iter()
        .map(|(a, seq, head)| json!({"authority": a.as_str(), "seq": seq, "head": head.to_hex()}))
        .collect();
    let peers: Vec<Value> = s
        .network
        .peers()
        .into_iter()
        .map(|p| {
            json!({
                "peer_id": p.peer_id,
                "authority": p.authority,
                "connected": p.connected,
                "last_sync": p.last_sync_ms.map(rfc3339),
            })
        })
        .collect();
    let signing = s.verifier.signing();
    let rebuilding = health.rebuilding;
    // While the derived records are rebuilt the node signs nothing from
    // them either: it says so, with how far the rebuild got.
    let (state, reason) = match (&rebuilding, signing.state.as_str()) {
        (Some(progress), "ok") => (
            "recovering",
            Some(format!(
                "rebuilding the derived records after a key compromise declaration or a \
                 reindex: {progress}"
            )),
        ),
        (_, state) => (state, signing.reason.clone()),
    };
    Ok(Json(json!({
        "authority": s.verifier.authority().as_str(),
        "peer_id": s.network.peer_id(),
        "peers": peers,
        "logs": logs,
        "signing": state,
        "reason": reason,
        "store": match (&damaged, &rebuilding) {
            (Some(reason), _) => json!({"status": "damaged", "reason": reason}),
            (None, Some(progress)) => json!({"status": "rebuilding", "reason": progress}),
            (None, None) => json!({
                "status": "ok",
                "check": if checked { "sound" } else { "running" },
            }),
        },
    })))
}

/// This node's card first (the one `tally init` wrote, else the trust
/// list's), then every other trusted authority's; each with the keys and
/// seq bounds learned from its log and from compromise declarations.
pub async fn authorities(State(s): State<AppState>) -> Result<Json<Vec<AuthorityView>>, ApiError> {
    let own = s.verifier.authority().clone();
    let trust = s.verifier.trust();
    let own_card = s.card.as_deref().or(trust.card(&own)).cloned();
    let peer_id = s.network.peer_id();
    let v = s.verifier.clone();
    blocking(move || {
        let store = v.reader()?;
        let own_view = match &own_card {
            Some(card) => AuthorityView::from_card_and_log(
                card,
                true,
                &store.rotated_keys(&own)?,
                &store.announced_keys(&own)?,
                &store.paper_keys(&own)?,
                &trust,
            ),
            None => AuthorityView {
                authority: own.clone(),
                country: own.country().as_str().to_owned(),
                name: own.as_str().to_owned(),
                peer_id,
                addresses: vec![],
                fingerprint: None,
                keys: vec![],
                own: true,
            },
        };
        let mut views = vec![own_view];
        for c in trust.cards.iter().filter(|c| c.authority != own) {
            let rotated = store.rotated_keys(&c.authority)?;
            let announced = store.announced_keys(&c.authority)?;
            let paper = store.paper_keys(&c.authority)?;
            views.push(AuthorityView::from_card_and_log(
                c, false, &rotated, &announced, &paper, &trust,
            ));
        }
        Ok(Json(views))
    })
    .await
}

/// The body of `POST /v1/keys/rotate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    pub purpose: String,
}

/// Rotates this node's signing key (admin).
pub async fn rotate_key(
    State(s): State<AppState>,
    token: Option<Extension<TokenKey>>,
    Body(body): Body<RotateBody>,
) -> Result<Json<Value>, ApiError> {
    let encryption = match body.purpose.as_str() {
        "signing" => false,
        "encryption" => true,
        other => {
            return Err(ApiError::invalid_json(format!(
                "purpose must be \"signing\" or \"encryption\", not {other:?}"
            )));
        }
    };
    s.charge(token.map(|t| t.0), Kind::Document)?;
    let Some(rotator) = s.rotator.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this node cannot rotate its keys (it was started without its key files)",
        ));
    };
    let rotated = blocking(move || {
        if encryption {
            rotator.rotate_encryption()
        } else {
            rotator.rotate_signing()
        }
    })
    .await?;
    Ok(Json(json!({
        "key_id": rotated.key_id,
        "entry": {"seq": rotated.entry.seq, "hash": rotated.entry.hash.to_hex()},
    })))
}

/// The body of `POST /v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub role: Role,
    pub label: String,
    /// The person who holds it, named on what they prepare or approve.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

pub async fn create_token(
    State(s): State<AppState>,
    Body(body): Body<TokenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let path = s
        .tokens
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .path()
        .to_path_buf();
    let (role, label) = (body.role, body.label.clone());
    let person = match (body.name, body.title) {
        (Some(name), title) => Some(tally_model::Person { name, title }),
        (None, Some(_)) => return Err(ApiError::invalid_json("title needs a name")),
        (None, None) => None,
    };
    // Written through a fresh book so the shared one is locked only for the
    // swap, not for the file lock and fsync.
    let (secret, book) = blocking(move || {
        let mut book = TokenBook::load(&path).map_err(ApiError::internal)?;
        let secret = book
            .create_for(role, &label, person.as_ref())
            .map_err(|e| match e {
                TokenError::BadLabel | TokenError::BadRole(_) | TokenError::BadPerson(_) => {
                    ApiError::invalid_json(e.to_string())
                }
                other => ApiError::internal(other),
            })?;
        Ok((secret, book))
    })
    .await?;
    *s.tokens.write().unwrap_or_else(|p| p.into_inner()) = book;
    tracing::info!(role = %role, label = %body.label, "API token created");
    Ok((StatusCode::CREATED, Json(json!({"token": secret}))))
}

pub async fn evidence(State(s): State<AppState>) -> Result<Json<Vec<Value>>, ApiError> {
    let v = s.verifier.clone();
    blocking(move || {
        let proofs = v.reader()?.evidence()?;
        Ok(Json(
            proofs
                .iter()
                .map(|e| {
                    json!({
                        "authority": e.authority.as_str(),
                        "seq": e.seq,
                        "entries": [STANDARD.encode(&e.entries[0]), STANDARD.encode(&e.entries[1])],
                    })
                })
                .collect(),
        ))
    })
    .await
}

/// Most entries one `GET /v1/log` answers.
pub const MAX_LOG_LIMIT: usize = 1000;

/// The query of `GET /v1/log/{authority}`.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    pub from: Option<u64>,
    #[serde(default)]
    pub limit: Option<usize>,
}

pub async fn log(
    State(s): State<AppState>,
    Path(authority): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let id: AuthorityId = authority
        .parse()
        .map_err(|_| ApiError::not_found(format!("no log of {authority:?}")))?;
    let from = q.from.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_LOG_LIMIT);
    let v = s.verifier.clone();
    blocking(move || {
        let entries = v.reader()?.range(&id, from, limit)?;
        Ok(Json(
            entries
                .iter()
                .zip(from..)
                .map(|(signed, position)| {
                    let entry = signed.open().ok();
                    json!({
                        "seq": entry.as_ref().map_or(position, |e| e.seq),
                        "hash": signed.id().to_hex(),
                        "prev": entry.as_ref().and_then(|e| e.prev).map(|h| h.to_hex()),
                        "issued_at": entry.as_ref().map(|e| rfc3339(e.issued_at_ms)),
                        "kind": entry.as_ref().map_or("unknown", |e| {
                            e.document().map_or("sealed", |d| d.kind_name())
                        }),
                        "signed_entry": STANDARD.encode(signed.encode()),
                    })
                })
                .collect(),
        ))
    })
    .await
}

/// The Prometheus text. Without a token, only what every peer could count
/// from the chain itself; with a valid token of any role, also the families
/// derived from documents this node opened (open alerts, checks, verdicts).
pub async fn metrics(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let private = crate::auth::optional_role(&s, &headers).await?.is_some();
    // The gauges are read fresh at scrape time rather than trusted to be
    // kept current by every writer.
    let health = s.verifier.store_health();
    s.metrics.set_store(
        health.fault.is_none() && health.damaged.is_none(),
        health.faults,
    );
    let v = s.verifier.clone();
    // A store that cannot be read now (re-opening after a fault) leaves
    // these gauges as they were: the scrape still answers, with the fault.
    // The alerts are read only for a caller who may see them; nothing is
    // read from a damaged store.
    let damaged = health.damaged.is_some();
    let (heads, alerts) = blocking(move || {
        if damaged {
            return Ok((vec![], vec![]));
        }
        let store = v.reader()?;
        let alerts = if private { store.alerts()? } else { vec![] };
        Ok::<_, ApiError>((store.heads()?, alerts))
    })
    .await
    .unwrap_or_default();
    for (authority, seq, _) in &heads {
        s.metrics.set_entries_stored(authority.as_str(), *seq);
    }
    if private {
        for kind in AlertKind::ALL {
            let open = alerts.iter().filter(|a| a.open && a.kind == kind).count();
            s.metrics.set_alerts_open(kind, open as u64);
        }
    }
    let connected = s.network.peers().iter().filter(|p| p.connected).count();
    s.metrics.set_connected_peers(connected as u64);
    let text = if private {
        s.metrics.render_private()
    } else {
        s.metrics.render()
    };
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    ))
}
