//! `entries.json`: signed entries (PROTOCOL.md 3.1): two valid ones (US-DDTC
//! seq 1 of chain.json and MX-SEDENA's first entry) with every value of
//! signing spelled out, and three that must fail the signature rule.
//! signatures.json holds the rule's edge cases.

use crate::{Chain, DOMAIN, chain, hex, signatures, signed_json, signing_key, signing_secret};
use ed25519_dalek::Signer as _;
use prost::Message as _;
use prost::bytes::Bytes;
use serde_json::{Value, json};
use tally_proto::v1 as pb;

pub(crate) fn file(chain: &Chain) -> Value {
    let (first, _, _) = &chain[0];
    let mx = chain::mx_sedena_first();
    let valid = vec![
        signed_json("US-DDTC seq 1, a clear export license", first, 1),
        signed_json("MX-SEDENA seq 1, a clear import certificate", &mx, 1),
    ];

    // Invalid: each must fail the signature rule with the given key.
    let key = signing_key("US-DDTC", 1);
    let key_id = key.public().as_bytes().to_vec();
    let bytes = first.signed().entry_bytes().to_vec();
    let bare = ed25519_dalek::SigningKey::from_bytes(&signing_secret("US-DDTC", 1))
        .sign(&bytes)
        .to_bytes();
    let good_sig: [u8; 64] = {
        let w = first.signed().encode();
        w[w.len() - 64..].try_into().expect("64 bytes")
    };
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let invalid: Vec<Value> = [
        (
            "Signed over the entry bytes without the \"tally/entry/v1\" prefix: MUST fail.",
            &bytes,
            bare,
        ),
        (
            "The valid signature of US-DDTC seq 1 with L added to S (non-canonical S >= L): MUST fail.",
            &bytes,
            signatures::s_plus_l(good_sig),
        ),
        (
            "US-DDTC seq 1 with its last entry byte flipped: MUST fail.",
            &tampered,
            good_sig,
        ),
    ]
    .into_iter()
    .map(|(description, entry, sig)| {
        let wire = pb::SignedEntry {
            entry: Bytes::copy_from_slice(entry),
            key_id: Bytes::copy_from_slice(&key_id),
            signature: Bytes::copy_from_slice(&sig),
        }
        .encode_to_vec();
        json!({
            "description": description,
            "key": hex(&key_id),
            "signed_entry": hex(wire),
        })
    })
    .collect();
    json!({
        "description": "Signed entries. message = \"tally/entry/v1\" || entry; signature = Ed25519(message); entry_id = SHA-256(entry). Keys are in keys.json (signing_key = n).",
        "domain": hex(DOMAIN),
        "valid": valid,
        "invalid": invalid,
    })
}
