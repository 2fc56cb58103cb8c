//! Derived state is a function of the set of entries held, not of the order
//! they arrived in (docs/ARCHITECTURE.md): any interleaving of the same logs,
//! delivered in batches with gaps filled later, and a reindex, give the same
//! derived records and the same alerts.

mod common;

use common::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use tally_model::{Date, Direction, Document, EnduseVerdict, License, Status, VerifiedEntry};
use tally_store::statistics::{FlowDirection, Grouping};
use tally_store::{AlertClock, EngineKind, Evidence, Statistics, StatisticsQuery, Store};
use tally_testkit::Rng;

/// Four logs that join each other: an export (amended, suspended, reinstated),
/// a revoked one, a structurally invalid document, the import certificate,
/// a transit authorization, and shipment records from every country on the
/// route, one refused and one off the route; a third export whose exit
/// carries one of the first's serials written differently (`serial.repeat`)
/// and is not verified delivered, while the first's exits are
/// (`delivery.overdue`, open and closed); a delivery revoked; Colombia's
/// denials of the buyer; two temporary exports, their returns in time, late
/// and never (`return.overdue`), and a serial leaving again after it came
/// back (no repeat) and while it was still abroad (`serial.repeat`).
fn logs() -> Vec<Vec<VerifiedEntry>> {
    let exp1 = doc_ref("US-DDTC", "EXP-1");
    let exp2 = doc_ref("US-DDTC", "EXP-2");
    let exp3 = doc_ref("US-DDTC", "EXP-3");
    let (t1, t2) = (doc_ref("US-DDTC", "EXP-T1"), doc_ref("US-DDTC", "EXP-T2"));
    let mut us = Log::new("US-DDTC", 1);
    let mut lowered = export_license("EXP-1", 100, &["S1", "S2", "S3"]);
    if let tally_model::License::Export(e) = &mut lowered {
        e.items[1].quantity = 4000;
    }
    let us_log = vec![
        us.next(export("EXP-1", 100, &["S1", "S2", "S3"])),
        us.next(shipment(
            exp1.clone(),
            Direction::Exit,
            "US",
            &[(1, 10, &["S1"])],
            true,
        )),
        us.next(amend(2, lowered)),
        us.next(status("EXP-1", Status::Suspended, "inquiry")),
        // An import certificate of Mexico signed by the US: kept, not applied.
        us.next(import("IC-US")),
        us.next(status("EXP-1", Status::Active, "cleared")),
        us.next(export("EXP-2", 5, &[])),
        us.next(status("EXP-2", Status::Revoked, "diversion")),
        // Revoked is final: kept, not applied.
        us.next(status("EXP-2", Status::Active, "again")),
        // Exits of line 2 catch up with what entered: the discrepancy closes.
        us.next_at(
            T0 + 20_000,
            shipment(exp1.clone(), Direction::Exit, "US", &[(2, 5, &[])], true),
        ),
        us.next_at(T0 + 21_000, export("EXP-3", 50, &[])),
        // EXP-1's "S1" again, as an officer wrote it: a serial repeat.
        us.next_at(
            T0 + 22_000,
            shipment(
                exp3.clone(),
                Direction::Exit,
                "US",
                &[(1, 2, &["s-1"])],
                true,
            ),
        ),
        // Three rifles leave for a competition, due back by 2026-12-20:
        // R1 comes back in time, R2 late, R3 never (`return.overdue`).
        us.next_at(
            T0 + 23_000,
            temporary_export("EXP-T1", 3, &["R1", "R2", "R3"], "2026-12-01", "2026-12-20"),
        ),
        us.next_at(
            T0 + 24_000,
            shipment(
                t1.clone(),
                Direction::Exit,
                "US",
                &[(1, 3, &["R1", "R2", "R3"])],
                true,
            ),
        ),
        us.next_at(
            T0 + 25_000,
            shipment(
                t1.clone(),
                Direction::Return,
                "US",
                &[(1, 1, &["R1"])],
                true,
            ),
        ),
        us.next_at(
            T0 + 26_000,
            shipment_on(
                "2026-12-28",
                shipment(
                    t1.clone(),
                    Direction::Return,
                    "US",
                    &[(1, 1, &["r-2"])],
                    true,
                ),
            ),
        ),
        // R1 leaves again under another temporary export: it came back, so
        // no repeat. R3, still abroad under EXP-T1, leaving again is one.
        us.next_at(
            T0 + 27_000,
            planned(temporary_export(
                "EXP-T2",
                3,
                &["R1", "R3"],
                "2027-04-30",
                "2027-05-30",
            )),
        ),
        us.next_at(
            T0 + 28_000,
            shipment(
                t2.clone(),
                Direction::Exit,
                "US",
                &[(1, 2, &["R1", "R3"])],
                true,
            ),
        ),
        // End-use requests to Mexico: EUR-1 is answered late, EUR-2 is
        // not due yet.
        us.next_at(T0 + 29_000, enduse_request("EUR-1", "EXP-1", "2026-11-01")),
        us.next_at(T0 + 30_000, enduse_request("EUR-2", "EXP-3", "2026-12-20")),
    ];
    let mut mx = Log::new("MX-SEDENA", 2);
    let mx_log = vec![
        mx.next(import("IC-1")),
        mx.next(shipment(
            exp1.clone(),
            Direction::Entry,
            "MX",
            &[(1, 4, &["S1", "S2"])],
            true,
        )),
        mx.next(shipment(
            exp1.clone(),
            Direction::Entry,
            "MX",
            &[(1, 400, &[])],
            false,
        )),
        // Mexico is not a transit country of EXP-1: off the route.
        mx.next(shipment(
            exp1.clone(),
            Direction::Transit,
            "MX",
            &[(2, 7, &[])],
            true,
        )),
        mx.next(shipment(
            exp2.clone(),
            Direction::Entry,
            "MX",
            &[(1, 1, &[])],
            true,
        )),
        // Line 2 enters before anything of it exited.
        mx.next(shipment(
            exp1.clone(),
            Direction::Entry,
            "MX",
            &[(2, 3, &[])],
            true,
        )),
        // Mexico withdraws the import certificate EXP-1 relies on.
        mx.next(status(
            "IC-1",
            Status::Suspended,
            "importer under investigation",
        )),
        // Accepted two days after EXP-2 was revoked.
        mx.next_at(
            T0 + 2 * 86_400_000,
            shipment(exp2.clone(), Direction::Entry, "MX", &[(1, 1, &[])], true),
        ),
        // EXP-1's exits are all verified delivered (after they fell due).
        mx.next_at(
            T0 + 3 * 86_400_000,
            Document::License(License::Delivery(delivery(
                "DV-1",
                exp1.clone(),
                &[(1, 10), (2, 5)],
            ))),
        ),
        // EXP-3's is too, then that verification is revoked.
        mx.next_at(
            T0 + 3 * 86_400_000 + 1,
            Document::License(License::Delivery(delivery("DV-2", exp3.clone(), &[(1, 2)]))),
        ),
        mx.next_at(
            T0 + 3 * 86_400_000 + 2,
            status("DV-2", Status::Revoked, "not the same goods"),
        ),
        // Mexico confirms EUR-1 nine days after it was due, and answers
        // EUR-2 only to take the answer back.
        mx.next_at(
            T0 + 3 * 86_400_000 + 3,
            enduse_answer("RES-1", "EUR-1", EnduseVerdict::Confirmed, "2026-12-10"),
        ),
        mx.next_at(
            T0 + 3 * 86_400_000 + 4,
            enduse_answer("RES-2", "EUR-2", EnduseVerdict::Unknown, "2026-12-21"),
        ),
        mx.next_at(
            T0 + 3 * 86_400_000 + 5,
            status("RES-2", Status::Revoked, "answered the wrong request"),
        ),
    ];
    let mut aduana = Log::new("MX-ADUANA", 3);
    let aduana_log = vec![aduana.next_at(
        T0 + 500,
        shipment(
            exp1.clone(),
            Direction::Entry,
            "MX",
            &[(1, 2, &["S2"])],
            true,
        ),
    )];
    let mut gt = Log::new("GT-DIGECAM", 4);
    let gt_log = vec![
        gt.next(transit("TR-1", exp1.clone())),
        gt.next(shipment(
            exp1.clone(),
            Direction::Transit,
            "GT",
            &[(1, 6, &["S3"])],
            true,
        )),
    ];
    // Colombia denied the sample's buyers earlier: the importer (as
    // Colombia wrote it) and the end user, that denial since withdrawn.
    let mut co = Log::new("CO-DCAM", 5);
    let co_log = vec![
        co.next(Document::License(denial(
            "DEN-1",
            "CO",
            "IMPORTADORA DEL NORTE, S.A.",
            "2026-06-01",
        ))),
        co.next(Document::License(denial(
            "DEN-2",
            "CO",
            "Policía Estatal",
            "2026-07-01",
        ))),
        co.next(status("DEN-2", Status::Revoked, "entered in error")),
    ];
    vec![us_log, mx_log, aduana_log, gt_log, co_log]
}

