//! `DIR/tally.toml`: the node's configuration, each crate's section assembled here.
//!
//! Keys are never inline: the config names key files, which `tally init`
//! writes with mode 0600. Validation happens once at start-up and names the
//! offending key.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tally_model::AuthorityId;
use tally_store::EngineKind;

/// `[api.rate]`: its one home is the API crate, which enforces it.
pub use tally_api::rate::RateConfig;

/// The whole of `tally.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The authority this node signs for, `CC-NAME` (e.g. `US-DDTC`).
    pub authority: String,
    /// The authority's human-readable name, shown on its card.
    pub name: String,
    /// Whom partners' officers call about this authority's documents (an
    /// office, a phone, an address): on the card the node serves and in
    /// the trust bundle of offline verifiers. One line, 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The IANA time zone (e.g. `America/Mexico_City`) whose date is
    /// "today": document validity, the date of a check, the day a crossing
    /// may be recorded on.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Alerts that depend on the date.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Where the secret keys are (paths relative to the node directory).
    #[serde(default)]
    pub keys: KeysConfig,
    /// The HTTP API and web console.
    #[serde(default)]
    pub api: ApiConfig,
    /// The libp2p network (see `tally_p2p::Config` for every key).
    #[serde(default)]
    pub p2p: tally_p2p::Config,
    /// The on-disk store.
    #[serde(default)]
    pub store: StoreConfig,
    /// Anti-entropy (pull) replication.
    #[serde(default)]
    pub sync: SyncConfig,
    /// The signing key in a PKCS#11 token; absent, `keys.authority` holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<SigningConfig>,
    /// How documents are signed: by one person, or prepared by one and
    /// approved by another.
    #[serde(default)]
    pub issue: IssueConfig,
    /// Paper seals (docs/PROTOCOL.md 14).
    #[serde(default)]
    pub paper: PaperConfig,
}

/// `[paper]`: `enabled = true` (the default) makes the node load (or
/// create) its paper key, announce it in its own log at start, and print
/// sealed pages (`GET /v1/paper/...`). On by default so that the key is in
/// the log from the node's first start (or the first start of this
/// version), never at the first print: partners' bundles already hold it
/// when a paper reaches their border. `false` announces nothing and prints
/// nothing (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaperConfig {
    pub enabled: bool,
}

impl Default for PaperConfig {
    fn default() -> PaperConfig {
        PaperConfig { enabled: true }
    }
}

/// `[issue]`: `approvals = 1` signs what an issuer sends; `approvals = 2`
/// keeps it as a draft until another person's issuer token approves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssueConfig {
    pub approvals: u8,
    /// Countries (ISO 3166-1 alpha-2) an export license to which is signed
    /// only once their authority confirmed the end use in answer to an
    /// `enduse_request` about it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub require_enduse_confirmation: Vec<String>,
}

impl Default for IssueConfig {
    fn default() -> IssueConfig {
        IssueConfig {
            approvals: 1,
            require_enduse_confirmation: Vec::new(),
        }
    }
}

/// `[alerts]`: when the network's silence becomes an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Days after an exit by which a delivery verification should cover it;
    /// past them `delivery.overdue` opens (EU 2025/41's proof of receipt).
    /// 0: due at once, until deliveries catch up.
    pub delivery_days: u32,
    /// Days after its date that another State's denial counts: an export
    /// license to a buyer it names within them raises `denial.match`.
    pub denial_days: u32,
    /// Days after its date by which an end-use request should be answered;
    /// past them `enduse.unanswered` opens.
    pub enduse_days: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            delivery_days: tally_store::DEFAULT_DELIVERY_DAYS,
            denial_days: tally_model::denial::DEFAULT_DENIAL_DAYS,
            enduse_days: tally_model::enduse::DEFAULT_ENDUSE_DAYS,
        }
    }
}

