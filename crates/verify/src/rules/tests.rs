//! Table-driven tests of every rule, passing and failing, with no store.

use super::*;
use tally_model::*;
use tally_store::state::{EntryPointer, LicenseEvent};
use tally_testkit::docs;

fn state(authority: &str, document: License) -> LicenseState {
    let entry = EntryPointer {
        seq: 1,
        hash: EntryHash([0; 32]),
    };
    let authority = authority.parse().expect("valid");
    LicenseState::issued(authority, document, 0, entry, "00".repeat(32))
}

fn export() -> ExportLicense {
    let mut e = docs::export_fields("EXP-1", 100, &["AC1000", "AC1001"]);
    e.items[1].quantity = 10;
    e
}

fn import() -> ImportCertificate {
    let mut ic = docs::import_certificate("IC-1");
    ic.items[0].quantity = 110;
    ic
}

fn transit() -> TransitAuthorization {
    let mut t = docs::transit_authorization("TR-1", "GT", docs::doc_ref("US-DDTC", "EXP-1"));
    t.valid_until = "2027-04-30".into();
    t
}

fn facts() -> Facts {
    Facts {
        license: state("US-DDTC", License::Export(export())),
        signature: Ok("trusted".into()),
        import_certificate: Some(state("MX-SEDENA", License::Import(import()))),
        transits: vec![state("GT-DIGECAM", License::Transit(transit()))],
        tallies: vec![],
        used_serials: BTreeMap::new(),
        accepted_shipments: 0,
        exited_serials: Default::default(),
    }
}

fn declared() -> Declared {
    Declared {
        checkpoint: Checkpoint {
            country: "MX".into(),
            port: "MXNLD".into(),
            direction: Direction::Entry,
        },
        date: "2026-12-01".parse().expect("valid"),
        exporter: Some("Acme Arms Inc.".into()),
        importer: Some(" importadora del norte sa ".into()),
        items: vec![ShipmentLine {
            line: 1,
            quantity: 40,
            serials: vec!["AC1000".into()],
        }],
    }
}

fn tally(line: u32, direction: Direction, country: &str, quantity: u64) -> TallyRow {
    TallyRow {
        line,
        direction,
        country: country.into(),
        quantity,
        shipments: 1,
    }
}

fn export_mut(f: &mut Facts) -> &mut ExportLicense {
    match &mut f.license.document {
        License::Export(e) => e,
        _ => unreachable!("fixture is an export"),
    }
}

fn cert_mut(f: &mut Facts) -> &mut ImportCertificate {
    match f.import_certificate.as_mut().map(|ic| &mut ic.document) {
        Some(License::Import(c)) => c,
        _ => unreachable!("fixture holds an import certificate"),
    }
}

type Edit = fn(&mut Facts, &mut Declared);

