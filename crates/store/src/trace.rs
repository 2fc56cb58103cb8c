//! Tracing a seized firearm (docs/API.md, `GET /v1/trace`): every license
//! line this node can read that names a serial, listed on the license or
//! declared at a recorded crossing under it, with those crossings and the
//! delivery verified for it. Read from the indexes the commit path keeps
//! (`LICENSED_SERIAL` by serial bucket, and the crossings' serial index), never by scanning
//! licenses, so a trace costs the same on a small node and a large one.

use crate::error::Result;
use crate::keys::{self, KeyReader};
use crate::serial_rows;
use crate::state::{LicenseState, SerialIndexRow};
use crate::store::Store;
use serde::Serialize;
use std::collections::BTreeMap;
use tally_model::route::{normalize_make, normalize_serial, same_make};
use tally_model::{Direction, DocumentRef, License, Party};

/// Most rows a trace answers: a serial names a handful of documents, and
/// a forged flood of records must not make one trace read without end.
pub const MAX_TRACE_ROWS: usize = 200;

/// Most documents a trace reads from one serial bucket: those of the ten
/// serials that share it, each on a handful of documents.
pub const MAX_TRACE_CANDIDATES: usize = 1000;

/// The bucket a normalized serial is indexed under: without its last
/// character when that is a digit. Consecutive serials (a production run
/// licensed together) then share a row per ten; a trace reads the bucket's
/// documents and keeps those that list the serial itself.
pub fn serial_bucket(serial: &str) -> &str {
    match serial.as_bytes().last() {
        Some(b) if b.is_ascii_digit() => &serial[..serial.len() - 1],
        _ => serial,
    }
}

/// One license line naming the traced serial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceRow {
    pub license: DocumentRef,
    pub line: u32,
    pub make: Option<String>,
    pub model: Option<String>,
    /// Whether the license itself lists the serial (false: only a crossing
    /// declared it under this line).
    pub listed: bool,
    pub crossings: Vec<TraceCrossing>,
    /// The delivery verification that covers this line, if one was issued.
    pub delivered_to: Option<TraceDelivery>,
}

/// A recorded crossing that declared the serial (the earliest per country
/// and direction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceCrossing {
    pub country: String,
    pub direction: Direction,
    pub date: String,
    pub recorded_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceDelivery {
    pub verification: DocumentRef,
    pub date: String,
    pub party: Party,
}

impl Store {
    /// Every readable license line that names `serial` (normalized as
    /// `items.serials` compares it) for a firearm of `make` (a line without
    /// a make matches any), at most [`MAX_TRACE_ROWS`].
    pub fn trace(&self, make: &str, serial: &str) -> Result<Vec<TraceRow>> {
        let serial = normalize_serial(serial);
        let make = normalize_make(make);
        let mut found: BTreeMap<(DocumentRef, u32), (bool, Vec<TraceCrossing>)> = BTreeMap::new();
        for doc in self.documents_listing(&serial)? {
            let Ok(authority) = doc.authority.parse() else {
                continue;
            };
            let Some(state) = self.license(&authority, &doc.number)? else {
                continue;
            };
            // The index holds buckets: the document itself says which of
            // its lines list the serial (none, for a neighbour's document).
            for item in state.document.items() {
                if item.serials.iter().any(|s| normalize_serial(s) == serial) {
                    found.entry((doc.clone(), item.line)).or_default().0 = true;
                }
            }
        }
        for direction in [
            Direction::Exit,
            Direction::Transit,
            Direction::Entry,
            Direction::Return,
        ] {
            let prefix = keys::serial_index_prefix(direction, &serial);
            for (k, v) in self
                .engine()
                .scan(&prefix, &keys::prefix_end(&prefix), MAX_TRACE_ROWS)?
            {
                let row: SerialIndexRow = serial_rows::decode_index(&k, &v)?;
                let date = self
                    .serial_use(&row.license, direction, &row.country, &serial)?
                    .map(|u| u.date)
                    .unwrap_or_default();
                found
                    .entry((row.license.clone(), row.line))
                    .or_default()
                    .1
                    .push(TraceCrossing {
                        country: row.country,
                        direction,
                        date,
                        recorded_by: row.recorded_by.to_string(),
                    });
            }
        }
        let mut out = Vec::new();
        for ((license, line), (listed, crossings)) in found {
            if out.len() == MAX_TRACE_ROWS {
                break;
            }
            // Only what this node reads: a license sealed away from it (or
            // no longer opening here) is not shown, nor are its crossings.
            let Ok(authority) = license.authority.parse() else {
                continue;
            };
            let Some(state) = self.license(&authority, &license.number)? else {
                continue;
            };
            let item = state.document.items().iter().find(|i| i.line == line);
            let line_make = item.and_then(|i| i.make.as_deref()).map(normalize_make);
            if !same_make(line_make.as_deref(), Some(&make)) {
                continue;
            }
            out.push(TraceRow {
                delivered_to: self.delivery_of(&state, line)?,
                license,
                line,
                make: item.and_then(|i| i.make.clone()),
                model: item.and_then(|i| i.model.clone()),
                listed,
                crossings,
            });
        }
        Ok(out)
    }

    /// The documents listed under `serial`'s bucket (`serial` normalized):
    /// those that list it and those that list its neighbours in a run, at
    /// most [`MAX_TRACE_CANDIDATES`].
    fn documents_listing(&self, serial: &str) -> Result<Vec<DocumentRef>> {
        let prefix = keys::licensed_serial_prefix(serial_bucket(serial));
        let rows = self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), MAX_TRACE_CANDIDATES)?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, _)| {
                let mut r = KeyReader::after(&k, prefix.len());
                Some(DocumentRef {
                    authority: r.str()?,
                    number: r.str()?,
                })
            })
            .collect())
    }

    /// The first readable delivery verification of `state` (an export)
    /// that lists `line`.
    fn delivery_of(&self, state: &LicenseState, line: u32) -> Result<Option<TraceDelivery>> {
        for d in self.deliveries_for(&state.reference())? {
            if let License::Delivery(v) = &d.document
                && v.items.iter().any(|l| l.line == line)
            {
                return Ok(Some(TraceDelivery {
                    verification: d.reference(),
                    date: v.date.clone(),
                    party: v.delivered_to.clone(),
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::serial_bucket;

    #[test]
    fn a_bucket_drops_one_trailing_digit() {
        assert_eq!(serial_bucket("SN00000013"), "SN0000001");
        assert_eq!(serial_bucket("SN00000019"), serial_bucket("SN00000010"));
        assert_ne!(serial_bucket("SN00000020"), serial_bucket("SN00000019"));
        assert_eq!(serial_bucket("ABC12X"), "ABC12X");
        assert_eq!(serial_bucket("7"), "");
        assert_eq!(serial_bucket(""), "");
        // Multi-byte text stays whole (a digit is one byte).
        assert_eq!(serial_bucket("Ñ9"), "Ñ");
    }
}
