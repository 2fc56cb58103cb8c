//! [`Issuer`]: documents of this node's own authority: issue, amend, change
//! status, rotate keys; and the signing step a shipment record shares.
//!
//! Each operation runs the same lifecycle rule every reader runs
//! (`tally_model::lifecycle`), signs the next entry of the local log, appends
//! it in one store transaction, and only then publishes it. A refusal writes
//! nothing.

use crate::sealing::{Plan, plan};
use crate::{IssueError, Verifier};
use std::collections::BTreeMap;
use tally_model::Attribution;
use tally_model::lifecycle::{self, Prior, Refusal, Standing};
use tally_model::linkage::allocation;
use tally_model::seal::Header;
use tally_model::{
    AuthorityId, Body, Document, DocumentRef, Entry, ExportLicense, License, Status, StatusChange,
    VerifiedEntry,
};
use tally_store::Tx;
use tally_store::state::{EntryPointer, LicenseState};

/// What an issuing operation wrote.
#[derive(Debug, Clone)]
pub struct Issued {
    pub entry: EntryPointer,
    pub signed: tally_model::SignedEntry,
    /// Who can read it: the issuer, then every recipient it was sealed to;
    /// empty when it was published in clear to every trusted node.
    pub recipients: Vec<AuthorityId>,
    /// For the issuer: party countries no one can read it in.
    pub warnings: Vec<String>,
}

/// What a dry run of an issuing operation found (docs/API.md, "Dry runs"):
/// every rule the real call runs passed; nothing was signed or written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trial {
    /// Who could read it: as [`Issued::recipients`].
    pub recipients: Vec<AuthorityId>,
    /// Party countries where no trusted authority could read it.
    pub unreached: Vec<String>,
    /// As [`Issued::warnings`].
    pub warnings: Vec<String>,
}

impl Trial {
    /// Who a document carried as `plan` says reaches: nobody listed when it
    /// travels in clear.
    fn of(plan: Option<&Plan>, issuer: &AuthorityId) -> Trial {
        match plan {
            Some(plan) => Trial {
                recipients: plan.readers(issuer),
                unreached: plan.unreached.iter().map(|c| c.to_string()).collect(),
                warnings: plan.warnings(),
            },
            None => Trial::default(),
        }
    }
}

/// What the officer issuing an export license is told of other States'
/// denials of its buyers: the `denial.match` alerts that applying it just
/// raised (issuing anyway is allowed and recorded; the consultation is
/// between States).
fn denial_warnings(tx: &Tx, export: &DocumentRef) -> Result<Vec<String>, IssueError> {
    Ok(tx
        .alerts_about(tally_model::AlertKind::DenialMatch, export)?
        .into_iter()
        .map(|a| format!("denial.match: {}", a.detail))
        .collect())
}

/// Who may read a new document (docs/API.md "Who reads what").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Sealed to the authorities of its party countries (the default).
    #[default]
    Parties,
    /// In clear to every trusted node.
    Network,
}

impl Visibility {
    /// What a document travels as when the request does not say: a denial
    /// to every trusted State (telling partners is what it is for),
    /// everything else sealed to its parties.
    pub fn default_for(license: &License) -> Visibility {
        match license {
            License::Denial(_) => Visibility::Network,
            _ => Visibility::Parties,
        }
    }
}

/// How a document is carried, and to whom.
struct Carriage {
    sealed: Option<Plan>,
}

/// The document `r` names, when this node holds (and can read) it.
/// An export license that still stands (not revoked), from a license state.
pub(crate) fn live_export(state: LicenseState) -> Option<ExportLicense> {
    match (state.document, state.status != Status::Revoked) {
        (License::Export(d), true) => Some(d),
        _ => None,
    }
}

pub(crate) fn held(tx: &Tx, r: &DocumentRef) -> Result<Option<LicenseState>, IssueError> {
    Ok(tx.license_by_ref(r)?)
}

