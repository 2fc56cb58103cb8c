//! The sample documents as the contract's JSON (docs/API.md), for tests that
//! speak HTTP or parse what a client sends. Dates are relative to today, so
//! validity holds whenever the tests run; the docs/API.md examples are fixed.

use crate::{MX, US};
use serde_json::{Value, json};

/// `YYYY-MM-DD`, `offset` days from today (UTC).
pub fn day(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    tally_model::Date::from_unix_ms(now + offset * 86_400_000).to_string()
}

/// US-DDTC's export license `number` to MX through GT: 100 pistols (serials
/// AC1000, AC1001) and 5000 cartridges, covered by MX-SEDENA's IC-1.
pub fn export(number: &str) -> Value {
    json!({"kind": "export", "number": number,
        "exporting_country": "US", "importing_country": "MX", "transit_countries": ["GT"],
        "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
        "importer": {"name": "Importadora del Norte SA"},
        "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
        "items": [{"line": 1, "category": "firearm", "description": "pistol", "hs_code": "930200",
                   "make": "Acme", "model": "P9", "caliber": "9x19mm",
                   "quantity": 100, "unit": "units", "serials": ["AC1000", "AC1001"]},
                  {"line": 2, "category": "ammunition", "description": "cartridges", "hs_code": "930630",
                   "quantity": 5000, "unit": "rounds"}],
        "valid_from": day(-30), "valid_until": day(180),
        "import_certificate": {"authority": MX, "number": "IC-1"},
        "shipments": "partial", "conditions": "no re-export"})
}

/// MX-SEDENA's import certificate `number` covering [`export`].
pub fn import_certificate(number: &str) -> Value {
    json!({"kind": "import", "number": number,
        "importing_country": "MX", "exporting_country": "US",
        "importer": {"name": "Importadora del Norte SA"}, "exporter": {"name": "Acme Arms Inc."},
        "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
        "items": [{"line": 1, "category": "firearm", "description": "pistol", "quantity": 100, "unit": "units"},
                  {"line": 2, "category": "ammunition", "description": "cartridges", "quantity": 5000, "unit": "rounds"}],
        "valid_from": day(-60), "valid_until": day(365)})
}

/// GT-DIGECAM's transit authorization `number` for US-DDTC's `export_number`.
pub fn transit(number: &str, export_number: &str) -> Value {
    json!({"kind": "transit", "number": number, "transit_country": "GT",
        "export_license": {"authority": US, "number": export_number},
        "entry_point": "GTPRQ", "exit_point": "GTTUC",
        "valid_from": day(-60), "valid_until": day(365), "decision": "authorized"})
}

/// A check of a consignment of `quantity` of line 1 with `serials` under
/// US-DDTC's `number`, at `country`'s checkpoint in `direction`.
pub fn shipment(
    number: &str,
    country: &str,
    direction: &str,
    quantity: u64,
    serials: &[&str],
    record: bool,
) -> Value {
    json!({"license": {"authority": US, "number": number},
        "checkpoint": {"country": country, "port": format!("{country}PRT"), "direction": direction},
        "exporter": "Acme Arms Inc.", "importer": " importadora del norte sa ",
        "items": [{"line": 1, "quantity": quantity, "serials": serials}],
        "record": record})
}

/// One firearm line of `quantity` units, with `serials` (may be empty).
pub fn items(quantity: u64, serials: &[String]) -> Value {
    json!([{"line": 1, "category": "firearm", "description": "semi-automatic pistol",
            "hs_code": "930200", "make": "Acme", "model": "P9", "caliber": "9x19mm",
            "quantity": quantity, "unit": "units", "serials": serials}])
}

/// An import certificate of `importing`'s authority for one line of [`items`].
pub fn import_of(number: &str, importing: &str, exporting: &str, quantity: u64) -> Value {
    json!({"kind": "import", "number": number,
           "importing_country": importing, "exporting_country": exporting,
           "importer": {"name": "Importadora del Norte SA"},
           "exporter": {"name": "Acme Arms Inc."},
           "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
           "items": items(quantity, &[]),
           "valid_from": day(-30), "valid_until": day(150)})
}

