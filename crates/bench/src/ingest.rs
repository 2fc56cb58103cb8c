//! `ingest_per_s`: a fresh node B catches up node A's log over real libp2p
//! on loopback (both in this process), until B's head equals A's: every
//! entry verified (batch), chain-checked and durably committed by B.
//!
//! Three logs of the same documents, each caught up by a fresh node B:
//! clear, sealed to B (B opens every entry and applies the document), and
//! sealed to a third authority (B keeps the chain, applies nothing).

use crate::fixtures::{Docs, LogWriter, NodeSetup, Sealer, temp_root};
use crate::progress;
use std::time::{Duration, Instant};
use tally_model::seal::{EncryptionPublic, EncryptionSecret};
use tally_model::{AuthorityId, Document, Recipient};
use tally_node::Node;
use tally_verify::Verifier;

/// How node A's log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carriage {
    Clear,
    /// Sealed with B as the recipient.
    SealedParty,
    /// Sealed to a third authority: B is not a recipient.
    SealedOther,
}

impl Carriage {
    fn label(self) -> &'static str {
        match self {
            Carriage::Clear => "clear",
            Carriage::SealedParty => "sealed to B",
            Carriage::SealedOther => "sealed, not to B",
        }
    }
}

/// One catch-up.
pub struct Catchup {
    pub entries: u64,
    pub per_s: f64,
    /// From B's start to its first entry of A (start-up, dial, handshake, first range).
    pub first_entry_ms: f64,
    /// Size of one signed entry of A's log (the last), bytes.
    pub entry_bytes: f64,
    /// B's store directory (apparent size) after the catch-up, per entry.
    pub disk_bytes_per_entry: f64,
}

pub struct Ingest {
    pub clear: Catchup,
    pub party: Option<Catchup>,
    pub other: Option<Catchup>,
}

/// The issuer's X25519 secret for the sealed logs (fixed: written to node
/// A's key file and card before B trusts A).
const ISSUER_SECRET: [u8; 32] = [0x1A; 32];
/// The recipient's secret when B is not one.
const THIRD_SECRET: [u8; 32] = [0x3C; 32];

pub async fn run(quick: bool) -> anyhow::Result<Ingest> {
    let clear = catch_up(quick, Carriage::Clear).await?;
    let party = catch_up(quick, Carriage::SealedParty).await?;
    let other = catch_up(quick, Carriage::SealedOther).await?;
    progress!(
        "ingest: clear {:.0}/s; sealed to B {:.0}/s ({:.3}x clear); sealed, not to B {:.0}/s ({:.3}x clear)",
        clear.per_s,
        party.per_s,
        party.per_s / clear.per_s,
        other.per_s,
        other.per_s / clear.per_s
    );
    Ok(Ingest {
        clear,
        party: Some(party),
        other: Some(other),
    })
}

pub async fn catch_up(quick: bool, carriage: Carriage) -> anyhow::Result<Catchup> {
    let n: u64 = if quick { 20_000 } else { 100_000 };
    let label = carriage.label();
    let root = temp_root("tally-bench-ingest-")?;
    let mut a = NodeSetup::init(&root.path().join("a"), "US-SRC")?;
    let b = NodeSetup::init(&root.path().join("b"), "MX-DST")?;
    if carriage != Carriage::Clear {
        seal_with_fixed_key(&mut a)?;
    }
    a.trust([b.card.clone()])?;
    b.trust([a.card.clone()])?;
    let recipient = carriage.recipient(&b)?;

    progress!("ingest ({label}): filling node A with {n} entries");
    let entry_bytes = fill_a(&a, recipient, n)?;
    let node_a = Node::start(&a.dir).await?;
    // A's full store check runs in the background after it starts; what is
    // timed here is B's catch-up, not the two sharing the cores.
    while !node_a.store_check_done() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let authority = a.card.authority.clone();

    progress!("ingest ({label}): starting node B; timing until B holds all {n} entries");
    let t0 = Instant::now();
    let node_b = Node::start(&b.dir).await?;
    let verifier = node_b.verifier().clone();
    let deadline = Duration::from_secs(if quick { 300 } else { 900 });
    let first = wait_for_head(&verifier, &authority, n, t0, deadline).await?;
    let elapsed = t0.elapsed();
    let per_s = n as f64 / elapsed.as_secs_f64();
    progress!(
        "ingest ({label}): {n} entries in {:.2} s = {per_s:.0}/s (first entry after {:.0} ms; {entry_bytes:.0} B per signed entry)",
        elapsed.as_secs_f64(),
        first.unwrap_or_default().as_secs_f64() * 1000.0
    );
    // B applied what it could open: a recipient holds the licenses, a
    // non-recipient none.
    let sample = Docs::export_number(n - 1);
    let held = verifier.reader()?.license(&authority, &sample)?.is_some();
    if held != (carriage != Carriage::SealedOther) {
        anyhow::bail!(
            "ingest ({label}): node B {} license {sample} of A",
            if held { "holds" } else { "does not hold" }
        );
    }
    drop(verifier);
    node_b.shutdown().await;
    node_a.shutdown().await;
    let disk = crate::fixtures::dir_bytes(&b.settings.store_path) as f64 / n as f64;
    // What the file system holds of it: the file's length includes space
    // the engine reserved ahead and has not written.
    let allocated = crate::fixtures::allocated_bytes(&b.settings.store_path) as f64 / n as f64;
    let live = crate::disk::live_bytes(&b.settings.store_path, b.settings.engine)?;
    progress!(
        "ingest ({label}): node B's store {disk:.0} B per entry ({allocated:.0} B allocated); live keys+values {:.0} B/entry: {}",
        live.iter().map(|(_, b, _)| b).sum::<u64>() as f64 / n as f64,
        crate::disk::by_prefix(&live, n)
    );
    Ok(Catchup {
        entries: n,
        per_s,
        first_entry_ms: first.unwrap_or_default().as_secs_f64() * 1000.0,
        entry_bytes,
        disk_bytes_per_entry: disk,
    })
}

