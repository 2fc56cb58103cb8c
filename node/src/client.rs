//! `tally status` and `tally check`: small HTTP clients of a node's API.
//!
//! Everything they print came from the network (a node relays what peers
//! signed), so every text is passed through [`escape`] first: a control
//! character could drive the officer's terminal (move the cursor, rewrite
//! the verdict line, set the title) and a bidi override could make one
//! number read as another.

use anyhow::{Context, bail};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use tally_model::validate::is_refused_char;

/// `text` with every character the contract refuses in text fields (controls,
/// invisible and direction-changing ones) written as `\u{XXXX}`, so it shows
/// as it is and does nothing to the terminal.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_refused_char(c) {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// JSON for a terminal: the same document, with refused characters inside
/// strings written as JSON `\uXXXX` escapes (serde_json escapes C0
/// controls in strings but leaves C1 controls and bidi characters raw).
/// Outside strings only the pretty-printer's own line breaks occur.
pub fn escape_json(value: &Value) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && is_refused_char(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// A string field of an answer, escaped; `default` when absent.
fn field(v: &Value, default: &str) -> String {
    escape(v.as_str().unwrap_or(default))
}

pub(crate) async fn call(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let client = reqwest::Client::new();
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let msg = field(&value["error"]["message"], "");
        let code = field(&value["error"]["code"], "");
        bail!("{status} {code}: {msg}");
    }
    Ok(value)
}

pub async fn status(api: &str, token: &str, json: bool) -> anyhow::Result<()> {
    let s = call(
        reqwest::Method::GET,
        &format!("{}/v1/status", api.trim_end_matches('/')),
        token,
        None,
    )
    .await?;
    if json {
        println!("{}", escape_json(&s)?);
        return Ok(());
    }
    print!("{}", render_status(&s));
    Ok(())
}

/// What `tally export` asks for.
pub struct ExportAsk<'a> {
    /// `licenses`, `deliveries`, `shipments` or `alerts`.
    pub what: &'a str,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub since: Option<&'a str>,
    /// `jsonl` or `csv`.
    pub format: Option<&'a str>,
}

/// `tally export`: streams `GET /v1/export/{what}` into `out` (standard
/// output without it) as it arrives; returns the cursor a JSON lines export
/// ended with, for the next `--since`.
pub async fn export(
    api: &str,
    token: &str,
    ask: &ExportAsk<'_>,
    out: Option<&Path>,
) -> anyhow::Result<Option<String>> {
    use std::io::Write as _;
    let params: Vec<(&str, &str)> = [
        ("from", ask.from),
        ("to", ask.to),
        ("since", ask.since),
        ("format", ask.format),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/v1/export/{}", api.trim_end_matches('/'), ask.what),
        &params,
    )
    .with_context(|| format!("{api} is not a URL"))?;
    let mut resp = reqwest::Client::new()
        .get(url.as_str())
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status();
    if !status.is_success() {
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        let msg = field(&value["error"]["message"], "");
        let code = field(&value["error"]["code"], "");
        bail!("{status} {code}: {msg}");
    }
    let mut sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    // The last line, kept across chunks: the cursor of a JSON lines export.
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = resp.chunk().await.context("reading the export")? {
        sink.write_all(&chunk).context("writing the export")?;
        tail.extend_from_slice(&chunk);
        if let Some(nl) = tail[..tail.len().saturating_sub(1)]
            .iter()
            .rposition(|&b| b == b'\n')
        {
            tail.drain(..=nl);
        }
    }
    sink.flush().context("writing the export")?;
    let last: Value = serde_json::from_slice(&tail).unwrap_or(Value::Null);
    Ok(last["cursor"].as_str().map(str::to_string))
}

/// `tally export`: [`export`], then the cursor on standard error.
pub async fn export_command(
    api: &str,
    token: &str,
    ask: &ExportAsk<'_>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(cursor) = export(api, token, ask, out).await? {
        eprintln!("cursor: {} (pass it as --since next time)", escape(&cursor));
    }
    Ok(())
}

