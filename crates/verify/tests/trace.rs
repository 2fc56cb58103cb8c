//! A trace shows only what a node reads: the recipient of a sealed export
//! finds the license that lists a serial; a bystander that holds the same
//! entries finds nothing (docs/API.md, `GET /v1/trace`).

mod support;

use tally_model::seal::{DeterministicRandom, EncryptionSecret, Header, PairKeys, seal_payload};
use tally_model::*;
use tally_testkit::docs::export;
use tally_testkit::{Log, T0};
use tally_verify::{IngestOutcome, Verifier};

const US_ENC: u8 = 201;
const MX_ENC: u8 = 202;
const CA_ENC: u8 = 203;

fn enc(n: u8) -> EncryptionSecret {
    EncryptionSecret::from_bytes([n; 32])
}

/// A node of `authority` (signing key `signing`, encryption secret
/// `secret`) trusting US, whose card carries its encryption key.
fn node(authority: &str, signing: u8, secret: u8) -> (tempfile::TempDir, Verifier) {
    support::sealed_node(authority, signing, secret, enc(US_ENC).public())
}

/// US's export EXP-1 listing serial AC1000, sealed to US and MX.
fn sealed_export(us: &mut Log) -> VerifiedEntry {
    let recipients = vec![
        Recipient {
            authority: us.authority.clone(),
            encryption_key: enc(US_ENC).public(),
        },
        Recipient {
            authority: "MX-SEDENA".parse().expect("valid"),
            encryption_key: enc(MX_ENC).public(),
        },
    ];
    let payload = SealedPayload {
        document: export("EXP-1", 10, &["AC1000"]),
        recipients,
        unreached: vec!["GT".parse().expect("iso")],
    };
    let header = Header {
        authority: &us.authority,
        seq: us.seq + 1,
        prev: us.prev,
    };
    let body = seal_payload(
        &enc(US_ENC),
        header,
        &payload,
        &[enc(US_ENC).public(), enc(MX_ENC).public()],
        &mut DeterministicRandom::new([7; 32]),
        &PairKeys::default(),
    )
    .expect("seals");
    us.next_body(T0 + 1_000, Body::Sealed(body))
}

#[test]
fn a_trace_finds_what_this_node_reads_and_nothing_else() {
    let mut us = Log::new("US-DDTC", 1);
    let entry = sealed_export(&mut us);
    let (_m, mx) = node("MX-SEDENA", 2, MX_ENC);
    let (_c, ca) = node("CA-GAC", 4, CA_ENC);
    for v in [&mx, &ca] {
        let out = v
            .ingest()
            .entry(&entry.signed().encode())
            .expect("no transaction fails");
        assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    }
    let trace = |v: &Verifier| {
        v.reader()
            .expect("a snapshot")
            .trace("ACME", "ac-1000")
            .expect("reads")
    };
    let found = trace(&mx);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].license.number, "EXP-1");
    assert!(found[0].listed);
    assert!(
        trace(&ca).is_empty(),
        "a bystander reads nothing sealed away from it"
    );
}
