//! Denial notices (ATT Art. 11 practice, the Wassenaar Arrangement's denial
//! notifications): an authority that refused a license application tells
//! its partners, so that the same buyer cannot simply try the next State
//! (an "undercut").
//!
//! This module owns the rules of the document ([`Denial`], defined with
//! the other documents in `crate::document`), how the parties of a denial
//! and of an export license are reduced to comparable keys
//! ([`party_keys`]), and the match rule ([`matches`]) that every node runs
//! alike to raise `denial.match`. Issuing anyway is allowed: the
//! consultation is between States, the software only makes it visible.

use crate::date::Date;
pub use crate::document::{Denial, DeniedGoods};
use crate::document::{ExportLicense, Party};
use crate::faults::{At, Faults};
use crate::fields;

/// `[alerts] denial_days` when the config does not say: three years, the
/// period for which Wassenaar denial notifications are usually kept alive.
pub const DEFAULT_DENIAL_DAYS: u32 = 1095;

/// Words that only say what legal form a company has: left out of a name
/// when they end it ("Armas del Sur, S.A. de C.V." and "ARMAS DEL SUR SA"
/// are one buyer).
const LEGAL_FORMS: &[&str] = &[
    "ag",
    "bv",
    "cia",
    "co",
    "company",
    "corp",
    "corporation",
    "cv",
    "de",
    "eirl",
    "gmbh",
    "inc",
    "limited",
    "llc",
    "lp",
    "ltd",
    "ltda",
    "nv",
    "plc",
    "rl",
    "sa",
    "saa",
    "sac",
    "sas",
    "spa",
    "srl",
    "y",
];

/// The accented Latin letters of the four languages of the console, folded
/// to their base letter. A fixed table, not a Unicode normalization crate:
/// the keys decide an alert every node must raise alike, so they may not
/// move with a dependency's Unicode tables.
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// A party name reduced to what identifies it: lower case, accents folded,
/// dots and commas dropped ("S.A." is "sa"), other punctuation a space, and
/// trailing legal-form words left out. Empty when nothing is left.
pub fn normalize_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold)
        .filter(|c| !matches!(c, '.' | ','))
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_FORMS.contains(w)) {
        words.pop();
    }
    words.join(" ")
}

/// An official id reduced to its letters and digits, upper case.
pub fn normalize_id(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The keys two parties are the same buyer by: `n:` and the normalized
/// name, and `i:` and the normalized id when there is one.
pub fn party_keys(p: &Party) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    let name = normalize_name(&p.name);
    if !name.is_empty() {
        keys.push(format!("n:{name}"));
    }
    if let Some(id) = p.id.as_deref().map(normalize_id).filter(|i| !i.is_empty()) {
        keys.push(format!("i:{id}"));
    }
    keys
}

/// What a node indexes a buyer key under: 8 bytes of SHA-256 over a label
/// and the key. Short, because every export license a node reads writes
/// one index row per buyer; a collision only makes the match rule compare
/// two documents it then tells apart.
pub fn buyer_digest(key: &str) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"tally/buyer/v1\0");
    h.update(key.as_bytes());
    let full = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

impl Denial {
    /// The parties a later export is compared with: the consignee and the
    /// end user (the applicant is the refusing State's own exporter).
    pub fn buyers(&self) -> impl Iterator<Item = (&'static str, &Party)> {
        [("consignee", &self.consignee), ("end user", &self.end_user)]
            .into_iter()
            .filter_map(|(role, p)| p.as_ref().map(|p| (role, p)))
    }

