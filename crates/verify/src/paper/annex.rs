//! Annex pages (docs/PROTOCOL.md 14, "Annex pages"): the serials of a
//! line too long for the main page are printed on annex pages, each
//! holding one part of one line's serials with a seal of its own.
//!
//! An annex seal's summary holds the document's identity (keys 1 to 4)
//! and the annex claim (key 20), nothing else: which line, which part of
//! how many, the first and last serial, the count and a digest of the
//! part's serials. Its `cti` is [`annex_cti`], so no two parts, and no part
//! and its main seal, share one. The main seal is unchanged by annexes: it
//! still gives each line's whole count and digest.

use crate::paper::summary::{Summary, SummaryError};
use crate::paper::summary_cbor::{Fields, int, map, text};
use ciborium::Value;
use sha2::{Digest, Sha256};
use tally_model::normalize_serial;

/// The most serials the main page lists: a line whose serials would pass
/// this (with the lines before it) goes on annex pages whole, so the main
/// page stays one A4 sheet.
pub const INLINE_SERIALS: usize = 40;
/// The most serials one annex page lists (one A4 sheet with its QR code).
pub const SERIALS_PER_PART: usize = 200;
/// The summary key of the annex claim.
pub const ANNEX_KEY: u64 = 20;

/// What an annex seal says of its page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Annex {
    pub line: u32,
    /// 1 to `parts`.
    pub part: u32,
    pub parts: u32,
    /// The part's first and last serial, normalized, in sorted order.
    pub first: String,
    pub last: String,
    pub count: u64,
    /// SHA-256 of the part's normalized serials, sorted, joined by `\n`.
    #[serde(serialize_with = "hex32")]
    pub digest: [u8; 32],
}

fn hex32<S: serde::Serializer>(d: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(d))
}

/// One annex page: its claim and the serials it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnexPart {
    pub annex: Annex,
    pub serials: Vec<String>,
}

/// An annex's `cti`: 16 bytes of SHA-256 over its own label, the
/// document's authority, number and version, the line and the part. The
/// label differs from the main seal's, so no annex names a document.
pub fn annex_cti(authority: &str, number: &str, version: u32, line: u32, part: u32) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"tally/seal/annex-cti/v1\0");
    h.update(authority.as_bytes());
    h.update([0]);
    h.update(number.as_bytes());
    h.update([0]);
    h.update(version.to_be_bytes());
    h.update(line.to_be_bytes());
    h.update(part.to_be_bytes());
    let d = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&d[..16]);
    id
}

/// Which lines go on annex pages: in order, a line is listed on the main
/// page while the serials listed there stay within [`INLINE_SERIALS`];
/// a line past that goes to annexes whole (never split between the two).
pub fn annexed_lines<'a>(lines: impl IntoIterator<Item = (u32, &'a [String])>) -> Vec<u32> {
    let mut left = INLINE_SERIALS;
    let mut out = Vec::new();
    for (line, serials) in lines {
        if serials.len() <= left {
            left -= serials.len();
        } else {
            out.push(line);
        }
    }
    out
}

/// The annex parts of `line`: its serials normalized (as the summary's
/// digest normalizes them), sorted, cut into parts of at most
/// [`SERIALS_PER_PART`].
pub fn parts(line: u32, serials: &[String]) -> Vec<AnnexPart> {
    let mut normal: Vec<String> = serials.iter().map(|s| normalize_serial(s)).collect();
    normal.sort();
    let chunks: Vec<&[String]> = normal.chunks(SERIALS_PER_PART).collect();
    let parts = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
    chunks
        .into_iter()
        .zip(1u32..)
        .map(|(chunk, part)| AnnexPart {
            annex: Annex {
                line,
                part,
                parts,
                first: chunk.first().cloned().unwrap_or_default(),
                last: chunk.last().cloned().unwrap_or_default(),
                count: chunk.len() as u64,
                digest: Sha256::digest(chunk.join("\n").as_bytes()).into(),
            },
            serials: chunk.to_vec(),
        })
        .collect()
}

/// The summary of an annex seal: the document's identity and the claim.
pub(crate) fn to_cbor(doc: &Summary, a: &Annex) -> Value {
    map(vec![
        (1, Some(text(&doc.kind))),
        (2, Some(text(&doc.authority))),
        (3, Some(text(&doc.number))),
        (4, Some(int(u64::from(doc.version)))),
        (
            ANNEX_KEY,
            Some(map(vec![
                (1, Some(int(u64::from(a.line)))),
                (2, Some(int(u64::from(a.part)))),
                (3, Some(int(u64::from(a.parts)))),
                (4, Some(text(&a.first))),
                (5, Some(text(&a.last))),
                (6, Some(int(a.count))),
                (7, Some(Value::Bytes(a.digest.to_vec()))),
            ])),
        ),
    ])
}

