//! The documents an authority issues, shaped as the JSON of docs/API.md.
//!
//! Text fields that must be checked against a list (countries, dates,
//! authority ids) stay strings here so that a well-formed but wrong value is
//! refused by [`crate::validate`] with a reason, not by the JSON parser.

use crate::id::{AuthorityId, Country};
pub use crate::key_documents::{EncryptionKey, KeyRotation, PaperKey};
use crate::x25519::EncryptionPublic;
use serde::{Deserialize, Serialize};

/// `{"name", "id"?, "address"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// A person named on a document: `{"name", "title"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Who prepared a document and who signed it: the same person when one
/// approval is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub prepared_by: Option<Person>,
    pub signatory: Option<Person>,
}

/// A pointer to another authority's document: `{"authority", "number"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    pub authority: String,
    pub number: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Firearm,
    Part,
    Ammunition,
    Explosive,
    Related,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Units,
    Rounds,
    Kg,
}

/// One item line of a license or certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub line: u32,
    pub category: Category,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hs_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caliber: Option<String>,
    /// An authorized maximum, never a promise.
    pub quantity: u64,
    pub unit: Unit,
    /// The serial numbers CIFTA's marking rules put on every firearm, when listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<String>,
    /// What the line is for the ATT report (`crate::att`), when the issuer
    /// says it: fields added within v1, absent from older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub att_subcategory: Option<crate::att::AttSubcategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<crate::att::Action>,
    /// In hundredths of a millimetre; JSON `caliber_mm` in millimetres.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::att::caliber_mm"
    )]
    pub caliber_mm: Option<u32>,
    /// Country of manufacture, ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_country: Option<String>,
    /// What crossed under this line before the document entered Tally
    /// (migrated documents only): the countdown starts from it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shipped_before: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shipments {
    Single,
    #[default]
    Partial,
}

/// The end-user certificate backing an export license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUserCertificate {
    pub number: String,
    pub date: String,
    pub issued_by: String,
}

/// A declared value: a decimal amount as written, and an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

/// Why goods leave only for a while (Firearms Protocol Art. 10(6)): the
/// codes a temporary export license states its purpose with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemporaryPurpose {
    TradeShow,
    Repair,
    Demonstration,
    Hunting,
    Competition,
    Other,
}

