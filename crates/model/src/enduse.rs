//! End-use assurance: before relying on an end-user certificate or an
//! import document, the exporting authority asks the importing State's
//! authority whether it is genuine (the Otterloo case, 2001: 3,000 rifles
//! left Nicaragua against a forged Panamanian police order nobody checked
//! with Panama), and the answer is signed.
//!
//! This module owns the rules of the two documents ([`EnduseRequest`] and
//! [`EnduseAnswer`], defined with the other documents in `crate::document`),
//! which answers count for a request ([`counts`]), whether a request is
//! confirmed ([`confirmed`]) and the alert for a request nobody answered in
//! time ([`unanswered`], `enduse.unanswered`). Every node that reads a
//! request and its answers judges them alike.

use crate::alert::AlertKind;
use crate::date::Date;
use crate::document::{DocumentRef, Status};
pub use crate::document::{EnduseAnswer, EnduseRequest, EnduseVerdict};
use crate::faults::{At, Faults};
use crate::fields;
use crate::id::AuthorityId;
use crate::judgement::{Finding, Subject};

/// `[alerts] enduse_days` when the config does not say.
pub const DEFAULT_ENDUSE_DAYS: u32 = 30;

const DAY_MS: i64 = 86_400_000;

/// The asking and the asked State differ; the rest of each document is
/// well-formed (the issuer's own country is checked by `crate::validate`).
fn countries(f: &mut Faults, exporting: &str, importing: &str) {
    let root = At::root();
    let e = f.check(
        root.key("exporting_country"),
        fields::country("exporting_country", exporting),
    );
    let i = f.check(
        root.key("importing_country"),
        fields::country("importing_country", importing),
    );
    if e.is_some() && e == i {
        f.add(
            root.key("importing_country"),
            "the importing and exporting countries are the same: a State does not ask itself",
        );
    }
}

/// The rules of a request.
pub(crate) fn request_faults(f: &mut Faults, d: &EnduseRequest) {
    let root = At::root();
    countries(f, &d.exporting_country, &d.importing_country);
    f.check(
        root.key("export_license"),
        fields::document_number(&d.export_license),
    );
    match (&d.end_user_certificate, &d.import_certificate) {
        (Some(c), None) => {
            fields::end_user_certificate(f, root.key("end_user_certificate"), c);
        }
        (None, Some(r)) => reference(f, root.key("import_certificate"), r),
        _ => f.add(
            root.key("end_user_certificate"),
            "a request names exactly one of end_user_certificate and import_certificate: what to confirm",
        ),
    }
    if let Some(p) = &d.end_user {
        fields::party(f, root.key("end_user"), "end_user", p);
    }
    f.check(root.key("date"), fields::date("date", &d.date));
}

/// The rules of an answer.
pub(crate) fn answer_faults(f: &mut Faults, d: &EnduseAnswer) {
    let root = At::root();
    countries(f, &d.exporting_country, &d.importing_country);
    reference(f, root.key("request"), &d.request);
    if let Ok(a) = d.request.authority.parse::<AuthorityId>()
        && a.country().as_str() != d.exporting_country
    {
        f.add(
            root.key("request").key("authority"),
            format!(
                "the request's authority {} is not of the asking country {}",
                d.request.authority, d.exporting_country
            ),
        );
    }
    let comment = d.comment.as_deref().unwrap_or("");
    f.check(root.key("comment"), fields::free_text("comment", comment));
    f.check(root.key("date"), fields::date("date", &d.date));
}

fn reference(f: &mut Faults, at: At, r: &DocumentRef) {
    if r.authority.parse::<AuthorityId>().is_err() {
        f.add(
            at.key("authority"),
            format!("{:?} is not an authority id", r.authority),
        );
    }
    f.check(at.key("number"), fields::document_number(&r.number));
}

/// An answer as the rules read it: who signed it and whether it stands.
#[derive(Debug, Clone)]
pub struct Answered<'a> {
    pub authority: &'a AuthorityId,
    pub number: &'a str,
    pub status: Status,
    pub answer: &'a EnduseAnswer,
}

