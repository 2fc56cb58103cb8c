//! `tally demo`: four real nodes on loopback (US-BIS exporter, MX-SEDENA
//! importer, GT-DIGECAM transit, and JM-FLA, a State on no route of the
//! samples) that trust each other, with sample licenses, certificates,
//! transit authorizations and shipments, until Ctrl-C. Every document is
//! sealed to its parties: JM-FLA holds, verifies and relays every log and
//! reads none of them ([`BYSTANDER`]).
//!
//! The sample data tells a story an officer of these agencies can follow
//! (the README, "What Tally is"): the Bureau of Industry and Security
//! licenses semi-automatic pistols and cartridges (ECCNs 0A501, 0A505) to
//! SEDENA's DCAM, Mexico's only legal importer, for Nuevo León's Fuerza
//! Civil, across Laredo / Nuevo Laredo; one consignment goes by sea through
//! Guatemala (Puerto Quetzal, Tecún Umán) under a DIGECAM transit
//! authorization. On purpose, more pistols are recorded entering Mexico than
//! left the US under one license (`shipment.discrepancy`), a crossing
//! with serial numbers not on that license is refused and recorded
//! (`shipment.refused`), and the consignment through Guatemala never enters
//! Mexico nor is verified delivered (`delivery.overdue`: the demo's nodes
//! run with `[alerts] delivery_days = 0`, so it is due at once; the others
//! are verified delivered). [`STORY`] is printed at start.

use crate::admin;
use crate::clock::ShiftedClock;
use crate::config::{Config, NodeDir, Settings};
use crate::demo_year::{self, record, until_held};
use crate::files;
use crate::node::Node;
use anyhow::{Context, bail};
use serde_json::json;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tally_api::tokens::Role;
use tally_model::{AlertKind, Date, Document, License, Status};
use tally_verify::{CheckRequest, Verifier, now_ms};

/// One demo authority.
struct Member {
    authority: &'static str,
    name: &'static str,
    dir: PathBuf,
    /// The multiaddr its node listens on for peers.
    p2p: String,
    admin_token: String,
    officer_token: String,
    issuer_token: String,
    /// Where its signing key is, when in a token: "token T, key pair K".
    signing: Option<String>,
}

const MEMBERS: [(&str, &str); 4] = [
    (
        "US-BIS",
        "Bureau of Industry and Security, U.S. Department of Commerce",
    ),
    (
        "MX-SEDENA",
        "Secretaría de la Defensa Nacional, Dirección de Comercialización de Armamento y Municiones",
    ),
    (
        "GT-DIGECAM",
        "Dirección General de Control de Armas y Municiones",
    ),
    ("JM-FLA", "Firearm Licensing Authority, Jamaica"),
];

/// The member of a State on no route of the sample documents (Jamaica): it
/// trusts and is trusted by the others, holds every log, and reads nothing
/// sealed to the parties.
const BYSTANDER: usize = 3;

