//! The role matrix: every route x no token / officer / issuer / admin.

use crate::rig::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tally_api::{ROUTES, Role};

/// One request of the matrix.
struct Case {
    method: Method,
    /// The route template it exercises.
    template: &'static str,
    path: String,
    /// The least role, by the contract.
    needed: Option<Role>,
    body: Option<Value>,
}

fn case(
    method: Method,
    template: &'static str,
    path: &str,
    needed: Option<Role>,
    body: Option<Value>,
) -> Case {
    Case {
        method,
        template,
        path: path.into(),
        needed,
        body,
    }
}

/// Every route, by the contract: a concrete request and the least role.
fn contract() -> Vec<Case> {
    use Method as M;
    let (officer, issuer, admin) = (Some(Role::Officer), Some(Role::Issuer), Some(Role::Admin));
    vec![
        case(M::GET, "/v1/health", "/v1/health", None, None),
        case(M::GET, "/metrics", "/metrics", None, None),
        case(M::GET, "/v1/openapi.json", "/v1/openapi.json", None, None),
        case(M::GET, "/", "/", None, None),
        case(M::GET, "/assets/{name}", "/assets/app.js", None, None),
        case(M::GET, "/paper/", "/paper/", None, None),
        case(M::GET, "/paper/pin.json", "/paper/pin.json", None, None),
        case(M::GET, "/paper/{name}", "/paper/app.js", None, None),
        case(M::GET, "/v1/status", "/v1/status", officer, None),
        case(
            M::GET,
            "/v1/licenses/{authority}/{number}",
            "/v1/licenses/US-DDTC/EXP-1",
            officer,
            None,
        ),
        case(
            M::POST,
            "/v1/shipments/verify",
            "/v1/shipments/verify",
            officer,
            Some(shipment("EXP-1", "US", "exit", 1, &[], false)),
        ),
        case(
            M::GET,
            "/v1/shipments",
            "/v1/shipments?authority=US-DDTC&number=EXP-1",
            officer,
            None,
        ),
        case(M::GET, "/v1/authorities", "/v1/authorities", officer, None),
        case(M::GET, "/v1/evidence", "/v1/evidence", officer, None),
        case(M::GET, "/v1/alerts", "/v1/alerts", officer, None),
        case(
            M::GET,
            "/v1/trace",
            "/v1/trace?make=Acme&serial=AC1000",
            officer,
            None,
        ),
        case(
            M::GET,
            "/v1/licenses",
            "/v1/licenses?kind=export&limit=10",
            officer,
            None,
        ),
        case(
            M::GET,
            "/v1/licenses/{authority}/{number}/amendable",
            "/v1/licenses/US-DDTC/EXP-1/amendable",
            officer,
            None,
        ),
        case(
            M::GET,
            "/v1/log/{authority}",
            "/v1/log/US-DDTC?from=1&limit=10",
            officer,
            None,
        ),
        case(
            M::GET,
            "/v1/reports/att",
            "/v1/reports/att?year=2026&format=json",
            issuer,
            None,
        ),
        case(
            M::GET,
            "/v1/statistics",
            "/v1/statistics?group=month",
            issuer,
            None,
        ),
        case(
            M::GET,
            "/v1/export/{what}",
            "/v1/export/licenses",
            issuer,
            None,
        ),
        case(
            M::POST,
            "/v1/licenses",
            "/v1/licenses",
            issuer,
            Some({
                // Its own certificate: IC-1 is used up by EXP-1.
                let mut e = export("EXP-NEW");
                e["import_certificate"]["number"] = json!("IC-2");
                e
            }),
        ),
        case(
            M::POST,
            "/v1/licenses/{authority}/{number}/status",
            "/v1/licenses/US-DDTC/EXP-1/status",
            issuer,
            Some(json!({"status": "suspended", "reason": "checking"})),
        ),
        case(
            M::POST,
            "/v1/licenses/{authority}/{number}/amend",
            "/v1/licenses/US-DDTC/EXP-1/amend",
            issuer,
            Some(export("EXP-1")),
        ),
        case(
            M::POST,
            "/v1/import/read",
            "/v1/import/read?format=jsonl",
            issuer,
            Some(export("EXP-READ")),
        ),
        case(
            M::GET,
            "/v1/paper/bundle",
            "/v1/paper/bundle",
            officer,
            None,
        ),
        case(
            M::GET,
            "/v1/paper/{authority}/{number}",
            "/v1/paper/US-DDTC/EXP-1",
            issuer,
            None,
        ),
        case(M::GET, "/v1/drafts", "/v1/drafts", issuer, None),
        case(
            M::POST,
            "/v1/drafts/{id}/approve",
            "/v1/drafts/d-0000000000000000/approve",
            issuer,
            None,
        ),
        case(
            M::POST,
            "/v1/drafts/{id}/reject",
            "/v1/drafts/d-0000000000000000/reject",
            issuer,
            Some(json!({"reason": "wrong importer"})),
        ),
        case(
            M::POST,
            "/v1/tokens",
            "/v1/tokens",
            admin,
            Some(json!({"role": "officer", "label": "gate"})),
        ),
        case(
            M::POST,
            "/v1/keys/rotate",
            "/v1/keys/rotate",
            admin,
            Some(json!({"purpose": "signing"})),
        ),
    ]
}

