//! `signatures.json`: the edge cases of the signature rule (PROTOCOL.md 3.1,
//! ZIP-215), each with an id, the expected verdict, and whether the key may
//! be trusted at all (cards and rotations refuse weak keys, 5.3).
//!
//! Every case signs the message of US-DDTC seq 1 (`"tally/entry/v1" ||
//! entry`) or a variant of it. The points are built with curve25519-dalek
//! from fixed scalars, so the file is reproducible; each verdict is asserted
//! against `tally_model::signature` before the file is written.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use tally_model::signature::{WeakKey, key_weakness, verify};

/// k = SHA-512(R || A || M) reduced mod L, as every Ed25519 verifier computes it.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(a)
            .chain_update(message),
    )
}

fn sig(r: [u8; 32], s: Scalar) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&r);
    out[32..].copy_from_slice(s.as_bytes());
    out
}

/// The identity point's encoding with y = p + 1 (non-canonical).
fn identity_non_canonical() -> [u8; 32] {
    let mut b = [0xffu8; 32];
    b[0] = 0xee;
    b[31] = 0x7f;
    b
}

/// A signature by secret scalar `a` (public `a_bytes`, any encoding of
/// `[a]B` plus torsion) with the point `big_r` (encoded as `r_bytes`) whose
/// discrete log is `r` up to torsion: S = r + k a.
fn forge(a: Scalar, a_bytes: [u8; 32], r: Scalar, r_bytes: [u8; 32], m: &[u8]) -> [u8; 64] {
    sig(r_bytes, r + challenge(&r_bytes, &a_bytes, m) * a)
}

struct Case {
    id: &'static str,
    description: &'static str,
    key: [u8; 32],
    message: Vec<u8>,
    signature: [u8; 64],
    valid: bool,
}

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The same signature with L added to its S: non-canonically encoded
/// (S < L, so the sum fits in 253 bits).
pub(crate) fn s_plus_l(mut sig: [u8; 64]) -> [u8; 64] {
    let mut carry = 0u16;
    for i in 0..32 {
        let v = sig[32 + i] as u16 + L[i] as u16 + carry;
        sig[32 + i] = v as u8;
        carry = v >> 8;
    }
    sig
}

/// What the cases are made of: US-DDTC key 1 (secret scalar `a`, public
/// `public`), the message it signs and its honest signature, a point of
/// order 8, and a fixed nonce `r` with its point `[r]B`.
struct Material {
    public: [u8; 32],
    a: Scalar,
    m: Vec<u8>,
    honest: [u8; 64],
    torsion: EdwardsPoint,
    r: Scalar,
    big_r: EdwardsPoint,
}

impl Material {
    fn new(entry: &[u8], secret: &[u8; 32]) -> Material {
        let signer = ed25519_dalek::SigningKey::from_bytes(secret);
        let mut m = crate::DOMAIN.to_vec();
        m.extend_from_slice(entry);
        let r = Scalar::from_bytes_mod_order(
            Sha512::digest(b"tally-vectors/r").as_slice()[..32]
                .try_into()
                .expect("32"),
        );
        Material {
            public: signer.verifying_key().to_bytes(),
            a: signer.to_scalar(),
            honest: signer.sign(&m).to_bytes(),
            m,
            torsion: EIGHT_TORSION[1], // a point of order 8
            r,
            big_r: ED25519_BASEPOINT_POINT * r,
        }
    }
}

/// The cases under US-DDTC's honest key: the signature or the message
/// varies.
fn signature_cases(p: &Material) -> Vec<Case> {
    let (public, a, m) = (p.public, p.a, &p.m);
    let mut flipped = m.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let small_r = p.torsion.compress().to_bytes();
    let torsion_r = (p.big_r + p.torsion).compress().to_bytes();
    vec![
        Case {
            id: "honest",
            description: "An ordinary Ed25519 signature (RFC 8032) by US-DDTC key 1.",
            key: public,
            message: m.clone(),
            signature: p.honest,
            valid: true,
        },
        Case {
            id: "s_not_reduced",
            description: "The honest signature with L added to S: S >= L is refused.",
            key: public,
            message: m.clone(),
            signature: s_plus_l(p.honest),
            valid: false,
        },
        Case {
            id: "message_changed",
            description: "The honest signature over the message with its last byte flipped.",
            key: public,
            message: flipped,
            signature: p.honest,
            valid: false,
        },
        Case {
            id: "small_order_r",
            description: "R is a point of order 8 and S = k a: the cofactored equation holds. Valid (RFC 8032's strict variants refuse it).",
            key: public,
            message: m.clone(),
            signature: sig(small_r, challenge(&small_r, &public, m) * a),
            valid: true,
        },
        Case {
            id: "torsion_in_r",
            description: "R = [r]B + T with T of order 8, S = r + k a: valid under the cofactored rule alone and in every batch; an uncofactored single check refuses it and an uncofactored batch accepts it for one weight in eight, which is why the rule is cofactored.",
            key: public,
            message: m.clone(),
            signature: forge(a, public, p.r, torsion_r, m),
            valid: true,
        },
        Case {
            id: "non_canonical_r",
            description: "R is the identity encoded with y = p + 1 and S = k a, k hashed over those exact bytes: non-canonical R is accepted. Valid.",
            key: public,
            message: m.clone(),
            signature: sig(
                identity_non_canonical(),
                challenge(&identity_non_canonical(), &public, m) * a,
            ),
            valid: true,
        },
    ]
}

