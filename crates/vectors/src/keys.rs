//! `keys.json`: the Ed25519 signing keys and X25519 encryption keys of the
//! test authorities, each derived from a fixed public seed (see
//! [`crate::signing_secret`] and [`crate::encryption_secret`]).

use crate::{AUTHORITIES, enc, hex, signing_key};
use serde_json::{Value, json};

pub(crate) fn file() -> Value {
    let mut list = Vec::new();
    for a in AUTHORITIES {
        let ns: &[u32] = if a == "US-DDTC" { &[1, 2] } else { &[1] };
        for &n in ns {
            let k = signing_key(a, n);
            list.push(json!({
                "description": format!("Ed25519 signing key {n} of {a}: secret = SHA-256(\"tally-vectors/ed25519/{a}/{n}\")"),
                "authority": a,
                "kind": "ed25519",
                "n": n,
                "secret": hex(k.to_bytes()),
                "public": hex(k.public().as_bytes()),
            }));
        }
        let e = enc(a);
        list.push(json!({
            "description": format!("X25519 encryption key of {a}: secret = SHA-256(\"tally-vectors/x25519/{a}\") (clamped by X25519 when used)"),
            "authority": a,
            "kind": "x25519",
            "n": 1,
            "secret": hex(e.to_bytes()),
            "public": e.public().to_hex(),
        }));
    }
    json!({
        "description": "Keys of the test authorities, derived from fixed public seeds. Never use them for anything real.",
        "keys": list,
    })
}