/// Runs the demo in `dir` (a temporary directory by default); with a token
/// in `pkcs11`, every authority signs through it (docs/OPERATIONS.md).
pub async fn run(
    dir: Option<PathBuf>,
    base_port: u16,
    pkcs11: &crate::cli::DemoPkcs11,
) -> anyhow::Result<()> {
    let (root, _tmp) = match dir {
        Some(d) => (d, None),
        None => {
            let t = tempfile::Builder::new().prefix("tally-demo-").tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let started = Instant::now();
    let ports = Ports::pick(base_port)?;
    for note in &ports.notes {
        println!("{note}");
    }
    // The nodes start a year back, and the year of traffic moves them to
    // today (crate::demo_year); the day's story is written today.
    let clock = Arc::new(ShiftedClock::default());
    clock.set_offset_ms(-demo_year::MONTHS * 30 * 86_400_000);
    let (nodes, members) = start(&root, &ports, pkcs11, &clock).await?;
    let year_started = Instant::now();
    let year = demo_year::write(&nodes, &clock).await?;
    let year_took = year_started.elapsed();
    seed(&nodes).await?;
    until_replicated(&nodes, BYSTANDER).await?;
    // MX-SEDENA's bundle lists what every route State issued.
    until_replicated(&nodes, 1).await?;
    let papers = print_papers(&root, &nodes, &members).await?;
    let (held, read) = held_and_read(&nodes[BYSTANDER])?;
    println!(
        "\nTally demo: {} nodes on loopback, ready in {:.1} s ({:.1} s of it writing a year of traffic: \
         {} licenses, {} crossings, {} deliveries verified)\n",
        nodes.len(),
        started.elapsed().as_secs_f64(),
        year_took.as_secs_f64(),
        year.licenses,
        year.crossings,
        year.deliveries
    );
    for (i, (node, m)) in nodes.iter().zip(&members).enumerate() {
        println!("{} ({})", m.authority, m.name);
        println!("  console  {}/", node.api_url());
        if i == BYSTANDER {
            println!("  holds    {held} entries of the other logs, reads {read} of them");
        }
        println!("  p2p      {}", m.p2p);
        if let Some(key) = &m.signing {
            println!("  signing  {key}");
        }
        println!("  officer  {}", m.officer_token);
        println!("  issuer   {}", m.issuer_token);
        println!("  admin    {}", m.admin_token);
        println!("  dir      {}", m.dir.display());
    }
    let urls: Vec<String> = nodes.iter().map(Node::api_url).collect();
    println!("\n{}", story(&urls));
    println!("{}", papers.text(&urls[1]));
    println!("Ctrl-C stops the demo.");
    crate::shutdown_signal().await;
    for n in nodes {
        n.shutdown().await;
    }
    Ok(())
}

/// Prints every export license, import certificate and transit
/// authorization of the route States, with MX-SEDENA's bundle
/// (crate::demo_paper).
async fn print_papers(
    root: &Path,
    nodes: &[Node],
    members: &[Member],
) -> anyhow::Result<crate::demo_paper::Printed> {
    let desks: Vec<crate::demo_paper::Desk> = nodes
        .iter()
        .zip(members)
        .take(BYSTANDER)
        .map(|(n, m)| crate::demo_paper::Desk {
            verifier: n.verifier(),
            api: n.api_url(),
            issuer_token: &m.issuer_token,
        })
        .collect();
    let (mx, mx_member) = (&nodes[1], &members[1]);
    let bundle = (mx.api_url(), mx_member.officer_token.as_str());
    crate::demo_paper::print_all(
        root,
        &desks,
        (&bundle.0, bundle.1),
        ("US-BIS", STORY_LICENSE),
    )
    .await
}

/// Offset of the first API port from the first p2p port.
const API_OFFSET: u16 = 10;

/// The loopback ports the demo's nodes listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    /// One p2p port per node.
    pub p2p: Vec<u16>,
    /// One API port per node.
    pub api: Vec<u16>,
    /// One line per default port that was busy, naming its replacement.
    pub notes: Vec<String>,
}

impl Ports {
    /// Node `i` gets p2p port `base + i` and API port `base + 10 + i` when
    /// they are free on 127.0.0.1, and otherwise a port the OS picks, so a
    /// second demo, or anything else on the defaults, does not stop this one.
    ///
    /// Every probe listener is held until all ports are chosen, so no two
    /// nodes get the same port; they are released just before the nodes
    /// bind. Another program could take a port in that window, which lasts
    /// as long as the nodes take to initialise: then the demo fails as it
    /// did before, naming the address.
    pub fn pick(base: u16) -> anyhow::Result<Ports> {
        let mut ports = Ports {
            p2p: Vec::new(),
            api: Vec::new(),
            notes: Vec::new(),
        };
        let mut held = Vec::new();
        for (i, (authority, _)) in MEMBERS.iter().enumerate() {
            let at = |offset: u16| {
                let i = u16::try_from(i).ok()?;
                base.checked_add(offset)?.checked_add(i)
            };
            let p2p = probe(at(0), &format!("{authority} p2p"), &mut ports.notes)?;
            let api = probe(
                at(API_OFFSET),
                &format!("{authority} API"),
                &mut ports.notes,
            )?;
            ports.p2p.push(p2p.local_addr()?.port());
            ports.api.push(api.local_addr()?.port());
            held.extend([p2p, api]);
        }
        drop(held);
        Ok(ports)
    }
}

/// A listener on 127.0.0.1:`wanted`, or, when that port is taken (or past
/// 65535), on a port the OS picks, with a note saying so.
fn probe(wanted: Option<u16>, what: &str, notes: &mut Vec<String>) -> anyhow::Result<TcpListener> {
    let why = match wanted.map(|p| (p, TcpListener::bind((Ipv4Addr::LOCALHOST, p)))) {
        Some((_, Ok(l))) => return Ok(l),
        Some((p, Err(e))) => format!("port {p} is not available ({e})"),
        None => "its default port would be past 65535".to_string(),
    };
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("no free port on 127.0.0.1")?;
    notes.push(format!(
        "tally demo: {what}: {why}; using 127.0.0.1:{} instead",
        l.local_addr()?.port()
    ));
    Ok(l)
}

/// Initialises (first run) and starts every member's node, all trusting each other.
async fn start(
    root: &Path,
    ports: &Ports,
    pkcs11: &crate::cli::DemoPkcs11,
    clock: &Arc<ShiftedClock>,
) -> anyhow::Result<(Vec<Node>, Vec<Member>)> {
    let mut members = Vec::new();
    // Labels of this run's key pairs: a token keeps earlier demos' pairs.
    let stamp = now_ms().max(0) as u64 / 1000;
    for (i, (authority, name)) in MEMBERS.iter().enumerate() {
        let dir = root.join(authority.to_lowercase());
        let (Some(p2p_port), Some(api_port)) = (ports.p2p.get(i), ports.api.get(i)) else {
            bail!("no ports were chosen for {authority}");
        };
        let p2p = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
        let api = format!("127.0.0.1:{api_port}");
        if dir.join("tally.toml").exists() {
            bail!(
                "{} already holds a demo; remove it or pass another --dir",
                root.display()
            );
        }
        let signing = pkcs11.signing(authority, stamp);
        let described = signing
            .as_ref()
            .map(|s| format!("token {:?}, key pair {:?}", s.token_label, s.key_label));
        let init = admin::init_with(&dir, authority, name, &p2p, &api, None, signing)
            .with_context(|| format!("initialising {authority}"))?;
        due_at_once(&dir)?;
        members.push(Member {
            authority,
            name,
            officer_token: admin::token_create(&dir, Role::Officer, "demo officer")?,
            issuer_token: admin::token_create(&dir, Role::Issuer, "demo issuer")?,
            admin_token: init.admin_token,
            dir,
            p2p,
            signing: described,
        });
    }
    for a in &members {
        for b in &members {
            if a.authority != b.authority {
                admin::trust_add(&a.dir, &b.dir.join("card.toml"))?;
            }
        }
    }
    let mut nodes = Vec::new();
    for m in &members {
        let settings = Settings {
            clock: Some(clock.clone()),
            ..Settings::load(&m.dir)?
        };
        nodes.push(
            Node::spawn(settings)
                .await
                .with_context(|| format!("starting {}", m.authority))?,
        );
    }
    Ok((nodes, members))
}

/// `[alerts] delivery_days` of the demo's nodes: an exit is overdue at once,
/// so the story's missing consignment shows as soon as the demo starts
/// (the default is 45 days).
pub const DEMO_DELIVERY_DAYS: u32 = 0;

/// Writes [`DEMO_DELIVERY_DAYS`] into the node's `tally.toml`, so that the
/// node (and a later `tally run` of its directory) judges with it.
fn due_at_once(dir: &Path) -> anyhow::Result<()> {
    let node_dir = NodeDir(dir.to_path_buf());
    let mut config = Config::load(&node_dir)?;
    config.alerts.delivery_days = DEMO_DELIVERY_DAYS;
    let text = format!(
        "# Tally demo node: deliveries are due at once ([alerts] delivery_days = 0).\n{}",
        toml::to_string(&config)?
    );
    files::write_atomic(&node_dir.config(), text.as_bytes(), 0o600)
}

/// The license the story follows.
const STORY_LICENSE: &str = "D1298734";

/// What the sample data shows, printed at start (with the consoles' alert
/// pages appended by [`story`]).
pub const STORY: &str = "\
The story: US-BIS license D1298734 (ECCN 0A501, 100 semi-automatic pistols,
9x19mm) exports to SEDENA's DCAM for Nuevo León's Fuerza Civil under import
permit DCAM-PI-2026-0042, by road across Laredo (USLRD) / Nuevo Laredo (MXNLD).
  - US-BIS recorded 40 pistols leaving at Laredo (USLRD).
  - MX-SEDENA recorded 48 entering at Nuevo Laredo (MXNLD): 8 more than left
    the US. Alert shipment.discrepancy (open).
  - A second truck at Nuevo Laredo declared 12 pistols whose serial numbers
    are not on the license: refused, and the refusal recorded. Alert
    shipment.refused.
  - SEDENA verified 40 delivered to Fuerza Civil (DCAM-VE-2026-0101).
