//! A node whose signing key is in a SoftHSM2 token (docs/OPERATIONS.md,
//! "Signing keys in an HSM (PKCS#11)"): made by `tally init --pkcs11-module`
//! or moved there by `tally keys migrate`, signing entries a peer verifies,
//! across a restart; the token taken away while it runs; a wrong PIN.
//!
//! Each test runs in a token of its own, in a child process of this test
//! binary (tally-custody's test support, shared); without SoftHSM2 they
//! skip with a notice, unless `TALLY_REQUIRE_SOFTHSM=1`.

#[path = "processes/rig.rs"]
#[allow(dead_code)]
mod rig;
#[path = "../../crates/custody/tests/support/mod.rs"]
mod support;

use anyhow::{Context, Result, ensure};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{PIN, TOKEN_LABEL, Token, in_own_token};
use tally_node::signing::{PIN_REFUSED_EXIT, SigningConfig};
use tally_tests::{As, Net, docs, wait_until};

const REPLICATION: Duration = Duration::from_secs(20);

fn signing(token: &Token, key_label: &str, pin: &str) -> SigningConfig {
    let pin_file = token.dir.join(format!("pin-{key_label}"));
    std::fs::write(&pin_file, format!("{pin}\n")).expect("the PIN file");
    SigningConfig {
        pkcs11_module: support::module(),
        token_label: TOKEN_LABEL.into(),
        key_label: key_label.into(),
        pin_file,
    }
}

fn block_on(test: impl std::future::Future<Output = Result<()>>) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test)
        .expect("the test passed");
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("readable").flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// Whether some file under `dir` holds `secret`, raw or as hex (either case).
fn holds(dir: &Path, secret: &[u8]) -> Option<PathBuf> {
    let hex_lower = hex::encode(secret).into_bytes();
    let hex_upper = hex::encode_upper(secret).into_bytes();
    files_under(dir).into_iter().find(|path| {
        let bytes = std::fs::read(path).unwrap_or_default();
        [secret, &hex_lower[..], &hex_upper[..]]
            .iter()
            .any(|needle| bytes.windows(needle.len()).any(|w| w == *needle))
    })
}

/// Issues a sample license at node `i` through its API; the answer's status.
async fn post(net: &Net, i: usize, n: usize) -> Result<(u16, serde_json::Value)> {
    let doc = docs::sample(net.authority(i), n);
    net.api(i).post(As::Issuer, "/v1/licenses", &doc).await
}

/// Waits until node `j` holds node `i`'s log up to `seq`.
async fn held(net: &Net, j: usize, i: usize, seq: u64) -> Result<()> {
    let authority = net.authority(i).to_string();
    wait_until(REPLICATION, "the peer holds the entry", async || {
        net.seq(j, &authority).is_ok_and(|s| s >= seq)
    })
    .await?;
    Ok(())
}

#[test]
fn a_migrated_node_signs_through_the_token_and_its_peer_verifies() {
    in_own_token(
        "a_migrated_node_signs_through_the_token_and_its_peer_verifies",
        |token| block_on(migrated_node(token)),
    );
}

async fn migrated_node(token: &Token) -> Result<()> {
    let mut net = Net::init(&["US-DDTC", "MX-SEDENA", "GT-DIGECAM"])?;
    let key_file = net.dir(0).join("keys/authority.key");
    let old = hex::decode(std::fs::read_to_string(&key_file)?.trim())?;
    let moved = tally_node::migrate::migrate(net.dir(0), signing(token, "us-2", PIN)).await?;
    ensure!(moved.seq == 1, "the rotation is the log's first entry");
    ensure!(!key_file.exists(), "the key file is gone");
    ensure!(
        holds(net.dir(0), &old).is_none(),
        "the old key's bytes remain"
    );
    let card = tally_node::files::read_card(&net.dir(0).join("card.toml"))?;
    let current = card.keys.iter().find(|k| k.retired_after_seq.is_none());
    ensure!(current.is_some_and(|k| k.public_key == moved.public_key));
    // Run again: nothing more to do.
    ensure!(
        tally_node::migrate::migrate(net.dir(0), signing(token, "us-2", PIN))
            .await
            .is_err(),
        "a second migration is refused"
    );

    net.start_node(0).await?;
    net.start_node(1).await?;
    net.trust_all()?;
    net.wait_links().await?;
    let (status, body) = post(&net, 0, 1).await?;
    ensure!(status == 201, "issued through the token: {status} {body}");
    held(&net, 1, 0, 2).await?;
    net.restart(0).await?;
    let (status, body) = post(&net, 0, 2).await?;
    ensure!(status == 201, "issued after a restart: {status} {body}");
    held(&net, 1, 0, 3).await?;
    token_away(&net, token).await?;
    rotated_in_token(&mut net, &moved.public_key).await?;
    net.shutdown().await;
    Ok(())
}

