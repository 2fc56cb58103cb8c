//! Extractors whose every rejection is an [`ApiError`] in the contract's shape
//! (axum's own answer with plain-text bodies and 415/422 statuses).

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// The largest request body accepted (a license with many serials fits easily).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body. Any body that is not JSON of the right shape is a
/// 400 `invalid_json`; one larger than [`MAX_BODY_BYTES`] a 413.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        check_content_type(req.headers())?;
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(MAX_BODY_BYTES)
            } else {
                ApiError::invalid_json(format!("could not read the body: {}", r.body_text()))
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::invalid_json(format!("the body is not the expected JSON: {e}")))
    }
}

/// A body may come without a content type (curl -d sends form encoding by
/// default, which is still accepted if the bytes are JSON), but one that
/// declares something other than JSON is refused.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json" || essence.ends_with("+json");
    // What `curl -d` and HTML forms send by default: judged by the bytes.
    let lenient = essence == "application/x-www-form-urlencoded" || essence == "text/plain";
    if json || lenient {
        Ok(())
    } else {
        Err(ApiError::invalid_json(format!(
            "Content-Type {essence:?} is not application/json"
        )))
    }
}

/// Query parameters; a missing or mistyped parameter is a 400 `invalid_json`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r| ApiError::invalid_json(r.body_text()))
    }
}

/// Path parameters; a segment that does not decode names nothing: 404.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|r| ApiError::not_found(r.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn content_types() {
        for (ct, ok) in [
            (None, true),
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("Application/JSON"), true),
            (Some("application/problem+json"), true),
            (Some("text/plain"), true),
            (Some("application/xml"), false),
            (Some("multipart/form-data; boundary=x"), false),
        ] {
            let mut h = HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            assert_eq!(check_content_type(&h).is_ok(), ok, "{ct:?}");
        }
    }
}
