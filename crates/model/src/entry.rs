//! Log entries: the signed unit of everything on the network.
//!
//! The signature covers the exact bytes of the encoded [`Entry`], prefixed by
//! [`DOMAIN`]. Received bytes are verified and stored as they came: protobuf
//! is not canonical and a decoder drops fields it does not know, so
//! re-encoding would break signatures of entries written by newer versions.
//! The typestate runs `SignedEntry` (parsed) -> [`VerifiedEntry`] (signature
//! checked against a key the caller trusts), so nothing unverified is stored.

use crate::document::Document;
pub use crate::error::DecodeError;
use crate::id::AuthorityId;
use crate::validate::Invalid;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Domain separation: a signature over an entry can never be replayed as
/// anything else.
pub const DOMAIN: &[u8] = b"tally/entry/v1";

/// Largest encoded signed entry accepted anywhere (API, gossip, sync, disk).
/// An equivocation proof carries two, and must still fit in one 1 MiB gossip
/// message.
pub const MAX_ENTRY_BYTES: usize = 384 * 1024;

/// SHA-256 of an entry's bytes: its id, and the `prev` link of the next entry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryHash(pub [u8; 32]);

impl EntryHash {
    pub fn of(entry_bytes: &[u8]) -> EntryHash {
        EntryHash(Sha256::digest(entry_bytes).into())
    }
    pub fn from_slice(b: &[u8]) -> Option<EntryHash> {
        b.try_into().ok().map(EntryHash)
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({})", &hex::encode(&self.0[..8]))
    }
}

/// What an entry carries.
// Documents are the common case; boxing them would cost an allocation per
// entry to shrink the smaller `Sealed` variant.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A network-visible document.
    Document(Document),
    /// A document readable only by its recipients; see [`crate::seal`].
    Sealed(Sealed),
    /// A document this version cannot read: a kind or a value it does not
    /// know, or fields that do not make a document. Its bytes were
    /// well-formed (docs/PROTOCOL.md 2.5), so the entry is stored, relayed
    /// and chained like any other, and raises `document.invalid` where it
    /// would have been applied: refusing it would make a newer writer's
    /// log stop at every older reader.
    Unknown(UnknownDocument),
}

/// What [`Body::Unknown`] keeps: why it does not read, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDocument {
    /// `unknown_kind: ...` for a kind or value this version does not know.
    pub reason: String,
    /// The encoded `Document` message, to encode the entry again.
    pub bytes: Vec<u8>,
}

/// Most stanzas a sealed entry may carry (recipients plus decoys). Checked
/// on decode so a peer cannot make every reader hash a million tags.
pub const MAX_STANZAS: usize = 1024;
/// Longest `suite` name accepted on decode.
pub const MAX_SUITE_BYTES: usize = 64;
/// Size of a stanza's `tag`, whatever the suite.
pub const STANZA_TAG_BYTES: usize = 16;
/// Size of a stanza's `wrapped` under [`crate::seal::SUITE`]: 24-byte nonce,
/// 32-byte encrypted content key, 16-byte Poly1305 tag.
pub const WRAPPED_BYTES_V1: usize = 72;
/// Largest `wrapped` accepted for a suite this version does not know (room
/// for a post-quantum KEM ciphertext), so such entries are still stored and
/// relayed.
pub const MAX_WRAPPED_BYTES: usize = 4096;

/// A sealed body as it is signed: the fields of `tally.v1.Sealed`, with
/// sizes checked on decode (see the constants above). Made by
/// [`crate::seal::seal`], read by [`crate::seal::open`].
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Names the algorithms; [`crate::seal::SUITE`] is the only one this
    /// version produces or opens. Other suites decode (for relaying) but do
    /// not open.
    pub suite: String,
    /// Commits to the content key; checked before decrypting.
    pub commitment: [u8; 32],
    /// The padded, encrypted payload with its 16-byte AEAD tag.
    pub ciphertext: Vec<u8>,
    /// One per recipient plus decoys, shuffled.
    pub stanzas: Vec<Stanza>,
}

/// The content key wrapped for one recipient, or a decoy of the same shape.
#[derive(Clone, PartialEq, Eq)]
pub struct Stanza {
    pub tag: [u8; STANZA_TAG_BYTES],
    /// [`WRAPPED_BYTES_V1`] bytes under [`crate::seal::SUITE`]:
    /// nonce(24) || ciphertext(32) || tag(16).
    pub wrapped: Vec<u8>,
}