/// `POST /v1/keys/rotate` while the node signs through the token: the next
/// key pair is made in the token, announced, named in `tally.toml` and on
/// the card; the node signs with it, across a restart; a node that starts
/// only now catches up across both token keys.
async fn rotated_in_token(net: &mut Net, migrated: &str) -> Result<()> {
    let (status, body) = net
        .api(0)
        .post(
            As::Admin,
            "/v1/keys/rotate",
            &serde_json::json!({"purpose": "signing"}),
        )
        .await?;
    ensure!(status == 200, "rotated in the token: {status} {body}");
    let key_id = body["key_id"].as_str().context("key_id")?.to_string();
    let seq = body["entry"]["seq"].as_u64().context("seq")?;
    ensure!(key_id != migrated, "a new key");
    let config = std::fs::read_to_string(net.dir(0).join("tally.toml"))?;
    ensure!(
        config.contains("\"us-2-k2\""),
        "tally.toml names the next pair:\n{config}"
    );
    let card = tally_node::files::read_card(&net.dir(0).join("card.toml"))?;
    let current = card.keys.iter().find(|k| k.retired_after_seq.is_none());
    ensure!(current.is_some_and(|k| k.public_key == key_id), "{card:?}");
    ensure!(
        card.keys
            .iter()
            .any(|k| k.public_key == migrated && k.retired_after_seq == Some(seq)),
        "the migrated key is retired at the rotation: {card:?}"
    );
    let (status, body) = post(net, 0, 4).await?;
    ensure!(status == 201, "issued with the new key: {status} {body}");
    held(net, 1, 0, seq + 1).await?;
    net.restart(0).await?;
    let (status, body) = post(net, 0, 5).await?;
    ensure!(status == 201, "issued after a restart: {status} {body}");
    // Node 0 listens on a new port since its restarts: node 2 is given its
    // current card.
    net.trust(2, 0)?;
    net.start_node(2).await?;
    net.wait_links().await?;
    held(net, 2, 0, seq + 2).await?;
    held(net, 1, 0, seq + 2).await
}

/// The token's files taken away while the node runs: writes 503 naming the
/// token, health degraded, reads answered; back, health and writes recover
/// without a restart.
async fn token_away(net: &Net, token: &Token) -> Result<()> {
    let away = token.dir.join("away");
    std::fs::rename(token.tokens(), &away)?;
    std::fs::create_dir(token.tokens())?;
    let (status, body) = post(net, 0, 3).await?;
    ensure!(status == 503, "a write while away: {status} {body}");
    ensure!(body["error"]["code"] == "unavailable", "{body}");
    ensure!(
        body.to_string().contains(TOKEN_LABEL),
        "names the token: {body}"
    );
    let (status, body) = net.api(0).get(As::Officer, "/v1/health").await?;
    ensure!(
        status == 503 && body["status"] == "degraded",
        "{status} {body}"
    );
    ensure!(body["reason"].to_string().contains(TOKEN_LABEL), "{body}");
    let path = format!("/v1/licenses/{}/IC-00001", net.authority(0));
    let (status, body) = net.api(0).get(As::Officer, &path).await?;
    ensure!(status == 200, "reads go on: {status} {body}");

    std::fs::remove_dir(token.tokens())?;
    std::fs::rename(&away, token.tokens())?;
    let api = net.api(0);
    wait_until(REPLICATION, "health is ok again", async || {
        api.get(As::Officer, "/v1/health")
            .await
            .is_ok_and(|(s, _)| s == 200)
    })
    .await?;
    let (status, body) = post(net, 0, 3).await?;
    ensure!(status == 201, "issued once back: {status} {body}");
    held(net, 1, 0, 4).await
}

#[test]
fn a_node_born_in_the_token_has_no_key_file_and_a_wrong_pin_exits_3() {
    in_own_token(
        "a_node_born_in_the_token_has_no_key_file_and_a_wrong_pin_exits_3",
        |token| born_in_token(token).expect("the test passed"),
    );
}

