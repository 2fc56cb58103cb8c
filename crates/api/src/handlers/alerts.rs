//! `GET /v1/alerts`: what the network raised by itself, newest first, with
//! the filters and paging of docs/API.md "Alerts".

use super::blocking;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;
use crate::view::AlertView;
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use std::cmp::Reverse;
use tally_model::AlertKind;
use tally_verify::state::Alert;

/// Alerts one answer lists when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// Most alerts one answer lists.
pub const MAX_LIMIT: usize = 1000;

/// The query of `GET /v1/alerts`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Include closed alerts.
    #[serde(default)]
    pub all: bool,
    pub kind: Option<String>,
    pub authority: Option<String>,
    pub number: Option<String>,
    pub limit: Option<usize>,
    /// The id of the last alert of the previous page.
    pub before: Option<String>,
}

/// Sorts, filters and pages `alerts` as the query asks: newest first (ties
/// by id, so pages are stable), then everything after `before`.
pub fn select(mut alerts: Vec<Alert>, q: &AlertQuery) -> Result<Vec<Alert>, ApiError> {
    let kind = match &q.kind {
        None => None,
        Some(k) => Some(AlertKind::parse(k).ok_or_else(|| {
            ApiError::invalid_json(format!(
                "kind {k:?} is not one of {}",
                AlertKind::ALL.map(AlertKind::as_str).join(", ")
            ))
        })?),
    };
    if q.number.is_some() && q.authority.is_none() {
        return Err(ApiError::invalid_json("number needs authority"));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    alerts.sort_by(|a, b| {
        (Reverse(a.raised_at_ms), Reverse(&a.id)).cmp(&(Reverse(b.raised_at_ms), Reverse(&b.id)))
    });
    let start = match &q.before {
        None => 0,
        Some(id) => match alerts.iter().position(|a| &a.id == id) {
            Some(i) => i + 1,
            None => {
                return Err(ApiError::invalid_json(format!(
                    "no alert {id:?} to page from"
                )));
            }
        },
    };
    Ok(alerts
        .into_iter()
        .skip(start)
        .filter(|a| q.all || a.open)
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .filter(|a| {
            let l = a.license.as_ref();
            q.authority
                .as_ref()
                .is_none_or(|x| l.is_some_and(|l| &l.authority == x))
                && q.number
                    .as_ref()
                    .is_none_or(|x| l.is_some_and(|l| &l.number == x))
        })
        .take(limit)
        .collect())
}

pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<AlertQuery>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    let v = s.verifier.clone();
    blocking(move || {
        let alerts = select(v.reader()?.alerts()?, &q)?;
        Ok(Json(alerts.into_iter().map(AlertView::from).collect()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_model::DocumentRef;

    fn alert(id: &str, at: i64, open: bool, kind: AlertKind, number: &str) -> Alert {
        Alert {
            id: id.into(),
            kind,
            license: Some(DocumentRef {
                authority: "US-DDTC".into(),
                number: number.into(),
            }),
            raised_at_ms: at,
            detail: String::new(),
            open,
        }
    }

    fn ids(alerts: Vec<Alert>) -> Vec<String> {
        alerts.into_iter().map(|a| a.id).collect()
    }

    #[test]
    fn newest_first_filtered_and_paged() {
        let all = vec![
            alert("a", 1, true, AlertKind::ShipmentRefused, "E1"),
            alert("b", 3, true, AlertKind::DocumentInvalid, "E2"),
            alert("c", 2, false, AlertKind::ShipmentRefused, "E1"),
            alert("d", 3, true, AlertKind::ShipmentRefused, "E1"),
        ];
        let q = |f: fn(&mut AlertQuery)| {
            let mut q = AlertQuery::default();
            f(&mut q);
            ids(select(all.clone(), &q).expect("selects"))
        };
        assert_eq!(q(|_| {}), ["d", "b", "a"]);
        assert_eq!(q(|q| q.all = true), ["d", "b", "c", "a"]);
        assert_eq!(q(|q| q.kind = Some("shipment.refused".into())), ["d", "a"]);
        assert_eq!(
            q(|q| {
                q.authority = Some("US-DDTC".into());
                q.number = Some("E2".into());
            }),
            ["b"]
        );
        assert_eq!(q(|q| q.limit = Some(1)), ["d"]);
        assert_eq!(
            q(|q| {
                q.limit = Some(1);
                q.before = Some("d".into());
            }),
            ["b"]
        );
        let bad = AlertQuery {
            kind: Some("nope".into()),
            ..AlertQuery::default()
        };
        assert!(select(all.clone(), &bad).is_err());
    }
}