// Sizes only: the bytes are public, but a debug dump of kilobytes of
// ciphertext helps nobody.
impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("suite", &self.suite)
            .field("commitment", &hex::encode(&self.commitment[..8]))
            .field("ciphertext_len", &self.ciphertext.len())
            .field("stanzas", &self.stanzas.len())
            .finish()
    }
}

impl fmt::Debug for Stanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stanza")
            .field("tag", &hex::encode(self.tag))
            .field("wrapped_len", &self.wrapped.len())
            .finish()
    }
}

/// One record of an authority's append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub authority: AuthorityId,
    /// 1, 2, 3, ... without gaps.
    pub seq: u64,
    /// Hash of entry `seq - 1`; `None` exactly for seq 1.
    pub prev: Option<EntryHash>,
    pub issued_at_ms: i64,
    /// Reserved for sealed entries.
    pub recipients: Vec<String>,
    pub body: Body,
}

impl Entry {
    pub fn document(&self) -> Option<&Document> {
        match &self.body {
            Body::Document(d) => Some(d),
            Body::Sealed(_) | Body::Unknown(_) => None,
        }
    }

    /// Encodes the entry and has `sign` sign its message (`DOMAIN ||
    /// entry`, docs/PROTOCOL.md 3.1) for the key `public`: how a signer kept
    /// outside this crate signs (a key in a PKCS#11 token, tally-custody's
    /// `Signer`), while the prefix and the rule stay here. The signature
    /// was made where this crate cannot see, so it is checked under the
    /// protocol's rule before the entry counts as verified: a token that
    /// signs with another key or another scheme (Ed25519ph) is caught here,
    /// not by every peer.
    pub fn sign_with<E>(
        &self,
        public: &[u8; 32],
        sign: impl FnOnce(&[u8]) -> Result<[u8; 64], E>,
    ) -> Result<VerifiedEntry, SignWithError<E>> {
        let signed = SignedEntry {
            entry: self.encode(),
            key_id: *public,
            signature: [0; 64],
        };
        let message = signed.message();
        let signature = sign(&message).map_err(SignWithError::Signer)?;
        if !crate::signature::verify(public, &message, &signature) {
            return Err(SignWithError::BadSignature);
        }
        let signed = SignedEntry {
            signature,
            ..signed
        };
        Ok(VerifiedEntry::minted(signed, self.clone()))
    }
}

/// Why [`Entry::sign_with`] made no entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignWithError<E> {
    /// The signer did not sign.
    #[error("the signer did not sign: {0}")]
    Signer(E),
    /// The signer answered a signature that does not verify with the key it
    /// claims.
    #[error("the signer's signature does not verify with its public key")]
    BadSignature,
}

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("entry signed by key {signed_by}, not the key it was checked against")]
    WrongKey { signed_by: String },
    #[error("bad signature")]
    BadSignature,
    #[error("signed bytes are not an entry: {0}")]
    Decode(#[from] DecodeError),
}

/// An entry as it travels and is stored: exact entry bytes plus signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedEntry {
    pub(crate) entry: Vec<u8>,
    pub(crate) key_id: [u8; 32],
    pub(crate) signature: [u8; 64],
}

impl fmt::Debug for SignedEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedEntry")
            .field("id", &self.id())
            .field("len", &self.entry.len())
            .finish()
    }
}

impl SignedEntry {
    /// The exact signed bytes.
    pub fn entry_bytes(&self) -> &[u8] {
        &self.entry
    }

    /// The public key that claims to have signed this entry.
    pub fn key_id(&self) -> &[u8; 32] {
        &self.key_id
    }

    pub fn id(&self) -> EntryHash {
        EntryHash::of(&self.entry)
    }

    /// Decodes the signed bytes, without checking the signature.
    pub fn open(&self) -> Result<Entry, DecodeError> {
        Entry::decode(&self.entry)
    }

    fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(DOMAIN.len() + self.entry.len());
        m.extend_from_slice(DOMAIN);
        m.extend_from_slice(&self.entry);
        m
    }

    /// Checks the signature under the protocol's rule
    /// ([`crate::signature::verify`], ZIP-215).
    pub fn verify_with(&self, key: &VerifyingKey) -> Result<(), VerifyError> {
        if key.as_bytes() != &self.key_id {
            return Err(VerifyError::WrongKey {
                signed_by: hex::encode(self.key_id),
            });
        }
        if crate::signature::verify(&self.key_id, &self.message(), &self.signature) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature)
        }
    }
}

