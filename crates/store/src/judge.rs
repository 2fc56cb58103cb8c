//! Alerts that join documents of different logs: a license and the shipment
//! records, status changes and import certificates that concern it.
//!
//! [`license`] re-judges one license from scratch whenever an entry that
//! touches it is applied, reading only the set of entries held: the records
//! are replayed in a fixed order (by `issued_at`, recorder, seq), never in
//! arrival order, so every node that holds the same entries raises the same
//! alerts with the same ids, and a reindex rebuilds them (docs/ARCHITECTURE.md). Kinds that can close (`shipment.discrepancy`,
//! `import.withdrawn`, `delivery.overdue`) and `serial.repeat` (which joins
//! other licenses' records) are rewritten whole for the license each time.
//! `delivery.overdue` also depends on today's date (the transaction's
//! [`crate::clock::Due`]): a date-driven pass re-judges the licenses whose
//! exits fell due since ([`crate::Store::judge_overdue`]).

use crate::clock::DAY_MS;
use crate::error::Result;
use crate::keys;
use crate::state::{Alert, LicenseState, SerialIndexRow, ShipmentRow};
use crate::tx::Tx;
use std::collections::{BTreeMap, BTreeSet};
use tally_model::{
    AlertKind, AuthorityId, Date, Direction, DocumentRef, License, Status, alert_id,
    normalize_make, normalize_serial, on_route, same_make,
};

/// Re-judges every joined alert of `license` (a reference; nothing happens
/// while the license itself is not held) but `serial.repeat`, which only
/// serials, routes and makes change: [`serials_of`].
pub(crate) fn license(tx: &mut Tx, license: &DocumentRef) -> Result<()> {
    let Ok(authority) = license.authority.parse::<AuthorityId>() else {
        return Ok(());
    };
    let Some(state) = tx.license(&authority, &license.number)? else {
        return Ok(());
    };
    let rows = shipments(tx, license)?;
    off_route(tx, &state, &rows);
    after_revocation(tx, &state, &rows);
    discrepancy(tx, &state, &rows)?;
    import_withdrawn(tx, &state)?;
    overdue(tx, &state, &rows)?;
    Ok(())
}

/// The rows of one serial's group that `serial.repeat` judges: a serial
/// recorded under more (license, country, line) combinations than this is
/// judged on the first ones by key, which every node holding the same
/// entries reads alike. It bounds what one append costs however often a
/// serial is (mis)recorded; a new row can push only one row out, which is
/// re-judged with the rest ([`SERIAL_GROUP_LIMIT`] + 1 partners).
const SERIAL_GROUP_LIMIT: usize = 32;

/// The other licenses under which a serial `license` crossed with also
/// crossed in the same direction: whose `serial.repeat` a change to
/// `license` can change.
pub(crate) fn serial_partners(tx: &Tx, license: &DocumentRef) -> Result<BTreeSet<DocumentRef>> {
    let mut out = BTreeSet::new();
    for (direction, _, serial, _) in own_serials(tx, license)? {
        for other in serial_group(tx, direction, &serial, SERIAL_GROUP_LIMIT + 1)? {
            if &other.license != license {
                out.insert(other.license);
            }
        }
    }
    Ok(out)
}

/// The licenses (other than its own) whose serials `record` crossed with
/// also crossed in the same direction.
pub(crate) fn record_partners(
    tx: &Tx,
    record: &tally_model::ShipmentRecord,
) -> Result<BTreeSet<DocumentRef>> {
    let mut out = BTreeSet::new();
    if !record.accepted() {
        return Ok(out);
    }
    for serial in record.items.iter().flat_map(|l| &l.serials) {
        let serial = normalize_serial(serial);
        for other in serial_group(
            tx,
            record.checkpoint.direction,
            &serial,
            SERIAL_GROUP_LIMIT + 1,
        )? {
            if other.license != record.license {
                out.insert(other.license);
            }
        }
    }
    Ok(out)
}

/// Re-judges `serial.repeat` of each of `licenses`.
pub(crate) fn serials_of(tx: &mut Tx, licenses: &BTreeSet<DocumentRef>) -> Result<()> {
    let mut cache = Licenses::new();
    for l in licenses {
        if let Some(state) = cache.get(tx, l)? {
            serial_repeat(tx, &state, &mut cache)?;
        }
    }
    Ok(())
}

/// Licenses read once per judgement (only alerts are written meanwhile).
struct Licenses(BTreeMap<DocumentRef, Option<LicenseState>>);

