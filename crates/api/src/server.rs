//! The HTTP/1 connection loop under the router: the operational limits of
//! docs/API.md (header timeout, connection cap, path and header sizes) and a
//! shutdown that returns only once no request can touch the store any more.
//!
//! `axum::serve` keeps a connection whose headers never finish open forever,
//! and counts no connections; a few thousand such sockets exhausted the
//! process's file descriptors and `/v1/health` stopped answering. Here every
//! connection is served by hyper with a header read timeout (which also
//! covers idle keep-alive connections), at most `max_connections` are served
//! at once, and on shutdown the loop
//! waits, for a bounded time, for the connections and for every blocking
//! store call a request started (see `crate::blocking`).
//!
//! At the cap, a connection that has not yet sent one complete request head
//! makes room: the oldest such is closed and the newcomer served, so sockets
//! opened and left silent (slowloris) cannot keep `/v1/health` and officers
//! waiting for their 10 s each. Connections serving a request are never cut;
//! when all are, newcomers wait in the kernel's backlog.

mod json_errors;

use crate::blocking::BLOCKING;
use crate::error::ApiError;
use crate::routes::router;
use crate::state::AppState;
pub use crate::timeouts::{BODY_READ_TIMEOUT, HEADER_READ_TIMEOUT};
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// docs/API.md's default for `api.max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Longest request target (path and query) answered: longer is 414.
pub const MAX_PATH_BYTES: usize = 8 * 1024;
/// Largest header block (names, values and their separators) answered:
/// larger is 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// hyper's read buffer per connection. It must hold a request line and
/// headers a little past the node's own limits, so that those are answered
/// by [`enforce_limits`]; a head larger than this is refused by hyper
/// itself (431, given the JSON body by [`json_errors`]) before any of our
/// code runs.
const READ_BUFFER_BYTES: usize = 64 * 1024;
/// Header lines hyper parses per request. hyper's default (100) would refuse
/// many small headers with a 431 long before [`MAX_HEADER_BYTES`].
const MAX_HEADER_LINES: usize = 1024;
/// How long shutdown waits for requests in flight before closing their
/// connections; blocking store calls they started get as long again.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// At most one accept error is logged per this interval (with a count of the
/// ones skipped): a full descriptor table fails every accept at once.
const ACCEPT_ERROR_LOG_EVERY: Duration = Duration::from_secs(10);
/// Pause after an accept error that is not one connection's own fault
/// (no descriptors, no memory), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How [`serve`] treats connections.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Connections served at once (`api.max_connections`); at least 1.
    pub max_connections: usize,
    /// See [`HEADER_READ_TIMEOUT`]; tests shorten it.
    pub header_read_timeout: Duration,
    /// See [`BODY_READ_TIMEOUT`]; tests shorten it.
    pub body_read_timeout: Duration,
    /// See [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// What [`serve`] left behind when it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Connections closed by force after the grace period.
    pub aborted_connections: usize,
    /// Whether a blocking store call started by a request was still running
    /// when the grace period ran out (the store may still be open).
    pub blocking_still_running: bool,
}

impl Drained {
    /// Whether nothing a request started is still running.
    pub fn is_clean(&self) -> bool {
        !self.blocking_still_running
    }
}

/// The app [`serve`] serves: the router behind the node's own request
/// limits, each request stamped, as its headers arrive, with the instant its
/// body must have arrived by ([`crate::extract::BodyDeadline`],
/// `config.body_read_timeout` after them).
pub fn app(state: AppState, config: &ServerConfig) -> Router {
    let body_read_timeout = config.body_read_timeout;
    router(state)
        .layer(middleware::from_fn(enforce_limits))
        .layer(middleware::from_fn(move |mut req: Request, next: Next| {
            let by = tokio::time::Instant::now() + body_read_timeout;
            req.extensions_mut()
                .insert(crate::extract::BodyDeadline(by));
            next.run(req)
        }))
}

