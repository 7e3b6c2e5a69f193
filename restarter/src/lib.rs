//! svc.startd, the restarter daemon: the I/O shell around `smf_core::engine`.
//!
//! One engine thread owns the engine and everything it decides; the other threads only
//! wait (for child exits, process and file events, notifications, clients) and turn what
//! they see into messages on crossbeam channels. See ARCHITECTURE.md for the event flow.

pub mod logs;
pub mod repository;
pub mod spawn;
