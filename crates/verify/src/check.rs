//! [`Checker`]: checking a consignment against one snapshot of the stored
//! state, and recording it.

use crate::rules::{Declared, Facts, Verdict, evaluate};
use crate::{IssueError, Verifier};
use serde::Deserialize;
use std::collections::BTreeMap;
use tally_model::{
    AuthorityId, Checkpoint, Document, DocumentRef, License, LicenseKind, ShipmentLine,
    ShipmentRecord, on_route,
};
use tally_store::state::{EntryPointer, LicenseState, TallyRow};
use tally_store::{LicenseReads, Snapshot};

/// The body of `POST /v1/shipments/verify`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub license: DocumentRef,
    pub checkpoint: Checkpoint,
    /// `YYYY-MM-DD`; today (in the node's `timezone`) when absent.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub exporter: Option<String>,
    #[serde(default)]
    pub importer: Option<String>,
    #[serde(default)]
    pub items: Vec<ShipmentLine>,
    #[serde(default)]
    pub record: bool,
}

/// A check's answer: the verdict, the license as the node knows it (with
/// what the answer shows of it: read from the one snapshot the rules were
/// decided on, except the tallies after a record, which show the record),
/// and the shipment record when one was written.
#[derive(Debug, Clone)]
pub struct Checked {
    pub verdict: Verdict,
    pub license: Option<LicenseState>,
    pub tallies: Vec<TallyRow>,
    /// For an export license: the transit authorizations covering it.
    pub transits: Vec<LicenseState>,
    /// For an export license: its delivery verifications.
    pub deliveries: Vec<LicenseState>,
    /// For an import certificate: the export licenses citing it.
    pub citing: Vec<LicenseState>,
    pub record: Option<EntryPointer>,
    /// The bytes the record's write stored: its entry, and the rows derived
    /// from it (the same at every party that reads it); 0 without a record.
    pub record_bytes: u64,
    /// A dry run's record: who could read it (nothing was written).
    pub trial: Option<crate::Trial>,
}

impl CheckRequest {
    /// Serial numbers declared, over every line: each is one store lookup.
    pub fn declared_serials(&self) -> usize {
        self.items.iter().map(|i| i.serials.len()).sum()
    }
}

const MAX_DECLARED_LINES: usize = 1000;
const MAX_DECLARED_SERIALS: usize = 100_000;

/// Declaring more serials on a line than the license lists for it is a
/// malformed declaration (422), not a failed check. A line that is not on
/// the license is licensed for 0: serials declared on it are refused the
/// same way (they would otherwise be recorded, with every serial, on a
/// line nobody licensed). Such a line without serials stays a verdict
/// (`items.match` fails).
fn serials_within_licensed(f: &Facts, d: &Declared) -> Result<(), IssueError> {
    for it in &d.items {
        if it.serials.is_empty() {
            continue;
        }
        let licensed = f
            .license
            .document
            .items()
            .iter()
            .find(|l| l.line == it.line)
            .map(|l| l.quantity);
        if it.serials.len() as u64 > licensed.unwrap_or(0) {
            let not_on = if licensed.is_none() {
                " (the line is not on the license)"
            } else {
                ""
            };
            return Err(IssueError::InvalidDocument(format!(
                "line {}: {} serials declared, exceeding its licensed quantity of {}{not_on}",
                it.line,
                it.serials.len(),
                licensed.unwrap_or(0)
            )));
        }
    }
    Ok(())
}

/// A declaration naming one line twice is malformed (422), as on a license:
/// the per-line bounds (serials within the quantity, within the licensed
/// quantity) would otherwise hold for each copy and not for the line.
fn distinct_lines(items: &[ShipmentLine]) -> Result<(), IssueError> {
    let mut seen = std::collections::BTreeSet::new();
    match items.iter().find(|i| !seen.insert(i.line)) {
        Some(dup) => Err(IssueError::InvalidDocument(format!(
            "duplicate line number {}",
            dup.line
        ))),
        None => Ok(()),
    }
}

/// The border check (docs/API.md `POST /v1/shipments/verify`): the
/// rules over one snapshot of the store, and with `record` the signed
/// shipment record. Handed out by [`Verifier::checker`].
pub struct Checker {
    v: Verifier,
}

impl Verifier {
    /// The Checker door (see [Checker]).
    pub fn checker(&self) -> Checker {
        Checker { v: self.clone() }
    }
}

impl Checker {
    /// Runs the rules for a declared consignment and, with `record`, signs the
    /// result into the local log. A rejection is a verdict, not an error.
    pub fn check(&self, req: CheckRequest) -> Result<Checked, IssueError> {
        self.run(req, false)
    }

