//! `[signing]`: the authority's signing key in a PKCS#11 token rather than
//! in `keys/authority.key` (docs/OPERATIONS.md, "Signing keys in an HSM
//! (PKCS#11)"). At start the node opens the token's key, refuses to start
//! when it is not the signing key its own card lists, and exits with
//! [`PIN_REFUSED_EXIT`] when the token refuses the PIN (docs/API.md, exit
//! status). While it runs, a token that goes away is looked for again once
//! a second ([`watch`]), so that health recovers without a write.

pub use crate::config::SigningConfig;
use crate::files;
use anyhow::{Context, bail};

use std::path::Path;
use std::sync::Arc;
use tally_custody::{Pkcs11Signer, Signer, SignerError};
use tally_verify::Verifier;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The exit status of a node whose token refused the PIN: the systemd unit
/// does not restart on it (`RestartPreventExitStatus=`), since retrying
/// with the same PIN would lock a real HSM's (docs/API.md).
pub const PIN_REFUSED_EXIT: u8 = 3;

/// `signing` with its PIN file's path made absolute (the command line's
/// paths are relative to the working directory; `tally.toml`'s to the node
/// directory).
pub fn absolute(signing: SigningConfig) -> anyhow::Result<SigningConfig> {
    Ok(SigningConfig {
        pin_file: std::path::absolute(&signing.pin_file)
            .with_context(|| format!("the PIN file {}", signing.pin_file.display()))?,
        ..signing
    })
}

/// Generates a new signing key in the token (`tally init
/// --pkcs11-module ...`); returns its public key.
pub fn generate(config: &SigningConfig) -> anyhow::Result<[u8; 32]> {
    let signer = Pkcs11Signer::generate(config.pkcs11()?).map_err(signer_error)?;
    info!(signer = %signer.description(), "signing key generated in the PKCS#11 token");
    Ok(signer.public_key())
}

/// The token refused the PIN: the node stops with [`PIN_REFUSED_EXIT`].
#[derive(Debug, thiserror::Error)]
#[error(
    "{0}; not retried, since a hardware security module locks its PIN after a few wrong \
     tries: correct the PIN file and start the node again"
)]
pub struct PinRefused(pub SignerError);

/// Whether `e` is, or was caused by, a refused PIN.
pub fn is_pin_refused(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<PinRefused>().is_some())
}

/// Maps a signer's error, a refused PIN to [`PinRefused`].
pub fn signer_error(e: SignerError) -> anyhow::Error {
    match e {
        SignerError::PinRefused { .. } => PinRefused(e).into(),
        other => other.into(),
    }
}

/// Opens the token's key at start and checks it against the node's card:
/// the key the card lists as current must be the token's. Logs once that
/// the encryption key stays in its file.
pub fn open(config: &SigningConfig, card: &Path) -> anyhow::Result<Arc<dyn Signer>> {
    let signer = Pkcs11Signer::open(config.pkcs11()?).map_err(signer_error)?;
    let public = hex::encode(signer.public_key());
    let card_key = current_card_key(card)?;
    if !card_key.eq_ignore_ascii_case(&public) {
        bail!(
            "the signing key in token {:?} (label {:?}, public key {public}) is not this \
             authority's current signing key on {} ({card_key}): this node would sign \
             entries no peer accepts; check `[signing]` in tally.toml",
            config.token_label,
            config.key_label,
            card.display()
        );
    }
    info!(signer = %signer.description(), "signing through the PKCS#11 token");
    info!(
        "the encryption key stays in its key file: SoftHSM2 and most PKCS#11 modules hold \
         no X25519 keys (docs/OPERATIONS.md)"
    );
    Ok(Arc::new(signer))
}

/// The current signing key of `card`, hex.
fn current_card_key(card: &Path) -> anyhow::Result<String> {
    let card = files::read_card(card)?;
    card.keys
        .iter()
        .rev()
        .find(|k| k.retired_after_seq.is_none())
        .map(|k| k.public_key.clone())
        .context("the node's card lists no current signing key")
}

/// While the verifier's token is away, asks it once a second whether it is
/// back, until `cancel`.
pub async fn watch(verifier: Verifier, cancel: CancellationToken) {
    let mut was_away = false;
    loop {
        let v = verifier.clone();
        match tokio::task::spawn_blocking(move || v.check_signer()).await {
            Ok(Some(reason)) if !was_away => {
                warn!(reason = %reason, "the signing token is away; writes answer 503");
                was_away = true;
            }
            Ok(None) => was_away = false,
            Ok(Some(_)) => {}
            Err(e) => warn!(error = %e, "the signing token's check stopped"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(tally_custody::RECONNECT_INTERVAL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, NodeDir};
    use std::path::PathBuf;

    fn example_with(section: &str) -> String {
        let text = include_str!("../../config/tally.example.toml");
        format!("{text}\n{section}")
    }

    #[test]
    fn the_signing_section_is_read_and_its_pin_file_resolved() {
        let text = example_with(
            "[signing]\npkcs11_module = \"/usr/lib/softhsm/libsofthsm2.so\"\n\
             token_label = \"tally\"\nkey_label = \"us-ddtc-signing-1\"\npin_file = \"pin\"\n",
        );
        let config: Config = toml::from_str(&text).expect("parses");
        let settings = config
            .settings(&NodeDir(PathBuf::from("/tmp/x")))
            .expect("valid");
        let signing = settings.signing.expect("a [signing] section");
        assert_eq!(signing.pin_file, PathBuf::from("/tmp/x/pin"));
        assert_eq!(signing.token_label, "tally");
        // The example itself signs with its key file.
        let example: Config =
            toml::from_str(include_str!("../../config/tally.example.toml")).expect("parses");
        assert!(example.signing.is_none());
    }

    #[test]
    fn an_empty_or_unknown_signing_key_is_named() {
        let dir = NodeDir(PathBuf::from("/tmp/x"));
        let empty = example_with(
            "[signing]\npkcs11_module = \"/m.so\"\ntoken_label = \" \"\n\
             key_label = \"k\"\npin_file = \"pin\"\n",
        );
        let config: Config = toml::from_str(&empty).expect("parses");
        let err = config.settings(&dir).expect_err("refused");
        assert!(err.to_string().contains("signing.token_label"), "{err}");
        let unknown = example_with(
            "[signing]\npkcs11_module = \"/m.so\"\ntoken_label = \"t\"\nkey_label = \"k\"\n\
             pin_file = \"pin\"\npin = \"1234\"\n",
        );
        assert!(toml::from_str::<Config>(&unknown).is_err());
    }

    #[test]
    fn a_refused_pin_is_found_under_context() {
        let refused = signer_error(SignerError::PinRefused {
            token: "tally".into(),
            locked: false,
        })
        .context("starting the node");
        assert!(is_pin_refused(&refused));
        let away = signer_error(SignerError::Unavailable {
            token: "tally".into(),
            reason: "gone".into(),
        });
        assert!(!is_pin_refused(&away));
    }

    #[test]
    fn a_missing_module_refuses_the_start_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pin = dir.path().join("pin");
        std::fs::write(&pin, "1234\n").expect("pin");
        let config = SigningConfig {
            pkcs11_module: dir.path().join("no-such-module.so"),
            token_label: "tally".into(),
            key_label: "k".into(),
            pin_file: pin,
        };
        let err = open(&config, &dir.path().join("card.toml"))
            .err()
            .expect("refused");
        let text = format!("{err:#}");
        assert!(text.contains("no-such-module.so"), "{text}");
        assert!(!text.contains("1234"), "{text}");
        assert!(!is_pin_refused(&err));
    }
}
