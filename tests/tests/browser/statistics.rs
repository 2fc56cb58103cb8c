//! The Statistics page on the US-DDTC console, for an issuer, in English
//! and in Spanish: the flows table and the chart show what the seed licensed
//! (EXP-2026-0001, 100 pistols to Mexico) and what exited the US (40, the
//! exit US-DDTC recorded); the refusals table counts the crossing Mexico
//! refused; the confidentiality notice is on the page and first in every
//! download; the downloads (the flows as the API's CSV, the refusals as the
//! page builds them), saved by Chromium into `target/browser/downloads/`,
//! hold the same numbers. The ATT report's draft for this year, downloaded
//! from the page as XLSX (a ZIP) and as CSV (the seeded pistols on the
//! authorized basis). The Trace page finds a seeded serial. axe-core finds no
//! serious or critical violation. Saves `statistics.png` (and, with
//! `TALLY_SCREENSHOTS`, `statistics-en.png`, `statistics-es.png` and
//! `trace-en.png` there).

use super::a11y::docs_screens;
use super::{Browser, Network, WAIT, until};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use std::path::Path;

/// The seeded export license's line 1: licensed, and exited the US.
const LICENSED: u64 = 100;
const EXITED: u64 = 40;
const NOTICE_EN: &str = "Derived from confidential exchanges (CIFTA Art. XII)";
const NOTICE_ES: &str = "Derivado de intercambios confidenciales (CIFTA, art. XII)";
/// The flows of the seeded license: exported by this State to Mexico, firearms in units.
const FLOW_ROW: &str = "#stats-flows tbody tr[data-counterpart=\"MX\"][data-direction=\"export\"]\
                        [data-category=\"firearm\"][data-unit=\"units\"]";
const FLOWS_CSV: &str = "statistics-flows.csv";
const REFUSALS_CSV: &str = "statistics-refusals.csv";
/// The seeded export's line in the ATT report's CSV: the exports table,
/// small arms 1 (HS 930200), final importing State Mexico.
const ATT_EXPORT: &str = "exports,VIII. Small arms and light weapons,\
                          Small arms 1. Revolvers and self-loading pistols,MX,";

/// A language the page is checked in: its locale and words the page shows in it.
struct Lang {
    locale: &'static str,
    title: &'static str,
    notice: &'static str,
    mexico: &'static str,
}

const ENGLISH: Lang = Lang {
    locale: "en",
    title: "Statistics",
    notice: NOTICE_EN,
    mexico: "Mexico (MX)",
};
const SPANISH: Lang = Lang {
    locale: "es-MX",
    title: "Estadísticas",
    notice: NOTICE_ES,
    mexico: "México (MX)",
};

pub(crate) async fn statistics_flow(b: &Browser, net: &Network, shots: &Path) -> Result<()> {
    let us = &net.nodes[0];
    let issuer = issuer_token(net).await?;
    let refused = refusals_on_us(net).await?;
    let downloads = shots.join("downloads");
    std::fs::create_dir_all(&downloads)?;
    allow_downloads(b, &downloads).await?;

    b.goto(&format!("{}/", us.url)).await?;
    choose(b, &ENGLISH).await?;
    b.type_into(&b.wait_displayed("#token").await?, &issuer)
        .await?;
    b.click(&b.find_required("#signin").await?).await?;
    // Reached through the navigation, as an officer would.
    b.wait_displayed("#nav-statistics").await?;
    b.click_fresh("#nav-statistics").await?;
    page_shows_the_seed(b, &ENGLISH, refused).await?;
    b.screenshot(&shots.join("statistics.png")).await?;
    if let Some(dir) = docs_screens() {
        std::fs::create_dir_all(&dir)?;
        b.screenshot_at(&dir.join("statistics-en.png"), 1024, 2600)
            .await?;
    }
    let mut violations = b.axe("#/statistics (en, issuer)").await?;
    let csv = download(b, &downloads, "#stats-flows-csv", FLOWS_CSV).await?;
    flows_csv_holds_the_seed(&csv, &[NOTICE_EN])?;
    refusals_csv(b, &downloads, NOTICE_EN, refused).await?;
    att_report(b, &downloads).await?;
    trace_a_serial(b).await?;
    b.wait_displayed("#nav-statistics").await?;
    b.click_fresh("#nav-statistics").await?;

    choose(b, &SPANISH).await?;
    page_shows_the_seed(b, &SPANISH, refused).await?;
    if let Some(dir) = docs_screens() {
        b.screenshot_at(&dir.join("statistics-es.png"), 1024, 2600)
            .await?;
    }
    violations.extend(b.axe("#/statistics (es-MX, issuer)").await?);
    let csv = download(b, &downloads, "#stats-flows-csv", FLOWS_CSV).await?;
    // The Spanish reader's notice first, then the API's own.
    flows_csv_holds_the_seed(&csv, &[NOTICE_ES, NOTICE_EN])?;
    refusals_csv(b, &downloads, NOTICE_ES, refused).await?;
    b.screenshot(&shots.join("statistics-es.png")).await?;
    if !violations.is_empty() {
        bail!(
            "axe-core on the Statistics page:\n{}",
            violations.join("\n")
        );
    }
    Ok(())
}

