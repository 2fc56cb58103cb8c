//! What a seal says of a document: the subset of the printed page a phone
//! may read (docs/PROTOCOL.md, "Paper seals"). Never the value, the
//! conditions, the end use, the readers, quantities shipped, alerts, status
//! reasons, personal addresses or the log entry's hash or seq.
//!
//! Encoded as a CBOR map with small integer keys in ascending order, absent
//! fields left out, so a summary has one encoding.

use sha2::{Digest, Sha256};
use tally_model::{DocumentRef, ExportLicense, Item, License, Party, normalize_serial};

/// A party as the seal names it: name and official id, no address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SealParty {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One item line as the seal gives it: what it is and how many, and the
/// serials as a count and a digest (the page or its annex lists them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SealLine {
    pub line: u32,
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hs_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caliber: Option<String>,
    pub quantity: u64,
    pub unit: String,
    pub serial_count: u64,
    /// SHA-256 of the normalized serials, sorted, joined by `\n`; absent
    /// when the line lists none.
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_hex")]
    pub serial_digest: Option<[u8; 32]>,
}

/// The summary a seal signs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// `export`, `import` or `transit`.
    pub kind: String,
    pub authority: String,
    pub number: String,
    pub version: u32,
    /// The date of issue: a migrated record's original one.
    pub issued_on: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_of_issue: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
    /// The countries in order: exporting, transit, importing (an import
    /// certificate: exporting, importing; a transit authorization: its
    /// country).
    pub route: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_point: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporter: Option<SealParty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importer: Option<SealParty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user: Option<SealParty>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub carriers: Vec<SealParty>,
    /// The import certificate an export license cites, or the export
    /// license a transit authorization is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked: Option<DocumentRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user_certificate: Option<tally_model::EndUserCertificate>,
    /// `single` or `partial` (export licenses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipments: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<SealLine>,
}

/// Why a summary could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SummaryError(pub String);

fn party(p: &Party) -> SealParty {
    SealParty {
        name: p.name.clone(),
        id: p.id.clone(),
    }
}

/// SHA-256 of the normalized serials, sorted, joined by `\n`.
pub fn serial_digest(serials: &[String]) -> Option<[u8; 32]> {
    if serials.is_empty() {
        return None;
    }
    let mut normal: Vec<String> = serials.iter().map(|s| normalize_serial(s)).collect();
    normal.sort();
    Some(Sha256::digest(normal.join("\n").as_bytes()).into())
}

fn line(it: &Item) -> SealLine {
    SealLine {
        line: it.line,
        category: tally_model::linkage::category_name(it.category).into(),
        hs_code: it.hs_code.clone(),
        make: it.make.clone(),
        model: it.model.clone(),
        caliber: it.caliber.clone(),
        quantity: it.quantity,
        unit: tally_model::linkage::unit_name(it.unit).into(),
        serial_count: it.serials.len() as u64,
        serial_digest: serial_digest(&it.serials),
    }
}

fn export_route(e: &ExportLicense) -> Vec<String> {
    let mut route = vec![e.exporting_country.clone()];
    route.extend(e.transit_countries.iter().cloned());
    route.push(e.importing_country.clone());
    route
}

impl Summary {
    /// A document's identity alone, every other field empty: what an annex
    /// seal says of its document (its own fields are the annex's).
    pub fn identity(kind: String, authority: String, number: String, version: u32) -> Summary {
        Summary {
            kind,
            authority,
            number,
            version,
            issued_on: String::new(),
            place_of_issue: None,
            valid_from: String::new(),
            valid_until: String::new(),
            route: vec![],
            entry_point: None,
            exit_point: None,
            exporter: None,
            importer: None,
            end_user: None,
            carriers: vec![],
            linked: None,
            end_user_certificate: None,
            shipments: None,
            lines: vec![],
        }
    }

    /// The summary of `license`, version `version` of `authority`, issued
    /// on `issued_on` (the date of its first entry). A delivery
    /// verification is no paper a border sees: refused.
    pub fn of(
        authority: &str,
        version: u32,
        issued_on: &str,
        license: &License,
    ) -> Result<Summary, SummaryError> {
        let (migrated, original) = license.migration();
        let issued_on = match (migrated, original) {
            (true, Some(d)) => d.to_string(),
            _ => issued_on.to_string(),
        };
        let (valid_from, valid_until) = license.validity();
        let mut s = Summary {
            issued_on,
            valid_from: valid_from.into(),
            valid_until: valid_until.into(),
            lines: license.items().iter().map(line).collect(),
            ..Summary::identity(
                license.kind().as_str().into(),
                authority.into(),
                license.number().into(),
                version,
            )
        };
        match license {
            License::Export(e) => {
                s.place_of_issue = e.place_of_issue.clone();
                s.route = export_route(e);
                s.exporter = Some(party(&e.exporter));
                s.importer = Some(party(&e.importer));
                s.end_user = e.end_user.as_ref().map(party);
                s.carriers = e.carriers.iter().map(party).collect();
                s.linked = e.import_certificate.clone();
                s.end_user_certificate = e.end_user_certificate.clone();
                s.shipments = Some(
                    match e.shipments {
                        tally_model::Shipments::Single => "single",
                        tally_model::Shipments::Partial => "partial",
                    }
                    .into(),
                );
            }
            License::Import(c) => {
                s.route = vec![c.exporting_country.clone(), c.importing_country.clone()];
                s.exporter = Some(party(&c.exporter));
                s.importer = Some(party(&c.importer));
                s.end_user = c.end_user.as_ref().map(party);
            }
            License::Transit(t) => {
                s.route = vec![t.transit_country.clone()];
                s.entry_point = t.entry_point.clone();
                s.exit_point = t.exit_point.clone();
                s.linked = Some(t.export_license.clone());
            }
            License::Delivery(_) => {
                return Err(SummaryError(
                    "a delivery verification is not sealed on paper".into(),
                ));
            }
            License::Denial(_) | License::EnduseRequest(_) | License::EnduseAnswer(_) => {
                return Err(SummaryError(
                    "a denial or an end-use request or answer travels between authorities, not with goods: it is not sealed on paper"
                        .into(),
                ));
            }
        }
        Ok(s)
    }
}

/// Serde for an optional 32-byte digest as hex (the vectors' JSON).
mod opt_hex {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&hex::encode(d)),
            None => s.serialize_none(),
        }
    }
}

pub(crate) use crate::paper::summary_cbor::{from_cbor, to_cbor};
