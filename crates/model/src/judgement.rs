//! The rules that join documents of different logs into alerts, pure: a
//! license as it stands, the crossings recorded under it, the deliveries
//! verified against it, the import certificate it cites and the crossings
//! of its serials under other licenses (`serial.repeat`) go in; the
//! alerts they call for come out ([`Finding`]s). The store reads the facts
//! and keeps what is found (`tally_store`'s `judge`); the rules live here,
//! beside [`crate::lifecycle`], so that they can be read and tested alone.
//!
//! Every rule replays the crossings in one fixed order (by `issued_at`,
//! recorder, seq: [`crossing_order`]), never in arrival order, so every node
//! that holds the same entries finds the same alerts with the same ids.

use crate::alert::AlertKind;
use crate::date::Date;
use crate::document::{
    Checkpoint, DeliveryLine, Direction, DocumentRef, License, ShipmentLine, Status,
};
use crate::id::AuthorityId;
use crate::route::{normalize_make, on_route, same_make};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Milliseconds in a day: an overdue alert is dated at the start of the day
/// the exit fell due.
const DAY_MS: i64 = 86_400_000;

/// A recorded crossing (a shipment record as kept beside the logs), as
/// listed by `GET /v1/shipments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRow {
    pub recorded_by: AuthorityId,
    pub seq: u64,
    pub recorded_at_ms: i64,
    pub license: DocumentRef,
    pub checkpoint: Checkpoint,
    pub date: String,
    pub verdict: String,
    pub items: Vec<ShipmentLine>,
}

impl ShipmentRow {
    pub fn accepted(&self) -> bool {
        self.verdict == "accept"
    }
}

/// Where a serial number was first recorded crossing under one license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialUse {
    pub recorded_by: AuthorityId,
    pub seq: u64,
    pub date: String,
    /// `issued_at_ms` of the recording entry. "First" means earliest by
    /// (`recorded_at_ms`, `recorded_by`, `seq`), not first to arrive here, so
    /// every node names the same first use whatever order logs arrive in.
    #[serde(default)]
    pub recorded_at_ms: i64,
    /// The record's line that declared it (its make is on the license).
    #[serde(default)]
    pub line: u32,
}

impl SerialUse {
    /// The order in which uses of one serial count as first.
    pub fn order(&self) -> (i64, &str, u64) {
        (self.recorded_at_ms, self.recorded_by.as_str(), self.seq)
    }
}

/// One accepted crossing of one serial, in the index across licenses that
/// `serial.repeat` joins (keyed by direction and normalized serial, so
/// either license's records may arrive first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialIndexRow {
    pub license: DocumentRef,
    pub recorded_by: AuthorityId,
    pub seq: u64,
    pub recorded_at_ms: i64,
    /// The checkpoint country: whether the use counts is judged against the
    /// license's route when read.
    pub country: String,
    /// The record's line, whose make (on the license) the use carries.
    pub line: u32,
    /// The serial as the officer declared it (the key holds it normalized).
    pub serial: String,
}

impl SerialIndexRow {
    /// The order in which uses count as earlier: as for [`SerialUse`].
    pub fn order(&self) -> (i64, &str, u64) {
        (self.recorded_at_ms, self.recorded_by.as_str(), self.seq)
    }
}

/// The order every rule replays crossings in.
pub fn crossing_order(a: &ShipmentRow, b: &ShipmentRow) -> std::cmp::Ordering {
    (a.recorded_at_ms, a.recorded_by.as_str(), a.seq).cmp(&(
        b.recorded_at_ms,
        b.recorded_by.as_str(),
        b.seq,
    ))
}

/// One status event of a license's history.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// `issued`, `amended`, `suspended`, `revoked` or `active`.
    pub event: &'a str,
    pub reason: Option<&'a str>,
    pub at_ms: i64,
    /// The seq of the issuer's entry that made it.
    pub seq: u64,
}

/// A license as the rules read it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub authority: &'a AuthorityId,
    pub number: &'a str,
    pub document: &'a License,
    pub status: Status,
    pub issued_at_ms: i64,
    pub history: Vec<Event<'a>>,
}

