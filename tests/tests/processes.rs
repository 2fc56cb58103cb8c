//! Whole `tally` processes on loopback, driven through the CLI and the HTTP
//! API of docs/API.md: convergence, restart, kill -9 with nothing
//! acknowledged lost, a healed partition, a hostile trusted peer, and
//! `init`/`run` refusing bad input without changing anything.
//!
//! Every wait polls a condition under a timeout; every process is killed
//! when its test ends, and a failing test prints the tail of each node's log.

#[path = "processes/cards.rs"]
mod cards;
#[path = "processes/compromise.rs"]
mod compromise;
#[path = "processes/damage.rs"]
mod damage;
#[path = "processes/disk.rs"]
mod disk;
#[path = "processes/docs.rs"]
mod docs;
#[path = "processes/hostile.rs"]
mod hostile;
#[path = "processes/paper.rs"]
mod paper;
#[path = "processes/recovery.rs"]
mod recovery;
#[path = "processes/rig.rs"]
mod rig;
#[path = "processes/rotation.rs"]
mod rotation;
#[path = "processes/slowloris.rs"]
mod slowloris;

use anyhow::{Context, Result, ensure};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rig::{Api, Head, Net, check_chain, converge, eventually, lock, want};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MX: &str = "MX-SEDENA";
const US: &str = "US-DDTC";
const GT: &str = "GT-DIGECAM";
/// How long replication between running nodes may take.
const CONVERGE: Duration = Duration::from_secs(30);

