//! Applying an entry to the derived records: license states, transit links,
//! shipments, tallies, serial uses, rotated keys and alerts.
//!
//! [`apply`] is the second step of taking an entry in (docs/ARCHITECTURE.md):
//! the chain append comes first and is what nodes agree on; applying the
//! document is what this node concludes from it. It is idempotent (a per-log
//! "applied through seq" mark), runs the one lifecycle rule of
//! `tally_model::lifecycle`, and keeps a document that breaks it as evidence
//! with a `document.invalid` alert instead of applying it. Every record that
//! joins logs is keyed so that either side may come first (sums, set inserts,
//! a minimum for "first use", rows per recording country filtered by the
//! route when read): the derived state is a function of the entries held, not
//! of the order they arrived in.

use crate::error::{Result, StoreError};
use crate::flow_rows;
use crate::judge;
use crate::keys;
use crate::license::StoredLicense;
use crate::opener::Opening;
use crate::serial_rows;
use crate::state::Reader;
use crate::state::{
    Alert, EntryPointer, LicenseEvent, RotatedKey, SerialIndexRow, SerialUse, ShipmentRow, TallyRow,
};
use crate::tx::Tx;
use crate::view::{View, applied_through};
use std::collections::BTreeMap;
use tally_model::VerifiedEntry;
use tally_model::lifecycle::{self, Prior, Standing, Transition};
use tally_model::validate::Invalid;
use tally_model::{
    AlertKind, AuthorityId, Body, Date, Direction, Document, DocumentRef, Entry, EntryHash,
    License, LicenseKind, ShipmentRecord, SignedEntry, Status, StatusChange, alert_id,
    normalize_serial,
};

/// The stored license `number` of `authority`, this transaction's writes
/// included.
fn stored_license(tx: &Tx, authority: &str, number: &str) -> Result<Option<StoredLicense>> {
    let key = keys::license(authority, number);
    View::get(tx, &key)?
        .map(|v| StoredLicense::from_bytes(&key, &v))
        .transpose()
}

/// Stages `state` as the record under `key`.
fn put_license(tx: &mut Tx, key: Vec<u8>, state: &StoredLicense) -> Result<()> {
    let bytes = state
        .to_bytes()
        .map_err(|why| StoreError::corrupt(&key, format_args!("cannot write it: {why}")))?;
    tx.put_raw(key, bytes);
    Ok(())
}

