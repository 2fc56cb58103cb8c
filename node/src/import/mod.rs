//! `tally import`: issues the documents of a file through a node's API
//! (docs/API.md), one `POST /v1/licenses?if_exists=skip` per document, so
//! the node decides what was issued already and a second run over the same
//! file issues nothing twice. `--dry-run` adds `dry_run=true`: every rule,
//! nothing signed.
//!
//! It reads JSON lines (one document per line, as `POST /v1/licenses`
//! takes it, `row` counted from 1) or CSV as spreadsheets write it
//! (`tally_api::import_file`, shared with the console's upload;
//! docs/IMPORT.md). A refused row is reported with the node's
//! code and message and the run goes on; a 429 waits the `Retry-After` the
//! node gives (shown in the progress) and tries the same row again.

use tally_api::import_file as csv;

use crate::client::escape;
use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Longest wait a 429 may ask for before the import gives up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// A row the node did not issue, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub row: usize,
    pub number: String,
    pub code: String,
    pub message: String,
    /// Every fault the node found (its 422 `details`), each placed in the
    /// file: the first is `message`'s.
    pub faults: Vec<Placed>,
}

/// A row the node issued (or, in a dry run, would issue) with a warning
/// the officer must see: another State denied one of its buyers
/// (`denial.match`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warned {
    pub row: usize,
    pub number: String,
    pub warning: String,
}

/// A fault of a refused document, where it is in the file: for a CSV file
/// the row and the column (`exporter.name`, `serials`), for JSON lines the
/// line and the JSON pointer into its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// Where the fault at `pointer` (RFC 6901, into the document that begins at
/// `first_row`) lies in the file.
fn place(pointer: &str, first_row: usize, csv: bool) -> (usize, String) {
    if !csv {
        return (first_row, pointer.to_string());
    }
    let steps: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    // One row per item line: item i is i rows below the document's first.
    if let [items, i, rest @ ..] = steps.as_slice()
        && items == "items"
        && let Ok(i) = i.parse::<usize>()
    {
        let column = rest.first().cloned().unwrap_or_else(|| "line".into());
        return (first_row + i, column);
    }
    let column: Vec<&str> = steps
        .iter()
        .map(String::as_str)
        .filter(|s| s.parse::<usize>().is_err())
        .collect();
    (first_row, column.join("."))
}

/// What an import did (`--json` prints it). In a dry run, `issued` counts
/// what would have been issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub issued: u64,
    pub skipped: u64,
    pub refused: Vec<Refused>,
    /// Rows issued with a `denial.match` warning; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warned: Vec<Warned>,
}

