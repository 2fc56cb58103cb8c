//! The `invalid_amendment` rules of docs/API.md: what a new version of a
//! document may change (validity may shorten, transit countries may be
//! removed, quantities may be lowered, carriers, consignees, ports and points
//! may change) and what stays as issued. The document itself is checked by
//! [`crate::validate`] first.

use crate::document::{ExportLicense, ImportCertificate, Item, License, LicenseKind, Party};
use crate::validate::Invalid;

fn amend_invalid<T>(msg: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(msg.into()))
}

/// What an export license and an import certificate both say of a trade,
/// which no amendment changes: its two countries, its parties, its end use.
#[derive(PartialEq)]
struct Trade<'a> {
    exporting: &'a str,
    importing: &'a str,
    exporter: &'a Party,
    importer: &'a Party,
    end_user: &'a Option<Party>,
    end_use: &'a Option<String>,
}

impl<'a> Trade<'a> {
    fn of_export(l: &'a ExportLicense) -> Trade<'a> {
        Trade {
            exporting: &l.exporting_country,
            importing: &l.importing_country,
            exporter: &l.exporter,
            importer: &l.importer,
            end_user: &l.end_user,
            end_use: &l.end_use,
        }
    }
    fn of_import(c: &'a ImportCertificate) -> Trade<'a> {
        Trade {
            exporting: &c.exporting_country,
            importing: &c.importing_country,
            exporter: &c.exporter,
            importer: &c.importer,
            end_user: &c.end_user,
            end_use: &c.end_use,
        }
    }
}

/// `old` and `new` name the same trade; `countries` is the refusal when
/// a country changed.
fn same_trade(old: Trade, new: Trade, countries: &str) -> Result<(), Invalid> {
    if (old.exporting, old.importing) != (new.exporting, new.importing) {
        return amend_invalid(countries);
    }
    if old != new {
        return refused(LicenseKind::Export, "/exporter");
    }
    Ok(())
}

fn same_items_lowered(old: &[Item], new: &[Item]) -> Result<(), Invalid> {
    if old.len() != new.len() {
        return amend_invalid(reason(LicenseKind::Export, "/items"));
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
/// [`crate::validate::validate_license`] accepted the new version on its own. Following the
/// OAS/CICAD Model Regulations, an amendment never extends validity nor raises
/// a quantity; only transit routes (shrinking), ports, dates (shortening), carriers
/// and consignees change (docs/API.md `invalid_amendment`).
pub fn validate_amendment(old: &License, new: &License) -> Result<(), Invalid> {
    if old.kind() != new.kind() {
        return amend_invalid("an amendment cannot change the kind");
    }
    if old.number() != new.number() {
        return amend_invalid("an amendment cannot change the number");
    }
    crate::provenance::same_migration(old, new)?;
    let (of, ou) = old.validity();
    let (nf, nu) = new.validity();
    if nu > ou || nf < of {
        return amend_invalid(format!(
            "validity {nf}..{nu} extends the licensed {of}..{ou}"
        ));
    }
    match (old, new) {
        (License::Export(o), License::Export(n)) => {
            same_trade(
                Trade::of_export(o),
                Trade::of_export(n),
                reason(LicenseKind::Export, "/exporting_country"),
            )?;
            if o.import_certificate != n.import_certificate {
                return refused(LicenseKind::Export, "/import_certificate");
            }
            // Routes only shrink: a country added after issue never had the
            // chance to object (and off-route alerts rely on it).
            if let Some(added) = n
                .transit_countries
                .iter()
                .find(|c| !o.transit_countries.contains(c))
            {
                return amend_invalid(format!(
                    "transit country {added} cannot be added; transit countries may only be removed"
                ));
            }
            if o.conditions != n.conditions {
                return refused(LicenseKind::Export, "/conditions");
            }
            // Carriers and consignees are shipment data and may change;
            // who brokers, what it is worth and where it was issued may not.
            if o.brokers != n.brokers {
                return refused(LicenseKind::Export, "/brokers");
            }
            if o.end_user_certificate != n.end_user_certificate {
                return refused(LicenseKind::Export, "/end_user_certificate");
            }
            if o.value != n.value {
                return refused(LicenseKind::Export, "/value");
            }
            if o.place_of_issue != n.place_of_issue {
                return refused(LicenseKind::Export, "/place_of_issue");
            }
            if o.shipments != n.shipments {
                return refused(LicenseKind::Export, "/shipments");
            }
            if o.temporary.as_ref().map(|t| t.purpose) != n.temporary.as_ref().map(|t| t.purpose) {
                return refused(LicenseKind::Export, "/temporary");
            }
            same_items_lowered(&o.items, &n.items)
        }
        (License::Import(o), License::Import(n)) => {
            same_trade(
                Trade::of_import(o),
                Trade::of_import(n),
                reason(LicenseKind::Import, "/exporting_country"),
            )?;
            if o.single_use != n.single_use {
                return refused(LicenseKind::Import, "/single_use");
            }
            same_items_lowered(&o.items, &n.items)
        }
        (License::Transit(o), License::Transit(n)) => {
            if o.transit_country != n.transit_country || o.export_license != n.export_license {
                return refused(LicenseKind::Transit, "/export_license");
            }
            if o.decision != n.decision {
                return refused(LicenseKind::Transit, "/decision");
            }
            Ok(())
        }
        (License::Delivery(_), License::Delivery(_)) => refused(LicenseKind::Delivery, ""),
        (License::Denial(_), License::Denial(_)) => refused(LicenseKind::Denial, ""),
        (License::EnduseRequest(_), License::EnduseRequest(_)) => {
            refused(LicenseKind::EnduseRequest, "")
        }
        (License::EnduseAnswer(_), License::EnduseAnswer(_)) => {
            refused(LicenseKind::EnduseAnswer, "")
        }
        _ => amend_invalid("an amendment cannot change the kind"),
    }
}

// ------------------------------------------------------------------ what may change

/// How an amendment may change what sits at a JSON pointer of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Stays as issued.
    Frozen,
    /// May change to anything the document rules accept.
    Free,
    /// May only be lowered, and never below what is already used.
    Lower,
    /// May only move later (`valid_from`).
    Later,
    /// May only move earlier (`valid_until`).
    Earlier,
    /// Entries may be removed, none added (an export's transit countries).
    RemoveOnly,
}

/// One rule of [`amendable`]: what an amendment may do at `pointer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Amendable {
    /// An RFC 6901 pointer into the document, `*` standing for any array
    /// index (`/items/*/quantity`); `""` is the whole document.
    pub pointer: &'static str,
    pub change: Change,
    /// Why, as [`validate_amendment`] says it when a change breaks the rule.
    pub reason: &'static str,
}

const fn rule(pointer: &'static str, change: Change, reason: &'static str) -> Amendable {
    Amendable {
        pointer,
        change,
        reason,
    }
}

use Change::{Earlier, Free, Frozen, Later, Lower, RemoveOnly};

const PARTIES: &str = "parties and end use cannot change";
const VALIDITY: &str = "validity may only shorten (valid_from later, valid_until earlier)";
const KIND: &str = "an amendment cannot change the kind";
const NUMBER: &str = "an amendment cannot change the number";
const MIGRATION: &str = "migrated and original_issue_date cannot change";
const ITEMS: &str = "items cannot be added or removed";
const LINE: &str = "only the quantity may be lowered";
const LOWER: &str = "a quantity may only be lowered, never below what is already used";

/// Every amendment kind shares these.
const COMMON: [Amendable; 6] = [
    rule("/kind", Frozen, KIND),
    rule("/number", Frozen, NUMBER),
    rule("/valid_from", Later, VALIDITY),
    rule("/valid_until", Earlier, VALIDITY),
    rule("/migrated", Frozen, MIGRATION),
    rule("/original_issue_date", Frozen, MIGRATION),
];

const EXPORT: [Amendable; 25] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    rule(
        "/exporting_country",
        Frozen,
        "countries other than transit cannot change",
    ),
    rule(
        "/importing_country",
        Frozen,
        "countries other than transit cannot change",
    ),
    rule(
        "/transit_countries",
        RemoveOnly,
        "transit countries may only be removed",
    ),
    rule("/exporter", Frozen, PARTIES),
    rule("/importer", Frozen, PARTIES),
    rule("/end_user", Frozen, PARTIES),
    rule("/end_use", Frozen, PARTIES),
    rule(
        "/import_certificate",
        Frozen,
        "the import certificate cannot change",
    ),
    rule("/conditions", Frozen, "the conditions cannot change"),
    rule("/brokers", Frozen, "brokers cannot change"),
    rule(
        "/end_user_certificate",
        Frozen,
        "the end-user certificate cannot change",
    ),
    rule("/value", Frozen, "the value cannot change"),
    rule(
        "/place_of_issue",
        Frozen,
        "the place of issue cannot change",
    ),
    rule(
        "/shipments",
        Frozen,
        "single or partial shipments cannot change",
    ),
    rule(
        "/carriers",
        Free,
        "carriers are shipment data and may change",
    ),
    rule(
        "/consignees",
        Free,
        "consignees are shipment data and may change",
    ),
    rule(
        "/planned_shipments",
        Free,
        "planned shipments are shipment data and may change",
    ),
    rule(
        "/temporary",
        Frozen,
        "a temporary export stays temporary, for its purpose",
    ),
    // Moving it is the issuer's call (a repair that took longer), signed
    // and kept in the history like any amendment.
    rule("/temporary/return_by", Free, "the return date may change"),
];

const IMPORT: [Amendable; 12] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    rule("/exporting_country", Frozen, "countries cannot change"),
    rule("/importing_country", Frozen, "countries cannot change"),
    rule("/exporter", Frozen, PARTIES),
    rule("/importer", Frozen, PARTIES),
    rule("/end_user", Frozen, PARTIES),
    rule("/end_use", Frozen, PARTIES),
];

