//! Sealed entries (`tally/sealed/v1`) as a peer sends them, and the two
//! openers: the model's `open` and the verifier's `SealOpener` (what the
//! store calls when it applies an entry). The first input byte picks a mode:
//!
//! - `0`: bytes from a peer, as a `SignedEntry` (else a bare `Entry`). A
//!   sealed body is opened by the issuer, both readers and a bystander of
//!   the fixed keys (`tally_fuzz::SEAL_READERS`): nothing panics, the
//!   bystander never opens, an opened payload round-trips, and `SealOpener`
//!   agrees with `open`.
//! - `1`: byte edits to a genuine sealed entry (seq, reader count and seed
//!   from the next three bytes, then `(position u16 big-endian, xor)`
//!   triples over its encoding). Whatever still decodes never opens to a
//!   payload other than the genuine one, for anyone; with no effective edit
//!   every reader opens it (through `SealOpener` too) and the bystander does
//!   not.
//! - `2`: a `SealedPayload` encoding. It round-trips; when it decodes, its
//!   document is sealed with its recipients and unreached countries and
//!   opened again by the issuer: the same payload comes out, and
//!   `SealOpener` applies it or judges its recipient list, never anything
//!   else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use tally_fuzz::{
    SEAL_ISSUER, SEAL_READERS, encryption_secret, genuine_sealed, sealing_trust_list,
};
use tally_model::seal::DeterministicRandom;
use tally_model::{
    AuthorityId, Body, EncryptionPublic, EncryptionSecret, Entry, Header, Opening, PairKeys,
    Recipient, Sealed, SealedPayload, SignedEntry, open, seal,
};
use tally_verify::sealing::{SealOpener, Sealing};

/// Who opens: the issuer (secret 1), the two readers, the bystander CA-GAC
/// (secret 4).
struct Reader {
    authority: AuthorityId,
    secret: EncryptionSecret,
    opener: SealOpener,
}

struct Ctx {
    issuer_key: EncryptionPublic,
    readers: Vec<Reader>,
    pairs: PairKeys,
    /// Genuine seals by (seq, reader count, seed): encoded entry and the
    /// payload the issuer reads.
    genuine: Mutex<HashMap<(u64, usize, u8), (Vec<u8>, SealedPayload)>>,
}

fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let trust = Arc::new(RwLock::new(sealing_trust_list()));
        let who = [
            (SEAL_ISSUER, 1),
            SEAL_READERS[0],
            SEAL_READERS[1],
            ("CA-GAC", 4),
        ];
        let readers = who
            .iter()
            .map(|(a, n)| {
                let secret = encryption_secret(*n);
                let sealing = Sealing::new(
                    vec![secret.clone()],
                    Box::new(DeterministicRandom::new([*n; 32])),
                );
                Reader {
                    authority: a.parse().expect("valid"),
                    secret,
                    opener: SealOpener {
                        sealing: Arc::new(sealing),
                        trust: Arc::clone(&trust),
                        own: a.parse().expect("valid"),
                    },
                }
            })
            .collect();
        Ctx {
            issuer_key: encryption_secret(1).public(),
            readers,
            pairs: PairKeys::default(),
            genuine: Mutex::new(HashMap::new()),
        }
    })
}

fn open_as(c: &Ctx, entry: &Entry, sealed: &Sealed, r: &Reader) -> Opening {
    open(
        Header::of(entry),
        sealed,
        &[c.issuer_key],
        std::slice::from_ref(&r.secret),
        &c.pairs,
    )
}

/// `SealOpener` says what `open` says, in the store's terms.
fn agrees(model: &Opening, store: &tally_store::Opening) -> bool {
    use tally_model::Unopenable;
    use tally_store::Opening as S;
    match (model, store) {
        (Opening::NotAddressed, S::NotAddressed) => true,
        (Opening::Unopenable(Unopenable::NoUsableKey), S::NotAddressed) => true,
        // Failures after the content key passed its commitment are the same
        // for every recipient (document.invalid); before it, this reader's
        // own (party.excluded).
        (
            Opening::Unopenable(
                Unopenable::Decrypt
                | Unopenable::Padding
                | Unopenable::Decode(_)
                | Unopenable::UnsupportedSuite(_),
            ),
            S::Invalid(why),
        ) => why.starts_with("unopenable: "),
        (Opening::Unopenable(_), S::Excluded(_)) => true,
        (Opening::Opened(p), S::Document { document, readers, .. }) => {
            p.document == **document
                && readers.first().map(|r| &r.authority)
                    == p.recipients.first().map(|r| &r.authority)
                && p.recipients.iter().all(|r| {
                    readers.iter().any(|x| {
                        x.authority == r.authority && x.encryption_key == r.encryption_key.to_hex()
                    })
                })
        }
        (Opening::Opened(_), S::Invalid(why)) => why.starts_with("recipients: "),
        _ => false,
    }
}

