//! Fixtures shared by the conformance suite, the crash test and the
//! benchmark: signed logs built with fixed keys, documents, chain checks.
#![allow(dead_code)]

use std::collections::BTreeMap;
use tally_model::{
    AuthorityId, AuthorityKey, Body, Category, Checkpoint, Decision, Direction, Document,
    DocumentRef, Entry, EntryHash, ExportLicense, ImportCertificate, Item, KeyRotation, License,
    OpenedEntry, Party, ShipmentLine, ShipmentRecord, Shipments, SignedEntry, Status, StatusChange,
    TransitAuthorization, Unit, VerifiedEntry,
};
use tally_store::Store;

/// 2026-11-01T00:00:00Z: every fixture time is an offset from here.
pub const T0: i64 = 1_793_491_200_000;

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
            key: AuthorityKey::from_bytes(&[key; 32]),
            authority: authority.parse().expect("fixture authority id"),
            seq: 0,
            prev: None,
        }
    }

    /// Continues a log from the head a store holds.
    pub fn resume(authority: &str, key: u8, store: &Store) -> Log {
        let mut log = Log::new(authority, key);
        if let Some((seq, hash)) = store.head(&log.authority).expect("head") {
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

pub fn doc_ref(authority: &str, number: &str) -> DocumentRef {
    DocumentRef {
        authority: authority.into(),
        number: number.into(),
    }
}

fn party(name: &str) -> Party {
    Party {
        name: name.into(),
        id: None,
        address: None,
    }
}

fn item(line: u32, quantity: u64, serials: &[&str]) -> Item {
    Item {
        line,
        category: Category::Firearm,
        description: "pistol".into(),
        hs_code: Some("930200".into()),
        make: Some("Acme".into()),
        model: Some("P9".into()),
        caliber: Some("9x19mm".into()),
        quantity,
        unit: Unit::Units,
        serials: serials.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn export_license(number: &str, quantity: u64, serials: &[&str]) -> License {
    License::Export(ExportLicense {
        number: number.into(),
        exporting_country: "US".into(),
        importing_country: "MX".into(),
        transit_countries: vec!["GT".into()],
        exporter: party("Acme Arms Inc."),
        importer: party("Importadora del Norte SA"),
        end_user: Some(party("Policia Estatal")),
        end_use: Some("law enforcement".into()),
        items: vec![item(1, quantity, serials), item(2, 5000, &[])],
        valid_from: "2026-11-01".into(),
        valid_until: "2027-04-30".into(),
        import_certificate: Some(doc_ref("MX-SEDENA", "IC-1")),
        shipments: Shipments::Partial,
        conditions: None,
    })
}

pub fn export(number: &str, quantity: u64, serials: &[&str]) -> Document {
    Document::License(export_license(number, quantity, serials))
}

pub fn import(number: &str) -> Document {
    Document::License(License::Import(ImportCertificate {
        number: number.into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        importer: party("Importadora del Norte SA"),
        exporter: party("Acme Arms Inc."),
        end_user: None,
        end_use: None,
        items: vec![item(1, 100, &[])],
        valid_from: "2026-10-01".into(),
        valid_until: "2027-06-30".into(),
    }))
}

/// An import certificate of `importing` for goods from `exporting`.
pub fn import_for(number: &str, importing: &str, exporting: &str) -> Document {
    let Document::License(License::Import(mut ic)) = import(number) else {
        unreachable!("import() builds an import certificate")
    };
    ic.importing_country = importing.into();
    ic.exporting_country = exporting.into();
    Document::License(License::Import(ic))
}

/// A transit authorization of GT.
pub fn transit(number: &str, export: DocumentRef) -> Document {
    transit_in(number, "GT", export)
}

/// A transit authorization of `country`.
pub fn transit_in(number: &str, country: &str, export: DocumentRef) -> Document {
    Document::License(License::Transit(TransitAuthorization {
        number: number.into(),
        transit_country: country.into(),
        export_license: export,
        entry_point: Some("Tecun Uman".into()),
        exit_point: None,
        valid_from: "2026-11-01".into(),
        valid_until: "2027-01-31".into(),
        decision: Decision::Authorized,
    }))
}

pub fn amend(version: u32, license: License) -> Document {
    Document::Amendment { version, license }
}

pub fn status(number: &str, status: Status, reason: &str) -> Document {
    Document::StatusChange(StatusChange {
        number: number.into(),
        status,
        reason: reason.into(),
        effective_at_ms: T0 + 86_400_000,
    })
}

pub fn shipment(
    license: DocumentRef,
    direction: Direction,
    country: &str,
    lines: &[(u32, u64, &[&str])],
    accept: bool,
) -> Document {
    Document::Shipment(ShipmentRecord {
        license,
        checkpoint: Checkpoint {
            country: country.into(),
            port: "port".into(),
            direction,
        },
        date: "2026-11-15".into(),
        exporter: Some("Acme Arms Inc.".into()),
        importer: None,
        items: lines
            .iter()
            .map(|(line, quantity, serials)| ShipmentLine {
                line: *line,
                quantity: *quantity,
                serials: serials.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
        verdict: if accept { "accept" } else { "reject" }.into(),
        failed_rules: if accept {
            vec![]
        } else {
            vec!["quantity".into()]
        },
    })
}

pub fn rotation(key: u8) -> Document {
    Document::KeyRotation(KeyRotation {
        new_key: hex::encode(AuthorityKey::from_bytes(&[key; 32]).public().as_bytes()),
        valid_from_ms: T0 + 3_600_000,
    })
}

/// A small deterministic generator (SplitMix64): no dependency, and a seed
/// printed by a failing test replays it.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn from_time() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng(nanos ^ u64::from(std::process::id()))
    }
}

/// The document the crash test and the benchmark write at `seq` of each
/// authority: a deterministic mix of every kind, shipments referring to
/// licenses that may not have arrived yet.
pub fn scripted(authority: &str, seq: u64) -> Document {
    let us = |n: u64| doc_ref("US-DDTC", &format!("EXP-{n}"));
    match authority {
        "US-DDTC" => match seq % 8 {
            1 | 5 => export(&format!("EXP-{seq}"), 500, &["S1", "S2", "S3"]),
            2 => amend(
                2,
                export_license(&format!("EXP-{}", seq - 1), 400, &["S1", "S2"]),
            ),
            3 => status(&format!("EXP-{}", seq - 2), Status::Suspended, "inquiry"),
            4 => status(&format!("EXP-{}", seq - 3), Status::Active, "cleared"),
            6 => import(&format!("IC-{seq}")),
            7 => shipment(us(seq - 2), Direction::Exit, "US", &[(1, 3, &["S1"])], true),
            _ => rotation(100 + (seq % 50) as u8),
        },
        "GT-DIGECAM" => match seq % 3 {
            0 => transit(&format!("TR-{seq}"), us(seq | 1)),
            _ => shipment(
                us(seq | 1),
                Direction::Transit,
                "GT",
                &[(1, 2, &["S2"]), (2, 100, &[])],
                !seq.is_multiple_of(5),
            ),
        },
        _ => shipment(
            us(((seq * 7) % 64) | 1),
            Direction::Entry,
            "MX",
            &[(1, seq % 4 + 1, &["S1", "S3"]), (2, 10, &[])],
            !seq.is_multiple_of(6),
        ),
    }
}

/// Checks every log in `store` against its writer's public key: signatures,
/// dense seqs from 1, prev links, and the head. Returns entries checked.
pub fn verify_chains(store: &Store, keys: &BTreeMap<String, u8>) -> u64 {
    let mut checked = 0;
    for (authority, head, head_hash) in store.heads().expect("heads") {
        let key = keys
            .get(authority.as_str())
            .unwrap_or_else(|| panic!("unexpected authority {authority}"));
        let public = AuthorityKey::from_bytes(&[*key; 32]).public();
        let mut expect_seq = 1;
        let mut prev: Option<EntryHash> = None;
        while expect_seq <= head {
            let chunk = store.range(&authority, expect_seq, 512).expect("range");
            assert!(
                !chunk.is_empty(),
                "{authority}: log ends before head {head}"
            );
            for signed in chunk {
                let signed = SignedEntry::decode(&signed.encode()).expect("round-trips");
                let opened = OpenedEntry::open(signed).expect("opens");
                let v = VerifiedEntry::verify(opened, &public)
                    .unwrap_or_else(|e| panic!("{authority} {expect_seq}: {e}"));
                let e = v.entry();
                assert_eq!(e.seq, expect_seq, "{authority}: dense seqs");
                assert_eq!(e.prev, prev, "{authority} {expect_seq}: prev link");
                assert_eq!(
                    store.by_hash(&v.id()).expect("by_hash"),
                    Some((authority.clone(), expect_seq))
                );
                prev = Some(v.id());
                expect_seq += 1;
                checked += 1;
            }
        }
        assert_eq!(expect_seq, head + 1, "{authority}: log runs past head");
        assert_eq!(prev, Some(head_hash), "{authority}: head hash");
    }
    checked
}
