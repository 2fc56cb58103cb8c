//! The `tally` node: command line, configuration, and the composition root
//! that wires the store, the verifier, the network and the API together.
//!
//! Layout:
//! - [`cli`]: the command line of docs/API.md (clap).
//! - [`config`]: `tally.toml`, checked at start-up with errors naming the key.
//! - [`keys`]: secret key files (mode 0600); [`rotate`]: rotating them;
//!   [`paper`]: the paper key, announced at start; [`paper_cli`]: `tally
//!   paper print|bundle|verify`; [`paper_photo`]: a seal read from a photo.
//! - [`signing`], [`migrate`], [`token_rotation`]: the signing key in a
//!   PKCS#11 token: opened at start, moved into it, rotated within it.
//! - [`archive`]: the encryption secrets by time, and the retired ones.
//! - [`files`]: cards and the trust list on disk, written atomically.
//! - [`admin`]: offline commands: `init`, `trust`, `token`, `reindex`.
//! - [`integrity`]: `tally verify-store` and the running node's background
//!   check of every log's chain and signatures.
//! - [`node`]: [`Node::spawn`], the composition root, the running node and
//!   its shutdown; `startup` (what happens before serving) and `services`
//!   (each service spawned with its settings and handles) are its steps.
//! - [`router`]: where network events meet validation; [`verdict`]: the
//!   verifier's verdicts on peers mapped onto gossipsub's and the metrics.
//! - [`sync`]: anti-entropy (pull) replication.
//! - [`watch`]: trust and token changes applied without a restart.
//! - [`overdue`]: the hourly, date-driven pass of `delivery.overdue`.
//! - [`peers`]: the peer table behind `/v1/status`.
//! - [`client`]: `tally status` and `tally check` over HTTP; [`import`]:
//!   `tally import`, documents from a file through the API; [`report`]:
//!   `tally report att`, the ATT report written from a node's draft.
//! - [`demo`]: `tally demo`, a local network of four nodes with sample
//!   data; [`demo_year`]: the year of traffic it writes first, with the
//!   shifted [`clock`]; [`demo_paper`]: its documents printed with seals.

pub mod admin;
pub mod archive;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod demo;
pub mod demo_denial;
pub mod demo_enduse;
pub mod demo_paper;
pub mod demo_temporary;
pub mod demo_year;
pub mod files;
pub mod import;
pub mod integrity;
pub mod keys;
pub mod migrate;
pub mod node;
pub mod overdue;
pub mod paper;
pub mod paper_cli;
pub mod paper_photo;
pub mod peers;
pub mod report;
pub mod rotate;
pub mod router;
mod services;
pub mod signing;
mod startup;
pub mod sync;
pub mod token_rotation;
pub mod verdict;
pub mod watch;

pub use node::Node;

/// Installs the tracing subscriber (only the binary does this).
pub fn init_tracing(format: cli::LogFormat) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    // libp2p logs some faults of remote peers (refused streams, duplicate
    // publishes) at warn; a peer must not be able to flood the log.
    let filter = EnvFilter::try_from_env("TALLY_LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,libp2p_request_response=error,libp2p_gossipsub=error")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        cli::LogFormat::Text => builder.try_init(),
        cli::LogFormat::Json => builder.json().try_init(),
    };
}

/// Raises this process's soft limit of open files to its hard limit and
/// returns the limit now in force. Every API connection and every peer costs
/// a descriptor, and distributions still default the soft limit to 1,024,
/// which `api.max_connections` alone can reach. A failure (a sandbox that
/// forbids `setrlimit`) leaves the limit as it was and is only logged.
pub fn raise_open_file_limit() -> Option<u64> {
    use rlimit::Resource;
    let (soft, hard) = match rlimit::getrlimit(Resource::NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-file limit");
            return None;
        }
    };
    if soft >= hard {
        return Some(soft);
    }
    match rlimit::setrlimit(Resource::NOFILE, hard, hard) {
        Ok(()) => {
            tracing::debug!(from = soft, to = hard, "raised the open-file limit");
            Some(hard)
        }
        Err(e) => {
            tracing::warn!(error = %e, limit = soft, "cannot raise the open-file limit");
            Some(soft)
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
