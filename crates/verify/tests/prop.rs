//! Property tests of the shipment rules over generated facts and
//! declarations: the verdict's shape, and that declaring or recording more
//! never turns a refusal into an acceptance.

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use tally_model::*;
use tally_store::state::{EntryPointer, LicenseEvent, LicenseState, SerialUse, TallyRow};
use tally_verify::rules::{Declared, Facts, NOT_APPLICABLE, RULE_IDS, RULES, evaluate, shipped};

/// Few distinct values, so that generated facts and declarations meet often.
const LINES: &[u32] = &[1, 2, 3];
const SERIALS: &[&str] = &["S1", "S2", "S3", "S4"];
const COUNTRIES: &[&str] = &["US", "MX", "GT", "HN"];
const NAMES: &[&str] = &[
    "Acme Arms Inc.",
    " acme arms inc. ",
    "Importadora del Norte SA",
    "IMPORTADORA DEL NORTE SA",
    "Other Ltd",
];
const DATES: &[&str] = &[
    "2026-01-01",
    "2026-11-01",
    "2026-12-01",
    "2027-04-30",
    "2027-05-01",
    "2030-12-31",
    "not a date",
];

fn direction() -> BoxedStrategy<Direction> {
    select(vec![Direction::Exit, Direction::Transit, Direction::Entry]).boxed()
}

fn status() -> BoxedStrategy<Status> {
    prop_oneof![
        4 => Just(Status::Active),
        1 => Just(Status::Suspended),
        1 => Just(Status::Revoked),
    ]
    .boxed()
}

fn text(values: &'static [&'static str]) -> BoxedStrategy<String> {
    select(values).prop_map(String::from).boxed()
}

fn party() -> BoxedStrategy<Party> {
    text(NAMES)
        .prop_map(|name| Party {
            name,
            id: None,
            address: None,
        })
        .boxed()
}

fn items() -> BoxedStrategy<Vec<Item>> {
    subsequence(LINES, 0..=LINES.len())
        .prop_flat_map(|lines| {
            let n = lines.len();
            (
                Just(lines),
                vec(
                    (
                        1u64..200,
                        subsequence(SERIALS, 0..=2),
                        select(vec![Category::Firearm, Category::Ammunition]),
                    ),
                    n,
                ),
            )
        })
        .prop_map(|(lines, rest)| {
            lines
                .into_iter()
                .zip(rest)
                .map(|(line, (quantity, serials, category))| Item {
                    serials: serials.into_iter().map(String::from).collect(),
                    att_subcategory: None,
                    action: None,
                    caliber_mm: None,
                    origin_country: None,
                    ..sample::item(line, category, Unit::Units, quantity)
                })
                .collect()
        })
        .boxed()
}

fn document_ref() -> BoxedStrategy<DocumentRef> {
    (
        text(&["MX-SEDENA", "US-DDTC", "bogus"]),
        text(&["IC-1", "EXP-1"]),
    )
        .prop_map(|(authority, number)| DocumentRef { authority, number })
        .boxed()
}

fn export() -> BoxedStrategy<License> {
    (
        (text(&["US", "MX"]), text(&["MX", "US"])),
        subsequence(&["GT", "HN"][..], 0..=2),
        (party(), party(), items()),
        (text(DATES), text(DATES)),
        option::weighted(0.9, document_ref()),
        select(vec![Shipments::Partial, Shipments::Single]),
    )
        .prop_map(
            |(
                (exporting_country, importing_country),
                transit,
                (exporter, importer, items),
                (valid_from, valid_until),
                import_certificate,
                shipments,
            )| {
                License::Export(ExportLicense {
                    number: "EXP-1".into(),
                    exporting_country,
                    importing_country,
                    transit_countries: transit.into_iter().map(String::from).collect(),
                    exporter,
                    importer,
                    end_user: None,
                    end_use: None,
                    items,
                    valid_from,
                    valid_until,
                    import_certificate,
                    shipments,
                    ..sample::export_license()
                })
            },
        )
        .boxed()
}

