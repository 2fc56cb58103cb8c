//! The ATT report's files: a workbook laid out as the ATT annual report
//! template's category VIII tables (a title page, the exports and imports
//! tables, the national definitions, and the lines left for the officer),
//! and the same as one CSV with a `table` column. `tally report att` and
//! `GET /v1/reports/att` both write these.
//!
//! The sheet and column names are kept in one place, [`SHEETS`], which
//! the report's test compares with its fixture.

use crate::export_csv::text_cell;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use tally_model::att::SUBCATEGORIES;
use tally_verify::att_report::{AttReport, Basis, Row, Table};

/// What the report says of itself, on every sheet and in the CSV.
pub const NOTICE: &str = "Draft derived from confidential exchanges (CIFTA Art. XII): \
                          review before submission; not for publication without the partners' consent.";

/// Each sheet and its header row.
pub const SHEETS: [(&str, &[&str]); 5] = [
    ("Title page", &["Field", "Value"]),
    ("Exports", &EXPORT_COLUMNS),
    ("Imports", &IMPORT_COLUMNS),
    ("National definitions", &["Term", "Definition"]),
    (
        "Lines not placed",
        &[
            "Table",
            "Authority",
            "Number",
            "Line",
            "HS code",
            "Description",
            "Quantity",
            "Why",
        ],
    ),
];

const EXPORT_COLUMNS: [&str; 7] = [
    "Category",
    "Sub-category",
    "Final importing State",
    "Number of items",
    "Value",
    "Description of items",
    "Comments",
];

const IMPORT_COLUMNS: [&str; 7] = [
    "Category",
    "Sub-category",
    "Exporting State",
    "Number of items",
    "Value",
    "Description of items",
    "Comments",
];

const CATEGORY: &str = "VIII. Small arms and light weapons";

fn basis_text(b: Basis, table: Table) -> &'static str {
    match (b, table) {
        (Basis::Authorized, Table::Exports) => {
            "authorized: export licenses of this State by date of issue"
        }
        (Basis::Authorized, Table::Imports) => {
            "authorized: import certificates of this State by date of issue"
        }
        (Basis::Actual, Table::Exports) => "actual: crossings recorded at this State's exits",
        (Basis::Actual, Table::Imports) => "actual: crossings recorded at this State's entries",
    }
}

/// The title page, as (field, value).
fn title(r: &AttReport) -> Vec<(&'static str, String)> {
    vec![
        ("Submitting State", r.state.clone()),
        ("National authority", r.authority.clone()),
        ("Reporting period", format!("1 January - 31 December {}", r.year)),
        (
            "Contents",
            "Exports and imports of category VIII (small arms and light weapons); national definitions"
                .into(),
        ),
        ("Exports basis", basis_text(r.basis, Table::Exports).into()),
        ("Imports basis", basis_text(r.basis, Table::Imports).into()),
        (
            "Nil report",
            match (r.exports.is_empty(), r.imports.is_empty()) {
                (true, true) => "exports and imports",
                (true, false) => "exports",
                (false, true) => "imports",
                (false, false) => "no",
            }
            .into(),
        ),
        (
            "Withheld data",
            "Values are not recorded in the exchange and are left blank for the authority to \
             complete; data withheld for commercial sensitivity or national security (Art. 13(3)) \
             is to be marked by the authority before submission."
                .into(),
        ),
        (
            "Lines not placed",
            format!(
                "{} item lines could not be placed in a sub-category and are listed on their own sheet",
                r.unplaced.len()
            ),
        ),
        ("Notice", NOTICE.into()),
    ]
}

/// The national definitions annex: the sub-categories and how lines were
/// placed in them.
fn definitions() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = SUBCATEGORIES
        .iter()
        .map(|s| {
            let (family, name) = s.template_names();
            (
                format!("{family} {name}"),
                format!("Lines stating att_subcategory {}", s.as_str()),
            )
        })
        .collect();
    out.push((
        "Lines without att_subcategory".into(),
        "9302: small arms 1; 9303.30: small arms 2; 9303.20: small arms 6; 9301.90 with a manual \
         or semi-automatic action: small arms 2; 9301.10 at 75 mm or above, 9303.90, 9305 and 9306: \
         outside category VIII; any other line is listed for the authority, never guessed"
            .into(),
    ));
    out.push((
        "Counted".into(),
        "Firearm lines of documents this node reads; a revoked authorization counts nothing; an \
         amended one counts at its current version"
            .into(),
    ));
    out
}

