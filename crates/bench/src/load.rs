//! `--load`: 60 s of verify and issue together against one node (a child
//! process holding the verify-API store): no answer may be a 5xx, and the
//! node's RSS, sampled every 5 s, must stay flat after warm-up.

use crate::api::{self, MakeRequest, Stats};
use crate::fixtures::{Docs, rss_mb};
use crate::progress;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Load {
    pub licenses: u64,
    pub seconds: f64,
    pub verify_conc: usize,
    pub issue_conc: usize,
    pub verify: Stats,
    pub issue: Stats,
    /// (seconds since the load started, RSS MiB)
    pub rss: Vec<(f64, f64)>,
    /// How much the store directory grew during the run (the issued
    /// licenses), MB: RSS grows with it while the store fits redb's cache.
    pub store_growth_mb: f64,
}

impl Load {
    pub fn status_5xx(&self) -> u64 {
        self.verify.s5xx + self.issue.s5xx
    }
    /// RSS growth over the second half of the run (the first half is
    /// warm-up: at a million licenses redb's 1 GiB cache takes ~20 s to fill).
    pub fn rss_growth_mb(&self) -> f64 {
        let half = self.seconds / 2.0;
        let after = self.rss.iter().find(|(t, _)| *t >= half).map(|s| s.1);
        match (after, self.rss.last()) {
            (Some(a), Some(l)) => l.1 - a,
            _ => f64::NAN,
        }
    }
}

pub async fn run(quick: bool) -> anyhow::Result<Load> {
    let n: u64 = if quick { 50_000 } else { 1_000_000 };
    let seconds = 60u64;
    let node = tokio::task::block_in_place(|| api::build(n))?;
    let (p, ms) = api::start(&node).await?;
    progress!("load: node up in {ms:.0} ms; {seconds} s of verify x16 + issue x2");
    let (vc, ic) = (16, 2);
    let client = api::client(vc + ic)?;
    let verify = api::verify_request(&node);
    let next = Arc::new(AtomicU64::new(n));
    let issue_url = format!("{}/v1/licenses", node.api);
    let issuer = node.issuer.clone();
    let docs = Arc::new(Docs::new());
    let issue: MakeRequest = Arc::new(move |c: &reqwest::Client, _| {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let mut body = serde_json::to_value(docs.export(i, api::IC_AUTHORITY)).expect("json");
        body["number"] = serde_json::json!(format!("LOAD-{i}"));
        c.post(&issue_url).bearer_auth(&issuer).json(&body)
    });
    let store_before = crate::fixtures::dir_bytes(&node.setup.settings.store_path);
    let pid = p.pid();
    let span = Duration::from_secs(seconds);
    let sampler = tokio::spawn(async move {
        let t = Instant::now();
        let mut out = Vec::new();
        while t.elapsed() <= span + Duration::from_millis(500) {
            let rss = rss_mb(Some(pid)).unwrap_or(f64::NAN);
            out.push((t.elapsed().as_secs_f64().round(), rss));
            progress!(
                "  load: t={:>2.0}s node RSS {rss:.0} MB",
                t.elapsed().as_secs_f64()
            );
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        out
    });
    let (verify, issue) = tokio::join!(
        api::hammer(&client, vc, Duration::ZERO, span, verify),
        api::hammer(&client, ic, Duration::ZERO, span, issue),
    );
    let rss = sampler.await?;
    tokio::task::block_in_place(|| p.stop())?;
    let store_after = crate::fixtures::dir_bytes(&node.setup.settings.store_path);
    let out = Load {
        licenses: n,
        seconds: seconds as f64,
        verify_conc: vc,
        issue_conc: ic,
        verify,
        issue,
        rss,
        store_growth_mb: (store_after as f64 - store_before as f64) / 1e6,
    };
    progress!(
        "load: verify {:.0}/s p99 {:.1} ms, issue {:.0}/s p99 {:.1} ms, 5xx {}, RSS growth over the second half {:.1} MB, store grew {:.1} MB",
        out.verify.per_s(),
        out.verify.p(99.0),
        out.issue.per_s(),
        out.issue.p(99.0),
        out.status_5xx(),
        out.rss_growth_mb(),
        out.store_growth_mb
    );
    Ok(out)
}
