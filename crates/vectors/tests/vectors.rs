//! The committed vectors equal a fresh generation byte for byte, and every
//! vector holds when checked through the implementation.

use ed25519_dalek::VerifyingKey;
use prost::Message as _;
use serde_json::Value;
use std::path::PathBuf;
use tally_model::{
    AuthorityKey, Card, ChainStep, EncryptionSecret, EntryHash, Header, Opening, PairKeys,
    TrustList, chain_step, decode_proof, open,
};
use tally_proto::v1 as pb;
use tally_vectors::{encryption_pair, public_from_hex, sealed_body, signed_from_hex};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/vectors")
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(name)).expect("vector file");
    serde_json::from_str(&text).expect("json")
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} is a string"))
}

fn bytes(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(s(v, k)).expect("hex")
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a Vec<Value> {
    v[k].as_array().unwrap_or_else(|| panic!("{k} is an array"))
}

fn vk(h: &[u8]) -> VerifyingKey {
    VerifyingKey::from_bytes(&h.try_into().expect("32 bytes")).expect("a curve point")
}

#[test]
fn committed_files_equal_a_fresh_generation() {
    for (name, text) in tally_vectors::generate() {
        let committed = std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| {
            panic!("{name}: {e}; run cargo run -p tally-vectors -- docs/vectors")
        });
        assert!(
            committed == text,
            "{name} differs from a fresh generation: a protocol change? regenerate with \
             cargo run -p tally-vectors -- docs/vectors"
        );
    }
}

#[test]
fn every_vector_has_a_description() {
    // Each file, and each item of each of its top-level lists.
    for (name, _) in tally_vectors::generate() {
        let f = load(name);
        assert!(f["description"].is_string(), "{name}");
        for (key, list) in f.as_object().expect("an object") {
            for (i, v) in list.as_array().into_iter().flatten().enumerate() {
                assert!(v["description"].is_string(), "{name}: {key}[{i}]");
            }
        }
    }
}

#[test]
fn keys_derive() {
    let keys = load("keys.json");
    for k in arr(&keys, "keys") {
        let secret: [u8; 32] = bytes(k, "secret").try_into().expect("32 bytes");
        let public = match s(k, "kind") {
            "ed25519" => AuthorityKey::from_bytes(&secret).public().to_bytes(),
            "x25519" => EncryptionSecret::from_bytes(secret).public().0,
            other => panic!("kind {other}"),
        };
        assert_eq!(
            public.to_vec(),
            bytes(k, "public"),
            "{}",
            s(k, "description")
        );
    }
}

/// Checks one signed entry object (as written by `signed_json`).
fn check_signed(v: &Value) -> tally_model::SignedEntry {
    let signed = signed_from_hex(s(v, "signed_entry"));
    assert_eq!(signed.entry_bytes(), &bytes(v, "entry")[..]);
    assert_eq!(signed.key_id().to_vec(), bytes(v, "key_id"));
    let mut message = b"tally/entry/v1".to_vec();
    message.extend_from_slice(signed.entry_bytes());
    assert_eq!(message, bytes(v, "message"));
    let key = vk(&bytes(v, "key_id"));
    signed
        .verify_with(&key)
        .unwrap_or_else(|e| panic!("{}: {e}", s(v, "description")));
    let sig: [u8; 64] = bytes(v, "signature").try_into().expect("64 bytes");
    assert!(tally_model::signature::verify(
        key.as_bytes(),
        &message,
        &sig
    ));
    assert_eq!(signed.id().to_hex(), s(v, "entry_id"));
    let entry = signed.open().expect("decodes");
    assert_eq!(entry.seq, v["seq"].as_u64().expect("seq"));
    assert_eq!(entry.authority.as_str(), s(v, "authority"));
    assert_eq!(
        entry.prev.map(|p| p.to_hex()).unwrap_or_default(),
        s(v, "prev")
    );
    // Exact bytes: the wrapper round-trips.
    assert_eq!(signed.encode(), bytes(v, "signed_entry"));
    signed
}

