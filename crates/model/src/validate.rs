//! The `invalid_document` and `invalid_amendment` rules of docs/API.md.
//!
//! The same checks run on a document issued through the API and on one
//! received from another node, so a peer cannot plant what the API refuses.

use crate::document::{
    Attribution, Category, DeliveryVerification, ExportLicense, ImportCertificate, Item, License,
    Person, ShipmentRecord, StatusChange, Unit,
};
use crate::faults::{At, Faults};
pub use crate::fields::{
    Invalid, MAX_FREE_TEXT_CHARS, MAX_NAME_CHARS, MAX_NUMBER_CHARS, MAX_QUANTITY, YEARS, date,
    document_number, free_text, is_refused_char, name, number, required,
};
use crate::fields::{MAX_ITEMS, MAX_SERIALS, country, heading_fits, headings, party};
use crate::id::{AuthorityId, Country};
use std::collections::BTreeSet;

/// The text of a status change: its number and its reason.
pub fn validate_status_text(change: &StatusChange) -> Result<(), Invalid> {
    document_number(&change.number)?;
    free_text("reason", &change.reason)?;
    validate_status_people(change)
}

/// The text fields of a shipment record: the license's number, the port,
/// the declared parties and the serials. Dates and quantities are the
/// shipment rules' business.
pub fn validate_shipment_text(record: &ShipmentRecord) -> Result<(), Invalid> {
    number("license.number", &record.license.number)?;
    number("license.authority", &record.license.authority)?;
    number("checkpoint.port", &record.checkpoint.port)?;
    name("exporter", record.exporter.as_deref().unwrap_or(""))?;
    name("importer", record.importer.as_deref().unwrap_or(""))?;
    for line in &record.items {
        for s in &line.serials {
            number(format_args!("line {} serial", line.line), s)?;
        }
    }
    Ok(())
}

fn validity(f: &mut Faults, from: &str, until: &str) {
    let root = At::root();
    let from_date = f.check(root.key("valid_from"), date("valid_from", from));
    let until_date = f.check(root.key("valid_until"), date("valid_until", until));
    if let (Some(fd), Some(ud)) = (from_date, until_date)
        && ud < fd
    {
        f.add(
            root.key("valid_until"),
            format!("valid_until {until} is before valid_from {from}"),
        );
    }
}

/// Brokers, consignees or carriers named on one license.
const MAX_PARTIES: usize = 50;

/// `{"amount": "84500.00", "currency": "USD"}`: a non-negative decimal of at
/// most 15 integer and 4 fraction digits, and three capital letters.
fn money(f: &mut Faults, at: At, v: &crate::document::Money) {
    let (int, frac) = v.amount.split_once('.').unwrap_or((&v.amount, ""));
    let digits = |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    let amount_ok = (1..=15).contains(&int.len())
        && digits(int, 15)
        && digits(frac, 4)
        && (!frac.is_empty() || !v.amount.ends_with('.'));
    if !amount_ok {
        f.add(
            at.key("amount"),
            format!(
                "value.amount {:?} is not a decimal like \"84500.00\"",
                v.amount
            ),
        );
    }
    if v.currency.len() != 3 || !v.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        f.add(
            at.key("currency"),
            format!("value.currency {:?} is not an ISO 4217 code", v.currency),
        );
    }
}

/// Firearms and parts count in units, ammunition in rounds (or kg),
/// explosives in kg.
fn unit_fits(c: Category, u: Unit) -> bool {
    match c {
        Category::Firearm | Category::Part => u == Unit::Units,
        Category::Ammunition => matches!(u, Unit::Rounds | Unit::Kg),
        Category::Explosive => u == Unit::Kg,
        Category::Related => true,
    }
}

fn units(c: Category) -> &'static str {
    match c {
        Category::Firearm | Category::Part => "units",
        Category::Ammunition => "rounds or kg",
        Category::Explosive => "kg",
        Category::Related => "any unit",
    }
}

fn items(f: &mut Faults, items: &[Item]) {
    let at = At::root();
    let list = at.key("items");
    if items.is_empty() {
        return f.add(list, "no items");
    }
    if items.len() > MAX_ITEMS {
        return f.add(list, format!("more than {MAX_ITEMS} item lines"));
    }
    let mut lines = BTreeSet::new();
    let mut serials_seen = BTreeSet::new();
    for (i, it) in items.iter().enumerate() {
        let at = list.index(i);
        item(f, at, it, &mut lines, &mut serials_seen);
    }
}

