//! `issuer_keys.json`: which of an issuer's encryption keys a reader tries
//! on a sealed entry (PROTOCOL.md 6.7). One issuer, MX-SEDENA, with a card
//! key and eighteen announcements in its log, one of them repeating a key
//! (it does not count); for several entry times, the keys tried, oldest
//! first. Generated from the implementation's own selection
//! (`tally_model::issuer_keys`), from the whole log, so another
//! implementation can compare its bounded read with it.

use crate::seed;
use serde_json::{Value, json};
use tally_model::issuer_keys::{Announced, counted, newest, select};
use tally_model::{CardKey, EncryptionSecret};

/// Announced key `n` of the issuer (a public seed, like every vector key).
fn key(n: u32) -> String {
    EncryptionSecret::from_bytes(seed(&format!(
        "tally-vectors/x25519/MX-SEDENA/announced/{n}"
    )))
    .public()
    .to_hex()
}

pub(crate) fn file() -> Value {
    let card_key = EncryptionSecret::from_bytes(crate::encryption_secret("MX-SEDENA"))
        .public()
        .to_hex();
    let card = vec![CardKey::new(card_key.clone(), 0)];
    let keys: Vec<String> = (1..=17).map(key).collect();
    // Seq 2..=18 announce keys 1..=17, valid from 1000 * n; seq 19
    // announces key 3 again (valid from 50,000: it would be the newest).
    let mut log: Vec<Announced> = keys
        .iter()
        .zip(1..)
        .map(|(k, n)| Announced {
            public_key: k,
            valid_from_ms: 1_000 * n,
            seq: n as u64 + 1,
        })
        .collect();
    log.push(Announced {
        public_key: &keys[2],
        valid_from_ms: 50_000,
        seq: 19,
    });
    let counts = counted(&log);
    let announcements: Vec<Value> = log
        .iter()
        .map(|a| {
            json!({
                "description": format!("seq {}: an EncryptionKey announcement", a.seq),
                "seq": a.seq,
                "public_key": a.public_key,
                "valid_from_ms": a.valid_from_ms,
                "counts": counts.iter().any(|c| c.seq == a.seq),
            })
        })
        .collect();
    let cases: [(Option<i64>, &str); 5] = [
        (Some(500), "before any announcement: the card key alone"),
        (Some(5_500), "keys 1 to 5 and the card key"),
        (
            Some(17_000),
            "the 16 newest of the card key and keys 1 to 17: keys 2 to 17",
        ),
        (
            Some(60_000),
            "the repeat of key 3 does not count: still keys 2 to 17",
        ),
        (None, "sealing (no entry time): every key, oldest first"),
    ];
    let selections: Vec<Value> = cases
        .iter()
        .map(|(at, description)| {
            let tried: Vec<String> = select(&card, newest(&counts, *at), *at)
                .iter()
                .map(|k| k.to_hex())
                .collect();
            json!({
                "description": description,
                "issued_at_ms": at,
                "tried": tried,
            })
        })
        .collect();
    json!({
        "description": "The issuer keys a sealed entry of MX-SEDENA is tried against (PROTOCOL.md 6.7): its card key (as seq 0) and the announcements that count (each key's first), at most the 16 newest by (valid_from_ms, seq) among those valid at issued_at_ms, listed oldest first. Announced keys derive from SHA-256(\"tally-vectors/x25519/MX-SEDENA/announced/<n>\").",
        "authority": "MX-SEDENA",
        "max_issuer_keys": tally_model::issuer_keys::MAX_ISSUER_KEYS,
        "card_keys": [{
            "description": "the key on MX-SEDENA's card (keys.json), counted as seq 0",
            "public_key": card_key,
            "valid_from_ms": 0,
        }],
        "announcements": announcements,
        "selections": selections,
    })
}
