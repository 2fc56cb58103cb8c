//! The rows statistics read (`F`, schema 10): for each readable export
//! license, import certificate and delivery verification a summary of what
//! it counts (kind, date of issue, route, status, per line category, unit,
//! HS code and quantity), and for each recorded crossing what it carried.
//! Protobuf, holding only what the key does not.
//!
//! Why rows of their own: a statistics answer over a large exporter's year
//! (60,000 licenses) cannot open every sealed document again (tens of
//! microseconds each) nor read every crossing's serials. These rows are
//! written where the document or crossing is applied, keyed by document,
//! so arrival order does not matter (an amendment rewrites its license's
//! row, a status change its status), and read in two range scans.

use crate::error::{Result, StoreError};
use crate::keys::{self, KeyReader};
use crate::tx::Tx;
use crate::view::View;
use prost::Message;
use tally_model::{Category, Direction, DocumentRef, License, ShipmentRecord, Status, Unit};

// Field numbers are the format on disk: never renumber or reuse one.

#[derive(Clone, PartialEq, prost::Message)]
struct DocRow {
    /// 1 export license, 2 import certificate, 4 delivery verification.
    #[prost(uint32, tag = "1")]
    kind: u32,
    #[prost(int64, tag = "2")]
    issued_at_ms: i64,
    /// 0 active, 1 suspended, 2 revoked.
    #[prost(uint32, tag = "3")]
    status: u32,
    #[prost(string, tag = "4")]
    exporting: String,
    #[prost(string, tag = "5")]
    importing: String,
    #[prost(string, repeated, tag = "6")]
    transit: Vec<String>,
    /// A delivery verification's date.
    #[prost(string, tag = "7")]
    date: String,
    /// A delivery verification's export license.
    #[prost(string, tag = "8")]
    export_authority: String,
    #[prost(string, tag = "9")]
    export_number: String,
    #[prost(message, repeated, tag = "10")]
    lines: Vec<LineRow>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct LineRow {
    #[prost(uint32, tag = "1")]
    line: u32,
    /// [`category_code`]; 0 on a delivery line (its license's line says).
    #[prost(uint32, tag = "2")]
    category: u32,
    /// [`unit_code`].
    #[prost(uint32, tag = "3")]
    unit: u32,
    #[prost(string, tag = "4")]
    hs: String,
    #[prost(uint64, tag = "5")]
    quantity: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct CrossingRow {
    /// 0 exit, 1 transit, 2 entry.
    #[prost(uint32, tag = "1")]
    direction: u32,
    #[prost(string, tag = "2")]
    country: String,
    #[prost(string, tag = "3")]
    date: String,
    #[prost(bool, tag = "4")]
    accepted: bool,
    #[prost(string, repeated, tag = "5")]
    failed_rules: Vec<String>,
    #[prost(message, repeated, tag = "6")]
    lines: Vec<LineRow>,
}

/// A readable document as statistics count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlowDoc {
    Export(FlowLicense),
    Import(FlowLicense),
    Delivery(FlowDelivery),
}

/// An export license or import certificate, its current version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowLicense {
    pub issued_at_ms: i64,
    pub status: Status,
    pub exporting: String,
    pub importing: String,
    pub transit: Vec<String>,
    pub lines: Vec<FlowLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowLine {
    pub line: u32,
    pub category: Category,
    pub unit: Unit,
    /// The HS code as written, digits only.
    pub hs: String,
    pub quantity: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowDelivery {
    pub status: Status,
    pub importing: String,
    pub export_license: DocumentRef,
    pub date: String,
    /// (line of the export license, quantity).
    pub lines: Vec<(u32, u64)>,
}

/// A recorded crossing as statistics count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlowCrossing {
    pub direction: Direction,
    pub country: String,
    pub date: String,
    pub accepted: bool,
    pub failed_rules: Vec<String>,
    /// (line, quantity), a line once.
    pub lines: Vec<(u32, u64)>,
}

fn category_code(c: Category) -> u32 {
    match c {
        Category::Firearm => 1,
        Category::Part => 2,
        Category::Ammunition => 3,
        Category::Explosive => 4,
        Category::Related => 5,
    }
}

fn category_of(code: u32) -> Option<Category> {
    Some(match code {
        1 => Category::Firearm,
        2 => Category::Part,
        3 => Category::Ammunition,
        4 => Category::Explosive,
        5 => Category::Related,
        _ => return None,
    })
}

fn unit_code(u: Unit) -> u32 {
    match u {
        Unit::Units => 1,
        Unit::Rounds => 2,
        Unit::Kg => 3,
    }
}

fn unit_of(code: u32) -> Option<Unit> {
    Some(match code {
        1 => Unit::Units,
        2 => Unit::Rounds,
        3 => Unit::Kg,
        _ => return None,
    })
}

fn status_code(s: Status) -> u32 {
    match s {
        Status::Active => 0,
        Status::Suspended => 1,
        Status::Revoked => 2,
    }
}

fn status_of(code: u32) -> Option<Status> {
    Some(match code {
        0 => Status::Active,
        1 => Status::Suspended,
        2 => Status::Revoked,
        _ => return None,
    })
}

fn direction_code(d: Direction) -> u32 {
    match d {
        Direction::Exit => 0,
        Direction::Transit => 1,
        Direction::Entry => 2,
        Direction::Return => 3,
    }
}

fn direction_of(code: u32) -> Option<Direction> {
    Some(match code {
        0 => Direction::Exit,
        1 => Direction::Transit,
        2 => Direction::Entry,
        3 => Direction::Return,
        _ => return None,
    })
}

fn hs_digits(hs: Option<&str>) -> String {
    hs.unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Stages the row of `authority`'s document `l` as it now stands, first
/// issued at `issued_at_ms` (an amendment keeps its license's month), with
/// `status`; a transit authorization counts nothing and has none.
pub(crate) fn put_document(
    tx: &mut Tx,
    authority: &str,
    l: &License,
    issued_at_ms: i64,
    status: Status,
) {
    let lines = |items: &[tally_model::Item]| {
        items
            .iter()
            .map(|i| LineRow {
                line: i.line,
                category: category_code(i.category),
                unit: unit_code(i.unit),
                hs: hs_digits(i.hs_code.as_deref()),
                quantity: i.quantity,
            })
            .collect()
    };
    let row = match l {
        License::Export(e) => DocRow {
            kind: 1,
            exporting: e.exporting_country.clone(),
            importing: e.importing_country.clone(),
            transit: e.transit_countries.clone(),
            lines: lines(&e.items),
            ..DocRow::default()
        },
        License::Import(i) => DocRow {
            kind: 2,
            exporting: i.exporting_country.clone(),
            importing: i.importing_country.clone(),
            lines: lines(&i.items),
            ..DocRow::default()
        },
        License::Delivery(d) => DocRow {
            kind: 4,
            importing: d.importing_country.clone(),
            date: d.date.clone(),
            export_authority: d.export_license.authority.clone(),
            export_number: d.export_license.number.clone(),
            lines: d
                .items
                .iter()
                .map(|l| LineRow {
                    line: l.line,
                    quantity: l.quantity,
                    ..LineRow::default()
                })
                .collect(),
            ..DocRow::default()
        },
        // Statistics count goods that may move, not refusals or questions.
        License::Transit(_)
        | License::Denial(_)
        | License::EnduseRequest(_)
        | License::EnduseAnswer(_) => return,
    };
    let row = DocRow {
        issued_at_ms,
        status: status_code(status),
        ..row
    };
    tx.put_raw(
        keys::flow_document(authority, l.number()),
        row.encode_to_vec(),
    );
}

/// Stages `status` into the row of `authority`'s document `number`, if it
/// has one.
pub(crate) fn set_status(tx: &mut Tx, authority: &str, number: &str, status: Status) -> Result<()> {
    let key = keys::flow_document(authority, number);
    let Some(bytes) = View::get(tx, &key)? else {
        return Ok(());
    };
    let mut row = DocRow::decode(bytes.as_slice()).map_err(|e| StoreError::corrupt(&key, e))?;
    row.status = status_code(status);
    tx.put_raw(key, row.encode_to_vec());
    Ok(())
}

/// Stages the row of crossing `seq` of `recorder`, about `record`.
pub(crate) fn put_crossing(tx: &mut Tx, recorder: &str, seq: u64, record: &ShipmentRecord) {
    let mut per_line: std::collections::BTreeMap<u32, u64> = Default::default();
    for l in &record.items {
        let q = per_line.entry(l.line).or_default();
        *q = q.saturating_add(l.quantity);
    }
    let row = CrossingRow {
        direction: direction_code(record.checkpoint.direction),
        country: record.checkpoint.country.clone(),
        date: record.date.clone(),
        accepted: record.accepted(),
        failed_rules: record.failed_rules.clone(),
        lines: per_line
            .into_iter()
            .map(|(line, quantity)| LineRow {
                line,
                quantity,
                ..LineRow::default()
            })
            .collect(),
    };
    tx.put_raw(
        keys::flow_crossing(&record.license, recorder, seq),
        row.encode_to_vec(),
    );
}

/// The part of a statistics key (`Fd` or `Fc`) that names the document:
/// its authority and number, as the key encodes them (what [`doc_key`]
/// makes), and the rest of the key.
fn split_doc(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = key.get(2..)?;
    let mut r = KeyReader::after(key, 2);
    r.skip_str()?;
    r.skip_str()?;
    let rest = r.rest();
    Some((&body[..body.len() - rest.len()], rest))
}

/// The document part of the statistics keys of document `number` of
/// `authority` (see [`split_doc`]).
pub(crate) fn doc_key(authority: &str, number: &str) -> Vec<u8> {
    let mut k = keys::flow_document(authority, number);
    k.drain(..2);
    k
}

/// A document row read back, with the document part of its key.
pub(crate) fn decode_document<'k>(key: &'k [u8], bytes: &[u8]) -> Result<(&'k [u8], FlowDoc)> {
    let corrupt = |why: &str| StoreError::corrupt(key, why);
    let (doc, _) = split_doc(key).ok_or_else(|| corrupt("statistics document key"))?;
    let row = DocRow::decode(bytes).map_err(|e| StoreError::corrupt(key, e))?;
    let status = status_of(row.status).ok_or_else(|| corrupt("status"))?;
    let flow = match row.kind {
        1 | 2 => {
            let lines = row
                .lines
                .into_iter()
                .map(|l| {
                    Some(FlowLine {
                        line: l.line,
                        category: category_of(l.category)?,
                        unit: unit_of(l.unit)?,
                        hs: l.hs,
                        quantity: l.quantity,
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| corrupt("item line"))?;
            let license = FlowLicense {
                issued_at_ms: row.issued_at_ms,
                status,
                exporting: row.exporting,
                importing: row.importing,
                transit: row.transit,
                lines,
            };
            if row.kind == 1 {
                FlowDoc::Export(license)
            } else {
                FlowDoc::Import(license)
            }
        }
        4 => FlowDoc::Delivery(FlowDelivery {
            status,
            importing: row.importing,
            export_license: DocumentRef {
                authority: row.export_authority,
                number: row.export_number,
            },
            date: row.date,
            lines: row.lines.iter().map(|l| (l.line, l.quantity)).collect(),
        }),
        _ => return Err(corrupt("document kind")),
    };
    Ok((doc, flow))
}

/// A crossing row read back, with the document part of its key (its
/// license's).
pub(crate) fn decode_crossing<'k>(key: &'k [u8], bytes: &[u8]) -> Result<(&'k [u8], FlowCrossing)> {
    let corrupt = |why: &str| StoreError::corrupt(key, why);
    let (license, _) = split_doc(key).ok_or_else(|| corrupt("statistics crossing key"))?;
    let row = CrossingRow::decode(bytes).map_err(|e| StoreError::corrupt(key, e))?;
    Ok((
        license,
        FlowCrossing {
            direction: direction_of(row.direction).ok_or_else(|| corrupt("direction"))?,
            country: row.country,
            date: row.date,
            accepted: row.accepted,
            failed_rules: row.failed_rules,
            lines: row.lines.iter().map(|l| (l.line, l.quantity)).collect(),
        },
    ))
}
