//! Tally's protocol conformance vectors (docs/PROTOCOL.md section 11).
//!
//! [`generate`] builds every vector file in memory from fixed seeds; the
//! binary writes them to a directory and the test compares them with the
//! committed files. Intermediate values of sealing are recomputed here from
//! the layouts PROTOCOL.md documents (with the same primitive crates), and
//! each is checked against what `tally_model::seal` produced, so a vector
//! file cannot be written when the document and the code disagree.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, XChaCha20Poly1305, XNonce};
use ed25519_dalek::Signer as _;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use prost::Message as _;
use prost::bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tally_model::seal::{DeterministicRandom, Random, padded_len};
use tally_model::{
    AuthorityId, AuthorityKey, Body, Card, CardKey, Category, ChainStep, Checkpoint, Direction,
    Document, DocumentRef, EncryptionKey, EncryptionPublic, EncryptionSecret, Entry, EntryHash,
    ExportLicense, Header, ImportCertificate, Item, KeyCompromise, KeyRotation, License, PairKeys,
    Party, Recipient, Sealed, SealedPayload, ShipmentLine, ShipmentRecord, Shipments, SignedEntry,
    Status, StatusChange, TrustList, Unit, VerifiedEntry, chain_step, encode_proof,
};
use tally_proto::v1 as pb;

mod malformed;
mod signatures;
mod text;

/// The signing domain of entries (PROTOCOL.md 3.1).
pub const DOMAIN: &[u8] = b"tally/entry/v1";

/// Base time of the vectors: 2026-01-01T00:00:00Z in Unix ms.
const T0: i64 = 1_767_225_600_000;

pub fn hex(b: impl AsRef<[u8]>) -> String {
    hex::encode(b)
}

