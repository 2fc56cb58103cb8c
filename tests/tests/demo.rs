//! `tally demo` as a whole process: it still starts, on other ports, when its
//! default ports are taken, prints the addresses it really uses, raises the
//! alerts its story tells of, its fourth node (JM-FLA, on no route of the
//! samples) holds every log and reads none of them, and it printed each
//! license, certificate and transit authorization with a seal that verifies
//! offline against the bundle it wrote.

#[path = "processes/rig.rs"]
// Only the binary, the port and the wait helpers of the rig are used here.
#[allow(dead_code)]
mod rig;

use anyhow::{Context, Result, ensure};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// `tally demo`'s default `--base-port`; the first node's API is on base + 10.
const DEFAULT_BASE_PORT: u16 = 4780;
const DEFAULT_API_PORT: u16 = DEFAULT_BASE_PORT + 10;
/// Start-up, seeding and replication of the sample data between four nodes.
const READY: Duration = Duration::from_secs(120);
const STOP: Duration = Duration::from_secs(30);

/// The last lines of a file, for failure messages.
fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_when_its_default_api_port_is_taken() -> Result<()> {
    // Held for the whole test. If another program holds the port already
    // (another demo, say), it is just as taken, which is what this tests.
    let _taken = TcpListener::bind(("127.0.0.1", DEFAULT_API_PORT));
    ensure!(
        TcpListener::bind(("127.0.0.1", DEFAULT_API_PORT)).is_err(),
        "port {DEFAULT_API_PORT} should be taken"
    );

    let root = tempfile::tempdir()?;
    let log = root.path().join("demo.log");
    let mut child = tokio::process::Command::new(rig::tally_bin()?)
        .arg("demo")
        .arg("--dir")
        .arg(root.path().join("demo"))
        .env("NO_COLOR", "1")
        .env("TALLY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .kill_on_drop(true)
        .spawn()
        .context("spawning tally demo")?;
    let stdout = child.stdout.take().context("piped stdout")?;

    // The demo prints one `console URL` line per node once it is ready.
    let mut printed = Vec::new();
    let mut consoles = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    // Officer and issuer tokens, in the order of the consoles.
    let mut officers = Vec::new();
    let mut issuers = Vec::new();
    let reading = tokio::time::timeout(READY, async {
        // Up to the last line it prints at start.
        while !printed
            .last()
            .is_some_and(|l: &String| l.contains("Ctrl-C stops"))
        {
            let Some(line) = lines.next_line().await? else {
                anyhow::bail!("the demo closed its output");
            };
            if let Some(url) = line.trim().strip_prefix("console") {
                consoles.push(url.trim().trim_end_matches('/').to_string());
            }
            if let Some(token) = line.trim().strip_prefix("officer") {
                officers.push(token.trim().to_string());
            }
            if let Some(token) = line.trim().strip_prefix("issuer") {
                issuers.push(token.trim().to_string());
            }
            printed.push(line);
        }
        Ok(())
    })
    .await;
    let printed_text = printed.join("\n");
    match reading {
        Ok(Ok(())) => {}
        Ok(Err(e)) => anyhow::bail!("{e:#}\nstdout:\n{printed_text}\nlog:\n{}", tail(&log)),
        Err(_) => anyhow::bail!(
            "no console URLs within {READY:?}\nstdout:\n{printed_text}\nlog:\n{}",
            tail(&log)
        ),
    }
    // Keep reading, so a full pipe can never block the demo.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    ensure!(
        printed_text.contains(&format!("port {DEFAULT_API_PORT} is not available")),
        "the demo should say which port it replaced:\n{printed_text}"
    );
    let taken = format!(":{DEFAULT_API_PORT}");
    ensure!(
        consoles.iter().all(|u| !u.ends_with(&taken)),
        "a console on the taken port: {consoles:?}"
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?;
    for url in &consoles {
        ensure!(url.starts_with("http://127.0.0.1:"), "not loopback: {url}");
        rig::eventually(&format!("{url}/v1/health"), READY, async || {
            let r = http.get(format!("{url}/v1/health")).send().await?;
            ensure!(r.status().is_success(), "health: {}", r.status());
            Ok(())
        })
        .await?;
    }

    ensure!(consoles.len() == 4, "four consoles: {printed_text}");

    // The story it tells: on the MX-SEDENA node, a discrepancy and a refused
    // crossing under the story's license, a consignment overdue for delivery,
    // and where to look for them.
    ensure!(
        printed_text.contains(&format!("{}/#/alerts", consoles[1])),
        "the story should point at MX-SEDENA's alerts:\n{printed_text}"
    );
    let officer = officers.get(1).context("MX-SEDENA's officer token")?;
    let alerts: serde_json::Value = http
        .get(format!("{}/v1/alerts", consoles[1]))
        .bearer_auth(officer)
        .send()
        .await?
        .json()
        .await?;
    for (kind, license) in [
        ("shipment.discrepancy", "D1298734"),
        ("shipment.refused", "D1298734"),
        // The consignment through Guatemala that never arrived.
        ("delivery.overdue", "D1298736"),
        // DCAM's export to a dealer BIS had denied.
        ("denial.match", "DCAM-EX-2026-0009"),
    ] {
        ensure!(
            alerts
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a["kind"] == kind
                    && a["license"]["number"] == license
                    && a["open"] == true)),
            "no open {kind} on MX-SEDENA: {alerts}"
        );
        ensure!(printed_text.contains(kind), "the story names {kind}");
    }

    // The rifles back from the match: one temporary export, both rifles out
    // and back, and no alert about it.
    let rifles: serde_json::Value = http
        .get(format!("{}/v1/licenses/US-BIS/D1298740", consoles[1]))
        .bearer_auth(officer)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        rifles["document"]["temporary"]["purpose"] == "competition"
            && rifles["tally"][0]["exit"] == 2
            && rifles["tally"][0]["return"] == 2,
        "the temporary export on MX-SEDENA: {rifles}"
    );
    ensure!(
        alerts
            .as_array()
            .is_some_and(|a| a.iter().all(|a| a["license"]["number"] != "D1298740")),
        "an open alert about the rifles that came back: {alerts}"
    );
    ensure!(
        printed_text.contains("return.overdue"),
        "the story names it"
    );
    // Asked first: the request, Mexico's confirmation, then the license.
    let request: serde_json::Value = http
        .get(format!(
            "{}/v1/licenses/US-BIS/BIS-EUR-2026-0031",
            consoles[0]
        ))
        .bearer_auth(officers.first().context("US-BIS's officer")?)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        request["answers"][0]["answer"] == "confirmed",
        "the end-use request on US-BIS: {request}"
    );
    let issued = http
        .get(format!("{}/v1/licenses/US-BIS/D1298742", consoles[1]))
        .bearer_auth(officer)
        .send()
        .await?
        .status();
    ensure!(
        issued == 200,
        "the license issued after the answer: {issued}"
    );
    ensure!(
        printed_text.contains("enduse.unanswered"),
        "the story names it"
    );

    // The bystander, JM-FLA: it says it holds the others' entries and reads
    // none; it holds US-BIS's log, every entry sealed, and cannot read the
    // story's license.
    let holds = printed
        .iter()
        .find_map(|l| l.trim().strip_prefix("holds"))
        .context("the bystander's `holds` line")?;
    let held: u64 = holds
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("a count in {holds:?}"))?;
    ensure!(held > 0 && holds.ends_with("reads 0 of them"), "{holds}");
    let (jm, officer_jm) = (&consoles[3], officers.get(3).context("JM's officer")?);
    let us_log: serde_json::Value = http
        .get(format!("{jm}/v1/log/US-BIS?limit=1000"))
        .bearer_auth(officer_jm)
        .send()
        .await?
        .json()
        .await?;
    let kinds: Vec<&serde_json::Value> = us_log
        .as_array()
        .context("US-BIS's log on JM-FLA")?
        .iter()
        .map(|e| &e["kind"])
        .collect();
    // Every document is sealed; the entries in clear are the paper key's
    // announcement, which every verifier's bundle must hold, and the
    // denial, which BIS tells every State.
    ensure!(
        kinds.iter().filter(|k| **k == "sealed").count() > 1
            && kinds
                .iter()
                .all(|k| *k == "sealed" || *k == "paper_key" || *k == "denial")
            && kinds.iter().filter(|k| **k == "paper_key").count() == 1
            && kinds.iter().filter(|k| **k == "denial").count() == 1,
        "{us_log}"
    );
    let status = http
        .get(format!("{jm}/v1/licenses/US-BIS/D1298734"))
        .bearer_auth(officer_jm)
        .send()
        .await?
        .status();
    ensure!(status == 404, "JM-FLA reads the story's license: {status}");

    papers(&root.path().join("demo"), &printed_text, &consoles)?;
    year_in_numbers(&http, &consoles[1], issuers.get(1).context("MX's issuer")?).await?;
    // The pistol the year licensed twice: Mexico traces it to both
    // licenses; the bystander reads neither, and counts nothing.
    let traced = |url: &str, token: &str| {
        http.get(format!(
            "{url}/v1/trace?make=Lone%20Star%20Arms&serial=LSY-0005-000"
        ))
        .bearer_auth(token.to_string())
        .send()
    };
    let rows: serde_json::Value = traced(&consoles[1], officer).await?.json().await?;
    let numbers: Vec<&str> = rows
        .as_array()
        .context("trace rows")?
        .iter()
        .filter_map(|r| r["license"]["number"].as_str())
        .collect();
    ensure!(numbers == ["D1300005", "D1300078"], "{rows}");
    let rows: serde_json::Value = traced(jm, officer_jm).await?.json().await?;
    ensure!(rows == serde_json::json!([]), "JM-FLA traced {rows}");
    let stats: serde_json::Value = http
        .get(format!("{jm}/v1/statistics"))
        .bearer_auth(issuers.get(3).context("JM's issuer")?)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        stats["flows"] == serde_json::json!([]),
        "JM-FLA counts {stats}"
    );

    // Ctrl-C (here SIGTERM, which it treats alike) stops every node cleanly.
    let pid = child.id().context("the demo is running")?;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    ensure!(killed.success(), "kill -TERM {pid} failed");
    let status = tokio::time::timeout(STOP, child.wait())
        .await
        .with_context(|| format!("the demo still runs {STOP:?} after SIGTERM"))??;
    ensure!(
        status.success(),
        "the demo exited with {status}\nlog:\n{}",
        tail(&log)
    );
    Ok(())
}

