//! The paper desk: seals for this node's own documents (docs/PROTOCOL.md
//! 14), signed by the authority's paper key, each print recorded in a
//! local append-only audit file (never a log entry: a print changes no
//! document). A print is the main seal and, for the serials past the main
//! page, each annex page's; a main seal above the QR budget is refused.

use crate::error::ApiError;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tally_model::signer::Signer;
use tally_model::{AuthorityId, Date, Person};
use tally_verify::Verifier;
use tally_verify::paper::{AnnexPart, Sealed, Summary, Times};
use tally_verify::state::LicenseState;

/// The paper key and where prints are recorded.
pub struct PaperDesk {
    signer: Arc<dyn Signer>,
    audit: PathBuf,
    /// One print is written to the audit file at a time.
    writing: Mutex<()>,
    /// This authority's point of contact, for the bundle.
    contact: Option<String>,
}

/// A seal made for one document, with what its page shows.
pub struct Print {
    pub state: LicenseState,
    pub summary: Summary,
    pub sealed: Sealed,
    pub times: Times,
    /// The annex pages, in order of line and part, each with its seal
    /// (none when every serial fits the main page).
    pub annexes: Vec<(AnnexPart, Sealed)>,
}

impl PaperDesk {
    pub fn new(signer: Arc<dyn Signer>, audit: PathBuf) -> PaperDesk {
        PaperDesk {
            signer,
            audit,
            writing: Mutex::new(()),
            contact: None,
        }
    }

    /// The point of contact the bundle gives for this node's own authority
    /// (its `contact` setting); partners' come from their cards.
    pub fn with_contact(mut self, contact: Option<String>) -> PaperDesk {
        self.contact = contact;
        self
    }

    /// The paper key's public half: what the offline verifier pins
    /// (`GET /paper/pin.json`).
    pub fn public_key(&self) -> [u8; 32] {
        self.signer.public_key()
    }

