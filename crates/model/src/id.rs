//! Identifiers: authority ids, ISO 3166-1 alpha-2 country codes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    #[error("unknown ISO 3166-1 alpha-2 country code {0:?}")]
    UnknownCountry(String),
    #[error(
        "malformed authority id {0:?}: expected CC-NAME (CC an ISO 3166-1 alpha-2 code, NAME 2-16 of A-Z0-9)"
    )]
    MalformedAuthority(String),
}

/// Every officially assigned ISO 3166-1 alpha-2 code.
const ISO_3166_1: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Binary search of the sorted list: every document and entry parses several
/// country codes, and a linear scan of 249 codes showed up in the catch-up
/// profile (14% of the commit stage).
fn is_assigned(code: &[u8]) -> bool {
    let list = ISO_3166_1.as_bytes();
    let (mut lo, mut hi) = (0, list.len().div_ceil(3));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match list.get(3 * mid..3 * mid + 2).map(|c| c.cmp(code)) {
            Some(std::cmp::Ordering::Less) => lo = mid + 1,
            Some(std::cmp::Ordering::Greater) => hi = mid,
            Some(std::cmp::Ordering::Equal) => return true,
            None => return false,
        }
    }
    false
}

/// An ISO 3166-1 alpha-2 country code, e.g. `MX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    pub fn as_str(&self) -> &str {
        // Constructed only from two ASCII capitals.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for Country {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() == 2 && b.iter().all(u8::is_ascii_uppercase) && is_assigned(b) {
            Ok(Country([b[0], b[1]]))
        } else {
            Err(IdError::UnknownCountry(s.to_string()))
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A licensing authority: `CC-NAME`, e.g. `US-DDTC`, `MX-SEDENA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorityId(String);

impl AuthorityId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The country is the id's prefix.
    pub fn country(&self) -> Country {
        self.0
            .get(..2)
            .and_then(|c| c.parse().ok())
            .expect("an AuthorityId is only built with a valid country prefix")
    }
}

impl FromStr for AuthorityId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = || IdError::MalformedAuthority(s.to_string());
        let (cc, name) = s.split_once('-').ok_or_else(bad)?;
        cc.parse::<Country>().map_err(|_| bad())?;
        let name_ok = (2..=16).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if name_ok {
            Ok(AuthorityId(s.to_string()))
        } else {
            Err(bad())
        }
    }
}

impl fmt::Display for AuthorityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AuthorityId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuthorityId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_ids() {
        for (s, ok) in [
            ("US-DDTC", true),
            ("MX-SEDENA", true),
            ("GT-DIGECAM", true),
            ("BR-EB1", true),
            ("XX-DDTC", false),
            ("us-DDTC", false),
            ("US-D", false),
            ("US-ddtc", false),
            ("US-ABCDEFGHIJKLMNOPQ", false),
            ("USDDTC", false),
            ("US-DD-TC", false),
            ("", false),
        ] {
            assert_eq!(s.parse::<AuthorityId>().is_ok(), ok, "{s}");
        }
        let id: AuthorityId = "MX-SEDENA".parse().expect("valid");
        assert_eq!(id.country().as_str(), "MX");
    }

    #[test]
    fn the_code_list_is_sorted_with_a_fixed_stride() {
        let codes: Vec<&str> = ISO_3166_1.split(' ').collect();
        assert_eq!(codes.len(), 249);
        assert!(codes.iter().all(|c| c.len() == 2));
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(codes.iter().all(|c| c.parse::<Country>().is_ok()));
    }

    #[test]
    fn countries() {
        assert!("GT".parse::<Country>().is_ok());
        assert!("ZZ".parse::<Country>().is_err());
        assert!("gt".parse::<Country>().is_err());
        assert!("GTM".parse::<Country>().is_err());
    }
}