/// Applies `entry` (id `id`, signed by `key_id`), the next of its log after
/// the applied mark, to the derived records; an entry already applied changes
/// nothing. A sealed body derives nothing.
/// `checked`: what the document's stateless rules came to when they ran
/// ahead (`VerifiedEntry::check_document`), if they did; `opening`: what
/// opening a sealed entry came to, done above the store (`None`: not
/// addressed here).
pub(crate) fn apply(
    tx: &mut Tx,
    entry: &Entry,
    id: EntryHash,
    key_id: &[u8; 32],
    checked: Option<&Result<(), Invalid>>,
    opening: Option<Opening>,
) -> Result<()> {
    let a = entry.authority.as_str();
    let through = applied_through(tx, a)?;
    if entry.seq <= through {
        return Ok(());
    }
    if entry.seq != through + 1 {
        return Err(StoreError::corrupt(
            &keys::applied(a),
            format_args!("applying seq {} after {through}", entry.seq),
        ));
    }
    let pointer = EntryPointer {
        seq: entry.seq,
        hash: id,
    };
    if crate::compromise::skip(tx, entry, pointer, key_id)? {
        tx.put_raw(keys::applied(a), entry.seq.to_be_bytes().to_vec());
        return Ok(());
    }
    match &entry.body {
        Body::Document(doc) => {
            apply_document(tx, entry, pointer, key_id, doc, Carried::InLog { checked })?
        }
        Body::Unknown(unknown) => tx.raise(&Alert {
            id: alert_id(
                AlertKind::DocumentInvalid,
                None,
                &entry.authority,
                entry.seq,
            ),
            kind: AlertKind::DocumentInvalid,
            license: None,
            raised_at_ms: entry.issued_at_ms,
            detail: format!(
                "{a} seq {}: kept as evidence, not applied: {}",
                entry.seq, unknown.reason
            ),
            open: true,
        }),
        Body::Sealed(_) => {
            match opening {
                Some(Opening::Document {
                    document,
                    readers,
                    doubts,
                    unconfirmed,
                    checked,
                }) => {
                    crate::doubts::raise(tx, entry, &document, unconfirmed, doubts)?;
                    apply_document(
                        tx,
                        entry,
                        pointer,
                        key_id,
                        &document,
                        Carried::Sealed {
                            readers: &readers,
                            checked: checked.as_ref(),
                        },
                    )?
                }
                Some(Opening::Invalid(reason)) => {
                    tx.raise(&Alert {
                    id: alert_id(AlertKind::DocumentInvalid, None, &entry.authority, entry.seq),
                    kind: AlertKind::DocumentInvalid,
                    license: None,
                    raised_at_ms: entry.issued_at_ms,
                    detail: format!(
                        "{a} seq {}: a sealed entry addressed to this node kept as evidence, not applied: {reason}",
                        entry.seq
                    ),
                    open: true,
                });
                }
                Some(Opening::Excluded(reason)) => {
                    tx.raise(&Alert {
                        id: alert_id(AlertKind::PartyExcluded, None, &entry.authority, entry.seq),
                        kind: AlertKind::PartyExcluded,
                        license: None,
                        raised_at_ms: entry.issued_at_ms,
                        detail: format!(
                            "{a} seq {}: a sealed entry addressed to this node does not open: {reason}",
                            entry.seq
                        ),
                        open: true,
                    });
                }
                // Not for this node: it keeps the chain, not the content.
                Some(Opening::NotAddressed) | None => {}
            }
        }
    }
    tx.put_raw(keys::applied(a), entry.seq.to_be_bytes().to_vec());
    Ok(())
}

/// Where a document's bytes live for later reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried<'a> {
    /// In clear in its log entry: derived records point at it.
    InLog {
        /// Its stateless rules, when they ran ahead.
        checked: Option<&'a Result<(), Invalid>>,
    },
    /// Sealed in its log entry to these readers: a recipient records who can
    /// read it (the issuer first, whose key opens it again when read).
    Sealed {
        readers: &'a [Reader],
        /// Its stateless rules, when they ran where it was opened.
        checked: Option<&'a Result<(), Invalid>>,
    },
}

