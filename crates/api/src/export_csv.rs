//! The CSV of an export (docs/API.md, "Exports"): the JSON objects the
//! matching `GET` answers, flattened to fixed columns, one row per item line
//! (licenses) or declared line (crossings), lists joined with `|` as
//! `tally import` reads them. A cell that a spreadsheet would run as a
//! formula (it begins with `=`, `+`, `-`, `@`, a tab or a carriage return)
//! is prefixed with `'`: the text comes from other States' nodes.

use serde_json::Value;

/// A column: its name and where its value is, as a JSON pointer into the
/// object (`Doc`) or into the line (`Line`) the row is for.
enum Col {
    Doc(&'static str, &'static str),
    Line(&'static str, &'static str),
    /// A license's tally of the row's line: a key of its `tally` entry.
    Tally(&'static str),
}

const LICENSE_COLUMNS: &[Col] = &[
    Col::Doc("authority", "/authority"),
    Col::Doc("number", "/number"),
    Col::Doc("kind", "/kind"),
    Col::Doc("status", "/status"),
    Col::Doc("version", "/version"),
    Col::Doc("issued_at", "/issued_at"),
    Col::Doc("valid_from", "/document/valid_from"),
    Col::Doc("valid_until", "/document/valid_until"),
    Col::Doc("exporting_country", "/document/exporting_country"),
    Col::Doc("importing_country", "/document/importing_country"),
    Col::Doc("transit_country", "/document/transit_country"),
    Col::Doc("transit_countries", "/document/transit_countries"),
    Col::Doc("exporter.name", "/document/exporter/name"),
    Col::Doc("exporter.id", "/document/exporter/id"),
    Col::Doc("importer.name", "/document/importer/name"),
    Col::Doc("end_user.name", "/document/end_user/name"),
    Col::Doc("end_use", "/document/end_use"),
    Col::Doc(
        "import_certificate.authority",
        "/document/import_certificate/authority",
    ),
    Col::Doc(
        "import_certificate.number",
        "/document/import_certificate/number",
    ),
    Col::Doc(
        "export_license.authority",
        "/document/export_license/authority",
    ),
    Col::Doc("export_license.number", "/document/export_license/number"),
    Col::Doc("migrated", "/document/migrated"),
    Col::Doc("original_issue_date", "/document/original_issue_date"),
    Col::Doc("prepared_by.name", "/document/prepared_by/name"),
    Col::Doc("signatory.name", "/document/signatory/name"),
    Col::Doc("signatory.title", "/document/signatory/title"),
    Col::Line("line", "/line"),
    Col::Line("category", "/category"),
    Col::Line("description", "/description"),
    Col::Line("hs_code", "/hs_code"),
    Col::Line("make", "/make"),
    Col::Line("model", "/model"),
    Col::Line("caliber", "/caliber"),
    Col::Line("quantity", "/quantity"),
    Col::Line("unit", "/unit"),
    Col::Line("serials", "/serials"),
    Col::Line("att_subcategory", "/att_subcategory"),
    Col::Line("action", "/action"),
    Col::Line("caliber_mm", "/caliber_mm"),
    Col::Line("origin_country", "/origin_country"),
    Col::Line("shipped_before", "/shipped_before"),
    Col::Tally("exit"),
    Col::Tally("transit"),
    Col::Tally("entry"),
    Col::Tally("delivered"),
];

const SHIPMENT_COLUMNS: &[Col] = &[
    Col::Doc("recorded_by", "/recorded_by"),
    Col::Doc("seq", "/seq"),
    Col::Doc("recorded_at", "/recorded_at"),
    Col::Doc("license.authority", "/license/authority"),
    Col::Doc("license.number", "/license/number"),
    Col::Doc("checkpoint.country", "/checkpoint/country"),
    Col::Doc("checkpoint.port", "/checkpoint/port"),
    Col::Doc("checkpoint.direction", "/checkpoint/direction"),
    Col::Doc("date", "/date"),
    Col::Doc("verdict", "/verdict"),
    Col::Doc("counted", "/counted"),
    Col::Line("line", "/line"),
    Col::Line("quantity", "/quantity"),
    Col::Line("serials", "/serials"),
];

const ALERT_COLUMNS: &[Col] = &[
    Col::Doc("id", "/id"),
    Col::Doc("kind", "/kind"),
    Col::Doc("license.authority", "/license/authority"),
    Col::Doc("license.number", "/license/number"),
    Col::Doc("raised_at", "/raised_at"),
    Col::Doc("open", "/open"),
    Col::Doc("detail", "/detail"),
];

/// The objects a CSV export flattens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Licenses and delivery verifications, as `GET /v1/licenses/...`.
    Licenses,
    Shipments,
    Alerts,
}

