//! Conversion between the model and the protobuf wire types of `tally-proto`.
//!
//! Kept private so prost types never cross this crate's public API. Decoding
//! checks structure (required fields present, sizes); the rules about what a
//! document may say live in [`crate::validate`].

use crate::document::*;
use crate::entry::{
    Body, DecodeError, Entry, EntryHash, MAX_ENTRY_BYTES, MAX_STANZAS, MAX_SUITE_BYTES,
    MAX_WRAPPED_BYTES, STANZA_TAG_BYTES, Sealed, SignedEntry, Stanza, WRAPPED_BYTES_V1,
};
use crate::seal::SUITE;
use crate::wire_license::{
    enum_parse, field, license_from_pb, license_to_pb, opt, person_from_pb, person_to_pb,
    ref_from_pb, ref_to_pb,
};
use crate::x25519::EncryptionPublic;
use prost::Message;
use prost::bytes::Bytes;
use tally_proto::v1 as pb;

/// The three fields of a `SignedEntry`: entry bytes, key id, signature.
type SignedParts = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Decodes the `SignedEntry` wrapper; `canonical` false for bytes this node
/// already accepted (its store), which were checked when they came in.
pub(crate) fn decode_signed_as(bytes: &[u8], canonical: bool) -> Result<SignedParts, DecodeError> {
    let m = pb::SignedEntry::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    // The unsigned wrapper must be canonical (fields 1, 2, 3 once each, in
    // order, minimal lengths, nothing else): otherwise a relay could dress
    // one entry in many encodings, each with its own gossip id, and the
    // bytes a node stores would depend on which copy reached it first.
    if canonical && encode_signed(&m.entry, &m.key_id, &m.signature) != bytes {
        return Err(field(
            "signed_entry",
            "not canonically encoded (re-encoding differs)",
        ));
    }
    Ok((m.entry.to_vec(), m.key_id.to_vec(), m.signature.to_vec()))
}

pub(crate) fn encode_signed(entry: &[u8], key_id: &[u8], signature: &[u8]) -> Vec<u8> {
    pb::SignedEntry {
        entry: Bytes::copy_from_slice(entry),
        key_id: Bytes::copy_from_slice(key_id),
        signature: Bytes::copy_from_slice(signature),
    }
    .encode_to_vec()
}

fn encode_proof_bytes(a: Vec<u8>, b: Vec<u8>) -> Vec<u8> {
    pb::EquivocationProof {
        entries: vec![a.into(), b.into()],
    }
    .encode_to_vec()
}

fn decode_proof_bytes(bytes: &[u8]) -> Result<[Vec<u8>; 2], DecodeError> {
    let m =
        pb::EquivocationProof::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    match <[prost::bytes::Bytes; 2]>::try_from(m.entries) {
        Ok([a, b]) => Ok([a.to_vec(), b.to_vec()]),
        Err(_) => Err(field("entries", "a proof holds exactly two entries")),
    }
}

pub(crate) fn encode_entry(e: &Entry) -> Vec<u8> {
    pb::Entry {
        authority: e.authority.to_string(),
        seq: e.seq,
        prev: e
            .prev
            .map(|h| Bytes::copy_from_slice(&h.0))
            .unwrap_or_default(),
        issued_at_ms: e.issued_at_ms,
        recipients: e.recipients.clone(),
        body: Some(match &e.body {
            Body::Document(d) => pb::entry::Body::Document(document_to_pb(d)),
            Body::Sealed(s) => pb::entry::Body::Sealed(sealed_to_pb(s)),
            Body::Unknown(u) => pb::entry::Body::Document(
                pb::Document::decode(u.bytes.as_slice()).unwrap_or_default(),
            ),
        }),
    }
    .encode_to_vec()
}

pub(crate) fn decode_entry(bytes: &[u8]) -> Result<Entry, DecodeError> {
    decode_entry_as(bytes, true)
}