/// The demo's papers in `demo/paper/`: a sealed page and the seal's text
/// for every export license, import certificate and transit authorization
/// of the story, each print recorded by its node; the story's license is
/// genuine and active against `bundle.json`, the revoked one genuine and
/// revoked, with no network; the output says how to verify and where the
/// web verifier is.
fn papers(demo: &std::path::Path, printed: &str, consoles: &[String]) -> Result<()> {
    let dir = demo.join("paper");
    let bundle = dir.join("bundle.json");
    let bundle_s = bundle.to_str().context("a UTF-8 path")?;
    for stem in [
        "US-BIS-D1298734",
        "US-BIS-D1298737",
        "MX-SEDENA-DCAM-PI-2026-0042",
        "GT-DIGECAM-DIGECAM-AT-2026-0007",
    ] {
        let page = std::fs::read_to_string(dir.join(format!("{stem}.html")))
            .with_context(|| format!("{stem}.html"))?;
        let seal = std::fs::read_to_string(dir.join(format!("{stem}.txt")))?;
        ensure!(
            page.contains("<svg") && page.contains(seal.trim()),
            "{stem}: the page shows the seal of its .txt"
        );
    }
    let verify = |stem: &str| -> Result<(Option<i32>, serde_json::Value)> {
        let seal = dir.join(format!("{stem}.txt"));
        let out = rig::tally(&[
            "paper",
            "verify",
            seal.to_str().context("a UTF-8 path")?,
            "--bundle",
            bundle_s,
            "--json",
        ])?;
        let v = serde_json::from_slice(&out.stdout).unwrap_or_default();
        Ok((out.status.code(), v))
    };
    let (code, v) = verify("US-BIS-D1298734")?;
    ensure!(
        code == Some(0)
            && v["verdict"] == "genuine"
            && v["status"] == "active"
            && v["document"]["number"] == "D1298734",
        "{code:?} {v}"
    );
    let (code, v) = verify("US-BIS-D1298737")?;
    ensure!(
        code == Some(1) && v["verdict"] == "genuine" && v["status"] == "revoked",
        "{code:?} {v}"
    );
    let (_, v) = verify("GT-DIGECAM-DIGECAM-AT-2026-0007")?;
    ensure!(v["verdict"] == "genuine" && v["status"] == "active", "{v}");
    let prints = std::fs::read_to_string(demo.join("us-bis/paper-prints.jsonl"))?;
    let pages = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("US-BIS-") && name.ends_with(".html")
        })
        .count();
    ensure!(
        pages >= 4 && prints.lines().count() == pages,
        "{pages} US-BIS pages, prints recorded:\n{prints}"
    );
    ensure!(
        printed.contains(&format!("tally paper verify {}", dir.display()))
            && printed.contains(&format!("--bundle {bundle_s}"))
            && printed.contains(&format!("{}/paper/", consoles[1])),
        "the demo should say where its papers are and how to verify one:\n{printed}"
    );
    Ok(())
}

