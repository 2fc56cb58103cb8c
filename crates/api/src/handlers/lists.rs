//! The lists the console's forms pick from (docs/API.md, "Lists for the
//! forms"): `GET /v1/licenses`, a page of summaries of the documents this
//! node reads, filtered by kind, route, status and what is left to deliver,
//! with per-line quantities (an export's crossings and deliveries, an
//! import certificate's allocation); and
//! `GET /v1/licenses/{authority}/{number}/amendable`, the current version of
//! a document with what an amendment may change, pointer by pointer, from
//! [`tally_model::amendment::amendable`].

use super::blocking;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;
use crate::view::LicenseView;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::cmp::Reverse;
use tally_model::amendment::amendable;
use tally_model::{AuthorityId, Country, License, LicenseKind, Status};
use tally_verify::Reader;
use tally_verify::state::LicenseState;

/// Summaries one page lists when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Most summaries one page lists.
pub const MAX_LIMIT: usize = 200;
/// Licenses read from the store at a time while scanning.
const SCAN_PAGE: usize = 256;

/// The query of `GET /v1/licenses`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `export`, `import`, `transit` or `delivery`.
    pub kind: Option<String>,
    /// Only documents of this authority.
    pub authority: Option<String>,
    /// A country on the document's route (exporting, importing or transit).
    pub country: Option<String>,
    pub exporting: Option<String>,
    pub importing: Option<String>,
    /// Lists this country among its transit countries (a transit
    /// authorization: is given by it).
    pub transit: Option<String>,
    /// `active`, `suspended` or `revoked`.
    pub status: Option<String>,
    /// Only export licenses with some line recorded entering beyond what
    /// was verified delivered.
    #[serde(default)]
    pub undelivered: bool,
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub before: Option<String>,
}

/// The filters of a [`ListQuery`], checked.
struct Filter {
    kind: Option<LicenseKind>,
    authority: Option<AuthorityId>,
    country: Option<String>,
    exporting: Option<String>,
    importing: Option<String>,
    transit: Option<String>,
    status: Option<Status>,
    undelivered: bool,
}

/// Where a summary sits in the list: newest first.
type Key = (Reverse<i64>, Reverse<String>, Reverse<String>);

fn country(name: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    v.as_ref()
        .map(|c| {
            c.parse::<Country>()
                .map(|c| c.as_str().to_string())
                .map_err(|_| ApiError::invalid_json(format!("{name} {c:?} is not a country code")))
        })
        .transpose()
}

fn parse_kind(k: &str) -> Result<LicenseKind, ApiError> {
    serde_json::from_value(Value::String(k.to_string())).map_err(|_| {
        ApiError::invalid_json(format!(
            "kind {k:?} is not one of export, import, transit, delivery, denial, enduse_request, enduse_answer"
        ))
    })
}

fn parse_status(s: &str) -> Result<Status, ApiError> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
        ApiError::invalid_json(format!(
            "status {s:?} is not one of active, suspended, revoked"
        ))
    })
}

impl Filter {
    fn parse(q: &ListQuery) -> Result<Filter, ApiError> {
        let authority = q
            .authority
            .as_ref()
            .map(|a| {
                a.parse::<AuthorityId>()
                    .map_err(|_| ApiError::invalid_json(format!("authority {a:?} is malformed")))
            })
            .transpose()?;
        Ok(Filter {
            kind: q.kind.as_deref().map(parse_kind).transpose()?,
            authority,
            country: country("country", &q.country)?,
            exporting: country("exporting", &q.exporting)?,
            importing: country("importing", &q.importing)?,
            transit: country("transit", &q.transit)?,
            status: q.status.as_deref().map(parse_status).transpose()?,
            undelivered: q.undelivered,
        })
    }

    /// Whether `state` passes every filter that needs nothing but itself.
    fn holds(&self, state: &LicenseState) -> bool {
        let (exporting, importing, transit) = route(&state.document);
        let is = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        self.kind.is_none_or(|k| k == state.kind)
            && self.status.is_none_or(|s| s == state.status)
            && self
                .authority
                .as_ref()
                .is_none_or(|a| *a == state.authority)
            && is(&self.exporting, exporting)
            && is(&self.importing, importing)
            && self.transit.as_deref().is_none_or(|t| transit.contains(&t))
            && self.country.as_deref().is_none_or(|c| {
                exporting == Some(c) || importing == Some(c) || transit.contains(&c)
            })
            && (!self.undelivered || state.kind == LicenseKind::Export)
    }
}

