//! The rules of single fields every document kind shares: text (numbers,
//! names, free text, required values), dates, countries, parties and HS
//! headings. [`crate::validate`] and the rules of each kind build on them.

use crate::date::Date;
use crate::document::{Category, Party};
use crate::faults::{At, Faults};
use crate::id::Country;
use std::fmt::Display;

/// A well-formed document that breaks a rule; the message says which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// Longest number (document numbers, party ids, serials, HS codes, ports
/// and points, certificate numbers), in characters.
pub const MAX_NUMBER_CHARS: usize = 64;
/// Longest name (party names, make, model, caliber, description), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest free text (end use, conditions, a status reason, an address), in characters.
pub const MAX_FREE_TEXT_CHARS: usize = 2000;
/// Years a date may lie in: documents of this system, not of history or fiction.
pub const YEARS: std::ops::RangeInclusive<i64> = 2000..=2100;
pub const MAX_ITEMS: usize = 1000;
pub const MAX_SERIALS: usize = 100_000;
/// Largest quantity of one line: far above any real consignment (a trillion
/// rounds), far below where sums of a few lines could overflow.
pub const MAX_QUANTITY: u64 = 1_000_000_000_000;

pub fn country(field: &str, value: &str) -> Result<Country, Invalid> {
    value
        .parse()
        .or_else(|_| invalid(format!("{field}: unknown country code {value:?}")))
}

