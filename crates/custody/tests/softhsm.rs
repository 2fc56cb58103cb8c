//! The PKCS#11 signer against a real SoftHSM2, each test in a token of its
//! own (see `support`).

mod support;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use std::sync::Arc;
use support::{PIN, TOKEN_LABEL, Token, in_own_token};
use tally_custody::{FileSigner, Pkcs11Signer, Signer, SignerError, max_message_bytes, sign_entry};

const KEY: &str = "us-ddtc-signing-1";

/// A message as an entry's would be: the domain prefix, then bytes.
fn message(n: usize) -> Vec<u8> {
    let mut m = tally_model::entry::DOMAIN.to_vec();
    m.extend((0..n).map(|i| (i % 251) as u8));
    m
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a signature under the protocol's rule and ed25519-dalek's strict one.
fn verifies(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let dalek = ed25519_dalek::VerifyingKey::from_bytes(public).is_ok_and(|k| {
        k.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    });
    tally_model::signature::verify(public, message, signature) && dalek
}

#[test]
fn a_key_generated_in_the_token_signs_what_the_protocol_verifies() {
    in_own_token(
        "a_key_generated_in_the_token_signs_what_the_protocol_verifies",
        |token| {
            let signer = Pkcs11Signer::generate(token.config(KEY)).expect("generated");
            let public = signer.public_key();
            assert_eq!(tally_model::signature::key_weakness(&public), None);
            for m in [message(200), message(0)] {
                let sig = signer.sign(&m).expect("signed");
                assert!(verifies(&public, &m, &sig));
                let mut other = m.clone();
                other.push(0);
                assert!(!verifies(&public, &other, &sig));
            }
            // The largest message this version hands a signer, in one call.
            let largest = message(max_message_bytes() - tally_model::entry::DOMAIN.len());
            assert_eq!(largest.len(), max_message_bytes());
            let sig = signer.sign(&largest).expect("the largest message signed");
            assert!(verifies(&public, &largest, &sig));
            assert!(signer.description().contains(TOKEN_LABEL));
            assert!(!signer.description().contains(PIN));
        },
    );
}

#[test]
fn the_key_is_found_again_by_its_label_and_not_generated_twice() {
    in_own_token(
        "the_key_is_found_again_by_its_label_and_not_generated_twice",
        |token| {
            let public = Pkcs11Signer::generate(token.config(KEY))
                .expect("generated")
                .public_key();
            let again = Pkcs11Signer::open(token.config(KEY)).expect("found again");
            assert_eq!(again.public_key(), public);
            let m = message(50);
            assert!(verifies(&public, &m, &again.sign(&m).expect("signed")));
            assert!(matches!(
                Pkcs11Signer::generate(token.config(KEY)),
                Err(SignerError::KeyExists { .. })
            ));
            assert!(matches!(
                Pkcs11Signer::open(token.config("no-such-key")),
                Err(SignerError::KeyNotFound { .. })
            ));
            let other = Pkcs11Signer::generate(token.config("second")).expect("a second key");
            assert_ne!(other.public_key(), public);
        },
    );
}

#[test]
fn the_private_key_is_sensitive_and_never_extractable() {
    in_own_token(
        "the_private_key_is_sensitive_and_never_extractable",
        |token| {
            let public = Pkcs11Signer::generate(token.config(KEY))
                .expect("generated")
                .public_key();
            let module = Pkcs11::new(support::module()).expect("module");
            module
                .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
                .expect("initialised");
            let slot = module.get_slots_with_token().expect("slots")[0];
            let session = module.open_ro_session(slot).expect("session");
            session
                .login(UserType::User, Some(&PIN.into()))
                .expect("login");
            let find = |class| {
                session
                    .find_objects(&[
                        Attribute::Class(class),
                        Attribute::Label(KEY.as_bytes().to_vec()),
                    ])
                    .expect("found")
            };
            let private = find(ObjectClass::PRIVATE_KEY);
            let public_objects = find(ObjectClass::PUBLIC_KEY);
            assert_eq!((private.len(), public_objects.len()), (1, 1));
            let value = session
                .get_attribute_info(private[0], &[AttributeType::Value])
                .expect("asked");
            assert!(matches!(value[..], [AttributeInfo::Sensitive]), "{value:?}");
            let attributes = session
                .get_attributes(
                    private[0],
                    &[
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                        AttributeType::AlwaysSensitive,
                        AttributeType::NeverExtractable,
                        AttributeType::Token,
                        AttributeType::Id,
                        AttributeType::Sign,
                        AttributeType::Derive,
                    ],
                )
                .expect("attributes");
            for expected in [
                Attribute::Sign(true),
                Attribute::Derive(false),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::AlwaysSensitive(true),
                Attribute::NeverExtractable(true),
                Attribute::Token(true),
                Attribute::Id(public.to_vec()),
            ] {
                assert!(
                    attributes.contains(&expected),
                    "{expected:?} in {attributes:?}"
                );
            }
            let public_attributes = session
                .get_attributes(
                    public_objects[0],
                    &[
                        AttributeType::Token,
                        AttributeType::Id,
                        AttributeType::EcParams,
                        AttributeType::EcPoint,
                    ],
                )
                .expect("attributes");
            // What this module reports (docs/OPERATIONS.md lists SoftHSM2's).
            for a in &public_attributes {
                if let Attribute::EcParams(v) | Attribute::EcPoint(v) = a {
                    println!("{:?}: {}", a.attribute_type(), hex_of(v));
                }
            }
            assert!(public_attributes.contains(&Attribute::Token(true)));
            assert!(public_attributes.contains(&Attribute::Id(public.to_vec())));
        },
    );
}

#[test]
fn a_wrong_pin_is_its_own_error() {
    in_own_token("a_wrong_pin_is_its_own_error", |token| {
        Pkcs11Signer::generate(token.config(KEY)).expect("generated");
        let err =
            Pkcs11Signer::open(token.config_with_pin(KEY, "0000-wrong")).expect_err("a wrong PIN");
        assert_eq!(
            err,
            SignerError::PinRefused {
                token: TOKEN_LABEL.into(),
                locked: false
            }
        );
        assert!(!err.to_string().contains("0000-wrong"));
    });
}

#[test]
fn set_up_mistakes_are_named() {
    in_own_token("set_up_mistakes_are_named", |token| {
        let mut config = token.config(KEY);
        config.token_label = "no-such-token".into();
        let err = Pkcs11Signer::open(config).expect_err("no such token");
        assert!(err.is_unavailable(), "{err}");
        let mut config = token.config(KEY);
        config.module = "/nonexistent/libpkcs11.so".into();
        assert!(matches!(
            Pkcs11Signer::open(config),
            Err(SignerError::Module { .. })
        ));
    });
}

/// Moves the token's files out of the token directory, or back.
fn move_token_files(token: &Token, away: bool) {
    let (from, to) = if away {
        (token.tokens(), token.dir.join("away"))
    } else {
        (token.dir.join("away"), token.tokens())
    };
    std::fs::rename(&from, &to).expect("moved");
    if away {
        std::fs::create_dir(&from).expect("an empty token directory");
    }
}

#[test]
fn a_token_away_is_unavailable_and_signing_resumes_when_it_is_back() {
    in_own_token(
        "a_token_away_is_unavailable_and_signing_resumes_when_it_is_back",
        |token| {
            let signer = Pkcs11Signer::generate(token.config(KEY)).expect("generated");
            let m = message(100);
            signer.sign(&m).expect("signed while present");
            move_token_files(token, true);
            let err = signer.sign(&m).expect_err("the token is away");
            eprintln!("away: {err}");
            assert!(err.is_unavailable(), "{err}");
            assert!(signer.check().expect_err("still away").is_unavailable());
            std::fs::remove_dir(token.tokens()).expect("the empty directory");
            move_token_files(token, false);
            // Found again without signing, then signs in that session.
            signer.check().expect("the token is back");
            let sig = signer.sign(&m).expect("signing resumed");
            assert!(verifies(&signer.public_key(), &m, &sig));
        },
    );
}

#[test]
fn a_module_finalised_under_the_signer_is_initialised_again() {
    in_own_token(
        "a_module_finalised_under_the_signer_is_initialised_again",
        |token| {
            let signer = Pkcs11Signer::generate(token.config(KEY)).expect("generated");
            let m = message(100);
            signer.sign(&m).expect("signed");
            // Another handle on the same module finalises it: every session
            // of the process is gone, as when a device is pulled.
            let module = Pkcs11::new(support::module()).expect("module");
            module.finalize().expect("finalised");
            let sig = signer.sign(&m).expect("signed again, same signer");
            assert!(verifies(&signer.public_key(), &m, &sig));
        },
    );
}

#[test]
fn file_and_token_signers_are_interchangeable() {
    in_own_token("file_and_token_signers_are_interchangeable", |token| {
        let signers: Vec<Arc<dyn Signer>> = vec![
            Arc::new(FileSigner::new(&tally_model::AuthorityKey::from_bytes(
                &[3; 32],
            ))),
            Arc::new(Pkcs11Signer::generate(token.config(KEY)).expect("generated")),
        ];
        let m = message(300);
        for signer in &signers {
            let sig = signer.sign(&m).expect("signed");
            assert!(
                verifies(&signer.public_key(), &m, &sig),
                "{}",
                signer.description()
            );
        }
        assert_ne!(signers[0].public_key(), signers[1].public_key());
        // Shared between threads, as the node's tasks share it.
        let token_signer = Arc::clone(&signers[1]);
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let s = Arc::clone(&token_signer);
                std::thread::spawn(move || {
                    let m = message(i * 10);
                    let sig = s.sign(&m).expect("signed");
                    verifies(&s.public_key(), &m, &sig)
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().expect("a signing thread"));
        }
    });
}

#[test]
fn a_key_whose_curve_is_named_edwards25519_is_found_and_signs() {
    in_own_token(
        "a_key_whose_curve_is_named_edwards25519_is_found_and_signs",
        |token| {
            // Made outside the signer, with CKA_EC_PARAMS as the PrintableString
            // name (the PKCS#11 3.0 form) instead of the OID.
            let module = Pkcs11::new(support::module()).expect("module");
            module
                .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
                .expect("initialised");
            let slot = module.get_slots_with_token().expect("slots")[0];
            let session = module.open_rw_session(slot).expect("session");
            session
                .login(UserType::User, Some(&PIN.into()))
                .expect("login");
            let label = KEY.as_bytes().to_vec();
            let (public, private) = session
                .generate_key_pair(
                    &cryptoki::mechanism::Mechanism::EccEdwardsKeyPairGen,
                    &[
                        Attribute::Token(true),
                        Attribute::Verify(true),
                        Attribute::EcParams(b"\x13\x0cedwards25519".to_vec()),
                        Attribute::Label(label.clone()),
                    ],
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Sign(true),
                        Attribute::Label(label),
                    ],
                )
                .expect("SoftHSM2 takes the curve by name");
            let point = session
                .get_attributes(public, &[AttributeType::EcPoint])
                .expect("the point");
            let Some(Attribute::EcPoint(point)) = point.first() else {
                panic!("no CKA_EC_POINT: {point:?}");
            };
            let key = point[point.len() - 32..].to_vec();
            for object in [public, private] {
                session
                    .update_attributes(object, &[Attribute::Id(key.clone())])
                    .expect("CKA_ID set");
            }
            let signer = Pkcs11Signer::open(token.config(KEY)).expect("found");
            assert_eq!(signer.public_key()[..], key[..]);
            let m = message(10);
            assert!(verifies(
                &signer.public_key(),
                &m,
                &signer.sign(&m).expect("signed")
            ));
        },
    );
}