/// The columns of `table` and where a row's lines are in its object.
fn layout(table: Table) -> (&'static [Col], Option<&'static str>) {
    match table {
        Table::Licenses => (LICENSE_COLUMNS, Some("/document/items")),
        Table::Shipments => (SHIPMENT_COLUMNS, Some("/items")),
        Table::Alerts => (ALERT_COLUMNS, None),
    }
}

/// The header line.
pub fn header(table: Table) -> String {
    let (cols, _) = layout(table);
    let names: Vec<&str> = cols
        .iter()
        .map(|c| match c {
            Col::Doc(n, _) | Col::Line(n, _) => *n,
            Col::Tally(n) => n,
        })
        .collect();
    names.join(",") + "\r\n"
}

/// The rows of one object: one per line (one with empty line cells when it
/// has none).
pub fn rows(table: Table, object: &Value, out: &mut String) {
    let (cols, lines_at) = layout(table);
    let lines: Vec<&Value> = lines_at
        .and_then(|p| object.pointer(p))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let empty = Value::Null;
    let lines = if lines.is_empty() {
        vec![&empty]
    } else {
        lines
    };
    for line in lines {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| {
                let v = match c {
                    Col::Doc(_, p) => object.pointer(p),
                    Col::Line(_, p) => line.pointer(p),
                    Col::Tally(key) => tally_of(object, line).and_then(|t| t.get(*key)),
                };
                cell(v)
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
}

/// The `tally` entry of the license `object` for `line`.
fn tally_of<'a>(object: &'a Value, line: &Value) -> Option<&'a Value> {
    let n = line.get("line")?;
    object
        .get("tally")?
        .as_array()?
        .iter()
        .find(|t| t.get("line") == Some(n))
}

/// One cell, quoted when it must be and defused when a spreadsheet would
/// run it.
fn cell(v: Option<&Value>) -> String {
    let text = match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("|"),
        Some(other) => other.to_string(),
    };
    text_cell(text)
}

/// A cell of text, quoted when it must be and defused when a spreadsheet
/// would run it (every CSV this crate writes goes through here).
pub(crate) fn text_cell(text: String) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(
            cell(Some(&json!("=HYPERLINK(\"x\")"))),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(cell(Some(&json!("-5"))), "'-5");
        assert_eq!(cell(Some(&json!("Acme, Inc."))), "\"Acme, Inc.\"");
        assert_eq!(cell(Some(&json!(["A1", "A2"]))), "A1|A2");
        assert_eq!(cell(Some(&json!(40))), "40");
        assert_eq!(cell(None), "");
    }

    #[test]
    fn a_license_is_a_row_per_item_line_with_its_tally() {
        let license = json!({"authority": "US-DDTC", "number": "EXP-1", "kind": "export",
            "document": {"exporter": {"name": "Acme"}, "items": [
                {"line": 1, "quantity": 100, "serials": ["AC1", "AC2"]},
                {"line": 2, "quantity": 5000}]},
            "tally": [{"line": 1, "exit": 40}, {"line": 2, "exit": 0}]});
        let mut out = String::new();
        rows(Table::Licenses, &license, &mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        let header = header(Table::Licenses);
        let cols: Vec<&str> = header.trim_end().split(',').collect();
        let first: Vec<&str> = lines[0].split(',').collect();
        let at = |name: &str| cols.iter().position(|c| *c == name).unwrap();
        assert_eq!(first[at("number")], "EXP-1");
        assert_eq!(first[at("serials")], "AC1|AC2");
        assert_eq!(first[at("exit")], "40");
        assert_eq!(first[at("exporter.name")], "Acme");
    }
}
