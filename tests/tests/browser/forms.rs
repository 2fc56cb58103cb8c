//! The issue forms, last (they add licenses the other flows do not expect):
//! on the US-DDTC console, for an issuer, in English and then French, an
//! export license issued through its form against the import certificate
//! picked from those the node holds: first an HS heading typed wrong (the
//! message at the field, as typed), then an end-user certificate dated 1999
//! (the node's dry run refuses it; the message lands at that field and
//! nothing is signed); corrected, it is signed. Then amended: the parties
//! are frozen (disabled, with the reason; typing into them changes
//! nothing), a quantity lowered and a carrier added. On the MX-SEDENA
//! console, a delivery verification of the English license's goods,
//! recorded entering Mexico, through its form: what is left to verify per
//! line, a quantity over it refused at the field, then signed. The French
//! license is then revoked and reissued under a new number with its end
//! user corrected (parties never change by amendment). The tabs answer the
//! arrow keys. An import certificate on MX-SEDENA (a unit that does not
//! fit its category refused as chosen) and a transit authorization on
//! GT-DIGECAM (the export picked from those listing Guatemala, a port
//! outside it refused as typed) through their forms. axe-core finds no serious or critical violation on the forms.
//! With
//! `TALLY_SCREENSHOTS`, saves issue-export-en.png, issue-export-fr.png,
//! amend-en.png, amend-fr.png and delivery-en.png there.

use super::a11y::docs_screens;
use super::{Browser, Network, Seeded, WAIT, until};
use anyhow::{Result, anyhow, bail};
use serde_json::{Value, json};
use std::path::Path;

/// A language the forms are driven in, and words they show in it.
struct Lang {
    locale: &'static str,
    tag: &'static str,
    /// The message at an HS code typed wrong.
    hs_fault: &'static str,
    /// The reason beside a frozen party.
    parties_frozen: &'static str,
    /// Quantities: issued, then lowered by amendment.
    issued: u64,
    lowered: u64,
}

const LANGS: [Lang; 2] = [
    Lang {
        locale: "en",
        tag: "en",
        hs_fault: "An HS heading: 4 or 6 digits",
        parties_frozen: "Parties and end use cannot change",
        issued: 10,
        lowered: 8,
    },
    Lang {
        locale: "fr",
        tag: "fr",
        hs_fault: "Une position du SH : 4 ou 6 chiffres",
        parties_frozen: "Les parties et l'utilisation finale ne peuvent pas changer",
        issued: 6,
        lowered: 4,
    },
];

const EXPORT: &str = "#form-export";

impl Browser {
    /// Sets a control's value by script (a date input types per locale) and tells the page.
    async fn set_value(&self, css: &str, value: &str) -> Result<()> {
        let ok = self
            .execute(
                "const el = document.querySelector(arguments[0]); if (!el) return false;
                 el.value = arguments[1];
                 el.dispatchEvent(new Event('input', {bubbles: true}));
                 el.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                json!([css, value]),
            )
            .await?;
        if ok != json!(true) {
            bail!("no control {css}");
        }
        Ok(())
    }

