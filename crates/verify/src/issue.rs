//! Documents of this node's own authority: issue, amend, change status.
//!
//! Each operation validates, signs the next entry of the local log, appends it
//! durably, and only then publishes it. A refusal writes nothing.

use crate::{IssueError, Verifier, now_ms};
use tally_model::{
    Body, Document, Entry, License, Status, StatusChange, VerifiedEntry, validate_amendment,
    validate_license,
};
use tally_store::state::{EntryPointer, LicenseState};

/// What an issuing operation wrote.
#[derive(Debug, Clone)]
pub struct Issued {
    pub entry: EntryPointer,
    pub signed: tally_model::SignedEntry,
}

impl Verifier {
    /// Signs `document` as the next entry of the local log and stores it.
    /// The caller holds the write lock.
    fn append_own(&self, document: Document) -> Result<Issued, IssueError> {
        let store = self.store();
        let head = store.head(&self.inner.authority)?;
        let entry = Entry {
            authority: self.inner.authority.clone(),
            seq: head.map_or(1, |(s, _)| s + 1),
            prev: head.map(|(_, h)| h),
            issued_at_ms: now_ms(),
            recipients: vec![],
            body: Body::Document(document),
        };
        let v: VerifiedEntry = self.inner.key.sign(&entry);
        // Peers refuse anything larger; refuse it here rather than sign an
        // entry that could never leave this node.
        if v.signed().encode().len() > tally_model::MAX_ENTRY_BYTES {
            return Err(IssueError::InvalidDocument(format!(
                "the signed document would exceed {} bytes; split it into several documents",
                tally_model::MAX_ENTRY_BYTES
            )));
        }
        store.append(&v)?;
        self.inner.publish.entry(v.signed());
        Ok(Issued {
            entry: EntryPointer {
                seq: entry.seq,
                hash: v.id(),
            },
            signed: v.signed().clone(),
        })
    }

    /// Issues an export license, import certificate or transit authorization.
    pub fn issue(&self, license: License) -> Result<Issued, IssueError> {
        validate_license(&license, self.inner.authority.country())
            .map_err(|e| IssueError::InvalidDocument(e.0))?;
        let _w = self.lock();
        if self
            .store()
            .license(&self.inner.authority, license.number())?
            .is_some()
        {
            return Err(IssueError::Conflict(format!(
                "number {} is already used by {}",
                license.number(),
                self.inner.authority
            )));
        }
        self.append_own(Document::License(license))
    }

    fn own_license(&self, authority: &str, number: &str) -> Result<LicenseState, IssueError> {
        if authority != self.inner.authority.as_str() {
            return Err(IssueError::Forbidden(format!(
                "{authority}'s documents can only be changed by {authority}"
            )));
        }
        self.store()
            .license(&self.inner.authority, number)?
            .ok_or(IssueError::NotFound)
    }

    /// Amends one of the node's own documents (Model Regulations limits).
    pub fn amend(
        &self,
        authority: &str,
        number: &str,
        new: License,
    ) -> Result<(u32, Issued), IssueError> {
        let _w = self.lock();
        let state = self.own_license(authority, number)?;
        if new.number() != number || new.kind() != state.kind {
            return Err(IssueError::InvalidAmendment(
                "an amendment keeps the document's kind and number".into(),
            ));
        }
        validate_license(&new, self.inner.authority.country())
            .map_err(|e| IssueError::InvalidDocument(e.0))?;
        if state.status == Status::Revoked {
            return Err(IssueError::Conflict(
                "a revoked license cannot be amended".into(),
            ));
        }
        let today = tally_model::Date::from_unix_ms(now_ms());
        let until: Option<tally_model::Date> = state.document.validity().1.parse().ok();
        if until.is_some_and(|u| today > u) {
            return Err(IssueError::InvalidAmendment(
                "a document can only be amended within its validity".into(),
            ));
        }
        validate_amendment(&state.document, &new).map_err(|e| IssueError::InvalidAmendment(e.0))?;
        let version = state.version + 1;
        let issued = self.append_own(Document::Amendment {
            version,
            license: new,
        })?;
        Ok((version, issued))
    }

    /// Suspends, revokes or reinstates one of the node's own documents.
    pub fn set_status(
        &self,
        authority: &str,
        number: &str,
        status: Status,
        reason: String,
    ) -> Result<Issued, IssueError> {
        let _w = self.lock();
        let state = self.own_license(authority, number)?;
        if state.status == Status::Revoked {
            return Err(IssueError::Conflict(
                "revoked is final: the license cannot change status again".into(),
            ));
        }
        if reason.len() > 1024 {
            return Err(IssueError::InvalidDocument(
                "reason is longer than 1024 bytes".into(),
            ));
        }
        self.append_own(Document::StatusChange(StatusChange {
            number: number.to_string(),
            status,
            reason,
            effective_at_ms: now_ms(),
        }))
    }

    /// Announces a new signing key, signed by the current one. The caller
    /// switches to the new key afterwards (a restart with the new key file).
    pub fn rotate_key(&self, new_public_hex: String) -> Result<Issued, IssueError> {
        let _w = self.lock();
        self.append_own(Document::KeyRotation(tally_model::KeyRotation {
            new_key: new_public_hex,
            valid_from_ms: now_ms(),
        }))
    }

    /// Appends a shipment record (used by [`Verifier::check`] with the lock held).
    pub(crate) fn append_shipment(
        &self,
        record: tally_model::ShipmentRecord,
    ) -> Result<Issued, IssueError> {
        self.append_own(Document::Shipment(record))
    }
}
