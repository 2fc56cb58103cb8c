//! The contract's JSON examples (docs/API.md, kept in the test kit) parse
//! into the model, serialize back with the contract's names, and a typo in a
//! field name is refused rather than ignored.

use tally_model::{License, LicenseKind, validate_license};
use tally_testkit::json::EXPORT_EXAMPLE;

#[test]
fn contract_example_parses_and_unknown_fields_are_refused() {
    let l: License = serde_json::from_str(EXPORT_EXAMPLE).expect("contract example");
    assert_eq!(l.kind(), LicenseKind::Export);
    let back = serde_json::to_value(&l).expect("serializes");
    assert_eq!(back["kind"], "export");
    assert_eq!(back["items"][0]["serials"][1], "AC1001");
    assert_eq!(back["value"]["amount"], "84500.00");
    assert_eq!(back["carriers"][0]["name"], "Transportes del Golfo SA");
    assert!(back.get("brokers").is_none(), "empty lists are left out");
    validate_license(&l, "US".parse().expect("a country")).expect("valid");
    let typo = EXPORT_EXAMPLE.replace("\"transit_countries\"", "\"transit_countires\"");
    assert!(serde_json::from_str::<License>(&typo).is_err());
}