/// A document's route: exporting country, importing country, transit countries.
fn route(doc: &License) -> (Option<&str>, Option<&str>, Vec<&str>) {
    match doc {
        License::Export(e) => (
            Some(&e.exporting_country),
            Some(&e.importing_country),
            e.transit_countries.iter().map(String::as_str).collect(),
        ),
        License::Import(i) => (
            Some(&i.exporting_country),
            Some(&i.importing_country),
            vec![],
        ),
        License::Transit(t) => (None, None, vec![t.transit_country.as_str()]),
        License::Delivery(d) => (None, Some(&d.importing_country), vec![]),
        // The refusing State exports nothing; the destination is where the
        // goods would have gone.
        License::Denial(d) => (Some(&d.denying_country), Some(&d.destination), vec![]),
        // Asked by the exporting State of the importing one: the importing
        // officer's work list filters on `importing`.
        License::EnduseRequest(r) => (
            Some(&r.exporting_country),
            Some(&r.importing_country),
            vec![],
        ),
        License::EnduseAnswer(a) => (
            Some(&a.exporting_country),
            Some(&a.importing_country),
            vec![],
        ),
    }
}

fn key_of(state: &LicenseState) -> Key {
    (
        Reverse(state.issued_at_ms),
        Reverse(state.authority.to_string()),
        Reverse(state.number.clone()),
    )
}

/// `MS:AUTHORITY:NUMBER`, the cursor of the page after `key`.
fn cursor(key: &Key) -> String {
    format!("{}:{}:{}", (key.0).0, (key.1).0, (key.2).0)
}

fn parse_cursor(s: &str) -> Result<Key, ApiError> {
    let bad = || ApiError::invalid_json("before is not the next of a previous page");
    let mut parts = s.splitn(3, ':');
    let ms = parts
        .next()
        .and_then(|m| m.parse::<i64>().ok())
        .ok_or_else(bad)?;
    let authority = parts.next().filter(|a| a.parse::<AuthorityId>().is_ok());
    let number = parts.next();
    match (authority, number) {
        (Some(a), Some(n)) => Ok((Reverse(ms), Reverse(a.to_string()), Reverse(n.to_string()))),
        _ => Err(bad()),
    }
}

/// Every license this node reads that passes `filter`'s own filters, as
/// sort keys after `before`, sorted.
fn matching(reader: &Reader, filter: &Filter, before: Option<&Key>) -> Result<Vec<Key>, ApiError> {
    let mut keys = Vec::new();
    for (authority, _, _) in reader.heads()? {
        if filter.authority.as_ref().is_some_and(|a| *a != authority) {
            continue;
        }
        let mut after: Option<String> = None;
        loop {
            let page = reader.licenses_after(&authority, after.as_deref(), SCAN_PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.number.clone());
            let full = page.len() == SCAN_PAGE;
            keys.extend(
                page.iter()
                    .filter(|s| filter.holds(s))
                    .map(key_of)
                    .filter(|k| before.is_none_or(|b| k > b)),
            );
            if !full {
                break;
            }
        }
    }
    keys.sort();
    Ok(keys)
}

/// The view of `state` with its tallies, deliveries and allocation.
fn view_of(reader: &Reader, state: LicenseState) -> Result<LicenseView, ApiError> {
    let tallies = reader.tallies(&state)?;
    let reference = state.reference();
    let (deliveries, citing) = match state.kind {
        LicenseKind::Export => (reader.deliveries_for(&reference)?, vec![]),
        LicenseKind::Import => (vec![], reader.citing_licenses(&reference)?),
        _ => (vec![], vec![]),
    };
    let delivered = match state.kind {
        LicenseKind::Export => tally_verify::state::delivered(&state, &deliveries),
        _ => Default::default(),
    };
    Ok(LicenseView::new(state, &tallies, None)
        .with_citing(citing)
        .with_delivered(&delivered))
}

/// Fields of a document a summary carries as they are (items become `lines`).
const SUMMARY_FIELDS: &[&str] = &[
    "exporting_country",
    "importing_country",
    "transit_countries",
    "transit_country",
    "export_license",
    "import_certificate",
    "exporter",
    "importer",
    "end_user",
    "end_use",
    "delivered_to",
    "date",
    "decision",
    "entry_point",
    "exit_point",
    "valid_from",
    "valid_until",
    "shipments",
    "single_use",
    "denying_country",
    "destination",
    "applicant",
    "consignee",
    "criterion",
    "end_user_certificate",
    "request",
    "answer",
    "comment",
];

/// One summary: the document's route, parties and validity, and per line
/// its particulars (serials counted, not listed) with the quantities
/// recorded against it; `undelivered` per line of an export is what was
/// recorded entering and not yet verified delivered.
fn summary(view: &LicenseView) -> Value {
    let doc = serde_json::to_value(&view.document).unwrap_or(Value::Null);
    let mut out = Map::new();
    for (k, v) in [
        ("authority", json!(view.authority)),
        ("number", json!(view.number)),
        ("kind", json!(view.kind)),
        ("status", json!(view.status)),
        ("version", json!(view.version)),
        ("issued_at", json!(view.issued_at)),
    ] {
        out.insert(k.into(), v);
    }
    for f in SUMMARY_FIELDS {
        if let Some(v) = doc.get(*f) {
            out.insert((*f).into(), v.clone());
        }
    }
    let lines: Vec<Value> = doc["items"]
        .as_array()
        .map(|items| items.iter().map(|it| line(it, view)).collect())
        .unwrap_or_default();
    out.insert("lines".into(), Value::Array(lines));
    if let Some(alloc) = &view.allocated {
        let rows = alloc
            .iter()
            .map(|a| {
                json!({"category": a.category, "unit": a.unit, "licensed": a.licensed,
                       "allocated": a.allocated, "left": a.licensed.saturating_sub(a.allocated)})
            })
            .collect();
        out.insert("allocation".into(), Value::Array(rows));
        let taken = view.export_licenses.as_ref().map_or(0, Vec::len);
        out.insert("citing".into(), json!(taken));
    }
    Value::Object(out)
}

