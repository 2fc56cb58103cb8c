//! Need-to-know (docs/PROTOCOL.md section 6) on this node: whom a document is
//! sealed to when it is issued, and opening what peers sealed to this node.
//!
//! [`Sealing`] holds the node's X25519 secrets (the newest seals; old ones
//! still open what was sealed to them), the pair-key cache and the random
//! source. [`SealOpener`] opens a sealed entry before it is applied
//! (`crate::apply`), answering with the document only when the entry is
//! addressed here and its recipient list keeps the rule; it is also the
//! store's [`SealedReader`], to read back what opened.

use crate::own_keys::OwnKeys;
use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use tally_model::issuer_keys;
use tally_model::recipients::{Readers, readers};
use tally_model::seal::{self, EncryptionPublic, EncryptionSecret, Header, PairKeys, Random};
use tally_model::{AuthorityId, Body, Country, Document, Entry, License, Recipient, TrustList};
use tally_store::{AnnouncedKey, Opening, SealedReader};

/// Pair keys kept: one per (own key, peer key) pair; 200 States with a
/// few keys each fit.
const PAIR_CACHE: usize = 4096;

/// This node's encryption keys and what sealing needs.
pub struct Sealing {
    /// Newest first: the first seals and is announced in the card; older
    /// ones stay to open what was sealed to them, each tried only on
    /// entries of its time ([`crate::own_keys`]).
    secrets: RwLock<OwnKeys>,
    pairs: PairKeys,
    random: Mutex<Box<dyn Random + Send>>,
    /// Sealed bodies (issuer key, commitment) the archive did not open
    /// either, newest last: a document whose secret was dropped is read
    /// at the window's cost, not the archive's, every time after the first.
    archive_misses: Mutex<VecDeque<(EncryptionPublic, [u8; 32])>>,
}

/// Most sealed bodies remembered as not opening with any kept secret.
const ARCHIVE_MISSES: usize = 1024;

impl std::fmt::Debug for Sealing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealing")
            .field("public", &self.public())
            .field("keys", &self.secrets().len())
            .finish()
    }
}

impl Sealing {
    /// `secrets` newest first (at least one); `random` draws content keys,
    /// nonces and decoys (the OS generator outside tests). Until
    /// [`Sealing::set_valid_from`] says when they were announced, every
    /// secret is tried on every entry.
    pub fn new(secrets: Vec<EncryptionSecret>, random: Box<dyn Random + Send>) -> Sealing {
        Sealing {
            secrets: RwLock::new(OwnKeys::new(secrets)),
            pairs: PairKeys::new(PAIR_CACHE),
            random: Mutex::new(random),
            archive_misses: Mutex::new(VecDeque::new()),
        }
    }

