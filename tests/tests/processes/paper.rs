//! Paper seals on a whole `tally` process: with `[paper] enabled = true`
//! (the default `tally init` writes) the node creates its paper key (0600)
//! and announces it in its own log at the first start (once: a restart
//! announces nothing), and `tally paper print` gives a page with the QR
//! seal and a seal that verifies as genuine against that key, from its text
//! and from a photo of it (turned, scaled down, PNG and JPEG).

use super::docs;
use super::rig::{Net, path_str, tally, tally_ok};
use anyhow::{Context, Result, ensure};
use image::{GrayImage, Luma};
use std::path::Path;
use std::time::Duration;
use tally_model::signer::{FileSigner, Signer as _};

const US: &str = "US-DDTC";
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_seal_verifies_against_the_announced_paper_key() -> Result<()> {
    let mut net = Net::init(&[US])?;
    let dir = net.node(US).dir.clone();
    let config = dir.join("tally.toml");
    let text = std::fs::read_to_string(&config)?;
    ensure!(text.contains("[paper]\nenabled = true"), "{text}");
    net.start_all().await?;

    let key_file = dir.join("keys/paper.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)?.permissions().mode() & 0o777;
        ensure!(mode == 0o600, "paper.key mode {mode:o}");
    }
    let log = net.node(US).get(&format!("/v1/log/{US}?from=1")).await?;
    ensure!(log[0]["kind"] == "paper_key", "{log}");

    let ic = net
        .node(US)
        .issue(&docs::import("IC-1", "US", "MX"))
        .await?;
    ensure!(
        ic.seq == 2,
        "the first document follows the announcement: {}",
        ic.seq
    );

    let api = net.node(US).base.clone();
    let token = net.node(US).issuer_token().to_owned();
    let seal = tally_ok(&[
        "paper", "print", "--api", &api, "--token", &token, US, "IC-1", "--seal",
    ])?;
    let read = tally_verify::paper::read(seal.trim()).context("the printed seal reads")?;
    ensure!(
        read.summary.number == "IC-1" && read.summary.kind == "import",
        "{:?}",
        read.summary
    );
    let secret = std::fs::read_to_string(&key_file)?;
    let secret: [u8; 32] = hex::decode(secret.trim())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("32 bytes"))?;
    let public = FileSigner::new(&tally_model::AuthorityKey::from_bytes(&secret)).public_key();
    let keys = [tally_verify::paper::PaperKey {
        authority: US.into(),
        public_key: public,
        compromised: false,
    }];
    ensure!(read.genuine(&keys) == tally_verify::paper::Genuine::Genuine);

    let page = dir.join("IC-1.html");
    tally_ok(&[
        "paper",
        "print",
        "--api",
        &api,
        "--token",
        &token,
        US,
        "IC-1",
        "--out",
        path_str(&page)?,
    ])?;
    let html = std::fs::read_to_string(&page)?;
    ensure!(html.contains("<svg") && html.contains("IC-1"), "{html}");
    let prints = std::fs::read_to_string(dir.join("paper-prints.jsonl"))?;
    ensure!(prints.lines().count() == 2, "{prints}");

    // Offline: the bundle, then the seal checked against it with no network.
    let bundle = dir.join("bundle.json");
    let seal_file = dir.join("IC-1.seal");
    std::fs::write(&seal_file, &seal)?;
    let (bundle_s, seal_s) = (
        path_str(&bundle)?.to_owned(),
        path_str(&seal_file)?.to_owned(),
    );
    tally_ok(&[
        "paper", "bundle", "--api", &api, "--token", &token, "--out", &bundle_s,
    ])?;
    let verify = |args: &[&str]| -> Result<(i32, serde_json::Value)> {
        let mut all = vec!["paper", "verify"];
        all.extend_from_slice(args);
        let out = tally(&all)?;
        let code = out.status.code().context("an exit code")?;
        let json = serde_json::from_slice(&out.stdout).unwrap_or_default();
        Ok((code, json))
    };
    let (code, v) = verify(&[&seal_s, "--bundle", &bundle_s, "--json"])?;
    ensure!(
        code == 0 && v["verdict"] == "genuine" && v["status"] == "active",
        "{code} {v}"
    );
    ensure!(v["document"]["number"] == "IC-1", "{v}");
    photos(&dir, seal.trim(), &bundle_s)?;

    net.node(US)
        .post(
            "/v1/licenses/US-DDTC/IC-1/status",
            &serde_json::json!({"status": "revoked", "reason": "withdrawn"}),
        )
        .await?;
    tally_ok(&[
        "paper", "bundle", "--api", &api, "--token", &token, "--out", &bundle_s,
    ])?;
    let (code, v) = verify(&[&seal_s, "--bundle", &bundle_s, "--json"])?;
    ensure!(
        code == 1 && v["verdict"] == "genuine" && v["status"] == "revoked",
        "{code} {v}"
    );

    std::fs::write(&seal_file, "TLY1:NOT A SEAL")?;
    let (code, v) = verify(&[&seal_s, "--bundle", &bundle_s, "--json"])?;
    ensure!(code == 1 && v["verdict"] == "not_a_seal", "{code} {v}");
    let missing = path_str(&dir)?.to_owned() + "/no-bundle.json";
    let (code, _) = verify(&[&seal_s, "--bundle", &missing])?;
    ensure!(code == 2, "no bundle: exit {code}");

    // A restart announces nothing more.
    net.node_mut(US).sigterm(WAIT).await?;
    net.node_mut(US).start().await?;
    let heads = net.node(US).heads().await?;
    ensure!(
        heads.get(US).map(|h| h.seq) == Some(3),
        "key, IC-1, its revocation: {heads:?}"
    );
    net.pass();
    Ok(())
}

