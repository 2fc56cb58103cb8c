//! Replication between real nodes in one process, over libp2p on loopback:
//! convergence, catch-up after downtime, hostile input, untrusted peers,
//! partitions, and trust changes at runtime.

use anyhow::{Context, Result, ensure};
use futures::future::try_join_all;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tally_model::{AuthorityId, AuthorityKey, EntryHash, SignedEntry};
use tally_node::{admin, files};
use tally_p2p::Topic;
use tally_tests::{As, Net, Rogue, docs, signed, wait_until};

const CONVERGE: Duration = Duration::from_secs(30);

/// POSTs `doc` to node `i` as its issuer; expects 201.
async fn post_license(net: &Net, i: usize, doc: Value) -> Result<()> {
    let (status, body) = net.api(i).post(As::Issuer, "/v1/licenses", &doc).await?;
    ensure!(status == 201, "{}: {status} {body}", net.authority(i));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_nodes_converge_on_entries_issued_concurrently_at_each() -> Result<()> {
    let net = Net::start(5).await?;
    let per_node = 20;
    let opened: BTreeMap<String, u64> = (0..net.len())
        .map(|i| Ok((net.authority(i).to_owned(), net.own_seq(i)?)))
        .collect::<Result<_>>()?;
    let posts = (0..net.len()).flat_map(|i| {
        let net = &net;
        (0..per_node).map(move |n| post_license(net, i, docs::sample(net.authority(i), n)))
    });
    try_join_all(posts).await?;

    let heads = net.converge(CONVERGE).await?;
    assert_eq!(heads.len(), 5, "{heads:?}");
    for (authority, (seq, _)) in &heads {
        assert_eq!(*seq, opened[authority] + per_node as u64, "{authority}");
    }
    net.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_offline_during_10000_entries_catches_up_after_restart() -> Result<()> {
    const N: usize = 10_000;
    let mut net = Net::start(3).await?;
    net.stop_node(2).await?;
    let head = net.own_seq(0)? + N as u64;

    let started = Instant::now();
    let docs = (0..N).map(|n| docs::sample("US-DDTC", n)).collect();
    net.issue_many(0, docs).await?;
    let issue_time = started.elapsed();
    println!(
        "issued {N} entries at US-DDTC in {:.1} s ({:.0} entries/s)",
        issue_time.as_secs_f64(),
        N as f64 / issue_time.as_secs_f64()
    );
    wait_until(CONVERGE, "MX-SEDENA holds the 10,000 entries", async || {
        net.seq(1, "US-DDTC").is_ok_and(|s| s == head)
    })
    .await?;

    // GT comes back on a new port; the others still hold its old address.
    let started = Instant::now();
    net.start_node(2).await?;
    let took = wait_until(
        Duration::from_secs(60),
        "GT-DIGECAM caught up",
        async || net.seq(2, "US-DDTC").is_ok_and(|s| s == head),
    )
    .await?;
    let took = took.max(started.elapsed());
    println!(
        "GT-DIGECAM caught up on {N} entries in {:.2} s ({:.0} entries/s)",
        took.as_secs_f64(),
        N as f64 / took.as_secs_f64()
    );
    net.converge(CONVERGE).await?;

    // The others see it connected again: it dialed them from their cards.
    net.wait_links().await?;
    let (status, body) = net.api(0).get(As::Officer, "/v1/status").await?;
    assert_eq!(status, 200, "{body}");
    let gt = body["peers"]
        .as_array()
        .context("peers")?
        .iter()
        .find(|p| p["authority"] == "GT-DIGECAM")
        .context("GT-DIGECAM listed")?;
    assert_eq!(gt["connected"], true, "{body}");
    net.shutdown().await;
    Ok(())
}

/// Node `i`'s `tally_entries_total` for a source (`gossip`, `sync`) and an
/// outcome (`accepted`, `ignored`, `rejected`).
async fn entries_total(net: &Net, i: usize, source: &str, outcome: &str) -> Result<u64> {
    let sample = format!("tally_entries_total{{source=\"{source}\",outcome=\"{outcome}\"}}");
    net.api(i).metric(&sample).await
}

/// Node `i`'s `tally_entries_refused_total` for gossip and a refusal reason.
async fn refused(net: &Net, i: usize, reason: &str) -> Result<u64> {
    let sample = format!("tally_entries_refused_total{{source=\"gossip\",reason=\"{reason}\"}}");
    net.api(i).metric(&sample).await
}

/// Publishes `bytes` from the rogue until node `i` has refused one gossip
/// message for one of `reasons` (a publish before the rogue has seen the
/// node's subscription reaches nobody, so it is repeated; once sent, a repeat
/// is a no-op).
async fn inject(net: &Net, rogue: &Rogue, i: usize, bytes: &[u8], reasons: &[&str]) -> Result<()> {
    let what = format!(
        "{} refuses a gossip message for {reasons:?}",
        net.authority(i)
    );
    wait_until(Duration::from_secs(15), &what, async || {
        let _ = rogue
            .p2p
            .publish(Topic::Entries, bytes.to_vec().into())
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut n = 0;
        for r in reasons {
            n += refused(net, i, r).await.unwrap_or(0);
        }
        n >= 1
    })
    .await?;
    Ok(())
}

/// Publishes `entry` from the rogue until `done` holds (repeats cover a
/// publish made before the rogue saw its peer's subscription).
async fn publish_until(
    rogue: &Rogue,
    entry: &SignedEntry,
    what: &str,
    done: impl Fn() -> bool,
) -> Result<()> {
    let bytes = entry.encode();
    wait_until(Duration::from_secs(15), what, async || {
        let _ = rogue
            .p2p
            .publish(Topic::Entries, bytes.clone().into())
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        done()
    })
    .await?;
    Ok(())
}

/// Issues `n` sample documents at node `i` over HTTP, numbered from `from`.
async fn post_samples(net: &Net, i: usize, from: usize, n: usize) -> Result<()> {
    for k in from..from + n {
        post_license(net, i, docs::sample(net.authority(i), k)).await?;
    }
    Ok(())
}

/// Equivocation proofs node `i` serves at `GET /v1/evidence`.
async fn evidence(net: &Net, i: usize) -> Result<Vec<Value>> {
    let (status, body) = net.api(i).get(As::Officer, "/v1/evidence").await?;
    ensure!(status == 200, "{status} {body}");
    Ok(body.as_array().context("an array")?.clone())
}

/// Line topology US-DDTC - MX-SEDENA - GT-DIGECAM (US and GT trust each
/// other's keys but never connect), plus a rogue swarm that MX trusts as the
/// node of CA-GAC. The rogue gossips a forged entry, an entry of an untrusted
/// authority, an equivocation and a broken chain (the last two signed with
/// US-DDTC's real key), and serves hostile entries to pulls, while MX and GT
/// keep issuing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_entries_are_refused_never_forwarded_and_honest_traffic_converges() -> Result<()> {
    let (us, mx, gt) = (0, 1, 2);
    let mut net = Net::init(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"])?;
    for i in 0..3 {
        net.start_node(i).await?;
    }
    for (i, j) in [(us, mx), (mx, us), (mx, gt), (gt, mx)] {
        net.trust(i, j)?;
    }
    net.trust_without_dialing(us, gt)?;
    net.trust_without_dialing(gt, us)?;
    net.wait_links().await?;
    let opened: Vec<u64> = (0..3).map(|i| net.own_seq(i)).collect::<Result<_>>()?;
    for i in 0..3 {
        post_samples(&net, i, 0, 5).await?;
    }
    net.converge(CONVERGE).await?;

    // The rogue, trusted by MX only.
    let rogue = Rogue::spawn().await?;
    let card = rogue.card("CA-GAC", &AuthorityKey::from_bytes(&[42; 32]))?;
    let card_path = net.members[mx].dir.join("rogue-card.toml");
    files::write_card(&card_path, &card)?;
    admin::trust_add(&net.members[mx].dir, &card_path)?;
    rogue.dial(&net, &[mx]).await?;
    wait_until(
        Duration::from_secs(10),
        "MX-SEDENA connects the rogue",
        async || {
            let peers = net.node(mx).p2p().connected_peers().await;
            peers.is_ok_and(|p| p.contains(&rogue.peer_id))
        },
    )
    .await?;

    // The hostile entries.
    let us_id: AuthorityId = "US-DDTC".parse()?;
    let us_key =
        tally_node::keys::load_authority_key(&net.members[us].dir.join("keys/authority.key"))?;
    let store = net.reader(mx)?;
    // US's first document, after its own key announcements.
    let first = opened[us] + 1;
    let held = store
        .entry_at(&us_id, first)?
        .context("US's first document held")?;
    let (us_head, _) = store.head(&us_id)?.context("US-DDTC head")?;
    let mut forged = held.encode();
    let flip = forged.len() / 2;
    forged[flip] ^= 0x01;
    let untrusted = signed(
        &AuthorityKey::from_bytes(&[7; 32]),
        "BR-EB",
        1,
        None,
        docs::sample("BR-EB", 0),
    )?;
    let fork = {
        let mut e = held.open()?;
        e.issued_at_ms += 1;
        us_key.sign(&e).signed().clone()
    };
    let broken = signed(
        &us_key,
        "US-DDTC",
        us_head + 1,
        Some(EntryHash([7; 32])),
        docs::sample("US-DDTC", 999),
    )?;
    rogue.offer(&broken)?;
    rogue.offer(&untrusted)?;

    // Honest traffic during the attack.
    let honest =
        async { tokio::try_join!(post_samples(&net, mx, 5, 20), post_samples(&net, gt, 5, 20)) };
    let attack = async {
        // Penalized: a forgery is the sender's fault.
        inject(&net, &rogue, mx, &forged, &["bad_signature", "malformed"]).await?;
        // Sent once the rogue knows MX's subscription; ignored, not rejected.
        rogue
            .p2p
            .publish(Topic::Entries, untrusted.encode().into())
            .await?;
        // Refused without penalty: an honest relay may have seen the other
        // side of a fork first.
        inject(&net, &rogue, mx, &fork.encode(), &["equivocation"]).await?;
        inject(&net, &rogue, mx, &broken.encode(), &["broken_chain"]).await?;
        // MX pulls from a random peer every 500 ms; the rogue is one of three.
        wait_until(
            Duration::from_secs(20),
            "MX-SEDENA rejects a pulled entry",
            async || {
                entries_total(&net, mx, "sync", "rejected")
                    .await
                    .is_ok_and(|n| n >= 1)
            },
        )
        .await?;
        anyhow::Ok(())
    };
    tokio::try_join!(honest, attack)?;
    rogue.shutdown().await;

    // The equivocation proof reaches every node, from MX's gossip.
    for i in 0..3 {
        let what = format!("{} serves the equivocation proof", net.authority(i));
        wait_until(Duration::from_secs(10), &what, async || {
            evidence(&net, i).await.is_ok_and(|e| !e.is_empty())
        })
        .await?;
        let ev = evidence(&net, i).await?;
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0]["authority"], "US-DDTC");
        assert_eq!(ev[0]["seq"], first);
        assert_eq!(ev[0]["entries"].as_array().map(Vec::len), Some(2));
    }

    // US-DDTC issues again; every honest entry converges, in the same bytes.
    post_samples(&net, us, 5, 5).await?;
    let heads = net.converge(CONVERGE).await?;
    let seqs: Vec<(&str, u64)> = heads.iter().map(|(a, (s, _))| (a.as_str(), *s)).collect();
    assert_eq!(
        seqs,
        [
            ("GT-DIGECAM", opened[gt] + 25),
            ("MX-SEDENA", opened[mx] + 25),
            ("US-DDTC", opened[us] + 10)
        ]
    );

    // Nothing hostile is stored anywhere, and the held seq 1 stays the one of record.
    let mut hostile = vec![fork.id(), broken.id(), untrusted.id()];
    hostile.extend(SignedEntry::decode(&forged).ok().map(|s| s.id()));
    for i in 0..3 {
        for id in &hostile {
            assert!(!net.stores(i, id)?, "{} stores {id:?}", net.authority(i));
        }
        let store = net.reader(i)?;
        assert_eq!(store.entry_at(&us_id, first)?, Some(held.clone()));
    }

    // Only MX saw the hostile entries: nothing was forwarded to US or GT.
    for i in [us, gt] {
        for source in ["gossip", "sync"] {
            let n = entries_total(&net, i, source, "rejected").await?;
            assert_eq!(n, 0, "{} rejected {n} {source} entries", net.authority(i));
        }
    }
    assert!(entries_total(&net, mx, "gossip", "rejected").await? >= 1);
    assert!(!net.connected(us, gt).await, "the line topology held");
    net.shutdown().await;
    Ok(())
}

