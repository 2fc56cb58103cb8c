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
use tally_verify::{Reader, Verifier};
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
pub fn recover(key: &Path, log: &Reader, authority: &AuthorityId) -> anyhow::Result<()> {
    let next = next_path(key);
    if !next.exists() {
        return Ok(());
    }
    let candidate = keys::load_authority_key(&next)?;
    let public = hex::encode(candidate.public().as_bytes());
    let announced = log
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

pub use crate::files::own_card_keys;

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
    /// `[signing]`: the signing key is in a PKCS#11 token, and a rotation
    /// makes the next one there (`crate::token_rotation`), not a file.
    pub in_token: Mutex<Option<crate::signing::SigningConfig>>,
}

impl KeyFiles {
    pub fn new(verifier: Verifier, key: PathBuf, card: PathBuf, encryption: PathBuf) -> KeyFiles {
        KeyFiles {
            verifier,
            key,
            card,
            encryption,
            lock: Mutex::new(()),
            in_token: Mutex::new(None),
        }
    }

    fn rewrite_card(&self) -> anyhow::Result<()> {
        files::rewrite_own_keys(
            &self.card,
            &self.verifier.reader()?,
            self.verifier.authority(),
            &self.verifier.public_key_hex(),
        )
    }
}

/// Finishes or undoes an encryption-key rotation a crash (or a failed file
/// move) interrupted, as [`recover`] does for the signing key: a `.next`
/// secret that this authority's log announced is put in place (the old one
/// kept as `.retired-<seq>`); one it did not announce is removed, since
/// nothing can have been sealed to it. While the node recovers its own log
/// (`recovering`) the log may not show the announcement yet: the file is
/// kept. Never removes the secret of an announced key.
pub fn recover_encryption(
    key: &Path,
    log: &Reader,
    authority: &AuthorityId,
    recovering: bool,
) -> anyhow::Result<()> {
    let next = next_path(key);
    if !next.exists() {
        return Ok(());
    }
    let public = keys::load_encryption_key(&next)?.public().to_hex();
    let announced = log
        .announced_keys(authority)?
        .into_iter()
        .find(|a| a.public_key.eq_ignore_ascii_case(&public));
    match announced {
        Some(a) => {
            warn!(
                seq = a.entry.seq,
                path = %next.display(),
                "finishing an encryption key rotation that was interrupted"
            );
            promote(key, a.entry.seq)
        }
        None if recovering => {
            warn!(
                path = %next.display(),
                "keeping an encryption key of an interrupted rotation until this authority's log is recovered"
            );
            Ok(())
        }
        None => {
            warn!(path = %next.display(), "removing a new encryption key that was never announced (an interrupted rotation)");
            std::fs::remove_file(&next).with_context(|| format!("cannot remove {}", next.display()))
        }
    }
}

/// Makes sure the node holds the secret of its authority's encryption key
/// before it serves, and never replaces it silently:
///
/// * an interrupted rotation's `.next` is recovered ([`recover_encryption`]);
/// * `key` is created only when neither the card (`card`) nor this
///   authority's own log ever announced an encryption key;
/// * otherwise a missing `key`, or one that holds a key that is not the
///   newest announced, refuses the start with a message naming the file and
///   the fix (peers seal to the newest announced key: without its secret
///   the node would silently stop reading what is sealed to it).
///
/// `sealing` (given every secret kept before the store opened) then seals
/// with the current key, and knows from the log when each of its keys was
/// announced (each is tried only on sealed entries of its time).
///
/// `log` reads this authority's log; `None` when the store is damaged.
pub fn settle_encryption_key(
    key: &Path,
    card: &Path,
    log: Option<&Reader>,
    authority: &AuthorityId,
    recovering: bool,
    sealing: &tally_verify::sealing::Sealing,
) -> anyhow::Result<()> {
    let Some(log) = log else {
        // What the log announced cannot be trusted (or read: the stand-in
        // for a store that does not open is empty): nothing is created,
        // removed or moved; the node serves nothing from the store anyway.
        warn!("the store is damaged: the encryption key files are left as they are");
        return Ok(());
    };
    recover_encryption(key, log, authority, recovering)?;
    let logged = log.announced_keys(authority)?;
    let carded: Vec<CardKey> = if card.exists() {
        let c = files::read_card(card)?;
        if &c.authority == authority {
            c.encryption_keys
        } else {
            vec![]
        }
    } else {
        vec![]
    };
    let mut announced: Vec<String> = carded
        .iter()
        .map(|k| k.public_key.to_ascii_lowercase())
        .chain(logged.iter().map(|a| a.public_key.to_ascii_lowercase()))
        .collect();
    announced.dedup();
    // Peers seal to the newest key the log announced, else to the card's newest.
    let newest = logged
        .last()
        .map(|a| {
            (
                a.public_key.to_ascii_lowercase(),
                format!("seq {} of this authority's log", a.entry.seq),
            )
        })
        .or_else(|| {
            carded.iter().max_by_key(|k| k.valid_from_ms).map(|k| {
                (
                    k.public_key.to_ascii_lowercase(),
                    format!("{}", card.display()),
                )
            })
        });
    key_file_is_the_announced_one(key, newest.as_ref(), &announced)?;
    // `sealing` was given the files as they were before the store opened:
    // a key created or put in place here becomes the one it seals with (an
    // older copy of it further down the list does no harm), from when it
    // was announced (a key just created was announced nowhere yet: its
    // card line will say from 0, as `tally init`'s does).
    let secret = keys::load_encryption_key(key)?;
    if sealing.public() != Some(secret.public()) {
        let hex = secret.public().to_hex();
        let from = logged
            .iter()
            .rfind(|a| a.public_key.eq_ignore_ascii_case(&hex))
            .map(|a| a.valid_from_ms)
            .or_else(|| {
                carded
                    .iter()
                    .find(|k| k.public_key.eq_ignore_ascii_case(&hex))
                    .map(|k| k.valid_from_ms)
            })
            .unwrap_or(0);
        sealing.add_newest(secret, from);
    }
    crate::archive::date_from_log(&logged, sealing);
    Ok(())
}

