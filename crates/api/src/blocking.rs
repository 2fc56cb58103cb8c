//! Blocking work a request starts (store and verifier calls, which read and
//! fsync files), tracked so that the server's shutdown can wait for it: a
//! request's future can be dropped while its blocking call goes on holding
//! a store handle.

use tokio_util::task::TaskTracker;

tokio::task_local! {
    /// The blocking calls started by the requests of one server, so that its
    /// shutdown can wait for them (a request's future can be dropped while
    /// its blocking call goes on holding a store handle). The server runs
    /// each connection in this scope.
    pub(crate) static BLOCKING: TaskTracker;
}

/// Runs `f` on the blocking pool; when called from a request of
/// [`crate::serve`], that server's shutdown waits for it.
pub(crate) fn track_blocking<T, F>(f: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let token = BLOCKING.try_with(|t| t.token()).ok();
    tokio::task::spawn_blocking(move || {
        let _token = token;
        f()
    })
}
