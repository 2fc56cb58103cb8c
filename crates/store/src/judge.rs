//! Alerts that join documents of different logs: a license and the shipment
//! records, status changes and import certificates that concern it.
//!
//! [`license`] re-judges one license from scratch whenever an entry that
//! touches it is applied, reading only the set of entries held: the records
//! are replayed in a fixed order (by `issued_at`, recorder, seq), never in
//! arrival order, so every node that holds the same entries raises the same
//! alerts with the same ids, and a reindex rebuilds them (DESIGN.md
//! section 3). Kinds that can close (`shipment.discrepancy`,
//! `import.withdrawn`) are rewritten whole for the license each time.

use crate::error::Result;
use crate::keys;
use crate::state::{Alert, LicenseState, ShipmentRow};
use crate::tx::Tx;
use std::collections::BTreeMap;
use tally_model::{
    AlertKind, AuthorityId, Direction, DocumentRef, License, Status, alert_id, on_route,
};

/// Re-judges every joined alert of `license` (a reference; nothing happens
/// while the license itself is not held).
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
    Ok(())
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
        .map(|(k, v)| crate::derive::decode(&k, &v))
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
