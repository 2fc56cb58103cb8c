//! The documents of an entry (licenses and their parts) between the model
//! and the protobuf wire types; [`crate::wire`] does the entry around them.

use crate::document::*;
use crate::error::DecodeError;
use tally_proto::v1 as pb;

pub(crate) fn field(field: &'static str, reason: impl Into<String>) -> DecodeError {
    DecodeError::Field {
        field,
        reason: reason.into(),
    }
}

pub(crate) fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn export_to_pb(d: &ExportLicense) -> pb::ExportLicense {
    pb::ExportLicense {
        number: d.number.clone(),
        exporting_country: d.exporting_country.clone(),
        importing_country: d.importing_country.clone(),
        transit_countries: d.transit_countries.clone(),
        exporter: Some(party_to_pb(&d.exporter)),
        importer: Some(party_to_pb(&d.importer)),
        end_user: d.end_user.as_ref().map(party_to_pb),
        end_use: d.end_use.clone().unwrap_or_default(),
        items: d.items.iter().map(item_to_pb).collect(),
        valid_from: d.valid_from.clone(),
        valid_until: d.valid_until.clone(),
        import_certificate: d.import_certificate.as_ref().map(ref_to_pb),
        shipments: match d.shipments {
            Shipments::Single => "single",
            Shipments::Partial => "partial",
        }
        .into(),
        conditions: d.conditions.clone().unwrap_or_default(),
        end_user_certificate: d.end_user_certificate.as_ref().map(euc_to_pb),
        brokers: d.brokers.iter().map(party_to_pb).collect(),
        consignees: d.consignees.iter().map(party_to_pb).collect(),
        carriers: d.carriers.iter().map(party_to_pb).collect(),
        value: d.value.as_ref().map(|v| pb::Money {
            amount: v.amount.clone(),
            currency: v.currency.clone(),
        }),
        place_of_issue: d.place_of_issue.clone().unwrap_or_default(),
        migrated: d.migrated,
        original_issue_date: d.original_issue_date.clone().unwrap_or_default(),
        prepared_by: person_to_pb(&d.prepared_by),
        signatory: person_to_pb(&d.signatory),
        temporary: d.temporary.as_ref().map(temporary_to_pb),
        planned_shipments: d.planned_shipments.iter().map(plan_to_pb).collect(),
    }
}

pub(crate) fn license_to_pb(l: &License) -> pb::document::Kind {
    use pb::document::Kind;
    match l {
        License::Export(d) => Kind::ExportLicense(export_to_pb(d)),
        License::EnduseRequest(d) => Kind::EnduseRequest(request_to_pb(d)),
        License::EnduseAnswer(d) => Kind::EnduseAnswer(answer_to_pb(d)),
        License::Import(d) => Kind::ImportCertificate(pb::ImportCertificate {
            number: d.number.clone(),
            importing_country: d.importing_country.clone(),
            exporting_country: d.exporting_country.clone(),
            importer: Some(party_to_pb(&d.importer)),
            exporter: Some(party_to_pb(&d.exporter)),
            end_user: d.end_user.as_ref().map(party_to_pb),
            end_use: d.end_use.clone().unwrap_or_default(),
            items: d.items.iter().map(item_to_pb).collect(),
            valid_from: d.valid_from.clone(),
            valid_until: d.valid_until.clone(),
            single_use: d.single_use,
            migrated: d.migrated,
            original_issue_date: d.original_issue_date.clone().unwrap_or_default(),
            prepared_by: person_to_pb(&d.prepared_by),
            signatory: person_to_pb(&d.signatory),
        }),
        License::Transit(d) => Kind::TransitAuthorization(pb::TransitAuthorization {
            number: d.number.clone(),
            transit_country: d.transit_country.clone(),
            export_license: Some(ref_to_pb(&d.export_license)),
            entry_point: d.entry_point.clone().unwrap_or_default(),
            exit_point: d.exit_point.clone().unwrap_or_default(),
            valid_from: d.valid_from.clone(),
            valid_until: d.valid_until.clone(),
            decision: match d.decision {
                Decision::Authorized => "authorized",
                Decision::NoObjection => "no_objection",
            }
            .into(),
            migrated: d.migrated,
            original_issue_date: d.original_issue_date.clone().unwrap_or_default(),
            prepared_by: person_to_pb(&d.prepared_by),
            signatory: person_to_pb(&d.signatory),
        }),
        License::Delivery(d) => Kind::DeliveryVerification(pb::DeliveryVerification {
            number: d.number.clone(),
            importing_country: d.importing_country.clone(),
            export_license: Some(ref_to_pb(&d.export_license)),
            delivered_to: Some(party_to_pb(&d.delivered_to)),
            date: d.date.clone(),
            items: d
                .items
                .iter()
                .map(|l| pb::DeliveryLine {
                    line: l.line,
                    quantity: l.quantity,
                })
                .collect(),
            prepared_by: person_to_pb(&d.prepared_by),
            signatory: person_to_pb(&d.signatory),
        }),
        License::Denial(d) => Kind::Denial(denial_to_pb(d)),
    }
}

