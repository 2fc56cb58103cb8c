//! Per-token rate limits on what makes the log grow: documents issued
//! (issue, status, amend, key rotation) and shipments recorded. A token
//! bucket per (token hash, kind), in a bounded map; a request over the limit
//! is refused with 429 `rate_limited` and `Retry-After` before anything is
//! done, so nothing is written.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Defaults of `[api.rate]` (docs/API.md).
pub const DEFAULT_RECORDS_PER_MINUTE: u32 = 120;
pub const DEFAULT_DOCUMENTS_PER_MINUTE: u32 = 600;
/// Bytes of recorded shipments (signed entries, as every party stores
/// them) per token per minute: 4 MiB.
pub const DEFAULT_RECORD_BYTES_PER_MINUTE: u64 = 4 * 1024 * 1024;
/// Bytes of recorded shipments per minute across every token: 32 MiB.
pub const DEFAULT_NODE_RECORD_BYTES_PER_MINUTE: u64 = 32 * 1024 * 1024;

/// What a record reserves before it is written: the largest entry there is.
/// The difference to the entry's real size is given back once it is
/// written (all of it when nothing was written), so a budget is never
/// overspent, even by requests in progress at once.
const RECORD_RESERVATION: u64 = tally_model::MAX_ENTRY_BYTES as u64;

/// docs/API.md's default for `api.max_connections_per_token`.
pub const DEFAULT_MAX_CONNECTIONS_PER_TOKEN: usize = 64;

/// Most (token, kind) buckets kept. Only known tokens reach the limiter, so
/// this is far above any real token book; past it, full (idle) buckets are
/// dropped first, then the least recently used.
pub const MAX_BUCKETS: usize = 4096;

/// `[api.rate]` of `tally.toml`: how much one API token may add to the
/// node's log per minute. A request over the limit is refused with 429
/// `rate_limited` and `Retry-After`, and writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateConfig {
    /// Shipment records (`POST /v1/shipments/verify` with `record: true`)
    /// per token per minute. Checks without `record` are not limited.
    pub records_per_minute: u32,
    /// Documents (issue, status change, amendment, key rotation) per token
    /// per minute.
    pub documents_per_minute: u32,
    /// Bytes of recorded shipments (the signed entries every party
    /// stores) per token per minute.
    pub record_bytes_per_minute: u64,
    /// Bytes of recorded shipments per minute, all tokens together.
    pub node_record_bytes_per_minute: u64,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            records_per_minute: DEFAULT_RECORDS_PER_MINUTE,
            documents_per_minute: DEFAULT_DOCUMENTS_PER_MINUTE,
            record_bytes_per_minute: DEFAULT_RECORD_BYTES_PER_MINUTE,
            node_record_bytes_per_minute: DEFAULT_NODE_RECORD_BYTES_PER_MINUTE,
        }
    }
}

/// What a request would add to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Document,
    Record,
    /// Bytes of recorded shipments ([`RateLimiter::reserve_record_bytes`]).
    RecordBytes,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Document => "documents",
            Kind::Record => "shipment records",
            Kind::RecordBytes => "bytes of shipment records",
        }
    }
}

/// The SHA-256 of the bearer token a request authenticated with; the auth
/// middleware puts it in the request's extensions. The token itself is
/// never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenKey(pub [u8; 32]);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests that may still be made now (fractional while refilling).
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Refilled at `per_sec` up to `capacity` as of `now`.
    fn refill(&mut self, now: Instant, capacity: f64, per_sec: f64) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(capacity);
        self.last = now;
    }

    /// How long until it holds `want` at `per_sec`, whole seconds, at least 1.
    fn wait_for(&self, want: f64, per_sec: f64) -> Duration {
        let secs = ((want - self.tokens) / per_sec).ceil().max(1.0);
        Duration::from_secs(secs as u64)
    }
}

/// Bytes of one record taken from its token's and the node's budgets
/// before it is written; [`RateLimiter::settle_record_bytes`] gives back
/// what the entry did not use. Dropped unsettled (the request was
/// abandoned while its record was being written), the whole reservation
/// stays spent: an over-count, never an under-count.
#[derive(Debug)]
#[must_use = "settle it with the bytes written"]
pub struct ByteReservation {
    token: TokenKey,
    bytes: u64,
}

/// The limiter: cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateConfig,
    buckets: Mutex<HashMap<(TokenKey, Kind), Bucket>>,
    /// `node_record_bytes_per_minute`, all tokens together.
    node_bytes: Mutex<Option<Bucket>>,
}

