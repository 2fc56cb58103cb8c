//! Tally's HTTP API: the endpoints of docs/API.md, tokens and roles, metrics,
//! and the web console, over one [`tally_verify::Verifier`].
//!
//! Layout, top down: each module imports only modules listed below it, so
//! the crate has no import circle.
//! - [`server`]: the connection loop: header timeout, connection cap, path
//!   and header limits, and a shutdown that waits for what requests started.
//! - [`routes`]: the route table ([`ROUTES`]: method, path, role, handler);
//!   the router and the OpenAPI document are both built from it.
//! - [`handlers`]: one module per group of endpoints; every verifier and
//!   store call runs on the blocking pool (they fsync).
//! - `auth`: bearer tokens to roles, in front of every route that needs one.
//! - [`openapi`]: the OpenAPI 3.0 document of a route table; [`route`]: what
//!   one entry of the table says.
//! - [`view`]: the JSON shapes of the answers, built from the store's records.
//! - [`import_file`]: a file of national records (CSV as spreadsheets write
//!   it, or JSON lines) read into documents, for `tally import` and the
//!   console's upload.
//! - `export_csv`: an export's CSV: fixed columns, a row per line, formulas
//!   defused; [`report_att`]: the ATT report as a workbook and as CSV.
//! - [`extract`]: body, query and path extractors that fail with the contract's errors.
//! - [`state`]: [`AppState`], what every handler may touch.
//! - [`drafts`]: the drafts awaiting a second person's approval, one file each.
//! - [`paper_page`]: a sealed document's printable page and its annex
//!   pages; [`paper`]: the paper desk that seals the page and each annex
//!   and records each print.
//! - [`rate`]: per-token rate limits and connection slots.
//! - [`error`]: [`ApiError`], the `{"error": {"code", "message"}}` answer
//!   (with a 422's `details`).
//! - [`tokens`]: the roles and the `tokens.toml` book.
//! - [`metrics`]: the Prometheus registry the whole node counts into.
//! - `blocking`: blocking work a request starts, which the server's
//!   shutdown waits for.
//! - [`timeouts`]: the request deadlines of docs/API.md.
//!
//! The node builds an [`AppState`] and calls [`serve`] with a bound
//! listener (tests pass `127.0.0.1:0`), a [`server::ServerConfig`] and a
//! shutdown future.

mod auth;
mod blocking;
pub mod drafts;
pub mod error;
mod export_csv;
pub mod extract;
pub mod handlers;
pub mod import_file;
pub mod metrics;
pub mod openapi;
pub mod paper;
pub mod paper_page;
pub mod rate;
pub mod report_att;
pub mod route;
pub mod routes;
pub mod server;
pub mod state;
pub mod timeouts;
pub mod tokens;
pub mod view;

pub use error::ApiError;
pub use metrics::{Metrics, Outcome, Source};
pub use routes::{ROUTES, Route, router};
pub use server::serve;
pub use state::{AppState, KeyRotator, Network, PeerStatus, RotatedKey};
pub use tokens::{Role, TokenBook, TokenError};
