//! `sealed.json`: sealed entries (suite tally/sealed/v1), each with every
//! intermediate value of sealing recomputed here from the layouts of
//! PROTOCOL.md section 6 (with the same primitive crates) and checked
//! against what `tally_model::seal` produced: the content key and its
//! ciphertext, then one stanza per listed recipient.

use crate::{
    Chain, T0, documents, enc, encryption_secret, entry, hex, id, seed, signed_json, signing_key,
};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tally_model::seal::{DeterministicRandom, Random, padded_len};
use tally_model::{
    Body, Country, Document, EntryHash, Header, License, PairKeys, Recipient, Sealed,
    SealedPayload, Status, StatusChange, VerifiedEntry,
};

fn lp(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

fn expand(prk: &[u8; 32], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::from_prk(prk)
        .expect("32-byte prk")
        .expand(info, &mut out)
        .expect("32 bytes");
    out
}

fn hmac16(key: &[u8; 32], input: &[u8]) -> [u8; 16] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key");
    mac.update(input);
    let full = mac.finalize().into_bytes();
    full[..16].try_into().expect("16 bytes")
}

/// A sealed entry of the file.
struct SealCase {
    name: &'static str,
    description: &'static str,
    issuer: &'static str,
    seq: u64,
    prev: Option<EntryHash>,
    key_n: u32,
    to: Vec<&'static str>,
    unreached: Vec<&'static str>,
    seed_label: &'static str,
    document: Document,
}

/// What sealing a case made, and what went into it.
struct Made {
    sealed: Sealed,
    signed: VerifiedEntry,
    /// The payload's recipient list: the issuer first, then `to`.
    listed: Vec<Recipient>,
    unreached: Vec<Country>,
}

/// Seals the case's document with `tally_model::seal` and signs the entry.
fn seal(c: &SealCase) -> Made {
    let authority = id(c.issuer);
    let issuer = enc(c.issuer);
    let header = Header {
        authority: &authority,
        seq: c.seq,
        prev: c.prev,
    };
    let recipients: Vec<Recipient> =
        c.to.iter()
            .map(|a| Recipient {
                authority: id(a),
                encryption_key: enc(a).public(),
            })
            .collect();
    let unreached: Vec<Country> = c
        .unreached
        .iter()
        .map(|u| u.parse().expect("country"))
        .collect();
    let sealed = tally_model::seal(
        &issuer,
        header,
        &c.document,
        &recipients,
        &unreached,
        &mut DeterministicRandom::new(seed(c.seed_label)),
        &PairKeys::default(),
    )
    .expect("seals");
    let signed = signing_key(c.issuer, c.key_n).sign(&entry(
        c.issuer,
        c.seq,
        c.prev,
        T0 + 1_000 * c.seq as i64,
        Body::Sealed(sealed.clone()),
    ));
    let mut listed = vec![Recipient {
        authority,
        encryption_key: issuer.public(),
    }];
    listed.extend(recipients);
    Made {
        sealed,
        signed,
        listed,
        unreached,
    }
}

