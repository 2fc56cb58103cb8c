//! A signing-key rotation across three processes: US rotates its key over
//! the API, and MX and GT keep taking US's new entries, signed by the new
//! key, without a new card; US keeps signing with it after a restart.

use super::{CONVERGE, GT, MX, US, docs, rig};
use anyhow::{Context, Result, ensure};
use rig::{Net, check_chain, converge, want};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_signing_key_is_followed_without_a_new_card() -> Result<()> {
    let mut net = Net::init(&[US, MX, GT])?;
    net.trust_all()?;
    net.start_all().await?;
    let trust_before: Vec<Vec<u8>> = [MX, GT]
        .iter()
        .map(|a| std::fs::read(net.node(a).dir.join("trust.toml")))
        .collect::<std::io::Result<_>>()?;
    let issued = net.node(US).issue(&docs::any(US, "ROT", 0)).await?;

    let rotated = net
        .node(US)
        .post("/v1/keys/rotate", &json!({"purpose": "signing"}))
        .await?;
    let key_id = rotated["key_id"].as_str().context("key_id")?.to_owned();
    let at = rotated["entry"]["seq"].as_u64().context("seq")?;
    ensure!(
        at == issued.seq + 1,
        "the rotation is US's seq {at}, after {}",
        issued.seq
    );
    let card = std::fs::read_to_string(&net.node(US).card)?;
    ensure!(
        card.contains(&key_id) && card.contains(&format!("retired_after_seq = {at}")),
        "US's card after the rotation: {card}"
    );

    for n in 1..4 {
        net.node(US).issue(&docs::any(US, "ROT", n)).await?;
    }
    let all: Vec<&rig::Proc> = net.nodes.iter().collect();
    converge(
        "US's entries after the rotation",
        &all,
        &want(&[(US, 5)]),
        CONVERGE,
    )
    .await?;

    // After a restart US still signs with the new key (its key file).
    let us = net.node_mut(US);
    let status = us.sigterm(std::time::Duration::from_secs(5)).await?;
    ensure!(status.success(), "SIGTERM: {status}");
    us.start().await?;
    net.node(US).issue(&docs::any(US, "ROT", 4)).await?;
    let all: Vec<&rig::Proc> = net.nodes.iter().collect();
    converge(
        "US's entry after its restart",
        &all,
        &want(&[(US, 6)]),
        CONVERGE,
    )
    .await?;

    for a in [MX, GT] {
        let node = net.node(a);
        check_chain(US, &node.log(US).await?)?;
        let authorities = node.get("/v1/authorities").await?;
        let keys = authorities
            .as_array()
            .and_then(|all| all.iter().find(|x| x["authority"] == US))
            .map(|x| x["keys"].clone())
            .context("US listed")?;
        let keys = keys.as_array().context("keys")?;
        ensure!(
            keys.iter()
                .any(|k| k["key_id"] == key_id.as_str() && k["retired_after_seq"].is_null())
                && keys.iter().any(|k| k["retired_after_seq"] == json!(at)),
            "{a} lists US's keys as {keys:?}"
        );
    }
    // Nobody exchanged a card.
    for (a, before) in [MX, GT].iter().zip(&trust_before) {
        ensure!(
            &std::fs::read(net.node(a).dir.join("trust.toml"))? == before,
            "{a}'s trust list changed"
        );
    }
    net.pass();
    Ok(())
}
