//! The JSON shapes of the answers, built from the store's records.
//!
//! The verifier hands out the store's typed values ([`tally_verify::state`],
//! which is `tally_store::state`): a [`LicenseState`] with its [`TallyRow`]s,
//! the [`ShipmentRow`]s of a license. The `*View` types below are the
//! contract's answers made from them: times as RFC 3339 text, tallies summed
//! per license line and direction, and only the fields docs/API.md shows
//! (not, say, a license's `signed_by` or a shipment's `license`). Entry
//! pointers are the store's [`EntryPointer`], whose serde form is the
//! contract's `{"seq", "hash"}` with the hash in hex.

use serde::Serialize;
use tally_model::linkage::{Allocation, allocation};
use tally_model::{
    AlertKind, AuthorityId, Card, CardKey, Checkpoint, Date, Direction, DocumentRef, License,
    LicenseKind, ShipmentLine, Status, TrustList,
};
use tally_verify::state::{
    Alert, AnnouncedKey, EntryPointer, LicenseEvent, LicenseState, RotatedKey, ShipmentRow,
    TallyRow,
};

/// The answer of `POST /v1/shipments/verify`, serialized as it stands (no
/// intermediate JSON tree: this is the node's busiest answer).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyAnswer {
    /// `accept` or `reject`.
    pub verdict: &'static str,
    pub checks: Vec<tally_verify::Check>,
    /// What no rule refuses but the officer should know (a crossing no
    /// planned shipment names); absent when nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// The license as this node knows it; `null` when it knows none.
    pub license: Option<LicenseView>,
    /// The shipment record this check wrote (`"record": true`), else `null`.
    pub record: Option<RecordView>,
    /// A dry run's (`?dry_run=true`): absent otherwise.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<DryRunView>,
}

/// What a dry run of a recorded check adds to its answer: `"dry_run": true`,
/// and who could have read the record (empty without `"record": true`).
#[derive(Debug, Clone, Serialize)]
pub struct DryRunView {
    pub dry_run: bool,
    pub recipients: Vec<AuthorityId>,
    pub unreached: Vec<String>,
    pub warnings: Vec<String>,
}

/// Where a recorded check sits: this node's log.
#[derive(Debug, Clone, Serialize)]
pub struct RecordView {
    pub authority: AuthorityId,
    pub seq: u64,
    /// Hex SHA-256 of the entry bytes.
    pub hash: String,
}

/// A license as `GET /v1/licenses/{authority}/{number}` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseView {
    pub authority: AuthorityId,
    pub number: String,
    pub kind: LicenseKind,
    pub status: Status,
    pub version: u32,
    /// As issued, newest amendment applied.
    pub document: License,
    /// RFC 3339, UTC.
    pub issued_at: String,
    /// The entry that first issued it.
    pub entry: EntryPointer,
    /// Per license line: licensed quantity and accepted, recorded quantities
    /// per direction (transit summed over countries).
    pub tally: Vec<TallyLine>,
    /// Issue, amendments and status changes, oldest first.
    pub history: Vec<EventView>,
    /// For an export license: the transit authorizations that cover it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transit_authorizations: Option<Vec<TransitView>>,
    /// For an import certificate: per category and unit, what it licenses
    /// and what the non-revoked export licenses citing it take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocated: Option<Vec<Allocation>>,
    /// For an import certificate: the export licenses citing it that this
    /// node can read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_licenses: Option<Vec<DocumentRef>>,
    /// For an end-use request: the answers to it this node reads, each as
    /// `{"authority", "number", "status", "answer", "date", "comment"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<serde_json::Value>>,
    /// Who can read it, when it is sealed: its sealed recipient list, the
    /// issuer first. Absent when it is in clear (every trusted node reads it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readers: Vec<AuthorityId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TallyLine {
    pub line: u32,
    pub licensed: u64,
    pub exit: u64,
    pub transit: u64,
    pub entry: u64,
    /// Recorded as received by the final recipient: the non-revoked
    /// delivery verifications of the importing country.
    pub delivered: u64,
    /// A migrated line's crossings before Tally: counted before each
    /// direction's countdown. Absent when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub shipped_before: u64,
    /// What came back of a temporary export (`direction: "return"`):
    /// `exit - return` is still abroad. Absent when 0.
    #[serde(rename = "return", skip_serializing_if = "is_zero")]
    pub returned: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One event of a license's history.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub event: String,
    pub version: u32,
    pub reason: Option<String>,
    /// RFC 3339, UTC.
    pub at: String,
    pub entry: EntryPointer,
}

