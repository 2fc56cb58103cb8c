//! Linkage at issue (docs/API.md): an export license needs the import
//! certificate it cites, held, fitting and not used up; a transit
//! authorization needs the export license it covers.

use std::sync::{Arc, RwLock};
use tally_model::*;
use tally_store::{EngineKind, Store};
use tally_testkit::{Log, docs, key, trust_list};
use tally_verify::{IngestOutcome, IssueError, Publish, Verifier};

struct Quiet;

impl Publish for Quiet {
    fn entry(&self, _: &SignedEntry) {}
    fn evidence(&self, _: Vec<u8>) {}
}

struct Rig {
    _dir: tempfile::TempDir,
    v: Verifier,
    /// The verifier's store, read directly to judge what it did.
    store: Store,
}

/// A node of `authority` (signing with `own`) trusting `trusted`, living on
/// 2027-01-15.
fn node(authority: &str, own: u8, trusted: &[(&str, u8)]) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), EngineKind::default()).expect("store");
    let now = Date::from_ymd(2027, 1, 15).expect("a date").days() * 86_400_000;
    let v = Verifier::builder(store.clone(), authority.parse().expect("valid"), key(own))
        .trust(Arc::new(RwLock::new(trust_list(trusted))))
        .publish(Box::new(Quiet))
        .clock(Box::new(tally_verify::FixedClock(now)))
        .build();
    Rig {
        _dir: dir,
        v,
        store,
    }
}

/// US-DDTC, trusting MX-SEDENA (key 2) and GT-DIGECAM (key 3).
fn us() -> Rig {
    node("US-DDTC", 1, &[("MX-SEDENA", 2), ("GT-DIGECAM", 3)])
}

fn receive(r: &Rig, entries: &[VerifiedEntry]) {
    for e in entries {
        let out = r.v.ingest().entry(&e.signed().encode()).expect("io");
        assert!(matches!(out, IngestOutcome::Accepted(_)), "{out:?}");
    }
}

/// An export of `quantity` pistols on one line, citing MX-SEDENA's IC-1.
fn export(number: &str, quantity: u64) -> ExportLicense {
    let mut e = docs::export_fields(number, quantity, &[]);
    e.items.truncate(1);
    e
}

fn refused(r: Result<tally_verify::Issued, IssueError>) -> String {
    match r {
        Err(IssueError::InvalidDocument(why)) => why,
        other => panic!("expected invalid_document, got {other:?}"),
    }
}

type Setup = fn(&mut Log, &mut ImportCertificate, &mut ExportLicense) -> Vec<Document>;