fn import() -> BoxedStrategy<License> {
    (
        (text(&["MX", "US"]), text(&["US", "MX"])),
        (party(), party(), items()),
        (text(DATES), text(DATES)),
    )
        .prop_map(
            |(
                (importing_country, exporting_country),
                (importer, exporter, items),
                (valid_from, valid_until),
            )| {
                License::Import(ImportCertificate {
                    migrated: false,
                    original_issue_date: None,
                    prepared_by: None,
                    signatory: None,
                    number: "IC-1".into(),
                    importing_country,
                    exporting_country,
                    importer,
                    exporter,
                    end_user: None,
                    end_use: None,
                    items,
                    valid_from,
                    valid_until,
                    single_use: false,
                })
            },
        )
        .boxed()
}

fn transit() -> BoxedStrategy<License> {
    (text(&["GT", "HN"]), text(DATES), text(DATES))
        .prop_map(|(transit_country, valid_from, valid_until)| {
            License::Transit(TransitAuthorization {
                migrated: false,
                original_issue_date: None,
                prepared_by: None,
                signatory: None,
                number: "TR-1".into(),
                transit_country,
                export_license: DocumentRef {
                    authority: "US-DDTC".into(),
                    number: "EXP-1".into(),
                },
                entry_point: None,
                exit_point: None,
                valid_from,
                valid_until,
                decision: Decision::Authorized,
            })
        })
        .boxed()
}

fn event() -> BoxedStrategy<LicenseEvent> {
    (
        text(&["issued", "suspended", "revoked", "active"]),
        option::of(text(&["", "diversion"])),
    )
        .prop_map(|(event, reason)| LicenseEvent {
            event,
            version: 1,
            reason,
            at_ms: 0,
            entry: EntryPointer {
                seq: 2,
                hash: EntryHash([1; 32]),
            },
        })
        .boxed()
}

fn state(
    authorities: &'static [&'static str],
    document: BoxedStrategy<License>,
) -> BoxedStrategy<LicenseState> {
    (select(authorities), document, status(), vec(event(), 0..3))
        .prop_map(|(authority, document, status, history)| LicenseState {
            authority: authority.parse().expect("valid"),
            number: document.number().into(),
            kind: document.kind(),
            status,
            version: 1,
            document,
            issued_at_ms: 0,
            entry: EntryPointer {
                seq: 1,
                hash: EntryHash([0; 32]),
            },
            signed_by: "00".repeat(32),
            history,
            sealed_to: Vec::new(),
        })
        .boxed()
}

fn tally_row() -> BoxedStrategy<TallyRow> {
    (select(LINES), direction(), text(COUNTRIES), 0u64..300)
        .prop_map(|(line, direction, country, quantity)| TallyRow {
            line,
            direction,
            country,
            quantity,
            shipments: 1,
        })
        .boxed()
}

fn serial_use() -> BoxedStrategy<SerialUse> {
    Just(SerialUse {
        recorded_by: "MX-SEDENA".parse().expect("valid"),
        seq: 3,
        date: "2026-11-20".into(),
        recorded_at_ms: 0,
        line: 1,
    })
    .boxed()
}

fn facts() -> BoxedStrategy<Facts> {
    let license = prop_oneof![
        3 => state(&["US-DDTC"], export()),
        1 => state(&["MX-SEDENA"], import()),
        1 => state(&["GT-DIGECAM", "HN-DIGECAM"], transit()),
    ];
    (
        license,
        prop_oneof![
            4 => Just(Ok("trusted".to_string())),
            1 => Just(Err("not trusted".to_string())),
        ],
        option::weighted(0.8, state(&["MX-SEDENA", "US-DDTC"], import())),
        vec(
            state(&["GT-DIGECAM", "HN-DIGECAM", "US-DDTC"], transit()),
            0..3,
        ),
        vec(tally_row(), 0..4),
        btree_map(text(SERIALS), serial_use(), 0..2),
        prop_oneof![3 => Just(0u64), 1 => 1u64..3],
    )
        .prop_map(
            |(
                license,
                signature,
                import_certificate,
                transits,
                tallies,
                used_serials,
                accepted_shipments,
            )| Facts {
                license,
                signature,
                import_certificate,
                transits,
                tallies,
                used_serials,
                accepted_shipments,
                exited_serials: Default::default(),
            },
        )
        .boxed()
}