pub fn b64(b: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn id(s: &str) -> AuthorityId {
    s.parse().expect("a valid authority id")
}

/// A secret derived from a fixed, public seed: SHA-256 of the label.
pub fn seed(label: &str) -> [u8; 32] {
    sha256(label.as_bytes())
}

/// The Ed25519 signing secret of `authority`'s key number `n`.
pub fn signing_secret(authority: &str, n: u32) -> [u8; 32] {
    seed(&format!("tally-vectors/ed25519/{authority}/{n}"))
}

/// The X25519 encryption secret of `authority`.
pub fn encryption_secret(authority: &str) -> [u8; 32] {
    seed(&format!("tally-vectors/x25519/{authority}"))
}

fn signing_key(authority: &str, n: u32) -> AuthorityKey {
    AuthorityKey::from_bytes(&signing_secret(authority, n))
}

fn enc(authority: &str) -> EncryptionSecret {
    EncryptionSecret::from_bytes(encryption_secret(authority))
}

/// The test authorities (the last one is an outsider: no stanza is ever
/// made for it).
pub const AUTHORITIES: [&str; 4] = ["US-DDTC", "MX-SEDENA", "GT-DIGECAM", "CA-GAC"];

fn party(name: &str) -> Party {
    Party {
        name: name.into(),
        id: None,
        address: None,
    }
}

fn item() -> Item {
    Item {
        line: 1,
        category: Category::Firearm,
        description: "pistol".into(),
        hs_code: Some("930200".into()),
        make: None,
        model: None,
        caliber: Some("9mm".into()),
        quantity: 100,
        unit: Unit::Units,
        serials: vec!["AC1000".into(), "AC1001".into()],
    }
}

fn export_license() -> ExportLicense {
    ExportLicense {
        number: "EXP-2026-0001".into(),
        exporting_country: "US".into(),
        importing_country: "MX".into(),
        transit_countries: vec!["GT".into()],
        exporter: party("Acme Arms Inc."),
        importer: party("Importadora del Norte SA"),
        end_user: None,
        end_use: Some("law enforcement".into()),
        items: vec![item()],
        valid_from: "2026-01-01".into(),
        valid_until: "2026-06-30".into(),
        import_certificate: Some(DocumentRef {
            authority: "MX-SEDENA".into(),
            number: "IC-2026-0042".into(),
        }),
        shipments: Shipments::Partial,
        conditions: None,
        // Fields added after the vectors were pinned: empty, so the encoded
        // document (and every hash over it) is unchanged.
        end_user_certificate: None,
        brokers: Vec::new(),
        consignees: Vec::new(),
        carriers: Vec::new(),
        value: None,
        place_of_issue: None,
    }
}

fn import_certificate() -> ImportCertificate {
    ImportCertificate {
        number: "IC-2026-0042".into(),
        importing_country: "MX".into(),
        exporting_country: "US".into(),
        importer: party("Importadora del Norte SA"),
        exporter: party("Acme Arms Inc."),
        end_user: None,
        end_use: Some("law enforcement".into()),
        items: vec![item()],
        valid_from: "2026-01-01".into(),
        valid_until: "2026-12-31".into(),
        single_use: false,
    }
}

fn documents() -> Vec<(&'static str, &'static str, Document)> {
    vec![
        (
            "export_license",
            "An export license (kind 1) from US to MX through GT.",
            Document::License(License::Export(export_license())),
        ),
        (
            "import_certificate",
            "An import certificate (kind 2).",
            Document::License(License::Import(import_certificate())),
        ),
        (
            "transit_authorization",
            "A transit authorization (kind 3) of GT for EXP-2026-0001.",
            Document::License(License::Transit(tally_model::TransitAuthorization {
                number: "TR-2026-0007".into(),
                transit_country: "GT".into(),
                export_license: DocumentRef {
                    authority: "US-DDTC".into(),
                    number: "EXP-2026-0001".into(),
                },
                entry_point: Some("GTPRQ".into()),
                exit_point: Some("GTTEC".into()),
                valid_from: "2026-01-01".into(),
                valid_until: "2026-06-30".into(),
                decision: tally_model::Decision::Authorized,
            })),
        ),
        (
            "amendment",
            "An amendment (kind 4) to version 2 of EXP-2026-0001: the validity shortened.",
            Document::Amendment {
                version: 2,
                license: License::Export(ExportLicense {
                    valid_until: "2026-03-31".into(),
                    ..export_license()
                }),
            },
        ),
        (
            "delivery_verification",
            "A delivery verification (kind 9) by MX of 50 units of line 1 of EXP-2026-0001.",
            Document::License(License::Delivery(tally_model::DeliveryVerification {
                number: "DV-2026-0001".into(),
                importing_country: "MX".into(),
                export_license: DocumentRef {
                    authority: "US-DDTC".into(),
                    number: "EXP-2026-0001".into(),
                },
                delivered_to: party("Policia Estatal"),
                date: "2026-01-05".into(),
                items: vec![tally_model::DeliveryLine {
                    line: 1,
                    quantity: 50,
                }],
            })),
        ),
        (
            "status_change",
            "A suspension (kind 5) of EXP-2026-0001.",
            Document::StatusChange(StatusChange {
                number: "EXP-2026-0001".into(),
                status: Status::Suspended,
                reason: "under review".into(),
                effective_at_ms: T0 + 3_000,
            }),
        ),
        (
            "shipment_record",
            "A shipment record (kind 6) at the GT entry checkpoint.",
            Document::Shipment(ShipmentRecord {
                license: DocumentRef {
                    authority: "US-DDTC".into(),
                    number: "EXP-2026-0001".into(),
                },
                checkpoint: Checkpoint {
                    country: "GT".into(),
                    port: "Tecun Uman".into(),
                    direction: Direction::Entry,
                },
                date: "2026-01-02".into(),
                exporter: None,
                importer: None,
                items: vec![ShipmentLine {
                    line: 1,
                    quantity: 50,
                    serials: vec!["AC1000".into()],
                }],
                verdict: "accepted".into(),
                failed_rules: vec![],
            }),
        ),
        (
            "key_rotation",
            "A key rotation (kind 7) to US-DDTC's signing key 2.",
            rotation_doc(),
        ),
        (
            "encryption_key",
            "An encryption key announcement (kind 8): US-DDTC's X25519 key.",
            Document::EncryptionKey(EncryptionKey {
                public_key: enc("US-DDTC").public().0,
                valid_from_ms: T0,
            }),
        ),
    ]
}

fn rotation_doc() -> Document {
    Document::KeyRotation(KeyRotation {
        new_key: hex(signing_key("US-DDTC", 2).public().as_bytes()),
        valid_from_ms: T0 + 4_000,
    })
}

/// The `Document` bytes inside an entry's encoding (prost writes the body
/// as one length-delimited field, so this is exactly what is signed).
fn document_bytes(doc: &Document) -> Vec<u8> {
    let e = entry("US-DDTC", 1, None, T0, Body::Document(doc.clone()));
    match pb::Entry::decode(&e.encode()[..]).expect("decodes").body {
        Some(pb::entry::Body::Document(d)) => d.encode_to_vec(),
        _ => unreachable!("a document body"),
    }
}

fn entry(authority: &str, seq: u64, prev: Option<EntryHash>, at: i64, body: Body) -> Entry {
    Entry {
        authority: id(authority),
        seq,
        prev,
        issued_at_ms: at,
        recipients: vec![],
        body,
    }
}

fn signed_json(description: &str, v: &VerifiedEntry, key_n: u32) -> Value {
    let s = v.signed();
    let mut message = DOMAIN.to_vec();
    message.extend_from_slice(s.entry_bytes());
    let wire = s.encode();
    let sig = &wire[wire.len() - 64..];
    json!({
        "description": description,
        "authority": v.entry().authority.as_str(),
        "seq": v.entry().seq,
        "prev": v.entry().prev.map(|p| p.to_hex()).unwrap_or_default(),
        "issued_at_ms": v.entry().issued_at_ms,
        "signing_key": key_n,
        "entry": hex(s.entry_bytes()),
        "message": hex(&message),
        "key_id": hex(s.key_id()),
        "signature": hex(sig),
        "signed_entry": hex(&wire),
        "signed_entry_b64": b64(&wire),
        "entry_id": v.id().to_hex(),
    })
}

fn pretty(v: Value) -> String {
    let mut s = serde_json::to_string_pretty(&v).expect("serializes");
    s.push('\n');
    s
}

fn keys_file() -> Value {
    let mut list = Vec::new();
    for a in AUTHORITIES {
        let ns: &[u32] = if a == "US-DDTC" { &[1, 2] } else { &[1] };
        for &n in ns {
            let k = signing_key(a, n);
            list.push(json!({
                "description": format!("Ed25519 signing key {n} of {a}: secret = SHA-256(\"tally-vectors/ed25519/{a}/{n}\")"),
                "authority": a,
                "kind": "ed25519",
                "n": n,
                "secret": hex(k.to_bytes()),
                "public": hex(k.public().as_bytes()),
            }));
        }
        let e = enc(a);
        list.push(json!({
            "description": format!("X25519 encryption key of {a}: secret = SHA-256(\"tally-vectors/x25519/{a}\") (clamped by X25519 when used)"),
            "authority": a,
            "kind": "x25519",
            "n": 1,
            "secret": hex(e.to_bytes()),
            "public": e.public().to_hex(),
        }));
    }
    json!({
        "description": "Keys of the test authorities, derived from fixed public seeds. Never use them for anything real.",
        "keys": list,
    })
}

fn documents_file() -> Value {
    let list: Vec<Value> = documents()
        .into_iter()
        .map(|(name, description, d)| {
            json!({
                "description": description,
                "name": name,
                "document": hex(document_bytes(&d)),
            })
        })
        .collect();
    json!({
        "description": "Encoded tally.v1.Document messages, as prost writes them (fields in number order, defaults omitted).",
        "documents": list,
    })
}

/// The US-DDTC chain: seq 1..=5, a rotation at seq 4 (signed by key 1),
/// seq 5 signed by key 2.
fn chain() -> Vec<(VerifiedEntry, u32, &'static str)> {
    let docs = documents();
    let pick = |name: &str| {
        docs.iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, _, d)| d.clone())
            .expect("known document")
    };
    let plan: [(&str, u32, &str); 5] = [
        (
            "export_license",
            1,
            "seq 1: an export license; prev is empty",
        ),
        (
            "encryption_key",
            1,
            "seq 2: US-DDTC announces its X25519 key",
        ),
        ("status_change", 1, "seq 3: a status change"),
        (
            "key_rotation",
            1,
            "seq 4: a key rotation to key 2, signed by key 1 (which signs nothing after seq 4)",
        ),
        (
            "shipment_record",
            2,
            "seq 5: signed by key 2, announced at seq 4",
        ),
    ];
    let mut out = Vec::new();
    let mut prev = None;
    for (i, (doc, key, description)) in plan.into_iter().enumerate() {
        let seq = i as u64 + 1;
        let e = entry(
            "US-DDTC",
            seq,
            prev,
            T0 + 1_000 * seq as i64,
            Body::Document(pick(doc)),
        );
        let v = signing_key("US-DDTC", key).sign(&e);
        prev = Some(v.id());
        out.push((v, key, description));
    }
    out
}

