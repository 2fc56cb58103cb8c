//! Writes the seed corpora under `fuzz/seeds/<target>/`: valid inputs the
//! fuzzers start from. Run from `fuzz/`: `cargo run --example seeds`.

use prost::Message;
use std::fs;
use std::path::Path;
use tally_fuzz::{
    CHECK_JSON, EXPORT_JSON, IMPORT_JSON, TRANSIT_JSON, genuine_sealed, key, license, sealed_of,
};
use tally_model::{Body, Entry, License, encode_proof};
use tally_proto::v1 as pb;

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    fs::create_dir_all(&dir).expect("seed directory");
    fs::write(dir.join(name), bytes).expect("seed file");
}

fn main() {
    let chain = tally_fuzz::mx_chain();
    let us = tally_fuzz::us_first();

    // signed_entry: genuine entries, a bare entry, an equivocation proof.
    for (i, v) in chain.iter().enumerate() {
        write(
            "signed_entry",
            &format!("mx-{}", i + 1),
            &v.signed().encode(),
        );
    }
    write("signed_entry", "us-1", &us.signed().encode());
    write("signed_entry", "bare-entry", &us.entry().encode());
    let mut fork = chain[0].entry().clone();
    fork.body = Body::Sealed(sealed_of(b"fork"));
    let fork = key(2).sign(&fork);
    write(
        "signed_entry",
        "proof",
        &encode_proof(chain[0].signed(), fork.signed()),
    );
    let sealed = Entry {
        recipients: vec!["MX-SEDENA".into()],
        body: Body::Sealed(sealed_of(&[1, 2, 3])),
        ..us.entry().clone()
    };
    write(
        "signed_entry",
        "sealed",
        &key(1).sign(&sealed).signed().encode(),
    );

    // sealed_entry (first byte: the mode). 0: genuine seals as a peer sends
    // them (signed; seq 1 and 2, to no reader, one, both), one of another
    // suite and one that opens for nobody. 1: edit scripts over the genuine
    // seals (none, a ciphertext byte, a stanza byte). 2: sealed payloads.
    for (seq, readers) in [(1, 0), (1, 2), (2, 1), (2, 2)] {
        let e = genuine_sealed(seq, readers, seq as u8);
        write(
            "sealed_entry",
            &format!("peer-seq{seq}-readers{readers}"),
            &[&[0u8][..], &key(1).sign(&e).signed().encode()].concat(),
        );
    }
    let mut other_suite = genuine_sealed(1, 2, 7);
    if let Body::Sealed(s) = &mut other_suite.body {
        s.suite = "tally/sealed/v2".into();
    }
    write(
        "sealed_entry",
        "peer-other-suite",
        &[&[0u8][..], &other_suite.encode()].concat(),
    );
    write(
        "sealed_entry",
        "peer-shape-only",
        &[&[0u8][..], &sealed.encode()].concat(),
    );
    write("sealed_entry", "edit-none", &[1, 1, 2, 5]);
    write(
        "sealed_entry",
        "edit-ciphertext",
        &[1, 0, 1, 5, 0x03, 0x00, 0x01],
    );
    write(
        "sealed_entry",
        "edit-stanza",
        &[1, 1, 2, 5, 0x00, 0x40, 0x80],
    );
    let payload = tally_model::SealedPayload {
        document: tally_model::Document::License(license(EXPORT_JSON)),
        recipients: vec![tally_model::Recipient {
            authority: "MX-SEDENA".parse().expect("valid"),
            encryption_key: tally_fuzz::encryption_secret(2).public(),
        }],
        unreached: vec!["GT".parse().expect("a country")],
    };
    write(
        "sealed_entry",
        "payload-export",
        &[&[2u8][..], &payload.encode()].concat(),
    );
    let transit = tally_model::SealedPayload {
        document: tally_model::Document::License(license(TRANSIT_JSON)),
        recipients: vec![],
        unreached: vec![],
    };
    write(
        "sealed_entry",
        "payload-transit-no-one",
        &[&[2u8][..], &transit.encode()].concat(),
    );

    // documents_json: the docs/API.md examples, and amendment pairs.
    write("documents_json", "export", EXPORT_JSON.as_bytes());
    write("documents_json", "import", IMPORT_JSON.as_bytes());
    write("documents_json", "transit", TRANSIT_JSON.as_bytes());
    write("documents_json", "check", CHECK_JSON.as_bytes());
    let mut lowered = license(EXPORT_JSON);
    if let License::Export(d) = &mut lowered {
        d.items[0].quantity = 60;
        d.valid_until = "2027-03-31".into();
        d.transit_countries = vec!["HN".into()];
    }
    let lowered = serde_json::to_vec(&lowered).expect("serializes");
    let pair = [EXPORT_JSON.as_bytes(), b"\0", &lowered].concat();
    write("documents_json", "amend-export", &pair);
    let pair = [IMPORT_JSON.as_bytes(), b"\0", IMPORT_JSON.as_bytes()].concat();
    write("documents_json", "amend-import-same", &pair);
    let card = serde_json::json!({
        "authority": "MX-SEDENA", "country": "MX", "name": "SEDENA",
        "peer_id": "12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp",
        "addresses": ["/ip4/127.0.0.1/tcp/4001"],
        "keys": [{"public_key": hex::encode(key(2).public().as_bytes()), "valid_from_ms": 0}]
    });
    write("documents_json", "card", card.to_string().as_bytes());
    let record = serde_json::json!({
        "license": {"authority": "US-DDTC", "number": "EXP-2026-0001"},
        "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
        "date": "2026-12-01", "items": [{"line": 1, "quantity": 40, "serials": ["AC1000"]}],
        "verdict": "accept", "failed_rules": []
    });
    write("documents_json", "shipment", record.to_string().as_bytes());

    // sync_messages: each request and response kind.
    let heads_req = pb::SyncRequest {
        kind: Some(pb::sync_request::Kind::Heads(pb::HeadsRequest {})),
    };
    write("sync_messages", "heads-request", &heads_req.encode_to_vec());
    let range_req = pb::SyncRequest {
        kind: Some(pb::sync_request::Kind::Range(pb::RangeRequest {
            authority: "MX-SEDENA".into(),
            from: 1,
            limit: 100,
        })),
    };
    write("sync_messages", "range-request", &range_req.encode_to_vec());
    let evidence_req = pb::SyncRequest {
        kind: Some(pb::sync_request::Kind::Evidence(pb::EvidenceRequest {})),
    };
    write(
        "sync_messages",
        "evidence-request",
        &evidence_req.encode_to_vec(),
    );
    let evidence = pb::SyncResponse {
        kind: Some(pb::sync_response::Kind::Range(pb::RangeResponse {
            entries: vec![encode_proof(chain[0].signed(), fork.signed()).into()],
        })),
    };
    write(
        "sync_messages",
        "evidence-response",
        &evidence.encode_to_vec(),
    );
    let heads = pb::SyncResponse {
        kind: Some(pb::sync_response::Kind::Heads(pb::HeadsResponse {
            heads: vec![
                pb::Head {
                    authority: "MX-SEDENA".into(),
                    seq: chain.len() as u64,
                    hash: chain[chain.len() - 1].id().0.to_vec().into(),
                },
                pb::Head {
                    authority: "US-DDTC".into(),
                    seq: 1,
                    hash: us.id().0.to_vec().into(),
                },
            ],
        })),
    };
    write("sync_messages", "heads-response", &heads.encode_to_vec());
    let range = pb::SyncResponse {
        kind: Some(pb::sync_response::Kind::Range(pb::RangeResponse {
            entries: chain.iter().map(|v| v.signed().encode().into()).collect(),
        })),
    };
    write("sync_messages", "range-response", &range.encode_to_vec());
    let error = pb::SyncResponse {
        kind: Some(pb::sync_response::Kind::Error(pb::SyncError {
            message: "unknown authority".into(),
        })),
    };
    write("sync_messages", "error-response", &error.encode_to_vec());
}
