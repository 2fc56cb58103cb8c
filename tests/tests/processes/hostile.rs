//! A hostile but trusted peer: an in-test libp2p swarm (`tally_p2p::spawn`)
//! holding the signing key of a trusted authority (CA-GAC), which can sign
//! valid entries, forks, forged and malformed ones, publish them on
//! `tally/entries/1`, lie in its sync answers and flood sync requests.

use super::docs;
use super::rig::{self, free_port, lock};
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tally_model::{AuthorityKey, Body, Document, Entry, EntryHash, License, SignedEntry};
use tally_p2p::{
    Acceptance, Head, Multiaddr, NetEvent, P2pHandle, PeerId, SyncAnswer, SyncQuery, Topic,
};

pub const AUTHORITY: &str = "CA-GAC";

/// How the hostile peer answers sync queries.
#[derive(Default)]
pub struct Answers {
    /// Its log as it serves it when honest (encoded `SignedEntry`s, seq 1..).
    pub served: Vec<Vec<u8>>,
    /// Lie: claim far-ahead heads of itself and of honest authorities, and
    /// answer ranges with forged entries.
    pub lie: bool,
    /// Queries answered, lying or not.
    pub answered: u64,
}

/// What the hostile peer received.
#[derive(Default)]
pub struct Seen {
    /// Peers that forwarded gossip to it (their subscriptions reached it).
    pub gossip_from: BTreeSet<PeerId>,
}

pub struct Hostile {
    pub p2p: P2pHandle,
    pub card: PathBuf,
    key: AuthorityKey,
    pub answers: Arc<Mutex<Answers>>,
    pub seen: Arc<Mutex<Seen>>,
}

impl Hostile {
    /// Starts the swarm on a free loopback port and writes its card to `dir/card.toml`.
    pub async fn spawn(dir: &Path) -> Result<Hostile> {
        let key = AuthorityKey::from_bytes(&rand::random());
        let keypair = tally_p2p::Keypair::generate_ed25519();
        let config = tally_p2p::Config {
            listen: format!("/ip4/127.0.0.1/tcp/{}", free_port()),
            // Large enough to send what honest nodes must refuse.
            max_gossip_bytes: 2 * 1024 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            max_outbound_sync: 256,
            redial_max_ms: 2000,
            ..Default::default()
        };
        let (p2p, mut events) = tally_p2p::spawn(config, keypair, Default::default())
            .context("starting the hostile swarm")?;
        let addrs = p2p.listen_addrs().await?;
        std::fs::create_dir_all(dir)?;
        let card = dir.join("card.toml");
        let addresses: Vec<String> = addrs
            .iter()
            .map(|a| format!("{:?}", a.to_string()))
            .collect();
        std::fs::write(
            &card,
            format!(
                "authority = \"{AUTHORITY}\"\ncountry = \"CA\"\nname = \"Hostile but trusted\"\n\
                 peer_id = \"{}\"\naddresses = [{}]\n\n[[keys]]\npublic_key = \"{}\"\nvalid_from_ms = 0\n",
                p2p.local_peer_id(),
                addresses.join(", "),
                hex(key.public().as_bytes()),
            ),
        )?;
        let answers = Arc::new(Mutex::new(Answers::default()));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (handle, a, s) = (p2p.clone(), answers.clone(), seen.clone());
        let signer = AuthorityKey::from_bytes(&key.to_bytes());
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    NetEvent::Gossip { from, message, .. } => {
                        lock(&s).gossip_from.insert(from);
                        let _ = handle.report(message, Acceptance::Ignore).await;
                    }
                    NetEvent::SyncQuery { query, reply, .. } => {
                        let answer = answer(&signer, &mut lock(&a), query);
                        let _ = reply.send(answer);
                    }
                    NetEvent::PeerConnected(_) | NetEvent::PeerDisconnected(_) => {}
                }
            }
        });
        Ok(Hostile {
            p2p,
            card,
            key,
            answers,
            seen,
        })
    }

    /// Trusts (allows and dials) the honest nodes.
    pub async fn trust(&self, nodes: &[&rig::Proc]) -> Result<()> {
        let peers = nodes
            .iter()
            .map(|n| -> Result<(PeerId, Vec<Multiaddr>)> {
                Ok((n.peer_id.parse()?, vec![n.p2p_addr().parse()?]))
            })
            .collect::<Result<Vec<_>>>()?;
        self.p2p.set_trusted(peers).await?;
        Ok(())
    }

    /// A valid CA-GAC entry: an import certificate numbered `number`.
    pub fn entry(&self, seq: u64, prev: Option<EntryHash>, number: &str) -> Result<SignedEntry> {
        sign(&self.key, AUTHORITY, seq, prev, number)
    }

    pub async fn publish(&self, bytes: Vec<u8>) -> Result<()> {
        self.p2p.publish(Topic::Entries, bytes.into()).await?;
        Ok(())
    }

    pub async fn publish_evidence(&self, bytes: Vec<u8>) -> Result<()> {
        self.p2p.publish(Topic::Evidence, bytes.into()).await?;
        Ok(())
    }

    pub fn shutdown(&self) {
        self.p2p.shutdown();
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.p2p.shutdown();
    }
}