/// An issuer token of US-DDTC (statistics are an issuer's).
async fn issuer_token(net: &Network) -> Result<String> {
    let body = json!({"role": "issuer", "label": "browser test, statistics"});
    let (code, t) = net
        .call(&net.nodes[0], "POST", "/v1/tokens", Some(body))
        .await?;
    t["token"]
        .as_str()
        .filter(|_| code == 201)
        .map(String::from)
        .ok_or_else(|| anyhow!("POST /v1/tokens on US-DDTC: {code} {t}"))
}

/// How many crossings of the seeded license US-DDTC counts as refused on
/// `items.quantity`, once Mexico's refused entry (recorded on MX-SEDENA by
/// the alerts flow) has reached it.
async fn refusals_on_us(net: &Network) -> Result<u64> {
    let us = &net.nodes[0];
    until(
        "US-DDTC to count Mexico's refused crossing",
        WAIT,
        move || async move {
            let (code, s) = net.call(us, "GET", "/v1/statistics", None).await?;
            if code != 200 {
                bail!("GET /v1/statistics on US-DDTC: {code} {s}");
            }
            Ok(s["refusals"]["items.quantity"].as_u64().filter(|n| *n > 0))
        },
    )
    .await
}

/// Chromium saves downloads into `dir` under the names the page gives.
async fn allow_downloads(b: &Browser, dir: &Path) -> Result<()> {
    let params = json!({"behavior": "allow", "downloadPath": dir.display().to_string()});
    if let Err(e) = b.cdp("Browser.setDownloadBehavior", params.clone()).await {
        // Older Chromium takes it only from the page.
        b.cdp("Page.setDownloadBehavior", params)
            .await
            .with_context(|| format!("after Browser.setDownloadBehavior failed: {e:#}"))?;
    }
    Ok(())
}

/// Chooses `lang` in the header's picker and waits for the page to follow.
async fn choose(b: &Browser, lang: &Lang) -> Result<()> {
    let option = format!("#lang option[value=\"{}\"]", lang.locale);
    b.click_fresh(&option).await?;
    let want = json!(lang.locale);
    b.until(&format!("the console in {}", lang.locale), || async {
        let html = b
            .execute("return document.documentElement.lang", json!([]))
            .await?;
        Ok((html == want).then_some(()))
    })
    .await
}

/// The sum of the numbers in the cells matching `css` (written for the
/// locale: every digit kept, separators dropped).
async fn sum_cells(b: &Browser, css: &str) -> Result<u64> {
    let mut sum = 0;
    for el in b.find_all(css).await? {
        let digits: String = b
            .text(&el)
            .await?
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        sum += digits.parse::<u64>().unwrap_or(0);
    }
    Ok(sum)
}

