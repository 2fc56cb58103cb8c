//! The route table: every endpoint once, with its role. [`router`] and the
//! OpenAPI document ([`crate::openapi::document`] of [`ROUTES`], served
//! from here) are both built from it, so no route can be served without
//! being documented, or documented without being served.

use crate::auth;
use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::handlers::{
    alerts, console, drafts, export, import, licenses, lists, node, paper, paper_app, reports,
    shipments, statistics, trace,
};
use crate::openapi;
pub use crate::route::{Method, QueryParam, Route};
use crate::state::AppState;
use crate::tokens::Role;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::on;
use serde_json::Value;

const NO_QUERY: &[QueryParam] = &[];

/// Every route of the API, in the contract's order.
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::Get,
        path: "/v1/health",
        role: None,
        summary: "Liveness: {\"status\": \"ok\"}",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[503],
        handler: |m| on(m, node::health),
    },
    Route {
        method: Method::Get,
        path: "/v1/status",
        role: Some(Role::Officer),
        summary: "This node: authority, peer id, peers and log heads",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, node::status),
    },
    Route {
        method: Method::Post,
        path: "/v1/licenses",
        role: Some(Role::Issuer),
        summary: "Issue an export license, import certificate or transit authorization",
        query: NO_QUERY,
        body: Some("one document, by `kind` (export, import, transit)"),
        ok: 201,
        errors: &[409, 422, 429, 503],
        handler: |m| on(m, licenses::issue),
    },
    Route {
        method: Method::Get,
        path: "/v1/licenses/{authority}/{number}",
        role: Some(Role::Officer),
        summary: "A document as it stands, with its shipped-vs-licensed tally",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[404],
        handler: |m| on(m, licenses::get),
    },
    Route {
        method: Method::Post,
        path: "/v1/licenses/{authority}/{number}/status",
        role: Some(Role::Issuer),
        summary: "Suspend, revoke or reinstate one of this node's documents",
        query: NO_QUERY,
        body: Some("{\"status\": \"suspended|revoked|active\", \"reason\"}"),
        ok: 200,
        errors: &[404, 409, 422, 429, 503],
        handler: |m| on(m, licenses::set_status),
    },
    Route {
        method: Method::Post,
        path: "/v1/licenses/{authority}/{number}/amend",
        role: Some(Role::Issuer),
        summary: "Amend one of this node's documents (the whole new document)",
        query: NO_QUERY,
        body: Some("the whole new document, same `kind` and `number`"),
        ok: 200,
        errors: &[404, 409, 422, 429, 503],
        handler: |m| on(m, licenses::amend),
    },
    Route {
        method: Method::Get,
        path: "/v1/paper/bundle",
        role: Some(Role::Officer),
        summary: "The trust bundle for offline verifiers: trusted paper keys and every document's status, signed (confidential: it lists revoked numbers)",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[503],
        handler: |m| on(m, paper::bundle),
    },
    Route {
        method: Method::Get,
        path: "/v1/paper/{authority}/{number}",
        role: Some(Role::Issuer),
        summary: "The printable page of one of this node's documents with its QR seal; each print is recorded",
        query: &[QueryParam {
            name: "format",
            required: false,
            kind: "string",
            description: "`html` (default): the page; `seal`: the seal's text",
        }],
        body: None,
        ok: 200,
        errors: &[403, 404, 503],
        handler: |m| on(m, paper::print),
    },
    Route {
        method: Method::Post,
        path: "/v1/import/read",
        role: Some(Role::Issuer),
        summary: "Read a file of national records (CSV or JSON lines) into documents, as `tally import` reads it; signs nothing",
        query: &[QueryParam {
            name: "format",
            required: true,
            kind: "string",
            description: "`csv` or `jsonl`",
        }],
        body: Some("the file's bytes (at most 1 MiB)"),
        ok: 200,
        errors: &[400, 413],
        handler: |m| on(m, import::read),
    },
    Route {
        method: Method::Get,
        path: "/v1/drafts",
        role: Some(Role::Issuer),
        summary: "The drafts awaiting a second person's approval (`[issue] approvals = 2`)",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, drafts::list),
    },
    Route {
        method: Method::Post,
        path: "/v1/drafts/{id}/approve",
        role: Some(Role::Issuer),
        summary: "Approve a draft: another person's token signs it; answers what the direct call would have",
        query: NO_QUERY,
        body: None,
        ok: 201,
        errors: &[403, 404, 409, 422, 429, 503],
        handler: |m| on(m, drafts::approve),
    },
    Route {
        method: Method::Post,
        path: "/v1/drafts/{id}/reject",
        role: Some(Role::Issuer),
        summary: "Reject a draft: it is dropped, nothing is signed",
        query: NO_QUERY,
        body: Some("{\"reason\"}"),
        ok: 200,
        errors: &[400, 404],
        handler: |m| on(m, drafts::reject),
    },
    Route {
        method: Method::Post,
        path: "/v1/shipments/verify",
        role: Some(Role::Officer),
        summary: "Check a consignment against a license; with `record`, sign the crossing",
        query: NO_QUERY,
        body: Some(
            "{\"license\", \"checkpoint\", \"date\"?, \"exporter\"?, \"importer\"?, \"items\", \"record\"?}",
        ),
        ok: 200,
        // 400 (a bad date, too many lines) and 403 (recording in another
        // country) come with every body and role route; 422: more serials
        // declared than the line's quantity or the license's.
        errors: &[422, 429, 503],
        handler: |m| on(m, shipments::verify),
    },
    Route {
        method: Method::Get,
        path: "/v1/shipments",
        role: Some(Role::Officer),
        summary: "Shipments recorded under a license, oldest first",
        query: &[
            QueryParam {
                name: "authority",
                required: true,
                kind: "string",
                description: "the license's authority",
            },
            QueryParam {
                name: "number",
                required: true,
                kind: "string",
                description: "the license's number",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400],
        handler: |m| on(m, shipments::list),
    },
    Route {
        method: Method::Get,
        path: "/v1/authorities",
        role: Some(Role::Officer),
        summary: "The trusted authorities' cards and this node's own",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, node::authorities),
    },
    Route {
        method: Method::Post,
        path: "/v1/tokens",
        role: Some(Role::Admin),
        summary: "Create an API token (shown once)",
        query: NO_QUERY,
        body: Some("{\"role\": \"officer|issuer|admin\", \"label\"}"),
        ok: 201,
        errors: &[],
        handler: |m| on(m, node::create_token),
    },
    Route {
        method: Method::Post,
        path: "/v1/keys/rotate",
        role: Some(Role::Admin),
        summary: "Rotate this node's signing key: {\"key_id\", \"entry\": {\"seq\", \"hash\"}}; the rotation is announced in the node's log, signed by the current key",
        query: NO_QUERY,
        body: Some("{\"purpose\": \"signing\" | \"encryption\"}"),
        ok: 200,
        errors: &[429, 503],
        handler: |m| on(m, node::rotate_key),
    },
    Route {
        method: Method::Get,
        path: "/v1/evidence",
        role: Some(Role::Officer),
        summary: "Equivocation proofs: two signed entries for one (authority, seq)",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, node::evidence),
    },
    Route {
        method: Method::Get,
        path: "/v1/alerts",
        role: Some(Role::Officer),
        summary: "Alerts the network raised by itself (diversion and integrity), newest first",
        query: &[
            QueryParam {
                name: "all",
                required: false,
                kind: "boolean",
                description: "include closed alerts",
            },
            QueryParam {
                name: "kind",
                required: false,
                kind: "string",
                description: "only alerts of this kind",
            },
            QueryParam {
                name: "authority",
                required: false,
                kind: "string",
                description: "only alerts about licenses of this authority",
            },
            QueryParam {
                name: "number",
                required: false,
                kind: "string",
                description: "with authority: only alerts about this license",
            },
            QueryParam {
                name: "limit",
                required: false,
                kind: "integer",
                description: "most alerts to list (default 100, at most 1000)",
            },
            QueryParam {
                name: "before",
                required: false,
                kind: "string",
                description: "the id of the last alert of the previous page",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400],
        handler: |m| on(m, alerts::list),
    },
    Route {
        method: Method::Get,
        path: "/v1/trace",
        role: Some(Role::Officer),
        summary: "Trace a firearm: every license line and crossing this node reads that names its serial",
        query: &[
            QueryParam {
                name: "make",
                required: true,
                kind: "string",
                description: "the firearm's make (compared without case or spaces; a line with no make matches any)",
            },
            QueryParam {
                name: "serial",
                required: true,
                kind: "string",
                description: "the serial number (compared without spaces or dashes, letters upper-cased)",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400],
        handler: |m| on(m, trace::trace),
    },
    Route {
        method: Method::Get,
        path: "/v1/licenses",
        role: Some(Role::Officer),
        summary: "A page of summaries of the documents this node reads, newest first, filtered: what the console's forms pick from (per line: crossings, deliveries, what is left)",
        query: &[
            QueryParam {
                name: "kind",
                required: false,
                kind: "string",
                description: "export, import, transit or delivery",
            },
            QueryParam {
                name: "authority",
                required: false,
                kind: "string",
                description: "only documents of this authority",
            },
            QueryParam {
                name: "country",
                required: false,
                kind: "string",
                description: "a country on the route: exporting, importing or transit (ISO 3166-1 alpha-2)",
            },
            QueryParam {
                name: "exporting",
                required: false,
                kind: "string",
                description: "only this exporting country",
            },
            QueryParam {
                name: "importing",
                required: false,
                kind: "string",
                description: "only this importing country",
            },
            QueryParam {
                name: "transit",
                required: false,
                kind: "string",
                description: "only documents listing this transit country",
            },
            QueryParam {
                name: "status",
                required: false,
                kind: "string",
                description: "active, suspended or revoked",
            },
            QueryParam {
                name: "undelivered",
                required: false,
                kind: "boolean",
                description: "only export licenses with a line recorded entering beyond what was verified delivered",
            },
            QueryParam {
                name: "limit",
                required: false,
                kind: "integer",
                description: "most summaries (default 50, at most 200)",
            },
            QueryParam {
                name: "before",
                required: false,
                kind: "string",
                description: "the `next` of the previous page",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400],
        handler: |m| on(m, lists::list),
    },
    Route {
        method: Method::Get,
        path: "/v1/licenses/{authority}/{number}/amendable",
        role: Some(Role::Officer),
        summary: "A document's current version and what an amendment may change, pointer by pointer, with the reason for each frozen field",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[404],
        handler: |m| on(m, lists::amendable_rules),
    },
    Route {
        method: Method::Get,
        path: "/v1/export/{what}",
        role: Some(Role::Issuer),
        summary: "Export licenses, deliveries, shipments or alerts this node reads, as JSON lines or CSV",
        query: &[
            QueryParam {
                name: "from",
                required: false,
                kind: "string",
                description: "YYYY-MM-DD: licenses issued (UTC), crossings dated, alerts raised on or after",
            },
            QueryParam {
                name: "to",
                required: false,
                kind: "string",
                description: "YYYY-MM-DD: the same, on or before",
            },
            QueryParam {
                name: "since",
                required: false,
                kind: "string",
                description: "the cursor the last line of a previous export gave: only what changed after it",
            },
            QueryParam {
                name: "format",
                required: false,
                kind: "string",
                description: "jsonl (default) or csv",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400, 404],
        handler: |m| on(m, export::export),
    },
    Route {
        method: Method::Get,
        path: "/v1/statistics",
        role: Some(Role::Issuer),
        summary: "Statistics: what this State licensed, exported, imported and saw in transit, by month, counterpart and category",
        query: &[
            QueryParam {
                name: "from",
                required: false,
                kind: "string",
                description: "YYYY-MM-DD: licenses issued (node's timezone), crossings and deliveries dated on or after",
            },
            QueryParam {
                name: "to",
                required: false,
                kind: "string",
                description: "YYYY-MM-DD: the same, on or before",
            },
            QueryParam {
                name: "group",
                required: false,
                kind: "string",
                description: "comma-separated: month, counterpart, category (flows are always by direction and unit)",
            },
            QueryParam {
                name: "direction",
                required: false,
                kind: "string",
                description: "export, import or transit: this State's part on the route",
            },
            QueryParam {
                name: "country",
                required: false,
                kind: "string",
                description: "only this counterpart State (ISO 3166-1 alpha-2)",
            },
            QueryParam {
                name: "category",
                required: false,
                kind: "string",
                description: "firearm, part, ammunition, explosive or related",
            },
            QueryParam {
                name: "hs",
                required: false,
                kind: "string",
                description: "only item lines whose HS code starts with these 2 to 10 digits",
            },
            QueryParam {
                name: "format",
                required: false,
                kind: "string",
                description: "json (default) or csv (the flows)",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400],
        handler: |m| on(m, statistics::statistics),
    },
    Route {
        method: Method::Get,
        path: "/v1/reports/att",
        role: Some(Role::Issuer),
        summary: "The ATT annual report's category VIII exports and imports tables, drafted from what this node reads",
        query: &[
            QueryParam {
                name: "year",
                required: true,
                kind: "integer",
                description: "the calendar year reported",
            },
            QueryParam {
                name: "basis",
                required: false,
                kind: "string",
                description: "authorized (default: licenses and import certificates by date of issue) or actual (recorded crossings)",
            },
            QueryParam {
                name: "format",
                required: false,
                kind: "string",
                description: "xlsx (default), csv or json",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400],
        handler: |m| on(m, reports::att),
    },
    Route {
        method: Method::Get,
        path: "/v1/log/{authority}",
        role: Some(Role::Officer),
        summary: "An authority's signed log entries, for audit and offline re-verification",
        query: &[
            QueryParam {
                name: "from",
                required: false,
                kind: "integer",
                description: "first seq (default 1)",
            },
            QueryParam {
                name: "limit",
                required: false,
                kind: "integer",
                description: "most entries (default 100, at most 1000)",
            },
        ],
        body: None,
        ok: 200,
        errors: &[400, 404],
        handler: |m| on(m, node::log),
    },
    Route {
        method: Method::Get,
        path: "/metrics",
        role: None,
        summary: "Prometheus metrics (text format); the families derived from opened documents (alerts, checks, verdicts) only with a token of any role",
        query: NO_QUERY,
        body: None,
        ok: 200,
        // 401: a token that is not known (none at all is fine).
        errors: &[401],
        handler: |m| on(m, node::metrics),
    },
    Route {
        method: Method::Get,
        path: "/v1/openapi.json",
        role: None,
        summary: "This document",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, openapi_document),
    },
    Route {
        method: Method::Get,
        path: "/",
        role: None,
        summary: "The web console",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, console::index),
    },
    Route {
        method: Method::Get,
        path: "/assets/{name}",
        role: None,
        summary: "The web console's scripts and styles",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[404],
        handler: |m| on(m, console::asset),
    },
    Route {
        method: Method::Get,
        path: "/paper/",
        role: None,
        summary: "The offline paper verifier: an installable web app that checks a printed document's QR seal with no network",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[],
        handler: |m| on(m, paper_app::index),
    },
    Route {
        method: Method::Get,
        path: "/paper/pin.json",
        role: None,
        summary: "The paper key the verifier pins: {\"authority\", \"paper_key\"} (hex); a bundle not signed by it is refused",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[503],
        handler: |m| on(m, paper_app::pin),
    },
    Route {
        method: Method::Get,
        path: "/paper/{name}",
        role: None,
        summary: "The paper verifier's files: scripts, styles, manifest, service worker, the vendored QR decoder",
        query: NO_QUERY,
        body: None,
        ok: 200,
        errors: &[404],
        handler: |m| on(m, paper_app::asset),
    },
];

/// The routes that still answer while the store is damaged: health (which
/// says so), status (which gives the reason), metrics, and what is served
/// from the binary (the OpenAPI document, the console's and the paper
/// verifier's files). Every other
/// route reads, checks or writes the store and answers 503 `unavailable`.
pub const ANSWER_WHEN_DAMAGED: &[&str] = &[
    "/v1/health",
    "/v1/status",
    "/metrics",
    "/v1/openapi.json",
    "/",
    "/assets/{name}",
    "/paper/",
    "/paper/{name}",
];

impl Route {
    /// Whether this route answers while the store is damaged (see
    /// [`ANSWER_WHEN_DAMAGED`]).
    pub fn answers_when_damaged(&self) -> bool {
        ANSWER_WHEN_DAMAGED.contains(&self.path)
    }
}

/// The OpenAPI document of [`ROUTES`]. A function of its own: the handler
/// below must not name the table its own entry is in (its future's type
/// would then depend on itself).
pub fn openapi_json() -> Value {
    openapi::document(ROUTES)
}

/// `GET /v1/openapi.json`.
async fn openapi_document() -> Json<Value> {
    Json(openapi_json())
}

/// 503 `unavailable` while the store is damaged: a node never answers a
/// verdict, a document or an entry from a store it does not trust.
async fn refuse_when_damaged(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let health = state.verifier.store_health();
    if let Some(reason) = health.damaged {
        return ApiError::damaged(&reason).into_response();
    }
    if let Some(progress) = health.rebuilding {
        return ApiError::rebuilding(&progress).into_response();
    }
    next.run(req).await
}

/// The API's router: every route of [`ROUTES`] behind its role, JSON errors
/// for unknown paths and methods, a body limit, and request metrics.
pub fn router(state: AppState) -> Router {
    let mut r: Router<AppState> = Router::new();
    for route in ROUTES {
        let mut handler = (route.handler)(route.method.filter());
        if !route.answers_when_damaged() {
            handler = handler.route_layer(middleware::from_fn_with_state(
                state.clone(),
                refuse_when_damaged,
            ));
        }
        if let Some(role) = route.role {
            handler = handler.route_layer(middleware::from_fn_with_state(
                (state.clone(), role),
                auth::require,
            ));
        }
        r = r.route(route.path, handler);
    }
    r.method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .fallback(|| async { ApiError::not_found("no such path") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// Counts every answer by matched route template (bounded: `unmatched` for
/// every path no route knows) and status. A handler that panics answers
/// 500 and is counted (health turns degraded) instead of dropping the
/// connection.
async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut run = Box::pin(next.run(req));
    let caught = std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(r)) => std::task::Poll::Ready(Ok(r)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    })
    .await;
    let response = match caught {
        Ok(r) => r.into_response(),
        Err(_) => {
            state
                .metrics
                .handler_panic(route.as_deref().unwrap_or("unmatched"));
            ApiError::internal("a request handler panicked").into_response()
        }
    };
    state.metrics.http_request(
        route.as_deref().unwrap_or("unmatched"),
        response.status().as_u16(),
    );
    response
}