    /// Waits until the picker `css` lists an option naming `text`, and chooses it.
    async fn pick(&self, css: &str, text: &str) -> Result<()> {
        self.until(&format!("{css} to offer {text}"), || async {
            let v = self
                .execute(
                    "const s = document.querySelector(arguments[0]);
                     const o = s && [...s.options].find((o) => o.text.includes(arguments[1]));
                     if (!o) return null;
                     s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true}));
                     return o.text;",
                    json!([css, text]),
                )
                .await?;
            Ok(v.as_str().map(String::from))
        })
        .await
        .map(drop)
    }

    /// The message shown at the control `css` (marked invalid), if any.
    async fn fault_at(&self, css: &str) -> Result<Option<String>> {
        let v = self
            .execute(
                "const el = document.querySelector(arguments[0]);
                 const box = el && document.getElementById(el.id + '-error');
                 return el && box && !box.hidden && el.getAttribute('aria-invalid') === 'true' ? box.textContent : null;",
                json!([css]),
            )
            .await?;
        Ok(v.as_str().map(String::from))
    }

    async fn wait_fault(&self, css: &str) -> Result<String> {
        self.until(&format!("a message at {css}"), || self.fault_at(css))
            .await
    }

    async fn locale(&self, locale: &str) -> Result<()> {
        self.click_fresh(&format!("#lang option[value=\"{locale}\"]"))
            .await?;
        self.until(&format!("the console in {locale}"), || async {
            let lang = self
                .execute("return document.documentElement.lang", json!([]))
                .await?;
            Ok((lang == json!(locale)).then_some(()))
        })
        .await
    }

    /// Signs in on the console at `url` with `token`, whatever session was open.
    async fn sign_in_at(&self, url: &str, token: &str) -> Result<()> {
        self.goto(url).await?;
        self.execute("sessionStorage.clear()", json!([])).await?;
        self.goto(url).await?;
        self.type_into(&self.wait_displayed("#token").await?, token)
            .await?;
        self.click(&self.find_required("#signin").await?).await?;
        self.wait_displayed("#nav").await.map(drop)
    }
}

pub(crate) async fn forms_flow(
    b: &Browser,
    net: &Network,
    seeded: &Seeded,
    shots: &Path,
) -> Result<()> {
    let us = &net.nodes[0];
    let issuer = token(net, 0, "issuer").await?;
    b.sign_in_at(&format!("{}/", us.url), &issuer).await?;
    let mut violations = Vec::new();
    for lang in &LANGS {
        b.locale(lang.locale).await?;
        let number = format!("EXP-FORM-{}", lang.tag.to_uppercase());
        issue_export(b, net, lang, &number, shots).await?;
        violations.extend(b.axe(&format!("#/issue export ({})", lang.tag)).await?);
        amend(b, net, lang, &number, shots).await?;
        violations.extend(b.axe(&format!("#/issue amendment ({})", lang.tag)).await?);
    }
    reissue(b, net, "EXP-FORM-FR").await?;
    delivery(b, net, seeded, "EXP-FORM-EN", shots).await?;
    violations.extend(b.axe("#/issue delivery (en)").await?);
    import_certificate(b, net).await?;
    transit(b, net).await?;
    violations.extend(b.axe("#/issue transit (en)").await?);
    denial(b, net).await?;
    violations.extend(b.axe("#/issue denial (en)").await?);
    if !violations.is_empty() {
        bail!("axe-core on the issue forms:\n{}", violations.join("\n"));
    }
    Ok(())
}

/// The tabs by keyboard: an arrow key selects the next one.
async fn tabs_by_keyboard(b: &Browser) -> Result<()> {
    let first = b.wait_displayed("#tab-export").await?;
    b.execute("document.querySelector('#tab-export').focus()", json!([]))
        .await?;
    b.type_into(&first, "\u{E014}").await?;
    b.until("the arrow key to select the next tab", || async {
        let v = b
            .execute(
                "return document.activeElement.id === 'tab-import'
                   && document.querySelector('#tab-import').getAttribute('aria-selected') === 'true'
                   && !document.querySelector('#panel-import').hidden",
                json!([]),
            )
            .await?;
        Ok((v == json!(true)).then_some(()))
    })
    .await?;
    b.click(&first).await
}

