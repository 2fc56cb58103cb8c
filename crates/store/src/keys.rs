//! The key layout: one ordered keyspace, a one-byte prefix per kind of record.
//!
//! | prefix | key after the prefix                                   | value                           |
//! |--------|--------------------------------------------------------|---------------------------------|
//! | `L`    | authority, seq                                         | encoded `SignedEntry`           |
//! | `H`    | authority                                              | seq (8) + entry hash (32)       |
//! | `X`    | entry hash (32)                                        | seq (8) + authority             |
//! | `S`    | authority, number                                      | license record (protobuf, `record`) |
//! | `V`    | export authority, export number, transit authority, number | empty                       |
//! | `T`    | license authority, number, line, direction, country    | `TallyRow` (JSON)               |
//! | `R`    | license authority, number, direction, country, serial  | `SerialUse` (protobuf, `serial_rows`) |
//! | `P`    | license authority, number, recorded_at_ms, recorder, seq | `ShipmentRow` (JSON)          |
//! | `Y`    | authority, seq                                         | `RotatedKey` (JSON)             |
//! | `E`    | authority, seq, hash of the conflicting entry          | both encoded entries            |
//! | `C`    | import certificate authority, number, export authority, number | empty             |
//! | `Z`    | authority, seq                                         | `AnnouncedKey` (JSON)           |
//! | `A`    | alert id                                               | `Alert` (JSON)                  |
//! | `G`    | authority                                              | applied through seq (8)         |
//! | `W`    | exit date (days), license authority, number, recorder, seq | empty (accepted exits by date) |
//! | `Q`    | direction, normalized serial, license authority, number, country, line | `SerialIndexRow` (protobuf, `serial_rows`): the earliest use |
//! | `O`    | own authority, seq, hash of the foreign entry          | encoded `SignedEntry` (log.cloned) |
//! | `K`    | authority, seq, entry hash                             | encoded `SignedEntry` (a compromised tail the genuine log replaced) |
//! | `N`    | authority, valid_from, seq                             | `AnnouncedKey` (JSON): the encryption keys that count |
//! | `U`    | authority, public key                                  | `AnnouncedKey` (JSON)           |
//! | `B`    | serial bucket, document authority, number              | empty (serials a document lists, for a trace) |
//! | `J`    | `e`, authority, seq                                    | `Doubts` (JSON): a readable sealed document's unconfirmed claims |
//! | `J`    | `k`, recipient authority, key, authority, seq          | `DoubtRef` (JSON): which doubts a key announcement settles |
//! | `p`    | `d` or `x`, buyer digest (8), document authority, number | empty (denials and export licenses by buyer, for `denial.match`) |
//! | `w`    | return-by date (days), license authority, number       | empty (temporary exports by `return_by`, for `return.overdue`) |
//! | `q`    | request date (days), request authority, number         | empty (end-use requests by date, for `enduse.unanswered`) |
//! | `M`    | `M/schema`, `M/reindexing`, `M/recovering`, `M/overdue` | meta                           |
//!
//! Tallies and serial uses are kept per recording country and filtered by
//! the license's route when read, so they do not depend on whether the
//! license or the record arrived first.
//!
//! Numbers are big-endian (signed ones with the sign bit flipped) so keys sort
//! numerically; strings are escaped (`00` -> `00 FF`) and end in `00 01`, so
//! a string sorts before any longer string it prefixes and no string can run
//! into the next component. `S V T R P Y A G C Z D W Q J N U B F I p w q` are derived from the logs and are
//! what `reindex` deletes and rebuilds.

use tally_model::{Direction, DocumentRef, EntryHash};