#[test]
fn an_entry_signed_in_the_token_verifies_as_a_peer_checks_it() {
    in_own_token(
        "an_entry_signed_in_the_token_verifies_as_a_peer_checks_it",
        |token| {
            use tally_model::{
                Body, Document, Entry, License, OpenedEntry, SignedEntry, VerifiedEntry,
            };
            let signer = Pkcs11Signer::generate(token.config(KEY)).expect("generated");
            let entry = Entry {
                authority: "US-DDTC".parse().expect("an authority id"),
                seq: 1,
                prev: None,
                issued_at_ms: 1_790_000_000_000,
                recipients: vec![],
                body: Body::Document(Document::License(License::Export(
                    tally_model::sample::export_license(),
                ))),
            };
            let issued = sign_entry(&signer, &entry).expect("signed in the token");
            assert_eq!(issued.signed().key_id(), &signer.public_key());
            // As a peer receives it: the bytes, decoded, checked with the key
            // it trusts for the authority.
            let wire = issued.signed().encode();
            let received = SignedEntry::decode(&wire).expect("decodes");
            let key = ed25519_dalek::VerifyingKey::from_bytes(&signer.public_key())
                .expect("a curve point");
            let verified = VerifiedEntry::verify(OpenedEntry::open(received).expect("opens"), &key)
                .expect("verifies");
            assert_eq!(verified.entry(), &entry);
        },
    );
}

