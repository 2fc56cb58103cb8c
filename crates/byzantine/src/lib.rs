//! A byzantine differential harness (dev only): a hostile trusted issuer
//! ([`hostile`]) writes entries from a grammar of faults mixed with honest
//! traffic, and three in-process nodes ([`nodes`]) with identical trust
//! lists, declarations and clock take them by different paths. They must
//! agree: the same stored entries and heads on every node, the same proofs
//! of forks, the same derived state (license states, tallies, alerts, every
//! derived record) on the two nodes that read the same documents, before and
//! after a reindex, and no failed transaction anywhere.
//!
//! `cargo test -p tally-byzantine` runs a bounded property test;
//! `cargo run --release -p tally-byzantine -- --cases N` is the long run.

pub mod hostile;
pub mod nodes;

use anyhow::Result;
use hostile::{Class, Delivery};
use nodes::Node;
use std::collections::BTreeMap;
use tally_store::EngineKind;
use tally_testkit::Rng;

/// What one case came to.
#[derive(Debug, Default)]
pub struct CaseReport {
    pub seed: u64,
    /// Deliveries made to each node (entries of the timeline).
    pub entries: usize,
    /// Entries stored (the head seqs summed).
    pub stored: u64,
    pub faults: BTreeMap<Class, usize>,
    /// Nodes that disagree, and on what.
    pub disagreements: Vec<String>,
    /// Transactions that failed (an `Err` from ingest or catch-up).
    pub failures: Vec<String>,
    /// The two readers ended on different branches of a proven fork (each
    /// holds the proof), so their derived states were not compared.
    pub split_by_fork: bool,
}

/// Merges the US and GT entries of `timeline` in a random order that keeps
/// each log's own order.
fn interleave(timeline: &[Delivery], rng: &mut Rng) -> Vec<Delivery> {
    let (gt, us): (Vec<&Delivery>, Vec<&Delivery>) = timeline.iter().partition(|d| d.gt);
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(timeline.len());
    while i < us.len() || j < gt.len() {
        let take_gt = j < gt.len() && (i == us.len() || rng.range(0, 3) == 0);
        if take_gt {
            out.push(gt[j].clone());
            j += 1;
        } else {
            out.push(us[i].clone());
            i += 1;
        }
    }
    out
}

/// Every signature again under the protocol's rule, every chain link.
fn sound(node: &Node) -> Option<String> {
    let report = node.store_handle().check_chains(
        &mut |signed| {
            let key = ed25519_dalek::VerifyingKey::from_bytes(signed.key_id()).ok()?;
            signed.verify_with(&key).err().map(|e| e.to_string())
        },
        &mut |_| {},
    );
    (!report.is_sound()).then(|| format!("{}: {}", node.authority, report.summary()))
}

/// Runs one case: `len` US entries from `seed`.
pub fn run_case(seed: u64, len: usize, engine: EngineKind) -> Result<CaseReport> {
    let mut rng = Rng(seed);
    let timeline = hostile::timeline(&mut rng, len);
    let mut report = CaseReport {
        seed,
        entries: timeline.len(),
        ..CaseReport::default()
    };
    for d in &timeline {
        *report.faults.entry(d.class).or_default() += 1;
    }
    let mut nodes = Trio {
        mx1: Node::mx(engine)?,
        mx2: Node::mx(engine)?,
        ca: Node::ca(engine)?,
    };
    nodes.deliver(&timeline, &mut rng, &mut report.failures)?;
    nodes.catch_up(&mut rng, &mut report);
    nodes.exchange_proofs(&mut report)?;
    nodes.compare(&mut report)?;
    Ok(report)
}

/// The nodes of a case: two readers (MX-SEDENA, a recipient of US's sealed
/// entries) and CA-GAC, which US does not seal to (it reads only the clear
/// entries).
struct Trio {
    mx1: Node,
    mx2: Node,
    ca: Node,
}

impl Trio {
    fn all(&self) -> [&Node; 3] {
        [&self.mx1, &self.mx2, &self.ca]
    }

    /// The timeline reaches each node in its own order and by its own path.
    /// mx1: gossip as the router takes it (verdict after the chain append,
    /// the apply step after it or folded into the next commit); ca: one by
    /// one through the plain door; mx2: ranges of random sizes, restarted
    /// half-way. A transaction that fails goes to `failures`.
    fn deliver(
        &mut self,
        timeline: &[Delivery],
        rng: &mut Rng,
        failures: &mut Vec<String>,
    ) -> Result<()> {
        for d in &interleave(timeline, rng) {
            let apply = rng.range(0, 2) != 0;
            if let Err(e) = self.mx1.gossip_deferred(&d.bytes, apply) {
                failures.push(format!("mx1 gossip {:?}: {e:#}", d.class));
            }
        }
        if let Err(e) = self.mx1.v().ingest().apply_behind() {
            failures.push(format!("mx1 apply: {e:#}"));
        }
        for d in &interleave(timeline, rng) {
            if let Err(e) = self.ca.gossip(&d.bytes) {
                failures.push(format!("ca gossip {:?}: {e:#}", d.class));
            }
        }
        let order = interleave(timeline, rng);
        let mut at = 0;
        while at < order.len() {
            let size = rng.range(1, 12) as usize;
            let end = (at + size).min(order.len());
            let refs: Vec<&[u8]> = order[at..end].iter().map(|d| d.bytes.as_slice()).collect();
            if let Err(e) = self.mx2.range(&refs) {
                failures.push(format!("mx2 range {at}..{end}: {e:#}"));
            }
            if at < order.len() / 2 && end >= order.len() / 2 {
                self.mx2.restart()?;
            }
            at = end;
        }
        Ok(())
    }

