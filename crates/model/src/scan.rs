//! The wire scanner: which signed bytes are well-formed (docs/PROTOCOL.md
//! 2.5), decided before prost decodes them.
//!
//! Protobuf decoders are lenient in ways that differ between libraries: prost
//! keeps the last of a duplicated scalar and merges a duplicated message,
//! takes the last member of a oneof, truncates a `uint32` varint wider than
//! 32 bits and accepts varints padded with `0x80` bytes. Two correct
//! implementations would then read different documents from one entry, or
//! one would refuse what the other stores. So every node first walks the
//! bytes against the schema generated from the `.proto` files
//! (`tally_proto::schema`) and refuses, deterministically:
//!
//! - a singular known field present twice, or two members of one oneof;
//! - a known field with the wrong wire type;
//! - a varint longer than needed (a tag, a length or a value), or wider than
//!   64 bits; a `bool` other than 0 or 1; a `uint32` of 2^32 or more;
//! - a string that is not UTF-8; a length that runs past its message;
//! - a field number of 0 or above 2^29 - 1, and the deprecated group wire
//!   types 3 and 4 (and the undefined 6 and 7), known field or not;
//! - nesting deeper than [`MAX_DEPTH`].
//!
//! Unknown fields with wire types 0, 1, 2 and 5 are accepted and kept (they
//! are how v1 adds optional fields; PROTOCOL.md 2.4).

use tally_proto::schema::{self, Kind, Message};

/// Deepest nesting of messages accepted (an amendment holds a document
/// holding a license holding items: about 5 levels are used).
pub const MAX_DEPTH: usize = 16;

/// What is wrong with the bytes, and where (a path of field numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub path: String,
    pub what: &'static str,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(self.what)
        } else {
            write!(f, "field {}: {}", self.path, self.what)
        }
    }
}

/// Scans `bytes` as the message called `message` (`.tally.v1.Entry`).
pub fn scan(bytes: &[u8], message: &str) -> Result<(), Fault> {
    let Some(m) = schema::message(message) else {
        return Err(Fault {
            path: String::new(),
            what: "no such message in the schema",
        });
    };
    scan_message(bytes, m, 0, &mut Vec::new())
}

fn fault(path: &[u32], what: &'static str) -> Fault {
    Fault {
        path: path
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("."),
        what,
    }
}

/// Reads a varint at `*pos`, refusing over-long and over-wide encodings.
fn varint(bytes: &[u8], pos: &mut usize) -> Option<Result<u64, &'static str>> {
    let mut value: u64 = 0;
    for i in 0..10 {
        let b = *bytes.get(*pos + i)?;
        if i == 9 && b > 1 {
            return Some(Err("varint wider than 64 bits"));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if i > 0 && b == 0 {
                return Some(Err("over-long varint"));
            }
            *pos += i + 1;
            return Some(Ok(value));
        }
    }
    Some(Err("varint longer than 10 bytes"))
}

