//! The one sample export license every test starts from: US to MX through
//! GT, 100 pistols, covered by MX-SEDENA's IC-2026-0042. Tests change the
//! fields they are about with struct-update syntax
//! (`ExportLicense { number, ..sample::export_license() }`) instead of writing
//! every field again, so a field added to the model is added here once.
//!
//! Compiled for this crate's unit tests and, through the `sample` feature,
//! for the dev-only test kit; never in the node.

use crate::document::{Category, DocumentRef, ExportLicense, Item, Party, Shipments, Unit};

/// A party known by name only.
pub fn party(name: &str) -> Party {
    Party {
        name: name.into(),
        id: None,
        address: None,
    }
}

/// A bare line: no description, classification, make or serials.
pub fn item(line: u32, category: Category, unit: Unit, quantity: u64) -> Item {
    Item {
        shipped_before: 0,
        line,
        category,
        description: String::new(),
        hs_code: None,
        make: None,
        model: None,
        caliber: None,
        quantity,
        unit,
        serials: vec![],
        att_subcategory: None,
        action: None,
        caliber_mm: None,
        origin_country: None,
    }
}

/// EXP-2026-0001: 100 pistols (serials AC1000, AC1001 declared) from Acme
/// Arms Inc. to Importadora del Norte SA for the Policia Estatal, valid
/// 2026-11-01..2027-04-30, partial shipments, none of the optional
/// particulars (certificate, brokers, consignees, carriers, value, place).
pub fn export_license() -> ExportLicense {
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
        end_user: Some(party("Policia Estatal")),
        end_use: Some("law enforcement".into()),
        items: vec![Item {
            description: "pistol".into(),
            hs_code: Some("930200".into()),
            serials: vec!["AC1000".into(), "AC1001".into()],
            att_subcategory: None,
            action: None,
            caliber_mm: None,
            origin_country: None,
            ..item(1, Category::Firearm, Unit::Units, 100)
        }],
        valid_from: "2026-11-01".into(),
        valid_until: "2027-04-30".into(),
        import_certificate: Some(DocumentRef {
            authority: "MX-SEDENA".into(),
            number: "IC-2026-0042".into(),
        }),
        shipments: Shipments::Partial,
        conditions: None,
        end_user_certificate: None,
        brokers: vec![],
        consignees: vec![],
        carriers: vec![],
        value: None,
        place_of_issue: None,
        temporary: None,
        planned_shipments: vec![],
    }
}