/// `doc` (an export license) planning one consignment by road from Laredo:
/// its exits elsewhere are `shipment.unplanned`.
fn planned(doc: Document) -> Document {
    let Document::License(License::Export(mut e)) = doc else {
        return doc;
    };
    e.planned_shipments = vec![tally_model::PlannedShipment {
        exit_point: "USLRD".into(),
        entry_point: "MXNLD".into(),
        mode: tally_model::TransportMode::Road,
        from: "2026-11-10".into(),
        to: "2026-11-20".into(),
        carrier: None,
    }];
    Document::License(License::Export(e))
}

/// A fork of US-DDTC at seq 1, as a peer would prove it.
fn fork(logs: &[Vec<VerifiedEntry>]) -> Evidence {
    let other = Log::new("US-DDTC", 1).next(export("EXP-FORK", 1, &[]));
    Evidence {
        authority: "US-DDTC".parse().expect("valid"),
        seq: 1,
        entries: [logs[0][0].signed().encode(), other.signed().encode()],
    }
}

/// The day every store here judges with: the exits (dated 2026-11-15) fell
/// due on 2026-12-30 with the default 45 days.
fn today() -> Date {
    "2027-01-05".parse().expect("a date")
}

fn open(dir: &std::path::Path) -> Store {
    Store::open_with(
        dir,
        tally_store::OpenOptions {
            engine: EngineKind::Redb,
            reader: None,
            clock: AlertClock::fixed(45, today()),
        },
    )
    .expect("opens")
}

