//! Fixtures shared by the fuzz targets and the seed generator: fixed keys,
//! valid documents as docs/API.md writes them, and a valid signed chain.
//!
//! Everything here is deterministic, so a crash found by one run reproduces
//! from its input file alone.

use tally_model::{AuthorityKey, Body, Document, Entry, License, StatusChange, VerifiedEntry};

/// The authority signing key `n` (`[n; 32]`), as the repository's tests use.
pub fn key(n: u8) -> AuthorityKey {
    AuthorityKey::from_bytes(&[n; 32])
}

/// The export license example of docs/API.md.
pub const EXPORT_JSON: &str = r#"{"kind": "export", "number": "EXP-2026-0001",
 "exporting_country": "US", "importing_country": "MX", "transit_countries": ["GT"],
 "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
 "importer": {"name": "Importadora del Norte SA"},
 "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
 "items": [{"line": 1, "category": "firearm", "description": "pistol", "hs_code": "930200",
            "make": "Acme", "model": "P9", "caliber": "9x19mm",
            "quantity": 100, "unit": "units", "serials": ["AC1000", "AC1001"]}],
 "valid_from": "2026-11-01", "valid_until": "2027-04-30",
 "import_certificate": {"authority": "MX-SEDENA", "number": "IC-2026-0042"},
 "shipments": "partial", "conditions": "no re-export"}"#;

/// The import certificate example of docs/API.md, with its elisions filled in.
pub const IMPORT_JSON: &str = r#"{"kind": "import", "number": "IC-2026-0042",
 "importing_country": "MX", "exporting_country": "US",
 "importer": {"name": "Importadora del Norte SA"}, "exporter": {"name": "Acme Arms Inc."},
 "end_user": {"name": "Policia Estatal"}, "end_use": "law enforcement",
 "items": [{"line": 1, "category": "firearm", "description": "pistol", "quantity": 120, "unit": "units"}],
 "valid_from": "2026-10-01", "valid_until": "2027-06-30"}"#;

/// The transit authorization example of docs/API.md, with its elisions filled in.
pub const TRANSIT_JSON: &str = r#"{"kind": "transit", "number": "TR-2026-0007", "transit_country": "GT",
 "export_license": {"authority": "US-DDTC", "number": "EXP-2026-0001"},
 "entry_point": "GTPRQ", "exit_point": "GTTEC",
 "valid_from": "2026-11-01", "valid_until": "2027-04-30", "decision": "authorized"}"#;

/// The `POST /v1/shipments/verify` example of docs/API.md.
pub const CHECK_JSON: &str = r#"{"license": {"authority": "US-DDTC", "number": "EXP-2026-0001"},
 "checkpoint": {"country": "MX", "port": "MXNLD", "direction": "entry"},
 "date": "2026-12-01", "exporter": "Acme Arms Inc.", "importer": "Importadora del Norte SA",
 "items": [{"line": 1, "quantity": 40, "serials": ["AC1000"]}],
 "record": true}"#;

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