/// Checks many entries' signatures at once under the same rule as
/// [`SignedEntry::verify_with`] (batch and single checks agree on every
/// input). Returns false if any fails or names another key; the caller falls
/// back to single checks to find which.
pub fn verify_batch(entries: &[(&SignedEntry, &VerifyingKey)]) -> bool {
    if entries.iter().any(|(e, k)| k.as_bytes() != &e.key_id) {
        return false;
    }
    let messages: Vec<Vec<u8>> = entries.iter().map(|(e, _)| e.message()).collect();
    let items: Vec<crate::signature::BatchItem<'_>> = entries
        .iter()
        .zip(&messages)
        .map(|((e, _), m)| (&e.key_id, &m[..], &e.signature))
        .collect();
    crate::signature::verify_batch(&items)
}

/// A signed entry whose bytes decode, signature not yet checked: what the
/// verifier reads the authority, seq and time from to find the key to check
/// it with. Only [`OpenedEntry::open`] makes one, so its `entry` is always
/// the decoding of its `signed` bytes.
#[derive(Debug, Clone)]
pub struct OpenedEntry {
    signed: SignedEntry,
    entry: Entry,
}

impl OpenedEntry {
    pub fn open(signed: SignedEntry) -> Result<OpenedEntry, DecodeError> {
        let entry = signed.open()?;
        Ok(OpenedEntry { signed, entry })
    }
    pub fn signed(&self) -> &SignedEntry {
        &self.signed
    }
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
}

/// An entry whose signature was checked against a key trusted for its
/// authority, and whose bytes decode. Only these enter the store, and only
/// the constructors here (which check the signature) or [`AuthorityKey::sign`]
/// make one.
#[derive(Debug, Clone)]
pub struct VerifiedEntry {
    signed: SignedEntry,
    entry: Entry,
    id: EntryHash,
    /// The stateless rules of the license document it carries in clear,
    /// when [`VerifiedEntry::check_document`] ran them ahead of applying.
    document_check: Option<Result<(), Invalid>>,
}

impl VerifiedEntry {
    /// Checks `opened` against `key`, which the caller trusts for the
    /// authority named inside the entry at the entry's time and seq.
    pub fn verify(opened: OpenedEntry, key: &VerifyingKey) -> Result<VerifiedEntry, VerifyError> {
        opened.signed.verify_with(key)?;
        Ok(Self::minted(opened.signed, opened.entry))
    }

    /// Checks a run of entries in one batch (catch-up), each with the key the
    /// caller trusts for it. Returns the entries up to the first that fails,
    /// and that failure.
    pub fn verify_run(
        run: Vec<(OpenedEntry, VerifyingKey)>,
    ) -> (Vec<VerifiedEntry>, Option<VerifyError>) {
        let pairs: Vec<(&SignedEntry, &VerifyingKey)> =
            run.iter().map(|(o, k)| (&o.signed, k)).collect();
        let mut failure = None;
        let good = if verify_batch(&pairs) {
            run.len()
        } else {
            // Find the first bad one; everything before it stands.
            match run
                .iter()
                .map(|(o, k)| o.signed.verify_with(k))
                .position(|r| r.is_err())
            {
                Some(bad) => {
                    failure = run[bad].0.signed.verify_with(&run[bad].1).err();
                    bad
                }
                None => run.len(),
            }
        };
        let verified = run
            .into_iter()
            .take(good)
            .map(|(o, _)| Self::minted(o.signed, o.entry))
            .collect();
        (verified, failure)
    }

    fn minted(signed: SignedEntry, entry: Entry) -> VerifiedEntry {
        let id = signed.id();
        VerifiedEntry {
            signed,
            entry,
            id,
            document_check: None,
        }
    }

