//! Linkage at issue (docs/API.md): a new document must fit the documents
//! of other logs it relies on, as this node holds them now. Decided only
//! by the issuing node, never on ingest: a peer's entry is never refused
//! for these rules.

use crate::issue::{held, live_export};
use crate::{IssueError, Verifier};
use std::collections::BTreeMap;
use tally_model::linkage::{allocation, same_party, unallocated_covers};
use tally_model::{
    Date, DeliveryVerification, Direction, ExportLicense, License, Status, TransitAuthorization,
};
use tally_store::Tx;
use tally_store::state::delivered;

impl Verifier {
    /// docs/API.md "Linkage at issue": a new document must fit the documents
    /// of other logs it relies on, as this node holds them now. Decided
    /// only here: a peer's entry is never refused for these rules.
    pub(crate) fn linkage(&self, tx: &Tx, license: &License) -> Result<(), IssueError> {
        match license {
            License::Export(e) => {
                self.export_linkage(tx, e)?;
                self.enduse_linkage(tx, e)
            }
            License::Transit(t) => self.transit_linkage(tx, t),
            License::Delivery(d) => self.delivery_linkage(tx, d),
            License::EnduseRequest(r) => self.request_linkage(r),
            License::EnduseAnswer(a) => self.answer_linkage(tx, a),
            License::Import(_) | License::Denial(_) => Ok(()),
        }
    }

    /// The import certificate comes first (Firearms Protocol Art. 10(2)(a)),
    /// when this node trusts an authority of the importing country.
    fn export_linkage(&self, tx: &Tx, e: &ExportLicense) -> Result<(), IssueError> {
        let importing_trusted = self
            .trust()
            .cards
            .iter()
            .any(|c| c.authority.country().as_str() == e.importing_country);
        if !importing_trusted {
            return Ok(());
        }
        // Validation (run just before) refuses an export without one.
        let Some(r) = &e.import_certificate else {
            return Ok(());
        };
        let refuse = |why: String| Err(IssueError::InvalidDocument(why));
        let held = held(tx, r)?;
        let Some(ic) = held else {
            // A record issued before Tally may cite a certificate that
            // never entered it (docs/API.md, migrated records).
            if e.migrated {
                return Ok(());
            }
            return refuse(format!(
                "import certificate {} of {} is not held by this node: the importing State's certificate must arrive before the export license is issued",
                r.number, r.authority
            ));
        };
        let License::Import(cert) = &ic.document else {
            return refuse(format!(
                "{} of {} is not an import certificate",
                r.number, r.authority
            ));
        };
        if ic.authority.country().as_str() != e.importing_country {
            return refuse(format!(
                "import certificate {} was issued by {}, not by an authority of the importing country {}",
                r.number, ic.authority, e.importing_country
            ));
        }
        if ic.status != Status::Active {
            return refuse(format!(
                "import certificate {} of {} is {}",
                r.number,
                r.authority,
                ic.status.as_str()
            ));
        }
        if cert.exporting_country != e.exporting_country {
            return refuse(format!(
                "import certificate {} is for goods from {:?}, not from {}",
                r.number, cert.exporting_country, e.exporting_country
            ));
        }
        if !same_party(&cert.importer, &e.importer) {
            return refuse(format!(
                "import certificate {} names importer {:?}, the export license {:?}",
                r.number, cert.importer.name, e.importer.name
            ));
        }
        let until = |s: &str| s.parse::<Date>().ok();
        match (until(&cert.valid_until), until(&e.valid_until)) {
            (Some(c), Some(x)) if c >= x => {}
            _ => {
                return refuse(format!(
                    "import certificate {} is valid until {}, before the export license's valid_until {}",
                    r.number, cert.valid_until, e.valid_until
                ));
            }
        }
        let own = self.inner.authority.as_str();
        let citing: Vec<ExportLicense> = tally_store::LicenseReads::citing_licenses(tx, r)?
            .into_iter()
            .filter(|s| !(s.authority.as_str() == own && s.number == e.number))
            .filter_map(live_export)
            .collect();
        if cert.single_use && !citing.is_empty() {
            return Err(IssueError::InvalidDocument(format!(
                "import certificate {} is single-use and already cited by another export license",
                r.number
            )));
        }
        let allocated = allocation(cert, &citing);
        unallocated_covers(cert, &allocated, e).map_err(IssueError::InvalidDocument)
    }

    /// A transit State authorizes a license it holds and is on the route of.
    fn transit_linkage(&self, tx: &Tx, t: &TransitAuthorization) -> Result<(), IssueError> {
        let r = &t.export_license;
        let held = held(tx, r)?;
        let Some(state) = held else {
            return Err(IssueError::InvalidDocument(format!(
                "export license {} of {} is not held by this node: it must arrive before its transit is authorized",
                r.number, r.authority
            )));
        };
        let License::Export(e) = &state.document else {
            return Err(IssueError::InvalidDocument(format!(
                "{} of {} is not an export license",
                r.number, r.authority
            )));
        };
        if !e.transit_countries.iter().any(|c| c == &t.transit_country) {
            return Err(IssueError::InvalidDocument(format!(
                "export license {} of {} does not list {} among its transit countries",
                r.number, r.authority, t.transit_country
            )));
        }
        Ok(())
    }

    /// The importing State verifies receipt of goods of a license it holds,
    /// and no more than was recorded entering.
    fn delivery_linkage(&self, tx: &Tx, d: &DeliveryVerification) -> Result<(), IssueError> {
        let r = &d.export_license;
        let refuse = |why: String| Err(IssueError::InvalidDocument(why));
        let held = held(tx, r)?;
        let Some(state) = held else {
            return refuse(format!(
                "export license {} of {} is not held by this node",
                r.number, r.authority
            ));
        };
        let License::Export(e) = &state.document else {
            return refuse(format!(
                "{} of {} is not an export license",
                r.number, r.authority
            ));
        };
        if e.importing_country != d.importing_country {
            return refuse(format!(
                "export license {} goes to {}, not {}: only the importing country verifies delivery",
                r.number, e.importing_country, d.importing_country
            ));
        }
        let mut entered: BTreeMap<u32, u64> = BTreeMap::new();
        for t in tx.tallies(&state)? {
            if t.direction == Direction::Entry {
                let q = entered.entry(t.line).or_default();
                *q = q.saturating_add(t.quantity);
            }
        }
        let earlier = delivered(&state, &tx.deliveries_for(r)?);
        for l in &d.items {
            if !e.items.iter().any(|i| i.line == l.line) {
                return refuse(format!(
                    "line {} is not on export license {}",
                    l.line, r.number
                ));
            }
            let before = earlier.get(&l.line).copied().unwrap_or(0);
            let total = before.saturating_add(l.quantity);
            let recorded = entered.get(&l.line).copied().unwrap_or(0);
            if total > recorded {
                return refuse(format!(
                    "line {}: {total} delivered ({before} by earlier verifications), but {recorded} recorded entering",
                    l.line
                ));
            }
        }
        Ok(())
    }
}