/// A swarm with a fresh identity that no node trusts cannot connect, and its
/// pulls fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_untrusted_peer_cannot_connect_or_pull() -> Result<()> {
    let net = Net::start(2).await?;
    net.issue(0, docs::sample("US-DDTC", 0)).await?;
    net.converge(CONVERGE).await?;

    let rogue = Rogue::spawn().await?;
    rogue.dial(&net, &[0, 1]).await?;
    for i in 0..2 {
        let peer = net.members[i].peer_id;
        let heads = rogue.p2p.heads(peer).await;
        assert!(heads.is_err(), "heads from {}: {heads:?}", net.authority(i));
        let range = rogue.p2p.range(peer, "US-DDTC".into(), 1, 10).await;
        assert!(range.is_err(), "range from {}: {range:?}", net.authority(i));
    }
    // The rogue keeps redialing; watch for a while that no node lets it in.
    // (The rogue may count a connection for an instant: a node refuses it
    // once the handshake has revealed its peer id.)
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(2) {
        for i in 0..2 {
            let peers = net.node(i).p2p().connected_peers().await?;
            assert!(
                !peers.contains(&rogue.peer_id),
                "{} let it in",
                net.authority(i)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = net.api(0).get(As::Officer, "/v1/status").await?;
    assert_eq!(status, 200);
    let listed = body["peers"].as_array().context("peers")?;
    assert_eq!(listed.len(), 1, "only MX-SEDENA is listed: {body}");
    assert_eq!(listed[0]["authority"], "MX-SEDENA");
    rogue.shutdown().await;
    net.shutdown().await;
    Ok(())
}

/// Two groups cut apart by their trust lists both issue; after healing every
/// node holds identical logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partition_where_both_sides_issue_heals_to_identical_logs() -> Result<()> {
    let mut net = Net::start(4).await?;
    let opened: Vec<u64> = (0..4).map(|i| net.own_seq(i)).collect::<Result<_>>()?;
    for i in 0..4 {
        net.issue_many(
            i,
            (0..3).map(|n| docs::sample(net.authority(i), n)).collect(),
        )
        .await?;
    }
    net.converge(CONVERGE).await?;

    net.partition(&[&[0, 1], &[2, 3]]).await?;
    let posts = (0..4).map(|i| post_samples(&net, i, 3, 10));
    try_join_all(posts).await?;
    // Each side converges on its own...
    for (i, j) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
        let what = format!(
            "{} holds {}'s new entries",
            net.authority(i),
            net.authority(j)
        );
        let authority = net.authority(j).to_string();
        wait_until(CONVERGE, &what, async || {
            net.seq(i, &authority).is_ok_and(|s| s == opened[j] + 13)
        })
        .await?;
    }
    // ... and nothing crossed the cut.
    for (i, j) in [
        (0, 2),
        (0, 3),
        (1, 2),
        (1, 3),
        (2, 0),
        (2, 1),
        (3, 0),
        (3, 1),
    ] {
        assert_eq!(
            net.seq(i, net.authority(j))?,
            opened[j] + 3,
            "{} -> {}",
            net.authority(j),
            net.authority(i)
        );
    }

    net.heal().await?;
    let heads = net.converge(CONVERGE).await?;
    assert_eq!(heads.len(), 4);
    for (i, &at) in opened.iter().enumerate() {
        assert_eq!(heads[net.authority(i)].0, at + 13, "{heads:?}");
    }
    net.shutdown().await;
    Ok(())
}

