//! Property tests of the model's decoders and rules: no bytes panic a
//! decoder, signing round-trips, any tampering is caught, and the chain, date
//! and amendment rules keep their promises for generated values.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use prost::Message;
use tally_model::*;
use tally_proto::v1 as pb;

const COUNTRIES: &[&str] = &["US", "MX", "GT", "HN", "CA", "BR", "CO"];
const MS_PER_DAY: i64 = 86_400_000;

fn key(n: u8) -> AuthorityKey {
    AuthorityKey::from_bytes(&[n; 32])
}

fn day(n: i64) -> Date {
    Date::from_unix_ms(n * MS_PER_DAY)
}

fn days_of(s: &str) -> i64 {
    s.parse::<Date>().expect("a valid date").days()
}

fn country(s: &str) -> Country {
    s.parse().expect("a listed country")
}

// ---- generators of anything the wire can carry ----

/// Any text, now and then a long one or one that looks like a real value,
/// so that both the happy paths and the length limits are reached.
fn wild() -> BoxedStrategy<String> {
    prop_oneof![
        8 => "\\PC{0,12}",
        1 => "[a-z]{500,530}",
        2 => select(vec![
            "US", "MX", "GT", "ZZ", "", " ", "2026-11-01", "2027-04-30", "2024-02-29",
            "MX-SEDENA", "US-DDTC", "EXP-1", "A/B", "930200",
        ])
        .prop_map(String::from),
    ]
    .boxed()
}

/// An optional text that survives the wire: an empty string there means absent.
fn opt_text() -> impl Strategy<Value = Option<String>> {
    option::of("\\PC{1,12}")
}

fn category() -> impl Strategy<Value = Category> {
    select(vec![
        Category::Firearm,
        Category::Part,
        Category::Ammunition,
        Category::Explosive,
        Category::Related,
    ])
}

/// A category with a unit and an HS heading that fit it.
fn fitting() -> impl Strategy<Value = (Category, Unit, &'static str)> {
    select(vec![
        (Category::Firearm, Unit::Units, "9302"),
        (Category::Firearm, Unit::Units, "9303"),
        (Category::Part, Unit::Units, "9305"),
        (Category::Ammunition, Unit::Rounds, "9306"),
        (Category::Ammunition, Unit::Kg, "9306"),
        (Category::Explosive, Unit::Kg, "3602"),
        (Category::Related, Unit::Units, "9304"),
        (Category::Related, Unit::Kg, "9307"),
    ])
}

fn unit() -> impl Strategy<Value = Unit> {
    select(vec![Unit::Units, Unit::Rounds, Unit::Kg])
}

fn any_party() -> BoxedStrategy<Party> {
    (wild(), opt_text(), opt_text())
        .prop_map(|(name, id, address)| Party { name, id, address })
        .boxed()
}

fn any_ref() -> BoxedStrategy<DocumentRef> {
    (wild(), wild())
        .prop_map(|(authority, number)| DocumentRef { authority, number })
        .boxed()
}

fn any_item() -> BoxedStrategy<Item> {
    (
        (any::<u32>(), category(), wild(), opt_text()),
        (opt_text(), opt_text(), opt_text()),
        (any::<u64>(), unit(), vec(wild(), 0..3)),
        (
            prop::option::of(prop::sample::select(
                tally_model::att::SUBCATEGORIES.to_vec(),
            )),
            prop::option::of(prop::sample::select(vec![
                tally_model::att::Action::Manual,
                tally_model::att::Action::SemiAutomatic,
                tally_model::att::Action::SelectiveFire,
            ])),
            prop::option::of(1u32..=20_000),
            opt_text(),
        ),
    )
        .prop_map(
            |(
                (line, category, description, hs_code),
                (make, model, caliber),
                (quantity, unit, serials),
                (att_subcategory, action, caliber_mm, origin_country),
            )| {
                Item {
                    shipped_before: 0,
                    line,
                    category,
                    description,
                    hs_code,
                    make,
                    model,
                    caliber,
                    quantity,
                    unit,
                    serials,
                    att_subcategory,
                    action,
                    caliber_mm,
                    origin_country,
                }
            },
        )
        .boxed()
}