/// Node A seals with the fixed [`ISSUER_SECRET`]: its key file and its card
/// (which B trusts) say so.
fn seal_with_fixed_key(a: &mut NodeSetup) -> anyhow::Result<()> {
    let issuer = EncryptionSecret::from_bytes(ISSUER_SECRET);
    std::fs::write(
        &a.settings.encryption_key,
        format!("{}\n", hex::encode(ISSUER_SECRET)),
    )?;
    for k in &mut a.card.encryption_keys {
        k.public_key = issuer.public().to_hex();
    }
    // The node's own card too: a node refuses to start with a key its
    // card never announced.
    tally_node::files::write_card(&a.dir.join("card.toml"), &a.card)?;
    Ok(())
}

impl Carriage {
    /// Who A's entries are sealed to (none: clear).
    fn recipient(self, b: &NodeSetup) -> anyhow::Result<Option<Recipient>> {
        Ok(match self {
            Carriage::Clear => None,
            Carriage::SealedParty => {
                let key = b
                    .card
                    .encryption_keys
                    .last()
                    .and_then(|k| EncryptionPublic::parse(&k.public_key))
                    .ok_or_else(|| anyhow::anyhow!("node B's card has no encryption key"))?;
                Some(Recipient {
                    authority: b.card.authority.clone(),
                    encryption_key: key,
                })
            }
            Carriage::SealedOther => Some(Recipient {
                authority: "MX-OTHER".parse()?,
                encryption_key: EncryptionSecret::from_bytes(THIRD_SECRET).public(),
            }),
        })
    }
}

/// Writes `n` export licenses to node A's store (sealed to `recipient` if
/// any); returns the size of the last signed entry.
fn fill_a(a: &NodeSetup, recipient: Option<Recipient>, n: u64) -> anyhow::Result<f64> {
    let store = a.open_store()?;
    let mut w = match recipient {
        None => LogWriter::new("US-SRC", a.authority_key()?),
        Some(r) => LogWriter::sealed(
            "US-SRC",
            a.authority_key()?,
            Sealer::new(EncryptionSecret::from_bytes(ISSUER_SECRET), vec![r]),
        ),
    };
    let docs = Docs::new();
    tokio::task::block_in_place(|| {
        crate::fixtures::fill(&store, &mut w, n, 4096, "node A", |i| {
            Document::License(docs.export(i, "MX-SEDENA"))
        })
    })?;
    let authority = a.card.authority.clone();
    Ok(store
        .entry_at(&authority, n)?
        .map_or(f64::NAN, |s| s.encode().len() as f64))
}

/// Polls node B's store until its head of `authority` reaches `n`, with a
/// progress line every 5 s; returns when the first entry arrived (from `t0`).
async fn wait_for_head(
    verifier: &Verifier,
    authority: &AuthorityId,
    n: u64,
    t0: Instant,
    deadline: Duration,
) -> anyhow::Result<Option<Duration>> {
    let mut first = None;
    let mut last_report = Instant::now();
    loop {
        let seq = verifier.reader()?.head(authority)?.map_or(0, |(s, _)| s);
        if seq > 0 && first.is_none() {
            first = Some(t0.elapsed());
        }
        if seq >= n {
            return Ok(first);
        }
        if t0.elapsed() > deadline {
            anyhow::bail!("node B holds {seq} of {n} entries after {deadline:?}");
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            progress!(
                "  node B: {seq}/{n} ({:.0}/s)",
                seq as f64 / t0.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