    fn secrets(&self) -> std::sync::RwLockReadGuard<'_, OwnKeys> {
        self.secrets.read().unwrap_or_else(|p| p.into_inner())
    }

    fn secrets_mut(&self) -> std::sync::RwLockWriteGuard<'_, OwnKeys> {
        self.secrets.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The key peers seal to.
    pub fn public(&self) -> Option<EncryptionPublic> {
        self.secrets().newest().map(EncryptionSecret::public)
    }

    /// Every public key of this node, newest first.
    pub fn publics(&self) -> Vec<EncryptionPublic> {
        self.secrets().publics()
    }

    /// Whether `public` is one of this node's keys (current or retired).
    pub fn holds(&self, public: &EncryptionPublic) -> bool {
        self.secrets().holds(public)
    }

    /// Makes `secret`, announced from `valid_from_ms`, the key this node
    /// seals with and is sealed to; the older ones stay, to open what was
    /// sealed to them.
    pub fn add_newest(&self, secret: EncryptionSecret, valid_from_ms: i64) {
        self.secrets_mut().add_newest(secret, valid_from_ms);
        self.forget_misses();
    }

    /// When this node's keys were announced (public key, `valid_from_ms`),
    /// from its card, then from its log (a later call wins): each key is
    /// then tried only on entries of its time.
    pub fn set_valid_from(&self, announced: &[(EncryptionPublic, i64)]) {
        self.secrets_mut().set_valid_from(announced);
        self.forget_misses();
    }

    fn forget_misses(&self) {
        self.archive_misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// How many held secrets have no known announcement (tried on every
    /// entry).
    pub fn undated(&self) -> usize {
        self.secrets().undated()
    }

    /// The own secrets an entry issued at `at_ms` can be addressed to, the
    /// likeliest first (at most [`crate::own_keys::MAX_OWN_KEYS_PER_ENTRY`]
    /// once every key is dated).
    pub fn around(&self, at_ms: i64) -> Vec<EncryptionSecret> {
        self.secrets().around(at_ms)
    }

    /// Reads again, with every other kept secret (the archive), a sealed
    /// body the keys around its time (`tried`) did not open: a document a
    /// node opened before it knew when its keys were announced. Derives
    /// its pair keys outside the shared cache, which the archive would
    /// otherwise evict; remembers what did not open (the secret was
    /// dropped) so that later reads of it skip the archive.
    pub(crate) fn reopen_from_archive(
        &self,
        entry: &Entry,
        sealed: &tally_model::Sealed,
        issuer: EncryptionPublic,
        tried: &[EncryptionSecret],
    ) -> Option<Document> {
        let id = (issuer, sealed.commitment);
        let mut misses = self
            .archive_misses
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if misses.contains(&id) {
            return None;
        }
        let archive = self.secrets().archive(tried);
        let scratch = PairKeys::new(1);
        match seal::open(Header::of(entry), sealed, &[issuer], &archive, &scratch) {
            seal::Opening::Opened(payload) => Some(payload.document),
            _ => {
                if misses.len() >= ARCHIVE_MISSES {
                    misses.pop_front();
                }
                misses.push_back(id);
                None
            }
        }
    }

    /// What opening has cost so far: pair keys asked for (one tag each)
    /// and derived (one X25519 each).
    pub fn pair_costs(&self) -> (u64, u64) {
        (self.pairs.asked(), self.pairs.derived())
    }

    /// Seals `document` for the entry `header` to `plan`'s recipients; also
    /// gives back the payload sealed (the issuer applies it as it is).
    pub(crate) fn seal(
        &self,
        header: Header<'_>,
        document: &Document,
        plan: &Plan,
    ) -> Result<(tally_model::Sealed, tally_model::SealedPayload), seal::SealError> {
        let secrets = self.secrets();
        let issuer = secrets
            .newest()
            .ok_or(seal::SealError::MustBeVisible("no encryption key"))?;
        let mut random = self.random.lock().unwrap_or_else(|p| p.into_inner());
        seal::seal_keeping(
            issuer,
            header,
            document,
            &plan.recipients,
            &plan.unreached,
            random.as_mut(),
            &self.pairs,
        )
    }
}

/// Whom one document is sealed to, and what the issuer is told.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub recipients: Vec<Recipient>,
    /// Party countries where this node trusts no authority with an
    /// encryption key: no one there can read the document.
    pub unreached: Vec<Country>,
}

impl Plan {
    /// Every authority that can read it: the issuer first, then the others.
    pub fn readers(&self, issuer: &AuthorityId) -> Vec<AuthorityId> {
        let mut out = vec![issuer.clone()];
        for r in &self.recipients {
            if !out.contains(&r.authority) {
                out.push(r.authority.clone());
            }
        }
        out
    }

    pub fn warnings(&self) -> Vec<String> {
        self.unreached
            .iter()
            .map(|c| format!("no trusted authority of {c}: no one there can read this document"))
            .collect()
    }
}

pub use tally_model::issuer_keys::MAX_ISSUER_KEYS;