/// `[paper] enabled = false` stays an option: the node creates no paper
/// key, announces nothing (its first document is seq 1) and refuses prints
/// (503, exit 1). Turned on, the next start creates the key and announces
/// it after what the log holds, as at the first start of this version on
/// a node that ran an earlier one; then a print verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_seals_off_announce_nothing_and_on_again_announce_at_the_next_start() -> Result<()> {
    let mut net = Net::init(&[US])?;
    let dir = net.node(US).dir.clone();
    let config = dir.join("tally.toml");
    let text = std::fs::read_to_string(&config)?;
    let off = text.replacen("[paper]\nenabled = true", "[paper]\nenabled = false", 1);
    ensure!(off != text, "{text}");
    std::fs::write(&config, &off)?;
    net.start_all().await?;
    let ic = net
        .node(US)
        .issue(&docs::import("IC-OFF", "US", "MX"))
        .await?;
    ensure!(
        ic.seq == 1,
        "no announcement before the first document: {}",
        ic.seq
    );
    ensure!(
        !dir.join("keys/paper.key").exists(),
        "a paper key with seals off"
    );
    let api = net.node(US).base.clone();
    let token = net.node(US).issuer_token().to_owned();
    let print = [
        "paper", "print", "--api", &api, "--token", &token, US, "IC-OFF", "--seal",
    ];
    let out = tally(&print)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2) && stderr.contains("503"),
        "{out:?}"
    );

    net.node_mut(US).sigterm(WAIT).await?;
    std::fs::write(&config, &text)?;
    net.node_mut(US).start().await?;
    let log = net.node(US).get(&format!("/v1/log/{US}?from=1")).await?;
    let kinds: Vec<&serde_json::Value> = log
        .as_array()
        .context("the log")?
        .iter()
        .map(|e| &e["kind"])
        .collect();
    ensure!(kinds.len() == 2 && kinds[1] == "paper_key", "{log}");
    let seal = tally_ok(&print)?;
    let read = tally_verify::paper::read(seal.trim()).context("the seal reads")?;
    ensure!(read.summary.number == "IC-OFF", "{:?}", read.summary);
    net.pass();
    Ok(())
}