/// `trust add` on running nodes connects them to the new authority within
/// 5 s and syncs; `trust remove` drops the connection and its entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trust_changes_apply_at_runtime() -> Result<()> {
    let (us, mx, gt) = (0, 1, 2);
    let mut net = Net::init(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"])?;
    for i in 0..3 {
        net.start_node(i).await?;
        net.issue(i, docs::sample(net.authority(i), 0)).await?;
    }
    for (i, j) in [(us, mx), (mx, us), (gt, us), (gt, mx)] {
        net.trust(i, j)?;
    }
    net.wait_links().await?;
    // GT dials them and they refuse it. (GT itself may count a connection
    // for an instant: the refusal comes after the handshake.)
    assert!(!net.connected(us, gt).await && !net.connected(mx, gt).await);

    // US and MX add GT's card while running.
    let started = Instant::now();
    net.trust(us, gt)?;
    net.trust(mx, gt)?;
    wait_until(
        Duration::from_secs(5),
        "US and MX connect to GT",
        async || net.connected(us, gt).await && net.connected(mx, gt).await,
    )
    .await?;
    println!(
        "connected to the new authority {:?} after trust add",
        started.elapsed()
    );
    let heads = net.converge(Duration::from_secs(5)).await?;
    assert_eq!(heads.len(), 3, "synced after the trust change: {heads:?}");

    // US removes GT: the connection drops, and GT's new entries stop at MX.
    let started = Instant::now();
    net.untrust(us, gt)?;
    wait_until(Duration::from_secs(5), "US drops GT", async || {
        !net.connected(us, gt).await && !net.connected(gt, us).await
    })
    .await?;
    println!("dropped {:?} after trust remove", started.elapsed());
    let held = net.own_seq(gt)?;
    net.issue(gt, docs::sample("GT-DIGECAM", 1)).await?;
    wait_until(CONVERGE, "MX holds GT's new entry", async || {
        net.seq(mx, "GT-DIGECAM").is_ok_and(|s| s == held + 1)
    })
    .await?;
    // Three sync rounds later US still has not taken it (from MX either).
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            net.seq(us, "GT-DIGECAM")?,
            held,
            "US took an entry of an authority it removed"
        );
        assert!(!net.connected(us, gt).await, "GT got back in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    net.shutdown().await;
    Ok(())
}