/// Whether `a` answers the request `request` (of `asker`): signed by an
/// authority of the State asked, citing that request, not revoked (an
/// answer withdrawn counts for nothing; a suspended one is on hold).
pub fn counts(asker: &DocumentRef, request: &EnduseRequest, a: &Answered) -> bool {
    a.status == Status::Active
        && a.authority.country().as_str() == request.importing_country
        && &a.answer.request == asker
}

/// Whether the answers confirm the request: the latest counting answer (by
/// date, then authority and number) says `confirmed`. A later answer that
/// says otherwise (the certificate was withdrawn since) takes it back.
pub fn confirmed(asker: &DocumentRef, request: &EnduseRequest, answers: &[Answered]) -> bool {
    latest(asker, request, answers).is_some_and(|a| a.answer.answer == EnduseVerdict::Confirmed)
}

fn latest<'a>(
    asker: &DocumentRef,
    request: &EnduseRequest,
    answers: &'a [Answered<'a>],
) -> Option<&'a Answered<'a>> {
    answers
        .iter()
        .filter(|a| counts(asker, request, a))
        .max_by(|x, y| {
            (&x.answer.date, x.authority.as_str(), x.number).cmp(&(
                &y.answer.date,
                y.authority.as_str(),
                y.number,
            ))
        })
}

/// `enduse.unanswered` of the request `s` as of `today`: owed an answer by
/// `enduse_days` after its date (0: the same day), unanswered from the day
/// after when no counting answer is dated by then; raised by the request's
/// entry; open while none is
/// held at all, closed (and kept, saying when) once one came late. A
/// withdrawn (revoked) request is owed no answer.
pub fn unanswered(
    s: &Subject,
    request: &EnduseRequest,
    answers: &[Answered],
    today: Date,
    enduse_days: u32,
) -> Option<Finding> {
    if s.status == Status::Revoked {
        return None;
    }
    let asked: Date = request.date.parse().ok()?;
    let due = Date::from_unix_ms((asked.days() + i64::from(enduse_days)).saturating_mul(DAY_MS));
    if today <= due {
        return None;
    }
    let asker = DocumentRef {
        authority: s.authority.to_string(),
        number: s.number.to_string(),
    };
    let first = answers
        .iter()
        .filter(|a| counts(&asker, request, a))
        .filter_map(|a| a.answer.date.parse::<Date>().ok())
        .min();
    let (open, detail) = match first {
        Some(d) if d <= due => return None,
        Some(d) => (
            false,
            format!(
                "{} asked {} on {asked} about {}; the answer, due {due}, came on {d}",
                s.authority,
                request.importing_country,
                what(request)
            ),
        ),
        None => (
            true,
            format!(
                "{} asked {} on {asked} about {}; no answer by {due}",
                s.authority,
                request.importing_country,
                what(request)
            ),
        ),
    };
    Some(Finding {
        kind: AlertKind::EnduseUnanswered,
        by: s.authority.clone(),
        seq: s.history.first().map_or(0, |e| e.seq),
        at_ms: (due.days() + 1).saturating_mul(DAY_MS),
        open,
        detail,
    })
}

