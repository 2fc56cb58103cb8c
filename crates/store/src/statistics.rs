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
use crate::state::Alert;
use crate::store::Store;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use tally_model::{AlertKind, Category, Date, Direction, DocumentRef, Status, Unit};

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

/// `YYYY-MM`.
fn month_of(date: Date) -> String {
    let (y, m, _) = date.ymd();
    format!("{y:04}-{m:02}")
}

/// The key a quantity is added under.
type FlowKey = (
    FlowDirection,
    Option<String>,
    Option<String>,
    Option<Category>,
    Unit,
);

/// Counts flows for one query.
struct Counter<'q> {
    q: &'q StatisticsQuery,
    date_at: DateAt<'q>,
    flows: BTreeMap<FlowKey, Flow>,
}

impl Counter<'_> {
    fn in_period(&self, date: Date) -> bool {
        self.q.from.is_none_or(|f| date >= f) && self.q.to.is_none_or(|t| date <= t)
    }

    /// This State's part on `l`'s route and the counterpart, if this query
    /// counts it.
    fn part(&self, l: &FlowLicense) -> Option<(FlowDirection, String)> {
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
        wanted.then(|| (direction, counterpart.clone()))
    }

    /// The flow row `line` of `l` adds to in `month`, if the query counts
    /// that line.
    fn row(
        &mut self,
        (direction, counterpart): &(FlowDirection, String),
        line: &flow_rows::FlowLine,
        date: Date,
    ) -> Option<&mut Flow> {
        if self.q.category.is_some_and(|c| c != line.category)
            || self
                .q
                .hs
                .as_ref()
                .is_some_and(|h| !line.hs.starts_with(h.as_str()))
        {
            return None;
        }
        let g = self.q.group;
        let key = (
            *direction,
            g.month.then(|| month_of(date)),
            g.counterpart.then(|| counterpart.clone()),
            g.category.then_some(line.category),
            line.unit,
        );
        Some(self.flows.entry(key.clone()).or_insert_with(|| Flow {
            direction: Some(key.0),
            month: key.1,
            counterpart: key.2,
            category: key.3,
            unit: Some(key.4),
            ..Flow::default()
        }))
    }

    fn license(&mut self, l: &FlowLicense) {
        let date = (self.date_at)(l.issued_at_ms);
        let Some(part) = self.part(l).filter(|_| self.in_period(date)) else {
            return;
        };
        let mut counted: Vec<FlowKey> = Vec::new();
        for line in &l.lines {
            let Some(row) = self.row(&part, line, date) else {
                continue;
            };
            row.licensed = row.licensed.saturating_add(line.quantity);
            let key = (
                part.0,
                row.month.clone(),
                row.counterpart.clone(),
                row.category,
                line.unit,
            );
            if !counted.contains(&key) {
                row.licenses += 1;
                row.licenses_revoked += u64::from(l.status == Status::Revoked);
                counted.push(key);
            }
        }
    }

    /// Adds `lines` of `l` (line, quantity) on `date` with `add`.
    fn quantities(
        &mut self,
        l: &FlowLicense,
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
            let Some(line) = l.lines.iter().find(|x| x.line == *n) else {
                continue;
            };
            if let Some(row) = self.row(&part, line, date) {
                add(row, *quantity);
            }
        }
    }

    fn crossing(
        &mut self,
        l: &FlowLicense,
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
        };
        if !on_route {
            return;
        }
        let add: fn(&mut Flow, u64) = match c.direction {
            Direction::Exit => |f, q| f.exited = f.exited.saturating_add(q),
            Direction::Transit => |f, q| f.transited = f.transited.saturating_add(q),
            Direction::Entry => |f, q| f.entered = f.entered.saturating_add(q),
        };
        self.quantities(l, &c.date, &c.lines, add);
    }

    fn delivery(&mut self, l: &FlowLicense, d: &FlowDelivery) {
        // As `state::delivered`: issued by the importing State, not revoked.
        if d.status == Status::Revoked || d.importing != l.importing {
            return;
        }
        self.quantities(l, &d.date, &d.lines, |f, q| {
            f.delivered = f.delivered.saturating_add(q)
        });
    }
}

impl Store {
    /// The statistics `q` asks for, from what this node reads, with the
    /// node's `date_at`.
    pub fn statistics(&self, q: &StatisticsQuery, date_at: DateAt) -> Result<Statistics> {
        let mut exports: HashMap<DocumentRef, FlowLicense> = HashMap::new();
        let mut deliveries: Vec<(DocumentRef, FlowDelivery)> = Vec::new();
        self.each_row(keys::FLOW_DOCUMENTS, |k, v| {
            let (doc, flow) = flow_rows::decode_document(k, v)?;
            match flow {
                FlowDoc::Export(l) => {
                    exports.insert(doc, l);
                }
                FlowDoc::Delivery(d) => deliveries.push((doc, d)),
                FlowDoc::Import(_) => {}
            }
            Ok(())
        })?;
        let mut counter = Counter {
            q,
            date_at,
            flows: BTreeMap::new(),
        };
        for l in exports.values() {
            counter.license(l);
        }
        for (_, d) in &deliveries {
            if let Some(l) = exports.get(&d.export_license) {
                counter.delivery(l, d);
            }
        }
        let mut refusals = BTreeMap::new();
        self.each_row(keys::FLOW_CROSSINGS, |k, v| {
            let (license, c) = flow_rows::decode_crossing(k, v)?;
            if let Some(l) = exports.get(&license) {
                counter.crossing(l, &c, &mut refusals);
            }
            Ok(())
        })?;
        let (alerts, overdue) = alert_counts(&self.alerts()?, &counter, &exports);
        Ok(Statistics {
            from: q.from.map(|d| d.to_string()),
            to: q.to.map(|d| d.to_string()),
            flows: counter.flows.into_values().collect(),
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
}

/// Per kind, the alerts raised in the period about a license this query
/// counts (or about none), and the open `delivery.overdue` alerts now.
fn alert_counts(
    alerts: &[Alert],
    counter: &Counter,
    exports: &HashMap<DocumentRef, FlowLicense>,
) -> (Vec<AlertCount>, u64) {
    let q = counter.q;
    let counted = |a: &Alert| match &a.license {
        None => q.direction.is_none() && q.counterpart.is_none(),
        Some(r) => exports.get(r).is_some_and(|l| counter.part(l).is_some()),
    };
    let mut by_kind: BTreeMap<(Option<String>, &'static str), AlertCount> = BTreeMap::new();
    let mut overdue = 0;
    for a in alerts.iter().filter(|a| counted(a)) {
        if a.kind == AlertKind::DeliveryOverdue && a.open {
            overdue += 1;
        }
        let date = (counter.date_at)(a.raised_at_ms);
        if !counter.in_period(date) {
            continue;
        }
        let month = q.group.month.then(|| month_of(date));
        let c = by_kind
            .entry((month.clone(), a.kind.as_str()))
            .or_insert(AlertCount {
                month,
                kind: a.kind,
                raised: 0,
                closed: 0,
                median_days_to_close: None,
            });
        c.raised += 1;
        c.closed += u64::from(!a.open);
    }
    (by_kind.into_values().collect(), overdue)
}
