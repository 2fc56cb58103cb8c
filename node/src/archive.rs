//! This node's encryption secrets on the timeline of their announcements,
//! and the archive of retired ones (`keys/encryption.key.retired-SEQ`).
//!
//! Every secret is loaded, but each is tried only on sealed entries of its
//! time (docs/PROTOCOL.md 6.7): the times come from the node's card before
//! the store opens, then from its own log. A retired secret is otherwise
//! consulted only to read again a document that was opened with it.
//! `tally keys drop-retired` deletes the secrets retired before a date
//! (docs/OPERATIONS.md, "Dropping retired encryption keys").

use crate::config::{Config, NodeDir};
use crate::{files, keys};
use anyhow::Context;
use std::path::{Path, PathBuf};
use tally_model::{AuthorityId, Date, EncryptionPublic};
use tally_store::Store;
use tally_verify::sealing::Sealing;

/// Every encryption secret kept for this node: the current one
/// (`keys/encryption.key`) first when it exists, then the retired ones and
/// one a rotation left half-way (`.retired-N`, `.next`), which still open
/// what was sealed to them. Never creates a key: a running node does that in
/// [`crate::rotate::settle_encryption_key`], and only when its authority never announced one.
pub fn load_encryption_secrets(
    current: &Path,
) -> anyhow::Result<Vec<tally_model::EncryptionSecret>> {
    let mut secrets = Vec::new();
    if current.exists() {
        secrets.push(keys::load_encryption_key(current)?);
    }
    let Some(dir) = current.parent() else {
        return Ok(secrets);
    };
    let name = current
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut older: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .is_some_and(|n| n.starts_with(&format!("{name}.")))
            })
            .collect(),
        // No key directory at all: no secrets (the caller says what is missing).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    older.sort();
    for p in older {
        secrets.push(keys::load_encryption_key(&p)?);
    }
    Ok(secrets)
}

/// Every encryption secret this node kept ([`load_encryption_secrets`]),
/// dated by its card (`card`) when the card is this node's and reads.
pub fn load_sealing(
    key: &Path,
    card: &Path,
    authority: &AuthorityId,
) -> anyhow::Result<std::sync::Arc<Sealing>> {
    let secrets = load_encryption_secrets(key)?;
    let sealing = Sealing::new(secrets, Box::new(tally_model::OsRandom));
    match files::read_card(card) {
        Ok(c) if &c.authority == authority => sealing.set_valid_from(
            &c.encryption_keys
                .iter()
                .filter_map(|k| Some((EncryptionPublic::parse(&k.public_key)?, k.valid_from_ms)))
                .collect::<Vec<_>>(),
        ),
        // Dated from the log once the store is open; until then every
        // secret is tried.
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "cannot date the encryption keys from the card")
        }
    }
    Ok(std::sync::Arc::new(sealing))
}

/// Dates this node's secrets by the announcements of its own log (which
/// peers read too); warns about secrets neither the log nor the card
/// announced, which are tried on every sealed entry.
pub fn date_from_log(logged: &[tally_store::AnnouncedKey], sealing: &Sealing) {
    let announced: Vec<(EncryptionPublic, i64)> = logged
        .iter()
        .filter_map(|a| Some((EncryptionPublic::parse(&a.public_key)?, a.valid_from_ms)))
        .collect();
    sealing.set_valid_from(&announced);
    let undated = sealing.undated();
    if undated > 0 {
        tracing::warn!(
            keys = undated,
            "encryption secrets that neither the card nor the log announced: tried on every sealed entry"
        );
    }
}

/// A retired encryption secret in the archive.
#[derive(Debug, Clone)]
pub struct Retired {
    pub path: PathBuf,
    /// The seq of the announcement that replaced it.
    pub seq: u64,
    pub public: EncryptionPublic,
    /// `valid_from_ms` of that announcement: when it was replaced. `None`
    /// when the log does not hold the announcement.
    pub retired_at_ms: Option<i64>,
}

/// The archive of `key` (`keys/encryption.key`): its `.retired-SEQ` files,
/// by seq, dated by this authority's log in `store`.
pub fn archive(key: &Path, store: &Store, authority: &AuthorityId) -> anyhow::Result<Vec<Retired>> {
    let announced = store.announced_keys(authority)?;
    let Some(dir) = key.parent() else {
        return Ok(vec![]);
    };
    let prefix = format!(
        "{}.retired-",
        key.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let Some(seq) = name.strip_prefix(&prefix).and_then(|s| s.parse().ok()) else {
            continue;
        };
        let public = keys::load_encryption_key(&path)?.public();
        let retired_at_ms = announced
            .iter()
            .find(|a| a.entry.seq == seq)
            .map(|a| a.valid_from_ms);
        out.push(Retired {
            path,
            seq,
            public,
            retired_at_ms,
        });
    }
    out.sort_by_key(|r| r.seq);
    Ok(out)
}

