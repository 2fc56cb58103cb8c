//! The structural rules of a log, as one pure transition: what a document
//! does to the standing of one of its issuer's documents, or why it may not.
//!
//! These are the rules a node can judge from the issuer's own log alone
//! (docs/ARCHITECTURE.md): the document's shape and text limits, a number used
//! once, revoked is final, versions go up by one, what an amendment may
//! change, a shipment recorded in the recorder's own country. The issuing
//! node runs them before it signs (a refusal is an HTTP error); every reader
//! runs the same function when it applies a peer's entry (a refusal keeps the
//! entry as evidence and raises `document.invalid`). Rules that join logs
//! (the import certificate behind an export, who may read it) are not here.

use crate::amendment::validate_amendment;
use crate::document::{Document, License, LicenseKind, ShipmentRecord, Status};
use crate::id::Country;
use crate::validate::{self, Invalid, validate_license};

/// What the lifecycle needs to know of a document already in the log.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    pub kind: LicenseKind,
    pub status: Status,
    /// 1 as issued, +1 per amendment.
    pub version: u32,
    /// The document as it stands (newest amendment applied).
    pub document: &'a License,
}

/// What the issuer's log already holds that a document concerns.
#[derive(Debug, Clone, Copy, Default)]
pub enum Prior<'a> {
    /// Nothing: a number never issued, a key never announced, or a document
    /// that concerns neither.
    #[default]
    Nothing,
    /// The standing of the document [`subject`] names.
    Standing(Standing<'a>),
    /// The seq of the entry that already announced the encryption key an
    /// announcement names ([`announced_key`]).
    Announced(u64),
}

impl<'a> From<Option<Standing<'a>>> for Prior<'a> {
    fn from(s: Option<Standing<'a>>) -> Prior<'a> {
        s.map_or(Prior::Nothing, Prior::Standing)
    }
}

/// What a document that keeps the rules does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition<'a> {
    /// A new document, version 1, active.
    Issue(&'a License),
    /// The next version of the document.
    Amend { version: u32, license: &'a License },
    /// A new status (with the reason and effective time in the document).
    SetStatus(Status),
    /// A document that changes no license's standing (a shipment record, a
    /// key rotation, an encryption key announcement).
    Record,
}

/// Why a document breaks the structural rules. The issuing API maps each
/// variant to its HTTP status; a reader only keeps the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The number is already used in this log.
    #[error("number {0:?} is already used")]
    NumberUsed(String),
    /// The document changes a number this log never issued.
    #[error("{0:?} was never issued by this authority")]
    Unknown(String),
    /// Revoked is final.
    #[error("{0:?} is revoked; revoked is final")]
    Revoked(String),
    /// The document itself breaks a rule (shape, text, countries).
    #[error("{0}")]
    Document(Invalid),
    /// An amendment changes what may not change, or skips a version.
    #[error("{0}")]
    Amendment(Invalid),
    /// The encryption key was already announced in this log, at that seq:
    /// each key counts once, so what a reader reads to select an issuer's
    /// keys stays bounded (docs/PROTOCOL.md 6.7).
    #[error("encryption key already announced at seq {0}")]
    KeyAnnounced(u64),
}

impl Refusal {
    /// A short stable label (metrics, alert details).
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::NumberUsed(_) => "number_used",
            Refusal::Unknown(_) => "unknown",
            Refusal::Revoked(_) => "revoked",
            Refusal::Document(_) => "document",
            Refusal::Amendment(_) => "amendment",
            Refusal::KeyAnnounced(_) => "key_announced",
        }
    }
}

/// The number of the issuer's document that `doc` concerns, if any: the
/// standing that [`transition`] needs.
pub fn subject(doc: &Document) -> Option<&str> {
    match doc {
        Document::License(l) => Some(l.number()),
        Document::Amendment { license, .. } => Some(license.number()),
        Document::StatusChange(c) => Some(&c.number),
        Document::Shipment(_)
        | Document::KeyRotation(_)
        | Document::EncryptionKey(_)
        | Document::PaperKey(_) => None,
    }
}

/// The encryption key `doc` announces, in hex, if it is an announcement:
/// whether the log announced it before is the [`Prior`] it needs.
pub fn announced_key(doc: &Document) -> Option<String> {
    match doc {
        Document::EncryptionKey(k) => Some(k.public().to_hex()),
        _ => None,
    }
}

/// The one lifecycle rule: given what the issuer's log already holds that
/// `doc` concerns (the standing of [`subject`]`(doc)`, or the announcement
/// of [`announced_key`]`(doc)`), what `doc` does, or why it breaks the
/// structural rules. `issuer` is the country of the authority whose log
/// holds `doc`.
pub fn transition<'a>(
    current: Prior<'_>,
    doc: &'a Document,
    issuer: Country,
) -> Result<Transition<'a>, Refusal> {
    transition_checked(current, doc, issuer, None)
}

