//! The offline paper verifier (issue 24) in the browser, last of the flow.
//! Every node of the test runs with `[paper] enabled = true`. Through the
//! API: US-DDTC prints its export license EXP-2026-0001 and two more that
//! are then revoked and amended (their first prints kept), MX-SEDENA its
//! import certificate, GT-DIGECAM its transit authorization. Each seal is
//! drawn as a PNG here (its QR code, by tally_verify's encoder) and first
//! judged by tally_verify against MX-SEDENA's bundle, so the page is held to
//! the CLI's rules. US-DDTC also prints a license of 450 serials, whose
//! three annex pages' seals are checked offline too (`paper_annex`), and
//! the page's reader holds to tally_verify's on an annex seal's variants.
//!
//! First US-DDTC's printed page of the license is laid out in Chromium
//! (its number and QR shown), and a photo of it (rendered at three times
//! its size, turned 3 degrees, scaled to 70%) reads genuine and active
//! through the photo reader of `tally paper verify`.
//!
//! In Chromium, on MX-SEDENA's `/paper/`: the service worker takes the page,
//! the officer token fetches the bundle (and is not kept), the post is set
//! to MX MXNLD; then the network is switched off (DevTools protocol) and the
//! page reloaded: the service worker serves it, the API is unreachable.
//! Through the upload control: the export license is genuine, active, on the
//! route; the import certificate and the transit authorization join it as
//! one consignment, every reference matched; the license's seal with its
//! CBOR changed, re-compressed and re-encoded is altered; with one Base45
//! character changed it is not a seal; a blank photo is unreadable; the
//! revoked license's print is genuine, revoked; the amended license's first
//! print is genuine, superseded by version 2. The camera path (getUserMedia
//! answering a canvas stream of the license's photo: headless Chromium has
//! no camera) reads it as genuine. Its text pasted with the device's clock
//! moved: 30 hours after the bundle, a warning of its age; 8 days after,
//! status unknown; before the bundle's date, the clock warning. In Spanish
//! the verdict reads "Auténtico"; the log lists every check. Online again,
//! MX-SEDENA marks GT-DIGECAM's paper key compromised, the officer takes the
//! new bundle, and offline the transit authorization is untrusted. The
//! page's reader and tally_verify give the same verdict on every variant of
//! the license's seal with one bit of its COSE_Sign1 changed (three bits a
//! byte: not a seal, untrusted and altered all occur); its decoders stop at
//! their bounds (a zlib bomb, 10,000 nested arrays, a 4 GiB length). A
//! bundle changed on the device is refused at the next start (the pin); the
//! log, cleared, stays empty. Chromium finds the app installable, and
//! axe-core no serious or critical violation in English or Spanish. With
//! `TALLY_SCREENSHOTS=docs/screens`, saves `paper-*.png` there.

use super::a11y::docs_screens;
use super::{Browser, Member, Network, Seeded};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tally_testkit::json::{export_of, import_of};
use tally_verify::paper::Bundle;

#[path = "paper_annex.rs"]
mod annex;
#[path = "paper_rules.rs"]
mod rules;
use rules::{altered, base64_encode, bounded, flipped, png, qr_png, rust_answer, same_rules};

/// One seal to upload, with what the verifier must answer.
struct Case {
    name: &'static str,
    png: PathBuf,
    /// The Rust verifier's text for the same seal (None: no seal in the photo).
    text: Option<String>,
    verdict: &'static str,
    status: Option<&'static str>,
}

/// The main seal's text printed by `m` for its own document (a document
/// of more serials than the main page lists has annex pages' seals after
/// it, one a line: [`print_all`]).
async fn print(net: &Network, m: &Member, number: &str) -> Result<String> {
    let all = print_all(net, m, number).await?;
    let first = all.lines().next().unwrap_or_default();
    Ok(first.trim().to_string())
}

/// Every seal's text printed by `m` for its own document, one a line.
async fn print_all(net: &Network, m: &Member, number: &str) -> Result<String> {
    let path = format!("/v1/paper/{}/{number}?format=seal", m.authority);
    super::until(
        &format!("{} to print {number}", m.authority),
        super::WAIT,
        || async {
            let (code, body) = net.call(m, "GET", &path, None).await?;
            match (code, body) {
                (200, Value::String(text)) => Ok(Some(text.trim().to_string())),
                // The paper key is announced at start, a moment after it.
                (503, _) => Ok(None),
                (code, body) => bail!("GET {path}: {code} {body}"),
            }
        },
    )
    .await
}

