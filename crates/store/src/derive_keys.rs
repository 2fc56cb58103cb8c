//! The keys an authority announces in its own log, derived when the
//! announcing entry applies: signing key rotations (`Y`), encryption keys
//! (`Z`, by time `N` and by key `U`) and paper keys (`I`).

use crate::error::Result;
use crate::keys;
use crate::state::{AnnouncedKey, EntryPointer, RotatedKey};
use crate::tx::Tx;
use tally_model::{Document, Entry};

/// Writes the rows of `doc` when it announces a key; nothing otherwise.
pub(crate) fn announced(
    tx: &mut Tx,
    entry: &Entry,
    pointer: EntryPointer,
    key_id: &[u8; 32],
    doc: &Document,
) -> Result<()> {
    let authority = entry.authority.as_str();
    match doc {
        Document::KeyRotation(rotation) => {
            let key = RotatedKey {
                public_key: rotation.new_key.clone(),
                valid_from_ms: rotation.valid_from_ms,
                entry: pointer,
                signed_by: hex::encode(key_id),
                compromised: false,
            };
            tx.put_json(keys::rotated(authority, entry.seq), &key);
            Ok(())
        }
        Document::EncryptionKey(announced) => {
            let key = AnnouncedKey {
                public_key: hex::encode(announced.public_key),
                valid_from_ms: announced.valid_from_ms,
                entry: pointer,
            };
            tx.put_json(keys::announced(authority, entry.seq), &key);
            tx.put_json(
                keys::announced_by_time(authority, key.valid_from_ms, entry.seq),
                &key,
            );
            tx.put_json(keys::announced_by_key(authority, &key.public_key), &key);
            crate::doubts::key_announced(tx, &entry.authority, &key.public_key)
        }
        Document::PaperKey(announced) => {
            let key = AnnouncedKey {
                public_key: hex::encode(announced.public_key),
                valid_from_ms: announced.valid_from_ms,
                entry: pointer,
            };
            tx.put_json(keys::paper(authority, entry.seq), &key);
            Ok(())
        }
        _ => Ok(()),
    }
}