/// A restarted node keeps its log, comes back on a new port (the others
/// still hold its old address and see it connected again because it dials
/// them), and its chain continues where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_node_keeps_its_log_and_rejoins_on_a_new_port() -> Result<()> {
    let mut net = Net::start(3).await?;
    let opened: Vec<u64> = (0..3).map(|i| net.own_seq(i)).collect::<Result<_>>()?;
    for i in 0..3 {
        post_samples(&net, i, 0, 5).await?;
    }
    let before = net.converge(CONVERGE).await?;
    for round in 0..2 {
        let old = net.node(1).listen_addrs().await?;
        net.restart(1).await?;
        assert_ne!(net.node(1).listen_addrs().await?, old, "a new port");
        assert_eq!(net.heads(1)?, before, "nothing lost over restart {round}");
        for i in [0, 2] {
            let (_, status) = net.api(i).get(As::Officer, "/v1/status").await?;
            let mx = status["peers"]
                .as_array()
                .context("peers")?
                .iter()
                .find(|p| p["authority"] == "MX-SEDENA")
                .cloned()
                .context("MX-SEDENA listed")?;
            assert_eq!(mx["connected"], true, "{}: {status}", net.authority(i));
        }
    }
    // It keeps issuing on its chain, and everyone converges again.
    let (status, body) = net
        .api(1)
        .post(As::Issuer, "/v1/licenses", &docs::sample("MX-SEDENA", 5))
        .await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["entry"]["seq"], opened[1] + 6);
    post_samples(&net, 0, 5, 1).await?;
    let heads = net.converge(CONVERGE).await?;
    assert_eq!(heads["MX-SEDENA"].0, opened[1] + 6);
    assert_eq!(heads["US-DDTC"].0, opened[0] + 6);
    net.shutdown().await;
    Ok(())
}