A shipment gone missing: 30 pistols under D1298736 left Los Angeles (USLAX)
by sea and crossed Guatemala from Puerto Quetzal (GTPRQ) to Tecún Umán (GTTUC)
under DIGECAM transit authorization DIGECAM-AT-2026-0007, but never entered
Mexico and no delivery verification came. Alert delivery.overdue (open: the
demo's nodes run with [alerts] delivery_days = 0, due at once; the default
is 45 days).
Also: cartridges under D1298735 (0A505) crossed Laredo cleanly and were
verified delivered (DCAM-VE-2026-0102); D1298737 was revoked.
A buyer refused elsewhere: BIS denied 9 mm pistols for ARMERÍA EL QUETZAL, S.A. in
Guatemala and told every partner (BIS-DEN-2026-0017, in clear). SEDENA's DCAM
then licensed 60 pistols to \"Armeria El Quetzal S.A.\" (DCAM-EX-2026-0009):
its officer was warned at issue, and Mexico's and Guatemala's nodes raised
denial.match (issuing anyway is allowed; the States consult each other).
Back from a match: BIS licensed a Texan shooter's two target rifles to the
national championship in Monterrey as a temporary export (D1298740, due back
within 30 days, DCAM permit DCAM-PI-2026-0046). They left Laredo yesterday
and came back today, recorded as a return against the same license: one
export, no serial.repeat, and nothing for return.overdue to find.
Asked first: before licensing 25 pistols for Jalisco's state police
(D1298742), BIS asked DCAM whether the end-user certificate was genuine
(BIS-EUR-2026-0031); DCAM confirmed it from its console's Requests page,
the signed answer reached BIS, and only then was the license issued (a
request left unanswered raises enduse.unanswered).
Before today, a year of traffic: 192 licenses (D1300000-D1300191) with their
import permits, crossings and deliveries, some by sea through Guatemala; a few
never arrived or were never verified delivered (delivery.overdue), entered
with more than left (shipment.discrepancy), listed a pistol already exported
(serial.repeat, try tracing LSY-0005-000), or met a truck with serials on no
license (shipment.refused). SEDENA's Statistics page counts them, and its
issuer drafts the ATT report: tally report att --api URL --token T --year YYYY
--out att.xlsx";