#[test]
fn entries_verify_and_invalid_ones_do_not() {
    let f = load("entries.json");
    assert_eq!(bytes(&f, "domain"), b"tally/entry/v1");
    for v in arr(&f, "valid") {
        check_signed(v);
    }
    for v in arr(&f, "invalid") {
        let wire = bytes(v, "signed_entry");
        let signed = tally_model::SignedEntry::decode(&wire).expect("decodes");
        let key = vk(&bytes(v, "key"));
        assert!(
            signed.verify_with(&key).is_err(),
            "{} verified",
            s(v, "description")
        );
    }
}

/// The text rule's ranges: inside refused, just outside accepted (unless the
/// neighbour is another range's edge).
#[test]
fn text_rule_ranges_are_the_rule() {
    let f = load("text.json");
    let parse = |v: &Value| -> u32 {
        u32::from_str_radix(v.as_str().expect("U+XXXX").trim_start_matches("U+"), 16).expect("hex")
    };
    let ranges: Vec<(u32, u32)> = arr(&f, "refused_ranges")
        .iter()
        .map(|r| (parse(&r["from"]), parse(&r["to"])))
        .collect();
    let refused = |n: u32| char::from_u32(n).is_some_and(tally_model::validate::is_refused_char);
    for &(a, b) in &ranges {
        assert!(refused(a) && refused(b), "U+{a:04X}..U+{b:04X}");
        if a > 0 && !ranges.iter().any(|&(_, e)| e + 1 == a) {
            assert!(!refused(a - 1), "U+{:04X}", a - 1);
        }
        assert!(!refused(b + 1), "U+{:04X}", b + 1);
    }
    for must in [
        0x061C, 0x2028, 0x2029, 0xE0001, 0x00AD, 0x115F, 0x3164, 0x180E, 0x034F, 0xFFF9,
    ] {
        assert!(
            ranges.iter().any(|&(a, b)| a <= must && must <= b),
            "U+{must:04X}"
        );
    }
}

/// The decoding table: each row's verdict through the implementation.
#[test]
fn malformed_rows_get_their_verdict() {
    let f = load("malformed.json");
    let cases = arr(&f, "cases");
    assert!(cases.len() >= 11);
    for v in cases {
        let wire = bytes(v, "signed_entry");
        let got = match tally_model::SignedEntry::decode(&wire).and_then(|s| s.open()) {
            Err(_) => "refused",
            Ok(e) if matches!(e.body, tally_model::Body::Unknown(_)) => "stored_invalid",
            Ok(_) => "stored",
        };
        assert_eq!(got, s(v, "verdict"), "{}", s(v, "id"));
    }
}

/// The signature rule's edge cases: each verdict alone, and the same verdict
/// inside a batch with an honest signature (batch and single checks agree).
#[test]
fn signature_rule_cases_get_their_verdict_alone_and_in_a_batch() {
    let f = load("signatures.json");
    let cases = arr(&f, "cases");
    let honest = &cases[0];
    let key_of = |v: &Value| -> [u8; 32] { bytes(v, "key").try_into().expect("32 bytes") };
    let sig_of = |v: &Value| -> [u8; 64] { bytes(v, "signature").try_into().expect("64 bytes") };
    let (hk, hm, hs) = (key_of(honest), bytes(honest, "message"), sig_of(honest));
    let mut ids = Vec::new();
    for v in cases {
        let (k, m, sg) = (key_of(v), bytes(v, "message"), sig_of(v));
        let valid = v["valid"].as_bool().expect("valid");
        let id = s(v, "id");
        ids.push(id.to_string());
        assert_eq!(tally_model::signature::verify(&k, &m, &sg), valid, "{id}");
        let batch = [(&k, &m[..], &sg), (&hk, &hm[..], &hs)];
        assert_eq!(
            tally_model::signature::verify_batch(&batch),
            valid,
            "{id} in a batch"
        );
        let refused = tally_model::signature::key_weakness(&k).is_some();
        assert_eq!(refused, !v["key_refused"].is_null(), "{id} key");
    }
    for required in [
        "small_order_r",
        "small_order_a",
        "mixed_order_a",
        "non_canonical_a",
        "non_canonical_r",
        "s_not_reduced",
        "torsion_in_r",
    ] {
        assert!(ids.iter().any(|i| i == required), "{required} missing");
    }
}

