//! The demo's denial notice ([`tell`]): BIS refused 9 mm pistols for a
//! Guatemalan dealer and told every partner State; later SEDENA's DCAM
//! licenses pistols to the same dealer, its name written otherwise. DCAM's
//! officer is warned at issue, and the nodes that read the export license
//! (Mexico's and Guatemala's) raise `denial.match`.

use anyhow::bail;
use serde_json::json;
use std::time::{Duration, Instant};
use tally_model::{AlertKind, Date, License};
use tally_verify::{Verifier, now_ms};

/// BIS's denial.
pub const DENIAL: &str = "BIS-DEN-2026-0017";
/// DCAM's export license to the denied dealer.
pub const EXPORT: &str = "DCAM-EX-2026-0009";
/// DIGECAM's import certificate the export cites.
const IMPORT: &str = "DIGECAM-IM-2026-0031";

fn day(offset: i64) -> String {
    Date::from_unix_ms(now_ms() + offset * 86_400_000).to_string()
}

fn license(v: serde_json::Value) -> anyhow::Result<License> {
    Ok(serde_json::from_value(v)?)
}

fn pistols(hs: &str) -> serde_json::Value {
    json!([{"line": 1, "category": "firearm", "description": "semi-automatic pistols",
        "hs_code": hs, "make": "Industria Militar", "model": "Obregón", "caliber": "9x19mm",
        "quantity": 60, "unit": "units"}])
}

/// Tells the story on US-BIS (`us`), MX-SEDENA (`mx`) and GT-DIGECAM
/// (`gt`); returns what DCAM's officer was told at issue.
pub async fn tell(us: &Verifier, mx: &Verifier, gt: &Verifier) -> anyhow::Result<Vec<String>> {
    // As Guatemala and Mexico write the dealer; BIS wrote it otherwise.
    let dealer = json!({"name": "Armeria El Quetzal S.A.", "id": "4471902-5",
        "address": "Zona 9, Ciudad de Guatemala"});
    let import = license(json!({"kind": "import", "number": IMPORT,
        "importing_country": "GT", "exporting_country": "MX",
        "importer": dealer, "exporter": {"name": "Dirección General de Industria Militar, SEDENA"},
        "end_user": dealer, "end_use": "retail sale to licensed civilians",
        "items": pistols("930200"), "valid_from": day(-20), "valid_until": day(160)}))?;
    let denial = license(
        json!({"kind": "denial", "number": DENIAL, "denying_country": "US",
        "applicant": {"name": "Gulf Coast Firearms LLC", "id": "FFL 6-76-54321"},
        "consignee": {"name": "ARMERÍA EL QUETZAL, S.A.", "id": "NIT 4471902-5"},
        "end_user": {"name": "ARMERÍA EL QUETZAL, S.A."},
        "goods": [{"category": "firearm", "hs_heading": "9302", "description": "9 mm pistols"}],
        "destination": "GT",
        "criterion": "ATT Art. 7(1)(b)(i); EAR Part 744: end user not verified, risk of diversion",
        "date": day(-60)}),
    )?;
    let (gt_v, us_v) = (gt.clone(), us.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        gt_v.issuer().issue(import)?;
        // A denial travels in clear to every trusted State by default.
        us_v.issuer().issue(denial)?;
        Ok(())
    })
    .await??;
    until(
        mx,
        "MX-SEDENA to hold the denial and the import certificate",
        |v| {
            let r = v.reader()?;
            let (bis, digecam) = ("US-BIS".parse()?, "GT-DIGECAM".parse()?);
            Ok(r.license(&bis, DENIAL)?.is_some() && r.license(&digecam, IMPORT)?.is_some())
        },
    )
    .await?;
    let export = license(json!({"kind": "export", "number": EXPORT,
        "exporting_country": "MX", "importing_country": "GT",
        "exporter": {"name": "Dirección General de Industria Militar, SEDENA", "id": "SDN-DGIM"},
        "importer": dealer, "end_user": dealer, "end_use": "retail sale to licensed civilians",
        "items": pistols("930200"), "valid_from": day(0), "valid_until": day(120),
        "import_certificate": {"authority": "GT-DIGECAM", "number": IMPORT},
        "shipments": "single"}))?;
    let mx_v = mx.clone();
    let issued = tokio::task::spawn_blocking(move || mx_v.issuer().issue(export)).await??;
    for v in [mx, gt] {
        until(v, "denial.match on the readers of the export", |v| {
            Ok(v.reader()?.alerts()?.iter().any(|a| {
                a.open
                    && a.kind == AlertKind::DenialMatch
                    && a.license.as_ref().is_some_and(|l| l.number == EXPORT)
            }))
        })
        .await?;
    }
    Ok(issued.warnings)
}

/// Polls `holds` on `v` for up to 20 s.
async fn until(
    v: &Verifier,
    what: &str,
    holds: impl Fn(&Verifier) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if holds(v)? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("waited 20 s for {what}")
}