/// `tally paper verify` on photos of the seal `seal`: its QR code drawn
/// with a quiet zone, turned 4 degrees and scaled to 70%, as PNG and as
/// JPEG: genuine and active (exit 0); a photo of noise and a cut file:
/// errors (exit 2) that say what went wrong.
fn photos(dir: &Path, seal: &str, bundle: &str) -> Result<()> {
    let turned = rotate(&render(seal, 6)?, 4.0);
    let (w, h) = (turned.width() * 7 / 10, turned.height() * 7 / 10);
    let photo = image::imageops::resize(&turned, w, h, image::imageops::FilterType::Triangle);
    for name in ["seal.png", "seal.jpg"] {
        let path = dir.join(name);
        photo.save(&path)?;
        let out = tally(&[
            "paper",
            "verify",
            path_str(&path)?,
            "--bundle",
            bundle,
            "--json",
        ])?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        ensure!(
            out.status.code() == Some(0) && v["verdict"] == "genuine" && v["status"] == "active",
            "{name}: {:?} {v} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(v["document"]["number"] == "IC-1", "{name}: {v}");
    }
    // A JPEG named .png is read as what it is.
    let jpeg = std::fs::read(dir.join("seal.jpg"))?;
    let misnamed = dir.join("jpeg.png");
    std::fs::write(&misnamed, &jpeg)?;
    let out = tally(&["paper", "verify", path_str(&misnamed)?, "--bundle", bundle])?;
    ensure!(out.status.code() == Some(0), "{out:?}");

    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise = GrayImage::from_fn(800, 600, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Luma([(state >> 56) as u8])
    });
    let noise_path = dir.join("noise.png");
    noise.save(&noise_path)?;
    let png = std::fs::read(dir.join("seal.png"))?;
    let cut = dir.join("cut.png");
    std::fs::write(&cut, &png[..png.len() / 2])?;
    for (path, says) in [
        (&noise_path, "no seal could be read in this photo"),
        (&cut, "cannot be decoded"),
    ] {
        let out = tally(&["paper", "verify", path_str(path)?, "--bundle", bundle])?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.code() == Some(2) && stderr.contains(says) && out.stdout.is_empty(),
            "{}: {out:?}",
            path.display()
        );
    }
    Ok(())
}

/// The QR code of `text` as a seal prints it, `px` pixels a module, with a
/// quiet zone of 4 modules.
fn render(text: &str, px: u32) -> Result<GrayImage> {
    let qr = tally_verify::paper::qr(text)?;
    let side = (u32::try_from(qr.width)? + 8) * px;
    Ok(GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / px) as usize, (y / px) as usize);
        let dark = mx >= 4 && my >= 4 && qr.dark(mx - 4, my - 4);
        Luma([if dark { 25 } else { 230 }])
    }))
}

/// `img` turned by `degrees` about its centre (bilinear), on white.
fn rotate(img: &GrayImage, degrees: f64) -> GrayImage {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let side = (w * cos.abs() + h * sin.abs()).ceil() as u32;
    let c = f64::from(side) / 2.0;
    let at = |x: f64, y: f64| -> f64 {
        if x < 0.0 || y < 0.0 || x >= w || y >= h {
            255.0
        } else {
            f64::from(img.get_pixel(x as u32, y as u32)[0])
        }
    };
    GrayImage::from_fn(side, side, |x, y| {
        let (dx, dy) = (f64::from(x) - c, f64::from(y) - c);
        let (sx, sy) = (
            cos * dx + sin * dy + w / 2.0,
            -sin * dx + cos * dy + h / 2.0,
        );
        let (fx, fy) = (sx.floor(), sy.floor());
        let (tx, ty) = (sx - fx, sy - fy);
        let top = at(fx, fy) * (1.0 - tx) + at(fx + 1.0, fy) * tx;
        let bottom = at(fx, fy + 1.0) * (1.0 - tx) + at(fx + 1.0, fy + 1.0) * tx;
        Luma([(top * (1.0 - ty) + bottom * ty).round() as u8])
    })
}