#[test]
fn every_rule_passes_and_fails() {
    let cases: &[(&str, &str, Edit, bool, &str)] = &[
        ("baseline", "", |_, _| {}, true, ""),
        (
            "untrusted key",
            "license.signature",
            |f, _| f.signature = Err("not trusted".into()),
            false,
            "not trusted",
        ),
        (
            "suspended",
            "license.status",
            |f, _| f.license.status = Status::Suspended,
            false,
            "suspended",
        ),
        (
            "revoked with reason",
            "license.status",
            |f, _| {
                f.license.status = Status::Revoked;
                f.license.history.push(LicenseEvent {
                    event: "revoked".into(),
                    version: 1,
                    reason: Some("diversion".into()),
                    at_ms: 0,
                    entry: EntryPointer {
                        seq: 2,
                        hash: EntryHash([1; 32]),
                    },
                });
            },
            false,
            "diversion",
        ),
        (
            "last valid day",
            "license.validity",
            |_, d| d.date = "2027-04-30".parse().expect("valid"),
            true,
            "within",
        ),
        (
            "expired",
            "license.validity",
            |_, d| d.date = "2027-05-01".parse().expect("valid"),
            false,
            "after valid_until",
        ),
        (
            "not yet valid",
            "license.validity",
            |_, d| d.date = "2026-10-31".parse().expect("valid"),
            false,
            "before valid_from",
        ),
        (
            "exit at exporter",
            "route.checkpoint",
            |_, d| {
                d.checkpoint.country = "US".into();
                d.checkpoint.direction = Direction::Exit
            },
            true,
            "exporting",
        ),
        (
            "exit elsewhere",
            "route.checkpoint",
            |_, d| d.checkpoint.direction = Direction::Exit,
            false,
            "exporting country is US",
        ),
        (
            "entry elsewhere",
            "route.checkpoint",
            |_, d| d.checkpoint.country = "CA".into(),
            false,
            "importing country is MX",
        ),
        (
            "transit listed",
            "route.checkpoint",
            |_, d| {
                d.checkpoint.country = "GT".into();
                d.checkpoint.direction = Direction::Transit
            },
            true,
            "listed",
        ),
        (
            "transit unlisted",
            "route.checkpoint",
            |_, d| {
                d.checkpoint.country = "HN".into();
                d.checkpoint.direction = Direction::Transit
            },
            false,
            "not one of",
        ),
        (
            "no import cert held",
            "import.authorization",
            |f, _| f.import_certificate = None,
            false,
            "not known",
        ),
        (
            "import cert revoked",
            "import.authorization",
            |f, _| {
                if let Some(ic) = &mut f.import_certificate {
                    ic.status = Status::Revoked
                }
            },
            false,
            "revoked",
        ),
        (
            "import cert wrong country",
            "import.authorization",
            |f, _| {
                if let Some(ic) = &mut f.import_certificate {
                    ic.authority = "CA-GAC".parse().expect("valid")
                }
            },
            false,
            "importing country",
        ),
        (
            "import cert still valid",
            "import.authorization",
            |_, d| d.date = "2027-04-30".parse().expect("valid"),
            true,
            "covers",
        ),
        (
            "import cert expired",
            "import.authorization",
            |f, _| cert_mut(f).valid_until = "2026-11-30".into(),
            false,
            "after valid_until",
        ),
        (
            "import cert other importer",
            "import.authorization",
            |f, _| cert_mut(f).importer.name = "Other SA".into(),
            false,
            "importer",
        ),
        (
            "import cert too small",
            "import.authorization",
            |f, _| cert_mut(f).items[0].quantity = 109,
            false,
            "covers 109",
        ),
        (
            "import cert other category",
            "import.authorization",
            |f, _| cert_mut(f).items[0].category = Category::Ammunition,
            false,
            "covers 0",
        ),
        (
            "import cert same category, other unit",
            "import.authorization",
            |f, _| cert_mut(f).items[0].unit = Unit::Kg,
            false,
            "covers 0 units of firearm",
        ),
        (
            "import cert importer by id under another name",
            "import.authorization",
            |f, _| {
                let ic = cert_mut(f);
                ic.importer.name = "Importadora del Norte, S.A. de C.V.".into();
                ic.importer.id = Some("RFC-INO-940101".into());
                export_mut(f).importer.id = Some("RFC-INO-940101".into());
            },
            true,
            "covers",
        ),
        (
            "no transit auth",
            "transit.authorization",
            |f, _| f.transits.clear(),
            false,
            "GT",
        ),
        (
            "transit auth suspended",
            "transit.authorization",
            |f, _| f.transits[0].status = Status::Suspended,
            false,
            "GT",
        ),
        (
            "transit auth by wrong country",
            "transit.authorization",
            |f, _| f.transits[0].authority = "HN-SEDENA".parse().expect("valid"),
            false,
            "GT",
        ),
        (
            "no transit needed",
            "transit.authorization",
            |f, _| {
                export_mut(f).transit_countries.clear();
                f.transits.clear()
            },
            true,
            "no transit",
        ),
        (
            "wrong exporter",
            "parties.match",
            |_, d| d.exporter = Some("Someone Else".into()),
            false,
            "exporter",
        ),
        (
            "wrong importer",
            "parties.match",
            |_, d| d.importer = Some("Someone Else".into()),
            false,
            "importer",
        ),
        (
            "no parties declared",
            "parties.match",
            |_, d| {
                d.exporter = None;
                d.importer = None
            },
            true,
            "no parties",
        ),
        (
            "unknown line",
            "items.match",
            |_, d| d.items[0].line = 9,
            false,
            "line 9",
        ),
        (
            "line twice",
            "items.match",
            |_, d| {
                let i = d.items[0].clone();
                d.items.push(ShipmentLine {
                    serials: vec![],
                    ..i
                })
            },
            false,
            "twice",
        ),
        (
            "nothing declared",
            "items.match",
            |_, d| d.items.clear(),
            false,
            "no items",
        ),
        (
            "exactly what is left",
            "items.quantity",
            |f, d| {
                f.tallies.push(tally(1, Direction::Entry, "MX", 60));
                d.items[0].quantity = 40
            },
            true,
            "40 of 40",
        ),
        (
            "more than left",
            "items.quantity",
            |f, d| {
                f.tallies.push(tally(1, Direction::Entry, "MX", 61));
                d.items[0].quantity = 40
            },
            false,
            "39 left",
        ),
        (
            "other direction does not count",
            "items.quantity",
            |f, _| f.tallies.push(tally(1, Direction::Exit, "US", 100)),
            true,
            "of 100 left",
        ),
        (
            "transit counts per country",
            "items.quantity",
            |f, d| {
                f.tallies.push(tally(1, Direction::Transit, "HN", 100));
                f.tallies.push(tally(1, Direction::Transit, "GT", 70));
                d.checkpoint = Checkpoint {
                    country: "GT".into(),
                    port: String::new(),
                    direction: Direction::Transit,
                };
            },
            false,
            "30 left",
        ),
        (
            "more than licensed",
            "items.quantity",
            |_, d| d.items[0].quantity = 101,
            false,
            "100 left",
        ),
        (
            "single shipment used",
            "items.quantity",
            |f, _| {
                export_mut(f).shipments = Shipments::Single;
                f.accepted_shipments = 1
            },
            false,
            "single",
        ),
        (
            "single shipment first",
            "items.quantity",
            |f, _| export_mut(f).shipments = Shipments::Single,
            true,
            "left",
        ),
        (
            "serial not on line",
            "items.serials",
            |_, d| d.items[0].serials = vec!["ZZ9".into()],
            false,
            "not on line 1",
        ),
        (
            "serial on unlisted line",
            "items.serials",
            |_, d| {
                d.items = vec![ShipmentLine {
                    line: 2,
                    quantity: 1,
                    serials: vec!["ANY1".into()],
                }]
            },
            true,
            "not seen",
        ),
        (
            "serial repeated in declaration",
            "items.serials",
            |_, d| d.items[0].serials = vec!["AC1000".into(), "AC1000".into()],
            false,
            "twice",
        ),
        (
            "serial already crossed",
            "items.serials",
            |f, _| {
                f.used_serials.insert(
                    "AC1000".into(),
                    SerialUse {
                        recorded_by: "MX-SEDENA".parse().expect("valid"),
                        seq: 3,
                        date: "2026-11-20".into(),
                        recorded_at_ms: 0,
                        line: 1,
                    },
                );
            },
            false,
            "already crossed",
        ),
    ];
    for (name, rule, edit, ok, detail) in cases {
        let mut f = facts();
        let mut d = declared();
        edit(&mut f, &mut d);
        let v = evaluate(Some(&f), &d, "US-DDTC EXP-1");
        assert_eq!(v.checks.len(), 11, "{name}");
        if rule.is_empty() {
            assert!(v.accepted(), "{name}: {:?}", v.failed_rules());
            continue;
        }
        let c = v
            .checks
            .iter()
            .find(|c| c.rule == *rule)
            .expect("rule present");
        assert_eq!(c.ok, *ok, "{name}: {c:?}");
        assert!(
            c.detail.contains(detail),
            "{name}: {:?} lacks {detail:?}",
            c.detail
        );
        assert_eq!(v.accepted(), v.checks.iter().all(|c| c.ok), "{name}");
    }
}