/// The issuer keys of docs/PROTOCOL.md 6.7, oldest first: its card's and
/// `announced` (the newest announcements that count, as the store hands
/// them over), with `at_ms` only the [`MAX_ISSUER_KEYS`] newest valid then.
fn known_keys(
    card: Option<&tally_model::Card>,
    announced: &[AnnouncedKey],
    at_ms: Option<i64>,
) -> Vec<EncryptionPublic> {
    let card = card
        .map(|c| c.encryption_keys.as_slice())
        .unwrap_or_default();
    let announced = announced.iter().map(|a| issuer_keys::Announced {
        public_key: &a.public_key,
        valid_from_ms: a.valid_from_ms,
        seq: a.entry.seq,
    });
    issuer_keys::select(card, announced, at_ms)
}

/// What [`plan`] reads of an authority's announced keys: the `limit`
/// newest that count, oldest first.
pub type Announcements<'a> = &'a dyn Fn(&AuthorityId, usize) -> Vec<AnnouncedKey>;

/// The recipients of `document`, issued by `issuer`, concerning `license`
/// (see [`readers`]), from the trust list as it stands: every trusted
/// authority of a party country that has an encryption key. `None`: the
/// document is network-visible.
pub fn plan(
    issuer: &AuthorityId,
    document: &Document,
    license: Option<&License>,
    trust: &TrustList,
    announced: Announcements<'_>,
) -> Option<Plan> {
    let Readers::Parties(countries) = readers(document, issuer.country().as_str(), license) else {
        return None;
    };
    let mut plan = Plan::default();
    let mut reached: BTreeSet<String> = [issuer.country().to_string()].into();
    // Built once: every compromise in force, each (authority, key) once.
    let compromises = trust.compromises();
    for card in &trust.cards {
        if card.authority == *issuer || !countries.contains(card.authority.country().as_str()) {
            continue;
        }
        // The newest key seen: on the card, or announced in its log since;
        // never one declared compromised (its secret may be read elsewhere).
        // With every key compromised the authority's country is unreached
        // until its new card comes.
        // Read past as many announcements as the authority has compromised
        // keys: the newest one not compromised is among them.
        let compromised = compromises
            .iter()
            .filter(|c| c.authority == card.authority)
            .count();
        let announced = announced(&card.authority, compromised + 1);
        let newest = known_keys(Some(card), &announced, None)
            .into_iter()
            .rfind(|k| !trust.encryption_key_compromised(&card.authority, &k.to_hex()));
        if let Some(key) = newest {
            reached.insert(card.authority.country().to_string());
            plan.recipients.push(Recipient {
                authority: card.authority.clone(),
                encryption_key: key,
            });
        }
    }
    plan.unreached = countries
        .iter()
        .filter(|c| !reached.contains(*c))
        .filter_map(|c| c.parse().ok())
        .collect();
    Some(plan)
}

/// Opens sealed entries addressed to this node (before they are applied),
/// and reads back what opened (the store's [`SealedReader`]).
#[derive(Clone)]
pub struct SealOpener {
    pub sealing: Arc<Sealing>,
    pub trust: Arc<RwLock<TrustList>>,
    pub own: AuthorityId,
}

impl SealOpener {
    /// Whether opening `entry` needs its issuer's announced keys: not for
    /// this node's own entries, which open with its own secrets.
    pub fn reads_announcements(&self, entry: &Entry) -> bool {
        entry.authority != self.own
    }

    /// Whether `key` (hex) is among the issuer keys an entry of `entry`'s
    /// authority and time is tried against, given `announced` (the newest
    /// announcements that count, valid at its time).
    pub fn tries(&self, entry: &Entry, announced: &[AnnouncedKey], key: &str) -> bool {
        let trust = self.trust.read().unwrap_or_else(|p| p.into_inner());
        known_keys(
            trust.card(&entry.authority),
            announced,
            Some(entry.issued_at_ms),
        )
        .iter()
        .any(|k| k.to_hex().eq_ignore_ascii_case(key))
    }

