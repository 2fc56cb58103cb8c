//! Sealing: encrypting a document to its recipients (suite `tally/sealed/v1`),
//! and opening it again. Pure and I/O-free: randomness comes from an
//! injectable [`Random`], pair keys from a caller-owned [`PairKeys`] cache.
//!
//! # The construction
//!
//! Every primitive comes from a reviewed crate: X25519 (`x25519-dalek`),
//! HKDF-SHA256 (`hkdf`), HMAC-SHA256 (`hmac`), ChaCha20-Poly1305 and
//! XChaCha20-Poly1305 (`chacha20poly1305`).
//!
//! Notation: `u32(n)` is `n` as 4 bytes big-endian, `u64(n)` 8 bytes
//! big-endian, `lp(x)` = `u32(len(x)) || x` (a length-prefixed field), `||`
//! concatenation. `suite` is the UTF-8 of [`SUITE`], `authority` the UTF-8
//! of the entry's authority id (e.g. `US-DDTC`), `seq` the entry's seq,
//! `prev` the 32-byte hash of the previous entry, or empty for seq 1.
//! `Expand(prk, info)` is HKDF-Expand with SHA-256 giving 32 bytes.
//!
//! ```text
//! k          = 32 bytes from the Random source, fresh for every seal
//! commitment = Expand(k, "tally/commit/v1")
//! content    = Expand(k, "tally/aead/v1")
//! content_ad = lp(suite) || lp(authority) || u64(seq) || lp(prev)
//! ciphertext = ChaCha20-Poly1305(content, nonce = 12 zero bytes, content_ad, padded)
//!              (a zero nonce is safe: `content` is used for exactly one message)
//!
//! For issuer public key I and recipient public key R (X25519, 32 bytes each):
//! dh         = X25519(issuer secret, R) = X25519(recipient secret, I);
//!              refused when not contributory (a low-order key gives all zeros)
//! P          = HKDF-SHA256(salt = none (RFC 5869: 32 zero bytes), ikm = dh,
//!                          info = "tally/pair/v1" || I || R, L = 32)
//! K_wrap     = Expand(P, "tally/wrap/v1")
//! K_tag      = Expand(P, "tally/tag/v1")
//! wrap_ad    = lp(suite) || lp(authority) || u64(seq) || commitment
//! wrapped    = nonce(24, from Random) || XChaCha20-Poly1305(K_wrap, nonce, wrap_ad, k)
//!              = 24 + 32 + 16 = 72 bytes
//! tag_input  = lp(authority) || u64(seq) || commitment
//! tag        = first 16 bytes of HMAC-SHA256(K_tag, tag_input)
//! ```
//!
//! `I || R` in the pair info needs no length prefix: both are exactly 32
//! bytes. The issuer is always a recipient of its own entries (its pair key
//! with itself, `I = R`), so a node restored from its secrets re-reads its
//! own log.
//!
//! **Plaintext and padding.** The plaintext is the protobuf encoding `p` of
//! `tally.v1.SealedPayload` (document, recipients as (authority, public key),
//! unreached countries; not compressed), framed as `u32(len(p)) || p ||
//! zeros`. The framed size `n = 4 + len(p)` is rounded up to a multiple of
//! 1024 bytes (at least 1024) while `n <= 8192`, and to the next power of
//! two above that. Opening checks the frame strictly: the length fits, the
//! total is exactly the padded size of that length, the padding is all
//! zeros. Padded plaintexts above [`MAX_PADDED`] (256 KiB) are refused, so a
//! sealed entry with a full 1024 stanzas still fits in
//! [`crate::entry::MAX_ENTRY_BYTES`].
//!
//! **Stanzas and decoys.** One stanza per distinct recipient key, the
//! issuer's own first, then the given recipients in order; then decoys (16
//! random tag bytes, then 72 random wrapped bytes, each) up to the bucket:
//! the next power of two of the real count, at least 4; then a Fisher-Yates
//! shuffle. With no public key in a stanza, decoys and real stanzas look
//! alike; only the bucket leaks.
//!
//! **Order of draws from [`Random`]** (fixed, so a seeded source gives
//! reproducible test vectors): `k` (32 bytes); one 24-byte nonce per real
//! stanza in the order above; per decoy a 16-byte tag then 72 wrapped bytes;
//! the shuffle: for `i` from `len - 1` down to 1, `j` uniform in `0..=i`,
//! swap `i` and `j`, where each `j` is drawn as 4 bytes read as a big-endian
//! `u32 x`, rejected while `x >= (2^32 - 1) - (2^32 - 1) % (i + 1)`, and
//! then `j = x % (i + 1)`.
//!
//! **Opening.** The recipient knows the header (authority, seq, prev), the
//! issuer's encryption public keys (several during a rotation) and its own
//! secrets (old ones kept). For each (own secret, issuer key) pair it
//! computes one tag (pair keys come from the cache, so that is one HMAC, not
//! a public-key operation) and collects every stanza with that tag. Each
//! match is tried in turn: unwrap `k`, check the commitment (in constant
//! time), decrypt, unframe, decode; the first that succeeds is the result.
//! No match is [`Opening::NotAddressed`], the normal case for a
//! non-recipient; a match that fails everywhere is [`Opening::Unopenable`]
//! with the first failure.
//!
//! **Choices where the design was silent** (stated for another
//! implementer): length prefixes as above on every variable-length field of
//! an AD or MAC input; empty HKDF salt; the issuer's own stanza is always
//! added and listed first in the payload's recipients; a recipient with the
//! same key and authority as one already listed is dropped, the same key
//! under another authority is refused; key rotation and encryption key
//! announcements are refused by [`seal`] (they must stay network-visible);
//! an unknown suite opens as [`Unopenable::UnsupportedSuite`]; when every
//! (own, issuer) pair is unusable (low-order issuer keys), open answers
//! [`Unopenable::NoUsableKey`] rather than claiming the entry is not
//! addressed to us.
//!
//! Secrets are never printed: [`EncryptionSecret`]'s `Debug` shows its public
//! key, and derived keys are zeroed when dropped.

pub use crate::random::{DeterministicRandom, OsRandom, Random};
pub use crate::x25519::{EncryptionPublic, EncryptionSecret};

use crate::document::{Document, Recipient, SealedPayload};
use crate::entry::{
    DecodeError, Entry, EntryHash, MAX_STANZAS, STANZA_TAG_BYTES, Sealed, Stanza, WRAPPED_BYTES_V1,
};
use crate::id::{AuthorityId, Country};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use x25519_dalek::PublicKey;
use zeroize::{Zeroize, Zeroizing};

