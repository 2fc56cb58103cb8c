//! A file of national records read into the JSON documents `POST
//! /v1/licenses` takes: what `tally import` and the console's upload
//! (`POST /v1/import/read`) share, so both read a file alike
//! (docs/IMPORT.md has the columns and a sample file). JSON lines are one
//! document per line ([`json_lines`]); CSV is read as spreadsheets write it
//! ([`documents`]):
//!
//! - UTF-8, with or without a byte-order mark, or Windows-1252 (what a
//!   spreadsheet in a Spanish, French or Portuguese locale saves), told
//!   apart by whether the bytes are valid UTF-8;
//! - `,` or `;` between cells, whichever the header line uses more;
//! - cells quoted with `"` when they hold a separator, a quote (doubled) or
//!   a line break;
//! - one row per item line; the rows of one document are contiguous and
//!   share its `number`; its other cells are read from its first row (a
//!   later row may leave them empty, and may not contradict them);
//! - dates as `YYYY-MM-DD` or `dd/mm/yyyy`; serials and every code always as
//!   text (leading zeros kept); list cells (`transit_countries`, `serials`)
//!   with values separated by `|` or line breaks;
//! - `row` counted from 1, the header being row 1.

use serde_json::{Map, Value};

/// A document read from the file, or why its rows do not make one.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// Its first row.
    pub row: usize,
    pub number: String,
    pub document: Result<Value, String>,
}

/// A record and the row it starts on.
type Record = (usize, Vec<String>);

/// Cells of an item line; the rest belong to the document.
const ITEM_COLUMNS: [&str; 15] = [
    "line",
    "category",
    "description",
    "hs_code",
    "make",
    "model",
    "caliber",
    "quantity",
    "unit",
    "serials",
    "att_subcategory",
    "action",
    "caliber_mm",
    "origin_country",
    "shipped_before",
];
/// Cells holding a list.
const LIST_COLUMNS: [&str; 2] = ["transit_countries", "serials"];
/// Cells holding a whole number.
const NUMBER_COLUMNS: [&str; 3] = ["line", "quantity", "shipped_before"];
/// Cells holding yes or no (`migrated` records, `single_use` certificates).
const YES_NO_COLUMNS: [&str; 2] = ["migrated", "single_use"];

/// The documents of a JSON-lines text: one per non-blank line, `row`
/// counted from 1.
pub fn json_lines(text: &str) -> Vec<Read> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let document = serde_json::from_str::<Value>(line).map_err(|e| e.to_string());
            let number = document
                .as_ref()
                .ok()
                .and_then(|d| d["number"].as_str())
                .unwrap_or_default()
                .to_string();
            Read {
                row: i + 1,
                number,
                document,
            }
        })
        .collect()
}

/// The file's text: UTF-8 (a byte-order mark dropped) or Windows-1252.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

/// One Windows-1252 byte as its character (the five unassigned bytes as
/// U+FFFD, which the document rules then refuse by name).
fn windows_1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ];
    match b {
        0x80..=0x9F => char::from_u32(u32::from(HIGH[usize::from(b - 0x80)])).unwrap_or('\u{FFFD}'),
        _ => char::from(b),
    }
}

/// The records of `text`, each with the row it starts on; cells as written.
pub fn records(text: &str) -> Vec<Record> {
    let delimiter = detect(text);
    let mut out = Vec::new();
    let (mut record, mut cell) = (Vec::new(), String::new());
    let (mut row, mut start) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    row += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.is_empty() => quoted = true,
            (false, c) if c == delimiter => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                out.push((start, std::mem::take(&mut record)));
                row += 1;
                start = row;
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !record.is_empty() {
        record.push(cell);
        out.push((start, record));
    }
    out.retain(|(_, r)| r.iter().any(|c| !c.trim().is_empty()));
    out
}

/// `;` when the header line holds more of them than `,`.
fn detect(text: &str) -> char {
    let header = text.lines().next().unwrap_or_default();
    let count = |d| header.chars().filter(|&c| c == d).count();
    if count(';') > count(',') { ';' } else { ',' }
}