/// Statistics as a node of `country` counts them, by month, counterpart
/// and category, from `from` on.
fn statistics(store: &Store, country: &str, from: Option<&str>) -> Statistics {
    let q = StatisticsQuery {
        country: country.into(),
        from: from.map(|d| d.parse().expect("a date")),
        to: None,
        group: Grouping::all(),
        direction: None,
        counterpart: None,
        category: None,
        hs: None,
    };
    store
        .statistics(&q, &Date::from_unix_ms)
        .expect("statistics")
}

/// What a node holds, compared: every derived record, every alert, and
/// the statistics each State on the route counts.
fn state(store: &Store) -> State {
    (
        store.derived_digest().expect("digest"),
        store.alerts().expect("alerts"),
        ["US", "GT", "MX"]
            .iter()
            .map(|c| statistics(store, c, None))
            .collect(),
    )
}

/// Delivers the entries in `arrival` order (indexes into the flattened logs),
/// committing `batch` arrivals at a time; an entry that arrives before its
/// predecessor waits, as a gap does, until the predecessor lands. The fork's
/// proof arrives after arrival number `proof_at`.
fn deliver(
    store: &Store,
    logs: &[Vec<VerifiedEntry>],
    arrival: &[usize],
    batch: usize,
    proof_at: usize,
) {
    let all: Vec<(usize, usize)> = logs
        .iter()
        .enumerate()
        .flat_map(|(l, log)| (0..log.len()).map(move |i| (l, i)))
        .collect();
    let mut next = vec![0usize; logs.len()];
    let mut waiting: BTreeMap<(usize, usize), ()> = BTreeMap::new();
    let mut ready: Vec<VerifiedEntry> = Vec::new();
    for (n, &k) in arrival.iter().enumerate() {
        let (l, i) = all[k];
        waiting.insert((l, i), ());
        // Everything that is now next in its log lands, in order.
        while let Some(&(l, i)) = waiting.keys().find(|&&(l, i)| next[l] == i) {
            waiting.remove(&(l, i));
            ready.push(logs[l][i].clone());
            next[l] += 1;
        }
        if ready.len() >= batch || n + 1 == arrival.len() {
            store.append_batch(&ready).expect("append");
            ready.clear();
        }
        if n == proof_at {
            store.put_evidence(&fork(logs)).expect("evidence");
        }
    }
    assert!(waiting.is_empty(), "every gap was filled");
}