impl From<Refusal> for IssueError {
    fn from(r: Refusal) -> IssueError {
        match r {
            Refusal::NumberUsed(_) | Refusal::Revoked(_) | Refusal::KeyAnnounced(_) => {
                IssueError::Conflict(r.to_string())
            }
            Refusal::Unknown(_) => IssueError::NotFound,
            Refusal::Document(e) => IssueError::InvalidDocument(e.0),
            Refusal::Amendment(e) => IssueError::InvalidAmendment(e.0),
        }
    }
}

/// Documents of this node's own authority (docs/API.md `POST /v1/licenses`,
/// amendments, status changes, key rotations): each validated, signed,
/// appended in one transaction and then published. Handed out by
/// [`Verifier::issuer`].
pub struct Issuer {
    v: Verifier,
}

impl Verifier {
    /// The Issuer door (see [Issuer]).
    pub fn issuer(&self) -> Issuer {
        Issuer { v: self.clone() }
    }
}

impl Issuer {
    /// The verifier behind this door.
    pub(crate) fn verifier(&self) -> &Verifier {
        &self.v
    }

    /// Issues an export license, import certificate or transit authorization,
    /// sealed to its parties.
    pub fn issue(&self, license: License) -> Result<Issued, IssueError> {
        let visibility = Visibility::default_for(&license);
        self.issue_as(license, visibility)
    }

    /// [`crate::Issuer::issue`] with the visibility asked for.
    pub fn issue_as(&self, license: License, visibility: Visibility) -> Result<Issued, IssueError> {
        let _w = self.v.lock();
        self.v
            .sign_and_publish(Document::License(license), Some(visibility))
    }

    /// [`Issuer::issue_as`] as a dry run: every rule, nothing signed.
    pub fn try_issue_as(
        &self,
        license: License,
        visibility: Visibility,
    ) -> Result<Trial, IssueError> {
        let _w = self.v.lock();
        self.v.trial(Document::License(license), Some(visibility))
    }

    /// Amends one of the node's own documents (Model Regulations limits).
    pub fn amend(
        &self,
        authority: &str,
        number: &str,
        new: License,
    ) -> Result<(u32, Issued), IssueError> {
        let _w = self.v.lock();
        let (version, document) = self.amendment(authority, number, new)?;
        Ok((version, self.v.sign_and_publish(document, None)?))
    }

    /// [`Issuer::amend`] as a dry run: every rule, nothing signed.
    pub fn try_amend(
        &self,
        authority: &str,
        number: &str,
        new: License,
    ) -> Result<(u32, Trial), IssueError> {
        let _w = self.v.lock();
        let (version, document) = self.amendment(authority, number, new)?;
        Ok((version, self.v.trial(document, None)?))
    }

    /// The amendment of `number` to `new`, with its version, once the rules
    /// only the issuing office decides passed. The caller holds the lock.
    fn amendment(
        &self,
        authority: &str,
        number: &str,
        new: License,
    ) -> Result<(u32, Document), IssueError> {
        self.v.may_sign()?;
        let state = self.v.own_license(authority, number)?;
        if new.number() != number || new.kind() != state.kind {
            return Err(IssueError::InvalidAmendment(
                "an amendment keeps the document's kind and number".into(),
            ));
        }
        // Only within validity: a rule of the issuing office's clock, so it
        // is decided here and not by readers.
        let today = self.v.today();
        let until: Option<tally_model::Date> = state.document.validity().1.parse().ok();
        if state.status != Status::Revoked && until.is_some_and(|u| today > u) {
            return Err(IssueError::InvalidAmendment(
                "a document can only be amended within its validity".into(),
            ));
        }
        self.v.amendment_floor(&state, &new)?;
        let version = state.version + 1;
        Ok((
            version,
            Document::Amendment {
                version,
                license: new,
            },
        ))
    }

    /// Suspends, revokes or reinstates one of the node's own documents.
    pub fn set_status(
        &self,
        authority: &str,
        number: &str,
        status: Status,
        reason: String,
    ) -> Result<Issued, IssueError> {
        self.set_status_as(authority, number, status, reason, Attribution::default())
    }

