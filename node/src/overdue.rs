//! The date-driven pass of `delivery.overdue`: exits fall due by the
//! calendar, not by any entry arriving, so at start and every hour the node
//! asks the verifier to judge the licenses whose exits fell due since the
//! last pass ([`Verifier::judge_overdue`], bounded chunks, one commit each). An exit already due when it arrives is judged as it is applied.

use std::time::Duration;
use tally_verify::Verifier;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How often the pass runs: "today" changes once a day, in the node's time
/// zone, at an hour no one chose; an hour late at most.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// Runs the pass now, then every `interval`, until `cancel`.
pub async fn run(verifier: Verifier, interval: Duration, cancel: CancellationToken) {
    loop {
        let v = verifier.clone();
        match tokio::task::spawn_blocking(move || v.judge_overdue()).await {
            Ok(Ok(0)) => debug!("overdue pass: nothing fell due"),
            Ok(Ok(n)) => info!(
                licenses = n,
                "overdue pass: re-judged licenses whose exits fell due"
            ),
            // A store that cannot write now (disk full, damaged) is reported
            // by health; the next pass retries.
            Ok(Err(e)) => warn!(error = %e, "overdue pass failed; retrying at the next one"),
            Err(e) => warn!(error = %e, "overdue pass stopped"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
