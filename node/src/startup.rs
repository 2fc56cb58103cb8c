//! What a node does before it serves, in order: read its directory's files
//! (keys, trust list, tokens), open its store (or an empty stand-in for a
//! damaged one), settle an interrupted key rotation against its log, apply
//! what is pending (key compromises, entries a stop left behind), and build
//! the verifier every service shares. [`crate::Node::spawn`] calls these
//! steps; nothing here starts a task.

use crate::config::Settings;
use crate::router::Publisher;
use crate::{files, keys, rotate, watch};
use anyhow::Context;
use std::path::Path;
use std::sync::{Arc, RwLock};
use tally_api::tokens::TokenBook;
use tally_model::TrustList;
use tally_store::{OpenOptions, Store, StoreError};
use tally_verify::apply::Applier;
use tally_verify::sealing::{SealOpener, Sealing};
use tally_verify::{Reader, Verifier};
use tracing::info;

/// Why a node whose store was missing at start signs nothing yet; shown by
/// `/v1/status` and answered by issuing (503) until a trusted peer confirms
/// this authority's head (sync.rs).
const RECOVERY_REASON: &str = "the store was missing at start: recovering this authority's log \
                               from trusted peers (tally run --new-log declares it new)";

/// The node directory's files a node reads before it creates anything: a
/// bad key file refuses the start before the store exists.
pub(crate) struct NodeFiles {
    /// The libp2p identity.
    pub node_key: tally_p2p::Keypair,
    /// `trust.toml` as read at start (the watcher applies it, and later
    /// changes).
    pub trust_list: TrustList,
    /// The trust list the verifier, the opener and the watcher share.
    pub trust: Arc<RwLock<TrustList>>,
    /// Every encryption secret this authority kept (retired ones included).
    pub sealing: Arc<Sealing>,
    /// `tokens.toml`, shared with the API and the watcher.
    pub tokens: Arc<RwLock<TokenBook>>,
}

impl NodeFiles {
    /// Reads the keys, the trust list and the tokens of `settings.dir`. An
    /// interrupted key rotation is finished later, against the log
    /// ([`settle_keys`]); until then its key file is not judged here.
    pub fn load(settings: &Settings) -> anyhow::Result<NodeFiles> {
        if settings.signing.is_none() && !rotate::interrupted(&settings.authority_key) {
            keys::load_authority_key(&settings.authority_key)?;
        }
        let node_key = keys::load_node_key(&settings.node_key)?;
        // Every secret kept, dated by the card until the log is open.
        let sealing = crate::archive::load_sealing(
            &settings.encryption_key,
            &settings.dir.card(),
            &settings.authority,
        )?;
        let trust_list = files::read_trust(&settings.dir.trust())?;
        let trust = Arc::new(RwLock::new(trust_list.clone()));
        let tokens = Arc::new(RwLock::new(
            TokenBook::load(settings.dir.tokens()).context("loading tokens")?,
        ));
        Ok(NodeFiles {
            node_key,
            trust_list,
            trust,
            sealing,
            tokens,
        })
    }

    /// What opens the sealed documents addressed to `settings.authority`
    /// (above the store, before they are applied) and reads them back.
    pub fn opener(&self, settings: &Settings) -> SealOpener {
        SealOpener {
            sealing: self.sealing.clone(),
            trust: self.trust.clone(),
            own: settings.authority.clone(),
        }
    }
}

/// Whether the store directory is absent or empty (see [`open_store`]).
fn store_missing(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The store as it opened.
pub(crate) struct OpenedStore {
    pub store: Store,
    /// Whether this node is recovering its own log from peers (marked in
    /// the store, so a crash mid-recovery resumes it).
    pub recovering: bool,
}

/// Opens the store of `settings`, then finishes a rebuild a stop
/// interrupted (what the start reads next must not be half-built), opening
/// sealed entries with `opener`. No O(store) check runs before serving: the
/// background check reads every record once the node serves.
///
/// A store that is missing at start (its directory absent or empty: `tally
/// init` creates it, so a lost disk or a restore of the keys alone looks
/// like this) means this node does not know its own head: it must not sign
/// before it has its log back from peers, or it would fork it. The recovery
/// is marked in the store itself (`Store::set_recovering`, written before
/// anything is pulled), so a crash mid-recovery resumes it; it is cleared
/// when a trusted peer has confirmed the head (sync.rs). `--new-log` skips
/// all of it.
pub(crate) async fn open_store(
    settings: &Settings,
    opener: SealOpener,
) -> anyhow::Result<OpenedStore> {
    let missing = store_missing(&settings.store_path);
    let path = settings.store_path.clone();
    let options = OpenOptions {
        engine: settings.engine,
        reader: Some(Arc::new(opener.clone())),
        clock: settings.alert_clock(),
    };
    let mark = missing && !settings.new_log;
    let applier = Applier::new(Some(opener));
    let (store, recovering, engine_damage) = tokio::task::spawn_blocking(move || {
        let (store, engine_damage) = open_or_stand_in(&path, options)?;
        if mark {
            store.set_recovering(true)?;
        }
        // A damaged store is not read beyond what opening it took: a read
        // of a damaged page can panic (the engine promises errors only in
        // its check), and nothing is served from it anyway.
        let recovering = engine_damage.is_none() && store.recovering()?;
        Ok::<_, StoreError>((store, recovering, engine_damage))
    })
    .await?
    .with_context(|| format!("opening the store at {}", settings.store_path.display()))?;
    if let Some(what) = engine_damage {
        store.set_damaged(what);
    }
    if store.damaged().is_none() && store.rebuild_pending()? {
        let s = store.clone();
        tokio::task::spawn_blocking(move || {
            s.reindex_with(&applier, &mut watch::reindex_progress())
        })
        .await?
        .context("finishing an interrupted rebuild of the derived records")?;
    }
    if missing && settings.new_log {
        info!(authority = %settings.authority, "the store was missing; --new-log: starting a new log");
    }
    Ok(OpenedStore { store, recovering })
}

/// Opens the store at `path`; when the engine panics opening it (a damaged
/// file: redb promises errors only from its integrity check), an empty
/// stand-in in a temporary directory that refuses writes, and what went
/// wrong, so health can say why. An error (the store locked by another
/// process, say) refuses the start.
fn open_or_stand_in(
    path: &Path,
    options: OpenOptions,
) -> Result<(Store, Option<String>), StoreError> {
    let first = options.clone();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Store::open_with(path, first)
    })) {
        Ok(opened) => Ok((opened?, None)),
        Err(_) => {
            let stand_in = std::env::temp_dir().join(format!(
                "tally-damaged-{}-{}",
                std::process::id(),
                tally_verify::now_ms()
            ));
            tracing::error!(
                path = %path.display(),
                "the damaged store does not open; serving nothing from it"
            );
            let engine = options.engine;
            let store = Store::open_with(&stand_in, options)?;
            let what = format!(
                "the {engine} engine panicked opening the store in {}; run `tally verify-store`",
                path.display()
            );
            Ok((store, Some(what)))
        }
    }
}

