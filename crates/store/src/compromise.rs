//! Entries past a key's declared compromise point (`tally trust revoke-key`):
//! they stay in the log (the chain is what nodes agree on) but derive
//! nothing, and each raises a `key.compromised` alert.
//!
//! An entry is covered when its authority has a declaration (key K, after
//! seq N), its seq is past N, and it is signed by K or by a key that a
//! covered rotation announced (such a rotation is recorded as compromised,
//! so its key is never trusted either).

use crate::error::Result;
use crate::keys;
use crate::state::{Alert, EntryPointer, RotatedKey};
use crate::tx::Tx;
use tally_model::{AlertKind, Body, Document, Entry, alert_id};

/// Why `entry` (signed by `key_id`) does not count, if it does not.
fn covered(tx: &Tx, entry: &Entry, key_id: &[u8; 32]) -> Result<Option<String>> {
    let mut declared = tx
        .compromised()
        .iter()
        .filter(|d| d.authority == entry.authority && entry.seq > d.after_seq)
        .peekable();
    if declared.peek().is_none() {
        return Ok(None);
    }
    let signer = hex::encode(key_id);
    if let Some(d) = declared.find(|d| d.key_id.eq_ignore_ascii_case(&signer)) {
        return Ok(Some(format!(
            "signed by key {}… which is declared compromised after seq {}",
            &signer[..16],
            d.after_seq
        )));
    }
    let announced = tx.rotated_keys(&entry.authority)?.into_iter().find(|r| {
        r.compromised && r.entry.seq < entry.seq && r.public_key.eq_ignore_ascii_case(&signer)
    });
    Ok(announced.map(|r| {
        format!(
            "signed by key {}… which a compromised key announced at seq {}",
            &signer[..16],
            r.entry.seq
        )
    }))
}

/// True if `entry` is covered by a compromise: then it has raised its
/// alert (one per entry, id `key.compromised:-:AUTHORITY:SEQ`) and the
/// caller only moves the applied mark past it.
pub(crate) fn skip(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    key_id: &[u8; 32],
) -> Result<bool> {
    let Some(why) = covered(tx, entry, key_id)? else {
        return Ok(false);
    };
    let a = entry.authority.as_str();
    if let Body::Document(Document::KeyRotation(r)) = &entry.body {
        let key = RotatedKey {
            public_key: r.new_key.clone(),
            valid_from_ms: r.valid_from_ms,
            entry: pointer,
            signed_by: hex::encode(key_id),
            compromised: true,
        };
        tx.put_json(keys::rotated(a, entry.seq), &key);
    }
    tx.raise(&Alert {
        id: alert_id(AlertKind::KeyCompromised, None, &entry.authority, entry.seq),
        kind: AlertKind::KeyCompromised,
        license: None,
        raised_at_ms: entry.issued_at_ms,
        detail: format!("{a} seq {}: {why}: kept, not counted", entry.seq),
        open: true,
    });
    Ok(true)
}