/// Largest `alerts.delivery_days` accepted (ten years: the archive's horizon).
const MAX_DELIVERY_DAYS: u32 = 3_650;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// The authority's Ed25519 signing key (32 secret bytes, hex), mode 0600.
    pub authority: PathBuf,
    /// The node's libp2p identity key (protobuf encoding), mode 0600.
    pub node: PathBuf,
    /// The authority's X25519 encryption key (32 secret bytes, hex), mode
    /// 0600: documents sealed to this authority open with it. Created at
    /// start when missing (a node initialised before sealing). Back it up
    /// with the node: without it, what was sealed to it cannot be read.
    pub encryption: PathBuf,
    /// The authority's paper key (Ed25519, 32 secret bytes, hex), mode
    /// 0600: it signs only the seals printed on its documents. Created at
    /// the first start with `[paper] enabled = true` (the default), and
    /// announced in the authority's log then.
    pub paper: PathBuf,
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            authority: "keys/authority.key".into(),
            node: "keys/node.key".into(),
            encryption: "keys/encryption.key".into(),
            paper: "keys/paper.key".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// `HOST:PORT` of the HTTP API and console. Keep it on loopback or behind
    /// a TLS-terminating proxy: tokens travel in headers.
    pub listen: String,
    /// HTTP connections served at once; further clients wait in the kernel's
    /// accept queue until one closes. With the 10 s header timeout this
    /// bounds what idle or half-sent connections can cost (file descriptors,
    /// memory); keep it well under the process's open-file limit.
    pub max_connections: usize,
    /// Requests one API token may have in progress at once (a request holds
    /// its slot while its body is read, at most 30 s, and its answer is
    /// sent); further ones get 429 `rate_limited`. Keeps one token holder
    /// from taking every connection with slow bodies.
    pub max_connections_per_token: usize,
    /// Per-token limits on what makes logs grow.
    pub rate: RateConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "127.0.0.1:4711".into(),
            max_connections: tally_api::server::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_token: tally_api::rate::DEFAULT_MAX_CONNECTIONS_PER_TOKEN,
            rate: RateConfig::default(),
        }
    }
}

impl ApiConfig {
    /// Checks `api.max_connections*` and `[api.rate]`, naming the bad key.
    fn check(&self) -> anyhow::Result<()> {
        if !(1..=MAX_API_CONNECTIONS).contains(&self.max_connections) {
            bail!(
                "config key `api.max_connections` = {} must be between 1 and {MAX_API_CONNECTIONS}",
                self.max_connections
            );
        }
        if !(1..=MAX_API_CONNECTIONS).contains(&self.max_connections_per_token) {
            bail!(
                "config key `api.max_connections_per_token` = {} must be between 1 and {MAX_API_CONNECTIONS}",
                self.max_connections_per_token
            );
        }
        for (key, value) in [
            ("api.rate.records_per_minute", self.rate.records_per_minute),
            (
                "api.rate.documents_per_minute",
                self.rate.documents_per_minute,
            ),
        ] {
            if !(1..=MAX_PER_MINUTE).contains(&value) {
                bail!("config key `{key}` = {value} must be between 1 and {MAX_PER_MINUTE}");
            }
        }
        for (key, value) in [
            (
                "api.rate.record_bytes_per_minute",
                self.rate.record_bytes_per_minute,
            ),
            (
                "api.rate.node_record_bytes_per_minute",
                self.rate.node_record_bytes_per_minute,
            ),
        ] {
            if !(1..=MAX_BYTES_PER_MINUTE).contains(&value) {
                bail!("config key `{key}` = {value} must be between 1 and {MAX_BYTES_PER_MINUTE}");
            }
        }
        Ok(())
    }
}

/// Largest `api.rate.*` accepted.
const MAX_PER_MINUTE: u32 = 1_000_000;
/// Largest `api.rate.*_bytes_per_minute` accepted: 1 TiB.
const MAX_BYTES_PER_MINUTE: u64 = 1 << 40;

fn default_timezone() -> String {
    "UTC".into()
}

/// Most `api.max_connections` accepted: each connection costs a file
/// descriptor and up to 64 KiB of buffers.
const MAX_API_CONNECTIONS: usize = 65_536;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Storage engine, `redb` or `sled` (README: why redb is the default).
    pub engine: EngineKind,
    /// Directory of the store, relative to the node directory.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            engine: EngineKind::default(),
            path: "store".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Milliseconds between anti-entropy rounds with a random connected peer;
    /// gossip can lose messages, this is what makes delivery certain.
    pub interval_ms: u64,
    /// Entries asked for per `Range` request while catching up.
    pub range_limit: u32,
    /// Milliseconds between checks of `trust.toml` and `tokens.toml` for
    /// changes made by the CLI (so they apply without a restart).
    pub watch_interval_ms: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            interval_ms: 3000,
            range_limit: 512,
            watch_interval_ms: 1000,
        }
    }
}

