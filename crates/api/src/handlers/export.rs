//! `GET /v1/export/{licenses|deliveries|shipments|alerts}` (docs/API.md,
//! "Exports"): everything of one kind this node can read, as JSON lines (the
//! objects the matching `GET` answers) or CSV (one row per item line),
//! streamed in pages from one snapshot. The last JSON line is `{"cursor"}`:
//! what this node held of each log when the export began. An export given
//! it as `since` lists only what entries after it changed, so an entry that
//! arrived late (its log's seq is past the cursor whenever it arrives) is
//! never missed.

use super::licenses::license_view;
use crate::error::ApiError;
use crate::export_csv::Table;
use crate::extract::Query;
use crate::state::AppState;
use crate::view::{AlertView, ShipmentView};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tally_model::{AuthorityId, DocumentRef, LicenseKind};
use tally_verify::Reader;

/// Licenses or crossings read per page.
const PAGE: usize = 256;
/// Pages waiting for a slow client; then the reading waits.
const QUEUED_PAGES: usize = 4;
/// A client that takes no page for this long ends its export.
const STALLED: Duration = Duration::from_secs(60);

/// The query of an export.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `YYYY-MM-DD`: licenses issued, crossings dated, alerts raised on or after.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The cursor a previous export ended with.
    pub since: Option<String>,
    /// `jsonl` (default) or `csv`.
    pub format: Option<String>,
}

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Licenses,
    Deliveries,
    Shipments,
    Alerts,
}

/// Per log, the seq this node held when an export began.
type Cursor = BTreeMap<String, u64>;

fn parse_cursor(s: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::invalid_json("since is not a cursor an export ended with");
    let mut out = Cursor::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (authority, seq) = part.split_once(':').ok_or_else(bad)?;
        authority.parse::<AuthorityId>().map_err(|_| bad())?;
        out.insert(authority.to_string(), seq.parse().map_err(|_| bad())?);
    }
    Ok(out)
}