    /// [`Checker::check`] as a dry run: with `record`, every rule of the
    /// record runs (sealing and size included) and nothing is signed or
    /// written; [`Checked::trial`] says who could have read it.
    pub fn dry_run(&self, req: CheckRequest) -> Result<Checked, IssueError> {
        self.run(req, true)
    }

    fn run(&self, req: CheckRequest, dry: bool) -> Result<Checked, IssueError> {
        let date = match &req.date {
            None => self.v.today(),
            Some(d) => d
                .parse()
                .map_err(|_| IssueError::BadRequest(format!("date {d:?} is not YYYY-MM-DD")))?,
        };
        within_bounds(&req)?;
        if req.record {
            self.v.may_record(&req, date)?;
        }
        let declared = Declared {
            checkpoint: req.checkpoint.clone(),
            date,
            exporter: req.exporter.clone(),
            importer: req.importer.clone(),
            items: req.items.clone(),
        };
        let reference = format!("{} {}", req.license.authority, req.license.number);
        // The read-only check runs without the write lock, so a long
        // declaration never stalls issuing or other records.
        let snapshot = self.v.inner.store.snapshot()?;
        let facts = self.v.facts(&snapshot, &req.license, &declared)?;
        if let Some(f) = &facts {
            serials_within_licensed(f, &declared)?;
        }
        let decided = match facts {
            Some(_) if req.record => self
                .v
                .check_and_record(req, &declared, &reference, date, dry)?,
            // An unknown license records nothing: a border cannot grow every
            // node's log with crossings of licenses nobody issued.
            facts => {
                let mut verdict = evaluate(facts.as_ref(), &declared, &reference);
                if facts.is_none()
                    && let Some(why) = unreadable(&snapshot, &req.license)
                    && let Some(known) = verdict.checks.first_mut()
                {
                    known.detail = format!("{reference} does not open on this node: {why}");
                }
                Decided {
                    facts,
                    verdict,
                    record: None,
                    record_bytes: 0,
                    snapshot,
                    trial: None,
                }
            }
        };
        self.v.answer(decided)
    }
}

impl Verifier {
    /// The answer to a decided check: the license and what the answer
    /// shows of it, from the snapshot the rules were decided on; the
    /// tallies after a record from the store (they show the record).
    fn answer(&self, decided: Decided) -> Result<Checked, IssueError> {
        let Decided {
            facts,
            verdict,
            record,
            record_bytes,
            snapshot,
            trial,
        } = decided;
        let Some(facts) = facts else {
            return Ok(Checked {
                verdict,
                license: None,
                tallies: vec![],
                transits: vec![],
                deliveries: vec![],
                citing: vec![],
                record,
                record_bytes,
                trial,
            });
        };
        let reference = facts.license.reference();
        let deliveries = match facts.license.kind {
            LicenseKind::Export => snapshot.deliveries_for(&reference)?,
            _ => vec![],
        };
        let citing = match facts.license.kind {
            LicenseKind::Import => snapshot.citing_licenses(&reference)?,
            _ => vec![],
        };
        drop(snapshot);
        // The answer shows the tallies after this record; without one, the
        // facts' are current.
        let tallies = match record {
            Some(_) => self.inner.store.tallies(&facts.license)?,
            None => facts.tallies,
        };
        Ok(Checked {
            verdict,
            license: Some(facts.license),
            tallies,
            transits: facts.transits,
            deliveries,
            citing,
            record,
            record_bytes,
            trial,
        })
    }

    /// Whether this node may record a crossing declared at `date`: it
    /// signs, the checkpoint is in its country, and the date is today.
    fn may_record(&self, req: &CheckRequest, date: tally_model::Date) -> Result<(), IssueError> {
        let today = self.today();
        self.may_sign()?;
        if req.checkpoint.country != self.inner.authority.country().as_str() {
            return Err(IssueError::Forbidden(format!(
                "this node records crossings in {} only, not {:?}",
                self.inner.authority.country(),
                req.checkpoint.country
            )));
        }
        // A record says what crossed today; one day either side allows
        // for a crossing at midnight or a border in another time zone.
        if (date.days() - today.days()).abs() > 1 {
            return Err(IssueError::InvalidDocument(format!(
                "a crossing is recorded on the day it happens: {date} is not {today}"
            )));
        }
        Ok(())
    }