/// [`transition`], given what the document's stateless rules came to when
/// they ran ahead (`checked`: `VerifiedEntry::check_document` of the entry
/// carrying `doc`); `None` runs them here. The answer is the same either way.
pub fn transition_checked<'a>(
    prior: Prior<'_>,
    doc: &'a Document,
    issuer: Country,
    checked: Option<&Result<(), Invalid>>,
) -> Result<Transition<'a>, Refusal> {
    let current = match prior {
        Prior::Standing(s) => Some(s),
        Prior::Nothing | Prior::Announced(_) => None,
    };
    let validated = |l: &License| {
        match checked {
            Some(r) => r.clone(),
            None => validate_license(l, issuer),
        }
        .map_err(Refusal::Document)
    };
    match doc {
        Document::License(l) => {
            validated(l)?;
            if current.is_some() {
                return Err(Refusal::NumberUsed(l.number().to_string()));
            }
            Ok(Transition::Issue(l))
        }
        Document::Amendment { version, license } => {
            validated(license)?;
            let old = current.ok_or_else(|| Refusal::Unknown(license.number().to_string()))?;
            if old.status == Status::Revoked {
                return Err(Refusal::Revoked(license.number().to_string()));
            }
            if license.kind() != old.kind {
                return Err(Refusal::Amendment(Invalid(
                    "an amendment keeps the document's kind and number".into(),
                )));
            }
            if Some(*version) != old.version.checked_add(1) {
                return Err(Refusal::Amendment(Invalid(format!(
                    "version {version} does not follow {}",
                    old.version
                ))));
            }
            validate_amendment(old.document, license).map_err(Refusal::Amendment)?;
            Ok(Transition::Amend {
                version: *version,
                license,
            })
        }
        Document::StatusChange(c) => {
            validate::validate_status_text(c).map_err(Refusal::Document)?;
            let old = current.ok_or_else(|| Refusal::Unknown(c.number.clone()))?;
            if old.status == Status::Revoked {
                return Err(Refusal::Revoked(c.number.clone()));
            }
            Ok(Transition::SetStatus(c.status))
        }
        Document::Shipment(s) => {
            shipment(s, issuer).map_err(Refusal::Document)?;
            Ok(Transition::Record)
        }
        Document::KeyRotation(k) => {
            let ok = crate::trust::parse_key(&k.new_key)
                .is_some_and(|k| crate::signature::key_weakness(k.as_bytes()).is_none());
            if !ok {
                return Err(Refusal::Document(Invalid(
                    "rotation to a malformed or weak key".into(),
                )));
            }
            Ok(Transition::Record)
        }
        Document::EncryptionKey(k) => {
            // 32 bytes is checked on decode; a low-order key would make every
            // DH with it non-contributory (docs/PROTOCOL.md 6.3: refused in announcements).
            if k.public().is_low_order() {
                return Err(Refusal::Document(Invalid(
                    "an encryption key of low order".into(),
                )));
            }
            if let Prior::Announced(seq) = prior {
                return Err(Refusal::KeyAnnounced(seq));
            }
            Ok(Transition::Record)
        }
        // A paper key is an Ed25519 key: weak ones are refused as in a
        // rotation (docs/PROTOCOL.md 5.3).
        Document::PaperKey(k) => {
            if crate::signature::key_weakness(&k.public_key).is_some() {
                return Err(Refusal::Document(Invalid("a weak paper key".into())));
            }
            Ok(Transition::Record)
        }
    }
}