/// A wrong party is not amended: the French license is revoked with a
/// reason and its form opens filled from it under a new number; signed with
/// the end user corrected.
async fn reissue(b: &Browser, net: &Network, number: &str) -> Result<()> {
    b.click(&b.wait_displayed("#tab-status").await?).await?;
    b.fill("#reissue-number", number).await?;
    b.fill("#reissue-reason", "utilisateur final erroné")
        .await?;
    b.click(&b.find_required("#reissue-submit").await?).await?;
    b.click(&b.wait_displayed("#reissue-confirm-yes").await?)
        .await?;
    let renumbered = format!("{number}-R1");
    b.until("the export form filled under a new number", || async {
        let v = b
            .execute(
                "const n = document.querySelector('#form-export .doc-number');
                 return n && !document.querySelector('#panel-export').hidden ? n.value : null;",
                json!([]),
            )
            .await?;
        Ok((v == json!(renumbered)).then_some(()))
    })
    .await?;
    b.fill(
        "#form-export [data-pointer=\"/end_user/name\"]",
        "Policia Federal",
    )
    .await?;
    b.click(&b.find_required("#submit-export").await?).await?;
    b.wait_for("#result-export #issue-done").await?;
    let old = held(net, 0, number).await?;
    let new = held(net, 0, &renumbered).await?;
    if old["status"] != json!("revoked")
        || new["document"]["end_user"]["name"] != json!("Policia Federal")
        || new["document"]["importer"] != old["document"]["importer"]
        || new["document"]["items"] != old["document"]["items"]
    {
        bail!("revoked {old}\nreissued {new}");
    }
    Ok(())
}

/// Saves a documentation capture when `TALLY_SCREENSHOTS` asks for them.
async fn capture(b: &Browser, shots: &Path, name: &str) -> Result<()> {
    b.execute("window.scrollTo(0, 0)", json!([])).await?;
    b.screenshot(&shots.join(name)).await?;
    if let Some(dir) = docs_screens() {
        std::fs::create_dir_all(&dir)?;
        b.screenshot_at(&dir.join(name), 1024, 6000).await?;
    }
    Ok(())
}

async fn issue_export(
    b: &Browser,
    net: &Network,
    lang: &Lang,
    number: &str,
    shots: &Path,
) -> Result<()> {
    let f = |css: &str| format!("{EXPORT} {css}");
    // A fresh page: through another one first (the same hash renders nothing anew).
    b.execute("location.hash = '#/check'", json!([])).await?;
    b.wait_displayed("#check-form").await?;
    b.execute("location.hash = '#/issue'", json!([])).await?;
    b.wait_displayed(EXPORT).await?;
    tabs_by_keyboard(b).await?;
    // The import certificate, from those this node holds, with what is left.
    b.pick(&f("select.picker"), "IC-2026-0042").await?;
    let importing = b
        .property(&b.find_required(&f(".importing")).await?, "value")
        .await?;
    let importer = b
        .property(
            &b.find_required(&f("[data-pointer=\"/importer/name\"]"))
                .await?,
            "value",
        )
        .await?;
    if importing != json!("MX") || importer != json!("Importadora del Norte SA") {
        bail!(
            "choosing the certificate set the importing country {importing} and importer {importer}"
        );
    }
    b.fill(&f(".doc-number"), number).await?;
    // An HS heading typed wrong: the message at the field, as typed.
    b.fill(&f(".item-hs_code"), "93020").await?;
    let said = b.wait_fault(&f(".item-hs_code")).await?;
    if !said.contains(lang.hs_fault) {
        bail!("the HS code's message reads {said:?} in {}", lang.locale);
    }
    b.fill(&f(".item-hs_code"), "930200").await?;
    if b.fault_at(&f(".item-hs_code")).await?.is_some() {
        bail!("a corrected HS code still shows its message");
    }
    for (css, v) in [
        (".item-description", "semi-automatic pistol"),
        (".item-make", "Acme"),
        (".item-model", "P9"),
        (".item-caliber", "9x19mm"),
        (".item-quantity", &lang.issued.to_string()),
        (".item-serials", "FX1000\nFX1001"),
        (
            "[data-pointer=\"/end_user_certificate/number\"]",
            "EUC-2026-7",
        ),
        (
            "[data-pointer=\"/end_user_certificate/issued_by\"]",
            "MX-SEDENA",
        ),
    ] {
        b.fill(&f(css), v).await?;
    }
    // A date the node refuses (before 2000): its dry run's fault lands at the field.
    let euc_date = f("[data-pointer=\"/end_user_certificate/date\"]");
    b.set_value(&euc_date, "1999-12-31").await?;
    b.click(&b.find_required("#submit-export").await?).await?;
    let said = b.wait_fault(&euc_date).await?;
    if !said.contains("end_user_certificate.date") {
        bail!("the refused date's message reads {said:?}");
    }
    capture(b, shots, &format!("issue-export-{}.png", lang.tag)).await?;
    let (code, _) = net
        .call(
            &net.nodes[0],
            "GET",
            &format!("/v1/licenses/US-DDTC/{number}"),
            None,
        )
        .await?;
    if code != 404 || b.find("#result-export #issue-done").await?.is_some() {
        bail!("{number} was signed although its dry run was refused ({code})");
    }
    b.set_value(&euc_date, "2026-10-20").await?;
    b.click(&b.find_required("#submit-export").await?).await?;
    b.wait_for("#result-export #issue-done").await?;
    let lic = held(net, 0, number).await?;
    let line = &lic["document"]["items"][0];
    let want = (
        json!(lang.issued),
        json!(["FX1000", "FX1001"]),
        json!("930200"),
    );
    if (
        line["quantity"].clone(),
        line["serials"].clone(),
        line["hs_code"].clone(),
    ) != want
        || lic["document"]["import_certificate"]["number"] != json!("IC-2026-0042")
    {
        bail!("{number} as issued through the form: {lic}");
    }
    Ok(())
}

