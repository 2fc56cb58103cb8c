//! The two checks of a store's logs (every chain's hashes, links, seqs,
//! heads and hash index, and every entry's signature): `tally verify-store`
//! on a stopped node ([`verify_store`]), and the running node's background
//! check once it serves (`spawn_background_check`). Both judge signatures
//! with [`SignatureJudge`].

use crate::admin::progress_reporter;
use crate::config::Settings;
use crate::{files, keys};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tally_model::TrustList;
use tally_store::Store;
use tally_verify::{Integrity, Verifier};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Judges each entry's signature for a walk over the logs
/// ([`tally_store::Store::check_chains`]): `tally verify-store`, and the
/// running node's background check. The signature must verify with the key
/// the entry names, and that key must be one the authority ever had (its
/// card in `trust`, or a rotation in its log); an entry signed by a key not
/// trusted now (compromised, retired, an authority no longer trusted) is
/// kept and counted in [`SignatureJudge::unchecked`], not damage.
pub struct SignatureJudge<'a> {
    verifier: &'a Verifier,
    trust: TrustList,
    /// Entries signed by keys not trusted now.
    pub unchecked: u64,
}

impl<'a> SignatureJudge<'a> {
    /// `trust` should hold this node's own card too.
    pub fn new(verifier: &'a Verifier, trust: TrustList) -> Self {
        SignatureJudge {
            verifier,
            trust,
            unchecked: 0,
        }
    }

    /// What is wrong with `signed`'s signature, if anything.
    pub fn judge(&mut self, signed: &tally_model::SignedEntry) -> Option<String> {
        let entry = signed.open().ok()?;
        let named = ed25519_dalek::VerifyingKey::from_bytes(signed.key_id()).ok();
        if named.is_none_or(|k| signed.verify_with(&k).is_err()) {
            return Some("the signature does not verify with the key it names".into());
        }
        match self.verifier.trusted_key(
            &entry.authority,
            signed.key_id(),
            entry.issued_at_ms,
            entry.seq,
        ) {
            Ok(Some(_)) => None,
            Ok(None) => {
                // Kept but not counted (a key declared compromised or
                // retired, an authority no longer trusted): not damage, as
                // long as the key is one the authority ever had.
                let hex = hex::encode(signed.key_id());
                let known = self.trust.card(&entry.authority).is_none_or(|c| {
                    c.keys
                        .iter()
                        .any(|k| k.public_key.eq_ignore_ascii_case(&hex))
                }) || self
                    .verifier
                    .reader()
                    .and_then(|r| r.rotated_keys(&entry.authority))
                    .is_ok_and(|r| r.iter().any(|k| k.public_key.eq_ignore_ascii_case(&hex)));
                self.unchecked += 1;
                (!known).then(|| format!("signed by {hex}, a key {} never had", entry.authority))
            }
            Err(e) => Some(format!("its key cannot be judged: {e}")),
        }
    }
}

/// `trust` with this node's own card added when the list lacks it (its
/// own entries are judged with it).
fn with_own_card(mut trust: TrustList, own_card: &Path) -> TrustList {
    if let Ok(card) = files::read_card(own_card)
        && trust.card(&card.authority).is_none()
    {
        trust.cards.push(card);
    }
    trust
}

/// What `tally verify-store` found.
#[derive(Debug, Clone)]
pub struct StoreCheck {
    pub sound: bool,
    /// The report, one finding a line.
    pub text: String,
}

impl StoreCheck {
    /// A damaged store, with the findings so far.
    fn damaged(lines: Vec<String>) -> StoreCheck {
        StoreCheck {
            sound: false,
            text: lines.join("\n"),
        }
    }
}

/// `tally verify-store`: with the node stopped, the storage engine's
/// integrity check, then every log's chain (hashes, prev links, dense
/// seqs, heads, hash index) and every entry's signature, judged with the
/// keys of the trust list, this node's card and the logs' own rotations.
pub fn verify_store(dir: &Path) -> anyhow::Result<StoreCheck> {
    let settings = Settings::load(dir)?;
    let node_dir = &settings.dir;
    let path = settings.store_path.clone();
    if !tally_store::engine::files_exist(&path, settings.engine) {
        bail!(
            "no {} store at {} (a missing store is recovered from peers by `tally run`)",
            settings.engine,
            path.display()
        );
    }
    let mut lines = vec![format!("store {} ({})", path.display(), settings.engine)];
    let mut sound = true;
    match tally_store::check_engine(&path, settings.engine)
        .context("checking the store (is the node still running?)")?
    {
        None => lines.push(format!(
            "engine: {} integrity check passed",
            settings.engine
        )),
        Some(what) => {
            sound = false;
            lines.push(format!("DAMAGED engine: {what}"));
        }
    }
    let opened = std::panic::catch_unwind(|| Store::open(&path, settings.engine));
    let store = match opened {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => {
            lines.push(format!("DAMAGED: the store does not open: {e}"));
            return Ok(StoreCheck::damaged(lines));
        }
        Err(_) => {
            lines.push("DAMAGED: opening the store panicked".into());
            return Ok(StoreCheck::damaged(lines));
        }
    };
    let trust = with_own_card(files::read_trust(&node_dir.trust())?, &node_dir.card());
    let key = keys::load_authority_key(&settings.authority_key)?;
    let verifier = Verifier::builder(store.clone(), settings.authority.clone(), key)
        .trust(std::sync::Arc::new(std::sync::RwLock::new(trust.clone())))
        .publish(Box::new(tally_verify::NoPublish))
        .build();
    sound &= check_logs(&verifier, trust, &mut lines);
    // Closing the store lets the engine write its allocator state: on a
    // damaged file a release build of it panicked there (exit 101 instead
    // of the report).
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        drop((verifier, store));
    }));
    if closed.is_err() {
        sound = false;
        lines.push("DAMAGED engine: closing the store panicked".into());
    }
    lines.push(if sound {
        "the store is sound".into()
    } else {
        "the store is DAMAGED: do not serve it. Move the store directory aside and start the node: it pulls every log, its own included, back from its peers (docs/OPERATIONS.md)".into()
    });
    Ok(StoreCheck {
        sound,
        text: lines.join("\n"),
    })
}

