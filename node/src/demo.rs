//! `tally demo`: three real nodes on loopback (US-DDTC exporter, MX-SEDENA
//! importer, GT-DIGECAM transit) that trust each other, with sample licenses,
//! certificates, transit authorizations and shipments, until Ctrl-C.

use crate::admin;
use crate::node::Node;
use anyhow::{Context, bail};
use serde_json::json;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tally_api::tokens::Role;
use tally_model::{AuthorityId, Date, License, Status};
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
}

const MEMBERS: [(&str, &str); 3] = [
    ("US-DDTC", "Directorate of Defense Trade Controls"),
    ("MX-SEDENA", "Secretaria de la Defensa Nacional"),
    (
        "GT-DIGECAM",
        "Direccion General de Control de Armas y Municiones",
    ),
];

pub async fn run(dir: Option<PathBuf>, base_port: u16) -> anyhow::Result<()> {
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
    let (nodes, members) = start(&root, &ports).await?;
    seed(&nodes).await?;
    println!(
        "\nTally demo: three nodes on loopback, ready in {:.1} s\n",
        started.elapsed().as_secs_f64()
    );
    for (node, m) in nodes.iter().zip(&members) {
        println!("{} ({})", m.authority, m.name);
        println!("  console  {}/", node.api_url());
        println!("  p2p      {}", m.p2p);
        println!("  officer  {}", m.officer_token);
        println!("  issuer   {}", m.issuer_token);
        println!("  admin    {}", m.admin_token);
        println!("  dir      {}", m.dir.display());
    }
    println!("\nTry: open the MX-SEDENA console, sign in with its officer token, and check");
    println!("US-DDTC EXP-2026-0001 at an MX entry checkpoint (items: line 1, quantity 10).");
    println!("Ctrl-C stops the demo.");
    crate::shutdown_signal().await;
    for n in nodes {
        n.shutdown().await;
    }
    Ok(())
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

/// Initialises (first run) and starts the three nodes, trusting each other.
async fn start(root: &Path, ports: &Ports) -> anyhow::Result<(Vec<Node>, Vec<Member>)> {
    let mut members = Vec::new();
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
        let init = admin::init(&dir, authority, name, &p2p, &api, None)
            .with_context(|| format!("initialising {authority}"))?;
        members.push(Member {
            authority,
            name,
            officer_token: admin::token_create(&dir, Role::Officer, "demo officer")?,
            issuer_token: admin::token_create(&dir, Role::Issuer, "demo issuer")?,
            admin_token: init.admin_token,
            dir,
            p2p,
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
        nodes.push(
            Node::start(&m.dir)
                .await
                .with_context(|| format!("starting {}", m.authority))?,
        );
    }
    Ok((nodes, members))
}

fn license(v: serde_json::Value) -> anyhow::Result<License> {
    Ok(serde_json::from_value(v)?)
}

fn day(offset: i64) -> String {
    Date::from_unix_ms(now_ms() + offset * 86_400_000).to_string()
}

fn items(category: &str, quantity: u64, unit: &str, serials: &[&str]) -> serde_json::Value {
    let (desc, hs, make, model, cal) = match category {
        "ammunition" => ("cartridges", "930630", "Acme", "FMJ 124gr", "9x19mm"),
        _ => ("semi-automatic pistol", "930200", "Acme", "P9", "9x19mm"),
    };
    json!([{"line": 1, "category": category, "description": desc, "hs_code": hs, "make": make,
            "model": model, "caliber": cal, "quantity": quantity, "unit": unit, "serials": serials}])
}

fn import(number: &str, category: &str, quantity: u64, unit: &str) -> anyhow::Result<License> {
    license(
        json!({"kind": "import", "number": number, "importing_country": "MX", "exporting_country": "US",
        "importer": {"name": "Importadora del Norte SA", "address": "Monterrey, NL"},
        "exporter": {"name": "Acme Arms Inc."}, "end_user": {"name": "Policia Estatal de Nuevo Leon"},
        "end_use": "law enforcement", "items": items(category, quantity, unit, &[]),
        "valid_from": day(-40), "valid_until": day(200)}),
    )
}

fn export(
    number: &str,
    ic: &str,
    transit: &[&str],
    category: &str,
    quantity: u64,
    unit: &str,
    serials: &[&str],
) -> anyhow::Result<License> {
    license(
        json!({"kind": "export", "number": number, "exporting_country": "US", "importing_country": "MX",
        "transit_countries": transit, "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
        "importer": {"name": "Importadora del Norte SA"}, "end_user": {"name": "Policia Estatal de Nuevo Leon"},
        "end_use": "law enforcement", "items": items(category, quantity, unit, serials),
        "valid_from": day(-30), "valid_until": day(150),
        "import_certificate": {"authority": "MX-SEDENA", "number": ic},
        "shipments": "partial", "conditions": "no re-export without prior written authorization"}),
    )
}

fn transit(number: &str, export: &str) -> anyhow::Result<License> {
    license(
        json!({"kind": "transit", "number": number, "transit_country": "GT",
        "export_license": {"authority": "US-DDTC", "number": export},
        "entry_point": "GTPRQ", "exit_point": "GTTEC", "valid_from": day(-30), "valid_until": day(150),
        "decision": "authorized"}),
    )
}

fn shipment(
    number: &str,
    country: &str,
    port: &str,
    direction: &str,
    quantity: u64,
    serials: &[&str],
) -> anyhow::Result<CheckRequest> {
    Ok(serde_json::from_value(json!({
        "license": {"authority": "US-DDTC", "number": number},
        "checkpoint": {"country": country, "port": port, "direction": direction},
        "exporter": "Acme Arms Inc.", "importer": "Importadora del Norte SA",
        "items": [{"line": 1, "quantity": quantity, "serials": serials}], "record": true}))?)
}

/// Waits until `v` holds license `number` of `authority`.
async fn until_held(v: &Verifier, authority: &str, number: &str) -> anyhow::Result<()> {
    let a: AuthorityId = authority.parse()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if v.store().license(&a, number)?.is_some() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{authority} {number} did not replicate within 20 s")
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// Issues the sample documents and records the sample shipments.
async fn seed(nodes: &[Node]) -> anyhow::Result<()> {
    let [us, mx, gt] = [
        nodes[0].verifier().clone(),
        nodes[1].verifier().clone(),
        nodes[2].verifier().clone(),
    ];
    let serials: Vec<String> = (1000..1100).map(|n| format!("AC{n}")).collect();
    let s: Vec<&str> = serials.iter().map(String::as_str).collect();
    {
        let (us, mx, gt) = (us.clone(), mx.clone(), gt.clone());
        let s: Vec<String> = serials.clone();
        blocking(move || {
            let s: Vec<&str> = s.iter().map(String::as_str).collect();
            mx.issue(import("IC-2026-0042", "firearm", 120, "units")?)?;
            mx.issue(import("IC-2026-0043", "ammunition", 60000, "rounds")?)?;
            mx.issue(import("IC-2026-0044", "firearm", 50, "units")?)?;
            mx.issue(import("IC-2026-0045", "firearm", 25, "units")?)?;
            us.issue(export(
                "EXP-2026-0001",
                "IC-2026-0042",
                &["GT"],
                "firearm",
                100,
                "units",
                &s,
            )?)?;
            us.issue(export(
                "EXP-2026-0002",
                "IC-2026-0043",
                &[],
                "ammunition",
                50000,
                "rounds",
                &[],
            )?)?;
            us.issue(export(
                "EXP-2026-0003",
                "IC-2026-0044",
                &[],
                "firearm",
                50,
                "units",
                &[],
            )?)?;
            us.issue(export(
                "EXP-2026-0004",
                "IC-2026-0045",
                &["GT"],
                "firearm",
                25,
                "units",
                &[],
            )?)?;
            us.set_status(
                "US-DDTC",
                "EXP-2026-0003",
                Status::Revoked,
                "end-user concerns reported by the importing State".into(),
            )?;
            drop(gt);
            Ok(())
        })
        .await?;
    }
    until_held(&gt, "US-DDTC", "EXP-2026-0001").await?;
    {
        let gt = gt.clone();
        blocking(move || {
            gt.issue(transit("TR-2026-0007", "EXP-2026-0001")?)?;
            Ok(())
        })
        .await?;
    }
    until_held(&us, "GT-DIGECAM", "TR-2026-0007").await?;
    until_held(&us, "MX-SEDENA", "IC-2026-0045").await?;
    let first: Vec<String> = s[..40].iter().map(|x| x.to_string()).collect();
    let second: Vec<String> = s[40..70].iter().map(|x| x.to_string()).collect();
    {
        let us = us.clone();
        let (f, sc) = (first.clone(), second.clone());
        blocking(move || {
            let f: Vec<&str> = f.iter().map(String::as_str).collect();
            let sc: Vec<&str> = sc.iter().map(String::as_str).collect();
            us.check(shipment("EXP-2026-0001", "US", "USLAX", "exit", 40, &f)?)?;
            us.check(shipment("EXP-2026-0001", "US", "USLAX", "exit", 30, &sc)?)?;
            us.check(shipment(
                "EXP-2026-0002",
                "US",
                "USLRD",
                "exit",
                20000,
                &[],
            )?)?;
            Ok(())
        })
        .await?;
    }
    until_held(&mx, "GT-DIGECAM", "TR-2026-0007").await?;
    until_held(&mx, "US-DDTC", "EXP-2026-0004").await?;
    {
        let f = first.clone();
        blocking(move || {
            let f: Vec<&str> = f.iter().map(String::as_str).collect();
            gt.check(shipment("EXP-2026-0001", "GT", "GTPRQ", "transit", 40, &f)?)?;
            mx.check(shipment("EXP-2026-0001", "MX", "MXNLD", "entry", 40, &f)?)?;
            mx.check(shipment(
                "EXP-2026-0002",
                "MX",
                "MXNLD",
                "entry",
                20000,
                &[],
            )?)?;
            Ok(())
        })
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn all(p: &Ports) -> BTreeSet<u16> {
        p.p2p.iter().chain(&p.api).copied().collect()
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
