//! Which country may record a crossing of a document in each direction: the
//! one rule behind `route.checkpoint`, the tallies and serial uses (a record
//! counts only from the country its direction requires, judged against the
//! document as it stands when read, never from the record alone).

use crate::document::{Direction, License};

/// Whether a crossing in `direction` recorded in `country` is on the route of
/// `license` as it stands: exit in the exporting country, entry in the
/// importing one, transit in a listed transit country (for a transit
/// authorization, its own country).
pub fn on_route(license: &License, direction: Direction, country: &str) -> bool {
    match (license, direction) {
        (License::Export(l), Direction::Exit) => l.exporting_country == country,
        (License::Export(l), Direction::Entry) => l.importing_country == country,
        (License::Export(l), Direction::Transit) => {
            l.transit_countries.iter().any(|t| t == country)
        }
        (License::Import(l), Direction::Exit) => l.exporting_country == country,
        (License::Import(l), Direction::Entry) => l.importing_country == country,
        (License::Import(_), Direction::Transit) => false,
        (License::Transit(t), Direction::Transit) => t.transit_country == country,
        (License::Transit(_), _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::export_fixture;

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
        ] {
            assert_eq!(
                on_route(&l, direction, country),
                want,
                "{direction:?} {country}"
            );
        }
    }
}
