//! Planned shipments: an export license may say how its consignments will
//! travel (exit and entry points, mode, dates, carrier: the CICAD Model
//! Regulations' shipment data, which amendments may change). A crossing at
//! a point no plan names, or far outside every plan's dates, is accepted
//! (the license allows it) but said: flagged in the border check's answer
//! ([`unplanned`]) and raised as `shipment.unplanned` ([`findings`]) on
//! every node that reads the license and the record.

use crate::alert::AlertKind;
use crate::date::Date;
use crate::document::{Direction, ExportLicense, License, PlannedShipment};
use crate::faults::{At, Faults};
use crate::fields;
use crate::judgement::{Finding, ShipmentRow, Subject};

/// Most consignments one license plans.
pub const MAX_PLANS: usize = 50;

/// How far outside a plan's dates a crossing may fall and still be the
/// planned one (a ship a week late is the same consignment).
pub const SLACK_DAYS: i64 = 7;

/// The rules of `planned_shipments`: at most [`MAX_PLANS`], each with its
/// two points, readable dates in order, and a carrier's name if any.
pub(crate) fn faults(f: &mut Faults, d: &ExportLicense) {
    let root = At::root();
    let list = root.key("planned_shipments");
    if d.planned_shipments.len() > MAX_PLANS {
        f.add(list, format!("planned_shipments: more than {MAX_PLANS}"));
        return;
    }
    for (i, p) in d.planned_shipments.iter().enumerate() {
        let at = list.index(i);
        for (key, value) in [
            ("exit_point", &p.exit_point),
            ("entry_point", &p.entry_point),
        ] {
            let field = format!("planned_shipments.{key}");
            if f.check(at.key(key), fields::required(&field, value))
                .is_some()
            {
                f.check(at.key(key), fields::number(&field, value));
            }
        }
        let from = f.check(
            at.key("from"),
            fields::date("planned_shipments.from", &p.from),
        );
        let to = f.check(at.key("to"), fields::date("planned_shipments.to", &p.to));
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            f.add(at.key("to"), format!("to {to} is before from {from}"));
        }
        if let Some(c) = &p.carrier {
            f.check(
                at.key("carrier"),
                fields::name("planned_shipments.carrier", c),
            );
        }
    }
}

/// A point as crossings compare it: without case or surrounding space.
fn point(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

/// Why a crossing of `license` in `direction` at `port` on `date` is not
/// one of its planned shipments; `None` when it is, when nothing is planned,
/// or for a direction plans do not name (transit, return).
pub fn unplanned(
    license: &License,
    direction: Direction,
    port: &str,
    date: Date,
) -> Option<String> {
    let License::Export(e) = license else {
        return None;
    };
    if e.planned_shipments.is_empty() {
        return None;
    }
    let at = |p: &PlannedShipment| match direction {
        Direction::Exit => Some(point(&p.exit_point)),
        Direction::Entry => Some(point(&p.entry_point)),
        Direction::Transit | Direction::Return => None,
    };
    let here = point(port);
    let mut points = Vec::new();
    let mut windows = Vec::new();
    for p in &e.planned_shipments {
        let planned = at(p)?;
        if planned != here {
            points.push(planned);
            continue;
        }
        let (Ok(from), Ok(to)) = (p.from.parse::<Date>(), p.to.parse::<Date>()) else {
            continue;
        };
        if from.days() - SLACK_DAYS <= date.days() && date.days() <= to.days() + SLACK_DAYS {
            return None;
        }
        windows.push(format!("{from}..{to}"));
    }
    Some(if windows.is_empty() {
        points.sort();
        points.dedup();
        format!(
            "{} at {here:?}, a point no planned shipment names (planned: {})",
            direction.as_str(),
            points.join(", ")
        )
    } else {
        format!(
            "{} at {here} on {date}, more than {SLACK_DAYS} days outside its planned dates ({})",
            direction.as_str(),
            windows.join(", ")
        )
    })
}

/// `shipment.unplanned`: each counted crossing of the license as it stands
/// that [`unplanned`] says is not planned, raised by that crossing.
/// Rewritten whole whenever the license or a crossing changes (an amended
/// plan may make a crossing planned after all).
pub fn findings(s: &Subject, rows: &[ShipmentRow]) -> Vec<Finding> {
    rows.iter()
        .filter(|r| s.counts(r))
        .filter_map(|row| {
            let date = row.date.parse::<Date>().ok()?;
            let why = unplanned(
                s.document,
                row.checkpoint.direction,
                &row.checkpoint.port,
                date,
            )?;
            Some(Finding {
                kind: AlertKind::ShipmentUnplanned,
                by: row.recorded_by.clone(),
                seq: row.seq,
                at_ms: row.recorded_at_ms,
                open: true,
                detail: format!(
                    "{} {}: {} recorded an accepted {why}",
                    s.authority, s.number, row.recorded_by
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::TransportMode;
    use crate::sample::export_license;

    fn planned() -> License {
        let mut e = export_license();
        e.planned_shipments = vec![
            PlannedShipment {
                exit_point: "USLRD".into(),
                entry_point: "MXNLD".into(),
                mode: TransportMode::Road,
                from: "2027-01-10".into(),
                to: "2027-01-20".into(),
                carrier: Some("Transportes del Golfo SA".into()),
            },
            PlannedShipment {
                exit_point: "USHOU".into(),
                entry_point: "MXVER".into(),
                mode: TransportMode::Sea,
                from: "2027-03-01".into(),
                to: "2027-03-05".into(),
                carrier: None,
            },
        ];
        License::Export(e)
    }

    #[test]
    fn a_crossing_is_planned_at_a_planned_point_near_its_dates() {
        let l = planned();
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(
            unplanned(&l, Direction::Exit, "uslrd ", d("2027-01-12")),
            None
        );
        assert_eq!(
            unplanned(&l, Direction::Exit, "USLRD", d("2027-01-27")),
            None
        );
        assert_eq!(
            unplanned(&l, Direction::Entry, "MXVER", d("2027-02-22")),
            None
        );
        let far = unplanned(&l, Direction::Exit, "USLRD", d("2027-02-01")).unwrap();
        assert!(far.contains("more than 7 days outside") && far.contains("2027-01-10..2027-01-20"));
        let elsewhere = unplanned(&l, Direction::Exit, "USELP", d("2027-01-12")).unwrap();
        assert!(elsewhere.contains("USHOU, USLRD"), "{elsewhere}");
        assert_eq!(
            unplanned(&l, Direction::Transit, "GTPRQ", d("2027-09-09")),
            None
        );
        assert_eq!(
            unplanned(
                &License::Export(export_license()),
                Direction::Exit,
                "X",
                d("2027-01-12")
            ),
            None
        );
    }

    #[test]
    fn plans_are_checked_field_by_field() {
        let License::Export(mut e) = planned() else {
            unreachable!()
        };
        e.planned_shipments[1].to = "2027-02-01".into();
        e.planned_shipments[0].exit_point = String::new();
        let mut f = Faults::new(10);
        faults(&mut f, &e);
        let messages: Vec<String> = f.into_vec().into_iter().map(|f| f.message).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[1].contains("before from"), "{messages:?}");
    }
}