/// What a request asks about, in a sentence.
pub fn what(request: &EnduseRequest) -> String {
    match (&request.end_user_certificate, &request.import_certificate) {
        (Some(c), _) => format!(
            "end-user certificate {} of {} issued by {}, for export license {}",
            c.number, c.date, c.issued_by, request.export_license
        ),
        (None, Some(r)) => format!(
            "import certificate {} of {}, for export license {}",
            r.number, r.authority, request.export_license
        ),
        (None, None) => format!("export license {}", request.export_license),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::EndUserCertificate;
    use crate::judgement::Event;

    fn request() -> EnduseRequest {
        EnduseRequest {
            number: "EUR-1".into(),
            exporting_country: "US".into(),
            importing_country: "MX".into(),
            export_license: "EXP-9".into(),
            end_user_certificate: Some(EndUserCertificate {
                number: "EUC-2026-118".into(),
                date: "2026-10-20".into(),
                issued_by: "SEDENA".into(),
            }),
            import_certificate: None,
            end_user: None,
            date: "2026-11-01".into(),
            prepared_by: None,
            signatory: None,
        }
    }

    fn answer(verdict: EnduseVerdict, date: &str) -> EnduseAnswer {
        EnduseAnswer {
            number: format!("ANS-{date}"),
            importing_country: "MX".into(),
            exporting_country: "US".into(),
            request: DocumentRef {
                authority: "US-DDTC".into(),
                number: "EUR-1".into(),
            },
            answer: verdict,
            comment: None,
            date: date.into(),
            prepared_by: None,
            signatory: None,
        }
    }

    fn faults(f: impl Fn(&mut Faults)) -> Vec<String> {
        let mut faults = Faults::new(10);
        f(&mut faults);
        faults.into_vec().into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn a_request_names_one_thing_to_confirm_and_another_state() {
        assert!(faults(|f| request_faults(f, &request())).is_empty());
        let mut both = request();
        both.import_certificate = Some(DocumentRef {
            authority: "MX-SEDENA".into(),
            number: "IC-1".into(),
        });
        assert!(faults(|f| request_faults(f, &both))[0].contains("exactly one"));
        let mut itself = request();
        itself.importing_country = "US".into();
        assert!(faults(|f| request_faults(f, &itself))[0].contains("does not ask itself"));
        let mut foreign = answer(EnduseVerdict::Confirmed, "2026-11-02");
        foreign.request.authority = "GT-DIGECAM".into();
        assert!(faults(|f| answer_faults(f, &foreign))[0].contains("not of the asking country"));
    }

    #[test]
    fn only_the_state_asked_answers_and_the_latest_answer_stands() {
        let asker = DocumentRef {
            authority: "US-DDTC".into(),
            number: "EUR-1".into(),
        };
        let (mx, gt): (AuthorityId, AuthorityId) =
            ("MX-SEDENA".parse().unwrap(), "GT-DIGECAM".parse().unwrap());
        let yes = answer(EnduseVerdict::Confirmed, "2026-11-03");
        let later_no = answer(EnduseVerdict::Withdrawn, "2026-11-09");
        let a = |authority, answer, status| Answered {
            authority,
            number: "A",
            status,
            answer,
        };
        let r = request();
        assert!(confirmed(&asker, &r, &[a(&mx, &yes, Status::Active)]));
        assert!(!confirmed(&asker, &r, &[a(&gt, &yes, Status::Active)]));
        assert!(!confirmed(&asker, &r, &[a(&mx, &yes, Status::Revoked)]));
        assert!(!confirmed(
            &asker,
            &r,
            &[
                a(&mx, &yes, Status::Active),
                a(&mx, &later_no, Status::Active)
            ]
        ));
    }

    #[test]
    fn unanswered_opens_when_due_and_closes_when_answered_late() {
        let us: AuthorityId = "US-DDTC".parse().unwrap();
        let mx: AuthorityId = "MX-SEDENA".parse().unwrap();
        let doc = crate::document::License::EnduseRequest(request());
        let s = Subject {
            authority: &us,
            number: "EUR-1",
            document: &doc,
            status: Status::Active,
            issued_at_ms: 0,
            history: vec![Event {
                event: "issued",
                reason: None,
                at_ms: 0,
                seq: 4,
            }],
        };
        let r = request();
        let day = |d: &str| d.parse::<Date>().unwrap();
        assert!(unanswered(&s, &r, &[], day("2026-12-01"), 30).is_none());
        let open = unanswered(&s, &r, &[], day("2026-12-02"), 30).unwrap();
        assert!(open.open && open.seq == 4 && open.detail.contains("no answer by 2026-12-01"));
        let late = answer(EnduseVerdict::Unknown, "2026-12-05");
        let answered = [Answered {
            authority: &mx,
            number: "A",
            status: Status::Active,
            answer: &late,
        }];
        let closed = unanswered(&s, &r, &answered, day("2026-12-06"), 30).unwrap();
        assert!(!closed.open && closed.detail.contains("came on 2026-12-05"));
        let on_time = answer(EnduseVerdict::Unknown, "2026-11-20");
        let answered = [Answered {
            answer: &on_time,
            ..answered[0].clone()
        }];
        assert!(unanswered(&s, &r, &answered, day("2026-12-06"), 30).is_none());
    }
}