impl Licenses {
    fn new() -> Licenses {
        Licenses(BTreeMap::new())
    }
    fn get(&mut self, tx: &Tx, r: &DocumentRef) -> Result<Option<LicenseState>> {
        if let Some(held) = self.0.get(r) {
            return Ok(held.clone());
        }
        let held = match r.authority.parse::<AuthorityId>() {
            Ok(a) => tx.license(&a, &r.number)?,
            Err(_) => None,
        };
        self.0.insert(r.clone(), held.clone());
        Ok(held)
    }
}

/// The first uses of `license`'s serials: (direction, recording country,
/// normalized serial, earliest use), from the per-license index.
fn own_serials(
    tx: &Tx,
    license: &DocumentRef,
) -> Result<Vec<(Direction, String, String, crate::state::SerialUse)>> {
    let prefix = keys::Key::new(keys::SERIAL).doc(license).build();
    let mut out = Vec::new();
    for (k, v) in tx.scan_prefix(&prefix)? {
        let Some((direction, country, serial)) = keys::serial_parts(&k) else {
            continue;
        };
        out.push((direction, country, serial, crate::codec::decode(&k, &v)?));
    }
    Ok(out)
}

/// The first `limit` uses of one normalized serial in one direction, under
/// any license, by key.
fn serial_group(
    tx: &Tx,
    direction: Direction,
    serial: &str,
    limit: usize,
) -> Result<Vec<SerialIndexRow>> {
    tx.scan_prefix_limit(&keys::serial_index_prefix(direction, serial), limit)?
        .into_iter()
        .map(|(k, v)| crate::codec::decode(&k, &v))
        .collect()
}

/// Re-judges every export license that cites the import certificate `ic`.
pub(crate) fn citing(tx: &mut Tx, ic: &DocumentRef) -> Result<()> {
    let exports = tx.citing(ic)?;
    for export in exports {
        license(tx, &export)?;
    }
    Ok(())
}

/// Shipment rows of `license`, in the order every node replays them.
fn shipments(tx: &Tx, license: &DocumentRef) -> Result<Vec<ShipmentRow>> {
    let mut rows: Vec<ShipmentRow> = tx
        .scan_prefix(&keys::shipment_prefix(license))?
        .into_iter()
        .map(|(k, v)| crate::codec::decode(&k, &v))
        .collect::<Result<_>>()?;
    rows.sort_by(|a, b| {
        (a.recorded_at_ms, a.recorded_by.as_str(), a.seq).cmp(&(
            b.recorded_at_ms,
            b.recorded_by.as_str(),
            b.seq,
        ))
    });
    Ok(rows)
}

fn accepted(row: &ShipmentRow) -> bool {
    row.verdict == "accept"
}

fn counted(state: &LicenseState, row: &ShipmentRow) -> bool {
    accepted(row)
        && on_route(
            &state.document,
            row.checkpoint.direction,
            &row.checkpoint.country,
        )
}

/// The entry that raised an alert: its authority, seq and `issued_at`.
type Raiser<'a> = (&'a AuthorityId, u64, i64);

fn raise(
    tx: &mut Tx,
    kind: AlertKind,
    state: &LicenseState,
    (by, seq, at): Raiser,
    open: bool,
    detail: String,
) {
    let license = Some(state.reference());
    tx.raise(&Alert {
        id: alert_id(kind, license.as_ref(), by, seq),
        kind,
        license,
        raised_at_ms: at,
        detail,
        open,
    });
}

/// Deletes the alerts of `kind` about `state` (before rewriting them).
fn clear(tx: &mut Tx, kind: AlertKind, state: &LicenseState) -> Result<()> {
    let prefix = keys::alert_prefix(kind.as_str(), &state.reference());
    for (k, _) in tx.scan_prefix(&prefix)? {
        tx.delete(k);
    }
    Ok(())
}

/// `shipment.off_route`: an accepted record from a country its direction
/// does not allow under the license as it stands. Routes only shrink
/// (amendments may remove transit countries, never add them), so once raised
/// it stays raised.
fn off_route(tx: &mut Tx, state: &LicenseState, rows: &[ShipmentRow]) {
    for row in rows.iter().filter(|r| accepted(r) && !counted(state, r)) {
        let detail = format!(
            "{} recorded an accepted {} at {:?} in {}, which the route of {} {} does not allow; it does not count",
            row.recorded_by,
            row.checkpoint.direction.as_str(),
            row.checkpoint.port,
            row.checkpoint.country,
            state.authority,
            state.number
        );
        raise(
            tx,
            AlertKind::ShipmentOffRoute,
            state,
            (&row.recorded_by, row.seq, row.recorded_at_ms),
            true,
            detail,
        );
    }
}