#[test]
fn documents_are_what_entries_carry() {
    let docs = load("documents.json");
    let chain = load("chain.json");
    let first = signed_from_hex(s(&arr(&chain, "entries")[0], "signed_entry"));
    let entry = pb::Entry::decode(first.entry_bytes()).expect("decodes");
    let Some(pb::entry::Body::Document(d)) = entry.body else {
        panic!("a clear entry")
    };
    let export = arr(&docs, "documents")
        .iter()
        .find(|d| s(d, "name") == "export_license")
        .expect("export license");
    assert_eq!(d.encode_to_vec(), bytes(export, "document"));
    for d in arr(&docs, "documents") {
        let m = pb::Document::decode(&bytes(d, "document")[..]).expect("decodes");
        assert!(m.kind.is_some(), "{}", s(d, "name"));
        assert_eq!(m.encode_to_vec(), bytes(d, "document"));
    }
}

#[test]
fn chain_links_and_steps() {
    let f = load("chain.json");
    let mut head: Option<(u64, EntryHash)> = None;
    for v in arr(&f, "entries") {
        let signed = check_signed(v);
        let e = signed.open().expect("decodes");
        assert_eq!(e.prev, head.map(|(_, h)| h), "links to the previous id");
        let step = chain_step(head, None, e.seq, e.prev, signed.id());
        assert_eq!(step, ChainStep::Next);
        assert_eq!(s(v, "chain_step"), "next");
        head = Some((e.seq, signed.id()));
    }
    let entries = arr(&f, "entries");
    let keys: Vec<String> = entries.iter().map(|v| s(v, "key_id").to_owned()).collect();
    assert_eq!(keys[0], keys[3], "seq 1 to 4 by key 1");
    assert_ne!(keys[3], keys[4], "seq 5 by the rotated key");
    let five = signed_from_hex(s(&entries[4], "signed_entry"));
    let three = signed_from_hex(s(&entries[2], "signed_entry"));
    let e5 = five.open().expect("decodes");
    let gap = chain_step(Some((3, three.id())), None, 5, e5.prev, five.id());
    assert_eq!(gap, ChainStep::Gap { have: 3 });
    assert_eq!(s(&f["gap"], "chain_step"), "gap(have=3)");
}

#[test]
fn fork_is_an_equivocation() {
    let f = load("fork.json");
    let held = check_signed(&f["held"]);
    let offered = check_signed(&f["offered"]);
    let (a, b) = (held.open().expect("a"), offered.open().expect("b"));
    assert_eq!((a.authority.clone(), a.seq), (b.authority.clone(), b.seq));
    assert_ne!(held.id(), offered.id());
    let step = chain_step(
        Some((a.seq, held.id())),
        Some(held.id()),
        b.seq,
        b.prev,
        offered.id(),
    );
    assert_eq!(
        step,
        ChainStep::Equivocation {
            existing: held.id()
        }
    );
    let (pa, pb) = decode_proof(&bytes(&f, "proof")).expect("a proof");
    assert_eq!((pa, pb), (held, offered));
}

#[test]
fn sealed_entries_open_for_recipients_only() {
    let f = load("sealed.json");
    for case in arr(&f, "sealed") {
        let name = s(case, "name");
        let signed = check_signed(&case["signed"]);
        let entry = signed.open().expect("decodes");
        let sealed = sealed_body(&entry).expect("a sealed body");
        assert_eq!(sealed.suite, s(&f, "suite"));
        let issuer = public_from_hex(s(case, "issuer_encryption_public"));
        let header = Header::of(&entry);
        let doc_bytes = bytes(case, "document");
        for r in arr(case, "can_open") {
            let secret = encryption_pair(s(r, "secret"));
            match open(header, sealed, &[issuer], &[secret], &PairKeys::default()) {
                Opening::Opened(p) => {
                    let authorities: Vec<&str> =
                        p.recipients.iter().map(|r| r.authority.as_str()).collect();
                    assert!(authorities.contains(&s(r, "authority")), "{name}");
                    assert_eq!(authorities[0], entry.authority.as_str(), "issuer first");
                    // The payload's document is the vector's document.
                    let payload = pb::SealedPayload::decode(&p.encode()[..]).expect("decodes");
                    assert_eq!(
                        payload.document.expect("document").encode_to_vec(),
                        doc_bytes,
                        "{name}"
                    );
                }
                other => panic!("{name}: {} cannot open: {other:?}", s(r, "authority")),
            }
        }
        for r in arr(case, "cannot_open") {
            let secret = encryption_pair(s(r, "secret"));
            assert_eq!(
                open(header, sealed, &[issuer], &[secret], &PairKeys::default()),
                Opening::NotAddressed,
                "{name}"
            );
        }

        // Intermediate values against the body.
        let i = &case["intermediate"];
        assert_eq!(sealed.commitment.to_vec(), bytes(i, "commitment"));
        assert_eq!(sealed.ciphertext, bytes(i, "ciphertext"));
        assert_eq!(
            sealed.stanzas.len() as u64,
            i["bucket"].as_u64().expect("bucket")
        );
        let padded = bytes(i, "padded");
        let payload = bytes(i, "payload");
        assert_eq!(padded[..4], (payload.len() as u32).to_be_bytes());
        assert_eq!(
            padded.len(),
            tally_model::seal::padded_len(4 + payload.len())
        );
        for st in arr(i, "stanzas") {
            let at = st["stanza_index"].as_u64().expect("index") as usize;
            assert_eq!(sealed.stanzas[at].tag.to_vec(), bytes(st, "tag"));
            assert_eq!(sealed.stanzas[at].wrapped, bytes(st, "wrapped"));
        }
    }
}

