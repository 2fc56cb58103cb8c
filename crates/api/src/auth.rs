//! Bearer tokens to roles: the middleware in front of every route that needs one.

use crate::error::ApiError;
use crate::rate::TokenKey;
use crate::state::AppState;
use crate::tokens::Role;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Lets the request through if its token's role includes `needed`.
/// 401 without a (known) token, 403 with a role too low. The token itself
/// is never logged.
pub(crate) async fn require(
    State((state, needed)): State<(AppState, Role)>,
    mut req: Request,
    next: Next,
) -> Response {
    match role_of(&state, req.headers()).await {
        Ok(role) if role.allows(needed) => {
            req.extensions_mut().insert(role);
            let Some(token) = bearer(req.headers()) else {
                return next.run(req).await;
            };
            let key = TokenKey(Sha256::digest(token.as_bytes()).into());
            req.extensions_mut().insert(key);
            // `api.max_connections_per_token`: the slot is held while the
            // body is read, the handler runs and the answer is sent.
            let slot = match state.token_slots.acquire(key) {
                Ok(slot) => slot,
                Err(e) => return e.into_response(),
            };
            let response = next.run(req).await;
            let (parts, body) = response.into_parts();
            Response::from_parts(
                parts,
                axum::body::Body::new(HoldingBody { body, _slot: slot }),
            )
        }
        Ok(role) => ApiError::forbidden(format!(
            "this needs the {needed} role; the token has the {role} role"
        ))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The role of the request's token on a route that answers without one
/// (`GET /metrics`): `None` without an `Authorization` header, 401 with a
/// token that is not known (a scraper holding a revoked token must notice,
/// not silently lose what only a token shows).
pub(crate) async fn optional_role(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Role>, ApiError> {
    if !headers.contains_key(AUTHORIZATION) {
        return Ok(None);
    }
    role_of(state, headers).await.map(Some)
}

/// An answer's body that keeps its request's token slot until it has been
/// sent (or dropped).
struct HoldingBody {
    body: axum::body::Body,
    _slot: crate::rate::TokenSlot,
}

impl axum::body::HttpBody for HoldingBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

async fn role_of(state: &AppState, headers: &HeaderMap) -> Result<Role, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::unauthenticated("send a token as `Authorization: Bearer TOKEN`")
    })?;
    let unknown = || ApiError::unauthenticated("unknown token");
    if let Some(role) = state.token_role(token) {
        return Ok(role);
    }
    // Perhaps `tally token create` just added it: re-read the book if the
    // file changed (one stat when it did not).
    let tokens = state.tokens.clone();
    let reloaded = crate::blocking::track_blocking(move || {
        let mut book = tokens.write().unwrap_or_else(|p| p.into_inner());
        book.reload_if_changed()
    })
    .await
    .map_err(ApiError::internal)?;
    match reloaded {
        Ok(true) => state.token_role(token).ok_or_else(unknown),
        Ok(false) => Err(unknown()),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_header_forms() {
        for (v, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearer", None),
            ("abc", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(v));
            assert_eq!(bearer(&h), want, "{v:?}");
        }
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
