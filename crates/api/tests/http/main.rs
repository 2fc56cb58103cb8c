//! The HTTP API end to end: the real router over a real store and verifier.
//! One test binary (modules below) keeps link time down.

mod authorities;
mod drafts;
mod dry_run;
mod errors;
mod export;
mod if_exists;
mod import_read;
mod keys;
mod lists;
mod migrated;
mod numbers;
mod paper;
mod rate;
mod reports;
mod rig;
mod roles;
mod server;
mod shipments;
mod statistics;
mod story;
mod surface;
mod trace;
