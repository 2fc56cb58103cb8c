//! `party.excluded` for what a readable sealed document claims about its
//! readers and this node cannot confirm (docs/PROTOCOL.md section 6): a country
//! listed as unreached although this node trusts an authority there (the
//! opener says so), or a recipient key this node has not seen on that
//! authority's card or announced in its log.
//!
//! The document still applies: these claims are not facts every reader
//! shares, so they must not change what is derived. A key claim is judged
//! again when the key's announcement arrives ([`key_announced`]), so the
//! alerts are the same whichever of the two entries came first.

use crate::error::Result;
use crate::keys;
use crate::opener::Doubt;
use crate::state::{Alert, Reader};
use crate::tx::Tx;
use serde::{Deserialize, Serialize};
use tally_model::{AlertKind, Document, DocumentRef, Entry, alert_id, lifecycle};

/// One entry's unconfirmed claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Doubts {
    alert: Alert,
    /// Claims that stay (about this node's trust list).
    fixed: Vec<String>,
    /// Recipient keys not seen yet: each is settled by its announcement.
    pending: Vec<Reader>,
}

/// Where an entry's doubts are kept, from a pending key's index row.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DoubtRef {
    authority: String,
    seq: u64,
}

/// Records `doubts` and the keys among `unconfirmed` (readers whose keys no
/// card this node trusts names, as the opener found) that no log announced
/// either, and raises one `party.excluded` alert for them.
pub(crate) fn raise(
    tx: &mut Tx,
    entry: &Entry,
    document: &Document,
    unconfirmed: Vec<Reader>,
    doubts: Vec<Doubt>,
) -> Result<()> {
    let mut pending = Vec::new();
    for r in unconfirmed {
        // Announced keys are kept in lowercase hex, one read per key.
        let announced = tx
            .announcement_of(&r.authority, &r.encryption_key.to_ascii_lowercase())?
            .is_some();
        if !announced && !pending.contains(&r) {
            pending.push(r);
        }
    }
    let fixed: Vec<String> = doubts.into_iter().map(|d| d.reason).collect();
    if fixed.is_empty() && pending.is_empty() {
        return Ok(());
    }
    let a = entry.authority.as_str();
    let license = lifecycle::subject(document).map(|number| DocumentRef {
        authority: a.to_string(),
        number: number.to_string(),
    });
    let record = Doubts {
        alert: Alert {
            id: alert_id(
                AlertKind::PartyExcluded,
                license.as_ref(),
                &entry.authority,
                entry.seq,
            ),
            kind: AlertKind::PartyExcluded,
            license,
            raised_at_ms: entry.issued_at_ms,
            detail: String::new(),
            open: true,
        },
        fixed,
        pending,
    };
    for r in &record.pending {
        tx.put_json(
            keys::doubt_ref(r.authority.as_str(), &r.encryption_key, a, entry.seq),
            &DoubtRef {
                authority: a.to_string(),
                seq: entry.seq,
            },
        );
    }
    settle(tx, a, entry.seq, record);
    Ok(())
}

/// `recipient` announced `key`: the doubts that waited for it are settled.
pub(crate) fn key_announced(
    tx: &mut Tx,
    recipient: &tally_model::AuthorityId,
    key: &str,
) -> Result<()> {
    let key = key.to_ascii_lowercase();
    let rows = tx.scan_prefix(&keys::doubt_ref_prefix(recipient.as_str(), &key))?;
    for (row, value) in rows {
        tx.delete(row.clone());
        let Ok(at) = serde_json::from_slice::<DoubtRef>(&value) else {
            continue;
        };
        let Some(mut record) = tx.get_json::<Doubts>(&keys::doubts(&at.authority, at.seq))? else {
            continue;
        };
        record.pending.retain(|r| {
            !(r.authority == *recipient && r.encryption_key.eq_ignore_ascii_case(&key))
        });
        settle(tx, &at.authority, at.seq, record);
    }
    Ok(())
}

/// Writes the alert as `record` now stands, or removes it with the record
/// when nothing is left in doubt.
fn settle(tx: &mut Tx, authority: &str, seq: u64, mut record: Doubts) {
    let at = keys::doubts(authority, seq);
    if record.fixed.is_empty() && record.pending.is_empty() {
        tx.delete(keys::alert(&record.alert.id));
        tx.delete(at);
        return;
    }
    let mut claims = record.fixed.clone();
    claims.extend(record.pending.iter().map(|r| {
        format!(
            "it is sealed to key {}… of {}, which this node has not seen announced",
            r.encryption_key.get(..16).unwrap_or(&r.encryption_key),
            r.authority
        )
    }));
    record.alert.detail = format!(
        "{authority} seq {seq}: applied, but its recipient list makes claims this node cannot confirm: {}",
        claims.join("; ")
    );
    tx.raise(&record.alert);
    tx.put_json(at, &record);
}
