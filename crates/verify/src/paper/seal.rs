//! The seal itself: a [`Summary`] in CWT claims, signed as a COSE_Sign1
//! (tag 18; protected header `alg` = -19, Ed25519, and `kid`;
//! `external_aad` = `tally/seal/v1`), compressed with zlib, Base45 and the
//! prefix `TLY1:` (docs/PROTOCOL.md, "Paper seals").
//!
//! Reading a seal gives three separate answers; this module gives the
//! first, whether the paper is genuine ([`Genuine`]): what the status of the
//! document is and whether a post fits its route are the verifier's, from
//! its bundle.

use crate::paper::annex::{Annex, annex_cti};
use crate::paper::summary::{Summary, SummaryError};
use ciborium::Value;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable, iana};
use sha2::{Digest, Sha256};
use tally_model::signer::{Signer, SignerError};

/// What every seal's text starts with.
pub const PREFIX: &str = "TLY1:";
/// COSE's `external_aad`: binds the signature to this use.
pub const EXTERNAL_AAD: &[u8] = b"tally/seal/v1";
/// The private-use CWT claim that holds the summary.
pub const SUMMARY_CLAIM: i64 = -65_537;
/// The longest a seal inflates to: a bomb is "not a seal", not a crash.
pub const MAX_INFLATED: usize = 16 * 1024;
/// The zlib level, pinned (with the compressor, [`deflate`]) so that the
/// vectors regenerate byte for byte.
pub const ZLIB_LEVEL: u32 = 9;

/// The CWT claim keys used (RFC 8392).
const ISS: i64 = 1;
const EXP: i64 = 4;
const IAT: i64 = 6;
const CTI: i64 = 7;

/// A seal's key id: 8 bytes of SHA-256 over a label and the paper key.
pub fn key_id(public_key: &[u8; 32]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(b"tally/seal/kid/v1\0");
    h.update(public_key);
    let d = h.finalize();
    let mut id = [0u8; 8];
    id.copy_from_slice(&d[..8]);
    id
}

/// A document's `cti`: 16 bytes of SHA-256 over a label, its authority,
/// number and version. It names the document, not its log entry.
pub fn cti(authority: &str, number: &str, version: u32) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(b"tally/seal/cti/v1\0");
    h.update(authority.as_bytes());
    h.update([0]);
    h.update(number.as_bytes());
    h.update([0]);
    h.update(version.to_be_bytes());
    let d = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&d[..16]);
    id
}

/// What is signed besides the summary: when it was printed and until when
/// it holds (seconds since 1970, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    pub printed_at: i64,
    pub expires_at: i64,
}

/// The steps of a seal, each kept for the vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub claims: Vec<u8>,
    pub cose: Vec<u8>,
    pub compressed: Vec<u8>,
    pub text: String,
}

/// Why a seal could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("signing the seal: {0}")]
    Signer(#[from] SignerError),
    #[error("encoding the seal: {0}")]
    Encoding(String),
}

/// The CWT claims of a seal naming `cti`, with `body` (a summary's CBOR
/// map) under [`SUMMARY_CLAIM`].
fn claims(issuer: &str, id: &[u8; 16], body: Value, times: Times) -> Value {
    Value::Map(vec![
        (Value::Integer(ISS.into()), Value::Text(issuer.to_string())),
        (
            Value::Integer(EXP.into()),
            Value::Integer(times.expires_at.into()),
        ),
        (
            Value::Integer(IAT.into()),
            Value::Integer(times.printed_at.into()),
        ),
        (Value::Integer(CTI.into()), Value::Bytes(id.to_vec())),
        (Value::Integer(SUMMARY_CLAIM.into()), body),
    ])
}

/// Seals `summary` with the paper key `signer`.
pub fn seal(summary: &Summary, times: Times, signer: &dyn Signer) -> Result<Sealed, SealError> {
    let id = cti(&summary.authority, &summary.number, summary.version);
    let body = crate::paper::summary::to_cbor(summary);
    sign(claims(&summary.authority, &id, body, times), signer)
}

/// Seals one annex page of `document` (docs/PROTOCOL.md 14, "Annex
/// pages"): its identity and `annex`, under the annex's own `cti`, with
/// the paper key `signer`; `times` are the main seal's.
pub fn seal_annex(
    document: &Summary,
    annex: &Annex,
    times: Times,
    signer: &dyn Signer,
) -> Result<Sealed, SealError> {
    let d = document;
    let id = annex_cti(&d.authority, &d.number, d.version, annex.line, annex.part);
    let body = crate::paper::annex::to_cbor(d, annex);
    sign(claims(&d.authority, &id, body, times), signer)
}

/// Signs `claims` as a COSE_Sign1, compresses and encodes it.
fn sign(claims: Value, signer: &dyn Signer) -> Result<Sealed, SealError> {
    let mut claims_bytes = Vec::new();
    ciborium::into_writer(&claims, &mut claims_bytes)
        .map_err(|e| SealError::Encoding(e.to_string()))?;
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::Ed25519)
        .key_id(key_id(&signer.public_key()).to_vec())
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(claims_bytes.clone())
        .try_create_signature(EXTERNAL_AAD, |data| signer.sign(data).map(|s| s.to_vec()))?
        .build();
    let cose = sign1
        .to_tagged_vec()
        .map_err(|e| SealError::Encoding(e.to_string()))?;
    let compressed = deflate(&cose);
    let text = format!("{PREFIX}{}", base45::encode(&compressed));
    Ok(Sealed {
        claims: claims_bytes,
        cose,
        compressed,
        text,
    })
}

