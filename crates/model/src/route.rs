//! Which country may record a crossing of a document in each direction (the
//! one rule behind `route.checkpoint`, the tallies and serial uses: a record
//! counts only from the country its direction requires, judged against the
//! document as it stands when read, never from the record alone), and how
//! serial numbers compare.

use crate::document::{Direction, License};

/// Whether a crossing in `direction` recorded in `country` is on the route of
/// `license` as it stands: exit in the exporting country, entry in the
/// importing one, transit in a listed transit country (for a transit
/// authorization, its own country), and the return of a temporary export
/// in the exporting country.
pub fn on_route(license: &License, direction: Direction, country: &str) -> bool {
    match (license, direction) {
        (License::Export(l), Direction::Exit) => l.exporting_country == country,
        (License::Export(l), Direction::Entry) => l.importing_country == country,
        (License::Export(l), Direction::Transit) => {
            l.transit_countries.iter().any(|t| t == country)
        }
        (License::Export(l), Direction::Return) => {
            l.temporary.is_some() && l.exporting_country == country
        }
        (License::Import(l), Direction::Exit) => l.exporting_country == country,
        (License::Import(l), Direction::Entry) => l.importing_country == country,
        (License::Import(_), Direction::Transit | Direction::Return) => false,
        (License::Transit(t), Direction::Transit) => t.transit_country == country,
        (License::Transit(_), _) => false,
        (
            License::Delivery(_)
            | License::Denial(_)
            | License::EnduseRequest(_)
            | License::EnduseAnswer(_),
            _,
        ) => false,
    }
}

/// A serial number as crossings compare it (docs/API.md `items.serials`):
/// spaces and dashes removed, ASCII letters upper-cased. Markings are read
/// off the goods by people; "ac-1000" and "AC 1000" are one firearm.
pub fn normalize_serial(serial: &str) -> String {
    serial
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A make as `serial.repeat` compares it: without case or spaces, so
/// "Smith & Wesson" and "SMITH&WESSON" are one maker.
pub fn normalize_make(make: &str) -> String {
    make.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether two makes (normalized by [`normalize_make`]) may name the same
/// firearm's maker: equal, or either one missing.
pub fn same_make(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::export_fixture;

    #[test]
    fn serials_compare_without_case_spaces_or_dashes() {
        for (a, b) in [("ac-1000", "AC1000"), ("AC 10-00", "ac1000"), ("Ñ1", "Ñ1")] {
            assert_eq!(normalize_serial(a), normalize_serial(b), "{a} {b}");
        }
        assert_ne!(normalize_serial("AC1000"), normalize_serial("AC1001"));
    }

    #[test]
    fn makes_compare_without_case_or_spaces_and_a_missing_one_matches() {
        let m = |s: &str| normalize_make(s);
        assert_eq!(m("Smith & Wesson"), m("SMITH&WESSON"));
        assert_eq!(m(" glock "), m("Glock"));
        assert!(same_make(Some(&m("Glock")), Some(&m("GLOCK"))));
        assert!(!same_make(Some(&m("Glock")), Some(&m("Beretta"))));
        assert!(same_make(None, Some(&m("Beretta"))));
        assert!(same_make(None, None));
    }

    #[test]
    fn the_route_table() {
        let l = License::Export(export_fixture());
        for (direction, country, want) in [
            (Direction::Exit, "US", true),
            (Direction::Exit, "MX", false),
            (Direction::Entry, "MX", true),
            (Direction::Entry, "GT", false),
            (Direction::Transit, "GT", true),
            (Direction::Transit, "PA", false),
            (Direction::Return, "US", false),
        ] {
            assert_eq!(
                on_route(&l, direction, country),
                want,
                "{direction:?} {country}"
            );
        }
        // Only a temporary export comes back, and only home.
        let mut e = export_fixture();
        e.temporary = Some(crate::document::Temporary {
            purpose: crate::document::TemporaryPurpose::Competition,
            return_by: "2027-03-01".into(),
        });
        let t = License::Export(e);
        assert!(on_route(&t, Direction::Return, "US"));
        assert!(!on_route(&t, Direction::Return, "MX"));
    }
}
