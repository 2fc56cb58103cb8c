//! The console in its four languages, for every officer: the locale picked
//! from the browser's languages on a first visit and remembered after a
//! choice, numbers, dates and countries written for the locale, axe-core
//! (vendored under `tests/vendor/axe-core/`) over every page in every
//! language with no `serious` or `critical` violation, and a license as it
//! prints (the print style sheet). With `TALLY_SCREENSHOTS=docs/screens` the
//! license and check pages in English and French are saved there.

use super::{Browser, Seeded, until};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// axe-core 4.14.1 (MPL-2.0), injected over WebDriver, never served by the node.
const AXE: &str = include_str!("../../vendor/axe-core/axe.min.js");

/// The four languages: a locale of each, and words the console shows in it.
struct Language {
    locale: &'static str,
    /// `#nav-license`'s text.
    license: &'static str,
    /// Mexico's name on the license page.
    mexico: &'static str,
}

const LANGUAGES: [Language; 4] = [
    Language {
        locale: "en",
        license: "License",
        mexico: "Mexico (MX)",
    },
    Language {
        locale: "es-MX",
        license: "Licencia",
        mexico: "México (MX)",
    },
    Language {
        locale: "fr",
        license: "Licence",
        mexico: "Mexique (MX)",
    },
    Language {
        locale: "pt-BR",
        license: "Licença",
        mexico: "México (MX)",
    },
];

/// 1234.5 as each locale writes it (U+202F, a narrow no-break space, groups French digits).
const NUMBERS: [(&str, &str); 5] = [
    ("en", "1,234.5"),
    ("es-MX", "1,234.5"),
    ("es-AR", "1.234,5"),
    ("pt-BR", "1.234,5"),
    ("fr", "1\u{202f}234,5"),
];

const LICENSE: &str = "#/license/US-DDTC/EXP-2026-0001";

impl Browser {
    /// A Chrome DevTools command through chromedriver.
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    async fn execute_async(&self, script: &str, args: Value) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    async fn js(&self, script: &str) -> Result<Value> {
        self.execute(script, json!([])).await
    }

    /// Chooses `locale` in the header's picker and waits for the page to follow.
    async fn choose_locale(&self, lang: &Language) -> Result<()> {
        let option = format!("#lang option[value=\"{}\"]", lang.locale);
        self.click_fresh(&option).await?;
        let want = lang.locale;
        self.until(&format!("the console in {want}"), move || async move {
            let html = self.js("return document.documentElement.lang").await?;
            let nav = self
                .text(&self.find_required("#nav-license").await?)
                .await?;
            Ok((html == json!(want) && nav == lang.license).then_some(()))
        })
        .await
    }

    async fn hash(&self, hash: &str) -> Result<()> {
        self.execute("location.hash = arguments[0]", json!([hash]))
            .await
            .map(drop)
    }

    /// The serious and critical axe-core violations on the page now, as lines.
    pub(crate) async fn axe(&self, page: &str) -> Result<Vec<String>> {
        if self.js("return typeof window.axe").await? != json!("object") {
            self.execute(AXE, json!([]))
                .await
                .context("injecting axe-core")?;
        }
        let found = self
            .execute_async(
                // Two frames first: the console's ResizeObserver makes a
                // table that scrolls sideways a focusable region, and its
                // callback comes with the next frame (on a loaded machine axe
                // ran before it, and found the region not yet focusable).
                "const done = arguments[arguments.length - 1];
                 requestAnimationFrame(() => requestAnimationFrame(() =>
                   axe.run(document, {resultTypes: ['violations']})
                     .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' '))}))))
                     .catch((e) => done({error: String(e)}))));",
                json!([]),
            )
            .await?;
        let list = found
            .as_array()
            .ok_or_else(|| anyhow!("axe on {page}: {found}"))?;
        let mut out = Vec::new();
        for v in list {
            let line = format!(
                "{page}: {} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            );
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                out.push(line);
            } else {
                println!("axe, minor: {line}");
            }
        }
        Ok(out)
    }

    /// Checks a shipment under the seeded license (not recorded): the verdict and the license view.
    async fn check_page(&self) -> Result<()> {
        self.hash("#/check/US-DDTC/EXP-2026-0001").await?;
        self.wait_displayed("#check-form").await?;
        self.fill("#cp-country", "MX").await?;
        self.fill("#cp-port", "MXNLD").await?;
        self.click(
            &self
                .find_required("#cp-direction option[value=\"entry\"]")
                .await?,
        )
        .await?;
        self.fill(".item-row .item-line", "1").await?;
        self.fill(".item-row .item-quantity", "1").await?;
        self.submit_check(None).await?;
        self.wait_for("#check-result #license #tally-chart")
            .await
            .map(drop)
    }

    async fn license_page(&self) -> Result<()> {
        self.hash(LICENSE).await?;
        self.wait_for("#license-content #license #tally-chart")
            .await?;
        self.wait_for("#license-content #shipments").await.map(drop)
    }
}

