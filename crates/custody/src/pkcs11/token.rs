//! What the signer asks of a token: the Ed25519 key pair generated inside it,
//! found again by label, its public point read back, and the token's answers
//! sorted into [`SignerError`]s.

use crate::SignerError;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

/// CKA_EC_PARAMS naming edwards25519 by its OID, 1.3.101.112 (RFC 8410's
/// id-Ed25519), DER-encoded: what SoftHSM2 writes and reads.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// CKA_EC_PARAMS naming the curve as a PrintableString, `edwards25519`
/// (the PKCS#11 3.0 form, which some tokens insist on).
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
/// The OID written out as a PrintableString, `1.3.101.112`, which some
/// tokens report.
const ED25519_OID_TEXT: &[u8] = b"\x13\x0b1.3.101.112";

/// Whether CKA_EC_PARAMS names edwards25519, in any form a token gives.
pub(crate) fn is_ed25519_params(params: &[u8]) -> bool {
    [ED25519_OID, ED25519_NAME, ED25519_OID_TEXT].contains(&params)
}

/// The 32-byte public key in CKA_EC_POINT: raw, or DER-wrapped in an OCTET
/// STRING (`04 20` then the key), as tokens differ.
pub(crate) fn public_point(point: &[u8]) -> Option<[u8; 32]> {
    match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        raw if raw.len() == 32 => raw.try_into().ok(),
        _ => None,
    }
}

/// Sorts a token's error into what the node does about it (see
/// [`SignerError`]).
pub(crate) fn classify(token: &str, err: Error) -> SignerError {
    let token = token.to_string();
    let Error::Pkcs11(rv, function) = err else {
        return SignerError::Failed {
            token,
            reason: err.to_string(),
        };
    };
    match rv {
        RvError::DeviceRemoved
        | RvError::TokenNotPresent
        | RvError::TokenNotRecognized
        | RvError::SessionHandleInvalid
        | RvError::SessionClosed
        | RvError::DeviceError
        | RvError::CryptokiNotInitialized
        | RvError::SlotIdInvalid
        // The key found at connection is gone from under the session: a
        // token taken away or swapped (SoftHSM2 answers so to C_SignInit when
        // the token's files are gone). Reconnecting finds the key again, or
        // finds that it is not there.
        | RvError::ObjectHandleInvalid
        | RvError::KeyHandleInvalid => SignerError::Unavailable {
            token,
            reason: format!("{function}: {}", rv_name(rv)),
        },
        RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange => {
            SignerError::PinRefused {
                token,
                locked: false,
            }
        }
        RvError::PinLocked | RvError::PinExpired => SignerError::PinRefused {
            token,
            locked: true,
        },
        other => SignerError::Failed {
            token,
            reason: format!("{function}: {}", rv_name(other)),
        },
    }
}

/// The CKR_ name of a return value (cryptoki's `Display` is the
/// specification's paragraph).
fn rv_name(rv: RvError) -> String {
    format!("{rv:?}")
}

/// An Ed25519 key pair on the token.
pub(crate) struct KeyPair {
    pub(crate) private: ObjectHandle,
    pub(crate) public_key: [u8; 32],
}

/// Finds the key pair labelled `label`: its private key and the public key
/// read from its public object. When `expected` is given (a reconnection),
/// the pair must be that key: a token swapped for another holding a key of
/// the same label does not sign in its place.
pub(crate) fn find(
    session: &Session,
    token: &str,
    label: &str,
    expected: Option<&[u8; 32]>,
) -> Result<KeyPair, SignerError> {
    let missing = |reason: String| SignerError::KeyNotFound {
        token: token.to_string(),
        label: label.to_string(),
        reason,
    };
    let publics = objects(session, token, ObjectClass::PUBLIC_KEY, label)?;
    let [public] = publics[..] else {
        return Err(missing(format!(
            "{} public keys of that label",
            publics.len()
        )));
    };
    let public_key = read_public(session, token, public)?.map_err(missing)?;
    if expected.is_some_and(|e| *e != public_key) {
        return Err(missing(format!(
            "its key is {}, not the key the node signs with",
            hex::encode(public_key)
        )));
    }
    let privates = objects(session, token, ObjectClass::PRIVATE_KEY, label)?;
    let mut matching = Vec::new();
    for handle in privates {
        let id = session
            .get_attributes(handle, &[AttributeType::Id])
            .map_err(|e| classify(token, e))?;
        if id
            .iter()
            .any(|a| matches!(a, Attribute::Id(id) if id[..] == public_key[..]))
        {
            matching.push(handle);
        }
    }
    let [private] = matching[..] else {
        return Err(missing(format!(
            "{} private keys with CKA_ID {}",
            matching.len(),
            hex::encode(public_key)
        )));
    };
    Ok(KeyPair {
        private,
        public_key,
    })
}

/// The Ed25519 objects of `class` labelled `label`.
fn objects(
    session: &Session,
    token: &str,
    class: ObjectClass,
    label: &str,
) -> Result<Vec<ObjectHandle>, SignerError> {
    session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| classify(token, e))
}