async fn amend(b: &Browser, net: &Network, lang: &Lang, number: &str, shots: &Path) -> Result<()> {
    b.click(&b.wait_displayed("#tab-amend").await?).await?;
    b.fill("#amend-number", number).await?;
    b.click(&b.find_required("#amend-load").await?).await?;
    b.wait_displayed("#amend-form").await?;
    // A party is frozen: disabled, the reason beside it, typing changes nothing.
    let name = b
        .find_required("#amend-form [data-pointer=\"/exporter/name\"]")
        .await?;
    if b.property(&name, "disabled").await? != json!(true) {
        bail!("the exporter's name can be edited in an amendment");
    }
    let id = b.property(&name, "id").await?;
    let reason = b
        .find_required(&format!("#{}-frozen", id.as_str().unwrap_or_default()))
        .await?;
    let said = b.text(&reason).await?;
    if !said.contains(lang.parties_frozen) {
        bail!("the frozen exporter says {said:?} in {}", lang.locale);
    }
    let _ = b.type_into(&name, "Other Arms LLC").await;
    if b.property(&name, "value").await? != json!("Acme Arms Inc.") {
        bail!("typing into a frozen field changed it");
    }
    let quantity = "#amend-form [data-pointer=\"/items/0/quantity\"]";
    b.fill(quantity, &(lang.issued + 5).to_string()).await?;
    b.wait_fault(quantity).await?;
    b.fill(quantity, &lang.lowered.to_string()).await?;
    b.click(
        &b.find_required("#amend-form [data-list=\"/carriers\"] > .add")
            .await?,
    )
    .await?;
    b.fill(
        "#amend-form [data-pointer=\"/carriers/0/name\"]",
        "Transportes del Golfo SA",
    )
    .await?;
    capture(b, shots, &format!("amend-{}.png", lang.tag)).await?;
    b.click(&b.find_required("#amend-submit").await?).await?;
    b.wait_for("#amend-result #issue-done").await?;
    let lic = held(net, 0, number).await?;
    let doc = &lic["document"];
    if lic["version"] != json!(2)
        || doc["items"][0]["quantity"] != json!(lang.lowered)
        || doc["carriers"][0]["name"] != json!("Transportes del Golfo SA")
        || doc["exporter"]["name"] != json!("Acme Arms Inc.")
    {
        bail!("{number} as amended through the form: {lic}");
    }
    Ok(())
}