/// MX-SEDENA's bundle, once `ready` says it holds what the test needs.
async fn bundle_when(net: &Network, ready: impl Fn(&Bundle) -> bool) -> Result<Bundle> {
    let mx = &net.nodes[1];
    super::until("MX-SEDENA's bundle", super::WAIT, || async {
        let (code, body) = net.call(mx, "GET", "/v1/paper/bundle", None).await?;
        // A compromise declaration rebuilds the derived records (503) a moment.
        if code == 503 {
            return Ok(None);
        }
        if code != 200 {
            bail!("GET /v1/paper/bundle: {code} {body}");
        }
        let b: Bundle = serde_json::from_value(body)?;
        b.verified(None)
            .map_err(|e| anyhow!("MX-SEDENA's own bundle: {e}"))?;
        Ok(ready(&b).then_some(b))
    })
    .await
}

fn listed(b: &Bundle, authority: &str, number: &str, version: u32, status: &str) -> bool {
    b.statuses.iter().any(|s| {
        s.authority == authority && s.number == number && s.version == version && s.status == status
    })
}

fn paper_key(b: &Bundle, authority: &str) -> Option<(String, bool)> {
    b.authorities
        .iter()
        .find(|a| a.authority == authority)?
        .keys
        .iter()
        .find(|k| k.purpose == "paper")
        .map(|k| (k.key_id.clone(), k.compromised))
}

/// The documents, prints, revocation, amendment and compromise mark the
/// flow checks; the seals' texts by name.
async fn prepare(net: &Network) -> Result<Vec<(&'static str, String)>> {
    let [us, mx, gt] = [&net.nodes[0], &net.nodes[1], &net.nodes[2]];
    for ic in ["IC-2026-0901", "IC-2026-0902"] {
        net.issue(mx, import_of(ic, "MX", "US", 20)).await?;
        net.held(us, "MX-SEDENA", ic).await?;
    }
    let revoked = export_of("EXP-2026-0901", &["GT"], 10, &[], "IC-2026-0901");
    let amended = export_of("EXP-2026-0902", &["GT"], 10, &[], "IC-2026-0902");
    net.issue(us, revoked).await?;
    net.issue(us, amended.clone()).await?;
    let seals = vec![
        ("export", print(net, us, "EXP-2026-0001").await?),
        ("import", print(net, mx, "IC-2026-0042").await?),
        ("transit", print(net, gt, "TR-2026-0007").await?),
        ("revoked", print(net, us, "EXP-2026-0901").await?),
        ("superseded", print(net, us, "EXP-2026-0902").await?),
    ];
    let (code, r) = net
        .call(
            us,
            "POST",
            "/v1/licenses/US-DDTC/EXP-2026-0901/status",
            Some(json!({"status": "revoked", "reason": "paper test"})),
        )
        .await?;
    if code != 200 {
        bail!("revoking EXP-2026-0901: {code} {r}");
    }
    let mut lower = amended;
    lower["items"][0]["quantity"] = json!(8);
    let (code, r) = net
        .call(
            us,
            "POST",
            "/v1/licenses/US-DDTC/EXP-2026-0902/amend",
            Some(lower),
        )
        .await?;
    if code != 200 {
        bail!("amending EXP-2026-0902: {code} {r}");
    }
    Ok(seals)
}

