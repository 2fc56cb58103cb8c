//! The demo's year of traffic: twelve months of US-BIS export licenses to
//! Mexico (pistols, rifles, cartridges; some by sea through Guatemala),
//! each with its SEDENA import certificate, its exit, transit and entry
//! recorded and its delivery verified, so that the Statistics page, a trace
//! and the ATT report have something to show. A few go wrong on purpose,
//! as diversions do, and the alerts catch them:
//! - every [`NEVER_ARRIVES`]th license exits and never enters Mexico
//!   (`delivery.overdue`);
//! - every [`MORE_ENTERED`]th enters with more than left the US
//!   (`shipment.discrepancy`);
//! - every [`NOT_DELIVERED`]th enters and is never verified delivered
//!   (`delivery.overdue`);
//! - twice a license lists a pistol an earlier license already exported
//!   (`serial.repeat`);
//! - once a quarter a truck declares serials that are on no license and is
//!   refused (`shipment.refused`).
//!
//! It is written before the day's story, with the nodes' shared clock
//! ([`crate::clock::ShiftedClock`]) set back to each day in turn: a node
//! records a crossing only with today's date, and each log's time only
//! moves forward (months in order; within a month, certificates, licenses,
//! transit authorizations, exits, transits, entries, deliveries).

use crate::clock::ShiftedClock;
use crate::node::Node;
use anyhow::bail;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tally_model::{AuthorityId, Date, License};
use tally_verify::{CheckRequest, Verifier};

/// Months written, ending today.
pub const MONTHS: i64 = 12;
/// Export licenses per month.
pub const PER_MONTH: u64 = 16;
pub const NEVER_ARRIVES: u64 = 23;
pub const MORE_ENTERED: u64 = 37;
pub const NOT_DELIVERED: u64 = 29;
/// Every `THROUGH_GUATEMALA`th license goes by sea through Guatemala.
const THROUGH_GUATEMALA: u64 = 6;
/// Pistol licenses whose line lists a pistol of an earlier one again.
const REPEATS: [(u64, u64); 2] = [(78, 5), (143, 8)];

const DAY_MS: i64 = 86_400_000;

/// What the year wrote, for the demo's banner.
#[derive(Debug, Default, Clone, Copy)]
pub struct Year {
    pub licenses: u64,
    pub crossings: u64,
    pub deliveries: u64,
}

/// One license of the year and what happens to it.
struct Plan {
    n: u64,
    kind: Kind,
    quantity: u64,
    serials: Vec<String>,
    transit: bool,
}

#[derive(Clone, Copy)]
enum Kind {
    Pistols,
    Rifles,
    MilitaryRifles,
    Cartridges,
}

impl Kind {
    /// The item line: (category, unit, description, HS code, model,
    /// caliber, ATT fields).
    fn line(self, quantity: u64, serials: &[String]) -> Value {
        let (category, unit, desc, hs, model, caliber) = match self {
            Kind::Pistols => (
                "firearm",
                "units",
                "Semi-automatic pistol, 9x19mm (ECCN 0A501.a)",
                "930200",
                "LS9 Duty",
                "9x19mm",
            ),
            Kind::Rifles => (
                "firearm",
                "units",
                "Bolt-action rifle, .308 Win (ECCN 0A501.a)",
                "930330",
                "LSR Ranger",
                ".308 Win",
            ),
            Kind::MilitaryRifles => (
                "firearm",
                "units",
                "Semi-automatic rifle, 5.56x45mm (USML Cat. I(a))",
                "930190",
                "LS556 Patrol",
                "5.56x45mm",
            ),
            Kind::Cartridges => (
                "ammunition",
                "rounds",
                "Cartridges, 9x19mm, full metal jacket, 124 gr (ECCN 0A505.a)",
                "930630",
                "9mm Luger FMJ 124 gr",
                "9x19mm",
            ),
        };
        let mut line = json!({"line": 1, "category": category, "description": desc, "hs_code": hs,
            "make": "Lone Star Arms", "model": model, "caliber": caliber,
            "quantity": quantity, "unit": unit, "serials": serials, "origin_country": "US"});
        if let Kind::MilitaryRifles = self {
            line["action"] = json!("semi_automatic");
            line["caliber_mm"] = json!(5.56);
        }
        line
    }
}

fn plan(n: u64) -> Plan {
    let kind = match n % 5 {
        0 | 3 => Kind::Pistols,
        1 => Kind::Cartridges,
        2 => Kind::Rifles,
        _ => Kind::MilitaryRifles,
    };
    let quantity = match kind {
        Kind::Cartridges => 10_000 + (n % 6) * 5_000,
        _ => 20 + (n * 7) % 60,
    };
    let mut serials: Vec<String> = match kind {
        Kind::Cartridges => Vec::new(),
        _ => (0..quantity)
            .map(|k| format!("LSY-{n:04}-{k:03}"))
            .collect(),
    };
    if let (Some((_, earlier)), Some(first)) =
        (REPEATS.iter().find(|(at, _)| *at == n), serials.first_mut())
    {
        *first = format!("LSY-{earlier:04}-000");
    }
    Plan {
        n,
        kind,
        quantity,
        serials,
        transit: n % THROUGH_GUATEMALA == 4,
    }
}

