//! The ATT annual report, drafted (docs/API.md, "The ATT report"): the
//! exports and imports tables of category VIII (small arms and light
//! weapons) for one calendar year, one row per sub-category and
//! counterpart State, from the documents and crossings this node reads.
//!
//! Two bases, as the template asks the reporting State to say which it
//! used: `authorized` counts this State's export licenses by date of issue
//! and its import certificates; `actual` counts the crossings recorded at
//! its exits and entries. A line is placed by [`tally_model::att::place`];
//! a line it cannot place is listed for the officer, never guessed, and a
//! line outside category VIII (ammunition, parts, artillery) is left out.
//! Value is left to the officer: crossings carry none.

use crate::Reader;
use crate::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tally_model::att::{AttSubcategory, Placement, place};
use tally_model::{Category, Date, Direction, DocumentRef, Item, License, Status};

type Result<T> = std::result::Result<T, tally_store::StoreError>;

/// Licenses read from the store at once.
const PAGE: usize = 256;
/// Distinct descriptions a row lists before it says how many more.
const DESCRIPTIONS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Authorized,
    Actual,
}

impl Basis {
    pub fn parse(s: &str) -> Option<Basis> {
        match s {
            "authorized" => Some(Basis::Authorized),
            "actual" => Some(Basis::Actual),
            _ => None,
        }
    }
}

/// Exports or imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Exports,
    Imports,
}

/// One row of a table: a sub-category and a counterpart State.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub subcategory: AttSubcategory,
    /// The final importing State (exports) or the exporting State
    /// (imports), ISO 3166-1 alpha-2.
    pub state: String,
    pub items: u64,
    /// Make, model, caliber and description of the lines counted.
    pub description: String,
    /// The documents counted, and their end uses.
    pub comments: String,
}

/// A line the report could not place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unplaced {
    pub table: Table,
    pub license: DocumentRef,
    pub line: u32,
    pub description: String,
    pub hs_code: Option<String>,
    pub quantity: u64,
    pub reason: String,
}

/// The drafted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttReport {
    /// The reporting State, ISO 3166-1 alpha-2, and its authority here.
    pub state: String,
    pub authority: String,
    pub year: i64,
    pub basis: Basis,
    pub exports: Vec<Row>,
    pub imports: Vec<Row>,
    pub unplaced: Vec<Unplaced>,
}

/// A row being counted: items, descriptions, documents, end uses.
#[derive(Default)]
struct Tally {
    items: u64,
    descriptions: BTreeSet<String>,
    documents: BTreeSet<String>,
    end_uses: BTreeSet<String>,
}

struct Draft<'a> {
    state: &'a str,
    year: i64,
    timezone: &'a TimeZone,
    rows: BTreeMap<(Table, AttSubcategory, String), Tally>,
    unplaced: Vec<Unplaced>,
}