#[test]
fn card_fingerprints_match() {
    let f = load("cards.json");
    for v in arr(&f, "cards") {
        let card: Card = serde_json::from_value(v["card"].clone()).expect("a card");
        card.check().expect("a valid card");
        assert_eq!(
            card.fingerprint_input(),
            s(v, "fingerprint_input").as_bytes()
        );
        assert_eq!(
            card.fingerprint_bytes().to_vec(),
            bytes(v, "fingerprint_bytes")
        );
        assert_eq!(card.fingerprint(), s(v, "fingerprint"));
    }
    assert_eq!(
        s(&arr(&f, "cards")[2], "fingerprint"),
        "5762-094a-7ff1-dcf8-a417-68df-f9b0-332b-e16d-02a2-fe8d-4ab7-7369-ff08-f39c-694b"
    );
    let trust: TrustList = toml::from_str(s(&f, "trust_list_toml")).expect("a trust list");
    assert_eq!(trust.cards.len(), 2);
    assert_eq!(trust.compromised.len(), 1);
}

#[test]
fn sync_frames_are_length_prefixed_messages() {
    let f = load("sync.json");
    for v in arr(&f, "frames") {
        let m = bytes(v, "message");
        let frame = bytes(v, "frame");
        assert_eq!(
            frame[..4],
            (m.len() as u32).to_be_bytes(),
            "4-byte big-endian"
        );
        assert_eq!(frame[4..], m[..]);
        match s(v, "direction") {
            "request" => {
                let r = pb::SyncRequest::decode(&m[..]).expect("a request");
                assert!(r.kind.is_some());
                assert_eq!(r.encode_to_vec(), m);
                assert!(frame.len() <= 4 + 4096);
            }
            "response" => {
                let r = pb::SyncResponse::decode(&m[..]).expect("a response");
                assert!(r.kind.is_some());
                assert_eq!(r.encode_to_vec(), m);
                if let Some(pb::sync_response::Kind::Range(range)) = r.kind {
                    for e in range.entries {
                        // Entries or proofs: each decodes as one of them.
                        let ok = tally_model::SignedEntry::decode(&e)
                            .is_ok_and(|s| s.open().is_ok())
                            || decode_proof(&e).is_ok();
                        assert!(ok, "{}", s(v, "description"));
                    }
                }
            }
            other => panic!("direction {other}"),
        }
    }
}

