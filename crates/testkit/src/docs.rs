//! The sample documents as model types: an export license of US-DDTC to MX
//! through GT, the import certificate it relies on, a transit authorization,
//! amendments, status changes, shipment records and key rotations. Every
//! time is an offset from [`T0`].

use tally_model::{
    Category, Checkpoint, Decision, DeliveryLine, DeliveryVerification, Direction, Document,
    DocumentRef, ExportLicense, ImportCertificate, Item, KeyRotation, License, ShipmentLine,
    ShipmentRecord, ShipmentVerdict, Status, StatusChange, TransitAuthorization, Unit,
};

/// 2026-11-01T00:00:00Z: every fixture time is an offset from here.
pub const T0: i64 = 1_793_491_200_000;

pub fn doc_ref(authority: &str, number: &str) -> DocumentRef {
    DocumentRef {
        authority: authority.into(),
        number: number.into(),
    }
}

pub use tally_model::sample::party;

pub fn item(line: u32, quantity: u64, serials: &[&str]) -> Item {
    Item {
        shipped_before: 0,
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
        att_subcategory: None,
        action: None,
        caliber_mm: None,
        origin_country: None,
    }
}

/// US-DDTC's export license to MX through GT: line 1 of `quantity` pistols
/// with `serials`, line 2 of 5000; covered by MX-SEDENA's IC-1.
pub fn export_license(number: &str, quantity: u64, serials: &[&str]) -> License {
    License::Export(export_fields(number, quantity, serials))
}

/// [`export_license`]'s fields, for a test that changes some.
pub fn export_fields(number: &str, quantity: u64, serials: &[&str]) -> ExportLicense {
    ExportLicense {
        number: number.into(),
        items: vec![item(1, quantity, serials), item(2, 5000, &[])],
        import_certificate: Some(doc_ref("MX-SEDENA", "IC-1")),
        ..tally_model::sample::export_license()
    }
}

pub fn export(number: &str, quantity: u64, serials: &[&str]) -> Document {
    Document::License(export_license(number, quantity, serials))
}

/// [`export`] for a shooting competition, valid until `valid_until` and
/// due back by `return_by`.
pub fn temporary_export(
    number: &str,
    quantity: u64,
    serials: &[&str],
    valid_until: &str,
    return_by: &str,
) -> Document {
    let mut e = export_fields(number, quantity, serials);
    e.valid_until = valid_until.into();
    e.temporary = Some(tally_model::Temporary {
        purpose: tally_model::TemporaryPurpose::Competition,
        return_by: return_by.into(),
    });
    Document::License(License::Export(e))
}

/// [`shipment`] dated `date`.
pub fn shipment_on(date: &str, record: Document) -> Document {
    match record {
        Document::Shipment(mut r) => {
            r.date = date.into();
            Document::Shipment(r)
        }
        other => other,
    }
}

/// MX-SEDENA's import certificate of 100 pistols from the US.
pub fn import(number: &str) -> Document {
    Document::License(License::Import(import_certificate(number)))
}

/// [`import`]'s fields, for a test that changes some; the parties are the
/// sample export license's ([`tally_model::sample`]).
pub fn import_certificate(number: &str) -> ImportCertificate {
    let sample = tally_model::sample::export_license();
    ImportCertificate {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: number.into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        importer: sample.importer,
        exporter: sample.exporter,
        end_user: None,
        end_use: None,
        items: vec![item(1, 100, &[])],
        valid_from: "2026-10-01".into(),
        valid_until: "2027-06-30".into(),
        single_use: false,
    }
}

/// An import certificate of `importing` for goods from `exporting`.
pub fn import_for(number: &str, importing: &str, exporting: &str) -> Document {
    Document::License(import_license_for(number, importing, exporting))
}

/// [`import_for`] as the license an issuing node signs.
pub fn import_license_for(number: &str, importing: &str, exporting: &str) -> License {
    let mut ic = import_certificate(number);
    ic.importing_country = importing.into();
    ic.exporting_country = exporting.into();
    License::Import(ic)
}

/// US-DDTC's own import certificate `number` for goods from MX (the
/// sample's parties the other way round), valid 2026 to 2030: what a US
/// node can issue in a test that does not care about linkage.
pub fn us_import_from_mx(number: &str) -> License {
    let base = import_certificate(number);
    License::Import(ImportCertificate {
        importing_country: "US".into(),
        exporting_country: "MX".into(),
        importer: base.exporter.clone(),
        exporter: base.importer.clone(),
        valid_from: "2026-01-01".into(),
        valid_until: "2030-12-31".into(),
        ..base
    })
}

