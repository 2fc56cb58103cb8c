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
//!
//! And the house rules of every crate's sources: no production function
//! over 100 lines (comments and literals are not code to this count; test
//! modules are left out), no production file over 800 lines, and nothing in
//! the repository citing design documents a clone does not have.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The layered libraries and the `tally-*` packages each may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("tally-proto", &[]),
    ("tally-model", &["tally-proto"]),
    ("tally-store", &["tally-model"]),
    ("tally-p2p", &["tally-model", "tally-proto"]),
    // The verifier signs through tally-model's `Signer`; the token's signer
    // (tally-custody) is handed in by the node.
    ("tally-verify", &["tally-model", "tally-store"]),
    ("tally-api", &["tally-model", "tally-verify"]),
    // Where the signing key lives (a file or a PKCS#11 token): beside the
    // store, on the model only, so that the verifier and the node can hold
    // a signer without the custody crate learning about either.
    ("tally-custody", &["tally-model"]),
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

// ---------------------------------------------------------------- function size

/// The sources whose production functions are held to
/// [`MAX_FUNCTION_LINES`] and files to [`MAX_FILE_LINES`]: every crate's
/// `src` (a `tests.rs` module file is a test, and passes).
const SIZED: &[&str] = &[
    "node/src",
    "proto/src",
    "crates/api/src",
    "crates/bench/src",
    "crates/byzantine/src",
    "crates/custody/src",
    "crates/model/src",
    "crates/p2p/src",
    "crates/store/src",
    "crates/testkit/src",
    "crates/vectors/src",
    "crates/verify/src",
];

/// Longest production file, its `#[cfg(test)]` module aside.
const MAX_FILE_LINES: usize = 800;

/// Longest production function, from its `fn` line to its closing brace.
const MAX_FUNCTION_LINES: usize = 100;

/// `src` with comments, string literals and char literals blanked (line
/// breaks kept), so that only code is left to count braces and `fn` in.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let after_ident = i > 0 && ident(b[i - 1]);
        let end = if rest.starts_with(b"//") {
            rest.iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |n| i + n)
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, i);
            while j < b.len() {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            j
        } else if rest[0] == b'r'
            && (!after_ident || (b[i - 1] == b'b' && (i < 2 || !ident(b[i - 2]))))
            && rest[1..]
                .iter()
                .position(|&c| c != b'#')
                .is_some_and(|n| rest[1 + n] == b'"')
        {
            // A raw string: r"...", r#"..."#, br"...".
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let body = i + 2 + hashes;
            b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |n| body + n + close.len())
        } else if rest[0] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\u{..}', '\''), or else a lifetime.
            let close = if rest.get(1) == Some(&b'\\') {
                rest.iter()
                    .skip(3)
                    .position(|&c| c == b'\'')
                    .map(|n| i + 3 + n + 1)
            } else {
                src[i + 1..]
                    .chars()
                    .next()
                    .map(|c| i + 1 + c.len_utf8())
                    .filter(|&j| b.get(j) == Some(&b'\''))
                    .map(|j| j + 1)
            };
            close.unwrap_or(i + 1)
        } else {
            i + 1
        };
        if end > i + 1 || rest[0] == b'"' {
            blank(&mut out, i, end);
        }
        i = end.max(i + 1);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte offset of the `}` closing the first `{` at or after `from`, or
/// `None` when a `;` comes first (a declaration without a body).
fn body_end(code: &str, from: usize) -> Option<usize> {
    let open = from + code[from..].find(['{', ';'])?;
    if code.as_bytes()[open] == b';' {
        return None;
    }
    let mut depth = 0usize;
    for (n, c) in code[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + n);
                }
            }
            _ => {}
        }
    }
    None
}

/// Every function of `src` outside `#[cfg(test)]` items longer than `max`
/// lines, as `(name, first line, lines)`.
fn long_functions(src: &str, max: usize) -> Vec<(String, usize, usize)> {
    let code = code_only(src);
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let mut tests = Vec::new();
    for (at, _) in code.match_indices("#[cfg(test)]") {
        if let Some(end) = body_end(&code, at) {
            tests.push(line_of(at)..=line_of(end));
        }
    }
    let mut long = Vec::new();
    let mut offset = 0;
    for (n, line) in code.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let mut words = line.split_whitespace().skip_while(|w| {
            matches!(*w, "const" | "async" | "unsafe" | "extern" | "default")
                || w.starts_with("pub")
        });
        if words.next() != Some("fn") || tests.iter().any(|t| t.contains(&(n + 1))) {
            continue;
        }
        let name: String = words
            .next()
            .unwrap_or("?")
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_')
            .collect();
        if let Some(end) = body_end(&code, start) {
            let lines = line_of(end) - n;
            if lines > max {
                long.push((name, n + 1, lines));
            }
        }
    }
    long
}

