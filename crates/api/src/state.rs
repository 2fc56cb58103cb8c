//! What every request handler may touch ([`AppState`]) and what the node
//! provides behind it: its p2p side ([`Network`]) and its key files
//! ([`KeyRotator`]).

use crate::drafts::Drafts;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::rate;
use crate::tokens::{Role, TokenBook};
use std::sync::{Arc, RwLock};
use tally_model::Card;
use tally_verify::Verifier;

/// What the API needs to know of the p2p side; the node implements it over
/// its libp2p state. Calls must be quick and must not block.
pub trait Network: Send + Sync + 'static {
    /// This node's libp2p peer id.
    fn peer_id(&self) -> String;
    /// Trusted peers, connected or not.
    fn peers(&self) -> Vec<PeerStatus>;
}

/// One peer as `GET /v1/status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub peer_id: String,
    /// The authority whose card names this peer, if any.
    pub authority: Option<String>,
    pub connected: bool,
    /// When a sync with this peer last completed (Unix ms).
    pub last_sync_ms: Option<i64>,
}

/// Rotates this node's keys; the node implements it over its key files and
/// its card (the API cannot reach them). Calls block (files, fsync): the API
/// makes them on the blocking pool.
pub trait KeyRotator: Send + Sync + 'static {
    /// A new signing key: kept in the key file (mode 0600), announced in
    /// the node's own log by a rotation signed with the current key, used
    /// for every entry after it, and written into the node's card.
    fn rotate_signing(&self) -> Result<RotatedKey, ApiError>;
    /// A new encryption key: kept in its key file (mode 0600, the old
    /// secrets kept beside it to read what was sealed to them), announced in
    /// the node's own log by a network-visible entry, sealed to by peers from
    /// then on, and written into the node's card.
    fn rotate_encryption(&self) -> Result<RotatedKey, ApiError>;
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct RotatedKey {
    /// The new public key, 64 lowercase hex digits.
    pub key_id: String,
    /// The rotation entry in the node's own log.
    pub entry: tally_verify::state::EntryPointer,
}

/// Everything a request handler may touch; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The only way to the store: issue, amend, status, check, and reads.
    pub verifier: Verifier,
    /// Shared with the node, which may also call `reload_if_changed`.
    pub tokens: Arc<RwLock<TokenBook>>,
    pub network: Arc<dyn Network>,
    pub metrics: Metrics,
    /// This node's own card, listed by `GET /v1/authorities`. Without it the
    /// listing shows the authority id and peer id only (the verifier does
    /// not expose the signing key).
    pub card: Option<Arc<Card>>,
    /// Rotates the node's keys (`POST /v1/keys/rotate`); none: 503.
    pub rotator: Option<Arc<dyn KeyRotator>>,
    /// Per-token limits on documents issued and shipments recorded.
    pub rate: Arc<rate::RateLimiter>,
    /// Requests each token may have in progress at once
    /// (`api.max_connections_per_token`).
    pub token_slots: Arc<rate::TokenSlots>,
    /// `[issue] approvals`: 1 signs at once; 2 keeps a draft for another
    /// person to approve.
    pub approvals: u8,
    pub drafts: Arc<Drafts>,
    /// Seals printed documents (`GET /v1/paper/...`); none: 503.
    pub paper: Option<Arc<crate::paper::PaperDesk>>,
}

impl AppState {
    pub fn new(
        verifier: Verifier,
        tokens: Arc<RwLock<TokenBook>>,
        network: Arc<dyn Network>,
        metrics: Metrics,
    ) -> AppState {
        AppState {
            verifier,
            tokens,
            network,
            metrics,
            card: None,
            rotator: None,
            rate: Arc::new(rate::RateLimiter::new(rate::RateConfig::default())),
            token_slots: Arc::new(rate::TokenSlots::new(
                rate::DEFAULT_MAX_CONNECTIONS_PER_TOKEN,
            )),
            approvals: 1,
            drafts: Arc::new(Drafts::in_memory()),
            paper: None,
        }
    }

    /// Sets `[issue] approvals` (1 or 2) and where drafts are kept.
    pub fn with_approvals(mut self, approvals: u8, drafts: Drafts) -> AppState {
        self.approvals = approvals;
        self.drafts = Arc::new(drafts);
        self
    }

    /// Sets how many requests one token may have in progress at once
    /// (`api.max_connections_per_token`).
    pub fn with_max_connections_per_token(mut self, max: usize) -> AppState {
        self.token_slots = Arc::new(rate::TokenSlots::new(max));
        self
    }

    /// Sets the per-token rate limits (`[api.rate]`).
    pub fn with_rate(mut self, config: rate::RateConfig) -> AppState {
        self.rate = Arc::new(rate::RateLimiter::new(config));
        self
    }

    /// Charges one request of `kind` to the token that made it (429 when
    /// over its limit). Routes without a token are never limited.
    pub(crate) fn charge(
        &self,
        token: Option<rate::TokenKey>,
        kind: rate::Kind,
    ) -> Result<(), ApiError> {
        match token {
            Some(t) => self.rate.charge(t, kind),
            None => Ok(()),
        }
    }

    /// Sets the paper desk (the paper key and the print audit file).
    pub fn with_paper(mut self, desk: crate::paper::PaperDesk) -> AppState {
        self.paper = Some(Arc::new(desk));
        self
    }

    /// Sets what rotates this node's keys.
    pub fn with_rotator(mut self, rotator: Arc<dyn KeyRotator>) -> AppState {
        self.rotator = Some(rotator);
        self
    }

    /// Sets this node's own card (the one `tally init` wrote).
    pub fn with_card(mut self, card: Card) -> AppState {
        self.card = Some(Arc::new(card));
        self
    }

    pub(crate) fn token_role(&self, token: &str) -> Option<Role> {
        self.tokens
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .role_of(token)
    }
}
