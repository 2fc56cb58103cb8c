//! Tracing a seized firearm (docs/API.md, `GET /v1/trace`): every license
//! line this node can read that names a serial, listed on the license or
//! declared at a recorded crossing under it, with those crossings and the
//! delivery verified for it. Read from the indexes the commit path keeps
//! (`LICENSED_SERIAL` and the crossings' serial index), never by scanning
//! licenses, so a trace costs the same on a small node and a large one.

use crate::error::Result;
use crate::keys::{self, KeyReader};
use crate::state::{LicenseState, SerialIndexRow, SerialUse};
use crate::store::Store;
use serde::Serialize;
use std::collections::BTreeMap;
use tally_model::route::{normalize_make, normalize_serial, same_make};
use tally_model::{Direction, DocumentRef, License, Party};

/// Most rows a trace answers: a serial names a handful of documents, and
/// a forged flood of records must not make one trace read without end.
pub const MAX_TRACE_ROWS: usize = 200;

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
        let prefix = keys::licensed_serial_prefix(&serial);
        for (k, _) in self
            .engine()
            .scan(&prefix, &keys::prefix_end(&prefix), MAX_TRACE_ROWS)?
        {
            let mut r = KeyReader::new(&k);
            let parsed = (r.str(), r.str(), r.str(), r.u32());
            if let (Some(_), Some(authority), Some(number), Some(line)) = parsed {
                found
                    .entry((DocumentRef { authority, number }, line))
                    .or_default()
                    .0 = true;
            }
        }
        for direction in [Direction::Exit, Direction::Transit, Direction::Entry] {
            let prefix = keys::serial_index_prefix(direction, &serial);
            for (k, v) in self
                .engine()
                .scan(&prefix, &keys::prefix_end(&prefix), MAX_TRACE_ROWS)?
            {
                let row: SerialIndexRow = crate::codec::decode(&k, &v)?;
                let date = self
                    .get_json::<SerialUse>(&keys::serial(
                        &row.license,
                        direction,
                        &row.country,
                        &serial,
                    ))?
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