fn step_name(s: ChainStep) -> String {
    match s {
        ChainStep::Next => "next".into(),
        ChainStep::Duplicate => "duplicate".into(),
        ChainStep::Gap { have } => format!("gap(have={have})"),
        ChainStep::Equivocation { existing } => format!("equivocation(existing={existing})"),
        ChainStep::BrokenLink => "broken_link".into(),
    }
}

/// Adds the group order L to a signature's S (little-endian): the same
/// signature, non-canonically encoded.
fn non_canonical(sig: &[u8]) -> Vec<u8> {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = sig.to_vec();
    let mut carry = 0u16;
    for i in 0..32 {
        let s = out[32 + i] as u16 + L[i] as u16 + carry;
        out[32 + i] = s as u8;
        carry = s >> 8;
    }
    out
}

fn entries_file(chain: &[(VerifiedEntry, u32, &str)]) -> Value {
    let (first, _, _) = &chain[0];
    let mx = signing_key("MX-SEDENA", 1).sign(&entry(
        "MX-SEDENA",
        1,
        None,
        T0 + 500,
        Body::Document(Document::License(License::Import(import_certificate()))),
    ));
    let valid = vec![
        signed_json("US-DDTC seq 1, a clear export license", first, 1),
        signed_json("MX-SEDENA seq 1, a clear import certificate", &mx, 1),
    ];

    // Invalid: each must fail the signature rule (PROTOCOL.md 3.1) with the
    // given key. signatures.json holds the rule's edge cases.
    let key = signing_key("US-DDTC", 1);
    let bytes = first.signed().entry_bytes().to_vec();
    let wire = |entry: &[u8], key_id: &[u8], sig: &[u8]| {
        pb::SignedEntry {
            entry: Bytes::copy_from_slice(entry),
            key_id: Bytes::copy_from_slice(key_id),
            signature: Bytes::copy_from_slice(sig),
        }
        .encode_to_vec()
    };
    let k1 = signing_secret("US-DDTC", 1);
    let bare = ed25519_dalek::SigningKey::from_bytes(&k1)
        .sign(&bytes)
        .to_bytes();
    let good_sig = {
        let w = first.signed().encode();
        w[w.len() - 64..].to_vec()
    };
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let invalid = vec![
        json!({
            "description": "Signed over the entry bytes without the \"tally/entry/v1\" prefix: MUST fail.",
            "key": hex(key.public().as_bytes()),
            "signed_entry": hex(wire(&bytes, key.public().as_bytes(), &bare)),
        }),
        json!({
            "description": "The valid signature of US-DDTC seq 1 with L added to S (non-canonical S >= L): MUST fail.",
            "key": hex(key.public().as_bytes()),
            "signed_entry": hex(wire(&bytes, key.public().as_bytes(), &non_canonical(&good_sig))),
        }),
        json!({
            "description": "US-DDTC seq 1 with its last entry byte flipped: MUST fail.",
            "key": hex(key.public().as_bytes()),
            "signed_entry": hex(wire(&tampered, key.public().as_bytes(), &good_sig)),
        }),
    ];
    json!({
        "description": "Signed entries. message = \"tally/entry/v1\" || entry; signature = Ed25519(message); entry_id = SHA-256(entry). Keys are in keys.json (signing_key = n).",
        "domain": hex(DOMAIN),
        "valid": valid,
        "invalid": invalid,
    })
}