impl Subject<'_> {
    /// The status in force at `at_ms` by the license's history.
    pub fn status_at(&self, at_ms: i64) -> Status {
        let mut status = Status::Active;
        for e in &self.history {
            if e.at_ms > at_ms {
                break;
            }
            status = match e.event {
                "suspended" => Status::Suspended,
                "revoked" => Status::Revoked,
                "active" => Status::Active,
                _ => status,
            };
        }
        status
    }

    /// Whether `row` counts against this license: accepted, and recorded in
    /// a country its route allows for that direction.
    pub fn counts(&self, row: &ShipmentRow) -> bool {
        row.accepted()
            && on_route(
                self.document,
                row.checkpoint.direction,
                &row.checkpoint.country,
            )
    }
}

/// An alert a rule calls for, about the license judged: raised by entry
/// `seq` of `by`'s log, dated `at_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: AlertKind,
    pub by: AuthorityId,
    pub seq: u64,
    pub at_ms: i64,
    pub open: bool,
    pub detail: String,
}

impl Finding {
    fn raised_by(kind: AlertKind, row: &ShipmentRow, open: bool, detail: String) -> Finding {
        Finding {
            kind,
            by: row.recorded_by.clone(),
            seq: row.seq,
            at_ms: row.recorded_at_ms,
            open,
            detail,
        }
    }
}

/// `shipment.off_route`: an accepted crossing from a country its direction
/// does not allow under the license as it stands. Routes only shrink
/// (amendments may remove transit countries, never add them), so once
/// raised it stays raised.
pub fn off_route(s: &Subject, rows: &[ShipmentRow]) -> Vec<Finding> {
    rows.iter()
        .filter(|r| r.accepted() && !s.counts(r))
        .map(|row| {
            let detail = format!(
                "{} recorded an accepted {} at {:?} in {}, which the route of {} {} does not allow; it does not count",
                row.recorded_by,
                row.checkpoint.direction.as_str(),
                row.checkpoint.port,
                row.checkpoint.country,
                s.authority,
                s.number
            );
            Finding::raised_by(AlertKind::ShipmentOffRoute, row, true, detail)
        })
        .collect()
}

/// `shipment.after_revocation`: an accepted crossing recorded after the
/// license's suspension or revocation took effect (the border had not
/// heard of it yet, e.g. across a partition).
pub fn after_revocation(s: &Subject, rows: &[ShipmentRow]) -> Vec<Finding> {
    // Goods of a temporary export coming home are welcome whatever the
    // license's status.
    rows.iter()
        .filter(|r| s.counts(r) && r.checkpoint.direction != Direction::Return)
        .filter_map(|row| {
            let status = s.status_at(row.recorded_at_ms);
            if status == Status::Active {
                return None;
            }
            let detail = format!(
                "{} accepted a crossing ({}) at {:?} while {} {} was {}",
                row.recorded_by,
                row.checkpoint.direction.as_str(),
                row.checkpoint.port,
                s.authority,
                s.number,
                status.as_str()
            );
            Some(Finding::raised_by(
                AlertKind::ShipmentAfterRevocation,
                row,
                true,
                detail,
            ))
        })
        .collect()
}

/// Per line, what the counted crossings moved: exited, entered, and
/// transited per country.
#[derive(Default)]
struct Moved {
    exit: BTreeMap<u32, u64>,
    entry: BTreeMap<u32, u64>,
    transit: BTreeMap<(u32, String), u64>,
}

impl Moved {
    fn add(&mut self, row: &ShipmentRow) {
        for item in &row.items {
            let slot = match row.checkpoint.direction {
                Direction::Exit => self.exit.entry(item.line).or_default(),
                Direction::Entry => self.entry.entry(item.line).or_default(),
                Direction::Transit => self
                    .transit
                    .entry((item.line, row.checkpoint.country.clone()))
                    .or_default(),
                // What came back is `crate::temporary`'s to weigh.
                Direction::Return => continue,
            };
            *slot = slot.saturating_add(item.quantity);
        }
    }

    /// A line with more entered, or transited through one country, than
    /// exited.
    fn excess(&self) -> Option<String> {
        let out = |line: &u32| self.exit.get(line).copied().unwrap_or(0);
        if let Some((line, n)) = self.entry.iter().find(|(l, n)| **n > out(l)) {
            return Some(format!(
                "line {line}: {n} recorded entering, {} exiting",
                out(line)
            ));
        }
        self.transit
            .iter()
            .find(|((l, _), n)| **n > out(l))
            .map(|((line, c), n)| {
                format!(
                    "line {line}: {n} recorded transiting {c}, {} exiting",
                    out(line)
                )
            })
    }
}