/// The demo's year of traffic in numbers, on MX-SEDENA's node: the ATT
/// report's authorized imports and the statistics' licensed firearms equal
/// what this test counts itself from the node's export of the documents.
async fn year_in_numbers(http: &reqwest::Client, mx: &str, issuer: &str) -> Result<()> {
    let year = &tally_testkit::json::day(0)[..4];
    let get = |path: String| http.get(format!("{mx}{path}")).bearer_auth(issuer).send();
    let export = get(format!(
        "/v1/export/licenses?from={year}-01-01&to={year}-12-31"
    ))
    .await?
    .text()
    .await?;
    let mut licensed_to_mx = 0;
    let mut certified: std::collections::BTreeMap<&str, u64> = Default::default();
    let rows: Vec<serde_json::Value> = export
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    for row in rows.iter().filter(|r| r.get("document").is_some()) {
        let doc = &row["document"];
        let firearms = doc["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["category"] == "firearm");
        for item in firearms {
            let q = item["quantity"].as_u64().context("a quantity")?;
            if doc["kind"] == "export" && doc["importing_country"] == "MX" {
                licensed_to_mx += q;
            }
            if doc["kind"] == "import"
                && row["authority"] == "MX-SEDENA"
                && row["status"] != "revoked"
            {
                let sub = match item["hs_code"].as_str() {
                    Some("930200") => "small_arms_1",
                    Some("930330") => "small_arms_2",
                    Some("930190") if item["action"] == "semi_automatic" => "small_arms_2",
                    other => anyhow::bail!("the demo has no such line: {other:?}"),
                };
                *certified.entry(sub).or_default() += q;
            }
        }
    }
    ensure!(
        licensed_to_mx > 1000 && certified.len() == 2,
        "{certified:?}"
    );
    let report: serde_json::Value = get(format!("/v1/reports/att?year={year}&format=json"))
        .await?
        .json()
        .await?;
    let reported: std::collections::BTreeMap<&str, u64> = report["imports"]
        .as_array()
        .context("the imports table")?
        .iter()
        .filter(|r| r["state"] == "US")
        .filter_map(|r| Some((r["subcategory"].as_str()?, r["items"].as_u64()?)))
        .collect();
    ensure!(
        reported == certified,
        "report {report}\ncounted {certified:?}"
    );
    let stats: serde_json::Value = get(format!(
        "/v1/statistics?from={year}-01-01&to={year}-12-31&direction=import&category=firearm"
    ))
    .await?
    .json()
    .await?;
    let licensed: u64 = stats["flows"]
        .as_array()
        .context("flows")?
        .iter()
        .filter_map(|f| f["licensed"].as_u64())
        .sum();
    ensure!(
        licensed == licensed_to_mx,
        "statistics {stats}\ncounted {licensed_to_mx}"
    );
    let overdue = stats["overdue"].as_u64().unwrap_or(0);
    ensure!(overdue > 0, "the year's missing consignments: {stats}");
    Ok(())
}