fn denial_to_pb(d: &crate::denial::Denial) -> pb::Denial {
    pb::Denial {
        number: d.number.clone(),
        denying_country: d.denying_country.clone(),
        applicant: Some(party_to_pb(&d.applicant)),
        consignee: d.consignee.as_ref().map(party_to_pb),
        end_user: d.end_user.as_ref().map(party_to_pb),
        goods: d
            .goods
            .iter()
            .map(|g| pb::DeniedGoods {
                category: enum_str(&g.category),
                hs_heading: g.hs_heading.clone().unwrap_or_default(),
                description: g.description.clone(),
            })
            .collect(),
        destination: d.destination.clone(),
        criterion: d.criterion.clone(),
        date: d.date.clone(),
        prepared_by: person_to_pb(&d.prepared_by),
        signatory: person_to_pb(&d.signatory),
    }
}

/// A denial from the wire: its parties named, its goods' categories known.
fn denial_from_pb(d: pb::Denial) -> Result<crate::denial::Denial, DecodeError> {
    Ok(crate::denial::Denial {
        number: d.number,
        denying_country: d.denying_country,
        applicant: party_from_pb("applicant", d.applicant)?,
        consignee: d
            .consignee
            .map(|p| party_from_pb("consignee", Some(p)))
            .transpose()?,
        end_user: d
            .end_user
            .map(|p| party_from_pb("end_user", Some(p)))
            .transpose()?,
        goods: d
            .goods
            .into_iter()
            .map(|g| {
                Ok(crate::denial::DeniedGoods {
                    category: enum_parse("goods.category", &g.category)?,
                    hs_heading: opt(&g.hs_heading),
                    description: g.description,
                })
            })
            .collect::<Result<_, DecodeError>>()?,
        destination: d.destination,
        criterion: d.criterion,
        date: d.date,
        prepared_by: person_from_pb(d.prepared_by),
        signatory: person_from_pb(d.signatory),
    })
}

fn plan_to_pb(p: &PlannedShipment) -> pb::PlannedShipment {
    pb::PlannedShipment {
        exit_point: p.exit_point.clone(),
        entry_point: p.entry_point.clone(),
        mode: match p.mode {
            TransportMode::Road => "road",
            TransportMode::Rail => "rail",
            TransportMode::Sea => "sea",
            TransportMode::Air => "air",
            TransportMode::Post => "post",
            TransportMode::Multimodal => "multimodal",
        }
        .into(),
        from: p.from.clone(),
        to: p.to.clone(),
        carrier: p.carrier.clone().unwrap_or_default(),
    }
}

fn plan_from_pb(p: pb::PlannedShipment) -> Result<PlannedShipment, DecodeError> {
    Ok(PlannedShipment {
        exit_point: p.exit_point,
        entry_point: p.entry_point,
        mode: enum_parse("planned_shipments.mode", &p.mode)?,
        from: p.from,
        to: p.to,
        carrier: opt(&p.carrier),
    })
}