/// A data row of the exports or imports table.
fn cells(row: &Row) -> [String; 7] {
    let (family, name) = row.subcategory.template_names();
    [
        CATEGORY.into(),
        format!("{family} {name}"),
        row.state.clone(),
        row.items.to_string(),
        String::new(),
        row.description.clone(),
        row.comments.clone(),
    ]
}

/// The report as one CSV: `table`, then the columns of the exports table;
/// the title page, definitions and lines not placed as rows of their own
/// tables.
pub fn csv(r: &AttReport) -> String {
    let mut out = format!("# {NOTICE}\n");
    let mut line = |cells: &[&str]| {
        let cells: Vec<String> = cells.iter().map(|c| text_cell(c.to_string())).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    };
    line(&[
        "table",
        "category",
        "sub_category",
        "state",
        "number_of_items",
        "value",
        "description",
        "comments",
    ]);
    for (field, value) in title(r) {
        line(&["title", field, "", "", "", "", &value, ""]);
    }
    for (table, rows) in [("exports", &r.exports), ("imports", &r.imports)] {
        if rows.is_empty() {
            line(&[table, CATEGORY, "", "", "0", "", "nil report", ""]);
        }
        for row in rows {
            let c = cells(row);
            line(&[table, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6]]);
        }
    }
    for (term, definition) in definitions() {
        line(&["definitions", &term, "", "", "", "", &definition, ""]);
    }
    for u in &r.unplaced {
        let table = match u.table {
            Table::Exports => "unplaced exports",
            Table::Imports => "unplaced imports",
        };
        let doc = format!(
            "{}/{} line {}",
            u.license.authority, u.license.number, u.line
        );
        line(&[
            table,
            CATEGORY,
            "",
            "",
            &u.quantity.to_string(),
            "",
            &u.description,
            &format!("{doc}: {}", u.reason),
        ]);
    }
    out
}

/// The report as an XLSX workbook.
pub fn xlsx(r: &AttReport) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (n, (name, header)) in SHEETS.iter().enumerate() {
        let sheet = book.add_worksheet();
        sheet.set_name(*name)?;
        sheet.write_string(0, 0, NOTICE)?;
        for (c, h) in header.iter().enumerate() {
            sheet.write_string_with_format(1, c as u16, *h, &bold)?;
            sheet.set_column_width(c as u16, if c == 0 { 28 } else { 22 })?;
        }
        let rows: Vec<Vec<String>> = match n {
            0 => title(r)
                .into_iter()
                .map(|(f, v)| vec![f.into(), v])
                .collect(),
            1 | 2 => {
                let rows = if n == 1 { &r.exports } else { &r.imports };
                if rows.is_empty() {
                    vec![vec![CATEGORY.into(), "Nil report".into()]]
                } else {
                    rows.iter().map(|row| cells(row).to_vec()).collect()
                }
            }
            3 => definitions().into_iter().map(|(t, d)| vec![t, d]).collect(),
            _ => r
                .unplaced
                .iter()
                .map(|u| {
                    vec![
                        format!("{:?}", u.table).to_lowercase(),
                        u.license.authority.clone(),
                        u.license.number.clone(),
                        u.line.to_string(),
                        u.hs_code.clone().unwrap_or_default(),
                        u.description.clone(),
                        u.quantity.to_string(),
                        u.reason.clone(),
                    ]
                })
                .collect(),
        };
        for (i, row) in rows.iter().enumerate() {
            let at = i as u32 + 2;
            for (c, v) in row.iter().enumerate() {
                // Counts are numbers in the sheet, so that it sums them.
                let numeric = matches!((n, c), (1 | 2, 3) | (4, 3) | (4, 6));
                match v.parse::<f64>() {
                    Ok(x) if numeric => sheet.write_number(at, c as u16, x)?,
                    _ => sheet.write_string_with_format(at, c as u16, v, &wrap)?,
                };
            }
        }
    }
    book.save_to_buffer()
}