/// [`STORY`] followed by where to look: each console's Alerts page and the
/// license page of the story's license.
pub fn story(urls: &[String]) -> String {
    let mut s = format!("{STORY}\n\nLook for the alerts (sign in with the officer token):\n");
    for ((authority, _), url) in MEMBERS.iter().zip(urls).take(2) {
        s.push_str(&format!("  {authority:<10} alerts   {url}/#/alerts\n"));
    }
    if let Some(url) = urls.get(1) {
        s.push_str(&format!(
            "  the license, its tally and alerts   {url}/#/license/US-BIS/{STORY_LICENSE}\n"
        ));
        s.push_str(&format!(
            "  the year in numbers (issuer token)  {url}/#/statistics\n"
        ));
    }
    s
}

fn license(v: serde_json::Value) -> anyhow::Result<License> {
    Ok(serde_json::from_value(v)?)
}

fn day(offset: i64) -> String {
    Date::from_unix_ms(now_ms() + offset * 86_400_000).to_string()
}

/// The exporter, importer and end user every sample document names; a
/// shipment declares the same exporter and importer.
const EXPORTER: &str = "Lone Star Arms Manufacturing LLC";
const IMPORTER: &str = "Dirección de Comercialización de Armamento y Municiones (DCAM), SEDENA";

