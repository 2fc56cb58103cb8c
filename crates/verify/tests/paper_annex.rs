//! Annex pages' seals (docs/PROTOCOL.md 14, "Annex pages"): each part of
//! a long line's serials sealed on its own, read back as an annex, genuine
//! as printed and altered when changed; the parts' counts add up to the
//! main seal's; every part has its own cti; the main seal is as it was.

use tally_model::signer::FileSigner;
use tally_model::{AuthorityKey, License};
use tally_verify::paper::{
    Genuine, PaperKey, Summary, Times, annex_cti, parts, qr, read, seal, seal_annex,
};

fn signer() -> FileSigner {
    FileSigner::new(&AuthorityKey::from_bytes(&[7; 32]))
}

fn keys() -> Vec<PaperKey> {
    use tally_model::signer::Signer as _;
    vec![PaperKey {
        authority: "US-DDTC".into(),
        public_key: signer().public_key(),
        compromised: false,
    }]
}

const TIMES: Times = Times {
    printed_at: 1_794_000_000,
    expires_at: 1_809_000_000,
};

/// The sample export license with `n` serials on line 1.
fn license(n: usize) -> tally_model::ExportLicense {
    let mut e = tally_model::sample::export_license();
    e.items[0].quantity = e.items[0].quantity.max(n as u64);
    e.items[0].serials = (0..n).map(|i| format!("ac-{i:05}")).collect();
    e
}

fn summary(e: &tally_model::ExportLicense) -> Summary {
    Summary::of("US-DDTC", 1, "2026-11-02", &License::Export(e.clone())).expect("seals")
}

#[test]
fn each_part_reads_back_as_a_genuine_annex_whose_counts_add_up() {
    let e = license(450);
    let s = summary(&e);
    let p = parts(1, &e.items[0].serials);
    assert_eq!(p.len(), 3);
    let mut total = 0;
    let mut ctis = Vec::new();
    for part in &p {
        let sealed = seal_annex(&s, &part.annex, TIMES, &signer()).expect("seals");
        let code = qr(&sealed.text).expect("fits");
        assert!(code.version <= 20, "version {}", code.version);
        let r = read(&sealed.text).expect("reads");
        assert_eq!(r.annex.as_ref(), Some(&part.annex));
        assert_eq!(
            (r.summary.kind.as_str(), r.summary.number.as_str()),
            ("export", s.number.as_str())
        );
        assert!(r.summary.lines.is_empty(), "an annex gives no lines");
        assert_eq!(r.genuine(&keys()), Genuine::Genuine);
        assert_eq!(r.times, TIMES);
        let want = annex_cti("US-DDTC", &s.number, 1, 1, part.annex.part);
        assert_eq!(r.cti, want.to_vec());
        ctis.push(r.cti.clone());
        total += r.annex.map_or(0, |a| a.count);
    }
    assert_eq!(total, s.lines[0].serial_count, "the parts add up");
    ctis.push(tally_verify::paper::seal::cti("US-DDTC", &s.number, 1).to_vec());
    ctis.sort();
    ctis.dedup();
    assert_eq!(
        ctis.len(),
        4,
        "every part, and the main seal, has its own cti"
    );
}

#[test]
fn a_changed_annex_is_altered_and_an_impossible_part_is_not_a_seal() {
    let e = license(450);
    let s = summary(&e);
    let part = &parts(1, &e.items[0].serials)[1];
    let sealed = seal_annex(&s, &part.annex, TIMES, &signer()).expect("seals");
    let redo = |from: &[u8], to: &[u8]| {
        let mut cose = sealed.cose.clone();
        let at = cose
            .windows(from.len())
            .position(|w| w == from)
            .expect("the bytes");
        cose[at..at + to.len()].copy_from_slice(to);
        format!(
            "TLY1:{}",
            base45::encode(tally_verify::paper::seal::deflate(&cose))
        )
    };
    // The last serial of part 2 (AC00399) changed: reads, signature fails.
    let r = read(&redo(b"AC00399", b"AC00398")).expect("still a seal");
    assert_eq!(r.genuine(&keys()), Genuine::Altered);
    // Part 2 of 3 claiming part 4 of 3: not an annex at all.
    let e =
        read(&redo(&[0xa7, 1, 1, 2, 2, 3, 3], &[0xa7, 1, 1, 2, 4, 3, 3])).expect_err("part 4 of 3");
    assert!(e.0.contains("part"), "{e}");
}

#[test]
fn an_annex_seal_of_one_part_is_not_the_seal_of_another() {
    // A part's seal re-pointed at another part (its claim signed, the cti
    // of another) would read altered: the cti binds line and part. Here:
    // two parts' seals differ, and each names only its own part.
    let e = license(450);
    let s = summary(&e);
    let p = parts(1, &e.items[0].serials);
    let a = read(
        &seal_annex(&s, &p[0].annex, TIMES, &signer())
            .expect("seals")
            .text,
    )
    .expect("reads");
    let b = read(
        &seal_annex(&s, &p[1].annex, TIMES, &signer())
            .expect("seals")
            .text,
    )
    .expect("reads");
    assert_ne!(a.cti, b.cti);
    assert_ne!(a.annex, b.annex);
}

#[test]
fn annexes_leave_the_main_seal_as_it_was() {
    // The main seal of a license with 450 serials still holds the line's
    // count and digest, and reads with no annex.
    let e = license(450);
    let s = summary(&e);
    let sealed = seal(&s, TIMES, &signer()).expect("seals");
    let r = read(&sealed.text).expect("reads");
    assert!(r.annex.is_none());
    assert_eq!(r.summary, s);
    assert_eq!(r.summary.lines[0].serial_count, 450);
    assert_eq!(r.genuine(&keys()), Genuine::Genuine);
}

#[test]
fn a_document_of_too_many_lines_does_not_fit_a_seal() {
    // Each line gives its fields, count and a 32-byte digest: the sample's
    // line fits 8 times in QR version 25, not 10, and a document past that
    // is refused at print (lines do not move to annexes).
    let mut e = license(1);
    let first = e.items[0].clone();
    e.items = (1..=40)
        .map(|n| {
            let mut it = first.clone();
            it.line = n;
            it.serials = vec![format!("L{n}-1"), format!("L{n}-2")];
            it
        })
        .collect();
    let sealed = seal(&summary(&e), TIMES, &signer()).expect("seals");
    let err = qr(&sealed.text).expect_err("too large");
    assert!(err.0.contains("above the limit of 25"), "{err}");
}
