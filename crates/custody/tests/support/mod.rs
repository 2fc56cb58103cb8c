//! A SoftHSM2 token of its own for each test, in a temporary directory.
//!
//! SoftHSM2 reads its configuration (`SOFTHSM2_CONF`) once per process, when
//! the module is initialised, and the crate forbids the `unsafe` that setting
//! an environment variable in-process takes. So [`in_own_token`] runs the
//! test again in a child process of the test binary, with `SOFTHSM2_CONF`
//! naming a configuration whose `directories.tokendir` is the test's own
//! temporary directory, and the token initialised there by `softhsm2-util`.
//!
//! Without SoftHSM2 the tests skip with a notice, or fail when
//! `TALLY_REQUIRE_SOFTHSM=1` (as `.ci/run` sets it).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use tally_custody::Pkcs11Config;

/// Debian's `softhsm2` package puts its module here; `TALLY_PKCS11_MODULE`
/// names another.
pub const DEBIAN_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const TOKEN_LABEL: &str = "tally-test";
pub const PIN: &str = "1234-user";
pub const SO_PIN: &str = "5678-so";
/// Set in the child process: the test's temporary directory.
const CHILD: &str = "TALLY_SOFTHSM_TEST_DIR";

pub fn module() -> PathBuf {
    std::env::var_os("TALLY_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_MODULE))
}

/// The test's token, as the child process sees it.
pub struct Token {
    /// The temporary directory: `softhsm2.conf` and `tokens/`.
    pub dir: PathBuf,
}

impl Token {
    pub fn tokens(&self) -> PathBuf {
        self.dir.join("tokens")
    }

    pub fn config(&self, key_label: &str) -> Pkcs11Config {
        self.config_with_pin(key_label, PIN)
    }

    pub fn config_with_pin(&self, key_label: &str, pin: &str) -> Pkcs11Config {
        Pkcs11Config {
            // Tests look for a token that is back at once.
            reconnect_interval: std::time::Duration::ZERO,
            ..Pkcs11Config::new(module(), TOKEN_LABEL, key_label, pin.into())
        }
    }
}

/// Whether SoftHSM2 is here; when it is not, fails under
/// `TALLY_REQUIRE_SOFTHSM=1` and otherwise prints why the test is skipped.
fn softhsm_present() -> bool {
    let util = Command::new("softhsm2-util").arg("--version").output();
    let present = module().exists() && util.is_ok_and(|o| o.status.success());
    if present {
        return true;
    }
    let why = format!(
        "SoftHSM2 is not installed (no {} or no softhsm2-util): \
         install the Debian package softhsm2 (`apt-get install softhsm2`)",
        module().display()
    );
    assert!(
        std::env::var("TALLY_REQUIRE_SOFTHSM").as_deref() != Ok("1"),
        "{why}; TALLY_REQUIRE_SOFTHSM=1 requires it"
    );
    eprintln!("skipped: {why}");
    false
}

/// Runs `body` with a freshly initialised token of its own: in the child
/// process (see the module's docs), or, in the parent, starts that child for
/// the test named `test` and checks that it passed.
pub fn in_own_token(test: &str, body: impl FnOnce(&Token)) {
    if let Some(dir) = std::env::var_os(CHILD) {
        body(&Token {
            dir: PathBuf::from(dir),
        });
        return;
    }
    if !softhsm_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = write_config(dir.path());
    init_token(&conf);
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD, dir.path())
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(out.status.success(), "{test} failed in its own token");
    assert!(
        stdout.contains("1 passed"),
        "{test} did not run in the child (filter matched nothing?)"
    );
}

fn write_config(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).expect("the token directory");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("the SoftHSM2 configuration");
    conf
}

fn init_token(conf: &Path) {
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .expect("softhsm2-util runs");
    assert!(
        out.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
