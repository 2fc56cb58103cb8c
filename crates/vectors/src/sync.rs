//! `sync.json`: the messages of /tally/sync/1 (PROTOCOL.md 10), each as
//! encoded and as framed on the stream: requests for heads, ranges and
//! evidence, and the responses to them.

use crate::{Chain, chain, hex};
use prost::Message as _;
use prost::bytes::Bytes;
use serde_json::{Value, json};
use tally_model::VerifiedEntry;
use tally_proto::v1 as pb;

fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = (message.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

/// Every message of the file: (direction, description, encoded message).
fn messages(chain: &Chain, proof: Vec<u8>) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    use pb::{sync_request, sync_response};
    let req = |kind| pb::SyncRequest { kind: Some(kind) }.encode_to_vec();
    let resp = |kind| pb::SyncResponse { kind: Some(kind) }.encode_to_vec();
    let head = |a: &str, v: &VerifiedEntry| pb::Head {
        authority: a.into(),
        seq: v.entry().seq,
        hash: Bytes::copy_from_slice(&v.id().0),
    };
    let mx = chain::mx_sedena_first();
    vec![
        (
            "request",
            "HeadsRequest",
            req(sync_request::Kind::Heads(pb::HeadsRequest {})),
        ),
        (
            "request",
            "RangeRequest for US-DDTC from seq 1, limit 512",
            req(sync_request::Kind::Range(pb::RangeRequest {
                authority: "US-DDTC".into(),
                from: 1,
                limit: 512,
            })),
        ),
        (
            "request",
            "RangeRequest for US-DDTC from seq 3, limit 0 (as many as allowed)",
            req(sync_request::Kind::Range(pb::RangeRequest {
                authority: "US-DDTC".into(),
                from: 3,
                limit: 0,
            })),
        ),
        (
            "request",
            "EvidenceRequest",
            req(sync_request::Kind::Evidence(pb::EvidenceRequest {})),
        ),
        (
            "response",
            "HeadsResponse: MX-SEDENA at seq 1 (entries.json), US-DDTC at seq 5 (chain.json)",
            resp(sync_response::Kind::Heads(pb::HeadsResponse {
                heads: vec![head("MX-SEDENA", &mx), head("US-DDTC", &chain[4].0)],
            })),
        ),
        (
            "response",
            "RangeResponse with US-DDTC seq 1 and 2 of chain.json (the exact SignedEntry bytes)",
            resp(sync_response::Kind::Range(pb::RangeResponse {
                entries: chain[..2]
                    .iter()
                    .map(|(v, _, _)| Bytes::from(v.signed().encode()))
                    .collect(),
            })),
        ),
        (
            "response",
            "RangeResponse with nothing at `from` (an empty list)",
            resp(sync_response::Kind::Range(pb::RangeResponse {
                entries: vec![],
            })),
        ),
        (
            "response",
            "RangeResponse to an EvidenceRequest: the proof of fork.json",
            resp(sync_response::Kind::Range(pb::RangeResponse {
                entries: vec![Bytes::from(proof)],
            })),
        ),
        (
            "response",
            "SyncError for a request without a kind",
            resp(sync_response::Kind::Error(pb::SyncError {
                message: "empty or unknown request".into(),
            })),
        ),
    ]
}

pub(crate) fn file(chain: &Chain, proof: Vec<u8>) -> Value {
    let list: Vec<Value> = messages(chain, proof)
        .into_iter()
        .map(|(direction, description, m)| {
            json!({
                "description": description,
                "direction": direction,
                "message": hex(&m),
                "frame": hex(frame(&m)),
            })
        })
        .collect();
    json!({
        "description": "/tally/sync/1 messages: `message` is the encoded SyncRequest (direction request) or SyncResponse (direction response); `frame` is what goes on the stream: u32be(len(message)) || message. Not a varint.",
        "protocol": "/tally/sync/1",
        "frames": list,
    })
}
