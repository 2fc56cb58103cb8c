//! The demo's temporary export ([`tell`]): a Texan sport shooter takes his
//! two target rifles to the national championship in Monterrey and brings
//! them back. BIS licenses the trip as a temporary export (due back within
//! a month), SEDENA's DCAM permits the temporary import; the rifles leave
//! Laredo and enter Nuevo Laredo yesterday and come back through Laredo
//! today, recorded as a return against the same license: one license, no
//! second export, no `serial.repeat`, and nothing left for
//! `return.overdue` to find.

use crate::demo_year::{record, until_held};
use serde_json::json;
use tally_model::{Date, License};
use tally_verify::{CheckRequest, Verifier, now_ms};

/// BIS's temporary export license.
pub const TEMPORARY: &str = "D1298740";
/// DCAM's permit of the temporary import.
const PERMIT: &str = "DCAM-PI-2026-0046";
const SHOOTER: &str = "Ramón Delgado";
const FEDERATION: &str = "Federación Mexicana de Tiro y Caza, A.C.";
const RIFLES: [&str; 2] = ["311ZV01234", "311ZV01235"];

fn day(offset: i64) -> String {
    Date::from_unix_ms(now_ms() + offset * 86_400_000).to_string()
}

fn license(v: serde_json::Value) -> anyhow::Result<License> {
    Ok(serde_json::from_value(v)?)
}

fn rifles() -> serde_json::Value {
    json!([{"line": 1, "category": "firearm",
        "description": "Bolt-action target rifle, .308 Winchester (ECCN 0A501.a)",
        "hs_code": "930330", "make": "Browning", "model": "X-Bolt Target", "caliber": ".308 Win",
        "quantity": 2, "unit": "units", "serials": RIFLES}])
}

fn parties() -> (serde_json::Value, serde_json::Value) {
    (
        json!({"name": SHOOTER, "id": "TX DL 31415926", "address": "Laredo, TX 78041, USA"}),
        json!({"name": FEDERATION, "address": "Ciudad de México, México"}),
    )
}

const END_USE: &str = "Campeonato Nacional de Tiro Deportivo, Monterrey: the rifles return to the United States after the match";

/// A crossing of both rifles at `port`, dated `date` (days from today).
fn crossing(country: &str, port: &str, direction: &str, date: i64) -> anyhow::Result<CheckRequest> {
    Ok(serde_json::from_value(json!({
        "license": {"authority": "US-BIS", "number": TEMPORARY},
        "checkpoint": {"country": country, "port": port, "direction": direction},
        "date": day(date), "exporter": SHOOTER, "importer": FEDERATION,
        "items": [{"line": 1, "quantity": 2, "serials": RIFLES}], "record": true}))?)
}

/// Tells the story on US-BIS (`us`) and MX-SEDENA (`mx`).
pub async fn tell(us: &Verifier, mx: &Verifier) -> anyhow::Result<()> {
    let (shooter, federation) = parties();
    let permit = license(json!({"kind": "import", "number": PERMIT,
        "importing_country": "MX", "exporting_country": "US",
        "importer": federation, "exporter": shooter, "end_user": shooter, "end_use": END_USE,
        "items": rifles(), "valid_from": day(-20), "valid_until": day(20)}))?;
    let mx_v = mx.clone();
    tokio::task::spawn_blocking(move || mx_v.issuer().issue(permit)).await??;
    until_held(us, "MX-SEDENA", PERMIT).await?;
    let export = license(json!({"kind": "export", "number": TEMPORARY,
        "exporting_country": "US", "importing_country": "MX",
        "exporter": shooter, "importer": federation, "end_user": shooter, "end_use": END_USE,
        "items": rifles(), "valid_from": day(-10), "valid_until": day(20),
        "import_certificate": {"authority": "MX-SEDENA", "number": PERMIT},
        "temporary": {"purpose": "competition", "return_by": day(30)}}))?;
    let us_v = us.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        us_v.issuer().issue(export)?;
        record(&us_v, crossing("US", "USLRD", "exit", -1)?, true)
    })
    .await??;
    until_held(mx, "US-BIS", TEMPORARY).await?;
    let mx_v = mx.clone();
    tokio::task::spawn_blocking(move || record(&mx_v, crossing("MX", "MXNLD", "entry", -1)?, true))
        .await??;
    let us_v = us.clone();
    tokio::task::spawn_blocking(move || record(&us_v, crossing("US", "USLRD", "return", 0)?, true))
        .await??;
    Ok(())
}