/// Refuses a request target over [`MAX_PATH_BYTES`] (414) or a header block
/// over [`MAX_HEADER_BYTES`] (431) with the contract's JSON error body.
async fn enforce_limits(req: Request, next: Next) -> Response {
    let target = req
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len())
        .saturating_add(req.uri().authority().map_or(0, |a| a.as_str().len()));
    if target > MAX_PATH_BYTES {
        return ApiError::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request path is longer than {MAX_PATH_BYTES} bytes"),
        )
        .into_response();
    }
    // As on the wire: "name: value\r\n".
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers > MAX_HEADER_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Logs accept errors at most once per [`ACCEPT_ERROR_LOG_EVERY`].
struct AcceptErrors {
    last: Option<Instant>,
    skipped: u64,
}

impl AcceptErrors {
    fn report(&mut self, error: &std::io::Error) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < ACCEPT_ERROR_LOG_EVERY)
        {
            self.skipped += 1;
            return;
        }
        self.last = Some(now);
        let skipped = std::mem::take(&mut self.skipped);
        if is_connection_error(error) {
            // The remote side gave up before the accept: its fault, not ours.
            tracing::debug!(%error, skipped, "accepting an API connection failed");
        } else {
            tracing::warn!(%error, skipped, "cannot accept API connections");
        }
    }
}

/// Errors of one connection that is already gone; the next accept may succeed at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// A served connection as the accept loop sees it: whether it ever sent a
/// complete request head, and how to close it if it never did.
#[derive(Default)]
struct Silent {
    spoke: std::sync::atomic::AtomicBool,
    evict: CancellationToken,
}

/// Closes the oldest live connection that has not sent a request head.
fn evict_oldest_silent(arrivals: &mut VecDeque<Weak<Silent>>) {
    while let Some(w) = arrivals.pop_front() {
        let Some(c) = w.upgrade() else {
            continue;
        };
        if c.spoke.load(std::sync::atomic::Ordering::Relaxed) {
            // Serving or served: kept (the header timeout ends idle ones).
            continue;
        }
        tracing::debug!("API connection cap reached: closing the oldest silent connection");
        c.evict.cancel();
        return;
    }
}

/// Serves [`app`] on `listener` as `config` says until `shutdown`
/// completes (the node passes a token's cancellation; tests pass
/// `127.0.0.1:0` listeners and [`ServerConfig::default`]). Then it stops
/// accepting, lets requests in flight finish for `config.shutdown_grace`,
/// closes the connections still open, and waits (as long again at most) for
/// the blocking store calls the requests started.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Drained> {
    let mut connections = Connections::new(state, &config);
    let mut shutdown = std::pin::pin!(shutdown);
    while let Some((stream, permit)) = connections.admit(&listener, &mut shutdown).await {
        connections.serve(stream, permit);
    }
    drop(listener);
    Ok(connections.drain(config.shutdown_grace).await)
}

/// The connections of one server: how each is served, the cap on how many
/// at once, and what its shutdown waits for.
struct Connections {
    service: TowerToHyperService<Router>,
    http: http1::Builder,
    permits: Arc<Semaphore>,
    cap: usize,
    /// Cancelled at shutdown: each connection finishes its request in
    /// flight and takes no new one.
    stop: CancellationToken,
    /// The blocking store calls the requests started.
    blocking: TaskTracker,
    tasks: JoinSet<()>,
    /// Connections in arrival order, for evicting the oldest silent one.
    arrivals: VecDeque<Weak<Silent>>,
    errors: AcceptErrors,
}

impl Connections {
    fn new(state: AppState, config: &ServerConfig) -> Connections {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .max_buf_size(READ_BUFFER_BYTES)
            .max_headers(MAX_HEADER_LINES);
        let cap = config.max_connections.max(1);
        Connections {
            service: TowerToHyperService::new(app(state, config)),
            http,
            permits: Arc::new(Semaphore::new(cap)),
            cap,
            stop: CancellationToken::new(),
            blocking: TaskTracker::new(),
            tasks: JoinSet::new(),
            arrivals: VecDeque::new(),
            errors: AcceptErrors {
                last: None,
                skipped: 0,
            },
        }
    }

