//! A node's life in one process: a service that stops makes `run_until`
//! fail naming it, and shutdown really closes the store, so the same
//! directory starts again at once while clients were still connected.

use anyhow::{Context, Result, ensure};
use std::time::Duration;
use tally_node::Node;
use tally_tests::{As, Net, docs};
use tokio::io::AsyncWriteExt;

/// Fails on the old code, where `run_until` returned `Ok` (exit 0, so
/// systemd's `Restart=on-failure` never fired) when a service stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_stops_makes_run_until_fail_naming_it() -> Result<()> {
    let net = Net::init(&["US-DDTC"])?;
    let node = Node::start(&net.members[0].dir).await?;
    // The swarm stops on its own, as after a fatal transport error.
    node.p2p().shutdown();
    let outcome = tokio::time::timeout(
        Duration::from_secs(30),
        node.run_until(std::future::pending()),
    )
    .await
    .context("run_until did not return")?;
    let error = format!("{:#}", outcome.expect_err("a stopped service is a failure"));
    ensure!(
        error.contains("`p2p`") || error.contains("`router`"),
        "the error does not name the service: {error}"
    );
    // The node shut down: its directory opens again.
    let again = Node::start(&net.members[0].dir).await?;
    again.shutdown().await;
    Ok(())
}

/// Fails on the old code: a half-sent request kept the old server's graceful
/// shutdown (and so `Node::shutdown`) waiting forever, and a restart in the
/// same process then found the store still open ("Database already open").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_in_process_while_clients_are_connected() -> Result<()> {
    let mut net = Net::init(&["US-DDTC"])?;
    for round in 0..3 {
        net.start_node(0)
            .await
            .with_context(|| format!("start {round}"))?;
        let api = net.api(0);
        let (status, _) = api.get(As::Officer, "/v1/status").await?;
        ensure!(status == 200, "status answered {status}");
        // A client that never finishes its request.
        let mut partial = tokio::net::TcpStream::connect(net.node(0).api_addr()).await?;
        partial
            .write_all(b"POST /v1/licenses HTTP/1.1\r\nHost: tally\r\n")
            .await?;
        // Issues in flight while the node stops: their store calls must end
        // before the store is closed, and none may outlive the shutdown.
        let writer = tokio::spawn(async move {
            for n in 0..20 {
                let doc = docs::sample("US-DDTC", round * 100 + n);
                if api.post(As::Issuer, "/v1/licenses", &doc).await.is_err() {
                    break;
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(30), net.stop_node(0))
            .await
            .with_context(|| format!("shutdown {round} did not return"))??;
        writer.abort();
        let _ = writer.await;
        drop(partial);
    }
    // The store was closed each time: every acknowledged license is there.
    net.start_node(0).await.context("final start")?;
    let (status, _) = net.api(0).get(As::Officer, "/v1/status").await?;
    ensure!(status == 200, "status answered {status}");
    net.shutdown().await;
    Ok(())
}