/// Whether a summary's map holds the annex claim.
pub(crate) fn is_annex(v: &Value) -> bool {
    matches!(v, Value::Map(m) if m.iter().any(|(k, _)| k.as_integer() == Some(ANNEX_KEY.into())))
}

fn err<T>(what: &str) -> Result<T, SummaryError> {
    Err(SummaryError(what.into()))
}

fn small(f: &mut Fields, key: u64, what: &str) -> Result<u32, SummaryError> {
    u32::try_from(f.number(key, what)?).map_err(|_| SummaryError(format!("{what} is too large")))
}

/// Reads an annex seal's summary: the document's identity (as a summary
/// with no other field) and the claim. An annex that also carries the
/// document's fields (keys 5 to 19), or whose part is not one of its
/// parts, is not read.
pub(crate) fn from_cbor(v: Value) -> Result<(Summary, Annex), SummaryError> {
    let mut f = Fields::of(v, "the annex summary")?;
    if (5..ANNEX_KEY).any(|k| f.has(k)) {
        return err("an annex seal holds no document fields beside its identity");
    }
    let version = small(&mut f, 4, "version")?;
    let doc = Summary::identity(
        f.need_text(1, "kind")?,
        f.need_text(2, "authority")?,
        f.need_text(3, "number")?,
        version,
    );
    let Some(claim) = f.take(ANNEX_KEY) else {
        return err("the annex claim is missing");
    };
    let mut a = Fields::of(claim, "the annex claim")?;
    let digest = match a.take(7) {
        Some(Value::Bytes(b)) => <[u8; 32]>::try_from(b.as_slice())
            .map_err(|_| SummaryError("the annex digest is not 32 bytes".into()))?,
        _ => return err("the annex digest is not bytes"),
    };
    let annex = Annex {
        line: small(&mut a, 1, "the annex line")?,
        part: small(&mut a, 2, "the annex part")?,
        parts: small(&mut a, 3, "the annex parts")?,
        first: a.need_text(4, "the annex's first serial")?,
        last: a.need_text(5, "the annex's last serial")?,
        count: a.number(6, "the annex count")?,
        digest,
    };
    if annex.part == 0 || annex.part > annex.parts {
        return err("the annex part is not one of its parts");
    }
    if annex.count == 0 || annex.first > annex.last {
        return err("the annex lists no serials in order");
    }
    Ok((doc, annex))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serials(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("ac-{i:05}")).collect()
    }

    #[test]
    fn a_long_line_is_cut_into_sorted_normalized_parts() {
        let p = parts(3, &serials(450));
        assert_eq!(p.len(), 3);
        let counts: Vec<u64> = p.iter().map(|x| x.annex.count).collect();
        assert_eq!(counts, [200, 200, 50]);
        assert_eq!(p[0].annex.first, "AC00000");
        assert_eq!(p[2].annex.last, "AC00449");
        assert!(p.iter().all(|x| x.annex.parts == 3 && x.annex.line == 3));
        assert_eq!(p[1].annex.part, 2);
        assert_eq!(
            p[1].annex.digest,
            <[u8; 32]>::from(Sha256::digest(p[1].serials.join("\n").as_bytes()))
        );
    }

    #[test]
    fn lines_past_the_main_page_go_to_annexes_whole() {
        let (a, b, c) = (serials(30), serials(20), serials(10));
        let lines = [(1, a.as_slice()), (2, b.as_slice()), (3, c.as_slice())];
        assert_eq!(
            annexed_lines(lines),
            [2],
            "30 inline, 20 would pass 40, 10 fits"
        );
        assert!(annexed_lines([(1, serials(40).as_slice())]).is_empty());
        assert_eq!(annexed_lines([(1, serials(41).as_slice())]), [1]);
    }

    #[test]
    fn every_part_has_its_own_cti() {
        let ids = [
            annex_cti("US-DDTC", "E-1", 1, 1, 1),
            annex_cti("US-DDTC", "E-1", 1, 1, 2),
            annex_cti("US-DDTC", "E-1", 1, 2, 1),
            annex_cti("US-DDTC", "E-1", 2, 1, 1),
            crate::paper::seal::cti("US-DDTC", "E-1", 1),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
