//! Alerts that join documents of different logs: a license and the shipment
//! records, status changes and import certificates that concern it.
//!
//! [`license`] re-judges one license from scratch whenever an entry that
//! touches it is applied, reading only the set of entries held: the records
//! are replayed in a fixed order (by `issued_at`, recorder, seq), never in
//! arrival order, so every node that holds the same entries raises the same
//! alerts with the same ids, and a reindex rebuilds them (docs/ARCHITECTURE.md). Kinds that can close (`shipment.discrepancy`,
//! `import.withdrawn`, `delivery.overdue`, `return.overdue`) and `serial.repeat` (which joins
//! other licenses' records) are rewritten whole for the license each time.
//! `delivery.overdue` also depends on today's date (the transaction's
//! [`crate::clock::Due`]): a date-driven pass re-judges the licenses whose
//! exits fell due since ([`crate::Store::judge_overdue`]).

use crate::error::Result;
use crate::keys;
use crate::state::{Alert, LicenseState, SerialIndexRow, ShipmentRow};
use crate::tx::Tx;
use crate::view::View;
use std::collections::{BTreeMap, BTreeSet};
use tally_model::judgement::{self, Delivered, Event, Finding, Subject};
use tally_model::{
    AlertKind, AuthorityId, Date, DeliveryLine, Direction, DocumentRef, License, Status, alert_id,
    normalize_serial,
};

/// Whether a license may already have joined alerts to rewrite.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Just issued: none of the kinds [`license`] rewrites is held about it
    /// (they are raised only about a held license, and only a rebuild takes
    /// a license away), so there is nothing to clear first.
    New,
    /// It was held before: its alerts are cleared, then raised again.
    Before,
}