#[test]
fn rule_order_is_the_contracts() {
    let v = evaluate(Some(&facts()), &declared(), "x");
    let ids: Vec<_> = v.checks.iter().map(|c| c.rule).collect();
    let contract = [
        "license.known",
        "license.signature",
        "license.status",
        "license.validity",
        "route.checkpoint",
        "import.authorization",
        "transit.authorization",
        "parties.match",
        "items.match",
        "items.quantity",
        "items.serials",
    ];
    assert_eq!(ids, contract);
    assert_eq!(RULE_IDS, contract, "the list other tests compare with");
}

#[test]
fn unknown_license_is_the_only_check() {
    let v = evaluate(None, &declared(), "US-DDTC EXP-9");
    assert_eq!(v.checks.len(), 1);
    assert_eq!(v.checks[0].rule, "license.known");
    assert!(!v.accepted());
    assert_eq!(v.as_str(), "reject");
}

#[test]
fn rules_that_do_not_apply_say_so() {
    let mut f = facts();
    f.license = state("GT-DIGECAM", License::Transit(transit()));
    let mut d = declared();
    d.checkpoint = Checkpoint {
        country: "GT".into(),
        port: String::new(),
        direction: Direction::Transit,
    };
    let v = evaluate(Some(&f), &d, "x");
    // Every rule from `import.authorization` on.
    for rule in &RULE_IDS[5..] {
        let c = v.checks.iter().find(|c| c.rule == *rule).expect("present");
        assert!(c.ok && c.detail == NOT_APPLICABLE, "{rule}: {c:?}");
    }
    assert!(v.accepted(), "{:?}", v.failed_rules());
}