fn apply_document(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    key_id: &[u8; 32],
    doc: &Document,
    carried: Carried<'_>,
) -> Result<()> {
    let authority = entry.authority.as_str();
    let subject = lifecycle::subject(doc);
    let stored = match subject {
        Some(n) => stored_license(tx, authority, n)?,
        None => None,
    };
    let current = match &stored {
        Some(s) => match s.document(tx) {
            Ok(d) => Some((s, d)),
            Err(StoreError::Unreadable { reason, .. }) => {
                return keep_unjudged(tx, entry, doc, &s.number, &reason);
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let prior = match &current {
        Some((s, document)) => Prior::Standing(Standing {
            kind: s.kind,
            status: s.status,
            version: s.version,
            document,
        }),
        None => tx.announcement_prior(&entry.authority, doc)?,
    };
    let checked = match carried {
        Carried::InLog { checked } | Carried::Sealed { checked, .. } => checked,
    };
    let transition =
        match lifecycle::transition_checked(prior, doc, entry.authority.country(), checked) {
            Ok(t) => t,
            Err(refusal) => return keep_refused(tx, entry, pointer, key_id, doc, &refusal),
        };
    let old_document = current.map(|(_, d)| d);
    let rejudge = Rejudge::of(entry, doc, stored.as_ref(), old_document.as_ref());
    apply_transition(
        tx,
        entry,
        pointer,
        key_id,
        doc,
        transition,
        stored,
        old_document,
        match carried {
            Carried::Sealed { readers, .. } => Some(readers),
            Carried::InLog { .. } => None,
        },
    )?;
    rejudge.run(tx, doc)
}

/// What an entry changes cannot be judged against a license document that
/// does not open here: keep it, say so (`document.unreadable`), and let
/// every other entry go on applying.
fn keep_unjudged(
    tx: &mut Tx,
    entry: &Entry,
    doc: &Document,
    number: &str,
    reason: &str,
) -> Result<()> {
    let authority = entry.authority.as_str();
    let license = DocumentRef {
        authority: authority.to_string(),
        number: number.to_string(),
    };
    tx.raise(&Alert {
        id: alert_id(
            AlertKind::DocumentUnreadable,
            Some(&license),
            &entry.authority,
            entry.seq,
        ),
        kind: AlertKind::DocumentUnreadable,
        license: Some(license),
        raised_at_ms: entry.issued_at_ms,
        detail: format!(
            "{authority} seq {}: {} not applied: the license {reason}",
            entry.seq,
            doc.kind_name()
        ),
        open: true,
    });
    Ok(())
}

/// A document the lifecycle refuses is kept as evidence with a
/// `document.invalid` alert, and applies nothing, with one exception: a
/// rotation to a weak or malformed key retires the key that signed it (the
/// signer meant to) and trusts nothing new, so the log waits for a new card
/// (docs/PROTOCOL.md 5.2).
fn keep_refused(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    key_id: &[u8; 32],
    doc: &Document,
    refusal: &lifecycle::Refusal,
) -> Result<()> {
    let authority = entry.authority.as_str();
    let license = lifecycle::subject(doc).map(|number| DocumentRef {
        authority: authority.to_string(),
        number: number.to_string(),
    });
    tx.raise(&Alert {
        id: alert_id(
            AlertKind::DocumentInvalid,
            license.as_ref(),
            &entry.authority,
            entry.seq,
        ),
        kind: AlertKind::DocumentInvalid,
        license,
        raised_at_ms: entry.issued_at_ms,
        detail: format!(
            "{authority} seq {}: {} kept as evidence, not applied: {refusal}",
            entry.seq,
            doc.kind_name()
        ),
        open: true,
    });
    if let Document::KeyRotation(rotation) = doc {
        let key = RotatedKey {
            public_key: rotation.new_key.clone(),
            valid_from_ms: rotation.valid_from_ms,
            entry: pointer,
            signed_by: hex::encode(key_id),
            compromised: true,
        };
        tx.put_json(keys::rotated(authority, entry.seq), &key);
    }
    Ok(())
}

/// Whose joined alerts an applied entry can change: the license it
/// concerns (and, for an import certificate, the exports citing it), and
/// the export a delivery verification (issued, or its status changed)
/// moves the delivery balance of.
struct Rejudge {
    license: Option<(DocumentRef, bool)>,
    verified: Option<DocumentRef>,
    /// An export license or a denial whose `denial.match` pairs change:
    /// issued or amended, or a denial whose status changed.
    denial_pairs: Option<DocumentRef>,
}

impl Rejudge {
    fn of(
        entry: &Entry,
        doc: &Document,
        stored: Option<&StoredLicense>,
        old_document: Option<&License>,
    ) -> Rejudge {
        let license = match doc {
            Document::Shipment(record) => Some((record.license.clone(), false)),
            _ => lifecycle::subject(doc).map(|number| {
                let import = matches!(doc, Document::License(License::Import(_)))
                    || stored.is_some_and(|s| s.kind == LicenseKind::Import);
                let license = DocumentRef {
                    authority: entry.authority.to_string(),
                    number: number.to_string(),
                };
                (license, import)
            }),
        };
        let verified = match (doc, old_document) {
            (Document::License(License::Delivery(d)), _) => Some(d.export_license.clone()),
            (Document::StatusChange(_), Some(License::Delivery(d))) => {
                Some(d.export_license.clone())
            }
            _ => None,
        };
        let pairs = match doc {
            Document::License(License::Export(_) | License::Denial(_))
            | Document::Amendment {
                license: License::Export(_) | License::Denial(_),
                ..
            } => true,
            Document::StatusChange(_) => stored.is_some_and(|s| s.kind == LicenseKind::Denial),
            _ => false,
        };
        let denial_pairs = match (&license, pairs) {
            (Some((r, _)), true) => Some(r.clone()),
            _ => None,
        };
        Rejudge {
            license,
            verified,
            denial_pairs,
        }
    }

    fn run(self, tx: &mut Tx, doc: &Document) -> Result<()> {
        if let Some((license, import)) = self.license {
            // A license document is applied only where none was held (the
            // lifecycle refuses a second issue).
            let held = match doc {
                Document::License(_) => judge::Held::New,
                _ => judge::Held::Before,
            };
            judge::license(tx, &license, held)?;
            if crate::enduse::concerns(doc) {
                crate::enduse::after(tx, &license)?;
            }
            if import {
                judge::citing(tx, &license)?;
            }
            // `serial.repeat` changes only with serials crossing or with a
            // license's route and makes: then this license's, and those of
            // the licenses its serials also crossed under (for a record,
            // only its own serials' partners).
            let serials_changed = match doc {
                Document::Shipment(r) => {
                    r.accepted() && r.items.iter().any(|l| !l.serials.is_empty())
                }
                Document::License(_) | Document::Amendment { .. } => true,
                _ => false,
            };
            let partners = match doc {
                _ if !serials_changed => None,
                Document::Shipment(record) => Some(judge::record_partners(tx, record)?),
                _ => judge::serial_partners(tx, &license)?,
            };
            if let Some(mut serials) = partners {
                serials.insert(license.clone());
                judge::serials_of(tx, &serials)?;
            }
        }
        if let Some(export) = self.verified {
            judge::license(tx, &export, judge::Held::Before)?;
        }
        if let Some(pair) = self.denial_pairs {
            crate::denials::rejudge(tx, &pair, matches!(doc, Document::License(_)))?;
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_transition(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    key_id: &[u8; 32],
    doc: &Document,
    transition: Transition,
    stored: Option<StoredLicense>,
    old_document: Option<License>,
    sealed: Option<&[Reader]>,
) -> Result<()> {
    match (transition, stored) {
        (Transition::Issue(l), _) => issue(tx, entry, pointer, key_id, l, sealed),
        (Transition::Amend { version, license }, Some(state)) => amend(
            tx,
            entry,
            pointer,
            state,
            old_document,
            version,
            license,
            sealed,
        ),
        (Transition::SetStatus(_), Some(state)) => match doc {
            Document::StatusChange(change) => status(tx, entry, pointer, state, change),
            _ => Ok(()),
        },
        (Transition::Record, _) => match doc {
            Document::Shipment(record) => shipment(tx, entry, record),
            other => crate::derive_keys::announced(tx, entry, pointer, key_id, other),
        },
        // The lifecycle only amends or changes the status of a standing document.
        (Transition::Amend { .. } | Transition::SetStatus(_), None) => Ok(()),
    }
}

fn issue(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    key_id: &[u8; 32],
    l: &License,
    sealed: Option<&[Reader]>,
) -> Result<()> {
    let authority = entry.authority.as_str();
    let state = StoredLicense {
        sealed_document: None,
        sealed_to: sealed.map(<[Reader]>::to_vec).unwrap_or_default(),
        authority: entry.authority.clone(),
        number: l.number().to_string(),
        kind: l.kind(),
        status: Status::Active,
        version: 1,
        document_seq: entry.seq,
        issued_at_ms: entry.issued_at_ms,
        entry: pointer,
        signed_by: hex::encode(key_id),
        history: vec![LicenseEvent {
            event: "issued".into(),
            version: 1,
            reason: None,
            at_ms: entry.issued_at_ms,
            entry: pointer,
        }],
    };
    if let License::Transit(t) = l {
        tx.put_raw(
            keys::transit(&t.export_license, authority, &t.number),
            Vec::new(),
        );
    }
    if let License::Delivery(d) = l {
        tx.put_raw(
            keys::delivery(&d.export_license, authority, &d.number),
            Vec::new(),
        );
    }
    put_license(tx, keys::license(authority, l.number()), &state)?;
    flow_rows::put_document(tx, authority, l, entry.issued_at_ms, Status::Active);
    index_serials(tx, authority, l);
    crate::denials::index(tx, authority, l);
    tx.remember_document(keys::log(authority, entry.seq), l);
    Ok(())
}

/// The serials `l` lists, indexed for a trace (`Store::trace`): one row
/// per (serial bucket, document). Only at issue: an amendment never changes
/// serials (`validate_amendment` lets a line's quantity fall, nothing else).
fn index_serials(tx: &mut Tx, authority: &str, l: &License) {
    let doc = DocumentRef {
        authority: authority.to_string(),
        number: l.number().to_string(),
    };
    let rows: std::collections::BTreeSet<Vec<u8>> = l
        .items()
        .iter()
        .flat_map(|i| i.serials.iter())
        .map(|s| normalize_serial(s))
        .map(|s| keys::licensed_serial(crate::trace::serial_bucket(&s), &doc))
        .collect();
    for key in rows {
        tx.put_raw(key, Vec::new());
    }
}

// The entry, its place and the document travel together; a struct would
// only rename them.
#[allow(clippy::too_many_arguments)]
fn amend(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    mut state: StoredLicense,
    old: Option<License>,
    version: u32,
    l: &License,
    sealed: Option<&[Reader]>,
) -> Result<()> {
    let authority = entry.authority.as_str();
    if let (License::Transit(new), Some(License::Transit(old))) = (l, &old)
        && old.export_license != new.export_license
    {
        tx.delete(keys::transit(&old.export_license, authority, &old.number));
        tx.put_raw(
            keys::transit(&new.export_license, authority, &new.number),
            Vec::new(),
        );
    }
    state.kind = l.kind();
    state.document_seq = entry.seq;
    state.sealed_document = None;
    state.sealed_to = sealed.map(<[Reader]>::to_vec).unwrap_or_default();
    state.version = version;
    state.history.push(LicenseEvent {
        event: "amended".into(),
        version,
        reason: None,
        at_ms: entry.issued_at_ms,
        entry: pointer,
    });
    put_license(tx, keys::license(authority, l.number()), &state)?;
    flow_rows::put_document(tx, authority, l, state.issued_at_ms, state.status);
    crate::denials::index(tx, authority, l);
    tx.remember_document(keys::log(authority, entry.seq), l);
    Ok(())
}

fn status(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    mut state: StoredLicense,
    change: &StatusChange,
) -> Result<()> {
    state.status = change.status;
    state.history.push(LicenseEvent {
        event: change.status.as_str().into(),
        version: state.version,
        reason: Some(change.reason.clone()),
        at_ms: change.effective_at_ms,
        entry: pointer,
    });
    put_license(
        tx,
        keys::license(entry.authority.as_str(), &change.number),
        &state,
    )?;
    flow_rows::set_status(tx, entry.authority.as_str(), &change.number, change.status)
}

fn shipment(tx: &mut Tx, entry: &Entry, record: &ShipmentRecord) -> Result<()> {
    let recorder = entry.authority.as_str();
    let row = ShipmentRow {
        recorded_by: entry.authority.clone(),
        seq: entry.seq,
        recorded_at_ms: entry.issued_at_ms,
        license: record.license.clone(),
        checkpoint: record.checkpoint.clone(),
        date: record.date.clone(),
        verdict: record.verdict.clone(),
        items: record.items.clone(),
    };
    tx.put_json(
        keys::shipment(&record.license, entry.issued_at_ms, recorder, entry.seq),
        &row,
    );
    flow_rows::put_crossing(tx, recorder, entry.seq, record);
    if !record.accepted() {
        refused_crossing(tx, entry, record);
        return Ok(());
    }
    count_lines(tx, record)?;
    let direction = record.checkpoint.direction;
    if direction == Direction::Exit
        && let Ok(date) = record.date.parse::<Date>()
    {
        tx.put_raw(
            keys::exit_date(date.days(), &record.license, recorder, entry.seq),
            Vec::new(),
        );
    }
    record_serials(tx, entry, record)
}

/// A refused crossing counts nothing and raises `shipment.refused`.
fn refused_crossing(tx: &mut Tx, entry: &Entry, record: &ShipmentRecord) {
    let recorder = entry.authority.as_str();
    let direction = record.checkpoint.direction;
    let country = record.checkpoint.country.as_str();
    let license = Some(record.license.clone());
    tx.raise(&Alert {
        id: alert_id(
            AlertKind::ShipmentRefused,
            license.as_ref(),
            &entry.authority,
            entry.seq,
        ),
        kind: AlertKind::ShipmentRefused,
        license,
        raised_at_ms: entry.issued_at_ms,
        detail: format!(
            "{recorder} refused a crossing ({}) at {:?}, {country}, on {:?}",
            direction.as_str(),
            record.checkpoint.port,
            record.date
        ),
        open: true,
    });
}

/// Adds an accepted crossing to the tally of each line it declares, per
/// direction and recording country.
fn count_lines(tx: &mut Tx, record: &ShipmentRecord) -> Result<()> {
    let direction = record.checkpoint.direction;
    let country = record.checkpoint.country.as_str();
    // One shipment counts once per line even if it lists a line twice.
    let mut per_line: BTreeMap<u32, u64> = BTreeMap::new();
    for line in &record.items {
        let q = per_line.entry(line.line).or_default();
        *q = q.saturating_add(line.quantity);
    }
    for (line, quantity) in per_line {
        let key = keys::tally(&record.license, line, direction, country);
        let mut row = tx.get_json::<TallyRow>(&key)?.unwrap_or(TallyRow {
            line,
            direction,
            country: country.to_string(),
            quantity: 0,
            shipments: 0,
        });
        row.quantity = row.quantity.saturating_add(quantity);
        row.shipments = row.shipments.saturating_add(1);
        tx.put_json(key, &row);
    }

    Ok(())
}

/// Per serial, the earliest use under this license in this direction and
/// recording country (`R`, what `items.serials` checks), and the same per
/// license, country and line in the index across licenses (`Q`, what
/// `serial.repeat` joins). Minima, so arrival order does not matter, and a
/// serial crossing again under one license adds no row.
fn record_serials(tx: &mut Tx, entry: &Entry, record: &ShipmentRecord) -> Result<()> {
    let direction = record.checkpoint.direction;
    let country = record.checkpoint.country.as_str();
    for line in &record.items {
        for declared in &line.serials {
            let serial = normalize_serial(declared);
            let key = keys::serial(&record.license, direction, country, &serial);
            let this = SerialUse {
                recorded_by: entry.authority.clone(),
                seq: entry.seq,
                date: record.date.clone(),
                recorded_at_ms: entry.issued_at_ms,
                line: line.line,
            };
            let earlier_held = tx
                .get(&key)?
                .map(|v| serial_rows::decode_use(&key, &v))
                .transpose()?
                .is_some_and(|held| held.order() <= this.order());
            if !earlier_held {
                tx.put_raw(key, serial_rows::encode_use(&this));
            }
            let key = keys::serial_index(direction, &serial, &record.license, country, line.line);
            let row = SerialIndexRow {
                license: record.license.clone(),
                recorded_by: entry.authority.clone(),
                seq: entry.seq,
                recorded_at_ms: entry.issued_at_ms,
                country: country.to_string(),
                line: line.line,
                serial: declared.clone(),
            };
            let earlier_held = tx
                .get(&key)?
                .map(|v| serial_rows::decode_index(&key, &v))
                .transpose()?
                .is_some_and(|held| held.order() <= row.order());
            if !earlier_held {
                tx.put_raw(key, serial_rows::encode_index(&row, &serial));
            }
        }
    }
    Ok(())
}

impl Tx<'_> {
    /// Appends `v` to its log (it must be next after the head) and applies
    /// it to the derived state, with `opening` for a sealed entry (what the
    /// caller opened: see [`Tx::apply`]). The entry is acknowledged once the
    /// transaction commits.
    pub fn append(
        &mut self,
        v: &VerifiedEntry,
        opening: Option<crate::Opening>,
    ) -> Result<EntryPointer> {
        let pointer = self.append_chain(v)?;
        apply(
            self,
            v.entry(),
            v.id(),
            v.signed().key_id(),
            v.document_check(),
            opening,
        )?;
        Ok(pointer)
    }

    /// The next entry of `authority`'s log past its applied mark (appended,
    /// not applied yet), with its decoded entry: what the caller opens, when
    /// it is sealed, and hands to [`Tx::apply`].
    pub fn next_behind(
        &self,
        authority: &AuthorityId,
    ) -> Result<Option<(SignedEntry, tally_model::Entry)>> {
        let seq = crate::view::applied_through(self, authority.as_str())? + 1;
        if self.head(authority)?.is_none_or(|(head, _)| seq > head) {
            return Ok(None);
        }
        let key = keys::log(authority.as_str(), seq);
        let signed = self
            .entry_at(authority, seq)?
            .ok_or_else(|| StoreError::corrupt(&key, "missing below the head"))?;
        let entry = signed.open().map_err(|e| StoreError::corrupt(&key, e))?;
        Ok(Some((signed, entry)))
    }

    /// Applies `entry` (decoded from `signed`), the next of its log past
    /// the applied mark, to the derived records; an entry already applied
    /// changes nothing. `opening`: what opening it came to when it is
    /// sealed, done by the caller (the store holds no keys); `None` for a
    /// sealed entry is read as not addressed here. No opening and no
    /// document content fails the transaction: each outcome has its effect
    /// (`document.invalid`, `party.excluded`, or nothing).
    pub fn apply(
        &mut self,
        signed: &SignedEntry,
        entry: &tally_model::Entry,
        opening: Option<crate::Opening>,
    ) -> Result<()> {
        apply(self, entry, signed.id(), signed.key_id(), None, opening)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode;
    use crate::engine::{Engine, EngineKind};
    use tally_model::{
        AuthorityKey, Body, Checkpoint, KeyRotation, ShipmentLine, TransitAuthorization,
        VerifiedEntry,
    };

    /// A real engine in a temporary directory, written to through [`Tx`]
    /// without the chain (derive only cares about the applied mark).
    struct Map {
        _dir: tempfile::TempDir,
        engine: Box<dyn Engine>,
    }

    impl Map {
        fn new() -> Map {
            let dir = tempfile::tempdir().expect("temp dir");
            let engine = crate::engine::open(dir.path(), EngineKind::Redb).expect("engine");
            Map { _dir: dir, engine }
        }
        fn try_apply(&self, v: &VerifiedEntry) -> Result<()> {
            let mut tx = Tx::new(self.engine.as_ref(), None);
            // The log record too: license states point into it.
            let e = v.entry();
            tx.put_raw(keys::log(e.authority.as_str(), e.seq), v.signed().encode());
            apply(
                &mut tx,
                e,
                v.id(),
                v.signed().key_id(),
                v.document_check(),
                None,
            )?;
            self.engine.commit(tx.into_batch())
        }
        fn apply(&self, v: &VerifiedEntry) {
            self.try_apply(v).expect("applies");
        }
        fn rows(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
            self.engine.scan(&[], &[0xFF], usize::MAX).expect("scan")
        }
        fn prefixes(&self) -> Vec<u8> {
            let mut p: Vec<u8> = self.rows().iter().map(|(k, _)| k[0]).collect();
            p.dedup();
            p
        }
    }

    fn signed(authority: &str, seq: u64, at: i64, doc: Document) -> VerifiedEntry {
        AuthorityKey::from_bytes(&[7; 32]).sign(&Entry {
            authority: authority.parse().expect("valid id"),
            seq,
            prev: None,
            issued_at_ms: at,
            recipients: vec![],
            body: Body::Document(doc),
        })
    }

    fn shipment_doc(serial: &str, accept: bool) -> Document {
        Document::Shipment(ShipmentRecord {
            license: DocumentRef {
                authority: "US-DDTC".into(),
                number: "EXP-1".into(),
            },
            checkpoint: Checkpoint {
                country: "MX".into(),
                port: "Laredo".into(),
                direction: Direction::Entry,
            },
            date: "2026-11-02".into(),
            exporter: None,
            importer: None,
            items: vec![
                ShipmentLine {
                    line: 1,
                    quantity: 2,
                    serials: vec![serial.into()],
                },
                // The same line and serial twice: counts once.
                ShipmentLine {
                    line: 1,
                    quantity: 3,
                    serials: vec![serial.into()],
                },
            ],
            verdict: tally_model::ShipmentVerdict::from_accepted(accept)
                .as_str()
                .into(),
            failed_rules: vec![],
        })
    }

    #[test]
    fn what_each_document_derives() {
        let cases: Vec<(&str, Document, &[u8])> = vec![
            ("accepted shipment", shipment_doc("A1", true), b"FGLPQRT"),
            ("rejected shipment", shipment_doc("A1", false), b"AFGLP"),
            (
                "key rotation",
                Document::KeyRotation(KeyRotation {
                    new_key: hex::encode(AuthorityKey::from_bytes(&[3u8; 32]).public().as_bytes()),
                    valid_from_ms: 5,
                }),
                b"GLY",
            ),
            (
                "status of an unknown license",
                Document::StatusChange(StatusChange {
                    prepared_by: None,
                    signatory: None,
                    number: "NOPE".into(),
                    status: Status::Revoked,
                    reason: "x".into(),
                    effective_at_ms: 1,
                }),
                b"AGL",
            ),
            (
                "transit",
                Document::License(License::Transit(TransitAuthorization {
                    migrated: false,
                    original_issue_date: None,
                    prepared_by: None,
                    signatory: None,
                    number: "TR-1".into(),
                    transit_country: "MX".into(),
                    export_license: DocumentRef {
                        authority: "US-DDTC".into(),
                        number: "EXP-1".into(),
                    },
                    entry_point: None,
                    exit_point: None,
                    valid_from: "2026-11-01".into(),
                    valid_until: "2027-01-01".into(),
                    decision: tally_model::Decision::Authorized,
                })),
                b"GLSV",
            ),
        ];
        for (name, doc, want) in cases {
            let m = Map::new();
            m.apply(&signed("MX-SEDENA", 1, 10, doc));
            assert_eq!(m.prefixes(), want.to_vec(), "{name}");
        }
    }

    #[test]
    fn one_record_counts_a_line_once_and_a_serial_once() {
        let m = Map::new();
        m.apply(&signed("MX-SEDENA", 1, 10, shipment_doc("A1", true)));
        let rows: Vec<TallyRow> = m
            .rows()
            .iter()
            .filter(|(k, _)| k[0] == keys::TALLY)
            .map(|(k, v)| decode(k, v).expect("tally"))
            .collect();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].quantity, rows[0].shipments), (5, 1));
    }

    #[test]
    fn earliest_serial_use_wins_in_either_order() {
        let early = signed("MX-ADUANA", 1, 10, shipment_doc("A1", true));
        let late = signed("MX-SEDENA", 1, 20, shipment_doc("A1", true));
        let a = Map::new();
        a.apply(&early);
        a.apply(&late);
        let b = Map::new();
        b.apply(&late);
        b.apply(&early);
        assert_eq!(a.rows(), b.rows());
        let key = keys::serial(
            &DocumentRef {
                authority: "US-DDTC".into(),
                number: "EXP-1".into(),
            },
            Direction::Entry,
            "MX",
            "A1",
        );
        let value = a.engine.get(&key).expect("get").expect("held");
        let used = serial_rows::decode_use(&key, &value).expect("serial use");
        assert_eq!((used.recorded_by.as_str(), used.seq), ("MX-ADUANA", 1));
    }

    #[test]
    fn corrupt_state_is_an_error() {
        let m = Map::new();
        m.engine
            .commit(vec![crate::engine::Op::Put(
                keys::license("MX-SEDENA", "NOPE"),
                b"{not json".to_vec(),
            )])
            .expect("commit");
        let v = signed(
            "MX-SEDENA",
            1,
            1,
            Document::StatusChange(StatusChange {
                prepared_by: None,
                signatory: None,
                number: "NOPE".into(),
                status: Status::Revoked,
                reason: "x".into(),
                effective_at_ms: 1,
            }),
        );
        assert!(matches!(m.try_apply(&v), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn applying_is_idempotent_and_in_order() {
        let m = Map::new();
        let first = signed("MX-SEDENA", 1, 10, shipment_doc("A1", true));
        m.apply(&first);
        let once = m.rows();
        m.apply(&first);
        assert_eq!(m.rows(), once, "applying seq 1 again changes nothing");
        let skip = signed("MX-SEDENA", 3, 10, shipment_doc("A2", true));
        assert!(matches!(
            m.try_apply(&skip),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