    /// [`Issuer::set_status`] naming who prepared and who signed it.
    pub fn set_status_as(
        &self,
        authority: &str,
        number: &str,
        status: Status,
        reason: String,
        people: Attribution,
    ) -> Result<Issued, IssueError> {
        let _w = self.v.lock();
        let change = self.status_change(authority, number, status, reason, people)?;
        self.v.sign_and_publish(change, None)
    }

    /// [`Issuer::set_status_as`] as a dry run: every rule, nothing signed.
    pub fn try_set_status(
        &self,
        authority: &str,
        number: &str,
        status: Status,
        reason: String,
        people: Attribution,
    ) -> Result<Trial, IssueError> {
        let _w = self.v.lock();
        let change = self.status_change(authority, number, status, reason, people)?;
        self.v.trial(change, None)
    }

    fn status_change(
        &self,
        authority: &str,
        number: &str,
        status: Status,
        reason: String,
        people: Attribution,
    ) -> Result<Document, IssueError> {
        self.v.may_sign()?;
        self.v.own_license(authority, number)?;
        let change = StatusChange {
            number: number.to_string(),
            status,
            reason,
            effective_at_ms: self.v.now_ms(),
            prepared_by: people.prepared_by,
            signatory: people.signatory,
        };
        Ok(Document::StatusChange(change))
    }

    /// Announces `secret`'s public key as this authority's encryption key (a
    /// network-visible entry), then seals with it and is sealed to it; the
    /// older secrets stay to open what was sealed to them. The caller keeps
    /// `secret` durably (the node writes its key file) before calling.
    pub fn rotate_encryption_key(
        &self,
        secret: tally_model::EncryptionSecret,
    ) -> Result<Issued, IssueError> {
        let _w = self.v.lock();
        let sealing = self
            .v
            .sealing()
            .ok_or_else(|| IssueError::BadRequest("this node has no encryption keys".into()))?
            .clone();
        let public = secret.public();
        if sealing.publics().contains(&public) {
            return Err(IssueError::BadRequest(
                "the new encryption key is already this node's".into(),
            ));
        }
        let valid_from_ms = self.v.now_ms();
        let issued = self.v.sign_and_publish(
            Document::EncryptionKey(tally_model::EncryptionKey {
                public_key: *public.as_bytes(),
                valid_from_ms,
            }),
            None,
        )?;
        sealing.add_newest(secret, valid_from_ms);
        Ok(issued)
    }

    /// Announces `public` as this authority's paper key (the key of the
    /// seals printed on its documents, docs/PROTOCOL.md 14): a
    /// network-visible entry, so partners' bundles hold it before the first
    /// print. A key already announced is not announced again.
    pub fn announce_paper_key(&self, public: [u8; 32]) -> Result<Option<Issued>, IssueError> {
        let _w = self.v.lock();
        let own = &self.v.inner.authority;
        let hex = hex::encode(public);
        let announced = self.v.reader()?.paper_keys(own)?;
        if announced.iter().any(|k| k.public_key == hex) {
            return Ok(None);
        }
        let document = Document::PaperKey(tally_model::PaperKey {
            public_key: public,
            valid_from_ms: self.v.now_ms(),
        });
        self.v.sign_and_publish(document, None).map(Some)
    }

    /// Rotates the signing key: appends a key rotation announcing `new`'s
    /// key, signed by the current key, then signs with `new` from the next
    /// entry on (readers refuse the old key after the rotation's seq). The
    /// caller keeps `new` durably (the node writes its key file, or the key
    /// was generated in a token) before calling, so that a crash never
    /// leaves the log announcing a key nobody holds.
    pub fn rotate_signing_key(&self, new: impl crate::IntoSigner) -> Result<Issued, IssueError> {
        let new = new.into_signer();
        let _w = self.v.lock();
        if new.public_key() == self.v.own_public() {
            return Err(IssueError::BadRequest(
                "the new signing key is the current one".into(),
            ));
        }
        let document = Document::KeyRotation(tally_model::KeyRotation {
            new_key: hex::encode(new.public_key()),
            valid_from_ms: self.v.now_ms(),
        });
        let (v, _, _) = self
            .v
            .inner
            .store
            .transaction(|tx| self.v.append_own(tx, document))?;
        *self
            .v
            .inner
            .key
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = new;
        self.v.inner.publish.entry(v.signed());
        Ok(Issued {
            entry: EntryPointer {
                seq: v.entry().seq,
                hash: v.id(),
            },
            signed: v.signed().clone(),
            recipients: Vec::new(),
            warnings: Vec::new(),
        })
    }
}

