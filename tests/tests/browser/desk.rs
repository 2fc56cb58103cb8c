//! The issuing desk (issue 23), in the browser. A node of its own,
//! PE-SUCAMEC, with `[issue] approvals = 2` and two named issuer tokens: one
//! issues an import certificate through the API (202, a draft); on the Drafts
//! page, in French, its author's approval is refused (403, said plainly),
//! the other person approves it; the license page names both (prepared by,
//! signed by). Then, on MX-SEDENA's console (one approval), the Upload page
//! reads a Spanish-style CSV file (`;`, dd/mm/yyyy, accents): the check lists
//! the faulty row with the row and column of its fault (its second item line,
//! `quantity`), "Issue all" issues the other two, and a second run skips
//! them; the refused rows download as CSV. axe-core finds no serious or
//! critical violation on either page. With `TALLY_SCREENSHOTS=docs/screens`,
//! saves `drafts-fr.png` and `upload-en.png` there.

use super::a11y::docs_screens;
use super::statistics::download;
use super::{Browser, Member, Network, Seeded};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::path::Path;
use tally_node::config::{Config, NodeDir};
use tally_node::{Node, admin};
use tally_testkit::json::day;

const PREPARER: (&str, &str) = ("Ana Quispe", "Jefa de licencias");
const APPROVER: (&str, &str) = ("Luis Paredes", "Director de control");
const DRAFTED: &str = "SUCAMEC/IM/2026/0007";

/// A node that keeps every write as a draft until a second person approves it.
struct Desk {
    member: Member,
    node: Node,
    _dir: tempfile::TempDir,
}

impl Desk {
    async fn start() -> Result<Desk> {
        let dir = tempfile::Builder::new()
            .prefix("tally-browser-desk-")
            .tempdir()?;
        let init = admin::init(
            dir.path(),
            "PE-SUCAMEC",
            "Superintendencia Nacional de Control de Servicios de Seguridad",
            "/ip4/127.0.0.1/tcp/0",
            "127.0.0.1:0",
            None,
        )
        .context("init PE-SUCAMEC")?;
        let node_dir = NodeDir(dir.path().to_path_buf());
        let mut settings = Config::load(&node_dir)?.settings(&node_dir)?;
        settings.approvals = 2;
        let node = Node::spawn(settings).await.context("starting PE-SUCAMEC")?;
        Ok(Desk {
            member: Member {
                authority: "PE-SUCAMEC",
                url: node.api_url(),
                admin: init.admin_token,
            },
            node,
            _dir: dir,
        })
    }
}

