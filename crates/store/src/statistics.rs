//! Statistics (docs/API.md, `GET /v1/statistics`): the flows of firearms
//! this node's State licensed, exported, imported or saw in transit, from
//! the documents and crossings it reads, counted from the `F` rows the
//! commit path keeps (`flow_rows`) in two range scans.
//!
//! The counting rules, so that two nodes reading the same documents answer
//! the same whatever order the logs arrived in:
//! - a flow's direction is this State's part on the license's route (it
//!   exports, imports, or is a transit country); its counterpart is the
//!   importing State for an export and the exporting State otherwise;
//! - licensed quantities count in the month the license was first issued
//!   (in the node's timezone), at their current version (an amendment
//!   counts once); a revoked license stays counted and is also counted in
//!   `licenses_revoked`;
//! - accepted crossings count in the month of their date, by the direction
//!   recorded at the checkpoint, when recorded by a country on the route
//!   in that direction (as the tallies); refused ones count each failed
//!   rule;
//! - delivered quantities count in the month of the delivery verification's
//!   date, unless it was revoked;
//! - quantities in different units are never added: every flow has one.

use crate::error::Result;
use crate::flow_rows::{self, FlowCrossing, FlowDelivery, FlowDoc, FlowLicense};
use crate::keys;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tally_model::{AlertKind, Category, Date, Direction, Status, Unit};

/// Rows read from the engine at once while counting.
const PAGE: usize = 4096;

/// This State's part on a license's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowDirection {
    Export,
    Import,
    Transit,
}

impl FlowDirection {
    pub fn parse(s: &str) -> Option<FlowDirection> {
        Some(match s {
            "export" => FlowDirection::Export,
            "import" => FlowDirection::Import,
            "transit" => FlowDirection::Transit,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FlowDirection::Export => "export",
            FlowDirection::Import => "import",
            FlowDirection::Transit => "transit",
        }
    }
}

/// Which dimensions the flows are broken down by (direction and unit
/// always).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grouping {
    pub month: bool,
    pub counterpart: bool,
    pub category: bool,
}

impl Grouping {
    /// By month, counterpart and category (the console's Statistics page).
    pub fn all() -> Grouping {
        Grouping {
            month: true,
            counterpart: true,
            category: true,
        }
    }
}

/// What to count.
#[derive(Debug, Clone)]
pub struct StatisticsQuery {
    /// This node's State (ISO 3166-1 alpha-2).
    pub country: String,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub group: Grouping,
    pub direction: Option<FlowDirection>,
    /// Only this counterpart State.
    pub counterpart: Option<String>,
    pub category: Option<Category>,
    /// Only lines whose HS code starts with these digits.
    pub hs: Option<String>,
}

/// The date of an instant (Unix ms) in the node's timezone.
pub type DateAt<'a> = &'a dyn Fn(i64) -> Date;

/// One row of the flows table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    pub direction: Option<FlowDirection>,
    pub unit: Option<Unit>,
    pub licensed: u64,
    pub exited: u64,
    pub transited: u64,
    pub entered: u64,
    pub delivered: u64,
    pub licenses: u64,
    pub licenses_revoked: u64,
}

/// Alerts of one kind raised in the period (in one month of it, when
/// grouped by month).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertCount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    pub kind: AlertKind,
    pub raised: u64,
    /// Of those, how many are closed now.
    pub closed: u64,
    /// Alerts keep no time of closing: always `null` for now.
    pub median_days_to_close: Option<f64>,
}

/// The answer of `GET /v1/statistics`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    pub from: Option<String>,
    pub to: Option<String>,
    pub flows: Vec<Flow>,
    pub refusals: BTreeMap<String, u64>,
    pub alerts: Vec<AlertCount>,
    /// Open `delivery.overdue` alerts (now, whatever the period).
    pub overdue: u64,
}

/// A month as a number: `year * 12 + month - 1`.
fn month_number(date: Date) -> i64 {
    let (y, m, _) = date.ymd();
    y * 12 + i64::from(m) - 1
}

/// `YYYY-MM` of a [`month_number`].
fn month_text(n: i64) -> String {
    format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
}

/// The key a quantity is added under; the counterpart borrows from the
/// license rows, so adding allocates nothing.
type FlowKey<'e> = (
    FlowDirection,
    Option<i64>,
    Option<&'e str>,
    Option<Category>,
    Unit,
);

/// Readable export licenses by the document part of their key, in key
/// order (as the scan reads them): looked up by binary search, and walked
/// alongside the crossings, which come in the same order.
struct Exports(Vec<(Vec<u8>, FlowLicense)>);

impl Exports {
    fn get(&self, doc: &[u8]) -> Option<&FlowLicense> {
        let i = self
            .0
            .binary_search_by(|(k, _)| k.as_slice().cmp(doc))
            .ok()?;
        Some(&self.0[i].1)
    }
}

/// Counts flows for one query.
struct Counter<'q, 'e> {
    q: &'q StatisticsQuery,
    date_at: DateAt<'q>,
    flows: BTreeMap<FlowKey<'e>, Flow>,
}

