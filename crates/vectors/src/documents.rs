//! `documents.json`: one document of every kind, encoded as prost writes a
//! `tally.v1.Document` (PROTOCOL.md 2.3). These documents are also what
//! the other files' entries carry.

use crate::{T0, enc, entry, hex, signing_key};
use prost::Message as _;
use serde_json::{Value, json};
use tally_model::{
    Body, Category, Checkpoint, Decision, DeliveryLine, DeliveryVerification, Direction, Document,
    DocumentRef, EncryptionKey, ExportLicense, ImportCertificate, Item, KeyRotation, License,
    Party, ShipmentLine, ShipmentRecord, Shipments, Status, StatusChange, TransitAuthorization,
    Unit,
};
use tally_proto::v1 as pb;

fn party(name: &str) -> Party {
    Party {
        name: name.into(),
        id: None,
        address: None,
    }
}

fn item() -> Item {
    Item {
        shipped_before: 0,
        line: 1,
        category: Category::Firearm,
        description: "pistol".into(),
        hs_code: Some("930200".into()),
        make: None,
        model: None,
        caliber: Some("9mm".into()),
        quantity: 100,
        unit: Unit::Units,
        serials: vec!["AC1000".into(), "AC1001".into()],
        att_subcategory: None,
        action: None,
        caliber_mm: None,
        origin_country: None,
    }
}

pub(crate) fn export_license() -> ExportLicense {
    ExportLicense {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: "EXP-2026-0001".into(),
        exporting_country: "US".into(),
        importing_country: "MX".into(),
        transit_countries: vec!["GT".into()],
        exporter: party("Acme Arms Inc."),
        importer: party("Importadora del Norte SA"),
        end_user: None,
        end_use: Some("law enforcement".into()),
        items: vec![item()],
        valid_from: "2026-01-01".into(),
        valid_until: "2026-06-30".into(),
        import_certificate: Some(DocumentRef {
            authority: "MX-SEDENA".into(),
            number: "IC-2026-0042".into(),
        }),
        shipments: Shipments::Partial,
        conditions: None,
        // Fields added after the vectors were pinned: empty, so the encoded
        // document (and every hash over it) is unchanged.
        end_user_certificate: None,
        brokers: Vec::new(),
        consignees: Vec::new(),
        carriers: Vec::new(),
        value: None,
        place_of_issue: None,
        temporary: None,
        planned_shipments: vec![],
    }
}

pub(crate) fn import_certificate() -> ImportCertificate {
    ImportCertificate {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: "IC-2026-0042".into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        importer: party("Importadora del Norte SA"),
        exporter: party("Acme Arms Inc."),
        end_user: None,
        end_use: Some("law enforcement".into()),
        items: vec![item()],
        valid_from: "2026-01-01".into(),
        valid_until: "2026-12-31".into(),
        single_use: false,
    }
}

/// Every kind of document, by name: (name, description, document).
pub(crate) fn all() -> Vec<(&'static str, &'static str, Document)> {
    let mut all = vec![(
        "export_license",
        "An export license (kind 1) from US to MX through GT.",
        Document::License(License::Export(export_license())),
    )];
    all.extend(export_variants());
    all.extend(others());
    all
}

/// The export license with the fields added within v1.
fn export_variants() -> Vec<(&'static str, &'static str, Document)> {
    vec![
        (
            "export_license_att",
            "The export license with its line's ATT report fields (Item fields 11-14, added within v1): sub-category small_arms_1, semi-automatic, 9.00 mm (900 hundredths), made in BR.",
            Document::License(License::Export(ExportLicense {
                items: vec![Item {
                    att_subcategory: Some(tally_model::att::AttSubcategory::SmallArms1),
                    action: Some(tally_model::att::Action::SemiAutomatic),
                    caliber_mm: Some(900),
                    origin_country: Some("BR".into()),
                    ..item()
                }],
                ..export_license()
            })),
        ),
        (
            "export_license_migrated",
            "The export license as a migrated record (ExportLicense fields 21-24 and Item field 15, added within v1): issued on 2025-06-02 before Tally, 40 of line 1 shipped before it; prepared by one officer and signed by another (Person: name 1, title 2).",
            Document::License(License::Export(ExportLicense {
                items: vec![Item {
                    shipped_before: 40,
                    ..item()
                }],
                migrated: true,
                original_issue_date: Some("2025-06-02".into()),
                prepared_by: Some(tally_model::Person {
                    name: "Ana Ruiz".into(),
                    title: Some("Licensing officer".into()),
                }),
                signatory: Some(tally_model::Person {
                    name: "John Carter".into(),
                    title: Some("Director, export licensing".into()),
                }),
                ..export_license()
            })),
        ),
        (
            "export_license_temporary",
            "The export license as a temporary export (ExportLicense field 25, Temporary {1 purpose, 2 return_by}, added within v1): for a trade show, due back by 2026-09-30.",
            Document::License(License::Export(ExportLicense {
                temporary: Some(tally_model::Temporary {
                    purpose: tally_model::TemporaryPurpose::TradeShow,
                    return_by: "2026-09-30".into(),
                }),
                ..export_license()
            })),
        ),
    ]
}

