//! [`AlertClock`]: the two things besides the entries held that alerts may
//! depend on: what "today" is (the node's time zone) and after how many days
//! an exit is due for delivery (`[alerts] delivery_days`), and how long a
//! denial counts (`[alerts] denial_days`).

use std::fmt;
use std::sync::Arc;
use tally_model::Date;

/// `[alerts] delivery_days` when the config does not say (EU 2025/41's proof
/// of receipt within 45 days).
pub const DEFAULT_DELIVERY_DAYS: u32 = 45;

/// Whose "today" and how many `delivery_days` the store judges
/// `delivery.overdue` with. Cheap to clone.
#[derive(Clone)]
pub struct AlertClock {
    delivery_days: u32,
    denial_days: u32,
    enduse_days: u32,
    today: Arc<dyn Fn() -> Date + Send + Sync>,
}

impl AlertClock {
    /// `today` is called once per transaction (a batch judges with one date).
    pub fn new(delivery_days: u32, today: impl Fn() -> Date + Send + Sync + 'static) -> AlertClock {
        AlertClock {
            delivery_days,
            denial_days: tally_model::denial::DEFAULT_DENIAL_DAYS,
            enduse_days: tally_model::enduse::DEFAULT_ENDUSE_DAYS,
            today: Arc::new(today),
        }
    }

    /// How many days after its date a denial counts for `denial.match`
    /// (`[alerts] denial_days`). Unlike `delivery_days` no pass re-judges
    /// what is held when it changes: documents applied from then on use
    /// it, and a reindex re-judges the rest.
    pub fn with_denial_days(mut self, days: u32) -> AlertClock {
        self.denial_days = days;
        self
    }

    pub fn denial_days(&self) -> u32 {
        self.denial_days
    }

    /// After how many days an end-use request is owed its answer
    /// (`[alerts] enduse_days`): judged by the date-driven pass, which
    /// judges every request again when it changes.
    pub fn with_enduse_days(mut self, days: u32) -> AlertClock {
        self.enduse_days = days;
        self
    }

    pub fn enduse_days(&self) -> u32 {
        self.enduse_days
    }

    /// A clock stopped on `today` (tests, and comparing two builds).
    pub fn fixed(delivery_days: u32, today: Date) -> AlertClock {
        AlertClock::new(delivery_days, move || today)
    }

    pub fn delivery_days(&self) -> u32 {
        self.delivery_days
    }

    pub fn today(&self) -> Date {
        (self.today)()
    }

    /// What one transaction judges with.
    pub(crate) fn due(&self) -> Due {
        Due {
            today: self.today(),
            delivery_days: self.delivery_days,
            denial_days: self.denial_days,
            enduse_days: self.enduse_days,
        }
    }
}

impl Default for AlertClock {
    /// 45 days, today in UTC by the system clock.
    fn default() -> Self {
        AlertClock::new(DEFAULT_DELIVERY_DAYS, || {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            Date::from_unix_ms(ms)
        })
    }
}

impl fmt::Debug for AlertClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertClock")
            .field("delivery_days", &self.delivery_days)
            .field("denial_days", &self.denial_days)
            .field("enduse_days", &self.enduse_days)
            .field("today", &self.today().to_string())
            .finish()
    }
}

/// A snapshot of an [`AlertClock`] for one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Due {
    pub today: Date,
    pub delivery_days: u32,
    pub denial_days: u32,
    pub enduse_days: u32,
}

impl Due {
    /// The latest exit date that is due today.
    pub fn latest_due_exit(self) -> i64 {
        self.today.days() - i64::from(self.delivery_days)
    }
}

/// What the date-driven pass last judged through (kept under `M/`, not a
/// derived record: a reindex judges everything and sets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OverdueMark {
    pub delivery_days: u32,
    /// Today's date when every exit due by then was judged.
    pub through: Date,
    /// The `enduse_days` requests were judged with (absent: before end-use
    /// requests, so every request is judged again).
    #[serde(default)]
    pub enduse_days: Option<u32>,
}
