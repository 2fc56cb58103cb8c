//! The `invalid_document` and `invalid_amendment` rules of CONTRACT.md.
//!
//! The same checks run on a document issued through the API and on one
//! received from another node, so a peer cannot plant what the API refuses.

use crate::date::Date;
use crate::document::{ExportLicense, ImportCertificate, Item, License, Party};
use crate::id::{AuthorityId, Country};
use std::collections::BTreeSet;

/// A well-formed document that breaks a rule; the message says which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

const MAX_TEXT: usize = 512;
const MAX_ITEMS: usize = 1000;
const MAX_SERIALS: usize = 100_000;
/// Largest quantity of one line: far above any real consignment (a trillion
/// rounds), far below where sums of a few lines could overflow.
pub const MAX_QUANTITY: u64 = 1_000_000_000_000;

fn country(field: &str, value: &str) -> Result<Country, Invalid> {
    value
        .parse()
        .or_else(|_| invalid(format!("{field}: unknown country code {value:?}")))
}

fn text(field: &str, value: &str, required: bool) -> Result<(), Invalid> {
    if required && value.trim().is_empty() {
        return invalid(format!("{field} is empty"));
    }
    if value.len() > MAX_TEXT {
        return invalid(format!("{field} is longer than {MAX_TEXT} bytes"));
    }
    Ok(())
}

/// A document number: 1-64 printable ASCII characters, no `/` (it is a URL segment).
pub fn document_number(value: &str) -> Result<(), Invalid> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b'?' && b != b'#' && b != b'%');
    if ok {
        Ok(())
    } else {
        invalid(format!(
            "number {value:?} must be 1-64 printable ASCII characters without / ? # %"
        ))
    }
}

fn party(field: &str, p: &Party) -> Result<(), Invalid> {
    text(&format!("{field}.name"), &p.name, true)?;
    text(&format!("{field}.id"), p.id.as_deref().unwrap_or(""), false)?;
    text(
        &format!("{field}.address"),
        p.address.as_deref().unwrap_or(""),
        false,
    )
}

fn validity(from: &str, until: &str) -> Result<(Date, Date), Invalid> {
    let f: Date = from
        .parse()
        .or_else(|_| invalid(format!("valid_from {from:?} is not a YYYY-MM-DD date")))?;
    let u: Date = until
        .parse()
        .or_else(|_| invalid(format!("valid_until {until:?} is not a YYYY-MM-DD date")))?;
    if u < f {
        return invalid(format!("valid_until {until} is before valid_from {from}"));
    }
    Ok((f, u))
}

fn items(items: &[Item]) -> Result<(), Invalid> {
    if items.is_empty() {
        return invalid("no items");
    }
    if items.len() > MAX_ITEMS {
        return invalid(format!("more than {MAX_ITEMS} item lines"));
    }
    let mut lines = BTreeSet::new();
    let mut serials_seen = BTreeSet::new();
    for it in items {
        if !lines.insert(it.line) {
            return invalid(format!("duplicate line number {}", it.line));
        }
        if it.quantity == 0 {
            return invalid(format!("line {}: quantity 0", it.line));
        }
        if it.quantity > MAX_QUANTITY {
            return invalid(format!(
                "line {}: quantity {} is above {MAX_QUANTITY}",
                it.line, it.quantity
            ));
        }
        if it.serials.len() as u64 > it.quantity {
            return invalid(format!(
                "line {}: {} serials for a quantity of {}",
                it.line,
                it.serials.len(),
                it.quantity
            ));
        }
        if it.serials.len() > MAX_SERIALS {
            return invalid(format!("line {}: more than {MAX_SERIALS} serials", it.line));
        }
        for s in &it.serials {
            text(&format!("line {} serial", it.line), s, true)?;
            if !serials_seen.insert(s.as_str()) {
                return invalid(format!("line {}: serial {s:?} listed twice", it.line));
            }
        }
        text(
            &format!("line {} description", it.line),
            &it.description,
            false,
        )?;
        if let Some(hs) = &it.hs_code
            && (!(4..=10).contains(&hs.len()) || !hs.bytes().all(|b| b.is_ascii_digit()))
        {
            return invalid(format!(
                "line {}: hs_code {hs:?} must be 4-10 digits",
                it.line
            ));
        }
        for (name, v) in [
            ("make", &it.make),
            ("model", &it.model),
            ("caliber", &it.caliber),
        ] {
            text(
                &format!("line {} {name}", it.line),
                v.as_deref().unwrap_or(""),
                false,
            )?;
        }
    }
    Ok(())
}