/// The suite this version seals with and opens.
pub const SUITE: &str = "tally/sealed/v1";

/// Largest padded plaintext [`seal`] produces or [`open`] accepts.
pub const MAX_PADDED: usize = 256 * 1024;

/// Fewest stanzas a sealed entry carries (real and decoys).
pub const MIN_STANZAS: usize = 4;

const INFO_COMMIT: &[u8] = b"tally/commit/v1";
const INFO_AEAD: &[u8] = b"tally/aead/v1";
const INFO_PAIR: &[u8] = b"tally/pair/v1";
const INFO_WRAP: &[u8] = b"tally/wrap/v1";
const INFO_TAG: &[u8] = b"tally/tag/v1";
const XNONCE_BYTES: usize = 24;
const AEAD_TAG_BYTES: usize = 16;

/// A uniform index in `0..bound` (bound >= 1) by rejection sampling; see the
/// module doc for the exact draw.
fn uniform(random: &mut dyn Random, bound: u32) -> u32 {
    let limit = u32::MAX - u32::MAX % bound;
    loop {
        let mut b = [0u8; 4];
        random.fill(&mut b);
        let x = u32::from_be_bytes(b);
        if x < limit {
            return x % bound;
        }
    }
}

// ---------------------------------------------------------------------------
// Pair keys

/// Which side of the pair our own key is on; part of the cache key because
/// `P`'s info orders the keys issuer first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Issuer,
    Recipient,
}

/// The two keys derived from a pair key `P` (`P` itself is not kept).
struct PairKey {
    wrap: [u8; 32],
    tag: [u8; 32],
}

impl Drop for PairKey {
    fn drop(&mut self) {
        self.wrap.zeroize();
        self.tag.zeroize();
    }
}

type PairId = (EncryptionPublic, EncryptionPublic, Role);

#[derive(Default)]
struct PairCache {
    map: HashMap<PairId, Arc<PairKey>>,
    // Insertion order, for first-in first-out eviction.
    order: VecDeque<PairId>,
}

/// A bounded, thread-safe cache of pair keys, keyed by (own public key,
/// other public key, direction). One per node, shared by sealing and
/// opening; a hit saves an X25519 operation per entry. When full, the oldest
/// entry is evicted (first in, first out). Holds derived secret keys:
/// zeroed when evicted or dropped.
pub struct PairKeys {
    capacity: usize,
    inner: Mutex<PairCache>,
    // What opening cost, for tests and benchmarks that bound it: pair keys
    // asked for (one stanza tag computed with each usable one) and derived
    // (one X25519 each).
    asked: AtomicU64,
    derived: AtomicU64,
}

impl PairKeys {
    /// Room for `capacity` pairs (at least 1).
    pub fn new(capacity: usize) -> PairKeys {
        PairKeys {
            capacity: capacity.max(1),
            inner: Mutex::new(PairCache::default()),
            asked: AtomicU64::new(0),
            derived: AtomicU64::new(0),
        }
    }

    /// How many pair keys were asked for since this cache was made: each
    /// usable one costs the opener one tag computation (an HMAC).
    pub fn asked(&self) -> u64 {
        self.asked.load(Ordering::Relaxed)
    }

    /// How many pair keys were derived (cache misses: one X25519 each).
    pub fn derived(&self) -> u64 {
        self.derived.load(Ordering::Relaxed)
    }

    /// How many pairs are cached.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave the map inconsistent
    // (inserts are single operations), so a poisoned lock is still usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, PairCache> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pair key of `own` with `other`; `None` when the DH is not
    /// contributory (a low-order `other`). Failures are not cached.
    fn get(
        &self,
        own: &EncryptionSecret,
        other: &EncryptionPublic,
        role: Role,
    ) -> Option<Arc<PairKey>> {
        let id = (own.public, *other, role);
        self.asked.fetch_add(1, Ordering::Relaxed);
        if let Some(k) = self.lock().map.get(&id) {
            return Some(Arc::clone(k));
        }
        // Computed outside the lock: a DH is the slow part.
        self.derived.fetch_add(1, Ordering::Relaxed);
        let key = Arc::new(derive_pair(own, other, role)?);
        let mut cache = self.lock();
        if !cache.map.contains_key(&id) {
            while cache.map.len() >= self.capacity {
                match cache.order.pop_front() {
                    Some(old) => {
                        cache.map.remove(&old);
                    }
                    None => break,
                }
            }
            cache.map.insert(id, Arc::clone(&key));
            cache.order.push_back(id);
        }
        Some(key)
    }
}

impl Default for PairKeys {
    /// Room for 4096 pairs: every (own key, peer key) pair of a few hundred
    /// authorities through a rotation or two.
    fn default() -> PairKeys {
        PairKeys::new(4096)
    }
}

impl fmt::Debug for PairKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairKeys")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

fn derive_pair(own: &EncryptionSecret, other: &EncryptionPublic, role: Role) -> Option<PairKey> {
    let shared = own.secret.diffie_hellman(&PublicKey::from(other.0));
    if !shared.was_contributory() {
        return None;
    }
    let (issuer, recipient) = match role {
        Role::Issuer => (&own.public, other),
        Role::Recipient => (other, &own.public),
    };
    let mut info = Vec::with_capacity(INFO_PAIR.len() + 64);
    info.extend_from_slice(INFO_PAIR);
    info.extend_from_slice(&issuer.0);
    info.extend_from_slice(&recipient.0);
    let mut p = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, shared.as_bytes())
        .expand(&info, &mut p[..])
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    Some(PairKey {
        wrap: expand(&p, INFO_WRAP),
        tag: expand(&p, INFO_TAG),
    })
}

/// HKDF-Expand(prk, info) to 32 bytes.
fn expand(prk: &[u8; 32], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::from_prk(prk)
        .expect("a 32-byte PRK is SHA-256's output length")
        .expand(info, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length")
}

// ---------------------------------------------------------------------------
// Byte layouts (see the module doc)

/// The entry fields a seal is bound to; the same values must be in the
/// entry that carries it.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub authority: &'a AuthorityId,
    pub seq: u64,
    /// `None` exactly for seq 1.
    pub prev: Option<EntryHash>,
}