/// What `tally keys drop-retired` decided.
#[derive(Debug, Default)]
pub struct Dropped {
    /// Retired before the date: deleted (with `--yes`) or to be deleted.
    pub dropped: Vec<Retired>,
    /// Kept: retired on or after the date, or when is unknown.
    pub kept: Vec<Retired>,
    pub confirmed: bool,
}

/// `tally keys drop-retired --dir DIR --retired-before DATE [--yes]`, with
/// the node stopped (the store is opened to read when each key was
/// replaced). Without `confirm` nothing is deleted.
pub fn drop_retired(dir: &Path, before: Date, confirm: bool) -> anyhow::Result<Dropped> {
    let node_dir = NodeDir(dir.to_path_buf());
    let settings = Config::load(&node_dir)?.settings(&node_dir)?;
    // With the opener, as `tally reindex` opens it: a reindex a crash
    // interrupted is finished at open, and must not pass over what is
    // sealed to this node.
    let sealing = load_sealing(
        &settings.encryption_key,
        &node_dir.card(),
        &settings.authority,
    )?;
    let opener = tally_verify::sealing::SealOpener {
        sealing,
        trust: std::sync::Arc::new(std::sync::RwLock::new(files::read_trust(
            &node_dir.trust(),
        )?)),
        own: settings.authority.clone(),
    };
    let reader: std::sync::Arc<dyn tally_store::SealedReader> = std::sync::Arc::new(opener.clone());
    let store = Store::open_with(
        &settings.store_path,
        tally_store::OpenOptions {
            engine: settings.engine,
            reader: Some(reader),
            clock: settings.alert_clock(),
        },
    )
    .context("opening the store (is the node still running?)")?;
    if store.damaged().is_none() && store.rebuild_pending()? {
        let applier = tally_verify::apply::Applier::new(Some(opener));
        store.reindex_with(&applier, &mut crate::watch::reindex_progress())?;
    }
    if let Some(why) = store.damaged() {
        anyhow::bail!(
            "the store is damaged ({why}): it cannot say when the keys were retired; nothing dropped"
        );
    }
    let cutoff = before.days() * 86_400_000;
    let mut out = Dropped {
        confirmed: confirm,
        ..Dropped::default()
    };
    for r in archive(&settings.encryption_key, &store, &settings.authority)? {
        if r.retired_at_ms.is_some_and(|at| at < cutoff) {
            out.dropped.push(r);
        } else {
            out.kept.push(r);
        }
    }
    if confirm {
        for r in &out.dropped {
            std::fs::remove_file(&r.path)
                .with_context(|| format!("cannot remove {}", r.path.display()))?;
        }
        if let Some(keys_dir) = settings.encryption_key.parent() {
            std::fs::File::open(keys_dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("cannot sync {}", keys_dir.display()))?;
        }
    }
    Ok(out)
}

impl Dropped {
    /// What the command prints: one line per key, then what it means.
    pub fn text(&self) -> String {
        let day = |ms: i64| Date::from_unix_ms(ms).to_string();
        let grace = tally_verify::own_keys::REPLACED_KEY_GRACE_MS;
        let recent = tally_verify::now_ms() - grace;
        let mut lines = Vec::new();
        for r in &self.dropped {
            let at = r.retired_at_ms.unwrap_or_default();
            lines.push(format!(
                "{} {} (key {}, retired {} at seq {}){}",
                if self.confirmed { "dropped" } else { "would drop" },
                r.path.display(),
                &r.public.to_hex()[..16],
                day(at),
                r.seq,
                if at > recent {
                    ": retired less than 30 days ago, a peer that had not seen its successor may still seal to it"
                } else {
                    ""
                }
            ));
        }
        for r in &self.kept {
            let why = match r.retired_at_ms {
                Some(at) => format!("retired {}", day(at)),
                None => format!("seq {} announces no encryption key in this log", r.seq),
            };
            lines.push(format!("kept {} ({why})", r.path.display()));
        }
        if self.dropped.is_empty() {
            lines.push("no retired encryption key before that date".into());
        } else if self.confirmed {
            lines.push(format!(
                "{} secrets deleted: documents sealed only to them no longer open on this node \
                 (GET /v1/licenses/... answers \"document\": null with \"unreadable\"); destroy their \
                 copies in backups too",
                self.dropped.len()
            ));
        } else {
            lines.push(
                "nothing deleted: documents sealed only to these keys would no longer open on this \
                 node; run again with --yes to delete them"
                    .into(),
            );
        }
        lines.join("\n")
    }
}