/// The public key of a public-key object: `Err` (the outer one) when the
/// token failed, `Ok(Err(reason))` when the object is not an Ed25519 key.
fn read_public(
    session: &Session,
    token: &str,
    public: ObjectHandle,
) -> Result<Result<[u8; 32], String>, SignerError> {
    let attributes = session
        .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| classify(token, e))?;
    let (mut params, mut point) = (None, None);
    for a in attributes {
        match a {
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    if !params.as_deref().is_some_and(is_ed25519_params) {
        return Ok(Err(format!(
            "its curve parameters {} are not edwards25519",
            hex::encode(params.unwrap_or_default())
        )));
    }
    Ok(point
        .as_deref()
        .and_then(public_point)
        .ok_or_else(|| "its public point is not 32 bytes, raw or DER-wrapped".to_string()))
}

/// Generates an Ed25519 key pair inside the token (CKM_EC_EDWARDS_KEY_PAIR_GEN),
/// both objects token objects labelled `label`, the private key sensitive and
/// never extractable, and then sets CKA_ID on both to the public key, which
/// is only known once the token made it. The curve is named by its OID, or
/// by its name for a token that refuses the OID.
pub(crate) fn generate(
    session: &Session,
    token: &str,
    label: &str,
) -> Result<KeyPair, SignerError> {
    let exists = !objects(session, token, ObjectClass::PRIVATE_KEY, label)?.is_empty()
        || !objects(session, token, ObjectClass::PUBLIC_KEY, label)?.is_empty();
    if exists {
        return Err(SignerError::KeyExists {
            token: token.to_string(),
            label: label.to_string(),
        });
    }
    let (public, private) = match generate_with(session, label, ED25519_OID) {
        Err(Error::Pkcs11(
            RvError::AttributeValueInvalid
            | RvError::CurveNotSupported
            | RvError::DomainParamsInvalid
            | RvError::TemplateInconsistent,
            _,
        )) => generate_with(session, label, ED25519_NAME),
        other => other,
    }
    .map_err(|e| classify(token, e))?;
    // A half-made pair (no CKA_ID, or an answer that is not an Ed25519 key)
    // is destroyed, so that the label stays free for another try.
    let finished = read_public(session, token, public).and_then(|key| {
        let public_key = key.map_err(|reason| SignerError::Failed {
            token: token.to_string(),
            reason: format!("the generated key: {reason}"),
        })?;
        for object in [public, private] {
            session
                .update_attributes(object, &[Attribute::Id(public_key.to_vec())])
                .map_err(|e| classify(token, e))?;
        }
        Ok(public_key)
    });
    match finished {
        Ok(public_key) => Ok(KeyPair {
            private,
            public_key,
        }),
        Err(e) => {
            let _ = session.destroy_object(private);
            let _ = session.destroy_object(public);
            Err(e)
        }
    }
}

fn generate_with(
    session: &Session,
    label: &str,
    curve: &[u8],
) -> Result<(ObjectHandle, ObjectHandle), Error> {
    let label = label.as_bytes().to_vec();
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(curve.to_vec()),
        Attribute::Label(label.clone()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Derive(false),
        Attribute::Label(label),
    ];
    session.generate_key_pair(&Mechanism::EccEdwardsKeyPairGen, &public, &private)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_points_raw_and_wrapped() {
        let key = [9u8; 32];
        assert_eq!(public_point(&key), Some(key));
        let mut wrapped = vec![0x04, 0x20];
        wrapped.extend_from_slice(&key);
        assert_eq!(public_point(&wrapped), Some(key));
        assert_eq!(public_point(&wrapped[..33]), None);
        assert_eq!(public_point(&[0x04, 0x21, 1, 2]), None);
        assert_eq!(public_point(&[]), None);
    }

    #[test]
    fn curve_parameters_in_each_form() {
        assert!(is_ed25519_params(&[0x06, 0x03, 0x2b, 0x65, 0x70]));
        assert!(is_ed25519_params(b"\x13\x0cedwards25519"));
        assert!(is_ed25519_params(b"\x13\x0b1.3.101.112"));
        // Ed448, 1.3.101.113, and curve448 by name.
        assert!(!is_ed25519_params(&[0x06, 0x03, 0x2b, 0x65, 0x71]));
        assert!(!is_ed25519_params(b"\x13\x0acurve25519"));
    }

    #[test]
    fn token_away_and_wrong_pin_are_told_apart() {
        for rv in [
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
            RvError::DeviceError,
        ] {
            let e = classify("t", Error::Pkcs11(rv, cryptoki::context::Function::Sign));
            assert!(e.is_unavailable(), "{rv:?}");
            assert!(e.to_string().contains("\"t\""));
        }
        let wrong = classify(
            "t",
            Error::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login),
        );
        assert_eq!(
            wrong,
            SignerError::PinRefused {
                token: "t".into(),
                locked: false
            }
        );
        let locked = classify(
            "t",
            Error::Pkcs11(RvError::PinLocked, cryptoki::context::Function::Login),
        );
        assert!(matches!(
            locked,
            SignerError::PinRefused { locked: true, .. }
        ));
        let other = classify(
            "t",
            Error::Pkcs11(RvError::MechanismInvalid, cryptoki::context::Function::Sign),
        );
        assert!(matches!(other, SignerError::Failed { .. }));
    }
}
