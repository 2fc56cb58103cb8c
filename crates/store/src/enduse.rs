//! End-use requests and their answers (`tally_model::enduse`): the indexes
//! that join them (an answer cites its request in `C`, as a request cites
//! the export license it concerns; requests by date in `q`), the alert of a
//! request nobody answered in time (`enduse.unanswered`, re-judged whole
//! whenever the request or one of its answers is applied, and by the
//! date-driven pass), and whether a request confirmed an export license
//! (what `[issue] require_enduse_confirmation` asks before it signs).

use crate::error::Result;
use crate::judge::{self, Held};
use crate::keys;
use crate::state::LicenseState;
use crate::tx::Tx;
use tally_model::enduse::{self, Answered};
use tally_model::{AlertKind, AuthorityId, Date, Document, DocumentRef, License};

/// Whether `doc` may be a request, an answer or a status change of one:
/// what [`after`] must see (any other document costs it no read).
pub(crate) fn concerns(doc: &Document) -> bool {
    matches!(
        doc,
        Document::StatusChange(_)
            | Document::License(License::EnduseRequest(_) | License::EnduseAnswer(_))
    )
}

/// After a request, an answer or a status change of either was applied:
/// indexes what `subject` cites and re-judges the request concerned.
pub(crate) fn after(tx: &mut Tx, subject: &DocumentRef) -> Result<()> {
    let Some(state) = tx.license_by_ref(subject)? else {
        return Ok(());
    };
    match &state.document {
        License::EnduseRequest(r) => {
            let export = DocumentRef {
                authority: subject.authority.clone(),
                number: r.export_license.clone(),
            };
            tx.put_raw(keys::cites(&export, subject), Vec::new());
            if let Ok(date) = r.date.parse::<Date>() {
                tx.put_raw(keys::request_date(date.days(), subject), Vec::new());
            }
            rejudge(tx, subject)
        }
        License::EnduseAnswer(a) => {
            tx.put_raw(keys::cites(&a.request, subject), Vec::new());
            let request = a.request.clone();
            rejudge(tx, &request)
        }
        _ => Ok(()),
    }
}

/// The answers held that cite `request`, as they stand.
fn answers(tx: &Tx, request: &DocumentRef) -> Result<Vec<LicenseState>> {
    let mut out = Vec::new();
    for r in tx.citing(request)? {
        if let Some(s) = tx.license_by_ref(&r)?
            && matches!(s.document, License::EnduseAnswer(_))
        {
            out.push(s);
        }
    }
    Ok(out)
}

fn answered(states: &[LicenseState]) -> Vec<Answered<'_>> {
    states
        .iter()
        .filter_map(|s| match &s.document {
            License::EnduseAnswer(a) => Some(Answered {
                authority: &s.authority,
                number: &s.number,
                status: s.status,
                answer: a,
            }),
            _ => None,
        })
        .collect()
}

/// `enduse.unanswered` of `request`, rewritten whole as of the
/// transaction's date (nothing while the request is not held here).
pub(crate) fn rejudge(tx: &mut Tx, request: &DocumentRef) -> Result<()> {
    let Some(state) = tx.license_by_ref(request)? else {
        return Ok(());
    };
    let License::EnduseRequest(r) = &state.document else {
        return Ok(());
    };
    judge::clear(tx, AlertKind::EnduseUnanswered, &state, Held::Before)?;
    let held = answers(tx, request)?;
    let due = tx.due();
    let found = enduse::unanswered(
        &judge::subject(&state),
        r,
        &answered(&held),
        due.today,
        due.enduse_days,
    );
    judge::keep(tx, &state, found);
    Ok(())
}

impl Tx<'_> {
    /// Whether an active end-use request of `authority` about its export
    /// license `number`, to `importing_country`, is confirmed by the
    /// answers held (`tally_model::enduse::confirmed`); the requests it
    /// found otherwise, for the refusal's words.
    pub fn enduse_confirmed(
        &self,
        authority: &AuthorityId,
        number: &str,
        importing_country: &str,
    ) -> Result<Result<(), Vec<String>>> {
        let export = DocumentRef {
            authority: authority.to_string(),
            number: number.to_string(),
        };
        let mut asked = Vec::new();
        for r in self.citing(&export)? {
            let Some(state) = self.license_by_ref(&r)? else {
                continue;
            };
            let License::EnduseRequest(req) = &state.document else {
                continue;
            };
            if state.status != tally_model::Status::Active
                || req.importing_country != importing_country
            {
                continue;
            }
            let held = answers(self, &r)?;
            if enduse::confirmed(&r, req, &answered(&held)) {
                return Ok(Ok(()));
            }
            asked.push(format!("{} of {}", r.number, req.date));
        }
        Ok(Err(asked))
    }
}
