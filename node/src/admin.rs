//! Offline administration of a node directory: `init`, `trust`, `token`, `reindex`.

use crate::config::{
    AlertsConfig, ApiConfig, Config, KeysConfig, NodeDir, Settings, StoreConfig, SyncConfig,
};
use crate::files;
use crate::keys;
use anyhow::{Context, bail};
use serde_json::json;
use std::path::Path;
use tally_api::tokens::{Role, TokenBook};
use tally_model::trust::normalize_fingerprint;
use tally_model::{AuthorityId, Card, CardKey};

/// What `init` created.
#[derive(Debug, Clone)]
pub struct Initialized {
    pub authority: AuthorityId,
    pub peer_id: String,
    pub card: std::path::PathBuf,
    pub api: String,
    pub admin_token: String,
    /// The new card's fingerprint, which the administrators of other nodes
    /// compare when they trust the card.
    pub fingerprint: String,
}

impl Initialized {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "authority": self.authority.to_string(),
            "peer_id": self.peer_id,
            "card": self.card.display().to_string(),
            "api": self.api,
            "admin_token": self.admin_token,
            "fingerprint": self.fingerprint,
        })
    }
}

/// The addresses a card advertises: the listen address, with an unspecified
/// host replaced by loopback (the administrator edits it to the public host).
fn advertised(listen: &str) -> Vec<String> {
    vec![listen.replace("/ip4/0.0.0.0/", "/ip4/127.0.0.1/")]
}

/// `tally init`: refuses before writing anything if the directory is already
/// a node or the id is malformed.
pub fn init(
    dir: &Path,
    authority: &str,
    name: &str,
    p2p_listen: &str,
    api_listen: &str,
    engine: Option<&str>,
) -> anyhow::Result<Initialized> {
    init_with(dir, authority, name, p2p_listen, api_listen, engine, None)
}

/// [`init`], with the signing key generated in the PKCS#11 token of
/// `signing` (`tally init --pkcs11-module ...`) rather than in a key file:
/// `tally.toml` gets the `[signing]` section and no signing key file is
/// written. The key is generated first, so that a token that refuses (a
/// wrong PIN, a label in use) leaves the directory untouched.
pub fn init_with(
    dir: &Path,
    authority: &str,
    name: &str,
    p2p_listen: &str,
    api_listen: &str,
    engine: Option<&str>,
    signing: Option<crate::signing::SigningConfig>,
) -> anyhow::Result<Initialized> {
    let authority: AuthorityId = authority.parse()?;
    let node_dir = NodeDir(dir.to_path_buf());
    if node_dir.config().exists() || dir.join("keys").exists() {
        bail!(
            "{} is already a node directory; nothing changed",
            dir.display()
        );
    }
    let mut config = new_config(&authority, name, p2p_listen, api_listen, engine)?;
    config.signing = signing.map(crate::signing::absolute).transpose()?;
    // Validate everything before the first write.
    config.settings(&node_dir)?;
    let token_key = match &config.signing {
        Some(s) => Some(crate::signing::generate(s)?),
        None => None,
    };

    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    keys::set_mode(dir, 0o700)?;
    let card = new_keys(&node_dir, &config, &authority, name, p2p_listen, token_key)?;
    files::write_card(&node_dir.card(), &card)?;
    files::write_trust(&node_dir.trust(), &Default::default())?;
    let mut tokens = TokenBook::load(node_dir.tokens())?;
    let admin_token = tokens.create(Role::Admin, "first admin (tally init)")?;
    write_config(&node_dir, &config)?;
    // The store exists from `init` on: `tally run` reads a missing store as
    // a lost one (its own log must come back from peers before it signs).
    let settings = config.settings(&node_dir)?;
    tally_store::Store::open(&settings.store_path, settings.engine)
        .with_context(|| format!("creating the store at {}", settings.store_path.display()))?;
    Ok(Initialized {
        authority,
        peer_id: card.peer_id.clone(),
        card: node_dir.card(),
        api: format!("http://{api_listen}"),
        admin_token,
        fingerprint: card.fingerprint(),
    })
}