const IMPORT_MORE: [Amendable; 1] = [rule("/single_use", Frozen, "single_use cannot change")];

const ITEM_LINES: [Amendable; 3] = [
    rule("/items", Frozen, ITEMS),
    rule("/items/*", Frozen, LINE),
    rule("/items/*/quantity", Lower, LOWER),
];

const TRANSIT: [Amendable; 11] = [
    COMMON[0],
    COMMON[1],
    COMMON[2],
    COMMON[3],
    COMMON[4],
    COMMON[5],
    rule(
        "/transit_country",
        Frozen,
        "the transit country and export license cannot change",
    ),
    rule(
        "/export_license",
        Frozen,
        "the transit country and export license cannot change",
    ),
    rule(
        "/decision",
        Frozen,
        "the decision cannot change; issue a new document",
    ),
    rule("/entry_point", Free, "ports may change"),
    rule("/exit_point", Free, "ports may change"),
];

const DELIVERY: [Amendable; 1] = [rule(
    "",
    Frozen,
    "a delivery verification cannot be amended; revoke it and issue a new one",
)];

const DENIAL: [Amendable; 1] = [rule(
    "",
    Frozen,
    "a denial cannot be amended; withdraw it (revoke) and issue a new one",
)];

const ENDUSE: [Amendable; 1] = [rule(
    "",
    Frozen,
    "an end-use request or answer cannot be amended; revoke it and issue a new one",
)];