/// [`decode_entry`]; `scan` false for bytes this node already accepted.
pub(crate) fn decode_entry_as(bytes: &[u8], scan: bool) -> Result<Entry, DecodeError> {
    if scan {
        crate::scan::scan(bytes, ".tally.v1.Entry").map_err(|f| field("entry", f.to_string()))?;
    }
    let m = pb::Entry::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    let authority = m
        .authority
        .parse()
        .map_err(|e: crate::id::IdError| field("authority", e.to_string()))?;
    if m.seq == 0 {
        return Err(field("seq", "must start at 1"));
    }
    let prev = if m.prev.is_empty() {
        None
    } else {
        Some(EntryHash::from_slice(&m.prev).ok_or_else(|| field("prev", "not 32 bytes"))?)
    };
    if (m.seq == 1) != prev.is_none() {
        return Err(field("prev", "must be empty exactly for seq 1"));
    }
    let body = match m.body {
        Some(pb::entry::Body::Document(d)) => match document_from_pb(d) {
            Ok(d) => Body::Document(d),
            // Well-formed bytes, not a document this version reads: kept
            // (the rare path decodes the entry again for the bytes).
            Err(e) => Body::Unknown(crate::entry::UnknownDocument {
                reason: document_fault(&e),
                bytes: match pb::Entry::decode(bytes).map(|m| m.body) {
                    Ok(Some(pb::entry::Body::Document(d))) => d.encode_to_vec(),
                    _ => Vec::new(),
                },
            }),
        },
        Some(pb::entry::Body::Sealed(s)) => Body::Sealed(sealed_from_pb(s)?),
        None => return Err(field("body", "missing")),
    };
    Ok(Entry {
        authority,
        seq: m.seq,
        prev,
        issued_at_ms: m.issued_at_ms,
        recipients: m.recipients,
        body,
    })
}

fn sealed_to_pb(s: &Sealed) -> pb::Sealed {
    pb::Sealed {
        suite: s.suite.clone(),
        commitment: Bytes::copy_from_slice(&s.commitment),
        ciphertext: Bytes::copy_from_slice(&s.ciphertext),
        stanzas: s
            .stanzas
            .iter()
            .map(|st| pb::Stanza {
                tag: Bytes::copy_from_slice(&st.tag),
                wrapped: Bytes::copy_from_slice(&st.wrapped),
            })
            .collect(),
    }
}