type State = (
    tally_store::DerivedDigest,
    Vec<tally_store::Alert>,
    Vec<Statistics>,
);

fn reference() -> State {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let logs = logs();
    for log in &logs {
        store.append_batch(log).expect("append");
    }
    store.put_evidence(&fork(&logs)).expect("evidence");
    state(&store)
}

#[test]
fn the_reference_state_holds_what_the_logs_say() {
    let (_, alerts, _) = reference();
    let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![
            "delivery.overdue:US-DDTC/EXP-1:US-DDTC:2",
            "delivery.overdue:US-DDTC/EXP-3:US-DDTC:12",
            "delivery.overdue:US-DDTC/EXP-T1:US-DDTC:14",
            "delivery.overdue:US-DDTC/EXP-T2:US-DDTC:18",
            "denial.match:US-DDTC/EXP-1:CO-DCAM:1",
            "denial.match:US-DDTC/EXP-1:CO-DCAM:2",
            "denial.match:US-DDTC/EXP-2:CO-DCAM:1",
            "denial.match:US-DDTC/EXP-2:CO-DCAM:2",
            "denial.match:US-DDTC/EXP-3:CO-DCAM:1",
            "denial.match:US-DDTC/EXP-3:CO-DCAM:2",
            "denial.match:US-DDTC/EXP-T1:CO-DCAM:1",
            "denial.match:US-DDTC/EXP-T1:CO-DCAM:2",
            "denial.match:US-DDTC/EXP-T2:CO-DCAM:1",
            "denial.match:US-DDTC/EXP-T2:CO-DCAM:2",
            "document.invalid:US-DDTC/EXP-2:US-DDTC:9",
            "document.invalid:US-DDTC/IC-US:US-DDTC:5",
            "enduse.unanswered:US-DDTC/EUR-1:US-DDTC:19",
            "equivocation:-:US-DDTC:1",
            "import.withdrawn:US-DDTC/EXP-1:MX-SEDENA:7",
            "import.withdrawn:US-DDTC/EXP-3:MX-SEDENA:7",
            "import.withdrawn:US-DDTC/EXP-T1:MX-SEDENA:7",
            "import.withdrawn:US-DDTC/EXP-T2:MX-SEDENA:7",
            "return.overdue:US-DDTC/EXP-T1:US-DDTC:14",
            "serial.repeat:US-DDTC/EXP-1:US-DDTC:12",
            "serial.repeat:US-DDTC/EXP-3:US-DDTC:12",
            "serial.repeat:US-DDTC/EXP-T1:US-DDTC:18",
            "serial.repeat:US-DDTC/EXP-T2:US-DDTC:18",
            "shipment.after_revocation:US-DDTC/EXP-2:MX-SEDENA:8",
            "shipment.discrepancy:US-DDTC/EXP-1:MX-ADUANA:1",
            "shipment.discrepancy:US-DDTC/EXP-2:MX-SEDENA:5",
            "shipment.off_route:US-DDTC/EXP-1:MX-SEDENA:4",
            "shipment.refused:US-DDTC/EXP-1:MX-SEDENA:3",
            "shipment.unplanned:US-DDTC/EXP-T2:US-DDTC:18",
        ]
    );
    let open: Vec<bool> = alerts.iter().map(|a| a.open).collect();
    assert_eq!(
        open,
        vec![
            false, true, true, true, true, false, true, false, true, false, true, false, true,
            false, true, true, false, true, true, true, true, true, true, true, true, true, true,
            true, false, true, true, true, true,
        ],
        "EXP-1's exits were verified delivered after they fell due, and its discrepancy \
         closed when exits caught up; EXP-3's delivery was revoked; nothing of EXP-2 ever exited; \
         Colombia withdrew DEN-2; EXP-T1's R3 never came back, EXP-T2's two did not yet; \
         Mexico answered EUR-1 late"
    );
    let overdue = &alerts[0];
    // Due on 2026-12-30 (exit date 2026-11-15 + 45 days).
    assert_eq!(overdue.raised_at_ms, T0 + 59 * 86_400_000);
    assert!(
        overdue.detail.contains("caught up on 2027-01-10"),
        "{}",
        overdue.detail
    );
    assert!(
        alerts[23].detail.contains("serial S1 (ACME)"),
        "{}",
        alerts[23].detail
    );
    // R1 came back before it left again; R3 did not.
    for repeat in &alerts[25..27] {
        assert!(
            repeat.detail.contains("serial R3") && !repeat.detail.contains("R1"),
            "{}",
            repeat.detail
        );
    }
    let returns = &alerts[22];
    assert!(
        returns
            .detail
            .contains("3 left on a temporary export and 2 came back")
            && returns.detail.contains("2026-12-20"),
        "{}",
        returns.detail
    );
    // Overdue from the day after return_by.
    let day_after: Date = "2026-12-21".parse().expect("a date");
    assert_eq!(returns.raised_at_ms, day_after.days() * 86_400_000);
    let unplanned = &alerts[32].detail;
    assert!(
        unplanned.contains("exit at \"PORT\", a point no planned shipment names (planned: USLRD)"),
        "{unplanned}"
    );
    let late = &alerts[16];
    assert!(
        !late.open && late.detail.contains("due 2026-12-01, came on 2026-12-10"),
        "{}",
        late.detail
    );
    let matched = &alerts[4].detail;
    assert!(
        matched.contains("the importer of EXP-1 is \"IMPORTADORA DEL NORTE, S.A.\"")
            && matched.contains("denial DEN-1 by CO-DCAM of 2026-06-01"),
        "{matched}"
    );
}