impl Verifier {
    /// Checks `document` against the lifecycle, signs it as the next entry
    /// of the local log and appends it inside `tx`. The caller holds the
    /// write lock and publishes once `tx` has committed.
    pub(crate) fn append_own(
        &self,
        tx: &mut Tx,
        document: Document,
    ) -> Result<(VerifiedEntry, Vec<AuthorityId>, Vec<String>), IssueError> {
        self.append_own_as(tx, document, None)
    }

    /// Whether (and to whom) `document` is sealed: a new license as asked
    /// (`visibility`); everything about a license as that license was
    /// (its amendments, status changes, shipment records); key announcements
    /// always in clear.
    fn carriage(
        &self,
        tx: &Tx,
        document: &Document,
        visibility: Option<Visibility>,
    ) -> Result<Carriage, IssueError> {
        let clear = Carriage { sealed: None };
        if self.sealing().is_none() {
            return Ok(clear);
        }
        let concerned: Option<DocumentRef> = match document {
            Document::License(License::Transit(t)) => Some(t.export_license.clone()),
            Document::License(License::Delivery(d)) => Some(d.export_license.clone()),
            Document::License(_)
            | Document::KeyRotation(_)
            | Document::EncryptionKey(_)
            | Document::PaperKey(_) => None,
            Document::Amendment { license, .. } => Some(DocumentRef {
                authority: self.inner.authority.to_string(),
                number: license.number().to_string(),
            }),
            Document::StatusChange(c) => Some(DocumentRef {
                authority: self.inner.authority.to_string(),
                number: c.number.clone(),
            }),
            Document::Shipment(r) => Some(r.license.clone()),
        };
        let license = match &concerned {
            Some(r) => held(tx, r)?,
            None => None,
        };
        let sealed = match (document, visibility) {
            (Document::KeyRotation(_) | Document::EncryptionKey(_) | Document::PaperKey(_), _) => {
                false
            }
            (Document::License(_), Some(v)) => v == Visibility::Parties,
            // A transit authorization follows the license it covers.
            (Document::License(License::Transit(_)), None) | (_, None) => match &license {
                Some(l) => self.carried_sealed(tx, l)?,
                None => true,
            },
            (_, Some(v)) => v == Visibility::Parties,
        };
        if !sealed {
            return Ok(clear);
        }
        let trust = self.trust();
        let license_doc = license.as_ref().map(|l| &l.document);
        let announced = |a: &AuthorityId, limit: usize| {
            tx.issuer_announcements(a, None, limit).unwrap_or_default()
        };
        Ok(Carriage {
            sealed: plan(
                &self.inner.authority,
                document,
                license_doc,
                &trust,
                &announced,
            ),
        })
    }

    /// Whether the entry that issued `l` was sealed.
    fn carried_sealed(&self, tx: &Tx, l: &LicenseState) -> Result<bool, IssueError> {
        Ok(tx
            .entry_at(&l.authority, l.entry.seq)?
            .and_then(|s| s.open().ok())
            .is_some_and(|e| matches!(e.body, Body::Sealed(_))))
    }