fn export(d: &ExportLicense) -> Result<(), Invalid> {
    let exp = country("exporting_country", &d.exporting_country)?;
    let imp = country("importing_country", &d.importing_country)?;
    if exp == imp {
        return invalid("exporting_country and importing_country are the same");
    }
    let mut transit = BTreeSet::new();
    for t in &d.transit_countries {
        let c = country("transit_countries", t)?;
        if c == exp || c == imp {
            return invalid(format!(
                "transit country {t} is the exporting or importing country"
            ));
        }
        if !transit.insert(c) {
            return invalid(format!("transit country {t} listed twice"));
        }
    }
    party("exporter", &d.exporter)?;
    party("importer", &d.importer)?;
    if let Some(p) = &d.end_user {
        party("end_user", p)?;
    }
    text("end_use", d.end_use.as_deref().unwrap_or(""), false)?;
    text("conditions", d.conditions.as_deref().unwrap_or(""), false)?;
    match &d.import_certificate {
        None => return invalid("an export license needs import_certificate"),
        Some(r) => {
            r.authority.parse::<AuthorityId>().or_else(|_| {
                invalid(format!(
                    "import_certificate.authority {:?} is not an authority id",
                    r.authority
                ))
            })?;
            document_number(&r.number)?;
        }
    }
    items(&d.items)
}

fn import(d: &ImportCertificate) -> Result<(), Invalid> {
    let imp = country("importing_country", &d.importing_country)?;
    let exp = country("exporting_country", &d.exporting_country)?;
    if exp == imp {
        return invalid("exporting_country and importing_country are the same");
    }
    party("importer", &d.importer)?;
    party("exporter", &d.exporter)?;
    if let Some(p) = &d.end_user {
        party("end_user", p)?;
    }
    text("end_use", d.end_use.as_deref().unwrap_or(""), false)?;
    items(&d.items)
}

/// Checks a document issued by an authority of `issuer`'s country.
pub fn validate_license(license: &License, issuer: Country) -> Result<(), Invalid> {
    document_number(license.number())?;
    let (from, until) = license.validity();
    validity(from, until)?;
    match license {
        License::Export(d) => export(d)?,
        License::Import(d) => import(d)?,
        License::Transit(d) => {
            country("transit_country", &d.transit_country)?;
            d.export_license
                .authority
                .parse::<AuthorityId>()
                .or_else(|_| {
                    invalid(format!(
                        "export_license.authority {:?} is not an authority id",
                        d.export_license.authority
                    ))
                })?;
            document_number(&d.export_license.number)?;
            text("entry_point", d.entry_point.as_deref().unwrap_or(""), false)?;
            text("exit_point", d.exit_point.as_deref().unwrap_or(""), false)?;
        }
    }
    let field = match license {
        License::Export(_) => "exporting_country",
        License::Import(_) => "importing_country",
        License::Transit(_) => "transit_country",
    };
    if license.issuing_country() != issuer.as_str() {
        return invalid(format!(
            "{field} {} is not the issuing node's country {issuer}",
            license.issuing_country()
        ));
    }
    Ok(())
}

fn amend_invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    invalid(msg)
}

fn same_items_lowered(old: &[Item], new: &[Item]) -> Result<(), Invalid> {
    if old.len() != new.len() {
        return amend_invalid("items cannot be added or removed");
    }
    for n in new {
        let Some(o) = old.iter().find(|o| o.line == n.line) else {
            return amend_invalid(format!("line {} is not on the license", n.line));
        };
        if n.quantity > o.quantity {
            return amend_invalid(format!(
                "line {}: quantity {} raises the licensed {}",
                n.line, n.quantity, o.quantity
            ));
        }
        let same = Item {
            quantity: o.quantity,
            ..n.clone()
        };
        if &same != o {
            return amend_invalid(format!("line {}: only the quantity may be lowered", n.line));
        }
    }
    Ok(())
}