/// The photos to upload and what each must read as.
fn cases(seals: &[(&'static str, String)], dir: &Path) -> Result<Vec<Case>> {
    let seal = |name: &str| {
        seals
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| anyhow!("no seal {name}"))
    };
    let export = seal("export")?;
    let mut out = Vec::new();
    let mut add = |name, text: Option<String>, verdict, status| -> Result<()> {
        let path = dir.join(format!("paper-{name}.png"));
        let bytes = match &text {
            Some(t) => qr_png(t)?,
            None => png(400, 300, |_, _| 255),
        };
        std::fs::write(&path, bytes)?;
        out.push(Case {
            name,
            png: path,
            text,
            verdict,
            status,
        });
        Ok(())
    };
    add("export", Some(export.clone()), "genuine", Some("active"))?;
    add("import", Some(seal("import")?), "genuine", Some("active"))?;
    add("transit", Some(seal("transit")?), "genuine", Some("active"))?;
    add("altered", Some(altered(&export)?), "altered", None)?;
    add("flipped", Some(flipped(&export)), "not_a_seal", None)?;
    add("blank", None, "unreadable", None)?;
    add(
        "revoked",
        Some(seal("revoked")?),
        "genuine",
        Some("revoked"),
    )?;
    add(
        "superseded",
        Some(seal("superseded")?),
        "genuine",
        Some("superseded"),
    )?;
    Ok(out)
}

impl Browser {
    /// A script run until it calls its last argument; what it passed.
    async fn paper_async(&self, script: &str, args: Value) -> Result<Value> {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The `#result`'s answer count now.
    async fn paper_seq(&self) -> Result<u64> {
        let v = self
            .execute(
                "return Number(document.querySelector('#result')?.dataset.seq || 0)",
                json!([]),
            )
            .await?;
        Ok(v.as_u64().unwrap_or(0))
    }

    /// Uploads `png` through the photo control and waits for its answers:
    /// (verdict, status, route fit).
    async fn upload_paper(&self, png: &Path) -> Result<(String, String, String)> {
        let before = self.paper_seq().await?;
        let input = self.find_required("#photo").await?;
        self.type_into(&input, &png.display().to_string()).await?;
        self.until("the verifier's answers", || async {
            Ok((self.paper_seq().await? > before).then_some(()))
        })
        .await?;
        let v = self
            .execute(
                "const a = (s, k) => document.querySelector(s)?.dataset[k] ?? '';
                 return [a('#answer-genuine', 'verdict'), a('#answer-status', 'status'), a('#answer-route', 'fit')];",
                json!([]),
            )
            .await?;
        let s = |i: usize| v[i].as_str().unwrap_or_default().to_string();
        Ok((s(0), s(1), s(2)))
    }
}

/// Loads the app online, takes the bundle with the officer token, sets the
/// post, then switches the network off and reloads: the service worker
/// serves the page, the kept bundle is checked again under the pin.
async fn offline_app(b: &Browser, url: &str, token: &str) -> Result<()> {
    b.goto(url).await?;
    b.until("the service worker to control /paper/", || async {
        let v = b
            .execute(
                "return Boolean(navigator.serviceWorker && navigator.serviceWorker.controller)
                   && document.querySelector('#app-state')?.dataset.state === 'ready'",
                json!([]),
            )
            .await?;
        Ok((v == json!(true)).then_some(()))
    })
    .await?;
    // Installable: Chromium finds nothing missing (manifest, icon, worker).
    let install = b.cdp("Page.getInstallabilityErrors", json!({})).await?;
    if install["installabilityErrors"] != json!([]) {
        bail!("the verifier is not installable: {install}");
    }
    b.type_into(&b.wait_displayed("#token").await?, token)
        .await?;
    b.click(&b.find_required("#bundle-fetch").await?).await?;
    b.wait_for("#bundle-state[data-state=\"fresh\"]")
        .await
        .context("the bundle was not taken")?;
    let kept = b
        .execute("return document.querySelector('#token').value", json!([]))
        .await?;
    if kept != json!("") {
        bail!("the token stays in the form after use: {kept}");
    }
    b.fill("#post-country", "MX").await?;
    b.fill("#post-point", "MXNLD").await?;
    b.click(&b.find_required("#post-save").await?).await?;

    b.cdp("Network.enable", json!({})).await?;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await?;
    b.goto(url).await?;
    b.until("the app, reloaded with the network off", || async {
        let v = b
            .execute(
                "return document.querySelector('#app-state')?.dataset.state === 'ready'
                   && document.querySelector('#bundle-state')?.dataset.state === 'fresh'
                   && document.querySelector('#net')?.dataset.online === 'false'",
                json!([]),
            )
            .await;
        // The old page may be gone mid-reload.
        Ok(matches!(v, Ok(v) if v == json!(true)).then_some(()))
    })
    .await?;
    let reach = b
        .paper_async(
            "const done = arguments[arguments.length - 1];
             fetch('/v1/health').then(() => done('reached'), () => done('unreachable'));",
            json!([]),
        )
        .await?;
    if reach != json!("unreachable") {
        bail!("the node answered with the network off: {reach}");
    }
    Ok(())
}

/// Saves the page for the README when TALLY_SCREENSHOTS asks.
async fn capture(b: &Browser, shots: &Path, name: &str) -> Result<()> {
    b.execute("window.scrollTo(0, 0)", json!([])).await?;
    b.screenshot_at(&shots.join(format!("paper-{name}.png")), 900, 2600)
        .await?;
    if let Some(dir) = docs_screens() {
        std::fs::create_dir_all(&dir)?;
        b.screenshot_at(&dir.join(format!("paper-{name}.png")), 900, 2600)
            .await?;
    }
    Ok(())
}

pub(crate) async fn paper_flow(
    b: &Browser,
    net: &Network,
    seeded: &Seeded,
    shots: &Path,
) -> Result<()> {
    let seals = prepare(net).await?;
    let annexed = annex::prepare(net).await?;
    let bundle = bundle_when(net, |b| {
        listed(b, "US-DDTC", annex::NUMBER, 1, "active")
            && listed(b, "US-DDTC", "EXP-2026-0901", 1, "revoked")
            && listed(b, "US-DDTC", "EXP-2026-0902", 2, "active")
            && paper_key(b, "GT-DIGECAM").is_some()
            && paper_key(b, "US-DDTC").is_some()
    })
    .await?;
    let photos = tempfile::Builder::new().prefix("tally-paper-").tempdir()?;
    let cases = cases(&seals, photos.path())?;
    for c in &cases {
        let Some(text) = &c.text else { continue };
        let (verdict, status) = rust_answer(&bundle, text);
        let want = c.status.unwrap_or("n/a");
        if verdict != c.verdict || status != want {
            bail!(
                "{}: tally_verify answers {verdict}/{status}, the test expects {}/{want}",
                c.name,
                c.verdict
            );
        }
    }
    printed_page(b, net, shots, &bundle).await?;
    annex::sheets(b, net).await?;
    let url = format!("{}/paper/", net.nodes[1].url);
    offline_app(b, &url, &seeded.mx_officer).await?;
    for c in &cases {
        let (verdict, status, fit) = b.upload_paper(&c.png).await?;
        let want = c.status.unwrap_or("n/a");
        if verdict != c.verdict || status != want {
            bail!(
                "{}: the verifier answers {verdict}/{status}, expected {}/{want}",
                c.name,
                c.verdict
            );
        }
        match c.name {
            "export" => {
                if fit != "on" {
                    bail!("the export license's route does not fit MX: {fit}");
                }
                // The issuing authority's point of contact, from its card.
                let issuer = b.text(&b.find_required("#issuer").await?).await?;
                if !issuer.contains(super::US_CONTACT) {
                    bail!("the answer does not name US-DDTC's point of contact: {issuer:?}");
                }
                capture(b, shots, "genuine").await?;
                no_violations(b, "paper, genuine (en)").await?;
            }
            "import" => consignment(b, 2, &["export_cites_import"]).await?,
            "transit" => {
                let checks = [
                    "export_cites_import",
                    "transit_cites_export",
                    "transit_on_route",
                ];
                consignment(b, 3, &checks).await?;
                capture(b, shots, "consignment").await?;
            }
            "altered" | "revoked" | "superseded" => capture(b, shots, c.name).await?,
            _ => {}
        }
        if c.name == "superseded" {
            let big = b
                .text(&b.find_required("#answer-status .big").await?)
                .await?;
            if !big.contains("version 2") {
                bail!("the superseded answer reads {big:?}");
            }
        }
    }
    annex::offline(b, &bundle, &annexed, photos.path(), shots).await?;
    camera(b, &cases[0].png).await?;
    let export = &seals
        .iter()
        .find(|(n, _)| *n == "export")
        .context("export")?
        .1;
    spanish_and_log(b, cases.len() + annexed.len() + 1, shots).await?;
    clocks(b, export, bundle.produced_at).await?;
    compromised(b, net, seeded, &cases[2], shots).await?;
    same_rules(b, &bundle, export).await?;
    // An annex page's seal too: its own claim and cti, the same rules.
    same_rules(b, &bundle, &annexed[2]).await?;
    bounded(b).await?;
    tampered_bundle(b, &url).await?;
    // The log of checks empties on request, and stays empty after a reload.
    b.click(&b.find_required("#log-clear").await?).await?;
    b.goto(&url).await?;
    b.wait_for("#app-state[data-state=\"ready\"]").await?;
    let rows = b.find_all("#log-table tbody tr").await?.len();
    if rows != 0 {
        bail!("the log lists {rows} checks after it was cleared");
    }
    Ok(())
}

/// Opens the printed page of US-DDTC's `number` in Chromium: fetched with a
/// token, then written into a page of the node's own origin, so that its
/// style sheet loads under the page's policy as when printed from the
/// console.
async fn open_printed(b: &Browser, net: &Network, number: &str) -> Result<()> {
    let us = &net.nodes[0];
    let res = net
        .http
        .get(format!("{}/v1/paper/US-DDTC/{number}", us.url))
        .bearer_auth(&us.admin)
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("GET the printed page of {number}: {}", res.status());
    }
    let html = res.text().await?;
    b.goto(&format!("{}/v1/health", us.url)).await?;
    b.execute(
        "document.open(); document.write(arguments[0]); document.close(); return true;",
        json!([html]),
    )
    .await?;
    Ok(())
}

/// The printed page of US-DDTC's export license as Chromium lays it out:
/// the document with its number and lines, and the QR seal as SVG (the
/// README's capture of what an officer holds).
async fn printed_page(b: &Browser, net: &Network, shots: &Path, bundle: &Bundle) -> Result<()> {
    open_printed(b, net, "EXP-2026-0001").await?;
    b.wait_for("svg").await?;
    let text: String = b
        .execute("return document.body.innerText", json!([]))
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !text.contains("EXP-2026-0001") {
        bail!("the printed page does not show its number: {text:.300}");
    }
    capture(b, shots, "page").await?;
    photo_of_the_page(b, bundle).await
}

/// `tally paper verify` on a photo of the printed page: the page rendered
/// at three times its CSS size (a phone's photo has more pixels than a
/// screen), turned 3 degrees and scaled to 70%, read by the CLI's photo
/// reader: genuine, active.
async fn photo_of_the_page(b: &Browser, bundle: &Bundle) -> Result<()> {
    let size = b
        .execute(
            "const d = document.documentElement; return [d.scrollWidth, d.scrollHeight];",
            json!([]),
        )
        .await?;
    let (w, h) = (
        size[0].as_f64().unwrap_or(900.0),
        size[1].as_f64().unwrap_or(1200.0),
    );
    let shot = b
        .cdp(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 3}}),
        )
        .await?;
    let png = super::base64_decode(shot["data"].as_str().context("screenshot data")?)?;
    let page = image::load_from_memory(&png)?.to_luma8();
    let turned = rules::rotated(&page, 3.0);
    let (tw, th) = turned.dimensions();
    let photo = image::imageops::resize(
        &turned,
        tw * 7 / 10,
        th * 7 / 10,
        image::imageops::FilterType::Triangle,
    );
    let mut bytes = std::io::Cursor::new(Vec::new());
    photo.write_to(&mut bytes, image::ImageFormat::Png)?;
    let text = tally_node::paper_photo::seal_text(bytes.get_ref())
        .map_err(|e| anyhow!("the photo of the printed page: {e}"))?;
    let answer = rust_answer(bundle, &text);
    if answer != ("genuine".to_string(), "active".to_string()) {
        bail!("the photo of the printed page reads {answer:?}");
    }
    Ok(())
}

