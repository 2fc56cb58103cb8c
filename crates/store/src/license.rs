//! A license as the store keeps it: its state without the document, which
//! is read back from the log entry that carries it (opened again when that
//! entry is sealed).

use crate::error::{Result, StoreError};
use crate::keys;
use crate::state::{EntryPointer, LicenseEvent, LicenseState, Reader};
use crate::view::View;
use serde::{Deserialize, Serialize};
use tally_model::{AuthorityId, Body, Document, License, LicenseKind, SignedEntry, Status};

/// A license as stored: its state without the document, which stays in the
/// log entry that carries it and is read back on demand. Each document then
/// costs its bytes on disk once, and an append writes a small record. A
/// sealed document is opened again when read (a few microseconds of
/// symmetric work with the pair keys cached), so a recipient keeps no second,
/// clear copy beside the sealed entry.
///
/// Its bytes are [`crate::record`]'s protobuf; the serde derives are the
/// JSON that stores of schema 4 and before wrote, still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredLicense {
    pub(crate) authority: AuthorityId,
    pub(crate) number: String,
    pub(crate) kind: LicenseKind,
    pub(crate) status: Status,
    pub(crate) version: u32,
    /// Seq of the issuer's entry holding the current version: the issue or
    /// the newest amendment.
    pub(crate) document_seq: u64,
    pub(crate) issued_at_ms: i64,
    pub(crate) entry: EntryPointer,
    pub(crate) signed_by: String,
    pub(crate) history: Vec<LicenseEvent>,
    /// The plaintext of a sealed current version, as stores written before
    /// recipients re-opened their entries kept it; read when present, never
    /// written now (a reindex drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sealed_document: Option<License>,
    /// Who can read the current version when it arrived sealed (its sealed
    /// recipient list, the issuer first); empty when the log holds it in
    /// clear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sealed_to: Vec<Reader>,
}

impl StoredLicense {
    /// The current version of the document.
    pub(crate) fn document(&self, view: &dyn View) -> Result<License> {
        match &self.sealed_document {
            Some(d) => Ok(d.clone()),
            None => document_at(
                view,
                self.authority.as_str(),
                self.document_seq,
                self.sealed_to.first().map(|r| r.encryption_key.as_str()),
            )
            .map_err(|e| match e {
                StoreError::Unreadable { reason, .. } => StoreError::Unreadable {
                    authority: self.authority.to_string(),
                    number: self.number.clone(),
                    reason,
                },
                e => e,
            }),
        }
    }

    /// The full state, with the document read from the log.
    pub(crate) fn load(self, view: &dyn View) -> Result<LicenseState> {
        let document = self.document(view)?;
        Ok(LicenseState {
            authority: self.authority,
            number: self.number,
            kind: self.kind,
            status: self.status,
            version: self.version,
            document,
            issued_at_ms: self.issued_at_ms,
            entry: self.entry,
            signed_by: self.signed_by,
            history: self.history,
            sealed_to: self.sealed_to,
        })
    }
}

/// The license document carried by `authority`'s entry `seq` (an issue or
/// an amendment); `issuer_key` (hex) is the issuer's encryption key it was
/// sealed with, when it was.
fn document_at(
    view: &dyn View,
    authority: &str,
    seq: u64,
    issuer_key: Option<&str>,
) -> Result<License> {
    let key = keys::log(authority, seq);
    if let Some(l) = view.applied_document(&key) {
        return Ok(l);
    }
    let bytes = view
        .get(&key)?
        .ok_or_else(|| StoreError::corrupt(&key, "license state points at a missing entry"))?;
    let entry = SignedEntry::open_stored(&bytes).map_err(|e| StoreError::corrupt(&key, e))?;
    let document = match entry.body {
        Body::Document(d) => d,
        Body::Unknown(_) => {
            return Err(StoreError::corrupt(
                &key,
                "license state points at a document this version cannot read",
            ));
        }
        Body::Sealed(_) => {
            let opened = match (view.reader(), issuer_key) {
                (Some(o), Some(k)) => o.reopen(&entry, k),
                _ => None,
            };
            // Not damage: a secret lost, or a store applied before the
            // issuer's opening key was recorded. The caller names the license.
            opened.ok_or_else(|| StoreError::Unreadable {
                authority: authority.to_string(),
                number: String::new(),
                reason: format!(
                    "its sealed entry (seq {seq}) no longer opens with this node's encryption keys"
                ),
            })?
        }
    };
    match document {
        Document::License(l) | Document::Amendment { license: l, .. } => Ok(l),
        _ => Err(StoreError::corrupt(
            &key,
            "license state points at another kind of entry",
        )),
    }
}

/// Reads a stored license with its document.
pub(crate) fn load_license(view: &dyn View, key: &[u8], bytes: &[u8]) -> Result<LicenseState> {
    StoredLicense::from_bytes(key, bytes)?.load(view)
}

/// A license read where an unreadable sealed document counts as absent.
pub(crate) fn readable(read: Result<Option<LicenseState>>) -> Result<Option<LicenseState>> {
    match read {
        Err(StoreError::Unreadable { .. }) => Ok(None),
        other => other,
    }
}

/// The license reads a transaction and the committed store share, and what
/// is built on them once for both.
pub trait LicenseReads {
    /// A license as it stands (`None`: not held, or unreadable here).
    fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>>;

    /// The export licenses (as references) citing import certificate `ic`.
    fn citing(&self, ic: &tally_model::DocumentRef) -> Result<Vec<tally_model::DocumentRef>>;

    /// The licenses citing import certificate `ic`, as they stand (those
    /// not held here left out).
    fn citing_licenses(&self, ic: &tally_model::DocumentRef) -> Result<Vec<LicenseState>> {
        let mut out = Vec::new();
        for r in self.citing(ic)? {
            let Ok(a) = r.authority.parse::<AuthorityId>() else {
                continue;
            };
            if let Some(state) = self.license(&a, &r.number)? {
                out.push(state);
            }
        }
        Ok(out)
    }
}

impl LicenseReads for crate::Tx<'_> {
    fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        crate::Tx::license(self, authority, number)
    }
    fn citing(&self, ic: &tally_model::DocumentRef) -> Result<Vec<tally_model::DocumentRef>> {
        crate::Tx::citing(self, ic)
    }
}

impl LicenseReads for crate::Store {
    fn license(&self, authority: &AuthorityId, number: &str) -> Result<Option<LicenseState>> {
        crate::Store::license(self, authority, number)
    }
    fn citing(&self, ic: &tally_model::DocumentRef) -> Result<Vec<tally_model::DocumentRef>> {
        crate::Store::citing(self, ic)
    }
}