fn exporter() -> serde_json::Value {
    json!({"name": EXPORTER, "id": "FFL 5-74-12345", "address": "San Antonio, TX 78216, USA"})
}

fn importer() -> serde_json::Value {
    json!({"name": IMPORTER, "id": "SDN-DCAM", "address": "Ciudad de México, México"})
}

fn end_user() -> serde_json::Value {
    json!({"name": "Fuerza Civil, Secretaría de Seguridad del Estado de Nuevo León",
           "address": "Monterrey, Nuevo León, México"})
}

const END_USE: &str = "Dotación de la policía estatal (Fuerza Civil) / state police duty issue";

/// The pistols' serial numbers licensed under the story's license.
fn serials(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|n| format!("LS9-{n:05}")).collect()
}

fn items(category: &str, quantity: u64, unit: &str, serials: &[String]) -> serde_json::Value {
    let (desc, hs, model, cal) = match category {
        "ammunition" => (
            "Cartridges, 9x19mm, full metal jacket, 124 gr (ECCN 0A505.a)",
            "930630",
            "9mm Luger FMJ 124 gr",
            "9x19mm",
        ),
        _ => (
            "Semi-automatic pistol, 9x19mm (ECCN 0A501.a)",
            "930200",
            "LS9 Duty",
            "9x19mm",
        ),
    };
    json!([{"line": 1, "category": category, "description": desc, "hs_code": hs,
            "make": "Lone Star Arms", "model": model, "caliber": cal, "quantity": quantity,
            "unit": unit, "serials": serials}])
}

fn import(number: &str, category: &str, quantity: u64, unit: &str) -> anyhow::Result<License> {
    license(
        json!({"kind": "import", "number": number, "importing_country": "MX", "exporting_country": "US",
        "importer": importer(), "exporter": exporter(), "end_user": end_user(), "end_use": END_USE,
        "items": items(category, quantity, unit, &[]),
        "valid_from": day(-40), "valid_until": day(200)}),
    )
}

#[allow(clippy::too_many_arguments)]
fn export(
    number: &str,
    ic: &str,
    transit: &[&str],
    category: &str,
    quantity: u64,
    unit: &str,
    serials: &[String],
) -> anyhow::Result<License> {
    license(
        json!({"kind": "export", "number": number, "exporting_country": "US", "importing_country": "MX",
        "transit_countries": transit, "exporter": exporter(), "importer": importer(),
        "end_user": end_user(), "end_use": END_USE,
        "items": items(category, quantity, unit, serials),
        "valid_from": day(-30), "valid_until": day(150),
        "import_certificate": {"authority": "MX-SEDENA", "number": ic},
        "shipments": "partial",
        "conditions": "No re-export, resale or transfer without prior written authorization of BIS (EAR Part 744); end-use check on request."}),
    )
}

