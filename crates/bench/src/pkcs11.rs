//! `issue_pkcs11_per_s`: licenses issued per second by a verifier that signs
//! through a SoftHSM2 token (docs/OPERATIONS.md, "Signing keys in an HSM
//! (PKCS#11)"): validation, the signature in the token, the append (one
//! durable commit each), one after the other, in-process (no HTTP). Null
//! when SoftHSM2 is absent.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, so the figure is taken
//! in a child process of this binary (`--pkcs11-child DIR N`) whose
//! environment names a token initialised in a temporary directory.

use crate::progress;
use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tally_custody::{Pkcs11Config, Pkcs11Signer, Signer};
use tally_model::License;
use tally_store::{EngineKind, Store};
use tally_verify::{NoPublish, Verifier};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "tally-bench";
const PIN: &str = "1234-bench";

/// Runs the child on a fresh token; `None` without SoftHSM2.
pub fn run(quick: bool) -> anyhow::Result<Option<f64>> {
    let util = Command::new("softhsm2-util").arg("--version").output();
    if !Path::new(MODULE).exists() || !util.is_ok_and(|o| o.status.success()) {
        progress!("pkcs11: skipped, SoftHSM2 is not installed (apt-get install softhsm2)");
        return Ok(None);
    }
    let dir = tempfile::tempdir()?;
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens)?;
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN])
        .args(["--so-pin", "5678-bench"])
        .env("SOFTHSM2_CONF", &conf)
        .output()?;
    if !init.status.success() {
        bail!(
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }
    let n = if quick { 300 } else { 2_000 };
    progress!("pkcs11: issuing {n} licenses through a SoftHSM2 token");
    let out = Command::new(std::env::current_exe()?)
        .arg("--pkcs11-child")
        .arg(dir.path())
        .arg(n.to_string())
        .env("SOFTHSM2_CONF", &conf)
        .output()?;
    if !out.status.success() {
        bail!(
            "the pkcs11 child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let per_s: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("the pkcs11 child's figure")?;
    progress!("pkcs11: {per_s:.0} issues/s");
    Ok(Some(per_s))
}

/// A US-DDTC import certificate from MX, numbered `n`.
fn import(n: usize) -> License {
    tally_testkit::docs::us_import_from_mx(&format!("IC-{n:06}"))
}

/// The child: a key generated in the token, `n` licenses issued after a
/// short warm-up; prints issues per second.
pub fn child(dir: &Path, n: usize) -> anyhow::Result<()> {
    let config = Pkcs11Config::new(MODULE, TOKEN, "us-ddtc-bench", PIN.into());
    let signer: Arc<dyn Signer> = Arc::new(Pkcs11Signer::generate(config)?);
    let store = Store::open(&dir.join("store"), EngineKind::default())?;
    let trust = tally_testkit::trust_list(&[("MX-SEDENA", 2)]);
    let v = Verifier::builder(store, "US-DDTC".parse()?, signer)
        .trust(Arc::new(RwLock::new(trust)))
        .publish(Box::new(NoPublish))
        .build();
    for i in 0..20 {
        v.issuer().issue(import(i))?;
    }
    let started = Instant::now();
    for i in 20..20 + n {
        v.issuer().issue(import(i))?;
    }
    println!("{}", n as f64 / started.elapsed().as_secs_f64());
    Ok(())
}