/// What an amendment of a document of `kind` may change, pointer by
/// pointer (docs/API.md, `POST .../amend`): the one list the checks above
/// take their refusals from and `GET /v1/licenses/{authority}/{number}/amendable`
/// serves. A pointer no rule names is frozen ([`amendable_at`]).
pub fn amendable(kind: LicenseKind) -> Vec<Amendable> {
    match kind {
        LicenseKind::Export => [&EXPORT[..], &ITEM_LINES].concat(),
        LicenseKind::Import => [&IMPORT[..], &IMPORT_MORE, &ITEM_LINES].concat(),
        LicenseKind::Transit => TRANSIT.to_vec(),
        LicenseKind::Delivery => DELIVERY.to_vec(),
        LicenseKind::Denial => DENIAL.to_vec(),
        LicenseKind::EnduseRequest | LicenseKind::EnduseAnswer => ENDUSE.to_vec(),
    }
}

/// Whether `pattern` (with `*` for any segment) names `pointer` or a
/// pointer `pointer` lies under.
fn covers(pattern: &str, pointer: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    let mut have = pointer.split('/');
    pattern
        .split('/')
        .all(|want| have.next().is_some_and(|h| want == "*" || want == h))
}

/// The rule for `pointer` in a document of `kind`: the most specific one
/// that covers it; `None` when none does (then it is frozen).
pub fn amendable_at(kind: LicenseKind, pointer: &str) -> Option<Amendable> {
    amendable(kind)
        .into_iter()
        .filter(|r| covers(r.pointer, pointer))
        .max_by_key(|r| r.pointer.len())
}

/// The reason the table gives for `pointer` (a rule of [`amendable`] names it).
fn reason(kind: LicenseKind, pointer: &str) -> &'static str {
    amendable_at(kind, pointer).map_or("this field cannot change", |r| r.reason)
}