/// Every production `.rs` file under [`SIZED`], with its path.
fn production_sources() -> Vec<(std::path::PathBuf, String)> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = SIZED.iter().map(|d| workspace.join(d)).collect();
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("a source directory") {
            let path = e.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                let src = std::fs::read_to_string(&path).expect("readable source");
                out.push((path, src));
            }
        }
    }
    out
}

#[test]
fn no_production_file_is_over_800_lines() {
    let sources = production_sources();
    assert!(
        sources.len() > 100,
        "only {} source files found",
        sources.len()
    );
    let long: Vec<String> = sources
        .iter()
        .filter_map(|(path, src)| {
            let lines = src
                .lines()
                .take_while(|l| !l.starts_with("#[cfg(test)]"))
                .count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines", path.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "production files over {MAX_FILE_LINES} lines (split them by what they own):\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn no_production_function_is_over_100_lines() {
    let mut long = Vec::new();
    let sources = production_sources();
    let files = sources.len();
    for (path, src) in &sources {
        for (name, line, lines) in long_functions(src, MAX_FUNCTION_LINES) {
            long.push(format!("{}:{line} {name}: {lines} lines", path.display()));
        }
    }
    assert!(
        files > 100,
        "only {files} source files found under {SIZED:?}"
    );
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them along the domain's seams):\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn the_size_check_counts_code_only() {
    let src = r##"
fn short() {
    let brace = '{';
    let text = "}}}} fn fake() {";
    let raw = r#"fn raw() { "#;
    // fn commented() {
    /* { nested /* } */ } */
}

pub(crate) async fn long<'a>(x: &'a str) -> &'a str {
    let _ = b'}';
    let _ = '\'';
    x
}

trait T {
    fn declared(&self);
}

#[cfg(test)]
mod tests {
    fn test_only() {
        let a = 1;
        let b = 2;
    }
}
"##;
    // Braces in literals and comments would end `short` early or late; the
    // declaration and the test-only function are not counted.
    let found = long_functions(src, 4);
    assert_eq!(
        found,
        [("short".to_string(), 2, 7), ("long".to_string(), 10, 5)]
    );
    assert_eq!(long_functions(src, 7), []);
}

/// The names of design documents that lived outside this repository while
/// it was built: a user who clones it has none of them, so nothing here may
/// cite them (the project's own docs say what is needed). Spelled in two
/// halves so that this file does not cite them either.
const OUTSIDE: &[(&str, &str)] = &[
    ("CONT", "RACT.md"),
    ("DESI", "GN.md"),
    ("DOMA", "IN.md"),
    ("STY", "LE.md"),
    ("CONT", "RACT ("),
    ("DESI", "GN 3a"),
];

#[test]
fn nothing_cites_documents_outside_the_repository() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace");
    let listed = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(workspace)
        .output()
        .expect("git runs");
    if !listed.status.success() {
        // Not a git checkout (a source tarball): nothing to list by.
        return;
    }
    let names: Vec<String> = OUTSIDE.iter().map(|(a, b)| format!("{a}{b}")).collect();
    let mut found = Vec::new();
    let mut files = 0;
    for file in listed.stdout.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let path = workspace.join(String::from_utf8_lossy(file).as_ref());
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        files += 1;
        for (n, line) in text.lines().enumerate() {
            if names.iter().any(|name| line.contains(name.as_str())) {
                found.push(format!("{}:{}", path.display(), n + 1));
            }
        }
    }
    assert!(files > 100, "only {files} files read");
    assert!(
        found.is_empty(),
        "cites a document outside the repository (cite docs/ instead):\n  {}",
        found.join("\n  ")
    );
}

/// The sources that reach the store only through the verifier's doors
/// (`Verifier::reader`, `integrity`, `store_health`, `check`, `issue`,
/// ...), never by its raw handle. (The node's start opens the store and
/// hands it to the verifier: it holds the handle before any door exists.)
const THROUGH_DOORS: &[&str] = &["crates/api/src", "node/src"];