/// The status in force at `at_ms` by the license's history.
fn status_at(state: &LicenseState, at_ms: i64) -> Status {
    let mut status = Status::Active;
    for e in &state.history {
        if e.at_ms > at_ms {
            break;
        }
        status = match e.event.as_str() {
            "suspended" => Status::Suspended,
            "revoked" => Status::Revoked,
            "active" => Status::Active,
            _ => status,
        };
    }
    status
}

/// `shipment.after_revocation`: an accepted crossing recorded after the
/// license's suspension or revocation took effect (the border had not heard
/// of it yet, e.g. across a partition).
fn after_revocation(tx: &mut Tx, state: &LicenseState, rows: &[ShipmentRow]) {
    for row in rows.iter().filter(|r| counted(state, r)) {
        let status = status_at(state, row.recorded_at_ms);
        if status == Status::Active {
            continue;
        }
        let detail = format!(
            "{} accepted a crossing ({}) at {:?} while {} {} was {}",
            row.recorded_by,
            row.checkpoint.direction.as_str(),
            row.checkpoint.port,
            state.authority,
            state.number,
            status.as_str()
        );
        raise(
            tx,
            AlertKind::ShipmentAfterRevocation,
            state,
            (&row.recorded_by, row.seq, row.recorded_at_ms),
            true,
            detail,
        );
    }
}

/// `shipment.discrepancy`: the counted records, replayed in order; raised by
/// the first record after which a line had more entered, or transited
/// through one country, than exited; open while that is still so.
fn discrepancy(tx: &mut Tx, state: &LicenseState, rows: &[ShipmentRow]) -> Result<()> {
    clear(tx, AlertKind::ShipmentDiscrepancy, state)?;
    // Per line: exited, entered, transited per country.
    let mut exit: BTreeMap<u32, u64> = BTreeMap::new();
    let mut entry: BTreeMap<u32, u64> = BTreeMap::new();
    let mut transit: BTreeMap<(u32, String), u64> = BTreeMap::new();
    let mut first: Option<&ShipmentRow> = None;
    let excess = |exit: &BTreeMap<u32, u64>,
                  entry: &BTreeMap<u32, u64>,
                  transit: &BTreeMap<(u32, String), u64>|
     -> Option<String> {
        let out = |line: &u32| exit.get(line).copied().unwrap_or(0);
        if let Some((line, n)) = entry.iter().find(|(l, n)| **n > out(l)) {
            return Some(format!(
                "line {line}: {n} recorded entering, {} exiting",
                out(line)
            ));
        }
        transit
            .iter()
            .find(|((l, _), n)| **n > out(l))
            .map(|((line, c), n)| {
                format!(
                    "line {line}: {n} recorded transiting {c}, {} exiting",
                    out(line)
                )
            })
    };
    for row in rows.iter().filter(|r| counted(state, r)) {
        for item in &row.items {
            let q = item.quantity;
            let slot = match row.checkpoint.direction {
                Direction::Exit => exit.entry(item.line).or_default(),
                Direction::Entry => entry.entry(item.line).or_default(),
                Direction::Transit => transit
                    .entry((item.line, row.checkpoint.country.clone()))
                    .or_default(),
            };
            *slot = slot.saturating_add(q);
        }
        if first.is_none() && excess(&exit, &entry, &transit).is_some() {
            first = Some(row);
        }
    }
    let Some(row) = first else {
        return Ok(());
    };
    let now = excess(&exit, &entry, &transit);
    let detail = match &now {
        Some(why) => format!("{} {}: {why}", state.authority, state.number),
        None => format!(
            "{} {}: more was recorded entering or transiting than exiting; exits have since caught up",
            state.authority, state.number
        ),
    };
    raise(
        tx,
        AlertKind::ShipmentDiscrepancy,
        state,
        (&row.recorded_by, row.seq, row.recorded_at_ms),
        now.is_some(),
        detail,
    );
    Ok(())
}

