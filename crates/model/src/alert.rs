//! Diversion and integrity alerts: their kinds, and the deterministic id that
//! makes every node holding the same entries name the same alert.

use crate::document::DocumentRef;
use crate::id::AuthorityId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an alert is about (docs/API.md "Alerts"). The one mapping to the
/// strings of the API is [`AlertKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AlertKind {
    #[serde(rename = "document.invalid")]
    DocumentInvalid,
    #[serde(rename = "equivocation")]
    Equivocation,
    #[serde(rename = "shipment.refused")]
    ShipmentRefused,
    #[serde(rename = "shipment.off_route")]
    ShipmentOffRoute,
    #[serde(rename = "shipment.discrepancy")]
    ShipmentDiscrepancy,
    #[serde(rename = "shipment.after_revocation")]
    ShipmentAfterRevocation,
    #[serde(rename = "import.withdrawn")]
    ImportWithdrawn,
    /// A peer offered an entry of this node's own authority that this node
    /// did not write: a copy of its keys signs elsewhere.
    #[serde(rename = "log.cloned")]
    LogCloned,
    #[serde(rename = "key.compromised")]
    KeyCompromised,
    /// Exits due for delivery (`[alerts] delivery_days`) that delivery
    /// verifications do not yet cover.
    #[serde(rename = "delivery.overdue")]
    DeliveryOverdue,
    /// One serial (same make) counted in the same direction under two licenses.
    #[serde(rename = "serial.repeat")]
    SerialRepeat,
    /// This node's authority is a party to a document it could not read (a
    /// stanza addressed to it that does not open), or a document it reads
    /// makes a claim about its readers this node cannot confirm.
    #[serde(rename = "party.excluded")]
    PartyExcluded,
    /// A document this node applied no longer opens when read (a secret
    /// lost): the license shows as unreadable, nothing else stops.
    #[serde(rename = "document.unreadable")]
    DocumentUnreadable,
    /// An export license to a buyer another State's authority denied
    /// within `[alerts] denial_days` (`crate::denial`).
    #[serde(rename = "denial.match")]
    DenialMatch,
    /// Goods of a temporary export not back by its `return_by`
    /// (`crate::temporary`).
    #[serde(rename = "return.overdue")]
    ReturnOverdue,
    /// An end-use request the State asked did not answer within
    /// `[alerts] enduse_days` (`crate::enduse`).
    #[serde(rename = "enduse.unanswered")]
    EnduseUnanswered,
    /// A crossing at a point or time no planned shipment of the license
    /// names (`crate::plan`).
    #[serde(rename = "shipment.unplanned")]
    ShipmentUnplanned,
}

impl AlertKind {
    pub const ALL: [AlertKind; 17] = [
        AlertKind::DocumentInvalid,
        AlertKind::Equivocation,
        AlertKind::ShipmentRefused,
        AlertKind::ShipmentOffRoute,
        AlertKind::ShipmentDiscrepancy,
        AlertKind::ShipmentAfterRevocation,
        AlertKind::ImportWithdrawn,
        AlertKind::LogCloned,
        AlertKind::KeyCompromised,
        AlertKind::DeliveryOverdue,
        AlertKind::SerialRepeat,
        AlertKind::PartyExcluded,
        AlertKind::DocumentUnreadable,
        AlertKind::DenialMatch,
        AlertKind::ReturnOverdue,
        AlertKind::EnduseUnanswered,
        AlertKind::ShipmentUnplanned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::DocumentInvalid => "document.invalid",
            AlertKind::Equivocation => "equivocation",
            AlertKind::ShipmentRefused => "shipment.refused",
            AlertKind::ShipmentOffRoute => "shipment.off_route",
            AlertKind::ShipmentDiscrepancy => "shipment.discrepancy",
            AlertKind::ShipmentAfterRevocation => "shipment.after_revocation",
            AlertKind::ImportWithdrawn => "import.withdrawn",
            AlertKind::LogCloned => "log.cloned",
            AlertKind::KeyCompromised => "key.compromised",
            AlertKind::DeliveryOverdue => "delivery.overdue",
            AlertKind::SerialRepeat => "serial.repeat",
            AlertKind::PartyExcluded => "party.excluded",
            AlertKind::DocumentUnreadable => "document.unreadable",
            AlertKind::DenialMatch => "denial.match",
            AlertKind::ReturnOverdue => "return.overdue",
            AlertKind::EnduseUnanswered => "enduse.unanswered",
            AlertKind::ShipmentUnplanned => "shipment.unplanned",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `KIND:AUTHORITY/NUMBER:RAISING_AUTHORITY:SEQ`, with `-` for the license
/// when the alert concerns none: built from the kind, the license and the
/// entry that raised it, so it is the same on every node.
pub fn alert_id(
    kind: AlertKind,
    license: Option<&DocumentRef>,
    raised_by: &AuthorityId,
    seq: u64,
) -> String {
    let license = match license {
        Some(l) => format!("{}/{}", l.authority, l.number),
        None => "-".to_string(),
    };
    format!("{kind}:{license}:{raised_by}:{seq}")
}

/// What [`alert_id`] built an id from, read back: the kind and the
/// license (authority, number) if any. From the right: the seq and the
/// raising authority hold no `:`, then the kind holds none and an authority
/// id no `/`, so a number holding either still reads back whole.
pub fn alert_subject(id: &str) -> Option<(AlertKind, Option<(&str, &str)>)> {
    let mut parts = id.rsplitn(3, ':');
    let (_seq, _raiser, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let (kind, license) = rest.split_once(':')?;
    let kind = AlertKind::parse(kind)?;
    if license == "-" {
        return Some((kind, None));
    }
    Some((kind, Some(license.split_once('/')?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_id_reads_back_its_kind_and_license() {
        let by: AuthorityId = "MX-SEDENA".parse().unwrap();
        for number in ["EXP-1", "DCAM/PI/2026:0042", "-"] {
            let l = DocumentRef {
                authority: "US-BIS".into(),
                number: number.into(),
            };
            let id = alert_id(AlertKind::SerialRepeat, Some(&l), &by, 42);
            assert_eq!(
                alert_subject(&id),
                Some((AlertKind::SerialRepeat, Some(("US-BIS", number))))
            );
        }
        let id = alert_id(AlertKind::Equivocation, None, &by, 7);
        assert_eq!(alert_subject(&id), Some((AlertKind::Equivocation, None)));
        assert_eq!(alert_subject("nonsense"), None);
    }

    #[test]
    fn ids_and_names() {
        let us: AuthorityId = "US-DDTC".parse().expect("valid id");
        let l = DocumentRef {
            authority: "US-DDTC".into(),
            number: "EXP-1".into(),
        };
        assert_eq!(
            alert_id(AlertKind::ShipmentRefused, Some(&l), &us, 7),
            "shipment.refused:US-DDTC/EXP-1:US-DDTC:7"
        );
        assert_eq!(
            alert_id(AlertKind::Equivocation, None, &us, 3),
            "equivocation:-:US-DDTC:3"
        );
        assert_eq!(
            alert_id(AlertKind::LogCloned, None, &us, 5),
            "log.cloned:-:US-DDTC:5"
        );
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).expect("serializes");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
    }
}
