//! Per-token rate limits on what makes the log grow: documents issued
//! (issue, status, amend, key rotation) and shipments recorded. A token
//! bucket per (token hash, kind), in a bounded map; a request over the limit
//! is refused with 429 `rate_limited` and `Retry-After` before anything is
//! done, so nothing is written.

use crate::error::ApiError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Defaults of `[api.rate]` (CONTRACT.md).
pub const DEFAULT_RECORDS_PER_MINUTE: u32 = 120;
pub const DEFAULT_DOCUMENTS_PER_MINUTE: u32 = 600;

/// CONTRACT.md's default for `api.max_connections_per_token`.
pub const DEFAULT_MAX_CONNECTIONS_PER_TOKEN: usize = 64;

/// Most (token, kind) buckets kept. Only known tokens reach the limiter, so
/// this is far above any real token book; past it, full (idle) buckets are
/// dropped first, then the least recently used.
pub const MAX_BUCKETS: usize = 4096;

/// The limits, per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    /// Shipment records (`POST /v1/shipments/verify` with `record: true`) per minute.
    pub records_per_minute: u32,
    /// Documents (issue, status, amend, key rotation) per minute.
    pub documents_per_minute: u32,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            records_per_minute: DEFAULT_RECORDS_PER_MINUTE,
            documents_per_minute: DEFAULT_DOCUMENTS_PER_MINUTE,
        }
    }
}

/// What a request would add to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Document,
    Record,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Document => "documents",
            Kind::Record => "shipment records",
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

/// The limiter: cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateConfig,
    buckets: Mutex<HashMap<(TokenKey, Kind), Bucket>>,
}

impl RateLimiter {
    pub fn new(config: RateConfig) -> RateLimiter {
        RateLimiter {
            config,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> RateConfig {
        self.config
    }

    fn per_minute(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Document => self.config.documents_per_minute,
            Kind::Record => self.config.records_per_minute,
        }
    }

    /// Takes one request of `kind` from `token`'s allowance now, or answers
    /// 429 with the seconds until one is allowed again.
    pub fn charge(&self, token: TokenKey, kind: Kind) -> Result<(), ApiError> {
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
        let capacity = f64::from(self.per_minute(kind).max(1));
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(&(token, kind)) {
            evict(&mut buckets, now, |k| {
                f64::from(self.per_minute(k).max(1)) / 60.0
            });
        }
        let b = buckets.entry((token, kind)).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per_sec).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let secs = ((1.0 - b.tokens) / per_sec).ceil().max(1.0);
            Err(Duration::from_secs(secs as u64))
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
        });
        l.charge(key(1), Kind::Record).expect("first");
        let e = l.charge(key(1), Kind::Record).expect_err("second");
        assert_eq!((e.status.as_u16(), e.code), (429, "rate_limited"));
        let retry = e.retry_after.expect("retry after");
        assert!((1..=60).contains(&retry), "{retry}");
    }
}