/// `shipment.discrepancy`: the counted crossings, replayed in order; raised
/// by the first after which a line had more entered, or transited through
/// one country, than exited; open while that is still so.
pub fn discrepancy(s: &Subject, rows: &[ShipmentRow]) -> Option<Finding> {
    let mut moved = Moved::default();
    let mut first: Option<&ShipmentRow> = None;
    for row in rows.iter().filter(|r| s.counts(r)) {
        moved.add(row);
        if first.is_none() && moved.excess().is_some() {
            first = Some(row);
        }
    }
    let row = first?;
    let now = moved.excess();
    let detail = match &now {
        Some(why) => format!("{} {}: {why}", s.authority, s.number),
        None => format!(
            "{} {}: more was recorded entering or transiting than exiting; exits have since caught up",
            s.authority, s.number
        ),
    };
    Some(Finding::raised_by(
        AlertKind::ShipmentDiscrepancy,
        row,
        now.is_some(),
        detail,
    ))
}

/// `import.withdrawn`: for an export license, each suspension or revocation
/// of the import certificate `ic` it cites that took effect while the
/// export was active; open while the certificate is still withdrawn and the
/// export still active.
pub fn import_withdrawn(export: &Subject, ic: &Subject) -> Vec<Finding> {
    let withdrawals: Vec<&Event> = ic
        .history
        .iter()
        .filter(|h| matches!(h.event, "suspended" | "revoked"))
        .filter(|h| h.at_ms >= export.issued_at_ms && export.status_at(h.at_ms) == Status::Active)
        .collect();
    let last = withdrawals.len().saturating_sub(1);
    withdrawals
        .into_iter()
        .enumerate()
        .map(|(i, h)| Finding {
            kind: AlertKind::ImportWithdrawn,
            by: ic.authority.clone(),
            seq: h.seq,
            at_ms: h.at_ms,
            open: i == last && ic.status != Status::Active && export.status == Status::Active,
            detail: format!(
                "{} {} was {} ({:?}); {} {} relies on it: shipments under it fail import.authorization",
                ic.authority,
                ic.number,
                h.event,
                h.reason.unwrap_or(""),
                export.authority,
                export.number
            ),
        })
        .collect()
}

/// The make of `line` on `license`, normalized; `None` when the license
/// names none (or has no such line): a missing make matches any.
pub fn make_of(license: &License, line: u32) -> Option<String> {
    let items = match license {
        License::Export(e) => &e.items,
        License::Import(i) => &i.items,
        _ => return None,
    };
    items
        .iter()
        .find(|i| i.line == line)
        .and_then(|i| i.make.as_deref())
        .map(normalize_make)
        .filter(|m| !m.is_empty())
}

/// A delivery verification of an export license, as `delivery.overdue`
/// counts it: its date, who verified it (authority and number: the order
/// among deliveries of one day) and its lines.
#[derive(Debug, Clone)]
pub struct Delivered<'a> {
    pub date: Date,
    pub authority: String,
    pub number: String,
    pub items: &'a [DeliveryLine],
}