/// `import.withdrawn`: for an export license, each suspension or revocation
/// of the import certificate it cites that took effect while the export was
/// active; open while the certificate is still withdrawn and the export
/// still active.
fn import_withdrawn(tx: &mut Tx, export: &LicenseState) -> Result<()> {
    let License::Export(e) = &export.document else {
        return Ok(());
    };
    let Some(ic_ref) = &e.import_certificate else {
        return Ok(());
    };
    tx.put_raw(keys::cites(ic_ref, &export.reference()), Vec::new());
    clear(tx, AlertKind::ImportWithdrawn, export)?;
    let Ok(ic_authority) = ic_ref.authority.parse::<AuthorityId>() else {
        return Ok(());
    };
    let Some(ic) = tx.license(&ic_authority, &ic_ref.number)? else {
        return Ok(());
    };
    let withdrawals: Vec<_> = ic
        .history
        .iter()
        .filter(|h| matches!(h.event.as_str(), "suspended" | "revoked"))
        .filter(|h| h.at_ms >= export.issued_at_ms && status_at(export, h.at_ms) == Status::Active)
        .collect();
    let last = withdrawals.len().saturating_sub(1);
    for (i, h) in withdrawals.into_iter().enumerate() {
        let open = i == last && ic.status != Status::Active && export.status == Status::Active;
        let detail = format!(
            "{} {} was {} ({:?}); {} {} relies on it: shipments under it fail import.authorization",
            ic.authority,
            ic.number,
            h.event,
            h.reason.as_deref().unwrap_or(""),
            export.authority,
            export.number
        );
        raise(
            tx,
            AlertKind::ImportWithdrawn,
            export,
            (&ic.authority, h.entry.seq, h.at_ms),
            open,
            detail,
        );
    }
    Ok(())
}

/// The make of `line` on `license`, normalized; `None` when the license
/// names none (or has no such line): a missing make matches any.
fn make_of(license: &License, line: u32) -> Option<String> {
    let items = match license {
        License::Export(e) => &e.items,
        License::Import(i) => &i.items,
        License::Transit(_) | License::Delivery(_) => return None,
    };
    items
        .iter()
        .find(|i| i.line == line)
        .and_then(|i| i.make.as_deref())
        .map(normalize_make)
        .filter(|m| !m.is_empty())
}

/// Most repeats named in one alert's detail; the rest are counted.
const REPEATS_IN_DETAIL: usize = 8;

/// `serial.repeat`: a serial that crossed, counted, under `state` also
/// crossed, counted, in the same direction under another license (same make
/// after [`normalize_make`], or either make missing). For each of its serials
/// the earliest such crossing under another license is the repeat, raised
/// by the later of the two first crossings; one alert per raising record,
/// naming what it repeated. It never closes.
fn serial_repeat(tx: &mut Tx, state: &LicenseState, cache: &mut Licenses) -> Result<()> {
    clear(tx, AlertKind::SerialRepeat, state)?;
    let me = state.reference();
    // Raising record -> (issued_at, what it repeated).
    let mut found: BTreeMap<(AuthorityId, u64), (i64, BTreeSet<String>)> = BTreeMap::new();
    for (direction, country, serial, mine) in own_serials(tx, &me)? {
        if !on_route(&state.document, direction, &country) {
            continue;
        }
        let make = make_of(&state.document, mine.line);
        let group = serial_group(tx, direction, &serial, SERIAL_GROUP_LIMIT)?;
        if !group
            .iter()
            .any(|r| r.license == me && r.country == country && r.line == mine.line)
        {
            continue;
        }
        let mut first: Option<SerialIndexRow> = None;
        for other in group {
            if other.license == me || first.as_ref().is_some_and(|f| f.order() <= other.order()) {
                continue;
            }
            let Some(o) = cache.get(tx, &other.license)? else {
                continue;
            };
            if on_route(&o.document, direction, &other.country)
                && same_make(make.as_deref(), make_of(&o.document, other.line).as_deref())
            {
                first = Some(other);
            }
        }
        let Some(other) = first else {
            continue;
        };
        let (by, seq, at) = if other.order() > mine.order() {
            (other.recorded_by.clone(), other.seq, other.recorded_at_ms)
        } else {
            (mine.recorded_by.clone(), mine.seq, mine.recorded_at_ms)
        };
        let what = format!(
            "serial {serial}{} crossed ({}) under {} {} ({} seq {}) and under {} {} ({} seq {})",
            make.as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default(),
            direction.as_str(),
            state.authority,
            state.number,
            mine.recorded_by,
            mine.seq,
            other.license.authority,
            other.license.number,
            other.recorded_by,
            other.seq
        );
        found
            .entry((by, seq))
            .or_insert_with(|| (at, BTreeSet::new()))
            .1
            .insert(what);
    }
    for ((by, seq), (at, repeats)) in found {
        let n = repeats.len();
        let mut detail: Vec<String> = repeats.into_iter().take(REPEATS_IN_DETAIL).collect();
        if n > REPEATS_IN_DETAIL {
            detail.push(format!("and {} more", n - REPEATS_IN_DETAIL));
        }
        raise(
            tx,
            AlertKind::SerialRepeat,
            state,
            (&by, seq, at),
            true,
            detail.join("; "),
        );
    }
    Ok(())
}