pub const LOG: u8 = b'L';
pub const HEAD: u8 = b'H';
pub const HASH: u8 = b'X';
pub const LICENSE: u8 = b'S';
pub const TRANSIT: u8 = b'V';
pub const TALLY: u8 = b'T';
pub const SERIAL: u8 = b'R';
pub const SHIPMENT: u8 = b'P';
pub const ROTATED: u8 = b'Y';
pub const EVIDENCE: u8 = b'E';
pub const ALERT: u8 = b'A';
pub const CITES: u8 = b'C';
pub const ENCRYPTION: u8 = b'Z';
/// Export license -> the delivery verifications about it.
pub const DELIVERY: u8 = b'D';
pub const APPLIED: u8 = b'G';
/// Accepted exits by date: what the date-driven `delivery.overdue` pass
/// reads to find the licenses whose exits fell due.
pub const EXIT_DATE: u8 = b'W';
/// Serial uses across licenses, by (direction, normalized serial): what
/// `serial.repeat` joins.
pub const SERIAL_INDEX: u8 = b'Q';
pub const META: u8 = b'M';
/// Claims of readable sealed documents this node could not confirm yet
/// (`party.excluded`), and the key announcements that would settle them.
pub const DOUBT: u8 = b'J';
/// Entries of this node's own authority that it did not write (`log.cloned`).
pub const CLONED: u8 = b'O';
/// Entries past a key's compromise that the authority's genuine
/// continuation replaced in the log (kept as evidence).
pub const DISPLACED: u8 = b'K';
/// The encryption keys that count (each key's first announcement) by
/// (authority, valid_from, seq): the newest valid at an instant are a
/// short reverse range (docs/PROTOCOL.md 6.7).
pub const ANNOUNCED_BY_TIME: u8 = b'N';
/// The same announcements by (authority, key): whether a key was
/// announced, in one read.
pub const ANNOUNCED_BY_KEY: u8 = b'U';
/// Serials a license, certificate or authorization lists, by (serial
/// bucket, document): what a trace of a seized firearm starts from. A
/// bucket is the normalized serial without its last digit
/// (`trace::serial_bucket`), so a run of consecutive serials, the way
/// firearms are made and licensed, costs one row per ten.
pub const LICENSED_SERIAL: u8 = b'B';
/// What statistics count (`flow_rows`): `Fd` a readable export license,
/// import certificate or delivery verification by document, `Fc` a
/// recorded crossing by license, recorder and seq.
pub const FLOW: u8 = b'F';
/// Paper keys an authority announced in its own log, by authority and seq.
pub const PAPER: u8 = b'I';
/// Denials (`pd`) and export licenses (`px`) by the normalized keys of
/// their buyers (`tally_model::denial::party_keys`): what `denial.match`
/// joins. Lower case: every capital letter is taken.
pub const PARTY: u8 = b'p';
/// Temporary exports by `return_by`: what the date-driven pass reads to
/// find the licenses whose goods fell due back (`return.overdue`).
pub const RETURN_BY: u8 = b'w';
/// End-use requests by their date: what the date-driven pass reads to find
/// the requests whose answer fell due (`enduse.unanswered`). Their answers
/// cite them in `C`, as a request cites its export license.
pub const REQUEST_DATE: u8 = b'q';