fn born_in_token(token: &Token) -> Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("us");
    let config = signing(token, "us-1", PIN);
    let init = tally_node::admin::init_with(
        &dir,
        "US-DDTC",
        "US (test)",
        "/ip4/127.0.0.1/tcp/0",
        "127.0.0.1:0",
        None,
        Some(config.clone()),
    )?;
    ensure!(!dir.join("keys/authority.key").exists());
    // The card's signing key is the token's.
    let public = tally_custody_public(&config)?;
    let card = tally_node::files::read_card(&init.card)?;
    ensure!(card.keys.len() == 1 && card.keys[0].public_key == hex::encode(public));
    // No file holds a secret whose public key is the card's: every 32-byte
    // window of the small files, and every run of 64 hex digits anywhere.
    for path in files_under(&dir) {
        let bytes = std::fs::read(&path)?;
        ensure!(
            !derives(&bytes, &public),
            "{} holds the signing key",
            path.display()
        );
    }
    let toml = std::fs::read_to_string(dir.join("tally.toml"))?;
    ensure!(toml.contains("[signing]") && !toml.contains(PIN), "{toml}");

    // A wrong PIN: refused at start, status 3, a clear message, no PIN.
    std::fs::write(&config.pin_file, "0000-wrong\n")?;
    let out = std::process::Command::new(rig::tally_bin()?)
        .args(["run", "--dir"])
        .arg(&dir)
        .output()
        .context("tally run")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(i32::from(PIN_REFUSED_EXIT)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    ensure!(stderr.contains("refused the PIN"), "{stderr}");
    ensure!(
        !stderr.contains("0000-wrong") && !stderr.contains(PIN),
        "{stderr}"
    );
    Ok(())
}

/// The public key of the token's key of `config`.
fn tally_custody_public(config: &SigningConfig) -> Result<[u8; 32]> {
    use tally_custody::Signer;
    Ok(tally_custody::Pkcs11Signer::open(config.pkcs11()?)?.public_key())
}

/// Whether an Ed25519 secret in `bytes` has the public key `public`.
fn derives(bytes: &[u8], public: &[u8; 32]) -> bool {
    let is_it = |secret: &[u8]| {
        <[u8; 32]>::try_from(secret).is_ok_and(|s| {
            tally_model::AuthorityKey::from_bytes(&s)
                .public()
                .to_bytes()
                == *public
        })
    };
    let raw = bytes.len() <= 64 * 1024 && bytes.windows(32).any(is_it);
    let text = String::from_utf8_lossy(bytes);
    let hex_runs = text
        .split(|c: char| !c.is_ascii_hexdigit())
        .filter(|run| run.len() >= 64)
        .any(|run| {
            (0..=run.len() - 64).any(|i| hex::decode(&run[i..i + 64]).is_ok_and(|s| is_it(&s)))
        });
    raw || hex_runs
}

#[test]
fn the_demo_signs_through_the_token() {
    in_own_token("the_demo_signs_through_the_token", |token| {
        block_on(demo_in_token(token))
    });
}

/// `tally demo --pkcs11-module ...` as a process: every authority's key
/// pair is made in the token, the sample data is issued through it and
/// replicated (the demo is ready only then), and no node directory holds a
/// signing key file.
async fn demo_in_token(token: &Token) -> Result<()> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let root = tempfile::tempdir()?;
    let pin = signing(token, "demo", PIN).pin_file;
    let log = root.path().join("demo.log");
    let mut child = tokio::process::Command::new(rig::tally_bin()?)
        .arg("demo")
        .arg("--dir")
        .arg(root.path().join("demo"))
        .args(["--base-port", "4880"])
        .arg("--pkcs11-module")
        .arg(support::module())
        .args(["--token-label", TOKEN_LABEL])
        .arg("--pin-file")
        .arg(&pin)
        .env("NO_COLOR", "1")
        .env("TALLY_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .kill_on_drop(true)
        .spawn()
        .context("spawning tally demo")?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut printed: Vec<String> = Vec::new();
    let ready = tokio::time::timeout(Duration::from_secs(120), async {
        while !printed.last().is_some_and(|l| l.contains("Ctrl-C stops")) {
            match lines.next_line().await? {
                Some(line) => printed.push(line),
                None => anyhow::bail!("the demo closed its output"),
            }
        }
        Ok(())
    })
    .await;
    let text = printed.join("\n");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    ensure!(
        matches!(ready, Ok(Ok(()))),
        "the demo was not ready: {ready:?}\n{text}\n{log_text}"
    );
    let signing: Vec<&String> = printed
        .iter()
        .filter(|l| l.trim_start().starts_with("signing") && l.contains(TOKEN_LABEL))
        .collect();
    ensure!(
        signing.len() == 4,
        "every authority signs in the token:\n{text}"
    );
    for authority in ["us-bis", "mx-sedena", "gt-digecam", "jm-fla"] {
        let dir = root.path().join("demo").join(authority);
        ensure!(dir.join("tally.toml").exists(), "{authority} was made");
        ensure!(
            !dir.join("keys/authority.key").exists(),
            "{authority} has no signing key file"
        );
    }
    child.kill().await?;
    Ok(())
}
