//! Every error code of docs/API.md's table with its status, and that a
//! refused request changes nothing.

use crate::rig::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn invalid_json_for_every_kind_of_bad_body() {
    let r = Rig::new();
    let t = Some(r.issuer.as_str());
    let before = r.heads().await;
    let mut missing_number = export("EXP-9");
    missing_number
        .as_object_mut()
        .expect("object")
        .remove("number");
    let mut wrong_type = export("EXP-9");
    wrong_type["items"][0]["quantity"] = json!("a hundred");
    let mut unknown_field = export("EXP-9");
    unknown_field["colour"] = json!("blue");
    let mut unknown_kind = export("EXP-9");
    unknown_kind["kind"] = json!("loan");
    // Issue 28 item 8: a key repeated within an object (last one won).
    let repeated = |at: &str, extra: &str| -> Vec<u8> {
        let text = serde_json::to_string(&export("EXP-9")).expect("json");
        let (head, tail) = text.split_at(text.find(at).expect("anchor") + at.len());
        format!("{head}{extra}{tail}").into_bytes()
    };
    let cases: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        (
            "repeated top-level key",
            Some("application/json"),
            repeated("{", r#""number":"EXP-8","#),
        ),
        (
            "repeated nested key",
            Some("application/json"),
            repeated(r#""items":[{"#, r#""quantity":100000,"#),
        ),
        (
            "repeated escaped key",
            Some("application/json"),
            repeated("{", r#""\u006eumber":"EXP-8","#),
        ),
        ("not JSON", Some("application/json"), b"{not json".to_vec()),
        ("empty", Some("application/json"), vec![]),
        ("array", Some("application/json"), b"[]".to_vec()),
        (
            "missing field",
            Some("application/json"),
            serde_json::to_vec(&missing_number).expect("json"),
        ),
        (
            "wrong type",
            Some("application/json"),
            serde_json::to_vec(&wrong_type).expect("json"),
        ),
        (
            "unknown field",
            Some("application/json"),
            serde_json::to_vec(&unknown_field).expect("json"),
        ),
        (
            "unknown kind",
            Some("application/json"),
            serde_json::to_vec(&unknown_kind).expect("json"),
        ),
        (
            "wrong content type",
            Some("application/xml"),
            serde_json::to_vec(&export("EXP-9")).expect("json"),
        ),
    ];
    for (what, ct, body) in cases {
        let a = r.raw(Method::POST, "/v1/licenses", t, ct, body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}: {}", a.text);
        assert_eq!(a.error_code(), "invalid_json", "{what}");
    }
    // The same body without the repetition is a valid document.
    let once = serde_json::to_vec(&export("EXP-9")).expect("json");
    tally_api::extract::parse_body::<tally_model::License>(&once).expect("valid once");
    let a = r
        .raw(
            Method::POST,
            "/v1/shipments/verify",
            Some(r.officer.as_str()),
            Some("application/json"),
            br#"{"license": {"authority": "US-DDTC", "number": "EXP-9", "number": "EXP-8"},
                "checkpoint": {"country": "US", "port": "USPRT", "direction": "exit"}, "items": []}"#
                .to_vec(),
        )
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.error_code(), "invalid_json");
    // The same on the other bodies and on queries.
    let o = Some(r.officer.as_str());
    for (path, token, body) in [
        (
            "/v1/shipments/verify",
            o,
            json!({"license": {"authority": US}}),
        ),
        (
            "/v1/shipments/verify",
            o,
            json!({"license": {"authority": US, "number": "EXP-9"},
            "checkpoint": {"country": "US", "direction": "sideways"}, "items": []}),
        ),
        (
            "/v1/shipments/verify",
            o,
            json!({"license": {"authority": US, "number": "EXP-9"},
            "checkpoint": {"country": "US", "direction": "exit"}, "date": "2026-13-45", "items": []}),
        ),
        (
            "/v1/licenses/US-DDTC/EXP-9/status",
            t,
            json!({"status": "paused"}),
        ),
        (
            "/v1/licenses/US-DDTC/EXP-9/status",
            t,
            json!({"reason": "no status"}),
        ),
        (
            "/v1/tokens",
            Some(r.admin.as_str()),
            json!({"role": "root", "label": "x"}),
        ),
        (
            "/v1/tokens",
            Some(r.admin.as_str()),
            json!({"role": "officer"}),
        ),
        (
            "/v1/tokens",
            Some(r.admin.as_str()),
            json!({"role": "officer", "label": ""}),
        ),
    ] {
        let a = r.post(path, token, &body).await;
        assert_eq!(
            a.status,
            StatusCode::BAD_REQUEST,
            "{path} {body}: {}",
            a.text
        );
        assert_eq!(a.error_code(), "invalid_json", "{path} {body}");
    }
    for path in [
        "/v1/shipments",
        "/v1/shipments?authority=US-DDTC",
        "/v1/log/US-DDTC?from=first",
        "/v1/log/US-DDTC?limit=-1",
    ] {
        let a = r.get(path, o).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.text);
        assert_eq!(a.error_code(), "invalid_json", "{path}");
    }
    assert_eq!(r.heads().await, before, "a refused request wrote something");
    assert_eq!(r.state.tokens.read().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_the_same_shape() {
    let r = Rig::new();
    let mut big = export("EXP-BIG");
    big["conditions"] = json!("x".repeat(tally_api::extract::MAX_BODY_BYTES + 1));
    let a = r.post("/v1/licenses", Some(&r.issuer), &big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    assert_eq!(a.error_code(), "payload_too_large");
    assert_eq!(r.heads().await, json!([]));
}

#[tokio::test]
async fn unauthenticated_without_a_known_token() {
    let r = Rig::new();
    for header in [
        None,
        Some("Bearer nope"),
        Some("Basic dXM6cHc="),
        Some("Bearer "),
    ] {
        let mut req = axum::http::Request::builder().uri("/v1/status");
        if let Some(h) = header {
            req = req.header("authorization", h);
        }
        let res = tower::ServiceExt::oneshot(
            r.app.clone(),
            req.body(axum::body::Body::empty()).expect("request"),
        )
        .await
        .expect("infallible");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["error"]["code"], "unauthenticated", "{header:?}");
    }
    // A token is never echoed back.
    let a = r.get("/v1/status", Some("tally_secret_guess")).await;
    assert!(!a.text.contains("tally_secret_guess"));
}

#[tokio::test]
async fn forbidden_not_found_conflict_and_unprocessable() {
    let r = Rig::new();
    r.foreign_documents();
    let (i, o) = (Some(r.issuer.as_str()), Some(r.officer.as_str()));
    assert_eq!(
        r.post("/v1/licenses", i, &export("EXP-1")).await.status,
        StatusCode::CREATED
    );
    let before = r.heads().await;

    let expect = |a: &Answer, status: StatusCode, code: &str, what: &str| {
        assert_eq!(a.status, status, "{what}: {}", a.text);
        assert_eq!(a.error_code(), code, "{what}");
    };

    // 403: role too low; another authority's document; recording abroad.
    let a = r.post("/v1/licenses", o, &export("EXP-2")).await;
    expect(&a, StatusCode::FORBIDDEN, "forbidden", "officer issues");
    let a = r
        .post(
            "/v1/licenses/MX-SEDENA/IC-1/status",
            i,
            &json!({"status": "revoked", "reason": "x"}),
        )
        .await;
    expect(
        &a,
        StatusCode::FORBIDDEN,
        "forbidden",
        "revoke MX's document",
    );
    let a = r
        .post(
            "/v1/licenses/MX-SEDENA/IC-1/amend",
            i,
            &import_certificate("IC-1"),
        )
        .await;
    expect(
        &a,
        StatusCode::FORBIDDEN,
        "forbidden",
        "amend MX's document",
    );
    let a = r
        .post(
            "/v1/shipments/verify",
            o,
            &shipment("EXP-1", "MX", "entry", 1, &[], true),
        )
        .await;
    expect(
        &a,
        StatusCode::FORBIDDEN,
        "forbidden",
        "record at a Mexican checkpoint",
    );

    // 404: unknown license, unknown path, unknown own document, unknown log.
    for path in [
        "/v1/licenses/US-DDTC/NOPE",
        "/v1/licenses/XX-NOPE/EXP-1",
        "/v1/nothing",
        "/v1/shipments/verify",
        "/v1/log/not-an-authority",
        "/assets/missing.js",
        "/nothing/at/all",
    ] {
        let token = if path == "/v1/shipments/verify" {
            None
        } else {
            o
        };
        let a = r.get(path, token).await;
        if path == "/v1/shipments/verify" {
            // The path exists for POST only.
            expect(
                &a,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                path,
            );
        } else {
            expect(&a, StatusCode::NOT_FOUND, "not_found", path);
        }
    }
    let a = r
        .post(
            "/v1/licenses/US-DDTC/NOPE/status",
            i,
            &json!({"status": "suspended", "reason": "x"}),
        )
        .await;
    expect(
        &a,
        StatusCode::NOT_FOUND,
        "not_found",
        "status of an unknown number",
    );
    let a = r
        .post("/v1/licenses/US-DDTC/NOPE/amend", i, &export("NOPE"))
        .await;
    expect(
        &a,
        StatusCode::NOT_FOUND,
        "not_found",
        "amend an unknown number",
    );

    // 409: the number is taken.
    let a = r.post("/v1/licenses", i, &export("EXP-1")).await;
    expect(&a, StatusCode::CONFLICT, "conflict", "issue EXP-1 again");

    // 422 invalid_document: well-formed but wrong.
    let mut cases = vec![];
    let mut d = export("EXP-3");
    d["valid_until"] = json!(day(-40));
    cases.push(("valid_until before valid_from", d));
    let mut d = export("EXP-3");
    d["importing_country"] = json!("ZZ");
    cases.push(("unknown country", d));
    let mut d = export("EXP-3");
    d["items"] = json!([]);
    cases.push(("no items", d));
    let mut d = export("EXP-3");
    d["items"][1]["line"] = json!(1);
    cases.push(("duplicate line", d));
    let mut d = export("EXP-3");
    d["items"][0]["quantity"] = json!(0);
    cases.push(("quantity 0", d));
    let mut d = export("EXP-3");
    d["items"][0]["quantity"] = json!(1);
    cases.push(("more serials than quantity", d));
    let mut d = export("EXP-3");
    d.as_object_mut()
        .expect("object")
        .remove("import_certificate");
    cases.push(("no import certificate", d));
    let mut d = export("EXP-3");
    d["exporting_country"] = json!("CA");
    cases.push(("another country's export", d));
    cases.push(("a Mexican import certificate", import_certificate("IC-9")));
    for (what, body) in cases {
        let a = r.post("/v1/licenses", i, &body).await;
        expect(
            &a,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document",
            what,
        );
    }

    // 422 invalid_amendment.
    let mut more = export("EXP-1");
    more["items"][0]["quantity"] = json!(101);
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &more).await;
    expect(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_amendment",
        "raise a quantity",
    );
    let mut longer = export("EXP-1");
    longer["valid_until"] = json!(day(400));
    let a = r.post("/v1/licenses/US-DDTC/EXP-1/amend", i, &longer).await;
    expect(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_amendment",
        "extend validity",
    );

    // 405 in the same shape.
    let a = r
        .raw(
            Method::DELETE,
            "/v1/licenses/US-DDTC/EXP-1",
            o,
            None,
            vec![],
        )
        .await;
    expect(
        &a,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "DELETE",
    );

    assert_eq!(r.heads().await, before, "a refused request wrote something");
}

