//! The trust bundle an offline verifier holds (docs/PROTOCOL.md 14): the
//! paper keys of the authorities a node trusts, whether a compromise mark
//! names them, and the status of every document the node reads, signed by
//! the producing node's paper key over the bundle's canonical JSON (RFC
//! 8785 for what it holds: object keys sorted, no spaces, integers and
//! strings only) without `signature`, after the domain `tally/bundle/v1\0`.
//!
//! It is confidential to the State that holds it: it lists revoked numbers.

use crate::paper::seal::{Genuine, PaperKey, Read};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tally_model::signer::{Signer, SignerError};

/// What a bundle's signature covers first.
pub const DOMAIN: &[u8] = b"tally/bundle/v1\0";

/// One paper key in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleKey {
    /// Hex of the 32-byte Ed25519 public key.
    pub key_id: String,
    pub purpose: String,
    pub valid_from_ms: i64,
    pub compromised: bool,
}

/// One authority and its paper keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleAuthority {
    pub authority: String,
    pub name: String,
    pub keys: Vec<BundleKey>,
    /// Whom an officer calls about this authority's papers, from its card
    /// (or, for the producing node, its `contact` setting); left out when
    /// it gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

/// The current version and status of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleStatus {
    pub authority: String,
    pub number: String,
    pub version: u32,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
}

/// The bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// The producing authority (its paper key signs the bundle).
    pub produced_by: String,
    /// Unix ms.
    pub produced_at: i64,
    pub authorities: Vec<BundleAuthority>,
    pub statuses: Vec<BundleStatus>,
    /// Hex Ed25519 signature; empty while unsigned.
    #[serde(default)]
    pub signature: String,
}

/// Why a bundle is not one to trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BundleError(pub String);

/// `value` as RFC 8785 canonical JSON for values of strings, integers,
/// booleans, arrays and objects (what a bundle holds).
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            // RFC 8785 sorts by UTF-16 code units; the keys here are ASCII.
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl Bundle {
    /// The bytes the signature covers: the domain, then the canonical JSON
    /// of the bundle without `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            map.remove("signature");
        }
        let mut text = String::new();
        canonical(&v, &mut text);
        let mut bytes = DOMAIN.to_vec();
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    /// Signs the bundle with the producing node's paper key.
    pub fn sign(mut self, signer: &dyn Signer) -> Result<Bundle, SignerError> {
        self.signature.clear();
        let sig = signer.sign(&self.signed_bytes())?;
        self.signature = hex::encode(sig);
        Ok(self)
    }

    /// The paper keys a verifier trusts from this bundle.
    pub fn paper_keys(&self) -> Vec<PaperKey> {
        let mut keys = Vec::new();
        for a in &self.authorities {
            for k in a.keys.iter().filter(|k| k.purpose == "paper") {
                let Some(public) = hex::decode(&k.key_id)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                else {
                    continue;
                };
                keys.push(PaperKey {
                    authority: a.authority.clone(),
                    public_key: public,
                    compromised: k.compromised,
                });
            }
        }
        keys
    }

    /// Checks the signature against the producer's own paper key in the
    /// bundle (or `pinned`, the key a verifier was set up with): a bundle
    /// whose signature does not hold is refused whole.
    pub fn verified(&self, pinned: Option<&[u8; 32]>) -> Result<(), BundleError> {
        let sig = hex::decode(&self.signature)
            .ok()
            .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
            .ok_or_else(|| BundleError("the bundle is not signed".into()))?;
        let own: Vec<[u8; 32]> = match pinned {
            Some(k) => vec![*k],
            None => self
                .paper_keys()
                .into_iter()
                .filter(|k| k.authority == self.produced_by && !k.compromised)
                .map(|k| k.public_key)
                .collect(),
        };
        let bytes = self.signed_bytes();
        let good = own.iter().any(|k| {
            ed25519_dalek::VerifyingKey::from_bytes(k)
                .is_ok_and(|vk| vk.verify_strict(&bytes, &sig).is_ok())
        });
        if good {
            Ok(())
        } else {
            Err(BundleError(
                "the bundle's signature does not hold for its producer's paper key".into(),
            ))
        }
    }

    /// The document's status as of the bundle: `superseded` when the seal is
    /// of an older version, `expired` past `exp` at `now_s`, `unknown` when
    /// the bundle does not list it.
    pub fn status_of(&self, read: &Read, now_s: i64) -> &'static str {
        let s = &read.summary;
        let Some(row) = self
            .statuses
            .iter()
            .find(|r| r.authority == s.authority && r.number == s.number)
        else {
            return "unknown";
        };
        match row.status.as_str() {
            "revoked" => "revoked",
            "suspended" => "suspended",
            _ if row.version > s.version => "superseded",
            _ if now_s > read.times.expires_at => "expired",
            _ => "active",
        }
    }

    /// Whether the paper is genuine, by this bundle's keys.
    pub fn genuine(&self, read: &Read) -> Genuine {
        read.genuine(&self.paper_keys())
    }
}