impl<'e> Counter<'_, 'e> {
    fn in_period(&self, date: Date) -> bool {
        self.q.from.is_none_or(|f| date >= f) && self.q.to.is_none_or(|t| date <= t)
    }

    /// This State's part on `l`'s route and the counterpart, if this query
    /// counts it.
    fn part(&self, l: &'e FlowLicense) -> Option<(FlowDirection, &'e str)> {
        let c = self.q.country.as_str();
        let (direction, counterpart) = if l.exporting == c {
            (FlowDirection::Export, &l.importing)
        } else if l.importing == c {
            (FlowDirection::Import, &l.exporting)
        } else if l.transit.iter().any(|t| t == c) {
            (FlowDirection::Transit, &l.exporting)
        } else {
            return None;
        };
        let wanted = self.q.direction.is_none_or(|d| d == direction)
            && self.q.counterpart.as_ref().is_none_or(|w| w == counterpart);
        wanted.then_some((direction, counterpart.as_str()))
    }

    /// The key of the flow `line` adds to on `date`, if the query counts
    /// that line.
    fn key(
        &self,
        (direction, counterpart): (FlowDirection, &'e str),
        line: &flow_rows::FlowLine,
        date: Date,
    ) -> Option<FlowKey<'e>> {
        let excluded = self.q.category.is_some_and(|c| c != line.category)
            || (self.q.hs.as_ref()).is_some_and(|h| !line.hs.starts_with(h.as_str()));
        let g = self.q.group;
        (!excluded).then(|| {
            (
                direction,
                g.month.then(|| month_number(date)),
                g.counterpart.then_some(counterpart),
                g.category.then_some(line.category),
                line.unit,
            )
        })
    }

    fn row(&mut self, key: FlowKey<'e>) -> &mut Flow {
        self.flows.entry(key).or_default()
    }

    fn license(&mut self, l: &'e FlowLicense) {
        let date = (self.date_at)(l.issued_at_ms);
        let Some(part) = self.part(l).filter(|_| self.in_period(date)) else {
            return;
        };
        let mut counted: Vec<FlowKey> = Vec::new();
        for line in &l.lines {
            let Some(key) = self.key(part, line, date) else {
                continue;
            };
            let first = !counted.contains(&key);
            let row = self.row(key);
            row.licensed = row.licensed.saturating_add(line.quantity);
            if first {
                row.licenses += 1;
                row.licenses_revoked += u64::from(l.status == Status::Revoked);
                counted.push(key);
            }
        }
    }

    /// Adds `lines` of `l` (line, quantity) on `date` with `add`.
    fn quantities(
        &mut self,
        l: &'e FlowLicense,
        date: &str,
        lines: &[(u32, u64)],
        add: fn(&mut Flow, u64),
    ) {
        let Some(date) = date.parse::<Date>().ok().filter(|d| self.in_period(*d)) else {
            return;
        };
        let Some(part) = self.part(l) else {
            return;
        };
        for (n, quantity) in lines {
            let line = l.lines.iter().find(|x| x.line == *n);
            if let Some(key) = line.and_then(|line| self.key(part, line, date)) {
                add(self.row(key), *quantity);
            }
        }
    }

    fn crossing(
        &mut self,
        l: &'e FlowLicense,
        c: &FlowCrossing,
        refusals: &mut BTreeMap<String, u64>,
    ) {
        if !c.accepted {
            let counted =
                self.part(l).is_some() && c.date.parse::<Date>().is_ok_and(|d| self.in_period(d));
            if counted {
                for rule in &c.failed_rules {
                    *refusals.entry(rule.clone()).or_default() += 1;
                }
            }
            return;
        }
        // As the tallies: a crossing recorded off the route counts nothing
        // (it raised `shipment.off_route`).
        let on_route = match c.direction {
            Direction::Exit => l.exporting == c.country,
            Direction::Transit => l.transit.contains(&c.country),
            Direction::Entry => l.importing == c.country,
            // A temporary export's return moves no goods between States'
            // flows: what left is counted at its exit.
            Direction::Return => false,
        };
        if !on_route {
            return;
        }
        let add: fn(&mut Flow, u64) = match c.direction {
            Direction::Exit => |f, q| f.exited = f.exited.saturating_add(q),
            Direction::Transit => |f, q| f.transited = f.transited.saturating_add(q),
            Direction::Entry => |f, q| f.entered = f.entered.saturating_add(q),
            Direction::Return => return,
        };
        self.quantities(l, &c.date, &c.lines, add);
    }

    fn delivery(&mut self, l: &'e FlowLicense, d: &FlowDelivery) {
        // As `state::delivered`: issued by the importing State, not revoked.
        if d.status == Status::Revoked || d.importing != l.importing {
            return;
        }
        self.quantities(l, &d.date, &d.lines, |f, q| {
            f.delivered = f.delivered.saturating_add(q)
        });
    }

    /// The flows counted, in key order, each naming its key.
    fn flows(self) -> Vec<Flow> {
        self.flows
            .into_iter()
            .map(
                |((direction, month, counterpart, category, unit), f)| Flow {
                    direction: Some(direction),
                    month: month.map(month_text),
                    counterpart: counterpart.map(str::to_string),
                    category,
                    unit: Some(unit),
                    ..f
                },
            )
            .collect()
    }
}