/// Re-judges every joined alert of `license` (a reference; nothing happens
/// while the license itself is not held) but `serial.repeat`, which only
/// serials, routes and makes change: [`serials_of`].
pub(crate) fn license(tx: &mut Tx, license: &DocumentRef, held: Held) -> Result<()> {
    let Ok(authority) = license.authority.parse::<AuthorityId>() else {
        return Ok(());
    };
    let Some(state) = tx.license(&authority, &license.number)? else {
        return Ok(());
    };
    let rows = shipments(tx, license)?;
    let s = subject(&state);
    let mut found = judgement::off_route(&s, &rows);
    found.extend(judgement::after_revocation(&s, &rows));
    clear(tx, AlertKind::ShipmentDiscrepancy, &state, held)?;
    found.extend(judgement::discrepancy(&s, &rows));
    clear(tx, AlertKind::ShipmentUnplanned, &state, held)?;
    found.extend(tally_model::plan::findings(&s, &rows));
    keep(tx, &state, found);
    import_withdrawn(tx, &state, held)?;
    overdue(tx, &state, &rows, held)?;
    return_overdue(tx, &state, &rows, held)?;
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
/// `license` can change. `None` when no serial crossed under `license`:
/// then it has no `serial.repeat` to judge, none held to clear (only its
/// own serials' first uses raise one, and they are never removed but by a
/// rebuild), and no partner (the common case of a license just issued,
/// which then costs no second read of its record).
pub(crate) fn serial_partners(
    tx: &Tx,
    license: &DocumentRef,
) -> Result<Option<BTreeSet<DocumentRef>>> {
    let own = own_serials(tx, license)?;
    if own.is_empty() {
        return Ok(None);
    }
    let mut out = BTreeSet::new();
    for (direction, _, serial, _) in own {
        for other in serial_group(tx, direction, &serial, SERIAL_GROUP_LIMIT + 1)? {
            if &other.license != license {
                out.insert(other.license);
            }
        }
    }
    Ok(Some(out))
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
    // A return changes no group of its own direction (returns repeat
    // nothing) but whether its license's crossings in the others repeat.
    let directions: &[Direction] = match record.checkpoint.direction {
        Direction::Return => &[Direction::Exit, Direction::Transit, Direction::Entry],
        d => &[d],
    };
    for serial in record.items.iter().flat_map(|l| &l.serials) {
        let serial = normalize_serial(serial);
        for &direction in directions {
            for other in serial_group(tx, direction, &serial, SERIAL_GROUP_LIMIT + 1)? {
                if other.license != record.license {
                    out.insert(other.license);
                }
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
        out.push((
            direction,
            country,
            serial,
            crate::serial_rows::decode_use(&k, &v)?,
        ));
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
        .map(|(k, v)| crate::serial_rows::decode_index(&k, &v))
        .collect()
}

/// Re-judges every export license that cites the import certificate `ic`.
pub(crate) fn citing(tx: &mut Tx, ic: &DocumentRef) -> Result<()> {
    let exports = tx.citing(ic)?;
    for export in exports {
        license(tx, &export, Held::Before)?;
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
    rows.sort_by(judgement::crossing_order);
    Ok(rows)
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
pub(crate) fn clear(tx: &mut Tx, kind: AlertKind, state: &LicenseState, held: Held) -> Result<()> {
    if held == Held::New {
        return Ok(());
    }
    let prefix = keys::alert_prefix(kind.as_str(), &state.reference());
    for (k, _) in tx.scan_prefix(&prefix)? {
        tx.delete(k);
    }
    Ok(())
}

/// `serial.repeat` of `state`, rewritten whole: the rule
/// ([`judgement::first_repeat`], [`judgement::serial_repeats`]) reads each
/// of its serials' first use and the serial's group across licenses, and
/// the other licenses of the group as they stand.
fn serial_repeat(tx: &mut Tx, state: &LicenseState, cache: &mut Licenses) -> Result<()> {
    clear(tx, AlertKind::SerialRepeat, state, Held::Before)?;
    let s = subject(state);
    let mut repeats = Vec::new();
    for (direction, country, serial, mine) in own_serials(tx, &state.reference())? {
        if !judgement::serial_counts(&state.document, direction, &country) {
            continue;
        }
        let group = serial_group(tx, direction, &serial, SERIAL_GROUP_LIMIT)?;
        let crossing = judgement::SerialCrossing {
            direction,
            country: &country,
            serial: &serial,
            mine: &mine,
            group: &group,
        };
        let mut document_of = |r: &DocumentRef| -> Result<Option<License>> {
            Ok(cache.get(tx, r)?.map(|o| o.document))
        };
        let mut came_back = |r: &DocumentRef, l: &License| came_back(tx, r, l, &serial);
        if let Some(r) = judgement::first_repeat(&s, crossing, &mut document_of, &mut came_back)? {
            repeats.push(r);
        }
    }
    keep(tx, state, judgement::serial_repeats(repeats));
    Ok(())
}

/// Whether the normalized `serial` came back under the temporary export
/// `r` (`l`): a return of it recorded in the exporting country, the only
/// one the route counts.
fn came_back(tx: &Tx, r: &DocumentRef, l: &License, serial: &str) -> Result<bool> {
    let License::Export(e) = l else {
        return Ok(false);
    };
    let key = keys::serial(r, Direction::Return, &e.exporting_country, serial);
    Ok(tx.get(&key)?.is_some())
}

/// `return.overdue` of a temporary export, rewritten whole as of the
/// transaction's date ([`tally_model::temporary::return_overdue`]); its
/// return date is indexed for the date-driven pass.
fn return_overdue(
    tx: &mut Tx,
    state: &LicenseState,
    rows: &[ShipmentRow],
    held: Held,
) -> Result<()> {
    let Some(t) = tally_model::temporary::of(&state.document) else {
        return Ok(());
    };
    if let Ok(by) = t.return_by.parse::<Date>() {
        tx.put_raw(keys::return_by(by.days(), &state.reference()), Vec::new());
    }
    clear(tx, AlertKind::ReturnOverdue, state, held)?;
    let today = tx.due().today;
    let found = tally_model::temporary::return_overdue(&subject(state), rows, today);
    keep(tx, state, found);
    Ok(())
}

/// The license as the rules of [`tally_model::judgement`] read it.
pub(crate) fn subject(state: &LicenseState) -> Subject<'_> {
    Subject {
        authority: &state.authority,
        number: &state.number,
        document: &state.document,
        status: state.status,
        issued_at_ms: state.issued_at_ms,
        history: state
            .history
            .iter()
            .map(|h| Event {
                event: &h.event,
                reason: h.reason.as_deref(),
                at_ms: h.at_ms,
                seq: h.entry.seq,
            })
            .collect(),
    }
}

/// Keeps what a rule found about `state`.
pub(crate) fn keep(tx: &mut Tx, state: &LicenseState, found: impl IntoIterator<Item = Finding>) {
    for f in found {
        raise(tx, f.kind, state, (&f.by, f.seq, f.at_ms), f.open, f.detail);
    }
}

/// `import.withdrawn` of an export license, rewritten whole: the rule
/// reads the import certificate it cites; the citation is indexed here.
fn import_withdrawn(tx: &mut Tx, export: &LicenseState, held: Held) -> Result<()> {
    let License::Export(e) = &export.document else {
        return Ok(());
    };
    let Some(ic_ref) = &e.import_certificate else {
        return Ok(());
    };
    tx.put_raw(keys::cites(ic_ref, &export.reference()), Vec::new());
    clear(tx, AlertKind::ImportWithdrawn, export, held)?;
    let Ok(ic_authority) = ic_ref.authority.parse::<AuthorityId>() else {
        return Ok(());
    };
    let Some(ic) = tx.license(&ic_authority, &ic_ref.number)? else {
        return Ok(());
    };
    let found = judgement::import_withdrawn(&subject(export), &subject(&ic));
    keep(tx, export, found);
    Ok(())
}

/// `delivery.overdue` of an export license, rewritten whole, as of the
/// transaction's date: the rule reads the delivery verifications that
/// count (not revoked, from the importing country, of this license).
fn overdue(tx: &mut Tx, state: &LicenseState, rows: &[ShipmentRow], held: Held) -> Result<()> {
    clear(tx, AlertKind::DeliveryOverdue, state, held)?;
    let License::Export(export) = &state.document else {
        return Ok(());
    };
    let due = tx.due();
    let me = state.reference();
    let verifications = tx.deliveries_for(&me)?;
    let s = subject(state);
    // What came back from a temporary export is not missing either.
    let returns: Vec<(Date, &ShipmentRow, Vec<DeliveryLine>)> = rows
        .iter()
        .filter(|r| r.checkpoint.direction == Direction::Return && s.counts(r))
        .filter_map(|r| {
            let lines = r.items.iter().map(|i| DeliveryLine {
                line: i.line,
                quantity: i.quantity,
            });
            Some((r.date.parse::<Date>().ok()?, r, lines.collect()))
        })
        .collect();
    let returned = returns.iter().map(|(date, r, lines)| Delivered {
        date: *date,
        authority: r.recorded_by.to_string(),
        number: r.seq.to_string(),
        items: lines,
    });
    let deliveries = verifications
        .iter()
        .filter_map(|d| match &d.document {
            License::Delivery(v)
                if d.status != Status::Revoked
                    && d.authority.country().as_str() == export.importing_country
                    && v.export_license == me =>
            {
                Some(Delivered {
                    date: v.date.parse::<Date>().ok()?,
                    authority: d.authority.to_string(),
                    number: d.number.clone(),
                    items: &v.items,
                })
            }
            _ => None,
        })
        .chain(returned)
        .collect();
    let found = judgement::overdue(&s, rows, deliveries, due.today, due.delivery_days);
    keep(tx, state, found);
    Ok(())
}
