//! The demo's end-use assurance ([`tell`]): before licensing 25 pistols
//! for the Jalisco state police, BIS asks SEDENA's DCAM whether the
//! end-user certificate the exporter filed is genuine (the Otterloo case:
//! a forged police order nobody checked with the importing State). DCAM
//! finds it on the Requests page of its console and confirms it; the
//! signed answer reaches BIS, which then issues the license. Neither
//! `enduse.unanswered` nor anything else is left open.

use crate::demo_year::until_held;
use serde_json::json;
use tally_model::{Date, License};
use tally_verify::{Verifier, now_ms};

/// BIS's request, DCAM's answer, and the license issued after it.
pub const REQUEST: &str = "BIS-EUR-2026-0031";
const ANSWER: &str = "DCAM-RES-2026-0031";
pub const LICENSE: &str = "D1298742";
const PERMIT: &str = "DCAM-PI-2026-0047";

fn day(offset: i64) -> String {
    Date::from_unix_ms(now_ms() + offset * 86_400_000).to_string()
}

fn license(v: serde_json::Value) -> anyhow::Result<License> {
    Ok(serde_json::from_value(v)?)
}

fn pistols() -> serde_json::Value {
    json!([{"line": 1, "category": "firearm",
        "description": "Semi-automatic pistol, 9x19mm (ECCN 0A501.a)", "hs_code": "930200",
        "make": "Lone Star Arms", "model": "LS9 Duty", "caliber": "9x19mm",
        "quantity": 25, "unit": "units"}])
}

/// Tells the story on US-BIS (`us`) and MX-SEDENA (`mx`).
pub async fn tell(us: &Verifier, mx: &Verifier) -> anyhow::Result<()> {
    let exporter = json!({"name": "Lone Star Arms Manufacturing LLC", "id": "FFL 5-74-12345"});
    let importer = json!({"name": "Dirección de Comercialización de Armamento y Municiones (DCAM), SEDENA",
        "id": "SDN-DCAM"});
    let end_user = json!({"name": "Comisaría de Seguridad Pública del Estado de Jalisco",
        "address": "Guadalajara, Jalisco, México"});
    let euc = json!({"number": "DCAM-CUF-2026-0311", "date": day(-12),
        "issued_by": "Dirección de Comercialización de Armamento y Municiones, SEDENA"});
    let permit = license(json!({"kind": "import", "number": PERMIT,
        "importing_country": "MX", "exporting_country": "US",
        "importer": importer, "exporter": exporter, "end_user": end_user,
        "end_use": "Dotación de la policía estatal de Jalisco",
        "items": pistols(), "valid_from": day(-12), "valid_until": day(170)}))?;
    let mx_v = mx.clone();
    tokio::task::spawn_blocking(move || mx_v.issuer().issue(permit)).await??;
    until_held(us, "MX-SEDENA", PERMIT).await?;
    let request = license(json!({"kind": "enduse_request", "number": REQUEST,
        "exporting_country": "US", "importing_country": "MX", "export_license": LICENSE,
        "end_user_certificate": euc, "end_user": end_user, "date": day(-2)}))?;
    let us_v = us.clone();
    tokio::task::spawn_blocking(move || us_v.issuer().issue(request)).await??;
    until_held(mx, "US-BIS", REQUEST).await?;
    let answer = license(json!({"kind": "enduse_answer", "number": ANSWER,
        "importing_country": "MX", "exporting_country": "US",
        "request": {"authority": "US-BIS", "number": REQUEST}, "answer": "confirmed",
        "comment": "Certificado emitido por la DCAM el día indicado; usuario final verificado.",
        "date": day(-1)}))?;
    let mx_v = mx.clone();
    tokio::task::spawn_blocking(move || mx_v.issuer().issue(answer)).await??;
    until_held(us, "MX-SEDENA", ANSWER).await?;
    let export = license(json!({"kind": "export", "number": LICENSE,
        "exporting_country": "US", "importing_country": "MX",
        "exporter": exporter, "importer": importer, "end_user": end_user,
        "end_use": "Dotación de la policía estatal de Jalisco",
        "end_user_certificate": euc, "items": pistols(),
        "valid_from": day(0), "valid_until": day(150),
        "import_certificate": {"authority": "MX-SEDENA", "number": PERMIT}}))?;
    let us_v = us.clone();
    tokio::task::spawn_blocking(move || us_v.issuer().issue(export)).await??;
    Ok(())
}