#[test]
fn statistics_count_what_each_state_on_the_route_reads() {
    let (_, _, counted) = reference();
    for (stats, country, direction) in counted
        .iter()
        .zip([
            ("US", FlowDirection::Export),
            ("GT", FlowDirection::Transit),
            ("MX", FlowDirection::Import),
        ])
        .map(|(s, (c, d))| (s, c, d))
    {
        let rows: Vec<_> = stats
            .flows
            .iter()
            .map(|f| {
                (
                    f.month.as_deref().expect("grouped by month"),
                    f.counterpart.as_deref().expect("grouped by counterpart"),
                    f.direction,
                    [f.licensed, f.exited, f.transited, f.entered, f.delivered],
                    (f.licenses, f.licenses_revoked),
                )
            })
            .collect();
        let counterpart = if country == "US" { "MX" } else { "US" };
        assert_eq!(
            rows,
            vec![
                // EXP-1 at its amended version (100 + 4000), EXP-2 revoked
                // (5 + 5000), EXP-3 (50 + 5000), EXP-T1 and EXP-T2 (3 +
                // 5000 each); exits 10 + 5 + 2 + 3 + 2 (returns move no
                // goods between States); GT's transit 6 (Mexico's
                // off-route transit of 7 counts nothing); entries 4 + 1 +
                // 3 + 1 + 2 (the refused 400 counts nothing).
                (
                    "2026-11",
                    counterpart,
                    Some(direction),
                    [24_161, 22, 6, 11, 0],
                    (5, 1)
                ),
                // DV-1's 10 + 5 on 2027-01-10; DV-2 was revoked.
                (
                    "2027-01",
                    counterpart,
                    Some(direction),
                    [0, 0, 0, 0, 15],
                    (0, 0)
                ),
            ],
            "{country}"
        );
        assert_eq!(stats.refusals.get("quantity"), Some(&1), "{country}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    for log in &logs() {
        store.append_batch(log).expect("append");
    }
    let since = statistics(&store, "MX", Some("2026-12-01"));
    let delivered: Vec<u64> = since.flows.iter().map(|f| f.delivered).collect();
    assert_eq!(delivered, vec![15], "only the delivery is in the period");
    assert!(since.refusals.is_empty());
    assert!(
        statistics(&store, "CA", None).flows.is_empty(),
        "a State off every route counts nothing"
    );
}

#[test]
fn exits_fall_due_by_the_calendar_and_the_pass_opens_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let early: Date = "2026-12-01".parse().expect("a date");
    let store = Store::open_with(
        dir.path(),
        tally_store::OpenOptions {
            engine: EngineKind::Redb,
            reader: None,
            clock: AlertClock::fixed(45, early),
        },
    )
    .expect("opens");
    let logs = logs();
    for log in &logs {
        store.append_batch(log).expect("append");
    }
    store.put_evidence(&fork(&logs)).expect("evidence");
    let overdue = |store: &Store| {
        store
            .alerts()
            .expect("alerts")
            .into_iter()
            .filter(|a| a.kind == tally_model::AlertKind::DeliveryOverdue)
            .count()
    };
    assert_eq!(overdue(&store), 0, "nothing is due on 2026-12-01");
    assert_eq!(
        store.judge_overdue().expect("pass"),
        1,
        "EUR-1, owed its answer that day, is judged; nothing fell due"
    );
    // The calendar moves on: the pass opens what fell due, and the store
    // then holds exactly what a store built on that day holds.
    store.set_clock(AlertClock::fixed(45, today()));
    assert_eq!(
        store.judge_overdue().expect("pass"),
        6,
        "exits of EXP-1, EXP-3, EXP-T1 and EXP-T2; the return date of EXP-T1; EUR-1 again"
    );
    assert_eq!(state(&store), reference());
    assert_eq!(
        store.judge_overdue().expect("pass"),
        0,
        "judged through today"
    );
    // Another delivery_days re-judges every exit: with 0 days everything
    // exited is due at once, and a store built so agrees.
    store.set_clock(AlertClock::fixed(0, early));
    assert_eq!(
        store.judge_overdue().expect("pass"),
        5,
        "every license that exited, and EUR-1; no return date is past on 2026-12-01"
    );
    let now = state(&store);
    store.reindex().expect("reindex");
    assert_eq!(state(&store), now);
}

