//! Bearer tokens to roles: the middleware in front of every route that needs one.

use crate::AppState;
use crate::error::ApiError;
use crate::rate::TokenKey;
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
            if let Some(token) = bearer(req.headers()) {
                let key = TokenKey(Sha256::digest(token.as_bytes()).into());
                req.extensions_mut().insert(key);
            }
            next.run(req).await
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
    let reloaded = crate::server::track_blocking(move || {
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
