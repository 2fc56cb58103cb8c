//! The seals the paper verifier's browser test makes and the rules it
//! holds the page to: a seal altered (its CBOR changed, then re-compressed
//! and re-encoded) or merely damaged (a Base45 character changed), drawn as
//! a PNG of its QR code; tally_verify's answer for a text; and the two
//! checks run inside the page: its reader against tally_verify on every
//! one-bit change of a seal, and its decoders at their bounds.

use super::super::Browser;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::json;
use tally_verify::paper::{Bundle, Genuine};

/// `seal`'s COSE_Sign1 with the exporter's name changed in its claims,
/// re-compressed and re-encoded: well formed, and altered.
pub(super) fn altered(seal: &str) -> Result<String> {
    let body = seal.strip_prefix("TLY1:").context("a seal")?;
    let compressed = base45::decode(body).map_err(|e| anyhow!("Base45: {e:?}"))?;
    let mut cose = miniz_oxide::inflate::decompress_to_vec_zlib(&compressed)
        .map_err(|e| anyhow!("zlib: {e:?}"))?;
    let (from, to) = (b"Acme Arms Inc.", b"Acme Arms Ltd.");
    let at = cose
        .windows(from.len())
        .position(|w| w == from)
        .context("the exporter's name in the seal")?;
    cose[at..at + to.len()].copy_from_slice(to);
    let again = tally_verify::paper::seal::deflate(&cose);
    Ok(format!("TLY1:{}", base45::encode(&again)))
}

