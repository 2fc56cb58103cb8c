//! `malformed.json`: one vector per row of the decoding table (PROTOCOL.md
//! 2.5): the signed entry, validly signed by US-DDTC key 1, and its verdict:
//! `refused` (never stored; gossip Reject), `stored_invalid` (stored,
//! relayed, `document.invalid` with reason `unknown_kind`) or `stored`.

use ed25519_dalek::Signer as _;
use serde_json::{Value, json};
use tally_model::{Body, SignedEntry};

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push(0x80 | (n as u8 & 0x7f));
        n >>= 7;
    }
    out.push(n as u8);
}

/// The canonical wrapper of `entry`, signed with `secret`.
fn wrap(entry: &[u8], secret: &[u8; 32]) -> Vec<u8> {
    let signer = ed25519_dalek::SigningKey::from_bytes(secret);
    let sig = signer.sign(&[crate::DOMAIN, entry].concat());
    let mut w = vec![0x0a];
    varint(entry.len() as u64, &mut w);
    w.extend_from_slice(entry);
    w.extend_from_slice(&[0x12, 0x20]);
    w.extend_from_slice(signer.verifying_key().as_bytes());
    w.extend_from_slice(&[0x1a, 0x40]);
    w.extend_from_slice(&sig.to_bytes());
    w
}

/// Entry fields 1, 2, 4 (authority, seq, issued_at) as given.
fn head(authority: &str, seq: u64, at: i64) -> Vec<u8> {
    let mut h = vec![0x0a];
    varint(authority.len() as u64, &mut h);
    h.extend_from_slice(authority.as_bytes());
    if seq != 0 {
        h.push(0x10);
        varint(seq, &mut h);
    }
    h.push(0x20);
    varint(at as u64, &mut h);
    h
}

/// The rows of the decoding table: (id, description, entry bytes, verdict).
/// `entry` is US-DDTC seq 1's entry bytes (an export license), `at` its
/// issue time.
fn rows(entry: &[u8], at: i64) -> Vec<(&'static str, &'static str, Vec<u8>, &'static str)> {
    let with = |extra: &[u8]| -> Vec<u8> { [entry, extra].concat() };
    let mut unknown_value = entry.to_vec();
    let unit = entry
        .windows(5)
        .position(|w| w == b"units")
        .expect("the license has a line in units");
    unknown_value[unit + 4] = b'z';
    vec![
        (
            "unknown_field",
            "An unknown field (99, length-delimited) after the known ones: kept and signed over.",
            with(&[0x9a, 0x06, 0x03, b'n', b'e', b'w']),
            "stored",
        ),
        (
            "duplicated_singular",
            "seq (field 2) a second time.",
            with(&[0x10, 0x01]),
            "refused",
        ),
        (
            "wrong_wire_type",
            "issued_at_ms (field 4, a varint) again as a length-delimited field.",
            with(&[0x22, 0x01, 0x00]),
            "refused",
        ),
        (
            "overlong_varint",
            "An unknown varint field (100) whose value has a redundant 0x80 0x00 tail.",
            with(&[0xa0, 0x06, 0x85, 0x00]),
            "refused",
        ),
        (
            "invalid_utf8",
            "A recipients string (field 5) that is not UTF-8.",
            with(&[0x2a, 0x02, 0xc3, 0x28]),
            "refused",
        ),
        (
            "document_and_sealed",
            "An empty sealed body (field 7) after the document (field 6): two members of one oneof.",
            with(&[0x3a, 0x00]),
            "refused",
        ),
        (
            "group_wire_type",
            "A start-group tag (field 99, wire type 3).",
            with(&[0x9b, 0x06]),
            "refused",
        ),
        (
            "seq_zero",
            "No seq (0) and an empty document.",
            [head("US-DDTC", 0, at), vec![0x32, 0x00]].concat(),
            "refused",
        ),
        (
            "prev_wrong_length",
            "seq 2 with a 31-byte prev.",
            [
                head("US-DDTC", 2, at),
                vec![0x1a, 31],
                vec![7; 31],
                vec![0x32, 0x00],
            ]
            .concat(),
            "refused",
        ),
        (
            "unknown_kind",
            "A document whose only member is an unknown kind (field 50): stored, document.invalid (unknown_kind).",
            [head("US-DDTC", 1, at), vec![0x32, 0x03, 0x92, 0x03, 0x00]].concat(),
            "stored_invalid",
        ),
        (
            "unknown_value",
            "The license's unit \"units\" changed to \"unitz\": stored, document.invalid (unknown_kind).",
            unknown_value,
            "stored_invalid",
        ),
    ]
}

/// `entry` is US-DDTC seq 1's entry bytes (an export license), `secret`
/// the key that signed it.
pub fn file(entry: &[u8], at: i64, secret: &[u8; 32]) -> Value {
    let list: Vec<Value> = rows(entry, at)
        .into_iter()
        .map(|(id, description, entry, verdict)| {
            let wire = wrap(&entry, secret);
            let got = match SignedEntry::decode(&wire).and_then(|s| s.open()) {
                Err(_) => "refused",
                Ok(e) if matches!(e.body, Body::Unknown(_)) => "stored_invalid",
                Ok(_) => "stored",
            };
            assert_eq!(got, verdict, "{id}");
            json!({
                "id": id,
                "description": description,
                "signed_entry": crate::hex(&wire),
                "verdict": verdict,
            })
        })
        .collect();
    json!({
        "description": "The decoding table (PROTOCOL.md 2.5): each signed entry is validly signed by US-DDTC key 1; `verdict` is refused (malformed: never stored, gossip Reject), stored_invalid (stored and relayed, document.invalid with reason unknown_kind) or stored.",
        "cases": list,
    })
}
