//! The conformance suite: every test runs against both engines.

mod common;

use common::*;
use std::collections::BTreeMap;
use tally_model::{
    AuthorityId, Body, Direction, EntryHash, LicenseKind, SUITE, Sealed, Stanza, Status,
    VerifiedEntry,
};
use tally_store::engine::{self, Op};
use tally_store::{EngineKind, Evidence, Store, StoreError, keys};
use tempfile::TempDir;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sled {
            $( #[test] fn $name() { super::$name(tally_store::EngineKind::Sled) } )*
        }
        mod redb {
            $( #[test] fn $name() { super::$name(tally_store::EngineKind::Redb) } )*
        }
    };
}

conformance!(
    append_and_read,
    refusals_change_nothing,
    a_batch_is_atomic,
    license_lifecycle,
    transit_links,
    shipments_tallies_and_serials,
    trace_index_finds_serials_by_bucket,
    key_rotation_and_sealed,
    derived_state_ignores_arrival_order,
    reindex_equals_incremental,
    interrupted_reindex_finishes_on_open,
    schema_version_mismatch,
    schema_2_migrates_by_reindex,
    schema_3_migrates_by_reindex,
    schema_4_migrates_by_reindex,
    schema_8_migrates_by_reindex,
    wrong_engine_directory,
    reopen_keeps_everything,
    evidence_and_alerts,
    corrupt_values_are_errors,
    engine_scans,
    concurrent_appends_and_reads,
);

fn fresh(kind: EngineKind) -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), kind).expect("opens");
    (dir, store)
}

fn id(s: &str) -> AuthorityId {
    s.parse().expect("authority id")
}

fn append_all(store: &Store, entries: &[VerifiedEntry]) {
    for e in entries {
        store.append(e).expect("appends");
    }
}

/// Logs of four authorities whose derived state crosses logs: shipments and
/// transits refer to US licenses, two recorders cross the same serial.
fn scenario() -> BTreeMap<&'static str, Vec<VerifiedEntry>> {
    let exp1 = doc_ref("US-DDTC", "EXP-1");
    let mut us = Log::new("US-DDTC", 1);
    let mut mx = Log::new("MX-SEDENA", 2);
    let mut ad = Log::new("MX-ADUANA", 3);
    let mut gt = Log::new("GT-DIGECAM", 4);
    let mut out = BTreeMap::new();
    out.insert(
        "US-DDTC",
        vec![
            us.next(export("EXP-1", 100, &["S1", "S2", "S3"])),
            us.next(export("EXP-2", 50, &[])),
            us.next(amend(2, export_license("EXP-1", 80, &["S1", "S2", "S3"]))),
            us.next(status("EXP-2", Status::Suspended, "inquiry")),
            us.next(shipment(
                exp1.clone(),
                Direction::Exit,
                "US",
                &[(1, 10, &["S1", "S2"])],
                true,
            )),
            us.next(rotation(9)),
        ],
    );
    out.insert(
        "MX-SEDENA",
        vec![
            mx.next(import("IC-1")),
            mx.next_at(
                T0 + 50_000,
                shipment(
                    exp1.clone(),
                    Direction::Entry,
                    "MX",
                    &[(1, 10, &["S1"])],
                    true,
                ),
            ),
            mx.next_at(
                T0 + 60_000,
                shipment(
                    exp1.clone(),
                    Direction::Entry,
                    "MX",
                    &[(1, 99, &["S3"])],
                    false,
                ),
            ),
        ],
    );
    // Recorded earlier than MX-SEDENA's crossing of S1, appended later in some orders.
    out.insert(
        "MX-ADUANA",
        vec![ad.next_at(
            T0 + 40_000,
            shipment(
                exp1.clone(),
                Direction::Entry,
                "MX",
                &[(1, 4, &["S1", "S2"]), (2, 7, &[])],
                true,
            ),
        )],
    );
    out.insert(
        "GT-DIGECAM",
        vec![
            gt.next(transit("TR-1", exp1.clone())),
            gt.next(shipment(
                exp1,
                Direction::Transit,
                "GT",
                &[(1, 10, &["S1"])],
                true,
            )),
        ],
    );
    out
}

fn append_and_read(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    let mut mx = Log::new("MX-SEDENA", 2);
    let a: Vec<_> = (1..=3)
        .map(|n| us.next(export(&format!("EXP-{n}"), 10, &[])))
        .collect();
    let b = vec![mx.next(import("IC-1")), mx.next(import("IC-2"))];
    append_all(&store, &a);
    append_all(&store, &b);

    assert_eq!(
        store.head(&id("US-DDTC")).expect("head"),
        Some((3, a[2].id()))
    );
    assert_eq!(store.head(&id("AR-ANMAC")).expect("head"), None);
    assert_eq!(
        store.heads().expect("heads"),
        vec![
            (id("MX-SEDENA"), 2, b[1].id()),
            (id("US-DDTC"), 3, a[2].id())
        ]
    );
    let held = store
        .entry_at(&id("US-DDTC"), 2)
        .expect("read")
        .expect("held");
    assert_eq!(
        held.encode(),
        a[1].signed().encode(),
        "stored exactly as received"
    );
    assert_eq!(held.entry_bytes(), a[1].signed().entry_bytes());
    assert_eq!(store.entry_at(&id("US-DDTC"), 4).expect("read"), None);
    assert_eq!(store.entry_at(&id("US-DDTC"), 0).expect("read"), None);

    let r = store.range(&id("US-DDTC"), 2, 10).expect("range");
    assert_eq!(
        r.iter().map(|s| s.id()).collect::<Vec<_>>(),
        vec![a[1].id(), a[2].id()]
    );
    assert_eq!(store.range(&id("US-DDTC"), 1, 1).expect("range").len(), 1);
    assert!(
        store
            .range(&id("US-DDTC"), 4, 10)
            .expect("range")
            .is_empty()
    );
    assert!(
        store.range(&id("US-DD"), 1, 10).expect("range").is_empty(),
        "no prefix bleed"
    );

    assert_eq!(
        store.by_hash(&b[0].id()).expect("by hash"),
        Some((id("MX-SEDENA"), 1))
    );
    assert_eq!(store.by_hash(&EntryHash([0; 32])).expect("by hash"), None);
    assert_eq!(store.entry_count().expect("count"), 5);
    assert!(store.disk_bytes().expect("disk") > 0);
    let keys = BTreeMap::from([("US-DDTC".to_string(), 1), ("MX-SEDENA".to_string(), 2)]);
    assert_eq!(verify_chains(&store, &keys), 5);
}