/// `seal` with one Base45 character changed: it no longer inflates.
pub(super) fn flipped(seal: &str) -> String {
    let mut chars: Vec<char> = seal.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// What tally_verify answers for `text` against `b`: verdict and status.
pub(super) fn rust_answer(b: &Bundle, text: &str) -> (String, String) {
    let now = tally_verify::now_ms() / 1000;
    match tally_verify::paper::read(text) {
        Err(_) => ("not_a_seal".into(), "n/a".into()),
        Ok(r) => {
            let g = b.genuine(&r);
            let verdict = serde_json::to_value(g)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let status = if g == Genuine::Genuine {
                b.status_of(&r, now).to_string()
            } else {
                "n/a".into()
            };
            (verdict, status)
        }
    }
}

/// CRC-32 (ISO 3309), for PNG chunks.
pub(super) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut c = !0u32;
    for byte in parts.iter().flat_map(|p| p.iter()) {
        c ^= u32::from(*byte);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A greyscale PNG of `width` x `height` from `grey(x, y)`.
pub(super) fn png(width: u32, height: u32, grey: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((width + 1) * height) as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        raw.extend((0..width).map(|x| grey(x, y)));
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(kind);
        out.extend(data);
        out.extend(crc32(&[kind, data]).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit greyscale, no interlace
    chunk(b"IHDR", &ihdr);
    chunk(
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    chunk(b"IEND", &[]);
    out
}

/// The seal's QR code as a PNG, 6 px a module with a quiet zone of 4.
pub(super) fn qr_png(text: &str) -> Result<Vec<u8>> {
    let q = tally_verify::paper::qr(text).map_err(|e| anyhow!("{e}"))?;
    let (scale, quiet) = (6u32, 4u32);
    let side = (q.width as u32 + 2 * quiet) * scale;
    Ok(png(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside = mx >= quiet && my >= quiet;
        let dark = inside && q.dark((mx - quiet) as usize, (my - quiet) as usize);
        if dark { 0 } else { 255 }
    }))
}

/// The page's decoders stop at their bounds with "not a seal", never a hang:
/// a zlib bomb (100 kB of zeros), arrays nested 10,000 deep, a byte string
/// claiming 4 GiB, an indefinite-length array, a simple value it does not
/// know; each is also not a seal to tally_verify.
pub(super) async fn bounded(b: &Browser) -> Result<()> {
    let seal = |cose: &[u8]| {
        let z = tally_verify::paper::seal::deflate(cose);
        format!("TLY1:{}", base45::encode(&z))
    };
    let mut deep = vec![0xd2u8]; // tag 18
    deep.extend(std::iter::repeat_n(0x81u8, 10_000));
    deep.push(0x00);
    let texts = [
        ("bomb", seal(&vec![0u8; 100_000])),
        ("deep", seal(&deep)),
        (
            "long",
            seal(&[0xd2, 0x84, 0x5a, 0xff, 0xff, 0xff, 0xff, 0x00]),
        ),
        (
            "indefinite",
            seal(&[0xd2, 0x9f, 0x40, 0xa0, 0x40, 0x40, 0xff]),
        ),
        ("simple", seal(&[0xd2, 0x84, 0x40, 0xa0, 0xf0, 0x40])),
    ];
    for (name, text) in &texts {
        if tally_verify::paper::read(text).is_ok() {
            bail!("{name}: tally_verify reads it as a seal");
        }
    }
    let got = b
        .paper_async(
            "const [texts, done] = [arguments[0], arguments[arguments.length - 1]];
             (async () => {
               const S = await import('/paper/seal.js');
               const out = [];
               for (const t of texts) {
                 try { await S.read(t); out.push('read'); }
                 catch (e) { out.push(e instanceof S.NotASeal ? `not a seal: ${e.message}` : `error: ${e}`); }
               }
               return out;
             })().then(done, (e) => done(`failed: ${e}`));",
            json!([texts.iter().map(|(_, t)| t).collect::<Vec<_>>()]),
        )
        .await?;
    if got.as_array().map(Vec::len) != Some(texts.len()) {
        bail!("the page's answers: {got}");
    }
    for ((name, _), answer) in texts.iter().zip(got.as_array().into_iter().flatten()) {
        if !answer.as_str().is_some_and(|a| a.starts_with("not a seal")) {
            bail!("{name}: the page answers {answer}");
        }
    }
    let bomb = got[0].as_str().unwrap_or_default();
    if !bomb.contains("inflates past") {
        bail!("the zlib bomb: {bomb}");
    }
    Ok(())
}

/// The license's seal with each byte of its COSE_Sign1 changed in turn
/// (bit 0, then 5, which turns one CBOR major type into another, then 7),
/// re-compressed and re-encoded.
pub(super) fn variants(seal: &str) -> Result<Vec<String>> {
    let body = seal.strip_prefix("TLY1:").context("a seal")?;
    let compressed = base45::decode(body).map_err(|e| anyhow!("Base45: {e:?}"))?;
    let cose = miniz_oxide::inflate::decompress_to_vec_zlib(&compressed)
        .map_err(|e| anyhow!("zlib: {e:?}"))?;
    Ok([0x01u8, 0x20, 0x80]
        .into_iter()
        .flat_map(|bit| (0..cose.len()).map(move |i| (i, bit)))
        .map(|(i, bit)| {
            let mut c = cose.clone();
            c[i] ^= bit;
            let z = tally_verify::paper::seal::deflate(&c);
            format!("TLY1:{}", base45::encode(&z))
        })
        .collect())
}

/// The page's reader and tally_verify agree, verdict for verdict, on every
/// variant of the seal: not a seal, altered or untrusted as the CLI says.
pub(super) async fn same_rules(b: &Browser, bundle: &Bundle, seal: &str) -> Result<()> {
    let texts = variants(seal)?;
    let page = b
        .paper_async(
            "const [texts, done] = [arguments[0], arguments[arguments.length - 1]];
             (async () => {
               const S = await import('/paper/seal.js');
               const B = await import('/paper/bundle.js');
               const K = await import('/paper/store.js');
               const keys = B.paperKeys(await K.load('bundle'));
               const out = [];
               for (const t of texts) {
                 try { out.push((await S.genuine(await S.read(t), keys)).verdict); }
                 catch (e) { out.push(e instanceof S.NotASeal ? 'not_a_seal' : `error: ${e}`); }
               }
               return out;
             })().then(done, (e) => done(`failed: ${e}`));",
            json!([texts]),
        )
        .await?;
    let page = page
        .as_array()
        .ok_or_else(|| anyhow!("the page's verdicts: {page}"))?;
    if page.len() != texts.len() {
        bail!("{} verdicts for {} seals", page.len(), texts.len());
    }
    let mut differ = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, (text, got)) in texts.iter().zip(page).enumerate() {
        let (want, _) = rust_answer(bundle, text);
        seen.insert(want.clone());
        if got.as_str() != Some(want.as_str()) {
            differ.push(format!("variant {i}: page {got}, tally_verify {want}"));
        }
    }
    if !differ.is_empty() {
        bail!("the page and tally_verify disagree:\n{}", differ.join("\n"));
    }
    // The variants reach every rule, not only the first.
    for verdict in ["not_a_seal", "untrusted", "altered"] {
        if !seen.contains(verdict) {
            bail!("no variant reads as {verdict}: {seen:?}");
        }
    }
    Ok(())
}

/// Standard base64 with padding.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `img` turned `degrees` about its centre, on white, the canvas grown to
/// hold it (bilinear): what a photo taken slightly askew looks like.
pub(super) fn rotated(img: &image::GrayImage, degrees: f64) -> image::GrayImage {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (nw, nh) = (
        (w * cos.abs() + h * sin.abs()).ceil(),
        (w * sin.abs() + h * cos.abs()).ceil(),
    );
    let at = |x: i64, y: i64| -> f64 {
        if x < 0 || y < 0 || x >= img.width() as i64 || y >= img.height() as i64 {
            255.0
        } else {
            img.get_pixel(x as u32, y as u32)[0] as f64
        }
    };
    image::GrayImage::from_fn(nw as u32, nh as u32, |x, y| {
        // The source of (x, y): turned back about the centres.
        let (dx, dy) = (x as f64 - nw / 2.0, y as f64 - nh / 2.0);
        let sx = cos * dx + sin * dy + w / 2.0;
        let sy = -sin * dx + cos * dy + h / 2.0;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
        let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy).round() as u8])
    })
}