/// A shipment record's own rules: recorded by an authority of the
/// checkpoint's country, a real date, bounded quantities.
fn shipment(s: &ShipmentRecord, issuer: Country) -> Result<(), Invalid> {
    validate::validate_shipment_text(s)?;
    if s.checkpoint.country != issuer.as_str() {
        return Err(Invalid(format!(
            "a shipment at {:?} recorded by an authority of {issuer}",
            s.checkpoint.country
        )));
    }
    if s.date.parse::<crate::Date>().is_err() {
        return Err(Invalid(format!("date {:?}", s.date)));
    }
    if s.items.iter().any(|l| l.quantity > validate::MAX_QUANTITY) {
        return Err(Invalid("a shipment line above the largest quantity".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::StatusChange;
    use crate::validate::tests::export_fixture;

    fn us() -> Country {
        "US".parse().expect("US is a country")
    }

    fn status(number: &str, s: Status) -> Document {
        Document::StatusChange(StatusChange {
            prepared_by: None,
            signatory: None,
            number: number.into(),
            status: s,
            reason: "r".into(),
            effective_at_ms: 1,
        })
    }

    #[test]
    fn rules_run_ahead_decide_as_if_run_here() {
        let good = Document::License(License::Export(export_fixture()));
        let mut bad = export_fixture();
        bad.items.clear();
        let bad = Document::License(License::Export(bad));
        for doc in [&good, &bad] {
            let Document::License(l) = doc else {
                unreachable!("licenses above")
            };
            let ahead = validate_license(l, us());
            assert_eq!(
                transition_checked(Prior::Nothing, doc, us(), Some(&ahead))
                    .map(|t| format!("{t:?}")),
                transition(Prior::Nothing, doc, us()).map(|t| format!("{t:?}")),
            );
        }
        assert!(
            transition(Prior::Nothing, &bad, us()).is_err(),
            "the fixture is refused"
        );
        // The result given is the one used: a refusal carried from ahead refuses.
        let refused = Err(Invalid("refused ahead".into()));
        assert!(matches!(
            transition_checked(Prior::Nothing, &good, us(), Some(&refused)),
            Err(Refusal::Document(Invalid(m))) if m == "refused ahead"
        ));
    }

    #[test]
    fn the_lifecycle_table() {
        let issued = License::Export(export_fixture());
        let number = issued.number().to_string();
        let mut lowered = export_fixture();
        lowered.items[0].quantity -= 1;
        let lowered = License::Export(lowered);
        let mut raised = export_fixture();
        raised.items[0].quantity += 1;
        let raised = License::Export(raised);
        let standing = |status, version| Standing {
            kind: LicenseKind::Export,
            status,
            version,
            document: &issued,
        };
        let amend = |version, license: &License| Document::Amendment {
            version,
            license: license.clone(),
        };
        type Case<'a> = (
            &'a str,
            Option<Standing<'a>>,
            Document,
            Result<&'a str, &'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "issue",
                None,
                Document::License(issued.clone()),
                Ok("issue"),
            ),
            (
                "issue twice",
                Some(standing(Status::Active, 1)),
                Document::License(issued.clone()),
                Err("number_used"),
            ),
            (
                "amend",
                Some(standing(Status::Active, 1)),
                amend(2, &lowered),
                Ok("amend"),
            ),
            ("amend unknown", None, amend(2, &lowered), Err("unknown")),
            (
                "amend skips a version",
                Some(standing(Status::Active, 1)),
                amend(3, &lowered),
                Err("amendment"),
            ),
            (
                "amend raises a quantity",
                Some(standing(Status::Active, 1)),
                amend(2, &raised),
                Err("amendment"),
            ),
            (
                "amend revoked",
                Some(standing(Status::Revoked, 1)),
                amend(2, &lowered),
                Err("revoked"),
            ),
            (
                "suspend",
                Some(standing(Status::Active, 1)),
                status(&number, Status::Suspended),
                Ok("status"),
            ),
            (
                "status of unknown",
                None,
                status("NOPE", Status::Revoked),
                Err("unknown"),
            ),
            (
                "reinstate revoked",
                Some(standing(Status::Revoked, 1)),
                status(&number, Status::Active),
                Err("revoked"),
            ),
        ];
        for (name, current, doc, want) in cases {
            let got = transition(current.into(), &doc, us()).map(|t| match t {
                Transition::Issue(_) => "issue",
                Transition::Amend { .. } => "amend",
                Transition::SetStatus(_) => "status",
                Transition::Record => "record",
            });
            assert_eq!(got.map_err(|r| r.label()), want, "{name}");
        }
    }

    #[test]
    fn encryption_keys_are_recorded_unless_low_order() {
        use crate::document::EncryptionKey;
        let good = crate::seal::EncryptionSecret::from_bytes([7; 32]).public();
        let doc = |public_key| {
            Document::EncryptionKey(EncryptionKey {
                public_key,
                valid_from_ms: 1,
            })
        };
        assert_eq!(subject(&doc(good.0)), None);
        assert_eq!(announced_key(&doc(good.0)), Some(good.to_hex()));
        assert_eq!(
            transition(Prior::Nothing, &doc(good.0), us()),
            Ok(Transition::Record)
        );
        // Each key counts once in a log (docs/PROTOCOL.md 6.7).
        assert_eq!(
            transition(Prior::Announced(4), &doc(good.0), us()),
            Err(Refusal::KeyAnnounced(4))
        );
        // The identity point (u = 0) and u = 1 are of low order.
        for low in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert_eq!(
                transition(Prior::Nothing, &doc(low), us()).map_err(|r| r.label()),
                Err("document")
            );
        }
    }

    #[test]
    fn a_document_of_another_country_is_refused() {
        let doc = Document::License(License::Export(export_fixture()));
        let mx: Country = "MX".parse().expect("MX is a country");
        assert_eq!(
            transition(Prior::Nothing, &doc, mx).map_err(|r| r.label()),
            Err("document")
        );
    }
}
