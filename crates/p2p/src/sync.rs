//! The sync (anti-entropy pull) vocabulary as plain Rust types, and its conversion to and from the
//! prost wire messages, with the clamping and truncation that bound every response.

use bytes::Bytes;
use prost::Message as _;
use prost::encoding::encoded_len_varint;
use tally_proto::v1::{
    EvidenceRequest, HeadsRequest, HeadsResponse, RangeRequest, RangeResponse, SyncError,
    SyncRequest, SyncResponse, sync_request, sync_response,
};

/// The latest entry this node holds of one authority's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Authority id, e.g. `US-DDTC`.
    pub authority: String,
    /// Sequence number of the latest entry held.
    pub seq: u64,
    /// SHA-256 of that entry's bytes (its entry id).
    pub hash: Vec<u8>,
}

/// A peer's question to this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncQuery {
    /// "Which heads do you hold?"
    Heads,
    /// "Send me `authority`'s entries from `from`". `limit` is already clamped
    /// to `1..=max_range_entries`; answering with fewer entries is fine.
    Range {
        authority: String,
        from: u64,
        limit: u32,
    },
    /// "Which equivocation proofs do you hold?" Answered with
    /// [`SyncAnswer::Range`] of encoded proofs.
    Evidence,
}

/// The node's answer to a [`SyncQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncAnswer {
    /// One head per authority the node holds entries of.
    Heads(Vec<Head>),
    /// Encoded `SignedEntry` messages, consecutive from the requested `from`.
    /// The swarm truncates the list to the limit and the byte bound.
    Range(Vec<Bytes>),
    /// The node cannot answer (unknown authority, overloaded, ...).
    Error(String),
}

/// Longest error text sent or kept from a peer: enough to diagnose, too short to flood a log.
const MAX_ERROR_CHARS: usize = 256;

pub(crate) fn short_error(message: &str) -> String {
    message.chars().take(MAX_ERROR_CHARS).collect()
}

pub(crate) fn error_response(message: &str) -> SyncResponse {
    SyncResponse {
        kind: Some(sync_response::Kind::Error(SyncError {
            message: short_error(message),
        })),
    }
}

pub(crate) fn query_to_wire(query: SyncQuery) -> SyncRequest {
    let kind = match query {
        SyncQuery::Heads => sync_request::Kind::Heads(HeadsRequest {}),
        SyncQuery::Evidence => sync_request::Kind::Evidence(EvidenceRequest {}),
        SyncQuery::Range {
            authority,
            from,
            limit,
        } => sync_request::Kind::Range(RangeRequest {
            authority,
            from,
            limit,
        }),
    };
    SyncRequest { kind: Some(kind) }
}

/// A peer's request as a query for the node, with `limit` clamped to
/// `1..=max_entries` (0, the proto default, means "as many as allowed").
/// `None` when the request carries no kind (an unknown or empty message).
pub(crate) fn query_from_wire(request: SyncRequest, max_entries: u32) -> Option<SyncQuery> {
    match request.kind? {
        sync_request::Kind::Heads(_) => Some(SyncQuery::Heads),
        sync_request::Kind::Evidence(_) => Some(SyncQuery::Evidence),
        sync_request::Kind::Range(r) => Some(SyncQuery::Range {
            authority: r.authority,
            from: r.from,
            limit: if r.limit == 0 {
                max_entries
            } else {
                r.limit.min(max_entries)
            },
        }),
    }
}

/// Bytes a length-delimited field of `len` bytes adds to its parent (one-byte tag, length, body).
fn field_len(len: usize) -> usize {
    1 + encoded_len_varint(len as u64) + len
}

/// The node's answer as a wire response that encodes to at most `max_bytes`
/// and holds at most `max_entries` entries; items past either bound are dropped.
pub(crate) fn answer_to_wire(
    answer: SyncAnswer,
    max_entries: usize,
    max_bytes: usize,
) -> SyncResponse {
    // The oneof wraps the list in one more length-delimited field; reserve its
    // worst-case header (tag + 10-byte varint) so the check below is per item.
    let budget = max_bytes.saturating_sub(11);
    match answer {
        SyncAnswer::Heads(heads) => {
            let mut used = 0;
            let heads = heads
                .into_iter()
                .map(|h| tally_proto::v1::Head {
                    authority: h.authority,
                    seq: h.seq,
                    hash: Bytes::from(h.hash),
                })
                .take_while(|h| {
                    used += field_len(h.encoded_len());
                    used <= budget
                })
                .collect();
            SyncResponse {
                kind: Some(sync_response::Kind::Heads(HeadsResponse { heads })),
            }
        }
        SyncAnswer::Range(entries) => {
            let had_entries = !entries.is_empty();
            let mut used = 0;
            let entries: Vec<Bytes> = entries
                .into_iter()
                .take(max_entries)
                .take_while(|e| {
                    used += field_len(e.len());
                    used <= budget
                })
                .collect();
            if had_entries && entries.is_empty() {
                // Sending nothing would look like "no entries from here" and
                // stall the requester; say why instead.
                return error_response("the first entry exceeds the response size bound");
            }
            SyncResponse {
                kind: Some(sync_response::Kind::Range(RangeResponse { entries })),
            }
        }
        SyncAnswer::Error(message) => error_response(&message),
    }
}

