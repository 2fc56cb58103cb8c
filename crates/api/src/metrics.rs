//! A small Prometheus text-format registry: the node's counters and gauges.
//!
//! Dependency-free on purpose: eight series families do not justify a metrics
//! framework.
//!
//! Two audiences: [`Metrics::render`] gives only what every peer could count
//! from the chain itself (entries stored, accepted, ignored, rejected, peers,
//! HTTP requests, the store's health); [`Metrics::render_private`] adds the
//! families derived from documents this node opened (open alerts by kind,
//! checks by rule, verdicts), which `GET /metrics` shows only to a valid token
//! (a side channel otherwise: an alert's kind tells what a sealed document
//! held). Every family bounds its label sets ([`MAX_SERIES`]); past the
//! bound, new label values are counted under `other`, so a misbehaving
//! caller cannot grow memory or the scrape without limit.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tally_model::{AlertKind, ShipmentVerdict};

/// Most label sets one family keeps before folding new ones into `other`.
pub const MAX_SERIES: usize = 512;

/// The value used for any label once a family is full.
pub const OTHER: &str = "other";

/// Where an entry came from: the `source` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Gossip,
    Sync,
    Local,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Gossip => "gossip",
            Source::Sync => "sync",
            Source::Local => "local",
        }
    }
}

/// What became of an entry: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Ignored,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Ignored => "ignored",
            Outcome::Rejected => "rejected",
        }
    }
}

/// The node's metrics; cheap to clone, shared by the API, the router and the p2p glue.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    entries_stored: Family,
    entries_total: Family,
    entries_refused: Family,
    connected_peers: AtomicU64,
    http_requests: Family,
    checks: Family,
    verdicts: Family,
    alerts_open: Family,
    /// Request handlers that panicked since start.
    handler_panics: AtomicU64,
    /// 1 while the store can write, 0 while a fault stops it (set at scrape).
    store_writable: AtomicU64,
    /// Store commits that failed since start (set at scrape).
    store_write_faults: AtomicU64,
}

/// One metric family: label values (in the family's label order) -> value.
#[derive(Default)]
struct Family(Mutex<BTreeMap<Vec<String>, u64>>);

impl Family {
    fn update(&self, labels: &[&str], f: impl FnOnce(&mut u64)) {
        // A panic elsewhere while holding this lock cannot leave a counter
        // half-updated, so a poisoned map is still good.
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        let key = if map.contains_key(&key) || map.len() < MAX_SERIES {
            key
        } else {
            vec![OTHER.to_string(); labels.len()]
        };
        f(map.entry(key).or_insert(0));
    }

    fn snapshot(&self) -> Vec<(Vec<String>, u64)> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// One entry from `source` came to `outcome`.
    pub fn entry_outcome(&self, source: Source, outcome: Outcome) {
        self.inner
            .entries_total
            .update(&[source.as_str(), outcome.as_str()], |v| *v += 1);
    }

    /// One entry from `source` refused for `reason` (a stable label such as
    /// `bad_signature`, `equivocation`, `untrusted_authority`), whether or
    /// not the sender was penalized for it.
    pub fn entry_refused(&self, source: Source, reason: &str) {
        self.inner
            .entries_refused
            .update(&[source.as_str(), reason], |v| *v += 1);
    }

    /// The number of entries this node holds of `authority`'s log.
    pub fn set_entries_stored(&self, authority: &str, n: u64) {
        self.inner.entries_stored.update(&[authority], |v| *v = n);
    }

    pub fn set_connected_peers(&self, n: u64) {
        self.inner.connected_peers.store(n, Ordering::Relaxed);
    }

    /// One HTTP request answered; `route` is the matched path template
    /// (never the raw path, whose values are unbounded).
    pub fn http_request(&self, route: &str, status: u16) {
        let status = status.to_string();
        self.inner
            .http_requests
            .update(&[route, &status], |v| *v += 1);
    }