/// A transit authorization of GT.
pub fn transit(number: &str, export: DocumentRef) -> Document {
    transit_in(number, "GT", export)
}

/// A transit authorization of `country`.
pub fn transit_in(number: &str, country: &str, export: DocumentRef) -> Document {
    Document::License(License::Transit(transit_authorization(
        number, country, export,
    )))
}

/// [`transit_in`]'s fields, for a test that changes some.
pub fn transit_authorization(
    number: &str,
    country: &str,
    export: DocumentRef,
) -> TransitAuthorization {
    TransitAuthorization {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: number.into(),
        transit_country: country.into(),
        export_license: export,
        entry_point: Some("Tecun Uman".into()),
        exit_point: None,
        valid_from: "2026-11-01".into(),
        valid_until: "2027-01-31".into(),
        decision: Decision::Authorized,
    }
}

/// MX-SEDENA's delivery verification `number` for `export`: `lines` of
/// (line, quantity) received by the Policia Estatal.
pub fn delivery(number: &str, export: DocumentRef, lines: &[(u32, u64)]) -> DeliveryVerification {
    DeliveryVerification {
        prepared_by: None,
        signatory: None,
        number: number.into(),
        importing_country: "MX".into(),
        export_license: export,
        delivered_to: party("Policia Estatal"),
        date: "2027-01-10".into(),
        items: lines
            .iter()
            .map(|&(line, quantity)| DeliveryLine { line, quantity })
            .collect(),
    }
}

/// US's end-use request `number` to MX about its export license `export`
/// (an end-user certificate), dated `date`.
pub fn enduse_request(number: &str, export: &str, date: &str) -> Document {
    Document::License(License::EnduseRequest(tally_model::EnduseRequest {
        number: number.into(),
        exporting_country: "US".into(),
        importing_country: "MX".into(),
        export_license: export.into(),
        end_user_certificate: Some(tally_model::EndUserCertificate {
            number: format!("EUC-{export}"),
            date: "2026-10-20".into(),
            issued_by: "SEDENA".into(),
        }),
        import_certificate: None,
        end_user: None,
        date: date.into(),
        prepared_by: None,
        signatory: None,
    }))
}

/// An answer `number` of a Mexican authority to US-DDTC's `request`.
pub fn enduse_answer(
    number: &str,
    request: &str,
    answer: tally_model::EnduseVerdict,
    date: &str,
) -> Document {
    Document::License(License::EnduseAnswer(tally_model::EnduseAnswer {
        number: number.into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        request: doc_ref("US-DDTC", request),
        answer,
        comment: None,
        date: date.into(),
        prepared_by: None,
        signatory: None,
    }))
}

/// A denial `number` by an authority of `denying`, of pistols (heading
/// 9302) for Mexico, to `end_user` as the denial names it, on `date`.
pub fn denial(number: &str, denying: &str, end_user: &str, date: &str) -> License {
    License::Denial(tally_model::denial::Denial {
        number: number.into(),
        denying_country: denying.into(),
        applicant: party("Armeria Andina"),
        consignee: None,
        end_user: Some(party(end_user)),
        goods: vec![tally_model::denial::DeniedGoods {
            category: tally_model::Category::Firearm,
            hs_heading: Some("9302".into()),
            description: "pistols, 9 mm".into(),
        }],
        destination: "MX".into(),
        criterion: "ATT Art. 7: risk of diversion".into(),
        date: date.into(),
        prepared_by: None,
        signatory: None,
    })
}

pub fn amend(version: u32, license: License) -> Document {
    Document::Amendment { version, license }
}

pub fn status(number: &str, status: Status, reason: &str) -> Document {
    Document::StatusChange(StatusChange {
        prepared_by: None,
        signatory: None,
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
        verdict: ShipmentVerdict::from_accepted(accept).as_str().into(),
        failed_rules: if accept {
            vec![]
        } else {
            vec!["quantity".into()]
        },
    })
}

pub fn rotation(key: u8) -> Document {
    Document::KeyRotation(KeyRotation {
        new_key: hex::encode(crate::key(key).public().as_bytes()),
        valid_from_ms: T0 + 3_600_000,
    })
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
