//! `tally paper print`: the printable page of one of the node's documents
//! with its QR seal (`GET /v1/paper/{authority}/{number}`), written to a
//! file or standard output; `--seal` gives the seal's text alone.

use anyhow::{Context, bail};
use std::io::Write as _;
use std::path::Path;

/// `tally paper WHAT`.
pub async fn run(what: crate::cli::PaperCommand) -> anyhow::Result<()> {
    match what {
        crate::cli::PaperCommand::Print {
            api,
            token,
            authority,
            number,
            out,
            seal,
        } => print(&api, &token, &authority, &number, seal, out.as_deref()).await,
    }
}

/// Fetches the page (or the seal's text) and writes it to `out` (`-` or
/// none: standard output).
pub async fn print(
    api: &str,
    token: &str,
    authority: &str,
    number: &str,
    seal_only: bool,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let mut url = reqwest::Url::parse(api).with_context(|| format!("{api} is not a URL"))?;
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("{api} cannot take a path"))?
        .pop_if_empty()
        .extend(["v1", "paper", authority, number]);
    if seal_only {
        url.query_pairs_mut().append_pair("format", "seal");
    }
    let resp = reqwest::Client::new()
        .get(url.as_str())
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach {api}"))?;
    let status = resp.status();
    let text = resp.text().await.context("reading the answer")?;
    if !status.is_success() {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        bail!(
            "{status} {}: {}",
            crate::client::escape(v["error"]["code"].as_str().unwrap_or("")),
            crate::client::escape(v["error"]["message"].as_str().unwrap_or(""))
        );
    }
    match out.filter(|p| *p != Path::new("-")) {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing to standard output")?,
    }
    Ok(())
}