/// MX-SEDENA trusts CA-GAC (a rogue swarm), US-DDTC does not. CA-GAC forks
/// its log three times; MX proves each fork and gossips the proof, which
/// reaches US. A proof about an authority US does not trust is not MX's
/// fault (trust lists differ, as the router already allows for entries), so
/// it must not cost MX its standing: MX's entries keep reaching US by gossip.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proof_about_an_authority_a_node_does_not_trust_costs_the_relay_nothing() -> Result<()> {
    let (us, mx) = (0, 1);
    let net = Net::start_with(&["US-DDTC", "MX-SEDENA"]).await?;
    let rogue = Rogue::spawn().await?;
    let key = AuthorityKey::from_bytes(&[42; 32]);
    let card_path = net.members[mx].dir.join("rogue-card.toml");
    files::write_card(&card_path, &rogue.card("CA-GAC", &key)?)?;
    admin::trust_add(&net.members[mx].dir, &card_path)?;
    rogue.dial(&net, &[mx]).await?;

    let mut prev = None;
    for seq in 1..=3 {
        let n = seq as usize;
        let a = signed(&key, "CA-GAC", seq, prev, docs::sample("CA-GAC", n))?;
        let b = signed(&key, "CA-GAC", seq, prev, docs::sample("CA-GAC", 100 + n))?;
        let what = format!("MX-SEDENA holds CA-GAC seq {seq}");
        publish_until(&rogue, &a, &what, || {
            net.seq(mx, "CA-GAC").is_ok_and(|s| s == seq)
        })
        .await?;
        let what = format!("MX-SEDENA proves a fork at CA-GAC seq {seq}");
        publish_until(&rogue, &b, &what, || {
            net.reader(mx)
                .and_then(|r| Ok(r.evidence()?))
                .is_ok_and(|e| e.len() as u64 == seq)
        })
        .await?;
        prev = Some(a.id());
    }
    rogue.shutdown().await;

    // MX's next entries: US should take them from gossip, as before.
    let before = entries_total(&net, us, "gossip", "accepted").await?;
    let opened = net.own_seq(mx)?;
    for k in 0..5 {
        post_samples(&net, mx, k, 1).await?;
        wait_until(CONVERGE, "US-DDTC holds MX's entry", async || {
            net.seq(us, "MX-SEDENA")
                .is_ok_and(|s| s == opened + k as u64 + 1)
        })
        .await?;
    }
    let by_gossip = entries_total(&net, us, "gossip", "accepted").await? - before;
    assert!(
        by_gossip >= 3,
        "only {by_gossip} of MX's 5 entries reached US by gossip: US graylisted MX"
    );
    net.shutdown().await;
    Ok(())
}