/// The `tally.toml` of a new node: every key at its default but the ones
/// `tally init` takes.
fn new_config(
    authority: &AuthorityId,
    name: &str,
    p2p_listen: &str,
    api_listen: &str,
    engine: Option<&str>,
) -> anyhow::Result<Config> {
    let mut store = StoreConfig::default();
    if let Some(e) = engine {
        store.engine = serde_json::from_value(json!(e))
            .with_context(|| format!("--engine {e:?}: expected redb or sled"))?;
    }
    Ok(Config {
        contact: None,
        authority: authority.to_string(),
        name: name.to_string(),
        timezone: "UTC".into(),
        alerts: AlertsConfig::default(),
        keys: KeysConfig::default(),
        api: ApiConfig {
            listen: api_listen.to_string(),
            ..ApiConfig::default()
        },
        p2p: tally_p2p::Config {
            listen: p2p_listen.to_string(),
            ..Default::default()
        },
        store,
        sync: SyncConfig::default(),
        signing: None,
        issue: crate::config::IssueConfig::default(),
        paper: crate::config::PaperConfig::default(),
    })
}

/// Writes `config` as the node's `tally.toml` (mode 0600, atomically).
pub(crate) fn write_config(node_dir: &NodeDir, config: &Config) -> anyhow::Result<()> {
    let text = format!(
        "# Tally node configuration. Every key is documented in config/tally.example.toml.\n{}",
        toml::to_string(config)?
    );
    files::write_atomic(&node_dir.config(), text.as_bytes(), 0o600)
}

/// Writes a new node's three secret keys (authority signing, libp2p
/// identity, encryption; mode 0600) where `config` names them, and returns
/// the card that announces their public halves. With `token_key` (the
/// public key of a signing key generated in a token), no signing key file.
fn new_keys(
    node_dir: &NodeDir,
    config: &Config,
    authority: &AuthorityId,
    name: &str,
    p2p_listen: &str,
    token_key: Option<[u8; 32]>,
) -> anyhow::Result<Card> {
    let public = match token_key {
        Some(public) => public,
        None => {
            let secret = keys::generate_authority_key();
            keys::write_secret(
                &node_dir.resolve(&config.keys.authority),
                &keys::encode_authority_key(&secret),
            )?;
            tally_model::AuthorityKey::from_bytes(&secret)
                .public()
                .to_bytes()
        }
    };
    let node_key = tally_p2p::Keypair::generate_ed25519();
    keys::write_secret(
        &node_dir.resolve(&config.keys.node),
        &node_key
            .to_protobuf_encoding()
            .context("encoding the node key")?,
    )?;
    let encryption =
        keys::load_or_create_encryption_key(&node_dir.resolve(&config.keys.encryption))?;
    Ok(Card {
        contact: None,
        authority: authority.clone(),
        country: authority.country().to_string(),
        name: name.to_string(),
        peer_id: node_key.public().to_peer_id().to_string(),
        addresses: advertised(p2p_listen),
        keys: vec![CardKey::new(hex::encode(public), 0)],
        encryption_keys: vec![CardKey::new(encryption.public().to_hex(), 0)],
    })
}

/// `tally trust add` without an expected fingerprint (the demo and tests,
/// which wrote the card themselves).
pub fn trust_add(dir: &Path, card_path: &Path) -> anyhow::Result<Card> {
    trust_add_checked(dir, card_path, None)
}

