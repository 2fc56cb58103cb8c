//! Signed bytes an honest writer never produces but a hostile trusted one
//! can: entries signed over arbitrary bytes, and signatures with a
//! small-order component in `R` (valid under the protocol's rule).

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha512};
use tally_model::VerifiedEntry;

/// `entry` bytes signed with the raw secret `[n; 32]` (testkit `key(n)`),
/// in the canonical wrapper (fields 1, 2, 3).
pub fn signed_raw(entry: &[u8], n: u8) -> Vec<u8> {
    let signer = ed25519_dalek::SigningKey::from_bytes(&[n; 32]);
    let sig = signer.sign(&[tally_model::entry::DOMAIN, entry].concat());
    let mut w = vec![0x0a];
    let mut len = entry.len();
    while len >= 0x80 {
        w.push(0x80 | (len as u8 & 0x7f));
        len >>= 7;
    }
    w.push(len as u8);
    w.extend_from_slice(entry);
    w.extend_from_slice(&[0x12, 0x20]);
    w.extend_from_slice(signer.verifying_key().as_bytes());
    w.extend_from_slice(&[0x1a, 0x40]);
    w.extend_from_slice(&sig.to_bytes());
    w
}

/// `honest`'s wire bytes, signed again by key `n` with a point of order 8
/// added to `R` (`nonce` picks `r` and the torsion point): valid under the
/// cofactored rule, refused by an uncofactored single check, accepted by an
/// uncofactored batch for one weight in eight.
pub fn torsion_in_r(honest: &VerifiedEntry, n: u8, nonce: u64) -> Vec<u8> {
    let signer = ed25519_dalek::SigningKey::from_bytes(&[n; 32]);
    let a = signer.to_scalar();
    let public = signer.verifying_key().to_bytes();
    let r = Scalar::from(nonce.wrapping_add(1));
    let torsion = EIGHT_TORSION[1 + (nonce % 7) as usize];
    let big_r = (ED25519_BASEPOINT_POINT * r + torsion)
        .compress()
        .to_bytes();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r)
            .chain_update(public)
            .chain_update(tally_model::entry::DOMAIN)
            .chain_update(honest.signed().entry_bytes()),
    );
    let s = r + k * a;
    let mut wire = honest.signed().encode();
    let len = wire.len();
    wire[len - 64..len - 32].copy_from_slice(&big_r);
    wire[len - 32..].copy_from_slice(s.as_bytes());
    wire
}
