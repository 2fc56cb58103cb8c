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
        let bytes = read_body(req, state).await?;
        parse_body(&bytes).map(Body)
    }
}

/// A request body as bytes, whatever its type (a file the console uploads),
/// within the same limit and deadline as [`Body`].
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_body(req, state).await.map(RawBody)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    // Without a stamp (the router used on its own), the deadline runs
    // from now.
    let deadline = req.extensions().get::<BodyDeadline>().map_or_else(
        || tokio::time::Instant::now() + crate::timeouts::BODY_READ_TIMEOUT,
        |d| d.0,
    );
    let read = Bytes::from_request(req, state);
    match tokio::time::timeout_at(deadline, read).await {
        Ok(read) => read.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(MAX_BODY_BYTES)
            } else {
                ApiError::invalid_json(format!("could not read the body: {}", r.body_text()))
            }
        }),
        Err(_) => Err(ApiError::request_timeout()),
    }
}

/// When a request's body must have arrived by: its headers' arrival plus
/// the server's body read timeout (docs/API.md: 30 s). Set by
/// [`crate::server::app`]; [`Body`] answers 408 `request_timeout` past it.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub tokio::time::Instant);

/// The body as `T`: JSON with no key repeated within an object (docs/API.md:
/// such a body is `invalid_json`; serde would take the last of the copies
/// for a map or a `Value`, so two readers of one document could disagree
/// on what it says), of the right shape.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // First pass: well-formed and without repeated keys. serde_json bounds
    // the nesting (128 levels), so the walk cannot exhaust the stack.
    serde_json::from_slice::<NoRepeatedKeys>(bytes)
        .map_err(|e| ApiError::invalid_json(format!("the body is not the expected JSON: {e}")))?;
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_json(format!("the body is not the expected JSON: {e}")))
}

/// Any JSON value whose objects each name a key at most once; deserializing
/// it fails with "repeats the key ..." otherwise. Holds nothing.
struct NoRepeatedKeys;

impl<'de> serde::Deserialize<'de> for NoRepeatedKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoRepeatedKeysVisitor)
    }
}

struct NoRepeatedKeysVisitor;

impl<'de> serde::de::Visitor<'de> for NoRepeatedKeysVisitor {
    type Value = NoRepeatedKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }
    fn visit_unit<E>(self) -> Result<NoRepeatedKeys, E> {
        Ok(NoRepeatedKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<NoRepeatedKeys, A::Error> {
        while seq.next_element::<NoRepeatedKeys>()?.is_some() {}
        Ok(NoRepeatedKeys)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<NoRepeatedKeys, A::Error> {
        // Keys as written after unescaping ("a" and "\u0061" are one key).
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "an object repeats the key {key:?}"
                )));
            }
            map.next_value::<NoRepeatedKeys>()?;
            seen.insert(key);
        }
        Ok(NoRepeatedKeys)
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

    /// Issue 28 item 8: a key repeated within an object was accepted (the
    /// last copy won).
    #[test]
    fn a_repeated_key_is_invalid_json() {
        use serde_json::Value;
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Shape {
            a: u32,
            #[serde(default)]
            m: std::collections::BTreeMap<String, u32>,
        }
        for bad in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"a": 1, "m": {"x": 1, "x": 2}}"#,
            r#"{"a": 1, "m": {"x": 1, "\u0078": 2}}"#,
            r#"[{"a": 1}, {"a": 1, "b": {"c": [{"d": 1, "d": 1}]}}]"#,
        ] {
            let e = parse_body::<Value>(bad.as_bytes()).expect_err(bad);
            assert_eq!((e.status.as_u16(), e.code), (400, "invalid_json"), "{bad}");
            assert!(
                e.message.contains("repeats the key"),
                "{bad}: {}",
                e.message
            );
        }
        let e = parse_body::<Shape>(br#"{"a": 1, "m": {"x": 1, "x": 2}}"#).expect_err("map");
        assert!(e.message.contains("repeats the key \"x\""), "{}", e.message);
        // The same key in different objects, and keys of every escape kind, are fine.
        let ok = r#"{"a": 1, "m": {"a": 1, "x\n": 2, "x": 3}, "l": [{"a": 1}, {"a": 2}]}"#;
        assert_eq!(parse_body::<Value>(ok.as_bytes()).expect("ok")["m"]["x"], 3);
        assert_eq!(parse_body::<Shape>(br#"{"a": 7}"#).expect("ok").a, 7);
        // Deep nesting is refused by serde_json's limit, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_body::<Value>(deep.as_bytes()).expect_err("deep").code,
            "invalid_json"
        );
        assert_eq!(
            parse_body::<Value>(b"{\"a\": ").expect_err("cut").code,
            "invalid_json"
        );
    }

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
