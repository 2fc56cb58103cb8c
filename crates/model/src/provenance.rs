//! Where a document came from, beyond its authority's signature: the
//! people who prepared and signed it (`prepared_by`, `signatory`, named by
//! the node from its API tokens), and whether it is a migrated record, one
//! an authority issued before it ran Tally and brought in afterwards
//! (`migrated`, `original_issue_date`, and per item line `shipped_before`).
//!
//! The checks of these fields are [`crate::validate`]'s, with the other
//! document rules. The migration rules are every node's rules
//! (docs/PROTOCOL.md): a
//! migrated document carries its original date of issue, a line's
//! `shipped_before` is at most its quantity and counts as already shipped
//! (the countdown starts from it), and nothing of the migration changes by
//! amendment. A document that is not migrated carries neither field.

pub use crate::document::{Attribution, Person};
use crate::document::{Item, License, StatusChange};
use crate::validate::Invalid;

impl License {
    /// Who prepared and who signed this version.
    pub fn attribution(&self) -> Attribution {
        let (p, s) = match self {
            License::Export(d) => (&d.prepared_by, &d.signatory),
            License::Import(d) => (&d.prepared_by, &d.signatory),
            License::Transit(d) => (&d.prepared_by, &d.signatory),
            License::Delivery(d) => (&d.prepared_by, &d.signatory),
            License::Denial(d) => (&d.prepared_by, &d.signatory),
            License::EnduseRequest(d) => (&d.prepared_by, &d.signatory),
            License::EnduseAnswer(d) => (&d.prepared_by, &d.signatory),
        };
        Attribution {
            prepared_by: p.clone(),
            signatory: s.clone(),
        }
    }

    /// Names who prepared and who signed this version (the node does, from
    /// its tokens, whatever a request body said).
    pub fn set_attribution(&mut self, a: Attribution) {
        let (p, s) = match self {
            License::Export(d) => (&mut d.prepared_by, &mut d.signatory),
            License::Import(d) => (&mut d.prepared_by, &mut d.signatory),
            License::Transit(d) => (&mut d.prepared_by, &mut d.signatory),
            License::Delivery(d) => (&mut d.prepared_by, &mut d.signatory),
            License::Denial(d) => (&mut d.prepared_by, &mut d.signatory),
            License::EnduseRequest(d) => (&mut d.prepared_by, &mut d.signatory),
            License::EnduseAnswer(d) => (&mut d.prepared_by, &mut d.signatory),
        };
        (*p, *s) = (a.prepared_by, a.signatory);
    }

    /// This document without the people named on it: what "the same
    /// content" compares, and what an amendment compares.
    pub fn without_attribution(&self) -> License {
        let mut l = self.clone();
        l.set_attribution(Attribution::default());
        l
    }

    /// `migrated` and `original_issue_date`; a delivery verification is
    /// never migrated.
    pub fn migration(&self) -> (bool, Option<&str>) {
        match self {
            License::Export(d) => (d.migrated, d.original_issue_date.as_deref()),
            License::Import(d) => (d.migrated, d.original_issue_date.as_deref()),
            License::Transit(d) => (d.migrated, d.original_issue_date.as_deref()),
            License::Delivery(_)
            | License::Denial(_)
            | License::EnduseRequest(_)
            | License::EnduseAnswer(_) => (false, None),
        }
    }

    /// Whether this is a record brought in from before Tally.
    pub fn is_migrated(&self) -> bool {
        self.migration().0
    }
}

impl StatusChange {
    pub fn attribution(&self) -> Attribution {
        Attribution {
            prepared_by: self.prepared_by.clone(),
            signatory: self.signatory.clone(),
        }
    }
}

/// What a line counted as shipped before it entered Tally.
pub fn shipped_before(items: &[Item], line: u32) -> u64 {
    items
        .iter()
        .find(|i| i.line == line)
        .map_or(0, |i| i.shipped_before)
}

/// An amendment keeps the migration as issued (a line's `shipped_before`
/// is compared with the rest of the line).
pub fn same_migration(old: &License, new: &License) -> Result<(), Invalid> {
    if old.migration() != new.migration() {
        return Err(Invalid(
            "migrated and original_issue_date cannot change".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Faults;
    use crate::sample::export_license;
    use crate::validate::{attribution_faults, migration_faults};

    fn faults(l: &License) -> Vec<String> {
        let mut f = Faults::new(10);
        migration_faults(&mut f, l);
        attribution_faults(&mut f, &l.attribution());
        f.into_vec()
            .into_iter()
            .map(|x| format!("{} {}", x.pointer, x.message))
            .collect()
    }

    #[test]
    fn migration_fields_belong_to_migrated_documents() {
        let plain = export_license();
        assert!(faults(&License::Export(plain.clone())).is_empty());

        let mut d = plain.clone();
        d.items[0].shipped_before = 5;
        d.original_issue_date = Some("2025-01-02".into());
        let got = faults(&License::Export(d.clone()));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("/original_issue_date "), "{got:?}");
        assert!(got[1].starts_with("/items/0/shipped_before "), "{got:?}");

        d.migrated = true;
        assert!(faults(&License::Export(d.clone())).is_empty());
        d.items[0].shipped_before = d.items[0].quantity + 1;
        d.original_issue_date = None;
        let got = faults(&License::Export(d.clone()));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("needs original_issue_date"), "{got:?}");
        assert!(got[1].contains("above the quantity"), "{got:?}");

        d.items[0].shipped_before = 1;
        d.original_issue_date = Some("2099-01-01".into());
        let got = faults(&License::Export(d));
        assert!(got[0].contains("after valid_until"), "{got:?}");
    }

    #[test]
    fn people_are_named_within_the_name_rules() {
        let mut l = License::Export(export_license());
        l.set_attribution(Attribution {
            prepared_by: Some(Person {
                name: " ".into(),
                title: None,
            }),
            signatory: Some(Person {
                name: "Ana Ruiz".into(),
                title: Some("x".repeat(201)),
            }),
        });
        let got = faults(&l);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("/prepared_by/name "), "{got:?}");
        assert!(got[1].starts_with("/signatory/title "), "{got:?}");
        assert_eq!(
            l.without_attribution().attribution(),
            Attribution::default()
        );
    }

    #[test]
    fn the_migration_is_frozen() {
        let old = License::Export(export_license());
        let mut d = export_license();
        d.migrated = true;
        d.original_issue_date = Some("2025-01-02".into());
        assert!(same_migration(&old, &License::Export(d)).is_err());
        assert!(same_migration(&old, &old).is_ok());
    }
}
