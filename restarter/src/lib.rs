//! svc.startd, the restarter daemon: the I/O shell around `smf_core::engine`.
//!
//! One engine thread ([`daemon`]) owns the engine and everything it decides, and waits in
//! one epoll set ([`inbox`]) for its methods' exits and for messages from the other
//! threads, which only wait (for orphans, adopted processes, notifications, clients,
//! signals) and turn what they see into messages on crossbeam channels that ring the
//! inbox's bell. See ARCHITECTURE.md for the event flow.
//!
//! - [`root`]: the root's paths and lock. [`manifests`]: finding and checking manifests.
//! - [`spawn`]: fork/exec with the method context. [`contract`]: which processes are whose.
//! - [`reaper`]: pidfds for the methods, orphans, adopted processes. [`inbox`]: what the
//!   engine waits on. [`notify`]: `$NOTIFY_SOCKET`.
//! - [`control`]: the control socket. [`repository`]: SQLite. [`logs`]: per-instance logs.
//! - [`prepare`]: a batch of starts' cgroups and logs made ahead, on another thread.
//! - `config`: svccfg's import, export, delete and setprop, and where they enter the daemon.

mod config;
pub mod contract;
pub mod control;
pub mod daemon;
pub mod inbox;
pub mod logs;
pub mod manifests;
pub mod notify;
pub mod prepare;
pub mod proc;
pub mod reaper;
pub mod repository;
mod requests;
pub mod root;
pub mod spawn;