/// What moves the delivery balance of an export license, in date order.
enum Step<'a> {
    Delivered(&'a [DeliveryLine]),
    /// A counted exit that fell due (its date plus `delivery_days`).
    Due(&'a ShipmentRow),
}

/// `delivery.overdue`: counted exits whose date plus `delivery_days` is
/// `today` or earlier, against the export license's delivery verifications
/// (non-revoked, from the importing country: the caller's to select).
/// Replayed in date order (on one day, due exits first, in crossing order,
/// then deliveries: an exit due today is overdue until a delivery covers
/// it, which is what `delivery_days = 0` means): an alert is raised by the
/// due exit after which some line had less delivered than exited-and-due,
/// and closes when deliveries catch up; open while that is so today.
/// Revoking the license does not close it (the goods left all the same).
pub fn overdue(
    s: &Subject,
    rows: &[ShipmentRow],
    mut deliveries: Vec<Delivered<'_>>,
    today: Date,
    delivery_days: u32,
) -> Vec<Finding> {
    if !matches!(s.document, License::Export(_)) {
        return vec![];
    }
    let due_date =
        |exit: Date| Date::from_unix_ms((exit.days() + i64::from(delivery_days)) * DAY_MS);
    deliveries
        .sort_by(|a, b| (a.date, &a.authority, &a.number).cmp(&(b.date, &b.authority, &b.number)));
    let mut steps: Vec<(Date, u8, Step)> = deliveries
        .iter()
        .map(|d| (d.date, 1, Step::Delivered(d.items)))
        .collect();
    // `rows` is in crossing order; the sort below is stable, so exits due on
    // one day keep it.
    for row in rows
        .iter()
        .filter(|r| r.checkpoint.direction == Direction::Exit && s.counts(r))
    {
        let Ok(exit) = row.date.parse::<Date>() else {
            continue;
        };
        let due_on = due_date(exit);
        if due_on <= today {
            steps.push((due_on, 0, Step::Due(row)));
        }
    }
    steps.sort_by_key(|(date, rank, _)| (*date, *rank));
    replay_deliveries(s, &steps)
}

fn replay_deliveries(s: &Subject, steps: &[(Date, u8, Step)]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut delivered: BTreeMap<u32, u64> = BTreeMap::new();
    let mut exited: BTreeMap<u32, u64> = BTreeMap::new();
    let short = |exited: &BTreeMap<u32, u64>, delivered: &BTreeMap<u32, u64>| {
        exited
            .iter()
            .map(|(l, q)| (*l, *q, delivered.get(l).copied().unwrap_or(0)))
            .find(|(_, q, d)| q > d)
    };
    let overdue = |row: &ShipmentRow, due_on: Date, open: bool, detail: String| Finding {
        kind: AlertKind::DeliveryOverdue,
        by: row.recorded_by.clone(),
        seq: row.seq,
        at_ms: due_on.days().saturating_mul(DAY_MS),
        open,
        detail,
    };
    // The due exit that opened the current shortfall, and its due date.
    let mut episode: Option<(&ShipmentRow, Date)> = None;
    for (date, _, step) in steps {
        match step {
            Step::Delivered(items) => {
                for l in items.iter() {
                    let q = delivered.entry(l.line).or_default();
                    *q = q.saturating_add(l.quantity);
                }
                if let Some((row, due_on)) = episode
                    && short(&exited, &delivered).is_none()
                {
                    let detail = format!(
                        "{} {}: goods exited on {} were not verified delivered by {due_on}; deliveries caught up on {date}",
                        s.authority, s.number, row.date
                    );
                    found.push(overdue(row, due_on, false, detail));
                    episode = None;
                }
            }
            Step::Due(row) => {
                for l in &row.items {
                    let q = exited.entry(l.line).or_default();
                    *q = q.saturating_add(l.quantity);
                }
                if episode.is_none() && short(&exited, &delivered).is_some() {
                    episode = Some((row, *date));
                }
            }
        }
    }
    if let Some((row, due_on)) = episode {
        let detail = match short(&exited, &delivered) {
            Some((line, q, d)) => format!(
                "{} {}: line {line}: {q} exited and due for delivery (the first exit on {}, due {due_on}), {d} verified delivered",
                s.authority, s.number, row.date
            ),
            None => format!(
                "{} {}: goods exited on {} not verified delivered by {due_on}",
                s.authority, s.number, row.date
            ),
        };
        found.push(overdue(row, due_on, true, detail));
    }
    found
}

/// One serial crossed under the license judged, as `serial.repeat` reads it:
/// the first use under that license (`mine`, in `direction`, recorded in
/// `country`; `serial` normalized) and the first rows of the serial's group
/// in that direction across licenses (`group`, by key: bounded, and read
/// alike by every node holding the same entries).
#[derive(Debug, Clone, Copy)]
pub struct SerialCrossing<'a> {
    pub direction: Direction,
    pub country: &'a str,
    pub serial: &'a str,
    pub mine: &'a SerialUse,
    pub group: &'a [SerialIndexRow],
}

/// What one serial's repeat comes to: raised by the later of the two first
/// crossings (`by`, `seq`, at `at_ms`), and what it repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    pub by: AuthorityId,
    pub seq: u64,
    pub at_ms: i64,
    pub what: String,
}