#[test]
fn the_matrix_covers_every_route_with_the_contract_role() {
    let c = contract();
    for route in ROUTES {
        let row = c
            .iter()
            .find(|c| c.method.as_str() == route.method.as_str() && c.template == route.path)
            .unwrap_or_else(|| {
                panic!(
                    "{} {} is not in the role matrix",
                    route.method.as_str(),
                    route.path
                )
            });
        assert_eq!(
            row.needed,
            route.role,
            "{} {}",
            route.method.as_str(),
            route.path
        );
    }
    assert_eq!(c.len(), ROUTES.len());
}

#[tokio::test]
async fn every_route_by_every_role() {
    let r = Rig::new();
    r.foreign_documents();
    r.ingest_foreign(MX, import_certificate("IC-2"));
    r.issue(&export("EXP-1")).await;

    for Case {
        method,
        template,
        path,
        needed,
        body,
    } in contract()
    {
        for who in [
            None,
            Some(Role::Officer),
            Some(Role::Issuer),
            Some(Role::Admin),
        ] {
            let token = r.token(who);
            let a = match &body {
                Some(b) => {
                    r.raw(
                        method.clone(),
                        &path,
                        token,
                        Some("application/json"),
                        serde_json::to_vec(b).expect("json"),
                    )
                    .await
                }
                None => r.raw(method.clone(), &path, token, None, vec![]).await,
            };
            let what = format!("{method} {template} as {who:?}");
            match (needed, who) {
                (Some(_), None) => {
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}: {}", a.text);
                    assert_eq!(a.error_code(), "unauthenticated", "{what}");
                }
                (Some(n), Some(w)) if w < n => {
                    assert_eq!(a.status, StatusCode::FORBIDDEN, "{what}: {}", a.text);
                    assert_eq!(a.error_code(), "forbidden", "{what}");
                }
                _ => {
                    // Allowed: whatever the answer, it is not about the token.
                    assert!(
                        a.status != StatusCode::UNAUTHORIZED && a.status != StatusCode::FORBIDDEN,
                        "{what}: {} {}",
                        a.status,
                        a.text
                    );
                    // No draft waits in the rig: approving or rejecting
                    // one is a 404 past the role check.
                    let no_draft =
                        template.starts_with("/v1/drafts/") && a.status == StatusCode::NOT_FOUND;
                    // The rig has no paper key: 503 past the role check.
                    let no_paper = (template.starts_with("/v1/paper/")
                        || template == "/paper/pin.json")
                        && a.status == StatusCode::SERVICE_UNAVAILABLE;
                    assert!(
                        a.status.is_success()
                            || a.status == StatusCode::CONFLICT
                            || no_draft
                            || no_paper,
                        "{what}: {} {}",
                        a.status,
                        a.text
                    );
                }
            }
        }
    }
}