fn temporary_to_pb(t: &Temporary) -> pb::Temporary {
    pb::Temporary {
        purpose: t.purpose.as_str().into(),
        return_by: t.return_by.clone(),
    }
}

pub(crate) fn party_to_pb(p: &Party) -> pb::Party {
    pb::Party {
        name: p.name.clone(),
        id: p.id.clone().unwrap_or_default(),
        address: p.address.clone().unwrap_or_default(),
    }
}

pub(crate) fn ref_to_pb(r: &DocumentRef) -> pb::DocumentRef {
    pb::DocumentRef {
        authority: r.authority.clone(),
        number: r.number.clone(),
    }
}

pub(crate) fn item_to_pb(i: &Item) -> pb::Item {
    pb::Item {
        line: i.line,
        category: enum_str(&i.category),
        description: i.description.clone(),
        hs_code: i.hs_code.clone().unwrap_or_default(),
        make: i.make.clone().unwrap_or_default(),
        model: i.model.clone().unwrap_or_default(),
        caliber: i.caliber.clone().unwrap_or_default(),
        quantity: i.quantity,
        unit: enum_str(&i.unit),
        serials: i.serials.clone(),
        att_subcategory: i
            .att_subcategory
            .map(|c| c.as_str().into())
            .unwrap_or_default(),
        action: i.action.map(|a| a.as_str().into()).unwrap_or_default(),
        caliber_hundredths_mm: i.caliber_mm.unwrap_or_default(),
        origin_country: i.origin_country.clone().unwrap_or_default(),
        shipped_before: i.shipped_before,
    }
}

pub(crate) fn person_to_pb(p: &Option<Person>) -> Option<pb::Person> {
    p.as_ref().map(|p| pb::Person {
        name: p.name.clone(),
        title: p.title.clone().unwrap_or_default(),
    })
}

pub(crate) fn person_from_pb(p: Option<pb::Person>) -> Option<Person> {
    p.map(|p| Person {
        name: p.name,
        title: opt(&p.title),
    })
}

/// The snake_case name serde gives a unit enum variant.
pub(crate) fn enum_str<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Parses a snake_case enum name as serde would.
pub(crate) fn enum_parse<T: serde::de::DeserializeOwned>(
    name: &'static str,
    s: &str,
) -> Result<T, DecodeError> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| field(name, format!("unknown value {s:?}")))
}

fn party_from_pb(name: &'static str, p: Option<pb::Party>) -> Result<Party, DecodeError> {
    let p = p.ok_or_else(|| field(name, "missing"))?;
    Ok(Party {
        name: p.name,
        id: opt(&p.id),
        address: opt(&p.address),
    })
}

fn parties_from_pb(name: &'static str, ps: Vec<pb::Party>) -> Result<Vec<Party>, DecodeError> {
    ps.into_iter()
        .map(|p| party_from_pb(name, Some(p)))
        .collect()
}

pub(crate) fn ref_from_pb(r: pb::DocumentRef) -> DocumentRef {
    DocumentRef {
        authority: r.authority,
        number: r.number,
    }
}

fn item_from_pb(i: pb::Item) -> Result<Item, DecodeError> {
    Ok(Item {
        line: i.line,
        category: enum_parse("item.category", &i.category)?,
        description: i.description,
        hs_code: opt(&i.hs_code),
        make: opt(&i.make),
        model: opt(&i.model),
        caliber: opt(&i.caliber),
        quantity: i.quantity,
        unit: enum_parse("item.unit", &i.unit)?,
        serials: i.serials,
        att_subcategory: (!i.att_subcategory.is_empty())
            .then(|| enum_parse("item.att_subcategory", &i.att_subcategory))
            .transpose()?,
        action: (!i.action.is_empty())
            .then(|| enum_parse("item.action", &i.action))
            .transpose()?,
        caliber_mm: (i.caliber_hundredths_mm != 0).then_some(i.caliber_hundredths_mm),
        origin_country: opt(&i.origin_country),
        shipped_before: i.shipped_before,
    })
}

