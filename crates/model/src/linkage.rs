//! How documents of different logs must fit together: the same party on
//! both, the category-and-unit coverage of an import certificate, and its
//! allocation across the export licenses that cite it.
//!
//! These rules join logs, so they are decided when a document is issued
//! and at the border, never used to refuse an entry from a peer.

use crate::document::{Category, ExportLicense, ImportCertificate, Item, License, Party, Unit};
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
    // What a migrated certificate's lines took before Tally is taken.
    let mut allocated = Quantities::new();
    for it in cert.items.iter().filter(|it| it.shipped_before > 0) {
        let a = allocated.entry((it.category, it.unit)).or_default();
        *a = a.saturating_add(it.shipped_before);
    }
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

/// Whether an amendment to `new` keeps every quantity at or above what is
/// already used (docs/API.md `invalid_amendment`): per line, `recorded`
/// (the most counted in one direction and country: exited, entered or
/// transited) plus a migrated line's `shipped_before`; for an import certificate, per category and unit, what the
/// non-revoked export licenses citing it take (`allocated`, from
/// [`allocation`]). Otherwise the reason, naming the line or the category.
pub fn amendment_floor(
    new: &License,
    recorded: &BTreeMap<u32, u64>,
    allocated: &[Allocation],
) -> Result<(), String> {
    let items = match new {
        License::Export(e) => &e.items,
        License::Import(i) => &i.items,
        _ => return Ok(()),
    };
    for it in items {
        let used = recorded
            .get(&it.line)
            .copied()
            .unwrap_or(0)
            .saturating_add(it.shipped_before);
        if it.quantity < used {
            return Err(format!(
                "line {}: quantity {} is below the {used} already recorded crossing",
                it.line, it.quantity
            ));
        }
    }
    if let License::Import(cert) = new {
        let licensed = quantities(&cert.items);
        for a in allocated {
            let have = licensed.get(&(a.category, a.unit)).copied().unwrap_or(0);
            if have < a.allocated {
                return Err(format!(
                    "{} {}: {have} is below the {} allocated to export licenses citing {}",
                    category_name(a.category),
                    unit_name(a.unit),
                    a.allocated,
                    cert.number
                ));
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod floor_tests {
    use super::*;
    use crate::validate::tests::export_fixture;

    fn import_fixture() -> ImportCertificate {
        let e = export_fixture();
        ImportCertificate {
            migrated: false,
            original_issue_date: None,
            prepared_by: None,
            signatory: None,
            number: "IC-1".into(),
            importing_country: "MX".into(),
            exporting_country: "US".into(),
            importer: e.importer.clone(),
            exporter: e.exporter.clone(),
            end_user: None,
            end_use: None,
            items: e.items.clone(),
            valid_from: e.valid_from.clone(),
            valid_until: e.valid_until.clone(),
            single_use: false,
        }
    }

    #[test]
    fn amendments_never_go_below_what_is_used() {
        let recorded = |n: u64| BTreeMap::from([(1u32, n)]);
        let export = |q: u64| {
            let mut e = export_fixture();
            e.items[0].quantity = q;
            License::Export(e)
        };
        let import = |q: u64| {
            let mut i = import_fixture();
            i.items[0].quantity = q;
            License::Import(i)
        };
        let cert = import_fixture();
        let mut taker = export_fixture();
        taker.items[0].quantity = 60;
        let allocated = allocation(&cert, [&taker]);
        // (case, new document, recorded on line 1, allocated, refusal names)
        type Case<'a> = (&'a str, License, u64, &'a [Allocation], Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("export above recorded", export(50), 40, &[], None),
            ("export at recorded", export(40), 40, &[], None),
            ("export below recorded", export(39), 40, &[], Some("line 1")),
            ("export, nothing recorded", export(1), 0, &[], None),
            ("import above allocated", import(60), 0, &allocated, None),
            (
                "import below allocated",
                import(59),
                0,
                &allocated,
                Some("allocated"),
            ),
            (
                "import below recorded",
                import(80),
                90,
                &allocated,
                Some("recorded"),
            ),
        ];
        for (name, new, rec, alloc, refused) in cases {
            let got = amendment_floor(&new, &recorded(rec), alloc);
            match refused {
                None => assert!(got.is_ok(), "{name}: {got:?}"),
                Some(word) => {
                    let why = got.expect_err(name);
                    assert!(why.contains(word), "{name}: {why}");
                }
            }
        }
    }
}