/// The page in `lang`: title, notice, the seed's flows in the table and the
/// chart, Mexico's refusals.
async fn page_shows_the_seed(b: &Browser, lang: &Lang, refused: u64) -> Result<()> {
    let licensed = format!("{FLOW_ROW} [data-col=\"licensed\"]");
    let exited = format!("{FLOW_ROW} [data-col=\"exited\"]");
    let (licensed, exited) = (licensed.as_str(), exited.as_str());
    b.until(
        &format!("the seeded flows on the Statistics page ({})", lang.locale),
        move || async move {
            let title = match b.find("#page-title").await? {
                Some(el) => b.text(&el).await?,
                None => return Ok(None),
            };
            Ok((title == lang.title
                && sum_cells(b, licensed).await? == LICENSED
                && sum_cells(b, exited).await? == EXITED)
                .then_some(()))
        },
    )
    .await?;
    let notice = b.text(&b.find_required("#stats-notice").await?).await?;
    if !notice.contains(lang.notice) {
        bail!("the notice reads {notice:?} in {}", lang.locale);
    }
    let row = b.text(&b.find_required(FLOW_ROW).await?).await?;
    if !row.contains(lang.mexico) {
        bail!("the flow row {row:?} does not name {:?}", lang.mexico);
    }
    let bars = b
        .bars("#flow-chart g[data-counterpart=\"MX\"][data-direction=\"export\"] rect.bar")
        .await?;
    let bar = |k: &str| bars.iter().find(|(s, _)| s == k).map(|(_, v)| v.clone());
    let (want_l, want_e) = (LICENSED.to_string(), EXITED.to_string());
    if bar("licensed") != Some(want_l) || bar("exited") != Some(want_e) {
        bail!("the chart's bars for Mexico are {bars:?}");
    }
    let count = "#stats-refusals tbody tr[data-rule=\"items.quantity\"] td";
    if sum_cells(b, count).await? != refused {
        bail!("the refusals table does not count {refused} refusals on items.quantity");
    }
    b.find_required("#stats-overdue").await.map(drop)
}

/// Clicks the download link `link` and returns the file `name` Chromium saved.
pub(crate) async fn download(b: &Browser, dir: &Path, link: &str, name: &str) -> Result<String> {
    let bytes = download_bytes(b, dir, link, name, |t| t.ends_with(b"\n")).await?;
    String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8"))
}

/// Clicks `link` and returns the bytes of the file `name` Chromium saved,
/// once `whole` finds them complete.
async fn download_bytes(
    b: &Browser,
    dir: &Path,
    link: &str,
    name: &str,
    whole: fn(&[u8]) -> bool,
) -> Result<Vec<u8>> {
    let path = dir.join(name);
    // A file left by an earlier click or run would make Chromium pick another name.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {}
    }
    b.click(&b.find_required(link).await?).await?;
    let path = path.as_path();
    b.until(&format!("the downloaded {name}"), move || async move {
        // Chromium writes `NAME.crdownload` and renames it once complete.
        let bytes = std::fs::read(path).ok();
        Ok(bytes.filter(|t| whole(t)))
    })
    .await
}

/// Whether `bytes` are a whole ZIP file: a local file header first, the end
/// of the central directory near the end (a comment may follow it).
fn whole_zip(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    bytes.starts_with(b"PK\x03\x04") && tail.windows(4).any(|w| w == b"PK\x05\x06")
}

/// The ATT report's draft for the year the page proposes (this year), on
/// the authorized basis: the XLSX is a workbook (a ZIP over 1 KB), the CSV
/// counts the seeded export's pistols to Mexico. Both saved under the
/// node's file name (`att-report-US-YEAR.*`).
async fn att_report(b: &Browser, dir: &Path) -> Result<()> {
    let year = b
        .property(&b.wait_displayed("#att-year").await?, "value")
        .await?;
    let year = year.as_str().unwrap_or_default().to_string();
    // Both the page and the test take this year in UTC.
    let this_year = super::day(0)[..4].to_string();
    if year != this_year {
        bail!("the ATT report's year field reads {year:?}, expected {this_year}");
    }
    b.click(
        &b.find_required("#att-basis option[value=\"authorized\"]")
            .await?,
    )
    .await?;
    let xlsx = format!("att-report-US-{year}.xlsx");
    let bytes = download_bytes(b, dir, "#att-xlsx", &xlsx, whole_zip).await?;
    if !bytes.starts_with(b"PK\x03\x04") || bytes.len() <= 1024 {
        bail!("{xlsx} is not a workbook: {} bytes", bytes.len());
    }
    let csv = download(b, dir, "#att-csv", &format!("att-report-US-{year}.csv")).await?;
    let line = csv.lines().find(|l| l.starts_with(ATT_EXPORT));
    let items = line.and_then(|l| l[ATT_EXPORT.len()..].split(',').next());
    if items != Some(&LICENSED.to_string()) {
        bail!("the ATT report's CSV has no line {ATT_EXPORT}{LICENSED},...:\n{csv}");
    }
    // Taking the data out: the licenses this node reads, as tally export writes them.
    let csv = download(b, dir, "#export-licenses", "licenses.csv").await?;
    if !csv.starts_with("authority,number,kind") || !csv.contains("US-DDTC,EXP-2026-0001,export") {
        bail!("the licenses export is not the node's CSV:\n{csv}");
    }
    Ok(())
}