fn license_number(n: u64) -> String {
    format!("D13{n:05}")
}

fn certificate_number(date: Date, n: u64) -> String {
    format!("DCAM-PI-{}-{:04}", date.ymd().0, 1000 + n)
}

/// The demo's parties, as the story's documents name them.
fn parties() -> Value {
    json!({
        "exporter": {"name": "Lone Star Arms Manufacturing LLC", "id": "FFL 5-74-12345",
                     "address": "San Antonio, TX 78216, USA"},
        "importer": {"name": "Dirección de Comercialización de Armamento y Municiones (DCAM), SEDENA",
                     "id": "SDN-DCAM", "address": "Ciudad de México, México"},
        "end_user": {"name": "Fuerza Civil, Secretaría de Seguridad del Estado de Nuevo León",
                     "address": "Monterrey, Nuevo León, México"},
        "end_use": "Dotación de la policía estatal (Fuerza Civil) / state police duty issue"
    })
}

fn with_parties(mut v: Value) -> anyhow::Result<License> {
    if let (Some(doc), Value::Object(p)) = (v.as_object_mut(), parties()) {
        doc.extend(p);
    }
    Ok(serde_json::from_value(v)?)
}

/// The day `offset` days from `today`, `YYYY-MM-DD`.
fn day(today: Date, offset: i64) -> String {
    Date::from_unix_ms((today.days() + offset) * DAY_MS).to_string()
}

/// The verifiers of US-BIS, MX-SEDENA and GT-DIGECAM, the demo's first
/// three nodes.
pub(crate) fn route_states(nodes: &[Node]) -> [&Verifier; 3] {
    [
        nodes[0].verifier(),
        nodes[1].verifier(),
        nodes[2].verifier(),
    ]
}

/// Writes the year through the nodes (US-BIS, MX-SEDENA, GT-DIGECAM first),
/// moving `clock` from [`MONTHS`] months back to today.
pub async fn write(nodes: &[Node], clock: &ShiftedClock) -> anyhow::Result<Year> {
    let mut year = Year::default();
    for month in 0..MONTHS {
        // The month's first day, counted back from today (30-day months).
        let first = (month - MONTHS) * 30 + 1;
        let plans: Vec<Plan> = (0..PER_MONTH)
            .map(|k| plan(u64::try_from(month).unwrap_or(0) * PER_MONTH + k))
            .collect();
        write_month(nodes, clock, first, &plans, &mut year).await?;
    }
    clock.set_offset_ms(0);
    Ok(year)
}

/// One action of the month, on day `first + at` of the shared clock, run on
/// the blocking pool (it signs and fsyncs).
async fn on_day<T: Send + 'static>(
    clock: &ShiftedClock,
    at: i64,
    v: &Verifier,
    f: impl FnOnce(&Verifier, Date) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    clock.set_offset_ms(at * DAY_MS);
    let v = v.clone();
    tokio::task::spawn_blocking(move || {
        let today = v.today();
        f(&v, today)
    })
    .await?
}

