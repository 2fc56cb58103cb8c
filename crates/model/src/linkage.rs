//! How documents of different logs must fit together: the same party on
//! both, the category-and-unit coverage of an import certificate, and its
//! allocation across the export licenses that cite it.
//!
//! These rules join logs, so they are decided when a document is issued
//! and at the border, never used to refuse an entry from a peer.

use crate::document::{Category, ExportLicense, ImportCertificate, Item, Party, Unit};
use std::collections::BTreeMap;

/// Whether two documents name the same party: by `id` when both have one,
/// by name (case and surrounding space ignored) otherwise.
pub fn same_party(a: &Party, b: &Party) -> bool {
    match (a.id.as_deref(), b.id.as_deref()) {
        (Some(x), Some(y)) => x.trim() == y.trim(),
        _ => same_name(&a.name, &b.name),
    }
}

/// Names compared with case and surrounding space ignored.
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Quantities per category and unit. Saturating: quantities come from
/// other States' documents, and a sum that wrapped would let a huge export
/// pass.
pub type Quantities = BTreeMap<(Category, Unit), u64>;

/// The quantities of `items` summed per category and unit.
pub fn quantities(items: &[Item]) -> Quantities {
    let mut out = Quantities::new();
    for it in items {
        let q = out.entry((it.category, it.unit)).or_default();
        *q = q.saturating_add(it.quantity);
    }
    out
}

/// The first category and unit of `need` that `have` does not cover:
/// `(category, unit, have, need)`.
pub fn shortfall(have: &Quantities, need: &Quantities) -> Option<(Category, Unit, u64, u64)> {
    need.iter().find_map(|(&(c, u), &n)| {
        let h = have.get(&(c, u)).copied().unwrap_or(0);
        (h < n).then_some((c, u, h, n))
    })
}

/// One category and unit of an import certificate: what it licenses and how
/// much of it the export licenses citing it take.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Allocation {
    pub category: Category,
    pub unit: Unit,
    pub licensed: u64,
    pub allocated: u64,
}

/// The allocation of `cert` across `citing` (the export licenses that cite
/// it and are not revoked): one row per category and unit of the
/// certificate, then any an export takes that the certificate lacks.
pub fn allocation<'a>(
    cert: &ImportCertificate,
    citing: impl IntoIterator<Item = &'a ExportLicense>,
) -> Vec<Allocation> {
    let licensed = quantities(&cert.items);
    let mut allocated = Quantities::new();
    for e in citing {
        for (k, q) in quantities(&e.items) {
            let a = allocated.entry(k).or_default();
            *a = a.saturating_add(q);
        }
    }
    let mut keys: Vec<(Category, Unit)> =
        licensed.keys().chain(allocated.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| Allocation {
            category: k.0,
            unit: k.1,
            licensed: licensed.get(&k).copied().unwrap_or(0),
            allocated: allocated.get(&k).copied().unwrap_or(0),
        })
        .collect()
}

/// Whether `cert`, with `allocated` already taken by other export licenses,
/// still covers every line of `export`; otherwise the reason.
pub fn unallocated_covers(
    cert: &ImportCertificate,
    allocated: &[Allocation],
    export: &ExportLicense,
) -> Result<(), String> {
    let mut free = Quantities::new();
    for (k, q) in quantities(&cert.items) {
        let taken = allocated
            .iter()
            .find(|a| (a.category, a.unit) == k)
            .map_or(0, |a| a.allocated);
        free.insert(k, q.saturating_sub(taken));
    }
    match shortfall(&free, &quantities(&export.items)) {
        None => Ok(()),
        Some((c, u, have, need)) => Err(format!(
            "import certificate {} has {have} {} of {} unallocated, the export licenses {need}",
            cert.number,
            unit_name(u),
            category_name(c)
        )),
    }
}

pub fn category_name(c: Category) -> &'static str {
    match c {
        Category::Firearm => "firearm",
        Category::Part => "part",
        Category::Ammunition => "ammunition",
        Category::Explosive => "explosive",
        Category::Related => "related",
    }
}

pub fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Units => "units",
        Unit::Rounds => "rounds",
        Unit::Kg => "kg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(name: &str, id: Option<&str>) -> Party {
        Party {
            name: name.into(),
            id: id.map(Into::into),
            address: None,
        }
    }

    #[test]
    fn parties_match_by_id_when_both_have_one_else_by_name() {
        let cases = [
            (party("Acme", None), party(" acme ", None), true),
            (party("Acme", Some("X1")), party("Other", Some("X1")), true),
            (party("Acme", Some("X1")), party("Acme", Some("X2")), false),
            (party("Acme", Some("X1")), party("ACME", None), true),
            (party("Acme", None), party("Acme Ltd", None), false),
        ];
        for (a, b, same) in cases {
            assert_eq!(same_party(&a, &b), same, "{a:?} vs {b:?}");
        }
    }

    fn item(category: Category, unit: Unit, quantity: u64) -> Item {
        crate::sample::item(1, category, unit, quantity)
    }

    #[test]
    fn coverage_is_per_category_and_unit_and_saturates() {
        let have = quantities(&[
            item(Category::Ammunition, Unit::Rounds, 1000),
            item(Category::Firearm, Unit::Units, u64::MAX),
            item(Category::Firearm, Unit::Units, 5),
        ]);
        assert_eq!(have[&(Category::Firearm, Unit::Units)], u64::MAX);
        let kg = quantities(&[item(Category::Ammunition, Unit::Kg, 1)]);
        assert_eq!(
            shortfall(&have, &kg),
            Some((Category::Ammunition, Unit::Kg, 0, 1))
        );
        let rounds = quantities(&[item(Category::Ammunition, Unit::Rounds, 1000)]);
        assert_eq!(shortfall(&have, &rounds), None);
    }
}