/// The encryption key file against what this authority announced
/// (`newest`: the key peers seal to, and where it was announced): created
/// when nothing was ever announced, refused when missing, never announced,
/// or older than the newest (peers seal to the newest: without its secret
/// the node would silently stop reading what is sealed to it).
fn key_file_is_the_announced_one(
    key: &Path,
    newest: Option<&(String, String)>,
    announced: &[String],
) -> anyhow::Result<()> {
    let shown = key.display();
    match newest {
        None if !key.exists() => {
            keys::create_encryption_key(key)?;
        }
        None => {}
        Some((newest, where_)) if !key.exists() => anyhow::bail!(
            "the encryption key file {shown} is missing, but this authority announced encryption key {newest} ({where_}): \
             peers seal documents to it and only its secret opens them. Restore {shown} (mode 0600) from the backup \
             of the node's keys/ directory and start again; the node does not create a new key in its place"
        ),
        Some(_) => {}
    }
    let current = keys::load_encryption_key(key)?.public().to_hex();
    if let Some((newest, where_)) = newest {
        if !announced.contains(&current) {
            anyhow::bail!(
                "the encryption key file {shown} holds key {current}, which this authority never announced \
                 (its newest is {newest}, {where_}): it is not this node's key. Move that file aside, restore \
                 {shown} (mode 0600) from the backup of the node's keys/ directory and start again"
            );
        }
        if &current != newest {
            anyhow::bail!(
                "the encryption key file {shown} holds key {current}, an older key of this authority: peers seal \
                 to its newest, {newest} ({where_}), which this node could not open. Restore the secret of {newest} \
                 to {shown} (mode 0600) from the backup of the node's keys/ directory (older secrets belong in \
                 {shown}.retired-SEQ) and start again"
            );
        }
    }
    Ok(())
}

/// Writes the next key's secret to `next` (mode 0600), then announces the
/// key in the node's own log with `rotation`. When the announcement fails
/// nothing changed: the file is removed again.
fn announce<E: Into<ApiError>>(
    next: &Path,
    secret: &[u8; 32],
    rotation: impl FnOnce() -> Result<tally_verify::Issued, E>,
) -> Result<tally_verify::Issued, ApiError> {
    keys::write_secret(next, &keys::encode_authority_key(secret))
        .map_err(|e| ApiError::internal(format!("{e:#}")))?;
    rotation().map_err(|e| {
        let _ = std::fs::remove_file(next);
        e.into()
    })
}