/// The documents of a CSV file's text.
pub fn documents(text: &str) -> Vec<Read> {
    let mut records = records(text).into_iter();
    let Some((_, header)) = records.next() else {
        return Vec::new();
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let Some(number_at) = header.iter().position(|h| h == "number") else {
        return vec![Read {
            row: 1,
            number: String::new(),
            document: Err("the header has no `number` column".into()),
        }];
    };
    // Contiguous rows of one number make a document.
    let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
    for (row, cells) in records {
        let number = cells
            .get(number_at)
            .map(|c| c.trim())
            .unwrap_or_default()
            .to_string();
        match groups.last_mut() {
            Some((n, rows)) if *n == number => rows.push((row, cells)),
            _ => groups.push((number, vec![(row, cells)])),
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    groups
        .into_iter()
        .map(|(number, rows)| {
            let row = rows[0].0;
            let document = match seen.insert(number.clone(), row) {
                Some(first) => Err(format!(
                    "the rows of {number} are not contiguous (they start again here after row {first})"
                )),
                None if number.is_empty() => Err("the `number` cell is empty".into()),
                None => document(&header, &rows),
            };
            Read {
                row,
                number,
                document,
            }
        })
        .collect()
}

/// One document from its rows.
fn document(header: &[String], rows: &[Record]) -> Result<Value, String> {
    let mut doc = Map::new();
    let mut items = Vec::new();
    for (i, (row, cells)) in rows.iter().enumerate() {
        let mut item = Map::new();
        for (column, cell) in header.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() || column.is_empty() {
                continue;
            }
            let value = typed(column, cell).map_err(|e| format!("row {row}, {column}: {e}"))?;
            if ITEM_COLUMNS.contains(&column.as_str()) {
                item.insert(column.clone(), value);
            } else if i == 0 {
                set(&mut doc, column, value);
            } else if get(&doc, column) != Some(&value) {
                return Err(format!(
                    "row {row}, {column}: differs from the document's first row"
                ));
            }
        }
        if !item.is_empty() {
            items.push(Value::Object(item));
        }
    }
    if !items.is_empty() {
        doc.insert("items".into(), Value::Array(items));
    }
    Ok(Value::Object(doc))
}

/// A cell as the JSON the column takes.
fn typed(column: &str, cell: &str) -> Result<Value, String> {
    if LIST_COLUMNS.contains(&column) {
        let values = cell
            .split(['|', '\n'])
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| Value::String(v.to_string()));
        return Ok(Value::Array(values.collect()));
    }
    if NUMBER_COLUMNS.contains(&column) {
        return cell
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("{cell:?} is not a whole number (write it without separators)"));
    }
    if YES_NO_COLUMNS.contains(&column) {
        // As a spreadsheet in any of the four languages may write it.
        return match cell.trim().to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "x" | "sí" | "si" | "s" | "oui" | "o" | "sim" => {
                Ok(Value::Bool(true))
            }
            "false" | "no" | "n" | "0" | "non" | "não" | "nao" => Ok(Value::Bool(false)),
            _ => Err(format!("{cell:?} is neither yes nor no")),
        };
    }
    if column == "caliber_mm" {
        // A decimal comma, as spreadsheets in Spanish or Portuguese write it.
        return cell
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .and_then(|mm| serde_json::Number::from_f64(mm).map(Value::Number))
            .ok_or_else(|| format!("{cell:?} is not a caliber in millimetres (such as 5.56)"));
    }
    if column.starts_with("valid_") || column.ends_with("date") {
        return Ok(Value::String(date(cell)));
    }
    Ok(Value::String(cell.to_string()))
}

/// `dd/mm/yyyy` (or `d/m/yyyy`) as `YYYY-MM-DD`; anything else as written,
/// for the document rules to judge.
fn date(cell: &str) -> String {
    let parts: Vec<&str> = cell.split('/').collect();
    match parts.as_slice() {
        [d, m, y]
            if y.len() == 4
                && [d, m, y]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                && d.len() <= 2
                && m.len() <= 2 =>
        {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => cell.to_string(),
    }
}

/// Sets `a.b.c` in `doc`.
fn set(doc: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut at = doc;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            at.insert(part.to_string(), value);
            return;
        }
        let next = at
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(map) = next else { return };
        at = map;
    }
}

