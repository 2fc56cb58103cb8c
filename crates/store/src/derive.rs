//! Derived records: what one entry changes in the license states, transit
//! links, shipments, tallies, serial uses and rotated keys.
//!
//! [`derive`] only reads (through a [`View`]) and returns the writes, so an
//! append and a reindex run the same code and cannot drift apart. Every rule
//! here is commutative across authorities (sums, set inserts, a minimum for
//! "first use"), because logs of different authorities arrive in any order
//! and every node must derive the same state from the same logs.

use crate::engine::{Batch, Op};
use crate::error::{Result, StoreError};
use crate::keys;
use crate::state::{
    EntryPointer, LicenseEvent, LicenseState, RotatedKey, SerialUse, ShipmentRow, TallyRow,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tally_model::{
    AuthorityId, Body, Direction, Document, Entry, License, LicenseKind, ShipmentRecord,
    SignedEntry, Status, StatusChange, VerifiedEntry,
};

/// Read access to the current state (the engine plus writes not yet committed).
pub(crate) trait View {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
}

/// A license as stored: its state without the document, which stays in the
/// log entry that carries it and is read back on demand. Each document then
/// costs its bytes on disk once, and an append writes a small record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredLicense {
    authority: AuthorityId,
    number: String,
    kind: LicenseKind,
    status: Status,
    version: u32,
    /// Seq of the issuer's entry holding the current version: the issue or
    /// the newest amendment.
    document_seq: u64,
    issued_at_ms: i64,
    entry: EntryPointer,
    signed_by: String,
    history: Vec<LicenseEvent>,
}

impl StoredLicense {
    /// The full state, with the document read from the log.
    pub(crate) fn load(self, view: &dyn View) -> Result<LicenseState> {
        let document = document_at(view, self.authority.as_str(), self.document_seq)?;
        Ok(LicenseState {
            authority: self.authority,
            number: self.number,
            kind: self.kind,
            status: self.status,
            version: self.version,
            document,
            issued_at_ms: self.issued_at_ms,
            entry: self.entry,
            signed_by: self.signed_by,
            history: self.history,
        })
    }
}

/// The license document carried by `authority`'s entry `seq` (an issue or
/// an amendment).
fn document_at(view: &dyn View, authority: &str, seq: u64) -> Result<License> {
    let key = keys::log(authority, seq);
    let bytes = view
        .get(&key)?
        .ok_or_else(|| StoreError::corrupt(&key, "license state points at a missing entry"))?;
    let entry = SignedEntry::decode(&bytes)
        .and_then(|s| s.open())
        .map_err(|e| StoreError::corrupt(&key, e))?;
    match entry.body {
        Body::Document(Document::License(l))
        | Body::Document(Document::Amendment { license: l, .. }) => Ok(l),
        _ => Err(StoreError::corrupt(
            &key,
            "license state points at another kind of entry",
        )),
    }
}

/// Reads a stored license with its document.
pub(crate) fn load_license(view: &dyn View, key: &[u8], bytes: &[u8]) -> Result<LicenseState> {
    decode::<StoredLicense>(key, bytes)?.load(view)
}

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(key, e))
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value)
        .expect("store values are plain structs with string map keys and always serialize")
}

/// The writes of one entry, layered over the view so that an entry that
/// touches one key twice (the same serial on two lines) sees its own write.
struct Writes<'a> {
    view: &'a dyn View,
    pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl View for Writes<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.pending.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.view.get(key),
        }
    }
}

impl Writes<'_> {
    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        let bytes = match self.pending.get(key) {
            Some(v) => v.clone(),
            None => self.view.get(key)?,
        };
        bytes.map(|b| decode(key, &b)).transpose()
    }
    fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.pending.insert(key, Some(encode(value)));
    }
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.pending.insert(key, Some(value));
    }
    fn delete(&mut self, key: Vec<u8>) {
        self.pending.insert(key, None);
    }
    fn into_batch(self) -> Batch {
        self.pending
            .into_iter()
            .map(|(k, v)| match v {
                Some(v) => Op::Put(k, v),
                None => Op::Delete(k),
            })
            .collect()
    }
}

