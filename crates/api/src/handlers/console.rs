//! The web console: static files embedded in the binary, served without a
//! token under a strict Content-Security-Policy (no external or inline code)
//! that also refuses framing, so no other site can overlay the console and
//! trick an officer into clicks (clickjacking).

use crate::error::ApiError;
use crate::extract::Path;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::{IntoResponse, Response};

/// `frame-ancestors` is not covered by `default-src`; it must be named.
pub(crate) const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// Every file under `/assets/`: name, content type, contents. The strings of
/// each language (`assets/i18n/LANG.json`) are served as `i18n-LANG.json`.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", CSS, include_str!("../../assets/app.css")),
    ("print.css", CSS, include_str!("../../assets/print.css")),
    ("paper.css", CSS, include_str!("../../assets/paper.css")),
    ("app.js", JS, include_str!("../../assets/app.js")),
    ("api.js", JS, include_str!("../../assets/api.js")),
    ("i18n.js", JS, include_str!("../../assets/i18n.js")),
    ("dom.js", JS, include_str!("../../assets/dom.js")),
    ("chart.js", JS, include_str!("../../assets/chart.js")),
    ("common.js", JS, include_str!("../../assets/common.js")),
    ("check.js", JS, include_str!("../../assets/check.js")),
    ("license.js", JS, include_str!("../../assets/license.js")),
    ("issue.js", JS, include_str!("../../assets/issue.js")),
    ("network.js", JS, include_str!("../../assets/network.js")),
    ("trace.js", JS, include_str!("../../assets/trace.js")),
    ("alerts.js", JS, include_str!("../../assets/alerts.js")),
    ("att.js", JS, include_str!("../../assets/att.js")),
    ("download.js", JS, include_str!("../../assets/download.js")),
    ("exports.js", JS, include_str!("../../assets/exports.js")),
    ("drafts.js", JS, include_str!("../../assets/drafts.js")),
    (
        "drafts-notice.js",
        JS,
        include_str!("../../assets/drafts-notice.js"),
    ),
    ("upload.js", JS, include_str!("../../assets/upload.js")),
    ("form-kit.js", JS, include_str!("../../assets/form-kit.js")),
    (
        "form-items.js",
        JS,
        include_str!("../../assets/form-items.js"),
    ),
    (
        "form-parts.js",
        JS,
        include_str!("../../assets/form-parts.js"),
    ),
    (
        "form-submit.js",
        JS,
        include_str!("../../assets/form-submit.js"),
    ),
    (
        "form-export.js",
        JS,
        include_str!("../../assets/form-export.js"),
    ),
    (
        "form-others.js",
        JS,
        include_str!("../../assets/form-others.js"),
    ),
    (
        "form-denial.js",
        JS,
        include_str!("../../assets/form-denial.js"),
    ),
    (
        "form-enduse.js",
        JS,
        include_str!("../../assets/form-enduse.js"),
    ),
    ("requests.js", JS, include_str!("../../assets/requests.js")),
    (
        "form-amend.js",
        JS,
        include_str!("../../assets/form-amend.js"),
    ),
    (
        "statistics.js",
        JS,
        include_str!("../../assets/statistics.js"),
    ),
    (
        "i18n-en.json",
        JSON,
        include_str!("../../assets/i18n/en.json"),
    ),
    (
        "i18n-es.json",
        JSON,
        include_str!("../../assets/i18n/es.json"),
    ),
    (
        "i18n-fr.json",
        JSON,
        include_str!("../../assets/i18n/fr.json"),
    ),
    (
        "i18n-pt.json",
        JSON,
        include_str!("../../assets/i18n/pt.json"),
    ),
];

const INDEX: &str = include_str!("../../assets/index.html");

/// `body` as `content_type` under the console's CSP, unsniffable and
/// never framed: what every page and file the browser loads is served as
/// (the console, the paper verifier, a printed page).
pub(super) fn under_csp(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // For browsers that predate CSP's frame-ancestors.
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut r = under_csp(content_type, body);
    // Embedded files change only with the binary; revalidate so an upgrade shows at once.
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

pub async fn index() -> Response {
    file(HTML, INDEX)
}

pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ct, body)| file(ct, body))
        .ok_or_else(|| ApiError::not_found(format!("no asset {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn console_files_refuse_to_be_framed() {
        let mut answers = vec![("/".to_string(), index().await)];
        for (name, _, _) in ASSETS {
            let r = asset(Path(name.to_string())).await.expect("asset exists");
            answers.push((format!("/assets/{name}"), r));
        }
        for (path, r) in answers {
            let h = r.headers();
            let csp = h
                .get(CONTENT_SECURITY_POLICY)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            assert!(
                csp.split(';').any(|d| d.trim() == "frame-ancestors 'none'"),
                "{path}: {csp}"
            );
            assert_eq!(
                h.get(X_FRAME_OPTIONS).and_then(|v| v.to_str().ok()),
                Some("DENY"),
                "{path}"
            );
        }
    }
}