async fn write_month(
    nodes: &[Node],
    clock: &ShiftedClock,
    first: i64,
    plans: &[Plan],
    year: &mut Year,
) -> anyhow::Result<()> {
    let [us, mx, gt] = route_states(nodes);
    let numbers: Vec<u64> = plans.iter().map(|p| p.n).collect();
    let ic_numbers = on_day(clock, first, mx, move |mx, today| {
        let mut out = Vec::new();
        for n in numbers {
            let p = plan(n);
            let number = certificate_number(today, n);
            mx.issuer()
                .issue(with_parties(json!({"kind": "import", "number": number,
                "importing_country": "MX", "exporting_country": "US",
                "items": [p.kind.line(p.quantity, &[])],
                "valid_from": day(today, -1), "valid_until": day(today, 200)}))?)?;
            out.push(number);
        }
        Ok(out)
    })
    .await?;
    until_last_held(us, "MX-SEDENA", ic_numbers.last()).await?;
    for (k, p) in plans.iter().enumerate() {
        let ic = ic_numbers[k].clone();
        let (n, kind, quantity, serials, transit) =
            (p.n, p.kind, p.quantity, p.serials.clone(), p.transit);
        let at = first
            + 1
            + i64::try_from(k).unwrap_or(0) * 10 / i64::try_from(plans.len()).unwrap_or(1);
        on_day(clock, at, us, move |us, today| {
            us.issuer().issue(with_parties(json!({"kind": "export",
                "number": license_number(n), "exporting_country": "US", "importing_country": "MX",
                "transit_countries": if transit { vec!["GT"] } else { vec![] },
                "items": [kind.line(quantity, &serials)],
                "valid_from": day(today, -1), "valid_until": day(today, 120),
                "import_certificate": {"authority": "MX-SEDENA", "number": ic},
                "shipments": "partial",
                "conditions": "No re-export, resale or transfer without prior written authorization of BIS."}))?)?;
            Ok(())
        })
        .await?;
        year.licenses += 1;
    }
    let last = plans.last().map(|p| license_number(p.n));
    until_last_held(mx, "US-BIS", last.as_ref()).await?;
    // Guatemala reads only the licenses through it.
    let last_by_sea = plans
        .iter()
        .rev()
        .find(|p| p.transit)
        .map(|p| license_number(p.n));
    until_last_held(gt, "US-BIS", last_by_sea.as_ref()).await?;
    let by_sea: Vec<u64> = plans.iter().filter(|p| p.transit).map(|p| p.n).collect();
    let authorized = on_day(clock, first + 11, gt, move |gt, today| {
        let mut last = None;
        for n in by_sea {
            let number = format!("DIGECAM-AT-{}-{:04}", today.ymd().0, 100 + n);
            gt.issuer()
                .issue(serde_json::from_value(json!({"kind": "transit",
                "number": number,
                "transit_country": "GT",
                "export_license": {"authority": "US-BIS", "number": license_number(n)},
                "entry_point": "GTPRQ", "exit_point": "GTTUC",
                "valid_from": day(today, -1), "valid_until": day(today, 90),
                "decision": "authorized"}))?)?;
            last = Some(number);
        }
        Ok(last)
    })
    .await?;
    until_last_held(us, "GT-DIGECAM", authorized.as_ref()).await?;
    crossings(nodes, clock, first, plans, year).await
}

/// The month's exits, transits, entries and deliveries.
async fn crossings(
    nodes: &[Node],
    clock: &ShiftedClock,
    first: i64,
    plans: &[Plan],
    year: &mut Year,
) -> anyhow::Result<()> {
    let [us, mx, gt] = route_states(nodes);
    let moves: Vec<(u64, u64, Vec<String>, bool)> = plans
        .iter()
        .map(|p| {
            // What leaves: all of it, or 80% when more is to enter.
            let out = if p.n % MORE_ENTERED == 0 {
                p.quantity * 4 / 5
            } else {
                p.quantity
            };
            let serials = p
                .serials
                .iter()
                .take(usize::try_from(out).unwrap_or(0))
                .cloned();
            (p.n, out, serials.collect(), p.transit)
        })
        .collect();
    let exits = moves.clone();
    on_day(clock, first + 13, us, move |us, _| {
        for (n, out, serials, _) in exits {
            record(us, crossing(n, "US", "USLRD", "exit", out, &serials), true)?;
        }
        Ok(())
    })
    .await?;
    year.crossings += u64::try_from(moves.len()).unwrap_or(0);
    let transits: Vec<_> = moves.iter().filter(|m| m.3).cloned().collect();
    year.crossings += u64::try_from(transits.len()).unwrap_or(0);
    until_held_shipments(gt, &transits).await?;
    on_day(clock, first + 17, gt, move |gt, _| {
        for (n, out, serials, _) in transits {
            record(
                gt,
                crossing(n, "GT", "GTPRQ", "transit", out, &serials),
                true,
            )?;
        }
        Ok(())
    })
    .await?;
    let entering: Vec<(u64, u64, Vec<String>)> = plans
        .iter()
        .zip(&moves)
        .filter(|(p, _)| p.n % NEVER_ARRIVES != 0)
        .map(|(p, (n, out, serials, _))| {
            if p.n % MORE_ENTERED == 0 {
                (*n, p.quantity, p.serials.clone())
            } else {
                (*n, *out, serials.clone())
            }
        })
        .collect();
    year.crossings += u64::try_from(entering.len()).unwrap_or(0);
    // Once a quarter, a truck under one of the month's pistol licenses
    // declares serials on no license.
    let refused = plans
        .iter()
        .find(|p| matches!(p.kind, Kind::Pistols))
        .map(|p| p.n)
        .filter(|_| first.rem_euclid(90) < 30);
    let entries = entering.clone();
    on_day(clock, first + 20, mx, move |mx, _| {
        for (n, q, serials) in entries {
            record(mx, crossing(n, "MX", "MXNLD", "entry", q, &serials), true)?;
        }
        if let Some(n) = refused {
            let foreign: Vec<String> = (0..5).map(|k| format!("XX9-{n:04}-{k}")).collect();
            record(mx, crossing(n, "MX", "MXNLD", "entry", 5, &foreign), false)?;
        }
        Ok(())
    })
    .await?;
    deliveries(mx, clock, first, &entering, year).await
}