/// An item line of a summary.
fn line(item: &Value, view: &LicenseView) -> Value {
    let mut l = item.as_object().cloned().unwrap_or_default();
    let serials = l
        .remove("serials")
        .and_then(|s| s.as_array().map(Vec::len))
        .unwrap_or(0);
    l.insert("serials".into(), json!(serials));
    let n = item["line"].as_u64();
    if view.kind == LicenseKind::Export
        && let Some(t) = view.tally.iter().find(|t| Some(u64::from(t.line)) == n)
    {
        for (k, v) in [
            ("exit", t.exit),
            ("transit", t.transit),
            ("entry", t.entry),
            ("delivered", t.delivered),
            ("undelivered", t.entry.saturating_sub(t.delivered)),
        ] {
            l.insert(k.into(), json!(v));
        }
    }
    Value::Object(l)
}

/// `GET /v1/licenses`: a page of summaries, newest first.
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = Filter::parse(&q)?;
    let before = q.before.as_deref().map(parse_cursor).transpose()?;
    let limit = match q.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::invalid_json(format!(
                "limit {n}: from 1 to {MAX_LIMIT}"
            )));
        }
    };
    let v = s.verifier.clone();
    blocking(move || {
        let reader = v.reader()?;
        let keys = matching(&reader, &filter, before.as_ref())?;
        let mut out = Vec::new();
        let mut next = None;
        for key in keys {
            if out.len() == limit {
                break;
            }
            let Ok(authority) = (key.1).0.parse::<AuthorityId>() else {
                continue;
            };
            let Some(state) = reader.license(&authority, &(key.2).0)? else {
                continue;
            };
            let view = view_of(&reader, state)?;
            if filter.undelivered && !view.tally.iter().any(|t| t.entry > t.delivered) {
                continue;
            }
            out.push(summary(&view));
            next = Some(cursor(&key));
        }
        // Only a full page has a page after it.
        let next = next.filter(|_| out.len() == limit);
        Ok(Json(json!({"licenses": out, "next": next})))
    })
    .await
}

/// Why `state` cannot be amended by this node today, if it cannot.
fn not_amendable(state: &LicenseState, own: &AuthorityId, today: &str) -> Option<&'static str> {
    let (from, until) = state.document.validity();
    if state.authority != *own {
        Some("another authority's document: only its issuer amends it")
    } else if state.status == Status::Revoked {
        Some("revoked: revoked is final")
    } else if state.kind == LicenseKind::Delivery {
        Some("a delivery verification cannot be amended; revoke it and issue a new one")
    } else if today < from || today > until {
        Some("outside its validity: an amendment is accepted only within it")
    } else {
        None
    }
}

/// Per line, the lowest quantity an amendment may give it: the most
/// recorded crossing it in one direction and country.
fn floors(reader: &Reader, state: &LicenseState) -> Result<Vec<Value>, ApiError> {
    let tallies = reader.tallies(state)?;
    Ok(state
        .document
        .items()
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let used = tallies
                .iter()
                .filter(|t| t.line == it.line)
                .map(|t| t.quantity)
                .max()
                .unwrap_or(0);
            json!({"pointer": format!("/items/{i}/quantity"), "min": used})
        })
        .collect())
}

/// `GET /v1/licenses/{authority}/{number}/amendable`.
pub async fn amendable_rules(
    State(s): State<AppState>,
    Path((authority, number)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let v = s.verifier.clone();
    blocking(move || {
        let not_found = || ApiError::not_found(format!("no license {number} of {authority}"));
        let id = authority.parse::<AuthorityId>().map_err(|_| not_found())?;
        let reader = v.reader()?;
        // A sealed document that no longer opens here has nothing to amend.
        let state = reader.license(&id, &number)?.ok_or_else(not_found)?;
        let today = v.today().to_string();
        let why = not_amendable(&state, v.authority(), &today);
        let floors = floors(&reader, &state)?;
        let view = view_of(&reader, state)?;
        Ok(Json(json!({
            "authority": view.authority,
            "number": view.number,
            "kind": view.kind,
            "status": view.status,
            "version": view.version,
            "issued_at": view.issued_at,
            "document": view.document,
            "amendable": why.is_none(),
            "reason": why,
            "rules": amendable(view.kind),
            "floors": floors,
            "allocated": view.allocated,
        })))
    })
    .await
}