/// The files of a node directory.
#[derive(Debug, Clone)]
pub struct NodeDir(pub PathBuf);

impl NodeDir {
    pub fn config(&self) -> PathBuf {
        self.0.join("tally.toml")
    }
    pub fn card(&self) -> PathBuf {
        self.0.join("card.toml")
    }
    pub fn trust(&self) -> PathBuf {
        self.0.join("trust.toml")
    }
    pub fn tokens(&self) -> PathBuf {
        self.0.join("tokens.toml")
    }
    /// The append-only record of every seal printed (`GET /v1/paper/...`).
    pub fn paper_prints(&self) -> PathBuf {
        self.0.join("paper-prints.jsonl")
    }
    /// Drafts awaiting approval (`[issue] approvals = 2`), one file each.
    pub fn drafts(&self) -> PathBuf {
        self.0.join("drafts")
    }
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.0.join(p)
        }
    }
}

/// The checked runtime form of [`Config`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// The node directory: trust list, tokens and card live there.
    pub dir: NodeDir,
    pub authority: AuthorityId,
    pub name: String,
    /// `contact`.
    pub contact: Option<String>,
    pub authority_key: PathBuf,
    pub node_key: PathBuf,
    pub encryption_key: PathBuf,
    pub paper_key: PathBuf,
    pub api_listen: SocketAddr,
    pub api_max_connections: usize,
    /// `api.max_connections_per_token`.
    pub api_max_connections_per_token: usize,
    /// `[api.rate]`.
    pub api_rate: RateConfig,
    /// `timezone`, checked: whose date "today" is.
    pub timezone: tally_verify::TimeZone,
    /// `[alerts] delivery_days`.
    pub delivery_days: u32,
    /// `[alerts] denial_days`.
    pub denial_days: u32,
    /// `[alerts] enduse_days`.
    pub enduse_days: u32,
    /// `[issue] require_enduse_confirmation`, checked.
    pub enduse_required: std::collections::BTreeSet<String>,
    pub p2p: tally_p2p::Config,
    pub engine: EngineKind,
    pub store_path: PathBuf,
    pub sync: SyncConfig,
    /// `[signing]`, its PIN file's path resolved: the signing key is in a
    /// PKCS#11 token; `None`: in `authority_key`.
    pub signing: Option<SigningConfig>,
    /// `tally run --new-log`: when the store is missing at start, this
    /// authority's log is really new; sign at once instead of recovering
    /// it from peers first.
    pub new_log: bool,
    /// A clock other than the system's (`tally demo`); never from the file.
    pub clock: Option<std::sync::Arc<crate::clock::ShiftedClock>>,
    /// `[issue] approvals`: 1 or 2.
    pub approvals: u8,
    /// `[paper] enabled`.
    pub paper: bool,
}

impl Settings {
    /// The settings of node directory `dir`: its `tally.toml`, checked.
    pub fn load(dir: &Path) -> anyhow::Result<Settings> {
        let dir = NodeDir(dir.to_path_buf());
        Config::load(&dir)?.settings(&dir)
    }

    /// What the store judges date-driven alerts with: today in the node's
    /// `timezone` by the node's clock, and `delivery_days`.
    pub fn alert_clock(&self) -> tally_store::AlertClock {
        let tz = self.timezone.clone();
        let clock = self.clock.clone();
        tally_store::AlertClock::new(self.delivery_days, move || {
            tz.date_at(
                clock
                    .as_ref()
                    .map_or_else(tally_verify::now_ms, |c| c.now_ms()),
            )
        })
        .with_denial_days(self.denial_days)
        .with_enduse_days(self.enduse_days)
    }
}

