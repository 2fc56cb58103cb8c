//! Keys across three `tally` processes (issue "keys and forks"): an
//! encryption-key rotation that every party keeps reading through, and a
//! signing-key compromise answered by `trust revoke-key` and a new card,
//! after which the authority's genuine log resumes at N+1 everywhere.

use super::{CONVERGE, GT, MX, US, docs, rig};
use anyhow::{Context, Result, ensure};
use rig::{Net, Proc, check_chain, converge, eventually, path_str, tally_ok, want};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const STOP: Duration = Duration::from_secs(10);

/// MX's import certificate `ic` (sealed to US), then US's export license
/// `exp` citing it, through GT (sealed to MX and GT); returns once MX and
/// GT read the license.
async fn sealed_export(net: &Net, ic: &str, exp: &str) -> Result<()> {
    let (mx, us) = (net.node(MX), net.node(US));
    mx.issue(&docs::import(ic, "MX", "US")).await?;
    let path = format!("/v1/licenses/{MX}/{ic}");
    eventually("US to read the import certificate", CONVERGE, async || {
        us.get(&path).await
    })
    .await?;
    us.issue(&docs::export(exp, "US", "MX", &["GT"], (MX, ic)))
        .await?;
    for a in [MX, GT] {
        readable(net.node(a), exp).await?;
    }
    Ok(())
}

/// Waits until `node` reads US's license `number`.
async fn readable(node: &Proc, number: &str) -> Result<Value> {
    let path = format!("/v1/licenses/{US}/{number}");
    eventually(
        &format!("{} to read {number}", node.authority),
        CONVERGE,
        async || node.get(&path).await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_sealed_before_and_after_an_encryption_rotation_open() -> Result<()> {
    let mut net = Net::init(&[US, MX, GT])?;
    net.trust_all()?;
    net.start_all().await?;
    sealed_export(&net, "IC-ENC-1", "EXP-ENC-1").await?;

    let rotated = net
        .node(MX)
        .post("/v1/keys/rotate", &json!({"purpose": "encryption"}))
        .await?;
    let key_id = rotated["key_id"].as_str().context("key_id")?.to_owned();
    let at = rotated["entry"]["seq"].as_u64().context("seq")?;
    let retired = net
        .node(MX)
        .dir
        .join(format!("keys/encryption.key.retired-{at}"));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&retired)?.permissions());
    ensure!(
        mode & 0o777 == 0o600,
        "{} has mode {mode:o}",
        retired.display()
    );
    let card = std::fs::read_to_string(&net.node(MX).card)?;
    ensure!(
        card.contains(&key_id),
        "MX's card lacks its new key: {card}"
    );
    // US seals to the newest key it has seen: wait for the announcement.
    let all: Vec<&Proc> = net.nodes.iter().collect();
    converge("MX's announcement", &all, &want(&[(MX, at)]), CONVERGE).await?;

    sealed_export(&net, "IC-ENC-2", "EXP-ENC-2").await?;

    // MX re-opens both from its store alone: reindex re-derives every
    // sealed entry with the secrets it kept (the retired one included).
    let mx = net.node_mut(MX);
    ensure!(mx.sigterm(STOP).await?.success(), "MX's SIGTERM");
    tally_ok(&["reindex", "--dir", path_str(&mx.dir)?])?;
    mx.start().await?;
    for number in ["EXP-ENC-1", "EXP-ENC-2"] {
        readable(net.node(MX), number).await?;
        readable(net.node(GT), number).await?;
    }
    for a in [US, GT] {
        let alerts = net.node(a).get("/v1/alerts?kind=document.invalid").await?;
        ensure!(
            alerts.as_array().is_some_and(Vec::is_empty),
            "{a}: {alerts}"
        );
    }
    net.pass();
    Ok(())
}

/// `cp -a FROM TO`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    ensure!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
    Ok(())
}

/// The `key.compromised` alert ids `node` holds.
async fn compromised_alerts(node: &Proc) -> Result<Vec<String>> {
    let alerts = node.get("/v1/alerts?kind=key.compromised").await?;
    let mut ids: Vec<String> = alerts
        .as_array()
        .context("alerts is a list")?
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    Ok(ids)
}