fn refusals_change_nothing(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    let first = us.next(export("EXP-1", 10, &["A"]));
    let second = us.next(export("EXP-2", 10, &[]));
    append_all(&store, &[first.clone(), second.clone()]);
    let digest = store.derived_digest().expect("digest");
    let heads = store.heads().expect("heads");

    let doc = || {
        shipment(
            doc_ref("US-DDTC", "EXP-1"),
            Direction::Exit,
            "US",
            &[(1, 1, &["A"])],
            true,
        )
    };
    let cases = [
        ("duplicate", first.clone(), 3, 1),
        (
            "replay of seq 1 with other bytes",
            us.forged(1, None, doc()),
            3,
            1,
        ),
        ("gap", us.forged(4, Some(second.id()), doc()), 3, 4),
        ("wrong prev", us.forged(3, Some(first.id()), doc()), 3, 3),
        ("no prev", us.forged(3, None, doc()), 3, 3),
        (
            "new log not at 1",
            Log::new("MX-SEDENA", 2).forged(2, Some(first.id()), doc()),
            1,
            2,
        ),
        (
            "new log at 1 with prev",
            Log::new("MX-SEDENA", 2).forged(1, Some(first.id()), doc()),
            1,
            1,
        ),
    ];
    for (name, entry, expected, got) in cases {
        match store.append(&entry) {
            Err(StoreError::NotNext {
                authority,
                expected: e,
                got: g,
            }) => {
                assert_eq!((e, g), (expected, got), "{name}");
                assert_eq!(authority, entry.entry().authority.as_str(), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(store.heads().expect("heads"), heads, "{name}");
        assert_eq!(store.derived_digest().expect("digest"), digest, "{name}");
        assert_eq!(
            store.by_hash(&entry.id()).expect("by hash").is_some(),
            name == "duplicate"
        );
    }
    let msg = store
        .append(&us.forged(9, Some(second.id()), doc()))
        .expect_err("gap")
        .to_string();
    assert!(
        msg.contains("US-DDTC") && msg.contains("expected seq 3"),
        "{msg}"
    );
    assert_eq!(store.entry_count().expect("count"), 2);
}

fn a_batch_is_atomic(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    let mut mx = Log::new("MX-SEDENA", 2);
    let exp1 = doc_ref("US-DDTC", "EXP-1");
    let u1 = us.next(export("EXP-1", 10, &["A"]));
    let m1 = mx.next(shipment(
        exp1.clone(),
        Direction::Entry,
        "MX",
        &[(1, 2, &["A"])],
        true,
    ));
    let u2 = us.next(status("EXP-1", Status::Revoked, "diversion"));
    let m2 = mx.next(import("IC-1"));
    let bad = us.forged(3, Some(u1.id()), import("IC-9"));

    assert!(store.append_batch(&[]).is_ok());
    let err = store
        .append_batch(&[u1.clone(), m1.clone(), u2.clone(), m2.clone(), bad])
        .expect_err("last entry is not next");
    assert!(
        matches!(
            err,
            StoreError::NotNext {
                got: 3,
                expected: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(store.heads().expect("heads").is_empty());
    assert_eq!(store.derived_digest().expect("digest").records, 0);
    assert_eq!(store.by_hash(&u1.id()).expect("by hash"), None);
    assert_eq!(store.entry_at(&id("US-DDTC"), 1).expect("read"), None);

    // Out of order inside the batch is refused too.
    assert!(store.append_batch(&[u2.clone(), u1.clone()]).is_err());
    assert!(store.heads().expect("heads").is_empty());

    store
        .append_batch(&[u1.clone(), m1, u2.clone(), m2.clone()])
        .expect("interleaved chains in one batch");
    assert_eq!(
        store.head(&id("US-DDTC")).expect("head"),
        Some((2, u2.id()))
    );
    assert_eq!(
        store.head(&id("MX-SEDENA")).expect("head"),
        Some((2, m2.id()))
    );
    let lic = store
        .license(&id("US-DDTC"), "EXP-1")
        .expect("read")
        .expect("issued");
    assert_eq!(
        lic.status,
        Status::Revoked,
        "derived from an earlier entry of the same batch"
    );
    assert_eq!(store.recorded_tallies(&exp1).expect("tallies").len(), 1);
}

fn license_lifecycle(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    let issued = us.next(export("EXP-1", 100, &["S1"]));
    append_all(&store, std::slice::from_ref(&issued));
    let us_id = id("US-DDTC");
    let lic = store
        .license(&us_id, "EXP-1")
        .expect("read")
        .expect("issued");
    assert_eq!(
        (lic.kind, lic.status, lic.version),
        (LicenseKind::Export, Status::Active, 1)
    );
    assert_eq!(lic.document, export_license("EXP-1", 100, &["S1"]));
    assert_eq!(lic.signed_by, hex::encode(us.key.public().as_bytes()));
    assert_eq!((lic.entry.seq, lic.entry.hash), (1, issued.id()));
    assert_eq!(lic.issued_at_ms, issued.entry().issued_at_ms);
    assert_eq!(lic.reference(), doc_ref("US-DDTC", "EXP-1"));

    let amended = export_license("EXP-1", 60, &["S1"]);
    append_all(
        &store,
        &[
            us.next(amend(2, amended.clone())),
            us.next(status("EXP-1", Status::Suspended, "inquiry")),
            us.next(status("EXP-1", Status::Active, "cleared")),
            // A stale version changes nothing.
            us.next(amend(2, export_license("EXP-1", 1, &[]))),
            us.next(status("EXP-1", Status::Revoked, "diversion")),
            us.next(status("EXP-404", Status::Revoked, "unknown license")),
            us.next(import_for("IC-7", "US", "MX")),
        ],
    );
    let lic = store
        .license(&us_id, "EXP-1")
        .expect("read")
        .expect("issued");
    assert_eq!((lic.status, lic.version), (Status::Revoked, 2));
    assert_eq!(lic.document, amended);
    let events: Vec<_> = lic
        .history
        .iter()
        .map(|e| {
            (
                e.event.as_str(),
                e.version,
                e.reason.as_deref(),
                e.entry.seq,
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("issued", 1, None, 1),
            ("amended", 2, None, 2),
            ("suspended", 2, Some("inquiry"), 3),
            ("active", 2, Some("cleared"), 4),
            ("revoked", 2, Some("diversion"), 6),
        ]
    );
    assert_eq!(store.license(&us_id, "EXP-404").expect("read"), None);
    let listed: Vec<_> = store
        .licenses_of(&us_id, 10)
        .expect("list")
        .into_iter()
        .map(|l| (l.number, l.kind))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("EXP-1".into(), LicenseKind::Export),
            ("IC-7".into(), LicenseKind::Import)
        ]
    );
    assert_eq!(store.licenses_of(&us_id, 1).expect("list").len(), 1);
    assert!(
        store
            .licenses_of(&id("MX-SEDENA"), 10)
            .expect("list")
            .is_empty()
    );
}

fn transit_links(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let exp1 = doc_ref("US-DDTC", "EXP-1");
    let mut gt = Log::new("GT-DIGECAM", 4);
    let mut pa = Log::new("PA-MINSEG", 5);
    // The transit authorizations arrive before the export license they cover.
    append_all(
        &store,
        &[
            gt.next(transit("TR-1", exp1.clone())),
            gt.next(transit("TR-2", doc_ref("US-DDTC", "EXP-2"))),
        ],
    );
    append_all(&store, &[pa.next(transit_in("PA-9", "PA", exp1.clone()))]);
    append_all(
        &store,
        &[Log::new("US-DDTC", 1).next(export("EXP-1", 5, &[]))],
    );
    let got: Vec<_> = store
        .transits_for(&exp1)
        .expect("transits")
        .into_iter()
        .map(|t| (t.authority.to_string(), t.number, t.kind))
        .collect();
    assert_eq!(
        got,
        vec![
            ("GT-DIGECAM".into(), "TR-1".into(), LicenseKind::Transit),
            ("PA-MINSEG".into(), "PA-9".into(), LicenseKind::Transit)
        ]
    );
    assert!(
        store
            .transits_for(&doc_ref("US-DDTC", "EXP-3"))
            .expect("transits")
            .is_empty()
    );
    assert!(
        store
            .transits_for(&doc_ref("US-DDTC", "EXP"))
            .expect("transits")
            .is_empty()
    );
    // A suspended transit is still listed, with its status.
    append_all(
        &store,
        &[gt.next(status("TR-1", Status::Suspended, "border closed"))],
    );
    let t = store.transits_for(&exp1).expect("transits");
    assert_eq!(t[0].status, Status::Suspended);
}

/// The trace index holds serial buckets (one row per run of ten): a trace
/// finds a serial through its bucket and keeps only the documents that
/// list it, and an amendment keeps the rows.
fn trace_index_finds_serials_by_bucket(kind: EngineKind) {
    let (dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    append_all(
        &store,
        &[
            us.next(export("EXP-1", 100, &["ab-100", "AB 101"])),
            us.next(export("EXP-2", 100, &["AB-105", "CD-200"])),
            us.next(export("A-0", 100, &["ZZ-1"])),
        ],
    );
    let traced = |store: &Store, serial: &str| -> Vec<(String, u32)> {
        store
            .trace("Acme", serial)
            .expect("traces")
            .into_iter()
            .map(|r| (r.license.number, r.line))
            .collect()
    };
    let exp = |n: &str| vec![(n.to_string(), 1)];
    assert_eq!(traced(&store, "AB100"), exp("EXP-1"));
    assert_eq!(traced(&store, "ab-101"), exp("EXP-1"));
    assert_eq!(traced(&store, "AB105"), exp("EXP-2"));
    assert_eq!(traced(&store, "ZZ1"), exp("A-0"));
    assert!(traced(&store, "AB102").is_empty());
    assert!(traced(&store, "AB10").is_empty());
    // The rows under a prefix, read with the store closed.
    let rows = |store: Store, prefix: u8| {
        drop(store);
        let engine = engine::open(dir.path(), kind).expect("engine");
        let n = engine
            .scan(&[prefix], &[prefix + 1], usize::MAX)
            .expect("scan")
            .len();
        drop(engine);
        (Store::open(dir.path(), kind).expect("reopens"), n)
    };
    // Buckets AB10 for EXP-1 (two serials) and EXP-2, CD20, and Z.
    let (store, n) = rows(store, keys::LICENSED_SERIAL);
    assert_eq!(n, 4);

    // An amendment (a lower quantity: serials never change) keeps them.
    append_all(
        &store,
        &[us.next(amend(2, export_license("EXP-1", 90, &["ab-100", "AB 101"])))],
    );
    assert_eq!(traced(&store, "AB100"), exp("EXP-1"));
    let (_store, n) = rows(store, keys::LICENSED_SERIAL);
    assert_eq!(n, 4);
}

fn shipments_tallies_and_serials(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let exp1 = doc_ref("US-DDTC", "EXP-1");
    let mut us = Log::new("US-DDTC", 1);
    let mut mx = Log::new("MX-SEDENA", 2);
    let mut gt = Log::new("GT-DIGECAM", 4);
    append_all(
        &store,
        &[us.next(export("EXP-1", 100, &["S1", "S2", "S3"]))],
    );
    append_all(
        &store,
        &[us.next_at(
            T0 + 10_000,
            shipment(
                exp1.clone(),
                Direction::Exit,
                "US",
                &[(1, 10, &["S1", "S2"]), (2, 100, &[])],
                true,
            ),
        )],
    );
    append_all(
        &store,
        &[gt.next_at(
            T0 + 20_000,
            shipment(
                exp1.clone(),
                Direction::Transit,
                "GT",
                &[(1, 10, &["S1", "S2"])],
                true,
            ),
        )],
    );
    append_all(
        &store,
        &[mx.next_at(
            T0 + 30_000,
            shipment(
                exp1.clone(),
                Direction::Entry,
                "MX",
                &[(1, 10, &["S1"])],
                true,
            ),
        )],
    );
    append_all(
        &store,
        &[mx.next_at(
            T0 + 40_000,
            shipment(
                exp1.clone(),
                Direction::Entry,
                "MX",
                &[(1, 50, &["S3"])],
                false,
            ),
        )],
    );
    append_all(
        &store,
        &[mx.next_at(
            T0 + 50_000,
            shipment(
                exp1.clone(),
                Direction::Entry,
                "MX",
                &[(1, 5, &["S1", "S2"])],
                true,
            ),
        )],
    );

    let tallies: Vec<_> = store
        .recorded_tallies(&exp1)
        .expect("tallies")
        .into_iter()
        .map(|t| (t.line, t.direction, t.country, t.quantity, t.shipments))
        .collect();
    assert_eq!(
        tallies,
        vec![
            (1, Direction::Exit, "US".into(), 10, 1),
            (1, Direction::Transit, "GT".into(), 10, 1),
            (1, Direction::Entry, "MX".into(), 15, 2),
            (2, Direction::Exit, "US".into(), 100, 1),
        ],
        "the rejected record counts nowhere"
    );
    assert!(
        store
            .recorded_tallies(&doc_ref("US-DDTC", "EXP-2"))
            .expect("tallies")
            .is_empty()
    );

    let used = |d, c: &str, s: &str| {
        store
            .serial_use(&exp1, d, c, s)
            .expect("serial")
            .map(|u| (u.recorded_by.to_string(), u.seq, u.recorded_at_ms))
    };
    assert_eq!(
        used(Direction::Entry, "MX", "S1"),
        Some(("MX-SEDENA".into(), 1, T0 + 30_000)),
        "first use wins"
    );
    assert_eq!(
        used(Direction::Entry, "MX", "S2"),
        Some(("MX-SEDENA".into(), 3, T0 + 50_000))
    );
    assert_eq!(
        used(Direction::Entry, "GT", "S1"),
        None,
        "uses are kept per recording country"
    );
    assert_eq!(
        used(Direction::Entry, "MX", "S3"),
        None,
        "rejected records use no serial"
    );
    assert_eq!(
        used(Direction::Exit, "US", "S1"),
        Some(("US-DDTC".into(), 2, T0 + 10_000))
    );
    assert_eq!(
        used(Direction::Transit, "GT", "S2"),
        Some(("GT-DIGECAM".into(), 1, T0 + 20_000))
    );
    assert_eq!(used(Direction::Transit, "PA", "S2"), None);
    let date = store
        .serial_use(&exp1, Direction::Exit, "US", "S1")
        .expect("serial")
        .expect("used")
        .date;
    assert_eq!(date, "2026-11-15");

    let rows = store.shipments(&exp1).expect("shipments");
    let order: Vec<_> = rows
        .iter()
        .map(|r| (r.recorded_by.to_string(), r.seq, r.verdict.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("US-DDTC".into(), 2, "accept"),
            ("GT-DIGECAM".into(), 1, "accept"),
            ("MX-SEDENA".into(), 1, "accept"),
            ("MX-SEDENA".into(), 2, "reject"),
            ("MX-SEDENA".into(), 3, "accept"),
        ],
        "oldest first, rejected ones listed"
    );
    assert_eq!(rows[0].checkpoint.direction, Direction::Exit);
    assert_eq!(rows[0].items.len(), 2);
    assert_eq!(rows[0].license, exp1);

    let license = store
        .license(&id("US-DDTC"), "EXP-1")
        .expect("read")
        .expect("issued");
    let n = |d, c| store.accepted_shipments(&license, d, c).expect("count");
    assert_eq!(n(Direction::Entry, "MX"), 2);
    assert_eq!(
        n(Direction::Entry, "GT"),
        0,
        "off the route: counts nothing"
    );
    assert_eq!(n(Direction::Transit, "GT"), 1);
    assert_eq!(n(Direction::Exit, "US"), 1);
}

fn key_rotation_and_sealed(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    let r = vec![
        us.next(export("EXP-1", 1, &[])),
        us.next(rotation(7)),
        us.next(rotation(8)),
    ];
    append_all(&store, &r);
    let keys = store.rotated_keys(&id("US-DDTC")).expect("keys");
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0].public_key,
        hex::encode(
            tally_model::AuthorityKey::from_bytes(&[7; 32])
                .public()
                .as_bytes()
        )
    );
    assert_eq!(keys[0].valid_from_ms, T0 + 3_600_000);
    assert_eq!((keys[0].entry.seq, keys[0].entry.hash), (2, r[1].id()));
    assert_eq!(keys[1].entry.seq, 3);
    assert!(
        store
            .rotated_keys(&id("MX-SEDENA"))
            .expect("keys")
            .is_empty()
    );

    let before = store.derived_digest().expect("digest");
    // Structurally valid; the store never opens it.
    let body = Sealed {
        suite: SUITE.to_string(),
        commitment: [3; 32],
        ciphertext: vec![1, 2, 3],
        stanzas: vec![
            Stanza {
                tag: [4; 16],
                wrapped: vec![5; 72],
            };
            4
        ],
    };
    let sealed = us.next_body(T0, Body::Sealed(body));
    store.append(&sealed).expect("sealed entries are stored");
    assert_eq!(
        store.derived_digest().expect("digest").records,
        before.records,
        "a sealed body derives nothing (only its log's applied mark moves)"
    );
    assert_eq!(store.applied_through(&id("US-DDTC")).expect("mark"), 4);
    assert_eq!(
        store
            .entry_at(&id("US-DDTC"), 4)
            .expect("read")
            .map(|s| s.id()),
        Some(sealed.id())
    );
}

fn derived_state_ignores_arrival_order(kind: EngineKind) {
    let logs = scenario();
    let (_a_dir, a) = fresh(kind);
    for entries in logs.values() {
        append_all(&a, entries);
    }
    let (_b_dir, b) = fresh(kind);
    for entries in logs.values().rev() {
        b.append_batch(entries).expect("batch");
    }
    // Round robin, one entry of each log in turn.
    let (_c_dir, c) = fresh(kind);
    let longest = logs.values().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for entries in logs.values() {
            if let Some(e) = entries.get(i) {
                c.append(e).expect("appends");
            }
        }
    }
    let digest = a.derived_digest().expect("digest");
    assert!(digest.records > 10, "{digest:?}");
    assert_eq!(b.derived_digest().expect("digest"), digest);
    assert_eq!(c.derived_digest().expect("digest"), digest);
    let exp1 = doc_ref("US-DDTC", "EXP-1");
    for s in [&a, &b, &c] {
        let u = s
            .serial_use(&exp1, Direction::Entry, "MX", "S1")
            .expect("serial")
            .expect("used");
        assert_eq!(
            u.recorded_by.as_str(),
            "MX-ADUANA",
            "earliest recorded, not first arrived"
        );
        assert_eq!(
            s.recorded_tallies(&exp1).expect("tallies"),
            a.recorded_tallies(&exp1).expect("tallies")
        );
    }
}

fn reindex_equals_incremental(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    for entries in scenario().values() {
        append_all(&store, entries);
    }
    // Continue the scenario's logs with scripted entries.
    let mut gen_logs = [
        resume("US-DDTC", 1, &store),
        resume("GT-DIGECAM", 4, &store),
        resume("MX-SEDENA", 2, &store),
    ];
    for _ in 0..40 {
        for log in &mut gen_logs {
            let doc = scripted(log.authority.as_str(), log.seq + 1);
            store.append(&log.next(doc)).expect("appends");
        }
    }
    let incremental = store.derived_digest().expect("digest");
    let report = store.reindex().expect("reindex");
    assert_eq!(report.entries, store.entry_count().expect("count"));
    assert_eq!(report.authorities, 4);
    assert_eq!(report.deleted, incremental.records);
    assert_eq!(store.derived_digest().expect("digest"), incremental);
    store.reindex().expect("again");
    assert_eq!(store.derived_digest().expect("digest"), incremental);
}

fn interrupted_reindex_finishes_on_open(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    let digest = {
        let store = Store::open(dir.path(), kind).expect("opens");
        for entries in scenario().values() {
            append_all(&store, entries);
        }
        store.derived_digest().expect("digest")
    };
    {
        // What a crash in the middle of a reindex leaves: the marker, and
        // derived records half deleted.
        let engine = engine::open(dir.path(), kind).expect("engine");
        let some = engine
            .scan(&[keys::TALLY], &[keys::TALLY + 1], 2)
            .expect("scan");
        let mut batch: Vec<Op> = some.into_iter().map(|(k, _)| Op::Delete(k)).collect();
        batch.push(Op::Put(keys::REINDEX_KEY.to_vec(), b"1".to_vec()));
        engine.commit(batch).expect("commit");
    }
    let store = Store::open(dir.path(), kind).expect("reopens");
    assert_eq!(store.derived_digest().expect("digest"), digest);
    drop(store);
    let engine = engine::open(dir.path(), kind).expect("engine");
    assert_eq!(engine.get(keys::REINDEX_KEY).expect("get"), None);
}

fn schema_version_mismatch(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(Store::open(dir.path(), kind).expect("creates"));
    let current = keys::SCHEMA_VERSION;
    let other = current + 1;
    {
        let engine = engine::open(dir.path(), kind).expect("engine");
        assert_eq!(
            engine.get(keys::SCHEMA_KEY).expect("get"),
            Some(current.to_string().into_bytes())
        );
        engine
            .commit(vec![Op::Put(
                keys::SCHEMA_KEY.to_vec(),
                other.to_string().into_bytes(),
            )])
            .expect("commit");
    }
    let err = Store::open(dir.path(), kind).expect_err("other schema");
    assert!(
        matches!(err, StoreError::SchemaMismatch { expected, .. } if expected == current),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&format!("schema version {other}")), "{msg}");
    assert!(msg.contains(&format!("schema version {current}")), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");

    // Records without any schema key are refused too, not silently adopted.
    let bare = tempfile::tempdir().expect("temp dir");
    drop(Store::open(bare.path(), kind).expect("creates"));
    {
        let engine = engine::open(bare.path(), kind).expect("engine");
        engine
            .commit(vec![
                Op::Delete(keys::SCHEMA_KEY.to_vec()),
                Op::Put(b"Zstray".to_vec(), vec![]),
            ])
            .expect("commit");
    }
    let err = Store::open(bare.path(), kind).expect_err("no schema");
    assert!(err.to_string().contains("schema version none"), "{err}");
}

/// A store written by the previous schema (derived records in the old
/// layout) opens, is rebuilt from its logs, and then equals a fresh build.
fn schema_2_migrates_by_reindex(kind: EngineKind) {
    // What schema 2 held: serial uses keyed without the country for exit
    // and entry, no applied marks, no alerts.
    migrates_from(kind, b"2", &[b"Rold layout"], &[keys::APPLIED, keys::ALERT]);
}

/// A store of schema 3 (no exits by date, no serial index across licenses)
/// opens, is rebuilt from its logs, and then equals a fresh build.
fn schema_3_migrates_by_reindex(kind: EngineKind) {
    migrates_from(kind, b"3", &[], &[keys::EXIT_DATE, keys::SERIAL_INDEX]);
}

/// A store of schema 4 (license records in JSON) opens, is rebuilt from its
/// logs, and then equals a fresh build: the JSON stand-ins under every
/// license key are replaced, not read.
fn schema_4_migrates_by_reindex(kind: EngineKind) {
    let json = [
        keys::license("US-DDTC", "EXP-1"),
        keys::license("US-DDTC", "EXP-2"),
        keys::license("MX-SEDENA", "IC-1"),
        keys::license("GT-DIGECAM", "TR-1"),
    ];
    let stale: Vec<&[u8]> = json.iter().map(Vec::as_slice).collect();
    migrates_from(kind, b"4", &stale, &[]);
}

/// A store of schema 8 (the rows of recorded serials in JSON) opens, is
/// rebuilt from its logs, and then equals a fresh build: every `R` and `Q`
/// row, each replaced by a JSON stand-in, is written again.
fn schema_8_migrates_by_reindex(kind: EngineKind) {
    let (built, store) = fresh(kind);
    for entries in scenario().values() {
        store.append_batch(entries).expect("batch");
    }
    drop(store);
    let engine = engine::open(built.path(), kind).expect("engine");
    let mut rows = Vec::new();
    for prefix in [keys::SERIAL, keys::SERIAL_INDEX] {
        let held = engine
            .scan(&[prefix], &keys::prefix_end(&[prefix]), usize::MAX)
            .expect("scan");
        assert!(!held.is_empty(), "the scenario records serials");
        rows.extend(held.into_iter().map(|(k, _)| k));
    }
    let stale: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
    migrates_from(kind, b"8", &stale, &[]);
}

/// Builds the scenario, rewrites the store to look like schema `version`
/// (`stale` rows added, every row under `missing` prefixes removed), and
/// checks that opening it migrates by a reindex to the same derived state,
/// at this build's schema, with no reindex left pending.
fn migrates_from(kind: EngineKind, version: &[u8], stale: &[&[u8]], missing: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = scenario();
    let digest = {
        let store = Store::open(dir.path(), kind).expect("creates");
        for entries in logs.values() {
            store.append_batch(entries).expect("batch");
        }
        store.derived_digest().expect("digest")
    };
    {
        let engine = engine::open(dir.path(), kind).expect("engine");
        let mut ops = vec![Op::Put(keys::SCHEMA_KEY.to_vec(), version.to_vec())];
        ops.extend(stale.iter().map(|k| Op::Put(k.to_vec(), b"{}".to_vec())));
        for &prefix in missing {
            for (k, _) in engine
                .scan(&[prefix], &keys::prefix_end(&[prefix]), usize::MAX)
                .expect("scan")
            {
                ops.push(Op::Delete(k));
            }
        }
        engine.commit(ops).expect("commit");
    }
    let store = Store::open(dir.path(), kind).expect("migrates");
    assert_eq!(store.derived_digest().expect("digest"), digest);
    drop(store);
    let engine = engine::open(dir.path(), kind).expect("engine");
    assert_eq!(
        engine.get(keys::SCHEMA_KEY).expect("get"),
        Some(keys::SCHEMA_VERSION.to_string().into_bytes())
    );
    assert_eq!(engine.get(keys::REINDEX_KEY).expect("get"), None);
}

fn wrong_engine_directory(kind: EngineKind) {
    let other = match kind {
        EngineKind::Sled => EngineKind::Redb,
        EngineKind::Redb => EngineKind::Sled,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), kind).expect("creates");
    store
        .append(&Log::new("US-DDTC", 1).next(import("IC-1")))
        .expect("appends");
    drop(store);

    let err = Store::open(dir.path(), other).expect_err("wrong engine");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::WrongEngine { .. }), "{err:?}");
    assert!(
        msg.contains(&format!("created by the {kind} engine")),
        "{msg}"
    );
    assert!(msg.contains(&format!("asks for {other}")), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    assert!(
        !engine::files_exist(dir.path(), other),
        "the refused engine created nothing"
    );

    // Without the marker, the other engine's files still give it away.
    std::fs::remove_file(dir.path().join(engine::ENGINE_MARKER)).expect("rm marker");
    let err = Store::open(dir.path(), other).expect_err("wrong engine");
    assert!(matches!(err, StoreError::WrongEngine { .. }), "{err:?}");
    let store = Store::open(dir.path(), kind).expect("right engine, marker rewritten");
    assert_eq!(store.entry_count().expect("count"), 1);
    drop(store);

    std::fs::write(dir.path().join(engine::ENGINE_MARKER), "leveldb\n").expect("write");
    let err = Store::open(dir.path(), kind).expect_err("unknown marker");
    assert!(err.to_string().contains("leveldb"), "{err}");
}

fn reopen_keeps_everything(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = scenario();
    let evidence = Evidence {
        authority: id("US-DDTC"),
        seq: 1,
        entries: [
            Log::new("US-DDTC", 1)
                .next(import("IC-X"))
                .signed()
                .encode(),
            Log::new("US-DDTC", 1)
                .next(import("IC-Y"))
                .signed()
                .encode(),
        ],
    };
    let (digest, heads) = {
        let store = Store::open(dir.path(), kind).expect("opens");
        for entries in logs.values() {
            store.append_batch(entries).expect("batch");
        }
        store.put_evidence(&evidence).expect("evidence");
        (
            store.derived_digest().expect("digest"),
            store.heads().expect("heads"),
        )
    };
    let store = Store::open(dir.path(), kind).expect("reopens");
    assert_eq!(store.heads().expect("heads"), heads);
    assert_eq!(store.derived_digest().expect("digest"), digest);
    assert_eq!(store.evidence().expect("evidence"), vec![evidence]);
    let alerts = store.alerts().expect("alerts");
    assert_eq!(
        alerts.len(),
        3,
        "the fork, the refused crossing, more entering than exiting: {alerts:?}"
    );
    for (authority, entries) in &logs {
        let held = store.range(&id(authority), 1, 100).expect("range");
        let want: Vec<_> = entries.iter().map(|e| e.signed().clone()).collect();
        assert_eq!(held, want, "{authority}");
    }
    let keys = BTreeMap::from([
        ("US-DDTC".to_string(), 1),
        ("MX-SEDENA".to_string(), 2),
        ("MX-ADUANA".to_string(), 3),
        ("GT-DIGECAM".to_string(), 4),
    ]);
    assert_eq!(verify_chains(&store, &keys), 12);
}

fn evidence_and_alerts(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let mut us = Log::new("US-DDTC", 1);
    let a = us.next(import("IC-1"));
    let b = Log::new("US-DDTC", 1).next(import("IC-2"));
    let c = Log::new("US-DDTC", 1).next(import("IC-3"));
    let proof = |x: &VerifiedEntry, y: &VerifiedEntry| Evidence {
        authority: id("US-DDTC"),
        seq: 1,
        entries: [x.signed().encode(), y.signed().encode()],
    };
    assert!(store.put_evidence(&proof(&a, &b)).expect("put"), "new");
    assert!(!store.put_evidence(&proof(&a, &b)).expect("put again"));
    assert_eq!(
        store.evidence().expect("list"),
        vec![proof(&a, &b)],
        "idempotent"
    );
    store.put_evidence(&proof(&a, &c)).expect("put");
    assert_eq!(store.evidence().expect("list").len(), 2);

    let alerts = store.alerts().expect("alerts");
    assert_eq!(alerts.len(), 1, "one fork, one alert: {alerts:?}");
    assert_eq!(alerts[0].id, "equivocation:-:US-DDTC:1");
    assert!(alerts[0].open);
    store.reindex().expect("reindex");
    assert_eq!(
        store.alerts().expect("alerts"),
        alerts,
        "rebuilt by reindex"
    );
}

fn corrupt_values_are_errors(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(dir.path(), kind).expect("opens");
        let mut us = Log::new("US-DDTC", 1);
        append_all(
            &store,
            &[us.next(export("EXP-1", 1, &[])), us.next(import("IC-1"))],
        );
    }
    {
        let engine = engine::open(dir.path(), kind).expect("engine");
        engine
            .commit(vec![
                Op::Put(keys::log("US-DDTC", 1), b"\xff\xfe garbage".to_vec()),
                Op::Put(
                    keys::license("US-DDTC", "EXP-1"),
                    b"{\"not\": \"a state\"}".to_vec(),
                ),
                Op::Put(keys::alert("t"), vec![0xff]),
            ])
            .expect("commit");
    }
    let store = Store::open(dir.path(), kind).expect("opens: heads still agree");
    let us = id("US-DDTC");
    assert!(matches!(
        store.entry_at(&us, 1),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.range(&us, 1, 10),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(store.entry_at(&us, 2).expect("intact entry").is_some());
    assert!(matches!(
        store.license(&us, "EXP-1"),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        store.licenses_of(&us, 10),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(store.alerts(), Err(StoreError::Corrupt { .. })));
    let err = store.reindex().expect_err("cannot replay a corrupt log");
    assert!(err.to_string().contains("US-DDTC"), "{err}");
    drop(store);

    {
        let engine = engine::open(dir.path(), kind).expect("engine");
        engine
            .commit(vec![Op::Put(keys::head("US-DDTC"), vec![1, 2, 3])])
            .expect("commit");
    }
    let err = Store::open(dir.path(), kind).expect_err("corrupt head");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    {
        let engine = engine::open(dir.path(), kind).expect("engine");
        let mut head = 7u64.to_be_bytes().to_vec();
        head.extend_from_slice(&[0; 32]);
        engine
            .commit(vec![Op::Put(keys::head("US-DDTC"), head)])
            .expect("commit");
    }
    let err = Store::open(dir.path(), kind).expect_err("head past the log");
    assert!(err.to_string().contains("head 7"), "{err}");
}

fn engine_scans(kind: EngineKind) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = engine::open(dir.path(), kind).expect("engine");
    assert_eq!(engine.kind(), kind);
    let put = |k: &str| Op::Put(k.as_bytes().to_vec(), k.to_uppercase().into_bytes());
    engine
        .commit(vec![put("a1"), put("a2"), put("a3"), put("b1"), put("a0")])
        .expect("commit");
    let keys_of = |rows: Vec<(Vec<u8>, Vec<u8>)>| {
        rows.into_iter()
            .map(|(k, _)| String::from_utf8(k).expect("utf8"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys_of(engine.scan(b"a", b"b", 100).expect("scan")),
        ["a0", "a1", "a2", "a3"]
    );
    assert_eq!(
        keys_of(engine.scan(b"a1", b"a3", 100).expect("scan")),
        ["a1", "a2"],
        "end is exclusive"
    );
    assert_eq!(
        keys_of(engine.scan(b"a", b"b", 2).expect("scan")),
        ["a0", "a1"]
    );
    assert_eq!(
        keys_of(engine.scan_rev(b"a", b"b", 2).expect("scan")),
        ["a3", "a2"]
    );
    assert!(engine.scan(b"b", b"a", 10).expect("empty range").is_empty());
    assert!(
        engine
            .scan_rev(b"b", b"a", 10)
            .expect("empty range")
            .is_empty()
    );
    assert_eq!(engine.get(b"a2").expect("get"), Some(b"A2".to_vec()));
    engine
        .commit(vec![
            Op::Delete(b"a2".to_vec()),
            Op::Put(b"a2x".to_vec(), vec![]),
            Op::Delete(b"zz".to_vec()),
        ])
        .expect("commit");
    assert_eq!(engine.get(b"a2").expect("get"), None);
    assert_eq!(
        keys_of(engine.scan(b"a2", b"a3", 10).expect("scan")),
        ["a2x"]
    );
    engine.commit(vec![]).expect("empty batch");
}

fn concurrent_appends_and_reads(kind: EngineKind) {
    let (_dir, store) = fresh(kind);
    let names = ["US-DDTC", "MX-SEDENA", "GT-DIGECAM"];
    std::thread::scope(|s| {
        for (i, name) in names.iter().enumerate() {
            let store = store.clone();
            s.spawn(move || {
                let mut log = Log::new(name, i as u8 + 1);
                for _ in 0..15 {
                    let doc = scripted(name, log.seq + 1);
                    store.append(&log.next(doc)).expect("appends");
                }
            });
        }
        let reader = store.clone();
        s.spawn(move || {
            for _ in 0..50 {
                let heads = reader.heads().expect("heads");
                for (a, seq, hash) in heads {
                    let e = reader
                        .entry_at(&a, seq)
                        .expect("read")
                        .expect("head entry is held");
                    assert_eq!(e.id(), hash);
                }
            }
        });
    });
    assert_eq!(store.entry_count().expect("count"), 45);
    let keys = BTreeMap::from([
        ("US-DDTC".to_string(), 1),
        ("MX-SEDENA".to_string(), 2),
        ("GT-DIGECAM".to_string(), 3),
    ]);
    assert_eq!(verify_chains(&store, &keys), 45);
    let digest = store.derived_digest().expect("digest");
    store.reindex().expect("reindex");
    assert_eq!(store.derived_digest().expect("digest"), digest);
}

/// A walk over the logs told to stop stops where it is and says so: a node
/// shutting down neither waits for its whole background check nor keeps the
/// store open through it.
#[test]
fn a_chain_walk_stops_when_told() {
    let (_dir, store) = fresh(EngineKind::Redb);
    let mut us = Log::new("US-DDTC", 1);
    let entries: Vec<_> = (1..=6)
        .map(|n| us.next(export(&format!("EXP-{n}"), 10, &[])))
        .collect();
    append_all(&store, &entries);

    let full = store.check_chains(&mut |_| None, &mut |_| {});
    assert!(full.is_sound() && !full.stopped, "{full:?}");
    assert_eq!(full.entries, 6);

    let judged = std::cell::Cell::new(0u64);
    let report = store.check_chains_until(
        &mut |_| {
            judged.set(judged.get() + 1);
            None
        },
        &mut |_| {},
        &|| judged.get() >= 2,
    );
    assert!(report.stopped, "{report:?}");
    assert_eq!((report.entries, judged.get()), (2, 2), "{report:?}");
}
