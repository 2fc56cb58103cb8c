//! Temporary exports and their returns (Firearms Protocol Art. 10(6): trade
//! shows, repair, demonstrations, hunting, competitions): firearms that
//! leave and come back are one export, not two.
//!
//! This module owns the rules of an export license's `temporary` part
//! ([`faults`]) and the alert for goods that did not come back in
//! time ([`return_overdue`], `return.overdue`). A return is recorded by the
//! exporting country against the license itself (`direction: "return"`;
//! [`crate::route::on_route`]), so it never needs a second license and
//! never counts as a second exit. A serial that went out on a temporary
//! export and came back is no `serial.repeat` with the licenses it crosses
//! under before or after ([`crate::judgement::first_repeat`]); one that
//! did not come back stays a repeat, and is overdue besides.

use crate::alert::AlertKind;
use crate::date::Date;
use crate::document::{Direction, ExportLicense, License};
pub use crate::document::{Temporary, TemporaryPurpose};
use crate::faults::{At, Faults};
use crate::fields;
use crate::judgement::{Finding, ShipmentRow, Subject};
use std::collections::BTreeMap;

/// The longest goods may stay abroad: `return_by` at most five years after
/// `valid_from` (a repair or a hunting season, not a permanent export in
/// disguise).
pub const MAX_DAYS_ABROAD: i64 = 1826;

const DAY_MS: i64 = 86_400_000;

/// The rules of `temporary` on an export license: a readable `return_by`
/// on or after `valid_until` (goods may leave until then, and each must be
/// allowed back) and within [`MAX_DAYS_ABROAD`] of `valid_from`.
pub(crate) fn faults(f: &mut Faults, d: &ExportLicense) {
    let Some(t) = &d.temporary else {
        return;
    };
    let root = At::root();
    let temporary = root.key("temporary");
    let at = temporary.key("return_by");
    let Some(by) = f.check(at, fields::date("temporary.return_by", &t.return_by)) else {
        return;
    };
    let (Ok(from), Ok(until)) = (d.valid_from.parse::<Date>(), d.valid_until.parse::<Date>())
    else {
        return;
    };
    if by < until {
        f.add(
            at,
            format!(
                "return_by {by} is before valid_until {until}: goods may leave until then and must be allowed back"
            ),
        );
    } else if by.days() - from.days() > MAX_DAYS_ABROAD {
        f.add(
            at,
            format!(
                "return_by {by} is more than {MAX_DAYS_ABROAD} days after valid_from {from}: a temporary export is not a permanent one"
            ),
        );
    }
}

/// The temporary part of `license`, when it is a temporary export.
pub fn of(license: &License) -> Option<&Temporary> {
    match license {
        License::Export(e) => e.temporary.as_ref(),
        _ => None,
    }
}

/// Per line, the quantities of the counted exits and of the counted returns
/// among `rows`.
fn moved<'a>(
    s: &Subject,
    rows: impl Iterator<Item = &'a ShipmentRow>,
) -> (BTreeMap<u32, u64>, BTreeMap<u32, u64>) {
    let (mut out, mut back) = (BTreeMap::new(), BTreeMap::new());
    for row in rows.filter(|r| s.counts(r)) {
        let into = match row.checkpoint.direction {
            Direction::Exit => &mut out,
            Direction::Return => &mut back,
            Direction::Transit | Direction::Entry => continue,
        };
        for item in &row.items {
            let q: &mut u64 = into.entry(item.line).or_default();
            *q = q.saturating_add(item.quantity);
        }
    }
    (out, back)
}

/// The first line with more out than back: (line, out, back).
fn short(out: &BTreeMap<u32, u64>, back: &BTreeMap<u32, u64>) -> Option<(u32, u64, u64)> {
    out.iter()
        .map(|(l, q)| (*l, *q, back.get(l).copied().unwrap_or(0)))
        .find(|(_, q, b)| q > b)
}

/// `return.overdue` of a temporary export as of `today`: once `return_by`
/// has passed, raised by the first counted exit when some line had less
/// returned by then than exited; open while that is still so, closed (and
/// kept, saying when) once late returns caught up. `rows` in crossing
/// order. Revoking the license does not close it: the goods left all the
/// same.
pub fn return_overdue(s: &Subject, rows: &[ShipmentRow], today: Date) -> Option<Finding> {
    let by: Date = of(s.document)?.return_by.parse().ok()?;
    if today <= by {
        return None;
    }
    let first = rows
        .iter()
        .find(|r| r.checkpoint.direction == Direction::Exit && s.counts(r))?;
    let on_time = |r: &&ShipmentRow| {
        r.checkpoint.direction != Direction::Return || r.date.parse::<Date>().is_ok_and(|d| d <= by)
    };
    let (out, back) = moved(s, rows.iter().filter(on_time));
    // Everything that left was back by `return_by`: nothing to say.
    short(&out, &back)?;
    let (out, back) = moved(s, rows.iter());
    let (open, detail) = match short(&out, &back) {
        Some((line, q, b)) => (
            true,
            format!(
                "{} {}: line {line}: {q} left on a temporary export and {b} came back; they were due back by {by}",
                s.authority, s.number
            ),
        ),
        None => (
            false,
            format!(
                "{} {}: the goods of a temporary export were due back by {by}; they came back late, by {}",
                s.authority,
                s.number,
                last_return(s, rows).map_or_else(|| "?".into(), |d| d.to_string())
            ),
        ),
    };
    Some(Finding {
        kind: AlertKind::ReturnOverdue,
        by: first.recorded_by.clone(),
        seq: first.seq,
        at_ms: (by.days() + 1).saturating_mul(DAY_MS),
        open,
        detail,
    })
}