/// A seal's text read back, before its signature is checked.
#[derive(Debug, Clone)]
pub struct Read {
    pub key_id: Vec<u8>,
    pub issuer: String,
    pub times: Times,
    pub cti: Vec<u8>,
    /// What the seal says of its document; of an annex seal, the
    /// document's identity alone (kind, authority, number, version).
    pub summary: Summary,
    /// The annex claim, when this is an annex page's seal.
    pub annex: Option<Annex>,
    sign1: CoseSign1,
}

/// Why a text is not a seal: it is not what a Tally seal is made of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a seal: {0}")]
pub struct NotASeal(pub String);

fn not<T>(why: impl Into<String>) -> Result<T, NotASeal> {
    Err(NotASeal(why.into()))
}

/// `bytes` as a zlib stream at [`ZLIB_LEVEL`], by `miniz_oxide` itself: a
/// fixed compressor, whatever backend other crates of a build choose for
/// `flate2`, so the vectors regenerate byte for byte.
pub fn deflate(bytes: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(bytes, ZLIB_LEVEL as u8)
}

fn inflate(compressed: &[u8]) -> Result<Vec<u8>, NotASeal> {
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, MAX_INFLATED).map_err(|e| {
        match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                NotASeal(format!("inflates past {MAX_INFLATED} bytes"))
            }
            other => NotASeal(format!("zlib: {other:?}")),
        }
    })
}

fn claim(claims: &[(Value, Value)], key: i64) -> Option<&Value> {
    claims
        .iter()
        .find(|(k, _)| k.as_integer() == Some(key.into()))
        .map(|(_, v)| v)
}

fn seconds(v: Option<&Value>, what: &str) -> Result<i64, NotASeal> {
    v.and_then(Value::as_integer)
        .and_then(|i| i64::try_from(i).ok())
        .ok_or_else(|| NotASeal(format!("{what} is not a time")))
}

/// Reads a seal's text: prefix, Base45, zlib, COSE_Sign1 and claims.
pub fn read(text: &str) -> Result<Read, NotASeal> {
    let Some(body) = text.trim().strip_prefix(PREFIX) else {
        return not(format!("it does not start with {PREFIX}"));
    };
    let compressed = base45::decode(body).or_else(|e| not(format!("Base45: {e:?}")))?;
    let cose = inflate(&compressed)?;
    let sign1 = CoseSign1::from_tagged_slice(&cose).or_else(|e| not(format!("COSE_Sign1: {e}")))?;
    if sign1.protected.header.alg
        != Some(coset::RegisteredLabelWithPrivate::Assigned(
            iana::Algorithm::Ed25519,
        ))
    {
        return not("the algorithm is not Ed25519 (-19)");
    }
    let payload = sign1.payload.clone().unwrap_or_default();
    let Ok(Value::Map(claims)) = ciborium::from_reader::<Value, _>(payload.as_slice()) else {
        return not("the claims are not a CBOR map");
    };
    let issuer = match claim(&claims, ISS) {
        Some(Value::Text(t)) => t.clone(),
        _ => return not("iss is not text"),
    };
    let cti = match claim(&claims, CTI) {
        Some(Value::Bytes(b)) => b.clone(),
        _ => return not("cti is not bytes"),
    };
    let times = Times {
        printed_at: seconds(claim(&claims, IAT), "iat")?,
        expires_at: seconds(claim(&claims, EXP), "exp")?,
    };
    let body = claim(&claims, SUMMARY_CLAIM)
        .cloned()
        .ok_or_else(|| NotASeal("no summary claim".into()))?;
    let (summary, annex) = if crate::paper::annex::is_annex(&body) {
        crate::paper::annex::from_cbor(body).map(|(s, a)| (s, Some(a)))
    } else {
        crate::paper::summary::from_cbor(body).map(|s| (s, None))
    }
    .map_err(|SummaryError(e)| NotASeal(e))?;
    Ok(Read {
        key_id: sign1.protected.header.key_id.clone(),
        issuer,
        times,
        cti,
        summary,
        annex,
        sign1,
    })
}

/// Whether the paper is what its issuer signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Genuine {
    /// Signed by a paper key the verifier trusts, as printed.
    Genuine,
    /// Signed by no such key as printed: it was changed after signing.
    Altered,
    /// Its key is unknown to the verifier, or marked compromised.
    Untrusted,
}

/// A paper key a verifier knows: its authority, its public key, and
/// whether any compromise mark is on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperKey {
    pub authority: String,
    pub public_key: [u8; 32],
    pub compromised: bool,
}

impl Read {
    /// Checks the signature against `keys`: RFC 8032 verification
    /// (cofactorless, canonical encodings only), as a browser's WebCrypto
    /// verifies, so every verifier agrees (docs/PROTOCOL.md says why this
    /// differs from the log's rule).
    pub fn genuine(&self, keys: &[PaperKey]) -> Genuine {
        let key = keys.iter().find(|k| {
            k.authority == self.issuer && key_id(&k.public_key).as_slice() == self.key_id
        });
        let Some(key) = key else {
            return Genuine::Untrusted;
        };
        if key.compromised {
            return Genuine::Untrusted;
        }
        let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key) else {
            return Genuine::Untrusted;
        };
        let verified = self.sign1.verify_signature(EXTERNAL_AAD, |sig, data| {
            let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| ())?;
            vk.verify_strict(data, &sig).map_err(|_| ())
        });
        // The cti names the summary's document (or, of an annex, its line
        // and part): a seal re-pointing one is altered.
        let s = &self.summary;
        let expected = match &self.annex {
            None => cti(&s.authority, &s.number, s.version),
            Some(a) => annex_cti(&s.authority, &s.number, s.version, a.line, a.part),
        };
        let named = self.cti == expected.to_vec() && self.issuer == s.authority;
        if verified.is_ok() && named {
            Genuine::Genuine
        } else {
            Genuine::Altered
        }
    }
}
