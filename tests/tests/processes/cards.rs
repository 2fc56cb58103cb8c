//! Card fingerprints through the CLI: `init --json` reports its card's,
//! `trust add` prints the card's and, with `--expect-fingerprint`, refuses a
//! mismatch without changing anything; `trust list` shows them.

use super::rig;
use anyhow::{Context, Result, ensure};
use serde_json::Value;

/// 16 groups of 4 lowercase hex digits joined by dashes.
fn is_fingerprint(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 16
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn init_json(dir: &std::path::Path, authority: &str) -> Result<Value> {
    let api = format!("127.0.0.1:{}", rig::free_port());
    let out = rig::tally_init(dir, authority, &api, &["--json"])?;
    ensure!(
        out.status.success(),
        "tally init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    serde_json::from_str(&out).with_context(|| format!("init --json printed {out:?}"))
}

#[test]
fn trust_add_checks_the_card_fingerprint() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let (us, mx) = (tmp.path().join("us"), tmp.path().join("mx"));
    let us_init = init_json(&us, super::US)?;
    let mx_init = init_json(&mx, super::MX)?;
    let mx_fp = mx_init["fingerprint"]
        .as_str()
        .context("init --json has a fingerprint")?
        .to_owned();
    ensure!(is_fingerprint(&mx_fp), "init's fingerprint {mx_fp:?}");
    ensure!(
        us_init["fingerprint"].as_str().is_some_and(is_fingerprint)
            && us_init["fingerprint"] != mx_init["fingerprint"],
        "two authorities' fingerprints: {us_init} {mx_init}"
    );
    let card = mx.join("card.toml");
    let (us_s, card_s) = (rig::path_str(&us)?, rig::path_str(&card)?);

    // A mismatch (one digit off) refuses, says so, and changes nothing.
    let mut wrong = mx_fp.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong)?;
    let trust_before = std::fs::read(us.join("trust.toml"))?;
    let dir_before = rig::snapshot(&us)?;
    let add = |fp: &str| {
        rig::tally(&[
            "trust",
            "add",
            "--dir",
            us_s,
            card_s,
            "--expect-fingerprint",
            fp,
        ])
    };
    let out = add(&wrong)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "a mismatch exited 0: {stderr}");
    ensure!(
        stderr.contains("fingerprint mismatch") && stderr.contains(&mx_fp),
        "the refusal does not explain itself: {stderr}"
    );
    ensure!(
        std::fs::read(us.join("trust.toml"))? == trust_before,
        "a refused trust add changed trust.toml"
    );
    ensure!(
        rig::snapshot(&us)? == dir_before,
        "a refused trust add changed the node directory"
    );
    eprintln!(
        "  mismatch: exit {}, {}",
        out.status.code().unwrap_or(-1),
        stderr.trim()
    );

    // The right fingerprint, as read out over the phone: spaces, capitals.
    let out = add(&mx_fp.replace('-', " ").to_uppercase())?;
    ensure!(
        out.status.success(),
        "a matching fingerprint was refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        stdout.contains(&mx_fp),
        "trust add does not print the fingerprint: {stdout}"
    );
    ensure!(
        std::fs::read(us.join("trust.toml"))? != trust_before,
        "trust add did not write the trust list"
    );

    // Without --expect-fingerprint it still prints it.
    let out = rig::tally_ok(&["trust", "add", "--dir", us_s, card_s])?;
    ensure!(out.contains(&mx_fp), "trust add printed {out:?}");

    let list = rig::tally_ok(&["trust", "list", "--dir", us_s])?;
    ensure!(list.contains(&mx_fp), "trust list printed {list:?}");
    let list: Value =
        serde_json::from_str(&rig::tally_ok(&["trust", "list", "--dir", us_s, "--json"])?)?;
    ensure!(
        list[0]["authority"] == super::MX && list[0]["fingerprint"] == mx_fp.as_str(),
        "trust list --json: {list}"
    );
    Ok(())
}