/// A partial-shipment export license from the US to MX of one line of
/// [`items`], through `transit`, covered by MX-SEDENA's import certificate `ic`.
pub fn export_of(
    number: &str,
    transit: &[&str],
    quantity: u64,
    serials: &[String],
    ic: &str,
) -> Value {
    json!({"kind": "export", "number": number,
           "exporting_country": "US", "importing_country": "MX", "transit_countries": transit,
           "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
           "importer": {"name": "Importadora del Norte SA"},
           "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
           "items": items(quantity, serials),
           "valid_from": day(-30), "valid_until": day(150),
           "import_certificate": {"authority": MX, "number": ic},
           "shipments": "partial", "conditions": "no re-export"})
}

/// A transit authorization of `country` for US-DDTC's export `export`.
pub fn transit_of(number: &str, country: &str, export: &str) -> Value {
    json!({"kind": "transit", "number": number, "transit_country": country,
           "export_license": {"authority": US, "number": export},
           "entry_point": format!("{country}PRQ"), "exit_point": format!("{country}TUC"),
           "valid_from": day(-30), "valid_until": day(150), "decision": "authorized"})
}

/// Sample document `n` of `authority`: an import certificate of its country.
pub fn sample(authority: &str, n: usize) -> Value {
    let country = authority.get(..2).unwrap_or("US");
    let exporting = if country == "US" { "MX" } else { "US" };
    import_of(&format!("IC-{n:05}"), country, exporting, 100)
}

/// The export license example of docs/API.md.
pub const EXPORT_EXAMPLE: &str = r#"{"kind": "export", "number": "EXP-2026-0001",
 "exporting_country": "US", "importing_country": "MX", "transit_countries": ["GT"],
 "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
 "importer": {"name": "Importadora del Norte SA"},
 "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
 "end_user_certificate": {"number": "EUC-2026-118", "date": "2026-10-20", "issued_by": "MX-SEDENA"},
 "brokers": [], "consignees": [], "carriers": [{"name": "Transportes del Golfo SA"}],
 "value": {"amount": "84500.00", "currency": "USD"}, "place_of_issue": "Washington, DC",
 "items": [{"line": 1, "category": "firearm", "description": "pistol", "hs_code": "930200",
            "make": "Acme", "model": "P9", "caliber": "9x19mm",
            "quantity": 100, "unit": "units", "serials": ["AC1000", "AC1001"]}],
 "valid_from": "2026-11-01", "valid_until": "2027-04-30",
 "import_certificate": {"authority": "MX-SEDENA", "number": "IC-2026-0042"},
 "shipments": "partial", "conditions": "no re-export"}"#;

/// The import certificate example of docs/API.md, with its elisions filled in.
pub const IMPORT_EXAMPLE: &str = r#"{"kind": "import", "number": "IC-2026-0042",
 "importing_country": "MX", "exporting_country": "US",
 "importer": {"name": "Importadora del Norte SA"}, "exporter": {"name": "Acme Arms Inc."},
 "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
 "items": [{"line": 1, "category": "firearm", "description": "pistol", "quantity": 120, "unit": "units"}],
 "valid_from": "2026-10-01", "valid_until": "2027-06-30"}"#;

/// The transit authorization example of docs/API.md, with its elisions filled in.
pub const TRANSIT_EXAMPLE: &str = r#"{"kind": "transit", "number": "TR-2026-0007", "transit_country": "GT",
 "export_license": {"authority": "US-DDTC", "number": "EXP-2026-0001"},
 "entry_point": "GTPRQ", "exit_point": "GTTUC",
 "valid_from": "2026-11-01", "valid_until": "2027-04-30", "decision": "authorized"}"#;

/// The `POST /v1/shipments/verify` example of docs/API.md.
pub const CHECK_EXAMPLE: &str = r#"{"license": {"authority": "US-DDTC", "number": "EXP-2026-0001"},
 "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
 "date": "2026-12-01", "exporter": "Acme Arms Inc.", "importer": "Importadora del Norte SA",
 "items": [{"line": 1, "quantity": 40, "serials": ["AC1000"]}],
 "record": true}"#;
