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
            prepared_by: None,
            signatory: None,
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

/// The X25519 encryption secret `n`: the secret bytes are `[n; 32]`.
pub fn encryption_secret(n: u8) -> tally_model::EncryptionSecret {
    tally_model::EncryptionSecret::from_bytes([n; 32])
}

/// The issuer of the `sealed_entry` target's genuine seals: US-DDTC,
/// signing key 1, encryption secret 1.
pub const SEAL_ISSUER: &str = "US-DDTC";

/// The readers of the `sealed_entry` target's genuine seals, with their
/// encryption secrets: MX-SEDENA (secret 2) and GT-DIGECAM (secret 3), the
/// parties of [`EXPORT_JSON`]. CA-GAC (secret 4) reads nothing.
pub const SEAL_READERS: [(&str, u8); 2] = [("MX-SEDENA", 2), ("GT-DIGECAM", 3)];

/// The trust list a reader of the genuine seals holds: every authority above
/// with its signing key `n` and encryption key `n` on its card.
pub fn sealing_trust_list() -> tally_model::TrustList {
    let mut trust = tally_model::TrustList::default();
    for (authority, n) in [
        (SEAL_ISSUER, 1),
        SEAL_READERS[0],
        SEAL_READERS[1],
        ("CA-GAC", 4),
    ] {
        let mut card = tally_testkit::card(authority, &key(n));
        card.encryption_keys.push(tally_model::CardKey {
            public_key: encryption_secret(n).public().to_hex(),
            valid_from_ms: 0,
            valid_until_ms: None,
            retired_after_seq: None,
            compromised_after_seq: None,
        });
        trust.upsert(card);
    }
    trust
}

/// A genuinely sealed US-DDTC entry at `seq` carrying the docs/API.md export
/// license, sealed to the first `readers` of [`SEAL_READERS`] (the other
/// party countries listed as unreached), its randomness from `seed`.
pub fn genuine_sealed(seq: u64, readers: usize, seed: u8) -> Entry {
    let authority: tally_model::AuthorityId = SEAL_ISSUER.parse().expect("valid");
    let prev = (seq > 1).then_some(tally_model::EntryHash([seq as u8; 32]));
    let header = tally_model::Header {
        authority: &authority,
        seq,
        prev,
    };
    let readers = readers.min(SEAL_READERS.len());
    let recipients: Vec<tally_model::Recipient> = SEAL_READERS[..readers]
        .iter()
        .map(|(a, n)| tally_model::Recipient {
            authority: a.parse().expect("valid"),
            encryption_key: encryption_secret(*n).public(),
        })
        .collect();
    let unreached: Vec<tally_model::Country> = SEAL_READERS[readers..]
        .iter()
        .map(|(a, _)| a[..2].parse().expect("a country"))
        .collect();
    let sealed = tally_model::seal(
        &encryption_secret(1),
        header,
        &Document::License(license(EXPORT_JSON)),
        &recipients,
        &unreached,
        &mut tally_model::seal::DeterministicRandom::new([seed; 32]),
        &tally_model::PairKeys::default(),
    )
    .expect("the example seals");
    Entry {
        authority,
        seq,
        prev,
        issued_at_ms: 1_790_000_000_000 + seq as i64,
        recipients: vec![],
        body: Body::Sealed(sealed),
    }
}