#[test]
fn an_export_license_needs_its_import_certificate_held_and_fitting() {
    let cases: &[(&str, Setup, Option<&str>)] = &[
        ("baseline", |_, _, _| vec![], None),
        (
            "certificate not held",
            |_, _, e| {
                e.import_certificate = Some(docs::doc_ref("MX-SEDENA", "IC-9"));
                vec![]
            },
            Some("not held by this node"),
        ),
        (
            "certificate suspended",
            |_, _, _| vec![docs::status("IC-1", Status::Suspended, "inquiry")],
            Some("is suspended"),
        ),
        (
            "certificate revoked",
            |_, _, _| vec![docs::status("IC-1", Status::Revoked, "fraud")],
            Some("is revoked"),
        ),
        (
            "certificate for goods from another country",
            |_, c, _| {
                c.exporting_country = "CA".into();
                vec![]
            },
            Some("not from US"),
        ),
        (
            "another importer",
            |_, c, _| {
                c.importer = docs::party("Comercializadora del Sur SA");
                vec![]
            },
            Some("names importer"),
        ),
        (
            "importer by name, case and space ignored",
            |_, c, _| {
                c.importer = docs::party("  IMPORTADORA DEL NORTE SA ");
                vec![]
            },
            None,
        ),
        (
            "same importer id under another name",
            |_, c, e| {
                c.importer.id = Some("RFC-INO-940101".into());
                c.importer.name = "Importadora del Norte, S.A. de C.V.".into();
                e.importer.id = Some("RFC-INO-940101".into());
                vec![]
            },
            None,
        ),
        (
            "same name, different ids",
            |_, c, e| {
                c.importer.id = Some("RFC-INO-940101".into());
                e.importer.id = Some("RFC-XXX-000000".into());
                vec![]
            },
            Some("names importer"),
        ),
        (
            "certificate expires before the export",
            |_, c, _| {
                c.valid_until = "2027-03-31".into();
                vec![]
            },
            Some("valid until 2027-03-31"),
        ),
        (
            "more than the certificate licenses",
            |_, _, e| {
                e.items[0].quantity = 101;
                vec![]
            },
            Some("has 100 units of firearm unallocated, the export licenses 101"),
        ),
        (
            "another unit of the same category",
            |_, c, e| {
                c.items[0].category = Category::Ammunition;
                c.items[0].unit = Unit::Rounds;
                c.items[0].hs_code = None;
                e.items[0].category = Category::Ammunition;
                e.items[0].unit = Unit::Kg;
                e.items[0].hs_code = None;
                vec![]
            },
            Some("has 0 kg of ammunition unallocated"),
        ),
    ];
    for (name, setup, want) in cases {
        let r = us();
        let mut mx = Log::new("MX-SEDENA", 2);
        let mut cert = docs::import_certificate("IC-1");
        let mut e = export("EXP-1", 60);
        let after = setup(&mut mx, &mut cert, &mut e);
        let mut entries = vec![mx.next(Document::License(License::Import(cert)))];
        entries.extend(after.into_iter().map(|d| mx.next(d)));
        receive(&r, &entries);
        let out = r.v.issuer().issue(License::Export(e));
        match want {
            None => assert!(out.is_ok(), "{name}: {out:?}"),
            Some(want) => {
                let why = refused(out);
                assert!(why.contains(want), "{name}: {why}");
            }
        }
    }
}

#[test]
fn a_certificate_of_another_country_does_not_cover_the_export() {
    let r = us();
    // GT-DIGECAM's own import certificate, cited by an export to MX.
    let gt = Log::new("GT-DIGECAM", 3).next(docs::import_for("IC-GT", "GT", "US"));
    receive(&r, &[gt]);
    let mut e = export("EXP-1", 10);
    e.import_certificate = Some(docs::doc_ref("GT-DIGECAM", "IC-GT"));
    let why = refused(r.v.issuer().issue(License::Export(e)));
    assert!(
        why.contains("not by an authority of the importing country MX"),
        "{why}"
    );
}

#[test]
fn without_a_trusted_authority_of_the_importing_country_the_certificate_is_not_required() {
    let r = node("US-DDTC", 1, &[("GT-DIGECAM", 3)]);
    r.v.issuer()
        .issue(License::Export(export("EXP-1", 1000)))
        .expect("nobody of MX is trusted: nothing to check against");
}

#[test]
fn quantities_are_allocated_across_export_licenses_and_released_on_revocation() {
    let r = us();
    receive(&r, &[Log::new("MX-SEDENA", 2).next(docs::import("IC-1"))]);
    r.v.issuer()
        .issue(License::Export(export("EXP-1", 60)))
        .expect("60 of 100");
    let why = refused(r.v.issuer().issue(License::Export(export("EXP-2", 50))));
    assert!(why.contains("has 40 units of firearm unallocated"), "{why}");
    r.v.issuer()
        .issue(License::Export(export("EXP-2", 40)))
        .expect("the last 40");
    let why = refused(r.v.issuer().issue(License::Export(export("EXP-3", 1))));
    assert!(why.contains("has 0 units"), "{why}");

    // A suspended license still holds its allocation; a revoked one frees it.
    r.v.issuer()
        .set_status("US-DDTC", "EXP-1", Status::Suspended, "inquiry".into())
        .expect("suspended");
    refused(r.v.issuer().issue(License::Export(export("EXP-3", 1))));
    r.v.issuer()
        .set_status("US-DDTC", "EXP-1", Status::Revoked, "diversion".into())
        .expect("revoked");
    r.v.issuer()
        .issue(License::Export(export("EXP-3", 60)))
        .expect("released by revocation");

    let mut citing = r
        .store
        .citing(&docs::doc_ref("MX-SEDENA", "IC-1"))
        .expect("io");
    citing.sort();
    let numbers: Vec<&str> = citing.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, ["EXP-1", "EXP-2", "EXP-3"]);
}

