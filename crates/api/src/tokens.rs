//! API tokens and roles: the `DIR/tokens.toml` book of token hashes.
//!
//! The book is a file rather than a store table because the store's engine
//! holds an exclusive lock while the node runs, and `tally token create` (a
//! second process) must still be able to add a token. Both sides write it the
//! same way: take a lock file, re-read, add, write a temp file (mode 0600),
//! fsync, rename over the book. A running node notices the change by the
//! file's identity (inode, size, mtime) and re-reads it.
//!
//! Only the SHA-256 of a secret is stored; the secret is shown once, by
//! whoever created it. Lookups compare hashes in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;
use tally_model::Person;

/// What a token may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read, check and record shipments.
    Officer,
    /// Issue, amend, suspend and revoke this node's own documents.
    Issuer,
    /// Tokens and trust.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Officer, Role::Issuer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Issuer => "issuer",
            Role::Admin => "admin",
        }
    }

    /// Whether a token of this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = TokenError;
    fn from_str(s: &str) -> Result<Role, TokenError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| TokenError::BadRole(s.to_string()))
    }
}

/// Why the token book could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("token book {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("token book {path} is not valid: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("token book {path} is locked by another process (lock file {path}.lock)")]
    Locked { path: PathBuf },
    #[error("unknown role {0:?}: expected officer, issuer or admin")]
    BadRole(String),
    #[error("label must be 1 to {MAX_LABEL} characters without control characters")]
    BadLabel,
    #[error("{0}")]
    BadPerson(String),
}

/// Longest label accepted, in characters.
pub const MAX_LABEL: usize = 200;

/// Prefix of every secret, so a leaked token is recognisable in a scan.
pub const SECRET_PREFIX: &str = "tally_";

