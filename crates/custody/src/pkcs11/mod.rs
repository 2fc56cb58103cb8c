//! The signer whose key lives in a PKCS#11 token (docs/OPERATIONS.md,
//! "Signing keys in an HSM (PKCS#11)").
//!
//! The signer keeps one logged-in session on the token, behind a mutex (a
//! PKCS#11 session serves one call at a time). When the token goes away
//! (removed, not present, the session lost, the module finalised) the call
//! answers [`SignerError::Unavailable`] and drops the session and the
//! module; a later call initialises the module again, finds the token by its
//! label, logs in and finds the same key, with no restart. A session that was
//! merely lost is re-opened within the same call, once. While the token stays
//! away, a connection is tried at most once per
//! [`Pkcs11Config::reconnect_interval`] (calls in between answer the last
//! failure at once), and never again after the token refused the PIN: a real
//! HSM locks its PIN after a few wrong tries.
//!
//! A module's state is the process's: recovery finalises the module, which
//! closes every session of the process on it. So a process keeps one signer
//! per module (a rotation drops the old signer for the new one).

mod token;

use crate::{Signer, SignerError};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default [`Pkcs11Config::reconnect_interval`].
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);

/// Where the key is and how to log in. The PIN is only ever handed to the
/// token: it is not printed (`Debug` leaves it out) nor logged.
#[derive(Clone)]
pub struct Pkcs11Config {
    /// The module's shared library, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label (CKA_LABEL of the token, as `--init-token --label`
    /// set it).
    pub token_label: String,
    /// The key pair's CKA_LABEL.
    pub key_label: String,
    /// The user PIN ([`crate::read_pin_file`]).
    pub pin: AuthPin,
    /// How often a token that is away is looked for again.
    pub reconnect_interval: Duration,
}

impl Pkcs11Config {
    /// A configuration with the default [`RECONNECT_INTERVAL`].
    pub fn new(
        module: impl Into<PathBuf>,
        token_label: impl Into<String>,
        key_label: impl Into<String>,
        pin: AuthPin,
    ) -> Pkcs11Config {
        Pkcs11Config {
            module: module.into(),
            token_label: token_label.into(),
            key_label: key_label.into(),
            pin,
            reconnect_interval: RECONNECT_INTERVAL,
        }
    }
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("key_label", &self.key_label)
            .field("reconnect_interval", &self.reconnect_interval)
            .finish_non_exhaustive()
    }
}

/// A logged-in session on the token and the key in it.
struct Live {
    /// Dropped before `module` is finalised.
    session: Session,
    module: Pkcs11,
    key: ObjectHandle,
}

/// The connection, or why the last attempt to make one failed.
struct State {
    live: Option<Live>,
    last_failure: Option<(Instant, SignerError)>,
}

/// Signs with an Ed25519 key that never leaves a PKCS#11 token.
pub struct Pkcs11Signer {
    config: Pkcs11Config,
    public_key: [u8; 32],
    state: Mutex<State>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pkcs11Signer({})", self.description())
    }
}

impl Pkcs11Signer {
    /// Opens the key pair labelled `config.key_label` on the token.
    pub fn open(config: Pkcs11Config) -> Result<Pkcs11Signer, SignerError> {
        let (session, module) = connect(&config, false)?;
        let pair = token::find(&session, &config.token_label, &config.key_label, None)?;
        Ok(Pkcs11Signer::live(config, session, module, pair))
    }

    /// Generates a new Ed25519 key pair inside the token under
    /// `config.key_label` (refused when the label is taken) and opens it.
    pub fn generate(config: Pkcs11Config) -> Result<Pkcs11Signer, SignerError> {
        let (session, module) = connect(&config, true)?;
        let pair = token::generate(&session, &config.token_label, &config.key_label)?;
        Ok(Pkcs11Signer::live(config, session, module, pair))
    }

    fn live(
        config: Pkcs11Config,
        session: Session,
        module: Pkcs11,
        pair: token::KeyPair,
    ) -> Pkcs11Signer {
        Pkcs11Signer {
            config,
            public_key: pair.public_key,
            state: Mutex::new(State {
                live: Some(Live {
                    session,
                    module,
                    key: pair.private,
                }),
                last_failure: None,
            }),
        }
    }

    /// Connects again after the token went away: the same key, or none.
    fn reconnect(&self) -> Result<Live, SignerError> {
        let (session, module) = connect(&self.config, false)?;
        let found = token::find(
            &session,
            &self.config.token_label,
            &self.config.key_label,
            Some(&self.public_key),
        );
        match found {
            Ok(pair) => Ok(Live {
                session,
                module,
                key: pair.private,
            }),
            Err(e) => {
                // Given up like a lost session, so the next try starts afresh.
                drop(session);
                let _ = module.finalize();
                Err(e)
            }
        }
    }