impl RateLimiter {
    pub fn new(config: RateConfig) -> RateLimiter {
        RateLimiter {
            config,
            buckets: Mutex::new(HashMap::new()),
            node_bytes: Mutex::new(None),
        }
    }

    pub fn config(&self) -> RateConfig {
        self.config
    }

    fn per_minute(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Document => f64::from(self.config.documents_per_minute),
            Kind::Record => f64::from(self.config.records_per_minute),
            Kind::RecordBytes => self.config.record_bytes_per_minute as f64,
        }
        .max(1.0)
    }

    /// Takes the bytes of one record from `token`'s budget and the node's
    /// before it is written, or answers 429 `rate_limited` with the seconds
    /// until both hold enough. What is taken is the largest entry there is
    /// (or the whole budget, if smaller);
    /// [`RateLimiter::settle_record_bytes`] gives back the rest.
    pub fn reserve_record_bytes(&self, token: TokenKey) -> Result<ByteReservation, ApiError> {
        self.reserve_record_bytes_at(token, Instant::now())
            .map_err(|(which, retry)| {
                let (whose, limit) = match which {
                    Budget::Token => ("this token", self.config.record_bytes_per_minute),
                    Budget::Node => (
                        "this node, all tokens together,",
                        self.config.node_record_bytes_per_minute,
                    ),
                };
                ApiError::rate_limited(
                    format!(
                        "{whose} may record at most {limit} bytes of shipment records per \
                         minute; retry in {} s",
                        retry.as_secs()
                    ),
                    retry.as_secs(),
                )
            })
    }

    /// [`RateLimiter::reserve_record_bytes`] at a given instant: `Err` names
    /// the budget short of bytes and the wait.
    pub fn reserve_record_bytes_at(
        &self,
        token: TokenKey,
        now: Instant,
    ) -> Result<ByteReservation, (Budget, Duration)> {
        let token_cap = self.per_minute(Kind::RecordBytes);
        let node_cap = (self.config.node_record_bytes_per_minute as f64).max(1.0);
        let want = (RECORD_RESERVATION as f64).min(token_cap).min(node_cap);
        // Lock order: token buckets, then the node's.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut node = self.node_bytes.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(token, Kind::RecordBytes)) {
            evict(&mut buckets, now, |k| self.per_minute(k) / 60.0);
        }
        let b = buckets.entry((token, Kind::RecordBytes)).or_insert(Bucket {
            tokens: token_cap,
            last: now,
        });
        b.refill(now, token_cap, token_cap / 60.0);
        let n = node.get_or_insert(Bucket {
            tokens: node_cap,
            last: now,
        });
        n.refill(now, node_cap, node_cap / 60.0);
        if b.tokens < want {
            return Err((Budget::Token, b.wait_for(want, token_cap / 60.0)));
        }
        if n.tokens < want {
            return Err((Budget::Node, n.wait_for(want, node_cap / 60.0)));
        }
        b.tokens -= want;
        n.tokens -= want;
        Ok(ByteReservation {
            token,
            bytes: want as u64,
        })
    }

    /// Settles a reservation with the bytes the record really added to the
    /// log (0 when nothing was written): the rest goes back to both
    /// budgets; an entry larger than the reservation (a budget below the
    /// largest entry) is taken in full, leaving the budgets in debt.
    pub fn settle_record_bytes(&self, r: ByteReservation, written: u64) {
        let delta = r.bytes as f64 - written as f64;
        let token_cap = self.per_minute(Kind::RecordBytes);
        let node_cap = (self.config.node_record_bytes_per_minute as f64).max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let mut node = self.node_bytes.lock().unwrap_or_else(|p| p.into_inner());
        // An evicted bucket was full: nothing to give back to it.
        if let Some(b) = buckets.get_mut(&(r.token, Kind::RecordBytes)) {
            b.tokens = (b.tokens + delta).min(token_cap);
        }
        if let Some(n) = node.as_mut() {
            n.tokens = (n.tokens + delta).min(node_cap);
        }
    }

    /// Takes one request of `kind` from `token`'s allowance now, or answers
    /// 429 with the seconds until one is allowed again.
    pub fn charge(&self, token: TokenKey, kind: Kind) -> Result<(), ApiError> {
        debug_assert!(kind != Kind::RecordBytes, "bytes are reserved, not charged");
        self.charge_at(token, kind, Instant::now())
            .map_err(|retry| {
                ApiError::rate_limited(
                    format!(
                        "this token may make at most {} {} per minute; retry in {} s",
                        self.per_minute(kind),
                        kind.noun(),
                        retry.as_secs()
                    ),
                    retry.as_secs(),
                )
            })
    }

    /// [`RateLimiter::charge`] at a given instant: `Err(wait)` when over the
    /// limit, `wait` rounded up to whole seconds (at least 1).
    pub fn charge_at(&self, token: TokenKey, kind: Kind, now: Instant) -> Result<(), Duration> {
        let capacity = self.per_minute(kind);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(token, kind)) {
            evict(&mut buckets, now, |k| self.per_minute(k) / 60.0);
        }
        let b = buckets.entry((token, kind)).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        b.refill(now, capacity, per_sec);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(b.wait_for(1.0, per_sec))
        }
    }

    /// Buckets held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which byte budget refused a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `record_bytes_per_minute`, the token's own.
    Token,
    /// `node_record_bytes_per_minute`, all tokens together.
    Node,
}