    /// [`Verifier::append_own`] for a new license with the visibility asked.
    fn append_own_as(
        &self,
        tx: &mut Tx,
        document: Document,
        visibility: Option<Visibility>,
    ) -> Result<(VerifiedEntry, Vec<AuthorityId>, Vec<String>), IssueError> {
        let export = match &document {
            Document::License(License::Export(e)) => Some(DocumentRef {
                authority: self.inner.authority.to_string(),
                number: e.number.clone(),
            }),
            _ => None,
        };
        let (mut entry, carriage) = self.prepare_own(tx, document, visibility)?;
        let payload = self.seal_own(&mut entry, &carriage)?;
        let v: VerifiedEntry = self.sign_own(&entry)?;
        fits(&v)?;
        // What it sealed is applied as sealed, not opened again.
        let opening = self.applier().own_opening(tx, v.entry(), payload)?;
        tx.append(&v, opening)?;
        let mut reach = Trial::of(carriage.sealed.as_ref(), &self.inner.authority);
        if let Some(export) = export {
            reach.warnings.extend(denial_warnings(tx, &export)?);
        }
        Ok((v, reach.recipients, reach.warnings))
    }

    /// Runs every rule [`Verifier::append_own_as`] runs on `document`,
    /// sealing and the size of the signed entry included, and signs nothing
    /// with this authority's key. The caller holds the write lock.
    pub(crate) fn trial(
        &self,
        document: Document,
        visibility: Option<Visibility>,
    ) -> Result<Trial, IssueError> {
        self.inner.store.transaction(|tx| {
            let denied = match &document {
                Document::License(License::Export(e)) => {
                    tx.denial_warnings(e, tally_model::Date::from_unix_ms(self.now_ms()))?
                }
                _ => Vec::new(),
            };
            let (mut entry, carriage) = self.prepare_own(tx, document, visibility)?;
            self.seal_own(&mut entry, &carriage)?;
            // The size rule is on the signed bytes: signed here with a key
            // of no authority's (same sizes), never with this one's, which
            // may sit in a token.
            let stand_in = tally_model::signer::FileSigner::new(
                &tally_model::AuthorityKey::from_bytes(&[0x5a; 32]),
            );
            let signed =
                tally_model::signer::sign_entry(&stand_in, &entry).map_err(IssueError::Signer)?;
            fits(&signed)?;
            let mut trial = Trial::of(carriage.sealed.as_ref(), &self.inner.authority);
            trial.warnings.extend(denied);
            Ok(trial)
        })
    }

    /// The rules of a new own document (the lifecycle, linkage) and the
    /// unsigned entry that would carry it, with how it travels.
    fn prepare_own(
        &self,
        tx: &mut Tx,
        document: Document,
        visibility: Option<Visibility>,
    ) -> Result<(Entry, Carriage), IssueError> {
        self.may_sign()?;
        let own = &self.inner.authority;
        // The own log's entries that gossip brought back during recovery
        // and that are not applied yet go first (entries apply in seq order).
        self.applier().apply_behind(tx, own)?;
        let current = match lifecycle::subject(&document) {
            Some(number) => tx.license(own, number)?,
            None => None,
        };
        let prior = match &current {
            Some(s) => Prior::Standing(Standing {
                kind: s.kind,
                status: s.status,
                version: s.version,
                document: &s.document,
            }),
            None => tx.announcement_prior(own, &document)?,
        };
        lifecycle::transition(prior, &document, own.country())?;
        if let Document::License(license) = &document {
            self.linkage(tx, license)?;
        }
        let head = tx.head(own)?;
        // Never stamp an entry earlier than the previous one, even if the
        // clock stepped back: readers refuse a log whose time goes backwards.
        let previous_at = match head {
            Some((seq, _)) => tx
                .entry_at(own, seq)?
                .and_then(|s| s.open().ok())
                .map(|e| e.issued_at_ms),
            None => None,
        };
        let carriage = self.carriage(tx, &document, visibility)?;
        let entry = Entry {
            authority: own.clone(),
            seq: head.map_or(1, |(s, _)| s + 1),
            prev: head.map(|(_, h)| h),
            issued_at_ms: self.now_ms().max(previous_at.unwrap_or(i64::MIN)),
            recipients: vec![],
            body: Body::Document(document),
        };
        Ok((entry, carriage))
    }

