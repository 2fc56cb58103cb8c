//! The offline paper verifier (issue 24): an installable web app served at
//! `/paper/` without a token, under the console's Content-Security-Policy
//! (no inline or external code, no WASM; `default-src 'self'` also covers
//! its service worker and manifest). Its service worker (scope `/paper/`)
//! keeps these files, so the app opens with the network off once loaded.
//!
//! `/paper/pin.json` names this node's paper key: the app refuses a trust
//! bundle whose signature does not hold under it. It is the one answer
//! here that is not a file of the binary (503 when the node prints no
//! seals, as `/v1/paper/bundle` answers).

use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const MANIFEST: &str = "application/manifest+json; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The camera for the QR scanner, on this origin only; nothing else.
const PERMISSIONS: &str = "camera=(self), microphone=(), geolocation=()";

/// Where `sw.js` names its cache: replaced by [`version`] when served, so
/// that a new binary's files replace the old ones in every installed app.
const VERSION_MARK: &str = "@@VERSION@@";

/// Every file of the app under `/paper/`: name, content type, contents.
pub const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        HTML,
        include_str!("../../assets/paper/index.html"),
    ),
    ("app.js", JS, include_str!("../../assets/paper/app.js")),
    (
        "answer.js",
        JS,
        include_str!("../../assets/paper/answer.js"),
    ),
    (
        "bundle.js",
        JS,
        include_str!("../../assets/paper/bundle.js"),
    ),
    ("cbor.js", JS, include_str!("../../assets/paper/cbor.js")),
    ("seal.js", JS, include_str!("../../assets/paper/seal.js")),
    ("scan.js", JS, include_str!("../../assets/paper/scan.js")),
    ("store.js", JS, include_str!("../../assets/paper/store.js")),
    (
        "consignment.js",
        JS,
        include_str!("../../assets/paper/consignment.js"),
    ),
    ("sw.js", JS, include_str!("../../assets/paper/sw.js")),
    (
        "verifier.css",
        CSS,
        include_str!("../../assets/paper/verifier.css"),
    ),
    (
        "manifest.webmanifest",
        MANIFEST,
        include_str!("../../assets/paper/manifest.webmanifest"),
    ),
    ("icon.svg", SVG, include_str!("../../assets/paper/icon.svg")),
    (
        "jsqr.js",
        JS,
        include_str!("../../assets/paper/vendor/jsQR.js"),
    ),
    (
        "jsqr-LICENSE.txt",
        TEXT,
        include_str!("../../assets/paper/vendor/LICENSE"),
    ),
];

/// A short digest of every file of the app and of the console's strings
/// (the app uses them), computed once: the service worker's cache name.
fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for (name, _, body) in FILES {
            h.update(name.as_bytes());
            h.update([0]);
            h.update(body.as_bytes());
        }
        for (name, _, body) in super::console::ASSETS {
            if name.starts_with("i18n") {
                h.update(body.as_bytes());
            }
        }
        hex::encode(&h.finalize()[..8])
    })
}

fn answer(content_type: &'static str, body: String) -> Response {
    let mut r = super::console::under_csp(content_type, body);
    let h = r.headers_mut();
    h.insert("permissions-policy", HeaderValue::from_static(PERMISSIONS));
    // The service worker decides what is kept offline; the HTTP cache revalidates.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn file(name: &str) -> Option<Response> {
    let (_, ct, body) = FILES.iter().find(|(n, _, _)| *n == name)?;
    let body = if name == "sw.js" {
        body.replace(VERSION_MARK, version())
    } else {
        (*body).to_string()
    };
    Some(answer(ct, body))
}

/// `GET /paper/`: the app.
pub async fn index() -> Response {
    file("index.html").unwrap_or_else(|| ApiError::not_found("no app").into_response())
}

/// `GET /paper/{name}`: one of the app's files.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    file(&name).ok_or_else(|| ApiError::not_found(format!("no file {name:?} in the verifier")))
}

/// `GET /paper/pin.json`: this node's authority and paper public key (hex),
/// which the app pins.
pub async fn pin(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Result<Response, ApiError> {
    let desk = s.paper.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "this node prints no seals: set [paper] enabled = true in tally.toml and restart",
        )
    })?;
    let body = serde_json::json!({
        "authority": s.verifier.authority().to_string(),
        "paper_key": hex::encode(desk.public_key()),
    });
    Ok(answer(JSON, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};

    #[tokio::test]
    async fn every_file_is_served_under_the_console_policy() {
        for (name, ct, _) in FILES {
            let r = asset(Path(name.to_string())).await.expect("file exists");
            let h = r.headers();
            assert_eq!(h.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(*ct));
            assert_eq!(
                h.get(CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()),
                Some(super::super::console::CSP),
                "{name}"
            );
        }
        assert!(asset(Path("../Cargo.toml".into())).await.is_err());
    }

    /// Every `pv.` key the app names, and every one it builds at run time,
    /// is in the English strings (tests/tests/i18n.rs holds the other three
    /// languages to English).
    #[test]
    fn every_key_the_verifier_names_exists() {
        let (_, _, en) = super::super::console::ASSETS
            .iter()
            .find(|(n, _, _)| *n == "i18n-en.json")
            .expect("English strings");
        let en: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(en).expect("JSON");
        let mut named = Vec::new();
        for (name, _, body) in FILES {
            if !(name.ends_with(".js") || name.ends_with(".html")) || *name == "jsqr.js" {
                continue;
            }
            for (at, _) in body.match_indices("pv.") {
                let quoted = body[..at].ends_with(['\'', '"', '`']);
                let key: String = body[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                    .collect();
                let built = body[at + key.len()..].starts_with("${");
                if quoted && !built {
                    named.push(key.trim_end_matches('.').to_string());
                }
            }
        }
        let built = [
            (
                "pv.verdict.",
                &[
                    "genuine",
                    "altered",
                    "untrusted",
                    "not_a_seal",
                    "unreadable",
                ][..],
            ),
            (
                "pv.status.",
                &[
                    "active",
                    "suspended",
                    "revoked",
                    "superseded",
                    "expired",
                    "unknown",
                ],
            ),
            ("pv.fit.", &["unset", "na", "on", "off", "point_differs"]),
            ("pv.role.", &["exit", "entry", "transit"]),
            ("pv.age.", &["fresh", "stale", "too_old"]),
            ("pv.kind.", &["export", "import", "transit", "other"]),
            ("pv.shipments.", &["single", "partial"]),
            (
                "pv.l.",
                &["line", "category", "item", "quantity", "serials"],
            ),
            (
                "pv.check.",
                &[
                    "export_cites_import",
                    "countries",
                    "same_exporter",
                    "same_importer",
                    "transit_cites_export",
                    "transit_on_route",
                ],
            ),
        ];
        for (prefix, rest) in built {
            for r in rest {
                named.push(format!("{prefix}{r}"));
                if prefix == "pv.verdict." {
                    named.push(format!("{prefix}{r}.why"));
                }
            }
        }
        assert!(named.len() > 100, "only {} keys found", named.len());
        let missing: Vec<&String> = named.iter().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "missing from en.json: {missing:?}");
    }

    #[test]
    fn the_service_worker_names_its_cache_by_version() {
        let (_, _, sw) = FILES.iter().find(|(n, _, _)| *n == "sw.js").expect("sw");
        assert!(sw.contains(VERSION_MARK));
        assert_eq!(version().len(), 16);
    }
}
