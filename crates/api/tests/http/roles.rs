//! The role matrix: every route x no token / officer / issuer / admin.

use crate::rig::*;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tally_api::{ROUTES, Role};

/// Every route, by the contract: a concrete request and the least role.
fn contract() -> Vec<(Method, &'static str, String, Option<Role>, Option<Value>)> {
    use Method as M;
    vec![
        (M::GET, "/v1/health", "/v1/health".into(), None, None),
        (M::GET, "/metrics", "/metrics".into(), None, None),
        (
            M::GET,
            "/v1/openapi.json",
            "/v1/openapi.json".into(),
            None,
            None,
        ),
        (M::GET, "/", "/".into(), None, None),
        (
            M::GET,
            "/assets/{name}",
            "/assets/app.js".into(),
            None,
            None,
        ),
        (
            M::GET,
            "/v1/status",
            "/v1/status".into(),
            Some(Role::Officer),
            None,
        ),
        (
            M::GET,
            "/v1/licenses/{authority}/{number}",
            "/v1/licenses/US-DDTC/EXP-1".into(),
            Some(Role::Officer),
            None,
        ),
        (
            M::POST,
            "/v1/shipments/verify",
            "/v1/shipments/verify".into(),
            Some(Role::Officer),
            Some(shipment("EXP-1", "US", "exit", 1, &[], false)),
        ),
        (
            M::GET,
            "/v1/shipments",
            "/v1/shipments?authority=US-DDTC&number=EXP-1".into(),
            Some(Role::Officer),
            None,
        ),
        (
            M::GET,
            "/v1/authorities",
            "/v1/authorities".into(),
            Some(Role::Officer),
            None,
        ),
        (
            M::GET,
            "/v1/evidence",
            "/v1/evidence".into(),
            Some(Role::Officer),
            None,
        ),
        (
            M::GET,
            "/v1/log/{authority}",
            "/v1/log/US-DDTC?from=1&limit=10".into(),
            Some(Role::Officer),
            None,
        ),
        (
            M::POST,
            "/v1/licenses",
            "/v1/licenses".into(),
            Some(Role::Issuer),
            Some(export("EXP-NEW")),
        ),
        (
            M::POST,
            "/v1/licenses/{authority}/{number}/status",
            "/v1/licenses/US-DDTC/EXP-1/status".into(),
            Some(Role::Issuer),
            Some(json!({"status": "suspended", "reason": "checking"})),
        ),
        (
            M::POST,
            "/v1/licenses/{authority}/{number}/amend",
            "/v1/licenses/US-DDTC/EXP-1/amend".into(),
            Some(Role::Issuer),
            Some(export("EXP-1")),
        ),
        (
            M::POST,
            "/v1/tokens",
            "/v1/tokens".into(),
            Some(Role::Admin),
            Some(json!({"role": "officer", "label": "gate"})),
        ),
    ]
}

#[test]
fn the_matrix_covers_every_route_with_the_contract_role() {
    let c = contract();
    for route in ROUTES {
        let row = c
            .iter()
            .find(|(m, p, ..)| m.as_str() == route.method.as_str() && *p == route.path)
            .unwrap_or_else(|| {
                panic!(
                    "{} {} is not in the role matrix",
                    route.method.as_str(),
                    route.path
                )
            });
        assert_eq!(
            row.3,
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
    let created = r
        .post("/v1/licenses", Some(&r.issuer), &export("EXP-1"))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    for (method, template, path, needed, body) in contract() {
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
                    assert!(
                        a.status.is_success() || a.status == StatusCode::CONFLICT,
                        "{what}: {} {}",
                        a.status,
                        a.text
                    );
                }
            }
        }
    }
}
