//! What an item line says of itself for the Arms Trade Treaty's annual
//! report (category VIII, small arms and light weapons, by the
//! sub-categories of the UN Register's voluntary small-arms form), and how
//! a line is placed in a sub-category: by the issuer's own statement when
//! the line has one, otherwise by its HS subheading where that decides it,
//! and never by a guess.
//!
//! Why the statement: HS headings do not follow the form's sub-categories.
//! 9302 is revolvers and pistols but not machine pistols; 9303 includes
//! flare and blank-firing pistols and captive-bolt tools; 9301 spans
//! military rifles, machine guns, launchers and artillery.

use serde::{Deserialize, Serialize};

/// A sub-category of ATT category VIII, numbered as the UN Register's
/// voluntary form numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AttSubcategory {
    /// Revolvers and self-loading pistols.
    #[serde(rename = "small_arms_1")]
    SmallArms1,
    /// Rifles and carbines.
    #[serde(rename = "small_arms_2")]
    SmallArms2,
    /// Sub-machine guns.
    #[serde(rename = "small_arms_3")]
    SmallArms3,
    /// Assault rifles.
    #[serde(rename = "small_arms_4")]
    SmallArms4,
    /// Light machine guns.
    #[serde(rename = "small_arms_5")]
    SmallArms5,
    /// Others.
    #[serde(rename = "small_arms_6")]
    SmallArms6,
    /// Heavy machine guns.
    #[serde(rename = "light_weapons_1")]
    LightWeapons1,
    /// Hand-held under-barrel and mounted grenade launchers.
    #[serde(rename = "light_weapons_2")]
    LightWeapons2,
    /// Portable anti-tank guns.
    #[serde(rename = "light_weapons_3")]
    LightWeapons3,
    /// Recoilless rifles.
    #[serde(rename = "light_weapons_4")]
    LightWeapons4,
    /// Portable launchers of anti-tank missile and rocket systems.
    #[serde(rename = "light_weapons_5")]
    LightWeapons5,
    /// Mortars of calibres less than 75 mm.
    #[serde(rename = "light_weapons_6")]
    LightWeapons6,
    /// Others.
    #[serde(rename = "light_weapons_7")]
    LightWeapons7,
}

use AttSubcategory::*;

/// Every sub-category, in the form's order.
pub const SUBCATEGORIES: [AttSubcategory; 13] = [
    SmallArms1,
    SmallArms2,
    SmallArms3,
    SmallArms4,
    SmallArms5,
    SmallArms6,
    LightWeapons1,
    LightWeapons2,
    LightWeapons3,
    LightWeapons4,
    LightWeapons5,
    LightWeapons6,
    LightWeapons7,
];

impl AttSubcategory {
    /// The JSON (and wire) name, `small_arms_1` to `light_weapons_7`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmallArms1 => "small_arms_1",
            SmallArms2 => "small_arms_2",
            SmallArms3 => "small_arms_3",
            SmallArms4 => "small_arms_4",
            SmallArms5 => "small_arms_5",
            SmallArms6 => "small_arms_6",
            LightWeapons1 => "light_weapons_1",
            LightWeapons2 => "light_weapons_2",
            LightWeapons3 => "light_weapons_3",
            LightWeapons4 => "light_weapons_4",
            LightWeapons5 => "light_weapons_5",
            LightWeapons6 => "light_weapons_6",
            LightWeapons7 => "light_weapons_7",
        }
    }

    pub fn parse(s: &str) -> Option<AttSubcategory> {
        SUBCATEGORIES.into_iter().find(|c| c.as_str() == s)
    }

    /// As the reporting template writes it: "Small arms", "1. Revolvers and
    /// self-loading pistols".
    pub fn template_names(self) -> (&'static str, &'static str) {
        let sa = "Small arms";
        let lw = "Light weapons";
        match self {
            SmallArms1 => (sa, "1. Revolvers and self-loading pistols"),
            SmallArms2 => (sa, "2. Rifles and carbines"),
            SmallArms3 => (sa, "3. Sub-machine guns"),
            SmallArms4 => (sa, "4. Assault rifles"),
            SmallArms5 => (sa, "5. Light machine guns"),
            SmallArms6 => (sa, "6. Others"),
            LightWeapons1 => (lw, "1. Heavy machine guns"),
            LightWeapons2 => (
                lw,
                "2. Hand-held under-barrel and mounted grenade launchers",
            ),
            LightWeapons3 => (lw, "3. Portable anti-tank guns"),
            LightWeapons4 => (lw, "4. Recoilless rifles"),
            LightWeapons5 => (
                lw,
                "5. Portable launchers of anti-tank missile and rocket systems",
            ),
            LightWeapons6 => (lw, "6. Mortars of calibres less than 75 mm"),
            LightWeapons7 => (lw, "7. Others"),
        }
    }
}

/// How a firearm fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Manual,
    SemiAutomatic,
    SelectiveFire,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Manual => "manual",
            Action::SemiAutomatic => "semi_automatic",
            Action::SelectiveFire => "selective_fire",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        [Action::Manual, Action::SemiAutomatic, Action::SelectiveFire]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// Largest caliber a line may state, in hundredths of a millimetre (a
/// 200 mm gun is far outside category VIII already).
pub const MAX_CALIBER_HUNDREDTHS: u32 = 20_000;

