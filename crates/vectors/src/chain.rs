//! `chain.json` and `fork.json`: US-DDTC's log of five entries (which
//! every other file signs over or links to), the chain rule's step for
//! each (PROTOCOL.md 4), a gap, and an equivocation at seq 2 with its proof.
//! Also MX-SEDENA's first entry, which entries.json and sync.json show.

use crate::{Chain, T0, documents, entry, hex, signed_json, signing_key};
use serde_json::{Value, json};
use tally_model::{
    Body, ChainStep, Document, EntryHash, License, Status, StatusChange, VerifiedEntry, chain_step,
    encode_proof,
};

/// MX-SEDENA seq 1: the import certificate, clear.
pub(crate) fn mx_sedena_first() -> VerifiedEntry {
    signing_key("MX-SEDENA", 1).sign(&entry(
        "MX-SEDENA",
        1,
        None,
        T0 + 500,
        Body::Document(Document::License(License::Import(
            documents::import_certificate(),
        ))),
    ))
}

/// The US-DDTC chain: seq 1..=5, a rotation at seq 4 (signed by key 1),
/// seq 5 signed by key 2.
pub(crate) fn us_ddtc() -> Vec<(VerifiedEntry, u32, &'static str)> {
    let docs = documents::all();
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

pub(crate) fn file(chain: &Chain) -> Value {
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

pub(crate) fn fork_file(chain: &Chain) -> Value {
    let (a, _, _) = &chain[1];
    let other = entry(
        "US-DDTC",
        2,
        Some(chain[0].0.id()),
        T0 + 2_000,
        Body::Document(Document::StatusChange(StatusChange {
            prepared_by: None,
            signatory: None,
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
