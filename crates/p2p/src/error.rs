//! The one error type of `tally-p2p`: what a caller of the handle or `spawn` can get back.

use libp2p::PeerId;

/// Why a p2p operation failed.
///
/// A remote peer's fault surfaces here only as the failure of the request the
/// caller made to that peer; it never takes the service down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is unusable; `key` names it as spelled in the config file.
    #[error("p2p config key `{key}`: {reason}")]
    Config { key: &'static str, reason: String },
    /// Building the transport or binding the listen address failed.
    #[error("p2p transport: {0}")]
    Transport(String),
    /// The swarm task has stopped (cancelled or gone); nothing more can be done.
    #[error("the p2p service has shut down")]
    Shutdown,
    /// The operation needs a trusted peer and this one is not on the allow list.
    #[error("peer {0} is not trusted")]
    NotTrusted(PeerId),
    /// A bound on pending work was reached; retry later.
    #[error("too many pending {0}")]
    Busy(&'static str),
    /// The payload is larger than the configured bound.
    #[error("message of {size} bytes exceeds the bound of {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// Gossipsub refused to publish for a reason other than "no peers yet".
    #[error("publish failed: {0}")]
    Publish(String),
    /// A sync request did not get an answer (timeout, dial failure, closed connection, bad frame).
    #[error("sync request to {peer} failed: {reason}")]
    Request { peer: PeerId, reason: String },
    /// The remote answered the sync request with an error.
    #[error("peer {peer} refused the sync request: {message}")]
    Refused { peer: PeerId, message: String },
    /// The remote answered with a response of the wrong kind.
    #[error("peer {peer} sent a response of the wrong kind")]
    UnexpectedResponse { peer: PeerId },
}