impl KeyRotator for KeyFiles {
    fn rotate_encryption(&self) -> Result<RotatedKey, ApiError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let next = next_path(&self.encryption);
        // A `.next` left by a rotation whose file moves failed: put in place
        // if the log announced it (never deleted: what was sealed to it
        // needs it), removed otherwise.
        let recovering = self.verifier.signing().state == tally_verify::Signing::Recovering;
        let log = self
            .verifier
            .reader()
            .map_err(|e| ApiError::internal(format!("{e:#}")))?;
        recover_encryption(
            &self.encryption,
            &log,
            self.verifier.authority(),
            recovering,
        )
        .map_err(|e| ApiError::internal(format!("{e:#}")))?;
        if next.exists() {
            return Err(tally_verify::IssueError::Unavailable(format!(
                "an encryption key of an interrupted rotation waits while this authority's log is \
                 recovered ({}); rotate again once it is",
                next.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ))
            .into());
        }
        let secret = tally_model::EncryptionSecret::generate(&mut tally_model::OsRandom);
        let public = secret.public();
        let issued = announce(&next, &secret.to_bytes(), || {
            self.verifier.issuer().rotate_encryption_key(secret)
        })?;
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
        let mut in_token = self.in_token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(current) = in_token.as_ref() {
            let (rotated, next) =
                crate::token_rotation::rotate(&self.verifier, &self.card, current)?;
            *in_token = Some(next);
            return Ok(rotated);
        }
        drop(in_token);
        let next = next_path(&self.key);
        if next.exists() {
            std::fs::remove_file(&next).map_err(ApiError::internal)?;
        }
        let secret = keys::generate_authority_key();
        let new = AuthorityKey::from_bytes(&secret);
        let key_id = hex::encode(new.public().as_bytes());
        let issued = announce(&next, &secret, || {
            self.verifier.issuer().rotate_signing_key(new)
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, RwLock};
    use tally_model::{Card, EncryptionSecret, OsRandom, TrustList};
    use tally_verify::sealing::Sealing;

    /// A US-DDTC node's key files and card in a temporary directory, over a
    /// store and a verifier that can announce encryption keys in its log.
    struct Fixture {
        _dir: tempfile::TempDir,
        verifier: Verifier,
        sealing: Arc<Sealing>,
        key: PathBuf,
        card: PathBuf,
    }

    fn fixture() -> Fixture {
        use tally_store::Store;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            &dir.path().join("store"),
            tally_store::EngineKind::default(),
        )
        .expect("store");
        let sealing = Arc::new(Sealing::new(vec![], Box::new(OsRandom)));
        let verifier = Verifier::builder(
            store,
            "US-DDTC".parse().expect("an authority id"),
            AuthorityKey::from_bytes(&[1; 32]),
        )
        .trust(Arc::new(RwLock::new(TrustList::default())))
        .publish(Box::new(tally_verify::NoPublish))
        .sealing(sealing.clone())
        .build();
        let key = dir.path().join("keys/encryption.key");
        let card = dir.path().join("card.toml");
        Fixture {
            _dir: dir,
            verifier,
            sealing,
            key,
            card,
        }
    }

    fn x(n: u8) -> EncryptionSecret {
        EncryptionSecret::from_bytes([n; 32])
    }

    fn write_key(path: &Path, secret: &EncryptionSecret) {
        keys::write_secret(path, &keys::encode_authority_key(&secret.to_bytes())).expect("written");
    }

    fn held(path: &Path) -> String {
        keys::load_encryption_key(path)
            .expect("a key file")
            .public()
            .to_hex()
    }

    impl Fixture {
        fn settle(&self, recovering: bool) -> anyhow::Result<()> {
            // A damaged store's log is not read (see settle_encryption_key).
            let log = match self.verifier.store_health().damaged {
                None => Some(self.verifier.reader()?),
                Some(_) => None,
            };
            settle_encryption_key(
                &self.key,
                &self.card,
                log.as_ref(),
                self.verifier.authority(),
                recovering,
                &self.sealing,
            )
        }

        /// Writes this node's card listing `encryption` keys.
        fn write_card(&self, encryption: &[&EncryptionSecret]) {
            let card = Card {
                contact: None,
                authority: self.verifier.authority().clone(),
                country: "US".into(),
                name: "US-DDTC".into(),
                peer_id: "12D3KooWUS".into(),
                addresses: vec![],
                keys: vec![CardKey::new(self.verifier.public_key_hex(), 0)],
                encryption_keys: encryption
                    .iter()
                    .map(|s| CardKey::new(s.public().to_hex(), 0))
                    .collect(),
            };
            files::write_card(&self.card, &card).expect("card written");
        }

        /// Announces `secret` in the node's own log (as a rotation does).
        fn announce(&self, secret: &EncryptionSecret) -> u64 {
            self.verifier
                .issuer()
                .rotate_encryption_key(secret.clone())
                .expect("announced")
                .entry
                .seq
        }
    }

    /// A node whose authority never announced an encryption key gets one at
    /// start; once the card announced it, a missing file refuses the start,
    /// naming the file and the fix, and creates nothing.
    #[test]
    fn an_encryption_key_is_created_only_when_none_was_ever_announced() {
        let f = fixture();
        f.settle(false).expect("nothing announced: created");
        let created = held(&f.key);
        assert_eq!(
            f.sealing.public().map(|p| p.to_hex()),
            Some(created.clone())
        );

        let secret = keys::load_encryption_key(&f.key).expect("loads");
        f.write_card(&[&secret]);
        std::fs::remove_file(&f.key).expect("removed");
        let err = format!("{:#}", f.settle(false).expect_err("refused"));
        assert!(err.contains(&f.key.display().to_string()), "{err}");
        assert!(err.contains("Restore") && err.contains("backup"), "{err}");
        assert!(err.contains(&created), "names the announced key: {err}");
        assert!(!f.key.exists(), "no key was created in its place");
    }

