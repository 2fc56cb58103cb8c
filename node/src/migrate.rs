//! `tally keys migrate`: a file-key authority moves its signing key into a
//! PKCS#11 token by an ordinary signing-key rotation, with the node stopped
//! (docs/OPERATIONS.md, "Signing keys in an HSM (PKCS#11)"; docs/API.md).
//!
//! In order, each step durable before the next: the new key is generated in
//! the token (or found there, when an earlier run stopped half-way); the
//! rotation entry announcing it is appended to the log, signed by the key
//! file; the card lists the token's key as current; `tally.toml` gains its
//! `[signing]` section; only then is the key file removed. Run again after a
//! stop anywhere, it resumes: a key the log already announced is not
//! announced twice.

use crate::config::{Config, Settings};
use crate::files;
use crate::signing::{SigningConfig, signer_error};
use crate::startup::{self, NodeFiles};
use anyhow::{Context, bail};
use std::path::Path;
use std::sync::Arc;
use tally_custody::{Pkcs11Signer, Signer, SignerError};
use tally_verify::Verifier;
use tracing::info;

/// What a migration did.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// Hex of the token's public key, now the authority's signing key.
    pub public_key: String,
    /// The rotation entry's seq (the token's key signs from the next one).
    pub seq: u64,
    /// The key file that was removed.
    pub removed: std::path::PathBuf,
}

impl Migrated {
    pub fn text(&self) -> String {
        format!(
            "the signing key is now in the token (public key {}), announced by the rotation at \
             seq {}; {} was removed; card.toml changed: give it to the nodes that trust this \
             authority (they follow the rotation without it)",
            self.public_key,
            self.seq,
            self.removed.display()
        )
    }
}

/// Generates the signing key in the token (or opens the one an earlier
/// run of the same command made there).
fn token_key(signing: &SigningConfig) -> anyhow::Result<Pkcs11Signer> {
    match Pkcs11Signer::generate(signing.pkcs11()?) {
        Err(SignerError::KeyExists { .. }) => {
            Pkcs11Signer::open(signing.pkcs11()?).map_err(signer_error)
        }
        other => other.map_err(signer_error),
    }
}

/// `tally keys migrate --dir DIR ...` with the node stopped.
pub async fn migrate(dir: &Path, signing: SigningConfig) -> anyhow::Result<Migrated> {
    let settings = Settings::load(dir)?;
    if let Some(s) = &settings.signing {
        bail!(
            "{} already signs through the PKCS#11 token {:?}; nothing changed",
            dir.display(),
            s.token_label
        );
    }
    let signing = crate::signing::absolute(signing)?;
    let files = NodeFiles::load(&settings)?;
    let opened = startup::open_store(&settings, files.opener(&settings))
        .await
        .context("opening the store (is the node still running?)")?;
    if opened.recovering {
        bail!(
            "this node is recovering its own log from its peers: run it until it signs \
             (`\"signing\": \"ok\"` in GET /v1/status), stop it, then migrate; nothing changed"
        );
    }
    let file_key = startup::settle_keys(&settings, &opened, &files)?;
    startup::apply_pending(&opened.store, &files.trust_list, files.opener(&settings)).await?;
    let verifier = Verifier::builder(opened.store, settings.authority.clone(), file_key)
        .trust(files.trust.clone())
        .sealing(files.sealing.clone())
        .timezone(settings.timezone.clone())
        .build();

    let token: Arc<dyn Signer> = Arc::new(token_key(&signing)?);
    let public_key = hex::encode(token.public_key());
    let seq = announce(&verifier, token)?;
    files::rewrite_own_keys(
        &settings.dir.card(),
        &verifier.reader()?,
        verifier.authority(),
        &public_key,
    )?;
    let mut config = Config::load(&settings.dir)?;
    config.signing = Some(signing);
    crate::admin::write_config(&settings.dir, &config)?;
    remove_key_file(&settings.authority_key)?;
    info!(seq, "signing key migrated into the PKCS#11 token");
    Ok(Migrated {
        public_key,
        seq,
        removed: settings.authority_key.clone(),
    })
}

/// Appends the rotation to the token's key, unless the log announced it
/// already (an earlier run stopped after it); returns the rotation's seq.
fn announce(verifier: &Verifier, token: Arc<dyn Signer>) -> anyhow::Result<u64> {
    let public = hex::encode(token.public_key());
    let announced = verifier
        .reader()?
        .rotated_keys(verifier.authority())?
        .into_iter()
        .find(|r| r.public_key.eq_ignore_ascii_case(&public));
    if let Some(r) = announced {
        info!(
            seq = r.entry.seq,
            "the log already announces the token's key"
        );
        return Ok(r.entry.seq);
    }
    let issued = verifier
        .issuer()
        .rotate_signing_key(token)
        .map_err(|e| anyhow::anyhow!("the rotation was refused: {e}; nothing changed"))?;
    Ok(issued.entry.seq)
}

/// Removes the old signing key file (and a `.next` an interrupted rotation
/// left), syncing the directory.
fn remove_key_file(key: &Path) -> anyhow::Result<()> {
    for path in [key.to_path_buf(), key.with_extension("key.next")] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    if let Some(dir) = key.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    Ok(())
}
