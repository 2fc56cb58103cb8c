//! [`VerifierBuilder`]: everything a [`Verifier`] is given, given before it
//! exists. A verifier has no setter: its clock, time zone, encryption keys
//! and whether it starts recovering its own log are fixed when it is built
//! (only what it learns while running changes: signing state, keys rotated
//! through its own log, the trust list the node swaps).

use crate::sealing::Sealing;
use crate::{Clock, Inner, NoPublish, Publish, SigningState, SystemClock, TimeZone, Verifier};
use std::sync::{Arc, Mutex, RwLock};
use tally_model::signer::{FileSigner, Signer};
use tally_model::{AuthorityId, AuthorityKey, TrustList};
use tally_store::Store;

/// What a verifier signs with: a signer (a key file's or a token's, see
/// tally-custody), or an authority key held in memory, which signs as its
/// key file's signer does.
pub trait IntoSigner {
    fn into_signer(self) -> Arc<dyn Signer>;
}

impl IntoSigner for Arc<dyn Signer> {
    fn into_signer(self) -> Arc<dyn Signer> {
        self
    }
}

impl IntoSigner for AuthorityKey {
    fn into_signer(self) -> Arc<dyn Signer> {
        Arc::new(FileSigner::new(&self))
    }
}

/// How a [`Verifier`] is made: [`Verifier::builder`], then what differs
/// from the defaults, then [`VerifierBuilder::build`].
pub struct VerifierBuilder {
    store: Store,
    authority: AuthorityId,
    key: Arc<dyn Signer>,
    trust: Arc<RwLock<TrustList>>,
    publish: Box<dyn Publish>,
    clock: Box<dyn Clock>,
    timezone: TimeZone,
    sealing: Option<Arc<Sealing>>,
    recovering: Option<String>,
}

impl Verifier {
    /// A verifier of `authority`'s documents over `store`, signing with
    /// `key` (a signer, or a key in memory). Defaults: an empty trust list, publishing nowhere, the
    /// system clock, UTC, no encryption keys (documents go out in clear
    /// and nothing sealed is read), signing.
    pub fn builder(store: Store, authority: AuthorityId, key: impl IntoSigner) -> VerifierBuilder {
        VerifierBuilder {
            store,
            authority,
            key: key.into_signer(),
            trust: Arc::default(),
            publish: Box::new(NoPublish),
            clock: Box::new(SystemClock),
            timezone: TimeZone::utc(),
            sealing: None,
            recovering: None,
        }
    }
}

impl VerifierBuilder {
    /// The trust list, shared with whoever replaces it on change (the node's
    /// watcher, the opener).
    pub fn trust(mut self, trust: Arc<RwLock<TrustList>>) -> Self {
        self.trust = trust;
        self
    }

    /// Where what it signs or proves goes (see [`Publish`]).
    pub fn publish(mut self, publish: Box<dyn Publish>) -> Self {
        self.publish = publish;
        self
    }

    /// Where it reads the time (tests, protocol vectors).
    pub fn clock(mut self, clock: Box<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whose date "today" is (the node's `timezone`).
    pub fn timezone(mut self, timezone: TimeZone) -> Self {
        self.timezone = timezone;
        self
    }

    /// This node's encryption keys: documents are sealed to their parties,
    /// and what is sealed to this node is read.
    pub fn sealing(mut self, sealing: Arc<Sealing>) -> Self {
        self.sealing = Some(sealing);
        self
    }

    /// Starts recovering this authority's log from peers (its store was
    /// missing): it signs nothing until [`Verifier::recovered`], and
    /// `reason` says why meanwhile.
    pub fn recovering(mut self, reason: impl Into<String>) -> Self {
        self.recovering = Some(reason.into());
        self
    }

    pub fn build(self) -> Verifier {
        let signing = match self.recovering {
            Some(reason) => SigningState {
                state: crate::Signing::Recovering,
                reason: Some(reason),
            },
            None => SigningState::default(),
        };
        Verifier {
            inner: Arc::new(Inner {
                store: self.store,
                authority: self.authority,
                key: RwLock::new(self.key),
                trust: self.trust,
                publish: self.publish,
                keys: RwLock::default(),
                clock: self.clock,
                timezone: self.timezone,
                write: Mutex::new(()),
                signing: RwLock::new(signing),
                signer_away: Mutex::default(),
                sealing: self.sealing,
                behind: Mutex::default(),
                enduse_required: RwLock::default(),
            }),
        }
    }
}