    /// Seals `entry`'s document when `carriage` says so; returns what was
    /// sealed (with the key it was sealed with listed first).
    fn seal_own(
        &self,
        entry: &mut Entry,
        carriage: &Carriage,
    ) -> Result<Option<tally_model::SealedPayload>, IssueError> {
        let (Some(plan), Some(sealing), Body::Document(document)) =
            (&carriage.sealed, self.sealing(), &entry.body)
        else {
            return Ok(None);
        };
        let (sealed, payload) = sealing
            .seal(Header::of(entry), document, plan)
            .map_err(|e| IssueError::InvalidDocument(format!("cannot seal: {e}")))?;
        entry.body = Body::Sealed(sealed);
        Ok(Some(payload))
    }

    /// Signs `entry` with the current signer. A token that is away answers
    /// 503 `unavailable` naming it (nothing is appended; reads and checks go
    /// on, and the signer reconnects by itself, docs/OPERATIONS.md); any
    /// other signer failure is the node's fault (500, logged).
    fn sign_own(&self, entry: &Entry) -> Result<VerifiedEntry, IssueError> {
        let signed = tally_model::signer::sign_entry(&*self.signer(), entry);
        self.note_signer(signed.as_ref().err());
        signed.map_err(|e| {
            if e.is_unavailable() {
                tracing::warn!(error = %e, "issuing refused: the signing token is away");
                IssueError::Unavailable(format!(
                    "{e}; nothing was written; the node signs again once the token answers"
                ))
            } else {
                IssueError::Signer(e)
            }
        })
    }

    /// Appends `document` in its own transaction, then publishes it. The
    /// caller holds the write lock.
    fn sign_and_publish(
        &self,
        document: Document,
        visibility: Option<Visibility>,
    ) -> Result<Issued, IssueError> {
        let (v, recipients, warnings) = self
            .inner
            .store
            .transaction(|tx| self.append_own_as(tx, document, visibility))?;
        self.inner.publish.entry(v.signed());
        Ok(Issued {
            entry: EntryPointer {
                seq: v.entry().seq,
                hash: v.id(),
            },
            signed: v.signed().clone(),
            recipients,
            warnings,
        })
    }

    fn own_license(&self, authority: &str, number: &str) -> Result<LicenseState, IssueError> {
        if authority != self.inner.authority.as_str() {
            return Err(IssueError::Forbidden(format!(
                "{authority}'s documents can only be changed by {authority}"
            )));
        }
        self.inner
            .store
            .license(&self.inner.authority, number)?
            .ok_or(IssueError::NotFound)
    }

    /// Quantities never drop below what is used: recorded crossings that
    /// count (per line, the most in one direction and country) and, for an
    /// import certificate, what the non-revoked export licenses citing it
    /// take. A refusal is 422 `invalid_amendment` naming the reason.
    fn amendment_floor(&self, state: &LicenseState, new: &License) -> Result<(), IssueError> {
        let store = &self.inner.store;
        let mut recorded: BTreeMap<u32, u64> = BTreeMap::new();
        for t in store.tallies(state)? {
            let r = recorded.entry(t.line).or_default();
            *r = (*r).max(t.quantity);
        }
        let allocated = match new {
            License::Import(cert) => {
                let citing: Vec<ExportLicense> =
                    tally_store::LicenseReads::citing_licenses(store, &state.reference())?
                        .into_iter()
                        .filter_map(live_export)
                        .collect();
                allocation(cert, &citing)
            }
            _ => Vec::new(),
        };
        tally_model::linkage::amendment_floor(new, &recorded, &allocated)
            .map_err(IssueError::InvalidAmendment)
    }
}

/// Peers refuse an entry larger than [`tally_model::MAX_ENTRY_BYTES`]:
/// refused here rather than signed and never able to leave this node.
fn fits(v: &VerifiedEntry) -> Result<(), IssueError> {
    if v.signed().encode().len() > tally_model::MAX_ENTRY_BYTES {
        return Err(IssueError::InvalidDocument(format!(
            "the signed document would exceed {} bytes; split it into several documents",
            tally_model::MAX_ENTRY_BYTES
        )));
    }
    Ok(())
}
