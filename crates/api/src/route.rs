//! One endpoint as the route table ([`crate::routes::ROUTES`]) describes it:
//! method, path, role, what the OpenAPI document says of it, and its
//! handler. The router and the OpenAPI document both read these.

use crate::state::AppState;
use crate::tokens::Role;
use axum::routing::{MethodFilter, MethodRouter};

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
    /// axum's filter for this method.
    pub(crate) fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
        }
    }
}

/// A query parameter, for the OpenAPI document.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub required: bool,
    /// `string` or `integer`.
    pub kind: &'static str,
    pub description: &'static str,
}

/// One endpoint.
#[derive(Clone, Copy)]
pub struct Route {
    pub method: Method,
    /// axum path template; also the `route` label of the request metrics.
    pub path: &'static str,
    /// The least role that may call it; `None`: no token needed.
    pub role: Option<Role>,
    pub summary: &'static str,
    pub query: &'static [QueryParam],
    /// What the JSON body is, when there is one.
    pub body: Option<&'static str>,
    /// The success status.
    pub ok: u16,
    /// Error statuses beyond the ones every route of its kind has.
    pub errors: &'static [u16],
    /// Builds the handler for `method`.
    pub handler: fn(MethodFilter) -> MethodRouter<AppState>,
}
