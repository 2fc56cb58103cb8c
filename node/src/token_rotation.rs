//! A signing-key rotation inside the PKCS#11 token (`POST /v1/keys/rotate`
//! with `[signing]`; docs/OPERATIONS.md, "Signing keys in an HSM (PKCS#11)").
//!
//! In order, each step durable before the next: a new key pair is
//! generated in the token under the next label ([`next_key_label`]; the
//! pair an earlier, interrupted run made there is taken as it is); the
//! rotation entry announcing it is appended to the log, signed by the
//! current key, and the verifier signs with the new key from then on;
//! `tally.toml` names the new label; `card.toml` lists the retired key and
//! the new one. A stop after the append and before `tally.toml` is finished
//! at the next start ([`finish_interrupted`]): the log names the new key,
//! and it is found under the next label.
//!
//! The retired key stays in the token under its label. It signs nothing the
//! network accepts after the rotation's seq (keys are judged by seq), and
//! removing it is the HSM's own operation, left to its administrator.

use crate::config::{Config, NodeDir, SigningConfig};
use crate::files;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use tally_api::{ApiError, RotatedKey};
use tally_custody::{Pkcs11Signer, Signer, SignerError};
use tally_model::AuthorityId;
use tally_verify::{IssueError, Reader, Verifier};
use tracing::{error, info, warn};

/// The label of the key pair that follows `label`: `NAME-k2` after `NAME`,
/// `NAME-k3` after `NAME-k2`, and so on.
pub fn next_key_label(label: &str) -> String {
    if let Some((stem, count)) = label.rsplit_once("-k")
        && let Ok(n) = count.parse::<u32>()
        && n >= 2
        && count == n.to_string()
    {
        return format!("{stem}-k{}", n.saturating_add(1));
    }
    format!("{label}-k2")
}

/// Rotates `verifier`'s signing key within the token of `current`, the
/// node's card being `card` (the caller holds the rotation lock); returns
/// the rotation and the `[signing]` now in force.
pub(crate) fn rotate(
    verifier: &Verifier,
    card: &Path,
    current: &SigningConfig,
) -> Result<(RotatedKey, SigningConfig), ApiError> {
    let next = SigningConfig {
        key_label: next_key_label(&current.key_label),
        ..current.clone()
    };
    let config = next
        .pkcs11()
        .map_err(|e| ApiError::internal(format!("{e:#}")))?;
    let signer = match Pkcs11Signer::generate(config.clone()) {
        // An earlier rotation made this pair and stopped before announcing it.
        Err(SignerError::KeyExists { .. }) => Pkcs11Signer::open(config),
        other => other,
    }
    .map_err(signer_api_error)?;
    let key_id = hex::encode(signer.public_key());
    let signer: Arc<dyn Signer> = Arc::new(signer);
    let issued = verifier.issuer().rotate_signing_key(signer)?;
    let seq = issued.entry.seq;
    // The log announces the key and the verifier signs with it: from here
    // on a failure is reported in the log, and the next start finishes it.
    if let Err(e) = write_label(node_dir(card), &next.key_label) {
        error!(error = %format!("{e:#}"), "tally.toml was not rewritten after the key rotation; the next start finishes it");
    }
    let rewrite =
        || files::rewrite_own_keys(card, &verifier.reader()?, verifier.authority(), &key_id);
    if let Err(e) = rewrite() {
        error!(error = %format!("{e:#}"), "card.toml was not rewritten after the key rotation");
    }
    info!(seq, key = %&key_id[..16], label = %next.key_label, "signing key rotated inside the token");
    Ok((
        RotatedKey {
            key_id,
            entry: issued.entry,
        },
        next,
    ))
}

/// At start: when the log's current signing key is not the one under
/// `config`'s label but the one under the next label (a rotation stopped
/// before `tally.toml` named it), finishes that rotation (`tally.toml`, then
/// `card.toml`) and returns the `[signing]` in force; otherwise `config`.
pub(crate) fn finish_interrupted(
    config: &SigningConfig,
    log: &Reader,
    authority: &AuthorityId,
    card: &Path,
) -> anyhow::Result<SigningConfig> {
    let Some(newest) = log.rotated_keys(authority)?.into_iter().next_back() else {
        return Ok(config.clone());
    };
    let next = SigningConfig {
        key_label: next_key_label(&config.key_label),
        ..config.clone()
    };
    let found = match Pkcs11Signer::open(next.pkcs11()?) {
        Ok(signer) => hex::encode(signer.public_key()),
        // No pair under the next label: nothing was interrupted here.
        Err(SignerError::KeyNotFound { .. }) => return Ok(config.clone()),
        Err(e) => return Err(crate::signing::signer_error(e)),
    };
    if !found.eq_ignore_ascii_case(&newest.public_key) {
        return Ok(config.clone());
    }
    warn!(
        seq = newest.entry.seq,
        label = %next.key_label,
        "finishing a signing-key rotation inside the token that was interrupted"
    );
    write_label(node_dir(card), &next.key_label)?;
    files::rewrite_own_keys(card, log, authority, &found)?;
    Ok(next)
}

/// The node directory `card.toml` is in.
fn node_dir(card: &Path) -> &Path {
    card.parent().unwrap_or(Path::new("."))
}

/// Names `label` as the signing key pair in `tally.toml`'s `[signing]`.
fn write_label(dir: &Path, label: &str) -> anyhow::Result<()> {
    let dir = NodeDir(dir.to_path_buf());
    let mut config = Config::load(&dir)?;
    let signing = config
        .signing
        .as_mut()
        .context("tally.toml has no [signing] section")?;
    signing.key_label = label.to_string();
    crate::admin::write_config(&dir, &config)
}

fn signer_api_error(e: SignerError) -> ApiError {
    if e.is_unavailable() {
        IssueError::Unavailable(e.to_string()).into()
    } else {
        IssueError::Signer(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::next_key_label;

    #[test]
    fn labels_count_up() {
        assert_eq!(next_key_label("us-ddtc-signing"), "us-ddtc-signing-k2");
        assert_eq!(next_key_label("us-ddtc-signing-k2"), "us-ddtc-signing-k3");
        assert_eq!(next_key_label("a-k9"), "a-k10");
        // Not a counter this scheme wrote: a suffix is added.
        assert_eq!(next_key_label("a-k1"), "a-k1-k2");
        assert_eq!(next_key_label("a-k02"), "a-k02-k2");
        assert_eq!(next_key_label("a-kx"), "a-kx-k2");
        assert_eq!(next_key_label("-k"), "-k-k2");
    }
}
