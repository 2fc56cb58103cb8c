//! [`Log`]: one authority's log as its writer sees it, signing the next entry.

use crate::docs::T0;
use tally_model::{AuthorityId, AuthorityKey, Body, Document, Entry, EntryHash, VerifiedEntry};

/// One authority's log as its writer sees it: the key and the chain tip.
pub struct Log {
    pub key: AuthorityKey,
    pub authority: AuthorityId,
    pub seq: u64,
    pub prev: Option<EntryHash>,
}

impl Log {
    pub fn new(authority: &str, key: u8) -> Log {
        Log {
            key: crate::key(key),
            authority: authority.parse().expect("fixture authority id"),
            seq: 0,
            prev: None,
        }
    }

    /// Continues a log from a head `(seq, hash)`, as a store reports it.
    pub fn resume(authority: &str, key: u8, head: Option<(u64, EntryHash)>) -> Log {
        let mut log = Log::new(authority, key);
        if let Some((seq, hash)) = head {
            log.seq = seq;
            log.prev = Some(hash);
        }
        log
    }

    /// The next entry, issued at `T0 + seq` seconds.
    pub fn next(&mut self, doc: Document) -> VerifiedEntry {
        let at = T0 + (self.seq as i64 + 1) * 1000;
        self.next_at(at, doc)
    }

    pub fn next_at(&mut self, issued_at_ms: i64, doc: Document) -> VerifiedEntry {
        self.next_body(issued_at_ms, Body::Document(doc))
    }

    pub fn next_body(&mut self, issued_at_ms: i64, body: Body) -> VerifiedEntry {
        let v = self.key.sign(&Entry {
            authority: self.authority.clone(),
            seq: self.seq + 1,
            prev: self.prev,
            issued_at_ms,
            recipients: vec![],
            body,
        });
        self.seq += 1;
        self.prev = Some(v.id());
        v
    }

    /// An entry that is not next: `seq` and `prev` as given, the tip unchanged.
    pub fn forged(&self, seq: u64, prev: Option<EntryHash>, doc: Document) -> VerifiedEntry {
        self.key.sign(&Entry {
            authority: self.authority.clone(),
            seq,
            prev,
            issued_at_ms: T0,
            recipients: vec![],
            body: Body::Document(doc),
        })
    }
}