fn chain_file(chain: &[(VerifiedEntry, u32, &str)]) -> Value {
    let mut head: Option<(u64, EntryHash)> = None;
    let mut list = Vec::new();
    for (v, key, description) in chain {
        let e = v.entry();
        let step = chain_step(head, None, e.seq, e.prev, v.id());
        assert_eq!(step, ChainStep::Next);
        let mut j = signed_json(description, v, *key);
        j["chain_step"] = json!(step_name(step));
        list.push(j);
        head = Some((e.seq, v.id()));
    }
    // A gap: offering seq 5 to a log that holds only seq 1..=3.
    let (s5, _, _) = &chain[4];
    let gap = chain_step(
        Some((3, chain[2].0.id())),
        None,
        5,
        s5.entry().prev,
        s5.id(),
    );
    json!({
        "description": "US-DDTC's log, seq 1 to 5, each linking to the previous entry's id, issued_at 1 s apart. The rotation at seq 4 retires key 1 after seq 4; seq 5 is signed by key 2. chain_step is the outcome of each entry offered in order to a log holding the entries before it.",
        "authority": "US-DDTC",
        "entries": list,
        "gap": {
            "description": "Seq 5 offered to a log whose head is seq 3.",
            "head_seq": 3,
            "offered_seq": 5,
            "chain_step": step_name(gap),
        },
    })
}