fn line() -> BoxedStrategy<ShipmentLine> {
    (0u32..5, 0u64..250, subsequence(SERIALS, 0..=2))
        .prop_map(|(line, quantity, serials)| ShipmentLine {
            line,
            quantity,
            serials: serials.into_iter().map(String::from).collect(),
        })
        .boxed()
}

fn declared() -> BoxedStrategy<Declared> {
    (
        (text(COUNTRIES), direction()),
        // 2026-06-01 .. 2027-08-30: before, inside and after the windows above.
        20_605i64..21_060,
        (option::of(text(NAMES)), option::of(text(NAMES))),
        vec(line(), 0..4),
    )
        .prop_map(
            |((country, direction), day, (exporter, importer), items)| Declared {
                checkpoint: Checkpoint {
                    country,
                    port: "PORT".into(),
                    direction,
                },
                date: Date::from_unix_ms(day * 86_400_000),
                exporter,
                importer,
                items,
            },
        )
        .boxed()
}

/// A US export to MX through GT with its import certificate and transit
/// authorization held, checked at a checkpoint on its route within its
/// validity: the rules accept it unless quantities, serials or the single-
/// shipment rule say otherwise, so the acceptance side is reached often.
fn on_route() -> BoxedStrategy<(Facts, Declared)> {
    let licensed = |line: u32, quantity: u64, serials: &[&str]| Item {
        serials: serials.iter().map(|s| s.to_string()).collect(),
        att_subcategory: None,
        action: None,
        caliber_mm: None,
        origin_country: None,
        ..sample::item(line, Category::Firearm, Unit::Units, quantity)
    };
    let export = move |shipments| ExportLicense {
        number: "EXP-1".into(),
        exporter: sample::party(NAMES[0]),
        importer: sample::party(NAMES[2]),
        end_user: None,
        end_use: None,
        items: vec![licensed(1, 100, &["S1", "S2"]), licensed(2, 10, &[])],
        import_certificate: Some(DocumentRef {
            authority: "MX-SEDENA".into(),
            number: "IC-1".into(),
        }),
        shipments,
        ..sample::export_license()
    };
    let held = |authority: &str, document: License| {
        let entry = EntryPointer {
            seq: 1,
            hash: EntryHash([0; 32]),
        };
        let authority = authority.parse().expect("valid");
        LicenseState::issued(authority, document, 0, entry, "00".repeat(32))
    };
    let import = License::Import(ImportCertificate {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: "IC-1".into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        importer: Party {
            name: NAMES[3].into(),
            id: None,
            address: None,
        },
        exporter: Party {
            name: NAMES[0].into(),
            id: None,
            address: None,
        },
        end_user: None,
        end_use: None,
        items: vec![licensed(1, 200, &[])],
        valid_from: "2026-01-01".into(),
        valid_until: "2027-12-31".into(),
        single_use: false,
    });
    let transit = License::Transit(TransitAuthorization {
        migrated: false,
        original_issue_date: None,
        prepared_by: None,
        signatory: None,
        number: "TR-1".into(),
        transit_country: "GT".into(),
        export_license: DocumentRef {
            authority: "US-DDTC".into(),
            number: "EXP-1".into(),
        },
        entry_point: None,
        exit_point: None,
        valid_from: "2026-01-01".into(),
        valid_until: "2027-12-31".into(),
        decision: Decision::Authorized,
    });
    let line = (1u32..=2, 1u64..120, subsequence(&["S1", "S2"][..], 0..=1)).prop_map(
        |(line, quantity, serials)| ShipmentLine {
            line,
            quantity,
            serials: if line == 1 {
                serials.into_iter().map(String::from).collect()
            } else {
                vec![]
            },
        },
    );
    (
        select(vec![Shipments::Partial, Shipments::Single]),
        vec(tally_row(), 0..3),
        btree_map(text(&["S1", "S2"]), serial_use(), 0..=1),
        prop_oneof![3 => Just(0u64), 1 => Just(1u64)],
        select(vec![
            ("MX", Direction::Entry),
            ("US", Direction::Exit),
            ("GT", Direction::Transit),
        ]),
        20_758i64..20_939,
        (
            option::of(text(&NAMES[..2])),
            option::of(text(&NAMES[2..4])),
        ),
        vec(line, 1..3),
    )
        .prop_map(
            move |(
                shipments,
                tallies,
                used_serials,
                accepted_shipments,
                (country, direction),
                day,
                (exporter, importer),
                items,
            )| {
                let facts = Facts {
                    license: held("US-DDTC", License::Export(export(shipments))),
                    signature: Ok("trusted".into()),
                    import_certificate: Some(held("MX-SEDENA", import.clone())),
                    transits: vec![held("GT-DIGECAM", transit.clone())],
                    tallies,
                    used_serials,
                    accepted_shipments,
                    exited_serials: Default::default(),
                };
                let declared = Declared {
                    checkpoint: Checkpoint {
                        country: country.into(),
                        port: "PORT".into(),
                        direction,
                    },
                    date: Date::from_unix_ms(day * 86_400_000),
                    exporter,
                    importer,
                    items,
                };
                (facts, declared)
            },
        )
        .boxed()
}

