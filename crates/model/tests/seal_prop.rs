//! Property tests of sealing (`tally/sealed/v1`, docs/PROTOCOL.md section 6): a seal
//! opens for its recipients and no one else, at any recipient count and
//! padding bucket; a flipped bit anywhere stops it opening for whoever it
//! touches; a dishonest issuer wrapping two content keys never makes two
//! readers see two plaintexts; decoy and real stanzas look alike.
//!
//! The dishonest issuer is built here from the module doc of
//! `tally_model::seal` with the same reviewed crates (x25519-dalek, hkdf,
//! hmac, chacha20poly1305): an independent reading of the spec, which the
//! tests check against the real seals before trusting it.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use sha2::Sha256;
use tally_model::seal::{DeterministicRandom, padded_len};
use tally_model::*;
use x25519_dalek::{PublicKey, StaticSecret};

const SEQ: u64 = 7;

fn issuer_id() -> AuthorityId {
    "US-DDTC".parse().expect("valid")
}

fn secret(bytes: [u8; 32]) -> EncryptionSecret {
    EncryptionSecret::from_bytes(bytes)
}

/// The docs/API.md export license with `serials` serial numbers (a larger
/// plaintext, so another padding bucket).
fn document(serials: usize, marker: &str) -> Document {
    let serials: Vec<String> = (0..serials).map(|i| format!("SN{i:07}")).collect();
    let json = serde_json::json!({
        "kind": "export", "number": "EXP-2026-0001",
        "exporting_country": "US", "importing_country": "MX", "transit_countries": ["GT"],
        "exporter": {"name": "Acme Arms Inc.", "id": "FFL-1-23-456"},
        "importer": {"name": "Importadora del Norte SA"},
        "end_user": {"name": marker}, "end_use": "law enforcement",
        "items": [{"line": 1, "category": "firearm", "description": "pistol", "hs_code": "930200",
                   "make": "Acme", "model": "P9", "caliber": "9x19mm",
                   "quantity": serials.len().max(1), "unit": "units", "serials": serials}],
        "valid_from": "2026-11-01", "valid_until": "2027-04-30",
        "import_certificate": {"authority": "MX-SEDENA", "number": "IC-2026-0042"},
        "shipments": "partial", "conditions": "no re-export"
    });
    Document::License(serde_json::from_value(json).expect("a valid license"))
}

/// Recipients `MX-R0`.. with the given secrets (distinct keys).
fn recipients(secrets: &[EncryptionSecret]) -> Vec<Recipient> {
    secrets
        .iter()
        .enumerate()
        .map(|(i, s)| Recipient {
            authority: format!("MX-R{i}").parse().expect("valid"),
            encryption_key: s.public(),
        })
        .collect()
}

struct Sealer {
    authority: AuthorityId,
    issuer: EncryptionSecret,
    prev: Option<EntryHash>,
    pairs: PairKeys,
}

impl Sealer {
    fn new(issuer: [u8; 32]) -> Sealer {
        Sealer {
            authority: issuer_id(),
            issuer: secret(issuer),
            prev: Some(EntryHash([6; 32])),
            pairs: PairKeys::default(),
        }
    }

    fn header(&self) -> Header<'_> {
        Header {
            authority: &self.authority,
            seq: SEQ,
            prev: self.prev,
        }
    }

    fn seal(&self, doc: &Document, to: &[Recipient], seed: [u8; 32]) -> Sealed {
        seal(
            &self.issuer,
            self.header(),
            doc,
            to,
            &[],
            &mut DeterministicRandom::new(seed),
            &self.pairs,
        )
        .expect("seals")
    }

    fn open(&self, sealed: &Sealed, own: &EncryptionSecret) -> Opening {
        open(
            self.header(),
            sealed,
            &[self.issuer.public()],
            std::slice::from_ref(own),
            &self.pairs,
        )
    }
}

fn opened(o: Opening) -> Option<SealedPayload> {
    match o {
        Opening::Opened(p) => Some(*p),
        _ => None,
    }
}

// ---- the construction, read independently from the module doc ----