fn get<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut at = doc.get(parts.next()?)?;
    for part in parts {
        at = at.get(part)?;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_spanish_spreadsheet_is_read_as_written() {
        // Windows-1252, `;`, dd/mm/yyyy, a quoted cell with the separator,
        // serials with leading zeros, two rows of one document.
        let mut bytes = b"kind;number;importing_country;exporting_country;importer.name;exporter.name;valid_from;valid_until;line;category;description;quantity;unit;serials\r\n".to_vec();
        bytes.extend_from_slice(b"import;DCAM/PI/2026/0042;MX;US;\"Importadora; del Norte\";Acme;01/02/2026;31/12/2026;1;firearm;pistola semiautom\xe1tica;2;units;007|0008\r\n");
        bytes.extend_from_slice(b";DCAM/PI/2026/0042;;;;;;;2;ammunition;cartuchos;100;rounds;\r\n");
        let docs = documents(&decode(&bytes));
        assert_eq!(docs.len(), 1, "{docs:?}");
        let d = docs[0].document.as_ref().expect("a document");
        assert_eq!(docs[0].row, 2);
        assert_eq!(d["number"], "DCAM/PI/2026/0042");
        assert_eq!(d["importer"]["name"], "Importadora; del Norte");
        assert_eq!(d["valid_from"], "2026-02-01");
        assert_eq!(d["items"][0]["description"], "pistola semiautomática");
        assert_eq!(d["items"][0]["serials"], json!(["007", "0008"]));
        assert_eq!(d["items"][1]["quantity"], 100);
        assert!(d["items"][1].get("serials").is_none());
    }

    #[test]
    fn an_item_line_says_what_it_is_for_the_att_report() {
        let text = "number;kind;line;hs_code;att_subcategory;action;caliber_mm;origin_country
                    A;export;1;930190;small_arms_2;semi_automatic;5,56;BR
B;export;1;;;;cinco;
";
        let docs = documents(text);
        let d = docs[0].document.as_ref().expect("a document");
        assert_eq!(d["items"][0]["att_subcategory"], "small_arms_2");
        assert_eq!(d["items"][0]["action"], "semi_automatic");
        assert_eq!(d["items"][0]["caliber_mm"], json!(5.56));
        assert_eq!(d["items"][0]["origin_country"], "BR");
        let why = docs[1].document.as_ref().expect_err("not a caliber");
        assert!(why.contains("caliber_mm"), "{why}");
    }

    #[test]
    fn a_migrated_record_says_when_it_was_issued_and_what_crossed_before() {
        let text = "number;kind;migrated;original_issue_date;line;quantity;shipped_before
A;export;sí;02/06/2025;1;100;40
B;export;peut-être;;1;1;
";
        let docs = documents(text);
        let d = docs[0].document.as_ref().expect("a document");
        assert_eq!(d["migrated"], true);
        assert_eq!(d["original_issue_date"], "2025-06-02");
        assert_eq!(d["items"][0]["shipped_before"], 40);
        let why = docs[1].document.as_ref().expect_err("not yes or no");
        assert!(why.contains("migrated"), "{why}");
    }

    #[test]
    fn rows_are_counted_from_the_header_and_faults_name_them() {
        let text = "\u{FEFF}number,kind,line,quantity\nA,import,1,3\nB,import,1,x\nA,import,2,1\n";
        let docs = documents(&decode(text.as_bytes()));
        let rows: Vec<_> = docs.iter().map(|d| (d.row, d.document.is_ok())).collect();
        assert_eq!(rows, [(2, true), (3, false), (4, false)], "{docs:?}");
        let why = docs[1].document.as_ref().expect_err("not a number");
        assert!(why.contains("row 3, quantity"), "{why}");
        let why = docs[2].document.as_ref().expect_err("not contiguous");
        assert!(why.contains("not contiguous"), "{why}");
        // A later row contradicting the first is refused, not merged.
        let text = "number,kind,line\nA,import,1\nA,export,2\n";
        let docs = documents(text);
        assert!(docs[0].document.is_err(), "{docs:?}");
    }

    #[test]
    fn quoted_cells_keep_line_breaks_and_quotes() {
        let text = "number,serials,conditions\nA,\"S1\nS2\",\"say \"\"no\"\"\"\n";
        let docs = documents(text);
        let d = docs[0].document.as_ref().expect("a document");
        assert_eq!(d["items"][0]["serials"], json!(["S1", "S2"]));
        assert_eq!(d["conditions"], "say \"no\"");
    }
}