/// Regression for the "keys and forks" issue: a thief signs MX's seq 3 and 4
/// with MX's stolen key and US and GT store them. US declares the key
/// compromised after seq 2 (`trust revoke-key`); MX makes a new key and a
/// new card (marking the old key compromised after 2) which US and GT add
/// as a replacement. MX's genuine seq 3 used to meet the stored thief's seq
/// 3 as an equivocation; now the thief's entries stop counting, leave the
/// log, and MX's log resumes at 3 on every node, with no fork proven. (Each
/// seq here counts after the k entries MX's log opens with: its own key
/// announcements.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_compromise_the_new_card_resumes_the_log_at_n_plus_one() -> Result<()> {
    let mut net = Net::init(&[US, MX, GT])?;
    net.trust_all()?;
    net.start_all().await?;
    let public = |number: &str| {
        let mut doc = docs::import(number, "MX", "US");
        doc["visibility"] = json!("network");
        doc
    };
    // MX's log opens with its own key announcements (k entries); the seqs
    // below count from there.
    let k = net.node(MX).heads().await?.get(MX).map_or(0, |h| h.seq);
    for n in 1..=2 {
        net.node(MX).issue(&public(&format!("IC-MX-{n}"))).await?;
    }
    let all: Vec<&Proc> = net.nodes.iter().collect();
    converge("MX's first entries", &all, &want(&[(MX, k + 2)]), CONVERGE).await?;
    let old_key = {
        let card = tally_node::files::read_card(&net.node(MX).card)?;
        card.keys[0].public_key.clone()
    };

    // The thief: MX's directory, key included, as it stood at seq 2.
    let genuine = net.root().join("mx-genuine");
    {
        let mx = net.node_mut(MX);
        ensure!(mx.sigterm(STOP).await?.success(), "MX's SIGTERM");
        copy_dir(&mx.dir, &genuine)?;
        mx.start().await?;
    }
    for n in 3..=4 {
        net.node(MX)
            .issue(&public(&format!("IC-THIEF-{n}")))
            .await?;
    }
    let all: Vec<&Proc> = net.nodes.iter().collect();
    converge("the thief's entries", &all, &want(&[(MX, k + 4)]), CONVERGE).await?;
    {
        let mx = net.node_mut(MX);
        ensure!(mx.sigterm(STOP).await?.success(), "the thief's SIGTERM");
        std::fs::remove_dir_all(&mx.dir)?;
        std::fs::rename(&genuine, &mx.dir)?;
    }

    // US declares the compromise.
    let us_dir = path_str(&net.node(US).dir)?.to_owned();
    let after = (k + 2).to_string();
    tally_ok(&[
        "trust",
        "revoke-key",
        "--dir",
        &us_dir,
        MX,
        &old_key,
        "--after-seq",
        &after,
    ])?;
    eventually("US to raise key.compromised", CONVERGE, async || {
        let ids = compromised_alerts(net.node(US)).await?;
        ensure!(
            ids == [
                format!("key.compromised:-:{MX}:{}", k + 3),
                format!("key.compromised:-:{MX}:{}", k + 4)
            ],
            "{ids:?}"
        );
        Ok(())
    })
    .await?;
    net.node(US)
        .get(&format!("/v1/licenses/{MX}/IC-MX-2"))
        .await?;
    ensure!(
        net.node(US)
            .get(&format!("/v1/licenses/{MX}/IC-THIEF-3"))
            .await
            .is_err(),
        "the thief's document still counts on US"
    );

    // MX: a new signing key (0600) and a new card; the old key stays
    // listed, compromised after 2.
    let mx = net.node(MX);
    let secret = tally_node::keys::generate_authority_key();
    tally_node::files::write_atomic(
        &mx.dir.join("keys/authority.key"),
        &tally_node::keys::encode_authority_key(&secret),
        0o600,
    )?;
    let new_key = hex::encode(
        tally_model::AuthorityKey::from_bytes(&secret)
            .public()
            .as_bytes(),
    );
    let mut card = tally_node::files::read_card(&mx.card)?;
    card.keys[0].compromised_after_seq = Some(k + 2);
    card.keys.push(tally_model::CardKey::new(
        new_key.clone(),
        super::hostile::now_ms() - 1000,
    ));
    tally_node::files::write_card(&mx.card, &card)?;
    // US and GT take the new card (GT declared nothing: the card's mark
    // is its declaration).
    for a in [US, GT] {
        net.node(a).trust_card(&net.node(MX).card)?;
    }
    net.node_mut(MX).start().await?;

    let resumed = net.node(MX).issue(&public("IC-MX-3")).await?;
    ensure!(resumed.seq == k + 3, "MX resumed at seq {}", resumed.seq);
    net.node(MX).issue(&public("IC-MX-4")).await?;
    let all: Vec<&Proc> = net.nodes.iter().collect();
    let heads = converge(
        "MX's genuine log on every node",
        &all,
        &want(&[(MX, k + 4)]),
        CONVERGE,
    )
    .await?;
    ensure!(heads[MX].seq == k + 4, "heads: {heads:?}");
    for node in &net.nodes {
        let a = &node.authority;
        check_chain(MX, &node.log(MX).await?)?;
        for n in ["IC-MX-1", "IC-MX-2", "IC-MX-3", "IC-MX-4"] {
            node.get(&format!("/v1/licenses/{MX}/{n}"))
                .await
                .with_context(|| format!("{a} lacks {n}"))?;
        }
        for n in ["IC-THIEF-3", "IC-THIEF-4"] {
            ensure!(
                node.get(&format!("/v1/licenses/{MX}/{n}")).await.is_err(),
                "{a} counts the thief's {n}"
            );
        }
        ensure!(node.evidence().await?.is_empty(), "{a} proved a fork");
        let alerts = node.get("/v1/alerts?kind=equivocation").await?;
        ensure!(
            alerts.as_array().is_some_and(Vec::is_empty),
            "{a}: {alerts}"
        );
        let signing = node.get("/v1/status").await?;
        ensure!(
            signing["signing"] != "stopped",
            "{a} stopped signing: {signing}"
        );
    }
    // The thief's entries stay reported where they were stored.
    let ids = compromised_alerts(net.node(US)).await?;
    ensure!(ids.len() == 2, "US's key.compromised alerts: {ids:?}");
    net.pass();
    Ok(())
}
