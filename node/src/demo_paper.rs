//! The demo's papers (docs/PROTOCOL.md 14): every export license, import
//! certificate and transit authorization the demo's route States issued,
//! printed as a sealed page through their nodes' `GET /v1/paper/...` (so
//! each print is recorded in the issuing node's `paper-prints.jsonl`, as
//! any print is), into `DIR/paper/AUTHORITY-NUMBER.html` with the seal's
//! text beside it (`.txt`), and MX-SEDENA's trust bundle as
//! `DIR/paper/bundle.json`: what `tally paper verify` and the web verifier
//! check a paper against, with no network.

use anyhow::{Context, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use std::path::{Path, PathBuf};
use tally_model::LicenseKind;
use tally_verify::Verifier;

/// One node that prints its own documents.
pub struct Desk<'a> {
    pub verifier: &'a Verifier,
    /// The node's API, `http://HOST:PORT`.
    pub api: String,
    pub issuer_token: &'a str,
}

/// What was printed, and where.
pub struct Printed {
    pub dir: PathBuf,
    pub pages: usize,
    pub bundle: PathBuf,
    /// The seal's text of the story's license, for the example.
    pub example: PathBuf,
    /// `tally paper verify`'s answer for it: verdict and status.
    pub example_answer: (String, String),
}

impl Printed {
    /// What the demo says of its papers; `web` is the node whose verifier
    /// (`/paper/`) is named.
    pub fn text(&self, web: &str) -> String {
        let (verdict, status) = &self.example_answer;
        format!(
            "Papers: {} sealed pages in {}/ (AUTHORITY-NUMBER.html to print, the seal's text in .txt),\n\
             each print recorded in its node's paper-prints.jsonl; bundle.json is MX-SEDENA's trust bundle.\n\
             \x20 verify offline   tally paper verify {} --bundle {}\n\
             \x20                  ({verdict}, {status}; a photo of the printed page, PNG or JPEG, reads too)\n\
             \x20 web verifier     {}/paper/ (no token; works with the network off once loaded)\n",
            self.pages,
            self.dir.display(),
            self.example.display(),
            self.bundle.display(),
            web.trim_end_matches('/'),
        )
    }
}

/// Prints at most this many pages at once.
const AT_ONCE: usize = 4;

/// Prints every document of `desks`, fetches the bundle of the node at
/// `bundle_api` (officer token `officer`), and checks the seal of
/// `example` (authority, number) against it as `tally paper verify` does.
pub async fn print_all(
    root: &Path,
    desks: &[Desk<'_>],
    (bundle_api, officer): (&str, &str),
    example: (&str, &str),
) -> anyhow::Result<Printed> {
    let dir = root.join("paper");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let client = reqwest::Client::new();
    let mut jobs = Vec::new();
    for desk in desks {
        let own = desk.verifier.authority().clone();
        for l in desk.verifier.reader()?.licenses_of(&own, usize::MAX)? {
            if matches!(
                l.kind,
                LicenseKind::Export | LicenseKind::Import | LicenseKind::Transit
            ) {
                jobs.push((desk, own.to_string(), l.number));
            }
        }
    }
    let pages = jobs.len();
    futures::stream::iter(jobs)
        .map(|(desk, authority, number)| {
            let (client, dir) = (&client, &dir);
            async move { print_one(client, desk, &authority, &number, dir).await }
        })
        .buffer_unordered(AT_ONCE)
        .try_collect::<Vec<()>>()
        .await?;
    let bundle = dir.join("bundle.json");
    let url = format!("{}/v1/paper/bundle", bundle_api.trim_end_matches('/'));
    let value = crate::client::call(reqwest::Method::GET, &url, officer, None).await?;
    write(
        &bundle,
        &format!("{}\n", serde_json::to_string_pretty(&value)?),
    )?;
    let seal = dir.join(format!("{}.txt", file_stem(example.0, example.1)));
    let answer = crate::paper_cli::verify(&seal, &bundle, tally_verify::now_ms() / 1000)?;
    let field = |k: &str| answer.json[k].as_str().unwrap_or("-").to_owned();
    Ok(Printed {
        dir,
        pages,
        bundle,
        example_answer: (field("verdict"), field("status")),
        example: seal,
    })
}

/// Prints one document: its page, and the seal's text as printed on it.
async fn print_one(
    client: &reqwest::Client,
    desk: &Desk<'_>,
    authority: &str,
    number: &str,
    dir: &Path,
) -> anyhow::Result<()> {
    let fetch = |seal_only| {
        crate::paper_cli::fetch(
            client,
            &desk.api,
            desk.issuer_token,
            authority,
            number,
            seal_only,
        )
    };
    let page = fetch(false)
        .await
        .with_context(|| format!("printing {authority} {number}"))?;
    // The page shows the seal's text under its QR code; should a page
    // ever not, the seal is asked for alone (a second, recorded print).
    let seal = match seal_on_page(&page) {
        Some(seal) => seal,
        None => fetch(true).await?.trim().to_owned(),
    };
    if let Err(e) = tally_verify::paper::read(&seal) {
        bail!("the seal printed on {authority} {number} does not read: {e}");
    }
    let stem = file_stem(authority, number);
    write(&dir.join(format!("{stem}.html")), &page)?;
    write(&dir.join(format!("{stem}.txt")), &format!("{seal}\n"))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `AUTHORITY-NUMBER`, with any character a file name should not hold
/// (a number may contain `/`) as `_`.
pub fn file_stem(authority: &str, number: &str) -> String {
    format!("{authority}-{number}")
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' => c,
            _ => '_',
        })
        .collect()
}

/// The seal's text on a printed page: `TLY1:` and the Base45 characters
/// after it (none of which HTML escapes).
fn seal_on_page(page: &str) -> Option<String> {
    let start = page.find("TLY1:")?;
    let text: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(*c))
        .collect();
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_hold_no_separator() {
        assert_eq!(file_stem("US-BIS", "D1298734"), "US-BIS-D1298734");
        assert_eq!(
            file_stem("GT-DIGECAM", "DCAM/PI/2026/0042"),
            "GT-DIGECAM-DCAM_PI_2026_0042"
        );
    }

    #[test]
    fn the_seal_is_read_off_its_page() {
        let page = "<p class=\"how\">x</p><p class=\"text\">TLY1:6BF $%*+-./:Z9</p></main>";
        assert_eq!(seal_on_page(page).as_deref(), Some("TLY1:6BF $%*+-./:Z9"));
        assert_eq!(seal_on_page("<p>no seal</p>"), None);
    }
}
