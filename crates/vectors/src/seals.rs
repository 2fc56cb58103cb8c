//! `seals.json`: paper seals (PROTOCOL.md, "Paper seals"), step by step,
//! so a phone app written elsewhere can verify them: the paper key, the
//! summary as JSON and as the CBOR claims, the COSE_Sign1, its zlib stream,
//! the text in the QR code; then the three answers a verifier gives
//! (genuine, altered, untrusted) and texts that are not seals; then a
//! license whose line of 450 serials goes on three annex pages, each with
//! its own seal, step by step, with the answers to its variants.

use crate::{hex, seed};
use serde_json::{Value, json};
use tally_model::signer::{FileSigner, Signer as _};
use tally_model::{AuthorityKey, License};
use tally_verify::paper::{Summary, Times};

/// The paper key of US-DDTC in the vectors.
fn paper_key() -> AuthorityKey {
    AuthorityKey::from_bytes(&seed("tally-vectors/paper/US-DDTC/1"))
}

fn summary() -> Summary {
    let mut e = crate::documents::export_license();
    e.items[0].serials = vec!["AC1000".into(), "ac 1001".into()];
    Summary::of("US-DDTC", 1, "2026-01-05", &License::Export(e)).expect("an export license seals")
}

const TIMES: Times = Times {
    // 2026-01-06T00:00:00Z, and the end of 2026-04-30 (valid_until).
    printed_at: 1_767_657_600,
    expires_at: 1_777_593_599,
};

/// `cose` with line 1's quantity raised by one, compressed and encoded again.
fn altered(cose: &[u8]) -> String {
    let mut cose = cose.to_vec();
    let at = cose
        .windows(2)
        .position(|w| w == [0x07, 0x18])
        .expect("line 1's quantity");
    cose[at + 2] = cose[at + 2].wrapping_add(1);
    format!(
        "TLY1:{}",
        base45::encode(tally_verify::paper::seal::deflate(&cose))
    )
}

/// The export license of documents.json with 450 serials on line 1
/// (`AC1000` to `AC1449`), its summary, and its three annex parts.
fn annexed() -> (Summary, Vec<tally_verify::paper::AnnexPart>) {
    let mut e = crate::documents::export_license();
    e.items[0].quantity = e.items[0].quantity.max(450);
    e.items[0].serials = (1000..1450).map(|n| format!("AC{n}")).collect();
    let parts = tally_verify::paper::parts(e.items[0].line, &e.items[0].serials);
    let s = Summary::of("US-DDTC", 1, "2026-01-05", &License::Export(e)).expect("seals");
    (s, parts)
}

/// `text`'s COSE_Sign1 with `from` replaced by `to` (as long), compressed
/// and encoded again.
fn replaced(cose: &[u8], from: &[u8], to: &[u8]) -> String {
    let mut cose = cose.to_vec();
    let at = cose
        .windows(from.len())
        .position(|w| w == from)
        .expect("the bytes to replace");
    cose[at..at + to.len()].copy_from_slice(to);
    format!(
        "TLY1:{}",
        base45::encode(tally_verify::paper::seal::deflate(&cose))
    )
}