    /// Opens `entry`; `announced` are the newest encryption keys its
    /// authority announced in its own log that count and are valid at the
    /// entry's time (besides those on its card; see
    /// [`tally_store::Tx::issuer_announcements`]).
    pub fn open(&self, entry: &Entry, announced: &[AnnouncedKey]) -> Opening {
        let Body::Sealed(sealed) = &entry.body else {
            return Opening::NotAddressed;
        };
        // Only the own keys an entry of its time can be sealed to: what an
        // entry costs does not grow with this node's rotations.
        let own_secrets = self.sealing.around(entry.issued_at_ms);
        let issuer_keys = if entry.authority == self.own {
            // Oldest first, as `known_keys` gives them: the likeliest is tried first.
            own_secrets
                .iter()
                .rev()
                .map(EncryptionSecret::public)
                .collect()
        } else {
            let trust = self.trust.read().unwrap_or_else(|p| p.into_inner());
            known_keys(
                trust.card(&entry.authority),
                announced,
                Some(entry.issued_at_ms),
            )
        };
        if issuer_keys.is_empty() {
            // No key of the issuer known here: nothing can be addressed to us.
            return Opening::NotAddressed;
        }
        let (opening, which) = seal::open_from(
            Header::of(entry),
            sealed,
            &issuer_keys,
            &own_secrets,
            &self.sealing.pairs,
        );
        match (opening, which.and_then(|i| issuer_keys.get(i))) {
            (seal::Opening::NotAddressed, _)
            | (seal::Opening::Unopenable(seal::Unopenable::NoUsableKey), _) => {
                Opening::NotAddressed
            }
            // Nobody on this version reads it, recipient or not.
            (seal::Opening::Unopenable(why @ seal::Unopenable::UnsupportedSuite(_)), _) => {
                Opening::Invalid(format!("unopenable: {why}"))
            }
            // The content key passed its commitment: every recipient
            // decrypts the same bytes and fails the same way.
            (
                seal::Opening::Unopenable(
                    why @ (seal::Unopenable::Decrypt
                    | seal::Unopenable::Padding
                    | seal::Unopenable::Decode(_)),
                ),
                _,
            ) => Opening::Invalid(format!("unopenable: {why}")),
            // Only this stanza's reader can tell.
            (seal::Opening::Unopenable(why), _) => {
                Opening::Excluded(format!("a stanza addressed here does not open: {why}"))
            }
            (seal::Opening::Opened(_), None) => {
                Opening::Excluded("opened with no issuer key (a bug)".into())
            }
            (seal::Opening::Opened(payload), Some(opened_with)) => {
                self.opened(entry, *payload, opened_with)
            }
        }
    }

    /// What `payload`, opened from `entry` with the issuer's key
    /// `opened_with`, comes to: the document to apply with its readers and
    /// doubts, or `document.invalid` when its recipient list breaks the
    /// rule. The issuer's own entries come here straight from sealing (it
    /// has the payload already; no second decryption).
    pub(crate) fn opened(
        &self,
        entry: &Entry,
        payload: tally_model::SealedPayload,
        opened_with: &EncryptionPublic,
    ) -> Opening {
        if let Err(why) = recipients_keep_the_rule(entry, &payload, opened_with, &self.own) {
            return Opening::Invalid(format!("recipients: {why}"));
        }
        // The issuer with the key that opened here, then the payload's
        // other recipients.
        let mut readers = vec![tally_store::state::Reader {
            authority: entry.authority.clone(),
            encryption_key: opened_with.to_hex(),
        }];
        for r in payload.recipients.iter().skip(1) {
            let reader = tally_store::state::Reader {
                authority: r.authority.clone(),
                encryption_key: r.encryption_key.to_hex(),
            };
            if !readers.contains(&reader) {
                readers.push(reader);
            }
        }
        let doubts = self.unreached_doubts(&payload);
        let unconfirmed = readers
            .iter()
            .skip(1)
            .filter(|r| !self.card_knows(&r.authority, &r.encryption_key))
            .cloned()
            .collect();
        let checked = match &payload.document {
            Document::License(l) | Document::Amendment { license: l, .. } => Some(
                tally_model::validate::validate_license(l, entry.authority.country()),
            ),
            _ => None,
        };
        Opening::Document {
            document: Box::new(payload.document),
            readers,
            doubts,
            unconfirmed,
            checked,
        }
    }