/// SEDENA verifies what entered, but every [`NOT_DELIVERED`]th license.
async fn deliveries(
    mx: &Verifier,
    clock: &ShiftedClock,
    first: i64,
    entering: &[(u64, u64, Vec<String>)],
    year: &mut Year,
) -> anyhow::Result<()> {
    let delivered: Vec<(u64, u64)> = entering
        .iter()
        .filter(|(n, _, _)| n % NOT_DELIVERED != 0)
        .map(|(n, q, _)| (*n, *q))
        .collect();
    year.deliveries += u64::try_from(delivered.len()).unwrap_or(0);
    on_day(clock, first + 25, mx, move |mx, today| {
        for (n, q) in delivered {
            mx.issuer()
                .issue(serde_json::from_value(json!({"kind": "delivery",
                "number": format!("DCAM-VE-{}-{:04}", today.ymd().0, 1000 + n),
                "importing_country": "MX",
                "export_license": {"authority": "US-BIS", "number": license_number(n)},
                "delivered_to": parties()["end_user"], "date": today.to_string(),
                "items": [{"line": 1, "quantity": q}]}))?)?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

fn crossing(
    n: u64,
    country: &str,
    port: &str,
    direction: &str,
    quantity: u64,
    serials: &[String],
) -> CheckRequest {
    serde_json::from_value(json!({
        "license": {"authority": "US-BIS", "number": license_number(n)},
        "checkpoint": {"country": country, "port": port, "direction": direction},
        "exporter": "Lone Star Arms Manufacturing LLC",
        "importer": "Dirección de Comercialización de Armamento y Municiones (DCAM), SEDENA",
        "items": [{"line": 1, "quantity": quantity, "serials": serials}], "record": true}))
    .unwrap_or_else(|e| unreachable!("the demo's crossing is well formed: {e}"))
}

/// Records `req` on `v` and makes sure the verdict is the one the story
/// needs (the year's and the day's).
pub(crate) fn record(v: &Verifier, req: CheckRequest, accept: bool) -> anyhow::Result<()> {
    let what = format!(
        "{} {} {} at {} {}",
        req.license.authority,
        req.license.number,
        req.checkpoint.direction.as_str(),
        req.checkpoint.country,
        req.checkpoint.port
    );
    let checked = v.checker().check(req)?;
    if checked.verdict.accepted() != accept || checked.record.is_none() {
        bail!(
            "demo data: {what} was {} (failed: {:?}), expected {}",
            checked.verdict.as_str(),
            checked.verdict.failed_rules(),
            if accept {
                "accept, recorded"
            } else {
                "reject, recorded"
            }
        );
    }
    Ok(())
}

/// Waits until `v` holds document `number` of `authority`.
pub(crate) async fn until_held(v: &Verifier, authority: &str, number: &str) -> anyhow::Result<()> {
    let a: AuthorityId = authority.parse()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while v.reader()?.license(&a, number)?.is_none() {
        if Instant::now() > deadline {
            bail!("{authority} {number} did not replicate within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// [`until_held`] for the last of a batch, if the batch had any.
async fn until_last_held(
    v: &Verifier,
    authority: &str,
    last: Option<&String>,
) -> anyhow::Result<()> {
    match last {
        Some(number) => until_held(v, authority, number).await,
        None => Ok(()),
    }
}

/// Waits until Guatemala holds the exits of the licenses in `transits` (its
/// transit check counts what left).
async fn until_held_shipments(
    gt: &Verifier,
    transits: &[(u64, u64, Vec<String>, bool)],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    for (n, _, _, _) in transits {
        let license = tally_model::DocumentRef {
            authority: "US-BIS".into(),
            number: license_number(*n),
        };
        while gt.reader()?.shipments(&license)?.is_empty() {
            if Instant::now() > deadline {
                bail!(
                    "the exit of {} did not reach GT within 20 s",
                    license.number
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_plans_its_diversions() {
        let all: Vec<Plan> = (0..u64::try_from(MONTHS).unwrap() * PER_MONTH)
            .map(plan)
            .collect();
        assert_eq!(all.len(), 192);
        assert!(all.iter().filter(|p| p.transit).count() >= 30);
        for (at, earlier) in REPEATS {
            let repeated = &all[usize::try_from(at).unwrap()].serials[0];
            assert!(
                all[usize::try_from(earlier).unwrap()]
                    .serials
                    .contains(repeated)
            );
        }
        assert!(all.iter().any(|p| p.n % NEVER_ARRIVES == 0));
        assert!(
            all.iter()
                .any(|p| p.n % MORE_ENTERED == 0 && !p.serials.is_empty())
        );
    }
}