/// Where `TALLY_SCREENSHOTS` asks for the documentation's screen captures
/// (relative to the workspace), if it does.
pub(crate) fn docs_screens() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("TALLY_SCREENSHOTS")?);
    Some(if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .join(dir)
    })
}

/// A first visit follows the browser's languages; a choice in the picker
/// wins over them from then on. Leaves the console signed in, in English.
pub(crate) async fn first_visit(b: &Browser, url: &str, seeded: &Seeded) -> Result<()> {
    let agent = b.js("return navigator.userAgent").await?;
    b.cdp(
        "Network.setUserAgentOverride",
        json!({"userAgent": agent, "acceptLanguage": "pt-BR,pt;q=0.9"}),
    )
    .await?;
    b.goto(url).await?;
    b.js("localStorage.clear(); sessionStorage.clear()").await?;
    b.goto(url).await?;
    b.until("the sign-in page in Portuguese", || async {
        let lang = b.js("return document.documentElement.lang").await?;
        let title = b.text(&b.wait_displayed("#signin-title").await?).await?;
        Ok((lang == json!("pt-BR") && title == "Entrar").then_some(()))
    })
    .await?;
    let picked = b
        .property(&b.find_required("#lang").await?, "value")
        .await?;
    if picked != json!("pt-BR") {
        bail!("the picker shows {picked} for a browser in pt-BR");
    }
    b.click(&b.find_required("#lang option[value=\"en\"]").await?)
        .await?;
    b.until("English after choosing it", || async {
        let title = b.text(&b.find_required("#signin-title").await?).await?;
        Ok((title == "Sign in").then_some(()))
    })
    .await?;
    // Remembered: a reload keeps English although the browser asks for Portuguese.
    b.goto(url).await?;
    b.until("English remembered across a reload", || async {
        let lang = b.js("return document.documentElement.lang").await?;
        let title = b.text(&b.wait_displayed("#signin-title").await?).await?;
        Ok((lang == json!("en") && title == "Sign in").then_some(()))
    })
    .await?;
    let token = b.wait_displayed("#token").await?;
    b.type_into(&token, &seeded.mx_officer).await?;
    b.click(&b.wait_displayed("#signin").await?).await?;
    b.wait_displayed("#nav").await.map(drop)
}