/// After `trust remove`, `GET /v1/status` lists only the trusted peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_lists_no_peer_after_its_trust_is_removed() -> Result<()> {
    let mut net = Net::start(3).await?;
    net.untrust(0, 2)?;
    wait_until(Duration::from_secs(5), "US drops GT", async || {
        !net.connected(0, 2).await
    })
    .await?;
    let (_, status) = net.api(0).get(As::Officer, "/v1/status").await?;
    let peers = status["peers"].as_array().context("peers")?;
    assert_eq!(peers.len(), 1, "only MX-SEDENA is listed: {status}");
    assert_eq!(peers[0]["authority"], "MX-SEDENA");
    net.shutdown().await;
    Ok(())
}

/// A node that was offline while an equivocation proof was gossiped learns of
/// the fork by pulling proofs in anti-entropy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_offline_during_an_equivocation_pulls_the_proof() -> Result<()> {
    let (us, mx, gt) = (0, 1, 2);
    let mut net = Net::start_with(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"]).await?;
    post_samples(&net, us, 0, 2).await?;
    net.converge(CONVERGE).await?;
    net.stop_node(gt).await?;

    // MX receives a second, different seq 1 signed with US-DDTC's real key.
    let us_id: AuthorityId = "US-DDTC".parse()?;
    let us_key =
        tally_node::keys::load_authority_key(&net.members[us].dir.join("keys/authority.key"))?;
    let held = net.reader(mx)?.entry_at(&us_id, 1)?.context("seq 1 held")?;
    let fork = {
        let mut e = held.open()?;
        e.issued_at_ms += 1;
        us_key.sign(&e).signed().clone()
    };
    let v = net.node(mx).verifier().clone();
    let outcome = tokio::task::spawn_blocking(move || v.ingest().entry(&fork.encode())).await??;
    ensure!(
        matches!(outcome, tally_verify::IngestOutcome::Rejected(_)),
        "{outcome:?}"
    );
    ensure!(evidence(&net, mx).await?.len() == 1);

    net.start_node(gt).await?;
    wait_until(
        Duration::from_secs(15),
        "GT-DIGECAM pulls the proof",
        async || evidence(&net, gt).await.is_ok_and(|e| e.len() == 1),
    )
    .await?;
    let ev = evidence(&net, gt).await?;
    assert_eq!(ev[0]["authority"], "US-DDTC");
    assert_eq!(ev[0]["seq"], 1);
    net.shutdown().await;
    Ok(())
}