/// `method path` on `m` with `token`: the status and the JSON answer.
async fn call(
    net: &Network,
    m: &Member,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let url = format!("{}{path}", m.url);
    let req = match method {
        "GET" => net.http.get(url),
        _ => net.http.post(url),
    };
    let mut req = req.bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("{method} {path}"))?;
    let code = res.status().as_u16();
    let text = res.text().await?;
    Ok((
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

async fn named_issuer(net: &Network, m: &Member, (name, title): (&str, &str)) -> Result<String> {
    let body =
        json!({"role": "issuer", "label": format!("desk, {name}"), "name": name, "title": title});
    let (code, t) = call(net, m, &m.admin, "POST", "/v1/tokens", Some(body)).await?;
    t["token"]
        .as_str()
        .filter(|_| code == 201)
        .map(String::from)
        .ok_or_else(|| anyhow!("POST /v1/tokens for {name}: {code} {t}"))
}

/// Signs out (when signed in) and in again with `token`.
async fn sign_in(b: &Browser, token: &str) -> Result<()> {
    if let Some(out) = b.find("#signout").await?
        && b.cmd("GET", &format!("/element/{out}/displayed"), None)
            .await?
            == json!(true)
    {
        b.click(&out).await?;
    }
    b.type_into(&b.wait_displayed("#token").await?, token)
        .await?;
    b.click(&b.find_required("#signin").await?).await?;
    b.wait_displayed("#nav").await.map(drop)
}

pub(crate) async fn desk_flow(
    b: &Browser,
    net: &Network,
    seeded: &Seeded,
    shots: &Path,
) -> Result<()> {
    let desk = Desk::start().await?;
    let run = async {
        drafts_flow(b, net, &desk.member, shots).await?;
        upload_flow(b, net, seeded, shots).await
    }
    .await;
    desk.node.shutdown().await;
    run
}

/// A draft prepared by one person, refused to her, approved by another in French.
async fn drafts_flow(b: &Browser, net: &Network, m: &Member, shots: &Path) -> Result<()> {
    let ana = named_issuer(net, m, PREPARER).await?;
    let luis = named_issuer(net, m, APPROVER).await?;
    let doc = json!({"kind": "import", "number": DRAFTED,
        "importing_country": "PE", "exporting_country": "US",
        "importer": {"name": "Importaciones Andinas SAC"}, "exporter": {"name": "Acme Arms Inc."},
        "end_user": {"name": "Policía Nacional del Perú"}, "end_use": "law enforcement",
        "items": [{"line": 1, "category": "firearm", "description": "pistol", "quantity": 40, "unit": "units"}],
        "valid_from": day(0), "valid_until": day(180)});
    let (code, r) = call(net, m, &ana, "POST", "/v1/licenses", Some(doc)).await?;
    let draft = r["draft"]
        .as_str()
        .filter(|_| code == 202 && r["awaiting"] == json!("approval"))
        .ok_or_else(|| anyhow!("issuing with approvals = 2: {code} {r}, expected 202 and a draft"))?
        .to_string();

    // ---- in French, the person who prepared it may not approve it
    b.goto(&format!("{}/", m.url)).await?;
    b.click_fresh("#lang option[value=\"fr\"]").await?;
    b.until("the sign-in page in French", || async {
        let lang = b
            .execute("return document.documentElement.lang", json!([]))
            .await?;
        Ok((lang == json!("fr")).then_some(()))
    })
    .await?;
    sign_in(b, &ana).await?;
    let card = format!("article.draft[data-draft=\"{draft}\"]");
    b.until("the Drafts entry with one draft waiting", || async {
        let Some(el) = b.find("#nav-drafts-count:not([hidden])").await? else {
            return Ok(None);
        };
        Ok((b.attribute(&el, "data-count").await?.as_deref() == Some("1")).then_some(()))
    })
    .await?;
    b.click_fresh("#nav-drafts").await?;
    b.wait_for(&card).await?;
    b.click(&b.find_required(&format!("{card} .draft-approve")).await?)
        .await?;
    let refused = b
        .wait_displayed(&format!("{card} .draft-same-person"))
        .await
        .context("the author's approval is not refused plainly")?;
    let text = b.text(&refused).await?;
    if !text.contains("ne peut pas l'approuver") {
        bail!("the refusal of the author's approval reads {text:?} in French");
    }
    if !b
        .text(&b.find_required(&format!("{card} .alert.error")).await?)
        .await?
        .contains("403")
    {
        bail!("the refusal does not show the node's 403");
    }

    // ---- another person approves it
    sign_in(b, &luis).await?;
    b.click_fresh("#nav-drafts").await?;
    let el = b.wait_for(&card).await?;
    let text = b.text(&el).await?;
    for want in [
        DRAFTED,
        PREPARER.0,
        PREPARER.1,
        "Importaciones Andinas SAC",
        "Pérou (PE)",
        "40",
    ] {
        if !text.contains(want) {
            bail!("the draft on the Drafts page does not show {want:?}: {text}");
        }
    }
    let mut violations = b.axe("#/drafts (fr)").await?;
    if let Some(dir) = docs_screens() {
        std::fs::create_dir_all(&dir)?;
        b.screenshot_at(&dir.join("drafts-fr.png"), 1024, 2600)
            .await?;
    }
    b.screenshot(&shots.join("09-drafts-fr.png")).await?;
    b.click(&b.find_required(&format!("{card} .draft-approve")).await?)
        .await?;
    let open = b
        .wait_displayed(&format!("{card} .draft-result a.draft-license"))
        .await
        .context("the approval did not sign the draft")?;
    b.click(&open).await?;
    let people = b
        .until("the license page naming both people", || async {
            let (Some(p), Some(s)) = (
                b.find("#license-prepared-by").await?,
                b.find("#license-signatory").await?,
            ) else {
                return Ok(None);
            };
            Ok(Some((b.text(&p).await?, b.text(&s).await?)))
        })
        .await?;
    let want = (
        format!("{}, {}", PREPARER.0, PREPARER.1),
        format!("{}, {}", APPROVER.0, APPROVER.1),
    );
    if people != want {
        bail!("the license page names {people:?}, expected {want:?}");
    }
    violations.extend(b.axe("#/license with its people (fr)").await?);
    let (code, lic) = call(
        net,
        m,
        &luis,
        "GET",
        &format!("/v1/licenses/PE-SUCAMEC/{}", DRAFTED.replace('/', "%2F")),
        None,
    )
    .await?;
    if code != 200 || lic["document"]["signatory"]["name"] != json!(APPROVER.0) {
        bail!("GET the approved certificate: {code} {lic}");
    }
    let (_, left) = call(net, m, &luis, "GET", "/v1/drafts", None).await?;
    if left["drafts"].as_array().is_none_or(|d| !d.is_empty()) {
        bail!("a draft still waits after its approval: {left}");
    }
    if !violations.is_empty() {
        bail!(
            "axe-core on the Drafts and license pages:\n{}",
            violations.join("\n")
        );
    }
    Ok(())
}

/// `YYYY-MM-DD` as a Spanish spreadsheet writes it.
fn dmy(d: &str) -> String {
    let p: Vec<&str> = d.split('-').collect();
    format!("{}/{}/{}", p[2], p[1], p[0])
}

/// Three import certificates of MX-SEDENA, the second's second line (row 5)
/// with quantity 0, the third a migrated record.
fn spanish_csv() -> String {
    let (from, until) = (dmy(&day(0)), dmy(&day(180)));
    let head = "number;kind;importing_country;exporting_country;importer.name;exporter.name;end_user.name;\
                end_use;valid_from;valid_until;line;category;hs_code;quantity;unit;migrated;original_issue_date;shipped_before";
    let doc = |n: &str| {
        format!(
            "{n};import;MX;US;Importadora del Norte SA;Acme Arms Inc.;Policía Estatal;aplicación de la ley;{from};{until}"
        )
    };
    let more = |n: &str| format!("{n};;;;;;;;;");
    [
        head.to_string(),
        format!("{};1;firearm;930200;50;units;;;", doc("DCAM/IM/2026/0101")),
        format!(
            "{};2;ammunition;930630;1000;rounds;;;",
            more("DCAM/IM/2026/0101")
        ),
        format!("{};1;firearm;930200;10;units;;;", doc("DCAM/IM/2026/0102")),
        format!("{};2;firearm;930200;0;units;;;", more("DCAM/IM/2026/0102")),
        // Last year's, brought in as a migrated record: 2 crossed before Tally.
        format!(
            "{};1;part;930510;5;units;sí;14/03/2025;2",
            doc("DCAM/IM/2026/0103")
        ),
    ]
    .join("\r\n")
        + "\r\n"
}

/// Clicks `button` and waits for the run to end: every row of the file in a final state.
async fn run_all(b: &Browser, button: &str) -> Result<String> {
    b.click(&b.find_required(button).await?).await?;
    b.until("the upload's run to end", || async {
        if b.find("#upload-done[data-complete=\"true\"]")
            .await?
            .is_none()
        {
            return Ok(None);
        }
        Ok(Some(
            b.text(&b.find_required("#upload-count").await?).await?,
        ))
    })
    .await
}

async fn row_state(b: &Browser, row: u32) -> Result<String> {
    let el = b
        .find_required(&format!("#upload-read tr[data-row=\"{row}\"] [data-state]"))
        .await?;
    Ok(b.attribute(&el, "data-state").await?.unwrap_or_default())
}

async fn states(b: &Browser) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for row in [2, 4, 6] {
        out.push(row_state(b, row).await?);
    }
    Ok(out)
}

/// The faulty row's fault: at row 5, column quantity.
async fn faulty_row_named(b: &Browser) -> Result<()> {
    b.wait_for("#upload-refused-list li.refused-row[data-row=\"4\"]")
        .await?;
    let fault = b
        .find("#upload-refused-list li.fault[data-row=\"5\"][data-column=\"quantity\"]")
        .await?
        .ok_or_else(|| anyhow!("no fault placed at row 5, column quantity"))?;
    let text = b.text(&fault).await?;
    if !text.contains("row 5, column quantity") {
        bail!("the fault reads {text:?}");
    }
    let rows = b.find_all("#upload-refused-list li.refused-row").await?;
    if rows.len() != 1 {
        bail!(
            "{} refused rows listed, expected the one faulty document",
            rows.len()
        );
    }
    Ok(())
}

/// The Upload page on MX-SEDENA (one approval): check, issue, issue again.
async fn upload_flow(b: &Browser, net: &Network, seeded: &Seeded, shots: &Path) -> Result<()> {
    let mx = &net.nodes[1];
    let file = shots.join("registros-sedena.csv");
    std::fs::write(&file, spanish_csv())?;
    let file = std::fs::canonicalize(&file)?;
    b.goto(&format!("{}/", mx.url)).await?;
    b.execute("sessionStorage.clear()", json!([])).await?;
    b.goto(&format!("{}/", mx.url)).await?;
    b.click_fresh("#lang option[value=\"en\"]").await?;
    sign_in(b, &seeded.mx_issuer).await?;
    b.wait_displayed("#nav-upload").await?;
    b.click_fresh("#nav-upload").await?;
    let input = b.wait_displayed("#upload-file").await?;
    b.type_into(&input, &file.display().to_string()).await?;
    let summary = b.text(&b.wait_for("#upload-summary").await?).await?;
    if !summary.contains("3 documents read, 0 rows") {
        bail!("the upload read {summary:?}");
    }

    // ---- check all: nothing signed, the faulty row named
    let count = run_all(b, "#upload-check").await?;
    if !count.contains("3 of 3")
        || !count.contains("2 would be issued")
        || !count.contains("1 refused")
    {
        bail!("the check ended with {count:?}");
    }
    faulty_row_named(b).await?;
    let (code, _) = net
        .call(
            mx,
            "GET",
            "/v1/licenses/MX-SEDENA/DCAM%2FIM%2F2026%2F0101",
            None,
        )
        .await?;
    if code != 404 {
        bail!("the check signed a document: GET answers {code}");
    }

    // ---- issue all: two issued, the faulty one refused
    let count = run_all(b, "#upload-issue").await?;
    if !count.contains("2 issued") || !count.contains("1 refused") {
        bail!("issuing ended with {count:?}");
    }
    if states(b).await? != ["issued", "refused", "issued"] {
        bail!("the rows' states after issuing: {:?}", states(b).await?);
    }
    faulty_row_named(b).await?;
    for n in ["0101", "0103"] {
        let (code, lic) = net
            .call(
                mx,
                "GET",
                &format!("/v1/licenses/MX-SEDENA/DCAM%2FIM%2F2026%2F{n}"),
                None,
            )
            .await?;
        if code != 200 || lic["document"]["valid_from"] != json!(day(0)) {
            bail!("DCAM/IM/2026/{n} after the upload: {code} {lic}");
        }
    }
    // Saved by Chromium where the Statistics flow let it save downloads.
    let csv = download(
        b,
        &shots.join("downloads"),
        "#upload-refused-csv",
        "registros-sedena-refused.csv",
    )
    .await?;
    if !csv.starts_with("row,number,code,message,fault_row,fault_column,fault_message")
        || !csv.contains("4,DCAM/IM/2026/0102,invalid_document,")
        || !csv.contains(",5,quantity,")
    {
        bail!("the refused rows' CSV reads {csv:?}");
    }

    // ---- again: what was issued is skipped
    let count = run_all(b, "#upload-issue").await?;
    if !count.contains("0 issued") || !count.contains("2 skipped") || !count.contains("1 refused") {
        bail!("the second run ended with {count:?}");
    }
    if states(b).await? != ["skipped", "refused", "skipped"] {
        bail!(
            "the rows' states after the second run: {:?}",
            states(b).await?
        );
    }
    let mut violations = b.axe("#/upload (en)").await?;
    if let Some(dir) = docs_screens() {
        std::fs::create_dir_all(&dir)?;
        b.screenshot_at(&dir.join("upload-en.png"), 1024, 2600)
            .await?;
    }
    b.screenshot(&shots.join("10-upload.png")).await?;
    violations.extend(migrated_license(b).await?);
    if !violations.is_empty() {
        bail!("axe-core on the Upload page:\n{}", violations.join("\n"));
    }
    Ok(())
}

/// The migrated certificate of the upload on its license page: its first
/// date of issue, its line's crossings before Tally, who prepared and signed it.
async fn migrated_license(b: &Browser) -> Result<Vec<String>> {
    b.execute(
        "location.hash = arguments[0]",
        json!(["#/license/MX-SEDENA/DCAM%2FIM%2F2026%2F0103"]),
    )
    .await?;
    let note = b.wait_for("#license-migrated").await?;
    let text = b.text(&note).await?;
    if !text.starts_with("Migrated record: first issued on ") || !text.contains("2025") {
        bail!("the migrated record's note reads {text:?}");
    }
    let before = b
        .find_required("#license-items .shipped-before[data-line=\"1\"]")
        .await?;
    if b.text(&before).await? != "2" {
        bail!(
            "line 1's crossings before Tally read {:?}",
            b.text(&before).await?
        );
    }
    let head = b
        .text(&b.find_required("#license-items thead").await?)
        .await?;
    if !head.contains("Crossed before Tally") {
        bail!("the items table's head reads {head:?}");
    }
    // The upload's token has no person's name: its label names who prepared and signed it.
    for id in ["#license-prepared-by", "#license-signatory"] {
        let who = b.text(&b.find_required(id).await?).await?;
        if who != "browser test, issuer" {
            bail!("{id} reads {who:?}");
        }
    }
    b.axe("#/license of a migrated record (en)").await
}