/// The derived writes of `v`, given the state in `view`. A sealed body
/// derives nothing; a document that refers to a license this log never
/// issued is kept in the log and derives nothing (the verifier refuses such
/// entries; this is the store's quiet safety net, not a rule).
pub(crate) fn derive(view: &dyn View, v: &VerifiedEntry) -> Result<Batch> {
    let mut w = Writes {
        view,
        pending: BTreeMap::new(),
    };
    let entry = v.entry();
    let pointer = EntryPointer {
        seq: entry.seq,
        hash: v.id(),
    };
    match entry.document() {
        None => {}
        Some(Document::License(license)) => {
            issue(&mut w, v, pointer, license)?;
        }
        Some(Document::Amendment { version, license }) => {
            amend(&mut w, entry, pointer, *version, license)?;
        }
        Some(Document::StatusChange(change)) => {
            status(&mut w, entry, pointer, change)?;
        }
        Some(Document::Shipment(record)) => {
            shipment(&mut w, entry, record)?;
        }
        Some(Document::KeyRotation(rotation)) => {
            let key = RotatedKey {
                public_key: rotation.new_key.clone(),
                valid_from_ms: rotation.valid_from_ms,
                entry: pointer,
            };
            w.put(keys::rotated(entry.authority.as_str(), entry.seq), &key);
        }
    }
    Ok(w.into_batch())
}

fn issue(w: &mut Writes, v: &VerifiedEntry, pointer: EntryPointer, l: &License) -> Result<()> {
    let entry = v.entry();
    let authority = entry.authority.as_str();
    let key = keys::license(authority, l.number());
    // A number is issued once per log; a second issue is the verifier's to
    // refuse, and keeping the first makes the result independent of it.
    if w.get::<StoredLicense>(&key)?.is_some() {
        return Ok(());
    }
    let state = StoredLicense {
        authority: entry.authority.clone(),
        number: l.number().to_string(),
        kind: l.kind(),
        status: Status::Active,
        version: 1,
        document_seq: entry.seq,
        issued_at_ms: entry.issued_at_ms,
        entry: pointer,
        signed_by: hex::encode(v.signed().key_id()),
        history: vec![LicenseEvent {
            event: "issued".into(),
            version: 1,
            reason: None,
            at_ms: entry.issued_at_ms,
            entry: pointer,
        }],
    };
    if let License::Transit(t) = l {
        w.put_raw(
            keys::transit(&t.export_license, authority, &t.number),
            Vec::new(),
        );
    }
    w.put(key, &state);
    Ok(())
}

fn amend(
    w: &mut Writes,
    entry: &Entry,
    pointer: EntryPointer,
    version: u32,
    l: &License,
) -> Result<()> {
    let authority = entry.authority.as_str();
    let key = keys::license(authority, l.number());
    let Some(mut state) = w.get::<StoredLicense>(&key)? else {
        return Ok(());
    };
    // Versions only move forward; a stale amendment would otherwise undo a newer one.
    if version <= state.version {
        return Ok(());
    }
    if let License::Transit(new) = l {
        let old = document_at(&*w, authority, state.document_seq)?;
        if let License::Transit(old) = old
            && old.export_license != new.export_license
        {
            w.delete(keys::transit(&old.export_license, authority, &old.number));
            w.put_raw(
                keys::transit(&new.export_license, authority, &new.number),
                Vec::new(),
            );
        }
    }
    state.kind = l.kind();
    state.document_seq = entry.seq;
    state.version = version;
    state.history.push(LicenseEvent {
        event: "amended".into(),
        version,
        reason: None,
        at_ms: entry.issued_at_ms,
        entry: pointer,
    });
    w.put(key, &state);
    Ok(())
}

fn status(
    w: &mut Writes,
    entry: &Entry,
    pointer: EntryPointer,
    change: &StatusChange,
) -> Result<()> {
    let key = keys::license(entry.authority.as_str(), &change.number);
    let Some(mut state) = w.get::<StoredLicense>(&key)? else {
        return Ok(());
    };
    state.status = change.status;
    state.history.push(LicenseEvent {
        event: change.status.as_str().into(),
        version: state.version,
        reason: Some(change.reason.clone()),
        at_ms: change.effective_at_ms,
        entry: pointer,
    });
    w.put(key, &state);
    Ok(())
}

