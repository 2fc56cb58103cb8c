//! The kill -9 crash test, once per engine: a child process (this test binary
//! re-executed) appends signed entries singly and in batches and prints
//! `ACK <authority> <seq>` only after each append returns; the parent kills it
//! with SIGKILL at a random point, reopens the directory, and checks that every
//! acknowledged entry is there, every chain verifies, and the derived records
//! equal a reindex. `TALLY_STORE_CRASH_SEED=<n>` replays a run.

mod common;

use common::{resume, scripted, verify_chains};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tally_model::VerifiedEntry;
use tally_store::{EngineKind, Store};
use tally_testkit::Rng;

const ENV_DIR: &str = "TALLY_STORE_CRASH_DIR";
const ENV_ENGINE: &str = "TALLY_STORE_CRASH_ENGINE";
const ENV_SEED: &str = "TALLY_STORE_CRASH_SEED";
const ENV_REINDEX: &str = "TALLY_STORE_CRASH_REINDEX";

const CYCLES: usize = 40;
/// Most acknowledgements the parent waits for before it kills.
const MAX_ACKS: u64 = 200;
/// Longest wait for one line of the child's output.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);
/// The child stops by itself after this many entries, in case no parent kills it.
const CHILD_CAP: u64 = 50_000;
const AUTHORITIES: [(&str, u8); 3] = [("US-DDTC", 1), ("MX-SEDENA", 2), ("GT-DIGECAM", 3)];

#[test]
fn crash_sled() {
    crash_cycles(EngineKind::Sled);
}

#[test]
fn crash_redb() {
    crash_cycles(EngineKind::Redb);
}

/// The child. Ignored, so a plain test run skips it; it does nothing unless
/// the parent's environment variables are set.
#[test]
#[ignore = "child process of the crash test"]
fn crash_child() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let kind: EngineKind = std::env::var(ENV_ENGINE)
        .expect("engine variable")
        .parse()
        .expect("engine name");
    let seed = std::env::var(ENV_SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("seed variable");
    let reindex = std::env::var(ENV_REINDEX).is_ok_and(|v| v == "1");
    let mut rng = Rng(seed);
    let store = Store::open(dir.as_ref(), kind).expect("child opens the store");
    let mut logs = AUTHORITIES.map(|(a, k)| resume(a, k, &store));
    let out = std::io::stdout();
    let mut written = 0u64;
    while written < CHILD_CAP {
        let size = if rng.range(0, 1) == 0 {
            1
        } else {
            rng.range(2, 64)
        };
        let batch: Vec<VerifiedEntry> = (0..size)
            .map(|_| {
                let log = &mut logs[rng.range(0, 2) as usize];
                let doc = scripted(log.authority.as_str(), log.seq + 1);
                log.next(doc)
            })
            .collect();
        match batch.as_slice() {
            [one] => store.append(one),
            many => store.append_batch(many),
        }
        .expect("child appends");
        let mut lock = out.lock();
        for v in &batch {
            // The parent is gone if stdout is: stop.
            if writeln!(lock, "ACK {} {}", v.entry().authority, v.entry().seq).is_err() {
                return;
            }
        }
        if lock.flush().is_err() {
            return;
        }
        drop(lock);
        written += size;
        if reindex && written % 40 < size {
            store.reindex().expect("child reindexes");
        }
    }
}

/// Records an `ACK` line; acks of one authority must only go up.
fn take_ack(line: &str, acked: &mut BTreeMap<String, u64>) -> bool {
    let Some(at) = line.find("ACK ") else {
        return false;
    };
    let mut parts = line[at + 4..].split_whitespace();
    let (Some(authority), Some(seq)) = (parts.next(), parts.next().and_then(|s| s.parse().ok()))
    else {
        panic!("malformed ack line {line:?}");
    };
    let held = acked.entry(authority.to_string()).or_insert(0);
    assert!(seq > *held, "{authority}: ack {seq} after {held}");
    *held = seq;
    true
}

fn crash_cycles(kind: EngineKind) {
    let seed = std::env::var(ENV_SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Rng::from_time().next_u64());
    eprintln!("crash test {kind}: seed {seed} ({ENV_SEED}={seed} replays it)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let keys: BTreeMap<String, u8> = AUTHORITIES
        .iter()
        .map(|(a, k)| (a.to_string(), *k))
        .collect();
    let exe = std::env::current_exe().expect("test binary path");
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let started = Instant::now();
    let mut acks_total = 0u64;

    for cycle in 0..CYCLES {
        // Now and then kill before the first ack: during open or recovery.
        let target = if rng.range(0, 7) == 0 {
            0
        } else {
            rng.range(1, MAX_ACKS)
        };
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--nocapture",
                "--include-ignored",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .env(ENV_ENGINE, kind.as_str())
            .env(ENV_SEED, rng.next_u64().to_string())
            .env(ENV_REINDEX, if cycle % 4 == 3 { "1" } else { "0" })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawns the child");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });

        let mut seen = 0;
        while seen < target {
            match rx.recv_timeout(LINE_TIMEOUT) {
                Ok(line) => {
                    if take_ack(&line, &mut acked) {
                        seen += 1;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let stderr = errors.join().unwrap_or_default();
                    panic!(
                        "cycle {cycle}: child stopped early ({e:?}) after {seen} acks:\n{stderr}"
                    );
                }
            }
        }
        // A random delay, so the kill lands anywhere in an append or a reindex.
        std::thread::sleep(Duration::from_micros(rng.range(0, 3000)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reaps the child");
        reader.join().expect("reader thread");
        let stderr = errors.join().unwrap_or_default();
        // Acks printed before the kill count, read or not.
        for line in rx.try_iter() {
            if take_ack(&line, &mut acked) {
                seen += 1;
            }
        }
        assert!(
            !status.success(),
            "cycle {cycle}: child exited by itself:\n{stderr}"
        );
        acks_total += seen;

        let store = Store::open(dir.path(), kind)
            .unwrap_or_else(|e| panic!("cycle {cycle}: reopen after SIGKILL: {e}"));
        for (authority, &seq) in &acked {
            let head = store
                .head(&authority.parse().expect("authority"))
                .expect("head")
                .map_or(0, |(s, _)| s);
            assert!(
                head >= seq,
                "cycle {cycle}: {authority} acked {seq}, store holds {head}"
            );
        }
        verify_chains(&store, &keys);
        for (authority, _) in AUTHORITIES {
            let a = authority.parse().expect("authority");
            let mut from = 1;
            loop {
                let chunk = store.range(&a, from, 512).expect("range");
                if chunk.is_empty() {
                    break;
                }
                for s in &chunk {
                    let e = s.open().expect("opens");
                    assert_eq!(
                        e.document(),
                        Some(&scripted(authority, e.seq)),
                        "{authority} {}: the bytes written",
                        e.seq
                    );
                }
                from += chunk.len() as u64;
            }
        }
        let incremental = store.derived_digest().expect("digest");
        store.reindex().expect("reindex");
        assert_eq!(
            store.derived_digest().expect("digest"),
            incremental,
            "cycle {cycle}: derived records equal a reindex"
        );
        drop(store);
    }
    let store = Store::open(dir.path(), kind).expect("final open");
    eprintln!(
        "crash test {kind}: {CYCLES} kills, {acks_total} acks, {} entries held, {:.1}s",
        store.entry_count().expect("count"),
        started.elapsed().as_secs_f64()
    );
}