/// Signs an import certificate of `authority`'s country as entry `seq` of `authority`'s log.
fn sign(
    key: &AuthorityKey,
    authority: &str,
    seq: u64,
    prev: Option<EntryHash>,
    number: &str,
) -> Result<SignedEntry> {
    let country = docs::country(authority);
    let other = if country == "US" { "MX" } else { "US" };
    let license: License = serde_json::from_value(docs::import(number, country, other))?;
    let entry = Entry {
        authority: authority.parse()?,
        seq,
        prev,
        issued_at_ms: now_ms(),
        recipients: Vec::new(),
        body: Body::Document(Document::License(license)),
    };
    Ok(key.sign(&entry).signed().clone())
}

/// The encoding of `signed` with one bit of its signature flipped (the
/// signature is the last field, so the last byte is the signature's).
pub fn forge(signed: &SignedEntry) -> Vec<u8> {
    let mut bytes = signed.encode();
    if let Some(last) = bytes.last_mut() {
        *last ^= 1;
    }
    bytes
}

fn answer(key: &AuthorityKey, a: &mut Answers, query: SyncQuery) -> SyncAnswer {
    a.answered += 1;
    match query {
        SyncQuery::Heads if a.lie => SyncAnswer::Heads(
            [AUTHORITY, "US-DDTC", "MX-SEDENA", "GT-DIGECAM"]
                .into_iter()
                .map(|authority| Head {
                    authority: authority.to_owned(),
                    seq: 1000,
                    hash: rand::random::<[u8; 32]>().to_vec(),
                })
                .collect(),
        ),
        SyncQuery::Heads => {
            let heads = a.served.last().and_then(|last| {
                Some(Head {
                    authority: AUTHORITY.to_owned(),
                    seq: a.served.len() as u64,
                    hash: SignedEntry::decode(last).ok()?.id().0.to_vec(),
                })
            });
            SyncAnswer::Heads(heads.into_iter().collect())
        }
        // Proofs that prove nothing: bytes that are no proof, and a "fork"
        // whose second entry's signature is broken.
        SyncQuery::Evidence if a.lie => {
            let junk = sign(key, AUTHORITY, 1, None, "FORGED-PROOF").map(|e| {
                let broken = SignedEntry::decode(&forge(&e)).unwrap_or(e.clone());
                tally_model::encode_proof(&e, &broken)
            });
            let mut out = vec![b"not a proof".to_vec()];
            out.extend(junk.ok());
            SyncAnswer::Range(out.into_iter().map(Into::into).collect())
        }
        SyncQuery::Evidence => SyncAnswer::Range(Vec::new()),
        SyncQuery::Range {
            authority,
            from,
            limit,
        } => {
            let mut out: Vec<Vec<u8>> = Vec::new();
            if authority == AUTHORITY {
                let start = usize::try_from(from.max(1) - 1).unwrap_or(usize::MAX);
                out.extend(a.served.iter().skip(start).take(limit as usize).cloned());
            }
            if a.lie {
                // Continue with forgeries: a chain of entries with broken
                // signatures for CA-GAC; entries "of" honest authorities
                // signed with CA-GAC's key (impersonation).
                let mut seq = from + out.len() as u64;
                let mut prev = prev_of(&out);
                while out.len() < (limit as usize).min(4) {
                    let Ok(signed) = sign(
                        key,
                        &authority,
                        seq,
                        prev.or_else(|| (seq > 1).then(|| EntryHash(rand::random()))),
                        &format!("FORGED-{seq}"),
                    ) else {
                        break;
                    };
                    prev = Some(signed.id());
                    out.push(if authority == AUTHORITY {
                        forge(&signed)
                    } else {
                        signed.encode()
                    });
                    seq += 1;
                }
            }
            SyncAnswer::Range(out.into_iter().map(Into::into).collect())
        }
    }
}

fn prev_of(entries: &[Vec<u8>]) -> Option<EntryHash> {
    entries
        .last()
        .and_then(|b| SignedEntry::decode(b).ok())
        .map(|s| s.id())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes standard base64 (the API's encoding of evidence entries).
pub fn base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