fn transit(number: &str, export: &str) -> anyhow::Result<License> {
    license(
        json!({"kind": "transit", "number": number, "transit_country": "GT",
        "export_license": {"authority": "US-BIS", "number": export},
        "entry_point": "GTPRQ", "exit_point": "GTTUC", "valid_from": day(-30), "valid_until": day(150),
        "decision": "authorized"}),
    )
}

/// A recorded check (dated today) of `number` at `port`.
fn shipment(
    number: &str,
    country: &str,
    port: &str,
    direction: &str,
    quantity: u64,
    serials: &[String],
) -> anyhow::Result<CheckRequest> {
    Ok(serde_json::from_value(json!({
        "license": {"authority": "US-BIS", "number": number},
        "checkpoint": {"country": country, "port": port, "direction": direction},
        "exporter": EXPORTER, "importer": IMPORTER,
        "items": [{"line": 1, "quantity": quantity, "serials": serials}], "record": true}))?)
}

/// Waits until node `i` holds every other node's log up to that node's head.
async fn until_replicated(nodes: &[Node], i: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut behind = Vec::new();
        for (j, n) in nodes.iter().enumerate() {
            let a = n.verifier().authority();
            let head = n.verifier().reader()?.head(a)?.map(|h| h.0);
            if j != i && nodes[i].verifier().reader()?.head(a)?.map(|h| h.0) != head {
                behind.push(a.to_string());
            }
        }
        if behind.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("node {i} did not catch up with {behind:?} within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many entries of other authorities' logs `node` holds, and how many
/// documents of those logs it can read: entries in clear, and licenses it
/// opened (sealed documents addressed to it). A log's paper key
/// announcement and a denial are in clear on purpose (every verifier's
/// bundle holds the one, every State is told the other) and tell nothing
/// of the traffic: they are not counted as read.
fn held_and_read(node: &Node) -> anyhow::Result<(u64, u64)> {
    let (v, mut held, mut read) = (node.verifier(), 0, 0);
    let reader = v.reader()?;
    for (a, seq, _) in reader.heads()? {
        if &a == v.authority() {
            continue;
        }
        held += seq;
        let entries = reader.range(&a, 1, usize::try_from(seq)?)?;
        for e in entries {
            let opened = e.open()?;
            let doc = opened.document();
            read += u64::from(doc.is_some_and(|d| {
                !matches!(
                    d,
                    Document::PaperKey(_) | Document::License(License::Denial(_))
                )
            }));
        }
        let opened = reader.licenses_of(&a, usize::MAX)?.into_iter();
        read += u64::try_from(opened.filter(|l| !l.sealed_to.is_empty()).count())?;
    }
    Ok((held, read))
}

/// Waits until `v` shows an open alert of `kind` about US-BIS `number`.
async fn until_alert(v: &Verifier, kind: AlertKind, number: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let raised = v.reader()?.alerts()?.iter().any(|a| {
            a.open
                && a.kind == kind
                && a.license
                    .as_ref()
                    .is_some_and(|l| l.authority == "US-BIS" && l.number == number)
        });
        if raised {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("no {kind} alert about US-BIS {number} within 20 s")
}

/// Runs one chapter of the story on `v`'s node, on the blocking pool (it
/// signs and fsyncs).
async fn chapter(v: &Verifier, f: fn(&Verifier) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let v = v.clone();
    tokio::task::spawn_blocking(move || f(&v)).await?
}

/// Issues the sample documents and records the sample shipments: the story
/// of [`STORY`].
async fn seed(nodes: &[Node]) -> anyhow::Result<()> {
    let [us, mx, gt] = demo_year::route_states(nodes);
    chapter(mx, issue_import_certificates).await?;
    // The import certificates come first: US-BIS checks them when it issues.
    until_held(us, "MX-SEDENA", "DCAM-PI-2026-0045").await?;
    chapter(us, issue_export_licenses).await?;
    until_held(gt, "US-BIS", "D1298736").await?;
    chapter(gt, issue_transit_authorization).await?;
    until_held(us, "GT-DIGECAM", "DIGECAM-AT-2026-0007").await?;
    chapter(us, record_exits).await?;
    until_held(mx, "US-BIS", "D1298737").await?;
    until_held(gt, "GT-DIGECAM", "DIGECAM-AT-2026-0007").await?;
    chapter(gt, record_transit).await?;
    chapter(mx, record_entries).await?;
    chapter(mx, verify_deliveries).await?;
    until_alert(mx, AlertKind::ShipmentDiscrepancy, STORY_LICENSE).await?;
    until_alert(mx, AlertKind::ShipmentRefused, STORY_LICENSE).await?;
    until_alert(mx, AlertKind::DeliveryOverdue, "D1298736").await?;
    until_alert(us, AlertKind::DeliveryOverdue, "D1298736").await?;
    for warning in crate::demo_denial::tell(us, mx, gt).await? {
        tracing::info!(%warning, "DCAM's officer was warned at issue");
    }
    crate::demo_temporary::tell(us, mx).await?;
    crate::demo_enduse::tell(us, mx).await?;
    Ok(())
}

/// MX-SEDENA's import certificates, one per export license to come.
fn issue_import_certificates(mx: &Verifier) -> anyhow::Result<()> {
    mx.issuer()
        .issue(import("DCAM-PI-2026-0042", "firearm", 120, "units")?)?;
    mx.issuer()
        .issue(import("DCAM-PI-2026-0043", "ammunition", 60000, "rounds")?)?;
    mx.issuer()
        .issue(import("DCAM-PI-2026-0044", "firearm", 50, "units")?)?;
    mx.issuer()
        .issue(import("DCAM-PI-2026-0045", "firearm", 50, "units")?)?;
    Ok(())
}

/// US-BIS's export licenses: the story's pistols, cartridges, pistols by
/// sea through Guatemala, and one license revoked.
fn issue_export_licenses(us: &Verifier) -> anyhow::Result<()> {
    us.issuer().issue(export(
        STORY_LICENSE,
        "DCAM-PI-2026-0042",
        &[],
        "firearm",
        100,
        "units",
        &serials(1..101),
    )?)?;
    us.issuer().issue(export(
        "D1298735",
        "DCAM-PI-2026-0043",
        &[],
        "ammunition",
        50000,
        "rounds",
        &[],
    )?)?;
    us.issuer().issue(export(
        "D1298736",
        "DCAM-PI-2026-0044",
        &["GT"],
        "firearm",
        50,
        "units",
        &serials(201..251),
    )?)?;
    us.issuer().issue(export(
        "D1298737",
        "DCAM-PI-2026-0045",
        &[],
        "firearm",
        50,
        "units",
        &[],
    )?)?;
    us.issuer().set_status(
        "US-BIS",
        "D1298737",
        Status::Revoked,
        "End-user concerns reported by the importing State".into(),
    )?;
    Ok(())
}

/// GT-DIGECAM's transit authorization of the consignment by sea.
fn issue_transit_authorization(gt: &Verifier) -> anyhow::Result<()> {
    gt.issuer()
        .issue(transit("DIGECAM-AT-2026-0007", "D1298736")?)?;
    Ok(())
}

/// Exits from the US, recorded by US-BIS.
fn record_exits(us: &Verifier) -> anyhow::Result<()> {
    record(
        us,
        shipment(STORY_LICENSE, "US", "USLRD", "exit", 40, &serials(1..41))?,
        true,
    )?;
    record(
        us,
        shipment("D1298735", "US", "USLRD", "exit", 20000, &[])?,
        true,
    )?;
    record(
        us,
        shipment("D1298736", "US", "USLAX", "exit", 30, &serials(201..231))?,
        true,
    )
}

/// Transit through Guatemala, recorded by GT-DIGECAM.
fn record_transit(gt: &Verifier) -> anyhow::Result<()> {
    record(
        gt,
        shipment("D1298736", "GT", "GTPRQ", "transit", 30, &serials(201..231))?,
        true,
    )
}

/// Entries into Mexico, recorded by MX-SEDENA: 48 pistols enter where 40
/// left, then a truck with serial numbers that are not on the license is
/// refused.
fn record_entries(mx: &Verifier) -> anyhow::Result<()> {
    record(
        mx,
        shipment("D1298735", "MX", "MXNLD", "entry", 20000, &[])?,
        true,
    )?;
    record(
        mx,
        shipment(STORY_LICENSE, "MX", "MXNLD", "entry", 48, &serials(1..49))?,
        true,
    )?;
    let foreign: Vec<String> = (1..13).map(|n| format!("LS9-9{n:04}")).collect();
    record(
        mx,
        shipment(STORY_LICENSE, "MX", "MXNLD", "entry", 12, &foreign)?,
        false,
    )
}

/// SEDENA verifies what reached Fuerza Civil; nothing of D1298736 did.
fn verify_deliveries(mx: &Verifier) -> anyhow::Result<()> {
    mx.issuer()
        .issue(delivery("DCAM-VE-2026-0101", STORY_LICENSE, 40)?)?;
    mx.issuer()
        .issue(delivery("DCAM-VE-2026-0102", "D1298735", 20000)?)?;
    Ok(())
}

/// SEDENA's verification that `quantity` of line 1 of `export` reached
/// Fuerza Civil today.
fn delivery(number: &str, export: &str, quantity: u64) -> anyhow::Result<License> {
    license(
        json!({"kind": "delivery", "number": number, "importing_country": "MX",
        "export_license": {"authority": "US-BIS", "number": export},
        "delivered_to": end_user(), "date": day(0),
        "items": [{"line": 1, "quantity": quantity}]}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn all(p: &Ports) -> BTreeSet<u16> {
        p.p2p.iter().chain(&p.api).copied().collect()
    }

    #[test]
    fn the_story_names_its_alerts_and_where_to_look() {
        let urls: Vec<String> = (0..3).map(|i| format!("http://127.0.0.1:479{i}")).collect();
        let text = story(&urls);
        for want in [
            "shipment.discrepancy",
            "shipment.refused",
            "delivery.overdue",
            "D1298736",
            "US-BIS license D1298734",
            "http://127.0.0.1:4790/#/alerts",
            "http://127.0.0.1:4791/#/alerts",
            "http://127.0.0.1:4791/#/license/US-BIS/D1298734",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        // Scripts (and tests/tests/demo.rs) read the node URLs from the
        // lines that start with `console`; the story adds none.
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("console")),
            "{text}"
        );
    }

    #[test]
    fn a_busy_default_port_is_replaced_by_a_free_one() {
        let busy = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
        let port = busy.local_addr().expect("bound").port();
        // The first node's API port is BASE + 10: make it `port`.
        let base = port.checked_sub(API_OFFSET).expect("OS ports are above 10");
        let ports = Ports::pick(base).expect("ports");
        assert_ne!(ports.api[0], port);
        assert!(
            ports
                .notes
                .iter()
                .any(|n| n.contains(&format!("port {port} "))),
            "{:?}",
            ports.notes
        );
        let chosen = all(&ports);
        assert_eq!(chosen.len(), 2 * MEMBERS.len(), "distinct: {ports:?}");
        assert!(!chosen.contains(&0) && !chosen.contains(&port), "{ports:?}");
    }

    #[test]
    fn defaults_past_the_last_port_fall_back_too() {
        let ports = Ports::pick(u16::MAX - 1).expect("ports");
        // Every API default (65545..) and the third p2p default (65536) overflow.
        assert!(ports.notes.len() > MEMBERS.len(), "{:?}", ports.notes);
        assert!(ports.notes.iter().any(|n| n.contains("past 65535")));
        let chosen = all(&ports);
        assert_eq!(chosen.len(), 2 * MEMBERS.len(), "distinct: {ports:?}");
        assert!(!chosen.contains(&0), "{ports:?}");
    }
}