/// How many requests each token has in progress, capped
/// (`api.max_connections_per_token`): one token holder cannot take every
/// connection the server serves (`api.max_connections`) with slow bodies
/// or slow reads. Only tokens with a request in progress are kept, so the
/// map is bounded by the connections served at once.
#[derive(Debug)]
pub struct TokenSlots {
    max: usize,
    held: Mutex<HashMap<TokenKey, usize>>,
}

/// One request's slot of its token; given back when dropped.
#[derive(Debug)]
pub struct TokenSlot {
    slots: std::sync::Arc<TokenSlots>,
    token: TokenKey,
}

impl TokenSlots {
    pub fn new(max: usize) -> TokenSlots {
        TokenSlots {
            max: max.max(1),
            held: Mutex::new(HashMap::new()),
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot of `token`, or 429 `rate_limited` (retry in a second) when it
    /// already holds [`TokenSlots::max`].
    pub fn acquire(self: &std::sync::Arc<Self>, token: TokenKey) -> Result<TokenSlot, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(token).or_insert(0);
        if *n >= self.max {
            return Err(ApiError::rate_limited(
                format!(
                    "this token already has {} requests in progress, its limit \
                     (api.max_connections_per_token); retry when one has finished",
                    self.max
                ),
                1,
            ));
        }
        *n += 1;
        Ok(TokenSlot {
            slots: self.clone(),
            token,
        })
    }

    /// Requests `token` has in progress.
    pub fn held(&self, token: TokenKey) -> usize {
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&token)
            .copied()
            .unwrap_or(0)
    }

    /// Tokens with a request in progress.
    pub fn tokens(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for TokenSlot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|p| p.into_inner());
        if let std::collections::hash_map::Entry::Occupied(mut e) = held.entry(self.token) {
            *e.get_mut() = e.get().saturating_sub(1);
            if *e.get() == 0 {
                e.remove();
            }
        }
    }
}

