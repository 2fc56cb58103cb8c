//! The one wait helper: poll a condition until it holds or a timeout passes.
//! Tests never sleep to synchronise.

use std::time::{Duration, Instant};

/// How often [`wait_until`] polls.
const POLL: Duration = Duration::from_millis(50);

/// A condition that did not hold in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    pub what: String,
    pub timeout: Duration,
}

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting until {}",
            self.timeout, self.what
        )
    }
}

impl std::error::Error for TimedOut {}

/// Polls `cond` every 50 ms until it holds; fails after `timeout` naming
/// `what`. Returns how long it took.
pub async fn wait_until(
    timeout: Duration,
    what: &str,
    mut cond: impl AsyncFnMut() -> bool,
) -> Result<Duration, TimedOut> {
    let start = Instant::now();
    loop {
        if cond().await {
            return Ok(start.elapsed());
        }
        if start.elapsed() > timeout {
            return Err(TimedOut {
                what: what.to_string(),
                timeout,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