fn shipment(w: &mut Writes, entry: &Entry, record: &ShipmentRecord) -> Result<()> {
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
    w.put(
        keys::shipment(&record.license, entry.issued_at_ms, recorder, entry.seq),
        &row,
    );
    if !record.accepted() {
        return Ok(());
    }
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
        let mut row = w.get::<TallyRow>(&key)?.unwrap_or(TallyRow {
            line,
            direction,
            country: country.to_string(),
            quantity: 0,
            shipments: 0,
        });
        row.quantity = row.quantity.saturating_add(quantity);
        row.shipments = row.shipments.saturating_add(1);
        w.put(key, &row);
    }

    let serial_country = (direction == Direction::Transit).then_some(country);
    for serial in record.items.iter().flat_map(|l| &l.serials) {
        let key = keys::serial(&record.license, direction, serial_country, serial);
        let this = SerialUse {
            recorded_by: entry.authority.clone(),
            seq: entry.seq,
            date: record.date.clone(),
            recorded_at_ms: entry.issued_at_ms,
        };
        let earlier_held = w
            .get::<SerialUse>(&key)?
            .is_some_and(|held| held.order() <= this.order());
        if !earlier_held {
            w.put(key, &this);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use tally_model::{
        AuthorityKey, Body, Checkpoint, DocumentRef, KeyRotation, ShipmentLine,
        TransitAuthorization,
    };

    /// A map standing in for the engine.
    #[derive(Default)]
    struct Map(RefCell<BTreeMap<Vec<u8>, Vec<u8>>>);

    impl View for Map {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
            Ok(self.0.borrow().get(key).cloned())
        }
    }

    impl Map {
        fn apply(&self, v: &VerifiedEntry) {
            for op in derive(self, v).expect("derives") {
                match op {
                    Op::Put(k, val) => self.0.borrow_mut().insert(k, val),
                    Op::Delete(k) => self.0.borrow_mut().remove(&k),
                };
            }
        }
        fn prefixes(&self) -> Vec<u8> {
            self.0.borrow().keys().map(|k| k[0]).collect()
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
            verdict: if accept { "accept" } else { "reject" }.into(),
            failed_rules: vec![],
        })
    }

    #[test]
    fn what_each_document_derives() {
        let cases: Vec<(&str, Document, &[u8])> = vec![
            ("accepted shipment", shipment_doc("A1", true), b"PRT"),
            ("rejected shipment", shipment_doc("A1", false), b"P"),
            (
                "key rotation",
                Document::KeyRotation(KeyRotation {
                    new_key: hex::encode([3u8; 32]),
                    valid_from_ms: 5,
                }),
                b"Y",
            ),
            (
                "status of an unknown license",
                Document::StatusChange(StatusChange {
                    number: "NOPE".into(),
                    status: Status::Revoked,
                    reason: "x".into(),
                    effective_at_ms: 1,
                }),
                b"",
            ),
            (
                "transit",
                Document::License(License::Transit(TransitAuthorization {
                    number: "TR-1".into(),
                    transit_country: "GT".into(),
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
                b"SV",
            ),
        ];
        for (name, doc, want) in cases {
            let m = Map::default();
            m.apply(&signed("MX-SEDENA", 1, 10, doc));
            assert_eq!(m.prefixes(), want.to_vec(), "{name}");
        }
    }

    #[test]
    fn one_record_counts_a_line_once_and_a_serial_once() {
        let m = Map::default();
        m.apply(&signed("MX-SEDENA", 1, 10, shipment_doc("A1", true)));
        let rows: Vec<TallyRow> =
            m.0.borrow()
                .iter()
                .filter(|(k, _)| k[0] == keys::TALLY)
                .map(|(k, v)| decode(k, v).expect("tally"))
                .collect();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].quantity, rows[0].shipments), (5, 1));
    }

    #[test]
    fn earliest_serial_use_wins_in_either_order() {
        let early = signed("MX-ADUANA", 9, 10, shipment_doc("A1", true));
        let late = signed("MX-SEDENA", 1, 20, shipment_doc("A1", true));
        let a = Map::default();
        a.apply(&early);
        a.apply(&late);
        let b = Map::default();
        b.apply(&late);
        b.apply(&early);
        assert_eq!(*a.0.borrow(), *b.0.borrow());
        let key = keys::serial(
            &DocumentRef {
                authority: "US-DDTC".into(),
                number: "EXP-1".into(),
            },
            Direction::Entry,
            None,
            "A1",
        );
        let used: SerialUse = decode(&key, &a.0.borrow()[&key]).expect("serial use");
        assert_eq!((used.recorded_by.as_str(), used.seq), ("MX-ADUANA", 9));
    }

    #[test]
    fn corrupt_state_is_an_error() {
        let m = Map::default();
        m.0.borrow_mut()
            .insert(keys::license("MX-SEDENA", "NOPE"), b"{not json".to_vec());
        let v = signed(
            "MX-SEDENA",
            2,
            1,
            Document::StatusChange(StatusChange {
                number: "NOPE".into(),
                status: Status::Revoked,
                reason: "x".into(),
                effective_at_ms: 1,
            }),
        );
        assert!(matches!(derive(&m, &v), Err(StoreError::Corrupt { .. })));
    }
}