    /// [`Pkcs11Signer::reconnect`], paced: at most once per
    /// `reconnect_interval`, and never after a refused PIN.
    fn reconnect_paced(&self, state: &mut State) -> Result<Live, SignerError> {
        if let Some((at, failure)) = &state.last_failure {
            let pin = matches!(failure, SignerError::PinRefused { .. });
            if pin || at.elapsed() < self.config.reconnect_interval {
                return Err(failure.clone());
            }
        }
        let live = self.reconnect();
        state.last_failure = live.as_ref().err().map(|e| (Instant::now(), e.clone()));
        live
    }

    /// Signs in the session at hand, or in a new one; a session whose token
    /// went away is given up (with the module) rather than put back.
    fn sign_in(&self, state: &mut State, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let live = match state.live.take() {
            Some(live) => live,
            None => self.reconnect_paced(state)?,
        };
        let signed = self.sign_once(&live, message);
        if signed.as_ref().is_err_and(SignerError::is_unavailable) {
            finalize(live);
        } else {
            state.live = Some(live);
        }
        signed
    }

    fn sign_once(&self, live: &Live, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let pure = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signature = live
            .session
            .sign(&pure, live.key, message)
            .map_err(|e| token::classify(&self.config.token_label, e))?;
        signature[..].try_into().map_err(|_| SignerError::Failed {
            token: self.config.token_label.clone(),
            reason: format!("a signature of {} bytes, not 64", signature.len()),
        })
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignerError> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A session that was there and is lost is re-opened at once, once; a
        // token that stays away answers Unavailable.
        let had_session = guard.live.is_some();
        match self.sign_in(&mut guard, message) {
            Err(e) if e.is_unavailable() && had_session => self.sign_in(&mut guard, message),
            done => done,
        }
    }

    fn check(&self) -> Result<(), SignerError> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if guard.live.is_none() {
            let live = self.reconnect_paced(&mut guard)?;
            guard.live = Some(live);
        }
        Ok(())
    }

    fn description(&self) -> String {
        format!(
            "PKCS#11 token {:?} (module {}), key {:?} (public key {})",
            self.config.token_label,
            self.config.module.display(),
            self.config.key_label,
            hex::encode(self.public_key)
        )
    }
}

/// Loads and initialises the module, finds the token by label, opens a
/// session (read-write to generate a key) and logs the user in. A module this
/// call initialised is finalised again when the rest fails, so that the next
/// try initialises it afresh.
fn connect(config: &Pkcs11Config, read_write: bool) -> Result<(Session, Pkcs11), SignerError> {
    let token = config.token_label.as_str();
    let module = Pkcs11::new(&config.module).map_err(|e| SignerError::Module {
        module: config.module.display().to_string(),
        reason: e.to_string(),
    })?;
    let initialised = match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
    {
        Ok(()) => true,
        // Another handle of this process initialised it: one module state
        // per process, shared.
        Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
        Err(e) => return Err(token::classify(token, e)),
    };
    match log_in(&module, config, read_write) {
        Ok(session) => Ok((session, module)),
        Err(e) => {
            if initialised {
                let _ = module.finalize();
            }
            Err(e)
        }
    }
}

/// Opens a session on the token labelled `config.token_label` and logs the
/// user in.
fn log_in(
    module: &Pkcs11,
    config: &Pkcs11Config,
    read_write: bool,
) -> Result<Session, SignerError> {
    let token = config.token_label.as_str();
    let slot = find_slot(module, token)?;
    let session = if read_write {
        module.open_rw_session(slot)
    } else {
        module.open_ro_session(slot)
    }
    .map_err(|e| token::classify(token, e))?;
    match session.login(UserType::User, Some(&config.pin)) {
        // The login state is the application's, shared by its sessions.
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(token::classify(token, e)),
    }
}

fn find_slot(module: &Pkcs11, token: &str) -> Result<cryptoki::slot::Slot, SignerError> {
    let slots = module
        .get_slots_with_token()
        .map_err(|e| token::classify(token, e))?;
    for slot in slots {
        match module.get_token_info(slot) {
            Ok(info) if info.label().trim_end() == token => return Ok(slot),
            // A slot whose token went away meanwhile is not ours.
            Ok(_) | Err(_) => {}
        }
    }
    Err(SignerError::Unavailable {
        token: token.to_string(),
        reason: "no token of that label is present".into(),
    })
}

/// Drops a session that failed and finalises the module, so that the next
/// connection initialises it afresh (a module that saw its device go may
/// only find it again after `C_Initialize`). Errors are moot here: the
/// session and the module are being given up.
fn finalize(live: Live) {
    let Live {
        session, module, ..
    } = live;
    drop(session);
    let _ = module.finalize();
}