fn expand(prk: &[u8; 32], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::from_prk(prk)
        .expect("a 32-byte PRK")
        .expand(info, &mut out)
        .expect("32 bytes");
    out
}

fn hmac_of(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn lp(field: &[u8]) -> Vec<u8> {
    [&(field.len() as u32).to_be_bytes()[..], field].concat()
}

/// The content key `k` a [`DeterministicRandom`] of `seed` draws first.
fn first_k(seed: [u8; 32]) -> [u8; 32] {
    hmac_of(&seed, &[b"tally/test-random/v1", &0u64.to_be_bytes()])
}

/// (K_wrap, K_tag) of issuer secret `issuer` and recipient key `to`.
fn pair(issuer: &EncryptionSecret, to: &EncryptionPublic) -> ([u8; 32], [u8; 32]) {
    let own = StaticSecret::from(issuer.to_bytes());
    let dh = own.diffie_hellman(&PublicKey::from(to.0));
    let info = [&b"tally/pair/v1"[..], &issuer.public().0[..], &to.0[..]].concat();
    let mut p = [0u8; 32];
    Hkdf::<Sha256>::new(None, dh.as_bytes())
        .expand(&info, &mut p)
        .expect("32 bytes");
    (expand(&p, b"tally/wrap/v1"), expand(&p, b"tally/tag/v1"))
}

fn tag(k_tag: &[u8; 32], authority: &AuthorityId, commitment: &[u8; 32]) -> [u8; 16] {
    let full = hmac_of(
        k_tag,
        &[
            &lp(authority.as_str().as_bytes()),
            &SEQ.to_be_bytes(),
            commitment,
        ],
    );
    full[..16].try_into().expect("16 bytes")
}

/// A stanza wrapping `k` for the recipient of (`k_wrap`, `k_tag`), under
/// `commitment`, whatever `k` commits to: what a dishonest issuer can write.
fn stanza(
    (k_wrap, k_tag): &([u8; 32], [u8; 32]),
    authority: &AuthorityId,
    commitment: &[u8; 32],
    k: &[u8; 32],
    nonce: [u8; 24],
) -> Stanza {
    let ad = [
        &lp(SUITE.as_bytes())[..],
        &lp(authority.as_str().as_bytes()),
        &SEQ.to_be_bytes(),
        commitment,
    ]
    .concat();
    let body = XChaCha20Poly1305::new(&Key::from(*k_wrap))
        .encrypt(&XNonce::from(nonce), Payload { msg: k, aad: &ad })
        .expect("encrypts 32 bytes");
    Stanza {
        tag: tag(k_tag, authority, commitment),
        wrapped: [&nonce[..], &body].concat(),
    }
}

// ---- strategies ----

fn key_bytes() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

/// Distinct secrets (by public key), none equal to the issuer's.
fn distinct(issuer: &EncryptionSecret, raw: Vec<[u8; 32]>) -> Vec<EncryptionSecret> {
    let mut out: Vec<EncryptionSecret> = Vec::new();
    for r in raw {
        let s = secret(r);
        if s.public() != issuer.public() && out.iter().all(|o| o.public() != s.public()) {
            out.push(s);
        }
    }
    out
}

proptest! {
    // Few cases: each costs X25519 operations; the whole file runs in seconds.
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any recipient set (0 to 40, so buckets 4 to 64) and any padding
    /// bucket (1 KiB to 32 KiB): every recipient and the issuer read the
    /// same payload, outsiders never do, and the sizes are the bucket's.
    #[test]
    fn seal_opens_for_its_recipients_and_no_one_else(
        issuer in key_bytes(),
        raw in prop::collection::vec(key_bytes(), 0..40),
        outsiders in prop::collection::vec(key_bytes(), 1..4),
        serials in prop_oneof![0usize..40, 100usize..1500],
        seed in key_bytes(),
        seq1 in any::<bool>(),
    ) {
        let mut s = Sealer::new(issuer);
        if seq1 {
            s.prev = None;
        }
        let readers = distinct(&s.issuer, raw);
        let to = recipients(&readers);
        let doc = document(serials, "Policia Estatal");
        let sealed = s.seal(&doc, &to, seed);

        let real = readers.len() + 1;
        prop_assert_eq!(sealed.stanzas.len(), real.next_power_of_two().max(4));
        prop_assert!(sealed.stanzas.iter().all(|st| st.wrapped.len() == 72));
        let mut listed = vec![Recipient {
            authority: s.authority.clone(),
            encryption_key: s.issuer.public(),
        }];
        listed.extend(to.iter().cloned());
        let want = SealedPayload { document: doc, recipients: listed, unreached: vec![] };
        prop_assert_eq!(sealed.ciphertext.len(), padded_len(4 + want.encode().len()) + 16);

        for own in std::iter::once(&s.issuer).chain(&readers) {
            let got = opened(s.open(&sealed, own));
            prop_assert_eq!(got.as_ref(), Some(&want));
        }
        for o in distinct(&s.issuer, outsiders) {
            if readers.iter().any(|r| r.public() == o.public()) {
                continue;
            }
            prop_assert_eq!(s.open(&sealed, &o), Opening::NotAddressed);
            // Not even with every key in the world as the issuer's.
            let mut all: Vec<EncryptionPublic> = readers.iter().map(|r| r.public()).collect();
            all.push(s.issuer.public());
            let o2 = open(s.header(), &sealed, &all, std::slice::from_ref(&o), &s.pairs);
            prop_assert_eq!(o2, Opening::NotAddressed);
        }
    }

    /// One flipped bit in the ciphertext or the commitment: no one reads
    /// it. In a stanza (tag or wrapped key): exactly its owner no longer
    /// reads it (a decoy's flip hurts no one), the others read the original.
    #[test]
    fn any_flipped_bit_fails_to_open(
        issuer in key_bytes(),
        raw in prop::collection::vec(key_bytes(), 0..6),
        seed in key_bytes(),
        bit in any::<prop::sample::Index>(),
        stanza_bit in 0usize..(88 * 8),
    ) {
        let s = Sealer::new(issuer);
        let readers = distinct(&s.issuer, raw);
        let to = recipients(&readers);
        let sealed = s.seal(&document(3, "x"), &to, seed);
        let everyone: Vec<&EncryptionSecret> =
            std::iter::once(&s.issuer).chain(&readers).collect();
        let want = opened(s.open(&sealed, &s.issuer)).expect("the issuer reads it");

        let mut t = sealed.clone();
        let i = bit.index(t.ciphertext.len() * 8);
        t.ciphertext[i / 8] ^= 1 << (i % 8);
        for own in &everyone {
            prop_assert_eq!(s.open(&t, own), Opening::Unopenable(Unopenable::Decrypt));
        }
        let mut t = sealed.clone();
        let i = bit.index(256);
        t.commitment[i / 8] ^= 1 << (i % 8);
        for own in &everyone {
            prop_assert!(opened(s.open(&t, own)).is_none());
        }

        // The same bit of every stanza in turn: each reader fails once.
        let mut failures = vec![0usize; everyone.len()];
        for n in 0..sealed.stanzas.len() {
            let mut t = sealed.clone();
            let st = &mut t.stanzas[n];
            if stanza_bit < 128 {
                st.tag[stanza_bit / 8] ^= 1 << (stanza_bit % 8);
            } else {
                let b = stanza_bit - 128;
                st.wrapped[b / 8] ^= 1 << (b % 8);
            }
            for (r, own) in everyone.iter().enumerate() {
                match opened(s.open(&t, own)) {
                    Some(p) => prop_assert_eq!(&p, &want),
                    None => failures[r] += 1,
                }
            }
        }
        prop_assert!(failures.iter().all(|&f| f == 1), "{:?}", failures);
    }

    /// A dishonest issuer with two content keys `k_a` (document A) and
    /// `k_b` (document B): commitment, ciphertext and each reader's wrapped
    /// key come from either. However they are mixed, no two readers read
    /// two different documents; whoever reads, reads the committed one.
    #[test]
    fn two_content_keys_never_open_to_two_plaintexts(
        issuer in key_bytes(),
        raw in prop::collection::vec(key_bytes(), 2..5),
        seed_a in key_bytes(),
        seed_b in key_bytes(),
        commit_b in any::<bool>(),
        cipher_b in any::<bool>(),
        wraps_b in prop::collection::vec(any::<bool>(), 5),
        nonce in any::<[u8; 24]>(),
    ) {
        prop_assume!(seed_a != seed_b);
        let s = Sealer::new(issuer);
        let readers = distinct(&s.issuer, raw);
        prop_assume!(readers.len() >= 2);
        let to = recipients(&readers);
        let (doc_a, doc_b) = (document(2, "Destino A"), document(2, "Destino B"));
        let sealed_a = s.seal(&doc_a, &to, seed_a);
        let sealed_b = s.seal(&doc_b, &to, seed_b);
        let (k_a, k_b) = (first_k(seed_a), first_k(seed_b));
        // The independent reading agrees with the real seals.
        prop_assert_eq!(expand(&k_a, b"tally/commit/v1"), sealed_a.commitment);
        prop_assert_eq!(expand(&k_b, b"tally/commit/v1"), sealed_b.commitment);
        for r in &readers {
            let p = pair(&s.issuer, &r.public());
            let t = tag(&p.1, &s.authority, &sealed_a.commitment);
            prop_assert_eq!(sealed_a.stanzas.iter().filter(|st| st.tag == t).count(), 1);
        }

        let commitment = if commit_b { sealed_b.commitment } else { sealed_a.commitment };
        let ciphertext = if cipher_b { &sealed_b.ciphertext } else { &sealed_a.ciphertext };
        let mut stanzas = Vec::new();
        for (i, r) in readers.iter().enumerate() {
            let k = if wraps_b[i] { &k_b } else { &k_a };
            let p = pair(&s.issuer, &r.public());
            stanzas.push(stanza(&p, &s.authority, &commitment, k, nonce));
        }
        let crafted = Sealed {
            suite: SUITE.to_string(),
            commitment,
            ciphertext: ciphertext.clone(),
            stanzas,
        };
        let mut read: Vec<Document> = Vec::new();
        for (i, r) in readers.iter().enumerate() {
            let honest = wraps_b[i] == commit_b && cipher_b == commit_b;
            match s.open(&crafted, r) {
                Opening::Opened(p) => {
                    prop_assert!(honest, "reader {} opened a crafted seal", i);
                    let committed = if commit_b { &doc_b } else { &doc_a };
                    prop_assert_eq!(&p.document, committed);
                    read.push(p.document);
                }
                Opening::Unopenable(why) => {
                    prop_assert!(!honest, "reader {}: {:?}", i, why);
                    // A key that is not the committed one is caught before decrypting.
                    if wraps_b[i] != commit_b {
                        prop_assert_eq!(why, Unopenable::Commitment);
                    }
                }
                Opening::NotAddressed => prop_assert!(false, "reader {} not addressed", i),
            }
        }
        read.dedup();
        prop_assert!(read.len() <= 1);
    }
}

/// Real and decoy stanzas over many seals: the same sizes, bytes uniform
/// in both (byte-frequency chi-square, each bit's balance), the two byte
/// distributions alike, and no 32-byte window that a real stanza more
/// often has as a valid curve point (Montgomery u on the curve rather than
/// the twist, or a decompressible Edwards y) than a decoy does.
#[test]
fn decoy_and_real_stanzas_are_alike() {
    const SEALS: usize = 600;
    let s = Sealer::new([11; 32]);
    let reader = secret([12; 32]);
    let to = recipients(std::slice::from_ref(&reader));
    let doc = document(1, "x");
    let own = pair(&s.issuer, &s.issuer.public());
    let theirs = pair(&s.issuer, &reader.public());
    let (mut real, mut decoy): (Vec<Vec<u8>>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    for n in 0..SEALS {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
        let sealed = s.seal(&doc, &to, seed);
        let tags = [
            tag(&own.1, &s.authority, &sealed.commitment),
            tag(&theirs.1, &s.authority, &sealed.commitment),
        ];
        assert_eq!(sealed.stanzas.len(), 4);
        for st in &sealed.stanzas {
            assert_eq!((st.tag.len(), st.wrapped.len()), (16, 72));
            let bytes = [&st.tag[..], &st.wrapped].concat();
            if tags.contains(&st.tag) {
                real.push(bytes);
            } else {
                decoy.push(bytes);
            }
        }
    }
    assert_eq!((real.len(), decoy.len()), (2 * SEALS, 2 * SEALS));

    // Chi-square, 255 degrees of freedom: mean 255, sd 22.6. The bound is
    // about six sd above (seeds are fixed: no flakes, but no slack for a bias).
    let bound = 255.0 + 6.0 * 22.6;
    let histogram = |group: &[Vec<u8>]| {
        let mut h = [0f64; 256];
        for b in group.iter().flatten() {
            h[*b as usize] += 1.0;
        }
        h
    };
    let (hr, hd) = (histogram(&real), histogram(&decoy));
    for (name, h) in [("real", &hr), ("decoy", &hd)] {
        let total: f64 = h.iter().sum();
        let e = total / 256.0;
        let chi: f64 = h.iter().map(|o| (o - e) * (o - e) / e).sum();
        assert!(chi < bound, "{name} bytes: chi-square {chi:.1}");
    }
    // Homogeneity of the two: a 2 x 256 contingency table.
    let (tr, td): (f64, f64) = (hr.iter().sum(), hd.iter().sum());
    let chi: f64 = (0..256)
        .map(|i| {
            let col = hr[i] + hd[i];
            let (er, ed) = (col * tr / (tr + td), col * td / (tr + td));
            (hr[i] - er).powi(2) / er + (hd[i] - ed).powi(2) / ed
        })
        .sum();
    assert!(chi < bound, "real vs decoy bytes: chi-square {chi:.1}");

    // Each of the 704 bit positions is set about half the time in both:
    // within 5 sd of 1200 fair coins (sd 17.3).
    for (name, group) in [("real", &real), ("decoy", &decoy)] {
        let n = group.len() as f64;
        for bit in 0..88 * 8 {
            let ones = group
                .iter()
                .filter(|st| st[bit / 8] >> (bit % 8) & 1 == 1)
                .count() as f64;
            let z = (ones - n / 2.0) / (n.sqrt() / 2.0);
            assert!(z.abs() < 5.0, "{name} bit {bit}: {ones} of {n}");
        }
    }

    // Curve points: every 32-byte window at 8-byte steps. Random bytes are
    // a Montgomery u on the curve (not its twist) about half the time, and
    // a decompressible Edwards y about half the time; a public key in a
    // stanza would always be both.
    let points = |group: &[Vec<u8>]| {
        let (mut mont, mut edw, mut windows) = (0usize, 0usize, 0usize);
        for st in group {
            for at in (0..=88 - 32).step_by(8) {
                let w: [u8; 32] = st[at..at + 32].try_into().expect("32 bytes");
                mont += usize::from(MontgomeryPoint(w).to_edwards(0).is_some());
                edw += usize::from(CompressedEdwardsY(w).decompress().is_some());
                windows += 1;
            }
        }
        (
            mont as f64 / windows as f64,
            edw as f64 / windows as f64,
            windows,
        )
    };
    let (mr, er, windows) = points(&real);
    let (md, ed, _) = points(&decoy);
    // 8400 windows a group: sd of a fraction 0.0055, of a difference 0.0077.
    let sd = (0.25 / windows as f64).sqrt();
    for (name, f) in [
        ("real on-curve", mr),
        ("decoy on-curve", md),
        ("real Edwards", er),
        ("decoy Edwards", ed),
    ] {
        assert!((f - 0.5).abs() < 5.0 * sd, "{name}: {f:.4}");
    }
    assert!(
        (mr - md).abs() < 5.0 * sd * 2f64.sqrt(),
        "{mr:.4} vs {md:.4}"
    );
    assert!(
        (er - ed).abs() < 5.0 * sd * 2f64.sqrt(),
        "{er:.4} vs {ed:.4}"
    );
}
