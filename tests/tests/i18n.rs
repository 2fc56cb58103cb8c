//! The console speaks four languages with one set of strings: every key of
//! `crates/api/assets/i18n/en.json` is in es, fr and pt and none more, each
//! translation has the same `{placeholders}`, and every key the console's
//! HTML and JavaScript name is there (README, "The web console").

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LANGUAGES: [&str; 4] = ["en", "es", "fr", "pt"];

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace")
        .join("crates/api/assets")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(lang: &str) -> Map<String, Value> {
    let path = assets().join(format!("i18n/{lang}.json"));
    match serde_json::from_str(&read(&path)) {
        Ok(Value::Object(m)) => m,
        other => panic!("{} is not a JSON object: {other:?}", path.display()),
    }
}

/// The `{name}` placeholders of a string (not `{a, b}`, which is prose).
fn placeholders(s: &str) -> BTreeSet<String> {
    s.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .map(String::from)
        .collect()
}

/// The strings of every language, by language.
fn all() -> BTreeMap<&'static str, Map<String, Value>> {
    LANGUAGES.iter().map(|l| (*l, strings(l))).collect()
}

/// Faults of `langs` against English: missing and extra keys, values that
/// are not non-empty strings, placeholders that differ.
fn faults(langs: &BTreeMap<&str, Map<String, Value>>) -> Vec<String> {
    let mut out = Vec::new();
    let en = &langs["en"];
    for (lang, map) in langs {
        for key in en.keys().filter(|k| !map.contains_key(*k)) {
            out.push(format!("{lang}: missing {key}"));
        }
        for key in map.keys().filter(|k| !en.contains_key(*k)) {
            out.push(format!("{lang}: extra {key} (not in en)"));
        }
        for (key, value) in map {
            let Some(s) = value.as_str().filter(|s| !s.trim().is_empty()) else {
                out.push(format!("{lang}: {key} is not a non-empty string"));
                continue;
            };
            if let Some(english) = en.get(key).and_then(Value::as_str) {
                let (want, got) = (placeholders(english), placeholders(s));
                if want != got {
                    out.push(format!(
                        "{lang}: {key} has placeholders {got:?}, en {want:?}"
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_language_has_every_key_with_the_same_placeholders() {
    let langs = all();
    assert!(langs["en"].len() > 200, "en.json has too few keys");
    let found = faults(&langs);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_catches_a_missing_an_extra_and_a_renamed_placeholder() {
    let mut langs = all();
    let fr = langs.get_mut("fr").expect("fr");
    fr.remove("lic.title");
    fr.insert("lic.titre".into(), Value::from("Licence"));
    fr.insert(
        "record.done".into(),
        Value::from("Enregistré sous {numero}"),
    );
    let found = faults(&langs);
    for want in [
        "fr: missing lic.title",
        "fr: extra lic.titre",
        "fr: record.done has placeholders",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(want)),
            "{want}: {found:?}"
        );
    }
    assert_eq!(found.len(), 3, "{found:?}");
}

#[test]
fn the_console_serves_and_offers_every_language() {
    let console =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/api/src/handlers/console.rs"));
    let i18n = read(&assets().join("i18n.js"));
    let languages = i18n
        .lines()
        .find(|l| l.starts_with("export const LANGUAGES = "))
        .expect("i18n.js exports LANGUAGES");
    let locales = i18n
        .lines()
        .find(|l| l.starts_with("export const LOCALES = "))
        .expect("i18n.js exports LOCALES");
    for lang in LANGUAGES {
        let served = format!("\"i18n-{lang}.json\"");
        let file = format!("include_str!(\"../../assets/i18n/{lang}.json\")");
        assert!(
            console.contains(&served) && console.contains(&file),
            "console.rs does not serve i18n-{lang}.json"
        );
        assert!(languages.contains(&format!("'{lang}'")), "{languages}");
    }
    for locale in ["'en'", "'es-MX'", "'es-AR'", "'fr'", "'pt-BR'"] {
        assert!(
            locales.contains(locale),
            "the picker lacks {locale}: {locales}"
        );
    }
}

/// Every `'...'` literal of `src` (no escapes inside: keys have none).
fn literals(src: &str) -> Vec<&str> {
    src.split('\'').skip(1).step_by(2).collect()
}

/// A literal shaped like a key with a namespace: `ns.rest`, letters, digits, `_` and dots.
fn key_shaped(s: &str) -> Option<&str> {
    let (ns, rest) = s.split_once('.')?;
    let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (word(ns) && ns.starts_with(|c: char| c.is_ascii_lowercase()) && rest.split('.').all(word))
        .then_some(ns)
}

/// The keys `src` names in translation positions (`i18n: 'k'`, `i18n: ['k'`,
/// `data-i18n="k"`, and the values of `data-i18n-attr` / `i18nAttr`), then
/// every literal shaped like a key of one of `namespaces`.
fn keys_named(
    src: &str,
    namespaces: &BTreeSet<String>,
    en: &Map<String, Value>,
) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for marker in ["i18n: '", "i18n: ['", "data-i18n=\""] {
        for rest in src.split(marker).skip(1) {
            if let Some(end) = rest.find(['\'', '"']) {
                keys.insert(rest[..end].to_string());
            }
        }
    }
    for lit in literals(src) {
        // An alert kind (`party.excluded`) is an API value whose label is `ak.<kind>`.
        if key_shaped(lit).is_some_and(|ns| namespaces.contains(ns))
            && !en.contains_key(&format!("ak.{lit}"))
        {
            keys.insert(lit.to_string());
        }
    }
    for rest in src.split("data-i18n-attr='").skip(1) {
        let json = rest.split('\'').next().unwrap_or_default();
        let map: Map<String, Value> =
            serde_json::from_str(json).unwrap_or_else(|e| panic!("data-i18n-attr {json}: {e}"));
        keys.extend(map.values().filter_map(Value::as_str).map(String::from));
    }
    keys
}

#[test]
fn every_key_the_console_names_exists() {
    let en = strings("en");
    let namespaces: BTreeSet<String> = en
        .keys()
        .filter_map(|k| k.split_once('.'))
        .map(|(ns, _)| ns.to_string())
        .collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(assets())
        .expect("assets/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "js" || x == "html"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let mut missing = Vec::new();
    let mut named = 0;
    for file in &files {
        // Comments are prose: `i18n: 'key'` in a doc comment names no key.
        let src: String = read(file)
            .lines()
            .filter(|l| {
                !["//", "/*", "*"]
                    .iter()
                    .any(|c| l.trim_start().starts_with(c))
            })
            .collect::<Vec<_>>()
            .join("\n");
        for key in keys_named(&src, &namespaces, &en) {
            named += 1;
            if !en.contains_key(&key) {
                missing.push(format!("{}: {key}", file.display()));
            }
        }
        // `prefix.${...}`: keys made at run time need their namespace.
        for rest in src.split(".${").collect::<Vec<_>>().windows(2) {
            let ns: String = rest[0]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let ns: String = ns.chars().rev().collect();
            let quoted = rest[0].ends_with(&format!("`{ns}"));
            if quoted && !ns.is_empty() && !namespaces.contains(&ns) {
                missing.push(format!("{}: no key in namespace {ns}.", file.display()));
            }
        }
    }
    assert!(named > 150, "only {named} keys found: the scan is broken");
    assert!(
        missing.is_empty(),
        "keys missing from en.json:\n{}",
        missing.join("\n")
    );
}
