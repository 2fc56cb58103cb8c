//! Keys by seq between real nodes in one process: `POST /v1/keys/rotate`
//! (peers follow the rotation without a new card) and `tally trust
//! revoke-key` (stored entries past the compromise stop counting).

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use tally_model::AuthorityId;
use tally_node::{admin, files};
use tally_tests::{As, Net, docs, wait_until};

const CONVERGE: Duration = Duration::from_secs(30);

fn mode(path: &std::path::Path) -> Result<u32> {
    Ok(std::fs::metadata(path)
        .with_context(|| path.display().to_string())?
        .permissions()
        .mode()
        & 0o777)
}

/// The keys `GET /v1/authorities` at node `i` lists for `authority`.
async fn keys_of(net: &Net, i: usize, authority: &str) -> Result<Vec<Value>> {
    let (status, body) = net.api(i).get(As::Officer, "/v1/authorities").await?;
    ensure!(status == 200, "{status} {body}");
    let a = body
        .as_array()
        .and_then(|all| all.iter().find(|a| a["authority"] == authority))
        .with_context(|| format!("{authority} not listed: {body}"))?;
    a["keys"].as_array().cloned().context("keys")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotating_the_signing_key_over_the_api() -> Result<()> {
    let (us, mx) = (0, 1);
    let mut net = Net::start_with(&["US-DDTC", "MX-SEDENA"]).await?;
    net.issue(us, docs::sample("US-DDTC", 0)).await?;
    let dir = net.members[us].dir.clone();
    let old_key = net.node(us).verifier().public_key_hex();

    // Only an administrator rotates, and only a purpose it knows.
    let api = net.api(us);
    let (status, _) = api
        .post(
            As::Issuer,
            "/v1/keys/rotate",
            &json!({"purpose": "signing"}),
        )
        .await?;
    assert_eq!(status, 403);
    let (status, body) = api
        .post(
            As::Admin,
            "/v1/keys/rotate",
            &json!({"purpose": "transport"}),
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(body.to_string().contains("purpose"), "{body}");

    let head = net.seq(us, "US-DDTC")?;
    let (status, body) = api
        .post(As::Admin, "/v1/keys/rotate", &json!({"purpose": "signing"}))
        .await?;
    assert_eq!(status, 200, "{body}");
    let key_id = body["key_id"].as_str().context("key_id")?.to_string();
    let seq = body["entry"]["seq"].as_u64().context("seq")?;
    assert_eq!(seq, head + 1, "the rotation is the log's next entry");
    assert_eq!(body["entry"]["hash"].as_str().map(str::len), Some(64));
    assert_eq!(net.node(us).verifier().public_key_hex(), key_id);

    // The key file holds the new key, 0600; the old one is kept beside it.
    let key_file = dir.join("keys/authority.key");
    assert_eq!(mode(&key_file)?, 0o600);
    let retired = dir.join(format!("keys/authority.key.retired-{seq}"));
    assert_eq!(mode(&retired)?, 0o600);
    assert!(!dir.join("keys/authority.key.next").exists());
    let on_disk = tally_node::keys::load_authority_key(&key_file)?;
    assert_eq!(tally_tests::to_hex(on_disk.public().as_bytes()), key_id);

    // The card lists the retired key with its seq bound, and the new key.
    let card = files::read_card(&net.members[us].card_path())?;
    assert_eq!(card.keys.len(), 2, "{card:?}");
    assert_eq!(card.keys[0].public_key, old_key);
    assert_eq!(card.keys[0].retired_after_seq, Some(seq));
    assert_eq!(card.keys[1].public_key, key_id);
    assert_eq!(card.keys[1].retired_after_seq, None);

    // The next entry is signed with the new key, and MX takes it with the
    // card it had.
    let next = net.issue(us, docs::sample("US-DDTC", 1)).await?;
    wait_until(
        CONVERGE,
        "MX holds US's entry after the rotation",
        async || net.seq(mx, "US-DDTC").is_ok_and(|s| s >= next),
    )
    .await?;
    let us_id: AuthorityId = "US-DDTC".parse()?;
    let held = net
        .reader(mx)?
        .entry_at(&us_id, next)?
        .context("held at MX")?;
    assert_eq!(tally_tests::to_hex(held.key_id()), key_id);
    let keys = keys_of(&net, mx, "US-DDTC").await?;
    let old = keys
        .iter()
        .find(|k| k["key_id"] == old_key.as_str())
        .context("old key")?;
    assert_eq!(old["retired_after_seq"], json!(seq));
    let new = keys
        .iter()
        .find(|k| k["key_id"] == key_id.as_str())
        .context("new key")?;
    assert_eq!(new["retired_after_seq"], Value::Null);
    let own = keys_of(&net, us, "US-DDTC").await?;
    let signing = own.iter().filter(|k| k["purpose"] == "signing").count();
    assert_eq!(signing, 2, "{own:?}");

    // After a restart the node signs with the new key from its key file.
    net.restart(us).await?;
    assert_eq!(net.node(us).verifier().public_key_hex(), key_id);
    let after = net.issue(us, docs::sample("US-DDTC", 2)).await?;
    wait_until(
        CONVERGE,
        "MX holds US's entry after the restart",
        async || net.seq(mx, "US-DDTC").is_ok_and(|s| s >= after),
    )
    .await?;
    net.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_declared_compromised_stops_its_entries_counting() -> Result<()> {
    let (us, mx) = (0, 1);
    let net = Net::start_with(&["US-DDTC", "MX-SEDENA"]).await?;
    // In clear, so the test can read the numbers back from US's copy of
    // the log (sealing is tests/sealing.rs's subject).
    let public = |n: usize| {
        let mut doc = docs::sample("MX-SEDENA", n);
        doc["visibility"] = json!("network");
        doc
    };
    // The log may open with MX's own key announcements: the three
    // documents follow them, from seq `first` on.
    let first = net.seq(mx, "MX-SEDENA")? + 1;
    let last = first + 2;
    for n in 0..3 {
        net.issue(mx, public(n)).await?;
    }
    wait_until(CONVERGE, "US holds MX's log", async || {
        net.seq(us, "MX-SEDENA").is_ok_and(|s| s == last)
    })
    .await?;
    let mx_id: AuthorityId = "MX-SEDENA".parse()?;
    let store = net.reader(us)?;
    let numbers: Vec<String> = (first..=last)
        .map(|seq| {
            let e = store.entry_at(&mx_id, seq)?.context("held")?.open()?;
            match e.body {
                tally_model::Body::Document(tally_model::Document::License(l)) => {
                    Ok(l.number().to_string())
                }
                other => anyhow::bail!("seq {seq}: {other:?}"),
            }
        })
        .collect::<Result<_>>()?;
    let mx_key = net.node(mx).verifier().public_key_hex();

    // Compromised after the first document: it counts, the two after not.
    admin::trust_revoke_key(&net.members[us].dir, "MX-SEDENA", &mx_key, first)?;
    // Malformed declarations change nothing.
    assert!(admin::trust_revoke_key(&net.members[us].dir, "MX-SEDENA", "abc", first).is_err());
    assert!(
        admin::trust_revoke_key(
            &net.members[us].dir,
            "MX-SEDENA",
            &mx_key.to_uppercase(),
            first
        )
        .is_err()
    );

    let api = net.api(us);
    wait_until(
        Duration::from_secs(10),
        "key.compromised is raised",
        async || {
            let Ok((200, alerts)) = api
                .get(As::Officer, "/v1/alerts?kind=key.compromised")
                .await
            else {
                return false;
            };
            alerts
                .to_string()
                .contains(&format!("key.compromised:-:MX-SEDENA:{last}\""))
        },
    )
    .await?;
    let (_, alerts) = api
        .get(As::Officer, "/v1/alerts?kind=key.compromised")
        .await?;
    let text = alerts.to_string();
    let raised = |seq: u64| text.contains(&format!("key.compromised:-:MX-SEDENA:{seq}\""));
    assert!(raised(first + 1), "{text}");
    assert!(!(1..=first).any(raised), "{text}");

    // Stored still, counted no more.
    assert_eq!(net.seq(us, "MX-SEDENA")?, last);
    let (status, _) = api
        .get(
            As::Officer,
            &format!("/v1/licenses/MX-SEDENA/{}", numbers[0]),
        )
        .await?;
    assert_eq!(status, 200);
    for n in &numbers[1..] {
        let (status, body) = api
            .get(As::Officer, &format!("/v1/licenses/MX-SEDENA/{n}"))
            .await?;
        assert_eq!(status, 404, "{n}: {body}");
    }
    let keys = keys_of(&net, us, "MX-SEDENA").await?;
    assert_eq!(keys[0]["compromised_after_seq"], json!(first), "{keys:?}");

    // New entries of that key are refused (Ignored) from now on.
    net.issue(mx, public(3)).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        net.seq(us, "MX-SEDENA")?,
        last,
        "a compromised key's new entry was taken"
    );
    net.shutdown().await;
    Ok(())
}

/// Regression (issue 20: a missing `keys/encryption.key` was silently
/// regenerated at start, and the node stopped reading what peers sealed to
/// the announced key): a node whose card announced its encryption key
/// refuses to start without the file, naming it and the fix, and creates
/// nothing; with the file restored it starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_encryption_key_refuses_the_start() -> Result<()> {
    let mut net = Net::init(&["US-DDTC"])?;
    net.start_node(0).await?;
    net.stop_node(0).await?;
    let file = net.dir(0).join("keys/encryption.key");
    let saved = std::fs::read(&file)?;
    std::fs::remove_file(&file)?;
    let err = match net.start_node(0).await {
        Ok(()) => anyhow::bail!("the node started without its announced encryption key"),
        Err(e) => format!("{e:#}"),
    };
    ensure!(err.contains("keys/encryption.key"), "{err}");
    ensure!(err.contains("Restore") && err.contains("backup"), "{err}");
    ensure!(!file.exists(), "a key was created in its place");

    tally_node::keys::write_secret(&file, &saved)?;
    net.start_node(0).await?;
    net.shutdown().await;
    Ok(())
}

/// Issue 28, finding 1: retired encryption secrets can be dropped past a
/// retention date (`tally keys drop-retired`, node stopped). Without
/// `--yes` nothing changes; with it the secret retired before the date is
/// deleted, the node starts, the document sealed only to it answers 200
/// with `"document": null` and `"unreadable"`, and what was sealed to the
/// current key, before and after, still opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_retired_encryption_keys_leaves_their_documents_unreadable() -> Result<()> {
    let mut net = Net::init(&["US-DDTC"])?;
    net.start_node(0).await?;
    let issue = async |api: &tally_tests::Api, number: &str| -> Result<()> {
        let (status, body) = api
            .post(
                As::Issuer,
                "/v1/licenses",
                &docs::import(number, "US", "MX", 5),
            )
            .await?;
        ensure!(status == 201, "{number}: {status} {body}");
        Ok(())
    };
    let api = net.api(0);
    issue(&api, "IC-OLD").await?;
    let (status, rotated) = api
        .post(
            As::Admin,
            "/v1/keys/rotate",
            &json!({"purpose": "encryption"}),
        )
        .await?;
    ensure!(status == 200, "rotate: {status} {rotated}");
    let seq = rotated["entry"]["seq"].as_u64().context("seq")?;
    issue(&api, "IC-NEW").await?;
    net.stop_node(0).await?;

    let dir = net.dir(0).to_path_buf();
    let retired = dir.join(format!("keys/encryption.key.retired-{seq}"));
    let tomorrow: tally_model::Date = docs::day(1).parse()?;
    let listed = tally_node::archive::drop_retired(&dir, tomorrow, false)?;
    ensure!(
        listed.dropped.len() == 1 && retired.exists(),
        "{}",
        listed.text()
    );
    ensure!(listed.text().contains("would drop"), "{}", listed.text());
    let yesterday: tally_model::Date = docs::day(-1).parse()?;
    let none = tally_node::archive::drop_retired(&dir, yesterday, true)?;
    ensure!(
        none.dropped.is_empty() && retired.exists(),
        "{}",
        none.text()
    );
    let done = tally_node::archive::drop_retired(&dir, tomorrow, true)?;
    ensure!(
        done.dropped.len() == 1 && !retired.exists(),
        "{}",
        done.text()
    );
    assert_eq!(mode(&dir.join("keys/encryption.key"))?, 0o600);

    net.start_node(0).await?;
    let api = net.api(0);
    issue(&api, "IC-AFTER").await?;
    let (status, old) = api.get(As::Officer, "/v1/licenses/US-DDTC/IC-OLD").await?;
    assert_eq!(status, 200, "{old}");
    assert_eq!(old["document"], Value::Null, "{old}");
    assert!(
        old["unreadable"].as_str().is_some_and(|r| !r.is_empty()),
        "{old}"
    );
    for number in ["IC-NEW", "IC-AFTER"] {
        let (status, body) = api
            .get(As::Officer, &format!("/v1/licenses/US-DDTC/{number}"))
            .await?;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["document"]["number"], number, "{body}");
    }
    net.shutdown().await;
    Ok(())
}
