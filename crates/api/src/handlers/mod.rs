//! The endpoints, one module per group; each is a route of
//! [`crate::routes::ROUTES`].
//!
//! - [`licenses`]: issue, read, change status, amend.
//! - [`drafts`]: the drafts awaiting approval; approve, reject.
//! - [`import`]: a file of national records read into documents (the
//!   console's upload).
//! - [`shipments`]: verify (and record) a consignment, list recorded shipments.
//! - [`lists`]: the filtered lists the console's forms pick from, and what
//!   an amendment may change.
//! - [`alerts`]: the alerts the node raised, filtered and paged.
//! - [`trace`]: every license line and crossing naming a firearm's serial.
//! - [`export`]: everything of one kind this node reads, as JSON lines or CSV.
//! - [`statistics`]: the flows, refusals and alerts of a period.
//! - [`reports`]: the ATT annual report, drafted.
//! - [`paper`]: a document's printable page with its QR seal.
//! - [`paper_app`]: the offline paper verifier's files and the key it pins.
//! - [`node`]: health, status, authorities, tokens, evidence, logs, metrics.
//! - [`console`]: the web console's embedded files.

pub mod alerts;
pub mod console;
pub mod drafts;
pub mod export;
pub mod import;
pub mod licenses;
pub mod lists;
pub mod node;
pub mod paper;
pub mod paper_app;
pub mod reports;
pub mod shipments;
pub mod statistics;
pub mod trace;

use crate::error::ApiError;

/// Runs store and verifier work on the blocking pool: they read and fsync
/// files, which must not stall the async workers. The server's shutdown
/// waits for it, so no store handle outlives the server.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    match crate::blocking::track_blocking(f).await {
        Ok(r) => r,
        // Carried on to the request's own task, where the router counts it.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(ApiError::internal(e)),
    }
}
