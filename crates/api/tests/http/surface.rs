//! The rest of the surface: health, status, authorities, evidence, tokens,
//! metrics, the OpenAPI document, the console, and serving on a real socket.

use crate::rig::*;
use axum::http::{Method, StatusCode};
use serde_json::json;
use tally_api::{ROUTES, Role, TokenBook};

#[tokio::test]
async fn health_status_and_authorities() {
    let r = Rig::new();
    r.foreign_documents();
    let a = r.get("/v1/health", None).await;
    assert_eq!(
        (a.status, a.json()),
        (StatusCode::OK, json!({"status": "ok"}))
    );

    let s = r.get("/v1/status", Some(&r.officer)).await.json();
    assert_eq!(s["authority"], US);
    assert_eq!(s["peer_id"], "12D3KooWUS");
    assert_eq!(s["peers"][0]["peer_id"], "12D3KooWMX");
    assert_eq!(s["peers"][0]["authority"], MX);
    assert_eq!(s["peers"][0]["connected"], true);
    assert_eq!(s["peers"][0]["last_sync"], "2026-11-18T11:06:40.000Z");
    assert_eq!(s["peers"][1]["connected"], false);
    let logs = s["logs"].as_array().expect("logs");
    let authorities: Vec<&str> = logs
        .iter()
        .filter_map(|l| l["authority"].as_str())
        .collect();
    assert_eq!(authorities, [GT, MX]);
    assert_eq!(logs[0]["seq"], 1);
    assert_eq!(logs[0]["head"].as_str().map(str::len), Some(64));

    let list = r.get("/v1/authorities", Some(&r.officer)).await.json();
    let list = list.as_array().expect("authorities");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["authority"], US);
    assert_eq!(list[0]["self"], true);
    assert_eq!(list[0]["country"], "US");
    assert_eq!(
        list[0]["keys"][0]["public_key"],
        hex::encode(key(1).public().as_bytes())
    );
    for a in &list[1..] {
        assert_eq!(a["self"], false);
        for field in ["authority", "country", "name", "peer_id", "keys"] {
            assert!(!a[field].is_null(), "{field} in {a}");
        }
    }
}

#[tokio::test]
async fn equivocation_evidence_is_listed() {
    let r = Rig::new();
    let first = r.ingest_foreign(MX, import_certificate("IC-1"));
    assert_eq!(
        r.get("/v1/evidence", Some(&r.officer)).await.json(),
        json!([])
    );
    // MX-SEDENA signs a second, different seq 1.
    let mut forked = first.entry().clone();
    forked.issued_at_ms += 1;
    let second = key(2).sign(&forked);
    let outcome = r
        .state
        .verifier
        .ingest()
        .entry(&second.signed().encode())
        .expect("store");
    assert!(
        matches!(outcome, tally_verify::IngestOutcome::Rejected(_)),
        "{outcome:?}"
    );
    let ev = r.get("/v1/evidence", Some(&r.officer)).await.json();
    assert_eq!(ev.as_array().map(Vec::len), Some(1), "{ev}");
    assert_eq!(ev[0]["authority"], MX);
    assert_eq!(ev[0]["seq"], 1);
    use base64::Engine as _;
    let decoded: Vec<Vec<u8>> = ev[0]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(e.as_str().expect("text"))
                .expect("base64")
        })
        .collect();
    assert_eq!(decoded, [first.signed().encode(), second.signed().encode()]);
}

