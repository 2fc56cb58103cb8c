//! The JSON shapes of the answers, and the store's records as the API reads them.
//!
//! `tally-api` depends on `tally-verify`, not on `tally-store` (DESIGN.md's
//! layering), and the verifier hands out the store's state types without
//! re-exporting them. So the API reads them through their serde form, which
//! is the store's own on-disk JSON and therefore stable: [`read`] turns a
//! store record into one of the `Stored*` types below, which name only the
//! fields the API shows.

use crate::error::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tally_model::{Checkpoint, Date, Direction, License, LicenseKind, ShipmentLine, Status};

/// Reads a store record (any `Serialize` value) as one of the `Stored*` types.
pub fn read<T: Serialize, U: DeserializeOwned>(record: &T) -> Result<U, ApiError> {
    serde_json::to_value(record)
        .and_then(serde_json::from_value)
        .map_err(|e| ApiError::internal(format!("reading a store record: {e}")))
}

/// `{"seq", "hash"}`: where an entry sits in its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    pub seq: u64,
    /// Hex SHA-256 of the entry bytes.
    pub hash: String,
}

/// The store's `LicenseState`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredLicense {
    pub authority: String,
    pub number: String,
    pub kind: LicenseKind,
    pub status: Status,
    pub version: u32,
    pub document: License,
    pub issued_at_ms: i64,
    pub entry: Pointer,
    #[serde(default)]
    pub history: Vec<StoredEvent>,
}

/// The store's `LicenseEvent`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredEvent {
    pub event: String,
    pub version: u32,
    #[serde(default)]
    pub reason: Option<String>,
    pub at_ms: i64,
    pub entry: Pointer,
}

/// The store's `TallyRow`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredTally {
    pub line: u32,
    pub direction: Direction,
    pub quantity: u64,
}

/// The store's `ShipmentRow`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredShipment {
    pub recorded_by: String,
    pub seq: u64,
    pub recorded_at_ms: i64,
    pub checkpoint: Checkpoint,
    pub date: String,
    pub verdict: String,
    pub items: Vec<ShipmentLine>,
}

/// A license as `GET /v1/licenses/{authority}/{number}` answers it.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseView {
    pub authority: String,
    pub number: String,
    pub kind: LicenseKind,
    pub status: Status,
    pub version: u32,
    /// As issued, newest amendment applied.
    pub document: License,
    /// RFC 3339, UTC.
    pub issued_at: String,
    pub entry: Pointer,
    /// Per license line: licensed quantity and accepted, recorded quantities
    /// per direction (transit summed over countries).
    pub tally: Vec<TallyLine>,
    /// Issue, amendments and status changes, oldest first.
    pub history: Vec<EventView>,
    /// For an export license: the transit authorizations that cover it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transit_authorizations: Option<Vec<TransitView>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TallyLine {
    pub line: u32,
    pub licensed: u64,
    pub exit: u64,
    pub transit: u64,
    pub entry: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub event: String,
    pub version: u32,
    pub reason: Option<String>,
    pub at: String,
    pub entry: Pointer,
}

/// A transit authorization covering an export license.
#[derive(Debug, Clone, Serialize)]
pub struct TransitView {
    pub authority: String,
    pub number: String,
    pub status: Status,
    pub version: u32,
    pub document: License,
}

impl LicenseView {
    /// Builds the view from the stored state, its tallies and, for an export,
    /// the transit authorizations that cover it.
    pub fn new(
        state: StoredLicense,
        tallies: &[StoredTally],
        transits: Option<Vec<StoredLicense>>,
    ) -> LicenseView {
        let tally = state
            .document
            .items()
            .iter()
            .map(|item| {
                let shipped = |d: Direction| -> u64 {
                    tallies
                        .iter()
                        .filter(|t| t.line == item.line && t.direction == d)
                        .map(|t| t.quantity)
                        .fold(0u64, u64::saturating_add)
                };
                TallyLine {
                    line: item.line,
                    licensed: item.quantity,
                    exit: shipped(Direction::Exit),
                    transit: shipped(Direction::Transit),
                    entry: shipped(Direction::Entry),
                }
            })
            .collect();
        LicenseView {
            issued_at: rfc3339(state.issued_at_ms),
            history: state
                .history
                .into_iter()
                .map(|e| EventView {
                    event: e.event,
                    version: e.version,
                    reason: e.reason,
                    at: rfc3339(e.at_ms),
                    entry: e.entry,
                })
                .collect(),
            transit_authorizations: transits.map(|ts| {
                ts.into_iter()
                    .map(|t| TransitView {
                        authority: t.authority,
                        number: t.number,
                        status: t.status,
                        version: t.version,
                        document: t.document,
                    })
                    .collect()
            }),
            authority: state.authority,
            number: state.number,
            kind: state.kind,
            status: state.status,
            version: state.version,
            document: state.document,
            entry: state.entry,
            tally,
        }
    }
}

/// A recorded shipment as `GET /v1/shipments` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ShipmentView {
    pub recorded_by: String,
    pub seq: u64,
    pub recorded_at: String,
    pub checkpoint: Checkpoint,
    pub date: String,
    pub verdict: String,
    pub items: Vec<ShipmentLine>,
}

impl From<StoredShipment> for ShipmentView {
    fn from(s: StoredShipment) -> ShipmentView {
        ShipmentView {
            recorded_by: s.recorded_by,
            seq: s.seq,
            recorded_at: rfc3339(s.recorded_at_ms),
            checkpoint: s.checkpoint,
            date: s.date,
            verdict: s.verdict,
            items: s.items,
        }
    }
}

/// Unix milliseconds as RFC 3339 UTC text, e.g. `2026-11-18T11:06:40.000Z`.
pub fn rfc3339(ms: i64) -> String {
    let date = Date::from_unix_ms(ms);
    let in_day = ms.rem_euclid(86_400_000);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{date}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_text() {
        for (ms, want) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_795_000_000_000, "2026-11-18T11:06:40.000Z"),
            (1_795_000_000_123, "2026-11-18T11:06:40.123Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ] {
            assert_eq!(rfc3339(ms), want, "{ms}");
        }
    }
}