    /// Every key of [`Denial::buyers`], without repeats.
    pub fn buyer_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.buyers().flat_map(|(_, p)| party_keys(p)).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// The parties of an export license a denial is compared with: importer,
/// end user and intermediate consignees.
pub fn license_buyers(l: &ExportLicense) -> impl Iterator<Item = (&'static str, &Party)> {
    std::iter::once(("importer", &l.importer))
        .chain(l.end_user.iter().map(|p| ("end user", p)))
        .chain(l.consignees.iter().map(|p| ("consignee", p)))
}

/// Every key of [`license_buyers`], without repeats.
pub fn license_buyer_keys(l: &ExportLicense) -> Vec<String> {
    let mut keys: Vec<String> = license_buyers(l).flat_map(|(_, p)| party_keys(p)).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Whether a line of goods is like what was denied: the same category and,
/// when both say it, the same HS heading.
fn similar_goods(denial: &Denial, license: &ExportLicense) -> bool {
    denial.goods.iter().any(|g| {
        license.items.iter().any(|it| {
            it.category == g.category
                && match (&g.hs_heading, &it.hs_code) {
                    (Some(h), Some(code)) => code.get(..4) == h.get(..4),
                    _ => true,
                }
        })
    })
}

/// A match of an export license with another State's denial: which of the
/// license's parties is which of the denial's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialMatch {
    /// `importer`, `end user` or `consignee` of the license.
    pub license_party: &'static str,
    /// `consignee` or `end user` of the denial.
    pub denied_party: &'static str,
    /// The denied party's name as the denial writes it.
    pub denied_name: String,
}

/// The structural rules of a denial (`crate::validate` runs them with the
/// rules every document shares: number, dates, issuing country, people).
pub(crate) fn faults(f: &mut Faults, d: &Denial) {
    let root = At::root();
    let denying = f.check(
        root.key("denying_country"),
        fields::country("denying_country", &d.denying_country),
    );
    let destination = f.check(
        root.key("destination"),
        fields::country("destination", &d.destination),
    );
    if denying.is_some() && denying == destination {
        f.add(
            root.key("destination"),
            "destination is the denying country: a denial is of an export",
        );
    }
    fields::party(f, root.key("applicant"), "applicant", &d.applicant);
    if d.consignee.is_none() && d.end_user.is_none() {
        f.add(
            root.key("end_user"),
            "a denial names its consignee or its end user (or both): partners match on them",
        );
    }
    for (field, p) in [("consignee", &d.consignee), ("end_user", &d.end_user)] {
        if let Some(p) = p {
            fields::party(f, root.key(field), field, p);
            if party_keys(p).is_empty() {
                f.add(
                    root.key(field).key("name"),
                    format!("{field}.name has no letter or digit to match on"),
                );
            }
        }
    }
    goods(f, &d.goods);
    let criterion = root.key("criterion");
    if f.check(criterion, fields::required("criterion", &d.criterion))
        .is_some()
    {
        f.check(criterion, fields::free_text("criterion", &d.criterion));
    }
}

fn goods(f: &mut Faults, goods: &[DeniedGoods]) {
    let root = At::root();
    let list = root.key("goods");
    if goods.is_empty() {
        return f.add(list, "no goods: say what was denied");
    }
    if goods.len() > fields::MAX_ITEMS {
        return f.add(list, format!("more than {} goods", fields::MAX_ITEMS));
    }
    for (i, g) in goods.iter().enumerate() {
        let at = list.index(i);
        if let Some(h) = &g.hs_heading
            && (h.len() != 4
                || !h.bytes().all(|b| b.is_ascii_digit())
                || !fields::heading_fits(g.category, h))
        {
            f.add(
                at.key("hs_heading"),
                format!(
                    "goods[{i}].hs_heading {h:?} is not a heading of {} ({})",
                    crate::linkage::category_name(g.category),
                    fields::headings(g.category)
                ),
            );
        }
        f.check(
            at.key("description"),
            fields::name(format_args!("goods[{i}].description"), &g.description),
        );
    }
}

/// `denial.match`: an export license issued by another State's authority
/// (`license_country` is not `denial.denying_country`) on `license_day`,
/// within `window_days` after the denial's date, to a party the denial names
/// as consignee or end user (same normalized name or id), for goods of a
/// denied category and heading. Depends only on the two documents, the day
/// the license was issued and the window, so every node that reads both
/// raises it alike, in whichever order they arrived.
pub fn matches(
    denial: &Denial,
    license: &ExportLicense,
    license_day: Date,
    window_days: u32,
) -> Option<DenialMatch> {
    if license.exporting_country == denial.denying_country {
        return None;
    }
    let denied_on: Date = denial.date.parse().ok()?;
    let days = license_day.days() - denied_on.days();
    if days < 0 || days > i64::from(window_days) {
        return None;
    }
    if !similar_goods(denial, license) {
        return None;
    }
    for (denied_party, denied) in denial.buyers() {
        let denied_keys = party_keys(denied);
        for (license_party, p) in license_buyers(license) {
            if party_keys(p).iter().any(|k| denied_keys.contains(k)) {
                return Some(DenialMatch {
                    license_party,
                    denied_party,
                    denied_name: denied.name.clone(),
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Category;
    use crate::sample;

    fn party(name: &str, id: Option<&str>) -> Party {
        Party {
            name: name.into(),
            id: id.map(str::to_string),
            address: None,
        }
    }

    fn denial() -> Denial {
        Denial {
            number: "DEN-2026-0001".into(),
            denying_country: "MX".into(),
            applicant: party("Armeria Central", None),
            consignee: None,
            end_user: Some(party("Comercial Armas del Sur, S.A. de C.V.", None)),
            goods: vec![DeniedGoods {
                category: Category::Firearm,
                hs_heading: Some("9302".into()),
                description: "pistols".into(),
            }],
            destination: "GT".into(),
            criterion: "end user not verified".into(),
            date: "2026-03-02".into(),
            prepared_by: None,
            signatory: None,
        }
    }

    fn day(s: &str) -> Date {
        s.parse().expect("date")
    }

    #[test]
    fn names_normalize_across_case_accents_punctuation_and_legal_forms() {
        assert_eq!(
            normalize_name("Comercial Armas del Sur, S.A. de C.V."),
            "comercial armas del sur"
        );
        assert_eq!(
            normalize_name("COMERCIAL ARMAS DEL SUR SA"),
            "comercial armas del sur"
        );
        assert_eq!(normalize_name("Policía  Nacional"), "policia nacional");
        assert_eq!(normalize_name("Sa"), "sa", "a name is never emptied");
        assert_eq!(normalize_id(" 12-345.678 k"), "12345678K");
        assert_eq!(party_keys(&party("A", Some("--"))), vec!["n:a".to_string()]);
    }

    #[test]
    fn an_export_to_the_denied_buyer_matches_within_the_window() {
        let mut l = sample::export_license();
        l.end_user = Some(party("COMERCIAL ARMAS DEL SUR SA", None));
        let d = denial();
        let m = matches(&d, &l, day("2026-11-01"), DEFAULT_DENIAL_DAYS).expect("matches");
        assert_eq!((m.license_party, m.denied_party), ("end user", "end user"));
        assert!(
            matches(&d, &l, day("2026-03-01"), 1095).is_none(),
            "before the denial"
        );
        assert!(
            matches(&d, &l, day("2026-11-01"), 100).is_none(),
            "past the window"
        );
        let mut own = l.clone();
        own.exporting_country = "MX".into();
        assert!(
            matches(&d, &own, day("2026-11-01"), 1095).is_none(),
            "a State's own later license is its own business"
        );
        let mut ammunition = d.clone();
        ammunition.goods[0].category = Category::Ammunition;
        ammunition.goods[0].hs_heading = Some("9306".into());
        assert!(matches(&ammunition, &l, day("2026-11-01"), 1095).is_none());
        let mut other = l.clone();
        other.end_user = Some(party("Comercial Armas del Norte", None));
        other.importer = party("Someone Else", None);
        assert!(matches(&d, &other, day("2026-11-01"), 1095).is_none());
    }

    #[test]
    fn the_same_id_matches_under_another_name() {
        let mut d = denial();
        d.end_user = Some(party("Trading House", Some("900.123.456-7")));
        let mut l = sample::export_license();
        l.importer = party("Casa Comercial", Some("9001234567"));
        let m = matches(&d, &l, day("2026-05-01"), 1095).expect("same id");
        assert_eq!(m.license_party, "importer");
    }
}