/// Checks every size a peer controls: the suite name, the 32-byte
/// commitment, the stanza count, 16-byte tags, and the wrapped size (exact
/// for [`SUITE`], bounded for suites this version does not know, which are
/// still stored and relayed).
fn sealed_from_pb(s: pb::Sealed) -> Result<Sealed, DecodeError> {
    if s.suite.is_empty() || s.suite.len() > MAX_SUITE_BYTES {
        return Err(field(
            "sealed.suite",
            format!("must be 1 to {MAX_SUITE_BYTES} bytes"),
        ));
    }
    let commitment: [u8; 32] = s
        .commitment
        .as_ref()
        .try_into()
        .map_err(|_| field("sealed.commitment", "not 32 bytes"))?;
    if s.stanzas.len() > MAX_STANZAS {
        return Err(field(
            "sealed.stanzas",
            format!("more than {MAX_STANZAS} stanzas"),
        ));
    }
    let known = s.suite == SUITE;
    let stanzas = s
        .stanzas
        .into_iter()
        .map(|st| {
            let tag = st.tag.as_ref().try_into().map_err(|_| {
                field(
                    "sealed.stanzas.tag",
                    format!("not {STANZA_TAG_BYTES} bytes"),
                )
            })?;
            let size_ok = if known {
                st.wrapped.len() == WRAPPED_BYTES_V1
            } else {
                !st.wrapped.is_empty() && st.wrapped.len() <= MAX_WRAPPED_BYTES
            };
            if !size_ok {
                return Err(field(
                    "sealed.stanzas.wrapped",
                    format!("{} bytes is the wrong size", st.wrapped.len()),
                ));
            }
            Ok(Stanza {
                tag,
                wrapped: st.wrapped.to_vec(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Sealed {
        suite: s.suite,
        commitment,
        ciphertext: s.ciphertext.to_vec(),
        stanzas,
    })
}

/// Most recipients and unreached countries a payload may list.
const MAX_PAYLOAD_LIST: usize = MAX_STANZAS;

pub(crate) fn encode_payload(p: &SealedPayload) -> Vec<u8> {
    pb::SealedPayload {
        document: Some(document_to_pb(&p.document)),
        recipients: p
            .recipients
            .iter()
            .map(|r| pb::Recipient {
                authority: r.authority.to_string(),
                encryption_key: Bytes::copy_from_slice(&r.encryption_key.0),
            })
            .collect(),
        unreached: p.unreached.iter().map(|c| c.to_string()).collect(),
    }
    .encode_to_vec()
}

pub(crate) fn decode_payload(bytes: &[u8]) -> Result<SealedPayload, DecodeError> {
    crate::scan::scan(bytes, ".tally.v1.SealedPayload")
        .map_err(|f| field("payload", f.to_string()))?;
    let m = pb::SealedPayload::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))?;
    if m.recipients.len() > MAX_PAYLOAD_LIST || m.unreached.len() > MAX_PAYLOAD_LIST {
        return Err(field(
            "payload",
            "too many recipients or unreached countries",
        ));
    }
    let document = document_from_pb(
        m.document
            .ok_or_else(|| field("payload.document", "missing"))?,
    )?;
    let recipients = m
        .recipients
        .into_iter()
        .map(|r| {
            Ok(Recipient {
                authority: r.authority.parse().map_err(|e: crate::id::IdError| {
                    field("payload.recipients.authority", e.to_string())
                })?,
                encryption_key: EncryptionPublic::from_slice(&r.encryption_key)
                    .ok_or_else(|| field("payload.recipients.encryption_key", "not 32 bytes"))?,
            })
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    let unreached = m
        .unreached
        .iter()
        .map(|c| {
            c.parse()
                .map_err(|e: crate::id::IdError| field("payload.unreached", e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SealedPayload {
        document,
        recipients,
        unreached,
    })
}

fn document_to_pb(d: &Document) -> pb::Document {
    use pb::document::Kind;
    let kind = match d {
        Document::License(l) => license_to_pb(l),
        Document::Amendment { version, license } => Kind::Amendment(Box::new(pb::Amendment {
            version: *version,
            document: Some(Box::new(pb::Document {
                kind: Some(license_to_pb(license)),
            })),
        })),
        Document::StatusChange(s) => Kind::StatusChange(pb::StatusChange {
            number: s.number.clone(),
            status: s.status.as_str().into(),
            reason: s.reason.clone(),
            effective_at_ms: s.effective_at_ms,
            prepared_by: person_to_pb(&s.prepared_by),
            signatory: person_to_pb(&s.signatory),
        }),
        Document::Shipment(s) => Kind::ShipmentRecord(pb::ShipmentRecord {
            license: Some(ref_to_pb(&s.license)),
            checkpoint: Some(pb::Checkpoint {
                country: s.checkpoint.country.clone(),
                port: s.checkpoint.port.clone(),
                direction: s.checkpoint.direction.as_str().into(),
            }),
            date: s.date.clone(),
            exporter: s.exporter.clone().unwrap_or_default(),
            importer: s.importer.clone().unwrap_or_default(),
            items: s
                .items
                .iter()
                .map(|l| pb::ShipmentLine {
                    line: l.line,
                    quantity: l.quantity,
                    serials: l.serials.clone(),
                })
                .collect(),
            verdict: s.verdict.clone(),
            failed_rules: s.failed_rules.clone(),
        }),
        Document::KeyRotation(k) => Kind::KeyRotation(pb::KeyRotation {
            new_key: hex::decode(&k.new_key).unwrap_or_default().into(),
            valid_from_ms: k.valid_from_ms,
        }),
        Document::PaperKey(k) => Kind::PaperKey(pb::PaperKey {
            public_key: Bytes::copy_from_slice(&k.public_key),
            valid_from_ms: k.valid_from_ms,
        }),
        Document::EncryptionKey(k) => Kind::EncryptionKey(pb::EncryptionKey {
            public_key: Bytes::copy_from_slice(&k.public_key),
            valid_from_ms: k.valid_from_ms,
        }),
    };
    pb::Document { kind: Some(kind) }
}

/// The reason a document does not read, as `document.invalid` reports it:
/// `unknown_kind` for a kind or value this version does not know.
fn document_fault(e: &DecodeError) -> String {
    let text = e.to_string();
    if text.contains("unknown value") || text.contains("missing kind") {
        format!("unknown_kind: {text}")
    } else {
        format!("document: {text}")
    }
}

fn document_from_pb(d: pb::Document) -> Result<Document, DecodeError> {
    use pb::document::Kind;
    let kind = d.kind.ok_or_else(|| field("document", "missing kind"))?;
    let other = match license_from_pb(kind)? {
        Ok(l) => return Ok(Document::License(l)),
        Err(other) => other,
    };
    Ok(match other {
        Kind::Amendment(a) => {
            let inner = a
                .document
                .and_then(|d| d.kind)
                .ok_or_else(|| field("amendment.document", "missing"))?;
            let license = license_from_pb(inner)?.map_err(|_| {
                field(
                    "amendment.document",
                    "not an export, import or transit document",
                )
            })?;
            if a.version < 2 {
                return Err(field("amendment.version", "must be 2 or more"));
            }
            Document::Amendment {
                version: a.version,
                license,
            }
        }
        Kind::StatusChange(s) => Document::StatusChange(StatusChange {
            number: s.number,
            status: enum_parse("status", &s.status)?,
            reason: s.reason,
            effective_at_ms: s.effective_at_ms,
            prepared_by: person_from_pb(s.prepared_by),
            signatory: person_from_pb(s.signatory),
        }),
        Kind::ShipmentRecord(s) => {
            let cp = s.checkpoint.ok_or_else(|| field("checkpoint", "missing"))?;
            Document::Shipment(ShipmentRecord {
                license: s
                    .license
                    .map(ref_from_pb)
                    .ok_or_else(|| field("license", "missing"))?,
                checkpoint: Checkpoint {
                    country: cp.country,
                    port: cp.port,
                    direction: enum_parse("checkpoint.direction", &cp.direction)?,
                },
                date: s.date,
                exporter: opt(&s.exporter),
                importer: opt(&s.importer),
                items: s
                    .items
                    .into_iter()
                    .map(|l| ShipmentLine {
                        line: l.line,
                        quantity: l.quantity,
                        serials: l.serials,
                    })
                    .collect(),
                verdict: s.verdict,
                failed_rules: s.failed_rules,
            })
        }
        Kind::KeyRotation(k) => {
            if k.new_key.len() != 32 {
                return Err(field("key_rotation.new_key", "not 32 bytes"));
            }
            Document::KeyRotation(KeyRotation {
                new_key: hex::encode(&k.new_key),
                valid_from_ms: k.valid_from_ms,
            })
        }
        Kind::PaperKey(k) => Document::PaperKey(PaperKey {
            public_key: k
                .public_key
                .as_ref()
                .try_into()
                .map_err(|_| field("paper_key.public_key", "not 32 bytes"))?,
            valid_from_ms: k.valid_from_ms,
        }),
        Kind::EncryptionKey(k) => Document::EncryptionKey(EncryptionKey {
            public_key: k
                .public_key
                .as_ref()
                .try_into()
                .map_err(|_| field("encryption_key.public_key", "not 32 bytes"))?,
            valid_from_ms: k.valid_from_ms,
        }),
        Kind::ExportLicense(_)
        | Kind::ImportCertificate(_)
        | Kind::TransitAuthorization(_)
        | Kind::DeliveryVerification(_)
        | Kind::Denial(_)
        | Kind::EnduseRequest(_)
        | Kind::EnduseAnswer(_) => {
            return Err(field("document", "unreachable kind"));
        }
    })
}

// ---------------------------------------------------------------------------
// The model's own encode and decode, over the conversions above: every
// conversion between the model and the wire lives in this file.

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        encode_entry(self)
    }
    pub fn decode(bytes: &[u8]) -> Result<Entry, DecodeError> {
        decode_entry(bytes)
    }
}

impl SignedEntry {
    /// Parses the wire form (an encoded `tally.v1.SignedEntry`).
    pub fn decode(bytes: &[u8]) -> Result<SignedEntry, DecodeError> {
        Self::decode_as(bytes, true)
    }

    /// Decodes bytes this node's own store holds and opens the entry: they
    /// passed [`SignedEntry::decode`] and the wire scanner when they came
    /// in, so a read (a license's document, on every check) does not run
    /// those again. Anything from outside goes through `decode`.
    pub fn open_stored(bytes: &[u8]) -> Result<Entry, DecodeError> {
        let signed = Self::decode_as(bytes, false)?;
        decode_entry_as(&signed.entry, false)
    }

    fn decode_as(bytes: &[u8], checked: bool) -> Result<SignedEntry, DecodeError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let (entry, key_id, signature) = decode_signed_as(bytes, checked)?;
        let key_id = key_id.try_into().map_err(|_| DecodeError::Field {
            field: "key_id",
            reason: "not 32 bytes".into(),
        })?;
        let signature = signature.try_into().map_err(|_| DecodeError::Field {
            field: "signature",
            reason: "not 64 bytes".into(),
        })?;
        Ok(SignedEntry {
            entry,
            key_id,
            signature,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        encode_signed(&self.entry, &self.key_id, &self.signature)
    }
}

impl SealedPayload {
    /// Encodes as a `tally.v1.SealedPayload` (unpadded).
    pub fn encode(&self) -> Vec<u8> {
        encode_payload(self)
    }
    /// Decodes and validates (authority ids, 32-byte keys, country codes,
    /// bounded lists).
    pub fn decode(bytes: &[u8]) -> Result<SealedPayload, DecodeError> {
        decode_payload(bytes)
    }
}

/// Encodes a proof that an authority signed two entries for one seq.
pub fn encode_proof(a: &SignedEntry, b: &SignedEntry) -> Vec<u8> {
    encode_proof_bytes(a.encode(), b.encode())
}

/// Decodes a proof; the caller still checks both signatures and that they
/// name the same (authority, seq) with different bytes.
pub fn decode_proof(bytes: &[u8]) -> Result<(SignedEntry, SignedEntry), DecodeError> {
    if bytes.len() > 2 * MAX_ENTRY_BYTES + 64 {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let [a, b] = decode_proof_bytes(bytes)?;
    Ok((SignedEntry::decode(&a)?, SignedEntry::decode(&b)?))
}