#[test]
fn a_transit_authorization_needs_the_export_license_and_its_route() {
    let gt = || node("GT-DIGECAM", 3, &[("US-DDTC", 1), ("MX-SEDENA", 2)]);
    let tr = || {
        License::Transit(docs::transit_authorization(
            "TR-1",
            "GT",
            docs::doc_ref("US-DDTC", "EXP-1"),
        ))
    };

    let r = gt();
    let why = refused(r.v.issuer().issue(tr()));
    assert!(why.contains("not held by this node"), "{why}");

    let r = gt();
    let mut off_route = export("EXP-1", 10);
    off_route.transit_countries = vec!["BZ".into()];
    receive(
        &r,
        &[Log::new("US-DDTC", 1).next(Document::License(License::Export(off_route)))],
    );
    let why = refused(r.v.issuer().issue(tr()));
    assert!(why.contains("does not list GT"), "{why}");

    let r = gt();
    receive(
        &r,
        &[Log::new("US-DDTC", 1).next(Document::License(License::Export(export("EXP-1", 10))))],
    );
    r.v.issuer()
        .issue(tr())
        .expect("held, and GT is on its route");
}

/// MX-SEDENA, trusting US-DDTC (1), GT-DIGECAM (3) and MX-ANAM (4), the
/// Mexican customs that records crossings into MX; it holds US-DDTC's
/// EXP-1 (60 pistols on line 1) and MX-ANAM's record of `entered` of them
/// entering.
fn mx_with_entry(entered: u64) -> Rig {
    let r = node(
        "MX-SEDENA",
        2,
        &[("US-DDTC", 1), ("GT-DIGECAM", 3), ("MX-ANAM", 4)],
    );
    let mut us = Log::new("US-DDTC", 1);
    let mut elsewhere = export("EXP-GT", 5);
    elsewhere.importing_country = "GT".into();
    elsewhere.transit_countries.clear();
    receive(
        &r,
        &[
            us.next(Document::License(License::Export(export("EXP-1", 60)))),
            us.next(Document::License(License::Export(elsewhere))),
        ],
    );
    let record = docs::shipment(
        docs::doc_ref("US-DDTC", "EXP-1"),
        Direction::Entry,
        "MX",
        &[(1, entered, &[])],
        true,
    );
    receive(&r, &[Log::new("MX-ANAM", 4).next(record)]);
    r
}

fn delivery(number: &str, lines: &[(u32, u64)]) -> License {
    License::Delivery(docs::delivery(
        number,
        docs::doc_ref("US-DDTC", "EXP-1"),
        lines,
    ))
}

fn delivered(r: &Rig) -> Vec<(u32, u64)> {
    let store = &r.store;
    let export = store
        .license(&"US-DDTC".parse().expect("valid"), "EXP-1")
        .expect("io")
        .expect("held");
    let deliveries = store.deliveries_for(&export.reference()).expect("io");
    tally_verify::state::delivered(&export, &deliveries)
        .into_iter()
        .collect()
}