impl TemporaryPurpose {
    pub const ALL: [TemporaryPurpose; 6] = [
        TemporaryPurpose::TradeShow,
        TemporaryPurpose::Repair,
        TemporaryPurpose::Demonstration,
        TemporaryPurpose::Hunting,
        TemporaryPurpose::Competition,
        TemporaryPurpose::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemporaryPurpose::TradeShow => "trade_show",
            TemporaryPurpose::Repair => "repair",
            TemporaryPurpose::Demonstration => "demonstration",
            TemporaryPurpose::Hunting => "hunting",
            TemporaryPurpose::Competition => "competition",
            TemporaryPurpose::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<TemporaryPurpose> {
        TemporaryPurpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// An export of goods that come back (`{"purpose", "return_by"}`): their
/// return crossing is recorded against the license (`direction: "return"`),
/// and `return.overdue` is raised past `return_by` for what left and did
/// not come back (`crate::temporary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Temporary {
    pub purpose: TemporaryPurpose,
    /// `YYYY-MM-DD`: on or after `valid_from`; it may fall after
    /// `valid_until` (the license's validity bounds the exits only).
    pub return_by: String,
}

/// How a planned consignment travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Road,
    Rail,
    Sea,
    Air,
    Post,
    Multimodal,
}

/// A consignment the export license plans (`crate::plan`): where it leaves
/// and enters (UN/LOCODE or customs office codes), how, between which
/// dates, and by whom. Shipment data: amendments may change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedShipment {
    pub exit_point: String,
    pub entry_point: String,
    pub mode: TransportMode,
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLicense {
    pub number: String,
    pub exporting_country: String,
    pub importing_country: String,
    #[serde(default)]
    pub transit_countries: Vec<String>,
    pub exporter: Party,
    pub importer: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_use: Option<String>,
    pub items: Vec<Item>,
    pub valid_from: String,
    pub valid_until: String,
    /// Required; `Option` so that its absence is a 422 with a reason, not a 400.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_certificate: Option<DocumentRef>,
    #[serde(default)]
    pub shipments: Shipments,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user_certificate: Option<EndUserCertificate>,
    /// Firearms Protocol Art. 15, ATT Art. 10.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<Party>,
    /// Intermediate consignees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consignees: Vec<Party>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carriers: Vec<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_of_issue: Option<String>,
    /// A record issued before Tally and brought in (`crate::provenance`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub migrated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_issue_date: Option<String>,
    /// Who prepared this version and who signed it (`crate::provenance`):
    /// set by the issuing node from its tokens; absent from older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
    /// Present on a temporary export (added within v1; absent: permanent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary: Option<Temporary>,
    /// The consignments planned (added within v1; none: not planned).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub planned_shipments: Vec<PlannedShipment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCertificate {
    pub number: String,
    pub importing_country: String,
    pub exporting_country: String,
    pub importer: Party,
    pub exporter: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_use: Option<String>,
    pub items: Vec<Item>,
    pub valid_from: String,
    pub valid_until: String,
    /// One export license may cite it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub single_use: bool,
    /// A record issued before Tally and brought in (`crate::provenance`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub migrated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_issue_date: Option<String>,
    /// Who prepared this version and who signed it (`crate::provenance`):
    /// set by the issuing node from its tokens; absent from older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Authorized,
    NoObjection,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitAuthorization {
    pub number: String,
    pub transit_country: String,
    pub export_license: DocumentRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_point: Option<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub decision: Decision,
    /// A record issued before Tally and brought in (`crate::provenance`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub migrated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_issue_date: Option<String>,
    /// Who prepared this version and who signed it (`crate::provenance`):
    /// set by the issuing node from its tokens; absent from older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

/// One line of a delivery verification: how much of the export license's
/// line reached the final recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryLine {
    pub line: u32,
    pub quantity: u64,
}

/// Proof of receipt (EU 2025/41): issued by the importing country's
/// authority once the goods of an export license reached the final
/// recipient. Revoking it takes its quantities back out of `delivered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryVerification {
    pub number: String,
    pub importing_country: String,
    pub export_license: DocumentRef,
    pub delivered_to: Party,
    pub date: String,
    pub items: Vec<DeliveryLine>,
    /// Who prepared this version and who signed it (`crate::provenance`):
    /// set by the issuing node from its tokens; absent from older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

/// What was refused: a category, the HS heading (four digits) when the
/// refusing authority gives it, and the goods in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedGoods {
    pub category: Category,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hs_heading: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// A refused license application (`crate::denial`), signed by the refusing authority and, by
/// default, published in clear to every trusted State.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denial {
    pub number: String,
    /// The refusing State: the issuing node's country.
    pub denying_country: String,
    /// Who applied for the license (the would-be exporter).
    pub applicant: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consignee: Option<Party>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<Party>,
    pub goods: Vec<DeniedGoods>,
    /// The country of destination the application named.
    pub destination: String,
    /// Why: the criterion of the refusal (e.g. "ATT Art. 7(1)(b)(i)",
    /// "CIFTA Art. IX: end user not verified").
    pub criterion: String,
    /// The date of the refusal.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

/// An exporting authority asks the importing State's authority to confirm
/// an end-user certificate or import document before it relies on it
/// (`crate::enduse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnduseRequest {
    pub number: String,
    /// The asking State: the issuing node's country.
    pub exporting_country: String,
    /// The State asked, whose authority answers.
    pub importing_country: String,
    /// The asking authority's export license this concerns, issued or
    /// applied for (its number).
    pub export_license: String,
    /// What to confirm: an end-user certificate, or an import certificate
    /// (exactly one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user_certificate: Option<EndUserCertificate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_certificate: Option<DocumentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user: Option<Party>,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

/// What the importing State's authority says of a certificate it was asked
/// about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnduseVerdict {
    Confirmed,
    NotIssuedByUs,
    Withdrawn,
    Unknown,
}

impl EnduseVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            EnduseVerdict::Confirmed => "confirmed",
            EnduseVerdict::NotIssuedByUs => "not_issued_by_us",
            EnduseVerdict::Withdrawn => "withdrawn",
            EnduseVerdict::Unknown => "unknown",
        }
    }
}