/// The content layer, recomputed from the documented layout: the random
/// key k, its commitment, the content key and associated data, and the
/// padded payload under ChaCha20-Poly1305.
struct Content {
    k: [u8; 32],
    commitment: [u8; 32],
    key: [u8; 32],
    ad: Vec<u8>,
    payload: Vec<u8>,
    padded: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// Draws k from `rng` (the first draw of sealing) and recomputes the
/// content layer, checked against `made`.
fn content(c: &SealCase, made: &Made, rng: &mut DeterministicRandom) -> Content {
    let prev: &[u8] = c.prev.as_ref().map(|p| &p.0[..]).unwrap_or(&[]);
    let mut k = [0u8; 32];
    rng.fill(&mut k);
    let commitment = expand(&k, b"tally/commit/v1");
    assert_eq!(commitment, made.sealed.commitment, "commitment");
    let key = expand(&k, b"tally/aead/v1");
    let mut ad = Vec::new();
    lp(&mut ad, tally_model::SUITE.as_bytes());
    lp(&mut ad, c.issuer.as_bytes());
    ad.extend_from_slice(&c.seq.to_be_bytes());
    lp(&mut ad, prev);
    let payload = SealedPayload {
        document: c.document.clone(),
        recipients: made.listed.clone(),
        unreached: made.unreached.clone(),
    }
    .encode();
    let size = padded_len(4 + payload.len());
    let mut padded = (payload.len() as u32).to_be_bytes().to_vec();
    padded.extend_from_slice(&payload);
    padded.resize(size, 0);
    let ciphertext = ChaCha20Poly1305::new(&Key::from(key))
        .encrypt(
            &Nonce::from([0u8; 12]),
            Payload {
                msg: &padded,
                aad: &ad,
            },
        )
        .expect("encrypts");
    assert_eq!(ciphertext, made.sealed.ciphertext, "ciphertext");
    Content {
        k,
        commitment,
        key,
        ad,
        payload,
        padded,
        ciphertext,
    }
}

/// What every stanza of an entry binds: the associated data of key
/// wrapping and the input of the recipient tag.
struct Binding {
    wrap_ad: Vec<u8>,
    tag_input: Vec<u8>,
}

impl Binding {
    fn of(c: &SealCase, commitment: &[u8; 32]) -> Binding {
        let a = c.issuer.as_bytes();
        let mut wrap_ad = Vec::new();
        lp(&mut wrap_ad, tally_model::SUITE.as_bytes());
        lp(&mut wrap_ad, a);
        wrap_ad.extend_from_slice(&c.seq.to_be_bytes());
        wrap_ad.extend_from_slice(commitment);
        let mut tag_input = Vec::new();
        lp(&mut tag_input, a);
        tag_input.extend_from_slice(&c.seq.to_be_bytes());
        tag_input.extend_from_slice(commitment);
        Binding { wrap_ad, tag_input }
    }
}

/// The stanza of recipient `r`, recomputed (its wrap nonce is the next draw
/// of `rng`) and found in the sealed body.
fn stanza(
    c: &SealCase,
    r: &Recipient,
    k: &[u8; 32],
    binding: &Binding,
    sealed: &Sealed,
    rng: &mut DeterministicRandom,
) -> Value {
    let mut nonce = [0u8; 24];
    rng.fill(&mut nonce);
    let dh = x25519_dalek::StaticSecret::from(encryption_secret(c.issuer))
        .diffie_hellman(&x25519_dalek::PublicKey::from(r.encryption_key.0))
        .to_bytes();
    let mut info = b"tally/pair/v1".to_vec();
    info.extend_from_slice(&enc(c.issuer).public().0);
    info.extend_from_slice(&r.encryption_key.0);
    let mut p = [0u8; 32];
    Hkdf::<Sha256>::new(None, &dh)
        .expand(&info, &mut p)
        .expect("32 bytes");
    let k_wrap = expand(&p, b"tally/wrap/v1");
    let k_tag = expand(&p, b"tally/tag/v1");
    let tag = hmac16(&k_tag, &binding.tag_input);
    let mut wrapped = nonce.to_vec();
    wrapped.extend(
        XChaCha20Poly1305::new(&Key::from(k_wrap))
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: k,
                    aad: &binding.wrap_ad,
                },
            )
            .expect("encrypts"),
    );
    let index = sealed
        .stanzas
        .iter()
        .position(|s| s.tag == tag && s.wrapped == wrapped)
        .expect("the recomputed stanza is in the sealed body");
    json!({
        "recipient": r.authority.as_str(),
        "recipient_public": r.encryption_key.to_hex(),
        "dh": hex(dh),
        "pair_info": hex(&info),
        "pair_key": hex(p),
        "k_wrap": hex(k_wrap),
        "k_tag": hex(k_tag),
        "tag": hex(tag),
        "wrap_nonce": hex(nonce),
        "wrapped": hex(&wrapped),
        "stanza_index": index,
    })
}

