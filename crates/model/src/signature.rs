//! The protocol's one Ed25519 verification rule, and which public keys may be
//! trusted at all.
//!
//! Every signature of a log is judged here, on every path: gossip, sync
//! ranges, equivocation proofs, reindex, `verify-store`, cards, rotations and
//! the vectors tool. The rule is ZIP-215 (docs/PROTOCOL.md 3.1): `A` and `R`
//! must decode to curve points (non-canonical encodings accepted), `S < L`,
//! and the cofactored equation `[8][S]B = [8]R + [8][k]A` must hold.
//!
//! Why one rule, and why this one: with an uncofactored check a signer can
//! add a small-order component to `R`; the single equation then fails while
//! a random-linear-combination batch passes for one weight in eight, so the
//! verdict depends on the batch an entry happens to be checked in, and honest
//! nodes disagree about which entries exist. The cofactored equation makes
//! single and batch verification agree on every input, so it does not matter
//! which path the bytes took or how a sync range was cut.
//!
//! Signing stays with ed25519-dalek (its signatures pass every rule); the
//! verification is ed25519-zebra's, which implements ZIP-215 and coalesces a
//! batch by key.

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_zebra::{Signature, VerificationKey, VerificationKeyBytes, batch};
use rand_core_010::{CryptoRng, UnwrapErr};

/// Checks one signature under the protocol's rule.
pub fn verify(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    decompressed(key).is_some_and(|k| k.verify(&Signature::from_bytes(signature), message).is_ok())
}

/// Keys kept decompressed; verifiers only reach [`verify`] with keys they
/// trust, so the set is small, and it is cleared when it fills.
const KEY_CACHE: usize = 1024;

/// `key` as a curve point, decompressed once and then cached: a point
/// decompression is a tenth of a single verification (measured: 22,448
/// verifications/s decompressing each time, 25,247/s with the key cached,
/// 26,356/s for ed25519-dalek's `verify_strict` on its pre-decompressed key).
fn decompressed(key: &[u8; 32]) -> Option<VerificationKey> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], VerificationKey>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(k) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(key) {
        return Some(*k);
    }
    let k = VerificationKey::try_from(*key).ok()?;
    let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
    if c.len() >= KEY_CACHE {
        c.clear();
    }
    c.insert(*key, k);
    Some(k)
}

/// One signature to check in a batch: the public key, the whole signed
/// message (domain prefix included) and the signature.
pub type BatchItem<'a> = (&'a [u8; 32], &'a [u8], &'a [u8; 64]);