    /// Under the write lock: gathers the facts again and decides on them, so
    /// two officers cannot both spend the same remaining quantity, then
    /// appends the shipment record with the verdict.
    fn check_and_record(
        &self,
        req: CheckRequest,
        declared: &Declared,
        reference: &str,
        date: tally_model::Date,
        dry: bool,
    ) -> Result<Decided, IssueError> {
        // Under the lock: gather the facts again and decide on them,
        // so two officers cannot both spend the same remaining
        // quantity, then append the record (or, dry, try it).
        let _w = self.lock();
        let snapshot = self.inner.store.snapshot()?;
        let facts = self.facts(&snapshot, &req.license, declared)?;
        // The license may have been amended since (quantities
        // lowered): the bounds hold for what is recorded.
        if let Some(f) = &facts {
            serials_within_licensed(f, declared)?;
        }
        let verdict = evaluate(facts.as_ref(), declared, reference);
        let document = Document::Shipment(ShipmentRecord {
            license: req.license.clone(),
            checkpoint: req.checkpoint,
            date: date.to_string(),
            exporter: req.exporter,
            importer: req.importer,
            items: req.items,
            verdict: verdict.as_str().to_string(),
            failed_rules: verdict.failed_rules(),
        });
        if dry {
            let trial = self.trial(document, None)?;
            return Ok(Decided {
                facts,
                verdict,
                record: None,
                record_bytes: 0,
                snapshot,
                trial: Some(trial),
            });
        }
        // Charged at what the record stores, not only its entry: the rows
        // each serial adds cost every party more than the entry itself.
        let (v, bytes) = self.inner.store.transaction(|tx| {
            let (v, _, _) = self.append_own(tx, document)?;
            Ok::<_, IssueError>((v, tx.written_bytes()))
        })?;
        self.inner.publish.entry(v.signed());
        let record = EntryPointer {
            seq: v.entry().seq,
            hash: v.id(),
        };
        Ok(Decided {
            facts,
            verdict,
            record: Some(record),
            record_bytes: bytes,
            snapshot,
            trial: None,
        })
    }

    /// Gathers what the rules need from `store`; `None` when the license is
    /// unknown.
    fn facts(
        &self,
        store: &Snapshot,
        r: &DocumentRef,
        d: &Declared,
    ) -> Result<Option<Facts>, IssueError> {
        let Ok(authority) = r.authority.parse::<AuthorityId>() else {
            return Ok(None);
        };
        let Some(license) = store.license(&authority, &r.number)? else {
            return Ok(None);
        };
        let signature = self.signature_fact(store, &license)?;
        let import_certificate = match &license.document {
            License::Export(e) => match &e.import_certificate {
                Some(ic) => match ic.authority.parse::<AuthorityId>() {
                    Ok(a) => store.license(&a, &ic.number)?,
                    Err(_) => None,
                },
                None => None,
            },
            _ => None,
        };
        let transits = match license.document {
            License::Export(_) => store.transits_for(r)?,
            _ => vec![],
        };
        // Uses recorded where the route does not allow never count.
        let (direction, country) = (d.checkpoint.direction, d.checkpoint.country.as_str());
        let mut used_serials = BTreeMap::new();
        if on_route(&license.document, direction, country) {
            for s in d.items.iter().flat_map(|i| &i.serials) {
                if let Some(u) = store.serial_use(r, direction, country, s)? {
                    used_serials.insert(s.clone(), u);
                }
            }
        }
        // A return brings back serials that left: their exits, recorded
        // in the exporting country (the only exits the route counts).
        let mut exited_serials = std::collections::BTreeSet::new();
        if direction == tally_model::Direction::Return
            && let License::Export(e) = &license.document
        {
            let exit = tally_model::Direction::Exit;
            for s in d.items.iter().flat_map(|i| &i.serials) {
                if store
                    .serial_use(r, exit, &e.exporting_country, s)?
                    .is_some()
                {
                    exited_serials.insert(s.clone());
                }
            }
        }
        Ok(Some(Facts {
            exited_serials,
            accepted_shipments: store.accepted_shipments(&license, direction, country)?,
            tallies: store.tallies(&license)?,
            license,
            signature,
            import_certificate,
            transits,
            used_serials,
        }))
    }