/// The annex vectors: the main seal of a license whose serials go on
/// annex pages, every part sealed step by step, and variants of part 2.
fn annex(signer: &FileSigner) -> (Value, Value) {
    let (s, parts) = annexed();
    let main = tally_verify::paper::seal(&s, TIMES, signer).expect("seals");
    let mut sealed_parts = Vec::new();
    let mut part2 = None;
    for p in &parts {
        let a = &p.annex;
        let sealed = tally_verify::paper::seal_annex(&s, a, TIMES, signer).expect("seals");
        let qr = tally_verify::paper::qr(&sealed.text).expect("fits a QR code");
        if a.part == 2 {
            part2 = Some(sealed.clone());
        }
        sealed_parts.push(json!({
            "annex": a,
            "cti": hex(tally_verify::paper::annex_cti("US-DDTC", &s.number, 1, a.line, a.part)),
            "claims": hex(&sealed.claims),
            "cose_sign1": hex(&sealed.cose),
            "zlib": hex(&sealed.compressed),
            "text": sealed.text,
            "qr_version": qr.version,
        }));
    }
    let part2 = part2.expect("a part 2");
    let vector = json!({
        "description": "The same export license with 450 serials on line 1 (AC1000 to AC1449): the main seal gives the line's count and digest as ever; the serials, normalized and sorted, go on three annex pages of at most 200, each sealed with the document's identity (summary keys 1 to 4) and the annex claim (key 20: {1 line, 2 part, 3 parts, 4 first serial, 5 last serial, 6 count, 7 SHA-256 of the part's serials joined by \\n}), its cti SHA-256(\"tally/seal/annex-cti/v1\\0\" || authority || 0 || number || 0 || version || line || part, each integer 4 bytes big-endian)[..16], the main seal's iat and exp. The parts' counts add up to the main seal's serial count.",
        "main_text": main.text,
        "serial_count": s.lines[0].serial_count,
        "parts": sealed_parts,
    });
    // Part 2's claim, `a7 01 01 02 02 03 03`: line 1, part 2, parts 3.
    let cases = json!([
        {"description": "Annex part 2 as printed, with the paper key trusted.", "text": part2.text, "compromised": false, "expect": "genuine"},
        {"description": "Annex part 2, its key marked compromised.", "text": part2.text, "compromised": true, "expect": "untrusted"},
        {"description": "Annex part 2 with its last serial changed (AC1399 to AC1398) inside the COSE payload, compressed and encoded again: it reads, its signature fails.", "text": replaced(&part2.cose, b"AC1399", b"AC1398"), "compromised": false, "expect": "altered"},
        {"description": "Annex part 2 claiming to be part 4 of 3: no annex reads so.", "text": replaced(&part2.cose, &[0xa7, 1, 1, 2, 2, 3, 3], &[0xa7, 1, 1, 2, 4, 3, 3]), "compromised": false, "expect": "not_a_seal"},
    ]);
    (vector, cases)
}

pub fn file() -> Value {
    let signer = FileSigner::new(&paper_key());
    let public = signer.public_key();
    let s = summary();
    let sealed = tally_verify::paper::seal(&s, TIMES, &signer).expect("seals");
    let qr = tally_verify::paper::qr(&sealed.text).expect("fits a QR code");
    let mut damaged = sealed.text.clone().into_bytes();
    damaged[12] = if damaged[12] == b'A' { b'B' } else { b'A' };
    let damaged = String::from_utf8(damaged).expect("ascii");
    let (annex, annex_cases) = annex(&signer);
    json!({
        "description": "Paper seals: the summary in CWT claims (iss 1, exp 4, iat 6, cti 7, the summary under -65537), a COSE_Sign1 (tag 18, alg -19, kid, external_aad \"tally/seal/v1\"), zlib level 9, Base45 after \"TLY1:\". Signatures verify under RFC 8032 (cofactorless, canonical).",
        "paper_key": {
            "authority": "US-DDTC",
            "secret": hex(seed("tally-vectors/paper/US-DDTC/1")),
            "public_key": hex(public),
            "kid": hex(tally_verify::paper::seal::key_id(&public)),
        },
        "seal": {
            "description": "The export license of documents.json, version 1, issued on 2026-01-05, with two serials on line 1 (digest over the normalized serials AC1000 and AC1001).",
            "summary": s,
            "iat": TIMES.printed_at,
            "exp": TIMES.expires_at,
            "cti": hex(tally_verify::paper::seal::cti("US-DDTC", &s.number, 1)),
            "claims": hex(&sealed.claims),
            "cose_sign1": hex(&sealed.cose),
            "zlib": hex(&sealed.compressed),
            "text": sealed.text,
            "qr_version": qr.version,
        },
        "cases": [
            {"description": "The seal as printed, with the paper key trusted.", "text": sealed.text, "compromised": false, "expect": "genuine"},
            {"description": "The same seal, its key marked compromised.", "text": sealed.text, "compromised": true, "expect": "untrusted"},
            {"description": "Line 1's quantity raised by one inside the COSE payload, compressed and encoded again: it reads, its signature fails.", "text": altered(&sealed.cose), "compromised": false, "expect": "altered"},
            {"description": "One Base45 character changed: the text no longer decodes into a seal.", "text": damaged, "compromised": false, "expect": "not_a_seal"},
            {"description": "Another scheme's prefix.", "text": "HC1:NCFOXN%TS3DH", "compromised": false, "expect": "not_a_seal"},
        ],
        "annex": annex,
        "annex_cases": annex_cases,
    })
}
