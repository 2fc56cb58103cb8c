//! `raw_verify_per_s`: one core, the protocol's signature rule (ZIP-215) on typical export license
//! entries (`SignedEntry::verify_with`), and for comparison the batch
//! verification that catch-up ingest uses.

use crate::fixtures::typical_entries;
use std::time::{Duration, Instant};

pub struct Raw {
    pub verify_per_s: f64,
    pub batch_verify_per_s: f64,
    pub entry_bytes: f64,
}

pub fn run(quick: bool) -> Raw {
    let (key, entries) = typical_entries("US-RAW", [7; 32], 1024, 1);
    let public = key.public();
    let span = Duration::from_secs(if quick { 2 } else { 5 });
    // Warm-up.
    for e in entries.iter().take(100) {
        e.signed().verify_with(&public).expect("valid");
    }
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < span {
        for e in &entries {
            e.signed().verify_with(&public).expect("valid");
        }
        n += entries.len() as u64;
    }
    let verify_per_s = n as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < span {
        for chunk in entries.chunks(512) {
            let pairs: Vec<_> = chunk.iter().map(|e| (e.signed(), &public)).collect();
            assert!(tally_model::verify_batch(&pairs));
            n += chunk.len() as u64;
        }
    }
    let batch_verify_per_s = n as f64 / t.elapsed().as_secs_f64();
    let entry_bytes = entries
        .iter()
        .map(|e| e.signed().encode().len() as f64)
        .sum::<f64>()
        / entries.len() as f64;
    Raw {
        verify_per_s,
        batch_verify_per_s,
        entry_bytes,
    }
}