/// Issue 28 item 8: characters the text rule did not cover were accepted at
/// issue (Arabic letter mark, line separator, tags, soft hyphen, Hangul
/// fillers, Mongolian vowel separator, combining grapheme joiner,
/// interlinear annotation).
#[tokio::test]
async fn newly_refused_characters_are_422_at_issue() {
    let r = Rig::new();
    r.foreign_documents();
    let before = r.heads().await;
    for c in [
        '\u{061C}',
        '\u{2028}',
        '\u{2029}',
        '\u{E0000}',
        '\u{E0041}',
        '\u{E007F}',
        '\u{00AD}',
        '\u{115F}',
        '\u{1160}',
        '\u{3164}',
        '\u{FFA0}',
        '\u{180E}',
        '\u{034F}',
        '\u{FFF9}',
        '\u{FFFA}',
        '\u{FFFB}',
    ] {
        let mut d = export("EXP-9");
        d["importer"]["name"] = json!(format!("Importadora{c} del Norte SA"));
        let a = r.post("/v1/licenses", Some(r.issuer.as_str()), &d).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "U+{:04X}: {}",
            u32::from(c),
            a.text
        );
        assert_eq!(a.error_code(), "invalid_document");
    }
    assert_eq!(r.heads().await, before);
    // Without it, the same document is issued.
    r.issue(&export("EXP-9")).await;
}