impl Config {
    pub fn load(dir: &NodeDir) -> anyhow::Result<Config> {
        let path = dir.config();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is this a node directory? run `tally init` first)",
                path.display()
            )
        })?;
        toml::from_str(&text).with_context(|| format!("{} is not a valid config", path.display()))
    }

    /// Checks every key, naming the bad one.
    pub fn settings(&self, dir: &NodeDir) -> anyhow::Result<Settings> {
        let authority: AuthorityId = self
            .authority
            .parse()
            .with_context(|| format!("config key `authority` = {:?}", self.authority))?;
        let api_listen: SocketAddr = self.api.listen.parse().with_context(|| {
            format!(
                "config key `api.listen` = {:?} is not HOST:PORT",
                self.api.listen
            )
        })?;
        self.api.check()?;
        let timezone = tally_verify::TimeZone::named(&self.timezone).with_context(|| {
            format!(
                "config key `timezone` = {:?} is not an IANA time zone name (e.g. \"UTC\", \"America/Mexico_City\")",
                self.timezone
            )
        })?;
        if self.p2p.listen.parse::<tally_p2p::Multiaddr>().is_err() {
            bail!(
                "config key `p2p.listen` = {:?} is not a multiaddr",
                self.p2p.listen
            );
        }
        if self.sync.interval_ms == 0
            || self.sync.range_limit == 0
            || self.sync.watch_interval_ms == 0
        {
            bail!("config keys `sync.*` must be positive");
        }
        if self.name.trim().is_empty() {
            bail!("config key `name` is empty");
        }
        if let Some(c) = &self.contact {
            tally_model::trust::check_contact(c)
                .map_err(|e| anyhow::anyhow!("config key `contact`: {e}"))?;
        }
        if !(1..=2).contains(&self.issue.approvals) {
            bail!(
                "config key `issue.approvals` = {} must be 1 or 2",
                self.issue.approvals
            );
        }
        if self.alerts.delivery_days > MAX_DELIVERY_DAYS {
            bail!(
                "config key `alerts.delivery_days` = {} must be at most {MAX_DELIVERY_DAYS}",
                self.alerts.delivery_days
            );
        }
        for (key, days) in [
            ("denial_days", self.alerts.denial_days),
            ("enduse_days", self.alerts.enduse_days),
        ] {
            if days > MAX_DELIVERY_DAYS {
                bail!("config key `alerts.{key}` = {days} must be at most {MAX_DELIVERY_DAYS}");
            }
        }
        let mut enduse_required = std::collections::BTreeSet::new();
        for c in &self.issue.require_enduse_confirmation {
            tally_model::fields::country("", c).map_err(|_| {
                anyhow::anyhow!(
                    "config key `issue.require_enduse_confirmation` lists {c:?}, not an ISO 3166-1 alpha-2 country code"
                )
            })?;
            enduse_required.insert(c.clone());
        }
        Ok(Settings {
            dir: dir.clone(),
            authority,
            name: self.name.clone(),
            contact: self.contact.clone(),
            authority_key: dir.resolve(&self.keys.authority),
            node_key: dir.resolve(&self.keys.node),
            encryption_key: dir.resolve(&self.keys.encryption),
            paper_key: dir.resolve(&self.keys.paper),
            api_listen,
            api_max_connections: self.api.max_connections,
            api_max_connections_per_token: self.api.max_connections_per_token,
            api_rate: self.api.rate,
            timezone,
            delivery_days: self.alerts.delivery_days,
            denial_days: self.alerts.denial_days,
            enduse_days: self.alerts.enduse_days,
            enduse_required,
            p2p: self.p2p.clone(),
            engine: self.store.engine,
            store_path: dir.resolve(&self.store.path),
            sync: self.sync.clone(),
            signing: self.signing.as_ref().map(|s| s.settings(dir)).transpose()?,
            new_log: false,
            clock: None,
            approvals: self.issue.approvals,
            paper: self.paper.enabled,
        })
    }
}

/// `[signing]` of `tally.toml`; absent, the node signs with its key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// The PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub pkcs11_module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The signing key pair's label in the token.
    pub key_label: String,
    /// The file holding the token's user PIN (one trailing newline
    /// stripped), relative to the node directory unless absolute.
    pub pin_file: PathBuf,
}

impl SigningConfig {
    /// Checks the keys, naming the bad one; the PIN file's path resolved.
    pub fn settings(&self, dir: &NodeDir) -> anyhow::Result<SigningConfig> {
        for (key, value) in [
            ("signing.token_label", &self.token_label),
            ("signing.key_label", &self.key_label),
        ] {
            if value.trim().is_empty() {
                bail!("config key `{key}` is empty");
            }
        }
        if self.pkcs11_module.as_os_str().is_empty() {
            bail!("config key `signing.pkcs11_module` is empty");
        }
        Ok(SigningConfig {
            pin_file: dir.resolve(&self.pin_file),
            ..self.clone()
        })
    }

