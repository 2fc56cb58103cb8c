//! Drafts awaiting a second pair of eyes (`[issue] approvals = 2`): what
//! one issuer asked the node to sign, kept until another person's issuer
//! token approves it (then it is signed) or someone rejects it.
//!
//! A draft is acknowledged (202) only once it is on disk: one file per
//! draft, `DIR/drafts/ID.json`, written to a temporary file, synced and
//! renamed, mode 0600 (it holds a document's confidential content). A
//! draft is never a log entry: nothing leaves the node before approval.
//! At most [`MAX_DRAFTS`] wait at once.

use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tally_model::{License, Person, Status};

/// Drafts that may wait at once; one more is refused (409).
pub const MAX_DRAFTS: usize = 1000;

/// What a draft will do once approved: the write route it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `POST /v1/licenses`; `visibility` as the request said.
    Issue {
        document: License,
        #[serde(default)]
        visibility: tally_verify::Visibility,
    },
    /// `POST /v1/licenses/{authority}/{number}/status`.
    Status {
        authority: String,
        number: String,
        status: Status,
        reason: String,
    },
    /// `POST /v1/licenses/{authority}/{number}/amend`.
    Amend {
        authority: String,
        number: String,
        document: License,
    },
}

/// One pending draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    #[serde(flatten)]
    pub action: Action,
    pub prepared_by: Person,
    /// Hex SHA-256 of the preparing token: the approver must hold another.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub preparer_token: String,
    pub created_at_ms: i64,
}

impl Draft {
    /// The authority and number it concerns.
    pub fn subject(&self, own: &str) -> (String, String) {
        match &self.action {
            Action::Issue { document, .. } => (own.to_string(), document.number().to_string()),
            Action::Status {
                authority, number, ..
            }
            | Action::Amend {
                authority, number, ..
            } => (authority.clone(), number.clone()),
        }
    }

    /// The answer of `GET /v1/drafts`: the draft without its token hash.
    pub fn listed(&self) -> Draft {
        Draft {
            preparer_token: String::new(),
            ..self.clone()
        }
    }
}

/// The drafts of one node: in memory, and on disk under `dir` when set.
#[derive(Debug, Default)]
pub struct Drafts {
    dir: Option<PathBuf>,
    pending: Mutex<BTreeMap<String, Draft>>,
}

impl Drafts {
    /// Drafts kept in memory only (tests, and nodes that never need them).
    pub fn in_memory() -> Drafts {
        Drafts::default()
    }

    /// The drafts under `dir`, created if missing. A file that does not
    /// read as a draft is left where it is and named in the log.
    pub fn open(dir: &Path) -> std::io::Result<Drafts> {
        fs::create_dir_all(dir)?;
        let mut pending = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match fs::read(&path).map(|b| serde_json::from_slice::<Draft>(&b)) {
                Ok(Ok(d)) if path.file_stem().and_then(|s| s.to_str()) == Some(d.id.as_str()) => {
                    pending.insert(d.id.clone(), d);
                }
                _ => tracing::warn!(file = %path.display(), "not a draft; left as it is"),
            }
        }
        Ok(Drafts {
            dir: Some(dir.to_path_buf()),
            pending: Mutex::new(pending),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Draft>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a new draft (durably when on disk); blocking.
    pub fn add(
        &self,
        action: Action,
        prepared_by: Person,
        token: &[u8; 32],
    ) -> Result<Draft, ApiError> {
        let mut raw = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut raw);
        let draft = Draft {
            id: format!("d-{}", hex::encode(raw)),
            action,
            prepared_by,
            preparer_token: hex::encode(token),
            created_at_ms: tally_verify::now_ms(),
        };
        let mut pending = self.lock();
        if pending.len() >= MAX_DRAFTS {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                format!("{MAX_DRAFTS} drafts already await approval: approve or reject some first"),
            ));
        }
        if let Some(dir) = &self.dir {
            write_durably(dir, &draft).map_err(ApiError::internal)?;
        }
        pending.insert(draft.id.clone(), draft.clone());
        Ok(draft)
    }

    /// The pending drafts, oldest first.
    pub fn list(&self) -> Vec<Draft> {
        let mut all: Vec<Draft> = self.lock().values().map(Draft::listed).collect();
        all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        all
    }

    /// Takes a draft out to act on it: no one else can approve or reject it
    /// meanwhile. Give it back with [`Drafts::restore`] if the act failed,
    /// or drop it for good with [`Drafts::forget`].
    pub fn take(&self, id: &str) -> Result<Draft, ApiError> {
        self.lock()
            .remove(id)
            .ok_or_else(|| ApiError::not_found(format!("no draft {id:?} awaits approval")))
    }

    pub fn restore(&self, draft: Draft) {
        self.lock().insert(draft.id.clone(), draft);
    }

    /// Deletes a taken draft's file; blocking.
    pub fn forget(&self, draft: &Draft) -> Result<(), ApiError> {
        if let Some(dir) = &self.dir {
            match fs::remove_file(dir.join(format!("{}.json", draft.id))) {
                Ok(()) => sync_dir(dir).map_err(ApiError::internal)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ApiError::internal(e)),
            }
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

fn write_durably(dir: &Path, draft: &Draft) -> std::io::Result<()> {
    let bytes = serde_json::to_vec_pretty(draft).map_err(std::io::Error::other)?;
    let path = dir.join(format!("{}.json", draft.id));
    let tmp = dir.join(format!("{}.json.tmp", draft.id));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str) -> Person {
        Person {
            name: name.into(),
            title: None,
        }
    }

    fn status_action() -> Action {
        Action::Status {
            authority: "US-BIS".into(),
            number: "EXP/1".into(),
            status: Status::Suspended,
            reason: "inquiry".into(),
        }
    }

    #[test]
    fn drafts_survive_a_restart_and_are_taken_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let drafts = Drafts::open(dir.path()).expect("opens");
        let d = drafts
            .add(status_action(), person("Ana Ruiz"), &[7; 32])
            .expect("adds");
        fs::write(dir.path().join("junk.json"), b"{not json").expect("writes");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(format!("{}.json", d.id)))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = Drafts::open(dir.path()).expect("reopens");
        assert_eq!(again.list().len(), 1);
        assert_eq!(again.list()[0].action, status_action());
        assert_eq!(again.list()[0].preparer_token, "", "the hash is not listed");
        let taken = again.take(&d.id).expect("takes");
        assert_eq!(taken.preparer_token, hex::encode([7u8; 32]));
        assert!(
            again.take(&d.id).is_err(),
            "a taken draft cannot be taken twice"
        );
        again.forget(&taken).expect("forgets");
        assert!(Drafts::open(dir.path()).expect("reopens").list().is_empty());
    }

    #[test]
    fn drafts_are_bounded() {
        let drafts = Drafts::in_memory();
        for _ in 0..MAX_DRAFTS {
            drafts
                .add(status_action(), person("A"), &[1; 32])
                .expect("adds");
        }
        let e = drafts
            .add(status_action(), person("A"), &[1; 32])
            .expect_err("full");
        assert_eq!(e.status, axum::http::StatusCode::CONFLICT);
    }
}
