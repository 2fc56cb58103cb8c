//! The `tally` command line (docs/API.md).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "tally",
    version,
    about = "Tally: signed firearms export, import and transit licenses, exchanged peer to peer between licensing authorities"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Officer,
    Issuer,
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a complete, working node directory.
    Init(InitArgs),
    /// Manage the trusted authorities.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
    /// Manage this node's own key files.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Run the node in the foreground; SIGINT/SIGTERM stop it cleanly.
    Run {
        #[arg(long)]
        dir: PathBuf,
        /// When the store is missing, declare this authority's log really
        /// new: sign at once instead of recovering it from peers first.
        #[arg(long)]
        new_log: bool,
    },
    /// Rebuild the derived indexes from the logs (with the node stopped).
    Reindex {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Check a stopped node's store: the engine's integrity and every log's
    /// chain and signatures. Exit 0 when sound, 1 when damaged.
    VerifyStore {
        #[arg(long)]
        dir: PathBuf,
    },
    /// A local network of three nodes with sample data; Ctrl-C stops it.
    Demo {
        /// Where to keep the nodes' directories (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// First port: node i listens for peers on BASE+i and serves its API
        /// on BASE+10+i; a busy port is replaced by a free one, and the
        /// addresses actually used are printed.
        #[arg(long, default_value_t = 4780)]
        base_port: u16,
        #[command(flatten)]
        pkcs11: DemoPkcs11,
    },
    /// Print a node's peers and sync state.
    Status {
        /// Base URL of the node's API, e.g. http://127.0.0.1:4711.
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long)]
        json: bool,
    },
    /// Trace a firearm: every license line and crossing the node reads that
    /// names its serial (GET /v1/trace), as a table.
    Trace {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        /// The firearm's make, as marked.
        #[arg(long)]
        make: String,
        /// The serial number, as marked.
        serial: String,
        #[arg(long)]
        json: bool,
    },
    /// Paper seals (docs/PROTOCOL.md 14).
    Paper {
        #[command(subcommand)]
        what: PaperCommand,
    },
    /// Reports drafted from what the node reads.
    Report {
        #[command(subcommand)]
        what: ReportCommand,
    },
    /// Export what the node reads (GET /v1/export/WHAT) as JSON lines or
    /// CSV; a JSON lines export ends with a cursor, printed on standard
    /// error, that `--since` takes next time to get only what came after.
    Export {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        /// licenses, deliveries, shipments or alerts.
        what: String,
        /// YYYY-MM-DD, inclusive.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// The cursor a previous export ended with.
        #[arg(long)]
        since: Option<String>,
        /// jsonl (default) or csv.
        #[arg(long)]
        format: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Issue the documents of FILE (CSV as spreadsheets write it, or JSON
    /// lines; docs/IMPORT.md) through the node's API; a document issued
    /// before with the same content is skipped. Exit 0 when nothing was
    /// refused, 1 when some rows were, 2 on error.
    Import {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        /// The file; `-` for standard input.
        file: PathBuf,
        /// Validate every document; sign nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print `{"issued", "skipped", "refused": [...]}`.
        #[arg(long)]
        json: bool,
        /// `csv` or `jsonl` (default: by FILE's extension, else jsonl).
        #[arg(long)]
        format: Option<String>,
    },
    /// Check a shipment (a JSON file of POST /v1/shipments/verify) and print
    /// the verdict table. Exit 0 accept, 1 reject, 2 error.
    Check {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        /// The request file; `-` for standard input.
        file: PathBuf,
    },
}

// `tally init`'s arguments (the variant's doc is its help).
#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// The authority id, CC-NAME (e.g. US-DDTC); the country is its prefix.
    #[arg(long)]
    pub authority: String,
    /// The authority's name, e.g. "Directorate of Defense Trade Controls".
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "/ip4/0.0.0.0/tcp/4710")]
    pub p2p_listen: String,
    #[arg(long, default_value = "127.0.0.1:4711")]
    pub api_listen: String,
    /// Storage engine.
    #[arg(long)]
    pub engine: Option<String>,
    #[arg(long)]
    pub json: bool,
    /// Generate the signing key inside a PKCS#11 token instead of a key file.
    #[command(flatten)]
    pub pkcs11: OptionalPkcs11,
}

/// `--pkcs11-module` and the rest, all or none (`tally init`).
#[derive(Debug, Args)]
pub struct OptionalPkcs11 {
    /// The token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, value_name = "PATH", requires_all = ["token_label", "key_label", "pin_file"])]
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "L", requires = "pkcs11_module")]
    pub token_label: Option<String>,
    /// The label of the key pair generated in the token.
    #[arg(long, value_name = "K", requires = "pkcs11_module")]
    pub key_label: Option<String>,
    /// The file holding the token's user PIN (one trailing newline stripped).
    #[arg(long, value_name = "F", requires = "pkcs11_module")]
    pub pin_file: Option<PathBuf>,
}

impl OptionalPkcs11 {
    /// The `[signing]` section these options give, if any.
    pub fn signing(&self) -> Option<crate::signing::SigningConfig> {
        Some(crate::signing::SigningConfig {
            pkcs11_module: self.pkcs11_module.clone()?,
            token_label: self.token_label.clone()?,
            key_label: self.key_label.clone()?,
            pin_file: self.pin_file.clone()?,
        })
    }
}

/// `tally demo --pkcs11-module ...`: every demo authority's signing key
/// generated in this token (labels `demo-<authority>-<time>`).
#[derive(Debug, Args)]
pub struct DemoPkcs11 {
    /// The token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, value_name = "PATH", requires_all = ["token_label", "pin_file"])]
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    #[arg(long, value_name = "L", requires = "pkcs11_module")]
    pub token_label: Option<String>,
    /// The file holding the token's user PIN (one trailing newline stripped).
    #[arg(long, value_name = "F", requires = "pkcs11_module")]
    pub pin_file: Option<PathBuf>,
}

