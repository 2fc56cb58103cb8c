//! A [`Summary`] as CBOR: a map with integer keys in ascending order
//! (docs/PROTOCOL.md, "Paper seals", has the table), absent fields left
//! out. Reading is strict about types and lenient about keys it does not
//! know (a later version may add some).

use crate::paper::summary::{SealLine, SealParty, Summary, SummaryError};
use ciborium::Value;
use tally_model::{DocumentRef, EndUserCertificate};

fn err<T>(what: impl Into<String>) -> Result<T, SummaryError> {
    Err(SummaryError(what.into()))
}

pub(crate) fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

pub(crate) fn int(n: u64) -> Value {
    Value::Integer(n.into())
}

/// A map of the present entries, keys ascending.
pub(crate) fn map(entries: Vec<(u64, Option<Value>)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (int(k), v)))
            .collect(),
    )
}

fn opt_text(s: &Option<String>) -> Option<Value> {
    s.as_deref().map(text)
}

fn party(p: &SealParty) -> Value {
    map(vec![(1, Some(text(&p.name))), (2, opt_text(&p.id))])
}

fn line(l: &SealLine) -> Value {
    map(vec![
        (1, Some(int(u64::from(l.line)))),
        (2, Some(text(&l.category))),
        (3, opt_text(&l.hs_code)),
        (4, opt_text(&l.make)),
        (5, opt_text(&l.model)),
        (6, opt_text(&l.caliber)),
        (7, Some(int(l.quantity))),
        (8, Some(text(&l.unit))),
        (9, Some(int(l.serial_count))),
        (10, l.serial_digest.map(|d| Value::Bytes(d.to_vec()))),
    ])
}

fn list<T>(items: &[T], f: fn(&T) -> Value) -> Option<Value> {
    (!items.is_empty()).then(|| Value::Array(items.iter().map(f).collect()))
}

/// The summary's CBOR map.
pub fn to_cbor(s: &Summary) -> Value {
    let reference = |r: &DocumentRef| {
        map(vec![
            (1, Some(text(&r.authority))),
            (2, Some(text(&r.number))),
        ])
    };
    let certificate = |c: &EndUserCertificate| {
        map(vec![
            (1, Some(text(&c.number))),
            (2, Some(text(&c.date))),
            (3, Some(text(&c.issued_by))),
        ])
    };
    map(vec![
        (1, Some(text(&s.kind))),
        (2, Some(text(&s.authority))),
        (3, Some(text(&s.number))),
        (4, Some(int(u64::from(s.version)))),
        (5, Some(text(&s.issued_on))),
        (6, opt_text(&s.place_of_issue)),
        (7, Some(text(&s.valid_from))),
        (8, Some(text(&s.valid_until))),
        (
            9,
            Some(Value::Array(s.route.iter().map(|c| text(c)).collect())),
        ),
        (10, opt_text(&s.entry_point)),
        (11, opt_text(&s.exit_point)),
        (12, s.exporter.as_ref().map(party)),
        (13, s.importer.as_ref().map(party)),
        (14, s.end_user.as_ref().map(party)),
        (15, list(&s.carriers, party)),
        (16, s.linked.as_ref().map(reference)),
        (17, s.end_user_certificate.as_ref().map(certificate)),
        (18, opt_text(&s.shipments)),
        (19, list(&s.lines, line)),
    ])
}

/// The entries of a map with small integer keys.
pub(crate) struct Fields(Vec<(u64, Value)>);

impl Fields {
    pub(crate) fn of(v: Value, what: &str) -> Result<Fields, SummaryError> {
        let Value::Map(entries) = v else {
            return err(format!("{what} is not a map"));
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let key = k
                .as_integer()
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| SummaryError(format!("{what}: a key is not a small integer")))?;
            out.push((key, v));
        }
        Ok(Fields(out))
    }

    pub(crate) fn take(&mut self, key: u64) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| *k == key)?;
        Some(self.0.remove(at).1)
    }

    pub(crate) fn text(&mut self, key: u64, what: &str) -> Result<Option<String>, SummaryError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t)),
            Some(_) => err(format!("{what} is not text")),
        }
    }

    pub(crate) fn need_text(&mut self, key: u64, what: &str) -> Result<String, SummaryError> {
        self.text(key, what)?
            .ok_or_else(|| SummaryError(format!("{what} is missing")))
    }

    pub(crate) fn number(&mut self, key: u64, what: &str) -> Result<u64, SummaryError> {
        self.take(key)
            .and_then(|v| v.as_integer())
            .and_then(|i| u64::try_from(i).ok())
            .ok_or_else(|| SummaryError(format!("{what} is not a count")))
    }

    /// Whether the map holds `key`.
    pub(crate) fn has(&self, key: u64) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    fn array(&mut self, key: u64, what: &str) -> Result<Vec<Value>, SummaryError> {
        match self.take(key) {
            None => Ok(vec![]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => err(format!("{what} is not a list")),
        }
    }
}

