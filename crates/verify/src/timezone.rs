//! Whose date "today" is: the node's `timezone` (an IANA name, default
//! `UTC`), from the bundled time zone database, so the answer does not
//! depend on what the host has installed.

use std::fmt;
use tally_model::Date;

/// A checked IANA time zone.
#[derive(Clone, PartialEq)]
pub struct TimeZone {
    name: String,
    tz: jiff::tz::TimeZone,
}

/// Why a name is not a time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone {0:?}: expected an IANA name such as \"UTC\" or \"America/Mexico_City\""
)]
pub struct UnknownTimeZone(pub String);

impl TimeZone {
    /// UTC.
    pub fn utc() -> TimeZone {
        TimeZone {
            name: "UTC".into(),
            tz: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone of an IANA name (`UTC`, `America/Mexico_City`).
    pub fn named(name: &str) -> Result<TimeZone, UnknownTimeZone> {
        let tz = jiff::tz::db()
            .get(name)
            .map_err(|_| UnknownTimeZone(name.to_string()))?;
        Ok(TimeZone {
            name: name.to_string(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The date in this zone at `unix_ms`.
    pub fn date_at(&self, unix_ms: i64) -> Date {
        let offset_ms = jiff::Timestamp::from_millisecond(unix_ms)
            .map(|t| i64::from(self.tz.to_offset(t).seconds()) * 1000)
            .unwrap_or(0);
        Date::from_unix_ms(unix_ms.saturating_add(offset_ms))
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::utc()
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-01T05:30:00Z: already the 1st in UTC, New York (01:30 EDT)
    /// and Tokyo; still 31 October in Mexico City (UTC-6, no DST) and
    /// Honolulu (UTC-10).
    const NEAR_MIDNIGHT_MS: i64 = 1_793_511_000_000;

    #[test]
    fn the_date_is_the_zones() {
        for (zone, want) in [
            ("UTC", "2026-11-01"),
            ("America/Mexico_City", "2026-10-31"),
            ("America/New_York", "2026-11-01"),
            ("Asia/Tokyo", "2026-11-01"),
            ("Pacific/Honolulu", "2026-10-31"),
        ] {
            let tz = TimeZone::named(zone).expect(zone);
            assert_eq!(tz.date_at(NEAR_MIDNIGHT_MS).to_string(), want, "{zone}");
        }
        assert_eq!(
            TimeZone::utc().date_at(NEAR_MIDNIGHT_MS).to_string(),
            "2026-11-01"
        );
    }

    #[test]
    fn unknown_names_are_refused() {
        for bad in ["", "Mars/Olympus_Mons", "utc+25", "../etc/passwd"] {
            assert!(TimeZone::named(bad).is_err(), "{bad}");
        }
    }
}
