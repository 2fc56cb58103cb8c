//! Whether this authority already issued a document: what `POST
//! /v1/licenses?if_exists=skip` decides (docs/API.md), so that `tally
//! import` run twice over the same records issues nothing twice.
//!
//! A document counts as already issued when this authority's log holds one
//! with that number and the content it was first issued with (its
//! amendments aside) is the one offered. Another content under the same
//! number is a conflict, never an amendment.

use crate::{IssueError, Issuer};
use tally_model::{Body, Document, License};
use tally_store::Opening;
use tally_store::state::{EntryPointer, LicenseState};

/// What this authority's log holds under a document's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: issue it.
    None,
    /// The same content, first issued by the entry given.
    Same(EntryPointer),
    /// Another content, or one this node can no longer read to compare.
    Different(String),
}

impl Issuer {
    /// What this authority's log holds under `license`'s number.
    pub fn existing(&self, license: &License) -> Result<Existing, IssueError> {
        let v = self.verifier();
        let reader = v.reader()?;
        let Some(state) = reader.license(v.authority(), license.number())? else {
            return Ok(Existing::None);
        };
        let Some(issued) = state.history.first().map(|e| e.entry) else {
            return Ok(Existing::Different(
                "its issue is not in the license's history".into(),
            ));
        };
        Ok(match self.first_version(&reader, &state, issued.seq) {
            // Who prepared or signed it is not its content: an import run
            // again by another officer skips what the first run issued.
            Some(first) if first.without_attribution() == license.without_attribution() => {
                Existing::Same(issued)
            }
            Some(_) => Existing::Different(format!(
                "{} was issued with other content (version {} now)",
                license.number(),
                state.version
            )),
            None => Existing::Different(format!(
                "{} was issued, and its first version no longer opens here to compare",
                license.number()
            )),
        })
    }

    /// The document as first issued: the current one when never amended,
    /// else the issue entry's (opened again when sealed).
    fn first_version(
        &self,
        reader: &crate::Reader,
        state: &LicenseState,
        seq: u64,
    ) -> Option<License> {
        if state.version == 1 {
            return Some(state.document.clone());
        }
        let v = self.verifier();
        let signed = reader.entry_at(v.authority(), seq).ok()??;
        let entry = signed.open().ok()?;
        let document = match &entry.body {
            Body::Document(d) => d.clone(),
            Body::Sealed(_) => match v.applier().opener.as_ref()?.open(&entry, &[]) {
                Opening::Document { document, .. } => *document,
                _ => return None,
            },
            Body::Unknown(_) => return None,
        };
        match document {
            Document::License(l) => Some(l),
            _ => None,
        }
    }
}