fn party_of(v: Value) -> Result<SealParty, SummaryError> {
    let mut f = Fields::of(v, "a party")?;
    Ok(SealParty {
        name: f.need_text(1, "a party's name")?,
        id: f.text(2, "a party's id")?,
    })
}

fn line_of(v: Value) -> Result<SealLine, SummaryError> {
    let mut f = Fields::of(v, "a line")?;
    let line = u32::try_from(f.number(1, "line")?)
        .map_err(|_| SummaryError("line is too large".into()))?;
    let digest = match f.take(10) {
        None => None,
        Some(Value::Bytes(b)) => Some(
            <[u8; 32]>::try_from(b.as_slice())
                .map_err(|_| SummaryError("serial_digest is not 32 bytes".into()))?,
        ),
        Some(_) => return err("serial_digest is not bytes"),
    };
    Ok(SealLine {
        line,
        category: f.need_text(2, "category")?,
        hs_code: f.text(3, "hs_code")?,
        make: f.text(4, "make")?,
        model: f.text(5, "model")?,
        caliber: f.text(6, "caliber")?,
        quantity: f.number(7, "quantity")?,
        unit: f.need_text(8, "unit")?,
        serial_count: f.number(9, "serial_count")?,
        serial_digest: digest,
    })
}

fn reference_of(v: Value) -> Result<DocumentRef, SummaryError> {
    let mut f = Fields::of(v, "a reference")?;
    Ok(DocumentRef {
        authority: f.need_text(1, "a reference's authority")?,
        number: f.need_text(2, "a reference's number")?,
    })
}

fn certificate_of(v: Value) -> Result<EndUserCertificate, SummaryError> {
    let mut f = Fields::of(v, "the end-user certificate")?;
    Ok(EndUserCertificate {
        number: f.need_text(1, "the certificate's number")?,
        date: f.need_text(2, "the certificate's date")?,
        issued_by: f.need_text(3, "the certificate's issuer")?,
    })
}

/// Reads a summary's CBOR map.
pub fn from_cbor(v: Value) -> Result<Summary, SummaryError> {
    let mut f = Fields::of(v, "the summary")?;
    let version = u32::try_from(f.number(4, "version")?)
        .map_err(|_| SummaryError("version is too large".into()))?;
    let route = f
        .array(9, "route")?
        .into_iter()
        .map(|c| match c {
            Value::Text(t) => Ok(t),
            _ => err("a route country is not text"),
        })
        .collect::<Result<_, _>>()?;
    Ok(Summary {
        kind: f.need_text(1, "kind")?,
        authority: f.need_text(2, "authority")?,
        number: f.need_text(3, "number")?,
        version,
        issued_on: f.need_text(5, "issued_on")?,
        place_of_issue: f.text(6, "place_of_issue")?,
        valid_from: f.need_text(7, "valid_from")?,
        valid_until: f.need_text(8, "valid_until")?,
        route,
        entry_point: f.text(10, "entry_point")?,
        exit_point: f.text(11, "exit_point")?,
        exporter: f.take(12).map(party_of).transpose()?,
        importer: f.take(13).map(party_of).transpose()?,
        end_user: f.take(14).map(party_of).transpose()?,
        carriers: f
            .array(15, "carriers")?
            .into_iter()
            .map(party_of)
            .collect::<Result<_, _>>()?,
        linked: f.take(16).map(reference_of).transpose()?,
        end_user_certificate: f.take(17).map(certificate_of).transpose()?,
        shipments: f.text(18, "shipments")?,
        lines: f
            .array(19, "lines")?
            .into_iter()
            .map(line_of)
            .collect::<Result<_, _>>()?,
    })
}
