//! In-process nodes with identical trust lists, declarations and clock, and
//! the paths entries reach them by: gossip one by one, sync ranges of random
//! sizes, a restart half-way, catch-up from another node's store, reindex.

use crate::hostile::{
    self, CA_ENC, CA_KEY, GT_CARD_ENC, GT_KEY, MX_ENC, MX_KEY, NOW, US_ENC, US_KEY, enc,
};
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::{Arc, RwLock};
use tally_model::{AuthorityId, CardKey, TrustList};
use tally_store::{EngineKind, Store};
use tally_testkit::{key, trust_list};
use tally_verify::sealing::{SealOpener, Sealing};
use tally_verify::{IngestOutcome, NoPublish, Verifier};

/// One node: its directory, who it is, and the verifier over its store.
pub struct Node {
    pub dir: tempfile::TempDir,
    pub authority: &'static str,
    signing: u8,
    secret: u8,
    engine: EngineKind,
    /// The verifier and a handle on its store (a tool reads it whole: its
    /// chains, its derived digest); `None` only inside [`Node::restart`].
    v: Option<(Verifier, Store)>,
}

fn trust_for(own: &AuthorityId) -> TrustList {
    let mut list = trust_list(&[
        ("US-DDTC", US_KEY),
        ("MX-SEDENA", MX_KEY),
        ("GT-DIGECAM", GT_KEY),
        ("CA-GAC", CA_KEY),
    ]);
    list.cards.retain(|c| c.authority != *own);
    for c in &mut list.cards {
        let n = match c.authority.as_str() {
            "US-DDTC" => US_ENC,
            "MX-SEDENA" => MX_ENC,
            "GT-DIGECAM" => GT_CARD_ENC,
            _ => CA_ENC,
        };
        c.encryption_keys = vec![CardKey::new(enc(n).public().to_hex(), 0)];
    }
    list
}

fn open(
    dir: &Path,
    authority: &str,
    signing: u8,
    secret: u8,
    engine: EngineKind,
) -> Result<(Verifier, Store)> {
    let own = hostile::id(authority);
    let trust = Arc::new(RwLock::new(trust_for(&own)));
    let sealing = Arc::new(Sealing::new(
        vec![enc(secret)],
        Box::new(tally_model::seal::DeterministicRandom::new([secret; 32])),
    ));
    let opener = SealOpener {
        sealing: sealing.clone(),
        trust: trust.clone(),
        own: own.clone(),
    };
    let store = Store::open_with(
        dir,
        tally_store::OpenOptions {
            engine,
            reader: Some(Arc::new(opener)),
            ..Default::default()
        },
    )
    .context("store")?;
    let v = Verifier::builder(store.clone(), own, key(signing))
        .trust(trust)
        .publish(Box::new(NoPublish))
        .clock(Box::new(tally_verify::FixedClock(NOW)))
        .sealing(sealing)
        .build();
    Ok((v, store))
}

impl Node {
    pub fn mx(engine: EngineKind) -> Result<Node> {
        Node::new("MX-SEDENA", MX_KEY, MX_ENC, engine)
    }

    pub fn ca(engine: EngineKind) -> Result<Node> {
        Node::new("CA-GAC", CA_KEY, CA_ENC, engine)
    }

    fn new(authority: &'static str, signing: u8, secret: u8, engine: EngineKind) -> Result<Node> {
        let dir = tempfile::tempdir()?;
        let v = open(dir.path(), authority, signing, secret, engine)?;
        Ok(Node {
            dir,
            authority,
            signing,
            secret,
            engine,
            v: Some(v),
        })
    }

    /// Stops and starts again on the same store.
    pub fn restart(&mut self) -> Result<()> {
        // The store closes with the last handle to it.
        self.v = None;
        self.v = Some(open(
            self.dir.path(),
            self.authority,
            self.signing,
            self.secret,
            self.engine,
        )?);
        Ok(())
    }

    pub fn v(&self) -> &Verifier {
        &self.v.as_ref().expect("a node is open outside restart").0
    }

    /// Gossip: one entry at a time. An error is a failed transaction.
    pub fn gossip(&self, bytes: &[u8]) -> Result<IngestOutcome> {
        self.v()
            .ingest()
            .entry(bytes)
            .context("a transaction failed")
    }

    /// Gossip as the router does it: the verdict after the chain append,
    /// then (when `apply` is set) the apply step; otherwise the next commit
    /// applies what is behind first.
    pub fn gossip_deferred(&self, bytes: &[u8], apply: bool) -> Result<IngestOutcome> {
        let out = self
            .v()
            .ingest()
            .gossip(bytes)
            .context("a transaction failed")?;
        if apply {
            self.v()
                .ingest()
                .apply_behind()
                .context("applying failed")?;
        }
        Ok(out)
    }

    /// Sync: a range at once.
    pub fn range(&self, entries: &[&[u8]]) -> Result<Vec<IngestOutcome>> {
        self.v()
            .ingest()
            .many(entries)
            .context("a transaction failed")
    }

    pub fn store_handle(&self) -> &Store {
        &self.v.as_ref().expect("a node is open outside restart").1
    }

    /// Pulls what `from` holds and this node lacks, in ranges of `1..=max`
    /// entries, as sync does from a peer. Err if a range makes no progress
    /// (this node refuses what the other stored: a disagreement).
    pub fn catch_up(&self, from: &Node, sizes: &mut tally_testkit::Rng) -> Result<()> {
        for (authority, seq, _) in from.store_handle().heads()? {
            loop {
                let have = self.store_handle().head(&authority)?.map_or(0, |h| h.0);
                if have >= seq {
                    break;
                }
                let limit = sizes.range(1, 16) as usize;
                let range = from.store_handle().range(&authority, have + 1, limit)?;
                let bytes: Vec<Vec<u8>> = range.iter().map(|s| s.encode()).collect();
                let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
                let outcomes = self.range(&refs)?;
                // The other node holds another branch of a fork: this log
                // stops here (the proof is checked by the caller, and a
                // log with no proof must still end with the same head).
                if matches!(
                    outcomes.first(),
                    Some(IngestOutcome::Rejected(
                        tally_verify::Rejection::BrokenChain(_)
                            | tally_verify::Rejection::Equivocation(_)
                    ))
                ) {
                    break;
                }
                let now = self.store_handle().head(&authority)?.map_or(0, |h| h.0);
                anyhow::ensure!(
                    now > have,
                    "{} refuses {authority} seq {} that {} stored: {:?}",
                    self.authority,
                    have + 1,
                    from.authority,
                    outcomes.first()
                );
            }
        }
        Ok(())
    }
}