/// One item line at `at`; `lines` and `serials_seen` gather the line
/// numbers and serials of the lines before it.
fn item<'a>(
    f: &mut Faults,
    at: At,
    it: &'a Item,
    lines: &mut BTreeSet<u32>,
    serials_seen: &mut BTreeSet<&'a str>,
) {
    if !lines.insert(it.line) {
        f.add(at.key("line"), format!("duplicate line number {}", it.line));
    }
    if it.quantity == 0 {
        f.add(at.key("quantity"), format!("line {}: quantity 0", it.line));
    }
    if it.quantity > MAX_QUANTITY {
        f.add(
            at.key("quantity"),
            format!(
                "line {}: quantity {} is above {MAX_QUANTITY}",
                it.line, it.quantity
            ),
        );
    }
    let serials = at.key("serials");
    if it.serials.len() as u64 > it.quantity {
        f.add(
            serials,
            format!(
                "line {}: {} serials for a quantity of {}",
                it.line,
                it.serials.len(),
                it.quantity
            ),
        );
    }
    if it.serials.len() > MAX_SERIALS {
        return f.add(
            serials,
            format!("line {}: more than {MAX_SERIALS} serials", it.line),
        );
    }
    for (k, s) in it.serials.iter().enumerate() {
        let at = serials.index(k);
        let ok = f
            .check(at, required(format_args!("line {} serial", it.line), s))
            .and_then(|()| f.check(at, number(format_args!("line {} serial", it.line), s)));
        if ok.is_some() && !serials_seen.insert(s.as_str()) {
            f.add(at, format!("line {}: serial {s:?} listed twice", it.line));
        }
    }
    f.check(
        at.key("description"),
        name(
            format_args!("line {} description", it.line),
            &it.description,
        ),
    );
    if let Some(hs) = &it.hs_code {
        if !(4..=10).contains(&hs.len()) || !hs.bytes().all(|b| b.is_ascii_digit()) {
            f.add(
                at.key("hs_code"),
                format!("line {}: hs_code {hs:?} must be 4-10 digits", it.line),
            );
        } else if !heading_fits(it.category, hs) {
            f.add(
                at.key("hs_code"),
                format!(
                    "line {}: hs_code {hs:?} is not a heading of {} ({})",
                    it.line,
                    crate::linkage::category_name(it.category),
                    headings(it.category)
                ),
            );
        }
    }
    if !unit_fits(it.category, it.unit) {
        f.add(
            at.key("unit"),
            format!(
                "line {}: {} count in {}, not {}",
                it.line,
                crate::linkage::category_name(it.category),
                units(it.category),
                crate::linkage::unit_name(it.unit)
            ),
        );
    }
    att_fields(f, at, it);
    names(f, at, it);
}

/// A line's make, model and caliber: names, as a party's.
fn names(f: &mut Faults, at: At, it: &Item) {
    for (key, v) in [
        ("make", &it.make),
        ("model", &it.model),
        ("caliber", &it.caliber),
    ] {
        f.check(
            at.key(key),
            name(
                format_args!("line {} {key}", it.line),
                v.as_deref().unwrap_or(""),
            ),
        );
    }
}

/// The fields a line states for the ATT report (`crate::att`): a country
/// of manufacture that exists, a caliber in range, and a sub-category and
/// action on firearm lines only.
fn att_fields(f: &mut Faults, at: At, it: &Item) {
    if let Some(c) = &it.origin_country {
        let field = format!("line {} origin_country", it.line);
        f.check(at.key("origin_country"), country(&field, c));
    }
    if let Some(c) = it.caliber_mm
        && !(1..=crate::att::MAX_CALIBER_HUNDREDTHS).contains(&c)
    {
        f.add(
            at.key("caliber_mm"),
            format!("line {}: caliber_mm must be 0.01 to 200", it.line),
        );
    }
    if it.category != Category::Firearm {
        for (key, stated) in [
            ("att_subcategory", it.att_subcategory.is_some()),
            ("action", it.action.is_some()),
        ] {
            if stated {
                f.add(
                    at.key(key),
                    format!("line {}: {key} is stated for firearms only", it.line),
                );
            }
        }
    }
}

