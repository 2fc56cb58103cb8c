//! [`ShiftedClock`]: the system's time moved by an offset, shared by the
//! nodes of one process. `tally demo` starts its nodes a year back and
//! moves the offset forward as it writes a year of traffic (each log's
//! time only moves forward, as readers require), then sets it to zero: the
//! API records crossings only with today's date, so a year of them can
//! only be written by a node whose today is that day. Nodes of `tally run`
//! have none and use the system clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl ShiftedClock {
    /// Milliseconds since the Unix epoch, shifted.
    pub fn now_ms(&self) -> i64 {
        tally_verify::now_ms().saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Sets the shift from the system's time.
    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::SeqCst);
    }
}

/// A [`ShiftedClock`] as the verifier's clock.
pub struct Shared(pub Arc<ShiftedClock>);

impl tally_verify::Clock for Shared {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}