fn describe(i: &Item) -> String {
    [
        i.make.as_deref(),
        i.model.as_deref(),
        i.caliber.as_deref(),
        Some(i.description.as_str()),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

fn end_use(l: &License) -> Option<&str> {
    match l {
        License::Export(e) => e.end_use.as_deref(),
        License::Import(i) => i.end_use.as_deref(),
        _ => None,
    }
}

impl Draft<'_> {
    fn in_year(&self, date: Date) -> bool {
        date.ymd().0 == self.year
    }

    /// Counts `quantity` of `item` of `doc` in `table` against `state`.
    fn count(
        &mut self,
        table: Table,
        doc: &DocumentRef,
        license: &License,
        item: &Item,
        quantity: u64,
        state: &str,
    ) {
        if item.category != Category::Firearm {
            return;
        }
        let placed = place(
            item.att_subcategory,
            item.hs_code.as_deref(),
            item.action,
            item.caliber_mm,
        );
        let subcategory = match placed {
            Placement::In(s) => s,
            Placement::Outside(_) => return,
            Placement::Undecided(reason) => {
                self.unplaced.push(Unplaced {
                    table,
                    license: doc.clone(),
                    line: item.line,
                    description: describe(item),
                    hs_code: item.hs_code.clone(),
                    quantity,
                    reason: reason.to_string(),
                });
                return;
            }
        };
        let t = self
            .rows
            .entry((table, subcategory, state.to_string()))
            .or_default();
        t.items = t.items.saturating_add(quantity);
        t.descriptions.insert(describe(item));
        t.documents
            .insert(format!("{}/{}", doc.authority, doc.number));
        if let Some(u) = end_use(license) {
            t.end_uses.insert(u.to_string());
        }
    }

    /// A document of this State counted on the authorized basis: its
    /// export licenses and import certificates issued in the year, at
    /// their current version; a revoked one counts nothing.
    fn authorized(&mut self, l: &tally_store::LicenseState) {
        if l.authority.country().as_str() != self.state
            || l.status == Status::Revoked
            || !self.in_year(self.timezone.date_at(l.issued_at_ms))
        {
            return;
        }
        let doc = l.reference();
        let (table, state) = match &l.document {
            License::Export(e) => (Table::Exports, e.importing_country.clone()),
            License::Import(i) => (Table::Imports, i.exporting_country.clone()),
            _ => return,
        };
        for item in l.document.items() {
            self.count(table, &doc, &l.document, item, item.quantity, &state);
        }
    }

    /// An export license's accepted crossings out of or into this State,
    /// dated in the year, counted on the actual basis.
    fn actual(&mut self, reader: &Reader, l: &tally_store::LicenseState) -> Result<()> {
        let License::Export(e) = &l.document else {
            return Ok(());
        };
        let (table, direction, state) = if e.exporting_country == self.state {
            (Table::Exports, Direction::Exit, &e.importing_country)
        } else if e.importing_country == self.state {
            (Table::Imports, Direction::Entry, &e.exporting_country)
        } else {
            return Ok(());
        };
        let doc = l.reference();
        for s in reader.shipments(&doc)? {
            let counted = s.accepted()
                && s.checkpoint.direction == direction
                && s.checkpoint.country == self.state
                && s.date.parse::<Date>().is_ok_and(|d| self.in_year(d));
            if !counted {
                continue;
            }
            for line in &s.items {
                if let Some(item) = e.items.iter().find(|i| i.line == line.line) {
                    self.count(table, &doc, &l.document, item, line.quantity, state);
                }
            }
        }
        Ok(())
    }

    fn finish(self, authority: &str, basis: Basis) -> AttReport {
        let mut exports = Vec::new();
        let mut imports = Vec::new();
        for ((table, subcategory, state), t) in self.rows {
            let mut description: Vec<String> =
                t.descriptions.iter().take(DESCRIPTIONS).cloned().collect();
            if t.descriptions.len() > DESCRIPTIONS {
                description.push(format!("and {} more", t.descriptions.len() - DESCRIPTIONS));
            }
            let documents = t.documents.len();
            let mut comments = format!(
                "{documents} {}",
                match (basis, documents) {
                    (Basis::Authorized, 1) => "authorization",
                    (Basis::Authorized, _) => "authorizations",
                    (Basis::Actual, 1) => "license",
                    (Basis::Actual, _) => "licenses",
                }
            );
            if !t.end_uses.is_empty() {
                let uses: Vec<&str> = t.end_uses.iter().map(String::as_str).collect();
                comments.push_str(&format!("; end use: {}", uses.join("; ")));
            }
            let row = Row {
                subcategory,
                state,
                items: t.items,
                description: description.join("; "),
                comments,
            };
            match table {
                Table::Exports => exports.push(row),
                Table::Imports => imports.push(row),
            }
        }
        AttReport {
            state: self.state.to_string(),
            authority: authority.to_string(),
            year: self.year,
            basis,
            exports,
            imports,
            unplaced: self.unplaced,
        }
    }
}

impl Reader {
    /// The ATT report of `year` on `basis` for the State of `authority`
    /// (this node's), from what this node reads; dates of issue in
    /// `timezone`.
    pub fn att_report(
        &self,
        authority: &tally_model::AuthorityId,
        year: i64,
        basis: Basis,
        timezone: &TimeZone,
    ) -> Result<AttReport> {
        let country = authority.country();
        let mut draft = Draft {
            state: country.as_str(),
            year,
            timezone,
            rows: BTreeMap::new(),
            unplaced: Vec::new(),
        };
        for (log, _, _) in self.heads()? {
            let mut after: Option<String> = None;
            loop {
                let page = self.licenses_after(&log, after.as_deref(), PAGE)?;
                for l in &page {
                    match basis {
                        Basis::Authorized => draft.authorized(l),
                        Basis::Actual => draft.actual(self, l)?,
                    }
                }
                match page.last() {
                    Some(l) if page.len() == PAGE => after = Some(l.number.clone()),
                    _ => break,
                }
            }
        }
        Ok(draft.finish(authority.as_str(), basis))
    }
}
