//! A seal made, read and judged: genuine as printed; altered when its
//! claims were changed and re-encoded; untrusted by an unknown or
//! compromised key; not a seal when its text is damaged.

use tally_model::signer::FileSigner;
use tally_model::{AuthorityKey, License};
use tally_verify::paper::{Genuine, NotASeal, PaperKey, Summary, Times, qr, read, seal};

fn signer() -> FileSigner {
    FileSigner::new(&AuthorityKey::from_bytes(&[7; 32]))
}

fn summary() -> Summary {
    let mut e = tally_model::sample::export_license();
    e.items[0].serials = (0..40).map(|n| format!("AC{n:05}")).collect();
    Summary::of("US-DDTC", 1, "2026-11-02", &License::Export(e)).expect("an export seals")
}

const TIMES: Times = Times {
    printed_at: 1_794_000_000,
    expires_at: 1_809_000_000,
};

fn keys(compromised: bool) -> Vec<PaperKey> {
    use tally_model::signer::Signer as _;
    vec![PaperKey {
        authority: "US-DDTC".into(),
        public_key: signer().public_key(),
        compromised,
    }]
}

#[test]
fn a_printed_seal_reads_back_genuine_and_fits_its_qr_code() {
    let sealed = seal(&summary(), TIMES, &signer()).expect("seals");
    assert!(sealed.text.starts_with("TLY1:"));
    let r = read(&sealed.text).expect("reads");
    assert_eq!(r.summary, summary());
    assert_eq!(r.issuer, "US-DDTC");
    assert_eq!(r.times, TIMES);
    assert_eq!(r.genuine(&keys(false)), Genuine::Genuine);
    assert_eq!(
        r.genuine(&keys(true)),
        Genuine::Untrusted,
        "a compromised key"
    );
    assert_eq!(r.genuine(&[]), Genuine::Untrusted, "an unknown key");
    let code = qr(&sealed.text).expect("fits");
    assert!(code.version <= 20, "version {}", code.version);
    assert!(code.svg(60).starts_with("<svg"));
    // The same seal twice: the same bytes (the vectors rely on it).
    assert_eq!(seal(&summary(), TIMES, &signer()).expect("seals"), sealed);
}

#[test]
fn a_changed_summary_is_altered_and_a_damaged_text_is_not_a_seal() {
    let sealed = seal(&summary(), TIMES, &signer()).expect("seals");
    // Change the quantity inside the CBOR, then compress and encode again:
    // it still reads, and its signature no longer holds.
    let mut cose = sealed.cose.clone();
    let at = cose
        .windows(2)
        .position(|w| w == [0x07, 0x18])
        .expect("line 1's quantity (key 7, one-byte integer)");
    cose[at + 2] = cose[at + 2].wrapping_add(1);
    let text = format!(
        "TLY1:{}",
        base45::encode(tally_verify::paper::seal::deflate(&cose))
    );
    let r = read(&text).expect("still a seal");
    assert_ne!(r.summary, summary());
    assert_eq!(r.genuine(&keys(false)), Genuine::Altered);

    // A character changed in the Base45 text: no longer a seal at all.
    let mut broken = sealed.text.clone().into_bytes();
    broken[10] = if broken[10] == b'A' { b'B' } else { b'A' };
    let broken = String::from_utf8(broken).expect("ascii");
    assert!(matches!(read(&broken), Err(NotASeal(_))));
    assert!(read("HC1:6BFOXN").is_err(), "another scheme's prefix");
    assert!(read("TLY1:").is_err());
}

#[test]
fn a_compression_bomb_is_not_a_seal() {
    let bomb = tally_verify::paper::seal::deflate(&vec![0u8; 1 << 20]);
    let text = format!("TLY1:{}", base45::encode(bomb));
    let e = read(&text).expect_err("a bomb");
    assert!(e.0.contains("inflates past"), "{e}");
}

#[test]
fn a_delivery_verification_is_not_sealed() {
    let d: License = serde_json::from_value(serde_json::json!({"kind": "delivery",
        "number": "DV-1", "importing_country": "MX",
        "export_license": {"authority": "US-DDTC", "number": "E-1"},
        "delivered_to": {"name": "Policia"}, "date": "2026-12-03",
        "items": [{"line": 1, "quantity": 4}]}))
    .expect("parses");
    assert!(Summary::of("MX-SEDENA", 1, "2026-12-03", &d).is_err());
}