impl<'a> Header<'a> {
    /// The header of an entry (to open its sealed body).
    pub fn of(entry: &'a Entry) -> Header<'a> {
        Header {
            authority: &entry.authority,
            seq: entry.seq,
            prev: entry.prev,
        }
    }
}

fn put_lp(out: &mut Vec<u8>, field: &[u8]) {
    // Every field here is far below 4 GiB (an entry is at most 384 KiB).
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

fn content_ad(h: &Header<'_>) -> Vec<u8> {
    let mut ad = Vec::with_capacity(96);
    put_lp(&mut ad, SUITE.as_bytes());
    put_lp(&mut ad, h.authority.as_str().as_bytes());
    ad.extend_from_slice(&h.seq.to_be_bytes());
    put_lp(&mut ad, h.prev.as_ref().map(|p| &p.0[..]).unwrap_or(&[]));
    ad
}

fn wrap_ad(h: &Header<'_>, commitment: &[u8; 32]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(96);
    put_lp(&mut ad, SUITE.as_bytes());
    put_lp(&mut ad, h.authority.as_str().as_bytes());
    ad.extend_from_slice(&h.seq.to_be_bytes());
    ad.extend_from_slice(commitment);
    ad
}

fn tag_of(pair: &PairKey, h: &Header<'_>, commitment: &[u8; 32]) -> [u8; STANZA_TAG_BYTES] {
    let mut mac = hmac_sha256(&pair.tag);
    mac.update(&(h.authority.as_str().len() as u32).to_be_bytes());
    mac.update(h.authority.as_str().as_bytes());
    mac.update(&h.seq.to_be_bytes());
    mac.update(commitment);
    let full = mac.finalize().into_bytes();
    let mut tag = [0u8; STANZA_TAG_BYTES];
    tag.copy_from_slice(&full[..STANZA_TAG_BYTES]);
    tag
}

/// The padded size of a framed plaintext of `n` bytes (`n` includes the
/// 4-byte length): 1 KiB steps up to 8 KiB, then powers of two.
pub fn padded_len(n: usize) -> usize {
    if n <= 8 * 1024 {
        n.div_ceil(1024).max(1) * 1024
    } else {
        n.next_power_of_two()
    }
}

fn pad(payload: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let len = u32::try_from(payload.len()).ok()?;
    let total = padded_len(4 + payload.len());
    if total > MAX_PADDED {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.resize(total, 0);
    Some(out)
}

fn unpad(padded: &[u8]) -> Option<&[u8]> {
    let (len, rest) = padded.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > rest.len() || padded_len(4 + len) != padded.len() {
        return None;
    }
    let (payload, zeros) = rest.split_at(len);
    zeros.iter().all(|&b| b == 0).then_some(payload)
}

// ---------------------------------------------------------------------------
// Seal

/// Why a document could not be sealed. Nothing was produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A recipient's key is of low order: no DH with it is contributory.
    #[error("the encryption key of {authority} is of low order")]
    LowOrderKey { authority: AuthorityId },
    /// One key listed for two authorities.
    #[error("encryption key {key} is listed for both {first} and {second}")]
    DuplicateKey {
        key: EncryptionPublic,
        first: AuthorityId,
        second: AuthorityId,
    },
    /// More recipients (the issuer included) than stanzas allowed.
    #[error("{0} recipients; at most {MAX_STANZAS}")]
    TooManyRecipients(usize),
    /// The padded payload would exceed [`MAX_PADDED`].
    #[error("the sealed payload would be {0} bytes; at most {MAX_PADDED}")]
    TooLarge(usize),
    /// Key rotations and encryption key announcements must stay readable by
    /// every node.
    #[error("a {0} document is never sealed")]
    MustBeVisible(&'static str),
}

/// Seals `document` for `recipients` (and always for the issuer itself),
/// bound to the entry `header` it will be signed in. `unreached` lists the
/// party countries with no authority to seal to (inside the ciphertext).
/// Draws `k`, nonces, decoys and the shuffle from `random` (see the module
/// doc for the order).
pub fn seal(
    issuer: &EncryptionSecret,
    header: Header<'_>,
    document: &Document,
    recipients: &[Recipient],
    unreached: &[Country],
    random: &mut dyn Random,
    pairs: &PairKeys,
) -> Result<Sealed, SealError> {
    seal_keeping(
        issuer, header, document, recipients, unreached, random, pairs,
    )
    .map(|(sealed, _)| sealed)
}

/// [`seal`], also giving back the payload it sealed (what every recipient
/// opens): the issuer has the clear document already and need not open its
/// own entry again to apply it.
pub fn seal_keeping(
    issuer: &EncryptionSecret,
    header: Header<'_>,
    document: &Document,
    recipients: &[Recipient],
    unreached: &[Country],
    random: &mut dyn Random,
    pairs: &PairKeys,
) -> Result<(Sealed, SealedPayload), SealError> {
    if matches!(
        document,
        Document::KeyRotation(_) | Document::EncryptionKey(_) | Document::PaperKey(_)
    ) {
        return Err(SealError::MustBeVisible(document.kind_name()));
    }

    // The issuer first, then each distinct key once.
    let mut listed: Vec<Recipient> = vec![Recipient {
        authority: header.authority.clone(),
        encryption_key: issuer.public(),
    }];
    let mut pair_keys = vec![
        pairs
            .get(issuer, &issuer.public(), Role::Issuer)
            .ok_or_else(|| SealError::LowOrderKey {
                authority: header.authority.clone(),
            })?,
    ];
    for r in recipients {
        if let Some(seen) = listed.iter().find(|l| l.encryption_key == r.encryption_key) {
            if seen.authority == r.authority {
                continue;
            }
            return Err(SealError::DuplicateKey {
                key: r.encryption_key,
                first: seen.authority.clone(),
                second: r.authority.clone(),
            });
        }
        if listed.len() == MAX_STANZAS {
            return Err(SealError::TooManyRecipients(recipients.len() + 1));
        }
        let low = || SealError::LowOrderKey {
            authority: r.authority.clone(),
        };
        if r.encryption_key.is_low_order() {
            return Err(low());
        }
        pair_keys.push(
            pairs
                .get(issuer, &r.encryption_key, Role::Issuer)
                .ok_or_else(low)?,
        );
        listed.push(r.clone());
    }
    let payload = SealedPayload {
        document: document.clone(),
        recipients: listed,
        unreached: unreached.to_vec(),
    };
    let sealed = seal_with_pairs(header, &payload, &pair_keys, random)?;
    Ok((sealed, payload))
}

/// Seals `payload` exactly as given, with one stanza for each of `to` (and
/// nothing else: not even the issuer unless `to` names it). What a hostile
/// issuer can do, so tests and the agreement harness can build entries
/// whose recipient list lies; [`seal`] is what a node uses.
pub fn seal_payload(
    issuer: &EncryptionSecret,
    header: Header<'_>,
    payload: &SealedPayload,
    to: &[EncryptionPublic],
    random: &mut dyn Random,
    pairs: &PairKeys,
) -> Result<Sealed, SealError> {
    let pair_keys = to
        .iter()
        .map(|k| {
            pairs
                .get(issuer, k, Role::Issuer)
                .ok_or_else(|| SealError::LowOrderKey {
                    authority: header.authority.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if pair_keys.len() > MAX_STANZAS {
        return Err(SealError::TooManyRecipients(pair_keys.len()));
    }
    seal_with_pairs(header, payload, &pair_keys, random)
}

fn seal_with_pairs(
    header: Header<'_>,
    payload: &SealedPayload,
    pair_keys: &[Arc<PairKey>],
    random: &mut dyn Random,
) -> Result<Sealed, SealError> {
    let mut k = Zeroizing::new([0u8; 32]);
    random.fill(&mut k[..]);
    let commitment = expand(&k, INFO_COMMIT);
    let content_key = Zeroizing::new(expand(&k, INFO_AEAD));

    let payload = Zeroizing::new(payload.encode());
    let padded = pad(&payload).ok_or(SealError::TooLarge(padded_len(4 + payload.len())))?;
    let ciphertext = ChaCha20Poly1305::new(&Key::from(*content_key))
        .encrypt(
            &Nonce::from([0u8; 12]),
            Payload {
                msg: &padded,
                aad: &content_ad(&header),
            },
        )
        .expect("ChaCha20-Poly1305 encrypts any message below 256 GiB");

    let ad = wrap_ad(&header, &commitment);
    let bucket = pair_keys.len().next_power_of_two().max(MIN_STANZAS);
    let mut stanzas = Vec::with_capacity(bucket);
    for pair in pair_keys {
        let mut nonce = [0u8; XNONCE_BYTES];
        random.fill(&mut nonce);
        let sealed_k = XChaCha20Poly1305::new(&Key::from(pair.wrap))
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &k[..],
                    aad: &ad,
                },
            )
            .expect("XChaCha20-Poly1305 encrypts 32 bytes");
        let mut wrapped = Vec::with_capacity(WRAPPED_BYTES_V1);
        wrapped.extend_from_slice(&nonce);
        wrapped.extend_from_slice(&sealed_k);
        stanzas.push(Stanza {
            tag: tag_of(pair, &header, &commitment),
            wrapped,
        });
    }
    while stanzas.len() < bucket {
        let mut tag = [0u8; STANZA_TAG_BYTES];
        random.fill(&mut tag);
        let mut wrapped = vec![0u8; WRAPPED_BYTES_V1];
        random.fill(&mut wrapped);
        stanzas.push(Stanza { tag, wrapped });
    }
    for i in (1..stanzas.len()).rev() {
        // i < MAX_STANZAS, so it fits a u32.
        let j = uniform(random, i as u32 + 1) as usize;
        stanzas.swap(i, j);
    }

    Ok(Sealed {
        suite: SUITE.to_string(),
        commitment,
        ciphertext,
        stanzas,
    })
}

// ---------------------------------------------------------------------------
// Open

/// Why a sealed entry addressed to us (a tag matched) could not be read, or
/// why we cannot tell whether it is addressed to us.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unopenable {
    /// A suite this version does not implement (e.g. a newer one).
    #[error("unsupported suite {0:?}")]
    UnsupportedSuite(String),
    /// No (own secret, issuer key) pair was usable: no own secrets, no
    /// issuer keys, or only low-order issuer keys.
    #[error("no usable (own secret, issuer key) pair")]
    NoUsableKey,
    /// The matching stanza did not decrypt under our pair key.
    #[error("the content key did not unwrap")]
    Unwrap,
    /// The unwrapped key does not match the commitment.
    #[error("the content key does not match the commitment")]
    Commitment,
    /// The ciphertext did not decrypt (tampered, or bound to another header).
    #[error("the ciphertext did not decrypt")]
    Decrypt,
    /// The decrypted plaintext is not a well-formed padded frame.
    #[error("malformed padding")]
    Padding,
    /// The payload does not decode.
    #[error("the payload does not decode: {0}")]
    Decode(DecodeError),
}

impl Unopenable {
    /// A short stable label (metrics, alert details).
    pub fn label(&self) -> &'static str {
        match self {
            Unopenable::UnsupportedSuite(_) => "unsupported_suite",
            Unopenable::NoUsableKey => "no_usable_key",
            Unopenable::Unwrap => "unwrap",
            Unopenable::Commitment => "commitment",
            Unopenable::Decrypt => "decrypt",
            Unopenable::Padding => "padding",
            Unopenable::Decode(_) => "decode",
        }
    }
}

/// What opening a sealed entry gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// No stanza is ours: the normal case for a non-recipient.
    NotAddressed,
    /// Ours, and it reads.
    Opened(Box<SealedPayload>),
    /// A stanza's tag matched, but no matching stanza opened (or we could
    /// not try): keep the entry, report `document.invalid` (`unopenable`).
    Unopenable(Unopenable),
}

/// Opens `sealed`, carried by the entry with `header`, with our own
/// `secrets` (old ones too) against the issuer's known encryption keys
/// `issuer_keys` (several during a rotation). Never panics on peer input.
/// The caller still checks the payload's recipient list against the
/// document's parties.
pub fn open(
    header: Header<'_>,
    sealed: &Sealed,
    issuer_keys: &[EncryptionPublic],
    secrets: &[EncryptionSecret],
    pairs: &PairKeys,
) -> Opening {
    open_from(header, sealed, issuer_keys, secrets, pairs).0
}

/// [`open`], also saying which of `issuer_keys` (by index) the stanza that
/// decided was wrapped under: what a recipient records to open the entry
/// again later, instead of trusting the payload's own claim.
///
/// Issuer keys are tried newest (last) first, own secrets in the order
/// given (newest first). The search stops at the first matching stanza
/// whose content key passes the commitment: the commitment binds the one
/// content key, so every such stanza would give the same plaintext, and the
/// verdict cannot depend on which of them is tried first.
pub fn open_from(
    header: Header<'_>,
    sealed: &Sealed,
    issuer_keys: &[EncryptionPublic],
    secrets: &[EncryptionSecret],
    pairs: &PairKeys,
) -> (Opening, Option<usize>) {
    if sealed.suite != SUITE {
        return (
            Opening::Unopenable(Unopenable::UnsupportedSuite(sealed.suite.clone())),
            None,
        );
    }
    let mut usable = false;
    let mut first_failure = None;
    for (i, issuer) in issuer_keys.iter().enumerate().rev() {
        for own in secrets {
            let Some(pair) = pairs.get(own, issuer, Role::Recipient) else {
                continue;
            };
            usable = true;
            let tag = tag_of(&pair, &header, &sealed.commitment);
            for st in &sealed.stanzas {
                if !bool::from(st.tag.ct_eq(&tag)) {
                    continue;
                }
                match try_open(&header, sealed, &pair, st) {
                    Ok(payload) => return (Opening::Opened(Box::new(payload)), Some(i)),
                    Err(e @ (Unopenable::Unwrap | Unopenable::Commitment)) => {
                        first_failure.get_or_insert((e, i));
                    }
                    Err(e) => return (Opening::Unopenable(e), Some(i)),
                }
            }
        }
    }
    if !usable {
        return (Opening::Unopenable(Unopenable::NoUsableKey), None);
    }
    match first_failure {
        Some((e, i)) => (Opening::Unopenable(e), Some(i)),
        None => (Opening::NotAddressed, None),
    }
}

fn try_open(
    header: &Header<'_>,
    sealed: &Sealed,
    pair: &PairKey,
    stanza: &Stanza,
) -> Result<SealedPayload, Unopenable> {
    let (nonce, wrapped_k) = stanza
        .wrapped
        .split_first_chunk::<XNONCE_BYTES>()
        .ok_or(Unopenable::Unwrap)?;
    let k = XChaCha20Poly1305::new(&Key::from(pair.wrap))
        .decrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: wrapped_k,
                aad: &wrap_ad(header, &sealed.commitment),
            },
        )
        .map_err(|_| Unopenable::Unwrap)?;
    let k = Zeroizing::new(k);
    let k: Zeroizing<[u8; 32]> =
        Zeroizing::new(k.as_slice().try_into().map_err(|_| Unopenable::Unwrap)?);
    if !bool::from(expand(&k, INFO_COMMIT).ct_eq(&sealed.commitment)) {
        return Err(Unopenable::Commitment);
    }
    if sealed.ciphertext.len() > MAX_PADDED + AEAD_TAG_BYTES {
        return Err(Unopenable::Decrypt);
    }
    let content_key = Zeroizing::new(expand(&k, INFO_AEAD));
    let padded = ChaCha20Poly1305::new(&Key::from(*content_key))
        .decrypt(
            &Nonce::from([0u8; 12]),
            Payload {
                msg: &sealed.ciphertext,
                aad: &content_ad(header),
            },
        )
        .map_err(|_| Unopenable::Decrypt)?;
    let padded = Zeroizing::new(padded);
    let payload = unpad(&padded).ok_or(Unopenable::Padding)?;
    SealedPayload::decode(payload).map_err(Unopenable::Decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{KeyRotation, License};
    use crate::entry::Body;
    use crate::validate::tests::export_fixture;

    fn id(s: &str) -> AuthorityId {
        s.parse().expect("valid authority id")
    }

    fn secret(n: u8) -> EncryptionSecret {
        EncryptionSecret::from_bytes([n; 32])
    }

    fn doc() -> Document {
        // The bytes `known_answer` was pinned with: the fixture as it was
        // before end_user became required (sealing does not validate).
        let mut e = export_fixture();
        e.end_user = None;
        Document::License(License::Export(e))
    }

    fn rng(n: u8) -> DeterministicRandom {
        DeterministicRandom::new([n; 32])
    }

    /// Recipients `MX-R1`.. with secrets 101, 102, ...
    fn recipients(n: usize) -> Vec<(Recipient, EncryptionSecret)> {
        (1..=n)
            .map(|i| {
                let s = secret(100 + i as u8);
                let r = Recipient {
                    authority: id(&format!("MX-R{i}")),
                    encryption_key: s.public(),
                };
                (r, s)
            })
            .collect()
    }

    struct Fixture {
        authority: AuthorityId,
        issuer: EncryptionSecret,
        prev: Option<EntryHash>,
        seq: u64,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture {
                authority: id("US-DDTC"),
                issuer: secret(1),
                prev: Some(EntryHash([9; 32])),
                seq: 5,
            }
        }
        fn header(&self) -> Header<'_> {
            Header {
                authority: &self.authority,
                seq: self.seq,
                prev: self.prev,
            }
        }
        fn seal_to(&self, to: &[Recipient], random: &mut dyn Random) -> Sealed {
            seal(
                &self.issuer,
                self.header(),
                &doc(),
                to,
                &["GT".parse().expect("country")],
                random,
                &PairKeys::default(),
            )
            .expect("seals")
        }
        fn open_as(&self, sealed: &Sealed, own: &EncryptionSecret) -> Opening {
            open(
                self.header(),
                sealed,
                &[self.issuer.public()],
                std::slice::from_ref(own),
                &PairKeys::default(),
            )
        }
    }

    fn opened(o: Opening) -> SealedPayload {
        match o {
            Opening::Opened(p) => *p,
            other => panic!("expected Opened, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_for_the_issuer_and_up_to_nine_recipients() {
        let f = Fixture::new();
        let outsider = secret(99);
        for n in 0..=9 {
            let rs = recipients(n);
            let to: Vec<Recipient> = rs.iter().map(|(r, _)| r.clone()).collect();
            let sealed = f.seal_to(&to, &mut rng(n as u8));
            let mut want = vec![Recipient {
                authority: f.authority.clone(),
                encryption_key: f.issuer.public(),
            }];
            want.extend(to.iter().cloned());
            for own in std::iter::once(&f.issuer).chain(rs.iter().map(|(_, s)| s)) {
                let p = opened(f.open_as(&sealed, own));
                assert_eq!(p.document, doc(), "n = {n}");
                assert_eq!(p.recipients, want, "n = {n}");
                assert_eq!(p.unreached, vec!["GT".parse::<Country>().expect("GT")]);
            }
            assert_eq!(f.open_as(&sealed, &outsider), Opening::NotAddressed);
        }
    }

    #[test]
    fn stanza_buckets_and_uniform_sizes() {
        let f = Fixture::new();
        // Real stanzas = recipients + the issuer.
        let want = [4, 4, 4, 4, 8, 8, 8, 8, 16, 16];
        for (n, bucket) in want.iter().enumerate() {
            let to: Vec<Recipient> = recipients(n).into_iter().map(|(r, _)| r).collect();
            let sealed = f.seal_to(&to, &mut rng(1));
            assert_eq!(sealed.stanzas.len(), *bucket, "{n} recipients");
            assert!(
                sealed
                    .stanzas
                    .iter()
                    .all(|s| s.wrapped.len() == WRAPPED_BYTES_V1)
            );
        }
        // 16 real stanzas fill their bucket; 17 go to 32.
        let to: Vec<Recipient> = recipients(16).into_iter().map(|(r, _)| r).collect();
        assert_eq!(f.seal_to(&to, &mut rng(1)).stanzas.len(), 32);
    }

    #[test]
    fn the_issuer_stanza_is_not_always_first() {
        // The shuffle moves it: over a few seeds it lands in several places.
        let f = Fixture::new();
        let pairs = PairKeys::default();
        let own = pairs
            .get(&f.issuer, &f.issuer.public(), Role::Recipient)
            .expect("pair");
        let mut places = std::collections::BTreeSet::new();
        for seed in 0..16 {
            let sealed = f.seal_to(&[], &mut rng(seed));
            let tag = tag_of(&own, &f.header(), &sealed.commitment);
            places.insert(sealed.stanzas.iter().position(|s| s.tag == tag));
        }
        assert!(places.len() > 1, "{places:?}");
        assert!(!places.contains(&None));
    }

    #[test]
    fn padding_sizes() {
        let table = [
            (4, 1024),
            (1024, 1024),
            (1025, 2048),
            (5000, 5120),
            (8192, 8192),
            (8193, 16384),
            (16384, 16384),
            (16385, 32768),
            (200_000, 262_144),
        ];
        for (n, want) in table {
            assert_eq!(padded_len(n), want, "{n}");
        }
        for len in [0usize, 1, 1019, 1020, 1021, 9000, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
            let padded = pad(&payload).expect("fits");
            assert_eq!(padded.len(), padded_len(4 + len));
            assert_eq!(unpad(&padded), Some(&payload[..]));
            // A non-zero padding byte, a wrong length, a wrong total: refused.
            if padded.len() > 4 + len {
                let mut bad = padded.to_vec();
                *bad.last_mut().expect("non-empty") = 1;
                assert_eq!(unpad(&bad), None);
            }
            // A length beyond the frame.
            let mut bad = padded.to_vec();
            bad[0] ^= 0x80;
            assert_eq!(unpad(&bad), None);
            // A length that implies another padded size.
            if len < 1000 {
                let mut bad = padded.to_vec();
                bad[2] ^= 0x04;
                assert_eq!(unpad(&bad), None);
            }
            assert_eq!(unpad(&padded[..padded.len() - 1]), None);
        }
        assert!(pad(&vec![0; MAX_PADDED]).is_none());

        // The ciphertext is the padded size plus the AEAD tag: 1 KiB for a
        // small document, a power of two for a large one.
        let f = Fixture::new();
        assert_eq!(f.seal_to(&[], &mut rng(1)).ciphertext.len(), 1024 + 16);
        let mut big = export_fixture();
        big.items[0].serials = (0..2000).map(|i| format!("SN{i:08}")).collect();
        big.items[0].quantity = 2000;
        let sealed = seal(
            &f.issuer,
            f.header(),
            &Document::License(License::Export(big.clone())),
            &[],
            &[],
            &mut rng(1),
            &PairKeys::default(),
        )
        .expect("seals");
        let padded = sealed.ciphertext.len() - 16;
        assert!(padded > 8192 && padded.is_power_of_two(), "{padded}");
        let p = opened(f.open_as(&sealed, &f.issuer));
        assert_eq!(p.document, Document::License(License::Export(big)));
    }

    #[test]
    fn a_too_large_document_is_refused() {
        let f = Fixture::new();
        let mut big = export_fixture();
        big.items[0].serials = (0..30_000).map(|i| format!("SERIAL{i:010}")).collect();
        let r = seal(
            &f.issuer,
            f.header(),
            &Document::License(License::Export(big)),
            &[],
            &[],
            &mut rng(1),
            &PairKeys::default(),
        );
        assert!(matches!(r, Err(SealError::TooLarge(_))), "{r:?}");
    }

    #[test]
    fn tampering_never_opens_and_never_panics() {
        let f = Fixture::new();
        let rs = recipients(2);
        let to: Vec<Recipient> = rs.iter().map(|(r, _)| r.clone()).collect();
        let sealed = f.seal_to(&to, &mut rng(3));
        let reader = &rs[1].1;
        assert!(matches!(f.open_as(&sealed, reader), Opening::Opened(_)));
        let unopenable = |o: Opening| match o {
            Opening::Unopenable(u) => u,
            other => panic!("expected Unopenable, got {other:?}"),
        };

        // Ciphertext: every byte position class (start, middle, the tag).
        for i in [0, sealed.ciphertext.len() / 2, sealed.ciphertext.len() - 1] {
            let mut t = sealed.clone();
            t.ciphertext[i] ^= 1;
            assert_eq!(unopenable(f.open_as(&t, reader)), Unopenable::Decrypt);
        }
        let mut t = sealed.clone();
        t.ciphertext.truncate(10);
        assert_eq!(unopenable(f.open_as(&t, reader)), Unopenable::Decrypt);

        // Wrapped bytes of every stanza (nonce, body, tag): ours fails to unwrap.
        for i in [0, 30, 71] {
            let mut t = sealed.clone();
            for s in &mut t.stanzas {
                s.wrapped[i] ^= 1;
            }
            assert_eq!(unopenable(f.open_as(&t, reader)), Unopenable::Unwrap);
        }

        // prev is only in the content AD: the stanza unwraps, decryption fails.
        let mut other = Fixture::new();
        other.prev = Some(EntryHash([8; 32]));
        assert_eq!(
            unopenable(other.open_as(&sealed, reader)),
            Unopenable::Decrypt
        );
        other.prev = None;
        assert_eq!(
            unopenable(other.open_as(&sealed, reader)),
            Unopenable::Decrypt
        );

        // The commitment, authority and seq are in the tag input: a reader's
        // tag no longer matches, so the entry looks not addressed to it (the
        // construction's tag binds them; the signature over the entry is
        // what catches such tampering in transit).
        let mut t = sealed.clone();
        t.commitment[0] ^= 1;
        assert_eq!(f.open_as(&t, reader), Opening::NotAddressed);
        let mut other = Fixture::new();
        other.seq += 1;
        assert_eq!(other.open_as(&sealed, reader), Opening::NotAddressed);
        let mut other = Fixture::new();
        other.authority = id("US-OTHER");
        assert_eq!(other.open_as(&sealed, reader), Opening::NotAddressed);

        // A wrong suite is never tried.
        let mut t = sealed.clone();
        t.suite = "tally/sealed/v9".into();
        assert_eq!(
            unopenable(f.open_as(&t, reader)),
            Unopenable::UnsupportedSuite("tally/sealed/v9".into())
        );
    }

    #[test]
    fn a_commitment_that_does_not_match_the_key_is_unopenable() {
        // A dishonest issuer wraps, for one reader, a key other than the
        // committed one (so readers would see different documents): the
        // commitment check catches it.
        let f = Fixture::new();
        let rs = recipients(1);
        let to = vec![rs[0].0.clone()];
        let mut sealed = f.seal_to(&to, &mut rng(4));
        let pairs = PairKeys::default();
        let pair = pairs
            .get(&f.issuer, &rs[0].0.encryption_key, Role::Issuer)
            .expect("pair");
        let tag = tag_of(&pair, &f.header(), &sealed.commitment);
        let other_k = [42u8; 32];
        let nonce = [0u8; 24];
        let wrapped = XChaCha20Poly1305::new(&Key::from(pair.wrap))
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &other_k,
                    aad: &wrap_ad(&f.header(), &sealed.commitment),
                },
            )
            .expect("encrypts");
        let ours = sealed
            .stanzas
            .iter_mut()
            .find(|s| s.tag == tag)
            .expect("the reader's stanza");
        ours.wrapped = [&nonce[..], &wrapped].concat();
        assert_eq!(
            f.open_as(&sealed, &rs[0].1),
            Opening::Unopenable(Unopenable::Commitment)
        );
        // The issuer's own stanza is untouched and still opens.
        assert!(matches!(f.open_as(&sealed, &f.issuer), Opening::Opened(_)));
    }

    #[test]
    fn low_order_keys_are_refused() {
        let low_points: Vec<[u8; 32]> = vec![
            [0; 32],
            {
                let mut one = [0u8; 32];
                one[0] = 1;
                one
            },
            // The order-8 points (RFC 7748 implementations list these).
            hex_array("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
            hex_array("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
            // p - 1 and p (non-canonical zero).
            hex_array("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
            hex_array("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ];
        for p in &low_points {
            assert!(EncryptionPublic(*p).is_low_order(), "{}", hex::encode(p));
        }
        for n in 1..20 {
            assert!(!secret(n).public().is_low_order());
        }

        let f = Fixture::new();
        let bad = Recipient {
            authority: id("MX-BAD"),
            encryption_key: EncryptionPublic(low_points[2]),
        };
        let r = seal(
            &f.issuer,
            f.header(),
            &doc(),
            &[bad],
            &[],
            &mut rng(1),
            &PairKeys::default(),
        );
        assert_eq!(
            r,
            Err(SealError::LowOrderKey {
                authority: id("MX-BAD")
            })
        );

        // Open: a low-order issuer key is skipped; with nothing else, we
        // cannot tell, and say so.
        let sealed = f.seal_to(&[], &mut rng(1));
        let low = EncryptionPublic(low_points[3]);
        assert_eq!(
            open(
                f.header(),
                &sealed,
                &[low],
                std::slice::from_ref(&f.issuer),
                &PairKeys::default()
            ),
            Opening::Unopenable(Unopenable::NoUsableKey)
        );
        assert!(matches!(
            open(
                f.header(),
                &sealed,
                &[low, f.issuer.public()],
                std::slice::from_ref(&f.issuer),
                &PairKeys::default()
            ),
            Opening::Opened(_)
        ));
    }

    fn hex_array(h: &str) -> [u8; 32] {
        hex::decode(h).expect("hex").try_into().expect("32 bytes")
    }

    #[test]
    fn randomness_decides_the_bytes() {
        let f = Fixture::new();
        let to: Vec<Recipient> = recipients(3).into_iter().map(|(r, _)| r).collect();
        let a = f.seal_to(&to, &mut rng(1));
        let b = f.seal_to(&to, &mut rng(2));
        assert_ne!(a.commitment, b.commitment);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_ne!(a.stanzas, b.stanzas);
        // The same seed gives the same bytes.
        assert_eq!(a, f.seal_to(&to, &mut rng(1)));
        // And the OS source gives fresh ones.
        assert_ne!(f.seal_to(&to, &mut OsRandom), f.seal_to(&to, &mut OsRandom));
    }

    #[test]
    fn known_answer() {
        // Pins the whole construction (KDF labels, layouts, draw order) for
        // seed [1; 32]: a change here is a protocol change.
        let f = Fixture::new();
        let to: Vec<Recipient> = recipients(2).into_iter().map(|(r, _)| r).collect();
        let sealed = f.seal_to(&to, &mut rng(1));
        let entry = Entry {
            authority: f.authority.clone(),
            seq: f.seq,
            prev: f.prev,
            issued_at_ms: 0,
            recipients: vec![],
            body: Body::Sealed(sealed),
        };
        assert_eq!(
            EntryHash::of(&entry.encode()).to_hex(),
            "81360cdf0f892a1134b0cf65da8760a07cec096564d996c3bb4026a3e0506d0d"
        );
    }

    #[test]
    fn old_secrets_and_rotated_issuer_keys_still_open() {
        let f = Fixture::new();
        let old = secret(50);
        let new = secret(51);
        let to = vec![Recipient {
            authority: id("MX-SEDENA"),
            encryption_key: old.public(),
        }];
        let sealed = f.seal_to(&to, &mut rng(1));
        // The reader has rotated to `new` but kept `old`.
        let o = open(
            f.header(),
            &sealed,
            &[f.issuer.public()],
            &[new.clone(), old.clone()],
            &PairKeys::default(),
        );
        assert!(matches!(o, Opening::Opened(_)));
        // With only the new secret the old entry is not ours to read.
        assert_eq!(f.open_as(&sealed, &new), Opening::NotAddressed);

        // The issuer rotated too: readers know both of its keys.
        let mut rotated = Fixture::new();
        let issuer_old = rotated.issuer.public();
        rotated.issuer = secret(2);
        let sealed = rotated.seal_to(&to, &mut rng(1));
        let pairs = PairKeys::default();
        let o = open(
            rotated.header(),
            &sealed,
            &[issuer_old, rotated.issuer.public()],
            std::slice::from_ref(&old),
            &pairs,
        );
        assert!(matches!(o, Opening::Opened(_)));
        // The newest issuer key is tried first, and opens: the older one
        // costs nothing.
        assert_eq!(pairs.len(), 1);
        // The restored issuer re-reads its own entry with its current secret.
        assert!(matches!(
            rotated.open_as(&sealed, &rotated.issuer),
            Opening::Opened(_)
        ));
    }

    #[test]
    fn seal_refusals() {
        let f = Fixture::new();
        let rotation = Document::KeyRotation(KeyRotation {
            new_key: "00".repeat(32),
            valid_from_ms: 0,
        });
        let r = seal(
            &f.issuer,
            f.header(),
            &rotation,
            &[],
            &[],
            &mut rng(1),
            &PairKeys::default(),
        );
        assert_eq!(r, Err(SealError::MustBeVisible("key_rotation")));

        // One key for two authorities is refused; the same recipient twice,
        // or the issuer listing itself, is merged.
        let k = secret(60).public();
        let twice = [
            Recipient {
                authority: id("MX-SEDENA"),
                encryption_key: k,
            },
            Recipient {
                authority: id("GT-DIGECAM"),
                encryption_key: k,
            },
        ];
        let r = seal(
            &f.issuer,
            f.header(),
            &doc(),
            &twice,
            &[],
            &mut rng(1),
            &PairKeys::default(),
        );
        assert!(matches!(r, Err(SealError::DuplicateKey { .. })), "{r:?}");
        let merged = [
            twice[0].clone(),
            twice[0].clone(),
            Recipient {
                authority: f.authority.clone(),
                encryption_key: f.issuer.public(),
            },
        ];
        let sealed = f.seal_to(&merged, &mut rng(1));
        assert_eq!(opened(f.open_as(&sealed, &f.issuer)).recipients.len(), 2);
    }

    #[test]
    fn pair_cache_is_bounded() {
        let pairs = PairKeys::new(2);
        let own = secret(1);
        for n in 2..6 {
            assert!(pairs.get(&own, &secret(n).public(), Role::Issuer).is_some());
            assert!(pairs.len() <= 2);
        }
        assert!(
            pairs
                .get(&own, &EncryptionPublic([0; 32]), Role::Issuer)
                .is_none()
        );
        // Direction matters: the issuer-side and recipient-side keys of the
        // same two keys differ (their info orders the keys).
        let a = derive_pair(&secret(1), &secret(2).public(), Role::Issuer).expect("pair");
        let b = derive_pair(&secret(1), &secret(2).public(), Role::Recipient).expect("pair");
        assert_ne!(a.tag, b.tag);
        let c = derive_pair(&secret(2), &secret(1).public(), Role::Recipient).expect("pair");
        assert_eq!(a.tag, c.tag);
        assert_eq!(a.wrap, c.wrap);
    }

    #[test]
    fn secrets_do_not_print() {
        let s = secret(0xab);
        let shown = format!("{s:?} {:?}", PairKeys::default());
        assert!(!shown.contains(&hex::encode(s.to_bytes())));
        assert!(!shown.contains("abab"));
        assert!(shown.contains(&s.public().to_hex()));
        assert_eq!(
            EncryptionPublic::parse(&s.public().to_hex()),
            Some(s.public())
        );
        assert_eq!(EncryptionPublic::parse("abcd"), None);
        assert_eq!(
            EncryptionSecret::from_bytes(s.to_bytes()).public(),
            s.public()
        );
    }

    #[test]
    fn sealed_bodies_round_trip_and_bad_sizes_are_refused() {
        use prost::Message;
        use tally_proto::v1 as pb;
        let f = Fixture::new();
        let sealed = f.seal_to(&[], &mut rng(1));
        let entry = Entry {
            authority: f.authority.clone(),
            seq: f.seq,
            prev: f.prev,
            issued_at_ms: 1,
            recipients: vec![],
            body: Body::Sealed(sealed),
        };
        let bytes = entry.encode();
        assert_eq!(Entry::decode(&bytes), Ok(entry));

        let good = pb::Entry::decode(&bytes[..]).expect("protobuf");
        let with = |change: &dyn Fn(&mut pb::Sealed)| {
            let mut m = good.clone();
            let Some(pb::entry::Body::Sealed(s)) = &mut m.body else {
                unreachable!("sealed body")
            };
            change(s);
            Entry::decode(&m.encode_to_vec())
        };
        assert!(with(&|_| {}).is_ok());
        type Change = Box<dyn Fn(&mut pb::Sealed)>;
        let bad: Vec<(&str, Change)> = vec![
            ("empty suite", Box::new(|s| s.suite.clear())),
            ("long suite", Box::new(|s| s.suite = "x".repeat(65))),
            (
                "short commitment",
                Box::new(|s| s.commitment = vec![0; 31].into()),
            ),
            (
                "short tag",
                Box::new(|s| s.stanzas[0].tag = vec![0; 15].into()),
            ),
            (
                "long wrapped",
                Box::new(|s| s.stanzas[0].wrapped = vec![0; 73].into()),
            ),
            (
                "too many stanzas",
                Box::new(|s| {
                    let one = s.stanzas[0].clone();
                    s.stanzas = vec![one; MAX_STANZAS + 1];
                }),
            ),
        ];
        for (name, change) in bad {
            assert!(
                matches!(with(&*change), Err(DecodeError::Field { .. })),
                "{name}"
            );
        }
        // An unknown suite with other stanza sizes still decodes (to relay it).
        assert!(
            with(&|s| {
                s.suite = "tally/sealed/v2".into();
                s.stanzas[0].wrapped = vec![0; 1200].into();
            })
            .is_ok()
        );
    }

    #[test]
    fn payload_decode_validates() {
        use prost::Message;
        use tally_proto::v1 as pb;
        let p = SealedPayload {
            document: doc(),
            recipients: vec![Recipient {
                authority: id("MX-SEDENA"),
                encryption_key: secret(3).public(),
            }],
            unreached: vec!["GT".parse().expect("GT")],
        };
        assert_eq!(SealedPayload::decode(&p.encode()), Ok(p.clone()));
        let good = pb::SealedPayload::decode(&p.encode()[..]).expect("protobuf");
        let mut m = good.clone();
        m.recipients[0].encryption_key = vec![1; 31].into();
        assert!(SealedPayload::decode(&m.encode_to_vec()).is_err());
        let mut m = good.clone();
        m.unreached[0] = "XX".into();
        assert!(SealedPayload::decode(&m.encode_to_vec()).is_err());
        let mut m = good.clone();
        m.document = None;
        assert!(SealedPayload::decode(&m.encode_to_vec()).is_err());
        let mut m = good;
        m.recipients[0].authority = "nope".into();
        assert!(SealedPayload::decode(&m.encode_to_vec()).is_err());
    }
}