fn any_export() -> BoxedStrategy<ExportLicense> {
    (
        (wild(), wild(), wild(), vec(wild(), 0..3)),
        (
            any_party(),
            any_party(),
            option::of(any_party()),
            opt_text(),
        ),
        (vec(any_item(), 0..3), wild(), wild()),
        (
            option::of(any_ref()),
            select(vec![Shipments::Single, Shipments::Partial]),
            opt_text(),
        ),
        (
            option::of((wild(), wild(), wild())),
            vec(any_party(), 0..2),
            vec(any_party(), 0..2),
            vec(any_party(), 0..2),
            option::of((wild(), wild())),
            opt_text(),
        ),
    )
        .prop_map(
            |(
                (number, exporting_country, importing_country, transit_countries),
                (exporter, importer, end_user, end_use),
                (items, valid_from, valid_until),
                (import_certificate, shipments, conditions),
                (euc, brokers, consignees, carriers, value, place_of_issue),
            )| ExportLicense {
                migrated: false,
                original_issue_date: None,
                prepared_by: None,
                signatory: None,
                number,
                exporting_country,
                importing_country,
                transit_countries,
                exporter,
                importer,
                end_user,
                end_use,
                items,
                valid_from,
                valid_until,
                import_certificate,
                shipments,
                conditions,
                end_user_certificate: euc.map(|(number, date, issued_by)| EndUserCertificate {
                    number,
                    date,
                    issued_by,
                }),
                brokers,
                consignees,
                carriers,
                value: value.map(|(amount, currency)| Money { amount, currency }),
                place_of_issue,
                temporary: None,
                planned_shipments: vec![],
            },
        )
        .boxed()
}

fn any_import() -> BoxedStrategy<ImportCertificate> {
    (
        (wild(), wild(), wild()),
        (
            any_party(),
            any_party(),
            option::of(any_party()),
            opt_text(),
        ),
        (vec(any_item(), 0..3), wild(), wild(), any::<bool>()),
    )
        .prop_map(
            |(
                (number, importing_country, exporting_country),
                (importer, exporter, end_user, end_use),
                (items, valid_from, valid_until, single_use),
            )| ImportCertificate {
                migrated: false,
                original_issue_date: None,
                prepared_by: None,
                signatory: None,
                number,
                importing_country,
                exporting_country,
                importer,
                exporter,
                end_user,
                end_use,
                items,
                valid_from,
                valid_until,
                single_use,
            },
        )
        .boxed()
}

fn any_transit() -> BoxedStrategy<TransitAuthorization> {
    (
        (wild(), wild(), any_ref()),
        (opt_text(), opt_text(), wild(), wild()),
        select(vec![Decision::Authorized, Decision::NoObjection]),
    )
        .prop_map(
            |(
                (number, transit_country, export_license),
                (entry_point, exit_point, valid_from, valid_until),
                decision,
            )| TransitAuthorization {
                migrated: false,
                original_issue_date: None,
                prepared_by: None,
                signatory: None,
                number,
                transit_country,
                export_license,
                entry_point,
                exit_point,
                valid_from,
                valid_until,
                decision,
            },
        )
        .boxed()
}

fn any_license() -> BoxedStrategy<License> {
    prop_oneof![
        any_export().prop_map(License::Export),
        any_import().prop_map(License::Import),
        any_transit().prop_map(License::Transit),
    ]
    .boxed()
}

fn any_shipment() -> BoxedStrategy<ShipmentRecord> {
    let line =
        (any::<u32>(), any::<u64>(), vec(wild(), 0..3)).prop_map(|(line, quantity, serials)| {
            ShipmentLine {
                line,
                quantity,
                serials,
            }
        });
    (
        (any_ref(), wild(), wild()),
        select(vec![Direction::Exit, Direction::Transit, Direction::Entry]),
        (wild(), opt_text(), opt_text()),
        (vec(line, 0..3), wild(), vec(wild(), 0..3)),
    )
        .prop_map(
            |(
                (license, country, port),
                direction,
                (date, exporter, importer),
                (items, verdict, failed_rules),
            )| ShipmentRecord {
                license,
                checkpoint: Checkpoint {
                    country,
                    port,
                    direction,
                },
                date,
                exporter,
                importer,
                items,
                verdict,
                failed_rules,
            },
        )
        .boxed()
}

