//! Annex pages in the paper verifier's browser test: US-DDTC's export
//! license EXP-2026-0903 has 450 serials on line 1, so its print is a main
//! page and three annex pages (200, 200 and 50 serials), each with its own
//! seal. tally_verify judges each seal first (genuine, active); then, with
//! the network off, each is uploaded as a photo of its QR code: the main
//! seal is genuine and active; each annex part is genuine and active, says
//! which part of which line it is, gives no route answer, and joins the
//! license in the consignment, whose per-line count check is pending until
//! the third part and then matches (200 + 200 + 50 = 450). Printed on A4
//! by Chromium, the page is 4 sheets: the main page and each annex page.

use super::super::{Browser, Network};
use super::rules::{qr_png, rust_answer};
use anyhow::{Result, bail};
use serde_json::json;
use std::path::Path;
use tally_testkit::json::{export_of, import_of};
use tally_verify::paper::Bundle;

/// The license with annex pages.
pub(super) const NUMBER: &str = "EXP-2026-0903";

/// Issues the license (and MX-SEDENA's certificate it cites) and prints
/// it: the main seal's text, then each annex page's.
pub(super) async fn prepare(net: &Network) -> Result<Vec<String>> {
    let [us, mx] = [&net.nodes[0], &net.nodes[1]];
    net.issue(mx, import_of("IC-2026-0903", "MX", "US", 500))
        .await?;
    net.held(us, "MX-SEDENA", "IC-2026-0903").await?;
    let serials: Vec<String> = (0..450).map(|n| format!("AX-{n:04}")).collect();
    net.issue(
        us,
        export_of(NUMBER, &["GT"], 450, &serials, "IC-2026-0903"),
    )
    .await?;
    let printed = super::print_all(net, us, NUMBER).await?;
    let texts: Vec<String> = printed.lines().map(|l| l.trim().to_string()).collect();
    if texts.len() != 4 {
        bail!("{NUMBER} prints {} seals, expected 4", texts.len());
    }
    Ok(texts)
}

/// The printed page of the license as Chromium prints it on A4 (its
/// print style sheet, `Page.printToPDF`): the main page and each annex
/// page are a sheet each, 4 sheets.
pub(super) async fn sheets(b: &Browser, net: &Network) -> Result<()> {
    super::open_printed(b, net, NUMBER).await?;
    b.wait_for("article.annex svg").await?;
    let pdf = b
        .cdp(
            "Page.printToPDF",
            json!({"preferCSSPageSize": true, "printBackground": false}),
        )
        .await?;
    let bytes = super::super::base64_decode(pdf["data"].as_str().unwrap_or_default())?;
    let text = String::from_utf8_lossy(&bytes);
    // Each sheet is one `/Type /Page` object (the tree is `/Type /Pages`).
    let pages = text
        .match_indices("/Type /Page")
        .filter(|(at, m)| !text[at + m.len()..].starts_with('s'))
        .count();
    if pages != 4 {
        bail!("{NUMBER} prints on {pages} A4 sheets, expected 4 (the main page and 3 annex pages)");
    }
    Ok(())
}

/// What the page shows of the last answer's annex: line, part, parts.
async fn shown_part(b: &Browser) -> Result<(String, String, String, String)> {
    let v = b
        .execute(
            "const a = document.querySelector('#doc-annex');
             return a ? [a.dataset.line, a.dataset.part, a.dataset.parts, a.textContent] : ['', '', '', ''];",
            json!([]),
        )
        .await?;
    let s = |i: usize| v[i].as_str().unwrap_or_default().to_string();
    Ok((s(0), s(1), s(2), s(3)))
}

/// The consignment's count check for line 1: its data-ok.
async fn count_check(b: &Browser) -> Result<String> {
    let row = b
        .wait_for("#consignment-checks tr[data-check=\"annex_counts\"][data-line=\"1\"]")
        .await?;
    Ok(b.attribute(&row, "data-ok").await?.unwrap_or_default())
}

/// Each seal judged by tally_verify, then uploaded offline as a photo;
/// the answers to part 2 and to the whole consignment captured
/// (`paper-annex.png`, `paper-annex-consignment.png`).
pub(super) async fn offline(
    b: &Browser,
    bundle: &Bundle,
    texts: &[String],
    dir: &Path,
    shots: &Path,
) -> Result<()> {
    for (k, text) in texts.iter().enumerate() {
        let answer = rust_answer(bundle, text);
        if answer != ("genuine".to_string(), "active".to_string()) {
            bail!("seal {k} of {NUMBER}: tally_verify answers {answer:?}");
        }
        let png = dir.join(format!("paper-annex-{k}.png"));
        std::fs::write(&png, qr_png(text)?)?;
        let (verdict, status, fit) = b.upload_paper(&png).await?;
        if (verdict.as_str(), status.as_str()) != ("genuine", "active") {
            bail!("seal {k} of {NUMBER}: the verifier answers {verdict}/{status}");
        }
        let (line, part, parts, said) = shown_part(b).await?;
        if k == 0 {
            if !part.is_empty() {
                bail!("the main seal of {NUMBER} reads as an annex part {part}");
            }
            continue;
        }
        if (line.as_str(), part.as_str(), parts.as_str()) != ("1", &k.to_string(), "3") {
            bail!("annex {k}: the page shows line {line}, part {part} of {parts}");
        }
        if !said.contains(&format!("part {k} of 3 of line 1")) {
            bail!("annex {k}: the page says {said:?}");
        }
        if fit != "annex" {
            bail!("annex {k}: a route answer ({fit}) for a page with no route");
        }
        let ok = count_check(b).await?;
        let want = if k < 3 { "null" } else { "true" };
        if ok != want {
            bail!("after annex part {k}, line 1's count check is {ok}, expected {want}");
        }
        match k {
            2 => super::capture(b, shots, "annex").await?,
            3 => super::capture(b, shots, "annex-consignment").await?,
            _ => {}
        }
    }
    let held = b.find_all("#consignment-docs li[data-annex]").await?.len();
    if held != 3 {
        bail!("the consignment holds {held} annex pages, expected 3");
    }
    Ok(())
}
