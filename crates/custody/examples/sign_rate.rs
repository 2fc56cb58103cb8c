//! Signatures per second through SoftHSM2, the figure behind the bench's
//! `issue_pkcs11_per_s` (the target is at least 300 issues/s).
//!
//! ```text
//! cargo run --release -p tally-custody --example sign_rate [SECONDS]
//! ```
//!
//! Makes a token of its own in a temporary directory (through
//! `SOFTHSM2_CONF`, run again in a child process of itself, as the tests
//! do), generates a key in it, and signs entry-sized messages for SECONDS
//! (default 3) on one thread, then on two, through one signer; the
//! file-key signer is timed alongside for scale.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_custody::{FileSigner, Pkcs11Config, Pkcs11Signer, Signer};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const CHILD: &str = "TALLY_SIGN_RATE_CHILD";
/// About a license entry's size with its domain prefix.
const MESSAGE_BYTES: usize = 1200;

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    if std::env::var_os(CHILD).is_some() {
        measure(Duration::from_secs(seconds));
        return;
    }
    let module = std::env::var("TALLY_PKCS11_MODULE").unwrap_or_else(|_| MODULE.into());
    if !Path::new(&module).exists() {
        eprintln!("no PKCS#11 module at {module}: install softhsm2 (apt-get install softhsm2)");
        std::process::exit(2);
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = token_in(dir.path());
    let status = Command::new(std::env::current_exe().expect("this program"))
        .arg(seconds.to_string())
        .env("SOFTHSM2_CONF", &conf)
        .env("TALLY_PKCS11_MODULE", &module)
        .env(CHILD, "1")
        .status()
        .expect("runs");
    std::process::exit(status.code().unwrap_or(1));
}

/// A SoftHSM2 configuration and an initialised token under `dir`.
fn token_in(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).expect("token directory");
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    std::fs::write(&conf, text).expect("configuration");
    let ok = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "rate"])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "softhsm2-util --init-token failed");
    conf
}

fn measure(duration: Duration) {
    let module = std::env::var("TALLY_PKCS11_MODULE").unwrap_or_else(|_| MODULE.into());
    let config = Pkcs11Config::new(module, "rate", "rate-key", "1234".into());
    let token: Arc<dyn Signer> = Arc::new(Pkcs11Signer::generate(config).expect("a key"));
    let file: Arc<dyn Signer> = Arc::new(FileSigner::new(&tally_model::AuthorityKey::from_bytes(
        &[1; 32],
    )));
    println!("message: {MESSAGE_BYTES} bytes; {duration:?} per run");
    for threads in [1, 2] {
        let rate = rate(&token, threads, duration);
        println!("pkcs11 (SoftHSM2), {threads} thread(s): {rate:.0} signatures/s");
    }
    let rate = rate(&file, 1, duration);
    println!("file key, 1 thread: {rate:.0} signatures/s");
}

/// Signatures per second by `threads` threads sharing `signer`.
fn rate(signer: &Arc<dyn Signer>, threads: usize, duration: Duration) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let signer = Arc::clone(signer);
            std::thread::spawn(move || {
                let mut message = tally_model::entry::DOMAIN.to_vec();
                message.resize(MESSAGE_BYTES, t as u8);
                let mut n = 0u64;
                while start.elapsed() < duration {
                    message[20..28].copy_from_slice(&n.to_le_bytes());
                    signer.sign(&message).expect("signed");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    total as f64 / start.elapsed().as_secs_f64()
}