    /// The signer's configuration, with the PIN read from its file.
    pub fn pkcs11(&self) -> anyhow::Result<tally_custody::Pkcs11Config> {
        let pin = tally_custody::read_pin_file(&self.pin_file)?;
        Ok(tally_custody::Pkcs11Config::new(
            &self.pkcs11_module,
            &self.token_label,
            &self.key_label,
            pin,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example must list every key with its default value.
    #[test]
    fn example_config_lists_every_key_with_its_default() {
        let text = include_str!("../../config/tally.example.toml");
        let example: Config = toml::from_str(text).expect("example parses");
        let defaults = Config {
            contact: None,
            issue: crate::config::IssueConfig::default(),
            paper: PaperConfig::default(),
            authority: example.authority.clone(),
            name: example.name.clone(),
            timezone: default_timezone(),
            alerts: AlertsConfig::default(),
            keys: KeysConfig::default(),
            api: ApiConfig::default(),
            p2p: tally_p2p::Config::default(),
            store: StoreConfig::default(),
            sync: SyncConfig::default(),
            signing: None,
        };
        let as_table = |c: &Config| toml::Value::try_from(c).expect("serializes");
        assert_eq!(as_table(&example), as_table(&defaults));
        let dir = NodeDir(PathBuf::from("/tmp/x"));
        example.settings(&dir).expect("valid");
    }

    #[test]
    fn paper_seals_are_on_unless_turned_off() {
        let dir = NodeDir(PathBuf::from("/tmp/x"));
        let text = include_str!("../../config/tally.example.toml");
        let without: String = text
            .split("\n[")
            .filter(|section| !section.starts_with("paper]"))
            .collect::<Vec<_>>()
            .join("\n[");
        assert!(!without.lines().any(|l| l == "[paper]"), "{without}");
        let c: Config = toml::from_str(&without).expect("parses");
        assert!(c.settings(&dir).expect("valid").paper);
        assert_eq!(text.matches("\nenabled = true").count(), 1);
        let off = text.replacen("\nenabled = true", "\nenabled = false", 1);
        let c: Config = toml::from_str(&off).expect("parses");
        assert!(!c.settings(&dir).expect("valid").paper);
    }

    #[test]
    fn bad_values_name_the_key() {
        let text = include_str!("../../config/tally.example.toml");
        let dir = NodeDir(PathBuf::from("/tmp/x"));
        for (from, to, key) in [
            (
                "listen = \"127.0.0.1:4711\"",
                "listen = \"nowhere\"",
                "api.listen",
            ),
            (
                "max_connections = 1024",
                "max_connections = 0",
                "api.max_connections",
            ),
            (
                "max_connections_per_token = 64",
                "max_connections_per_token = 0",
                "api.max_connections_per_token",
            ),
            ("authority = \"US-DDTC\"", "authority = \"us\"", "authority"),
            (
                "timezone = \"UTC\"",
                "timezone = \"Mars/Olympus_Mons\"",
                "timezone",
            ),
            (
                "delivery_days = 45",
                "delivery_days = 100000",
                "alerts.delivery_days",
            ),
            (
                "denial_days = 1095",
                "denial_days = 100000",
                "alerts.denial_days",
            ),
            (
                "enduse_days = 30",
                "enduse_days = 100000",
                "alerts.enduse_days",
            ),
            (
                "require_enduse_confirmation = []",
                "require_enduse_confirmation = [\"Mexico\"]",
                "issue.require_enduse_confirmation",
            ),
            (
                "records_per_minute = 120",
                "records_per_minute = 0",
                "api.rate.records_per_minute",
            ),
            (
                "documents_per_minute = 600",
                "documents_per_minute = 0",
                "api.rate.documents_per_minute",
            ),
            (
                "\nrecord_bytes_per_minute = 4194304",
                "\nrecord_bytes_per_minute = 0",
                "api.rate.record_bytes_per_minute",
            ),
            (
                "node_record_bytes_per_minute = 33554432",
                "node_record_bytes_per_minute = 0",
                "api.rate.node_record_bytes_per_minute",
            ),
            (
                "listen = \"/ip4/0.0.0.0/tcp/4710\"",
                "listen = \"tcp:4710\"",
                "p2p.listen",
            ),
        ] {
            let c: Config = toml::from_str(&text.replacen(from, to, 1)).expect("parses");
            let err = format!("{:#}", c.settings(&dir).expect_err("refused"));
            assert!(err.contains(key), "{err}");
        }
        let unknown = format!("{text}\n[extra]\nx = 1\n");
        assert!(toml::from_str::<Config>(&unknown).is_err());
    }
}