/// What a peer answered, in plain types, before checking it matches the question.
pub(crate) enum Answered {
    Heads(Vec<Head>),
    Range(Vec<Bytes>),
    Refused(String),
    Empty,
}

pub(crate) fn answer_from_wire(response: SyncResponse) -> Answered {
    match response.kind {
        Some(sync_response::Kind::Heads(h)) => Answered::Heads(
            h.heads
                .into_iter()
                .map(|h| Head {
                    authority: h.authority,
                    seq: h.seq,
                    hash: h.hash.to_vec(),
                })
                .collect(),
        ),
        Some(sync_response::Kind::Range(r)) => Answered::Range(r.entries),
        Some(sync_response::Kind::Error(e)) => Answered::Refused(short_error(&e.message)),
        None => Answered::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(sizes: &[usize]) -> Vec<Bytes> {
        sizes.iter().map(|&n| Bytes::from(vec![7u8; n])).collect()
    }

    fn range_len(r: &SyncResponse) -> Option<usize> {
        match &r.kind {
            Some(sync_response::Kind::Range(r)) => Some(r.entries.len()),
            _ => None,
        }
    }

    #[test]
    fn limit_is_clamped() {
        let cases = [(0, 512), (1, 1), (512, 512), (513, 512), (u32::MAX, 512)];
        for (asked, got) in cases {
            let req = query_to_wire(SyncQuery::Range {
                authority: "US-DDTC".into(),
                from: 1,
                limit: asked,
            });
            match query_from_wire(req, 512) {
                Some(SyncQuery::Range { limit, .. }) => assert_eq!(limit, got, "asked {asked}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(query_from_wire(SyncRequest { kind: None }, 512), None);
    }

    #[test]
    fn range_is_truncated_to_count_and_bytes() {
        // (entry sizes, max entries, max bytes, entries kept or None for an error)
        let cases: &[(&[usize], usize, usize, Option<usize>)] = &[
            (&[10, 10, 10], 512, 4096, Some(3)),
            (&[10, 10, 10], 2, 4096, Some(2)),
            (&[1000, 1000, 1000], 512, 2100, Some(2)),
            (&[], 512, 100, Some(0)),
            (&[5000], 512, 4096, None),
        ];
        for (sizes, max_entries, max_bytes, kept) in cases {
            let r = answer_to_wire(SyncAnswer::Range(entries(sizes)), *max_entries, *max_bytes);
            assert_eq!(range_len(&r), *kept, "{sizes:?} {max_entries} {max_bytes}");
            assert!(r.encoded_len() <= *max_bytes);
        }
    }

    #[test]
    fn encoded_size_never_exceeds_bound() {
        for max_bytes in [64usize, 100, 1000, 1003, 4096] {
            for n in [1usize, 50, 127, 128, 300] {
                let r = answer_to_wire(SyncAnswer::Range(entries(&[n; 40])), 512, max_bytes);
                assert!(r.encoded_len() <= max_bytes, "n={n} max={max_bytes}");
                let heads = (0..200)
                    .map(|i| Head {
                        authority: format!("US-A{i}"),
                        seq: i,
                        hash: vec![1; n % 64],
                    })
                    .collect();
                let r = answer_to_wire(SyncAnswer::Heads(heads), 512, max_bytes);
                assert!(r.encoded_len() <= max_bytes);
            }
        }
    }

    #[test]
    fn long_errors_are_shortened() {
        let r = answer_to_wire(SyncAnswer::Error("é".repeat(10_000)), 512, 4096);
        match answer_from_wire(r) {
            Answered::Refused(m) => assert_eq!(m.chars().count(), MAX_ERROR_CHARS),
            _ => panic!("expected a refusal"),
        }
    }
}