/// Prefixes of the records `reindex` rebuilds from the logs.
pub const DERIVED: [u8; 22] = [
    LICENSE,
    TRANSIT,
    TALLY,
    SERIAL,
    SHIPMENT,
    ROTATED,
    ALERT,
    APPLIED,
    CITES,
    ENCRYPTION,
    DELIVERY,
    EXIT_DATE,
    SERIAL_INDEX,
    DOUBT,
    ANNOUNCED_BY_TIME,
    ANNOUNCED_BY_KEY,
    LICENSED_SERIAL,
    FLOW,
    PAPER,
    PARTY,
    RETURN_BY,
    REQUEST_DATE,
];

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 14;
/// The schemas this build migrates from (by a reindex at open): only
/// derived records changed since (4: exits by date and the serial index
/// across licenses; 5: license records in protobuf, not JSON; 6: sealed
/// documents judged by the key that opened them, `party.excluded` and
/// `document.unreadable`, which a reindex applies to what was stored; 7:
/// encryption key announcements indexed by time and by key, a repeated one
/// no longer counting, and the serials licenses list indexed for a trace;
/// 8: that index by serial buckets, one row per ten serials of a run; 9:
/// the rows of recorded serials, `R` and `Q`, in protobuf without what the
/// key holds; 10: the rows statistics count, `F`; 11: paper keys, `I`,
/// which an older version stored as documents of an unknown kind; 12: a
/// license record leaves out the entry of an event that is the record's
/// own, which an older version would read as corrupt; 13: denials and
/// export licenses by buyer, `p`, and `denial.match`, which an older
/// version stored a denial as a document of an unknown kind for; 14:
/// temporary exports by return date, `w`, and returns, which an older
/// version refused as a direction it did not know; end-use requests by
/// date, `q`, and their answers, which it stored as documents of unknown
/// kinds).
pub const SCHEMA_MIGRATES_FROM: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
pub const SCHEMA_KEY: &[u8] = b"M/schema";
/// Present while a reindex runs: derived records are half-built until it is
/// gone, so opening a store that holds it finishes the reindex first.
pub const REINDEX_KEY: &[u8] = b"M/reindexing";
/// Present while the node recovers its own log from peers after its store
/// was found missing at start; removed once a trusted peer confirmed the
/// head. Kept in the store so that a crash mid-recovery resumes it.
pub const RECOVERING_KEY: &[u8] = b"M/recovering";
/// The key compromises (JSON) the derived records were last rebuilt with;
/// absent: none.
pub const COMPROMISED_KEY: &[u8] = b"M/compromised";
/// Through which date (and with which `delivery_days`) the date-driven
/// `delivery.overdue` pass judged every exit that fell due.
pub const OVERDUE_KEY: &[u8] = b"M/overdue";

