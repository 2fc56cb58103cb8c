//! The layer check: dependencies between the workspace's `tally-*` packages
//! flow one way, as docs/ARCHITECTURE.md draws them.
//!
//! The rule, over `cargo metadata` (normal and build dependencies; dev
//! dependencies are free, since tests may use anything):
//! - each layered library in [`ALLOWED`] depends on exactly the `tally-*`
//!   packages listed for it, or fewer;
//! - so a layered library may not depend on any other `tally-*` package
//!   either: not on `tally-node` or `tally-tests`, and not on a package the
//!   map does not name (a future dev-only kit such as `tally-testkit`, or
//!   `tally-bench`). Such packages may be dev dependencies only;
//! - every package outside the map (`tally-node`, `tally-tests`,
//!   `tally-bench`, any new one) may depend on anything;
//! - every package of the map must exist, so renaming one cannot make the
//!   check pass by checking nothing.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The layered libraries and the `tally-*` packages each may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("tally-proto", &[]),
    ("tally-model", &["tally-proto"]),
    ("tally-store", &["tally-model"]),
    ("tally-p2p", &["tally-model", "tally-proto"]),
    ("tally-verify", &["tally-model", "tally-store"]),
    ("tally-api", &["tally-model", "tally-verify"]),
];

/// Every dependency of `metadata` (the JSON of `cargo metadata
/// --format-version 1 --no-deps`) that goes against [`ALLOWED`], as
/// `"from -> to"`, plus one line per package of the map that is missing.
fn violations(metadata: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let packages = metadata["packages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let present: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    for (name, _) in ALLOWED {
        if !present.contains(name) {
            bad.push(format!(
                "{name} is in the layer map but not in the workspace"
            ));
        }
    }
    for package in packages {
        let Some(name) = package["name"].as_str() else {
            bad.push(format!("a package without a name: {package}"));
            continue;
        };
        let Some((_, allowed)) = ALLOWED.iter().find(|(n, _)| *n == name) else {
            continue; // outside the map: may depend on anything
        };
        let deps = package["dependencies"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for dep in deps {
            let Some(to) = dep["name"].as_str() else {
                bad.push(format!("{name} has a dependency without a name: {dep}"));
                continue;
            };
            // `kind` is null for normal dependencies, "build" or "dev" otherwise.
            if dep["kind"].as_str() == Some("dev") || !to.starts_with("tally-") {
                continue;
            }
            if !allowed.contains(&to) {
                let kind = dep["kind"].as_str().unwrap_or("normal");
                bad.push(format!("{name} -> {to} ({kind} dependency)"));
            }
        }
    }
    bad
}

#[test]
fn workspace_dependencies_flow_one_way() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace");
    let out = Command::new(env!("CARGO"))
        .current_dir(workspace)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let bad = violations(&metadata);
    assert!(
        bad.is_empty(),
        "dependencies against the layers:\n  {}",
        bad.join("\n  ")
    );
}

/// A package of a hand-made metadata document: `deps` as (name, kind).
fn package(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
    let deps: Vec<Value> = deps
        .iter()
        .map(|(n, kind)| serde_json::json!({"name": n, "kind": kind}))
        .collect();
    serde_json::json!({"name": name, "dependencies": deps})
}

/// The workspace as the map wants it, plus `extra` packages.
fn sample(extra: Vec<Value>) -> Value {
    let mut packages: Vec<Value> = ALLOWED
        .iter()
        .map(|(name, allowed)| {
            let deps: Vec<(&str, Option<&str>)> = allowed.iter().map(|d| (*d, None)).collect();
            package(name, &deps)
        })
        .collect();
    packages.extend(extra);
    serde_json::json!({"packages": packages})
}

#[test]
fn the_check_catches_what_it_should_and_only_that() {
    // Allowed: the map itself, outside dependencies, anything from node,
    // tests or bench, and dev dependencies of a layered library on anything.
    let fine = sample(vec![
        package("tally-node", &[("tally-api", None), ("tally-p2p", None)]),
        package("tally-tests", &[("tally-node", None)]),
        package(
            "tally-bench",
            &[("tally-node", None), ("tally-store", None)],
        ),
        package("tally-testkit", &[("tally-model", None)]),
        package(
            "tally-store",
            &[
                ("tally-model", None),
                ("serde", None),
                ("tally-testkit", Some("dev")),
                ("tally-verify", Some("dev")),
            ],
        ),
    ]);
    assert_eq!(violations(&fine), Vec::<String>::new());

    // A network crate that learns about the store, a model that builds with
    // the verifier, a store that links a test kit, an API that pulls the node.
    let bad = sample(vec![
        package("tally-p2p", &[("tally-model", None), ("tally-store", None)]),
        package("tally-model", &[("tally-verify", Some("build"))]),
        package("tally-store", &[("tally-testkit", None)]),
        package("tally-api", &[("tally-node", None)]),
    ]);
    assert_eq!(
        violations(&bad),
        [
            "tally-p2p -> tally-store (normal dependency)",
            "tally-model -> tally-verify (build dependency)",
            "tally-store -> tally-testkit (normal dependency)",
            "tally-api -> tally-node (normal dependency)",
        ]
    );

    // A package of the map that disappeared (say, renamed).
    let renamed = serde_json::json!({"packages": [package("tally-proto", &[])]});
    let found = violations(&renamed);
    assert!(
        found.contains(&"tally-verify is in the layer map but not in the workspace".to_string()),
        "{found:?}"
    );
}