fn scan_message(
    bytes: &[u8],
    m: &'static Message,
    depth: usize,
    path: &mut Vec<u32>,
) -> Result<(), Fault> {
    if depth > MAX_DEPTH {
        return Err(fault(path, "messages nested too deep"));
    }
    let mut pos = 0;
    let mut seen: Vec<u32> = Vec::new();
    let mut oneofs: Vec<(i32, u32)> = Vec::new();
    while pos < bytes.len() {
        let tag = match varint(bytes, &mut pos) {
            None => return Err(fault(path, "truncated tag")),
            Some(Err(what)) => return Err(fault(path, what)),
            Some(Ok(t)) => t,
        };
        let number = tag >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(fault(path, "field number out of range"));
        }
        let number = number as u32;
        let wire = (tag & 7) as u8;
        path.push(number);
        let known = m.fields.iter().find(|f| f.number == number);
        if let Some(f) = known {
            let expected = match f.kind {
                Kind::Bool | Kind::Uint32 | Kind::Varint64 => 0,
                Kind::String | Kind::Bytes | Kind::Message => 2,
            };
            if wire != expected {
                return Err(fault(path, "wrong wire type"));
            }
            if !f.repeated {
                if seen.contains(&number) {
                    return Err(fault(path, "a singular field appears twice"));
                }
                seen.push(number);
            }
            if let Some(o) = f.oneof {
                if oneofs.iter().any(|&(i, n)| i == o && n != number) {
                    return Err(fault(path, "two members of one oneof"));
                }
                oneofs.push((o, number));
            }
        }
        match wire {
            0 => {
                let v = match varint(bytes, &mut pos) {
                    None => return Err(fault(path, "truncated varint")),
                    Some(Err(what)) => return Err(fault(path, what)),
                    Some(Ok(v)) => v,
                };
                match known.map(|f| f.kind) {
                    Some(Kind::Bool) if v > 1 => return Err(fault(path, "bool other than 0 or 1")),
                    Some(Kind::Uint32) if v > u64::from(u32::MAX) => {
                        return Err(fault(path, "uint32 of 2^32 or more"));
                    }
                    _ => {}
                }
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if bytes.len() - pos < n {
                    return Err(fault(path, "truncated fixed-width value"));
                }
                pos += n;
            }
            2 => {
                let len = match varint(bytes, &mut pos) {
                    None => return Err(fault(path, "truncated length")),
                    Some(Err(what)) => return Err(fault(path, what)),
                    Some(Ok(l)) => l,
                };
                if len > (bytes.len() - pos) as u64 {
                    return Err(fault(path, "length runs past the message"));
                }
                let value = &bytes[pos..pos + len as usize];
                pos += len as usize;
                match known {
                    Some(f) if f.kind == Kind::String && std::str::from_utf8(value).is_err() => {
                        return Err(fault(path, "string is not UTF-8"));
                    }
                    Some(f) if f.kind == Kind::Message => {
                        let Some(inner) = schema::message(f.message) else {
                            return Err(fault(path, "no such message in the schema"));
                        };
                        scan_message(value, inner, depth + 1, path)?;
                    }
                    _ => {}
                }
            }
            _ => return Err(fault(path, "group or undefined wire type")),
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_with(body: &[u8]) -> Vec<u8> {
        // authority "US-DDTC", seq 1, issued_at 5, then `body`.
        let mut b = vec![0x0a, 7];
        b.extend_from_slice(b"US-DDTC");
        b.extend_from_slice(&[0x10, 1, 0x20, 5]);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn well_formed_bytes_and_unknown_fields_pass() {
        assert_eq!(scan(&entry_with(&[]), ".tally.v1.Entry"), Ok(()));
        // Unknown field 99 (length-delimited) and 100 (varint).
        let body = [0x9a, 0x06, 0x01, b'x', 0xa0, 0x06, 0x07];
        assert_eq!(scan(&entry_with(&body), ".tally.v1.Entry"), Ok(()));
    }

    #[test]
    fn each_fault_is_refused() {
        let cases: &[(&str, &[u8])] = &[
            ("a singular field appears twice", &[0x10, 2]),
            ("over-long varint", &[0xa0, 0x06, 0x85, 0x00]),
            ("wrong wire type", &[0x12, 0x01, 0x00]),
            // document (6) and sealed (7) both present, each empty.
            ("two members of one oneof", &[0x32, 0x00, 0x3a, 0x00]),
            ("group or undefined wire type", &[0x9b, 0x06]),
            ("length runs past the message", &[0x9a, 0x06, 0x05, 0x00]),
            ("truncated varint", &[0xa0, 0x06, 0x80]),
        ];
        for (what, body) in cases {
            let got = scan(&entry_with(body), ".tally.v1.Entry").expect_err(what);
            assert_eq!(got.what, *what, "{got}");
        }
        // Invalid UTF-8 in the authority.
        let bad = [0x0a, 0x02, 0xc3, 0x28];
        assert_eq!(
            scan(&bad, ".tally.v1.Entry").map_err(|f| f.what),
            Err("string is not UTF-8")
        );
        // A uint32 (Item.line) of 2^32.
        let item = [0x08, 0x80, 0x80, 0x80, 0x80, 0x10];
        assert_eq!(
            scan(&item, ".tally.v1.Item").map_err(|f| f.what),
            Err("uint32 of 2^32 or more")
        );
        // A bool (ImportCertificate.single_use) of 2.
        assert_eq!(
            scan(&[0x58, 0x02], ".tally.v1.ImportCertificate").map_err(|f| f.what),
            Err("bool other than 0 or 1")
        );
    }

    #[test]
    fn nesting_is_bounded() {
        // Amendment { document: Document { amendment: Amendment { ... } } }
        let mut inner: Vec<u8> = Vec::new();
        for _ in 0..40 {
            let mut doc = vec![0x22, inner.len() as u8];
            doc.extend_from_slice(&inner);
            let mut amend = vec![0x12, doc.len() as u8];
            amend.extend_from_slice(&doc);
            inner = amend;
            if inner.len() > 120 {
                break;
            }
        }
        let err = scan(&inner, ".tally.v1.Amendment").expect_err("too deep");
        assert_eq!(err.what, "messages nested too deep");
    }
}
