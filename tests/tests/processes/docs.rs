//! Valid documents of docs/API.md for `POST /v1/licenses`, numbered so
//! that every test, cycle and node issues distinct numbers.

use serde_json::{Value, json};

fn items(serial_prefix: &str) -> Value {
    json!([{"line": 1, "category": "firearm", "description": "pistol", "hs_code": "930200",
            "make": "Acme", "model": "P9", "caliber": "9x19mm", "quantity": 100, "unit": "units",
            "serials": [format!("{serial_prefix}-1"), format!("{serial_prefix}-2")]},
           {"line": 2, "category": "ammunition", "description": "9x19mm cartridges",
            "quantity": 10000, "unit": "rounds"}])
}

/// An import certificate issued by the importing country.
pub fn import(number: &str, importing: &str, exporting: &str) -> Value {
    json!({"kind": "import", "number": number,
           "importing_country": importing, "exporting_country": exporting,
           "importer": {"name": "Importadora del Norte SA"}, "exporter": {"name": "Acme Arms Inc."},
           "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
           "items": items(number), "valid_from": "2026-11-01", "valid_until": "2027-04-30"})
}

/// An export license issued by the exporting country.
pub fn export(
    number: &str,
    exporting: &str,
    importing: &str,
    transit: &[&str],
    certificate: (&str, &str),
) -> Value {
    json!({"kind": "export", "number": number,
           "exporting_country": exporting, "importing_country": importing,
           "transit_countries": transit,
           "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
           "importer": {"name": "Importadora del Norte SA"},
           "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
           "items": items(number), "valid_from": "2026-11-01", "valid_until": "2027-04-30",
           "import_certificate": {"authority": certificate.0, "number": certificate.1},
           "shipments": "partial", "conditions": "no re-export"})
}

/// A transit authorization issued by the transit country.
pub fn transit(number: &str, country: &str, license: (&str, &str)) -> Value {
    json!({"kind": "transit", "number": number, "transit_country": country,
           "export_license": {"authority": license.0, "number": license.1},
           "entry_point": format!("{country}PRQ"), "exit_point": format!("{country}TUC"),
           "valid_from": "2026-11-01", "valid_until": "2027-04-30", "decision": "authorized"})
}

/// The country of an authority id (`US-DDTC` -> `US`).
pub fn country(authority: &str) -> &str {
    authority.split('-').next().unwrap_or(authority)
}

/// Some valid document of `authority`'s country that relies on nothing
/// another node must have sent first (linkage at issue): an import
/// certificate, an export license to a country none of the tests' nodes
/// speaks for, or an import certificate of goods from there, by turns
/// (`n % 3`), numbered `{tag}-{n}`.
pub fn any(authority: &str, tag: &str, n: usize) -> Value {
    let own = country(authority);
    let other = if own == "US" { "MX" } else { "US" };
    let number = format!("{tag}-{n}");
    match n % 3 {
        0 => import(&number, own, other),
        1 => export(&number, own, "AR", &[], ("AR-ANMAC", "IC-0")),
        _ => import(&number, own, "AR"),
    }
}
