//! The typed values the store keeps besides the logs: derived license state,
//! tallies, shipments, evidence and alerts.

use serde::{Deserialize, Serialize};
use tally_model::{
    AlertKind, AuthorityId, Direction, DocumentRef, EntryHash, License, LicenseKind, Status,
};

/// Where an entry sits in its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPointer {
    pub seq: u64,
    /// Hex SHA-256 of the entry bytes.
    #[serde(with = "hash_hex")]
    pub hash: EntryHash,
}

/// One event in a license's life: issue, amendment or status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseEvent {
    /// `issued`, `amended`, `suspended`, `revoked` or `active`.
    pub event: String,
    pub version: u32,
    pub reason: Option<String>,
    pub at_ms: i64,
    pub entry: EntryPointer,
}

/// The current state of a license (export, import or transit), derived from
/// its issuer's log: the newest amendment applied, the newest status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseState {
    pub authority: AuthorityId,
    pub number: String,
    pub kind: LicenseKind,
    pub status: Status,
    /// 1 as issued, then 2, 3, ... per amendment.
    pub version: u32,
    pub document: License,
    /// `issued_at_ms` of the entry that first issued it.
    pub issued_at_ms: i64,
    /// The entry that first issued it.
    pub entry: EntryPointer,
    /// Hex public key that signed the issuing entry, for re-checking trust.
    pub signed_by: String,
    pub history: Vec<LicenseEvent>,
    /// Who can read the current version, when it arrived sealed: its
    /// sealed recipient list (authority and the encryption key it was
    /// sealed to), the issuer first. Empty when it is in clear in the log
    /// (every node holding the log reads it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sealed_to: Vec<Reader>,
}

/// One addressee of a sealed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reader {
    pub authority: AuthorityId,
    /// 64 lowercase hex digits of the X25519 public key.
    pub encryption_key: String,
}

impl LicenseState {
    /// A document as first issued: version 1, active, no history.
    pub fn issued(
        authority: AuthorityId,
        document: License,
        issued_at_ms: i64,
        entry: EntryPointer,
        signed_by: String,
    ) -> LicenseState {
        LicenseState {
            authority,
            number: document.number().to_string(),
            kind: document.kind(),
            status: Status::Active,
            version: 1,
            document,
            issued_at_ms,
            entry,
            signed_by,
            history: Vec::new(),
            sealed_to: Vec::new(),
        }
    }

    /// The authorities that can read the current version when it is
    /// sealed, each once, the issuer first; empty when it is in clear.
    pub fn readers(&self) -> Vec<AuthorityId> {
        let mut out: Vec<AuthorityId> = Vec::new();
        for r in &self.sealed_to {
            if !out.contains(&r.authority) {
                out.push(r.authority.clone());
            }
        }
        out
    }

    pub fn reference(&self) -> DocumentRef {
        DocumentRef {
            authority: self.authority.to_string(),
            number: self.number.clone(),
        }
    }
}

/// Per line of `export`, the quantity its delivery verifications record as
/// delivered: those issued by an authority of its importing country and not
/// revoked.
pub fn delivered(
    export: &LicenseState,
    deliveries: &[LicenseState],
) -> std::collections::BTreeMap<u32, u64> {
    let mut out = std::collections::BTreeMap::new();
    let License::Export(e) = &export.document else {
        return out;
    };
    for d in deliveries {
        let License::Delivery(v) = &d.document else {
            continue;
        };
        if d.status == Status::Revoked
            || d.authority.country().as_str() != e.importing_country
            || v.export_license != export.reference()
        {
            continue;
        }
        for l in &v.items {
            let q: &mut u64 = out.entry(l.line).or_default();
            *q = q.saturating_add(l.quantity);
        }
    }
    out
}

/// A recorded shipment, as listed by `GET /v1/shipments` (the judging rules
/// read it, so it lives in the model).
pub use tally_model::judgement::ShipmentRow;

/// Quantity of accepted, recorded shipments of one license line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyRow {
    pub line: u32,
    pub direction: Direction,
    /// The checkpoint country (the transit country for transit).
    pub country: String,
    pub quantity: u64,
    /// Accepted shipments that carried this line.
    pub shipments: u64,
}

/// A serial's first use under one license, and its row in the index
/// across licenses (the types of the `serial.repeat` rule).
pub use tally_model::judgement::{SerialIndexRow, SerialUse};

/// Two signed entries with the same (authority, seq) and different bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub authority: AuthorityId,
    pub seq: u64,
    /// Encoded `SignedEntry`s, the one held first and the conflicting one.
    pub entries: [Vec<u8>; 2],
}

/// An alert as stored and listed (docs/API.md "Alerts").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Deterministic: see [`tally_model::alert_id`].
    pub id: String,
    pub kind: AlertKind,
    /// The license the alert concerns, if any.
    pub license: Option<DocumentRef>,
    /// `issued_at_ms` of the entry that raised it.
    pub raised_at_ms: i64,
    /// What happened, in words; built by this node, foreign text quoted.
    pub detail: String,
    pub open: bool,
}

/// An encryption key an authority announced in its own log: peers seal to
/// the newest they have seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncedKey {
    /// Hex X25519 public key.
    pub public_key: String,
    pub valid_from_ms: i64,
    /// The announcing entry.
    pub entry: EntryPointer,
}

/// A signing key an authority announced in its own log (key rotation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedKey {
    /// Hex public key.
    pub public_key: String,
    pub valid_from_ms: i64,
    /// The rotation entry: the new key signs from `entry.seq + 1`.
    pub entry: EntryPointer,
    /// Hex of the key that signed the rotation: it signs nothing of the
    /// log after `entry.seq`.
    #[serde(default)]
    pub signed_by: String,
    /// The rotation was signed by a key declared compromised before it, or
    /// announces a weak or malformed key: the announced key is trusted for
    /// nothing (kept so that what it signed is
    /// recognized as not counting).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compromised: bool,
}

mod hash_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use tally_model::EntryHash;

    pub fn serialize<S: Serializer>(h: &EntryHash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&h.to_hex())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EntryHash, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s)
            .ok()
            .and_then(|b| EntryHash::from_slice(&b))
            .ok_or_else(|| serde::de::Error::custom("not a 32-byte hex hash"))
    }
}
