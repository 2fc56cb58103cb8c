//! JSON bodies as the HTTP API receives them: documents (`POST
//! /v1/licenses`, `.../amend`), shipment checks and authority cards. The
//! input is up to two JSON texts separated by a NUL byte (which JSON cannot
//! hold outside an escape), so amendments get an old and a new document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_model::{
    Card, Country, Date, License, ShipmentRecord, validate_amendment, validate_license,
};
use tally_verify::CheckRequest;

fn issuer(l: &License) -> Country {
    l.issuing_country()
        .parse()
        .unwrap_or_else(|_| "US".parse().expect("a country"))
}

/// Parses one text every way the API would, checking what parses.
fn one(text: &[u8]) -> Option<License> {
    if let Ok(req) = serde_json::from_slice::<CheckRequest>(text)
        && let Some(d) = &req.date
        && let Ok(date) = d.parse::<Date>()
    {
        assert_eq!(&date.to_string(), d);
    }
    if let Ok(card) = serde_json::from_slice::<Card>(text) {
        let _ = card.check();
    }
    if let Ok(s) = serde_json::from_slice::<ShipmentRecord>(text) {
        let back = serde_json::to_vec(&s).expect("serializes");
        assert_eq!(
            serde_json::from_slice::<ShipmentRecord>(&back).ok(),
            Some(s)
        );
    }
    let l = serde_json::from_slice::<License>(text).ok()?;
    // JSON round trip.
    let back = serde_json::to_vec(&l).expect("serializes");
    assert_eq!(
        serde_json::from_slice::<License>(&back).ok().as_ref(),
        Some(&l)
    );
    let valid = validate_license(&l, issuer(&l)).is_ok();
    let _ = validate_license(&l, "US".parse().expect("a country"));
    if valid {
        // A valid document amends to itself.
        assert_eq!(validate_amendment(&l, &l), Ok(()));
    }
    Some(l)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0);
    let a = parts.next().and_then(one);
    let b = parts.next().and_then(one);
    if let (Some(a), Some(b)) = (&a, &b) {
        let forward = validate_amendment(a, b);
        let _ = validate_amendment(b, a);
        if forward.is_ok() {
            // An accepted amendment keeps kind, number and stays inside the window.
            assert_eq!(a.kind(), b.kind());
            assert_eq!(a.number(), b.number());
            let ((af, au), (bf, bu)) = (a.validity(), b.validity());
            assert!(bf >= af && bu <= au);
            for n in b.items() {
                let o = a.items().iter().find(|o| o.line == n.line);
                assert!(o.is_some_and(|o| n.quantity <= o.quantity));
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(d) = text.parse::<Date>()
    {
        assert_eq!(d.to_string(), text);
    }
});