/// Numbers and countries for each locale, axe-core over every page in every
/// language, the printed license, and the documentation's screen captures.
pub(crate) async fn languages_flow(b: &Browser, seeded: &Seeded, shots: &Path) -> Result<()> {
    b.cmd("POST", "/timeouts", Some(json!({"script": 120_000})))
        .await?;
    let docs = docs_screens();
    if let Some(dir) = &docs {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut violations = Vec::new();
    for lang in &LANGUAGES {
        b.choose_locale(lang).await?;
        let tag = lang.locale;
        b.check_page().await?;
        violations.extend(b.axe(&format!("check ({tag})")).await?);
        if let Some(dir) = docs.as_ref().filter(|_| matches!(tag, "en" | "fr")) {
            b.screenshot_at(&dir.join(format!("check-{tag}.png")), 1024, 2600)
                .await?;
        }
        b.license_page().await?;
        let text = b.text(&b.find_required("#license").await?).await?;
        if !text.contains(lang.mexico) {
            bail!(
                "the license page in {tag} does not name {:?}: {text}",
                lang.mexico
            );
        }
        violations.extend(b.axe(&format!("license ({tag})")).await?);
        if let Some(dir) = docs.as_ref().filter(|_| matches!(tag, "en" | "fr")) {
            b.screenshot_at(&dir.join(format!("license-{tag}.png")), 1024, 2600)
                .await?;
        }
        for (page, ready) in [
            // A serial of the seeded export, recorded at a crossing.
            ("#/trace/Acme/AC-1040", "#trace-rows tbody tr"),
            ("#/issue", "#issue-json"),
            ("#/network", "#peers tbody tr"),
            ("#/alerts", "#alerts tbody tr"),
            // An officer's token: the page says it needs an issuer's (statistics.rs checks an issuer's page).
            ("#/statistics", "#stats-forbidden"),
            // The issuer's desk, as an officer: the drafts say so; the upload reads files.
            ("#/drafts", "#drafts-forbidden"),
            ("#/upload", "#upload-file"),
        ] {
            b.hash(page).await?;
            b.wait_for(ready).await?;
            violations.extend(b.axe(&format!("{page} ({tag})")).await?);
        }
        // The sign-in page, then back in.
        b.click(&b.find_required("#signout").await?).await?;
        b.wait_displayed("#token").await?;
        violations.extend(b.axe(&format!("sign-in ({tag})")).await?);
        b.type_into(&b.find_required("#token").await?, &seeded.mx_officer)
            .await?;
        b.click(&b.find_required("#signin").await?).await?;
        b.wait_displayed("#nav").await?;
    }
    // A phone: the license's tables scroll sideways, by keyboard too.
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 380, "height": 800})),
    )
    .await?;
    b.license_page().await?;
    b.wait_for("#license-items").await?;
    violations.extend(b.axe("license (pt-BR, 380 px wide)").await?);
    let scrolls = b
        .js("return [...document.querySelectorAll('.table-wrap')].filter((w) => w.scrollWidth > w.clientWidth + 1)
               .every((w) => w.tabIndex === 0 && w.getAttribute('role') === 'region'
                 && (w.getAttribute('aria-label') || document.getElementById(w.getAttribute('aria-labelledby'))))")
        .await?;
    if scrolls != json!(true) {
        bail!("a table that scrolls sideways on a phone is not a named region in the tab order");
    }
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 1280, "height": 900})),
    )
    .await?;
    if !violations.is_empty() {
        bail!(
            "axe-core found {} serious or critical violations:\n{}",
            violations.len(),
            violations.join("\n")
        );
    }
    numbers(b).await?;
    b.choose_locale(&LANGUAGES[0]).await?;
    printed(b, shots).await
}

/// 1234.5 written by the console's own formatter in each offered locale.
async fn numbers(b: &Browser) -> Result<()> {
    for (locale, want) in NUMBERS {
        let option = format!("#lang option[value=\"{locale}\"]");
        b.click(&b.find_required(&option).await?).await?;
        let got = until(
            &format!("1234.5 in {locale}"),
            Duration::from_secs(30),
            || async {
                let v = b
                    .execute_async(
                        "const [locale, done] = arguments;
                     import('/assets/i18n.js').then((m) => done(m.getLocale() === locale
                       ? m.formatNumber(1234.5) : null), (e) => done('error: ' + e));",
                        json!([locale]),
                    )
                    .await?;
                Ok(v.as_str().map(String::from))
            },
        )
        .await?;
        if got != want {
            bail!("{locale} writes 1234.5 as {got:?}, expected {want:?}");
        }
    }
    Ok(())
}

/// The license under the print style sheet: no header, navigation, forms or
/// buttons; black on white; table rows never cut. Saves `license.pdf`.
async fn printed(b: &Browser, shots: &Path) -> Result<()> {
    b.license_page().await?;
    b.cdp("Emulation.setEmulatedMedia", json!({"media": "print"}))
        .await?;
    let styles = b
        .js("const s = (q) => { const e = document.querySelector(q); return e ? getComputedStyle(e) : null; };
             return {header: s('header.top').display, nav: s('nav').display, lookup: s('#lookup-form').display,
               print: s('#license-print').display, actions: s('.license .actions').display,
               color: s('body').color, background: s('body').backgroundColor, heading: s('#license-heading').color,
               row: s('#license-items tbody tr').breakInside, head: s('#license-items thead').display};")
        .await;
    b.cdp("Emulation.setEmulatedMedia", json!({"media": ""}))
        .await?;
    let styles = styles?;
    let want = json!({"header": "none", "nav": "none", "lookup": "none", "print": "none", "actions": "none",
        "color": "rgb(0, 0, 0)", "background": "rgb(255, 255, 255)", "heading": "rgb(0, 0, 0)",
        "row": "avoid", "head": "table-header-group"});
    if styles != want {
        bail!("the license as printed: {styles}, expected {want}");
    }
    let pdf = b.cmd("POST", "/print", Some(json!({}))).await?;
    let pdf = super::base64_decode(pdf.as_str().ok_or_else(|| anyhow!("print: {pdf}"))?)?;
    if !pdf.starts_with(b"%PDF") {
        bail!("the printed license is not a PDF");
    }
    std::fs::write(shots.join("license.pdf"), pdf).context("writing license.pdf")
}