fn fork_file(chain: &[(VerifiedEntry, u32, &str)]) -> Value {
    let (a, _, _) = &chain[1];
    let other = entry(
        "US-DDTC",
        2,
        Some(chain[0].0.id()),
        T0 + 2_000,
        Body::Document(Document::StatusChange(StatusChange {
            number: "EXP-2026-0001".into(),
            status: Status::Revoked,
            reason: "the other side of a fork".into(),
            effective_at_ms: T0 + 2_000,
        })),
    );
    let b = signing_key("US-DDTC", 1).sign(&other);
    let step = chain_step(Some((2, a.id())), Some(a.id()), 2, b.entry().prev, b.id());
    assert!(matches!(step, ChainStep::Equivocation { .. }));
    let proof = encode_proof(a.signed(), b.signed());
    json!({
        "description": "An equivocation: two entries of US-DDTC at seq 2, both linking to seq 1 of chain.json and signed by key 1, with different bytes. `held` is chain.json seq 2; `offered` comes second. The proof is a tally.v1.EquivocationProof with the held entry first.",
        "held": signed_json("US-DDTC seq 2 as in chain.json", a, 1),
        "offered": signed_json("US-DDTC seq 2, another entry", &b, 1),
        "chain_step": step_name(step),
        "proof": hex(&proof),
    })
}

// ---------------------------------------------------------------------------
// Sealing, recomputed from PROTOCOL.md section 6

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