/// Settles the key files against the log: an interrupted signing-key
/// rotation is finished or rolled back (not on a damaged store, or the
/// empty stand-in for one, which cannot say what the log announced); the
/// encryption key is finished, created only when this authority never
/// announced one, and refused when missing or not the announced one (never
/// replaced silently). Returns the signer of the key in force: the key
/// file's, or the PKCS#11 token's of `[signing]` once checked against the
/// card (crate::signing).
pub(crate) fn settle_keys(
    settings: &Settings,
    opened: &OpenedStore,
    files: &NodeFiles,
) -> anyhow::Result<Arc<dyn tally_custody::Signer>> {
    let store = &opened.store;
    let log = match store.damaged() {
        None => Some(Reader::of(store)?),
        Some(_) => None,
    };
    if let Some(log) = log.as_ref().filter(|_| settings.signing.is_none()) {
        rotate::recover(&settings.authority_key, log, &settings.authority)?;
    }
    rotate::settle_encryption_key(
        &settings.encryption_key,
        &settings.dir.card(),
        log.as_ref(),
        &settings.authority,
        opened.recovering,
        &files.sealing,
    )?;
    match &settings.signing {
        Some(token) => {
            let token = match log.as_ref() {
                Some(log) => crate::token_rotation::finish_interrupted(
                    token,
                    log,
                    &settings.authority,
                    &settings.dir.card(),
                )?,
                None => token.clone(),
            };
            crate::signing::open(&token, &settings.dir.card())
        }
        None => Ok(tally_verify::IntoSigner::into_signer(
            keys::load_authority_key(&settings.authority_key)?,
        )),
    }
}

/// Applies what is pending before the node serves, opening sealed entries
/// with `opener`: the key compromises of the trust list (a re-derivation
/// when they changed while it was stopped) and the entries a stop left
/// behind their chain append.
pub(crate) async fn apply_pending(
    store: &Store,
    trust_list: &TrustList,
    opener: SealOpener,
) -> anyhow::Result<()> {
    if store.damaged().is_some() {
        // Nothing is derived from a damaged store (nor served from it).
        return Ok(());
    }
    let (s, compromises) = (store.clone(), trust_list.compromises());
    let applier = Applier::new(Some(opener));
    tokio::task::spawn_blocking(move || {
        tally_verify::apply::settle(&s, &applier, compromises, &mut watch::reindex_progress())
    })
    .await?
    .context("settling the store (key compromises, entries left behind)")?;
    Ok(())
}

/// The verifier every service shares: this authority's signing key, the
/// shared trust list, what it signs published through `publisher`, sealing
/// with this authority's secrets, "today" in the node's time zone, and no
/// signing while the store recovers this authority's log.
pub(crate) fn verifier(
    settings: &Settings,
    opened: OpenedStore,
    files: &NodeFiles,
    authority_key: Arc<dyn tally_custody::Signer>,
    publisher: Publisher,
) -> Verifier {
    let mut verifier = Verifier::builder(opened.store, settings.authority.clone(), authority_key)
        .trust(files.trust.clone())
        .publish(Box::new(publisher))
        .sealing(files.sealing.clone())
        .timezone(settings.timezone.clone());
    if let Some(clock) = &settings.clock {
        verifier = verifier.clock(Box::new(crate::clock::Shared(clock.clone())));
    }
    let verifier = if opened.recovering {
        tracing::warn!(authority = %settings.authority, "{RECOVERY_REASON}; issuing answers 503 until a trusted peer confirms the head");
        verifier.recovering(RECOVERY_REASON).build()
    } else {
        verifier.build()
    };
    verifier.require_enduse_confirmation(settings.enduse_required.clone());
    verifier
}
