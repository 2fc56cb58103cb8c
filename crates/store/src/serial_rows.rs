//! The bytes of the two rows each recorded serial adds (schema 9): `R`
//! ([`SerialUse`], the first use per license) and `Q` ([`SerialIndexRow`],
//! the index across licenses). Protobuf, holding only what the key does
//! not: the license, direction, country, line and normalized serial are
//! read back from the key.
//!
//! Why: a record declares up to thousands of serials and every party stores
//! these two rows for each one. In JSON they cost 186 and 317 bytes a serial
//! (two thirds of a 2,000-serial record's footprint; BENCHMARKS.md, "What a
//! record of many serials costs"). The JSON of older stores is still read, so
//! a store migrating by reindex reads either.

use crate::codec::authority_of;
use crate::error::{Result, StoreError};
use crate::keys::KeyReader;
use crate::state::{SerialIndexRow, SerialUse};
use prost::Message;
use tally_model::DocumentRef;

// Field numbers are the format on disk: never renumber or reuse one.

#[derive(Clone, PartialEq, prost::Message)]
struct Use {
    #[prost(string, tag = "1")]
    recorded_by: String,
    #[prost(uint64, tag = "2")]
    seq: u64,
    #[prost(string, tag = "3")]
    date: String,
    #[prost(int64, tag = "4")]
    recorded_at_ms: i64,
    #[prost(uint32, tag = "5")]
    line: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct IndexUse {
    #[prost(string, tag = "1")]
    recorded_by: String,
    #[prost(uint64, tag = "2")]
    seq: u64,
    #[prost(int64, tag = "3")]
    recorded_at_ms: i64,
    /// The serial as declared; absent when it is the key's normalized form.
    #[prost(string, optional, tag = "4")]
    declared: Option<String>,
}

/// A value beginning with `{` is the JSON of a store before schema 9 (a
/// protobuf value starts with field 1's tag, 0x0A).
fn is_json(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{')
}

pub(crate) fn encode_use(u: &SerialUse) -> Vec<u8> {
    Use {
        recorded_by: u.recorded_by.to_string(),
        seq: u.seq,
        date: u.date.clone(),
        recorded_at_ms: u.recorded_at_ms,
        line: u.line,
    }
    .encode_to_vec()
}

pub(crate) fn decode_use(key: &[u8], bytes: &[u8]) -> Result<SerialUse> {
    if is_json(bytes) {
        return crate::codec::decode(key, bytes);
    }
    let u = Use::decode(bytes).map_err(|e| StoreError::corrupt(key, e))?;
    Ok(SerialUse {
        recorded_by: authority_of(key, &u.recorded_by)?,
        seq: u.seq,
        date: u.date,
        recorded_at_ms: u.recorded_at_ms,
        line: u.line,
    })
}

pub(crate) fn encode_index(row: &SerialIndexRow, normalized: &str) -> Vec<u8> {
    IndexUse {
        recorded_by: row.recorded_by.to_string(),
        seq: row.seq,
        recorded_at_ms: row.recorded_at_ms,
        declared: (row.serial != normalized).then(|| row.serial.clone()),
    }
    .encode_to_vec()
}

/// A `Q` row, its license, country, line and (unless declared otherwise)
/// serial read from `key` ([`crate::keys::serial_index`]).
pub(crate) fn decode_index(key: &[u8], bytes: &[u8]) -> Result<SerialIndexRow> {
    if is_json(bytes) {
        return crate::codec::decode(key, bytes);
    }
    let u = IndexUse::decode(bytes).map_err(|e| StoreError::corrupt(key, e))?;
    let mut r = KeyReader::new(key);
    let parts = (|| {
        let _direction = r.byte()?;
        let serial = r.str()?;
        let license = DocumentRef {
            authority: r.str()?,
            number: r.str()?,
        };
        Some((serial, license, r.str()?, r.u32()?))
    })();
    let (serial, license, country, line) =
        parts.ok_or_else(|| StoreError::corrupt(key, "serial index key"))?;
    Ok(SerialIndexRow {
        license,
        recorded_by: authority_of(key, &u.recorded_by)?,
        seq: u.seq,
        recorded_at_ms: u.recorded_at_ms,
        country,
        line,
        serial: u.declared.unwrap_or(serial),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use tally_model::Direction;

    fn index_row(declared: &str) -> SerialIndexRow {
        SerialIndexRow {
            license: DocumentRef {
                authority: "US-ATF".into(),
                number: "EXP/2026/1".into(),
            },
            recorded_by: "MX-SEDENA".parse().unwrap(),
            seq: 42,
            recorded_at_ms: 1_790_000_000_000,
            country: "MX".into(),
            line: 3,
            serial: declared.into(),
        }
    }

    #[test]
    fn rows_read_back_as_written_and_older_json_still_reads() {
        for declared in ["AC1000", "ac-1000 "] {
            let row = index_row(declared);
            let normalized = tally_model::normalize_serial(declared);
            let key = keys::serial_index(
                Direction::Entry,
                &normalized,
                &row.license,
                &row.country,
                row.line,
            );
            let bytes = encode_index(&row, &normalized);
            assert_eq!(decode_index(&key, &bytes).unwrap(), row);
            let json = crate::codec::encode(&row);
            assert_eq!(decode_index(&key, &json).unwrap(), row);
            assert!(
                bytes.len() * 5 < json.len(),
                "{} vs {}",
                bytes.len(),
                json.len()
            );
        }
        let used = SerialUse {
            recorded_by: "MX-SEDENA".parse().unwrap(),
            seq: 7,
            date: "2026-12-07".into(),
            recorded_at_ms: 1_790_000_000_000,
            line: 2,
        };
        let key = b"R-any";
        assert_eq!(decode_use(key, &encode_use(&used)).unwrap(), used);
        assert_eq!(decode_use(key, &crate::codec::encode(&used)).unwrap(), used);
    }

    #[test]
    fn damaged_rows_are_corrupt_not_a_panic() {
        let key = keys::serial_index(Direction::Exit, "AC1", &index_row("AC1").license, "MX", 1);
        for bytes in [&b"\x0a\xff"[..], b"\xff\xff\xff"] {
            assert!(decode_index(&key, bytes).is_err());
            assert!(decode_use(&key, bytes).is_err());
        }
        let valid = encode_index(&index_row("AC1"), "AC1");
        assert!(decode_index(b"Qshort", &valid).is_err());
    }
}
