//! The node directory's shared text files (card, trust list): read, and
//! written atomically so a running node never reads half a file; the
//! node's own signing keys as its card lists them.

use anyhow::Context;
use std::path::Path;
use tally_model::{AuthorityId, Card, CardKey, TrustList};
use tally_verify::Reader;

/// Writes `contents` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

pub fn read_card(path: &Path) -> anyhow::Result<Card> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read card {}", path.display()))?;
    let card: Card =
        toml::from_str(&text).with_context(|| format!("{} is not a card", path.display()))?;
    card.check()?;
    Ok(card)
}

pub fn write_card(path: &Path, card: &Card) -> anyhow::Result<()> {
    let text = format!(
        "# Tally card: the public description of an authority's node.\n# Give it to the administrators of trusted nodes: `tally trust add --dir DIR card.toml`.\n{}",
        toml::to_string(card)?
    );
    write_atomic(path, text.as_bytes(), 0o644)
}

/// A missing file is an empty trust list.
pub fn read_trust(path: &Path) -> anyhow::Result<TrustList> {
    if !path.exists() {
        return Ok(TrustList::default());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let list: TrustList =
        toml::from_str(&text).with_context(|| format!("{} is not a trust list", path.display()))?;
    for c in &list.cards {
        c.check()
            .with_context(|| format!("in {}", path.display()))?;
    }
    Ok(list)
}

pub fn write_trust(path: &Path, list: &TrustList) -> anyhow::Result<()> {
    let text = format!(
        "# Trusted authorities (managed with `tally trust add|remove`).\n{}",
        toml::to_string(list)?
    );
    write_atomic(path, text.as_bytes(), 0o644)
}

/// The node's own signing keys as its card lists them: every key its log
/// retired, with the rotation's seq, then the current one.
pub fn own_card_keys(
    log: &Reader,
    authority: &AuthorityId,
    current: &str,
) -> anyhow::Result<Vec<CardKey>> {
    let mut keys = Vec::new();
    let mut from = 0;
    for r in log.rotated_keys(authority)? {
        if r.compromised || r.signed_by.is_empty() {
            continue;
        }
        keys.push(CardKey {
            retired_after_seq: Some(r.entry.seq),
            ..CardKey::new(r.signed_by.to_ascii_lowercase(), from)
        });
        from = r.valid_from_ms;
    }
    keys.push(CardKey::new(current.to_ascii_lowercase(), from));
    Ok(keys)
}

/// Rewrites `card`'s signing keys as [`own_card_keys`] gives them.
pub fn rewrite_own_keys(
    card: &Path,
    log: &Reader,
    authority: &AuthorityId,
    current: &str,
) -> anyhow::Result<()> {
    let mut c = read_card(card)?;
    c.keys = own_card_keys(log, authority, current)?;
    write_card(card, &c)
}