/// A kept bundle changed on the device (one status) no longer holds under
/// the pinned key: at the next start the app refuses and drops it.
async fn tampered_bundle(b: &Browser, url: &str) -> Result<()> {
    let done = b
        .paper_async(
            "const done = arguments[arguments.length - 1];
             const req = indexedDB.open('tally-paper', 1);
             req.onerror = () => done('no database');
             req.onsuccess = () => {
               const db = req.result;
               const tx = db.transaction('kept', 'readwrite');
               const store = tx.objectStore('kept');
               const get = store.get('bundle');
               get.onsuccess = () => {
                 const bundle = get.result;
                 const row = bundle.statuses.find((s) => s.status === 'revoked');
                 row.status = 'active';
                 store.put(bundle, 'bundle');
               };
               tx.oncomplete = () => { db.close(); done('changed'); };
               tx.onerror = () => done('not changed');
             };",
            json!([]),
        )
        .await?;
    if done != json!("changed") {
        bail!("changing the kept bundle: {done}");
    }
    b.goto(url).await?;
    b.wait_for("#bundle-state[data-state=\"refused\"]")
        .await
        .context("a bundle changed on the device was not refused")?;
    Ok(())
}

/// The camera path: getUserMedia answers a stream of a canvas showing the
/// license's photo (headless Chromium has no camera), the page plays it in
/// its video element, reads frames until the QR code decodes, stops the
/// camera and answers: genuine, active.
async fn camera(b: &Browser, png: &Path) -> Result<()> {
    let before = b.paper_seq().await?;
    let bytes = std::fs::read(png)?;
    let ok = b
        .paper_async(
            "const [b64, done] = [arguments[0], arguments[arguments.length - 1]];
             (async () => {
               const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
               const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
               const canvas = document.createElement('canvas');
               canvas.width = image.width;
               canvas.height = image.height;
               const ctx = canvas.getContext('2d');
               const stream = canvas.captureStream(10);
               setInterval(() => ctx.drawImage(image, 0, 0), 100);
               ctx.drawImage(image, 0, 0);
               navigator.mediaDevices.getUserMedia = async () => stream;
               return 'ready';
             })().then(done, (e) => done(`failed: ${e}`));",
            json!([base64_encode(&bytes)]),
        )
        .await?;
    if ok != json!("ready") {
        bail!("the fake camera: {ok}");
    }
    b.execute(
        "document.querySelector('#camera-start').hidden = false;
         document.querySelector('#camera-start').click();",
        json!([]),
    )
    .await?;
    b.until("an answer from the camera", || async {
        Ok((b.paper_seq().await? > before).then_some(()))
    })
    .await?;
    let v = b
        .execute(
            "return [document.querySelector('#answer-genuine').dataset.verdict,
                     document.querySelector('#answer-status').dataset.status,
                     document.querySelector('#camera').hidden]",
            json!([]),
        )
        .await?;
    if v != json!(["genuine", "active", true]) {
        bail!("the camera's answer (verdict, status, camera hidden): {v}");
    }
    Ok(())
}