/// `issuer_keys.json` follows PROTOCOL.md 6.7 as written, computed here the
/// naive way from the file alone: the first announcement of each key
/// counts; of the card keys (seq 0) and those, the ones valid at the
/// entry's time sorted by (valid_from_ms, seq), each key at its last place,
/// the 16 newest.
#[test]
fn issuer_key_selections_follow_the_rule_as_written() {
    let f = load("issuer_keys.json");
    let mut all: Vec<(i64, u64, String)> = arr(&f, "card_keys")
        .iter()
        .map(|k| {
            (
                k["valid_from_ms"].as_i64().expect("ms"),
                0,
                s(k, "public_key").to_string(),
            )
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for a in arr(&f, "announcements") {
        let key = s(a, "public_key").to_string();
        let first = seen.insert(key.clone());
        assert_eq!(a["counts"].as_bool(), Some(first), "{a}");
        if first {
            all.push((
                a["valid_from_ms"].as_i64().expect("ms"),
                a["seq"].as_u64().expect("seq"),
                key,
            ));
        }
    }
    all.sort_by_key(|(from, seq, _)| (*from, *seq));
    let cap = f["max_issuer_keys"].as_u64().expect("a number") as usize;
    for case in arr(&f, "selections") {
        let at = case["issued_at_ms"].as_i64();
        let mut out: Vec<String> = Vec::new();
        for (from, _, k) in &all {
            if at.is_none_or(|at| *from <= at) {
                out.retain(|o| o != k);
                out.push(k.clone());
            }
        }
        if at.is_some() && out.len() > cap {
            out.drain(..out.len() - cap);
        }
        let tried: Vec<String> = arr(case, "tried")
            .iter()
            .map(|k| k.as_str().expect("hex").to_string())
            .collect();
        assert_eq!(tried, out, "{}", s(case, "description"));
    }
}

/// `seals.json`: every case gets its answer, and the seal's summary reads
/// back as the vector gives it.
#[test]
fn seals_get_their_answer() {
    let f = load("seals.json");
    let public: [u8; 32] = bytes(&f["paper_key"], "public_key")
        .try_into()
        .expect("32 bytes");
    let seal = &f["seal"];
    let read = tally_verify::paper::read(s(seal, "text")).expect("the seal reads");
    assert_eq!(
        serde_json::to_value(&read.summary).expect("json"),
        seal["summary"]
    );
    assert_eq!(hex::encode(&read.cti), s(seal, "cti"));
    for case in arr(&f, "cases") {
        let keys = [tally_verify::paper::PaperKey {
            authority: "US-DDTC".into(),
            public_key: public,
            compromised: case["compromised"] == true,
        }];
        let got = match tally_verify::paper::read(s(case, "text")) {
            Err(_) => "not_a_seal".to_string(),
            Ok(r) => serde_json::to_value(r.genuine(&keys))
                .expect("json")
                .as_str()
                .expect("a name")
                .to_string(),
        };
        assert_eq!(got, s(case, "expect"), "{}", s(case, "description"));
    }
}

/// `seals.json`'s annex pages: each part reads back as the annex the
/// vector gives, under its own cti; the parts' counts add up to the main
/// seal's line count; every variant of part 2 gets its answer.
#[test]
fn annex_seals_get_their_answer() {
    let f = load("seals.json");
    let public: [u8; 32] = bytes(&f["paper_key"], "public_key")
        .try_into()
        .expect("32 bytes");
    let keys = |compromised: bool| {
        [tally_verify::paper::PaperKey {
            authority: "US-DDTC".into(),
            public_key: public,
            compromised,
        }]
    };
    let annex = &f["annex"];
    let main = tally_verify::paper::read(s(annex, "main_text")).expect("the main seal reads");
    assert!(main.annex.is_none());
    assert_eq!(
        main.genuine(&keys(false)),
        tally_verify::paper::Genuine::Genuine
    );
    let line = main.summary.lines[0].serial_count;
    assert_eq!(annex["serial_count"].as_u64(), Some(line));
    let mut total = 0;
    for part in arr(annex, "parts") {
        let r = tally_verify::paper::read(s(part, "text")).expect("an annex reads");
        let a = r.annex.clone().expect("an annex");
        assert_eq!(serde_json::to_value(&a).expect("json"), part["annex"]);
        assert_eq!(hex::encode(&r.cti), s(part, "cti"));
        assert_eq!(
            r.genuine(&keys(false)),
            tally_verify::paper::Genuine::Genuine
        );
        assert_eq!(r.summary.number, main.summary.number);
        total += a.count;
    }
    assert_eq!(total, line, "the parts' counts add up to the line's");
    for case in arr(&f, "annex_cases") {
        let got = match tally_verify::paper::read(s(case, "text")) {
            Err(_) => "not_a_seal".to_string(),
            Ok(r) => serde_json::to_value(r.genuine(&keys(case["compromised"] == true)))
                .expect("json")
                .as_str()
                .expect("a name")
                .to_string(),
        };
        assert_eq!(got, s(case, "expect"), "{}", s(case, "description"));
    }
}