/// The refusal of a change at `pointer`, in the table's words.
fn refused<T>(kind: LicenseKind, pointer: &str) -> Result<T, Invalid> {
    amend_invalid(reason(kind, pointer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::*;
    use crate::sample::export_license as export_fixture;
    use crate::sample::party;

    #[test]
    fn amendments() {
        type Edit = fn(&mut ExportLicense);
        let cases: &[(&str, Edit, bool)] = &[
            ("unchanged", |_| {}, true),
            ("lower quantity", |d| d.items[0].quantity = 50, true),
            (
                "new transit route",
                |d| d.transit_countries = vec!["HN".into()],
                false,
            ),
            (
                "one more transit country",
                |d| d.transit_countries.push("HN".into()),
                false,
            ),
            (
                "drop the transit country",
                |d| d.transit_countries.clear(),
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
                false,
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
                "new carrier",
                |d| d.carriers = vec![party("Transportes del Golfo SA")],
                true,
            ),
            (
                "new consignee",
                |d| d.consignees = vec![party("Almacenes Fiscales SA")],
                true,
            ),
            (
                "made temporary",
                |d| {
                    d.temporary = Some(Temporary {
                        purpose: TemporaryPurpose::Repair,
                        return_by: "2028-01-01".into(),
                    })
                },
                false,
            ),
            (
                "add broker",
                |d| d.brokers = vec![party("Broker LLC")],
                false,
            ),
            (
                "raise value",
                |d| {
                    d.value = Some(crate::document::Money {
                        amount: "1.00".into(),
                        currency: "USD".into(),
                    })
                },
                false,
            ),
            (
                "move place of issue",
                |d| d.place_of_issue = Some("Miami".into()),
                false,
            ),
            (
                "another end-user certificate",
                |d| {
                    d.end_user_certificate = Some(crate::document::EndUserCertificate {
                        number: "EUC-1".into(),
                        date: "2026-10-20".into(),
                        issued_by: "MX-SEDENA".into(),
                    })
                },
                false,
            ),
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

    #[test]
    fn the_table_names_every_field_and_its_refusals() {
        // Every top-level field of a full export is named.
        let mut d = export_fixture();
        d.end_user_certificate = Some(crate::document::EndUserCertificate {
            number: "EUC-1".into(),
            date: "2026-10-20".into(),
            issued_by: "MX-SEDENA".into(),
        });
        d.place_of_issue = Some("Washington".into());
        d.conditions = Some("none".into());
        d.temporary = Some(Temporary {
            purpose: TemporaryPurpose::TradeShow,
            return_by: "2027-06-01".into(),
        });
        let v = serde_json::to_value(License::Export(d)).expect("json");
        for key in v.as_object().expect("object").keys() {
            let p = format!("/{key}");
            assert!(
                amendable(LicenseKind::Export)
                    .iter()
                    .any(|r| r.pointer == p),
                "{p} is not in the table"
            );
        }
        let at = |p: &str| amendable_at(LicenseKind::Export, p).map(|r| r.change);
        assert_eq!(at("/items/3/quantity"), Some(Change::Lower));
        assert_eq!(at("/items/3/model"), Some(Change::Frozen));
        assert_eq!(at("/exporter/name"), Some(Change::Frozen));
        assert_eq!(at("/carriers/0/name"), Some(Change::Free));
        assert_eq!(at("/nothing"), None);
        assert_eq!(at("/temporary/return_by"), Some(Change::Free));
        assert_eq!(at("/temporary/purpose"), Some(Change::Frozen));
        // A temporary export's return date moves; its purpose does not.
        let temporary = |purpose, by: &str| {
            let mut d = export_fixture();
            d.temporary = Some(Temporary {
                purpose,
                return_by: by.into(),
            });
            License::Export(d)
        };
        let old_t = temporary(TemporaryPurpose::Repair, "2027-06-01");
        assert!(
            validate_amendment(&old_t, &temporary(TemporaryPurpose::Repair, "2027-09-01")).is_ok()
        );
        let got = validate_amendment(&old_t, &temporary(TemporaryPurpose::Hunting, "2027-06-01"))
            .expect_err("refused");
        assert_eq!(got.0, reason(LicenseKind::Export, "/temporary"));
        assert_eq!(
            amendable_at(LicenseKind::Delivery, "/date").map(|r| r.change),
            Some(Change::Frozen)
        );
        // The checks refuse in the table's words.
        let old = License::Export(export_fixture());
        let mut n = export_fixture();
        n.brokers = vec![party("Broker LLC")];
        let got = validate_amendment(&old, &License::Export(n)).expect_err("refused");
        assert_eq!(got.0, reason(LicenseKind::Export, "/brokers"));
        let mut n = export_fixture();
        n.importer.name = "Other SA".into();
        let got = validate_amendment(&old, &License::Export(n)).expect_err("refused");
        assert_eq!(got.0, reason(LicenseKind::Export, "/importer"));
    }
}