    /// The next connection to serve and its slot under the cap; `None` once
    /// `shutdown` completes.
    ///
    /// At the cap, a newcomer makes the oldest connection that never sent
    /// a request head go; if every one has spoken, the newcomer waits for
    /// one to end (and further clients in the kernel's backlog).
    async fn admit<S: Future<Output = ()>>(
        &mut self,
        listener: &TcpListener,
        shutdown: &mut Pin<&mut S>,
    ) -> Option<(TcpStream, OwnedSemaphorePermit)> {
        loop {
            // Finished connections leave their (empty) results here until reaped.
            while self.tasks.try_join_next().is_some() {}
            if self.arrivals.len() > 2 * self.cap {
                self.arrivals.retain(|w| w.strong_count() > 0);
            }
            let mut newcomer = None;
            if self.permits.available_permits() == 0 {
                tokio::select! {
                    _ = self.permits.acquire() => {}
                    r = listener.accept() => match r {
                        Ok((stream, _)) => {
                            evict_oldest_silent(&mut self.arrivals);
                            newcomer = Some(stream);
                        }
                        Err(e) => {
                            self.errors.report(&e);
                            continue;
                        }
                    },
                    () = shutdown.as_mut() => return None,
                }
            }
            let permit = tokio::select! {
                p = self.permits.clone().acquire_owned() => p.ok()?,
                () = shutdown.as_mut() => return None,
            };
            if let Some(stream) = newcomer {
                return Some((stream, permit));
            }
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, _)) => return Some((stream, permit)),
                    Err(e) => {
                        self.errors.report(&e);
                        if !is_connection_error(&e) {
                            tokio::select! {
                                () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                                () = shutdown.as_mut() => return None,
                            }
                        }
                    }
                },
                () = shutdown.as_mut() => return None,
            }
        }
    }

    /// Serves `stream` on its own task, holding `permit` until it closes.
    fn serve(&mut self, stream: TcpStream, permit: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        // hyper's own answers to heads it cannot parse get the JSON body.
        let stream = json_errors::JsonErrors::new(stream);
        let silent = Arc::new(Silent::default());
        self.arrivals.push_back(Arc::downgrade(&silent));
        let heard = silent.clone();
        let inner = self.service.clone();
        // The first request head marks the connection as one to keep.
        let marked = hyper::service::service_fn(move |req| {
            heard
                .spoke
                .store(true, std::sync::atomic::Ordering::Relaxed);
            hyper::service::Service::call(&inner, req)
        });
        let conn = self.http.serve_connection(TokioIo::new(stream), marked);
        let stop = self.stop.clone();
        self.tasks
            .spawn(BLOCKING.scope(self.blocking.clone(), async move {
                let _permit = permit;
                let mut conn = std::pin::pin!(conn);
                let result = tokio::select! {
                    r = conn.as_mut() => r,
                    () = silent.evict.cancelled() => Ok(()),
                    () = stop.cancelled() => {
                        // Finish the request in flight, if any; take no new one.
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(error) = result {
                    // Timeouts, resets and malformed requests: the client's doing.
                    tracing::debug!(%error, "API connection ended with an error");
                }
            }));
    }

    /// Shutdown: lets requests in flight finish for `grace`, closes the
    /// connections still open, and waits (as long again at most) for the
    /// blocking store calls the requests started.
    async fn drain(mut self, grace: Duration) -> Drained {
        self.stop.cancel();
        let in_time = tokio::time::timeout(grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        let aborted_connections = if in_time {
            0
        } else {
            let left = self.tasks.len();
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
            left
        };
        self.blocking.close();
        let blocking_still_running = tokio::time::timeout(grace, self.blocking.wait())
            .await
            .is_err();
        if aborted_connections > 0 || blocking_still_running {
            tracing::warn!(
                aborted_connections,
                blocking_still_running,
                "API requests did not finish within the shutdown grace period"
            );
        }
        Drained {
            aborted_connections,
            blocking_still_running,
        }
    }
}