/// Whether a serial crossing in `direction` recorded in `country` counts
/// under `license` (its route allows it): only those are judged.
pub fn serial_counts(license: &License, direction: Direction, country: &str) -> bool {
    // A return brings back what left: it repeats nothing.
    direction != Direction::Return && on_route(license, direction, country)
}

/// `serial.repeat` for one serial: the earliest use in `c.group` under
/// another license that counts there (its route allows the crossing) with
/// the same make (after [`normalize_make`], or either make missing), when
/// the group holds `c.mine` at all. `document_of` reads the other licenses
/// (`None`: not held here); it is asked only about rows that could be the
/// earliest, in group order. A serial that went out on a temporary export
/// and came back under it (`came_back`, asked only of temporary exports)
/// repeats nothing: neither that license's crossing nor another's with it.
pub fn first_repeat<E>(
    s: &Subject,
    c: SerialCrossing,
    document_of: &mut dyn FnMut(&DocumentRef) -> Result<Option<License>, E>,
    came_back: &mut dyn FnMut(&DocumentRef, &License) -> Result<bool, E>,
) -> Result<Option<Repeat>, E> {
    let me = DocumentRef {
        authority: s.authority.to_string(),
        number: s.number.to_string(),
    };
    let (direction, country, mine) = (c.direction, c.country, c.mine);
    if !serial_counts(s.document, direction, country) {
        return Ok(None);
    }
    if is_temporary(s.document) && came_back(&me, s.document)? {
        return Ok(None);
    }
    let make = make_of(s.document, mine.line);
    if !c
        .group
        .iter()
        .any(|r| r.license == me && r.country == country && r.line == mine.line)
    {
        return Ok(None);
    }
    let mut first: Option<&SerialIndexRow> = None;
    for other in c.group {
        if other.license == me || first.is_some_and(|f| f.order() <= other.order()) {
            continue;
        }
        let Some(o) = document_of(&other.license)? else {
            continue;
        };
        if on_route(&o, direction, &other.country)
            && same_make(make.as_deref(), make_of(&o, other.line).as_deref())
            && !(is_temporary(&o) && came_back(&other.license, &o)?)
        {
            first = Some(other);
        }
    }
    let Some(other) = first else {
        return Ok(None);
    };
    let (by, seq, at_ms) = if other.order() > mine.order() {
        (other.recorded_by.clone(), other.seq, other.recorded_at_ms)
    } else {
        (mine.recorded_by.clone(), mine.seq, mine.recorded_at_ms)
    };
    let what = format!(
        "serial {}{} crossed ({}) under {} {} ({} seq {}) and under {} {} ({} seq {})",
        c.serial,
        make.as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default(),
        direction.as_str(),
        s.authority,
        s.number,
        mine.recorded_by,
        mine.seq,
        other.license.authority,
        other.license.number,
        other.recorded_by,
        other.seq
    );
    Ok(Some(Repeat {
        by,
        seq,
        at_ms,
        what,
    }))
}

/// Whether `l` is a temporary export (its goods may come back).
fn is_temporary(l: &License) -> bool {
    matches!(l, License::Export(e) if e.temporary.is_some())
}

/// Most repeats named in one alert's detail; the rest are counted.
const REPEATS_IN_DETAIL: usize = 8;

/// `serial.repeat` of one license from its serials' [`Repeat`]s: one open
/// alert per raising record, naming what it repeated (at most
/// `REPEATS_IN_DETAIL`, the rest counted). It never closes.
pub fn serial_repeats(repeats: Vec<Repeat>) -> Vec<Finding> {
    let mut found: BTreeMap<(AuthorityId, u64), (i64, BTreeSet<String>)> = BTreeMap::new();
    for r in repeats {
        found
            .entry((r.by, r.seq))
            .or_insert_with(|| (r.at_ms, BTreeSet::new()))
            .1
            .insert(r.what);
    }
    found
        .into_iter()
        .map(|((by, seq), (at_ms, repeats))| {
            let n = repeats.len();
            let mut detail: Vec<String> = repeats.into_iter().take(REPEATS_IN_DETAIL).collect();
            if n > REPEATS_IN_DETAIL {
                detail.push(format!("and {} more", n - REPEATS_IN_DETAIL));
            }
            Finding {
                kind: AlertKind::SerialRepeat,
                by,
                seq,
                at_ms,
                open: true,
                detail: detail.join("; "),
            }
        })
        .collect()
}