fn peer_bytes(data: &[u8]) {
    let c = ctx();
    let entry = SignedEntry::decode(data)
        .ok()
        .and_then(|s| s.open().ok())
        .or_else(|| Entry::decode(data).ok());
    let Some(entry) = entry else { return };
    let Body::Sealed(sealed) = &entry.body else {
        return;
    };
    for r in &c.readers {
        let got = open_as(c, &entry, sealed, r);
        if let Opening::Opened(p) = &got {
            assert_ne!(
                r.authority.as_str(),
                "CA-GAC",
                "the bystander opened a seal"
            );
            assert_eq!(SealedPayload::decode(&p.encode()).as_ref(), Ok(&**p));
        }
        // The opener takes the issuer's keys from its trust list (or its own
        // secrets): the same key only for the fixed issuer.
        if entry.authority.as_str() == SEAL_ISSUER {
            let store = r.opener.open(&entry, &[]);
            assert!(agrees(&got, &store), "{got:?} / {store:?}");
        }
    }
}

fn edited(data: &[u8]) {
    let c = ctx();
    let [seq, count, seed, edits @ ..] = data else {
        return;
    };
    let seq = u64::from(seq % 3) + 1;
    let count = usize::from(count % 3);
    let (bytes, want) = {
        let mut cache = c.genuine.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry((seq, count, *seed))
            .or_insert_with(|| {
                let e = genuine_sealed(seq, count, *seed);
                let Body::Sealed(s) = &e.body else {
                    unreachable!("genuine_sealed seals")
                };
                let Opening::Opened(p) = open_as(c, &e, s, &c.readers[0]) else {
                    panic!("the issuer cannot open its own genuine seal");
                };
                (e.encode(), *p)
            })
            .clone()
    };
    let mut mutated = bytes.clone();
    for edit in edits.chunks_exact(3) {
        let at = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % mutated.len();
        mutated[at] ^= edit[2];
    }
    let untouched = mutated == bytes;
    let Ok(entry) = Entry::decode(&mutated) else {
        assert!(!untouched, "a genuine sealed entry does not decode");
        return;
    };
    let Body::Sealed(sealed) = &entry.body else {
        assert!(!untouched);
        return;
    };
    for (i, r) in c.readers.iter().enumerate() {
        // Readers 1..=count were sealed to, and the issuer (0) always.
        let addressed = i == 0 || i <= count;
        match open_as(c, &entry, sealed, r) {
            Opening::Opened(p) => {
                assert!(addressed, "{} opened a seal not made for it", r.authority);
                assert_eq!(*p, want, "an edited seal opened to another payload");
            }
            other => assert!(!untouched || !addressed, "{}: {other:?}", r.authority),
        }
        if untouched {
            let store = r.opener.open(&entry, &[]);
            match store {
                tally_store::Opening::Document {
                    document, readers, ..
                } => {
                    assert!(addressed);
                    assert_eq!(*document, want.document);
                    let listed: Vec<&AuthorityId> =
                        want.recipients.iter().map(|r| &r.authority).collect();
                    assert_eq!(
                        readers.iter().map(|x| &x.authority).collect::<Vec<_>>(),
                        listed
                    );
                }
                tally_store::Opening::NotAddressed => assert!(!addressed),
                tally_store::Opening::Invalid(why) | tally_store::Opening::Excluded(why) => {
                    panic!("{}: {why}", r.authority)
                }
            }
        }
    }
}

fn payload(data: &[u8]) {
    let c = ctx();
    let Ok(p) = SealedPayload::decode(data) else {
        return;
    };
    assert_eq!(SealedPayload::decode(&p.encode()).as_ref(), Ok(&p));
    // Each recipient costs an X25519: keep the cost of an input bounded.
    if p.recipients.len() > 8 {
        return;
    }
    let issuer = &c.readers[0];
    let entry_of = |sealed: Sealed| Entry {
        authority: issuer.authority.clone(),
        seq: 1,
        prev: None,
        issued_at_ms: 0,
        recipients: vec![],
        body: Body::Sealed(sealed),
    };
    let header = Header {
        authority: &issuer.authority,
        seq: 1,
        prev: None,
    };
    let Ok(sealed) = seal(
        &issuer.secret,
        header,
        &p.document,
        &p.recipients,
        &p.unreached,
        &mut DeterministicRandom::new([9; 32]),
        &c.pairs,
    ) else {
        return;
    };
    let entry = entry_of(sealed);
    let Body::Sealed(sealed) = &entry.body else {
        unreachable!("sealed above")
    };
    let Opening::Opened(got) = open_as(c, &entry, sealed, issuer) else {
        panic!("the issuer cannot open what it just sealed");
    };
    assert_eq!(got.document, p.document);
    assert_eq!(got.unreached, p.unreached);
    // The issuer first, then each distinct recipient once.
    let mut listed = vec![Recipient {
        authority: issuer.authority.clone(),
        encryption_key: c.issuer_key,
    }];
    for r in &p.recipients {
        if !listed.contains(r) {
            listed.push(r.clone());
        }
    }
    assert_eq!(got.recipients, listed);
    let store = issuer.opener.open(&entry, &[]);
    assert!(
        agrees(&Opening::Opened(got), &store),
        "the issuer's opener: {store:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => peer_bytes(rest),
        1 => edited(rest),
        _ => payload(rest),
    }
});
