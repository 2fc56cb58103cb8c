//! Entries past a key's declared compromise point (`tally trust revoke-key`):
//! they stay in the log (the chain is what nodes agree on) but derive
//! nothing, and each raises a `key.compromised` alert.
//!
//! An entry is covered when its authority has a declaration (key K, after
//! seq N), its seq is past N, and it is signed by K or by a key that a
//! covered rotation announced (such a rotation is recorded as compromised,
//! so its key is never trusted either).

use crate::codec::encode_head;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::state::{Alert, EntryPointer, RotatedKey};
use crate::tx::Tx;
use tally_model::{AlertKind, AuthorityId, Body, Document, Entry, SignedEntry, alert_id};

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

/// Whether the held `signed` is covered by a compromise.
fn held_covered(tx: &Tx, signed: &SignedEntry) -> Result<bool> {
    let entry = signed.open().map_err(|e| StoreError::Corrupt {
        key: format!("held entry {}", signed.id()),
        reason: e.to_string(),
    })?;
    Ok(covered(tx, &entry, signed.key_id())?.is_some())
}

/// Makes room for `authority`'s genuine continuation at `seq` when the
/// entry held there is covered by a compromise (`tally trust revoke-key`):
/// the covered run of entries that ends at or after `seq`, from its first
/// (N+1, the first entry past the declared seq) to the head, leaves the log
/// for the `Q` keyspace, where it stays as evidence (its `key.compromised`
/// alerts stay raised); the head and the applied mark step back before it.
/// Those entries never counted, so the derived state is unchanged. Returns
/// the first displaced seq, or `None` when the entry at `seq` is missing or
/// not covered (then a different entry there is a fork as ever).
pub(crate) fn displace_tail(tx: &mut Tx, authority: &AuthorityId, seq: u64) -> Result<Option<u64>> {
    let Some((head, _)) = tx.head(authority)? else {
        return Ok(None);
    };
    if seq > head {
        return Ok(None);
    }
    let Some(held) = tx.entry_at(authority, seq)? else {
        return Ok(None);
    };
    if !held_covered(tx, &held)? {
        return Ok(None);
    }
    // Back to the first entry of the covered run.
    let mut from = seq;
    while from > 1 {
        let Some(before) = tx.entry_at(authority, from - 1)? else {
            break;
        };
        if !held_covered(tx, &before)? {
            break;
        }
        from -= 1;
    }
    let a = authority.as_str();
    for s in from..=head {
        let Some(signed) = tx.entry_at(authority, s)? else {
            return Err(StoreError::Corrupt {
                key: format!("{a}/{s}"),
                reason: "a seq below the head is missing".into(),
            });
        };
        let id = signed.id();
        tx.put_raw(keys::displaced(a, s, &id), signed.encode());
        raise_displaced(tx, &signed)?;
        tx.delete(keys::log(a, s));
        tx.delete(keys::hash(&id));
    }
    match from.checked_sub(1).filter(|s| *s > 0) {
        Some(last) => {
            let kept = tx
                .entry_at(authority, last)?
                .ok_or_else(|| StoreError::Corrupt {
                    key: format!("{a}/{last}"),
                    reason: "a seq below the head is missing".into(),
                })?;
            tx.put_raw(keys::head(a), encode_head(last, &kept.id()));
        }
        None => tx.delete(keys::head(a)),
    }
    let applied = crate::view::applied_through(tx, a)?;
    if applied >= from {
        tx.put_raw(keys::applied(a), (from - 1).to_be_bytes().to_vec());
    }
    Ok(Some(from))
}

/// The `key.compromised` alert of a displaced entry, as the displacement
/// raises it and as a reindex (which rebuilds alerts from the log, where
/// the entry no longer is) raises it again.
pub(crate) fn raise_displaced(tx: &mut Tx, signed: &SignedEntry) -> Result<()> {
    let entry = signed.open().map_err(|e| StoreError::Corrupt {
        key: format!("displaced entry {}", signed.id()),
        reason: e.to_string(),
    })?;
    tx.raise(&Alert {
        id: alert_id(AlertKind::KeyCompromised, None, &entry.authority, entry.seq),
        kind: AlertKind::KeyCompromised,
        license: None,
        raised_at_ms: entry.issued_at_ms,
        detail: format!(
            "{} seq {}: signed by key {}… past a declared compromise; replaced in the log by \
             the authority's genuine entry, kept as evidence",
            entry.authority,
            entry.seq,
            &hex::encode(signed.key_id())[..16]
        ),
        open: true,
    });
    Ok(())
}

impl Tx<'_> {
    /// When the entry held at `seq` of `authority`'s log is past a declared
    /// key compromise, moves that compromised tail out of the log (kept as
    /// evidence) so the authority's genuine entry can take its place;
    /// returns the first seq moved. See `compromise::displace_tail`.
    pub fn displace_compromised_tail(
        &mut self,
        authority: &AuthorityId,
        seq: u64,
    ) -> Result<Option<u64>> {
        crate::compromise::displace_tail(self, authority, seq)
    }
}