impl Imported {
    /// 0 when nothing was refused, 1 when some rows were.
    pub fn exit_code(&self) -> ExitCode {
        if self.refused.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    pub fn text(&self, dry_run: bool) -> String {
        let mut out = format!(
            "{} {}, {} skipped (issued before with the same content), {} refused",
            self.issued,
            if dry_run { "would be issued" } else { "issued" },
            self.skipped,
            self.refused.len()
        );
        for w in &self.warned {
            out.push_str(&format!(
                "\n  row {}: {} issued, warned: {}",
                w.row,
                escape(&w.number),
                escape(&w.warning)
            ));
        }
        for r in &self.refused {
            out.push_str(&format!(
                "\n  row {}: {} {}: {}",
                r.row,
                escape(&r.number),
                escape(&r.code),
                escape(&r.message)
            ));
            if r.faults.len() > 1 {
                for f in &r.faults {
                    out.push_str(&format!(
                        "\n    row {}, {}: {}",
                        f.row,
                        if f.column.is_empty() {
                            "the document".to_string()
                        } else {
                            escape(&f.column)
                        },
                        escape(&f.message)
                    ));
                }
            }
        }
        out
    }
}

/// What one row came to.
enum Outcome {
    /// With the answer's `denial.match` warnings.
    Issued(Vec<String>),
    Skipped,
    /// The code, the message, and the details: (pointer, message).
    Refused(String, String, Vec<(String, String)>),
}

/// Imports `file` (`-`: standard input) into the node at `api`.
pub async fn import(
    api: &str,
    token: &str,
    file: &Path,
    format: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<Imported> {
    let csv = match format
        .map(str::to_ascii_lowercase)
        .or_else(|| extension(file))
        .as_deref()
    {
        Some("jsonl") | Some("json") | Some("ndjson") | None => false,
        Some("csv") => true,
        Some(other) => bail!("unknown format {other:?}: use csv or jsonl"),
    };
    let bytes = if file == Path::new("-") {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .context("reading standard input")?;
        b
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
    };
    let docs = if csv {
        csv::documents(&csv::decode(&bytes))
    } else {
        csv::json_lines(&String::from_utf8_lossy(&bytes))
    };
    let url = format!(
        "{}/v1/licenses?if_exists=skip{}",
        api.trim_end_matches('/'),
        if dry_run { "&dry_run=true" } else { "" }
    );
    let client = reqwest::Client::new();
    let progress = Progress::new(docs.len());
    let mut done = Imported::default();
    for (n, read) in docs.into_iter().enumerate() {
        let outcome = match read.document {
            Err(why) => Outcome::Refused("invalid_row".into(), why, Vec::new()),
            Ok(doc) => post(&client, &url, token, &doc, &progress).await?,
        };
        match outcome {
            Outcome::Issued(warnings) => {
                done.issued += 1;
                done.warned
                    .extend(warnings.into_iter().map(|warning| Warned {
                        row: read.row,
                        number: read.number.clone(),
                        warning,
                    }));
            }
            Outcome::Skipped => done.skipped += 1,
            Outcome::Refused(code, message, details) => done.refused.push(Refused {
                faults: details
                    .into_iter()
                    .map(|(pointer, message)| {
                        let (row, column) = place(&pointer, read.row, csv);
                        Placed {
                            row,
                            column,
                            message,
                        }
                    })
                    .collect(),
                row: read.row,
                number: read.number,
                code,
                message,
            }),
        }
        progress.show(n + 1, &done);
    }
    progress.finish();
    Ok(done)
}

/// The `denial.match` warnings of an answer (its other warnings, such as a
/// party country no one can read in, are the same for every row of a
/// national file and would bury these).
fn denials(body: &Value) -> Vec<String> {
    body["warnings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .filter(|w| w.starts_with("denial.match:"))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Posts one document; waits and tries again on 429.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    doc: &Value,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    loop {
        let resp = client
            .post(url)
            .bearer_auth(token)
            .json(doc)
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        match status {
            201 => return Ok(Outcome::Issued(denials(&body))),
            200 if body["skipped"] == true => return Ok(Outcome::Skipped),
            200 if body["dry_run"] == true => return Ok(Outcome::Issued(denials(&body))),
            429 => {
                let wait = Duration::from_secs(retry.unwrap_or(1).max(1));
                if wait > MAX_RETRY_AFTER {
                    bail!("the node asks to wait {wait:?} before the next document; stopped");
                }
                progress.waiting(wait);
                tokio::time::sleep(wait).await;
            }
            401 | 403 => bail!(
                "the node refused the token ({status}): an issuer token of this node is needed"
            ),
            _ => {
                let code = body["error"]["code"]
                    .as_str()
                    .unwrap_or("error")
                    .to_string();
                let message = body["error"]["message"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP {status}"));
                let details = body["error"]["details"]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter_map(|d| {
                                let pointer = d["pointer"].as_str()?.to_string();
                                Some((pointer, d["message"].as_str()?.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(Outcome::Refused(code, message, details));
            }
        }
    }
}

fn extension(file: &Path) -> Option<String> {
    file.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
}

/// A progress line on standard error, when it is a terminal.
struct Progress {
    total: usize,
    on: bool,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            total,
            on: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, n: usize, done: &Imported) {
        if self.on {
            eprint!(
                "\r{n}/{}: {} issued, {} skipped, {} refused\x1b[K",
                self.total,
                done.issued,
                done.skipped,
                done.refused.len()
            );
        }
    }

    fn waiting(&self, wait: Duration) {
        if self.on {
            eprint!(
                "\r(the node's rate limit: waiting {} s)\x1b[K",
                wait.as_secs()
            );
        }
    }

    fn finish(&self) {
        if self.on {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_warnings_are_kept_and_shown_per_row() {
        let body = serde_json::json!({"warnings": [
            "no trusted authority of PA: no one there can read this document",
            "denial.match: the end user of EXP-1 is \"X\", the end user of denial DEN-1 by GT-DIGECAM"
        ]});
        let kept = denials(&body);
        assert_eq!(kept.len(), 1, "{kept:?}");
        let done = Imported {
            issued: 1,
            warned: vec![Warned {
                row: 4,
                number: "EXP-1".into(),
                warning: kept[0].clone(),
            }],
            ..Imported::default()
        };
        let text = done.text(false);
        assert!(
            text.contains("row 4: EXP-1 issued, warned: denial.match: the end user of EXP-1"),
            "{text}"
        );
        assert_eq!(
            done.exit_code(),
            ExitCode::SUCCESS,
            "a warning refuses nothing"
        );
        let json = serde_json::to_value(Imported::default()).expect("serializes");
        assert!(
            json.get("warned").is_none(),
            "the shape is unchanged when none: {json}"
        );
    }

    #[test]
    fn a_fault_is_placed_at_its_row_and_column() {
        assert_eq!(
            place("/items/2/serials/3", 10, true),
            (12, "serials".into())
        );
        assert_eq!(place("/items/0", 10, true), (10, "line".into()));
        assert_eq!(
            place("/exporter/name", 10, true),
            (10, "exporter.name".into())
        );
        assert_eq!(
            place("/transit_countries/1", 4, true),
            (4, "transit_countries".into())
        );
        assert_eq!(place("", 4, true), (4, String::new()));
        assert_eq!(
            place("/items/0/quantity", 7, false),
            (7, "/items/0/quantity".into())
        );
    }
}