#[test]
fn a_delivery_verification_needs_the_license_and_no_more_than_entered() {
    type Edit = fn(&mut DeliveryVerification);
    let cases: &[(&str, Edit, Option<&str>)] = &[
        ("baseline", |_| {}, None),
        (
            "license not held",
            |d| d.export_license.number = "EXP-9".into(),
            Some("not held by this node"),
        ),
        (
            "a license to another country",
            |d| d.export_license.number = "EXP-GT".into(),
            Some("goes to GT, not MX"),
        ),
        (
            "a line the license lacks",
            |d| d.items[0].line = 7,
            Some("line 7 is not on export license EXP-1"),
        ),
        (
            "more than entered",
            |d| d.items[0].quantity = 41,
            Some("line 1: 41 delivered (0 by earlier verifications), but 40 recorded entering"),
        ),
    ];
    for (name, edit, want) in cases {
        let r = mx_with_entry(40);
        let mut d = docs::delivery("DV-1", docs::doc_ref("US-DDTC", "EXP-1"), &[(1, 40)]);
        edit(&mut d);
        let out = r.v.issuer().issue(License::Delivery(d));
        match want {
            None => assert!(out.is_ok(), "{name}: {out:?}"),
            Some(want) => {
                let why = refused(out);
                assert!(why.contains(want), "{name}: {why}");
            }
        }
    }
}

#[test]
fn deliveries_add_up_and_a_revoked_one_no_longer_counts() {
    let r = mx_with_entry(40);
    r.v.issuer()
        .issue(delivery("DV-1", &[(1, 30)]))
        .expect("30 of 40");
    let why = refused(r.v.issuer().issue(delivery("DV-2", &[(1, 11)])));
    assert!(why.contains("41 delivered (30 by earlier"), "{why}");
    r.v.issuer()
        .issue(delivery("DV-2", &[(1, 10)]))
        .expect("the last 10");
    assert_eq!(delivered(&r), [(1, 40)]);

    // Deliveries share the authority's number space.
    assert!(matches!(
        r.v.issuer().issue(delivery("DV-1", &[(1, 1)])),
        Err(IssueError::Conflict(_))
    ));
    // Not amendable: revoke and issue anew.
    assert!(matches!(
        r.v.issuer()
            .amend("MX-SEDENA", "DV-2", delivery("DV-2", &[(1, 5)])),
        Err(IssueError::InvalidAmendment(_))
    ));
    r.v.issuer()
        .set_status("MX-SEDENA", "DV-1", Status::Revoked, "counted twice".into())
        .expect("revoked");
    assert_eq!(delivered(&r), [(1, 10)]);
    r.v.issuer()
        .issue(delivery("DV-3", &[(1, 30)]))
        .expect("room again");
    assert_eq!(delivered(&r), [(1, 40)]);
    let dv = r
        .store
        .license(&"MX-SEDENA".parse().expect("valid"), "DV-3")
        .expect("io")
        .expect("held");
    assert_eq!(dv.kind, LicenseKind::Delivery);
}

#[test]
fn a_delivery_verification_survives_the_wire() {
    let d = delivery("DV-1", &[(1, 30), (2, 5)]);
    let v = Log::new("MX-SEDENA", 2).next(Document::License(d.clone()));
    let back = SignedEntry::decode(&v.signed().encode())
        .expect("decodes")
        .open()
        .expect("opens");
    assert_eq!(back.body, Body::Document(Document::License(d)));
}

#[test]
fn a_single_use_certificate_is_cited_once_until_that_export_is_revoked() {
    let r = us();
    let mut ic = docs::import_certificate("IC-1");
    ic.single_use = true;
    receive(
        &r,
        &[Log::new("MX-SEDENA", 2).next(Document::License(License::Import(ic)))],
    );
    r.v.issuer()
        .issue(License::Export(export("EXP-1", 10)))
        .expect("the one use");
    let why = refused(r.v.issuer().issue(License::Export(export("EXP-2", 10))));
    assert!(why.contains("single-use"), "{why}");
    r.v.issuer()
        .set_status("US-DDTC", "EXP-1", Status::Revoked, "withdrawn".into())
        .expect("revoked");
    r.v.issuer()
        .issue(License::Export(export("EXP-2", 10)))
        .expect("free again");
}