    /// Regression (issue 20: a missing `keys/encryption.key` was silently
    /// regenerated): a key the log announced is never replaced. Missing,
    /// foreign or older than the newest announced, the file refuses the start.
    #[test]
    fn a_key_the_log_announced_is_never_replaced_silently() {
        let f = fixture();
        f.announce(&x(1));
        f.announce(&x(2));
        let err = format!("{:#}", f.settle(false).expect_err("missing"));
        assert!(
            err.contains(&f.key.display().to_string()) && err.contains("missing"),
            "{err}"
        );
        assert!(err.contains(&x(2).public().to_hex()), "{err}");
        assert!(!f.key.exists());

        write_key(&f.key, &x(9));
        let err = format!("{:#}", f.settle(false).expect_err("foreign"));
        assert!(err.contains("never announced"), "{err}");
        assert!(err.contains(&f.key.display().to_string()), "{err}");

        std::fs::remove_file(&f.key).expect("removed");
        write_key(&f.key, &x(1));
        let err = format!("{:#}", f.settle(false).expect_err("older"));
        assert!(err.contains("older key"), "{err}");
        assert!(err.contains(&x(2).public().to_hex()), "{err}");

        std::fs::remove_file(&f.key).expect("removed");
        write_key(&f.key, &x(2));
        f.settle(false).expect("the newest announced key");
        assert_eq!(f.sealing.public(), Some(x(2).public()));
    }

    /// Regression (issue 20: an interrupted encryption-key rotation lost the
    /// `.next` secret): a `.next` the log announced is put in place at start,
    /// the old key kept as `.retired-<seq>`, both open what was sealed to them.
    #[test]
    fn an_interrupted_encryption_rotation_is_finished_at_start() {
        let f = fixture();
        write_key(&f.key, &x(1));
        f.write_card(&[&x(1)]);
        f.settle(false).expect("sound");
        // The rotation wrote `.next` and announced it, then stopped.
        write_key(&next_path(&f.key), &x(2));
        let seq = f.announce(&x(2));

        f.settle(false).expect("recovered");
        assert_eq!(held(&f.key), x(2).public().to_hex());
        assert_eq!(held(&retired_path(&f.key, seq)), x(1).public().to_hex());
        assert!(!next_path(&f.key).exists());
        assert_eq!(f.sealing.publics(), vec![x(2).public(), x(1).public()]);
    }

    /// A `.next` the log never announced is removed (nothing was sealed to
    /// it), except while the log is being recovered from peers.
    #[test]
    fn an_unannounced_next_key_is_removed_unless_the_log_is_recovering() {
        let f = fixture();
        write_key(&f.key, &x(1));
        f.write_card(&[&x(1)]);
        write_key(&next_path(&f.key), &x(3));
        f.settle(true).expect("recovering");
        assert!(next_path(&f.key).exists(), "kept while recovering");
        f.settle(false).expect("sound");
        assert!(!next_path(&f.key).exists(), "removed: never announced");
        assert_eq!(held(&f.key), x(1).public().to_hex());
    }

    /// A damaged store cannot say what the log announced: a `.next` stays,
    /// and no key is created.
    #[test]
    fn a_damaged_store_moves_no_key_file() {
        let f = fixture();
        f.verifier.integrity().mark_damaged("test");
        write_key(&next_path(&f.key), &x(3));
        f.settle(false).expect("left as it is");
        assert!(next_path(&f.key).exists(), "kept");
        assert!(!f.key.exists(), "nothing created");
    }

    /// Regression (issue 20: the next rotation deleted the `.next` secret of
    /// an announced key): a rotation after an interrupted one keeps every
    /// announced key's secret.
    #[test]
    fn a_rotation_never_deletes_an_announced_keys_secret() {
        let f = fixture();
        write_key(&f.key, &x(1));
        f.write_card(&[&x(1)]);
        f.settle(false).expect("sound");
        // A rotation announced x(2) but its file moves failed.
        write_key(&next_path(&f.key), &x(2));
        f.announce(&x(2));

        let files = KeyFiles::new(
            f.verifier.clone(),
            f.key.with_file_name("authority.key"),
            f.card.clone(),
            f.key.clone(),
        );
        let rotated = files.rotate_encryption().expect("rotated");
        let kept: Vec<String> = crate::archive::load_encryption_secrets(&f.key)
            .expect("secrets")
            .iter()
            .map(|s| s.public().to_hex())
            .collect();
        for announced in [
            x(1).public().to_hex(),
            x(2).public().to_hex(),
            rotated.key_id.clone(),
        ] {
            assert!(kept.contains(&announced), "{announced} lost: {kept:?}");
        }
        assert_eq!(held(&f.key), rotated.key_id);
        assert!(!next_path(&f.key).exists());
    }
}
