//! `text.json`: the characters no text field of a document may hold
//! (PROTOCOL.md 2.3), as ranges of code points, generated from the
//! implementation's own rule (`tally_model::validate::is_refused_char`), so
//! another implementation can compare its rule range by range. A document
//! holding one is refused at issue and `document.invalid` on ingest.

use serde_json::{Value, json};

pub fn file() -> Value {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        if !tally_model::validate::is_refused_char(c) {
            continue;
        }
        let n = c as u32;
        match ranges.last_mut() {
            // Surrogates are not chars: a range may run across them.
            Some((_, end)) if *end + 1 == n || (*end == 0xD7FF && n == 0xE000) => *end = n,
            _ => ranges.push((n, n)),
        }
    }
    let list: Vec<Value> = ranges
        .iter()
        .map(|(a, b)| {
            json!({
                "description": format!("refused: U+{a:04X} to U+{b:04X}"),
                "from": format!("U+{a:04X}"),
                "to": format!("U+{b:04X}"),
            })
        })
        .collect();
    json!({
        "description": "Code points no text field may hold (Unicode 16.0): C0 and C1 controls, DEL, every Default_Ignorable_Code_Point and Bidi_Control character, U+2028, U+2029 and U+FFF9-FFFB; inclusive ranges (`from`, `to`). Refused at issue (422) and document.invalid on ingest.",
        "unicode_version": "16.0",
        "refused_ranges": list,
    })
}