/// Where a line goes in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    In(AttSubcategory),
    /// Not small arms or light weapons (ammunition, parts, shotguns' kin
    /// outside the form, artillery): left out of category VIII.
    Outside(&'static str),
    /// The line does not say enough: the officer decides.
    Undecided(&'static str),
}

/// Where a firearm line of HS code `hs` goes: the issuer's statement first,
/// then the documented table (docs/API.md, "The ATT report"):
/// - 9302 (revolvers and pistols): small arms 1;
/// - 9303.30 (sporting, hunting or target-shooting rifles): small arms 2;
/// - 9303.20 (sporting shotguns): small arms 6;
/// - 9301.90 (other military weapons) with a manual or semi-automatic
///   action: small arms 2; selective fire could be a sub-machine gun, an
///   assault rifle or a machine gun: undecided;
/// - 9301.10 (artillery) at 75 mm and above, 9303.90 (flare and
///   blank-firing pistols, captive-bolt tools), 9305 (parts) and 9306
///   (ammunition): outside category VIII;
/// - anything else: undecided.
pub fn place(
    stated: Option<AttSubcategory>,
    hs: Option<&str>,
    action: Option<Action>,
    caliber_hundredths: Option<u32>,
) -> Placement {
    if let Some(s) = stated {
        return Placement::In(s);
    }
    let hs = hs.unwrap_or_default();
    let starts = |p: &str| hs.starts_with(p);
    if starts("9302") {
        Placement::In(SmallArms1)
    } else if starts("930330") {
        Placement::In(SmallArms2)
    } else if starts("930320") {
        Placement::In(SmallArms6)
    } else if starts("930190") {
        match action {
            Some(Action::Manual | Action::SemiAutomatic) => Placement::In(SmallArms2),
            Some(Action::SelectiveFire) => Placement::Undecided(
                "9301.90 with selective fire: state att_subcategory (sub-machine gun, assault rifle or machine gun)",
            ),
            None => Placement::Undecided("9301.90 needs an action or att_subcategory"),
        }
    } else if starts("930110") && caliber_hundredths.is_some_and(|c| c >= 7_500) {
        Placement::Outside("9301.10 at 75 mm or above: artillery, not category VIII")
    } else if starts("930390") {
        Placement::Outside("9303.90: flare, blank-firing or captive-bolt, not category VIII")
    } else if starts("9305") {
        Placement::Outside("9305: parts and accessories")
    } else if starts("9306") {
        Placement::Outside("9306: ammunition")
    } else if hs.is_empty() {
        Placement::Undecided("no HS code and no att_subcategory")
    } else {
        Placement::Undecided("the HS code does not decide a sub-category: state att_subcategory")
    }
}

/// `caliber_mm` in JSON: millimetres with at most two decimals, kept as
/// hundredths so that the signed bytes hold an integer, never a float.
pub mod caliber_mm {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(h) => s.serialize_f64(f64::from(*h) / 100.0),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        let Some(mm) = Option::<f64>::deserialize(d)? else {
            return Ok(None);
        };
        let hundredths = (mm * 100.0).round();
        let exact = (mm * 100.0 - hundredths).abs() < 1e-6;
        if !exact || !(1.0..=f64::from(super::MAX_CALIBER_HUNDREDTHS)).contains(&hundredths) {
            return Err(serde::de::Error::custom(format!(
                "caliber_mm {mm} must be 0.01 to 200 mm with at most two decimals"
            )));
        }
        Ok(Some(hundredths as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_places_what_the_hs_code_decides_and_nothing_else() {
        let p = |hs, action, cal| place(None, Some(hs), action, cal);
        assert_eq!(p("930200", None, None), Placement::In(SmallArms1));
        assert_eq!(p("930330", None, None), Placement::In(SmallArms2));
        assert_eq!(p("930320", None, None), Placement::In(SmallArms6));
        assert_eq!(
            p("930190", Some(Action::SemiAutomatic), None),
            Placement::In(SmallArms2)
        );
        assert!(matches!(
            p("930190", Some(Action::SelectiveFire), None),
            Placement::Undecided(_)
        ));
        assert!(matches!(p("930190", None, None), Placement::Undecided(_)));
        assert!(matches!(
            p("930110", None, Some(10_500)),
            Placement::Outside(_)
        ));
        assert!(matches!(
            p("930110", None, Some(6_000)),
            Placement::Undecided(_)
        ));
        assert!(matches!(p("930390", None, None), Placement::Outside(_)));
        assert!(matches!(p("930630", None, None), Placement::Outside(_)));
        assert!(matches!(p("9305", None, None), Placement::Outside(_)));
        assert_eq!(
            place(Some(LightWeapons6), Some("930190"), None, None),
            Placement::In(LightWeapons6),
            "the issuer's statement decides"
        );
        for c in SUBCATEGORIES {
            assert_eq!(AttSubcategory::parse(c.as_str()), Some(c));
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, c.as_str());
        }
    }

    #[test]
    fn caliber_mm_is_hundredths_of_a_millimetre() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct L {
            #[serde(default, with = "caliber_mm")]
            caliber_mm: Option<u32>,
        }
        let l: L = serde_json::from_str(r#"{"caliber_mm": 5.56}"#).unwrap();
        assert_eq!(l.caliber_mm, Some(556));
        assert_eq!(serde_json::to_string(&l).unwrap(), r#"{"caliber_mm":5.56}"#);
        for bad in ["5.555", "0", "-9", "300"] {
            let text = format!(r#"{{"caliber_mm": {bad}}}"#);
            assert!(serde_json::from_str::<L>(&text).is_err(), "{bad}");
        }
    }
}