#[test]
fn a_token_away_is_looked_for_at_most_once_per_interval() {
    in_own_token(
        "a_token_away_is_looked_for_at_most_once_per_interval",
        |token| {
            let config = tally_custody::Pkcs11Config {
                reconnect_interval: std::time::Duration::from_secs(3600),
                ..token.config(KEY)
            };
            let signer = Pkcs11Signer::generate(config).expect("generated");
            let m = message(100);
            move_token_files(token, true);
            assert!(signer.sign(&m).expect_err("away").is_unavailable());
            std::fs::remove_dir(token.tokens()).expect("the empty directory");
            move_token_files(token, false);
            // Back, but the next look is an hour away: the last failure is
            // answered without touching the module.
            let err = signer.sign(&m).expect_err("not looked for yet");
            assert!(err.is_unavailable(), "{err}");
        },
    );
}

/// Opens a session of this process on the test token, logged in with `pin`.
fn user_session(pin: &str) -> (Pkcs11, cryptoki::session::Session) {
    let module = Pkcs11::new(support::module()).expect("module");
    match module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("initialise: {e}"),
    }
    let slot = module.get_slots_with_token().expect("slots")[0];
    let session = module.open_rw_session(slot).expect("session");
    match session.login(UserType::User, Some(&pin.into())) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("login: {e}"),
    }
    (module, session)
}