/// `tally trust add [--expect-fingerprint FP]`: with `expect`, a card whose
/// fingerprint differs (ignoring separators and case) is refused before
/// anything is written, since it is not the card its authority read out.
pub fn trust_add_checked(
    dir: &Path,
    card_path: &Path,
    expect: Option<&str>,
) -> anyhow::Result<Card> {
    let node_dir = NodeDir(dir.to_path_buf());
    let config = Config::load(&node_dir)?;
    let card = files::read_card(card_path)?;
    if let Some(expect) = expect {
        let Some(wanted) = normalize_fingerprint(expect) else {
            bail!(
                "--expect-fingerprint {expect:?} is not a fingerprint (64 hex digits, \
                 in groups or not); nothing changed"
            );
        };
        let actual = card.fingerprint();
        if normalize_fingerprint(&actual).as_deref() != Some(wanted.as_str()) {
            bail!(
                "fingerprint mismatch: card {} of {} has fingerprint {actual}, \
                 but {expect} was expected; it is not the card that authority \
                 published (or the expected value is mistyped); nothing changed",
                card_path.display(),
                card.authority
            );
        }
    }
    if card.authority.as_str() == config.authority {
        bail!(
            "{} is this node's own authority; nothing changed",
            card.authority
        );
    }
    if card.peer_id.parse::<tally_p2p::PeerId>().is_err() {
        bail!(
            "card {}: peer_id \"{}\" is not a libp2p peer id",
            card_path.display(),
            crate::client::escape(&card.peer_id)
        );
    }
    for a in &card.addresses {
        if a.parse::<tally_p2p::Multiaddr>().is_err() {
            bail!(
                "card {}: address \"{}\" is not a multiaddr",
                card_path.display(),
                crate::client::escape(a)
            );
        }
    }
    let mut list = files::read_trust(&node_dir.trust())?;
    list.upsert(card.clone());
    files::write_trust(&node_dir.trust(), &list)?;
    Ok(card)
}

pub fn trust_remove(dir: &Path, id: &str) -> anyhow::Result<()> {
    let node_dir = NodeDir(dir.to_path_buf());
    Config::load(&node_dir)?;
    let id: AuthorityId = id.parse()?;
    let mut list = files::read_trust(&node_dir.trust())?;
    if !list.remove(&id) {
        bail!("{id} is not trusted; nothing changed");
    }
    files::write_trust(&node_dir.trust(), &list)
}

/// `tally trust revoke-key`: records in `trust.toml` that `key_id` of the
/// trusted `authority` is compromised after seq `after_seq`. Declarations
/// only narrow: an earlier declaration of that key with a smaller seq stays
/// in force. Returns the seq in force. A running node applies it live.
pub fn trust_revoke_key(
    dir: &Path,
    authority: &str,
    key_id: &str,
    after_seq: u64,
) -> anyhow::Result<u64> {
    let settings = Settings::load(dir)?;
    let node_dir = &settings.dir;
    let authority: AuthorityId = authority.parse()?;
    let well_formed = key_id.len() == 64
        && key_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    // Not parsed as an Ed25519 point: KEY_ID may be an X25519 encryption
    // key, and about half of those are not Ed25519 points.
    if !well_formed {
        bail!("KEY_ID must be the key's 64-character lowercase hex public key; nothing changed");
    }
    if authority == settings.authority {
        bail!(
            "{authority} is this node's own authority: rotate its key (POST /v1/keys/rotate) or \
             re-initialise the node instead; nothing changed"
        );
    }
    let mut list = files::read_trust(&node_dir.trust())?;
    if list.card(&authority).is_none() {
        bail!("{authority} is not trusted; nothing changed");
    }
    let in_force = list.declare_compromise(tally_model::KeyCompromise {
        authority,
        key_id: key_id.to_owned(),
        after_seq,
    });
    files::write_trust(&node_dir.trust(), &list)?;
    Ok(in_force)
}

pub fn trust_list(dir: &Path) -> anyhow::Result<tally_model::TrustList> {
    let node_dir = NodeDir(dir.to_path_buf());
    Config::load(&node_dir)?;
    files::read_trust(&node_dir.trust())
}

/// `tally trust list --json`: each card as in the trust file, plus its
/// `fingerprint` (derived, so not stored in the file).
pub fn cards_json(list: &tally_model::TrustList) -> anyhow::Result<serde_json::Value> {
    let cards = list
        .cards
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c)?;
            if let Some(fields) = v.as_object_mut() {
                fields.insert("fingerprint".to_owned(), json!(c.fingerprint()));
            }
            Ok(v)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(serde_json::Value::Array(cards))
}