/// The importing authority's signed answer to an [`EnduseRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnduseAnswer {
    pub number: String,
    /// The answering State: the issuing node's country.
    pub importing_country: String,
    /// The asking State (its reader).
    pub exporting_country: String,
    pub request: DocumentRef,
    pub answer: EnduseVerdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseKind {
    Export,
    Import,
    Transit,
    Delivery,
    Denial,
    EnduseRequest,
    EnduseAnswer,
}

impl LicenseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseKind::Export => "export",
            LicenseKind::Import => "import",
            LicenseKind::Transit => "transit",
            LicenseKind::Delivery => "delivery",
            LicenseKind::Denial => "denial",
            LicenseKind::EnduseRequest => "enduse_request",
            LicenseKind::EnduseAnswer => "enduse_answer",
        }
    }
}

/// One of the documents an authority issues: docs/API.md calls all of them
/// licenses (`POST /v1/licenses`), told apart by `kind`; they share their
/// authority's number space and its status changes.
// An export license is the big one (parties, brokers, carriers); documents
// are built one per request or entry, never in bulk arrays, so boxing it
// would buy nothing but a box in every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum License {
    Export(ExportLicense),
    Import(ImportCertificate),
    Transit(TransitAuthorization),
    Delivery(DeliveryVerification),
    Denial(Denial),
    EnduseRequest(EnduseRequest),
    EnduseAnswer(EnduseAnswer),
}

impl License {
    pub fn kind(&self) -> LicenseKind {
        match self {
            License::Export(_) => LicenseKind::Export,
            License::Import(_) => LicenseKind::Import,
            License::Transit(_) => LicenseKind::Transit,
            License::Delivery(_) => LicenseKind::Delivery,
            License::Denial(_) => LicenseKind::Denial,
            License::EnduseRequest(_) => LicenseKind::EnduseRequest,
            License::EnduseAnswer(_) => LicenseKind::EnduseAnswer,
        }
    }
    pub fn number(&self) -> &str {
        match self {
            License::Export(d) => &d.number,
            License::Import(d) => &d.number,
            License::Transit(d) => &d.number,
            License::Delivery(d) => &d.number,
            License::Denial(d) => &d.number,
            License::EnduseRequest(d) => &d.number,
            License::EnduseAnswer(d) => &d.number,
        }
    }
    /// The country that must issue this kind of document.
    pub fn issuing_country(&self) -> &str {
        match self {
            License::Export(d) => &d.exporting_country,
            License::Import(d) => &d.importing_country,
            License::Transit(d) => &d.transit_country,
            License::Delivery(d) => &d.importing_country,
            License::Denial(d) => &d.denying_country,
            License::EnduseRequest(d) => &d.exporting_country,
            License::EnduseAnswer(d) => &d.importing_country,
        }
    }
    pub fn validity(&self) -> (&str, &str) {
        match self {
            License::Export(d) => (&d.valid_from, &d.valid_until),
            License::Import(d) => (&d.valid_from, &d.valid_until),
            License::Transit(d) => (&d.valid_from, &d.valid_until),
            // A record of one day, not a permission over a period.
            License::Delivery(d) => (&d.date, &d.date),
            // A decision of one day; how long it counts is `denial_days`.
            License::Denial(d) => (&d.date, &d.date),
            License::EnduseRequest(d) => (&d.date, &d.date),
            License::EnduseAnswer(d) => (&d.date, &d.date),
        }
    }
    pub fn items(&self) -> &[Item] {
        match self {
            License::Export(d) => &d.items,
            License::Import(d) => &d.items,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Suspended,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Revoked => "revoked",
        }
    }
}

/// Suspends, revokes or reinstates one of the issuer's own documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub number: String,
    pub status: Status,
    pub reason: String,
    pub effective_at_ms: i64,
    /// Who prepared this version and who signed it (`crate::provenance`):
    /// set by the issuing node from its tokens; absent from older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_by: Option<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatory: Option<Person>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Exit,
    Transit,
    Entry,
    /// Goods of a temporary export coming back into the exporting country.
    Return,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Exit => "exit",
            Direction::Transit => "transit",
            Direction::Entry => "entry",
            Direction::Return => "return",
        }
    }
}