    /// A request handler panicked (answered 500): counted, and health
    /// turns degraded (a panic may have left in-memory state half-changed).
    pub fn handler_panic(&self, route: &str) {
        tracing::error!(route, "a request handler panicked");
        self.inner.handler_panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Why health is degraded by panics, if any handler panicked.
    pub fn panicked(&self) -> Option<String> {
        match self.inner.handler_panics.load(Ordering::Relaxed) {
            0 => None,
            n => Some(format!(
                "{n} request handler(s) panicked since start; see the node's log, and restart it"
            )),
        }
    }

    /// Whether the store writes now, and how many of its commits failed
    /// since start (a full disk, an I/O error).
    pub fn set_store(&self, writable: bool, faults: u64) {
        self.inner
            .store_writable
            .store(u64::from(writable), Ordering::Relaxed);
        self.inner
            .store_write_faults
            .store(faults, Ordering::Relaxed);
    }

    /// One check of a verdict.
    pub fn verdict(&self, rule: &str, ok: bool) {
        let ok = if ok { "true" } else { "false" };
        self.inner.checks.update(&[rule, ok], |v| *v += 1);
    }

    /// One verdict.
    pub fn verdict_total(&self, verdict: ShipmentVerdict) {
        self.inner.verdicts.update(&[verdict.as_str()], |v| *v += 1);
    }

    /// The number of open alerts of `kind` this node holds (set at scrape
    /// time for every kind, zero included, so a closed alert's gauge falls).
    pub fn set_alerts_open(&self, kind: AlertKind, n: u64) {
        self.inner.alerts_open.update(&[kind.as_str()], |v| *v = n);
    }

    /// The Prometheus text exposition (format 0.0.4) of the public families
    /// only: what every peer could count from the chain itself. The families
    /// of [`Metrics::render_private`] are absent, `# HELP` and `# TYPE`
    /// lines included.
    pub fn render(&self) -> String {
        self.render_as(false)
    }

    /// [`Metrics::render`] and the families derived from documents this node
    /// opened: shipment checks by rule, verdicts, open alerts by kind. For a
    /// caller with a valid token only.
    pub fn render_private(&self) -> String {
        self.render_as(true)
    }

    fn render_as(&self, private: bool) -> String {
        let mut out = String::with_capacity(4096);
        let i = &self.inner;
        family(
            &mut out,
            "tally_entries_stored",
            "gauge",
            "Entries held of each authority's log.",
            &["authority"],
            &i.entries_stored.snapshot(),
        );
        family(
            &mut out,
            "tally_entries_total",
            "counter",
            "Entries received, by source (gossip, sync, local) and outcome (accepted, ignored, rejected).",
            &["source", "outcome"],
            &i.entries_total.snapshot(),
        );
        family(
            &mut out,
            "tally_entries_refused_total",
            "counter",
            "Entries refused, by source (gossip, sync) and reason.",
            &["source", "reason"],
            &i.entries_refused.snapshot(),
        );
        family(
            &mut out,
            "tally_connected_peers",
            "gauge",
            "Trusted peers connected now.",
            &[],
            &[(vec![], i.connected_peers.load(Ordering::Relaxed))],
        );
        family(
            &mut out,
            "tally_http_handler_panics_total",
            "counter",
            "HTTP request handlers that panicked (answered 500; health is degraded after one).",
            &[],
            &[(vec![], i.handler_panics.load(Ordering::Relaxed))],
        );
        family(
            &mut out,
            "tally_store_writable",
            "gauge",
            "1 while the store writes, 0 while it cannot (disk full, I/O error, damaged): health is degraded then.",
            &[],
            &[(vec![], i.store_writable.load(Ordering::Relaxed))],
        );
        family(
            &mut out,
            "tally_store_write_faults_total",
            "counter",
            "Store commits that failed (disk full, I/O error); nothing of a failed commit was acknowledged.",
            &[],
            &[(vec![], i.store_write_faults.load(Ordering::Relaxed))],
        );
        family(
            &mut out,
            "tally_http_requests_total",
            "counter",
            "HTTP requests answered, by matched route template and status.",
            &["route", "status"],
            &i.http_requests.snapshot(),
        );
        if !private {
            return out;
        }
        family(
            &mut out,
            "tally_verification_checks_total",
            "counter",
            "Shipment verification checks, by rule and result.",
            &["rule", "ok"],
            &i.checks.snapshot(),
        );
        family(
            &mut out,
            "tally_verdicts_total",
            "counter",
            "Shipment verdicts, by verdict (accept, reject).",
            &["verdict"],
            &i.verdicts.snapshot(),
        );
        family(
            &mut out,
            "tally_alerts_open",
            "gauge",
            "Open alerts this node holds, by kind.",
            &["kind"],
            &i.alerts_open.snapshot(),
        );
        out
    }
}

fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    labels: &[&str],
    series: &[(Vec<String>, u64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (values, v) in series {
        out.push_str(name);
        if !labels.is_empty() {
            out.push('{');
            for (n, (label, value)) in labels.iter().zip(values).enumerate() {
                if n > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{label}=\"{}\"", escape(value));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {v}");
    }
}

/// Escapes a label value as the text format requires.
fn escape(s: &str) -> String {
    let mut e = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => e.push_str("\\\\"),
            '"' => e.push_str("\\\""),
            '\n' => e.push_str("\\n"),
            c => e.push(c),
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The families derived from opened documents.
    const PRIVATE: [&str; 3] = [
        "tally_verification_checks_total",
        "tally_verdicts_total",
        "tally_alerts_open",
    ];

    #[test]
    fn renders_every_family_with_help_and_type() {
        let m = Metrics::new();
        let text = m.render_private();
        for name in [
            "tally_entries_stored",
            "tally_entries_total",
            "tally_connected_peers",
            "tally_http_requests_total",
            "tally_verification_checks_total",
            "tally_verdicts_total",
            "tally_alerts_open",
            "tally_store_writable",
            "tally_store_write_faults_total",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(text.contains("tally_connected_peers 0\n"));
    }

    /// Without a token, nothing derived from opened documents shows: not a
    /// sample, not a `# HELP` or `# TYPE` line; the chain's own families do.
    #[test]
    fn the_public_rendering_has_no_family_derived_from_documents() {
        let m = Metrics::new();
        m.verdict("license.known", false);
        m.verdict_total(ShipmentVerdict::Reject);
        m.set_alerts_open(AlertKind::DocumentInvalid, 1);
        m.set_entries_stored("US-DDTC", 3);
        m.http_request("/v1/health", 200);
        let public = m.render();
        for name in PRIVATE {
            assert!(!public.contains(name), "{name} in public:\n{public}");
        }
        assert!(!public.contains("document.invalid"), "{public}");
        assert!(!public.contains("license.known"), "{public}");
        for line in [
            "tally_entries_stored{authority=\"US-DDTC\"} 3",
            "tally_http_requests_total{route=\"/v1/health\",status=\"200\"} 1",
            "tally_connected_peers 0",
        ] {
            assert!(
                public.lines().any(|l| l == line),
                "missing {line}\n{public}"
            );
        }
        let private = m.render_private();
        assert!(
            private.starts_with(&public),
            "the private text extends the public one"
        );
        for line in [
            "tally_verification_checks_total{rule=\"license.known\",ok=\"false\"} 1",
            "tally_verdicts_total{verdict=\"reject\"} 1",
            "tally_alerts_open{kind=\"document.invalid\"} 1",
        ] {
            assert!(
                private.lines().any(|l| l == line),
                "missing {line}\n{private}"
            );
        }
    }

    #[test]
    fn counts_and_sets() {
        let m = Metrics::new();
        let c = m.clone();
        c.entry_outcome(Source::Gossip, Outcome::Accepted);
        c.entry_outcome(Source::Gossip, Outcome::Accepted);
        c.entry_outcome(Source::Sync, Outcome::Rejected);
        m.set_entries_stored("US-DDTC", 3);
        m.set_entries_stored("US-DDTC", 7);
        m.set_connected_peers(2);
        m.http_request("/v1/licenses/{authority}/{number}", 200);
        m.http_request("/v1/licenses/{authority}/{number}", 404);
        m.verdict("license.known", true);
        m.verdict("items.serials", false);
        m.verdict_total(ShipmentVerdict::Accept);
        m.set_alerts_open(AlertKind::ShipmentRefused, 3);
        m.set_alerts_open(AlertKind::ShipmentRefused, 2);
        let text = m.render_private();
        for line in [
            "tally_entries_total{source=\"gossip\",outcome=\"accepted\"} 2",
            "tally_entries_total{source=\"sync\",outcome=\"rejected\"} 1",
            "tally_entries_stored{authority=\"US-DDTC\"} 7",
            "tally_connected_peers 2",
            "tally_http_requests_total{route=\"/v1/licenses/{authority}/{number}\",status=\"200\"} 1",
            "tally_http_requests_total{route=\"/v1/licenses/{authority}/{number}\",status=\"404\"} 1",
            "tally_verification_checks_total{rule=\"license.known\",ok=\"true\"} 1",
            "tally_verification_checks_total{rule=\"items.serials\",ok=\"false\"} 1",
            "tally_verdicts_total{verdict=\"accept\"} 1",
            "tally_alerts_open{kind=\"shipment.refused\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
    }

    #[test]
    fn label_sets_are_bounded_and_escaped() {
        let m = Metrics::new();
        for n in 0..MAX_SERIES + 50 {
            m.http_request(&format!("/r{n}"), 200);
        }
        let text = m.render();
        let series = text
            .lines()
            .filter(|l| l.starts_with("tally_http_requests_total{"))
            .count();
        assert_eq!(series, MAX_SERIES + 1);
        assert!(text.contains("tally_http_requests_total{route=\"other\",status=\"other\"} 50"));

        m.set_entries_stored("a\"b\\c\nd", 1);
        assert!(
            m.render()
                .contains("tally_entries_stored{authority=\"a\\\"b\\\\c\\nd\"} 1")
        );
    }
}