fn sealed_case(c: &SealCase) -> (Value, VerifiedEntry) {
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
    let unreached: Vec<tally_model::Country> = c
        .unreached
        .iter()
        .map(|u| u.parse().expect("country"))
        .collect();
    let rng_seed = seed(c.seed_label);
    let sealed = tally_model::seal(
        &issuer,
        header,
        &c.document,
        &recipients,
        &unreached,
        &mut DeterministicRandom::new(rng_seed),
        &PairKeys::default(),
    )
    .expect("seals");
    let v = signing_key(c.issuer, c.key_n).sign(&entry(
        c.issuer,
        c.seq,
        c.prev,
        T0 + 1_000 * c.seq as i64,
        Body::Sealed(sealed.clone()),
    ));

    // Recompute from the documented layout.
    let suite = tally_model::SUITE.as_bytes();
    let a = c.issuer.as_bytes();
    let prev: &[u8] = c.prev.as_ref().map(|p| &p.0[..]).unwrap_or(&[]);
    let mut rng = DeterministicRandom::new(rng_seed);
    let mut k = [0u8; 32];
    rng.fill(&mut k);
    let commitment = expand(&k, b"tally/commit/v1");
    assert_eq!(commitment, sealed.commitment, "commitment");
    let content = expand(&k, b"tally/aead/v1");
    let mut content_ad = Vec::new();
    lp(&mut content_ad, suite);
    lp(&mut content_ad, a);
    content_ad.extend_from_slice(&c.seq.to_be_bytes());
    lp(&mut content_ad, prev);
    let mut listed = vec![Recipient {
        authority: authority.clone(),
        encryption_key: issuer.public(),
    }];
    listed.extend(recipients.iter().cloned());
    let payload = SealedPayload {
        document: c.document.clone(),
        recipients: listed.clone(),
        unreached: unreached.clone(),
    }
    .encode();
    let size = padded_len(4 + payload.len());
    let mut padded = (payload.len() as u32).to_be_bytes().to_vec();
    padded.extend_from_slice(&payload);
    padded.resize(size, 0);
    let ciphertext = ChaCha20Poly1305::new(&Key::from(content))
        .encrypt(
            &Nonce::from([0u8; 12]),
            Payload {
                msg: &padded,
                aad: &content_ad,
            },
        )
        .expect("encrypts");
    assert_eq!(ciphertext, sealed.ciphertext, "ciphertext");
    let mut wrap_ad = Vec::new();
    lp(&mut wrap_ad, suite);
    lp(&mut wrap_ad, a);
    wrap_ad.extend_from_slice(&c.seq.to_be_bytes());
    wrap_ad.extend_from_slice(&commitment);
    let mut tag_input = Vec::new();
    lp(&mut tag_input, a);
    tag_input.extend_from_slice(&c.seq.to_be_bytes());
    tag_input.extend_from_slice(&commitment);

    let issuer_secret = encryption_secret(c.issuer);
    let mut stanzas = Vec::new();
    for r in &listed {
        let mut nonce = [0u8; 24];
        rng.fill(&mut nonce);
        let dh = x25519_dalek::StaticSecret::from(issuer_secret)
            .diffie_hellman(&x25519_dalek::PublicKey::from(r.encryption_key.0))
            .to_bytes();
        let mut info = b"tally/pair/v1".to_vec();
        info.extend_from_slice(&issuer.public().0);
        info.extend_from_slice(&r.encryption_key.0);
        let mut p = [0u8; 32];
        Hkdf::<Sha256>::new(None, &dh)
            .expand(&info, &mut p)
            .expect("32 bytes");
        let k_wrap = expand(&p, b"tally/wrap/v1");
        let k_tag = expand(&p, b"tally/tag/v1");
        let tag = hmac16(&k_tag, &tag_input);
        let mut wrapped = nonce.to_vec();
        wrapped.extend(
            XChaCha20Poly1305::new(&Key::from(k_wrap))
                .encrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &k,
                        aad: &wrap_ad,
                    },
                )
                .expect("encrypts"),
        );
        let index = sealed
            .stanzas
            .iter()
            .position(|s| s.tag == tag && s.wrapped == wrapped)
            .expect("the recomputed stanza is in the sealed body");
        stanzas.push(json!({
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
        }));
    }
    let bucket = listed.len().next_power_of_two().max(4);
    assert_eq!(sealed.stanzas.len(), bucket);

    let secrets: Vec<Value> = listed
        .iter()
        .map(|r| {
            json!({
                "authority": r.authority.as_str(),
                "secret": hex(encryption_secret(r.authority.as_str())),
            })
        })
        .collect();
    let j = json!({
        "description": c.description,
        "name": c.name,
        "random_seed": hex(rng_seed),
        "issuer_encryption_public": issuer.public().to_hex(),
        "document": hex(document_bytes(&c.document)),
        "unreached": c.unreached,
        "signed": signed_json(c.description, &v, c.key_n),
        "intermediate": {
            "k": hex(k),
            "commitment": hex(commitment),
            "content_key": hex(content),
            "content_ad": hex(&content_ad),
            "wrap_ad": hex(&wrap_ad),
            "tag_input": hex(&tag_input),
            "payload": hex(&payload),
            "padded": hex(&padded),
            "ciphertext": hex(&ciphertext),
            "bucket": bucket,
            "stanzas": stanzas,
        },
        "can_open": secrets,
        "cannot_open": [{
            "authority": "CA-GAC",
            "secret": hex(encryption_secret("CA-GAC")),
            "expect": "not_addressed",
        }],
    });
    (j, v)
}

fn seal_cases(chain: &[(VerifiedEntry, u32, &str)]) -> Vec<SealCase> {
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
            document: Document::License(License::Export(export_license())),
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
            document: Document::License(License::Import(import_certificate())),
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
                number: "EXP-2026-0001".into(),
                status: Status::Revoked,
                reason: "end user changed".into(),
                effective_at_ms: T0 + 7_000,
            }),
        },
    ]
}

fn sealed_file(chain: &[(VerifiedEntry, u32, &str)]) -> Value {
    let list: Vec<Value> = seal_cases(chain).iter().map(|c| sealed_case(c).0).collect();
    json!({
        "description": "Sealed entries (suite tally/sealed/v1) made with DeterministicRandom(random_seed) (block i = HMAC-SHA256(seed, \"tally/test-random/v1\" || u64be(i))). Encryption secrets are in keys.json (and repeated under can_open; MX-SEMAR and GT-MINDEF use the same derivation: SHA-256(\"tally-vectors/x25519/<authority>\")). The signed entry opens with every can_open secret against issuer_encryption_public and is not addressed to cannot_open. Intermediate values follow PROTOCOL.md section 6; stanza_index is the stanza's position after the shuffle.",
        "suite": tally_model::SUITE,
        "sealed": list,
    })
}

