//! `POST /v1/keys/rotate`: this node's signing key, rotated over its files.
//!
//! The new secret is written first (`authority.key.next`, mode 0600), then
//! the rotation is appended to the node's own log (signed by the current
//! key) and the verifier switches to the new key, then the files are
//! renamed: the old secret stays beside the new one as
//! `authority.key.retired-<seq>`. A crash between the append and the rename
//! is finished at the next start ([`recover`]); a crash before the append
//! leaves a `.next` file that [`recover`] removes. Finally `card.toml` is
//! rewritten to list the retired key with its seq bound and the new key.

use crate::{files, keys};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tally_api::{ApiError, KeyRotator, RotatedKey};
use tally_model::{AuthorityId, AuthorityKey, CardKey};
use tally_store::Store;
use tally_verify::Verifier;
use tracing::{error, info, warn};

/// Where the next key waits while it is being announced.
fn next_path(key: &Path) -> PathBuf {
    key.with_extension("key.next")
}

/// Where a retired key is kept.
fn retired_path(key: &Path, seq: u64) -> PathBuf {
    key.with_extension(format!("key.retired-{seq}"))
}

/// Whether a rotation was interrupted (a `.next` key waits).
pub fn interrupted(key: &Path) -> bool {
    next_path(key).exists()
}

/// Moves the announced `.next` key into place, keeping the old one (a
/// crash between the two renames leaves the old key already kept).
fn promote(key: &Path, seq: u64) -> anyhow::Result<()> {
    let retired = retired_path(key, seq);
    if key.exists() || !retired.exists() {
        std::fs::rename(key, &retired)
            .with_context(|| format!("cannot keep the old key as {}", retired.display()))?;
    }
    std::fs::rename(next_path(key), key)
        .with_context(|| format!("cannot put the new key in {}", key.display()))?;
    if let Some(dir) = key.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    Ok(())
}

/// Finishes or undoes a rotation a crash interrupted: a `.next` key that
/// the own log announces is put in place; one it does not is removed.
pub fn recover(key: &Path, store: &Store, authority: &AuthorityId) -> anyhow::Result<()> {
    let next = next_path(key);
    if !next.exists() {
        return Ok(());
    }
    let candidate = keys::load_authority_key(&next)?;
    let public = hex::encode(candidate.public().as_bytes());
    let announced = store
        .rotated_keys(authority)?
        .into_iter()
        .find(|r| r.public_key.eq_ignore_ascii_case(&public));
    match announced {
        Some(r) => {
            warn!(
                seq = r.entry.seq,
                "finishing a key rotation that was interrupted"
            );
            promote(key, r.entry.seq)
        }
        None => {
            warn!("removing a new key that was never announced (an interrupted rotation)");
            std::fs::remove_file(&next).with_context(|| format!("cannot remove {}", next.display()))
        }
    }
}

/// The node's own signing keys as its card lists them: every key its log
/// retired, with the rotation's seq, then the current one.
pub fn own_card_keys(
    store: &Store,
    authority: &AuthorityId,
    current: &str,
) -> anyhow::Result<Vec<CardKey>> {
    let mut keys = Vec::new();
    let mut from = 0;
    for r in store.rotated_keys(authority)? {
        if r.compromised || r.signed_by.is_empty() {
            continue;
        }
        keys.push(CardKey {
            retired_after_seq: Some(r.entry.seq),
            ..CardKey::new(r.signed_by.to_ascii_lowercase(), from)
        });
        from = r.valid_from_ms;
    }
    keys.push(CardKey::new(current.to_ascii_lowercase(), from));
    Ok(keys)
}

/// Rotates the node's keys over its key file and card.
pub struct KeyFiles {
    pub verifier: Verifier,
    /// The authority key file (`keys/authority.key`).
    pub key: PathBuf,
    /// `card.toml`.
    pub card: PathBuf,
    /// The encryption key file (`keys/encryption.key`).
    pub encryption: PathBuf,
    /// One rotation at a time (the files are shared).
    pub lock: Mutex<()>,
}

impl KeyFiles {
    pub fn new(verifier: Verifier, key: PathBuf, card: PathBuf, encryption: PathBuf) -> KeyFiles {
        KeyFiles {
            verifier,
            key,
            card,
            encryption,
            lock: Mutex::new(()),
        }
    }