/// The two countries of a trade at the document's root: each known, and
/// not the same.
fn trade_countries(
    f: &mut Faults,
    first: (&str, &str),
    second: (&str, &str),
) -> Option<(Country, Country)> {
    let root = At::root();
    let a = f.check(root.key(first.0), country(first.0, first.1));
    let b = f.check(root.key(second.0), country(second.0, second.1));
    let (a, b) = a.zip(b)?;
    if a == b {
        f.add(
            root.key(second.0),
            "exporting_country and importing_country are the same",
        );
    }
    Some((a, b))
}

fn export(f: &mut Faults, d: &ExportLicense) {
    let root = At::root();
    let countries = trade_countries(
        f,
        ("exporting_country", &d.exporting_country),
        ("importing_country", &d.importing_country),
    );
    let mut transit = BTreeSet::new();
    let list = root.key("transit_countries");
    for (i, t) in d.transit_countries.iter().enumerate() {
        let at = list.index(i);
        let Some(c) = f.check(at, country("transit_countries", t)) else {
            continue;
        };
        if countries.is_some_and(|(exp, imp)| c == exp || c == imp) {
            f.add(
                at,
                format!("transit country {t} is the exporting or importing country"),
            );
        } else if !transit.insert(c) {
            f.add(at, format!("transit country {t} listed twice"));
        }
    }
    party(f, root.key("exporter"), "exporter", &d.exporter);
    party(f, root.key("importer"), "importer", &d.importer);
    match &d.end_user {
        Some(p) => party(f, root.key("end_user"), "end_user", p),
        None => f.add(root.key("end_user"), "an export license needs end_user"),
    }
    let end_use = d.end_use.as_deref().unwrap_or("");
    f.check(root.key("end_use"), free_text("end_use", end_use));
    let conditions = d.conditions.as_deref().unwrap_or("");
    f.check(root.key("conditions"), free_text("conditions", conditions));
    if let Some(c) = &d.end_user_certificate {
        crate::fields::end_user_certificate(f, root.key("end_user_certificate"), c);
    }
    for (field, list) in [
        ("brokers", &d.brokers),
        ("consignees", &d.consignees),
        ("carriers", &d.carriers),
    ] {
        let at = root.key(field);
        if list.len() > MAX_PARTIES {
            f.add(at, format!("{field}: more than {MAX_PARTIES}"));
            continue;
        }
        for (i, p) in list.iter().enumerate() {
            party(f, at.index(i), field, p);
        }
    }
    if let Some(v) = &d.value {
        money(f, root.key("value"), v);
    }
    let place = d.place_of_issue.as_deref().unwrap_or("");
    f.check(root.key("place_of_issue"), name("place_of_issue", place));
    let ic = root.key("import_certificate");
    match &d.import_certificate {
        None => f.add(ic, "an export license needs import_certificate"),
        Some(r) => {
            if r.authority.parse::<AuthorityId>().is_err() {
                f.add(
                    ic.key("authority"),
                    format!(
                        "import_certificate.authority {:?} is not an authority id",
                        r.authority
                    ),
                );
            }
            f.check(ic.key("number"), document_number(&r.number));
        }
    }
    items(f, &d.items);
}

fn import(f: &mut Faults, d: &ImportCertificate) {
    let root = At::root();
    trade_countries(
        f,
        ("importing_country", &d.importing_country),
        ("exporting_country", &d.exporting_country),
    );
    party(f, root.key("importer"), "importer", &d.importer);
    party(f, root.key("exporter"), "exporter", &d.exporter);
    if let Some(p) = &d.end_user {
        party(f, root.key("end_user"), "end_user", p);
    }
    let end_use = d.end_use.as_deref().unwrap_or("");
    f.check(root.key("end_use"), free_text("end_use", end_use));
    items(f, &d.items);
}

/// The export license a transit authorization or a delivery verification
/// is for: an authority id and a document number.
fn export_reference(f: &mut Faults, r: &crate::document::DocumentRef) {
    let at = At::root();
    let at = at.key("export_license");
    if r.authority.parse::<AuthorityId>().is_err() {
        f.add(
            at.key("authority"),
            format!(
                "export_license.authority {:?} is not an authority id",
                r.authority
            ),
        );
    }
    f.check(at.key("number"), document_number(&r.number));
}