    /// Whether `key` (hex) is an encryption key of `authority` on the card
    /// this node trusts for it (or, for this node, one of its own). Keys an
    /// authority announced in its log are the store's to check.
    fn card_knows(&self, authority: &AuthorityId, key: &str) -> bool {
        if *authority == self.own {
            return EncryptionPublic::parse(key).is_some_and(|k| self.sealing.holds(&k));
        }
        let trust = self.trust.read().unwrap_or_else(|p| p.into_inner());
        trust.card(authority).is_some_and(|c| {
            c.encryption_keys
                .iter()
                .any(|k| k.public_key.eq_ignore_ascii_case(key))
        })
    }
}

impl SealedReader for SealOpener {
    fn reopen(&self, entry: &Entry, issuer_key: &str) -> Option<Document> {
        let Body::Sealed(sealed) = &entry.body else {
            return None;
        };
        let issuer = EncryptionPublic::parse(issuer_key)?;
        let around = self.sealing.around(entry.issued_at_ms);
        match seal::open(
            Header::of(entry),
            sealed,
            &[issuer],
            &around,
            &self.sealing.pairs,
        ) {
            seal::Opening::Opened(payload) => Some(payload.document),
            _ => self
                .sealing
                .reopen_from_archive(entry, sealed, issuer, &around),
        }
    }
}

impl SealOpener {
    /// `unreached` claims this node cannot share: a country listed as having
    /// no reader although this node trusts an authority there with an
    /// encryption key (the issuer may trust none there; this node cannot
    /// tell, so it says so and applies the document).
    fn unreached_doubts(&self, payload: &tally_model::SealedPayload) -> Vec<tally_store::Doubt> {
        let trust = self.trust.read().unwrap_or_else(|p| p.into_inner());
        payload
            .unreached
            .iter()
            .filter(|c| {
                self.own.country() == **c
                    || trust.cards.iter().any(|card| {
                        card.authority.country() == **c && !card.encryption_keys.is_empty()
                    })
            })
            .map(|c| tally_store::Doubt {
                reason: format!(
                    "it lists {c} as having no reader, but this node trusts an authority of {c}"
                ),
            })
            .collect()
    }
}

