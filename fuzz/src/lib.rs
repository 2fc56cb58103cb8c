//! Fixtures shared by the fuzz targets and the seed generator: fixed keys,
//! valid documents as docs/API.md writes them, and a valid signed chain.
//!
//! Everything here is deterministic, so a crash found by one run reproduces
//! from its input file alone.

use tally_model::{Body, Document, Entry, License, StatusChange, VerifiedEntry};

pub use tally_testkit::json::{
    CHECK_EXAMPLE as CHECK_JSON, EXPORT_EXAMPLE as EXPORT_JSON, IMPORT_EXAMPLE as IMPORT_JSON,
    TRANSIT_EXAMPLE as TRANSIT_JSON,
};
pub use tally_testkit::{key, trust_list};

pub fn license(json: &str) -> License {
    serde_json::from_str(json).expect("a docs/API.md example")
}

/// MX-SEDENA's log, signed with key 2: the import certificate, an
/// amendment lowering its quantity, then a suspension.
pub fn mx_chain() -> Vec<VerifiedEntry> {
    let issued = license(IMPORT_JSON);
    let mut amended = issued.clone();
    if let License::Import(d) = &mut amended
        && let Some(it) = d.items.first_mut()
    {
        it.quantity = 110;
    }
    let bodies = [
        Document::License(issued),
        Document::Amendment {
            version: 2,
            license: amended,
        },
        Document::StatusChange(StatusChange {
            number: "IC-2026-0042".into(),
            status: tally_model::Status::Suspended,
            reason: "inquiry".into(),
            effective_at_ms: 1_790_000_000_500,
        }),
    ];
    let k = key(2);
    let mut out: Vec<VerifiedEntry> = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let seq = i as u64 + 1;
        let e = Entry {
            authority: "MX-SEDENA".parse().expect("valid"),
            seq,
            prev: out.last().map(VerifiedEntry::id),
            issued_at_ms: 1_790_000_000_000 + seq as i64,
            recipients: vec![],
            body: Body::Document(body),
        };
        out.push(k.sign(&e));
    }
    out
}

/// US-DDTC's first entry (the export license), signed with key 1.
pub fn us_first() -> VerifiedEntry {
    key(1).sign(&Entry {
        authority: "US-DDTC".parse().expect("valid"),
        seq: 1,
        prev: None,
        issued_at_ms: 1_790_000_000_000,
        recipients: vec![],
        body: Body::Document(Document::License(license(EXPORT_JSON))),
    })
}

/// A structurally valid sealed body carrying `bytes` as its ciphertext (it
/// opens for nobody; the fuzzers only need the shape).
pub fn sealed_of(bytes: &[u8]) -> tally_model::Sealed {
    tally_model::Sealed {
        suite: tally_model::SUITE.to_string(),
        commitment: [7; 32],
        ciphertext: bytes.to_vec(),
        stanzas: vec![
            tally_model::Stanza {
                tag: [1; 16],
                wrapped: vec![2; 72],
            };
            4
        ],
    }
}