/// What `tally trust add` prints about the card it trusted. Every text of
/// the card came from another authority, so it is passed through
/// [`crate::client::escape`]: a name holding a newline, a fake
/// "fingerprint:" line and a conceal or clear-screen escape cannot forge
/// the fingerprint line or hide the real one.
pub fn trust_added_text(card: &Card, checked: bool) -> String {
    use crate::client::escape;
    let checked = if checked {
        "matches the expected one"
    } else {
        "compare it with the one the authority gives you"
    };
    format!(
        "trusted {} ({}), peer {}\nfingerprint: {} ({checked})",
        escape(card.authority.as_str()),
        escape(&card.name),
        escape(&card.peer_id),
        card.fingerprint()
    )
}

/// `tally trust list`: one line a card, tab-separated (authority, name,
/// peer id, addresses, fingerprint), every card text escaped as in
/// [`trust_added_text`] (a tab or newline in a name is escaped too, so
/// each card stays one line of five columns).
pub fn trust_list_text(list: &tally_model::TrustList) -> String {
    use crate::client::escape;
    list.cards
        .iter()
        .map(|c| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                escape(c.authority.as_str()),
                escape(&c.name),
                escape(&c.peer_id),
                escape(&c.addresses.join(",")),
                c.fingerprint()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `tally trust list --json` as printed: [`cards_json`] with every refused
/// character inside strings written as a JSON escape (see
/// [`crate::client::escape_json`]).
pub fn trust_list_json_text(list: &tally_model::TrustList) -> anyhow::Result<String> {
    crate::client::escape_json(&cards_json(list)?)
}

pub fn token_create(dir: &Path, role: Role, label: &str) -> anyhow::Result<String> {
    token_create_for(dir, role, label, None)
}

/// `tally token create --name --title`: a token of a named person.
pub fn token_create_for(
    dir: &Path,
    role: Role,
    label: &str,
    person: Option<&tally_model::Person>,
) -> anyhow::Result<String> {
    let node_dir = NodeDir(dir.to_path_buf());
    Config::load(&node_dir)?;
    let mut tokens = TokenBook::load(node_dir.tokens())?;
    Ok(tokens.create_for(role, label, person)?)
}

pub fn reindex(dir: &Path) -> anyhow::Result<String> {
    let settings = Settings::load(dir)?;
    let node_dir = &settings.dir;
    let trust = files::read_trust(&node_dir.trust())?;
    let compromises = trust.compromises();
    // Sealed entries addressed to this node are opened as the running node
    // opens them, with every secret it kept (retired ones included), each
    // on the entries of its time: without the opener a reindex dropped
    // every sealed document.
    let sealing = crate::archive::load_sealing(
        &settings.encryption_key,
        &node_dir.card(),
        &settings.authority,
    )?;
    let opener = tally_verify::sealing::SealOpener {
        sealing: sealing.clone(),
        trust: std::sync::Arc::new(std::sync::RwLock::new(trust)),
        own: settings.authority.clone(),
    };
    let reader: std::sync::Arc<dyn tally_store::SealedReader> = std::sync::Arc::new(opener.clone());
    let applier = tally_verify::apply::Applier::new(Some(opener));
    let store = tally_store::Store::open_with(
        &settings.store_path,
        tally_store::OpenOptions {
            engine: settings.engine,
            reader: Some(reader),
            clock: settings.alert_clock(),
        },
    )
    .context("opening the store (is the node still running?)")?;
    crate::archive::date_from_log(&store.announced_keys(&settings.authority)?, &sealing);
    let mut progress = progress_reporter("reindex");
    let report = match store.apply_compromised(compromises, &applier, &mut progress)? {
        Some(report) => report,
        None => store.reindex_with(&applier, &mut progress)?,
    };
    Ok(format!(
        "reindexed {} entries of {} logs in {:.1} s ({} derived records replaced)",
        report.entries,
        report.authorities,
        report.elapsed.as_secs_f64(),
        report.deleted
    ))
}

/// Shows how far long work has come: a line rewritten in place on a
/// terminal, otherwise a log line at most every few seconds.
pub fn progress_reporter(what: &'static str) -> impl FnMut(tally_store::Progress) {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stderr().is_terminal();
    let mut last = std::time::Instant::now();
    move |p: tally_store::Progress| {
        let done = p.entries >= p.total;
        if terminal {
            let mut err = std::io::stderr();
            let _ = write!(err, "\r{what}: {} / {} entries", p.entries, p.total);
            if done {
                let _ = writeln!(err);
            }
        } else if done || last.elapsed() >= std::time::Duration::from_secs(5) {
            tracing::info!(entries = p.entries, of = p.total, "{what} progress");
            last = std::time::Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(root: &Path, authority: &str) -> Initialized {
        init(
            &root.join(authority),
            authority,
            "Test authority",
            "/ip4/127.0.0.1/tcp/0",
            "127.0.0.1:0",
            None,
        )
        .expect("init")
    }

    #[test]
    fn init_reports_its_card_fingerprint() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let us = node(tmp.path(), "US-DDTC");
        let card = files::read_card(&us.card).expect("card");
        assert_eq!(us.fingerprint, card.fingerprint());
        assert_eq!(us.to_json()["fingerprint"], card.fingerprint());
    }

    #[test]
    fn trust_add_checks_the_expected_fingerprint() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let us = node(tmp.path(), "US-DDTC");
        let mx = node(tmp.path(), "MX-SEDENA");
        let us_dir = tmp.path().join("US-DDTC");
        let trust_file = NodeDir(us_dir.clone()).trust();
        let before = std::fs::read(&trust_file).expect("trust file");

        let mut wrong = mx.fingerprint.clone().into_bytes();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong).expect("ascii");
        for (expect, says) in [
            (wrong.as_str(), "fingerprint mismatch"),
            (us.fingerprint.as_str(), "fingerprint mismatch"),
            ("not a fingerprint", "is not a fingerprint"),
        ] {
            let err = trust_add_checked(&us_dir, &mx.card, Some(expect))
                .expect_err("a wrong fingerprint is refused");
            assert!(err.to_string().contains(says), "{err}");
            assert!(err.to_string().contains("nothing changed"), "{err}");
            assert_eq!(
                std::fs::read(&trust_file).expect("trust file"),
                before,
                "refused with {expect:?} but the trust file changed"
            );
        }

        // Typed with spaces and in capitals: still the same fingerprint.
        let typed = mx.fingerprint.replace('-', " ").to_uppercase();
        let card = trust_add_checked(&us_dir, &mx.card, Some(&typed)).expect("matches");
        assert_eq!(card.fingerprint(), mx.fingerprint);
        let list = trust_list(&us_dir).expect("list");
        assert_eq!(list.cards.len(), 1);
        let json = cards_json(&list).expect("json");
        assert_eq!(json[0]["fingerprint"], mx.fingerprint);
        assert_eq!(json[0]["authority"], "MX-SEDENA");
    }

    /// Issue 28 item 4: a card's name (and addresses) printed raw by
    /// `trust add` and `trust list` forged the fingerprint line and hid the
    /// real one with a conceal escape.
    #[test]
    fn trust_add_and_list_escape_the_cards_text() {
        use tally_model::validate::is_refused_char;
        let tmp = tempfile::tempdir().expect("tempdir");
        node(tmp.path(), "US-DDTC");
        let mx = node(tmp.path(), "MX-SEDENA");
        let us_dir = tmp.path().join("US-DDTC");
        let forged =
            "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa";
        let mut card = files::read_card(&mx.card).expect("card");
        card.name = format!(
            "Sedena\nfingerprint: {forged} (compare it)\u{1B}[8m\r\u{1B}[2J\u{1B}]0;title\u{7}\u{202E}\u{9B}\t\u{2028}\u{061C}"
        );
        card.addresses
            .push("/dns4/evil\u{1B}[8m\nfingerprint: x/tcp/1".to_owned());
        files::write_card(&mx.card, &card).expect("write card");
        let trusted = trust_add(&us_dir, &mx.card).expect("trusted");
        let real = trusted.fingerprint();

        let added = trust_added_text(&trusted, false);
        let list = trust_list(&us_dir).expect("list");
        let listed = trust_list_text(&list);
        let json = trust_list_json_text(&list).expect("json");
        for (what, text) in [("add", &added), ("list", &listed), ("list --json", &json)] {
            // The line breaks and column tabs are the printer's own.
            let raw: Vec<char> = text
                .chars()
                .filter(|&c| c != '\n' && !(c == '\t' && what == "list") && is_refused_char(c))
                .collect();
            assert!(raw.is_empty(), "{what}: raw {raw:?} in {text:?}");
            assert!(
                text.contains(&real),
                "{what}: the real fingerprint is missing"
            );
        }
        // `add`: exactly two lines; the only fingerprint line is the real one.
        let lines: Vec<&str> = added.lines().collect();
        assert_eq!(lines.len(), 2, "{added:?}");
        let fp_lines: Vec<&&str> = lines
            .iter()
            .filter(|l| l.starts_with("fingerprint:"))
            .collect();
        assert_eq!(fp_lines.len(), 1, "{added:?}");
        assert!(fp_lines[0].starts_with(&format!("fingerprint: {real} ")));
        // `list`: one line of five columns, the fingerprint last.
        assert_eq!(listed.lines().count(), 1, "{listed:?}");
        let columns: Vec<&str> = listed.split('\t').collect();
        assert_eq!(columns.len(), 5, "{listed:?}");
        assert_eq!(columns[4], real);
        assert!(
            columns[1].contains("\\u{000A}fingerprint: aaaa"),
            "{listed:?}"
        );
        // `--json` still parses and holds the name as it is.
        let back: serde_json::Value = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(back[0]["name"], card.name);
        assert_eq!(back[0]["fingerprint"], real);
    }

    /// `revoke-key` takes encryption keys too: an X25519 public key that is
    /// not an Ed25519 point (about half of them) was refused as malformed.
    #[test]
    fn revoke_key_takes_an_encryption_key() {
        let tmp = tempfile::tempdir().expect("tempdir");
        node(tmp.path(), "US-DDTC");
        let mx = node(tmp.path(), "MX-SEDENA");
        let us_dir = tmp.path().join("US-DDTC");
        trust_add(&us_dir, &mx.card).expect("trust MX");
        let x25519 = (1..=255u8)
            .map(|n| {
                tally_model::EncryptionSecret::from_bytes([n; 32])
                    .public()
                    .to_hex()
            })
            .find(|k| tally_model::trust::parse_key(k).is_none())
            .expect("some X25519 key is not an Ed25519 point");
        trust_revoke_key(&us_dir, "MX-SEDENA", &x25519, 4).expect("declared");
        let list = trust_list(&us_dir).expect("list");
        assert_eq!(list.compromised.len(), 1);
        assert!(list.encryption_key_compromised(&"MX-SEDENA".parse().expect("id"), &x25519));
        // Issue 28 item 3: a larger seq later does not widen the first.
        assert_eq!(
            trust_revoke_key(&us_dir, "MX-SEDENA", &x25519, 100_000).expect("declared"),
            4
        );
        let list = trust_list(&us_dir).expect("list");
        assert_eq!(list.compromised.len(), 1);
        assert_eq!(list.compromised[0].after_seq, 4, "the smallest seq counts");
        assert_eq!(
            list.encryption_compromise(&"MX-SEDENA".parse().expect("id"), &x25519),
            Some(4)
        );
        assert_eq!(
            trust_revoke_key(&us_dir, "MX-SEDENA", &x25519, 2).expect("narrowed"),
            2
        );
        for bad in ["abc", &x25519.to_uppercase(), &format!("{x25519}00")] {
            assert!(
                trust_revoke_key(&us_dir, "MX-SEDENA", bad, 4).is_err(),
                "{bad}"
            );
        }
    }
}