#[test]
fn a_pin_refused_on_reconnection_is_never_tried_again() {
    in_own_token(
        "a_pin_refused_on_reconnection_is_never_tried_again",
        |token| {
            let signer = Pkcs11Signer::generate(token.config(KEY)).expect("generated");
            let m = message(100);
            signer.sign(&m).expect("signed");
            // The PIN changes under the running signer, and its sessions go.
            let (module, session) = user_session(PIN);
            session
                .set_pin(&PIN.into(), &"4321-new".into())
                .expect("PIN changed");
            drop(session);
            module.finalize().expect("finalised");
            let err = signer.sign(&m).expect_err("the old PIN is refused");
            assert_eq!(
                err,
                SignerError::PinRefused {
                    token: TOKEN_LABEL.into(),
                    locked: false
                }
            );
            // The old PIN is good again, yet the signer does not try it: a
            // real HSM would count every try towards locking it.
            let (_module, session) = user_session("4321-new");
            session
                .set_pin(&"4321-new".into(), &PIN.into())
                .expect("PIN changed back");
            assert_eq!(signer.sign(&m).expect_err("not tried again"), err);
        },
    );
}

#[test]
fn a_rotation_within_the_token_leaves_the_new_signer_working() {
    in_own_token(
        "a_rotation_within_the_token_leaves_the_new_signer_working",
        |token| {
            let old = Pkcs11Signer::generate(token.config(KEY)).expect("the first key");
            let new = Pkcs11Signer::generate(token.config("us-ddtc-signing-2")).expect("next");
            let m = message(64);
            for signer in [&old, &new] {
                let sig = signer.sign(&m).expect("both sign while both are held");
                assert!(verifies(&signer.public_key(), &m, &sig));
            }
            // The node drops the old signer once the rotation entry is out.
            drop(old);
            let sig = new.sign(&m).expect("the new key still signs");
            assert!(verifies(&new.public_key(), &m, &sig));
        },
    );
}