fn card(authority: &str, name: &str, keys: Vec<CardKey>) -> Card {
    Card {
        authority: id(authority),
        country: authority[..2].to_string(),
        name: name.into(),
        peer_id: "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
        addresses: vec![format!(
            "/dns4/tally.{}.example/tcp/4710",
            authority.to_ascii_lowercase()
        )],
        keys,
        // The vectors' cards predate encryption keys on cards: their
        // No encryption keys: the fingerprint covers every key listed (v2).
        encryption_keys: Vec::new(),
    }
}

fn cards() -> Vec<(&'static str, Card)> {
    let pk = |a: &str, n| hex(signing_key(a, n).public().as_bytes());
    let fixed = AuthorityKey::from_bytes(&[5; 32]);
    vec![
        (
            "US-DDTC with two keys: key 1 retired after seq 4 (its rotation), key 2 from the rotation's time. Keys are listed out of order and key 2 in capitals: the fingerprint sorts and lowercases them.",
            card(
                "US-DDTC",
                "Directorate of Defense Trade Controls",
                vec![
                    CardKey::new(pk("US-DDTC", 2).to_uppercase(), T0 + 4_000),
                    CardKey {
                        retired_after_seq: Some(4),
                        ..CardKey::new(pk("US-DDTC", 1), 0)
                    },
                ],
            ),
        ),
        (
            "MX-SEDENA with one key.",
            card(
                "MX-SEDENA",
                "Secretaria de la Defensa Nacional",
                vec![CardKey::new(pk("MX-SEDENA", 1), 0)],
            ),
        ),
        (
            "The fixed card of the model crate's own test (secret [5; 32]): fingerprint 5762-094a-... (tally/card/v2)",
            card(
                "US-DDTC",
                "test",
                vec![CardKey {
                    valid_until_ms: Some(2000),
                    ..CardKey::new(hex(fixed.public().as_bytes()), 1000)
                }],
            ),
        ),
    ]
}

fn cards_file() -> Value {
    let list: Vec<Value> = cards()
        .into_iter()
        .map(|(description, c)| {
            json!({
                "description": description,
                "card": serde_json::to_value(&c).expect("serializes"),
                "fingerprint_input": String::from_utf8(c.fingerprint_input()).expect("utf-8"),
                "fingerprint_bytes": hex(c.fingerprint_bytes()),
                "fingerprint": c.fingerprint(),
            })
        })
        .collect();
    let mut trust = TrustList::default();
    for (_, c) in cards().into_iter().take(2) {
        trust.upsert(c);
    }
    trust.declare_compromise(KeyCompromise {
        authority: id("MX-SEDENA"),
        key_id: hex(signing_key("MX-SEDENA", 1).public().as_bytes()),
        after_seq: 57,
    });
    json!({
        "description": "Cards, their fingerprint input (UTF-8 text), SHA-256 fingerprint and display form; and a trust list file (TOML) holding the first two cards and one compromise declaration.",
        "cards": list,
        "trust_list_toml": toml::to_string(&trust).expect("serializes"),
    })
}

fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = (message.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(message);
    out
}