/// The license's seal pasted as text, with the device's clock moved: 30
/// hours after the bundle it is active with a warning of the bundle's age;
/// 8 days after, its status is unknown; an hour before the bundle's date,
/// the page says the clock is behind.
async fn clocks(b: &Browser, seal: &str, produced_at: i64) -> Result<()> {
    let hour = 3_600_000i64;
    for (shift, status, age, clock) in [
        (30 * hour, "active", "stale", "ok"),
        (8 * 24 * hour, "unknown", "too_old", "ok"),
        (-hour, "active", "fresh", "behind"),
    ] {
        let before = b.paper_seq().await?;
        b.execute(
            "const at = arguments[0];
             Date.now = () => at;
             document.querySelector('#seal-text').value = arguments[1];
             document.querySelector('#text-form').requestSubmit();",
            json!([produced_at + shift, seal]),
        )
        .await?;
        b.until("the answer to the pasted seal", || async {
            Ok((b.paper_seq().await? > before).then_some(()))
        })
        .await?;
        let v = b
            .execute(
                "return [document.querySelector('#answer-status').dataset.status,
                         document.querySelector('#answer-status [data-age]')?.dataset.age ?? '',
                         document.querySelector('#clock-warning').dataset.clock]",
                json!([]),
            )
            .await?;
        if v != json!([status, age, clock]) {
            bail!(
                "{shift} ms after the bundle: (status, age, clock) {v}, expected {status}, {age}, {clock}"
            );
        }
    }
    // The page's own clock again.
    b.execute("Date.now = () => new Date().getTime();", json!([]))
        .await?;
    Ok(())
}

