//! Secret key files: created with mode 0600, refused when readable by others,
//! never logged.

use anyhow::{Context, bail};
use std::io::Write;
use std::path::Path;
use tally_model::AuthorityKey;
use tally_model::seal::{EncryptionSecret, OsRandom};

/// Writes a new secret file, mode 0600, failing if it exists.
pub fn write_secret(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
        set_mode(parent, 0o700)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    Ok(())
}

pub fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions of {}", path.display()))
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("key file {} is missing", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "key file {} is readable by group or others (mode {:o}); run chmod 600",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read key file {}", path.display()))
}

pub fn generate_authority_key() -> [u8; 32] {
    rand::random()
}

pub fn encode_authority_key(secret: &[u8; 32]) -> Vec<u8> {
    format!("{}\n", hex::encode(secret)).into_bytes()
}

/// The 32 secret bytes of a key file written as 64 hex characters.
fn read_hex_secret(path: &Path) -> anyhow::Result<[u8; 32]> {
    let text = read_secret(path)?;
    std::str::from_utf8(&text)
        .ok()
        .and_then(|t| hex::decode(t.trim()).ok())
        .and_then(|b| b.try_into().ok())
        .with_context(|| {
            format!(
                "key file {} is corrupt: expected 64 hex characters",
                path.display()
            )
        })
}

pub fn load_authority_key(path: &Path) -> anyhow::Result<AuthorityKey> {
    Ok(AuthorityKey::from_bytes(&read_hex_secret(path)?))
}

/// The paper key at `path` (docs/PROTOCOL.md 14), created (0600) when
/// missing (at the first start with `[paper] enabled`).
pub fn load_or_create_paper_key(path: &Path) -> anyhow::Result<AuthorityKey> {
    if !path.exists() {
        write_secret(path, &encode_authority_key(&generate_authority_key()))?;
        tracing::info!(path = %path.display(), "created the authority's paper key");
    }
    load_authority_key(path)
}

/// The X25519 encryption secret at `path`, created (0600) when missing.
/// Only for `tally init`: a running node creates one only when its authority
/// never announced any ([`crate::rotate::settle_encryption_key`]).
pub fn load_or_create_encryption_key(path: &Path) -> anyhow::Result<EncryptionSecret> {
    if !path.exists() {
        return create_encryption_key(path);
    }
    load_encryption_key(path)
}

/// A new X25519 encryption secret, written to `path` (0600; refused if the
/// file exists).
pub fn create_encryption_key(path: &Path) -> anyhow::Result<EncryptionSecret> {
    let secret = EncryptionSecret::generate(&mut OsRandom);
    write_secret(path, &encode_authority_key(&secret.to_bytes()))?;
    tracing::info!(path = %path.display(), "created the authority's encryption key");
    Ok(secret)
}

/// The X25519 encryption secret at `path`; never creates one.
pub fn load_encryption_key(path: &Path) -> anyhow::Result<EncryptionSecret> {
    Ok(EncryptionSecret::from_bytes(read_hex_secret(path)?))
}

pub fn load_node_key(path: &Path) -> anyhow::Result<tally_p2p::Keypair> {
    let bytes = read_secret(path)?;
    tally_p2p::Keypair::from_protobuf_encoding(&bytes).with_context(|| {
        format!(
            "key file {} is corrupt: not a libp2p keypair",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_loose_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("keys/a.key");
        let secret = generate_authority_key();
        write_secret(&p, &encode_authority_key(&secret)).expect("writes");
        let k = load_authority_key(&p).expect("loads");
        assert_eq!(k.to_bytes(), secret);
        assert!(write_secret(&p, b"x").is_err(), "never overwrites a key");
        set_mode(&p, 0o644).expect("chmod");
        let err = load_authority_key(&p).expect_err("loose mode refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        set_mode(&p, 0o600).expect("chmod");
        std::fs::write(&p, "not hex").expect("write");
        let err = load_authority_key(&p).expect_err("corrupt refused");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }
}