fn any_document() -> BoxedStrategy<Document> {
    prop_oneof![
        3 => any_license().prop_map(Document::License),
        1 => (2u32.., any_license())
            .prop_map(|(version, license)| Document::Amendment { version, license }),
        1 => (
            wild(),
            select(vec![Status::Active, Status::Suspended, Status::Revoked]),
            wild(),
            any::<i64>()
        )
            .prop_map(|(number, status, reason, effective_at_ms)| {
                Document::StatusChange(StatusChange { prepared_by: None, signatory: None,
                    number,
                    status,
                    reason,
                    effective_at_ms,
                })
            }),
        1 => any_shipment().prop_map(Document::Shipment),
        1 => (any::<[u8; 32]>(), any::<i64>()).prop_map(|(k, valid_from_ms)| {
            Document::KeyRotation(KeyRotation {
                new_key: hex::encode(k),
                valid_from_ms,
            })
        }),
        1 => (any::<[u8; 32]>(), any::<i64>()).prop_map(|(public_key, valid_from_ms)| {
            Document::EncryptionKey(EncryptionKey {
                public_key,
                valid_from_ms,
            })
        }),
    ]
    .boxed()
}

/// A structurally valid sealed body (its bytes need not open).
fn any_sealed() -> impl Strategy<Value = Sealed> {
    (
        any::<[u8; 32]>(),
        vec(any::<u8>(), 0..64),
        vec((any::<[u8; 16]>(), vec(any::<u8>(), 72..=72)), 0..5),
    )
        .prop_map(|(commitment, ciphertext, stanzas)| Sealed {
            suite: SUITE.to_string(),
            commitment,
            ciphertext,
            stanzas: stanzas
                .into_iter()
                .map(|(tag, wrapped)| Stanza { tag, wrapped })
                .collect(),
        })
}

/// A fixed sealed body whose bytes differ with `marker`.
fn sealed_fixture(marker: &[u8]) -> Sealed {
    Sealed {
        suite: SUITE.to_string(),
        commitment: [7; 32],
        ciphertext: marker.to_vec(),
        stanzas: vec![
            Stanza {
                tag: [1; 16],
                wrapped: vec![2; 72],
            };
            4
        ],
    }
}

fn any_authority() -> impl Strategy<Value = AuthorityId> {
    ("(US|MX|GT|BR)", "[A-Z0-9]{2,16}")
        .prop_map(|(cc, name)| format!("{cc}-{name}").parse().expect("matches CC-NAME"))
}

fn any_entry() -> BoxedStrategy<Entry> {
    (
        any_authority(),
        prop_oneof![Just(1u64), 2u64..100, any::<u64>().prop_map(|s| s.max(1))],
        any::<[u8; 32]>(),
        any::<i64>(),
        vec("\\PC{0,8}", 0..2),
        prop_oneof![
            4 => any_document().prop_map(Body::Document),
            1 => any_sealed().prop_map(Body::Sealed),
        ],
    )
        .prop_map(
            |(authority, seq, prev, issued_at_ms, recipients, body)| Entry {
                authority,
                seq,
                prev: (seq > 1).then_some(EntryHash(prev)),
                issued_at_ms,
                recipients,
                body,
            },
        )
        .boxed()
}

// ---- generators of valid documents ----

fn name() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10}){0,2}"
}

fn valid_party() -> impl Strategy<Value = Party> {
    (name(), option::of("[A-Z0-9-]{1,12}"), option::of(name()))
        .prop_map(|(name, id, address)| Party { name, id, address })
}

fn number() -> impl Strategy<Value = String> {
    "[A-Z]{2,4}-[0-9]{1,6}"
}

/// A validity window of 2000..2095, at most about five years long.
fn validity() -> impl Strategy<Value = (String, String)> {
    (10_957i64..34_700, 0i64..2_000)
        .prop_map(|(a, len)| (day(a).to_string(), day(a + len).to_string()))
}

