//! The documentation stands on its own: README, docs/ and .ci/run point at
//! nothing outside the repository, and docs/API.md names every shipment rule.

use std::path::{Path, PathBuf};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace")
}

/// README.md, .ci/run and every file under docs/.
fn documents() -> Vec<PathBuf> {
    let root = workspace();
    let mut files = vec![root.join("README.md"), root.join(".ci/run")];
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/ exists");
    files.extend(
        docs.map(|e| e.expect("a docs/ entry").path())
            .filter(|p| p.is_file()),
    );
    files
}

#[test]
fn nothing_points_outside_the_repository() {
    let mut outside = Vec::new();
    for file in documents() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            // A link or a path that climbs out of the clone.
            if line.contains("../") || line.contains("/work/") {
                outside.push(format!("{}:{}: {line}", file.display(), n + 1));
            }
        }
    }
    assert!(outside.is_empty(), "{}", outside.join("\n"));
}

#[test]
fn every_rule_is_documented() {
    let api = std::fs::read_to_string(workspace().join("docs/API.md")).expect("docs/API.md");
    let rules = tally_verify::rules::RULE_IDS;
    for rule in rules {
        assert!(
            api.contains(&format!("| `{rule}` |")),
            "docs/API.md has no row for {rule}"
        );
    }
}
