//! Reading the logs: heads, entries by seq or hash, ranges, sizes.

use crate::codec::authority_of;
use crate::codec::decode_head;
use crate::codec::decode_signed;
use crate::engine;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::keys::KeyReader;
use crate::store::Store;
use crate::store::dir_bytes;
use tally_model::{AuthorityId, EntryHash, SignedEntry};

impl Store {
    /// The newest entry of `authority`'s log: (seq, hash).
    pub fn head(&self, authority: &AuthorityId) -> Result<Option<(u64, EntryHash)>> {
        let key = keys::head(authority.as_str());
        self.engine()
            .get(&key)?
            .map(|v| decode_head(&key, &v))
            .transpose()
    }

    /// Every log's head, by authority id. Unbounded on purpose: one row per
    /// authority, and only trusted authorities' entries are ever appended.
    pub fn heads(&self) -> Result<Vec<(AuthorityId, u64, EntryHash)>> {
        let start = [keys::HEAD];
        let rows = self
            .engine()
            .scan(&start, &keys::prefix_end(&start), usize::MAX)?;
        rows.into_iter()
            .map(|(k, v)| {
                let name = KeyReader::new(&k)
                    .str()
                    .ok_or_else(|| StoreError::corrupt(&k, "head key"))?;
                let (seq, hash) = decode_head(&k, &v)?;
                Ok((authority_of(&k, &name)?, seq, hash))
            })
            .collect()
    }

    pub fn entry_at(&self, authority: &AuthorityId, seq: u64) -> Result<Option<SignedEntry>> {
        let key = keys::log(authority.as_str(), seq);
        self.engine()
            .get(&key)?
            .map(|v| decode_signed(&key, &v))
            .transpose()
    }

    /// Up to `limit` entries of `authority`'s log from `from` on, in seq
    /// order. The caller bounds `limit`.
    pub fn range(
        &self,
        authority: &AuthorityId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<SignedEntry>> {
        self.log_rows(authority, from, limit)?
            .into_iter()
            .map(|(k, v)| decode_signed(&k, &v))
            .collect()
    }

    pub(crate) fn log_rows(
        &self,
        authority: &AuthorityId,
        from: u64,
        limit: usize,
    ) -> Result<engine::Rows> {
        let a = authority.as_str();
        self.engine().scan(
            &keys::log(a, from),
            &keys::prefix_end(&keys::log_prefix(a)),
            limit,
        )
    }

    /// Where the entry with this id sits.
    pub fn by_hash(&self, hash: &EntryHash) -> Result<Option<(AuthorityId, u64)>> {
        let key = keys::hash(hash);
        let Some(v) = self.engine().get(&key)? else {
            return Ok(None);
        };
        let (seq, name) = v
            .split_first_chunk::<8>()
            .ok_or_else(|| StoreError::corrupt(&key, "hash index value too short"))?;
        let name = std::str::from_utf8(name).map_err(|e| StoreError::corrupt(&key, e))?;
        Ok(Some((authority_of(&key, name)?, u64::from_be_bytes(*seq))))
    }

    /// Entries held, over every log (logs are dense, so the sum of heads).
    pub fn entry_count(&self) -> Result<u64> {
        Ok(self.heads()?.iter().map(|(_, seq, _)| seq).sum())
    }

    /// Bytes the store's files take on disk (apparent size).
    pub fn disk_bytes(&self) -> Result<u64> {
        dir_bytes(&self.inner.dir)
    }
}