/// Characters no text field may hold (Unicode 16.0): C0 controls, DEL, C1
/// controls, every Default_Ignorable_Code_Point (DerivedCoreProperties.txt:
/// zero-width spaces and joiners, the soft hyphen, the combining grapheme
/// joiner, Hangul fillers, the Mongolian vowel separator and free variation
/// selectors, variation selectors, word joiners, invisible operators, the
/// BOM, tag characters, and the reserved code points of those blocks), every
/// Bidi_Control character (PropList.txt: the Arabic letter mark, LRM/RLM,
/// embeddings, overrides and isolates; all of them Default_Ignorable too),
/// the line and paragraph separators U+2028 and U+2029, and the interlinear
/// annotation characters U+FFF9-FFFB. They make one text look like another
/// on a screen or in a terminal, hide text, or drive the terminal itself.
///
/// The same rule is structural on ingest (a peer's document holding one is
/// `document.invalid`); widening it is a protocol change (docs/PROTOCOL.md,
/// section 12).
pub fn is_refused_char(c: char) -> bool {
    matches!(
        c,
        // Controls: C0, DEL, C1.
        '\u{0}'..='\u{1F}'
            | '\u{7F}'..='\u{9F}'
            // Default_Ignorable_Code_Point, Unicode 16.0 (Bidi_Control included).
            | '\u{AD}'
            | '\u{34F}'
            | '\u{61C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
            // Line and paragraph separators, interlinear annotation.
            | '\u{2028}'..='\u{2029}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// No refused character, at most `max` characters.
fn bounded(field: impl Display, value: &str, max: usize) -> Result<(), Invalid> {
    if let Some(c) = value.chars().find(|&c| is_refused_char(c)) {
        return invalid(format!(
            "{field} contains the control or invisible character U+{:04X}",
            u32::from(c)
        ));
    }
    if value.chars().count() > max {
        return invalid(format!("{field} is longer than {max} characters"));
    }
    Ok(())
}

/// A number (party id, serial, HS code, port or point, certificate number):
/// at most 64 characters, none refused, and never `.` or `..` (numbers end
/// up in paths and URLs). May be empty; [`required`] says when it may not.
pub fn number(field: impl Display, value: &str) -> Result<(), Invalid> {
    bounded(&field, value, MAX_NUMBER_CHARS)?;
    if value == "." || value == ".." {
        return invalid(format!("{field} cannot be {value:?}"));
    }
    Ok(())
}

/// A name (party name, make, model, caliber, description): at most 200
/// characters, none refused.
pub fn name(field: impl Display, value: &str) -> Result<(), Invalid> {
    bounded(field, value, MAX_NAME_CHARS)
}

/// Free text (end use, conditions, a status reason): at most 2,000
/// characters, none refused.
pub fn free_text(field: impl Display, value: &str) -> Result<(), Invalid> {
    bounded(field, value, MAX_FREE_TEXT_CHARS)
}

/// Refuses a value that is empty or only spaces.
pub fn required(field: impl Display, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return invalid(format!("{field} is empty"));
    }
    Ok(())
}

/// A `YYYY-MM-DD` date of a year in [`YEARS`].
pub fn date(field: &str, value: &str) -> Result<Date, Invalid> {
    let d: Date = value
        .parse()
        .or_else(|_| invalid(format!("{field} {value:?} is not a YYYY-MM-DD date")))?;
    let (year, _, _) = d.ymd();
    if !YEARS.contains(&year) {
        return invalid(format!(
            "{field} {value} is not within the years {}-{}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    Ok(d)
}

/// A document number: 1-64 printable ASCII characters other than `? # %`,
/// never `.` or `..`. A `/` is allowed, as national references such as
/// `DCAM/PI/2026/0042` use it: in a URL path it travels percent-encoded
/// (`%2F`), one segment.
pub fn document_number(value: &str) -> Result<(), Invalid> {
    let ok = (1..=MAX_NUMBER_CHARS).contains(&value.len())
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#' && b != b'%');
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "number {value:?} must be 1-64 printable ASCII characters without ? # %, and not . or .."
        ))
    }
}

/// An end-user certificate at `at`: its number, date and issuer.
pub(crate) fn end_user_certificate(
    f: &mut Faults,
    at: At,
    c: &crate::document::EndUserCertificate,
) {
    let number_at = at.key("number");
    if f.check(
        number_at,
        required("end_user_certificate.number", &c.number),
    )
    .is_some()
    {
        f.check(number_at, number("end_user_certificate.number", &c.number));
    }
    f.check(at.key("date"), date("end_user_certificate.date", &c.date));
    let by = at.key("issued_by");
    if f.check(by, required("end_user_certificate.issued_by", &c.issued_by))
        .is_some()
    {
        f.check(by, name("end_user_certificate.issued_by", &c.issued_by));
    }
}

/// A party at `at` (named `field` in messages).
pub fn party(f: &mut Faults, at: At, field: &str, p: &Party) {
    let name_at = at.key("name");
    let named = f.check(name_at, required(format_args!("{field}.name"), &p.name));
    if named.is_some() {
        f.check(name_at, name(format_args!("{field}.name"), &p.name));
    }
    f.check(
        at.key("id"),
        number(format_args!("{field}.id"), p.id.as_deref().unwrap_or("")),
    );
    // An address is no name: it may be long, but it is one line too.
    f.check(
        at.key("address"),
        free_text(
            format_args!("{field}.address"),
            p.address.as_deref().unwrap_or(""),
        ),
    );
}

/// The HS headings (first four digits) of each category (the Harmonized
/// System chapter 93 classification of arms and ammunition).
pub fn heading_fits(c: Category, hs: &str) -> bool {
    let Some(heading) = hs.get(..4).and_then(|h| h.parse::<u16>().ok()) else {
        return false;
    };
    match c {
        Category::Firearm => (9301..=9303).contains(&heading),
        Category::Part => heading == 9305,
        Category::Ammunition => heading == 9306,
        Category::Explosive => (3601..=3604).contains(&heading),
        Category::Related => heading == 9304 || heading == 9307,
    }
}

pub fn headings(c: Category) -> &'static str {
    match c {
        Category::Firearm => "9301-9303",
        Category::Part => "9305",
        Category::Ammunition => "9306",
        Category::Explosive => "3601-3604",
        Category::Related => "9304 or 9307",
    }
}
