//! End-use assurance at issue (docs/API.md, "End-use assurance"): a
//! request goes only to a State this node trusts an authority of (the
//! Otterloo case: nobody to ask is a refusal, not a silent pass); an
//! answer answers a request this node holds, addressed to its country;
//! and an export license to a country of `[issue]
//! require_enduse_confirmation` is signed only after that country
//! confirmed what it relies on.

use crate::{IssueError, Verifier};
use std::collections::BTreeSet;
use tally_model::{EnduseAnswer, EnduseRequest, ExportLicense, License};
use tally_store::Tx;

impl Verifier {
    /// The countries whose export licenses need a confirmed end-use
    /// request first (`[issue] require_enduse_confirmation`).
    pub fn require_enduse_confirmation(&self, countries: BTreeSet<String>) {
        let mut held = self
            .inner
            .enduse_required
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *held = countries;
    }

    fn enduse_required(&self, country: &str) -> bool {
        self.inner
            .enduse_required
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(country)
    }

    /// Someone of the importing State must be there to answer.
    pub(crate) fn request_linkage(&self, r: &EnduseRequest) -> Result<(), IssueError> {
        let trusted = self
            .trust()
            .cards
            .iter()
            .any(|c| c.authority.country().as_str() == r.importing_country);
        if trusted {
            return Ok(());
        }
        Err(IssueError::InvalidDocument(format!(
            "no authority of {} is trusted by this node: there is no one to ask (add its card with `tally trust add` first)",
            r.importing_country
        )))
    }

    /// The request is held here, from the State it names as asking, and
    /// asks this node's country.
    pub(crate) fn answer_linkage(&self, tx: &Tx, a: &EnduseAnswer) -> Result<(), IssueError> {
        let refuse = |why: String| Err(IssueError::InvalidDocument(why));
        let Some(held) = tx.license_by_ref(&a.request)? else {
            return refuse(format!(
                "request {} of {} is not held by this node: answer a request it holds",
                a.request.number, a.request.authority
            ));
        };
        let License::EnduseRequest(r) = &held.document else {
            return refuse(format!(
                "{} of {} is not an end-use request",
                a.request.number, a.request.authority
            ));
        };
        if r.importing_country != self.inner.authority.country().as_str()
            || r.exporting_country != a.exporting_country
        {
            return refuse(format!(
                "request {} asks {} on behalf of {}: this answer is not its to give",
                a.request.number, r.importing_country, r.exporting_country
            ));
        }
        Ok(())
    }

    /// `[issue] require_enduse_confirmation`: the importing State confirmed
    /// what this export relies on, in answer to a request about it.
    pub(crate) fn enduse_linkage(&self, tx: &Tx, e: &ExportLicense) -> Result<(), IssueError> {
        if !self.enduse_required(&e.importing_country) {
            return Ok(());
        }
        let own = &self.inner.authority;
        match tx.enduse_confirmed(own, &e.number, &e.importing_country)? {
            Ok(()) => Ok(()),
            Err(asked) => Err(IssueError::InvalidDocument(if asked.is_empty() {
                format!(
                    "exports to {} need the end use confirmed first ([issue] require_enduse_confirmation): issue an enduse_request about {} and wait for {}'s answer",
                    e.importing_country, e.number, e.importing_country
                )
            } else {
                format!(
                    "exports to {} need the end use confirmed first: request {} is not confirmed by {} (unanswered, or answered otherwise)",
                    e.importing_country,
                    asked.join(", "),
                    e.importing_country
                )
            })),
        }
    }
}
