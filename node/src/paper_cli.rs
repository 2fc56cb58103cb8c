//! `tally paper`: `print`, the printable page of one of the node's
//! documents with its QR seal (`GET /v1/paper/{authority}/{number}`), or
//! `--seal` its text alone; `bundle`, the trust bundle offline verifiers
//! hold (`GET /v1/paper/bundle`); `verify`, a seal's text, or a photo of
//! it (`paper_photo`), checked against a bundle with no network.

use anyhow::{Context, bail};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// `tally paper WHAT`; the exit code (`verify`: 0 genuine and active, 1
/// otherwise).
pub async fn run(what: crate::cli::PaperCommand) -> anyhow::Result<ExitCode> {
    match what {
        crate::cli::PaperCommand::Print {
            api,
            token,
            authority,
            number,
            out,
            seal,
        } => print(&api, &token, &authority, &number, seal, out.as_deref())
            .await
            .map(|()| ExitCode::SUCCESS),
        crate::cli::PaperCommand::Bundle { api, token, out } => {
            let url = format!("{}/v1/paper/bundle", api.trim_end_matches('/'));
            let bundle = crate::client::call(reqwest::Method::GET, &url, &token, None).await?;
            let text = serde_json::to_string_pretty(&bundle)?;
            write_out(out.as_deref(), &format!("{text}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        crate::cli::PaperCommand::Verify { file, bundle, json } => {
            let now_s = tally_verify::now_ms() / 1000;
            let v = verify(&file, &bundle, now_s)?;
            if json {
                println!("{}", crate::client::escape_json(&v.json)?);
            } else {
                println!("{}", render(&v.json));
            }
            Ok(ExitCode::from(v.code))
        }
    }
}

/// The answer for a terminal: the verdict, the status, the document (of
/// an annex page: which part of which line, and its serials).
fn render(v: &serde_json::Value) -> String {
    let field = |k: &str| crate::client::escape(v[k].as_str().unwrap_or("-"));
    let d = &v["document"];
    let doc = |k: &str| crate::client::escape(d[k].as_str().unwrap_or("-"));
    let a = &v["annex"];
    if a.is_object() {
        let an = |k: &str| crate::client::escape(a[k].as_str().unwrap_or("-"));
        return format!(
            "paper: {}\nstatus as of the bundle ({}): {}\nannex part {} of {}, line {}, serials {}…{}, count {}\nof {} {} of {}, version {}\nprinted at {}",
            field("verdict"),
            field("bundle_date"),
            field("status"),
            a["part"],
            a["parts"],
            a["line"],
            an("first"),
            an("last"),
            a["count"],
            doc("kind"),
            doc("number"),
            doc("authority"),
            d["version"],
            field("printed_at"),
        );
    }
    format!(
        "{}: {}\nstatus as of the bundle ({}): {}\n{} {} of {}, version {}, valid {} to {}\nprinted at {}",
        "paper",
        field("verdict"),
        field("bundle_date"),
        field("status"),
        doc("kind"),
        doc("number"),
        doc("authority"),
        d["version"],
        doc("valid_from"),
        doc("valid_until"),
        field("printed_at"),
    )
}

/// The answer of `tally paper verify`.
pub struct Verified {
    pub json: serde_json::Value,
    /// 0: genuine and active as of the bundle; 1: otherwise.
    pub code: u8,
}

/// The seal's text in `file`: the file itself (`TLY1:...`), or the seal
/// read from it when it is a photo (PNG or JPEG, told by its content).
/// A photo in which no seal reads, and a file that is neither text nor
/// such a photo, are errors (exit 2), not a verdict.
fn seal_text(file: &Path) -> anyhow::Result<String> {
    use crate::paper_photo::{self as photo, Content};
    let bytes = photo::read_bounded(file)?;
    match photo::content(&bytes) {
        Content::Png | Content::Jpeg => {
            photo::seal_text(&bytes).with_context(|| format!("{}", file.display()))
        }
        Content::Other => match String::from_utf8(bytes) {
            // `print --seal` writes a main seal and its annexes' one a
            // line: one seal is verified at a time.
            Ok(text) if text.lines().filter(|l| !l.trim().is_empty()).count() > 1 => bail!(
                "{} holds several seals, one a line (a main seal and its annex pages'): put each in a file of its own to verify it",
                file.display()
            ),
            Ok(text) if !text.contains('\0') => Ok(text),
            _ => bail!(
                "{} is neither a seal's text (TLY1:...) nor a PNG or JPEG photo",
                file.display()
            ),
        },
    }
}

/// Checks the seal in `file` (its text, `TLY1:...`, or a photo of it)
/// against the bundle in `bundle`, with no network. Errors (no bundle, an
/// unreadable file, a photo with no seal to read, a bundle whose signature
/// fails) are exit 2.
pub fn verify(file: &Path, bundle: &Path, now_s: i64) -> anyhow::Result<Verified> {
    let bundle_text = std::fs::read_to_string(bundle)
        .with_context(|| format!("reading the bundle {}", bundle.display()))?;
    let bundle: tally_verify::paper::Bundle =
        serde_json::from_str(&bundle_text).context("the bundle is not a trust bundle")?;
    bundle.verified(None)?;
    let text = seal_text(file)?;
    let bundle_date = tally_api::view::rfc3339(bundle.produced_at);
    let json = match tally_verify::paper::read(&text) {
        Err(e) => serde_json::json!({"verdict": "not_a_seal", "status": "unknown",
            "reason": e.0, "document": null, "printed_at": null, "bundle_date": bundle_date}),
        Ok(read) => {
            let verdict = bundle.genuine(&read);
            let status = match verdict {
                tally_verify::paper::Genuine::Genuine => bundle.status_of(&read, now_s),
                _ => "unknown",
            };
            let printed_at = tally_api::view::rfc3339(read.times.printed_at * 1000);
            match &read.annex {
                None => serde_json::json!({"verdict": verdict, "status": status,
                    "document": read.summary, "printed_at": printed_at,
                    "bundle_date": bundle_date}),
                // An annex page's seal names its document by identity alone.
                Some(annex) => {
                    let s = &read.summary;
                    serde_json::json!({"verdict": verdict, "status": status,
                        "document": {"kind": s.kind, "authority": s.authority,
                            "number": s.number, "version": s.version},
                        "annex": annex, "printed_at": printed_at,
                        "bundle_date": bundle_date})
                }
            }
        }
    };
    let code = u8::from(!(json["verdict"] == "genuine" && json["status"] == "active"));
    Ok(Verified { json, code })
}

fn write_out(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out.filter(|p| *p != Path::new("-")) {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
            Ok(())
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing to standard output"),
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
    let client = reqwest::Client::new();
    let text = fetch(&client, api, token, authority, number, seal_only).await?;
    write_out(out, &text)
}

/// `GET /v1/paper/{authority}/{number}` of the node at `api`: the sealed
/// page, or (`seal_only`) the seal's text. The node records the print.
pub async fn fetch(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    authority: &str,
    number: &str,
    seal_only: bool,
) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(api).with_context(|| format!("{api} is not a URL"))?;
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("{api} cannot take a path"))?
        .pop_if_empty()
        .extend(["v1", "paper", authority, number]);
    if seal_only {
        url.query_pairs_mut().append_pair("format", "seal");
    }
    let resp = client
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
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_model::signer::{FileSigner, Signer as _};
    use tally_verify::paper::{Bundle, BundleAuthority, BundleKey, BundleStatus, Summary, Times};

    /// An annex page's seal verified with `tally paper verify`: genuine,
    /// its document's status, and which part of which line it is.
    #[test]
    fn an_annex_seal_verifies_and_says_which_part_it_is() {
        let signer = FileSigner::new(&tally_model::AuthorityKey::from_bytes(&[9; 32]));
        let e: tally_model::License = serde_json::from_value(serde_json::json!({
            "kind": "export", "number": "EXP-7", "exporting_country": "US",
            "importing_country": "MX", "exporter": {"name": "Acme"},
            "importer": {"name": "Norte"}, "end_use": "police",
            "shipments": "partial", "transit_countries": [],
            "items": [{"line": 1, "category": "firearm", "description": "pistol",
                "unit": "units", "quantity": 450,
                "serials": (0..450).map(|n| format!("S{n:03}")).collect::<Vec<_>>()}],
            "valid_from": "2026-01-01", "valid_until": "2099-12-31"}))
        .expect("a license");
        let s = Summary::of("US-DDTC", 1, "2026-01-01", &e).expect("seals");
        let parts = tally_verify::paper::parts(1, &e.items()[0].serials);
        let times = Times {
            printed_at: 1_800_000_000,
            expires_at: 4_102_444_799,
        };
        let sealed =
            tally_verify::paper::seal_annex(&s, &parts[1].annex, times, &signer).expect("seals");
        let bundle = Bundle {
            produced_by: "US-DDTC".into(),
            produced_at: 1_800_000_000_000,
            authorities: vec![BundleAuthority {
                authority: "US-DDTC".into(),
                name: "DDTC".into(),
                keys: vec![BundleKey {
                    key_id: hex::encode(signer.public_key()),
                    purpose: "paper".into(),
                    valid_from_ms: 0,
                    compromised: false,
                }],
                contact: None,
            }],
            statuses: vec![BundleStatus {
                authority: "US-DDTC".into(),
                number: "EXP-7".into(),
                version: 1,
                status: "active".into(),
            }],
            signature: String::new(),
        }
        .sign(&signer)
        .expect("signs");
        let dir = tempfile::tempdir().expect("a dir");
        let (seal_file, bundle_file) = (dir.path().join("a.txt"), dir.path().join("b.json"));
        std::fs::write(&seal_file, &sealed.text).expect("writes");
        std::fs::write(&bundle_file, serde_json::to_string(&bundle).expect("json"))
            .expect("writes");
        let v = verify(&seal_file, &bundle_file, 1_800_000_100).expect("verifies");
        assert_eq!(v.code, 0, "{}", v.json);
        assert_eq!(v.json["verdict"], "genuine");
        assert_eq!(v.json["status"], "active");
        assert_eq!(v.json["annex"]["part"], 2);
        assert_eq!(v.json["document"]["number"], "EXP-7");
        let text = render(&v.json);
        assert!(
            text.contains("annex part 2 of 3, line 1, serials S200…S399, count 200"),
            "{text}"
        );

        // A main seal and its annexes' in one file, as `print --seal`
        // writes them: one seal a file.
        std::fs::write(&seal_file, format!("{}\n{}\n", sealed.text, sealed.text)).expect("writes");
        let e = verify(&seal_file, &bundle_file, 1_800_000_100)
            .err()
            .expect("refused");
        assert!(e.to_string().contains("several seals"), "{e}");
    }
}
