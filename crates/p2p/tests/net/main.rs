//! Real swarms on 127.0.0.1 talking over TCP: gossip, sync, trust and bounds.

mod common;
mod gossip;
mod lifecycle;
mod sync;
mod trust;