    /// Catch-up both ways: what one stored, the others take.
    fn catch_up(&self, rng: &mut Rng, report: &mut CaseReport) {
        let Trio { mx1, mx2, ca } = self;
        for (to, from) in [(mx2, mx1), (ca, mx1), (mx1, mx2), (mx1, ca), (ca, mx2)] {
            if let Err(e) = to.catch_up(from, rng) {
                report.disagreements.push(format!(
                    "catch-up {} from {}: {e:#}",
                    to.authority, from.authority
                ));
            }
        }
    }

    /// Fork proofs travel on their own topic: each node offers the others
    /// the proofs it holds, as it publishes them after storing them.
    fn exchange_proofs(&self, report: &mut CaseReport) -> Result<()> {
        for from in self.all() {
            for e in from.store_handle().evidence()? {
                let [a, b] = &e.entries;
                let (Ok(a), Ok(b)) = (
                    tally_model::SignedEntry::decode(a),
                    tally_model::SignedEntry::decode(b),
                ) else {
                    report.disagreements.push(format!(
                        "{}: a stored proof does not decode",
                        from.authority
                    ));
                    continue;
                };
                let proof = tally_model::encode_proof(&a, &b);
                for to in self.all() {
                    if let Err(e) = to.v().ingest().proof(&proof) {
                        report
                            .failures
                            .push(format!("{} proof: {e:#}", to.authority));
                    }
                }
            }
        }
        Ok(())
    }

    /// What the nodes must agree on: the proofs of forks and the heads on
    /// all three; the derived state (before and after a reindex) on the two
    /// readers unless they ended on two branches of a fork; every store
    /// sound.
    fn compare(&self, report: &mut CaseReport) -> Result<()> {
        let Trio { mx1, mx2, ca } = self;
        let proofs = |n: &Node| -> Result<Vec<(String, u64)>> {
            Ok(n.store_handle()
                .evidence()?
                .into_iter()
                .map(|e| (e.authority.to_string(), e.seq))
                .collect())
        };
        let (p1, p2, p3) = (proofs(mx1)?, proofs(mx2)?, proofs(ca)?);
        if p1 != p2 || p1 != p3 {
            report
                .disagreements
                .push(format!("fork proofs: mx1 {p1:?}, mx2 {p2:?}, ca {p3:?}"));
        }
        // A forked log may legitimately stop at different branches on
        // different nodes (each refuses the other side, docs/PROTOCOL.md 4);
        // what they must share is the proof, checked above. Every other
        // log: the same heads.
        let heads =
            |n: &Node| -> Result<Vec<(tally_model::AuthorityId, u64, tally_model::EntryHash)>> {
                Ok(n.store_handle()
                    .heads()?
                    .into_iter()
                    .filter(|(a, _, _)| !p1.iter().any(|(f, _)| f == a.as_str()))
                    .collect())
            };
        let (h1, h2, h3) = (heads(mx1)?, heads(mx2)?, heads(ca)?);
        report.stored = mx1.store_handle().heads()?.iter().map(|(_, s, _)| s).sum();
        if h1 != h2 || h1 != h3 {
            report
                .disagreements
                .push(format!("heads: mx1 {h1:?}, mx2 {h2:?}, ca {h3:?}"));
        }
        if mx1.store_handle().heads()? != mx2.store_handle().heads()? {
            // The two readers hold different branches of a proven fork:
            // their derived states differ by what each branch carries.
            report.split_by_fork = true;
            return Ok(());
        }
        self.compare_readers(report)?;
        for n in self.all() {
            if let Some(why) = sound(n) {
                report.disagreements.push(format!("store check: {why}"));
            }
        }
        Ok(())
    }

    /// The two readers derived the same state, and mx2 derives it again
    /// from its entries alone (a reindex).
    fn compare_readers(&self, report: &mut CaseReport) -> Result<()> {
        let d1 = self.mx1.store_handle().derived_digest()?;
        let d2 = self.mx2.store_handle().derived_digest()?;
        if d1 != d2 {
            report.disagreements.push(format!(
                "derived state of the two readers: {d1:?} vs {d2:?}; alerts {:?} vs {:?}",
                alert_ids(&self.mx1)?,
                alert_ids(&self.mx2)?
            ));
        }
        self.mx2.v().reindex(&mut |_| {})?;
        let d2 = self.mx2.store_handle().derived_digest()?;
        if d1 != d2 {
            report
                .disagreements
                .push(format!("derived state after a reindex: {d1:?} vs {d2:?}"));
        }
        Ok(())
    }
}

fn alert_ids(n: &Node) -> Result<Vec<String>> {
    Ok(n.store_handle()
        .alerts()?
        .into_iter()
        .map(|a| format!("{}{}", a.id, if a.open { "" } else { " (closed)" }))
        .collect())
}
