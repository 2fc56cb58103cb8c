//! Why a signature was not made, sorted by what the node does about it.

/// Why a [`crate::Signer`] did not sign, or a token key could not be opened.
///
/// The variants are sorted by what the node does: [`Unavailable`] answers
/// writes with 503 and keeps serving reads (the signer reconnects by itself);
/// [`PinRefused`] stops the node with its own exit code and no restart (a
/// real HSM locks its PIN after a few wrong tries); everything else is a
/// set-up mistake to fix before starting again. No variant carries a PIN.
///
/// [`Unavailable`]: SignerError::Unavailable
/// [`PinRefused`]: SignerError::PinRefused
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The token is absent, was removed, or its session was lost
    /// (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
    /// CKR_SESSION_CLOSED, CKR_DEVICE_ERROR, the module finalised under the
    /// signer). The next call re-initialises the module and re-opens the
    /// session.
    #[error("signing token {token:?} is unavailable: {reason}")]
    Unavailable { token: String, reason: String },
    /// The token refused the PIN (CKR_PIN_INCORRECT, or CKR_PIN_LOCKED when
    /// `locked`). Retrying with the same PIN would only lock it.
    #[error("signing token {token:?} refused the PIN{}", if *locked { " (the PIN is locked)" } else { "" })]
    PinRefused { token: String, locked: bool },
    /// No key pair of that label on the token, or not the key the signer was
    /// opened with (a token swapped for another).
    #[error("signing token {token:?} has no usable Ed25519 key labelled {label:?}: {reason}")]
    KeyNotFound {
        token: String,
        label: String,
        reason: String,
    },
    /// Generation refused to make a second key under a label in use.
    #[error("signing token {token:?} already holds a key labelled {label:?}")]
    KeyExists { token: String, label: String },
    /// The PKCS#11 module could not be loaded (a wrong path, a missing
    /// library).
    #[error("PKCS#11 module {module}: {reason}")]
    Module { module: String, reason: String },
    /// The signer answered a signature that does not verify with its own
    /// public key under the protocol's rule (a token signing with another
    /// key or another EdDSA scheme): nothing was issued.
    #[error("{signer} made a signature that does not verify with its public key")]
    BadSignature { signer: String },
    /// Anything else the token answered (an unsupported mechanism, a
    /// malformed answer): not expected to pass by retrying.
    #[error("signing token {token:?}: {reason}")]
    Failed { token: String, reason: String },
}

impl SignerError {
    /// The token is away for now: answer 503 and try again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SignerError::Unavailable { .. })
    }
}
