//! The bounded run CI makes: random seeds, short timelines, every node must
//! agree (see the crate doc).

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn honest_nodes_agree_whatever_a_trusted_issuer_sends(seed in any::<u64>()) {
        let r = tally_byzantine::run_case(seed, 100, tally_store::EngineKind::Redb)
            .expect("the harness runs");
        prop_assert!(r.failures.is_empty(), "seed {seed}: {:#?}", r.failures);
        prop_assert!(r.disagreements.is_empty(), "seed {seed}: {:#?}", r.disagreements);
        prop_assert!(r.stored > 0);
    }
}

/// Every class of the grammar is drawn within a few cases.
#[test]
fn the_grammar_covers_every_fault() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..4 {
        let mut rng = tally_testkit::Rng(seed);
        for d in tally_byzantine::hostile::timeline(&mut rng, 200) {
            seen.insert(d.class);
        }
    }
    assert_eq!(seen.len(), 20, "{seen:?}");
}