/// Builds a key component by component.
#[derive(Debug, Clone)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn new(prefix: u8) -> Key {
        let mut v = Vec::with_capacity(48);
        v.push(prefix);
        Key(v)
    }
    pub fn str(mut self, s: &str) -> Key {
        for &b in s.as_bytes() {
            self.0.push(b);
            if b == 0 {
                self.0.push(0xFF);
            }
        }
        self.0.extend_from_slice(&[0, 1]);
        self
    }
    pub fn u64(mut self, n: u64) -> Key {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    pub fn i64(self, n: i64) -> Key {
        self.u64((n as u64) ^ (1 << 63))
    }
    pub fn u32(mut self, n: u32) -> Key {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    pub fn direction(mut self, d: Direction) -> Key {
        self.0.push(direction_byte(d));
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Key {
        self.0.extend_from_slice(b);
        self
    }
    pub fn doc(self, r: &DocumentRef) -> Key {
        self.str(&r.authority).str(&r.number)
    }
    pub fn build(self) -> Vec<u8> {
        self.0
    }
}

fn direction_byte(d: Direction) -> u8 {
    match d {
        Direction::Exit => 0,
        Direction::Transit => 1,
        Direction::Entry => 2,
        Direction::Return => 3,
    }
}

/// Reads a key back component by component; `None` on malformed bytes.
pub struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// Starts after the one-byte prefix.
    pub fn new(key: &'a [u8]) -> KeyReader<'a> {
        KeyReader {
            rest: key.get(1..).unwrap_or_default(),
        }
    }
    /// Starts after the first `skip` bytes (a prefix of fixed width).
    pub fn after(key: &'a [u8], skip: usize) -> KeyReader<'a> {
        KeyReader {
            rest: key.get(skip..).unwrap_or_default(),
        }
    }
    pub fn str(&mut self) -> Option<String> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            match (self.rest.get(i)?, self.rest.get(i + 1)) {
                (0, Some(1)) => break,
                (0, Some(0xFF)) => {
                    out.push(0);
                    i += 2;
                }
                (0, _) => return None,
                (&b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        self.rest = self.rest.get(i + 2..)?;
        String::from_utf8(out).ok()
    }
    /// Steps over a string component without reading it out.
    pub fn skip_str(&mut self) -> Option<()> {
        let mut i = 0;
        loop {
            match (self.rest.get(i)?, self.rest.get(i + 1)) {
                (0, Some(1)) => break,
                (0, Some(0xFF)) => i += 2,
                (0, _) => return None,
                _ => i += 1,
            }
        }
        self.rest = self.rest.get(i + 2..)?;
        Some(())
    }
    /// What is left of the key.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
    pub fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(*b)
    }
    pub fn u64(&mut self) -> Option<u64> {
        let (n, rest) = self.rest.split_first_chunk::<8>()?;
        self.rest = rest;
        Some(u64::from_be_bytes(*n))
    }
    pub fn u32(&mut self) -> Option<u32> {
        let (n, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(u32::from_be_bytes(*n))
    }
}

/// The first key after every key that starts with `prefix`. Every prefix
/// here starts with an ASCII letter, so the result always exists.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xFF; prefix.len() + 1]
}

pub fn log(authority: &str, seq: u64) -> Vec<u8> {
    Key::new(LOG).str(authority).u64(seq).build()
}
pub fn log_prefix(authority: &str) -> Vec<u8> {
    Key::new(LOG).str(authority).build()
}
pub fn head(authority: &str) -> Vec<u8> {
    Key::new(HEAD).str(authority).build()
}
pub fn hash(h: &EntryHash) -> Vec<u8> {
    Key::new(HASH).raw(&h.0).build()
}
pub fn license(authority: &str, number: &str) -> Vec<u8> {
    Key::new(LICENSE).str(authority).str(number).build()
}
pub fn license_prefix(authority: &str) -> Vec<u8> {
    Key::new(LICENSE).str(authority).build()
}
pub fn transit(export: &DocumentRef, transit_authority: &str, number: &str) -> Vec<u8> {
    Key::new(TRANSIT)
        .doc(export)
        .str(transit_authority)
        .str(number)
        .build()
}
pub fn delivery(export: &DocumentRef, authority: &str, number: &str) -> Vec<u8> {
    Key::new(DELIVERY)
        .doc(export)
        .str(authority)
        .str(number)
        .build()
}
pub fn delivery_prefix(export: &DocumentRef) -> Vec<u8> {
    Key::new(DELIVERY).doc(export).build()
}
/// The second document of a key that names two: the authorization of a
/// [`transit`] or [`delivery`] key, the citing export of a [`cites`] key
/// (past the first document's authority and number).
pub fn linked_document(key: &[u8]) -> Option<DocumentRef> {
    let mut r = KeyReader::new(key);
    let _ = (r.str(), r.str());
    let (authority, number) = r.str().zip(r.str())?;
    Some(DocumentRef { authority, number })
}
pub fn transit_prefix(export: &DocumentRef) -> Vec<u8> {
    Key::new(TRANSIT).doc(export).build()
}
pub fn tally(license: &DocumentRef, line: u32, d: Direction, country: &str) -> Vec<u8> {
    Key::new(TALLY)
        .doc(license)
        .u32(line)
        .direction(d)
        .str(country)
        .build()
}
pub fn tally_prefix(license: &DocumentRef) -> Vec<u8> {
    Key::new(TALLY).doc(license).build()
}
/// `country` is the recording (checkpoint) country, for every direction.
pub fn serial(license: &DocumentRef, d: Direction, country: &str, serial: &str) -> Vec<u8> {
    Key::new(SERIAL)
        .doc(license)
        .direction(d)
        .str(country)
        .str(serial)
        .build()
}
/// (direction, recording country, serial) of a [`serial`] key.
pub fn serial_parts(key: &[u8]) -> Option<(Direction, String, String)> {
    let mut r = KeyReader::new(key);
    let _ = (r.str()?, r.str()?);
    let direction = match r.byte()? {
        0 => Direction::Exit,
        1 => Direction::Transit,
        2 => Direction::Entry,
        3 => Direction::Return,
        _ => return None,
    };
    let country = r.str()?;
    let serial = r.str()?;
    Some((direction, country, serial))
}
pub fn shipment(license: &DocumentRef, recorded_at_ms: i64, recorder: &str, seq: u64) -> Vec<u8> {
    Key::new(SHIPMENT)
        .doc(license)
        .i64(recorded_at_ms)
        .str(recorder)
        .u64(seq)
        .build()
}
pub fn shipment_prefix(license: &DocumentRef) -> Vec<u8> {
    Key::new(SHIPMENT).doc(license).build()
}
pub fn rotated(authority: &str, seq: u64) -> Vec<u8> {
    Key::new(ROTATED).str(authority).u64(seq).build()
}
pub fn rotated_prefix(authority: &str) -> Vec<u8> {
    Key::new(ROTATED).str(authority).build()
}
pub fn evidence(authority: &str, seq: u64, conflicting: &EntryHash) -> Vec<u8> {
    Key::new(EVIDENCE)
        .str(authority)
        .u64(seq)
        .raw(&conflicting.0)
        .build()
}
pub fn cloned(authority: &str, seq: u64, foreign: &EntryHash) -> Vec<u8> {
    Key::new(CLONED)
        .str(authority)
        .u64(seq)
        .raw(&foreign.0)
        .build()
}
pub fn displaced(authority: &str, seq: u64, hash: &EntryHash) -> Vec<u8> {
    Key::new(DISPLACED)
        .str(authority)
        .u64(seq)
        .raw(&hash.0)
        .build()
}
pub fn exit_date(exit_days: i64, license: &DocumentRef, recorder: &str, seq: u64) -> Vec<u8> {
    Key::new(EXIT_DATE)
        .i64(exit_days)
        .doc(license)
        .str(recorder)
        .u64(seq)
        .build()
}
/// The first key of exits dated `exit_days` (or later).
pub fn exit_date_from(exit_days: i64) -> Vec<u8> {
    Key::new(EXIT_DATE).i64(exit_days).build()
}
/// The license of an [`exit_date`] key.
pub fn exit_date_license(key: &[u8]) -> Option<DocumentRef> {
    let mut r = KeyReader::new(key);
    r.u64()?;
    let (authority, number) = r.str().zip(r.str())?;
    Some(DocumentRef { authority, number })
}
pub fn return_by(days: i64, license: &DocumentRef) -> Vec<u8> {
    Key::new(RETURN_BY).i64(days).doc(license).build()
}
/// The first key of temporary exports due back on `days` (or later).
pub fn return_by_from(days: i64) -> Vec<u8> {
    Key::new(RETURN_BY).i64(days).build()
}
pub fn request_date(days: i64, request: &DocumentRef) -> Vec<u8> {
    Key::new(REQUEST_DATE).i64(days).doc(request).build()
}
/// The first key of end-use requests dated `days` (or later).
pub fn request_date_from(days: i64) -> Vec<u8> {
    Key::new(REQUEST_DATE).i64(days).build()
}
/// The request of a [`request_date`] key (the same layout as [`exit_date`]'s).
pub fn request_date_license(key: &[u8]) -> Option<DocumentRef> {
    exit_date_license(key)
}
/// The license of a [`return_by`] key (the same layout as [`exit_date`]'s).
pub fn return_by_license(key: &[u8]) -> Option<DocumentRef> {
    exit_date_license(key)
}
/// `country` is the recording country, `line` the record's line.
pub fn serial_index(
    d: Direction,
    serial: &str,
    license: &DocumentRef,
    country: &str,
    line: u32,
) -> Vec<u8> {
    Key::new(SERIAL_INDEX)
        .direction(d)
        .str(serial)
        .doc(license)
        .str(country)
        .u32(line)
        .build()
}
/// Every use of one (normalized) serial in one direction, under any license.
pub fn serial_index_prefix(d: Direction, serial: &str) -> Vec<u8> {
    Key::new(SERIAL_INDEX).direction(d).str(serial).build()
}
pub fn flow_document(authority: &str, number: &str) -> Vec<u8> {
    Key::new(FLOW).raw(b"d").str(authority).str(number).build()
}
pub const FLOW_DOCUMENTS: &[u8] = b"Fd";
pub fn flow_crossing(license: &DocumentRef, recorder: &str, seq: u64) -> Vec<u8> {
    Key::new(FLOW)
        .raw(b"c")
        .doc(license)
        .str(recorder)
        .u64(seq)
        .build()
}
pub const FLOW_CROSSINGS: &[u8] = b"Fc";
/// `side` is `b'd'` (a denial) or `b'x'` (an export license).
/// `buyer` is `tally_model::denial::buyer_digest` of a buyer key.
pub fn party(side: u8, buyer: &[u8; 8], doc: &DocumentRef) -> Vec<u8> {
    Key::new(PARTY).raw(&[side]).raw(buyer).doc(doc).build()
}
pub fn party_prefix(side: u8, buyer: &[u8; 8]) -> Vec<u8> {
    Key::new(PARTY).raw(&[side]).raw(buyer).build()
}
/// The document of a [`party`] key.
pub fn party_document(key: &[u8]) -> Option<DocumentRef> {
    let mut r = KeyReader::after(key, 10);
    let (authority, number) = r.str().zip(r.str())?;
    Some(DocumentRef { authority, number })
}
pub fn alert(id: &str) -> Vec<u8> {
    Key::new(ALERT).str(id).build()
}
pub fn cites(import: &DocumentRef, export: &DocumentRef) -> Vec<u8> {
    Key::new(CITES).doc(import).doc(export).build()
}
pub fn cites_prefix(import: &DocumentRef) -> Vec<u8> {
    Key::new(CITES).doc(import).build()
}
/// The alerts of `kind` about `license` share this key prefix.
pub fn alert_prefix(kind: &str, license: &DocumentRef) -> Vec<u8> {
    let id = format!("{kind}:{}/{}:", license.authority, license.number);
    Key::new(ALERT).raw(id.as_bytes()).build()
}
pub fn doubts(authority: &str, seq: u64) -> Vec<u8> {
    Key::new(DOUBT).str("e").str(authority).u64(seq).build()
}
pub fn doubt_ref(recipient: &str, key: &str, authority: &str, seq: u64) -> Vec<u8> {
    Key::new(DOUBT)
        .str("k")
        .str(recipient)
        .str(key)
        .str(authority)
        .u64(seq)
        .build()
}
pub fn doubt_ref_prefix(recipient: &str, key: &str) -> Vec<u8> {
    Key::new(DOUBT).str("k").str(recipient).str(key).build()
}
pub fn paper(authority: &str, seq: u64) -> Vec<u8> {
    Key::new(PAPER).str(authority).u64(seq).build()
}
pub fn paper_prefix(authority: &str) -> Vec<u8> {
    Key::new(PAPER).str(authority).build()
}
pub fn announced(authority: &str, seq: u64) -> Vec<u8> {
    Key::new(ENCRYPTION).str(authority).u64(seq).build()
}
pub fn announced_prefix(authority: &str) -> Vec<u8> {
    Key::new(ENCRYPTION).str(authority).build()
}
pub fn announced_by_time(authority: &str, valid_from_ms: i64, seq: u64) -> Vec<u8> {
    Key::new(ANNOUNCED_BY_TIME)
        .str(authority)
        .i64(valid_from_ms)
        .u64(seq)
        .build()
}
pub fn announced_by_time_prefix(authority: &str) -> Vec<u8> {
    Key::new(ANNOUNCED_BY_TIME).str(authority).build()
}
/// The range of `authority`'s counted announcements valid at `at_ms` (all
/// of them without it): `start..end`, oldest first.
pub fn announced_until(authority: &str, at_ms: Option<i64>) -> (Vec<u8>, Vec<u8>) {
    let start = announced_by_time_prefix(authority);
    let end = match at_ms {
        Some(at) => prefix_end(&Key::new(ANNOUNCED_BY_TIME).str(authority).i64(at).build()),
        None => prefix_end(&start),
    };
    (start, end)
}
pub fn licensed_serial(bucket: &str, license: &DocumentRef) -> Vec<u8> {
    Key::new(LICENSED_SERIAL).str(bucket).doc(license).build()
}
pub fn licensed_serial_prefix(bucket: &str) -> Vec<u8> {
    Key::new(LICENSED_SERIAL).str(bucket).build()
}
pub fn announced_by_key(authority: &str, public_key: &str) -> Vec<u8> {
    Key::new(ANNOUNCED_BY_KEY)
        .str(authority)
        .str(public_key)
        .build()
}
pub fn applied(authority: &str) -> Vec<u8> {
    Key::new(APPLIED).str(authority).build()
}

/// A key as text for error messages: printable ASCII kept, the rest `\xNN`.
pub fn display(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len());
    for &b in key {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Two kinds of record under one prefix would read as each other, and a
    /// reindex (which wipes every derived prefix) would take the other with it.
    #[test]
    fn every_kind_of_record_has_its_own_prefix() {
        let all = [
            LOG,
            HEAD,
            HASH,
            LICENSE,
            TRANSIT,
            TALLY,
            SERIAL,
            SHIPMENT,
            ROTATED,
            EVIDENCE,
            ALERT,
            CITES,
            ENCRYPTION,
            DELIVERY,
            APPLIED,
            EXIT_DATE,
            SERIAL_INDEX,
            META,
            CLONED,
            DISPLACED,
            ANNOUNCED_BY_TIME,
            ANNOUNCED_BY_KEY,
            LICENSED_SERIAL,
            DOUBT,
        ];
        let distinct: std::collections::BTreeSet<u8> = all.into_iter().collect();
        assert_eq!(distinct.len(), all.len(), "a prefix is used twice");
    }

    proptest! {
        #[test]
        fn strings_keep_their_order_and_read_back(a in ".{0,12}", b in ".{0,12}", x in any::<u64>()) {
            let ka = Key::new(LOG).str(&a).u64(x).build();
            let kb = Key::new(LOG).str(&b).u64(0).build();
            if a != b {
                prop_assert_eq!(a.as_bytes().cmp(b.as_bytes()), ka.cmp(&kb));
            }
            let mut r = KeyReader::new(&ka);
            prop_assert_eq!(r.str(), Some(a.clone()));
            prop_assert_eq!(r.u64(), Some(x));
        }

        #[test]
        fn strings_with_nul_bytes_read_back(a in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), any::<u8>()], 0..10)) {
            // Only valid UTF-8 reaches a key, but the escaping must hold for any byte.
            if let Ok(s) = String::from_utf8(a) {
                let k = Key::new(LOG).str(&s).str("next").build();
                let mut r = KeyReader::new(&k);
                prop_assert_eq!(r.str(), Some(s));
                prop_assert_eq!(r.str(), Some("next".to_string()));
            }
        }

        #[test]
        fn signed_times_sort(a in any::<i64>(), b in any::<i64>()) {
            let ka = Key::new(SHIPMENT).i64(a).build();
            let kb = Key::new(SHIPMENT).i64(b).build();
            prop_assert_eq!(a.cmp(&b), ka.cmp(&kb));
        }
    }

    #[test]
    fn a_prefix_string_does_not_capture_longer_ones() {
        // "US-AB" must not scan into "US-ABC"'s records.
        let p = log_prefix("US-AB");
        let other = log("US-ABC", 1);
        let end = prefix_end(&p);
        assert!(!(other.as_slice() >= p.as_slice() && other.as_slice() < end.as_slice()));
        let own = log("US-AB", u64::MAX);
        assert!(own.as_slice() >= p.as_slice() && own.as_slice() < end.as_slice());
    }

    #[test]
    fn malformed_keys_read_as_none() {
        for k in [
            &b"L"[..],
            b"LUS",
            b"LUS\x00",
            b"LUS\x00\x02",
            b"LUS\x00\x01\x00",
        ] {
            let mut r = KeyReader::new(k);
            let s = r.str();
            assert!(s.is_none() || r.u64().is_none(), "{k:?}");
        }
    }

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"A\xFF"), b"B".to_vec());
        assert_eq!(prefix_end(b"A"), b"B".to_vec());
    }
}