/// One token as the book stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Hex SHA-256 of the secret.
    pub hash: String,
    pub role: Role,
    pub label: String,
    pub created_at_ms: i64,
    /// The person who holds it (`--name`, `--title`): documents they
    /// prepare or approve name them ([`TokenBook::person_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl TokenEntry {
    /// Who this token names on a document: its holder's name and title,
    /// or its label when no name was given.
    pub fn person(&self) -> Person {
        Person {
            name: self.name.clone().unwrap_or_else(|| self.label.clone()),
            title: self.title.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookFile {
    #[serde(default, rename = "token")]
    tokens: Vec<TokenEntry>,
}

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp {
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// The tokens of one node, loaded from its `tokens.toml`.
#[derive(Debug)]
pub struct TokenBook {
    path: PathBuf,
    entries: Vec<(TokenEntry, [u8; 32])>,
    /// The file version `entries` came from; `None` when it did not exist.
    stamp: Option<FileStamp>,
}

impl TokenBook {
    /// Reads the book at `path`; a missing file is an empty book.
    pub fn load(path: impl Into<PathBuf>) -> Result<TokenBook, TokenError> {
        let mut book = TokenBook {
            path: path.into(),
            entries: vec![],
            stamp: None,
        };
        book.read()?;
        Ok(book)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored tokens (hashes, roles, labels), oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &TokenEntry> {
        self.entries.iter().map(|(e, _)| e)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn io(&self, source: std::io::Error) -> TokenError {
        TokenError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn current_stamp(&self) -> Result<Option<FileStamp>, TokenError> {
        match fs::metadata(&self.path) {
            Ok(m) => Ok(Some(FileStamp::of(&m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    fn read(&mut self) -> Result<(), TokenError> {
        let stamp = self.current_stamp()?;
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io(e)),
        };
        let file: BookFile = toml::from_str(&text).map_err(|e| TokenError::Malformed {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let mut entries = Vec::with_capacity(file.tokens.len());
        for t in file.tokens {
            let hash: [u8; 32] = hex::decode(&t.hash)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| TokenError::Malformed {
                    path: self.path.clone(),
                    reason: format!("token {:?}: hash is not 64 hex digits", t.label),
                })?;
            entries.push((t, hash));
        }
        self.entries = entries;
        self.stamp = stamp;
        Ok(())
    }

    /// Re-reads the book if the file changed since it was read (one `stat`
    /// when it did not). Returns whether it re-read. On error the book keeps
    /// the tokens it had.
    pub fn reload_if_changed(&mut self) -> Result<bool, TokenError> {
        if self.current_stamp()? == self.stamp {
            return Ok(false);
        }
        self.read()?;
        Ok(true)
    }

    /// Whether the file changed since it was read, without re-reading it.
    pub fn changed_on_disk(&self) -> bool {
        self.current_stamp().map_or(true, |s| s != self.stamp)
    }

    /// The role of a presented secret, if it is in the book. Every stored
    /// hash is compared, in constant time, whatever matches.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found: Option<Role> = None;
        for (entry, hash) in &self.entries {
            let hit: bool = hash.ct_eq(&presented).into();
            if hit && found.is_none() {
                found = Some(entry.role);
            }
        }
        found
    }

    /// Creates a token, writes the book, and returns the secret (shown once).
    /// Blocking: takes the book's lock file and fsyncs.
    pub fn create(&mut self, role: Role, label: &str) -> Result<String, TokenError> {
        self.create_for(role, label, None)
    }

    /// The person who holds the token presented as `key` (its SHA-256).
    pub fn person_of(&self, key: &[u8; 32]) -> Option<Person> {
        self.entries
            .iter()
            .find(|(_, hash)| hash == key)
            .map(|(e, _)| e.person())
    }

    /// [`TokenBook::create`] for a named person (`--name`, `--title`), who
    /// is then named on the documents they prepare or approve.
    pub fn create_for(
        &mut self,
        role: Role,
        label: &str,
        person: Option<&Person>,
    ) -> Result<String, TokenError> {
        let label = label.trim();
        if label.is_empty()
            || label.chars().count() > MAX_LABEL
            || label.chars().any(char::is_control)
        {
            return Err(TokenError::BadLabel);
        }
        let person = person.map(|p| Person {
            name: p.name.trim().to_string(),
            title: p.title.as_deref().map(str::trim).map(str::to_string),
        });
        if let Some(p) = &person {
            let checked = tally_model::validate::required("name", &p.name)
                .and_then(|()| tally_model::validate::name("name", &p.name))
                .and_then(|()| {
                    tally_model::validate::name("title", p.title.as_deref().unwrap_or(""))
                });
            checked.map_err(|e| TokenError::BadPerson(e.0))?;
        }
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
        let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let entry = TokenEntry {
            hash: hex::encode(hash),
            role,
            label: label.to_string(),
            created_at_ms: now_ms(),
            name: person.as_ref().map(|p| p.name.clone()),
            title: person.and_then(|p| p.title),
        };
        let _lock = BookLock::acquire(&self.path)?;
        // Another process may have added tokens since this book was read.
        self.read()?;
        let mut tokens: Vec<TokenEntry> = self.entries().cloned().collect();
        tokens.push(entry);
        self.write(&BookFile { tokens })?;
        self.read()?;
        Ok(secret)
    }

    fn write(&self, file: &BookFile) -> Result<(), TokenError> {
        let text = toml::to_string(file).map_err(|e| TokenError::Malformed {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = self
            .path
            .with_extension(format!("toml.tmp.{}", std::process::id()));
        let result = (|| {
            let mut f = open_private(&tmp)?;
            f.write_all(b"# API tokens of this node: SHA-256 hashes only. Written by tally; edit with care.\n")?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            // The rename is durable once the directory is synced.
            fs::File::open(dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(|e| self.io(e))
    }
}

fn open_private(path: &Path) -> std::io::Result<fs::File> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = o.open(path)?;
    // `mode` applies only when the file is created, and the umask may narrow it further.
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(f)
}

/// An exclusive lock between the processes that write one book: a file
/// created with `O_EXCL`, removed on drop. A lock older than
/// [`BookLock::STALE`] was left by a crashed writer and is broken.
struct BookLock {
    path: PathBuf,
}

impl BookLock {
    const STALE: Duration = Duration::from_secs(10);
    const WAIT: Duration = Duration::from_secs(3);

    fn acquire(book: &Path) -> Result<BookLock, TokenError> {
        let mut name = book.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let start = std::time::Instant::now();
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(BookLock { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Self::STALE);
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if start.elapsed() > Self::WAIT {
                        return Err(TokenError::Locked {
                            path: book.to_path_buf(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(source) => {
                    return Err(TokenError::Io {
                        path: path.clone(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for BookLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(dir: &tempfile::TempDir) -> TokenBook {
        TokenBook::load(dir.path().join("tokens.toml")).expect("loads")
    }

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Officer < Role::Issuer && Role::Issuer < Role::Admin);
        assert!(Role::Admin.allows(Role::Officer));
        assert!(Role::Issuer.allows(Role::Issuer));
        assert!(!Role::Officer.allows(Role::Issuer));
        assert!(!Role::Issuer.allows(Role::Admin));
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().expect("parses"), r);
            assert_eq!(
                serde_json::to_value(r).expect("serializes"),
                serde_json::Value::String(r.as_str().into())
            );
        }
        assert!("Admin".parse::<Role>().is_err());
        assert!(serde_json::from_str::<Role>("\"root\"").is_err());
    }

    #[test]
    fn missing_file_is_an_empty_book() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = book(&dir);
        assert!(b.is_empty());
        assert_eq!(b.role_of("tally_anything"), None);
        assert_eq!(b.role_of(""), None);
    }

    #[test]
    fn create_stores_only_the_hash_and_finds_the_role() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = book(&dir);
        let officer = b.create(Role::Officer, "gate 3").expect("creates");
        let admin = b.create(Role::Admin, "ops").expect("creates");
        assert!(officer.starts_with(SECRET_PREFIX));
        assert_eq!(officer.len(), SECRET_PREFIX.len() + 43);
        assert_ne!(officer, admin);
        assert_eq!(b.role_of(&officer), Some(Role::Officer));
        assert_eq!(b.role_of(&admin), Some(Role::Admin));
        assert_eq!(b.role_of(&format!("{officer}x")), None);
        assert_eq!(b.role_of(&officer[..officer.len() - 1]), None);

        let text = fs::read_to_string(b.path()).expect("reads");
        assert!(!text.contains(&officer) && !text.contains(&admin[SECRET_PREFIX.len()..]));
        assert!(text.contains(&hex::encode(Sha256::digest(officer.as_bytes()))));
        assert!(text.contains("gate 3"));

        // A fresh load sees the same tokens.
        let again = book(&dir);
        assert_eq!(again.len(), 2);
        assert_eq!(again.role_of(&admin), Some(Role::Admin));
        assert!(again.entries().all(|e| e.created_at_ms > 0));
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private_and_no_temp_file_is_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = book(&dir);
        b.create(Role::Issuer, "desk").expect("creates");
        let mode = fs::metadata(b.path()).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<String> = fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["tokens.toml".to_string()]);
    }

    #[test]
    fn a_running_node_sees_tokens_created_by_another_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut node = book(&dir);
        assert!(!node.reload_if_changed().expect("stat"));
        let mut cli = book(&dir);
        let secret = cli.create(Role::Officer, "cli").expect("creates");
        assert_eq!(node.role_of(&secret), None);
        assert!(node.changed_on_disk());
        assert!(node.reload_if_changed().expect("reloads"));
        assert_eq!(node.role_of(&secret), Some(Role::Officer));
        assert!(!node.reload_if_changed().expect("stat"));

        // Both write in turn: neither loses the other's token.
        let from_node = node.create(Role::Admin, "node").expect("creates");
        let from_cli = cli.create(Role::Issuer, "cli 2").expect("creates");
        node.reload_if_changed().expect("reloads");
        for (s, r) in [
            (&secret, Role::Officer),
            (&from_node, Role::Admin),
            (&from_cli, Role::Issuer),
        ] {
            assert_eq!(node.role_of(s), Some(r));
            assert_eq!(cli.role_of(s), Some(r));
        }
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tokens.toml");
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut b = TokenBook::load(&path).expect("loads");
                    (0..5)
                        .map(|j| {
                            b.create(Role::Officer, &format!("t{i}-{j}"))
                                .expect("creates")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let secrets: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("joins"))
            .collect();
        let b = TokenBook::load(&path).expect("loads");
        assert_eq!(b.len(), 20);
        assert!(secrets.iter().all(|s| b.role_of(s) == Some(Role::Officer)));
    }

    #[test]
    fn bad_labels_and_bad_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = book(&dir);
        for label in ["", "   ", "a\nb", &"x".repeat(MAX_LABEL + 1)] {
            assert!(matches!(
                b.create(Role::Officer, label),
                Err(TokenError::BadLabel)
            ));
        }
        assert!(b.is_empty());
        assert!(!b.path().exists());

        fs::write(
            b.path(),
            "[[token]]\nhash = \"zz\"\nrole = \"admin\"\nlabel = \"x\"\ncreated_at_ms = 1\n",
        )
        .expect("writes");
        assert!(matches!(
            TokenBook::load(b.path()),
            Err(TokenError::Malformed { .. })
        ));
        fs::remove_file(b.path()).expect("removes");

        // A node that already runs keeps its tokens when the file goes bad.
        let secret = b.create(Role::Admin, "ops").expect("creates");
        fs::write(b.path(), "not toml [").expect("writes");
        assert!(b.reload_if_changed().is_err());
        assert_eq!(b.role_of(&secret), Some(Role::Admin));
    }

    #[test]
    fn a_stale_lock_is_broken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut b = book(&dir);
        let lock = dir.path().join("tokens.toml.lock");
        let f = fs::File::create(&lock).expect("creates");
        f.set_modified(SystemTime::now() - Duration::from_secs(60))
            .expect("sets mtime");
        b.create(Role::Officer, "after crash")
            .expect("breaks the stale lock");
        assert!(!lock.exists());
    }
}