/// The date of the latest counted return.
fn last_return(s: &Subject, rows: &[ShipmentRow]) -> Option<Date> {
    rows.iter()
        .filter(|r| r.checkpoint.direction == Direction::Return && s.counts(r))
        .filter_map(|r| r.date.parse::<Date>().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Checkpoint, ShipmentLine, Status};
    use crate::faults::Faults;
    use crate::id::AuthorityId;
    use crate::sample::export_license;

    fn temporary(return_by: &str) -> License {
        let mut e = export_license();
        e.valid_from = "2027-01-01".into();
        e.valid_until = "2027-01-31".into();
        e.temporary = Some(Temporary {
            purpose: TemporaryPurpose::Competition,
            return_by: return_by.into(),
        });
        License::Export(e)
    }

    fn row(seq: u64, direction: Direction, country: &str, date: &str, q: u64) -> ShipmentRow {
        ShipmentRow {
            recorded_by: "US-CBP".parse().unwrap(),
            seq,
            recorded_at_ms: seq as i64,
            license: crate::document::DocumentRef {
                authority: "US-DDTC".into(),
                number: "T-1".into(),
            },
            checkpoint: Checkpoint {
                country: country.into(),
                port: String::new(),
                direction,
            },
            date: date.into(),
            verdict: "accept".into(),
            items: vec![ShipmentLine {
                line: 1,
                quantity: q,
                serials: vec![],
            }],
        }
    }

    fn judge(doc: &License, rows: &[ShipmentRow], today: &str) -> Option<Finding> {
        let authority: AuthorityId = "US-DDTC".parse().unwrap();
        let s = Subject {
            authority: &authority,
            number: "T-1",
            document: doc,
            status: Status::Active,
            issued_at_ms: 0,
            history: vec![],
        };
        return_overdue(&s, rows, today.parse().unwrap())
    }

    #[test]
    fn return_by_follows_the_validity() {
        let faults = |by: &str| {
            let License::Export(e) = temporary(by) else {
                unreachable!()
            };
            let mut f = Faults::new(10);
            faults(&mut f, &e);
            f.into_vec()
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
        };
        assert!(faults("2027-03-01").is_empty());
        assert!(faults("2027-01-31").is_empty());
        assert!(faults("2027-01-30")[0].contains("before valid_until"));
        assert!(faults("2032-01-02")[0].contains("not a permanent one"));
        assert!(faults("2027-02-30")[0].contains("return_by"));
    }

    #[test]
    fn overdue_opens_past_return_by_and_closes_when_all_came_back() {
        let doc = temporary("2027-03-01");
        let exit = row(1, Direction::Exit, "US", "2027-01-10", 3);
        let back2 = row(2, Direction::Return, "US", "2027-02-20", 2);
        // Nothing left: nothing due. Before the day after return_by: nothing.
        assert_eq!(judge(&doc, &[], "2027-06-01"), None);
        assert_eq!(judge(&doc, std::slice::from_ref(&exit), "2027-03-01"), None);
        let open = judge(&doc, &[exit.clone(), back2.clone()], "2027-03-02").unwrap();
        assert!(open.open && open.detail.contains("3 left") && open.detail.contains("2 came"));
        assert_eq!((open.kind, open.seq), (AlertKind::ReturnOverdue, 1));
        // The last one back late: the alert stays, closed.
        let late = row(3, Direction::Return, "US", "2027-03-10", 1);
        let closed = judge(&doc, &[exit.clone(), back2.clone(), late], "2027-04-01").unwrap();
        assert!(!closed.open && closed.detail.contains("2027-03-10"));
        // All back in time: no alert at all.
        let on_time = row(3, Direction::Return, "US", "2027-03-01", 1);
        assert_eq!(judge(&doc, &[exit, back2, on_time], "2027-04-01"), None);
    }

    #[test]
    fn returns_recorded_elsewhere_or_refused_do_not_count() {
        let doc = temporary("2027-03-01");
        let exit = row(1, Direction::Exit, "US", "2027-01-10", 1);
        let mut refused = row(2, Direction::Return, "US", "2027-02-01", 1);
        refused.verdict = "reject".into();
        let abroad = row(3, Direction::Return, "MX", "2027-02-01", 1);
        let f = judge(&doc, &[exit, refused, abroad], "2027-03-02").unwrap();
        assert!(f.open);
        // A permanent export has no return_by.
        let mut permanent = doc.clone();
        if let License::Export(e) = &mut permanent {
            e.temporary = None;
        }
        let exit = row(1, Direction::Exit, "US", "2027-01-10", 1);
        assert_eq!(judge(&permanent, &[exit], "2028-01-01"), None);
    }
}