    fn signature_fact(
        &self,
        store: &Snapshot,
        l: &LicenseState,
    ) -> Result<Result<String, String>, tally_store::StoreError> {
        let key: Option<[u8; 32]> = hex::decode(&l.signed_by)
            .ok()
            .and_then(|b| b.try_into().ok());
        let short = l.signed_by.get(..16).unwrap_or(&l.signed_by);
        let trusted = match key {
            Some(k) => {
                let signer = crate::keys::Signer {
                    authority: &l.authority,
                    key_id: &k,
                    at_ms: l.issued_at_ms,
                    seq: l.entry.seq,
                };
                self.trusted_signer(&signer, || store.rotated_keys(&l.authority), &[])?
                    .is_some()
            }
            None => false,
        };
        if trusted && let Some(why) = self.sealed_to_compromised(store, l)? {
            return Ok(Err(why));
        }
        Ok(match key {
            Some(_) if trusted => Ok(format!(
                "signed by key {short}… trusted for {} at issue time",
                l.authority
            )),
            _ => Err(format!(
                "key {short}… is not trusted for {} at issue time",
                l.authority
            )),
        })
    }

    /// docs/API.md (`tally trust revoke-key`): a document sealed to an
    /// encryption key declared compromised after seq N of its authority's
    /// log, in an entry issued after that authority's entry N, is not
    /// trusted (whoever holds the stolen secret read it, and could have
    /// acted on it). Judged when the license is read, against the entries
    /// held then, so the answer does not depend on which log arrived first;
    /// while entry N is not held here the document is not trusted either.
    fn sealed_to_compromised(
        &self,
        store: &Snapshot,
        l: &LicenseState,
    ) -> Result<Option<String>, tally_store::StoreError> {
        if l.sealed_to.is_empty() {
            return Ok(None);
        }
        let compromised: Vec<(AuthorityId, String, u64)> = {
            let trust = self.inner.trust.read().unwrap_or_else(|p| p.into_inner());
            l.sealed_to
                .iter()
                .filter_map(|r| {
                    trust
                        .encryption_compromise(&r.authority, &r.encryption_key)
                        .map(|n| (r.authority.clone(), r.encryption_key.clone(), n))
                })
                .collect()
        };
        // The current version was sealed when it was issued or last amended.
        let sealed_at = l
            .history
            .iter()
            .rev()
            .find(|e| e.event == "amended")
            .map_or(l.issued_at_ms, |e| e.at_ms);
        for (authority, key, n) in compromised {
            let cutoff = match n {
                0 => Some(i64::MIN),
                n => store
                    .entry_at(&authority, n)?
                    .and_then(|s| s.open().ok())
                    .map(|e| e.issued_at_ms),
            };
            if cutoff.is_some_and(|t| sealed_at <= t) {
                continue;
            }
            return Ok(Some(format!(
                "sealed to {authority}'s encryption key {}… declared compromised after its seq {n}: not trusted",
                key.get(..16).unwrap_or(&key)
            )));
        }
        Ok(None)
    }
}

/// A check decided: the facts and verdict, the record when one was
/// written, and the snapshot the facts were read from (what the answer
/// shows besides comes from it too).
struct Decided {
    facts: Option<Facts>,
    verdict: Verdict,
    record: Option<EntryPointer>,
    record_bytes: u64,
    snapshot: Snapshot,
    trial: Option<crate::Trial>,
}

/// Why the license `r` is held here but does not open (a sealed document
/// whose secret was lost), if that is why it reads as unknown.
fn unreadable(store: &Snapshot, r: &DocumentRef) -> Option<String> {
    let authority = r.authority.parse::<AuthorityId>().ok()?;
    match store.license_checked(&authority, &r.number) {
        Err(tally_store::StoreError::Unreadable { reason, .. }) => Some(reason),
        _ => None,
    }
}

/// A declaration's size and quantities within what a check takes: bounded
/// lines and serials, quantities within the licensable maximum, each line
/// once, no more serials on a line than its quantity.
fn within_bounds(req: &CheckRequest) -> Result<(), IssueError> {
    if req.items.len() > MAX_DECLARED_LINES || req.declared_serials() > MAX_DECLARED_SERIALS {
        return Err(IssueError::BadRequest(
            "too many declared lines or serials".into(),
        ));
    }
    if req
        .items
        .iter()
        .any(|i| i.quantity > tally_model::validate::MAX_QUANTITY)
    {
        return Err(IssueError::BadRequest(format!(
            "a declared quantity is above {}",
            tally_model::validate::MAX_QUANTITY
        )));
    }
    distinct_lines(&req.items)?;
    if let Some(line) = req
        .items
        .iter()
        .find(|i| i.serials.len() as u64 > i.quantity)
    {
        return Err(IssueError::InvalidDocument(format!(
            "line {}: {} serials declared for a quantity of {}",
            line.line,
            line.serials.len(),
            line.quantity
        )));
    }
    Ok(())
}