/// axe-core (as the console's pages are held) finds no serious or critical
/// violation on the page now.
async fn no_violations(b: &Browser, page: &str) -> Result<()> {
    let found = b.axe(page).await?;
    if !found.is_empty() {
        bail!("axe-core:\n{}", found.join("\n"));
    }
    Ok(())
}

/// The consignment holds `docs` documents and each of `checks` matches
/// (the license cites the certificate, the authorization the license, the
/// transit country is on the license's route).
async fn consignment(b: &Browser, docs: usize, checks: &[&str]) -> Result<()> {
    for check in checks {
        let row = b
            .wait_for(&format!("#consignment-checks tr[data-check=\"{check}\"]"))
            .await?;
        if b.attribute(&row, "data-ok").await?.as_deref() != Some("true") {
            bail!("the consignment's check {check} does not match");
        }
    }
    let held = b.find_all("#consignment-docs li").await?.len();
    if held != docs {
        bail!("the consignment holds {held} documents, expected {docs}");
    }
    Ok(())
}

/// Online again, MX-SEDENA marks GT-DIGECAM's paper key compromised; the
/// officer takes the new bundle (the token asked again); offline, the
/// transit authorization that was genuine is untrusted.
async fn compromised(
    b: &Browser,
    net: &Network,
    seeded: &Seeded,
    transit: &Case,
    shots: &Path,
) -> Result<()> {
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await?;
    let old = bundle_when(net, |_| true).await?;
    let (gt_key, _) = paper_key(&old, "GT-DIGECAM").context("GT-DIGECAM's paper key")?;
    tally_node::admin::trust_revoke_key(net._dirs[1].path(), "GT-DIGECAM", &gt_key, 1)?;
    let new = bundle_when(net, |b| {
        paper_key(b, "GT-DIGECAM").is_some_and(|(_, compromised)| compromised)
    })
    .await?;
    let text = transit.text.as_deref().context("the transit seal")?;
    if rust_answer(&new, text).0 != "untrusted" {
        bail!("tally_verify does not find the transit seal untrusted");
    }
    let kept = b
        .attribute(&b.find_required("#bundle-state").await?, "data-produced-at")
        .await?
        .unwrap_or_default();
    b.type_into(&b.wait_displayed("#token").await?, &seeded.mx_officer)
        .await?;
    b.click(&b.find_required("#bundle-fetch").await?).await?;
    b.until("the new bundle", || async {
        let el = b.find_required("#bundle-state").await?;
        let at = b.attribute(&el, "data-produced-at").await?;
        let state = b.attribute(&el, "data-state").await?;
        Ok((at.is_some_and(|a| a != kept) && state.as_deref() == Some("fresh")).then_some(()))
    })
    .await?;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await?;
    let (verdict, status, _) = b.upload_paper(&transit.png).await?;
    if (verdict.as_str(), status.as_str()) != ("untrusted", "n/a") {
        bail!("the transit authorization by a compromised key reads {verdict}/{status}");
    }
    let why = b
        .text(&b.find_required("#answer-genuine .why").await?)
        .await?;
    if !why.contains("compromised") {
        bail!("the untrusted answer does not say the key is compromised: {why:?}");
    }
    capture(b, shots, "untrusted").await
}

/// In Spanish, the last answer's words; the log lists every check.
async fn spanish_and_log(b: &Browser, checks: usize, shots: &Path) -> Result<()> {
    b.click(&b.find_required("#lang option[value=\"es-MX\"]").await?)
        .await?;
    b.until("the Spanish verdict", || async {
        let big = b
            .text(&b.find_required("#answer-genuine .big").await?)
            .await?;
        Ok((big.contains("Auténtico")).then_some(()))
    })
    .await?;
    capture(b, shots, "es").await?;
    no_violations(b, "paper, genuine (es-MX)").await?;
    let rows = b.find_all("#log-table tbody tr").await?;
    if rows.len() < checks {
        bail!(
            "the log lists {} checks, expected at least {checks}",
            rows.len()
        );
    }
    b.click(&b.find_required("#lang option[value=\"en\"]").await?)
        .await?;
    b.cdp(
        "Network.emulateNetworkConditions",
        json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await
    .map(drop)
}