/// The recipient list's rules every reader checks alike: the issuer first,
/// with the key whose stanza opened here (`opened_with`); every party
/// country the document names has a recipient or is listed as unreached;
/// and this node (`own`) listed when its country is a party.
fn recipients_keep_the_rule(
    entry: &Entry,
    payload: &tally_model::SealedPayload,
    opened_with: &EncryptionPublic,
    own: &AuthorityId,
) -> Result<(), String> {
    match payload.recipients.first() {
        Some(first)
            if first.authority == entry.authority && first.encryption_key == *opened_with => {}
        _ => {
            return Err(
                "the issuer is not listed first with the encryption key that opened it".into(),
            );
        }
    }
    let issuer_country = entry.authority.country();
    let Readers::Parties(countries) = readers(&payload.document, issuer_country.as_str(), None)
    else {
        return Err("a network-visible kind of document arrived sealed".into());
    };
    for c in &countries {
        let served = payload
            .recipients
            .iter()
            .any(|r| r.authority.country().as_str() == c);
        let unreached = payload.unreached.iter().any(|u| u.as_str() == c);
        if !served && !unreached && c != issuer_country.as_str() {
            return Err(format!("party country {c} has no recipient"));
        }
    }
    let party = countries.contains(own.country().as_str()) || own.country() == issuer_country;
    if party && !payload.recipients.iter().any(|r| r.authority == *own) {
        return Err(format!("{own} is a party and is not listed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_model::{CardKey, KeyCompromise};
    use tally_store::EntryPointer;

    fn public(n: u8) -> EncryptionPublic {
        EncryptionSecret::from_bytes([n; 32]).public()
    }

    /// Whom US seals an export to MX to, with MX's card key 1, key 2
    /// announced in MX's log, and `compromised` declared.
    fn sealed_to(compromised: &[u8]) -> Option<EncryptionPublic> {
        let us: AuthorityId = "US-DDTC".parse().expect("an authority id");
        let mx: AuthorityId = "MX-SEDENA".parse().expect("an authority id");
        let mut trust = tally_testkit::keys::trust_list(&[("MX-SEDENA", 2)]);
        trust.cards[0].encryption_keys = vec![CardKey::new(public(1).to_hex(), 0)];
        for n in compromised {
            trust.declare_compromise(KeyCompromise {
                authority: mx.clone(),
                key_id: public(*n).to_hex(),
                after_seq: 3,
            });
        }
        let announced = |_: &AuthorityId, _: usize| {
            vec![AnnouncedKey {
                public_key: public(2).to_hex(),
                valid_from_ms: 10,
                entry: EntryPointer {
                    seq: 2,
                    hash: tally_model::EntryHash([0; 32]),
                },
            }]
        };
        let doc = tally_testkit::docs::export("EXP-1", 1, &[]);
        let plan = plan(&us, &doc, None, &trust, &announced).expect("an export is sealed");
        plan.recipients
            .iter()
            .find(|r| r.authority == mx)
            .map(|r| r.encryption_key)
    }

    #[test]
    fn nothing_is_sealed_to_a_compromised_encryption_key() {
        assert_eq!(sealed_to(&[]), Some(public(2)), "the newest key");
        assert_eq!(sealed_to(&[1]), Some(public(2)));
        assert_eq!(
            sealed_to(&[2]),
            Some(public(1)),
            "the newest not compromised"
        );
        assert_eq!(sealed_to(&[1, 2]), None, "MX is unreached");
    }
}

#[cfg(test)]
mod cost {
    use super::*;
    use std::time::Instant;
    use tally_model::seal::DeterministicRandom;

    /// Issue 28, finding 1: every sealed write got slower with each
    /// rotation of the node's own encryption key (it tried every own
    /// public against every own secret to open its own entry: N² pairs,
    /// past the pair cache). Opening the node's own newest entry now costs
    /// one pair, however many keys it ever had.
    #[test]
    fn opening_an_own_entry_costs_one_pair_after_300_rotations() {
        let sealing = Arc::new(Sealing::new(
            vec![EncryptionSecret::from_bytes([1; 32])],
            Box::new(DeterministicRandom::new([9; 32])),
        ));
        sealing.set_valid_from(&[(EncryptionSecret::from_bytes([1; 32]).public(), 0)]);
        for n in 0..300u32 {
            let mut b = [0u8; 32];
            // Not byte 0: X25519 ignores its three low bits.
            b[1..5].copy_from_slice(&n.to_le_bytes());
            b[31] = 7;
            sealing.add_newest(EncryptionSecret::from_bytes(b), 1 + i64::from(n) * 60_000);
        }
        let us: AuthorityId = "US-DDTC".parse().expect("valid");
        let opener = SealOpener {
            sealing: sealing.clone(),
            trust: Arc::new(RwLock::new(TrustList::default())),
            own: us.clone(),
        };
        let document = tally_testkit::docs::export("EXP-1", 1, &[]);
        let mut entry = Entry {
            authority: us.clone(),
            seq: 1,
            prev: None,
            issued_at_ms: 300 * 60_000,
            recipients: vec![],
            body: Body::Document(document.clone()),
        };
        let plan = Plan {
            recipients: vec![],
            unreached: vec!["MX".parse().expect("iso"), "GT".parse().expect("iso")],
        };
        let (sealed, _) = sealing
            .seal(Header::of(&entry), &document, &plan)
            .expect("seals");
        entry.body = Body::Sealed(sealed);
        let (_, before) = sealing.pair_costs();
        let started = Instant::now();
        let opening = opener.open(&entry, &[]);
        let took = started.elapsed();
        assert!(matches!(opening, Opening::Document { .. }), "{opening:?}");
        let (_, after) = sealing.pair_costs();
        assert!(after - before <= 1, "{} pairs derived", after - before);
        eprintln!("opened the own entry after 300 rotations in {took:?}");
    }
}