/// A delivery verification on MX-SEDENA of what entered Mexico under `number`.
async fn delivery(
    b: &Browser,
    net: &Network,
    seeded: &Seeded,
    number: &str,
    shots: &Path,
) -> Result<()> {
    let mx = &net.nodes[1];
    until("MX-SEDENA to hold the amendment", WAIT, || async {
        Ok(held(net, 1, number).await?["version"]
            .as_u64()
            .filter(|v| *v == 2))
    })
    .await?;
    let entry = json!({"license": {"authority": "US-DDTC", "number": number},
        "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
        "items": [{"line": 1, "quantity": 3, "serials": ["FX1000"]}], "record": true});
    let (code, r) = net
        .call(mx, "POST", "/v1/shipments/verify", Some(entry))
        .await?;
    if code != 200 || r["verdict"] != json!("accept") {
        bail!("recording the entry into Mexico: {code} {r}");
    }
    b.sign_in_at(&format!("{}/", mx.url), &seeded.mx_issuer)
        .await?;
    b.locale("en").await?;
    b.execute("location.hash = '#/issue'", json!([])).await?;
    b.click(&b.wait_displayed("#tab-delivery").await?).await?;
    b.pick("#form-delivery select.picker", number).await?;
    let line = "#form-delivery .delivery-line[data-line=\"1\"]";
    let text = b.text(&b.wait_displayed(line).await?).await?;
    if !text.contains("3 left to verify") {
        bail!("the delivery line reads {text:?}");
    }
    let quantity = format!("{line} .item-quantity");
    b.fill(&quantity, "4").await?;
    b.wait_fault(&quantity).await?;
    b.fill(&quantity, "3").await?;
    let to = b
        .property(
            &b.find_required("#form-delivery [data-pointer=\"/delivered_to/name\"]")
                .await?,
            "value",
        )
        .await?;
    if to.as_str().is_none_or(str::is_empty) {
        bail!("the recipient was not offered from the license's end user");
    }
    capture(b, shots, "delivery-en.png").await?;
    b.click(&b.find_required("#submit-delivery").await?).await?;
    b.wait_for("#result-delivery #issue-done").await?;
    until("MX-SEDENA to count the delivery", WAIT, || async {
        let lic = held(net, 1, number).await?;
        Ok((lic["tally"][0]["delivered"] == json!(3)).then_some(()))
    })
    .await
}

/// A new token of `role` on node `i`.
async fn token(net: &Network, i: usize, role: &str) -> Result<String> {
    let body = json!({"role": role, "label": format!("browser test, forms, {role}")});
    let (code, t) = net
        .call(&net.nodes[i], "POST", "/v1/tokens", Some(body))
        .await?;
    t["token"]
        .as_str()
        .filter(|_| code == 201)
        .map(String::from)
        .ok_or_else(|| anyhow!("POST /v1/tokens: {code} {t}"))
}

/// US-DDTC's `number` as node `i` holds it.
async fn held(net: &Network, i: usize, number: &str) -> Result<Value> {
    net.held(&net.nodes[i], "US-DDTC", number).await
}

/// An import certificate through its form on MX-SEDENA (signed in by the delivery flow).
async fn import_certificate(b: &Browser, net: &Network) -> Result<()> {
    b.click(&b.wait_displayed("#tab-import").await?).await?;
    let f = |css: &str| format!("#form-import {css}");
    b.fill(&f(".doc-number"), "IC-FORM-1").await?;
    b.set_value(&f("[data-pointer=\"/exporting_country\"]"), "US")
        .await?;
    b.fill(
        &f("[data-pointer=\"/importer/name\"]"),
        "Importadora del Norte SA",
    )
    .await?;
    b.fill(&f("[data-pointer=\"/exporter/name\"]"), "Acme Arms Inc.")
        .await?;
    // Ammunition counted in units: the unit is checked against the category.
    b.set_value(&f(".item-category"), "ammunition").await?;
    b.set_value(&f(".item-unit"), "units").await?;
    b.wait_fault(&f(".item-unit")).await?;
    b.set_value(&f(".item-unit"), "rounds").await?;
    b.fill(&f(".item-quantity"), "5000").await?;
    b.click(&b.find_required("#submit-import").await?).await?;
    b.wait_for("#result-import #issue-done").await?;
    let (code, ic) = net
        .call(
            &net.nodes[1],
            "GET",
            "/v1/licenses/MX-SEDENA/IC-FORM-1",
            None,
        )
        .await?;
    if code != 200 || ic["document"]["items"][0]["unit"] != json!("rounds") {
        bail!("IC-FORM-1 as issued through the form: {code} {ic}");
    }
    Ok(())
}

