//! A trust bundle signed and checked: a changed bundle is refused whole;
//! a seal's status is read from it (active, revoked, superseded, expired,
//! unknown).

use tally_model::signer::{FileSigner, Signer as _};
use tally_model::{AuthorityKey, License};
use tally_verify::paper::{
    Bundle, BundleAuthority, BundleKey, BundleStatus, Genuine, Summary, Times,
};

fn paper() -> FileSigner {
    FileSigner::new(&AuthorityKey::from_bytes(&[9; 32]))
}

fn bundle(status: &str, version: u32) -> Bundle {
    Bundle {
        produced_by: "US-DDTC".into(),
        produced_at: 1_794_000_000_000,
        authorities: vec![BundleAuthority {
            contact: None,
            authority: "US-DDTC".into(),
            name: "Directorate of Defense Trade Controls".into(),
            keys: vec![BundleKey {
                key_id: hex::encode(paper().public_key()),
                purpose: "paper".into(),
                valid_from_ms: 0,
                compromised: false,
            }],
        }],
        statuses: vec![BundleStatus {
            authority: "US-DDTC".into(),
            number: tally_model::sample::export_license().number,
            version,
            status: status.into(),
        }],
        signature: String::new(),
    }
    .sign(&paper())
    .expect("signs")
}

#[test]
fn a_bundle_holds_as_signed_and_gives_each_seal_its_status() {
    let b = bundle("active", 1);
    b.verified(None).expect("holds");
    b.verified(Some(&paper().public_key()))
        .expect("holds for the pinned key");
    assert!(b.verified(Some(&[7; 32])).is_err(), "another pinned key");
    let mut changed = b.clone();
    changed.statuses[0].status = "revoked".into();
    assert!(changed.verified(None).is_err(), "a changed bundle");
    // The canonical form ignores key order and spacing: a round trip holds.
    let text = serde_json::to_string_pretty(&b).expect("json");
    let back: Bundle = serde_json::from_str(&text).expect("parses");
    back.verified(None).expect("still holds");

    let summary = Summary::of(
        "US-DDTC",
        1,
        "2026-11-02",
        &License::Export(tally_model::sample::export_license()),
    )
    .expect("summary");
    let times = Times {
        printed_at: 1_794_000_000,
        expires_at: 1_809_000_000,
    };
    let sealed = tally_verify::paper::seal(&summary, times, &paper()).expect("seals");
    let read = tally_verify::paper::read(&sealed.text).expect("reads");
    assert_eq!(b.genuine(&read), Genuine::Genuine);
    assert_eq!(b.status_of(&read, 1_795_000_000), "active");
    assert_eq!(b.status_of(&read, 1_810_000_000), "expired");
    assert_eq!(
        bundle("revoked", 1).status_of(&read, 1_795_000_000),
        "revoked"
    );
    assert_eq!(
        bundle("active", 2).status_of(&read, 1_795_000_000),
        "superseded"
    );
    let mut none = b.clone();
    none.statuses.clear();
    assert_eq!(none.status_of(&read, 1_795_000_000), "unknown");
}