/// The Trace page, reached through the navigation: the seeded export's
/// first serial (exited the US, entered Mexico) is on its license line.
/// Saves `trace-en.png` for the README with `TALLY_SCREENSHOTS`.
async fn trace_a_serial(b: &Browser) -> Result<()> {
    b.wait_displayed("#nav-trace").await?;
    b.click_fresh("#nav-trace").await?;
    b.fill("#trace-make", "Acme").await?;
    b.fill("#trace-serial", "AC1000").await?;
    b.click(&b.find_required("#trace-submit").await?).await?;
    b.wait_for("#trace-rows tbody tr[data-license=\"US-DDTC EXP-2026-0001\"]")
        .await?;
    if let Some(dir) = docs_screens() {
        b.screenshot_at(&dir.join("trace-en.png"), 1024, 2600)
            .await?;
    }
    Ok(())
}

/// The flows CSV: `notices` first (comment lines), then the API's header,
/// and the seed's licensed and exited quantities to Mexico.
fn flows_csv_holds_the_seed(csv: &str, notices: &[&str]) -> Result<()> {
    let mut lines = csv.lines();
    for notice in notices {
        let line = lines.next().unwrap_or_default();
        if !line.starts_with(&format!("# {notice}")) {
            bail!("the flows CSV's line {line:?} is not the notice {notice:?}:\n{csv}");
        }
    }
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| anyhow!("the flows CSV has no column {name}:\n{csv}"))
    };
    let key = [
        ("counterpart", "MX"),
        ("category", "firearm"),
        ("direction", "export"),
        ("unit", "units"),
    ]
    .map(|(name, want)| col(name).map(|i| (i, want)));
    let key = key.into_iter().collect::<Result<Vec<_>>>()?;
    let (l, e) = (col("licensed")?, col("exited")?);
    let (mut licensed, mut exited) = (0, 0);
    for row in lines.map(|r| r.split(',').collect::<Vec<_>>()) {
        if key.iter().all(|(i, want)| row.get(*i) == Some(want)) {
            let n = |i: usize| row.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            licensed += n(l);
            exited += n(e);
        }
    }
    if (licensed, exited) != (LICENSED, EXITED) {
        bail!("the flows CSV counts {licensed} licensed and {exited} exited to MX:\n{csv}");
    }
    Ok(())
}

/// The refusals CSV the page builds (its link points at a Blob): the
/// notice in the page's language first, then Mexico's refusals on
/// items.quantity.
async fn refusals_csv(b: &Browser, dir: &Path, notice: &str, refused: u64) -> Result<()> {
    let csv = download(b, dir, "#stats-refusals-csv", REFUSALS_CSV).await?;
    let want = [
        format!("# {notice}"),
        "rule,count".to_string(),
        format!("items.quantity,{refused}"),
    ];
    let lines: Vec<&str> = csv.lines().collect();
    let ok = lines.first().is_some_and(|l| l.starts_with(&want[0]))
        && lines.get(1) == Some(&want[1].as_str())
        && lines.contains(&want[2].as_str());
    if !ok {
        bail!("the refusals CSV reads:\n{csv}\nexpected {want:?}");
    }
    Ok(())
}