impl From<LicenseEvent> for EventView {
    fn from(e: LicenseEvent) -> EventView {
        EventView {
            event: e.event,
            version: e.version,
            reason: e.reason,
            at: rfc3339(e.at_ms),
            entry: e.entry,
        }
    }
}

/// A transit authorization covering an export license.
#[derive(Debug, Clone, Serialize)]
pub struct TransitView {
    pub authority: AuthorityId,
    pub number: String,
    pub status: Status,
    pub version: u32,
    pub document: License,
}

impl From<LicenseState> for TransitView {
    fn from(t: LicenseState) -> TransitView {
        TransitView {
            authority: t.authority,
            number: t.number,
            status: t.status,
            version: t.version,
            document: t.document,
        }
    }
}

impl LicenseView {
    /// Builds the view from the stored state, its tallies and, for an export,
    /// the transit authorizations that cover it.
    pub fn new(
        state: LicenseState,
        tallies: &[TallyRow],
        transits: Option<Vec<LicenseState>>,
    ) -> LicenseView {
        let tally = state
            .document
            .items()
            .iter()
            .map(|item| {
                let shipped = |d: Direction| -> u64 {
                    tallies
                        .iter()
                        .filter(|t| t.line == item.line && t.direction == d)
                        .map(|t| t.quantity)
                        .fold(0u64, u64::saturating_add)
                };
                TallyLine {
                    line: item.line,
                    licensed: item.quantity,
                    exit: shipped(Direction::Exit),
                    transit: shipped(Direction::Transit),
                    entry: shipped(Direction::Entry),
                    delivered: 0,
                    shipped_before: item.shipped_before,
                    returned: shipped(Direction::Return),
                }
            })
            .collect();
        let readers = state.readers();
        LicenseView {
            issued_at: rfc3339(state.issued_at_ms),
            history: state.history.into_iter().map(EventView::from).collect(),
            transit_authorizations: transits
                .map(|ts| ts.into_iter().map(TransitView::from).collect()),
            allocated: None,
            export_licenses: None,
            answers: None,
            authority: state.authority,
            number: state.number,
            kind: state.kind,
            status: state.status,
            version: state.version,
            document: state.document,
            entry: state.entry,
            readers,
            tally,
        }
    }
}

impl LicenseView {
    /// Sets `delivered` per tally line (an export license's deliveries).
    pub fn with_delivered(
        mut self,
        delivered: &std::collections::BTreeMap<u32, u64>,
    ) -> LicenseView {
        for t in &mut self.tally {
            t.delivered = delivered.get(&t.line).copied().unwrap_or(0);
        }
        self
    }

    /// Adds an import certificate's allocation across `citing`, the export
    /// licenses citing it that this node can read (revoked ones listed, not
    /// counted). Nothing for another kind.
    pub fn with_citing(mut self, citing: Vec<LicenseState>) -> LicenseView {
        if let License::EnduseRequest(_) = &self.document {
            let answers = citing.iter().filter_map(|s| match &s.document {
                License::EnduseAnswer(a) => Some(serde_json::json!({
                    "authority": s.authority, "number": s.number, "status": s.status,
                    "answer": a.answer, "date": a.date, "comment": a.comment})),
                _ => None,
            });
            self.answers = Some(answers.collect());
            return self;
        }
        let License::Import(cert) = &self.document else {
            return self;
        };
        let counted = citing.iter().filter_map(|s| match &s.document {
            License::Export(e) if s.status != Status::Revoked => Some(e),
            _ => None,
        });
        self.allocated = Some(allocation(cert, counted));
        self.export_licenses = Some(citing.iter().map(LicenseState::reference).collect());
        self
    }
}