/// 1-5 item lines with distinct line numbers and serials.
fn valid_items() -> BoxedStrategy<Vec<Item>> {
    vec(
        (
            1u64..10_000,
            0usize..3,
            fitting(),
            option::of("[0-9]{0,6}"),
            option::of("[A-Za-z0-9]{1,8}"),
            "[a-z ]{0,20}",
        ),
        1..5,
    )
    .prop_map(|lines| {
        lines
            .into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    (quantity, serials, (category, unit, heading), hs_tail, model, description),
                )| {
                    let line = i as u32 * 10 + 1;
                    let hs_code = hs_tail.map(|t| format!("{heading}{t}"));
                    Item {
                        shipped_before: 0,
                        line,
                        category,
                        description,
                        hs_code,
                        make: None,
                        model,
                        caliber: None,
                        quantity,
                        unit,
                        serials: (0..serials.min(quantity as usize))
                            .map(|s| format!("S{line}-{s}"))
                            .collect(),
                        att_subcategory: None,
                        action: None,
                        caliber_mm: None,
                        origin_country: None,
                    }
                },
            )
            .collect()
    })
    .boxed()
}

/// A license that `validate_license` must accept for its issuing country.
fn valid_license() -> BoxedStrategy<(License, Country)> {
    (select(COUNTRIES.to_vec()), 0u8..3)
        .prop_flat_map(|(issuer, kind)| {
            let others: Vec<&'static str> =
                COUNTRIES.iter().copied().filter(|c| *c != issuer).collect();
            let parties = (valid_party(), valid_party(), option::of(valid_party()));
            let common = (number(), validity(), valid_items(), parties);
            (
                Just(issuer),
                Just(kind),
                select(others.clone()),
                subsequence(others, 0..=3),
                common,
                ("[A-Z0-9]{2,16}", number()),
                select(vec![Shipments::Single, Shipments::Partial]),
                select(vec![Decision::Authorized, Decision::NoObjection]),
            )
                .prop_map(
                    |(
                        issuer,
                        kind,
                        other,
                        transit,
                        (number, (valid_from, valid_until), items, (exporter, importer, end_user)),
                        (ref_name, ref_number),
                        shipments,
                        decision,
                    )| {
                        let license = match kind {
                            0 => License::Export(ExportLicense {
                                number,
                                exporting_country: issuer.into(),
                                importing_country: other.into(),
                                transit_countries: transit
                                    .into_iter()
                                    .filter(|t| *t != other)
                                    .map(String::from)
                                    .collect(),
                                exporter,
                                importer,
                                // Required on an export license.
                                end_user: end_user.or_else(|| {
                                    Some(tally_model::sample::party("Policia Estatal"))
                                }),
                                end_use: Some("law enforcement".into()),
                                items,
                                valid_from,
                                valid_until,
                                import_certificate: Some(DocumentRef {
                                    authority: format!("{other}-{ref_name}"),
                                    number: ref_number,
                                }),
                                shipments,
                                ..tally_model::sample::export_license()
                            }),
                            1 => License::Import(ImportCertificate {
                                migrated: false,
                                original_issue_date: None,
                                prepared_by: None,
                                signatory: None,
                                number,
                                importing_country: issuer.into(),
                                exporting_country: other.into(),
                                importer,
                                exporter,
                                end_user,
                                end_use: None,
                                items,
                                valid_from,
                                valid_until,
                                single_use: false,
                            }),
                            _ => License::Transit(TransitAuthorization {
                                migrated: false,
                                original_issue_date: None,
                                prepared_by: None,
                                signatory: None,
                                number,
                                transit_country: issuer.into(),
                                export_license: DocumentRef {
                                    authority: format!("{other}-{ref_name}"),
                                    number: ref_number,
                                },
                                entry_point: Some("PORT1".into()),
                                exit_point: None,
                                valid_from,
                                valid_until,
                                decision,
                            }),
                        };
                        (license, country(issuer))
                    },
                )
        })
        .boxed()
}

fn items_mut(l: &mut License) -> Option<&mut Vec<Item>> {
    match l {
        License::Export(d) => Some(&mut d.items),
        License::Import(d) => Some(&mut d.items),
        _ => None,
    }
}

fn validity_mut(l: &mut License) -> (&mut String, &mut String) {
    match l {
        License::Export(d) => (&mut d.valid_from, &mut d.valid_until),
        License::Import(d) => (&mut d.valid_from, &mut d.valid_until),
        License::Transit(d) => (&mut d.valid_from, &mut d.valid_until),
        _ => unreachable!("valid_license() makes only exports, imports and transits"),
    }
}