fn sync_file(chain: &[(VerifiedEntry, u32, &str)], proof: Vec<u8>) -> Value {
    use pb::{sync_request, sync_response};
    let req = |kind| pb::SyncRequest { kind: Some(kind) }.encode_to_vec();
    let resp = |kind| pb::SyncResponse { kind: Some(kind) }.encode_to_vec();
    let head = |a: &str, v: &VerifiedEntry| pb::Head {
        authority: a.into(),
        seq: v.entry().seq,
        hash: Bytes::copy_from_slice(&v.id().0),
    };
    let mx = signing_key("MX-SEDENA", 1).sign(&entry(
        "MX-SEDENA",
        1,
        None,
        T0 + 500,
        Body::Document(Document::License(License::Import(import_certificate()))),
    ));
    let items: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "request",
            "HeadsRequest",
            req(sync_request::Kind::Heads(pb::HeadsRequest {})),
        ),
        (
            "request",
            "RangeRequest for US-DDTC from seq 1, limit 512",
            req(sync_request::Kind::Range(pb::RangeRequest {
                authority: "US-DDTC".into(),
                from: 1,
                limit: 512,
            })),
        ),
        (
            "request",
            "RangeRequest for US-DDTC from seq 3, limit 0 (as many as allowed)",
            req(sync_request::Kind::Range(pb::RangeRequest {
                authority: "US-DDTC".into(),
                from: 3,
                limit: 0,
            })),
        ),
        (
            "request",
            "EvidenceRequest",
            req(sync_request::Kind::Evidence(pb::EvidenceRequest {})),
        ),
        (
            "response",
            "HeadsResponse: MX-SEDENA at seq 1 (entries.json), US-DDTC at seq 5 (chain.json)",
            resp(sync_response::Kind::Heads(pb::HeadsResponse {
                heads: vec![head("MX-SEDENA", &mx), head("US-DDTC", &chain[4].0)],
            })),
        ),
        (
            "response",
            "RangeResponse with US-DDTC seq 1 and 2 of chain.json (the exact SignedEntry bytes)",
            resp(sync_response::Kind::Range(pb::RangeResponse {
                entries: chain[..2]
                    .iter()
                    .map(|(v, _, _)| Bytes::from(v.signed().encode()))
                    .collect(),
            })),
        ),
        (
            "response",
            "RangeResponse with nothing at `from` (an empty list)",
            resp(sync_response::Kind::Range(pb::RangeResponse {
                entries: vec![],
            })),
        ),
        (
            "response",
            "RangeResponse to an EvidenceRequest: the proof of fork.json",
            resp(sync_response::Kind::Range(pb::RangeResponse {
                entries: vec![Bytes::from(proof)],
            })),
        ),
        (
            "response",
            "SyncError for a request without a kind",
            resp(sync_response::Kind::Error(pb::SyncError {
                message: "empty or unknown request".into(),
            })),
        ),
    ];
    let list: Vec<Value> = items
        .into_iter()
        .map(|(direction, description, m)| {
            json!({
                "description": description,
                "direction": direction,
                "message": hex(&m),
                "frame": hex(frame(&m)),
            })
        })
        .collect();
    json!({
        "description": "/tally/sync/1 messages: `message` is the encoded SyncRequest (direction request) or SyncResponse (direction response); `frame` is what goes on the stream: u32be(len(message)) || message. Not a varint.",
        "protocol": "/tally/sync/1",
        "frames": list,
    })
}

/// Every vector file: (file name, contents).
pub fn generate() -> Vec<(&'static str, String)> {
    let chain = chain();
    let fork = fork_file(&chain);
    let proof = hex::decode(fork["proof"].as_str().expect("hex")).expect("hex");
    vec![
        ("keys.json", pretty(keys_file())),
        ("documents.json", pretty(documents_file())),
        ("entries.json", pretty(entries_file(&chain))),
        ("chain.json", pretty(chain_file(&chain))),
        ("fork.json", pretty(fork)),
        ("sealed.json", pretty(sealed_file(&chain))),
        ("cards.json", pretty(cards_file())),
        ("sync.json", pretty(sync_file(&chain, proof))),
        (
            "malformed.json",
            pretty(malformed::file(
                chain[0].0.signed().entry_bytes(),
                chain[0].0.entry().issued_at_ms,
                &signing_secret("US-DDTC", 1),
            )),
        ),
        ("text.json", pretty(text::file())),
        (
            "signatures.json",
            pretty(signatures::file(
                chain[0].0.signed().entry_bytes(),
                &signing_secret("US-DDTC", 1),
            )),
        ),
    ]
}

/// The issuer's encryption public key and a secret, parsed (for tests).
pub fn encryption_pair(secret_hex: &str) -> EncryptionSecret {
    let b: [u8; 32] = hex::decode(secret_hex)
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    EncryptionSecret::from_bytes(b)
}

/// Decodes a sealed body from an entry (for tests).
pub fn sealed_body(e: &Entry) -> Option<&Sealed> {
    match &e.body {
        Body::Sealed(s) => Some(s),
        Body::Document(_) | Body::Unknown(_) => None,
    }
}

/// Parses a signed entry from hex (for tests).
pub fn signed_from_hex(h: &str) -> SignedEntry {
    SignedEntry::decode(&hex::decode(h).expect("hex")).expect("decodes")
}

/// The X25519 public key from hex (for tests).
pub fn public_from_hex(h: &str) -> EncryptionPublic {
    EncryptionPublic::parse(h).expect("64 hex digits")
}