fn delivery(f: &mut Faults, d: &DeliveryVerification) {
    let root = At::root();
    f.check(
        root.key("importing_country"),
        country("importing_country", &d.importing_country),
    );
    export_reference(f, &d.export_license);
    party(f, root.key("delivered_to"), "delivered_to", &d.delivered_to);
    let list = root.key("items");
    if d.items.is_empty() {
        return f.add(list, "no items");
    }
    if d.items.len() > MAX_ITEMS {
        return f.add(list, format!("more than {MAX_ITEMS} item lines"));
    }
    let mut lines = BTreeSet::new();
    for (i, l) in d.items.iter().enumerate() {
        let at = list.index(i);
        if !lines.insert(l.line) {
            f.add(at.key("line"), format!("duplicate line number {}", l.line));
        }
        if l.quantity == 0 || l.quantity > MAX_QUANTITY {
            f.add(
                at.key("quantity"),
                format!("line {}: quantity must be 1 to {MAX_QUANTITY}", l.line),
            );
        }
    }
}

/// A person named on a document (`prepared_by`, `signatory`).
fn person(f: &mut Faults, at: At, field: &str, p: &Person) {
    let name_at = at.key("name");
    if f.check(name_at, required(format_args!("{field}.name"), &p.name))
        .is_some()
    {
        f.check(name_at, name(format_args!("{field}.name"), &p.name));
    }
    if let Some(t) = &p.title {
        f.check(at.key("title"), name(format_args!("{field}.title"), t));
    }
}

/// The faults of the people named on a document or a status change.
pub fn attribution_faults(f: &mut Faults, a: &Attribution) {
    let root = At::root();
    for (field, p) in [("prepared_by", &a.prepared_by), ("signatory", &a.signatory)] {
        if let Some(p) = p {
            person(f, root.key(field), field, p);
        }
    }
}

/// The people named on a status change, checked alone.
pub fn validate_status_people(change: &StatusChange) -> Result<(), Invalid> {
    let mut f = Faults::new(1);
    attribution_faults(&mut f, &change.attribution());
    match f.into_vec().into_iter().next() {
        Some(first) => Err(Invalid(first.message)),
        None => Ok(()),
    }
}

/// The faults of a document's migration fields: a migrated document has an
/// original date of issue no later than its end of validity; a line's
/// `shipped_before` is at most its quantity; a document that is not
/// migrated carries neither.
pub fn migration_faults(f: &mut Faults, license: &License) {
    let root = At::root();
    let (migrated, original) = license.migration();
    let (_, until) = license.validity();
    let when = root.key("original_issue_date");
    match (migrated, original) {
        (true, None) => f.add(when, "a migrated document needs original_issue_date"),
        (false, Some(_)) => f.add(when, "original_issue_date is for migrated documents only"),
        (true, Some(d)) => {
            if let Some(d) = f.check(when, date("original_issue_date", d))
                && until.parse::<crate::Date>().is_ok_and(|u| d > u)
            {
                f.add(
                    when,
                    format!("original_issue_date {d} is after valid_until {until}"),
                );
            }
        }
        (false, None) => {}
    }
    let items = root.key("items");
    for (i, it) in license.items().iter().enumerate() {
        if it.shipped_before == 0 {
            continue;
        }
        let line = items.index(i);
        let at = line.key("shipped_before");
        if !migrated {
            f.add(
                at,
                format!(
                    "line {}: shipped_before is for migrated documents only",
                    it.line
                ),
            );
        } else if it.shipped_before > it.quantity {
            f.add(
                at,
                format!(
                    "line {}: shipped_before {} is above the quantity {}",
                    it.line, it.shipped_before, it.quantity
                ),
            );
        }
    }
}

/// Checks a document issued by an authority of `issuer`'s country: the
/// first of its faults ([`license_faults`]), whose message has always
/// named why a document is refused.
pub fn validate_license(license: &License, issuer: Country) -> Result<(), Invalid> {
    match license_faults(license, issuer, 1)
        .into_vec()
        .into_iter()
        .next()
    {
        Some(first) => Err(Invalid(first.message)),
        None => Ok(()),
    }
}

