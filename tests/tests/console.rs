//! The console's JavaScript modules (`crates/api/assets/*.js`) stay small and
//! import one another without a cycle, and every one of them is served by
//! the node (README, "The web console").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace")
        .join("crates/api/assets")
}

/// Each module and the modules it imports (`from './x.js'`).
fn modules() -> BTreeMap<String, (usize, Vec<String>)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(assets()).expect("assets/") {
        let path = e.expect("an entry").path();
        if path.extension().is_none_or(|x| x != "js") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable");
        let imports = src
            .split("from './")
            .skip(1)
            .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name.to_string()))
            .collect();
        let name = path
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        out.insert(name, (src.lines().count(), imports));
    }
    out
}

/// A cycle of imports, if any, as the modules along it.
fn cycle(graph: &BTreeMap<String, (usize, Vec<String>)>) -> Option<Vec<String>> {
    fn visit(
        graph: &BTreeMap<String, (usize, Vec<String>)>,
        node: &str,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut found = path[i..].to_vec();
            found.push(node.to_string());
            return Some(found);
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph
            .get(node)
            .map(|(_, i)| i.as_slice())
            .unwrap_or_default()
        {
            if let Some(c) = visit(graph, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(node.to_string());
        None
    }
    let mut done = Vec::new();
    graph
        .keys()
        .find_map(|n| visit(graph, n, &mut Vec::new(), &mut done))
}

#[test]
fn modules_are_small_acyclic_and_served() {
    let graph = modules();
    assert!(graph.len() >= 10, "{:?}", graph.keys());
    let console = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/api/src/handlers/console.rs"),
    )
    .expect("console.rs");
    // rustfmt breaks a long entry over lines: compare without whitespace.
    let console: String = console.split_whitespace().collect();
    for (name, (lines, imports)) in &graph {
        assert!(
            *lines <= MAX_LINES,
            "{name} has {lines} lines (at most {MAX_LINES})"
        );
        assert!(
            console.contains(&format!("(\"{name}\",JS,")),
            "console.rs does not serve {name}"
        );
        for i in imports {
            assert!(
                graph.contains_key(i),
                "{name} imports {i}, which is not a module here"
            );
        }
    }
    assert_eq!(cycle(&graph), None, "an import cycle");
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph = modules();
    graph
        .get_mut("api.js")
        .expect("api.js")
        .1
        .push("app.js".into());
    let found = cycle(&graph).expect("api.js -> app.js -> api.js is a cycle");
    assert!(
        found.contains(&"api.js".to_string()) && found.contains(&"app.js".to_string()),
        "{found:?}"
    );
}
