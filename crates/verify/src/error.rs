//! Errors of the issuing operations; each maps to one code of docs/API.md.

use tally_store::StoreError;

/// Why a document, amendment or status change was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// 400 `invalid_json`: the request is well-formed JSON but unreadable.
    #[error("{0}")]
    BadRequest(String),
    /// 422 `invalid_document`.
    #[error("{0}")]
    InvalidDocument(String),
    /// 422 `invalid_amendment`.
    #[error("{0}")]
    InvalidAmendment(String),
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// 404 `not_found`.
    #[error("no such license")]
    NotFound,
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 503 `unavailable`: the node must not sign now (recovering its own
    /// log after a store loss, stopped after `log.cloned`, or its signing
    /// token is away).
    #[error("{0}")]
    Unavailable(String),
    /// 500: the signer failed otherwise than by its token being away (a
    /// refused PIN, a signature that does not verify); nothing was written.
    #[error("signer: {0}")]
    Signer(tally_model::signer::SignerError),
    /// 500: the store failed; nothing was acknowledged.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}
