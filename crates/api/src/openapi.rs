//! The OpenAPI 3.0 document of a route table (the API's own is
//! [`crate::routes::ROUTES`], served at `GET /v1/openapi.json`).

use crate::route::{Method, Route};
use serde_json::{Map, Value, json};

/// The document for every route of `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for route in routes {
        let item = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ops) = item {
            ops.insert(route.method.as_str().to_ascii_lowercase(), operation(route));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Tally node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Signed export, import and transit authorizations, checked at the border. \
                Roles, each including the one before: officer, issuer, admin."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "details": {
                                "description": "422 only: every fault, each at a JSON pointer (RFC 6901) into the body",
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["pointer", "message"],
                                    "properties": {
                                        "pointer": {"type": "string"},
                                        "message": {"type": "string"}
                                    }
                                }
                            }
                        }
                    }}
                }
            }
        }
    })
}

fn operation(route: &Route) -> Value {
    let mut params: Vec<Value> = path_params(route.path)
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect();
    params.extend(route.query.iter().map(|q| {
        json!({"name": q.name, "in": "query", "required": q.required,
               "description": q.description, "schema": {"type": q.kind}})
    }));

    let mut responses = Map::new();
    let content = match route.path {
        "/metrics" => json!({"text/plain": {"schema": {"type": "string"}}}),
        "/" => json!({"text/html": {"schema": {"type": "string"}}}),
        "/assets/{name}" => json!({"text/javascript": {"schema": {"type": "string"}},
                                   "text/css": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}),
        _ => json!({"application/json": {"schema": {}}}),
    };
    responses.insert(
        route.ok.to_string(),
        json!({"description": "success", "content": content}),
    );
    let mut errors: Vec<u16> = route.errors.to_vec();
    if route.role.is_some() {
        errors.extend([401, 403]);
    }
    if route.body.is_some() {
        errors.extend([400, 413]);
    }
    if route.role.is_some() || route.body.is_some() {
        errors.push(500);
    }
    errors.sort_unstable();
    errors.dedup();
    for status in errors {
        responses.insert(
            status.to_string(),
            json!({"description": error_description(status),
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }

    let mut op = Map::new();
    op.insert(
        "operationId".into(),
        Value::String(operation_id(route.method, route.path)),
    );
    op.insert("summary".into(), Value::String(route.summary.into()));
    op.insert("tags".into(), json!([tag(route.path)]));
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(body) = route.body {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "description": body,
                   "content": {"application/json": {"schema": {"type": "object"}}}}),
        );
    }
    match route.role {
        Some(role) => {
            op.insert("security".into(), json!([{"bearer": []}]));
            op.insert("x-role".into(), Value::String(role.as_str().into()));
        }
        None => {
            op.insert("security".into(), json!([]));
        }
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The `{name}` segments of a path template.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn operation_id(method: Method, path: &str) -> String {
    let mut id = method.as_str().to_ascii_lowercase();
    for seg in path.split('/').filter(|s| !s.is_empty() && *s != "v1") {
        id.push('_');
        id.extend(
            seg.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    if path == "/" {
        id.push_str("_console");
    }
    id.replace("__", "_").trim_end_matches('_').to_string()
}

fn tag(path: &str) -> &'static str {
    match path.split('/').nth(2).unwrap_or("") {
        "licenses" => "licenses",
        "shipments" => "shipments",
        _ if path == "/" || path.starts_with("/assets") => "console",
        _ => "node",
    }
}

fn error_description(status: u16) -> &'static str {
    match status {
        400 => "invalid_json: the body or query is not JSON of the right shape",
        401 => "unauthenticated: no token, or an unknown one",
        403 => "forbidden: the role is too low, or the document or checkpoint is another's",
        404 => "not_found",
        409 => "conflict: number already used, or reinstating a revoked license",
        413 => "payload_too_large",
        422 => "invalid_document or invalid_amendment",
        429 => "rate_limited: the token went over its per-minute limit; see Retry-After",
        503 => "unavailable: the node cannot write or sign now",
        _ => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ROUTES;

    #[test]
    fn every_route_is_documented_once() {
        let doc = document(ROUTES);
        let mut n = 0;
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.as_str().to_ascii_lowercase()];
            assert!(op.is_object(), "{} {}", r.method.as_str(), r.path);
            assert_eq!(op["x-role"].as_str(), r.role.map(|r| r.as_str()));
            n += 1;
        }
        let documented: usize = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .map(|p| p.as_object().expect("path item").len())
            .sum();
        assert_eq!(documented, n);
        let ids: std::collections::BTreeSet<String> = ROUTES
            .iter()
            .map(|r| operation_id(r.method, r.path))
            .collect();
        assert_eq!(ids.len(), ROUTES.len(), "{ids:?}");
    }

    #[test]
    fn path_parameters_are_declared() {
        let doc = document(ROUTES);
        let op = &doc["paths"]["/v1/licenses/{authority}/{number}"]["get"];
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(names, ["authority", "number"]);
    }
}