fn render_cursor(c: &Cursor) -> String {
    c.iter()
        .map(|(a, s)| format!("{a}:{s}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the entry `seq` of `authority`'s log is new since `since`.
fn after(since: &Option<Cursor>, authority: &str, seq: u64) -> bool {
    since
        .as_ref()
        .is_none_or(|c| seq > c.get(authority).copied().unwrap_or(0))
}

/// A date filter: `from..=to`, both `YYYY-MM-DD` and optional.
struct Dates {
    from: Option<String>,
    to: Option<String>,
}

impl Dates {
    fn parse(from: Option<String>, to: Option<String>) -> Result<Dates, ApiError> {
        for d in [&from, &to].into_iter().flatten() {
            d.parse::<tally_model::Date>()
                .map_err(|_| ApiError::invalid_json(format!("{d:?} is not YYYY-MM-DD")))?;
        }
        Ok(Dates { from, to })
    }
    fn holds(&self, date: &str) -> bool {
        self.from.as_deref().is_none_or(|f| date >= f)
            && self.to.as_deref().is_none_or(|t| date <= t)
    }
}

/// The UTC date of a time in ms, `YYYY-MM-DD`.
fn date_of(ms: i64) -> String {
    tally_model::Date::from_unix_ms(ms).to_string()
}

pub async fn export(
    State(s): State<AppState>,
    Path(what): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let what = match what.as_str() {
        "licenses" => What::Licenses,
        "deliveries" => What::Deliveries,
        "shipments" => What::Shipments,
        "alerts" => What::Alerts,
        _ => {
            return Err(ApiError::not_found(
                "exports are licenses, deliveries, shipments and alerts",
            ));
        }
    };
    let csv = match q.format.as_deref() {
        None | Some("jsonl") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid_json(format!(
                "format {other:?}: use jsonl or csv"
            )));
        }
    };
    let since = q.since.as_deref().map(parse_cursor).transpose()?;
    if since.is_some() && what == What::Alerts {
        return Err(ApiError::invalid_json(
            "alerts open and close as entries of any log arrive: export them whole, without since",
        ));
    }
    let dates = Dates::parse(q.from, q.to)?;
    let reader = s.verifier.reader()?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(QUEUED_PAGES);
    let handle = tokio::runtime::Handle::current();
    let table = match what {
        What::Licenses | What::Deliveries => Table::Licenses,
        What::Shipments => Table::Shipments,
        What::Alerts => Table::Alerts,
    };
    let mut out = Out {
        csv: csv.then_some(table),
        buf: String::new(),
        header_done: false,
        send: Box::new(move |chunk| handle.block_on(tx.send_timeout(chunk, STALLED)).is_ok()),
    };
    // Read on the blocking pool (a stop waits for it; a client gone ends
    // it at its next page); the client takes the pages as they come.
    let _reading = crate::blocking::track_blocking(move || {
        if let Err(e) = write_export(&reader, what, &since, &dates, &mut out) {
            tracing::warn!(error = %e.message, "an export stopped");
        }
    });
    let body = Body::new(Pages(rx));
    let kind = if csv {
        "text/csv; charset=utf-8"
    } else {
        "application/jsonl; charset=utf-8"
    };
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}

/// The response body: the pages as the reading sends them; it ends when
/// the reading does.
struct Pages(tokio::sync::mpsc::Receiver<Bytes>);

impl http_body::Body for Pages {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|page| page.map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// The export's text, flushed to the client page by page.
struct Out {
    /// The CSV table, or `None` for JSON lines.
    csv: Option<Table>,
    buf: String,
    header_done: bool,
    send: Box<dyn FnMut(Bytes) -> bool + Send>,
}

impl Out {
    fn row(&mut self, object: &Value) {
        match self.csv {
            None => {
                self.buf.push_str(&object.to_string());
                self.buf.push('\n');
            }
            Some(table) => {
                self.header(table);
                crate::export_csv::rows(table, object, &mut self.buf);
            }
        }
    }
    /// The CSV header, before the first row (or alone, when there is none).
    fn header(&mut self, table: Table) {
        if !self.header_done {
            self.header_done = true;
            self.buf.push_str(&crate::export_csv::header(table));
        }
    }
    /// Sends what is written; false when the client went away or stalled.
    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        (self.send)(chunk)
    }
    fn end(&mut self, cursor: &Cursor) {
        match self.csv {
            None => self.row(&json!({"cursor": render_cursor(cursor)})),
            Some(table) => self.header(table),
        }
        self.flush();
    }
}

fn write_export(
    reader: &Reader,
    what: What,
    since: &Option<Cursor>,
    dates: &Dates,
    out: &mut Out,
) -> Result<(), ApiError> {
    let heads = reader.heads()?;
    let cursor: Cursor = heads
        .iter()
        .map(|(a, seq, _)| (a.to_string(), *seq))
        .collect();
    match what {
        What::Licenses | What::Deliveries => {
            for (authority, _, _) in &heads {
                if !licenses(reader, authority, what, since, dates, out)? {
                    return Ok(());
                }
            }
        }
        What::Shipments => {
            if !shipments(reader, since, dates, out)? {
                return Ok(());
            }
        }
        What::Alerts => {
            for a in reader.alerts()? {
                if dates.holds(&date_of(a.raised_at_ms)) {
                    out.row(&serde_json::to_value(AlertView::from(a)).unwrap_or(Value::Null));
                }
            }
        }
    }
    out.end(&cursor);
    Ok(())
}

/// One authority's licenses (or delivery verifications), page by page;
/// false when the client is gone.
fn licenses(
    reader: &Reader,
    authority: &AuthorityId,
    what: What,
    since: &Option<Cursor>,
    dates: &Dates,
    out: &mut Out,
) -> Result<bool, ApiError> {
    let mut last: Option<String> = None;
    loop {
        let page = reader.licenses_after(authority, last.as_deref(), PAGE)?;
        let Some(end) = page.last() else {
            return Ok(true);
        };
        last = Some(end.number.clone());
        for state in page {
            let delivery = state.kind == LicenseKind::Delivery;
            if delivery != (what == What::Deliveries) {
                continue;
            }
            let touched = state.history.iter().map(|h| h.entry.seq).max().unwrap_or(0);
            if !after(since, authority.as_str(), touched)
                || !dates.holds(&date_of(state.issued_at_ms))
            {
                continue;
            }
            let tallies = reader.tallies(&state)?;
            let view = license_view(reader, state, &tallies)?;
            out.row(&serde_json::to_value(view).unwrap_or(Value::Null));
        }
        if !out.flush() {
            return Ok(false);
        }
    }
}

/// Every recorded crossing, page by page; false when the client is gone.
fn shipments(
    reader: &Reader,
    since: &Option<Cursor>,
    dates: &Dates,
    out: &mut Out,
) -> Result<bool, ApiError> {
    let mut last: Option<Vec<u8>> = None;
    // The license each crossing is judged against (`counted`), read once a page.
    loop {
        let page = reader.shipments_after(last.as_deref(), PAGE)?;
        let Some((end, _)) = page.last() else {
            return Ok(true);
        };
        last = Some(end.clone());
        let mut licenses: HashMap<DocumentRef, Option<tally_model::License>> = HashMap::new();
        for (_, row) in page {
            if !after(since, row.recorded_by.as_str(), row.seq) || !dates.holds(&row.date) {
                continue;
            }
            let license = match licenses.get(&row.license) {
                Some(l) => l.clone(),
                None => {
                    let held = match row.license.authority.parse::<AuthorityId>() {
                        Ok(a) => reader.license(&a, &row.license.number)?.map(|s| s.document),
                        Err(_) => None,
                    };
                    licenses.insert(row.license.clone(), held.clone());
                    held
                }
            };
            let reference = row.license.clone();
            let mut view = serde_json::to_value(ShipmentView::new(row, license.as_ref()))
                .unwrap_or(Value::Null);
            view["license"] = json!(reference);
            out.row(&view);
        }
        if !out.flush() {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_a_bad_one_is_refused() {
        let c: Cursor = [("MX-SEDENA".to_string(), 7), ("US-DDTC".to_string(), 120)].into();
        assert_eq!(parse_cursor(&render_cursor(&c)).unwrap(), c);
        for bad in ["US-DDTC", "US-DDTC:x", "nope:1"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
        assert!(after(&Some(c.clone()), "US-DDTC", 121));
        assert!(!after(&Some(c.clone()), "US-DDTC", 120));
        assert!(after(&Some(c), "GT-DIGECAM", 1));
    }
}