/// Makes room for one bucket: drops every bucket that has refilled (it
/// holds nothing a fresh one would not), else the least recently used.
fn evict(
    buckets: &mut HashMap<(TokenKey, Kind), Bucket>,
    now: Instant,
    rate: impl Fn(Kind) -> f64,
) {
    buckets.retain(|(_, kind), b| {
        let r = rate(*kind);
        let full = b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * r >= r * 60.0;
        !full
    });
    if buckets.len() >= MAX_BUCKETS
        && let Some(oldest) = buckets.iter().min_by_key(|(_, b)| b.last).map(|(k, _)| *k)
    {
        buckets.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> TokenKey {
        TokenKey([n; 32])
    }

    #[test]
    fn allows_the_limit_then_says_when_to_retry() {
        let l = RateLimiter::new(RateConfig {
            records_per_minute: 2,
            documents_per_minute: 3,
            ..RateConfig::default()
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            l.charge_at(key(1), Kind::Document, t0)
                .expect("within the limit");
        }
        let wait = l.charge_at(key(1), Kind::Document, t0).expect_err("over");
        // One request every 20 s comes back.
        assert_eq!(wait, Duration::from_secs(20));
        // Other kinds and other tokens have their own allowance.
        l.charge_at(key(1), Kind::Record, t0)
            .expect("records apart");
        l.charge_at(key(2), Kind::Document, t0)
            .expect("tokens apart");
        // After the wait, one more.
        let later = t0 + wait;
        l.charge_at(key(1), Kind::Document, later)
            .expect("refilled");
        assert!(l.charge_at(key(1), Kind::Document, later).is_err());
        // A minute restores the whole allowance.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            l.charge_at(key(1), Kind::Document, much_later)
                .expect("full again");
        }
    }

    #[test]
    fn the_map_stays_bounded() {
        let l = RateLimiter::new(RateConfig::default());
        let t0 = Instant::now();
        for i in 0..(MAX_BUCKETS as u32 + 100) {
            let mut k = [0u8; 32];
            k[..4].copy_from_slice(&i.to_be_bytes());
            l.charge_at(TokenKey(k), Kind::Record, t0)
                .expect("first is free");
        }
        assert!(l.len() <= MAX_BUCKETS);
    }

    /// Issue 28 item 10: records of 262,750 bytes at 2 a second made a
    /// token add ~1.9 GB an hour to every party's disk. Bytes per token and
    /// per node are bounded per minute.
    #[test]
    fn record_bytes_are_bounded_per_token_and_per_node() {
        const ENTRY: u64 = 262_750;
        let l = RateLimiter::new(RateConfig {
            record_bytes_per_minute: 1_000_000,
            node_record_bytes_per_minute: 1_400_000,
            ..RateConfig::default()
        });
        let t0 = Instant::now();
        // Token 1: three entries fit (3 x 262,750 = 788,250 plus a
        // reservation of 393,216 would not: 1,181,466 > 1,000,000).
        let mut written = 0;
        loop {
            match l.reserve_record_bytes_at(key(1), t0) {
                Ok(r) => {
                    l.settle_record_bytes(r, ENTRY);
                    written += ENTRY;
                }
                Err((budget, wait)) => {
                    assert_eq!(budget, Budget::Token);
                    // 393,216 - (1,000,000 - 788,250) bytes at 16,667 B/s.
                    assert_eq!(wait, Duration::from_secs(11));
                    break;
                }
            }
            assert!(written <= 1_000_000, "over the token's budget");
        }
        assert_eq!(written, 3 * ENTRY);
        // Token 2: the node has 1,400,000 - 788,250 = 611,750 left, so
        // one more entry, then the node's budget refuses.
        let r = l
            .reserve_record_bytes_at(key(2), t0)
            .expect("node has room");
        l.settle_record_bytes(r, ENTRY);
        let (budget, _) = l
            .reserve_record_bytes_at(key(2), t0)
            .expect_err("node spent");
        assert_eq!(budget, Budget::Node);
        // A record that wrote nothing gives everything back.
        let later = t0 + Duration::from_secs(60);
        let r = l.reserve_record_bytes_at(key(3), later).expect("refilled");
        l.settle_record_bytes(r, 0);
        let r = l
            .reserve_record_bytes_at(key(3), later)
            .expect("given back");
        l.settle_record_bytes(r, 0);
        // Over a long run a token writes about its budget per minute.
        let l = RateLimiter::new(RateConfig::default());
        let mut bytes = 0u64;
        let mut now = t0;
        let end = t0 + Duration::from_secs(600);
        while now < end {
            match l.reserve_record_bytes_at(key(4), now) {
                Ok(r) => {
                    l.settle_record_bytes(r, ENTRY);
                    bytes += ENTRY;
                }
                Err((_, wait)) => now += wait,
            }
        }
        let per_minute = bytes / 10;
        assert!(
            per_minute <= DEFAULT_RECORD_BYTES_PER_MINUTE + DEFAULT_RECORD_BYTES_PER_MINUTE / 10,
            "{per_minute} bytes a minute"
        );
        assert!(
            per_minute >= DEFAULT_RECORD_BYTES_PER_MINUTE / 2,
            "{per_minute}"
        );
    }

    #[test]
    fn a_token_holds_at_most_its_slots() {
        let slots = std::sync::Arc::new(TokenSlots::new(2));
        let a = slots.acquire(key(1)).expect("first");
        let b = slots.acquire(key(1)).expect("second");
        let e = slots.acquire(key(1)).expect_err("third");
        assert_eq!((e.status.as_u16(), e.code), (429, "rate_limited"));
        assert_eq!(e.retry_after, Some(1));
        let other = slots.acquire(key(2)).expect("another token");
        assert_eq!(slots.held(key(1)), 2);
        drop(a);
        let c = slots.acquire(key(1)).expect("a slot came back");
        drop((b, c, other));
        assert_eq!(slots.tokens(), 0, "no token kept without a request");
    }

    #[test]
    fn the_answer_is_429_with_retry_after() {
        let l = RateLimiter::new(RateConfig {
            records_per_minute: 1,
            documents_per_minute: 1,
            ..RateConfig::default()
        });
        l.charge(key(1), Kind::Record).expect("first");
        let e = l.charge(key(1), Kind::Record).expect_err("second");
        assert_eq!((e.status.as_u16(), e.code), (429, "rate_limited"));
        let retry = e.retry_after.expect("retry after");
        assert!((1..=60).contains(&retry), "{retry}");
    }
}