#[test]
fn route_filtered_tallies_ignore_records_off_the_route() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(dir.path());
    let logs = logs();
    // Mexico's records first: the license arrives last.
    for log in logs.iter().rev() {
        store.append_batch(log).expect("append");
    }
    let us = "US-DDTC".parse().expect("valid");
    let license = store.license(&us, "EXP-1").expect("read").expect("held");
    assert_eq!(license.status, Status::Active);
    assert_eq!(license.version, 2);
    let counted: Vec<_> = store
        .tallies(&license)
        .expect("tallies")
        .into_iter()
        .map(|t| (t.line, t.direction, t.country, t.quantity))
        .collect();
    assert_eq!(
        counted,
        vec![
            (1, Direction::Exit, "US".to_string(), 10),
            (1, Direction::Transit, "GT".to_string(), 6),
            (1, Direction::Entry, "MX".to_string(), 6),
            (2, Direction::Exit, "US".to_string(), 5),
            (2, Direction::Entry, "MX".to_string(), 3),
        ],
        "the off-route transit through MX is recorded but does not count"
    );
    assert_eq!(
        store
            .recorded_tallies(&license.reference())
            .expect("recorded")
            .len(),
        6
    );
    let first = store
        .serial_use(&license.reference(), Direction::Entry, "MX", "S2")
        .expect("serial")
        .expect("used");
    assert_eq!(first.recorded_by.as_str(), "MX-ADUANA", "earliest use wins");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn any_interleaving_and_a_reindex_derive_the_same_state(
        seed in any::<u64>(),
        batch in 1usize..6,
        proof_at in 0usize..22,
    ) {
        let logs = logs();
        let total: usize = logs.iter().map(Vec::len).sum();
        let mut arrival: Vec<usize> = (0..total).collect();
        let mut rng = Rng(seed);
        for i in (1..arrival.len()).rev() {
            let j = rng.range(0, i as u64) as usize;
            arrival.swap(i, j);
        }
        let want = reference();
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path());
        deliver(&store, &logs, &arrival, batch, proof_at.min(total - 1));
        prop_assert_eq!(&state(&store), &want, "arrival {:?}", arrival);
        store.reindex().expect("reindex");
        prop_assert_eq!(&state(&store), &want, "after reindex");
    }
}