/// Wire form of a `SignedEntry` from its three parts, whatever their sizes.
fn signed_wire(entry: &[u8], key_id: &[u8], signature: &[u8]) -> Vec<u8> {
    pb::SignedEntry {
        entry: entry.to_vec().into(),
        key_id: key_id.to_vec().into(),
        signature: signature.to_vec().into(),
    }
    .encode_to_vec()
}

/// The signature bytes of a wire `SignedEntry`.
fn signature_of(wire: &[u8]) -> Vec<u8> {
    pb::SignedEntry::decode(wire)
        .expect("our own encoding")
        .signature
        .to_vec()
}

proptest! {
    // 256 cases unless PROPTEST_CASES says otherwise; a failure prints its
    // minimal input, which belongs in a table test next to the rule.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    // ---- decoders never panic ----

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in vec(any::<u8>(), 0..1024)) {
        if let Ok(s) = SignedEntry::decode(&bytes) {
            // What decodes re-encodes to something that decodes to the same.
            prop_assert_eq!(SignedEntry::decode(&s.encode()), Ok(s.clone()));
            prop_assert_eq!(s.id(), EntryHash::of(s.entry_bytes()));
            let _ = s.open();
            prop_assert!(s.verify_with(&key(1).public()).is_err());
        }
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(Entry::decode(&e.encode()), Ok(e));
        }
        if let Ok((a, b)) = decode_proof(&bytes) {
            prop_assert_eq!(decode_proof(&encode_proof(&a, &b)), Ok((a, b)));
        }
    }

    #[test]
    fn mutated_entries_never_panic_and_what_decodes_is_well_formed(
        entry in any_entry(),
        authority in prop_oneof![wild(), any_authority().prop_map(|a| a.to_string())],
        seq in prop_oneof![Just(0u64), Just(1u64), any::<u64>()],
        prev in vec(any::<u8>(), 0..40),
        drop_body in any::<bool>(),
        cuts in vec((any::<Index>(), any::<u8>()), 0..4),
    ) {
        let mut m = pb::Entry::decode(entry.encode().as_slice()).expect("our own encoding");
        m.authority = authority;
        m.seq = seq;
        m.prev = prev.into();
        if drop_body {
            m.body = None;
        }
        let mut bytes = m.encode_to_vec();
        for (at, b) in &cuts {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
        }
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert!(e.seq >= 1);
            prop_assert_eq!(e.seq == 1, e.prev.is_none());
            // Decoding is idempotent: the model form re-encodes to itself.
            prop_assert_eq!(Entry::decode(&e.encode()), Ok(e));
        }
        let wire = signed_wire(&bytes, &[7; 32], &[9; 64]);
        let s = SignedEntry::decode(&wire).expect("sizes are right");
        prop_assert_eq!(s.entry_bytes(), &bytes[..]);
        let _ = s.open();
    }

    // ---- signing ----

    #[test]
    fn sign_encode_decode_verify_round_trips(entry in any_entry(), k in 1u8..=255) {
        let key = key(k);
        let v = key.sign(&entry);
        let wire = v.signed().encode();
        let back = SignedEntry::decode(&wire).expect("decodes");
        prop_assert_eq!(&back, v.signed());
        prop_assert_eq!(back.encode(), wire);
        prop_assert_eq!(back.id(), EntryHash::of(&entry.encode()));
        prop_assert_eq!(back.open().expect("opens"), entry.clone());
        prop_assert_eq!(back.key_id(), &key.public().to_bytes());
        prop_assert!(back.verify_with(&key.public()).is_ok());
        prop_assert!(verify_batch(&[(&back, &key.public())]));
        let other = self::key(k.wrapping_add(1).max(1));
        prop_assert!(
            matches!(back.verify_with(&other.public()), Err(VerifyError::WrongKey { .. })),
            "a different key"
        );
        let verified = VerifiedEntry::verify(OpenedEntry::open(back).expect("opens"), &key.public()).expect("verifies");
        prop_assert_eq!(verified.entry(), &entry);
        prop_assert_eq!(verified.id(), v.id());
    }

    #[test]
    fn any_bit_flip_of_a_signed_entry_fails_verification(
        entry in any_entry(),
        part in 0u8..4,
        bit in any::<Index>(),
    ) {
        let key = key(1);
        let v = key.sign(&entry);
        let signed = v.signed();
        let wire = signed.encode();
        let (mut e, mut k, mut s) =
            (signed.entry_bytes().to_vec(), signed.key_id().to_vec(), signature_of(&wire));
        let flip = |b: &mut Vec<u8>| {
            let i = bit.index(b.len() * 8);
            b[i / 8] ^= 1 << (i % 8);
        };
        let tampered = match part {
            0 => { flip(&mut e); signed_wire(&e, &k, &s) }
            1 => { flip(&mut k); signed_wire(&e, &k, &s) }
            2 => { flip(&mut s); signed_wire(&e, &k, &s) }
            // Anywhere in the wire form, framing included.
            _ => { let mut w = wire.clone(); flip(&mut w); w }
        };
        if let Ok(t) = SignedEntry::decode(&tampered) {
            // A flip in the framing may still carry the same three parts;
            // anything else must fail against the real key and the claimed one.
            if &t != signed {
                prop_assert!(t.verify_with(&key.public()).is_err());
                if let Ok(claimed) = ed25519_dalek::VerifyingKey::from_bytes(t.key_id()) {
                    prop_assert!(t.verify_with(&claimed).is_err());
                    if let Ok(o) = OpenedEntry::open(t.clone()) {
                        prop_assert!(VerifiedEntry::verify(o, &claimed).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn proofs_round_trip(a in any_entry(), b in any_entry()) {
        let (a, b) = (key(1).sign(&a), key(2).sign(&b));
        let proof = encode_proof(a.signed(), b.signed());
        let (x, y) = decode_proof(&proof).expect("decodes");
        prop_assert_eq!(&x, a.signed());
        prop_assert_eq!(&y, b.signed());
    }

    // ---- the chain rule ----

    /// `chain_step` against a direct statement of the rule, over a small
    /// domain so every outcome is reached often.
    #[test]
    fn chain_step_matches_its_specification(
        head in option::of((1u64..6, 0u8..4)),
        held in option::of(0u8..4),
        seq in 0u64..9,
        prev in option::of(0u8..4),
        hash in 0u8..4,
    ) {
        let h = |n: u8| EntryHash([n; 32]);
        let (head, held, prev, hash) =
            (head.map(|(s, n)| (s, h(n))), held.map(h), prev.map(h), h(hash));
        let step = chain_step(head, held, seq, prev, hash);
        let head_seq = head.map_or(0, |(s, _)| s);
        let head_hash = head.map(|(_, x)| x);
        let shaped = seq >= 1 && (seq == 1) == prev.is_none();
        let want = if !shaped {
            ChainStep::BrokenLink
        } else if let Some(existing) = held {
            if existing == hash { ChainStep::Duplicate } else { ChainStep::Equivocation { existing } }
        } else if seq == head_seq + 1 && prev == head_hash {
            ChainStep::Next
        } else if seq > head_seq + 1 {
            ChainStep::Gap { have: head_seq }
        } else {
            ChainStep::BrokenLink
        };
        prop_assert_eq!(step, want);
    }

    #[test]
    fn chain_step_next_only_at_head_plus_one_linking_the_head(
        head in option::of((1u64..u64::MAX - 1, any::<[u8; 32]>())),
        seq in prop_oneof![0u64..4, any::<u64>()],
        prev in option::of(any::<[u8; 32]>()),
        hash in any::<[u8; 32]>(),
        link_head in any::<bool>(),
    ) {
        let head = head.map(|(s, x)| (s, EntryHash(x)));
        let prev = if link_head { head.map(|(_, x)| x) } else { prev.map(EntryHash) };
        let step = chain_step(head, None, seq, prev, EntryHash(hash));
        let head_seq = head.map_or(0, |(s, _)| s);
        if step == ChainStep::Next {
            prop_assert_eq!(seq, head_seq + 1);
            prop_assert_eq!(prev, head.map(|(_, x)| x));
        }
        if seq == head_seq + 1 && prev == head.map(|(_, x)| x) {
            prop_assert_eq!(step, ChainStep::Next);
        }
        let held_step = matches!(step, ChainStep::Duplicate | ChainStep::Equivocation { .. });
        prop_assert!(!held_step, "nothing is held at {}", seq);
    }

    /// A real log of signed entries, a local copy holding a prefix of it,
    /// and every entry of the log (and a fork of it) offered again.
    #[test]
    fn chain_step_over_a_real_log(len in 1u64..6, held in 0u64..6, fork_seq in 1u64..6) {
        let held = held.min(len);
        let key = key(2);
        let mut log: Vec<VerifiedEntry> = Vec::new();
        for seq in 1..=len {
            let e = Entry {
                authority: "MX-SEDENA".parse().expect("valid"),
                seq,
                prev: log.last().map(VerifiedEntry::id),
                issued_at_ms: seq as i64,
                recipients: vec![],
                body: Body::Sealed(sealed_fixture(&[seq as u8])),
            };
            log.push(key.sign(&e));
        }
        let head = (held > 0).then(|| (held, log[held as usize - 1].id()));
        for v in &log {
            let e = v.entry();
            let held_here = (e.seq <= held).then(|| log[e.seq as usize - 1].id());
            let want = if e.seq <= held {
                ChainStep::Duplicate
            } else if e.seq == held + 1 {
                ChainStep::Next
            } else {
                ChainStep::Gap { have: held }
            };
            prop_assert_eq!(chain_step(head, held_here, e.seq, e.prev, v.id()), want);
        }
        // The same seq with other bytes: equivocation where held, else as before.
        let fork_seq = fork_seq.min(len);
        let mut fork = log[fork_seq as usize - 1].entry().clone();
        fork.body = Body::Sealed(sealed_fixture(b"fork"));
        let f = key.sign(&fork);
        let held_here = (fork_seq <= held).then(|| log[fork_seq as usize - 1].id());
        let step = chain_step(head, held_here, fork_seq, fork.prev, f.id());
        if let Some(existing) = held_here {
            prop_assert_eq!(step, ChainStep::Equivocation { existing });
        } else {
            prop_assert!(step != ChainStep::Duplicate);
        }
    }

    // ---- dates ----

    #[test]
    fn dates_print_and_parse_back(n in -719_528i64..2_932_897) {
        // Years 0000..9999, the ones YYYY-MM-DD can write.
        let d = day(n);
        prop_assert_eq!(d.days(), n);
        let s = d.to_string();
        prop_assert_eq!(s.len(), 10);
        prop_assert_eq!(s.parse::<Date>(), Ok(d));
        let (y, m, dd) = d.ymd();
        prop_assert_eq!(Date::from_ymd(y, m, dd), Some(d));
        // The next day is the calendar's next day.
        let (y2, m2, d2) = day(n + 1).ymd();
        let next_in_month = (y2, m2, d2) == (y, m, dd + 1);
        let next_month = d2 == 1 && ((y2, m2) == (y, m + 1) || (y2, m2, m) == (y + 1, 1, 12));
        prop_assert!(next_in_month || next_month, "{} then {}", d, day(n + 1));
    }

    #[test]
    fn date_order_is_day_order_is_text_order(a in -719_528i64..2_932_897, b in -719_528i64..2_932_897) {
        let (da, db) = (day(a), day(b));
        prop_assert_eq!(da.cmp(&db), a.cmp(&b));
        // validate_amendment compares YYYY-MM-DD strings: that must be date order.
        prop_assert_eq!(da.to_string().cmp(&db.to_string()), a.cmp(&b));
    }

    #[test]
    fn unix_ms_falls_in_its_day(ms in any::<i64>()) {
        let d = Date::from_unix_ms(ms);
        prop_assert!(i128::from(d.days()) * 86_400_000 <= i128::from(ms));
        prop_assert!(i128::from(ms) < (i128::from(d.days()) + 1) * 86_400_000);
        let _ = d.to_string();
    }

    #[test]
    fn date_parse_never_panics_and_accepts_only_what_it_prints(
        s in prop_oneof!["\\PC{0,12}", "[0-9]{4}-[0-9]{2}-[0-9]{2}", "[0-9+-]{10}", ".{10}"]
    ) {
        if let Ok(d) = s.parse::<Date>() {
            prop_assert_eq!(d.to_string(), s);
        }
    }

    // ---- validation ----

    #[test]
    fn validate_license_never_panics(license in any_license(), issuer in select(COUNTRIES.to_vec())) {
        if validate_license(&license, country(issuer)).is_ok() {
            prop_assert_eq!(license.issuing_country(), issuer);
            let (from, until) = license.validity();
            prop_assert!(days_of(from) <= days_of(until));
            let items = license.items();
            prop_assert!(license.kind() == LicenseKind::Transit || !items.is_empty());
            for it in items {
                prop_assert!(it.quantity > 0 && it.serials.len() as u64 <= it.quantity);
            }
        }
        let _ = validate_amendment(&license, &license);
    }

    #[test]
    fn licenses_round_trip_through_json(license in any_license()) {
        let text = serde_json::to_string(&license).expect("serializes");
        prop_assert_eq!(serde_json::from_str::<License>(&text).expect("parses"), license);
    }

    #[test]
    fn valid_licenses_are_accepted_and_amend_to_themselves((license, issuer) in valid_license()) {
        prop_assert_eq!(validate_license(&license, issuer), Ok(()));
        prop_assert_eq!(validate_amendment(&license, &license), Ok(()));
        // Another country cannot issue it.
        let other = if issuer.as_str() == "US" { country("MX") } else { country("US") };
        prop_assert!(validate_license(&license, other).is_err());
    }

    #[test]
    fn raising_any_quantity_is_refused_lowering_is_allowed(
        (license, issuer) in valid_license(),
        line in any::<Index>(),
        raise in 1u64..1_000_000,
        lower in any::<Index>(),
    ) {
        let mut raised = license.clone();
        let Some(items) = items_mut(&mut raised) else {
            return Ok(());
        };
        let i = line.index(items.len());
        items[i].quantity += raise;
        prop_assert!(validate_amendment(&license, &raised).is_err());

        let mut lowered = license.clone();
        let items = items_mut(&mut lowered).expect("same kind");
        let q = items[i].quantity;
        let floor = items[i].serials.len().max(1) as u64;
        if q > floor {
            items[i].quantity = floor + lower.index((q - floor) as usize) as u64;
            prop_assert_eq!(validate_license(&lowered, issuer), Ok(()));
            prop_assert_eq!(validate_amendment(&license, &lowered), Ok(()));
            // And raising it back is refused as a step from the lowered one.
            prop_assert!(validate_amendment(&lowered, &license).is_err());
        }
    }

    #[test]
    fn extending_validity_is_refused_shortening_is_allowed(
        (license, _issuer) in valid_license(),
        by in 1i64..400,
        later in any::<bool>(),
    ) {
        let (from, until) = license.validity();
        let (from, until) = (days_of(from), days_of(until));
        let mut extended = license.clone();
        let (f, u) = validity_mut(&mut extended);
        if later { *u = day(until + by).to_string() } else { *f = day(from - by).to_string() }
        prop_assert!(validate_amendment(&license, &extended).is_err());

        let mut shortened = license.clone();
        let (f, u) = validity_mut(&mut shortened);
        let by = by.min(until - from);
        if later { *u = day(until - by).to_string() } else { *f = day(from + by).to_string() }
        prop_assert_eq!(validate_amendment(&license, &shortened), Ok(()));
    }

    #[test]
    fn parties_kind_and_number_cannot_change(
        (license, _issuer) in valid_license(),
        other in valid_license(),
        new_name in name(),
    ) {
        let mut renamed = license.clone();
        match &mut renamed {
            License::Export(d) => d.number.push('X'),
            License::Import(d) => d.number.push('X'),
            License::Transit(d) => d.number.push('X'),
            License::Delivery(d) => d.number.push('X'),
            License::Denial(d) => d.number.push('X'),
            License::EnduseRequest(d) => d.number.push('X'),
            License::EnduseAnswer(d) => d.number.push('X'),
        }
        prop_assert!(validate_amendment(&license, &renamed).is_err());

        let mut party = license.clone();
        match &mut party {
            License::Export(d) => d.importer.name = format!("{} {new_name}", d.importer.name),
            License::Import(d) => d.exporter.name = format!("{} {new_name}", d.exporter.name),
            License::Transit(d) => d.export_license.number.push('X'),
            License::Delivery(d) => d.export_license.number.push('X'),
            License::Denial(d) => d.applicant.name.push('X'),
            License::EnduseRequest(d) => d.export_license.push('X'),
            License::EnduseAnswer(d) => d.request.number.push('X'),
        }
        prop_assert!(validate_amendment(&license, &party).is_err());

        if other.0.kind() != license.kind() {
            prop_assert!(validate_amendment(&license, &other.0).is_err());
        }
    }
}