    /// Runs the stateless rules of the license document this entry carries
    /// in clear (`validate::validate_license`) now, on the caller's thread:
    /// catch-up runs them beside the signature check, on the other core, so
    /// the one-thread commit stage does not (they were a tenth of it). The
    /// lifecycle takes the result as it would have computed it
    /// (`lifecycle::transition_checked`). Other entries are unchanged.
    pub fn check_document(mut self) -> VerifiedEntry {
        if let Body::Document(Document::License(l) | Document::Amendment { license: l, .. }) =
            &self.entry.body
        {
            let issuer = self.entry.authority.country();
            self.document_check = Some(crate::validate::validate_license(l, issuer));
        }
        self
    }

    /// What [`VerifiedEntry::check_document`] found, when it ran.
    pub fn document_check(&self) -> Option<&Result<(), Invalid>> {
        self.document_check.as_ref()
    }

    pub fn signed(&self) -> &SignedEntry {
        &self.signed
    }
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
    pub fn id(&self) -> EntryHash {
        self.id
    }
}

/// An authority's Ed25519 signing key. Never printed.
pub struct AuthorityKey(SigningKey);

impl fmt::Debug for AuthorityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityKey({})", hex::encode(self.public().as_bytes()))
    }
}

impl AuthorityKey {
    pub fn from_bytes(secret: &[u8; 32]) -> AuthorityKey {
        AuthorityKey(SigningKey::from_bytes(secret))
    }
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    pub fn public(&self) -> VerifyingKey {
        self.0.verifying_key()
    }
    /// Encodes and signs an entry.
    pub fn sign(&self, entry: &Entry) -> VerifiedEntry {
        let bytes = entry.encode();
        let mut m = Vec::with_capacity(DOMAIN.len() + bytes.len());
        m.extend_from_slice(DOMAIN);
        m.extend_from_slice(&bytes);
        let signature = self.0.sign(&m).to_bytes();
        let signed = SignedEntry {
            entry: bytes,
            key_id: self.public().to_bytes(),
            signature,
        };
        VerifiedEntry::minted(signed, entry.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Document, License};

    pub(crate) fn key(n: u8) -> AuthorityKey {
        AuthorityKey::from_bytes(&[n; 32])
    }

    pub(crate) fn entry(authority: &str, seq: u64, prev: Option<EntryHash>) -> Entry {
        Entry {
            authority: authority.parse().expect("valid"),
            seq,
            prev,
            issued_at_ms: 1_790_000_000_000 + seq as i64,
            recipients: vec![],
            body: Body::Document(Document::License(License::Export(
                crate::validate::tests::export_fixture(),
            ))),
        }
    }

    #[test]
    fn sign_verify_and_tamper() {
        let k = key(1);
        let v = k.sign(&entry("US-DDTC", 1, None));
        let wire = v.signed().encode();
        let back = SignedEntry::decode(&wire).expect("decodes");
        assert_eq!(back.id(), v.id());
        assert_eq!(back.open().expect("opens"), *v.entry());
        assert!(
            VerifiedEntry::verify(OpenedEntry::open(back.clone()).expect("opens"), &k.public())
                .is_ok()
        );

        // Wrong key.
        assert!(matches!(
            back.verify_with(&key(2).public()),
            Err(VerifyError::WrongKey { .. })
        ));
        // Every single-byte change of the entry bytes breaks the signature.
        for i in 0..back.entry.len() {
            let mut t = back.clone();
            t.entry[i] ^= 0x01;
            assert!(t.verify_with(&k.public()).is_err(), "byte {i}");
        }
        // A forged key id pointing at a trusted key does not help.
        let mut forged = key(3).sign(&entry("US-DDTC", 1, None)).signed().clone();
        forged.key_id = k.public().to_bytes();
        assert_eq!(
            forged.verify_with(&k.public()),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn the_unsigned_wrapper_has_one_encoding() {
        // A relay that re-encodes the wrapper (an unknown field, a field
        // repeated, the fields reordered) would mint a new gossip id for the
        // same entry; every such variant is refused.
        let v = key(1).sign(&entry("US-DDTC", 1, None));
        let wire = v.signed().encode();
        assert!(SignedEntry::decode(&wire).is_ok());
        let mut extra = wire.clone();
        extra.extend_from_slice(&[0x22, 0x01, 0x00]); // field 4, one byte
        let mut repeated = wire.clone();
        repeated.extend_from_slice(&wire[wire.len() - 66..]); // signature again
        let entry_len = v.signed().entry_bytes().len();
        // Field 1 (tag, length, entry), then 2 (34 bytes) and 3 (66 bytes).
        let f1_end = wire.len() - 100;
        let f1_head = f1_end - entry_len;
        let mut reordered = wire[f1_end..].to_vec();
        reordered.extend_from_slice(&wire[..f1_end]);
        // The entry's length as a varint one byte longer than needed.
        let mut long_length = vec![0x0a];
        let mut n = entry_len;
        while n >= 0x80 {
            long_length.push(0x80 | (n as u8 & 0x7f));
            n >>= 7;
        }
        long_length.extend_from_slice(&[0x80 | n as u8, 0x00]);
        long_length.extend_from_slice(&wire[f1_head..]);
        for (name, bytes) in [
            ("unknown field", extra),
            ("repeated field", repeated),
            ("reordered", reordered),
            ("over-long length", long_length),
        ] {
            assert!(
                matches!(SignedEntry::decode(&bytes), Err(DecodeError::Field { .. })),
                "{name}"
            );
        }
    }

    #[test]
    fn signing_through_a_closure_matches_the_key_and_checks_what_it_gets() {
        let k = key(1);
        let e = entry("US-DDTC", 1, None);
        let public = k.public().to_bytes();
        let direct = k.sign(&e);
        let through = e
            .sign_with(&public, |m| Ok::<_, ()>(k.0.sign(m).to_bytes()))
            .expect("signed");
        assert_eq!(through.signed(), direct.signed());
        assert_eq!(through.id(), direct.id());
        // Another key's signature, or none, makes no entry.
        let other = key(2);
        assert_eq!(
            e.sign_with(&public, |m| Ok::<_, ()>(other.0.sign(m).to_bytes()))
                .map(|v| v.id()),
            Err(SignWithError::BadSignature)
        );
        assert_eq!(
            e.sign_with(&public, |_| Err("token away")).map(|v| v.id()),
            Err(SignWithError::Signer("token away"))
        );
    }

    #[test]
    fn prefix_is_signed() {
        // A plain signature over the entry bytes (no domain prefix) is refused.
        let k = key(1);
        let e = entry("US-DDTC", 1, None);
        let bytes = e.encode();
        let sig = k.0.sign(&bytes).to_bytes();
        let s = SignedEntry {
            entry: bytes,
            key_id: k.public().to_bytes(),
            signature: sig,
        };
        assert_eq!(s.verify_with(&k.public()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn unknown_fields_survive_and_still_verify() {
        // A newer version adds field 99 to Entry; this version must store and
        // forward the exact bytes, and the signature must still hold.
        let k = key(1);
        let mut bytes = entry("US-DDTC", 1, None).encode();
        bytes.extend_from_slice(&[0x9a, 0x06, 0x03, b'n', b'e', b'w']); // field 99, len 3
        let mut m = DOMAIN.to_vec();
        m.extend_from_slice(&bytes);
        let s = SignedEntry {
            entry: bytes.clone(),
            key_id: k.public().to_bytes(),
            signature: k.0.sign(&m).to_bytes(),
        };
        let wire = s.encode();
        let back = SignedEntry::decode(&wire).expect("decodes");
        assert_eq!(back.entry_bytes(), &bytes[..]);
        let v = VerifiedEntry::verify(OpenedEntry::open(back).expect("opens"), &k.public())
            .expect("verifies");
        assert_eq!(v.entry().seq, 1);
        assert_eq!(v.signed().encode(), wire);
    }

    #[test]
    fn malformed_bytes_are_errors_not_panics() {
        for b in [&b""[..], b"\xff\xff\xff", b"\x0a\x05abc", &[0u8; 100]] {
            let _ = SignedEntry::decode(b).and_then(|s| s.open());
        }
        assert!(matches!(
            SignedEntry::decode(&vec![0u8; MAX_ENTRY_BYTES + 1]),
            Err(DecodeError::TooLarge(_))
        ));
    }

    #[test]
    fn batch_matches_single() {
        let k = key(1);
        let a = k.sign(&entry("US-DDTC", 1, None));
        let b = k.sign(&entry("US-DDTC", 2, Some(a.id())));
        let pk = k.public();
        assert!(verify_batch(&[(a.signed(), &pk), (b.signed(), &pk)]));
        let mut bad = b.signed().clone();
        bad.entry[3] ^= 1;
        assert!(!verify_batch(&[(a.signed(), &pk), (&bad, &pk)]));
    }
}