/// One item of the file: the case sealed, every intermediate value, and
/// who can and cannot open it.
fn case(c: &SealCase) -> Value {
    let made = seal(c);
    let rng_seed = seed(c.seed_label);
    let mut rng = DeterministicRandom::new(rng_seed);
    let content = content(c, &made, &mut rng);
    let binding = Binding::of(c, &content.commitment);
    let stanzas: Vec<Value> = made
        .listed
        .iter()
        .map(|r| stanza(c, r, &content.k, &binding, &made.sealed, &mut rng))
        .collect();
    let bucket = made.listed.len().next_power_of_two().max(4);
    assert_eq!(made.sealed.stanzas.len(), bucket);

    let secrets: Vec<Value> = made
        .listed
        .iter()
        .map(|r| {
            json!({
                "authority": r.authority.as_str(),
                "secret": hex(encryption_secret(r.authority.as_str())),
            })
        })
        .collect();
    json!({
        "description": c.description,
        "name": c.name,
        "random_seed": hex(rng_seed),
        "issuer_encryption_public": enc(c.issuer).public().to_hex(),
        "document": hex(documents::document_bytes(&c.document)),
        "unreached": c.unreached,
        "signed": signed_json(c.description, &made.signed, c.key_n),
        "intermediate": {
            "k": hex(content.k),
            "commitment": hex(content.commitment),
            "content_key": hex(content.key),
            "content_ad": hex(&content.ad),
            "wrap_ad": hex(&binding.wrap_ad),
            "tag_input": hex(&binding.tag_input),
            "payload": hex(&content.payload),
            "padded": hex(&content.padded),
            "ciphertext": hex(&content.ciphertext),
            "bucket": bucket,
            "stanzas": stanzas,
        },
        "can_open": secrets,
        "cannot_open": [{
            "authority": "CA-GAC",
            "secret": hex(encryption_secret("CA-GAC")),
            "expect": "not_addressed",
        }],
    })
}

fn cases(chain: &Chain) -> Vec<SealCase> {
    vec![
        SealCase {
            name: "us_export_to_mx_gt",
            description: "US-DDTC seq 6 (after chain.json seq 5, signed by key 2): the export license sealed to MX-SEDENA and GT-DIGECAM. 3 real stanzas (issuer first), bucket 4, one decoy.",
            issuer: "US-DDTC",
            seq: 6,
            prev: Some(chain[4].0.id()),
            key_n: 2,
            to: vec!["MX-SEDENA", "GT-DIGECAM"],
            unreached: vec![],
            seed_label: "tally-vectors/random/us_export_to_mx_gt",
            document: Document::License(License::Export(documents::export_license())),
        },
        SealCase {
            name: "mx_import_first_entry",
            description: "MX-SEDENA seq 1 (empty prev): the import certificate sealed to US-DDTC only, with GT listed as unreached. 2 real stanzas, bucket 4, two decoys.",
            issuer: "MX-SEDENA",
            seq: 1,
            prev: None,
            key_n: 1,
            to: vec!["US-DDTC"],
            unreached: vec!["GT"],
            seed_label: "tally-vectors/random/mx_import_first_entry",
            document: Document::License(License::Import(documents::import_certificate())),
        },
        SealCase {
            name: "us_status_to_many",
            description: "US-DDTC seq 7 linking to a placeholder prev of 32 bytes 0x07 (the chain rule is not the point here): a status change sealed to 4 recipients (5 real stanzas), bucket 8, three decoys.",
            issuer: "US-DDTC",
            seq: 7,
            prev: Some(EntryHash([7; 32])),
            key_n: 2,
            to: vec!["MX-SEDENA", "GT-DIGECAM", "MX-SEMAR", "GT-MINDEF"],
            unreached: vec![],
            seed_label: "tally-vectors/random/us_status_to_many",
            document: Document::StatusChange(StatusChange {
                prepared_by: None,
                signatory: None,
                number: "EXP-2026-0001".into(),
                status: Status::Revoked,
                reason: "end user changed".into(),
                effective_at_ms: T0 + 7_000,
            }),
        },
    ]
}

pub(crate) fn file(chain: &Chain) -> Value {
    let list: Vec<Value> = cases(chain).iter().map(case).collect();
    json!({
        "description": "Sealed entries (suite tally/sealed/v1) made with DeterministicRandom(random_seed) (block i = HMAC-SHA256(seed, \"tally/test-random/v1\" || u64be(i))). Encryption secrets are in keys.json (and repeated under can_open; MX-SEMAR and GT-MINDEF use the same derivation: SHA-256(\"tally-vectors/x25519/<authority>\")). The signed entry opens with every can_open secret against issuer_encryption_public and is not addressed to cannot_open. Intermediate values follow PROTOCOL.md section 6; stanza_index is the stanza's position after the shuffle.",
        "suite": tally_model::SUITE,
        "sealed": list,
    })
}