/// The verifier hands out no raw store handle, not even to its own tests:
/// there is no accessor to call.
#[test]
fn the_verifier_has_no_store_accessor() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace");
    let mut found = Vec::new();
    for (path, src) in production_sources() {
        if !path.starts_with(workspace.join("crates/verify/src")) {
            continue;
        }
        for (n, line) in code_only(&src).lines().enumerate() {
            if line.contains("fn store(") {
                found.push(format!("{}:{}", path.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "a store accessor on the verifier (hand out a door instead):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_api_and_the_node_reach_the_store_only_through_the_verifiers_doors() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace");
    let mut found = Vec::new();
    for (path, src) in production_sources() {
        if !THROUGH_DOORS
            .iter()
            .any(|d| path.starts_with(workspace.join(d)))
        {
            continue;
        }
        let code = code_only(&src);
        for (n, line) in code.lines().enumerate() {
            if line.contains(".store()") {
                found.push(format!("{}:{}", path.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the raw store handle used (read through Verifier::reader instead):\n  {}",
        found.join("\n  ")
    );
}

/// The one circle of modules allowed inside a crate: the store's engine
/// factory (`engine` names its engines, each engine implements `engine`'s
/// trait), as in garage's `db` crate.
const ALLOWED_CIRCLE: &[&str] = &["engine", "redb", "sled"];

/// The top module of `file` in the crate whose sources are `src` (`a` for
/// `src/a.rs` and every file under `src/a/`); none for the crate root.
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let first = file.strip_prefix(src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?.trim_end_matches(".rs");
    (name != "lib" && name != "main").then(|| name.to_string())
}

/// The top modules `code` names through `crate::` (grouped imports too).
fn crate_references(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(',').map(ident));
        } else {
            out.insert(ident(rest));
        }
    }
    // `self`, `super` and the like are not modules of the crate.
    out.retain(|m| !m.is_empty() && m != "self" && m != "super");
    out
}

/// Circles among the top modules of each crate's sources, but the allowed one.
fn module_circles() -> Vec<String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace");
    let sources = production_sources();
    let mut found = Vec::new();
    for dir in SIZED {
        let src = workspace.join(dir);
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, text) in sources.iter().filter(|(p, _)| p.starts_with(&src)) {
            let Some(from) = top_module(&src, path) else {
                continue;
            };
            // Tests may reach across (a fixture of another module's tests).
            let production: String = text
                .lines()
                .take_while(|l| !l.starts_with("#[cfg(test)]"))
                .collect::<Vec<_>>()
                .join("\n");
            let to = crate_references(&code_only(&production));
            edges
                .entry(from.clone())
                .or_default()
                .extend(to.into_iter().filter(|m| *m != from));
        }
        for circle in circles(&edges) {
            let mut names: Vec<&str> = circle.iter().map(String::as_str).collect();
            names.sort();
            let mut allowed = ALLOWED_CIRCLE.to_vec();
            allowed.sort();
            if names != allowed {
                found.push(format!("{dir}: {}", names.join(" <-> ")));
            }
        }
    }
    found
}

/// The strongly connected sets of two or more modules of `edges`.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in edges.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, _> = edges.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<BTreeSet<String>> = Vec::new();
    for (m, from_m) in &reached {
        let circle: BTreeSet<String> = from_m
            .iter()
            .filter(|n| reached.get(n).is_some_and(|r| r.contains(*m)))
            .cloned()
            .chain([(*m).clone()])
            .collect();
        if circle.len() > 1 && !out.contains(&circle) {
            out.push(circle);
        }
    }
    out
}

#[test]
fn no_modules_import_each_other_but_the_engine_factory() {
    let found = module_circles();
    assert!(
        found.is_empty(),
        "modules that import each other in a circle (only the store's engine factory may):\n  {}",
        found.join("\n  ")
    );
}

#[test]
fn the_circle_check_finds_a_circle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    edges.entry("c".into()).or_default().insert("a".into());
    edges.entry("d".into()).or_default().insert("a".into());
    let found = circles(&edges);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3, "{found:?}");
    assert_eq!(
        crate_references("use crate::{ingest::X, sealing};\nlet y = crate::own_keys::Z;"),
        ["ingest", "own_keys", "sealing"].map(String::from).into()
    );
}