/// What moves the delivery balance of an export license, in date order.
enum Event<'a> {
    /// A delivery verification (non-revoked, from the importing country).
    Delivered(&'a [tally_model::DeliveryLine]),
    /// A counted exit that fell due (its date plus `delivery_days`).
    Due(&'a ShipmentRow),
}

/// `delivery.overdue`: counted exits whose date plus `delivery_days` is
/// today or earlier, against the export license's delivery verifications.
/// Replayed in date order (on one day, due exits first, by (`issued_at`,
/// recorder, seq), then deliveries: an exit due today is overdue until a
/// delivery covers it, which is what `delivery_days = 0` means): an alert
/// is raised by the due exit after
/// which some line had less delivered than exited-and-due, and closes when
/// deliveries catch up; open while that is so today. Revoking the license
/// does not close it (the goods left all the same).
fn overdue(tx: &mut Tx, state: &LicenseState, rows: &[ShipmentRow]) -> Result<()> {
    clear(tx, AlertKind::DeliveryOverdue, state)?;
    let License::Export(export) = &state.document else {
        return Ok(());
    };
    let due = tx.due();
    let me = state.reference();
    let deliveries = tx.deliveries_for(&me)?;
    let mut events: Vec<(Date, u8, Event)> = Vec::new();
    let mut delivery_order: Vec<(Date, String, String, &[tally_model::DeliveryLine])> = Vec::new();
    for d in &deliveries {
        let License::Delivery(v) = &d.document else {
            continue;
        };
        if d.status == Status::Revoked
            || d.authority.country().as_str() != export.importing_country
            || v.export_license != me
        {
            continue;
        }
        let Ok(date) = v.date.parse::<Date>() else {
            continue;
        };
        delivery_order.push((date, d.authority.to_string(), d.number.clone(), &v.items));
    }
    delivery_order.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
    for (date, _, _, items) in delivery_order {
        events.push((date, 1, Event::Delivered(items)));
    }
    // `rows` is already in (issued_at, recorder, seq) order; the sort below
    // is stable, so exits due on one day keep it.
    for row in rows
        .iter()
        .filter(|r| r.checkpoint.direction == Direction::Exit && counted(state, r))
    {
        let Ok(exit) = row.date.parse::<Date>() else {
            continue;
        };
        let due_on = due.due_date(exit);
        if due_on <= due.today {
            events.push((due_on, 0, Event::Due(row)));
        }
    }
    events.sort_by_key(|(date, rank, _)| (*date, *rank));

    let mut delivered: BTreeMap<u32, u64> = BTreeMap::new();
    let mut exited: BTreeMap<u32, u64> = BTreeMap::new();
    let short = |exited: &BTreeMap<u32, u64>, delivered: &BTreeMap<u32, u64>| {
        exited
            .iter()
            .map(|(l, q)| (*l, *q, delivered.get(l).copied().unwrap_or(0)))
            .find(|(_, q, d)| q > d)
    };
    // The due exit that opened the current shortfall, and its due date.
    let mut episode: Option<(&ShipmentRow, Date)> = None;
    for (date, _, event) in &events {
        match event {
            Event::Delivered(items) => {
                for l in items.iter() {
                    let q = delivered.entry(l.line).or_default();
                    *q = q.saturating_add(l.quantity);
                }
                if let Some((row, due_on)) = episode
                    && short(&exited, &delivered).is_none()
                {
                    let detail = format!(
                        "{} {}: goods exited on {} were not verified delivered by {due_on}; deliveries caught up on {date}",
                        state.authority, state.number, row.date
                    );
                    raise_overdue(tx, state, row, due_on, false, detail);
                    episode = None;
                }
            }
            Event::Due(row) => {
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
                state.authority, state.number, row.date
            ),
            None => format!(
                "{} {}: goods exited on {} not verified delivered by {due_on}",
                state.authority, state.number, row.date
            ),
        };
        raise_overdue(tx, state, row, due_on, true, detail);
    }
    Ok(())
}

fn raise_overdue(
    tx: &mut Tx,
    state: &LicenseState,
    row: &ShipmentRow,
    due_on: Date,
    open: bool,
    detail: String,
) {
    raise(
        tx,
        AlertKind::DeliveryOverdue,
        state,
        (
            &row.recorded_by,
            row.seq,
            due_on.days().saturating_mul(DAY_MS),
        ),
        open,
        detail,
    );
}
