//! The `invalid_amendment` rules of docs/API.md: what a new version of a
//! document may change (validity may shorten, transit countries may be
//! removed, quantities may be lowered, carriers, consignees, ports and points
//! may change) and what stays as issued. The document itself is checked by
//! [`crate::validate`] first.

use crate::document::{ExportLicense, ImportCertificate, Item, License, Party};
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
        return amend_invalid("parties and end use cannot change");
    }
    Ok(())
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
                "countries other than transit cannot change",
            )?;
            if o.import_certificate != n.import_certificate {
                return amend_invalid("the import certificate cannot change");
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
                return amend_invalid("the conditions cannot change");
            }
            // Carriers and consignees are shipment data and may change;
            // who brokers, what it is worth and where it was issued may not.
            if o.brokers != n.brokers {
                return amend_invalid("brokers cannot change");
            }
            if o.end_user_certificate != n.end_user_certificate {
                return amend_invalid("the end-user certificate cannot change");
            }
            if o.value != n.value {
                return amend_invalid("the value cannot change");
            }
            if o.place_of_issue != n.place_of_issue {
                return amend_invalid("the place of issue cannot change");
            }
            if o.shipments != n.shipments {
                return amend_invalid("single or partial shipments cannot change");
            }
            same_items_lowered(&o.items, &n.items)
        }
        (License::Import(o), License::Import(n)) => {
            same_trade(
                Trade::of_import(o),
                Trade::of_import(n),
                "countries cannot change",
            )?;
            if o.single_use != n.single_use {
                return amend_invalid("single_use cannot change");
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
        (License::Delivery(_), License::Delivery(_)) => amend_invalid(
            "a delivery verification cannot be amended; revoke it and issue a new one",
        ),
        _ => amend_invalid("an amendment cannot change the kind"),
    }
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
}