/// The other kinds, in the order of their numbers.
fn others() -> Vec<(&'static str, &'static str, Document)> {
    vec![
        (
            "export_license_planned",
            "The export license with two planned shipments (ExportLicense field 26, PlannedShipment {1 exit_point, 2 entry_point, 3 mode, 4 from, 5 to, 6 carrier}, added within v1): by road through Laredo, then by sea from Houston.",
            Document::License(License::Export(ExportLicense {
                planned_shipments: vec![
                    tally_model::PlannedShipment {
                        exit_point: "USLRD".into(),
                        entry_point: "MXNLD".into(),
                        mode: tally_model::TransportMode::Road,
                        from: "2026-02-01".into(),
                        to: "2026-02-10".into(),
                        carrier: Some("Transportes del Golfo SA".into()),
                    },
                    tally_model::PlannedShipment {
                        exit_point: "USHOU".into(),
                        entry_point: "MXVER".into(),
                        mode: tally_model::TransportMode::Sea,
                        from: "2026-04-01".into(),
                        to: "2026-04-15".into(),
                        carrier: None,
                    },
                ],
                ..export_license()
            })),
        ),
        (
            "import_certificate",
            "An import certificate (kind 2).",
            Document::License(License::Import(import_certificate())),
        ),
        (
            "transit_authorization",
            "A transit authorization (kind 3) of GT for EXP-2026-0001.",
            transit_authorization(),
        ),
        (
            "amendment",
            "An amendment (kind 4) to version 2 of EXP-2026-0001: the validity shortened.",
            amendment(),
        ),
        (
            "delivery_verification",
            "A delivery verification (kind 9) by MX of 50 units of line 1 of EXP-2026-0001.",
            delivery_verification(),
        ),
        (
            "status_change",
            "A suspension (kind 5) of EXP-2026-0001.",
            suspension(),
        ),
        (
            "shipment_record",
            "A shipment record (kind 6) at the GT entry checkpoint.",
            shipment_record(),
        ),
        (
            "shipment_record_return",
            "A shipment record (kind 6) of a temporary export's return (direction \"return\", within v1) in the exporting country.",
            shipment_return(),
        ),
        (
            "key_rotation",
            "A key rotation (kind 7) to US-DDTC's signing key 2.",
            rotation_doc(),
        ),
        (
            "encryption_key",
            "An encryption key announcement (kind 8): US-DDTC's X25519 key.",
            Document::EncryptionKey(EncryptionKey {
                public_key: enc("US-DDTC").public().0,
                valid_from_ms: T0,
            }),
        ),
        (
            "paper_key",
            "A paper key announcement (kind 10, within v1): US-DDTC's Ed25519 key for the seals printed on its documents (seals.json's paper key).",
            paper_key(),
        ),
        (
            "denial",
            "A denial (kind 11, within v1) by the US of pistols for Guatemala, to an end user named as partners' licenses would name it otherwise.",
            denial(),
        ),
        (
            "enduse_request",
            "An end-use request (kind 12, within v1) by the US asking MX to confirm the end-user certificate EXP-2026-0001 relies on.",
            enduse_request(),
        ),
        (
            "enduse_answer",
            "An end-use answer (kind 13, within v1) by MX to that request: confirmed.",
            enduse_answer(),
        ),
    ]
}

fn paper_key() -> Document {
    Document::PaperKey(tally_model::PaperKey {
        public_key: *tally_model::AuthorityKey::from_bytes(&crate::seed(
            "tally-vectors/paper/US-DDTC/1",
        ))
        .public()
        .as_bytes(),
        valid_from_ms: T0,
    })
}

fn denial() -> Document {
    Document::License(License::Denial(tally_model::denial::Denial {
        number: "DEN-2026-0004".into(),
        denying_country: "US".into(),
        applicant: party("Southern Arms Export LLC"),
        consignee: None,
        end_user: Some(tally_model::Party {
            name: "Comercial Armas del Sur, S.A. de C.V.".into(),
            id: Some("GT-NIT-8845120".into()),
            address: None,
        }),
        goods: vec![tally_model::denial::DeniedGoods {
            category: tally_model::Category::Firearm,
            hs_heading: Some("9302".into()),
            description: "9 mm pistols".into(),
        }],
        destination: "GT".into(),
        criterion: "ATT Art. 7(1)(b)(i): risk of diversion".into(),
        date: "2026-10-12".into(),
        prepared_by: None,
        signatory: None,
    }))
}