    /// Seals the current version of `number`, one of this node's own
    /// documents, and records the print; blocking.
    pub fn print(
        &self,
        v: &Verifier,
        authority: &str,
        number: &str,
        by: Option<&Person>,
    ) -> Result<Print, ApiError> {
        let own = v.authority();
        if authority != own.as_str() {
            return Err(ApiError::forbidden(format!(
                "this node prints the documents of {own} only"
            )));
        }
        let reader = v.reader()?;
        let announced = reader.paper_keys(own)?;
        let key = hex::encode(self.signer.public_key());
        if !announced.iter().any(|k| k.public_key == key) {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the paper key is not announced in this authority's log yet (it is at the next start that may sign)",
            ));
        }
        let id: AuthorityId = own.clone();
        let state = reader
            .license_checked(&id, number)?
            .ok_or_else(|| ApiError::not_found(format!("no document {number} of {own}")))?;
        let issued_on = v.timezone().date_at(state.issued_at_ms).to_string();
        let summary = Summary::of(own.as_str(), state.version, &issued_on, &state.document)
            .map_err(|e| ApiError::invalid_json(e.0))?;
        let until = state.document.validity().1;
        let end = until
            .parse::<Date>()
            .map(|d| (d.days() + 1) * 86_400 - 1)
            .unwrap_or(0);
        let times = Times {
            printed_at: v.now_ms() / 1000,
            expires_at: end,
        };
        let sealed = tally_verify::paper::seal(&summary, times, self.signer.as_ref())
            .map_err(|e| ApiError::internal(e.to_string()))?;
        fits(&summary, &sealed)?;
        let annexes = self.annexes(&summary, &state.document, times)?;
        self.record(&summary, times, annexes.len(), by)?;
        Ok(Print {
            state,
            summary,
            sealed,
            times,
            annexes,
        })
    }

    /// The annex pages of `doc` with their seals: the serials of every
    /// line past the main page's share ([`tally_verify::paper::annexed_lines`]).
    fn annexes(
        &self,
        summary: &Summary,
        doc: &tally_model::License,
        times: Times,
    ) -> Result<Vec<(AnnexPart, Sealed)>, ApiError> {
        let items = doc.items();
        let lines = tally_verify::paper::annexed_lines(
            items.iter().map(|it| (it.line, it.serials.as_slice())),
        );
        let mut out = Vec::new();
        for it in items.iter().filter(|it| lines.contains(&it.line)) {
            for part in tally_verify::paper::parts(it.line, &it.serials) {
                let sealed = tally_verify::paper::seal_annex(
                    summary,
                    &part.annex,
                    times,
                    self.signer.as_ref(),
                )
                .map_err(|e| ApiError::internal(e.to_string()))?;
                out.push((part, sealed));
            }
        }
        Ok(out)
    }

    /// The trust bundle for offline verifiers: the paper keys of this
    /// authority and of every trusted one, and the status of every export
    /// license, import certificate and transit authorization this node
    /// reads, signed with this node's paper key; blocking.
    pub fn bundle(&self, v: &Verifier) -> Result<tally_verify::paper::Bundle, ApiError> {
        use tally_verify::paper::{BundleAuthority, BundleKey, BundleStatus};
        let reader = v.reader()?;
        let trust = v.trust();
        let own = v.authority().clone();
        // Name and point of contact: this node's own, then each card's.
        type Named = (AuthorityId, String, Option<String>);
        let mut names: Vec<Named> = vec![(own.clone(), own.to_string(), self.contact.clone())];
        for c in &trust.cards {
            match names.iter_mut().find(|(a, _, _)| *a == c.authority) {
                Some(slot) => {
                    slot.1 = c.name.clone();
                    slot.2 = slot.2.take().or_else(|| c.contact.clone());
                }
                None => names.push((c.authority.clone(), c.name.clone(), c.contact.clone())),
            }
        }
        let mut authorities = Vec::with_capacity(names.len());
        let mut statuses = Vec::new();
        for (authority, name, contact) in names {
            let keys = reader
                .paper_keys(&authority)?
                .into_iter()
                .map(|k| {
                    // Any compromise mark on the key makes its seals untrusted,
                    // whatever time they claim.
                    let id: Option<[u8; 32]> = hex::decode(&k.public_key)
                        .ok()
                        .and_then(|b| b.try_into().ok());
                    let compromised =
                        id.is_some_and(|id| trust.compromised_after(&authority, &id).is_some());
                    BundleKey {
                        key_id: k.public_key,
                        purpose: "paper".into(),
                        valid_from_ms: k.valid_from_ms,
                        compromised,
                    }
                })
                .collect();
            for l in reader.licenses_of(&authority, usize::MAX)? {
                if l.kind == tally_model::LicenseKind::Delivery {
                    continue;
                }
                statuses.push(BundleStatus {
                    authority: l.authority.to_string(),
                    number: l.number.clone(),
                    version: l.version,
                    status: l.status.as_str().into(),
                });
            }
            authorities.push(BundleAuthority {
                contact,
                authority: authority.to_string(),
                name,
                keys,
            });
        }
        tally_verify::paper::Bundle {
            produced_by: own.to_string(),
            produced_at: v.now_ms(),
            authorities,
            statuses,
            signature: String::new(),
        }
        .sign(self.signer.as_ref())
        .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// Appends one line to the audit file and syncs it before the print is
    /// handed out.
    fn record(
        &self,
        s: &Summary,
        times: Times,
        annexes: usize,
        by: Option<&Person>,
    ) -> Result<(), ApiError> {
        let mut line = serde_json::json!({
            "printed_at": times.printed_at,
            "authority": s.authority,
            "number": s.number,
            "version": s.version,
            "cti": hex::encode(tally_verify::paper::seal::cti(&s.authority, &s.number, s.version)),
            "by": by.map(|p| p.name.clone()),
        });
        // Annex pages are part of the print; a print without any keeps the
        // line it always had.
        if annexes > 0 {
            line["annexes"] = annexes.into();
        }
        let _one = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&self.audit).map_err(ApiError::internal)?;
        f.write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(ApiError::internal)
    }
}

/// Refuses a main seal above the QR budget (version 25). Serials never
/// make it so (a line gives only their count and digest); only many lines
/// or long fields do, and lines are not moved to annex pages
/// (docs/PROTOCOL.md 14 says why): the print is refused, naming the limit.
fn fits(summary: &Summary, sealed: &Sealed) -> Result<(), ApiError> {
    match tally_verify::paper::qr(&sealed.text) {
        Ok(_) => Ok(()),
        Err(e) => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "seal_too_large",
            format!(
                "{} {} cannot be sealed on paper: with its {} item lines {e} (QR codes above version {} do not scan reliably at 60 mm); issue its goods as documents of fewer lines",
                summary.authority,
                summary.number,
                summary.lines.len(),
                tally_verify::paper::qr::MAX_VERSION
            ),
        )),
    }
}
