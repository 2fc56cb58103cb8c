//! Who may read a document (docs/API.md "Who reads what"): its party
//! countries. The issuing node seals a document to the authorities it trusts
//! in these countries (and always to itself); a recipient checks the sealed
//! recipient list against the same rule.

use crate::document::{Document, License};
use std::collections::BTreeSet;

/// Who reads a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readers {
    /// Every trusted node (key announcements, and documents published with
    /// `"visibility": "network"`).
    Network,
    /// The authorities of these countries (the issuer's own included).
    Parties(BTreeSet<String>),
}

fn route(l: &License) -> BTreeSet<String> {
    match l {
        License::Export(e) => std::iter::once(e.exporting_country.clone())
            .chain(std::iter::once(e.importing_country.clone()))
            .chain(e.transit_countries.iter().cloned())
            .collect(),
        License::Import(i) => [i.importing_country.clone(), i.exporting_country.clone()].into(),
        License::Transit(t) => [t.transit_country.clone()].into(),
        License::Delivery(d) => [d.importing_country.clone()].into(),
        License::Denial(d) => [d.denying_country.clone(), d.destination.clone()].into(),
        License::EnduseRequest(r) => {
            [r.exporting_country.clone(), r.importing_country.clone()].into()
        }
        License::EnduseAnswer(a) => {
            [a.importing_country.clone(), a.exporting_country.clone()].into()
        }
    }
}

/// The party countries of `doc` issued by an authority of `issuer_country`.
/// `license` is the document it concerns, as this node holds it: the
/// license an amendment or status change changes, the export license a
/// transit authorization covers or a shipment record or delivery
/// verification is about. `None` when that document is not held: the
/// readers are then the issuer's country and what `doc` itself names.
pub fn readers(doc: &Document, issuer_country: &str, license: Option<&License>) -> Readers {
    let mut countries: BTreeSet<String> = [issuer_country.to_string()].into();
    let concerned = license.map(route).unwrap_or_default();
    match doc {
        Document::KeyRotation(_) | Document::EncryptionKey(_) | Document::PaperKey(_) => {
            return Readers::Network;
        }
        // Published with `"visibility": "parties"`: the refusing State and
        // the destination (by default a denial travels in clear to all).
        // An end-use request and its answer: the asking and the asked State.
        Document::License(
            l @ (License::Export(_)
            | License::Import(_)
            | License::Denial(_)
            | License::EnduseRequest(_)
            | License::EnduseAnswer(_)),
        ) => {
            countries.extend(route(l));
        }
        Document::License(License::Transit(t)) => {
            countries.insert(t.transit_country.clone());
            countries.extend(concerned);
        }
        // Like a shipment record: the export license's countries.
        Document::License(License::Delivery(d)) => {
            countries.insert(d.importing_country.clone());
            countries.extend(concerned);
        }
        Document::Amendment { license: new, .. } => {
            countries.extend(route(new));
            countries.extend(concerned);
        }
        Document::StatusChange(_) => countries.extend(concerned),
        Document::Shipment(s) => {
            countries.insert(s.checkpoint.country.clone());
            countries.extend(concerned);
        }
    }
    Readers::Parties(countries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Decision, DocumentRef, TransitAuthorization};
    use crate::validate::tests::export_fixture;

    fn set(c: &[&str]) -> Readers {
        Readers::Parties(c.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn party_countries_per_document() {
        let export = License::Export(export_fixture());
        let transit = Document::License(License::Transit(TransitAuthorization {
            migrated: false,
            original_issue_date: None,
            prepared_by: None,
            signatory: None,
            number: "TR-1".into(),
            transit_country: "GT".into(),
            export_license: DocumentRef {
                authority: "US-DDTC".into(),
                number: "EXP-2026-0001".into(),
            },
            entry_point: None,
            exit_point: None,
            valid_from: "2026-11-01".into(),
            valid_until: "2027-01-31".into(),
            decision: Decision::Authorized,
        }));
        assert_eq!(
            readers(&Document::License(export.clone()), "US", None),
            set(&["GT", "MX", "US"])
        );
        assert_eq!(
            readers(&transit, "GT", Some(&export)),
            set(&["GT", "MX", "US"])
        );
        assert_eq!(readers(&transit, "GT", None), set(&["GT"]));
        let delivery =
            Document::License(License::Delivery(crate::document::DeliveryVerification {
                prepared_by: None,
                signatory: None,
                number: "DV-1".into(),
                importing_country: "MX".into(),
                export_license: DocumentRef {
                    authority: "US-DDTC".into(),
                    number: "EXP-2026-0001".into(),
                },
                delivered_to: crate::document::Party {
                    name: "Policia Estatal".into(),
                    id: None,
                    address: None,
                },
                date: "2026-12-03".into(),
                items: vec![crate::document::DeliveryLine {
                    line: 1,
                    quantity: 40,
                }],
            }));
        assert_eq!(
            readers(&delivery, "MX", Some(&export)),
            set(&["GT", "MX", "US"]),
            "a delivery verification reaches the license's countries, like a shipment record"
        );
        let rotation = Document::KeyRotation(crate::document::KeyRotation {
            new_key: String::new(),
            valid_from_ms: 0,
        });
        assert_eq!(readers(&rotation, "US", None), Readers::Network);
    }
}