/// Checks an amendment against the current version, after
/// [`validate_license`] accepted the new version on its own. Following the
/// OAS/CICAD Model Regulations, an amendment never extends validity nor raises
/// a quantity; only routes, ports, dates, carriers and conditions change.
pub fn validate_amendment(old: &License, new: &License) -> Result<(), Invalid> {
    if old.kind() != new.kind() {
        return amend_invalid("an amendment cannot change the kind");
    }
    if old.number() != new.number() {
        return amend_invalid("an amendment cannot change the number");
    }
    let (of, ou) = old.validity();
    let (nf, nu) = new.validity();
    if nu > ou || nf < of {
        return amend_invalid(format!(
            "validity {nf}..{nu} extends the licensed {of}..{ou}"
        ));
    }
    match (old, new) {
        (License::Export(o), License::Export(n)) => {
            if o.exporting_country != n.exporting_country
                || o.importing_country != n.importing_country
            {
                return amend_invalid("countries other than transit cannot change");
            }
            if o.exporter != n.exporter
                || o.importer != n.importer
                || o.end_user != n.end_user
                || o.end_use != n.end_use
            {
                return amend_invalid("parties and end use cannot change");
            }
            if o.import_certificate != n.import_certificate {
                return amend_invalid("the import certificate cannot change");
            }
            if o.shipments != n.shipments {
                return amend_invalid("single or partial shipments cannot change");
            }
            same_items_lowered(&o.items, &n.items)
        }
        (License::Import(o), License::Import(n)) => {
            if o.exporting_country != n.exporting_country
                || o.importing_country != n.importing_country
            {
                return amend_invalid("countries cannot change");
            }
            if o.exporter != n.exporter
                || o.importer != n.importer
                || o.end_user != n.end_user
                || o.end_use != n.end_use
            {
                return amend_invalid("parties and end use cannot change");
            }
            same_items_lowered(&o.items, &n.items)
        }
        (License::Transit(o), License::Transit(n)) => {
            if o.transit_country != n.transit_country || o.export_license != n.export_license {
                return amend_invalid("the transit country and export license cannot change");
            }
            if o.decision != n.decision {
                return amend_invalid("the decision cannot change; issue a new document");
            }
            Ok(())
        }
        _ => amend_invalid("an amendment cannot change the kind"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::document::*;

    pub fn export_fixture() -> ExportLicense {
        ExportLicense {
            number: "EXP-2026-0001".into(),
            exporting_country: "US".into(),
            importing_country: "MX".into(),
            transit_countries: vec!["GT".into()],
            exporter: Party {
                name: "Acme Arms Inc.".into(),
                id: None,
                address: None,
            },
            importer: Party {
                name: "Importadora del Norte SA".into(),
                id: None,
                address: None,
            },
            end_user: None,
            end_use: Some("law enforcement".into()),
            items: vec![Item {
                line: 1,
                category: Category::Firearm,
                description: "pistol".into(),
                hs_code: Some("930200".into()),
                make: None,
                model: None,
                caliber: None,
                quantity: 100,
                unit: Unit::Units,
                serials: vec!["AC1000".into(), "AC1001".into()],
            }],
            valid_from: "2026-11-01".into(),
            valid_until: "2027-04-30".into(),
            import_certificate: Some(DocumentRef {
                authority: "MX-SEDENA".into(),
                number: "IC-2026-0042".into(),
            }),
            shipments: Shipments::Partial,
            conditions: None,
        }
    }

    fn us() -> Country {
        "US".parse().expect("valid")
    }

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
            ("slash in number", |d| d.number = "A/B".into(), "number"),
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
    fn amendments() {
        type Edit = fn(&mut ExportLicense);
        let cases: &[(&str, Edit, bool)] = &[
            ("unchanged", |_| {}, true),
            ("lower quantity", |d| d.items[0].quantity = 50, true),
            (
                "new transit route",
                |d| d.transit_countries = vec!["HN".into()],
                true,
            ),
            (
                "shorter validity",
                |d| d.valid_until = "2027-01-31".into(),
                true,
            ),
            (
                "conditions",
                |d| d.conditions = Some("carrier: X".into()),
                true,
            ),
            (
                "extend validity",
                |d| d.valid_until = "2027-05-01".into(),
                false,
            ),
            (
                "earlier start",
                |d| d.valid_from = "2026-10-01".into(),
                false,
            ),
            ("raise quantity", |d| d.items[0].quantity = 101, false),
            (
                "change importer",
                |d| d.importer.name = "Other SA".into(),
                false,
            ),
            (
                "change importing country",
                |d| d.importing_country = "CA".into(),
                false,
            ),
            (
                "change item model",
                |d| d.items[0].model = Some("P10".into()),
                false,
            ),
            (
                "add item",
                |d| {
                    let mut i = d.items[0].clone();
                    i.line = 2;
                    d.items.push(i)
                },
                false,
            ),
            (
                "single shipment",
                |d| d.shipments = Shipments::Single,
                false,
            ),
        ];
        let old = License::Export(export_fixture());
        for (name, edit, ok) in cases {
            let mut d = export_fixture();
            edit(&mut d);
            let got = validate_amendment(&old, &License::Export(d));
            assert_eq!(got.is_ok(), *ok, "{name}: {got:?}");
        }
    }
}