/// `tally verify-store`'s walk over every log, its findings added to
/// `lines`; whether the logs are sound.
fn check_logs(verifier: &Verifier, trust: TrustList, lines: &mut Vec<String>) -> bool {
    let mut judge = SignatureJudge::new(verifier, trust);
    let mut progress = progress_reporter("verify-store");
    let report = verifier
        .integrity()
        .check_chains(&mut |e| judge.judge(e), &mut progress);
    let unchecked = judge.unchecked;
    lines.push(format!(
        "logs: {} logs, {} entries checked (hashes, links, seqs, heads, signatures)",
        report.logs, report.entries
    ));
    if unchecked > 0 {
        lines.push(format!(
            "{unchecked} entries signed by keys not trusted now (compromised, retired or of authorities no longer trusted); kept, not counted"
        ));
    }
    for p in &report.problems {
        lines.push(format!("DAMAGED log: {p}"));
    }
    if report.problem_count > report.problems.len() as u64 {
        lines.push(format!(
            "... and {} more problems",
            report.problem_count - report.problems.len() as u64
        ));
    }
    report.is_sound()
}

/// The full check, in the background once the node serves: every log's
/// chain (hashes, links, seqs, heads, hash index) and every entry's
/// signature, then every record read through the engine. When it finds damage the store turns damaged: health
/// degraded, every read and check route 503, sync refused. It stops when
/// `cancel` is cancelled; the node waits for it, so no store handle
/// outlives the node.
pub(crate) fn spawn_background_check(
    verifier: &Verifier,
    own_card: PathBuf,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let verifier = verifier.clone();
    tokio::task::spawn_blocking(move || check_store(&verifier, &own_card, &cancel))
}

/// The background check of a running node: walks every log of the store
/// (see [`Store::check_chains`]) judging each entry's signature as `tally
/// verify-store` does, with progress in the log; marks the store damaged
/// when it finds anything wrong.
fn check_store(verifier: &Verifier, own_card: &Path, cancel: &CancellationToken) {
    let integrity = verifier.integrity();
    if integrity.damaged().is_some() {
        // The store did not open: nothing to walk.
        return;
    }
    let started = Instant::now();
    info!("checking every log's chain and signatures in the background");
    let mut judge = SignatureJudge::new(verifier, with_own_card(verifier.trust(), own_card));
    let mut last = Instant::now();
    let mut chunk = Instant::now();
    let mut progress = |p: tally_store::Progress| {
        if last.elapsed() >= Duration::from_secs(5) {
            info!(entries = p.entries, of = p.total, "store check progress");
            last = Instant::now();
        }
        // At low priority: rest as long as each chunk took, so the check
        // takes at most half a core from serving (at a million entries it
        // runs for about a minute this way instead of half that at full
        // speed).
        std::thread::sleep(chunk.elapsed().min(Duration::from_millis(200)));
        chunk = Instant::now();
    };
    let report = integrity.check_chains_until(&mut |e| judge.judge(e), &mut progress, &|| {
        cancel.is_cancelled()
    });
    if report.stopped {
        info!(
            entries = report.entries,
            "store check stopped: the node is stopping"
        );
        return;
    }
    if report.is_sound()
        && let Some(what) = read_every_record(&integrity, cancel)
    {
        tracing::error!(problem = %what, "store check: damage");
        integrity.mark_damaged(format!(
            "the background check found the store damaged: {what}; stop the node and run `tally verify-store`"
        ));
        return;
    }
    if report.is_sound() {
        integrity.mark_checked();
        info!(
            logs = report.logs,
            entries = report.entries,
            unchecked = judge.unchecked,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "store check: every record reads, every log's chain and signatures are sound"
        );
    } else {
        for p in &report.problems {
            tracing::error!(problem = %p, "store check: damage");
        }
        integrity.mark_damaged(format!(
            "the background check found a log damaged: {}; stop the node and run `tally verify-store`",
            report.summary()
        ));
    }
}

/// The second half of the background check: every record of the store read
/// through the engine (what damage to a page's layout breaks), at the same
/// low priority as the chain walk.
fn read_every_record(integrity: &Integrity, cancel: &CancellationToken) -> Option<String> {
    let mut chunk = Instant::now();
    let mut progress = |_records: u64| {
        std::thread::sleep(chunk.elapsed().min(Duration::from_millis(200)));
        chunk = Instant::now();
    };
    integrity.read_every_record_until(&mut progress, &|| cancel.is_cancelled())
}