/// A return to the US of a temporary export of which 40 of line 1 left,
/// serial AC1000 among them, after the license lapsed (2027-04-30) and
/// before its return date.
fn returning() -> (Facts, Declared) {
    let mut f = facts();
    export_mut(&mut f).temporary = Some(Temporary {
        purpose: TemporaryPurpose::Competition,
        return_by: "2027-06-01".into(),
    });
    f.tallies.push(tally(1, Direction::Exit, "US", 40));
    f.exited_serials.insert("AC1000".into());
    let mut d = declared();
    d.checkpoint = Checkpoint {
        country: "US".into(),
        port: "USLRD".into(),
        direction: Direction::Return,
    };
    d.date = "2027-05-10".parse().expect("valid");
    d.items[0].quantity = 30;
    (f, d)
}

#[test]
fn a_return_brings_back_what_left_under_a_temporary_export() {
    let (f, d) = returning();
    let v = evaluate(Some(&f), &d, "US-DDTC EXP-1");
    assert!(v.accepted(), "{:?}", v.checks);
    let detail = |v: &Verdict, rule: &str| {
        let c = v.checks.iter().find(|c| c.rule == rule).expect("present");
        (c.ok, c.detail.clone())
    };
    assert!(
        detail(&v, "license.validity")
            .1
            .contains("return after valid_until")
    );
    assert_eq!(detail(&v, "import.authorization").1, NOT_APPLICABLE);
    assert!(detail(&v, "items.quantity").1.contains("30 of 40 abroad"));
    let cases: &[(&str, &str, Edit, bool, &str)] = &[
        (
            "a permanent export",
            "route.checkpoint",
            |f, _| export_mut(f).temporary = None,
            false,
            "permanent",
        ),
        (
            "recorded abroad",
            "route.checkpoint",
            |_, d| d.checkpoint.country = "MX".into(),
            false,
            "but the exporting country",
        ),
        (
            "revoked since",
            "license.status",
            |f, _| f.license.status = Status::Revoked,
            true,
            "brings the goods home",
        ),
        (
            "before the license",
            "license.validity",
            |_, d| d.date = "2026-01-01".parse().expect("valid"),
            false,
            "before valid_from",
        ),
        (
            "more than left",
            "items.quantity",
            |_, d| d.items[0].quantity = 41,
            false,
            "40 abroad",
        ),
        (
            "some came back already",
            "items.quantity",
            |f, _| f.tallies.push(tally(1, Direction::Return, "US", 20)),
            false,
            "20 abroad (40 exited, 20 back)",
        ),
        (
            "a single-shipment license returns in parts",
            "items.quantity",
            |f, _| {
                export_mut(f).shipments = Shipments::Single;
                f.accepted_shipments = 1;
            },
            true,
            "abroad",
        ),
        (
            "a serial that never left",
            "items.serials",
            |f, _| f.exited_serials.clear(),
            false,
            "did not exit under this license",
        ),
    ];
    for (name, rule, edit, ok, want) in cases {
        let (mut f, mut d) = returning();
        edit(&mut f, &mut d);
        let v = evaluate(Some(&f), &d, "US-DDTC EXP-1");
        let (got, text) = detail(&v, rule);
        assert_eq!(got, *ok, "{name}: {text}");
        assert!(text.contains(want), "{name}: {text:?} lacks {want:?}");
    }
}