/// The cases whose key is not an honest one: each signature holds (or the
/// key is no point at all), and the key is refused wherever keys come in.
fn key_cases(p: &Material) -> Vec<Case> {
    let m = &p.m;
    let small_a = p.torsion.compress().to_bytes();
    let mixed_a = (ED25519_BASEPOINT_POINT * p.a + p.torsion)
        .compress()
        .to_bytes();
    let big_r = p.big_r.compress().to_bytes();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut not_a_point = [0u8; 32];
    not_a_point[0] = 2;
    vec![
        Case {
            id: "small_order_a",
            description: "A is a point of order 8, R = [r]B, S = r: holds for every message. Valid as a signature; the key is weak and refused wherever keys come in.",
            key: small_a,
            message: m.clone(),
            signature: sig(big_r, p.r),
            valid: true,
        },
        Case {
            id: "identity_a_and_r",
            description: "A = R = the identity, S = 0 (this file's earlier \"small-order key\" vector, then invalid under verify_strict): valid under the cofactored rule; the key is weak and refused wherever keys come in.",
            key: identity,
            message: m.clone(),
            signature: sig(identity, Scalar::ZERO),
            valid: true,
        },
        Case {
            id: "mixed_order_a",
            description: "A = [a]B + T with T of order 8, signed honestly over those bytes: valid; the key has a torsion component and is refused wherever keys come in.",
            key: mixed_a,
            message: m.clone(),
            signature: forge(p.a, mixed_a, p.r, big_r, m),
            valid: true,
        },
        Case {
            id: "non_canonical_a",
            description: "A is the identity encoded with y = p + 1, R = [r]B, S = r: non-canonical A is accepted by the rule; the key is refused wherever keys come in.",
            key: identity_non_canonical(),
            message: m.clone(),
            signature: sig(big_r, p.r),
            valid: true,
        },
        Case {
            id: "a_not_a_point",
            description: "A = 02 00 .. 00 (y = 2 is on no curve point): refused.",
            key: not_a_point,
            message: m.clone(),
            signature: p.honest,
            valid: false,
        },
    ]
}

fn weakness_name(w: WeakKey) -> &'static str {
    match w {
        WeakKey::NotAPoint => "not_a_point",
        WeakKey::NonCanonical => "non_canonical",
        WeakKey::SmallOrder => "small_order",
        WeakKey::MixedOrder => "mixed_order",
    }
}

/// The file: `entry` is US-DDTC seq 1's entry bytes, `secret` its key 1.
pub fn file(entry: &[u8], secret: &[u8; 32]) -> Value {
    let p = Material::new(entry, secret);
    let cases = signature_cases(&p).into_iter().chain(key_cases(&p));
    let list: Vec<Value> = cases
        .map(|c| {
            assert_eq!(
                verify(&c.key, &c.message, &c.signature),
                c.valid,
                "{}",
                c.id
            );
            json!({
                "id": c.id,
                "description": c.description,
                "key": crate::hex(c.key),
                "message": crate::hex(&c.message),
                "signature": crate::hex(c.signature),
                "valid": c.valid,
                "key_refused": key_weakness(&c.key).map(weakness_name),
            })
        })
        .collect();
    json!({
        "description": "The signature rule (PROTOCOL.md 3.1, ZIP-215): for each case, `valid` is the verdict of verify(key, message, signature), alone and in any batch; `key_refused` is why a card or rotation announcing `key` is refused (null: the key may be trusted).",
        "cases": list,
    })
}
