//! `denial.match`: export licenses joined with other States' denials by
//! buyer (`tally_model::denial`).
//!
//! Both sides are indexed under `p` by the normalized keys of their buyers
//! when applied (an amendment may add consignees: their keys are added,
//! none removed). Whichever of a license and a denial arrives second finds
//! the first there. A pair's alert depends only on the two documents as
//! they stand (the license's first day of issue, the denial's status) and
//! the window, and its id on the denial's entry, so the same set of
//! entries raises the same alerts in any order:
//!
//! - a license (issued or amended) re-judges every denial its buyers name,
//!   after clearing its own `denial.match` alerts;
//! - a denial (issued, or its status changed) re-judges every license its
//!   buyers name, pair by pair (the index only grows, so a license that no
//!   longer names the buyer is found and its pair cleared).

use crate::error::Result;
use crate::keys;
use crate::state::{Alert, LicenseState};
use crate::tx::Tx;
use std::collections::BTreeSet;
use tally_model::denial::{self, Denial};
use tally_model::{AlertKind, Date, DocumentRef, ExportLicense, License, Status};

const DENIALS: u8 = b'd';
const EXPORTS: u8 = b'x';

/// Indexes the buyers of an export license or a denial as applied (at
/// issue and at each amendment); other documents have none.
pub(crate) fn index(tx: &mut Tx, authority: &str, l: &License) {
    let (side, buyers) = match l {
        License::Export(e) => (EXPORTS, denial::license_buyer_keys(e)),
        License::Denial(d) => (DENIALS, d.buyer_keys()),
        _ => return,
    };
    let doc = DocumentRef {
        authority: authority.to_string(),
        number: l.number().to_string(),
    };
    for buyer in buyers {
        tx.put_raw(
            keys::party(side, &denial::buyer_digest(&buyer), &doc),
            Vec::new(),
        );
    }
}

/// Re-judges the `denial.match` alerts `doc` takes part in, when it is an
/// export license or a denial this node holds and reads. `issued`: `doc`
/// was just issued, so it has no alert to clear yet.
pub(crate) fn rejudge(tx: &mut Tx, doc: &DocumentRef, issued: bool) -> Result<()> {
    let Some(state) = tx.license_by_ref(doc)? else {
        return Ok(());
    };
    match &state.document {
        License::Export(e) => license(tx, &state, e, issued),
        License::Denial(d) => denial_side(tx, &state, d),
        _ => Ok(()),
    }
}

/// The documents indexed on `side` under any of `buyers`.
fn named(tx: &Tx, side: u8, buyers: &[String]) -> Result<BTreeSet<DocumentRef>> {
    let mut found = BTreeSet::new();
    for buyer in buyers {
        let digest = denial::buyer_digest(buyer);
        for (k, _) in tx.scan_prefix(&keys::party_prefix(side, &digest))? {
            if let Some(r) = keys::party_document(&k) {
                found.insert(r);
            }
        }
    }
    Ok(found)
}

/// An export license's side: its alerts cleared (none when just issued),
/// then one per denial that matches it.
fn license(tx: &mut Tx, state: &LicenseState, e: &ExportLicense, issued: bool) -> Result<()> {
    if !issued {
        let prefix = keys::alert_prefix(AlertKind::DenialMatch.as_str(), &state.reference());
        for (k, _) in tx.scan_prefix(&prefix)? {
            tx.delete(k);
        }
    }
    for d in named(tx, DENIALS, &denial::license_buyer_keys(e))? {
        if let Some(denied) = tx.license_by_ref(&d)?
            && let License::Denial(notice) = &denied.document
        {
            judge_pair(tx, state, e, &denied, notice);
        }
    }
    Ok(())
}

/// A denial's side: every license its buyers name, pair by pair.
fn denial_side(tx: &mut Tx, denied: &LicenseState, notice: &Denial) -> Result<()> {
    for r in named(tx, EXPORTS, &notice.buyer_keys())? {
        if let Some(state) = tx.license_by_ref(&r)?
            && let License::Export(e) = &state.document
        {
            judge_pair(tx, &state, e, denied, notice);
        }
    }
    Ok(())
}

/// Raises, or removes, the one alert of a (license, denial) pair.
fn judge_pair(
    tx: &mut Tx,
    state: &LicenseState,
    e: &ExportLicense,
    denied: &LicenseState,
    notice: &Denial,
) {
    let reference = state.reference();
    let id = tally_model::alert_id(
        AlertKind::DenialMatch,
        Some(&reference),
        &denied.authority,
        denied.entry.seq,
    );
    let day = Date::from_unix_ms(state.issued_at_ms);
    match denial::matches(notice, e, day, tx.due().denial_days) {
        Some(m) => tx.raise(&Alert {
            id,
            kind: AlertKind::DenialMatch,
            license: Some(reference),
            raised_at_ms: state.issued_at_ms.max(denied.issued_at_ms),
            detail: detail(&state.number, &m, notice, denied),
            open: denied.status != Status::Revoked,
        }),
        None => tx.delete(keys::alert(&id)),
    }
}

/// What a match says, in words (foreign text quoted).
fn detail(number: &str, m: &denial::DenialMatch, notice: &Denial, denied: &LicenseState) -> String {
    format!(
        "the {} of {} is {:?}, the {} of denial {} by {} of {} (criterion: {:?}){}",
        m.license_party,
        number,
        m.denied_name,
        m.denied_party,
        notice.number,
        denied.authority,
        notice.date,
        notice.criterion,
        if denied.status == Status::Revoked {
            "; the denial was since withdrawn"
        } else {
            ""
        }
    )
}

impl Tx<'_> {
    /// What issuing export license `e` on `day` would raise as
    /// `denial.match` against the denials held now (a dry run's warnings:
    /// the same rule and words as the alerts, withdrawn denials left out).
    pub fn denial_warnings(&self, e: &ExportLicense, day: Date) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for d in named(self, DENIALS, &denial::license_buyer_keys(e))? {
            if let Some(denied) = self.license_by_ref(&d)?
                && denied.status != Status::Revoked
                && let License::Denial(notice) = &denied.document
                && let Some(m) = denial::matches(notice, e, day, self.due().denial_days)
            {
                out.push(format!(
                    "denial.match: {}",
                    detail(&e.number, &m, notice, &denied)
                ));
            }
        }
        Ok(out)
    }
}
