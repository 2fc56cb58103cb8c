//! The bytes of the store's values: JSON for the typed records, and the
//! fixed layouts of heads, log records and equivocation evidence.

use crate::error::{Result, StoreError};
use crate::keys::KeyReader;
use crate::state::Evidence;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tally_model::{AuthorityId, EntryHash, SignedEntry};

pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(key, e))
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value)
        .expect("store values are plain structs with string map keys and always serialize")
}

pub(crate) fn encode_head(seq: u64, hash: &EntryHash) -> Vec<u8> {
    let mut v = Vec::with_capacity(40);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&hash.0);
    v
}

pub(crate) fn decode_head(key: &[u8], v: &[u8]) -> Result<(u64, EntryHash)> {
    let (seq, hash) = v
        .split_first_chunk::<8>()
        .filter(|(_, h)| h.len() == 32)
        .ok_or_else(|| StoreError::corrupt(key, "head is not seq (8) + hash (32)"))?;
    let hash = EntryHash::from_slice(hash).ok_or_else(|| StoreError::corrupt(key, "hash"))?;
    Ok((u64::from_be_bytes(*seq), hash))
}

pub(crate) fn decode_signed(key: &[u8], v: &[u8]) -> Result<SignedEntry> {
    SignedEntry::decode(v).map_err(|e| StoreError::corrupt(key, e))
}

pub(crate) fn authority_of(key: &[u8], s: &str) -> Result<AuthorityId> {
    s.parse()
        .map_err(|e| StoreError::corrupt(key, format_args!("authority: {e}")))
}

pub(crate) fn encode_evidence(e: &Evidence) -> Vec<u8> {
    let [first, second] = &e.entries;
    let len = u32::try_from(first.len())
        .expect("an encoded entry is at most MAX_ENTRY_BYTES, far below 4 GiB");
    let mut v = Vec::with_capacity(4 + first.len() + second.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(first);
    v.extend_from_slice(second);
    v
}

pub(crate) fn decode_evidence(key: &[u8], v: &[u8]) -> Result<Evidence> {
    let mut r = KeyReader::new(key);
    let (authority, seq) = r
        .str()
        .zip(r.u64())
        .ok_or_else(|| StoreError::corrupt(key, "evidence key"))?;
    let (len, rest) = v
        .split_first_chunk::<4>()
        .ok_or_else(|| StoreError::corrupt(key, "evidence value too short"))?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(StoreError::corrupt(key, "evidence value too short"));
    }
    let (first, second) = rest.split_at(len);
    Ok(Evidence {
        authority: authority_of(key, &authority)?,
        seq,
        entries: [first.to_vec(), second.to_vec()],
    })
}
