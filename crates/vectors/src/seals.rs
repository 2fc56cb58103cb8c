//! `seals.json`: paper seals (PROTOCOL.md, "Paper seals"), step by step,
//! so a phone app written elsewhere can verify them: the paper key, the
//! summary as JSON and as the CBOR claims, the COSE_Sign1, its zlib stream,
//! the text in the QR code; then the three answers a verifier gives
//! (genuine, altered, untrusted) and texts that are not seals.

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

pub fn file() -> Value {
    let signer = FileSigner::new(&paper_key());
    let public = signer.public_key();
    let s = summary();
    let sealed = tally_verify::paper::seal(&s, TIMES, &signer).expect("seals");
    let qr = tally_verify::paper::qr(&sealed.text).expect("fits a QR code");
    let mut damaged = sealed.text.clone().into_bytes();
    damaged[12] = if damaged[12] == b'A' { b'B' } else { b'A' };
    let damaged = String::from_utf8(damaged).expect("ascii");
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
    })
}