#[tokio::test]
async fn tokens_from_the_api_and_from_another_process() {
    let r = Rig::new();
    let a = r
        .post(
            "/v1/tokens",
            Some(&r.admin),
            &json!({"role": "issuer", "label": "licensing desk"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let token = a.json()["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("tally_"));
    let file = std::fs::read_to_string(r.dir.path().join("tokens.toml")).expect("book");
    assert!(!file.contains(&token), "the secret is not stored");
    assert_eq!(
        r.get("/v1/status", Some(&token)).await.status,
        StatusCode::OK
    );
    let a = r
        .post(
            "/v1/tokens",
            Some(&token),
            &json!({"role": "admin", "label": "escalate"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // `tally token create` writes the same file while the node runs.
    let mut cli = TokenBook::load(r.dir.path().join("tokens.toml")).expect("book");
    let from_cli = cli.create(Role::Officer, "gate 7").expect("creates");
    assert_eq!(
        r.get("/v1/status", Some(&from_cli)).await.status,
        StatusCode::OK
    );
    let a = r
        .post("/v1/licenses", Some(&from_cli), &export("EXP-1"))
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(r.state.tokens.read().expect("lock").len(), 5);
}

#[tokio::test]
async fn metrics_render_every_series() {
    let r = Rig::new();
    r.foreign_documents();
    r.state
        .metrics
        .entry_outcome(tally_api::Source::Gossip, tally_api::Outcome::Accepted);
    r.get("/v1/licenses/US-DDTC/NOPE", Some(&r.officer)).await;
    r.get("/v1/licenses/US-DDTC/NOPE", Some(&r.officer)).await;
    r.get("/v1/status", None).await;
    r.get("/no/such/path", None).await;
    let a = r.get("/metrics", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.content_type().starts_with("text/plain"),
        "{}",
        a.content_type()
    );
    for line in [
        "tally_entries_stored{authority=\"MX-SEDENA\"} 1",
        "tally_entries_stored{authority=\"GT-DIGECAM\"} 1",
        "tally_entries_total{source=\"gossip\",outcome=\"accepted\"} 1",
        "tally_connected_peers 1",
        "tally_http_requests_total{route=\"/v1/licenses/{authority}/{number}\",status=\"404\"} 2",
        "tally_http_requests_total{route=\"/v1/status\",status=\"401\"} 1",
        "tally_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
    ] {
        assert!(
            a.text.lines().any(|l| l == line),
            "missing {line}:\n{}",
            a.text
        );
    }
    for name in [
        "tally_entries_stored",
        "tally_entries_total",
        "tally_connected_peers",
        "tally_http_requests_total",
    ] {
        assert!(a.text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    let a = r.get("/metrics", Some(&r.officer)).await;
    assert_eq!(a.status, StatusCode::OK);
    for name in ["tally_verification_checks_total", "tally_verdicts_total"] {
        assert!(a.text.contains(&format!("# TYPE {name} ")), "{name}");
    }
}

/// Regression (issue 20: `/metrics` without a token published
/// `tally_alerts_open{kind}`, computed from documents this node opened):
/// without a token the families derived from opened documents are absent
/// altogether (no sample, no `# HELP`, no `# TYPE`); with a token of any
/// role they are there; an unknown token is refused.
#[tokio::test]
async fn metrics_without_a_token_show_nothing_derived_from_opened_documents() {
    let r = Rig::new();
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let a = r
        .post(
            "/v1/shipments/verify",
            Some(&r.officer),
            &shipment("EXP-1", "US", "exit", 1000, &[], true),
        )
        .await;
    assert_eq!(a.json()["verdict"], "reject", "{}", a.text);

    let public = r.get("/metrics", None).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.text);
    for name in [
        "tally_alerts_open",
        "tally_verification_checks_total",
        "tally_verdicts_total",
    ] {
        assert!(!public.text.contains(name), "{name}:\n{}", public.text);
    }
    assert!(!public.text.contains("shipment.refused"), "{}", public.text);
    assert!(
        public
            .text
            .lines()
            .any(|l| l.starts_with("tally_entries_stored{authority=\"US-DDTC\"} ")),
        "{}",
        public.text
    );

    for token in [&r.officer, &r.issuer, &r.admin] {
        let m = r.get("/metrics", Some(token)).await;
        assert_eq!(m.status, StatusCode::OK, "{}", m.text);
        assert!(
            m.text
                .lines()
                .any(|l| l == "tally_alerts_open{kind=\"shipment.refused\"} 1"),
            "{}",
            m.text
        );
        assert!(
            m.text
                .contains("tally_verdicts_total{verdict=\"reject\"} 1"),
            "{}",
            m.text
        );
    }
    let unknown = r.get("/metrics", Some("not-a-token")).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "{}", unknown.text);
    assert!(
        !unknown.text.contains("tally_alerts_open"),
        "{}",
        unknown.text
    );
}

#[tokio::test]
async fn metrics_count_open_alerts_per_kind() {
    let r = Rig::new();
    r.foreign_documents();
    let gauge = |text: &str, kind: &str| -> Option<u64> {
        let prefix = format!("tally_alerts_open{{kind=\"{kind}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|n| n.parse().ok())
    };
    // Every kind is listed, at zero while nothing was raised.
    let m = r.get("/metrics", Some(&r.officer)).await.text;
    assert!(m.contains("# TYPE tally_alerts_open gauge"), "{m}");
    for kind in tally_model::AlertKind::ALL {
        assert_eq!(gauge(&m, kind.as_str()), Some(0), "{kind}:\n{m}");
    }

    r.issue(&export("EXP-1")).await;
    // Two attempted crossings refused and recorded: two shipment.refused alerts.
    for _ in 0..2 {
        let a = r
            .post(
                "/v1/shipments/verify",
                Some(&r.officer),
                &shipment("EXP-1", "US", "exit", 1000, &[], true),
            )
            .await;
        assert_eq!(a.json()["verdict"], "reject", "{}", a.text);
    }
    let alerts = r.get("/v1/alerts", Some(&r.officer)).await.json();
    let refused = alerts
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["kind"] == "shipment.refused" && a["open"] == true)
        .count();
    assert_eq!(refused, 2, "{alerts}");
    let m = r.get("/metrics", Some(&r.officer)).await.text;
    assert_eq!(gauge(&m, "shipment.refused"), Some(2), "{m}");
    assert_eq!(gauge(&m, "shipment.discrepancy"), Some(0), "{m}");
    // The existing families keep their names.
    for name in ["tally_entries_stored", "tally_verdicts_total"] {
        assert!(m.contains(&format!("# TYPE {name} ")), "{name}");
    }
}

#[tokio::test]
async fn openapi_lists_every_route_and_every_listed_route_answers() {
    let r = Rig::new();
    let a = r.get("/v1/openapi.json", None).await;
    assert_eq!(a.status, StatusCode::OK);
    let doc = a.json();
    assert_eq!(doc["openapi"], "3.0.3");
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing",
            route.method.as_str(),
            route.path
        );
    }
    // The contract's endpoints, by hand, so a route dropped from the table shows.
    for (method, path) in [
        ("get", "/v1/health"),
        ("get", "/v1/status"),
        ("post", "/v1/licenses"),
        ("get", "/v1/licenses/{authority}/{number}"),
        ("post", "/v1/licenses/{authority}/{number}/status"),
        ("post", "/v1/licenses/{authority}/{number}/amend"),
        ("post", "/v1/shipments/verify"),
        ("get", "/v1/shipments"),
        ("get", "/v1/authorities"),
        ("post", "/v1/tokens"),
        ("get", "/v1/evidence"),
        ("get", "/v1/log/{authority}"),
        ("get", "/metrics"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} not documented"
        );
    }
    // Everything documented is served: with the admin token, no documented
    // operation answers with the router's unknown-path or wrong-method error.
    let paths = doc["paths"].as_object().expect("paths");
    for (path, ops) in paths {
        let concrete = path
            .replace("{authority}", US)
            .replace("{number}", "EXP-1")
            .replace("{name}", "app.js");
        for method in ops.as_object().expect("operations").keys() {
            let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("method");
            let a = r
                .raw(
                    m,
                    &concrete,
                    Some(&r.admin),
                    Some("application/json"),
                    b"{}".to_vec(),
                )
                .await;
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !a.text.contains("no such path"),
                "{method} {path}: {}",
                a.text
            );
        }
    }
}

#[tokio::test]
async fn the_console_is_served_without_a_token() {
    let r = Rig::new();
    let a = r.get("/", None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "text/html; charset=utf-8");
    assert!(a.text.contains("/assets/app.js"));
    let csp = a
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok());
    assert_eq!(
        csp,
        Some("default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    );
    assert_eq!(
        a.headers
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    for (name, ct) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("api.js", "text/javascript; charset=utf-8"),
        ("i18n.js", "text/javascript; charset=utf-8"),
        ("dom.js", "text/javascript; charset=utf-8"),
        ("chart.js", "text/javascript; charset=utf-8"),
        ("license.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("print.css", "text/css; charset=utf-8"),
        ("i18n-en.json", "application/json; charset=utf-8"),
        ("i18n-pt.json", "application/json; charset=utf-8"),
    ] {
        let a = r.get(&format!("/assets/{name}"), None).await;
        assert_eq!(a.status, StatusCode::OK, "{name}");
        assert_eq!(a.content_type(), ct, "{name}");
        assert!(a.headers.contains_key("content-security-policy"), "{name}");
        assert!(a.headers.contains_key("x-frame-options"), "{name}");
        assert!(!a.text.is_empty());
    }
    let a = r.get("/assets/../Cargo.toml", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn serves_on_a_socket_and_shuts_down_gracefully() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let r = Rig::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tally_api::serve(
        listener,
        r.state.clone(),
        tally_api::server::ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_string(&mut answer),
    )
    .await
    .expect("answer in time")
    .expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"status\":\"ok\"}"), "{answer}");
    stop.send(()).expect("server alive");
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("stops in time")
        .expect("joins");
    assert!(result.is_ok(), "{result:?}");
}

/// Regression (issue 20: a node whose store check failed still answered
/// reads and verdicts): once the store is marked damaged, every route of the
/// table but health, status, metrics, the OpenAPI document and the console's
/// files answers 503 `unavailable` with the JSON error body, whatever the
/// request; health answers 503 `degraded` with the reason, status gives it.
#[tokio::test]
async fn a_damaged_store_answers_no_read_or_check() {
    let r = Rig::new();
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let check = shipment("EXP-1", "US", "exit", 1, &[], false);
    let v = r
        .post("/v1/shipments/verify", Some(&r.officer), &check)
        .await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);

    r.state
        .verifier
        .integrity()
        .mark_damaged("US-DDTC seq 1: the signature does not verify");
    let mut gated = 0;
    for route in ROUTES {
        let path = route
            .path
            .replace("{authority}", US)
            .replace("{number}", "EXP-1")
            .replace("{name}", "app.js");
        let path = if route.path == "/v1/shipments" {
            format!("{path}?authority={US}&number=EXP-1")
        } else {
            path
        };
        let method = match route.method {
            tally_api::routes::Method::Get => Method::GET,
            tally_api::routes::Method::Post => Method::POST,
        };
        let body = if route.path == "/v1/shipments/verify" {
            check.to_string().into_bytes()
        } else {
            b"{}".to_vec()
        };
        let a = r
            .raw(
                method.clone(),
                &path,
                Some(&r.admin),
                Some("application/json"),
                body,
            )
            .await;
        if route.answers_when_damaged() {
            if route.path == "/v1/health" {
                assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
                assert_eq!(a.json()["status"], "degraded");
                assert!(
                    a.json()["reason"]
                        .as_str()
                        .is_some_and(|s| s.contains("seq 1: the signature")),
                    "{}",
                    a.text
                );
            } else {
                assert_eq!(a.status, StatusCode::OK, "{method} {path}: {}", a.text);
            }
        } else {
            gated += 1;
            assert_eq!(
                a.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}: {}",
                a.text
            );
            assert_eq!(a.error_code(), "unavailable", "{method} {path}");
            assert!(a.text.contains("damaged"), "{method} {path}: {}", a.text);
        }
    }
    assert!(gated >= 10, "{gated} routes refused");
    for path in [
        "/v1/log/US-DDTC",
        "/v1/licenses/US-DDTC/EXP-1",
        "/v1/alerts",
        "/v1/authorities",
    ] {
        let route = ROUTES
            .iter()
            .find(|r| path.starts_with(r.path.split('{').next().unwrap_or(r.path)))
            .expect("a route");
        assert!(!route.answers_when_damaged(), "{path}");
    }
    let s = r.get("/v1/status", Some(&r.officer)).await.json();
    assert_eq!(s["store"]["status"], "damaged", "{s}");
    assert_eq!(
        s["store"]["reason"],
        "US-DDTC seq 1: the signature does not verify"
    );
    assert_eq!(s["logs"], json!([]), "{s}");
    // Without a token too, nothing from the store: 503 before 401 or after,
    // never an answer.
    let a = r.get("/v1/licenses/US-DDTC/EXP-1", None).await;
    assert_ne!(a.status, StatusCode::OK);
}

/// Regression (issue 28: while a key compromise declaration re-derived the
/// state, licenses answered 404 and checks failed `license.known` from the
/// half-built records): while the derived records are rebuilt, reads and
/// checks answer 503 `unavailable` saying so, and `/v1/status` says the
/// node is recovering, with the progress; once whole, the node answers.
#[tokio::test]
async fn reads_answer_503_while_the_derived_records_are_rebuilt() {
    let r = Rig::new();
    r.foreign_documents();
    r.issue(&export("EXP-1")).await;
    let verifier = r.state.verifier.clone();
    let (reached, reached_rx) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let rebuild = std::thread::spawn(move || {
        verifier.reindex(&mut |_| {
            let _ = reached.send(());
            let _ = go_rx.recv();
        })
    });
    reached_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the rebuild reports progress");
    let a = r.get("/v1/licenses/US-DDTC/EXP-1", Some(&r.officer)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    assert_eq!(a.error_code(), "unavailable");
    assert!(a.text.contains("rebuilding"), "{}", a.text);
    let check = shipment("EXP-1", "US", "exit", 1, &[], false);
    let v = r
        .post("/v1/shipments/verify", Some(&r.officer), &check)
        .await;
    assert_eq!(v.status, StatusCode::SERVICE_UNAVAILABLE, "{}", v.text);
    let s = r.get("/v1/status", Some(&r.officer)).await.json();
    assert_eq!(s["signing"], "recovering", "{s}");
    assert_eq!(s["store"]["status"], "rebuilding", "{s}");
    assert!(
        s["reason"].as_str().is_some_and(|t| t.contains("entries")),
        "{s}"
    );
    // Let every chunk go on.
    for _ in 0..1000 {
        let _ = go.send(());
    }
    rebuild.join().expect("no panic").expect("the rebuild ends");
    let a = r.get("/v1/licenses/US-DDTC/EXP-1", Some(&r.officer)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let s = r.get("/v1/status", Some(&r.officer)).await.json();
    assert_eq!(s["store"]["status"], "ok", "{s}");
}