/// A recorded shipment as `GET /v1/shipments` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ShipmentView {
    pub recorded_by: AuthorityId,
    pub seq: u64,
    /// RFC 3339, UTC.
    pub recorded_at: String,
    pub checkpoint: Checkpoint,
    pub date: String,
    pub verdict: String,
    /// Whether it counts in the tallies: accepted, and recorded in a country
    /// the license's route allows for its direction (judged now, against the
    /// license as it stands).
    pub counted: bool,
    pub items: Vec<ShipmentLine>,
}

impl ShipmentView {
    /// The row as listed, judged against `license` (`None`: unknown here).
    pub fn new(s: ShipmentRow, license: Option<&License>) -> ShipmentView {
        let counted = s.verdict == tally_model::ShipmentVerdict::Accept.as_str()
            && license.is_some_and(|l| {
                tally_model::on_route(l, s.checkpoint.direction, &s.checkpoint.country)
            });
        ShipmentView {
            recorded_by: s.recorded_by,
            seq: s.seq,
            recorded_at: rfc3339(s.recorded_at_ms),
            checkpoint: s.checkpoint,
            date: s.date,
            verdict: s.verdict,
            counted,
            items: s.items,
        }
    }
}

/// An alert as `GET /v1/alerts` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    pub id: String,
    pub kind: AlertKind,
    pub license: Option<DocumentRef>,
    /// RFC 3339, UTC: the raising entry's `issued_at`.
    pub raised_at: String,
    pub detail: String,
    pub open: bool,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> AlertView {
        AlertView {
            raised_at: rfc3339(a.raised_at_ms),
            id: a.id,
            kind: a.kind,
            license: a.license,
            detail: a.detail,
            open: a.open,
        }
    }
}

/// One authority as `GET /v1/authorities` lists it: its card, the card's
/// fingerprint, and each key with what is known of its lifetime.
#[derive(Debug, Clone, Serialize)]
pub struct AuthorityView {
    pub authority: AuthorityId,
    pub country: String,
    pub name: String,
    pub peer_id: String,
    pub addresses: Vec<String>,
    /// As `tally trust add` prints it; null only for this node when it has
    /// no card to show.
    pub fingerprint: Option<String>,
    pub keys: Vec<KeyView>,
    /// Whether this is this node's own authority (not in docs/API.md; the
    /// console and earlier clients use it).
    #[serde(rename = "self")]
    pub own: bool,
}

/// A key's purpose, as docs/API.md spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyPurpose {
    Signing,
    Encryption,
    /// Signs the seals printed on the authority's documents (announced in
    /// its log, never on its card).
    Paper,
}

/// One key of an authority. Fields this node does not know are null; seq
/// bounds come from the card, from key rotations in the authority's log and
/// from compromise declarations (`tally trust revoke-key`).
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    /// The public key, 64 lowercase hex digits.
    pub key_id: String,
    pub purpose: KeyPurpose,
    pub valid_from_ms: Option<i64>,
    pub valid_until_ms: Option<i64>,
    pub retired_after_seq: Option<u64>,
    pub compromised_after_seq: Option<u64>,
    /// The same key under the name this listing used before `key_id` (kept
    /// so earlier clients keep working).
    pub public_key: String,
}

impl AuthorityView {
    /// The view of a card; `own` marks this node's authority. Card text came
    /// from another node's administrator, so it is passed on as data only.
    pub fn from_card(card: &Card, own: bool) -> AuthorityView {
        AuthorityView {
            authority: card.authority.clone(),
            country: card.country.clone(),
            name: card.name.clone(),
            peer_id: card.peer_id.clone(),
            addresses: card.addresses.clone(),
            fingerprint: Some(card.fingerprint()),
            keys: card
                .keys
                .iter()
                .map(KeyView::signing)
                .chain(card.encryption_keys.iter().map(KeyView::encryption))
                .collect(),
            own,
        }
    }
}