/// The seed of a test's random choices: `TALLY_SEED` to replay one, else the clock.
fn seed() -> u64 {
    std::env::var("TALLY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| hostile::now_ms() as u64)
}

/// Issues, on the three nodes at once, `n` rounds of the documents of one
/// shipment: an import certificate at MX, the export license that names it
/// at US (transit through GT), the transit authorization at GT. Published
/// to the network (`"visibility": "network"`): these tests are about the
/// logs and the processes; who reads a sealed document is tests/sealing.rs.
/// Each document waits for the one it relies on to reach its node (linkage
/// at issue: the certificate before the export, the export before the
/// transit), so the three nodes issue as a pipeline.
async fn issue_shipments(net: &Net, tag: &str, rounds: std::ops::Range<usize>) -> Result<()> {
    let (mx, us, gt) = (net.node(MX), net.node(US), net.node(GT));
    let public = |mut doc: serde_json::Value| {
        doc["visibility"] = serde_json::json!("network");
        doc
    };
    let at_mx = async {
        for i in rounds.clone() {
            mx.issue(&public(docs::import(&format!("IC-{tag}-{i}"), "MX", "US")))
                .await?;
        }
        anyhow::Ok(())
    };
    let at_us = async {
        for i in rounds.clone() {
            let ic = format!("IC-{tag}-{i}");
            let path = format!("/v1/licenses/{MX}/{ic}");
            eventually("US to hold the import certificate", CONVERGE, async || {
                us.get(&path).await
            })
            .await?;
            let doc = docs::export(&format!("EXP-{tag}-{i}"), "US", "MX", &["GT"], (MX, &ic));
            us.issue(&public(doc)).await?;
        }
        anyhow::Ok(())
    };
    let at_gt = async {
        for i in rounds.clone() {
            let exp = format!("EXP-{tag}-{i}");
            let path = format!("/v1/licenses/{US}/{exp}");
            eventually("GT to hold the export license", CONVERGE, async || {
                gt.get(&path).await
            })
            .await?;
            gt.issue(&public(docs::transit(
                &format!("TR-{tag}-{i}"),
                "GT",
                (US, &exp),
            )))
            .await?;
        }
        anyhow::Ok(())
    };
    tokio::try_join!(at_mx, at_us, at_gt)?;
    Ok(())
}

fn show(heads: &rig::Heads) -> String {
    heads
        .iter()
        .map(|(a, h)| format!("{a}:{}", h.seq))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_converge() -> Result<()> {
    let started = Instant::now();
    let mut net = Net::init(&[MX, US, GT])?;
    net.trust_all()?;
    net.start_all().await?;
    let opened = net.own_heads().await?;
    let rounds = 25;
    let issuing = Instant::now();
    issue_shipments(&net, "C", 0..rounds).await?;
    let issued = issuing.elapsed();
    let nodes: Vec<&rig::Proc> = net.nodes.iter().collect();
    let n = rounds as u64;
    let (mx_n, us_n, gt_n) = (opened[MX] + n, opened[US] + n, opened[GT] + n);
    let heads = converge(
        "three processes to converge",
        &nodes,
        &want(&[(MX, mx_n), (US, us_n), (GT, gt_n)]),
        CONVERGE,
    )
    .await?;
    let converged = issuing.elapsed();
    ensure!(heads.len() == 3, "unexpected logs: {heads:?}");
    for a in [MX, US, GT] {
        ensure!(
            heads[a].seq == opened[a] + n,
            "{a} at {} after {n} documents and {} entries of its own",
            heads[a].seq,
            opened[a]
        );
    }
    // The documents themselves arrived, not just the heads.
    let last = rounds - 1;
    for node in &nodes {
        for (authority, number, kind) in [
            (MX, format!("IC-C-{last}"), "import"),
            (US, format!("EXP-C-{last}"), "export"),
            (GT, format!("TR-C-{last}"), "transit"),
        ] {
            let l = node
                .get(&format!("/v1/licenses/{authority}/{number}"))
                .await?;
            ensure!(
                l["kind"] == kind && l["status"] == "active",
                "{}: {l}",
                node.authority
            );
        }
        for a in [MX, US, GT] {
            check_chain(a, &node.log(a).await?)?;
        }
    }
    // And they are usable where they arrived: a border officer at MX checks
    // an entry shipment against US's license, MX's certificate and GT's
    // transit authorization, all replicated to MX.
    let check = net
        .node(MX)
        .post(
            "/v1/shipments/verify",
            &serde_json::json!({
                "license": {"authority": US, "number": "EXP-C-0"},
                "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
                "date": "2026-12-01", "exporter": "Acme Arms Inc.",
                "importer": "Importadora del Norte SA",
                "items": [{"line": 1, "quantity": 40, "serials": ["EXP-C-0-1"]}]}),
        )
        .await?;
    ensure!(
        check["verdict"] == "accept",
        "shipment check at MX: {check}"
    );
    // The same check from a border post's script: `tally check` exits 0 on
    // accept, 1 on reject, 2 on error.
    let mx = net.node(MX);
    let token = std::process::Command::new(rig::tally_bin()?)
        .args([
            "token", "create", "--role", "officer", "--label", "script", "--dir",
        ])
        .arg(&mx.dir)
        .output()?;
    ensure!(token.status.success(), "token create: {token:?}");
    let token = String::from_utf8(token.stdout)?.trim().to_string();
    let request = mx.dir.join("shipment.json");
    let run_check = |quantity: u64, token: &str| -> Result<Option<i32>> {
        std::fs::write(
            &request,
            serde_json::json!({
                "license": {"authority": US, "number": "EXP-C-0"},
                "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
                "date": "2026-12-01",
                "items": [{"line": 1, "quantity": quantity}]})
            .to_string(),
        )?;
        let out = std::process::Command::new(rig::tally_bin()?)
            .args(["check", "--api", &mx.base, "--token", token])
            .arg(&request)
            .output()?;
        Ok(out.status.code())
    };
    ensure!(
        run_check(40, &token)? == Some(0),
        "tally check: accept exits 0"
    );
    ensure!(
        run_check(1_000_000, &token)? == Some(1),
        "tally check: reject exits 1"
    );
    ensure!(
        run_check(40, "not-a-token")? == Some(2),
        "tally check: error exits 2"
    );
    eprintln!(
        "processes_converge: {} documents issued in {:.2}s, identical logs on 3 processes {:.2}s after the first issue ({}); total {:.1}s",
        3 * rounds,
        issued.as_secs_f64(),
        converged.as_secs_f64(),
        show(&heads),
        started.elapsed().as_secs_f64()
    );
    net.pass();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_catches_up() -> Result<()> {
    let started = Instant::now();
    let mut net = Net::init(&[MX, US, GT])?;
    net.trust_all()?;
    net.start_all().await?;
    let opened = net.own_heads().await?;
    let (mx0, us0, gt0) = (opened[MX], opened[US], opened[GT]);
    issue_shipments(&net, "R", 0..3).await?;
    let all: Vec<&rig::Proc> = net.nodes.iter().collect();
    let before = converge(
        "first convergence",
        &all,
        &want(&[(MX, mx0 + 3), (US, us0 + 3), (GT, gt0 + 3)]),
        CONVERGE,
    )
    .await?;

    let t = Instant::now();
    let status = net.node_mut(GT).sigterm(Duration::from_secs(5)).await?;
    let stop_time = t.elapsed();
    ensure!(status.success(), "SIGTERM: GT exited with {status}, not 0");

    // The others carry on without GT.
    let (mx, us) = (net.node(MX), net.node(US));
    for i in 0..6 {
        let ic = format!("IC-R2-{i}");
        mx.issue(&docs::import(&ic, "MX", "US")).await?;
        let path = format!("/v1/licenses/{MX}/{ic}");
        eventually("US to hold the import certificate", CONVERGE, async || {
            us.get(&path).await
        })
        .await?;
        us.issue(&docs::export(
            &format!("EXP-R2-{i}"),
            "US",
            "MX",
            &["GT"],
            (MX, &ic),
        ))
        .await?;
    }
    let during = converge(
        "MX and US without GT",
        &[mx, us],
        &want(&[(MX, mx0 + 9), (US, us0 + 9)]),
        CONVERGE,
    )
    .await?;
    ensure!(
        during[GT] == before[GT],
        "GT's log changed while GT was down"
    );

    let t = Instant::now();
    net.node_mut(GT).start().await?;
    let all: Vec<&rig::Proc> = net.nodes.iter().collect();
    let after = converge(
        "GT to catch up",
        &all,
        &want(&[(MX, mx0 + 9), (US, us0 + 9), (GT, gt0 + 3)]),
        CONVERGE,
    )
    .await?;
    let caught_up = t.elapsed();
    ensure!(
        after[GT] == before[GT],
        "GT's own log changed across the restart"
    );
    for a in [MX, US, GT] {
        check_chain(a, &net.node(GT).log(a).await?)?;
    }
    // And GT still issues, continuing its own chain.
    let next = net
        .node(GT)
        .issue(&docs::transit("TR-R-after", "GT", (US, "EXP-R-0")))
        .await?;
    ensure!(next.seq == gt0 + 4, "GT's next entry is seq {}", next.seq);
    eprintln!(
        "restart_catches_up: SIGTERM -> exit 0 in {:.2}s; restarted GT caught up 12 entries in {:.2}s ({}); total {:.1}s",
        stop_time.as_secs_f64(),
        caught_up.as_secs_f64(),
        show(&after),
        started.elapsed().as_secs_f64()
    );
    net.pass();
    Ok(())
}

/// Issues documents at `api` until `stop`, recording every 201's (seq, hash).
/// A failed request ends the loop; it is an error unless `killed` (the
/// process was killed on purpose, so failures are expected).
async fn issue_until(
    api: Api,
    tag: String,
    acked: Arc<Mutex<Vec<Head>>>,
    stop: Arc<AtomicBool>,
    killed: Arc<AtomicBool>,
) -> Result<()> {
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        match api.issue(&docs::any(&api.authority, &tag, n)).await {
            Ok(head) => lock(&acked).push(head),
            Err(_) if killed.load(Ordering::SeqCst) => return Ok(()),
            Err(e) => return Err(e.context("issuing while the issuer was not killed")),
        }
        n += 1;
    }
    Ok(())
}

/// Records the newest head of `authority` that `api` reports, until `stop`.
async fn observe(
    api: Api,
    authority: &'static str,
    seen: Arc<Mutex<Option<Head>>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        if let Ok(heads) = api.heads().await
            && let Some(h) = heads.get(authority)
        {
            let mut s = lock(&seen);
            if s.as_ref().is_none_or(|old| h.seq > old.seq) {
                *s = Some(h.clone());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_acknowledged() -> Result<()> {
    let started = Instant::now();
    let seed = seed();
    eprintln!("sigkill_loses_nothing_acknowledged: seed {seed} (TALLY_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = Net::init(&[US, MX])?;
    net.trust_all()?;
    net.start_all().await?;
    // Every acknowledged entry of US's log, over all cycles.
    let mut acknowledged: BTreeMap<u64, String> = BTreeMap::new();
    let mut recoveries = Vec::new();
    for cycle in 0..20 {
        // Issuer only, receiver only, or both.
        let (kill_issuer, kill_receiver) = match cycle % 4 {
            0 | 1 => (true, false),
            2 => (false, true),
            _ => (true, true),
        };
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicBool::new(false));
        let reported = Arc::new(Mutex::new(None::<Head>));
        let before = net.node(MX).heads().await?.get(US).map_or(0, |h| h.seq);
        let issuers: Vec<_> = (0..2)
            .map(|t| {
                tokio::spawn(issue_until(
                    net.node(US).api.clone(),
                    format!("K{cycle}-{t}"),
                    acked.clone(),
                    stop.clone(),
                    killed.clone(),
                ))
            })
            .collect();
        let observer = tokio::spawn(observe(
            net.node(MX).api.clone(),
            US,
            reported.clone(),
            stop.clone(),
        ));

        // A random moment: after a random number of acknowledgements, and
        // for the receiver, once it has stored some of this cycle's entries.
        let target = rng.random_range(2..=24);
        eventually("acknowledgements", CONVERGE, async || {
            let n = lock(&acked).len();
            ensure!(n >= target, "{n} of {target} acknowledged");
            Ok(())
        })
        .await?;
        if kill_receiver {
            let skip = rng.random_range(1..=3);
            eventually("the receiver storing gossip", CONVERGE, async || {
                let seq = lock(&reported).as_ref().map_or(0, |h| h.seq);
                ensure!(seq >= before + skip, "receiver at {seq}");
                Ok(())
            })
            .await?;
            net.node_mut(MX).sigkill()?;
        }
        if kill_issuer {
            killed.store(true, Ordering::SeqCst);
            net.node_mut(US).sigkill()?;
        } else {
            // The issuer goes on while the receiver is down.
            let more = lock(&acked).len() + 5;
            eventually("issuing with the receiver down", CONVERGE, async || {
                ensure!(lock(&acked).len() >= more);
                Ok(())
            })
            .await?;
        }
        stop.store(true, Ordering::SeqCst);
        for t in issuers {
            t.await??;
        }
        observer.await?;
        let acked = std::mem::take(&mut *lock(&acked));
        for h in &acked {
            if let Some(old) = acknowledged.insert(h.seq, h.hash.clone()) {
                ensure!(
                    old == h.hash,
                    "seq {} acknowledged twice with different hashes",
                    h.seq
                );
            }
        }
        let reported = lock(&reported).clone();

        let t = Instant::now();
        if kill_issuer {
            net.node_mut(US).start().await?;
        }
        if kill_receiver {
            net.node_mut(MX).start().await?;
        }
        // Every acknowledged entry is there, in an intact chain.
        let log = net.node(US).log(US).await?;
        check_chain(US, &log)?;
        for (seq, hash) in &acknowledged {
            let row = log.get(*seq as usize - 1);
            ensure!(
                row.is_some_and(|r| &r.hash == hash),
                "cycle {cycle}: acknowledged US seq {seq} ({hash}) lost; log has {} entries, row {:?}",
                log.len(),
                row
            );
        }
        // What the receiver reported stored survived its kill.
        if let (true, Some(r)) = (kill_receiver, &reported) {
            let mx_log = net.node(MX).log(US).await?;
            check_chain(US, &mx_log)?;
            let row = mx_log.get(r.seq as usize - 1);
            ensure!(
                row.is_some_and(|row| row.hash == r.hash),
                "cycle {cycle}: MX reported US seq {} stored, after kill -9 it has {:?}",
                r.seq,
                row
            );
        }
        let top = log.len() as u64;
        let both: Vec<&rig::Proc> = net.nodes.iter().collect();
        converge(
            "the receiver to converge",
            &both,
            &want(&[(US, top)]),
            CONVERGE,
        )
        .await?;
        let recovered = t.elapsed();
        recoveries.push(recovered);
        eprintln!(
            "  cycle {cycle:2}: killed {:<17} after {:2} acks; US log {top:3} entries, {} acknowledged, receiver had reported {:?}; recovered in {:.2}s",
            match (kill_issuer, kill_receiver) {
                (true, false) => "issuer",
                (false, true) => "receiver",
                _ => "issuer+receiver",
            },
            acked.len(),
            acknowledged.len(),
            reported.map(|r| r.seq),
            recovered.as_secs_f64()
        );
    }
    let worst = recoveries.iter().max().copied().unwrap_or_default();
    eprintln!(
        "sigkill_loses_nothing_acknowledged: 20 kill -9 cycles, {} acknowledged entries, none lost, chains intact; worst recovery {:.2}s; total {:.1}s",
        acknowledged.len(),
        worst.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    net.pass();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_heals() -> Result<()> {
    let started = Instant::now();
    let west = [US, MX, GT];
    let south = ["CO-INDUMIL", "PE-SUCAMEC", "BR-DFPC"];
    let everyone: Vec<&str> = west.iter().chain(south.iter()).copied().collect();
    let mut net = Net::init(&everyone)?;
    net.trust_all()?;
    net.start_all().await?;
    let issue_all =
        async |net: &Net, authorities: &[&str], tag: &str, n: std::ops::Range<usize>| {
            let jobs = authorities.iter().map(|a| {
                let node = net.node(a);
                let n = n.clone();
                async move {
                    for i in n {
                        node.issue(&docs::any(a, tag, i)).await?;
                    }
                    anyhow::Ok(())
                }
            });
            futures::future::try_join_all(jobs).await.map(drop)
        };
    // Each log opens with its node's own key announcements: `opened`.
    let opened = net.own_heads().await?;
    issue_all(&net, &everyone, "P", 0..2).await?;
    let all: Vec<&rig::Proc> = net.nodes.iter().collect();
    let all_at = |n: u64| {
        want(
            &everyone
                .iter()
                .map(|a| (*a, opened[*a] + n))
                .collect::<Vec<_>>(),
        )
    };
    converge("six processes", &all, &all_at(2), CONVERGE).await?;

    // Partition: each side stops trusting the other side's authorities.
    let t = Instant::now();
    for (side, other) in [(&west, &south), (&south, &west)] {
        for a in side.iter() {
            for b in other.iter() {
                net.node(a).untrust(b)?;
            }
        }
    }
    for (side, other) in [(&west, &south), (&south, &west)] {
        for a in side.iter() {
            let node = net.node(a);
            let others: Vec<String> = other.iter().map(|b| net.node(b).peer_id.clone()).collect();
            eventually("the trust change to apply", CONVERGE, async || {
                let peers = node.peers().await?;
                // What the contract promises: its connections drop.
                ensure!(
                    !others.iter().any(|p| peers.get(p) == Some(&true)),
                    "{a} still connected to the other side: {peers:?}"
                );
                Ok(())
            })
            .await?;
        }
    }
    let applied = t.elapsed();
    issue_all(&net, &everyone, "Q", 2..5).await?;
    for (side, other) in [(&west, &south), (&south, &west)] {
        let nodes: Vec<&rig::Proc> = side.iter().map(|a| net.node(a)).collect();
        let w = want(
            &side
                .iter()
                .map(|a| (*a, opened[*a] + 5))
                .collect::<Vec<_>>(),
        );
        let heads = converge("one side of the partition", &nodes, &w, CONVERGE).await?;
        for b in other.iter() {
            ensure!(
                heads[*b].seq == opened[*b] + 2,
                "{b}'s entries crossed the partition: {}",
                show(&heads)
            );
        }
    }

    // Heal.
    let t = Instant::now();
    for (side, other) in [(&west, &south), (&south, &west)] {
        for a in side.iter() {
            for b in other.iter() {
                net.node(a).trust(net.node(b))?;
            }
        }
    }
    let all: Vec<&rig::Proc> = net.nodes.iter().collect();
    let heads = converge("the healed network", &all, &all_at(5), CONVERGE).await?;
    let healed = t.elapsed();
    for a in &everyone {
        ensure!(heads[*a].seq == opened[*a] + 5, "{a} at {}", heads[*a].seq);
        check_chain(a, &net.node(US).log(a).await?)?;
    }
    eprintln!(
        "partition_heals: 6 processes; partition applied in {:.2}s; 18 entries per side during it; healed to identical logs in {:.2}s ({}); total {:.1}s",
        applied.as_secs_f64(),
        healed.as_secs_f64(),
        show(&heads),
        started.elapsed().as_secs_f64()
    );
    net.pass();
    Ok(())
}

const GOSSIP_REJECTED: &str = "tally_entries_total{source=\"gossip\",outcome=\"rejected\"}";
const SYNC_REJECTED: &str = "tally_entries_total{source=\"sync\",outcome=\"rejected\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_trusted_peer() -> Result<()> {
    let started = Instant::now();
    let honest = [US, MX, GT];
    let mut net = Net::init(&honest)?;
    net.trust_all()?;
    net.start_all().await?;
    let evil = hostile::Hostile::spawn(&net.root().join(hostile::AUTHORITY)).await?;
    let nodes: Vec<&rig::Proc> = net.nodes.iter().collect();
    evil.trust(&nodes).await?;
    for n in &nodes {
        n.trust_card(&evil.card)?;
    }
    let evil_peer = evil.p2p.local_peer_id().to_string();
    for n in &nodes {
        eventually("the hostile peer to connect", CONVERGE, async || {
            let peers = n.peers().await?;
            ensure!(
                peers.get(&evil_peer) == Some(&true),
                "{}: {peers:?}",
                n.authority
            );
            Ok(())
        })
        .await?;
    }
    // Gossip from each honest node reaching the hostile one shows their
    // subscriptions are known to it, so what it publishes reaches them.
    let mut round = 0;
    loop {
        round += 1;
        for n in &nodes {
            n.issue(&docs::any(&n.authority, "H0", round)).await?;
        }
        let heard = eventually(
            "gossip from every honest node",
            Duration::from_secs(3),
            async || {
                let seen = lock(&evil.seen).gossip_from.len();
                ensure!(seen == 3, "hostile peer heard {seen} of 3");
                Ok(())
            },
        )
        .await;
        match heard {
            Ok(()) => break,
            Err(e) if round >= 5 => return Err(e),
            Err(_) => {}
        }
    }

    // 1. Honest behaviour first: CA-GAC seq 1..3 by gossip (the hostile
    //    peer's sync answers are empty, so gossip is the only way in).
    let mut chain = Vec::new();
    let mut prev = None;
    for seq in 1..=3 {
        let e = evil.entry(seq, prev, &format!("IC-CA-{seq}"))?;
        prev = Some(e.id());
        evil.publish(e.encode()).await?;
        chain.push(e);
    }
    let ca = hostile::AUTHORITY;
    let good: Vec<String> = chain.iter().map(|e| e.id().to_hex()).collect();
    for n in &nodes {
        eventually("CA-GAC's valid entries to arrive", CONVERGE, async || {
            let h = n.heads().await?;
            ensure!(
                h.get(ca).map(|h| &h.hash) == Some(&good[2]),
                "{}: {h:?}",
                n.authority
            );
            Ok(())
        })
        .await?;
    }

    // 2. Misbehaviour on gossip: a fork of seq 3 (validly signed), seq 4
    //    with a broken signature, bytes that are no entry, an entry too
    //    large to decode, and an equivocation "proof" that proves nothing.
    //    (Messages over max_gossip_bytes come last, in step 4: a frame near
    //    the transport limit can make the receiver drop its gossip stream
    //    from this peer, and the messages behind it with it.)
    let fork = evil.entry(3, Some(chain[1].id()), "IC-CA-FORK")?;
    let forged = evil.entry(4, Some(chain[2].id()), "IC-CA-FORGED")?;
    let forged_bytes = hostile::forge(&forged);
    let forged_parsed = tally_model::SignedEntry::decode(&forged_bytes)?;
    ensure!(
        forged_parsed.id() == forged.id(),
        "the forgery keeps the entry"
    );
    let rejected_before = metric_each(&nodes, GOSSIP_REJECTED).await?;
    evil.publish(fork.encode()).await?;
    evil.publish(forged_bytes).await?;
    evil.publish((0..200u8).map(|i| i.wrapping_mul(37)).collect())
        .await?;
    evil.publish(vec![0x0a; 600 * 1024]).await?;
    evil.publish_evidence(b"not a proof".to_vec()).await?;
    let fork_hex = fork.id().to_hex();
    for n in &nodes {
        eventually("the equivocation proof", CONVERGE, async || {
            let ev = n.evidence().await?;
            let proof = ev
                .iter()
                .find(|e| e["authority"] == ca && e["seq"] == 3)
                .with_context(|| format!("{}: evidence {ev:?}", n.authority))?;
            let mut ids: Vec<String> = proof["entries"]
                .as_array()
                .context("entries")?
                .iter()
                .filter_map(|b| {
                    let bytes = hostile::base64(b.as_str()?)?;
                    Some(tally_model::SignedEntry::decode(&bytes).ok()?.id().to_hex())
                })
                .collect();
            ids.sort();
            let mut expected = vec![good[2].clone(), fork_hex.clone()];
            expected.sort();
            ensure!(ids == expected, "proof holds {ids:?}");
            Ok(())
        })
        .await?;
    }
    let mut rejected = Vec::new();
    for (n, before) in nodes.iter().zip(&rejected_before) {
        // At least the fork, the forgery and the garbage: a peer is
        // graylisted (score below -80) only after three Rejects, so the
        // first three always get through, and they put it there.
        let r = eventually("gossip rejections to be counted", CONVERGE, async || {
            let r = n.metric(GOSSIP_REJECTED).await?;
            ensure!(r - before >= 3.0, "{}: {r} rejected", n.authority);
            Ok(r - before)
        })
        .await?;
        rejected.push(r);
    }

    // 3. Penalized: a *valid* next entry (seq 4) published now is dropped
    //    by every honest node's gossipsub (graylisted), while honest
    //    entries keep flowing between the honest nodes.
    let next = evil.entry(4, Some(chain[2].id()), "IC-CA-4")?;
    evil.publish(next.encode()).await?;
    for (i, n) in nodes.iter().enumerate() {
        n.issue(&docs::any(&n.authority, "H1", i)).await?;
    }
    let heads = converge(
        "honest entries after the attack",
        &nodes,
        &honest_heads_want(&nodes).await?,
        CONVERGE,
    )
    .await?;
    // Two more anti-entropy intervals: had the hostile seq 4 been accepted
    // anywhere, sync would have spread it by now.
    let quiet = Instant::now();
    while quiet.elapsed() < Duration::from_millis(1500) {
        for n in &nodes {
            let h = n.heads().await?;
            ensure!(
                h.get(ca).map(|h| h.seq) == Some(3),
                "{} accepted gossip from a penalized peer: {h:?}",
                n.authority
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(heads[ca].hash == good[2]);

    // 4. Gossip over max_gossip_bytes (1 MiB) and over the transport's
    //    frame limit, lying sync answers (far-ahead heads, forged and
    //    impersonating ranges) and a flood of sync requests, while the
    //    honest nodes issue.
    evil.publish(vec![0x0a; 1024 * 1024 + 100]).await?;
    evil.publish(vec![0x0a; 3 * 1024 * 1024 / 2]).await?;
    lock(&evil.answers).lie = true;
    let sync_rejected_before = metric_each(&nodes, SYNC_REJECTED).await?;
    let flood = async {
        let mut requests = Vec::new();
        for n in &nodes {
            let peer: tally_p2p::PeerId = n.peer_id.parse()?;
            for i in 0..200u32 {
                let p2p = evil.p2p.clone();
                requests.push(async move {
                    if i % 2 == 0 {
                        p2p.heads(peer).await.map(drop)
                    } else {
                        p2p.range(peer, US.to_owned(), 1, 0).await.map(drop)
                    }
                });
            }
        }
        let results: Vec<_> = futures::StreamExt::collect(futures::StreamExt::buffer_unordered(
            futures::stream::iter(requests),
            96,
        ))
        .await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        anyhow::Ok((ok, results.len() - ok))
    };
    let honest_work = async {
        for round in 0..5 {
            for n in &nodes {
                n.issue(&docs::any(&n.authority, "H2", round)).await?;
            }
        }
        anyhow::Ok(())
    };
    let t = Instant::now();
    let ((answered, refused), ()) = tokio::try_join!(flood, honest_work)?;
    let flood_time = t.elapsed();
    let heads = converge(
        "honest entries during the flood",
        &nodes,
        &honest_heads_want(&nodes).await?,
        CONVERGE,
    )
    .await?;
    let mut sync_rejected = Vec::new();
    for (n, before) in nodes.iter().zip(&sync_rejected_before) {
        let r = eventually("forged sync answers to be rejected", CONVERGE, async || {
            let r = n.metric(SYNC_REJECTED).await?;
            ensure!(r > *before, "{}: {r} rejected from sync", n.authority);
            Ok(r - before)
        })
        .await?;
        sync_rejected.push(r);
    }

    // 5. The honest nodes are up, identical, and hold none of the bad entries.
    let heads_after = converge(
        "final state",
        &nodes,
        &honest_heads_want(&nodes).await?,
        CONVERGE,
    )
    .await?;
    for n in net.nodes.iter_mut() {
        ensure!(n.is_running(), "{} died", n.authority);
    }
    let nodes: Vec<&rig::Proc> = net.nodes.iter().collect();
    for n in &nodes {
        n.health().await?;
        let log = n.log(ca).await?;
        let hashes: Vec<&str> = log.iter().map(|r| r.hash.as_str()).collect();
        ensure!(
            hashes == good.iter().map(String::as_str).collect::<Vec<_>>(),
            "{}: CA-GAC log {hashes:?}",
            n.authority
        );
        // Only the real proof: none of the junk ones served over sync.
        let evidence = n.evidence().await?;
        ensure!(
            evidence.len() == 1,
            "{}: evidence {evidence:?}",
            n.authority
        );
        for a in honest {
            let own = net.node(a).log(a).await?;
            let theirs = n.log(a).await?;
            check_chain(a, &theirs)?;
            ensure!(
                own.iter()
                    .map(|r| &r.hash)
                    .eq(theirs.iter().map(|r| &r.hash)),
                "{}'s copy of {a} differs from {a}'s own log",
                n.authority
            );
        }
    }
    let connected = {
        let mut c = Vec::new();
        for n in &nodes {
            c.push(n.peers().await?.get(&evil_peer).copied().unwrap_or(false));
        }
        c
    };
    eprintln!(
        "hostile_trusted_peer: gossip Rejects per honest node {rejected:?}; equivocation proof on all 3; \
         valid CA-GAC seq 4 published after the Rejects accepted by none (graylisted); \
         sync: forged/impersonating entries rejected per node {sync_rejected:?}; \
         flood of {} sync requests in {:.2}s: {answered} answered, {refused} refused; \
         the hostile peer answered {} sync queries (lying from step 4); \
         hostile still connected {connected:?}; honest logs {} then {}; total {:.1}s",
        answered + refused,
        flood_time.as_secs_f64(),
        lock(&evil.answers).answered,
        show(&heads),
        show(&heads_after),
        started.elapsed().as_secs_f64()
    );
    evil.shutdown();
    net.pass();
    Ok(())
}

/// Each honest node's own head of its own log: the others must reach it.
async fn honest_heads_want(nodes: &[&rig::Proc]) -> Result<BTreeMap<String, u64>> {
    let mut w = BTreeMap::new();
    for n in nodes {
        let own = n.heads().await?.get(&n.authority).map_or(0, |h| h.seq);
        w.insert(n.authority.clone(), own);
    }
    Ok(w)
}

async fn metric_each(nodes: &[&rig::Proc], sample: &str) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    for n in nodes {
        out.push(n.metric(sample).await?);
    }
    Ok(out)
}

/// `tally run` for at most 10 s; the output of a process that refused to start.
fn run_refused(dir: &std::path::Path) -> Result<std::process::Output> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(rig::tally_bin()?)
        .args(["run", "--dir", rig::path_str(dir)?])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "tally run --dir {} started instead of refusing",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .context("stdout")?
        .read_to_end(&mut stdout)?;
    child
        .stderr
        .take()
        .context("stderr")?
        .read_to_end(&mut stderr)?;
    Ok(std::process::Output {
        status,
        stdout,
        stderr,
    })
}

#[test]
fn init_refuses_and_changes_nothing() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir()?;
    let root = tmp.path();
    let init = |dir: &std::path::Path, authority: &str, api: &str| {
        rig::tally_init(dir, authority, api, &[])
    };
    let api = || format!("127.0.0.1:{}", rig::free_port());
    let refused = |what: &str, out: &std::process::Output, says: &str| -> Result<()> {
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(!out.status.success(), "{what}: exit 0, stderr {stderr}");
        ensure!(
            stderr.to_lowercase().contains(&says.to_lowercase()),
            "{what}: stderr does not say {says:?}: {stderr}"
        );
        eprintln!(
            "  {what}: exit {}, {}",
            out.status.code().unwrap_or(-1),
            stderr.trim()
        );
        Ok(())
    };

    // A good init: key files 0600 in a 0700 directory.
    let node = root.join("node");
    let out = init(&node, US, &api())?;
    ensure!(
        out.status.success(),
        "init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for key in ["keys/authority.key", "keys/node.key"] {
        let mode = std::fs::metadata(node.join(key))?.permissions().mode() & 0o777;
        ensure!(mode == 0o600, "{key} has mode {mode:o}");
    }
    let mode = std::fs::metadata(node.join("keys"))?.permissions().mode() & 0o777;
    ensure!(mode == 0o700, "keys/ has mode {mode:o}");

    // A second init of the same directory, with the same or another id.
    let before = rig::snapshot(&node)?;
    for authority in [US, MX] {
        let out = init(&node, authority, &api())?;
        refused(&format!("second init as {authority}"), &out, "already")?;
        ensure!(
            rig::snapshot(&node)? == before,
            "second init as {authority} changed the directory"
        );
    }

    // The trust list refuses bad cards and unknown ids, also unchanged.
    let bad_card = root.join("bad-card.toml");
    std::fs::write(&bad_card, "authority = \"MX-SEDENA\"\nthis is not toml\n")?;
    let wrong_country = root.join("wrong-country.toml");
    let mx_card = std::fs::read_to_string(node.join("card.toml"))?
        .replace("US-DDTC", "MX-SEDENA")
        .replace("country = \"US\"", "country = \"GT\"");
    std::fs::write(&wrong_country, mx_card)?;
    let node_s = rig::path_str(&node)?;
    let own_card = node.join("card.toml");
    let trust_cases: [(&str, Vec<&str>, &str); 4] = [
        (
            "trust add of a malformed card",
            vec!["trust", "add", "--dir", node_s, rig::path_str(&bad_card)?],
            "not a card",
        ),
        (
            "trust add of a card whose country is not its id's",
            vec![
                "trust",
                "add",
                "--dir",
                node_s,
                rig::path_str(&wrong_country)?,
            ],
            "country",
        ),
        (
            "trust add of its own card",
            vec!["trust", "add", "--dir", node_s, rig::path_str(&own_card)?],
            "own authority",
        ),
        (
            "trust remove of an untrusted id",
            vec!["trust", "remove", "--dir", node_s, GT],
            "not trusted",
        ),
    ];
    for (what, args, says) in &trust_cases {
        let out = rig::tally(args)?;
        refused(what, &out, says)?;
        ensure!(
            rig::snapshot(&node)? == before,
            "{what} changed the directory"
        );
    }

    // A directory that already holds keys (an interrupted init, or keys
    // put there by hand) is not overwritten.
    let keys_only = root.join("keys-only");
    std::fs::create_dir_all(keys_only.join("keys"))?;
    std::fs::write(keys_only.join("keys/authority.key"), "precious\n")?;
    let keys_before = rig::snapshot(&keys_only)?;
    let out = init(&keys_only, US, &api())?;
    refused("init into a directory with keys/", &out, "already")?;
    ensure!(
        rig::snapshot(&keys_only)? == keys_before,
        "init overwrote keys/"
    );

    // Malformed ids (and a bad API address): nothing created, or an
    // existing empty directory left as it was.
    let empty = root.join("empty");
    std::fs::create_dir(&empty)?;
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o755))?;
    let empty_before = rig::snapshot(&empty)?;
    for id in [
        "usa-ddtc",
        "US_DDTC",
        "US-D",
        "XX-DDTC",
        "US-ddtc",
        "US-DDTC-X",
        "",
        "US-THISNAMEISTOOLONG",
    ] {
        let fresh = root.join(format!("fresh-{}", id.len()));
        let out = init(&fresh, id, &api())?;
        refused(
            &format!("init with id {id:?}"),
            &out,
            "malformed authority id",
        )?;
        ensure!(
            !fresh.exists(),
            "init with id {id:?} created {}",
            fresh.display()
        );
        let out = init(&empty, id, &api())?;
        refused(
            &format!("init with id {id:?} into an empty dir"),
            &out,
            "malformed authority id",
        )?;
        ensure!(
            rig::snapshot(&empty)? == empty_before,
            "init with id {id:?} changed an empty directory"
        );
    }
    let out = init(&empty, US, "localhost")?;
    refused("init with --api-listen localhost", &out, "api.listen")?;
    ensure!(
        rig::snapshot(&empty)? == empty_before,
        "a refused init changed an empty directory"
    );

    // `run` with a missing, corrupt or loosely readable key: refused before
    // anything (such as the store) is created.
    type Damage = fn(&std::path::Path) -> std::io::Result<()>;
    let cases: &[(&str, Damage, &str)] = &[
        (
            "missing authority key",
            |d| std::fs::remove_file(d.join("keys/authority.key")),
            "missing",
        ),
        (
            "corrupt authority key",
            |d| std::fs::write(d.join("keys/authority.key"), "not hex at all\n"),
            "corrupt",
        ),
        (
            "short authority key",
            |d| std::fs::write(d.join("keys/authority.key"), "abcd\n"),
            "corrupt",
        ),
        (
            "missing node key",
            |d| std::fs::remove_file(d.join("keys/node.key")),
            "missing",
        ),
        (
            "corrupt node key",
            |d| std::fs::write(d.join("keys/node.key"), [0xde, 0xad, 0xbe, 0xef]),
            "corrupt",
        ),
        (
            "authority key readable by others",
            |d| {
                std::fs::set_permissions(
                    d.join("keys/authority.key"),
                    std::fs::Permissions::from_mode(0o644),
                )
            },
            "chmod 600",
        ),
    ];
    for (i, (what, damage, says)) in cases.iter().enumerate() {
        let dir = root.join(format!("run-{i}"));
        let out = init(&dir, MX, &api())?;
        ensure!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        damage(&dir)?;
        let before = rig::snapshot(&dir)?;
        let out = run_refused(&dir)?;
        refused(&format!("run with a {what}"), &out, says)?;
        ensure!(
            rig::snapshot(&dir)? == before,
            "run with a {what} changed the directory"
        );
    }
    Ok(())
}