fn items_from_pb(items: Vec<pb::Item>) -> Result<Vec<Item>, DecodeError> {
    items.into_iter().map(item_from_pb).collect()
}

fn export_from_pb(d: pb::ExportLicense) -> Result<ExportLicense, DecodeError> {
    Ok(ExportLicense {
        number: d.number,
        exporting_country: d.exporting_country,
        importing_country: d.importing_country,
        transit_countries: d.transit_countries,
        exporter: party_from_pb("exporter", d.exporter)?,
        importer: party_from_pb("importer", d.importer)?,
        end_user: d
            .end_user
            .map(|p| party_from_pb("end_user", Some(p)))
            .transpose()?,
        end_use: opt(&d.end_use),
        items: items_from_pb(d.items)?,
        valid_from: d.valid_from,
        valid_until: d.valid_until,
        import_certificate: d.import_certificate.map(ref_from_pb),
        shipments: if d.shipments.is_empty() {
            Shipments::Partial
        } else {
            enum_parse("shipments", &d.shipments)?
        },
        conditions: opt(&d.conditions),
        end_user_certificate: d.end_user_certificate.map(euc_from_pb),
        brokers: parties_from_pb("brokers", d.brokers)?,
        consignees: parties_from_pb("consignees", d.consignees)?,
        carriers: parties_from_pb("carriers", d.carriers)?,
        value: d.value.map(|v| Money {
            amount: v.amount,
            currency: v.currency,
        }),
        place_of_issue: opt(&d.place_of_issue),
        migrated: d.migrated,
        original_issue_date: opt(&d.original_issue_date),
        prepared_by: person_from_pb(d.prepared_by),
        signatory: person_from_pb(d.signatory),
        temporary: d
            .temporary
            .map(|t| {
                Ok::<_, DecodeError>(Temporary {
                    purpose: enum_parse("temporary.purpose", &t.purpose)?,
                    return_by: t.return_by,
                })
            })
            .transpose()?,
        planned_shipments: d
            .planned_shipments
            .into_iter()
            .map(plan_from_pb)
            .collect::<Result<_, _>>()?,
    })
}

pub(crate) fn license_from_pb(
    kind: pb::document::Kind,
) -> Result<Result<License, pb::document::Kind>, DecodeError> {
    use pb::document::Kind;
    Ok(Ok(match kind {
        Kind::ExportLicense(d) => License::Export(export_from_pb(d)?),
        Kind::ImportCertificate(d) => License::Import(ImportCertificate {
            number: d.number,
            importing_country: d.importing_country,
            exporting_country: d.exporting_country,
            importer: party_from_pb("importer", d.importer)?,
            exporter: party_from_pb("exporter", d.exporter)?,
            end_user: d
                .end_user
                .map(|p| party_from_pb("end_user", Some(p)))
                .transpose()?,
            end_use: opt(&d.end_use),
            items: items_from_pb(d.items)?,
            valid_from: d.valid_from,
            valid_until: d.valid_until,
            single_use: d.single_use,
            migrated: d.migrated,
            original_issue_date: opt(&d.original_issue_date),
            prepared_by: person_from_pb(d.prepared_by),
            signatory: person_from_pb(d.signatory),
        }),
        Kind::TransitAuthorization(d) => License::Transit(TransitAuthorization {
            number: d.number,
            transit_country: d.transit_country,
            export_license: d
                .export_license
                .map(ref_from_pb)
                .ok_or_else(|| field("export_license", "missing"))?,
            entry_point: opt(&d.entry_point),
            exit_point: opt(&d.exit_point),
            valid_from: d.valid_from,
            valid_until: d.valid_until,
            decision: enum_parse("decision", &d.decision)?,
            migrated: d.migrated,
            original_issue_date: opt(&d.original_issue_date),
            prepared_by: person_from_pb(d.prepared_by),
            signatory: person_from_pb(d.signatory),
        }),
        Kind::DeliveryVerification(d) => License::Delivery(DeliveryVerification {
            number: d.number,
            importing_country: d.importing_country,
            export_license: d
                .export_license
                .map(ref_from_pb)
                .ok_or_else(|| field("export_license", "missing"))?,
            delivered_to: party_from_pb("delivered_to", d.delivered_to)?,
            date: d.date,
            items: d
                .items
                .into_iter()
                .map(|l| DeliveryLine {
                    line: l.line,
                    quantity: l.quantity,
                })
                .collect(),
            prepared_by: person_from_pb(d.prepared_by),
            signatory: person_from_pb(d.signatory),
        }),
        Kind::Denial(d) => License::Denial(denial_from_pb(d)?),
        Kind::EnduseRequest(d) => License::EnduseRequest(request_from_pb(d)?),
        Kind::EnduseAnswer(d) => License::EnduseAnswer(answer_from_pb(d)?),
        other => return Ok(Err(other)),
    }))
}