impl AuthorityView {
    /// [`AuthorityView::from_card`], with the keys the authority's log
    /// announced (signing keys `rotated` and encryption keys `announced`,
    /// each in log order) and every key's seq bounds: the card's, its
    /// rotations' and the trust list's compromise declarations.
    pub fn from_card_and_log(
        card: &Card,
        own: bool,
        rotated: &[RotatedKey],
        announced: &[AnnouncedKey],
        paper: &[AnnouncedKey],
        trust: &TrustList,
    ) -> AuthorityView {
        let mut view = AuthorityView::from_card(card, own);
        for p in paper {
            view.keys.push(KeyView::of(
                &CardKey::new(p.public_key.clone(), p.valid_from_ms),
                KeyPurpose::Paper,
            ));
        }
        let listed = |keys: &[KeyView], k: &str| {
            keys.iter()
                .any(|v| v.purpose == KeyPurpose::Signing && v.key_id.eq_ignore_ascii_case(k))
        };
        for a in announced {
            let known = view.keys.iter().any(|v| {
                v.purpose == KeyPurpose::Encryption && v.key_id.eq_ignore_ascii_case(&a.public_key)
            });
            if !known {
                view.keys.push(KeyView::encryption(&CardKey::new(
                    a.public_key.clone(),
                    a.valid_from_ms,
                )));
            }
        }
        for r in rotated.iter().filter(|r| !r.compromised) {
            if !r.signed_by.is_empty() && !listed(&view.keys, &r.signed_by) {
                view.keys
                    .push(KeyView::signing(&CardKey::new(r.signed_by.clone(), 0)));
                if let Some(k) = view.keys.last_mut() {
                    k.valid_from_ms = None;
                }
            }
            if !listed(&view.keys, &r.public_key) {
                view.keys.push(KeyView::signing(&CardKey::new(
                    r.public_key.clone(),
                    r.valid_from_ms,
                )));
            }
        }
        for k in &mut view.keys {
            // Only signing keys are retired by a rotation; an older
            // encryption key still opens what was sealed to it, and a paper
            // key lasts until a compromise mark names it.
            let retired = rotated
                .iter()
                .filter(|_| k.purpose == KeyPurpose::Signing)
                .filter(|r| !r.compromised && r.signed_by.eq_ignore_ascii_case(&k.key_id))
                .map(|r| r.entry.seq)
                .min();
            k.retired_after_seq = match (k.retired_after_seq, retired) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let id: Option<[u8; 32]> = hex::decode(&k.key_id).ok().and_then(|b| b.try_into().ok());
            let declared = id.and_then(|id| trust.compromised_after(&card.authority, &id));
            k.compromised_after_seq = match (k.compromised_after_seq, declared) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        view
    }
}

impl KeyView {
    /// A card's signing key, with the seq bounds the card carries.
    fn signing(k: &CardKey) -> KeyView {
        KeyView::of(k, KeyPurpose::Signing)
    }

    /// A card's (or an announced) encryption key.
    fn encryption(k: &CardKey) -> KeyView {
        KeyView::of(k, KeyPurpose::Encryption)
    }

    fn of(k: &CardKey, purpose: KeyPurpose) -> KeyView {
        let key_id = k.public_key.to_ascii_lowercase();
        KeyView {
            public_key: key_id.clone(),
            key_id,
            purpose,
            valid_from_ms: Some(k.valid_from_ms),
            valid_until_ms: k.valid_until_ms,
            retired_after_seq: k.retired_after_seq,
            compromised_after_seq: k.compromised_after_seq,
        }
    }
}

/// Unix milliseconds as RFC 3339 UTC text, e.g. `2026-11-18T11:06:40.000Z`.
pub fn rfc3339(ms: i64) -> String {
    let date = Date::from_unix_ms(ms);
    let in_day = ms.rem_euclid(86_400_000);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_text() {
        for (ms, want) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_795_000_000_000, "2026-11-18T11:06:40.000Z"),
            (1_795_000_000_123, "2026-11-18T11:06:40.123Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(rfc3339(ms), want, "{ms}");
        }
    }
}
