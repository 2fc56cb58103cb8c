//! The API's one error type: a status and a stable code, sent as
//! `{"error": {"code", "message"}}` (docs/API.md's table).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tally_model::License;
use tally_model::faults::{Fault, MAX_FAULTS};
use tally_model::id::Country;
use tally_model::validate::license_faults;
use tally_verify::{IssueError, StoreError};

/// An error answer. The message is for people; clients branch on `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before retrying (429): sent as `Retry-After`.
    pub retry_after: Option<u64>,
    /// Close the connection after this answer (`Connection: close`).
    pub close: bool,
    /// A 422's faults, each at a JSON pointer into the body (docs/API.md);
    /// empty: the message alone, at the whole body (`""`).
    pub details: Vec<Fault>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            close: false,
            details: Vec::new(),
        }
    }

    /// This 422 `invalid_document` about `license` lists every fault the
    /// document rules find in it, when the first is the one refused for
    /// (a refusal of another rule, linkage or sealing, keeps its message
    /// alone); any other error is returned as it is.
    pub fn with_faults(mut self, license: &License, issuer: Country) -> ApiError {
        if self.code == "invalid_document" {
            let faults = license_faults(license, issuer, MAX_FAULTS).into_vec();
            if faults.first().is_some_and(|f| f.message == self.message) {
                self.details = faults;
            }
        }
        self
    }

    /// 429 `rate_limited`: the token went over its per-minute limit; the
    /// answer carries `Retry-After: retry_after_secs`.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// 400: the body is not JSON, or not the right shape.
    pub fn invalid_json(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// 401: no token, or a token this node does not know.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403: the role is too low, or the document or checkpoint is another's.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this path does not answer that method",
        )
    }

    /// 408: the request's body did not arrive within the body read timeout
    /// of its headers. The connection is closed with the answer (the rest of
    /// the body would otherwise be read as the next request).
    pub fn request_timeout() -> ApiError {
        let mut e = ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} s of its headers",
                crate::timeouts::BODY_READ_TIMEOUT.as_secs()
            ),
        );
        e.close = true;
        e
    }

    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    }

    /// 503 `unavailable`: the node cannot write now (the store failed: disk
    /// full, I/O error, damage). The message names the cause in a few words
    /// ([`StoreError::cause`]); the detail (it may name files) is logged only.
    pub fn unavailable(e: &StoreError) -> ApiError {
        tracing::error!(error = %e, "write refused: the store failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "the node cannot write now: {}; nothing was written; see GET /v1/health \
                 and the node's log",
                e.cause()
            ),
        )
    }

    /// 503 `unavailable`: the derived records are being rebuilt (a key
    /// compromise was declared, or a reindex runs): the node answers no read
    /// or check from half-built records.
    pub fn rebuilding(progress: &str) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "the node is rebuilding its derived records ({progress}), after a key \
                 compromise declaration or a reindex; it answers again when they are whole"
            ),
        )
    }

    /// 503 `unavailable`: the store is damaged (an integrity check failed),
    /// so the node answers no read or check from it.
    pub fn damaged(reason: &str) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "the node's store is damaged ({reason}); it answers nothing from it until it is \
                 repaired; see GET /v1/health and the node's log"
            ),
        )
    }

    /// 500. `detail` is logged, never sent: it may name files or engine internals.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the node's log has the details",
        )
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> ApiError {
        let message = e.to_string();
        match e {
            IssueError::BadRequest(_) => ApiError::invalid_json(message),
            IssueError::InvalidDocument(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_document",
                message,
            ),
            IssueError::InvalidAmendment(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_amendment",
                message,
            ),
            IssueError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            IssueError::NotFound => ApiError::not_found(message),
            IssueError::Forbidden(_) => ApiError::forbidden(message),
            IssueError::Store(e) => ApiError::unavailable(&e),
            // The verifier logged why; the message names the cause.
            IssueError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            }
            other => ApiError::internal(other),
        }
    }
}

/// A failed store read is the node's fault: 500, details logged only.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.status == StatusCode::UNPROCESSABLE_ENTITY {
            let details = if self.details.is_empty() {
                vec![Fault {
                    pointer: String::new(),
                    message: self.message.clone(),
                }]
            } else {
                self.details
            };
            json!({"error": {"code": self.code, "message": self.message, "details": details}})
        } else {
            json!({"error": {"code": self.code, "message": self.message}})
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if self.close {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_errors_map_to_the_contract_table() {
        for (e, status, code) in [
            (IssueError::BadRequest("x".into()), 400, "invalid_json"),
            (
                IssueError::InvalidDocument("x".into()),
                422,
                "invalid_document",
            ),
            (
                IssueError::InvalidAmendment("x".into()),
                422,
                "invalid_amendment",
            ),
            (IssueError::Conflict("x".into()), 409, "conflict"),
            (IssueError::NotFound, 404, "not_found"),
            (IssueError::Forbidden("x".into()), 403, "forbidden"),
            (IssueError::Unavailable("x".into()), 503, "unavailable"),
        ] {
            let a = ApiError::from(e);
            assert_eq!((a.status.as_u16(), a.code), (status, code));
        }
    }

    #[test]
    fn internal_errors_do_not_leak_details() {
        let a = ApiError::internal("redb: /secret/path/store.redb: disk full");
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!a.message.contains("/secret"));
        let a = ApiError::from(StoreError::Corrupt {
            key: "/secret/key".into(),
            reason: "bad bytes".into(),
        });
        assert_eq!(
            (a.status, a.code),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal")
        );
        assert!(!a.message.contains("/secret"));
    }
}