/// Checks many signatures at once; true only if every one passes
/// [`verify`]. Signatures by one key are coalesced (catch-up checks runs of
/// one log), which makes a batch of one key's entries about twice as fast as
/// checking them one by one. The weights come from the operating system's
/// random source; the verdict does not depend on them.
pub fn verify_batch(items: &[BatchItem<'_>]) -> bool {
    verify_batch_with(items, UnwrapErr(getrandom_sys_rng::SysRng))
}

/// [`verify_batch`] with the caller's random source for the weights (tests
/// seed one to show the verdict does not depend on it).
pub fn verify_batch_with(items: &[BatchItem<'_>], rng: impl CryptoRng) -> bool {
    if let [(key, message, signature)] = items {
        return verify(key, message, signature);
    }
    let mut verifier = batch::Verifier::new();
    let mut last_checked: Option<&[u8; 32]> = None;
    for (key, message, signature) in items {
        // A key that is not a point fails the whole batch, as it fails
        // alone. Decompressing is a square root, about a third of what one
        // signature in a batch costs: checked once per run of one key.
        if last_checked != Some(*key) {
            if VerificationKey::try_from(**key).is_err() {
                return false;
            }
            last_checked = Some(*key);
        }
        verifier.queue((
            VerificationKeyBytes::from(**key),
            Signature::from_bytes(signature),
            *message,
        ));
    }
    verifier.verify(rng).is_ok()
}

/// Why a public key may not be trusted to sign (a card, a rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakKey {
    #[error("not the encoding of a curve point")]
    NotAPoint,
    #[error("a non-canonical encoding of its point")]
    NonCanonical,
    #[error("a small-order point (it verifies forged signatures)")]
    SmallOrder,
    #[error("a point with a small-order component (mixed order)")]
    MixedOrder,
}

/// Whether `key` may be trusted as a signing key. The verification rule
/// accepts any point, so the keys themselves are screened where they come in:
/// a small-order key makes `[8][k]A` vanish (any signature with a suitable
/// `R` passes for every message), and a key with a torsion component or a
/// non-canonical encoding has no honest origin (no signer derives one).
pub fn key_weakness(key: &[u8; 32]) -> Option<WeakKey> {
    let compressed = CompressedEdwardsY(*key);
    let Some(point) = compressed.decompress() else {
        return Some(WeakKey::NotAPoint);
    };
    if point.compress() != compressed {
        Some(WeakKey::NonCanonical)
    } else if point.is_small_order() {
        Some(WeakKey::SmallOrder)
    } else if !point.is_torsion_free() {
        Some(WeakKey::MixedOrder)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use ed25519_dalek::{Signer, SigningKey};
    use sha2::{Digest, Sha512};

    fn signer(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn a_dalek_signature_verifies_and_a_flipped_byte_does_not() {
        let k = signer(1);
        let sig = k.sign(b"message").to_bytes();
        assert!(verify(k.verifying_key().as_bytes(), b"message", &sig));
        assert!(!verify(k.verifying_key().as_bytes(), b"messagf", &sig));
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(!verify(k.verifying_key().as_bytes(), b"message", &bad));
    }

    /// A signature whose `R` carries a small-order component: the signer
    /// computes `k` over `R + T` and signs honestly otherwise. The cofactored
    /// equation accepts it alone and in every batch, whatever the weights; an
    /// uncofactored batch accepted it for one weight in eight.
    #[test]
    fn torsion_in_r_gets_one_verdict_alone_and_in_any_batch() {
        let a = Scalar::from_bytes_mod_order([7; 32]);
        let public = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
        let r = Scalar::from_bytes_mod_order([9; 32]);
        let big_r = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[1])
            .compress()
            .to_bytes();
        let message = b"tally/entry/v1 torsion";
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r)
                .chain_update(public)
                .chain_update(message),
        );
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        assert!(verify(&public, message, &sig));
        let honest = signer(2);
        let honest_key = honest.verifying_key().to_bytes();
        let honest_sig = honest.sign(b"other").to_bytes();
        for seed in 0..32u64 {
            let rng = UnwrapErr(SeededRng(seed));
            let items: [BatchItem<'_>; 2] = [
                (&public, message, &sig),
                (&honest_key, b"other", &honest_sig),
            ];
            assert!(verify_batch_with(&items, rng), "seed {seed}");
        }
    }

    #[test]
    fn batches_agree_with_single_checks() {
        let keys: Vec<[u8; 32]> = (1..=4)
            .map(|n| signer(n).verifying_key().to_bytes())
            .collect();
        let messages: Vec<Vec<u8>> = (0..12u8).map(|i| vec![i; 40]).collect();
        let sigs: Vec<[u8; 64]> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| signer(i as u8 % 4 + 1).sign(m).to_bytes())
            .collect();
        let items: Vec<BatchItem<'_>> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| (&keys[i % 4], &m[..], &sigs[i]))
            .collect();
        assert!(verify_batch(&items));
        let mut bad = sigs[5];
        bad[40] ^= 2;
        let mut spoiled = items.clone();
        spoiled[5].2 = &bad;
        assert!(!verify_batch(&spoiled));
        assert!(verify_batch(&[]));
    }

    #[test]
    fn weak_keys_are_named() {
        let good = signer(3).verifying_key().to_bytes();
        assert_eq!(key_weakness(&good), None);
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(key_weakness(&identity), Some(WeakKey::SmallOrder));
        let mixed = (CompressedEdwardsY(good).decompress().unwrap() + EIGHT_TORSION[1])
            .compress()
            .to_bytes();
        assert_eq!(key_weakness(&mixed), Some(WeakKey::MixedOrder));
        // y = 1 + p: the identity's non-canonical encoding.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        assert_eq!(key_weakness(&non_canonical), Some(WeakKey::NonCanonical));
        // y = 2 is not on the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(key_weakness(&not_a_point), Some(WeakKey::NotAPoint));
    }

    /// A deterministic random source for tests (SplitMix64; only weights).
    struct SeededRng(u64);
    impl rand_core_010::TryRng for SeededRng {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            self.try_next_u64().map(|v| v as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Ok(z ^ (z >> 31))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for chunk in dst.chunks_mut(8) {
                let v = self.try_next_u64()?.to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            Ok(())
        }
    }
    impl rand_core_010::TryCryptoRng for SeededRng {}
}