/// Facts and a declaration: independent, or on the route of a held export.
fn case() -> BoxedStrategy<(Facts, Declared)> {
    prop_oneof![(facts(), declared()), on_route()].boxed()
}

fn check_ok(v: &tally_verify::Verdict, rule: &str) -> bool {
    v.checks
        .iter()
        .find(|c| c.rule == rule)
        .map(|c| c.ok)
        .expect("every rule is reported")
}

/// `items.quantity` stated directly from docs/API.md.
fn quantity_oracle(f: &Facts, d: &Declared) -> bool {
    let licensed = f.license.document.items();
    if f.license.kind == LicenseKind::Transit {
        return true;
    }
    let single =
        matches!(&f.license.document, License::Export(l) if l.shipments == Shipments::Single);
    let used_up = single && f.accepted_shipments > 0;
    !used_up
        && !d.items.is_empty()
        && d.items.iter().all(|it| {
            licensed
                .iter()
                .find(|l| l.line == it.line)
                .is_some_and(|l| {
                    it.quantity
                        <= l.quantity
                            .saturating_sub(shipped(f, it.line, &d.checkpoint))
                })
        })
}

proptest! {
    // 256 cases unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn accept_iff_every_check_is_ok_with_every_rule_in_order((f, d) in case()) {
        let v = evaluate(Some(&f), &d, "US-DDTC EXP-1");
        let rules: Vec<&str> = v.checks.iter().map(|c| c.rule).collect();
        let mut want = vec!["license.known"];
        want.extend(RULES.iter().map(|(r, _)| *r));
        prop_assert_eq!(rules, want);
        prop_assert_eq!(v.checks.len(), 11);
        prop_assert!(v.checks[0].ok);
        let all_ok = v.checks.iter().all(|c| c.ok);
        prop_assert_eq!(v.accepted(), all_ok);
        prop_assert_eq!(v.as_str(), if all_ok { "accept" } else { "reject" });
        let failed: Vec<String> =
            v.checks.iter().filter(|c| !c.ok).map(|c| c.rule.to_string()).collect();
        prop_assert_eq!(v.failed_rules(), failed);
        for c in &v.checks {
            prop_assert!(!c.detail.is_empty(), "{} has no detail", c.rule);
        }
        // Pure: the same facts give the same verdict.
        prop_assert_eq!(evaluate(Some(&f), &d, "US-DDTC EXP-1"), v);
    }

    #[test]
    fn an_unknown_license_is_the_only_check(d in declared(), reference in "\\PC{0,20}") {
        let v = evaluate(None, &d, &reference);
        prop_assert_eq!(v.checks.len(), 1);
        prop_assert_eq!(v.checks[0].rule, "license.known");
        prop_assert!(!v.checks[0].ok);
        prop_assert!(!v.accepted());
        prop_assert_eq!(v.failed_rules(), vec!["license.known".to_string()]);
    }

    #[test]
    fn rules_that_do_not_apply_are_ok((f, d) in case()) {
        let v = evaluate(Some(&f), &d, "r");
        let na: &[&str] = match f.license.kind {
            LicenseKind::Export => &[],
            LicenseKind::Import => &["import.authorization", "transit.authorization"],
            // Every rule from `import.authorization` on.
            _ => &RULE_IDS[5..],
        };
        for c in v.checks.iter().filter(|c| na.contains(&c.rule)) {
            prop_assert!(c.ok && c.detail == NOT_APPLICABLE, "{:?}", c);
        }
    }

    #[test]
    fn items_quantity_follows_the_contract((f, d) in case()) {
        let v = evaluate(Some(&f), &d, "r");
        prop_assert_eq!(check_ok(&v, "items.quantity"), quantity_oracle(&f, &d));
    }

    #[test]
    fn declaring_more_never_turns_a_quantity_refusal_into_acceptance(
        (f, d) in case(),
        which in any::<Index>(),
        more in 1u64..1_000,
    ) {
        if d.items.is_empty() {
            return Ok(());
        }
        let before = evaluate(Some(&f), &d, "r");
        let mut bigger = d.clone();
        let i = which.index(bigger.items.len());
        bigger.items[i].quantity += more;
        let after = evaluate(Some(&f), &bigger, "r");
        if !check_ok(&before, "items.quantity") {
            prop_assert!(!check_ok(&after, "items.quantity"));
        }
        // The other way round: declaring less never turns an acceptance of
        // the quantity into a refusal.
        if check_ok(&after, "items.quantity") {
            prop_assert!(check_ok(&before, "items.quantity"));
        }
    }

    #[test]
    fn recording_more_never_turns_a_refusal_into_acceptance(
        (f, d) in case(),
        row in tally_row(),
        serial in text(SERIALS),
        shipments in 0u64..3,
    ) {
        let before = evaluate(Some(&f), &d, "r");
        let mut more = f.clone();
        more.tallies.push(row);
        let after = evaluate(Some(&more), &d, "r");
        if !check_ok(&before, "items.quantity") {
            prop_assert!(!check_ok(&after, "items.quantity"));
        }
        if !before.accepted() {
            prop_assert!(!after.accepted());
        }
        // More accepted shipments and more used serials: the same.
        more.accepted_shipments += shipments;
        more.used_serials.insert(serial, SerialUse {
            recorded_by: "MX-SEDENA".parse().expect("valid"),
            seq: 9,
            date: "2026-11-30".into(),
            recorded_at_ms: 0,
            line: 1,
        });
        let after = evaluate(Some(&more), &d, "r");
        if !before.accepted() {
            prop_assert!(!after.accepted());
        }
        for rule in ["items.quantity", "items.serials"] {
            if !check_ok(&before, rule) {
                prop_assert!(!check_ok(&after, rule), "{}", rule);
            }
        }
    }

    #[test]
    fn shipped_counts_the_line_in_the_checkpoints_direction_only(
        (f, d) in case(),
        line in select(LINES),
        row in tally_row(),
    ) {
        let cp = &d.checkpoint;
        let before = shipped(&f, line, cp);
        let mut more = f.clone();
        more.tallies.push(row.clone());
        let counts = row.line == line
            && row.direction == cp.direction
            && (cp.direction != Direction::Transit || row.country == cp.country);
        let want = before + if counts { row.quantity } else { 0 };
        prop_assert_eq!(shipped(&more, line, cp), want);
    }
}
