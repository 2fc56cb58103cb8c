//! Tally's protocol conformance vectors (docs/PROTOCOL.md section 11).
//!
//! [`generate`] builds every vector file in memory from fixed seeds; the
//! binary writes them to a directory and the test compares them with the
//! committed files. Intermediate values of sealing are recomputed here from
//! the layouts PROTOCOL.md documents (with the same primitive crates), and
//! each is checked against what `tally_model::seal` produced, so a vector
//! file cannot be written when the document and the code disagree.
//!
//! This file owns the fixed seeds and keys of the test authorities, the
//! helpers every file shares (an entry, its JSON form) and the list of
//! files; each module writes one file (or two that share their inputs):
//! [`keys`], [`documents`], [`entries`], [`chain`] (chain and fork),
//! [`sealed`], [`cards`], [`sync`], [`malformed`], [`text`], [`signatures`],
//! [`issuer_keys`], [`seals`] (paper seals).

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tally_model::{
    AuthorityId, AuthorityKey, Body, EncryptionPublic, EncryptionSecret, Entry, EntryHash, Sealed,
    SignedEntry, VerifiedEntry,
};

mod cards;
mod chain;
mod documents;
mod entries;
mod issuer_keys;
mod keys;
mod malformed;
mod sealed;
mod seals;
mod signatures;
mod sync;
mod text;

/// The signing domain of entries (PROTOCOL.md 3.1).
pub const DOMAIN: &[u8] = b"tally/entry/v1";

/// Base time of the vectors: 2026-01-01T00:00:00Z in Unix ms.
const T0: i64 = 1_767_225_600_000;

pub fn hex(b: impl AsRef<[u8]>) -> String {
    hex::encode(b)
}

pub fn b64(b: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn id(s: &str) -> AuthorityId {
    s.parse().expect("a valid authority id")
}

/// A secret derived from a fixed, public seed: SHA-256 of the label.
pub fn seed(label: &str) -> [u8; 32] {
    sha256(label.as_bytes())
}

/// The Ed25519 signing secret of `authority`'s key number `n`.
pub fn signing_secret(authority: &str, n: u32) -> [u8; 32] {
    seed(&format!("tally-vectors/ed25519/{authority}/{n}"))
}

/// The X25519 encryption secret of `authority`.
pub fn encryption_secret(authority: &str) -> [u8; 32] {
    seed(&format!("tally-vectors/x25519/{authority}"))
}

fn signing_key(authority: &str, n: u32) -> AuthorityKey {
    AuthorityKey::from_bytes(&signing_secret(authority, n))
}

fn enc(authority: &str) -> EncryptionSecret {
    EncryptionSecret::from_bytes(encryption_secret(authority))
}

/// The test authorities (the last one is an outsider: no stanza is ever
/// made for it).
pub const AUTHORITIES: [&str; 4] = ["US-DDTC", "MX-SEDENA", "GT-DIGECAM", "CA-GAC"];

/// A signed log as the vectors use it: each entry with the number of the
/// key that signed it and what the vector says of it.
type Chain = [(VerifiedEntry, u32, &'static str)];

fn entry(authority: &str, seq: u64, prev: Option<EntryHash>, at: i64, body: Body) -> Entry {
    Entry {
        authority: id(authority),
        seq,
        prev,
        issued_at_ms: at,
        recipients: vec![],
        body,
    }
}

fn signed_json(description: &str, v: &VerifiedEntry, key_n: u32) -> Value {
    let s = v.signed();
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(s.entry_bytes());
    let wire = s.encode();
    let sig = &wire[wire.len() - 64..];
    json!({
        "description": description,
        "authority": v.entry().authority.as_str(),
        "seq": v.entry().seq,
        "prev": v.entry().prev.map(|p| p.to_hex()).unwrap_or_default(),
        "issued_at_ms": v.entry().issued_at_ms,
        "signing_key": key_n,
        "entry": hex(s.entry_bytes()),
        "message": hex(&message),
        "key_id": hex(s.key_id()),
        "signature": hex(sig),
        "signed_entry": hex(&wire),
        "signed_entry_b64": b64(&wire),
        "entry_id": v.id().to_hex(),
    })
}

fn pretty(v: Value) -> String {
    let mut s = serde_json::to_string_pretty(&v).expect("serializes");
    s.push('\n');
    s
}

/// Every vector file: (file name, contents).
pub fn generate() -> Vec<(&'static str, String)> {
    let chain = chain::us_ddtc();
    let fork = chain::fork_file(&chain);
    let proof = hex::decode(fork["proof"].as_str().expect("hex")).expect("hex");
    let (first, _, _) = &chain[0];
    let first_key = signing_secret("US-DDTC", 1);
    vec![
        ("keys.json", pretty(keys::file())),
        ("documents.json", pretty(documents::file())),
        ("entries.json", pretty(entries::file(&chain))),
        ("chain.json", pretty(chain::file(&chain))),
        ("fork.json", pretty(fork)),
        ("sealed.json", pretty(sealed::file(&chain))),
        ("cards.json", pretty(cards::file())),
        ("sync.json", pretty(sync::file(&chain, proof))),
        (
            "malformed.json",
            pretty(malformed::file(
                first.signed().entry_bytes(),
                first.entry().issued_at_ms,
                &first_key,
            )),
        ),
        ("text.json", pretty(text::file())),
        (
            "signatures.json",
            pretty(signatures::file(first.signed().entry_bytes(), &first_key)),
        ),
        ("issuer_keys.json", pretty(issuer_keys::file())),
        ("seals.json", pretty(seals::file())),
    ]
}

/// The issuer's encryption public key and a secret, parsed (for tests).
pub fn encryption_pair(secret_hex: &str) -> EncryptionSecret {
    let b: [u8; 32] = hex::decode(secret_hex)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    EncryptionSecret::from_bytes(b)
}

/// Decodes a sealed body from an entry (for tests).
pub fn sealed_body(e: &Entry) -> Option<&Sealed> {
    match &e.body {
        Body::Sealed(s) => Some(s),
        Body::Document(_) | Body::Unknown(_) => None,
    }
}

/// Parses a signed entry from hex (for tests).
pub fn signed_from_hex(h: &str) -> SignedEntry {
    SignedEntry::decode(&hex::decode(h).expect("hex")).expect("decodes")
}

/// The X25519 public key from hex (for tests).
pub fn public_from_hex(h: &str) -> EncryptionPublic {
    EncryptionPublic::parse(h).expect("64 hex digits")
}