/// Every fault of a document issued by an authority of `issuer`'s country
/// (at most `limit` kept), in the order the rules run; none when it is valid.
pub fn license_faults(license: &License, issuer: Country, limit: usize) -> Faults {
    let mut f = Faults::new(limit);
    let root = At::root();
    f.check(root.key("number"), document_number(license.number()));
    let (from, until) = license.validity();
    validity(&mut f, from, until);
    match license {
        License::Export(d) => {
            export(&mut f, d);
            crate::temporary::faults(&mut f, d);
            crate::plan::faults(&mut f, d);
        }
        License::Import(d) => import(&mut f, d),
        License::Transit(d) => {
            f.check(
                root.key("transit_country"),
                country("transit_country", &d.transit_country),
            );
            export_reference(&mut f, &d.export_license);
            let entry = d.entry_point.as_deref().unwrap_or("");
            f.check(root.key("entry_point"), number("entry_point", entry));
            let exit = d.exit_point.as_deref().unwrap_or("");
            f.check(root.key("exit_point"), number("exit_point", exit));
        }
        License::Delivery(d) => delivery(&mut f, d),
        License::Denial(d) => crate::denial::faults(&mut f, d),
        License::EnduseRequest(d) => crate::enduse::request_faults(&mut f, d),
        License::EnduseAnswer(d) => crate::enduse::answer_faults(&mut f, d),
    }
    migration_faults(&mut f, license);
    attribution_faults(&mut f, &license.attribution());
    let field = match license {
        License::Export(_) => "exporting_country",
        License::Import(_) | License::Delivery(_) => "importing_country",
        License::Transit(_) => "transit_country",
        License::Denial(_) => "denying_country",
        License::EnduseRequest(_) => "exporting_country",
        License::EnduseAnswer(_) => "importing_country",
    };
    if license.issuing_country() != issuer.as_str() {
        f.add(
            root.key(field),
            format!(
                "{field} {} is not the issuing node's country {issuer}",
                license.issuing_country()
            ),
        );
    }
    f
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::document::*;

    pub use crate::sample::export_license as export_fixture;

    fn us() -> Country {
        "US".parse().expect("valid")
    }

    use crate::sample::party;

    #[test]
    fn invalid_documents() {
        type Edit = fn(&mut ExportLicense);
        let cases: &[(&str, Edit, &str)] = &[
            ("ok", |_| {}, ""),
            (
                "unknown country",
                |d| d.importing_country = "ZZ".into(),
                "unknown country",
            ),
            (
                "unknown transit",
                |d| d.transit_countries = vec!["QQ".into()],
                "unknown country",
            ),
            (
                "reversed validity",
                |d| d.valid_until = "2026-10-01".into(),
                "before valid_from",
            ),
            (
                "bad date",
                |d| d.valid_from = "2026-02-30".into(),
                "not a YYYY-MM-DD",
            ),
            ("no items", |d| d.items.clear(), "no items"),
            (
                "duplicate line",
                |d| {
                    let i = d.items[0].clone();
                    d.items.push(i)
                },
                "duplicate line",
            ),
            ("quantity 0", |d| d.items[0].quantity = 0, "quantity 0"),
            ("no end user", |d| d.end_user = None, "needs end_user"),
            (
                "value with a comma",
                |d| {
                    d.value = Some(crate::document::Money {
                        amount: "84,500.00".into(),
                        currency: "USD".into(),
                    })
                },
                "value.amount",
            ),
            (
                "lower-case currency",
                |d| {
                    d.value = Some(crate::document::Money {
                        amount: "84500.00".into(),
                        currency: "usd".into(),
                    })
                },
                "value.currency",
            ),
            (
                "end-user certificate without a date",
                |d| {
                    d.end_user_certificate = Some(crate::document::EndUserCertificate {
                        number: "EUC-1".into(),
                        date: "20 Oct".into(),
                        issued_by: "MX-SEDENA".into(),
                    })
                },
                "end_user_certificate.date",
            ),
            (
                "a carrier without a name",
                |d| d.carriers = vec![party("")],
                "carriers.name",
            ),
            (
                "a heading of another category",
                |d| d.items[0].hs_code = Some("930630".into()),
                "not a heading of firearm (9301-9303)",
            ),
            (
                "an explosive heading on ammunition",
                |d| {
                    d.items[0].category = Category::Ammunition;
                    d.items[0].unit = Unit::Rounds;
                    d.items[0].hs_code = Some("3601".into());
                },
                "not a heading of ammunition (9306)",
            ),
            (
                "pistols by weight",
                |d| d.items[0].unit = Unit::Kg,
                "firearm count in units, not kg",
            ),
            (
                "explosives in rounds",
                |d| {
                    d.items[0].category = Category::Explosive;
                    d.items[0].hs_code = Some("360200".into());
                    d.items[0].unit = Unit::Rounds;
                },
                "explosive count in kg, not rounds",
            ),
            (
                "absurd quantity",
                |d| d.items[0].quantity = u64::MAX,
                "is above",
            ),
            (
                "too many serials",
                |d| d.items[0].quantity = 1,
                "serials for a quantity",
            ),
            (
                "no import certificate",
                |d| d.import_certificate = None,
                "import_certificate",
            ),
            (
                "foreign country",
                |d| d.exporting_country = "CA".into(),
                "issuing node's country",
            ),
            (
                "query mark in number",
                |d| d.number = "A?B".into(),
                "number",
            ),
            ("percent in number", |d| d.number = "A%2FB".into(), "number"),
            ("dot-dot number", |d| d.number = "..".into(), "number"),
            // National references use slashes.
            (
                "slash in number",
                |d| d.number = "DCAM/PI/2026/0042".into(),
                "",
            ),
            (
                "empty exporter",
                |d| d.exporter.name = " ".into(),
                "exporter.name",
            ),
        ];
        for (name, edit, want) in cases {
            let mut d = export_fixture();
            edit(&mut d);
            let got = validate_license(&License::Export(d), us());
            match (got, *want) {
                (Ok(()), "") => {}
                (Err(Invalid(msg)), w) if !w.is_empty() => {
                    assert!(msg.contains(w), "{name}: {msg:?} lacks {w:?}")
                }
                (got, _) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn text_rules() {
        type Rule = fn(&'static str, &str) -> Result<(), Invalid>;
        let long = |n: usize| "é".repeat(n);
        // (rule, value, ok)
        let cases: Vec<(&str, Rule, String, bool)> = vec![
            ("number", number, "AC-1000".into(), true),
            ("number", number, String::new(), true),
            ("number", number, long(64), true),
            ("number", number, long(65), false),
            ("number", number, ".".into(), false),
            ("number", number, "..".into(), false),
            ("number", number, "...".into(), true),
            ("number", number, "A\nB".into(), false),
            ("name", name, "Importadora del Norte SA".into(), true),
            ("name", name, "Policía Estatal – Nuevo León".into(), true),
            ("name", name, long(200), true),
            ("name", name, long(201), false),
            ("name", name, "Acme\u{7F}".into(), false),
            ("name", name, "Acme\u{85}".into(), false),
            ("name", name, "Acme\u{9B}31m".into(), false),
            ("name", name, "\u{1B}[31mAcme".into(), false),
            ("name", name, "Acme\u{200B}".into(), false),
            ("name", name, "Acme\u{200F}".into(), false),
            ("name", name, "\u{202E}emcA".into(), false),
            ("name", name, "Acme\u{2060}".into(), false),
            ("name", name, "Acme\u{2064}".into(), false),
            ("name", name, "\u{2066}Acme\u{2069}".into(), false),
            ("name", name, "\u{FEFF}Acme".into(), false),
            ("name", name, "Acme\u{2065}".into(), false),
            ("name", name, "Acme\u{2010}".into(), true),
            ("free_text", free_text, long(2000), true),
            ("free_text", free_text, long(2001), false),
            ("free_text", free_text, "line\r\nbreak".into(), false),
            ("free_text", free_text, "tab\there".into(), false),
        ];
        for (rule, f, value, ok) in &cases {
            let got = f("field", value);
            assert_eq!(got.is_ok(), *ok, "{rule}({value:?}): {got:?}");
            if let Err(Invalid(msg)) = got {
                assert!(msg.starts_with("field"), "{msg}");
            }
        }
    }

    /// Issue 28 item 8: characters that were still accepted in text, and
    /// the edges of every range of the rule (Unicode 16.0's
    /// Default_Ignorable_Code_Point and Bidi_Control, U+2028/2029,
    /// U+FFF9-FFFB), against their neighbours, which stay accepted.
    #[test]
    fn every_default_ignorable_and_bidi_control_is_refused() {
        let refused: &[(u32, u32)] = &[
            (0x00, 0x1F),
            (0x7F, 0x9F),
            (0xAD, 0xAD),
            (0x34F, 0x34F),
            (0x61C, 0x61C),
            (0x115F, 0x1160),
            (0x17B4, 0x17B5),
            (0x180B, 0x180F),
            (0x200B, 0x200F),
            (0x2028, 0x2029),
            (0x202A, 0x202E),
            (0x2060, 0x206F),
            (0x3164, 0x3164),
            (0xFE00, 0xFE0F),
            (0xFEFF, 0xFEFF),
            (0xFFA0, 0xFFA0),
            (0xFFF0, 0xFFFB),
            (0x1BCA0, 0x1BCA3),
            (0x1D173, 0x1D17A),
            (0xE0000, 0xE0FFF),
        ];
        for &(from, to) in refused {
            for cp in from..=to {
                let c = char::from_u32(cp).expect("a scalar value");
                assert!(is_refused_char(c), "U+{cp:04X}");
                assert!(name("field", &format!("Acme{c}")).is_err(), "U+{cp:04X}");
            }
            // The neighbours of each range are ordinary text.
            for cp in [from.wrapping_sub(1), to + 1] {
                let Some(c) = char::from_u32(cp) else {
                    continue;
                };
                if refused.iter().any(|&(a, b)| (a..=b).contains(&cp)) {
                    continue;
                }
                assert!(!is_refused_char(c), "U+{cp:04X} is refused");
            }
        }
        // The ones the issue found accepted, one by one.
        for c in [
            '\u{061C}',
            '\u{2028}',
            '\u{2029}',
            '\u{E0000}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{00AD}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{034F}',
            '\u{FFF9}',
            '\u{FFFA}',
            '\u{FFFB}',
        ] {
            assert!(
                free_text("end_use", &format!("law{c}enforcement")).is_err(),
                "{c:?}"
            );
        }
        // Real names stay accepted: accents, CJK, Arabic, Hangul, emoji.
        for ok in [
            "Policía – León",
            "東京都",
            "وزارة الدفاع",
            "국방부",
            "Ñandú 🔫",
        ] {
            assert!(name("field", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn text_rules_apply_to_every_field_of_a_license() {
        type Edit = fn(&mut ExportLicense);
        let cases: &[(&str, Edit, &str)] = &[
            ("number dot", |d| d.number = ".".into(), "number"),
            ("number dotdot", |d| d.number = "..".into(), "number"),
            (
                "party id",
                |d| d.exporter.id = Some("X".repeat(65)),
                "exporter.id",
            ),
            (
                "party name",
                |d| d.importer.name = "N".repeat(201),
                "importer.name",
            ),
            (
                "party name bidi",
                |d| d.importer.name = "SA \u{202E}etroN".into(),
                "importer.name",
            ),
            (
                "address newline",
                |d| d.exporter.address = Some("1 Main St\nSpringfield".into()),
                "exporter.address",
            ),
            (
                "serial dot",
                |d| d.items[0].serials[0] = ".".into(),
                "serial",
            ),
            (
                "serial long",
                |d| d.items[0].serials[0] = "S".repeat(65),
                "serial",
            ),
            ("make", |d| d.items[0].make = Some("M".repeat(201)), "make"),
            (
                "model control",
                |d| d.items[0].model = Some("P9\u{7}".into()),
                "model",
            ),
            (
                "caliber",
                |d| d.items[0].caliber = Some("\u{200D}9mm".into()),
                "caliber",
            ),
            (
                "description",
                |d| d.items[0].description = "D".repeat(201),
                "description",
            ),
            ("end use", |d| d.end_use = Some("E".repeat(2001)), "end_use"),
            (
                "conditions",
                |d| d.conditions = Some("no\u{1B}[2J re-export".into()),
                "conditions",
            ),
            (
                "certificate number",
                |d| {
                    if let Some(r) = d.import_certificate.as_mut() {
                        r.number = "..".into()
                    }
                },
                "number",
            ),
            (
                "year before 2000",
                |d| d.valid_from = "1999-12-31".into(),
                "valid_from",
            ),
            (
                "year after 2100",
                |d| d.valid_until = "2101-01-01".into(),
                "valid_until",
            ),
            (
                "long end use ok",
                |d| d.end_use = Some("E".repeat(2000)),
                "",
            ),
            (
                "years at the bounds ok",
                |d| {
                    d.valid_from = "2000-01-01".into();
                    d.valid_until = "2100-12-31".into()
                },
                "",
            ),
        ];
        for (name, edit, want) in cases {
            let mut d = export_fixture();
            edit(&mut d);
            let got = validate_license(&License::Export(d), us());
            match (got, *want) {
                (Ok(()), "") => {}
                (Err(Invalid(msg)), w) if !w.is_empty() => {
                    assert!(msg.contains(w), "{name}: {msg:?} lacks {w:?}")
                }
                (got, _) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
        let transit = |entry: &str| {
            License::Transit(TransitAuthorization {
                migrated: false,
                original_issue_date: None,
                prepared_by: None,
                signatory: None,
                number: "TR-1".into(),
                transit_country: "GT".into(),
                export_license: DocumentRef {
                    authority: "US-DDTC".into(),
                    number: "EXP-1".into(),
                },
                entry_point: Some(entry.into()),
                exit_point: None,
                valid_from: "2026-01-01".into(),
                valid_until: "2026-02-01".into(),
                decision: Decision::Authorized,
            })
        };
        let gt: Country = "GT".parse().expect("valid");
        assert!(validate_license(&transit("GTPRQ"), gt).is_ok());
        assert!(validate_license(&transit(".."), gt).is_err());
        assert!(validate_license(&transit(&"P".repeat(65)), gt).is_err());
    }

    #[test]
    fn status_and_shipment_text() {
        let change = |reason: &str| StatusChange {
            prepared_by: None,
            signatory: None,
            number: "EXP-1".into(),
            status: Status::Suspended,
            reason: reason.into(),
            effective_at_ms: 0,
        };
        assert!(validate_status_text(&change("end user under investigation")).is_ok());
        assert!(validate_status_text(&change(&"r".repeat(2001))).is_err());
        assert!(validate_status_text(&change("x\u{1B}]8;;evil\u{7}")).is_err());

        let record = || ShipmentRecord {
            license: DocumentRef {
                authority: "US-DDTC".into(),
                number: "EXP-1".into(),
            },
            checkpoint: Checkpoint {
                country: "MX".into(),
                port: "MXNLD".into(),
                direction: Direction::Entry,
            },
            date: "2026-12-01".into(),
            exporter: Some("Acme Arms Inc.".into()),
            importer: None,
            items: vec![ShipmentLine {
                line: 1,
                quantity: 1,
                serials: vec!["AC1000".into()],
            }],
            verdict: "accept".into(),
            failed_rules: vec![],
        };
        type Edit = fn(&mut ShipmentRecord);
        let cases: &[(&str, Edit, bool)] = &[
            ("ok", |_| {}, true),
            ("port dotdot", |r| r.checkpoint.port = "..".into(), false),
            ("port long", |r| r.checkpoint.port = "P".repeat(65), false),
            (
                "serial control",
                |r| r.items[0].serials[0] = "AC\u{0}1".into(),
                false,
            ),
            ("serial dot", |r| r.items[0].serials[0] = ".".into(), false),
            (
                "exporter bidi",
                |r| r.exporter = Some("\u{202E}emcA".into()),
                false,
            ),
            (
                "importer long",
                |r| r.importer = Some("I".repeat(201)),
                false,
            ),
            (
                "license number",
                |r| r.license.number = "N\u{FEFF}".into(),
                false,
            ),
        ];
        for (name, edit, ok) in cases {
            let mut r = record();
            edit(&mut r);
            let got = validate_shipment_text(&r);
            assert_eq!(got.is_ok(), *ok, "{name}: {got:?}");
        }
    }
}