impl DemoPkcs11 {
    /// The `[signing]` of the demo authority `authority`, its key pair
    /// labelled `demo-<authority>-<stamp>`, if a token was given.
    pub fn signing(&self, authority: &str, stamp: u64) -> Option<crate::signing::SigningConfig> {
        Some(crate::signing::SigningConfig {
            pkcs11_module: self.pkcs11_module.clone()?,
            token_label: self.token_label.clone()?,
            key_label: format!("demo-{}-{stamp}", authority.to_lowercase()),
            pin_file: self.pin_file.clone()?,
        })
    }
}

/// `--pkcs11-module` and the rest, all required (`tally keys migrate`).
#[derive(Debug, Args)]
pub struct Pkcs11Args {
    /// The token's PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, value_name = "PATH")]
    pub pkcs11_module: PathBuf,
    /// The token's label.
    #[arg(long, value_name = "L")]
    pub token_label: String,
    /// The label of the key pair generated in the token.
    #[arg(long, value_name = "K")]
    pub key_label: String,
    /// The file holding the token's user PIN (one trailing newline stripped).
    #[arg(long, value_name = "F")]
    pub pin_file: PathBuf,
}

impl Pkcs11Args {
    pub fn signing(self) -> crate::signing::SigningConfig {
        crate::signing::SigningConfig {
            pkcs11_module: self.pkcs11_module,
            token_label: self.token_label,
            key_label: self.key_label,
            pin_file: self.pin_file,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The ATT annual report's exports and imports tables for category VIII
    /// (small arms and light weapons), drafted by the node
    /// (GET /v1/reports/att); .xlsx or .csv by FILE's extension. Lines the
    /// node cannot place in a sub-category are listed on standard error and
    /// on a sheet of their own, never guessed. Exit 0, or 2 on error.
    Att {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long)]
        year: i64,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// authorized (licenses and import certificates by date of issue,
        /// the default) or actual (recorded crossings).
        #[arg(long)]
        basis: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PaperCommand {
    /// The printable page (HTML) of one of the node's documents with its QR
    /// seal (GET /v1/paper/AUTHORITY/NUMBER; issuer token). Each print is
    /// recorded in the node's paper-prints.jsonl.
    Print {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        authority: String,
        number: String,
        /// Where to write it; standard output without it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The seal's text (TLY1:...) alone, not the page.
        #[arg(long)]
        seal: bool,
    },
    /// The trust bundle offline verifiers hold (GET /v1/paper/bundle;
    /// officer token): trusted paper keys and every document's status,
    /// signed. Confidential: it lists revoked numbers.
    Bundle {
        #[arg(long)]
        api: String,
        #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Checks a seal against a bundle, with no network: FILE holds the
    /// seal's text (TLY1:...) or is a photo of it (PNG or JPEG, told by its
    /// content). Exit 0 when genuine and active as of the bundle, 1
    /// otherwise, 2 on error (no bundle, an unreadable file, a photo in which
    /// no seal can be read).
    Verify {
        file: PathBuf,
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust the authority described by CARD (a card.toml written by another node's init).
    /// Prints the card's fingerprint; compare it with the one the authority
    /// gives you over another channel.
    Add {
        #[arg(long)]
        dir: PathBuf,
        card: PathBuf,
        /// Refuse (and change nothing) unless the card has this fingerprint;
        /// separators and case are ignored.
        #[arg(long, value_name = "FP")]
        expect_fingerprint: Option<String>,
    },
    /// Stop trusting an authority; its connections are dropped.
    Remove {
        #[arg(long)]
        dir: PathBuf,
        id: String,
    },
    /// Declare a key of a trusted authority compromised after seq N of its
    /// log: it signs nothing of that authority past N; entries already
    /// stored past N stay stored, raise `key.compromised` and stop counting.
    /// Applied live (within 5 s) by a running node.
    RevokeKey {
        #[arg(long)]
        dir: PathBuf,
        /// The authority id, e.g. MX-SEDENA.
        authority: String,
        /// The key's public key, 64 lowercase hex digits.
        key_id: String,
        /// The last seq of the authority's log the key still signed.
        #[arg(long, value_name = "N")]
        after_seq: u64,
    },
    /// List the trusted authorities.
    List {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Delete the retired encryption secrets (`keys/encryption.key.retired-SEQ`)
    /// replaced before DATE, with the node stopped. Documents sealed only to
    /// them no longer open on this node (`"unreadable"`). Without --yes,
    /// only lists what it would delete.
    DropRetired {
        #[arg(long)]
        dir: PathBuf,
        /// YYYY-MM-DD (UTC): drop the keys a rotation replaced before this day.
        #[arg(long, value_name = "DATE")]
        retired_before: String,
        /// Delete them (otherwise nothing changes).
        #[arg(long)]
        yes: bool,
    },
    /// Move the signing key into a PKCS#11 token, with the node stopped: a
    /// key generated in the token is announced by an ordinary signing-key
    /// rotation, `tally.toml` gains `[signing]`, and the key file is removed.
    Migrate {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        pkcs11: Pkcs11Args,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; it is printed once, only its hash is stored.
    Create {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        label: String,
        /// The person who holds the token: documents they prepare or
        /// approve name them (the label when no name is given).
        #[arg(long)]
        name: Option<String>,
        /// Their title, with `--name`.
        #[arg(long, requires = "name")]
        title: Option<String>,
        #[arg(long)]
        json: bool,
    },
}