/// `tally trace`: what `GET /v1/trace` answers for a make and serial.
pub async fn trace(
    api: &str,
    token: &str,
    make: &str,
    serial: &str,
    json: bool,
) -> anyhow::Result<()> {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/v1/trace", api.trim_end_matches('/')),
        &[("make", make), ("serial", serial)],
    )
    .with_context(|| format!("{api} is not a URL"))?;
    let rows = call(reqwest::Method::GET, url.as_str(), token, None).await?;
    if json {
        println!("{}", escape_json(&rows)?);
    } else {
        print!("{}", render_trace(&rows));
    }
    Ok(())
}

/// The text `tally trace` prints: one block per license line, its
/// crossings and delivery, every foreign text escaped.
pub fn render_trace(rows: &Value) -> String {
    let mut out = String::new();
    let rows = rows.as_array().map(Vec::as_slice).unwrap_or_default();
    if rows.is_empty() {
        out.push_str("no license or crossing this node reads names that serial\n");
    }
    for r in rows {
        let _ = writeln!(
            out,
            "{} {} line {}: {} {} ({})",
            field(&r["license"]["authority"], "?"),
            field(&r["license"]["number"], "?"),
            r["line"].as_u64().unwrap_or(0),
            field(&r["make"], "-"),
            field(&r["model"], "-"),
            if r["listed"] == true {
                "listed on the license"
            } else {
                "declared at a crossing"
            }
        );
        for c in r["crossings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let _ = writeln!(
                out,
                "  {} {} {} recorded by {}",
                field(&c["date"], "?"),
                field(&c["direction"], "?"),
                field(&c["country"], "?"),
                field(&c["recorded_by"], "?")
            );
        }
        match r["delivered_to"].as_object() {
            Some(d) => {
                let _ = writeln!(
                    out,
                    "  delivered {} to {} (verification {} {})",
                    field(&d["date"], "?"),
                    field(&d["party"]["name"], "?"),
                    field(&d["verification"]["authority"], "?"),
                    field(&d["verification"]["number"], "?")
                );
            }
            None => out.push_str("  no delivery verified\n"),
        }
    }
    out
}

/// The text `tally status` prints for a `/v1/status` answer.
pub fn render_status(s: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "authority {}  peer {}",
        field(&s["authority"], "?"),
        field(&s["peer_id"], "?")
    );
    let _ = writeln!(out, "\npeers:");
    for p in s["peers"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<14} {:<10} {}{}",
            field(&p["authority"], "-"),
            if p["connected"].as_bool() == Some(true) {
                "connected"
            } else {
                "offline"
            },
            field(&p["peer_id"], "?"),
            p["last_sync"]
                .as_str()
                .map(|t| format!("  last sync {}", escape(t)))
                .unwrap_or_default(),
        );
    }
    let _ = writeln!(out, "\nlogs:");
    for l in s["logs"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {:<14} seq {:>8}  head {}",
            field(&l["authority"], "?"),
            l["seq"].as_u64().unwrap_or(0),
            field(&l["head"], "?"),
        );
    }
    out
}

/// Prints the verdict table; exit 0 accept, 1 reject, 2 error.
pub async fn check(api: &str, token: &str, file: &Path) -> anyhow::Result<ExitCode> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let body: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let v = call(
        reqwest::Method::POST,
        &format!("{}/v1/shipments/verify", api.trim_end_matches('/')),
        token,
        Some(body),
    )
    .await?;
    let (text, code) = render_check(&v)?;
    print!("{text}");
    Ok(ExitCode::from(code))
}

