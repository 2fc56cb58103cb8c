//! Paper seals on a whole `tally` process: with `[paper] enabled = true`
//! the node creates its paper key (0600) and announces it in its own log
//! at the first start (once: a restart announces nothing), and `tally paper
//! print` gives a page with the QR seal and a seal that verifies as
//! genuine against that key.

use super::docs;
use super::rig::{Net, path_str, tally, tally_ok};
use anyhow::{Context, Result, ensure};
use std::time::Duration;
use tally_model::signer::{FileSigner, Signer as _};

const US: &str = "US-DDTC";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_seal_verifies_against_the_announced_paper_key() -> Result<()> {
    let mut net = Net::init(&[US])?;
    let dir = net.node(US).dir.clone();
    let config = dir.join("tally.toml");
    let text = std::fs::read_to_string(&config)?;
    ensure!(text.contains("[paper]\nenabled = false"), "{text}");
    std::fs::write(
        &config,
        text.replace("[paper]\nenabled = false", "[paper]\nenabled = true"),
    )?;
    net.start_all().await?;

    let key_file = dir.join("keys/paper.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)?.permissions().mode() & 0o777;
        ensure!(mode == 0o600, "paper.key mode {mode:o}");
    }
    let log = net.node(US).get(&format!("/v1/log/{US}?from=1")).await?;
    ensure!(log[0]["kind"] == "paper_key", "{log}");

    let ic = net
        .node(US)
        .issue(&docs::import("IC-1", "US", "MX"))
        .await?;
    ensure!(
        ic.seq == 2,
        "the first document follows the announcement: {}",
        ic.seq
    );

    let api = net.node(US).base.clone();
    let token = net.node(US).issuer_token().to_owned();
    let seal = tally_ok(&[
        "paper", "print", "--api", &api, "--token", &token, US, "IC-1", "--seal",
    ])?;
    let read = tally_verify::paper::read(seal.trim()).context("the printed seal reads")?;
    ensure!(
        read.summary.number == "IC-1" && read.summary.kind == "import",
        "{:?}",
        read.summary
    );
    let secret = std::fs::read_to_string(&key_file)?;
    let secret: [u8; 32] = hex::decode(secret.trim())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("32 bytes"))?;
    let public = FileSigner::new(&tally_model::AuthorityKey::from_bytes(&secret)).public_key();
    let keys = [tally_verify::paper::PaperKey {
        authority: US.into(),
        public_key: public,
        compromised: false,
    }];
    ensure!(read.genuine(&keys) == tally_verify::paper::Genuine::Genuine);

    let page = dir.join("IC-1.html");
    tally_ok(&[
        "paper",
        "print",
        "--api",
        &api,
        "--token",
        &token,
        US,
        "IC-1",
        "--out",
        path_str(&page)?,
    ])?;
    let html = std::fs::read_to_string(&page)?;
    ensure!(html.contains("<svg") && html.contains("IC-1"), "{html}");
    let prints = std::fs::read_to_string(dir.join("paper-prints.jsonl"))?;
    ensure!(prints.lines().count() == 2, "{prints}");

    // Offline: the bundle, then the seal checked against it with no network.
    let bundle = dir.join("bundle.json");
    let seal_file = dir.join("IC-1.seal");
    std::fs::write(&seal_file, &seal)?;
    let (bundle_s, seal_s) = (
        path_str(&bundle)?.to_owned(),
        path_str(&seal_file)?.to_owned(),
    );
    tally_ok(&[
        "paper", "bundle", "--api", &api, "--token", &token, "--out", &bundle_s,
    ])?;
    let verify = |args: &[&str]| -> Result<(i32, serde_json::Value)> {
        let mut all = vec!["paper", "verify"];
        all.extend_from_slice(args);
        let out = tally(&all)?;
        let code = out.status.code().context("an exit code")?;
        let json = serde_json::from_slice(&out.stdout).unwrap_or_default();
        Ok((code, json))
    };
    let (code, v) = verify(&[&seal_s, "--bundle", &bundle_s, "--json"])?;
    ensure!(
        code == 0 && v["verdict"] == "genuine" && v["status"] == "active",
        "{code} {v}"
    );
    ensure!(v["document"]["number"] == "IC-1", "{v}");

    net.node(US)
        .post(
            "/v1/licenses/US-DDTC/IC-1/status",
            &serde_json::json!({"status": "revoked", "reason": "withdrawn"}),
        )
        .await?;
    tally_ok(&[
        "paper", "bundle", "--api", &api, "--token", &token, "--out", &bundle_s,
    ])?;
    let (code, v) = verify(&[&seal_s, "--bundle", &bundle_s, "--json"])?;
    ensure!(
        code == 1 && v["verdict"] == "genuine" && v["status"] == "revoked",
        "{code} {v}"
    );

    std::fs::write(&seal_file, "TLY1:NOT A SEAL")?;
    let (code, v) = verify(&[&seal_s, "--bundle", &bundle_s, "--json"])?;
    ensure!(code == 1 && v["verdict"] == "not_a_seal", "{code} {v}");
    let missing = path_str(&dir)?.to_owned() + "/no-bundle.json";
    let (code, _) = verify(&[&seal_s, "--bundle", &missing])?;
    ensure!(code == 2, "no bundle: exit {code}");

    // A restart announces nothing more.
    net.node_mut(US).sigterm(WAIT).await?;
    net.node_mut(US).start().await?;
    let heads = net.node(US).heads().await?;
    ensure!(
        heads.get(US).map(|h| h.seq) == Some(3),
        "key, IC-1, its revocation: {heads:?}"
    );
    net.pass();
    Ok(())
}
