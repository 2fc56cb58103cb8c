//! `tally status` and `tally check`: small HTTP clients of a node's API.

use anyhow::{Context, bail};
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;

async fn call(
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
        let msg = value["error"]["message"].as_str().unwrap_or("");
        let code = value["error"]["code"].as_str().unwrap_or("");
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
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!(
        "authority {}  peer {}",
        s["authority"].as_str().unwrap_or("?"),
        s["peer_id"].as_str().unwrap_or("?")
    );
    println!("\npeers:");
    for p in s["peers"].as_array().into_iter().flatten() {
        println!(
            "  {:<14} {:<10} {}{}",
            p["authority"].as_str().unwrap_or("-"),
            if p["connected"].as_bool() == Some(true) {
                "connected"
            } else {
                "offline"
            },
            p["peer_id"].as_str().unwrap_or("?"),
            p["last_sync"]
                .as_str()
                .map(|t| format!("  last sync {t}"))
                .unwrap_or_default(),
        );
    }
    println!("\nlogs:");
    for l in s["logs"].as_array().into_iter().flatten() {
        println!(
            "  {:<14} seq {:>8}  head {}",
            l["authority"].as_str().unwrap_or("?"),
            l["seq"].as_u64().unwrap_or(0),
            l["head"].as_str().unwrap_or("?"),
        );
    }
    Ok(())
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
    let verdict = v["verdict"].as_str().unwrap_or("?");
    println!("verdict: {}", verdict.to_uppercase());
    for c in v["checks"].as_array().into_iter().flatten() {
        println!(
            "  {} {:<22} {}",
            if c["ok"].as_bool() == Some(true) {
                "ok  "
            } else {
                "FAIL"
            },
            c["rule"].as_str().unwrap_or("?"),
            c["detail"].as_str().unwrap_or(""),
        );
    }
    if let Some(r) = v["record"].as_object() {
        println!(
            "recorded: {} seq {} hash {}",
            r["authority"].as_str().unwrap_or("?"),
            r["seq"],
            r["hash"].as_str().unwrap_or("?")
        );
    }
    Ok(
        if verdict == tally_model::ShipmentVerdict::Accept.as_str() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