/// The verdict table `tally check` prints and its exit code (0 accept,
/// 1 reject). An answer without a verdict is an error (exit 2 in `main`),
/// never a rejection: the goods were not checked.
pub fn render_check(v: &Value) -> anyhow::Result<(String, u8)> {
    let code = match v["verdict"].as_str() {
        Some("accept") => 0,
        Some("reject") => 1,
        Some(other) => bail!("the node answered an unknown verdict {:?}", escape(other)),
        None => bail!("the node's answer has no verdict"),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verdict: {}",
        if code == 0 { "ACCEPT" } else { "REJECT" }
    );
    for c in v["checks"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  {} {:<22} {}",
            if c["ok"].as_bool() == Some(true) {
                "ok  "
            } else {
                "FAIL"
            },
            field(&c["rule"], "?"),
            field(&c["detail"], ""),
        );
    }
    if let Some(r) = v["record"].as_object() {
        let seq = r
            .get("seq")
            .and_then(Value::as_u64)
            .map_or_else(|| "?".to_string(), |n| n.to_string());
        let _ = writeln!(
            out,
            "recorded: {} seq {} hash {}",
            r.get("authority")
                .map_or_else(|| "?".to_string(), |a| field(a, "?")),
            seq,
            r.get("hash")
                .map_or_else(|| "?".to_string(), |h| field(h, "?")),
        );
    }
    Ok((out, code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escape_neutralises_what_the_contract_refuses() {
        let cases = [
            ("Acme Arms Inc.", "Acme Arms Inc."),
            ("Policía – León", "Policía – León"),
            ("\u{1B}[2Jwiped", "\\u{001B}[2Jwiped"),
            ("bell\u{7}", "bell\\u{0007}"),
            ("del\u{7F}", "del\\u{007F}"),
            ("csi\u{9B}31m", "csi\\u{009B}31m"),
            ("new\nline\r", "new\\u{000A}line\\u{000D}"),
            ("\u{202E}1000CA", "\\u{202E}1000CA"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("zero\u{200B}width", "zero\\u{200B}width"),
            ("\u{FEFF}bom", "\\u{FEFF}bom"),
            ("\u{2063}", "\\u{2063}"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input:?}");
        }
    }

    #[test]
    fn json_output_stays_json_and_carries_no_raw_control() {
        let v = json!({"authority": "US-DDTC\u{9B}2J", "peers": [{"peer_id": "\u{202E}x\u{1B}"}]});
        let text = escape_json(&v).expect("serializes");
        assert!(
            !text.chars().any(|c| c != '\n' && is_refused_char(c)),
            "{text:?}"
        );
        let back: Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, v);
    }

    #[test]
    fn status_and_check_print_nothing_raw() {
        let evil = "\u{1B}]0;owned\u{7}\u{1B}[1A\u{202E}";
        let status = json!({
            "authority": evil, "peer_id": evil,
            "peers": [{"authority": evil, "peer_id": evil, "connected": true, "last_sync": evil}],
            "logs": [{"authority": evil, "seq": 3, "head": evil}],
        });
        let check = json!({
            "verdict": "reject",
            "checks": [{"rule": evil, "ok": false, "detail": evil}],
            "record": {"authority": evil, "seq": evil, "hash": evil},
        });
        let (check_text, code) = render_check(&check).expect("has a verdict");
        assert_eq!(code, 1);
        for text in [render_status(&status), check_text] {
            let raw: Vec<char> = text
                .chars()
                .filter(|&c| c != '\n' && is_refused_char(c))
                .collect();
            assert!(raw.is_empty(), "{raw:?} in {text:?}");
            assert!(text.contains("\\u{001B}"), "{text}");
        }
    }

    #[test]
    fn trace_prints_nothing_raw() {
        let rows = serde_json::json!([{
            "license": {"authority": "US-DDTC", "number": "EXP-1"},
            "line": 1, "make": "Acme\u{1b}[2J", "model": "P9", "listed": true,
            "crossings": [{"country": "US", "direction": "exit", "date": "2026-12-01",
                           "recorded_by": "US-DDTC"}],
            "delivered_to": {"verification": {"authority": "MX-SEDENA", "number": "DV-1"},
                             "date": "2026-12-03", "party": {"name": "Policia\u{202e}Estatal"}},
        }]);
        let text = render_trace(&rows);
        assert!(text.contains("US-DDTC EXP-1 line 1"), "{text}");
        assert!(
            text.contains("2026-12-01 exit US recorded by US-DDTC"),
            "{text}"
        );
        assert!(text.contains("delivered 2026-12-03"), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(render_trace(&serde_json::json!([])).contains("no license"));
    }

    #[test]
    fn check_exit_codes() {
        let cases = [
            (json!({"verdict": "accept", "checks": []}), Some(0)),
            (json!({"verdict": "reject", "checks": []}), Some(1)),
            (json!({"checks": []}), None),
            (json!({"verdict": null}), None),
            (json!({"verdict": "maybe"}), None),
            (json!([]), None),
        ];
        for (answer, want) in cases {
            let got = render_check(&answer).ok().map(|(_, code)| code);
            assert_eq!(got, want, "{answer}");
        }
    }
}