fn euc_to_pb(c: &EndUserCertificate) -> pb::EndUserCertificate {
    pb::EndUserCertificate {
        number: c.number.clone(),
        date: c.date.clone(),
        issued_by: c.issued_by.clone(),
    }
}

fn euc_from_pb(c: pb::EndUserCertificate) -> EndUserCertificate {
    EndUserCertificate {
        number: c.number,
        date: c.date,
        issued_by: c.issued_by,
    }
}

fn request_to_pb(d: &EnduseRequest) -> pb::EnduseRequest {
    pb::EnduseRequest {
        number: d.number.clone(),
        exporting_country: d.exporting_country.clone(),
        importing_country: d.importing_country.clone(),
        export_license: d.export_license.clone(),
        end_user_certificate: d.end_user_certificate.as_ref().map(euc_to_pb),
        import_certificate: d.import_certificate.as_ref().map(ref_to_pb),
        end_user: d.end_user.as_ref().map(party_to_pb),
        date: d.date.clone(),
        prepared_by: person_to_pb(&d.prepared_by),
        signatory: person_to_pb(&d.signatory),
    }
}

fn request_from_pb(d: pb::EnduseRequest) -> Result<EnduseRequest, DecodeError> {
    Ok(EnduseRequest {
        number: d.number,
        exporting_country: d.exporting_country,
        importing_country: d.importing_country,
        export_license: d.export_license,
        end_user_certificate: d.end_user_certificate.map(euc_from_pb),
        import_certificate: d.import_certificate.map(ref_from_pb),
        end_user: d
            .end_user
            .map(|p| party_from_pb("end_user", Some(p)))
            .transpose()?,
        date: d.date,
        prepared_by: person_from_pb(d.prepared_by),
        signatory: person_from_pb(d.signatory),
    })
}

fn answer_to_pb(d: &EnduseAnswer) -> pb::EnduseAnswer {
    pb::EnduseAnswer {
        number: d.number.clone(),
        importing_country: d.importing_country.clone(),
        exporting_country: d.exporting_country.clone(),
        request: Some(ref_to_pb(&d.request)),
        answer: d.answer.as_str().into(),
        comment: d.comment.clone().unwrap_or_default(),
        date: d.date.clone(),
        prepared_by: person_to_pb(&d.prepared_by),
        signatory: person_to_pb(&d.signatory),
    }
}

fn answer_from_pb(d: pb::EnduseAnswer) -> Result<EnduseAnswer, DecodeError> {
    Ok(EnduseAnswer {
        number: d.number,
        importing_country: d.importing_country,
        exporting_country: d.exporting_country,
        request: d
            .request
            .map(ref_from_pb)
            .ok_or_else(|| field("request", "missing"))?,
        answer: enum_parse("answer", &d.answer)?,
        comment: opt(&d.comment),
        date: d.date,
        prepared_by: person_from_pb(d.prepared_by),
        signatory: person_from_pb(d.signatory),
    })
}
