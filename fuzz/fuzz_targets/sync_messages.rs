//! `/tally/sync/1` frames as a peer sends them: the prost decoding of
//! `SyncRequest` and `SyncResponse`, then what the node does with each part
//! (authority ids parsed, head hashes sized, range items decoded as signed
//! entries, or as equivocation proofs when answering an evidence request). The p2p crate's frame reader and wire conversions are private,
//! so this drives the same prost types and the model decoders they feed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tally_model::{AuthorityId, EntryHash, MAX_ENTRY_BYTES, SignedEntry, decode_proof};
use tally_proto::v1::{SyncRequest, SyncResponse, sync_request, sync_response};

/// The request frame bound of the p2p codec (`MAX_REQUEST_BYTES`).
const MAX_REQUEST_BYTES: usize = 4096;

fn round_trips<M: Message + Default + PartialEq + std::fmt::Debug>(m: &M) {
    let wire = m.encode_to_vec();
    assert_eq!(wire.len(), m.encoded_len());
    assert_eq!(M::decode(wire.as_slice()).as_ref(), Ok(m));
}

fuzz_target!(|data: &[u8]| {
    if data.len() <= MAX_REQUEST_BYTES
        && let Ok(req) = SyncRequest::decode(data)
    {
        round_trips(&req);
        if let Some(sync_request::Kind::Range(r)) = &req.kind {
            let _ = r.authority.parse::<AuthorityId>();
        }
    }
    if let Ok(resp) = SyncResponse::decode(data) {
        round_trips(&resp);
        match &resp.kind {
            Some(sync_response::Kind::Heads(h)) => {
                for head in &h.heads {
                    let _ = head.authority.parse::<AuthorityId>();
                    let _ = EntryHash::from_slice(&head.hash);
                }
            }
            Some(sync_response::Kind::Range(r)) => {
                for bytes in &r.entries {
                    if let Ok(s) = SignedEntry::decode(bytes) {
                        assert!(bytes.len() <= MAX_ENTRY_BYTES);
                        let _ = s.open();
                    }
                    if let Ok((a, b)) = decode_proof(bytes) {
                        let _ = (a.open(), b.open());
                    }
                }
            }
            Some(sync_response::Kind::Error(e)) => {
                let short: String = e.message.chars().take(256).collect();
                assert!(short.len() <= e.message.len());
            }
            None => {}
        }
    }
});
