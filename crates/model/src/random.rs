//! Where sealing's randomness comes from: the operating system's generator
//! in production, a seeded stream in tests and protocol test vectors.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// A source of random bytes. [`OsRandom`] in production; tests and protocol
/// test vectors inject a seeded one ([`DeterministicRandom`]).
pub trait Random {
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    /// Panics if the OS generator fails: there is no safe way to seal
    /// without randomness, and it does not fail on supported platforms.
    fn fill(&mut self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            panic!("the operating system's random generator failed: {e}");
        }
    }
}

/// A deterministic stream from a 32-byte seed, for tests and test vectors
/// only (never for real seals: anyone with the seed predicts every key).
/// Block `i` (from 0) is HMAC-SHA256(seed, "tally/test-random/v1" || u64(i));
/// the stream is the concatenation of the blocks.
pub struct DeterministicRandom {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DeterministicRandom {
    pub fn new(seed: [u8; 32]) -> DeterministicRandom {
        DeterministicRandom {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }
}

impl fmt::Debug for DeterministicRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeterministicRandom")
    }
}

impl Random for DeterministicRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            if self.used == self.block.len() {
                let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.seed)
                    .expect("HMAC takes a key of any length");
                mac.update(b"tally/test-random/v1");
                mac.update(&self.counter.to_be_bytes());
                self.block = mac.finalize().into_bytes().into();
                self.counter += 1;
                self.used = 0;
            }
            *b = self.block[self.used];
            self.used += 1;
        }
    }
}