/// What statistics read of an alert's value; its kind and license come
/// from its id (the key), and the rest is skipped unread.
#[derive(Deserialize)]
struct AlertWhen {
    raised_at_ms: i64,
    open: bool,
}

impl Store {
    /// The statistics `q` asks for, from what this node reads, with the
    /// node's `date_at`.
    pub fn statistics(&self, q: &StatisticsQuery, date_at: DateAt) -> Result<Statistics> {
        let mut exports = Vec::new();
        let mut deliveries: Vec<FlowDelivery> = Vec::new();
        self.each_row(keys::FLOW_DOCUMENTS, |k, v| {
            match flow_rows::decode_document(k, v)? {
                (doc, FlowDoc::Export(l)) => exports.push((doc.to_vec(), l)),
                (_, FlowDoc::Delivery(d)) => deliveries.push(d),
                (_, FlowDoc::Import(_)) => {}
            }
            Ok(())
        })?;
        let exports = Exports(exports);
        let mut counter = Counter {
            q,
            date_at,
            flows: BTreeMap::new(),
        };
        for (_, l) in &exports.0 {
            counter.license(l);
        }
        for d in &deliveries {
            let export = &d.export_license;
            if let Some(l) = exports.get(&flow_rows::doc_key(&export.authority, &export.number)) {
                counter.delivery(l, d);
            }
        }
        let mut refusals = BTreeMap::new();
        // Both in key order: the license of the next crossing is at or
        // after the last one found.
        let mut at = 0;
        self.each_row(keys::FLOW_CROSSINGS, |k, v| {
            let (license, c) = flow_rows::decode_crossing(k, v)?;
            while exports
                .0
                .get(at)
                .is_some_and(|(d, _)| d.as_slice() < license)
            {
                at += 1;
            }
            if let Some((_, l)) = exports.0.get(at).filter(|(d, _)| d.as_slice() == license) {
                counter.crossing(l, &c, &mut refusals);
            }
            Ok(())
        })?;
        let (alerts, overdue) = self.alert_counts(&counter, &exports)?;
        Ok(Statistics {
            from: q.from.map(|d| d.to_string()),
            to: q.to.map(|d| d.to_string()),
            flows: counter.flows(),
            refusals,
            alerts,
            overdue,
        })
    }

    /// Calls `f` on every row under `prefix`, a page at a time.
    fn each_row(&self, prefix: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
        let end = keys::prefix_end(prefix);
        let mut start = prefix.to_vec();
        loop {
            let rows = self.engine().scan(&start, &end, PAGE)?;
            let full = rows.len() == PAGE;
            for (k, v) in &rows {
                f(k, v)?;
            }
            match rows.last() {
                Some((k, _)) if full => {
                    start = k.clone();
                    start.push(0);
                }
                _ => return Ok(()),
            }
        }
    }

    /// Per kind (and month, when grouped so), the alerts raised in the
    /// period about a license this query counts (or about none), and the
    /// open `delivery.overdue` alerts now.
    fn alert_counts(&self, counter: &Counter, exports: &Exports) -> Result<(Vec<AlertCount>, u64)> {
        let q = counter.q;
        let mut by_kind: BTreeMap<(Option<i64>, &'static str), AlertCount> = BTreeMap::new();
        let mut overdue = 0;
        self.each_row(&[keys::ALERT], |k, v| {
            let subject = std::str::from_utf8(&k[1..])
                .ok()
                .and_then(tally_model::alert_subject);
            let Some((kind, license)) = subject else {
                return Err(crate::error::StoreError::corrupt(k, "alert id"));
            };
            let counted = match license {
                None => q.direction.is_none() && q.counterpart.is_none(),
                Some((authority, number)) => (exports.get(&flow_rows::doc_key(authority, number)))
                    .is_some_and(|l| counter.part(l).is_some()),
            };
            if !counted {
                return Ok(());
            }
            let a: AlertWhen = crate::codec::decode(k, v)?;
            if kind == AlertKind::DeliveryOverdue && a.open {
                overdue += 1;
            }
            let date = (counter.date_at)(a.raised_at_ms);
            if !counter.in_period(date) {
                return Ok(());
            }
            let month = q.group.month.then(|| month_number(date));
            let c = by_kind.entry((month, kind.as_str())).or_insert(AlertCount {
                month: month.map(month_text),
                kind,
                raised: 0,
                closed: 0,
                median_days_to_close: None,
            });
            c.raised += 1;
            c.closed += u64::from(!a.open);
            Ok(())
        })?;
        Ok((by_kind.into_values().collect(), overdue))
    }
}
