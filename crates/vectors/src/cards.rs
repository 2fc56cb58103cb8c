//! `cards.json`: authority cards, their fingerprint input, bytes and
//! display form (PROTOCOL.md 7), and a trust list file (TOML) holding two
//! of them and a compromise declaration.

use crate::{T0, hex, id, signing_key};
use serde_json::{Value, json};
use tally_model::{AuthorityKey, Card, CardKey, KeyCompromise, TrustList};

fn card(authority: &str, name: &str, keys: Vec<CardKey>) -> Card {
    Card {
        contact: None,
        authority: id(authority),
        country: authority[..2].to_string(),
        name: name.into(),
        peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
        addresses: vec![format!(
            "/dns4/tally.{}.example/tcp/4710",
            authority.to_ascii_lowercase()
        )],
        keys,
        // The vectors' cards predate encryption keys on cards, so they list
        // none (the fingerprint covers every key a card lists, v2).
        encryption_keys: Vec::new(),
    }
}

fn cards() -> Vec<(&'static str, Card)> {
    let pk = |a: &str, n| hex(signing_key(a, n).public().as_bytes());
    let fixed = AuthorityKey::from_bytes(&[5; 32]);
    vec![
        (
            "US-DDTC with two keys: key 1 retired after seq 4 (its rotation), key 2 from the rotation's time. Keys are listed out of order and key 2 in capitals: the fingerprint sorts and lowercases them.",
            card(
                "US-DDTC",
                "Directorate of Defense Trade Controls",
                vec![
                    CardKey::new(pk("US-DDTC", 2).to_uppercase(), T0 + 4_000),
                    CardKey {
                        retired_after_seq: Some(4),
                        ..CardKey::new(pk("US-DDTC", 1), 0)
                    },
                ],
            ),
        ),
        (
            "MX-SEDENA with one key.",
            card(
                "MX-SEDENA",
                "Secretaria de la Defensa Nacional",
                vec![CardKey::new(pk("MX-SEDENA", 1), 0)],
            ),
        ),
        (
            "The fixed card of the model crate's own test (secret [5; 32]): fingerprint 5762-094a-... (tally/card/v2)",
            card(
                "US-DDTC",
                "test",
                vec![CardKey {
                    valid_until_ms: Some(2000),
                    ..CardKey::new(hex(fixed.public().as_bytes()), 1000)
                }],
            ),
        ),
    ]
}

pub(crate) fn file() -> Value {
    let list: Vec<Value> = cards()
        .into_iter()
        .map(|(description, c)| {
            json!({
                "description": description,
                "card": serde_json::to_value(&c).expect("serializes"),
                "fingerprint_input": String::from_utf8(c.fingerprint_input()).expect("utf-8"),
                "fingerprint_bytes": hex(c.fingerprint_bytes()),
                "fingerprint": c.fingerprint(),
            })
        })
        .collect();
    let mut trust = TrustList::default();
    for (_, c) in cards().into_iter().take(2) {
        trust.upsert(c);
    }
    trust.declare_compromise(KeyCompromise {
        authority: id("MX-SEDENA"),
        key_id: hex(signing_key("MX-SEDENA", 1).public().as_bytes()),
        after_seq: 57,
    });
    json!({
        "description": "Cards, their fingerprint input (UTF-8 text), SHA-256 fingerprint and display form; and a trust list file (TOML) holding the first two cards and one compromise declaration.",
        "cards": list,
        "trust_list_toml": toml::to_string(&trust).expect("serializes"),
    })
}