/// Where a border agency checked a consignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub country: String,
    #[serde(default)]
    pub port: String,
    pub direction: Direction,
}

/// A declared line of a consignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    pub line: u32,
    pub quantity: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serials: Vec<String>,
}

/// What crossed a border, as checked and signed by the checking State.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentRecord {
    pub license: DocumentRef,
    pub checkpoint: Checkpoint,
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importer: Option<String>,
    pub items: Vec<ShipmentLine>,
    /// `accept` or `reject`; only accepted records count in tallies and serial use.
    pub verdict: String,
    /// Ids of the rules that failed, empty when accepted.
    #[serde(default)]
    pub failed_rules: Vec<String>,
}

impl ShipmentRecord {
    pub fn accepted(&self) -> bool {
        self.verdict == ShipmentVerdict::Accept.as_str()
    }
}

/// A shipment check's verdict as the contract writes it: `accept` exactly
/// when every rule holds. The one mapping of the verdict to its string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShipmentVerdict {
    Accept,
    Reject,
}

impl ShipmentVerdict {
    pub fn from_accepted(accepted: bool) -> ShipmentVerdict {
        if accepted {
            ShipmentVerdict::Accept
        } else {
            ShipmentVerdict::Reject
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentVerdict::Accept => "accept",
            ShipmentVerdict::Reject => "reject",
        }
    }
}

/// The body of a log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    License(License),
    /// A new version (2, 3, ...) of one of the issuer's own documents.
    Amendment {
        version: u32,
        license: License,
    },
    StatusChange(StatusChange),
    Shipment(ShipmentRecord),
    KeyRotation(KeyRotation),
    EncryptionKey(EncryptionKey),
    PaperKey(PaperKey),
}

impl Document {
    /// The name of the kind, as listed by `GET /v1/log`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Document::License(l) => l.kind().as_str(),
            Document::Amendment { .. } => "amendment",
            Document::StatusChange(_) => "status",
            Document::Shipment(_) => "shipment",
            Document::KeyRotation(_) => "key_rotation",
            Document::EncryptionKey(_) => "encryption_key",
            Document::PaperKey(_) => "paper_key",
        }
    }
}

/// One addressee of a sealed entry: the authority and the X25519 public key
/// its content key was wrapped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub authority: AuthorityId,
    pub encryption_key: EncryptionPublic,
}

/// What a sealed entry's ciphertext holds (see [`crate::seal`]): the
/// document, everyone it was sealed to (the issuer included), and the party
/// countries the issuer could not seal to because it trusts no authority
/// there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPayload {
    pub document: Document,
    pub recipients: Vec<Recipient>,
    pub unreached: Vec<Country>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_delivery_example_parses() {
        let json = r#"{"kind": "delivery", "number": "DV-2026-0003", "importing_country": "MX",
 "export_license": {"authority": "US-DDTC", "number": "EXP-2026-0001"},
 "delivered_to": {"name": "Policia Estatal"}, "date": "2026-12-03",
 "items": [{"line": 1, "quantity": 40}]}"#;
        let l: License = serde_json::from_str(json).expect("contract example");
        assert_eq!(l.kind(), LicenseKind::Delivery);
        assert_eq!(l.issuing_country(), "MX");
        assert_eq!(
            serde_json::to_value(&l).expect("serializes")["kind"],
            "delivery"
        );
    }

    #[test]
    fn encryption_key_json_is_hex() {
        let k = EncryptionKey {
            public_key: [0xab; 32],
            valid_from_ms: 7,
        };
        let v = serde_json::to_value(&k).expect("serializes");
        assert_eq!(v["public_key"], "ab".repeat(32));
        let back: EncryptionKey = serde_json::from_value(v).expect("parses");
        assert_eq!(back, k);
        let short = serde_json::json!({"public_key": "abcd", "valid_from_ms": 1});
        assert!(serde_json::from_value::<EncryptionKey>(short).is_err());
    }
}