    fn rewrite_card(&self) -> anyhow::Result<()> {
        let mut card = files::read_card(&self.card)?;
        card.keys = own_card_keys(
            self.verifier.store(),
            self.verifier.authority(),
            &self.verifier.public_key_hex(),
        )?;
        files::write_card(&self.card, &card)
    }
}

/// Every encryption secret kept for this node: the current one
/// (`keys/encryption.key`, created when missing) first, then the retired ones
/// and one a rotation left half-way (`.retired-N`, `.next`), which still
/// open what was sealed to them.
pub fn load_encryption_secrets(
    current: &Path,
) -> anyhow::Result<Vec<tally_model::EncryptionSecret>> {
    let mut secrets = vec![keys::load_or_create_encryption_key(current)?];
    let Some(dir) = current.parent() else {
        return Ok(secrets);
    };
    let name = current
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut older: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy())
                .is_some_and(|n| n.starts_with(&format!("{name}.")))
        })
        .collect();
    older.sort();
    for p in older {
        secrets.push(keys::load_or_create_encryption_key(&p)?);
    }
    Ok(secrets)
}

impl KeyRotator for KeyFiles {
    fn rotate_encryption(&self) -> Result<RotatedKey, ApiError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let next = next_path(&self.encryption);
        if next.exists() {
            std::fs::remove_file(&next).map_err(ApiError::internal)?;
        }
        let secret = tally_model::EncryptionSecret::generate(&mut tally_model::OsRandom);
        keys::write_secret(&next, &keys::encode_authority_key(&secret.to_bytes()))
            .map_err(|e| ApiError::internal(format!("{e:#}")))?;
        let public = secret.public();
        let issued = match self.verifier.rotate_encryption_key(secret) {
            Ok(i) => i,
            Err(e) => {
                let _ = std::fs::remove_file(&next);
                return Err(e.into());
            }
        };
        let seq = issued.entry.seq;
        if let Err(e) = promote(&self.encryption, seq) {
            error!(error = %format!("{e:#}"), "the encryption key files were not moved; both stay usable");
        }
        let rewrite = || -> anyhow::Result<()> {
            let mut card = files::read_card(&self.card)?;
            card.encryption_keys
                .push(CardKey::new(public.to_hex(), self.verifier.now_ms()));
            files::write_card(&self.card, &card)
        };
        if let Err(e) = rewrite() {
            error!(error = %format!("{e:#}"), "card.toml was not rewritten after the encryption key rotation");
        }
        info!(seq, key = %&public.to_hex()[..16], "encryption key rotated");
        Ok(RotatedKey {
            key_id: public.to_hex(),
            entry: issued.entry,
        })
    }

    fn rotate_signing(&self) -> Result<RotatedKey, ApiError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let next = next_path(&self.key);
        if next.exists() {
            std::fs::remove_file(&next).map_err(ApiError::internal)?;
        }
        let secret = keys::generate_authority_key();
        keys::write_secret(&next, &keys::encode_authority_key(&secret))
            .map_err(|e| ApiError::internal(format!("{e:#}")))?;
        let new = AuthorityKey::from_bytes(&secret);
        let key_id = hex::encode(new.public().as_bytes());
        let issued = match self.verifier.rotate_signing_key(new) {
            Ok(i) => i,
            Err(e) => {
                let _ = std::fs::remove_file(&next);
                return Err(e.into());
            }
        };
        let seq = issued.entry.seq;
        // The log announces the key and the verifier signs with it: from
        // here on a failure is reported in the log, not as a failed rotation
        // (the next start finishes the file moves).
        if let Err(e) = promote(&self.key, seq) {
            error!(error = %format!("{e:#}"), "the key files were not moved; the next start finishes it");
        }
        if let Err(e) = self.rewrite_card() {
            error!(error = %format!("{e:#}"), "card.toml was not rewritten after the key rotation");
        }
        info!(seq, key = %&key_id[..16], "signing key rotated");
        Ok(RotatedKey {
            key_id,
            entry: issued.entry,
        })
    }
}