/// A transit authorization through its form on GT-DIGECAM, for the seeded
/// export that lists Guatemala; a port outside Guatemala is refused as typed.
async fn transit(b: &Browser, net: &Network) -> Result<()> {
    let gt = &net.nodes[2];
    let issuer = token(net, 2, "issuer").await?;
    b.sign_in_at(&format!("{}/", gt.url), &issuer).await?;
    b.locale("en").await?;
    b.execute("location.hash = '#/issue'", json!([])).await?;
    b.click(&b.wait_displayed("#tab-transit").await?).await?;
    let f = |css: &str| format!("#form-transit {css}");
    b.pick(&f("select.picker"), "EXP-2026-0001").await?;
    b.fill(&f(".doc-number"), "TR-FORM-1").await?;
    let entry = f("[data-pointer=\"/entry_point\"]");
    b.fill(&entry, "MXNLD").await?;
    b.wait_fault(&entry).await?;
    b.fill(&entry, "GTPRQ").await?;
    b.fill(&f("[data-pointer=\"/exit_point\"]"), "GTTEC")
        .await?;
    b.click(&b.find_required("#submit-transit").await?).await?;
    b.wait_for("#result-transit #issue-done").await?;
    let (code, tr) = net
        .call(gt, "GET", "/v1/licenses/GT-DIGECAM/TR-FORM-1", None)
        .await?;
    if code != 200 || tr["document"]["export_license"]["number"] != json!("EXP-2026-0001") {
        bail!("TR-FORM-1 as issued through the form: {code} {tr}");
    }
    Ok(())
}

/// A denial through its form on GT-DIGECAM (signed in by [`transit`]): a
/// heading outside the category is refused as typed; published in clear by
/// default, so the US node reads it and shows it on its license page.
async fn denial(b: &Browser, net: &Network) -> Result<()> {
    b.click(&b.wait_displayed("#tab-denial").await?).await?;
    let f = |css: &str| format!("#form-denial {css}");
    b.fill(&f(".doc-number"), "DEN-FORM-1").await?;
    b.set_value(&f("[data-pointer=\"/destination\"]"), "MX")
        .await?;
    b.fill(
        &f("[data-pointer=\"/applicant/name\"]"),
        "Armeria La Antigua",
    )
    .await?;
    b.fill(
        &f("[data-pointer=\"/end_user/name\"]"),
        "Comercial Armas del Sur, S.A.",
    )
    .await?;
    let heading = f("[data-pointer=\"/goods/0/hs_heading\"]");
    b.fill(&heading, "930").await?;
    b.wait_fault(&heading).await?;
    b.fill(&heading, "9302").await?;
    b.fill(&f("[data-pointer=\"/goods/0/description\"]"), "pistols")
        .await?;
    b.fill(
        &f("[data-pointer=\"/criterion\"]"),
        "ATT Art. 7(1): risk of diversion",
    )
    .await?;
    b.click(&b.find_required("#submit-denial").await?).await?;
    b.wait_for("#result-denial #issue-done").await?;
    until("US-DDTC to read the denial", WAIT, || async {
        let (code, d) = net
            .call(
                &net.nodes[0],
                "GET",
                "/v1/licenses/GT-DIGECAM/DEN-FORM-1",
                None,
            )
            .await?;
        Ok((code == 200 && d["document"]["goods"][0]["hs_heading"] == json!("9302")).then_some(()))
    })
    .await
}