/// EXP-2026-0001 of US-DDTC, as the documents that follow it cite it.
fn the_export() -> DocumentRef {
    DocumentRef {
        authority: "US-DDTC".into(),
        number: "EXP-2026-0001".into(),
    }
}

fn transit_authorization() -> Document {
    Document::License(License::Transit(TransitAuthorization {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: "TR-2026-0007".into(),
        transit_country: "GT".into(),
        export_license: the_export(),
        entry_point: Some("GTPRQ".into()),
        exit_point: Some("GTTUC".into()),
        valid_from: "2026-01-01".into(),
        valid_until: "2026-06-30".into(),
        decision: Decision::Authorized,
    }))
}

fn amendment() -> Document {
    Document::Amendment {
        version: 2,
        license: License::Export(ExportLicense {
            valid_until: "2026-03-31".into(),
            ..export_license()
        }),
    }
}

fn delivery_verification() -> Document {
    Document::License(License::Delivery(DeliveryVerification {
        prepared_by: None,
        signatory: None,
        number: "DV-2026-0001".into(),
        importing_country: "MX".into(),
        export_license: the_export(),
        delivered_to: party("Policia Estatal"),
        date: "2026-01-05".into(),
        items: vec![DeliveryLine {
            line: 1,
            quantity: 50,
        }],
    }))
}

fn suspension() -> Document {
    Document::StatusChange(StatusChange {
        prepared_by: None,
        signatory: None,
        number: "EXP-2026-0001".into(),
        status: Status::Suspended,
        reason: "under review".into(),
        effective_at_ms: T0 + 3_000,
    })
}

fn shipment_record() -> Document {
    Document::Shipment(ShipmentRecord {
        license: the_export(),
        checkpoint: Checkpoint {
            country: "GT".into(),
            port: "Tecun Uman".into(),
            direction: Direction::Entry,
        },
        date: "2026-01-02".into(),
        exporter: None,
        importer: None,
        items: vec![ShipmentLine {
            line: 1,
            quantity: 50,
            serials: vec!["AC1000".into()],
        }],
        verdict: "accepted".into(),
        failed_rules: vec![],
    })
}

fn enduse_request() -> Document {
    Document::License(License::EnduseRequest(tally_model::EnduseRequest {
        number: "EUR-2026-0001".into(),
        exporting_country: "US".into(),
        importing_country: "MX".into(),
        export_license: "EXP-2026-0001".into(),
        end_user_certificate: Some(tally_model::EndUserCertificate {
            number: "EUC-2026-118".into(),
            date: "2025-12-20".into(),
            issued_by: "Secretaría de la Defensa Nacional".into(),
        }),
        import_certificate: None,
        end_user: Some(party("Policía Estatal")),
        date: "2026-01-02".into(),
        prepared_by: None,
        signatory: None,
    }))
}

fn enduse_answer() -> Document {
    Document::License(License::EnduseAnswer(tally_model::EnduseAnswer {
        number: "RES-2026-0001".into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        request: DocumentRef {
            authority: "US-DDTC".into(),
            number: "EUR-2026-0001".into(),
        },
        answer: tally_model::EnduseVerdict::Confirmed,
        comment: Some("issued by DCAM on the date stated".into()),
        date: "2026-01-05".into(),
        prepared_by: None,
        signatory: None,
    }))
}

fn shipment_return() -> Document {
    Document::Shipment(ShipmentRecord {
        license: the_export(),
        checkpoint: Checkpoint {
            country: "US".into(),
            port: "USLRD".into(),
            direction: Direction::Return,
        },
        date: "2026-09-28".into(),
        exporter: None,
        importer: None,
        items: vec![ShipmentLine {
            line: 1,
            quantity: 1,
            serials: vec!["AC1000".into()],
        }],
        verdict: "accept".into(),
        failed_rules: vec![],
    })
}

fn rotation_doc() -> Document {
    Document::KeyRotation(KeyRotation {
        new_key: hex(signing_key("US-DDTC", 2).public().as_bytes()),
        valid_from_ms: T0 + 4_000,
    })
}

/// The `Document` bytes inside an entry's encoding (prost writes the body
/// as one length-delimited field, so this is exactly what is signed).
pub(crate) fn document_bytes(doc: &Document) -> Vec<u8> {
    let e = entry("US-DDTC", 1, None, T0, Body::Document(doc.clone()));
    match pb::Entry::decode(&e.encode()[..]).expect("decodes").body {
        Some(pb::entry::Body::Document(d)) => d.encode_to_vec(),
        _ => unreachable!("a document body"),
    }
}

pub(crate) fn file() -> Value {
    let list: Vec<Value> = all()
        .into_iter()
        .map(|(name, description, d)| {
            json!({
                "description": description,
                "name": name,
                "document": hex(document_bytes(&d)),
            })
        })
        .collect();
    json!({
        "description": "Encoded tally.v1.Document messages, as prost writes them (fields in number order, defaults omitted).",
        "documents": list,
    })
}
