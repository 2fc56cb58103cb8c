//! Whether this node may sign entries of its own log now.
//!
//! A node must never fork its own log. Two things stop it from signing:
//! - **recovering**: its store was missing at start (a lost disk, a restore
//!   of the keys alone), so it does not know its own head; it pulls its log
//!   from peers and signs again once a trusted peer has confirmed the head
//!   (the node's sync worker calls [`Verifier::recovered`]).
//! - **stopped**: a peer offered an entry of this node's own authority that
//!   this node did not write (`log.cloned`): a copy of its keys signs
//!   elsewhere. Only a restart by the administrator clears it (the state is
//!   not persisted; the evidence and the alert are).
//!
//! Issuing operations (issue, amend, status change, a check with `record`,
//! key rotation) refuse with [`IssueError::Unavailable`] meanwhile; checks
//! and reads keep working.
//!
//! A third thing stops a signature without stopping the node: its signing
//! token being away (docs/OPERATIONS.md, "Signing keys in an HSM
//! (PKCS#11)"). The write that found it so answers 503, health says
//! `degraded` naming the token ([`Verifier::signer_away`]) until a signature
//! or [`Verifier::check_signer`] finds the token back.

use crate::{IssueError, Verifier};

/// Whether the node signs: `GET /v1/status` `"signing"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Ok,
    Recovering,
    Stopped,
}

impl Signing {
    pub fn as_str(self) -> &'static str {
        match self {
            Signing::Ok => "ok",
            Signing::Recovering => "recovering",
            Signing::Stopped => "stopped",
        }
    }
}

/// The state and, unless ok, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningState {
    pub state: Signing,
    pub reason: Option<String>,
}

impl Default for SigningState {
    fn default() -> SigningState {
        SigningState {
            state: Signing::Ok,
            reason: None,
        }
    }
}

impl Verifier {
    /// Whether this node signs now, and why not.
    pub fn signing(&self) -> SigningState {
        self.inner
            .signing
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn set_signing(&self, state: Signing, reason: Option<String>) {
        let mut s = self
            .inner
            .signing
            .write()
            .unwrap_or_else(|p| p.into_inner());
        // Stopped is final for this process: only a restart clears it.
        if s.state == Signing::Stopped {
            return;
        }
        *s = SigningState { state, reason };
    }

    /// A trusted peer confirmed this node's head at `seq` (the entry it
    /// holds there is `hash`, `None` for an empty log): when this node holds
    /// the same entry, the recovery mark leaves the store and the node signs
    /// again (unless it was stopped meanwhile). Returns this node's head
    /// when the recovery ended here, `None` when it is not caught up yet or
    /// was not recovering.
    pub fn confirm_head(
        &self,
        seq: u64,
        hash: Option<&[u8]>,
    ) -> Result<Option<u64>, tally_store::StoreError> {
        let own = self.authority().clone();
        let reader = self.reader()?;
        if seq > 0 {
            let held = reader.entry_at(&own, seq)?;
            if held.is_none_or(|e| Some(&e.id().0[..]) != hash) {
                return Ok(None);
            }
        }
        let ours = reader.head(&own)?.map_or(0, |(s, _)| s);
        self.inner.store.set_recovering(false)?;
        Ok(self.recovered().then_some(ours))
    }

    /// The node caught up with a head a trusted peer confirmed: it signs
    /// again (unless it was stopped meanwhile). True if it was recovering.
    pub fn recovered(&self) -> bool {
        let _w = self.lock();
        if self.signing().state != Signing::Recovering {
            return false;
        }
        self.set_signing(Signing::Ok, None);
        true
    }

    /// Stops signing until the process restarts (`log.cloned`).
    pub(crate) fn stop_signing(&self, reason: String) {
        let mut s = self
            .inner
            .signing
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *s = SigningState {
            state: Signing::Stopped,
            reason: Some(reason),
        };
    }

    /// Why the signing token is away, while it is (health is `degraded`).
    pub fn signer_away(&self) -> Option<String> {
        self.away().clone()
    }

    fn away(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.inner
            .signer_away
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Records what a signature found: the token away, or answering. A PIN
    /// the token refused on reconnection counts as away too (health says
    /// so); the signer never retries it, so only a restart clears it.
    pub(crate) fn note_signer(&self, failure: Option<&tally_model::signer::SignerError>) {
        let mut away = self.away();
        match failure {
            Some(e @ tally_model::signer::SignerError::PinRefused { .. }) => {
                *away = Some(e.to_string())
            }
            Some(e) if e.is_unavailable() => *away = Some(e.to_string()),
            Some(_) => {}
            None => {
                if away.take().is_some() {
                    tracing::info!("the signing token answers again; signing resumed");
                }
            }
        }
    }

    /// While the signing token is away, asks the signer whether it is back
    /// (without signing); returns why it is still away. Blocks for as long
    /// as the token takes to answer: call it off the async runtime.
    pub fn check_signer(&self) -> Option<String> {
        if self.away().is_none() {
            return None;
        }
        let checked = self.signer().check();
        self.note_signer(checked.as_ref().err());
        self.signer_away()
    }

    /// `Ok` when the node may sign; otherwise the refusal, logged.
    pub(crate) fn may_sign(&self) -> Result<(), IssueError> {
        let s = self.signing();
        match s.state {
            Signing::Ok => Ok(()),
            Signing::Recovering | Signing::Stopped => {
                let message = match s.state {
                    Signing::Recovering => format!(
                        "this node is recovering its own log from its peers and signs nothing \
                         until a trusted peer has confirmed its head: {}",
                        s.reason
                            .as_deref()
                            .unwrap_or("its store was missing at start")
                    ),
                    _ => format!(
                        "this node stopped signing: {}; its administrator must restart it",
                        s.reason.as_deref().unwrap_or("log.cloned")
                    ),
                };
                tracing::warn!(signing = s.state.as_str(), "issuing refused: {message}");
                Err(IssueError::Unavailable(message))
            }
        }
    }
}
