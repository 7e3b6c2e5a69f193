//! smf-core: every SMF rule smf implements, as pure logic.
//!
//! This crate reads names and manifests; it spawns no process, opens no file or socket and
//! reads no clock, so everything in it is tested in microseconds and reused unchanged by the
//! daemon (`svc.startd`) and the command-line tools.
//!
//! - [`fmri`]: `svc:/network/dhcp:default` and the abbreviations `svcs` and `svcadm` accept.
//! - [`manifest`]: `service_bundle` XML (manifests and profiles) into a typed model, with
//!   positioned diagnostics; what `svccfg validate` checks.
//! - [`graph`]: instances and their dependency groups as a petgraph graph; the four
//!   groupings' satisfaction rules; cycles; dependencies and dependents.
//! - [`engine`]: the SMF state machine, sans I/O: `Engine::handle(event, now) -> actions`.
//! - [`explain`]: why an instance is not running and what it takes down (`svcs -x`).
//! - [`protocol`]: the requests and responses of svc.startd's control socket (JSON lines).
//! - [`sim`]: the engine in a simulated world (fake clock, fake processes) for tests and
//!   benchmarks. [`state`] and [`signal`]: the vocabulary they share; [`fast_hash`]: the
//!   hash their maps use.
//!
//! A manifest, imported into the engine: DHCP waits for the network, because its manifest
//! says so.
//!
//! ```
//! use smf_core::engine::{Action, Engine, Event, MethodName, MethodStatus};
//! use smf_core::manifest;
//! use smf_core::state::{State, Timestamp};
//!
//! let xml = br#"<service_bundle type='manifest' name='demo'>
//!   <service name='network/physical' type='service' version='1'>
//!     <create_default_instance enabled='true'/>
//!     <exec_method type='method' name='start' exec='/usr/sbin/netup' timeout_seconds='60'/>
//!     <exec_method type='method' name='stop' exec=':kill' timeout_seconds='60'/>
//!   </service>
//!   <service name='network/dhcp' type='service' version='1'>
//!     <create_default_instance enabled='true'/>
//!     <dependency name='net' grouping='require_all' restart_on='error' type='service'>
//!       <service_fmri value='svc:/network/physical'/>
//!     </dependency>
//!     <exec_method type='method' name='start' exec='/usr/sbin/dhcpd -f' timeout_seconds='60'/>
//!     <exec_method type='method' name='stop' exec=':kill' timeout_seconds='60'/>
//!   </service>
//! </service_bundle>"#;
//! let parsed = manifest::parse("demo.xml", xml);
//! assert!(parsed.is_valid(), "{:?}", parsed.diagnostics);
//! let bundle = parsed.bundle.expect("well-formed");
//!
//! let mut engine = Engine::new();
//! let actions = engine.handle(
//!     Event::Imported { kind: bundle.kind, services: bundle.services },
//!     Timestamp::from_secs(100),
//! );
//! // Only the network's start method runs: DHCP waits for it.
//! let runs: Vec<_> = actions
//!     .iter()
//!     .filter_map(|action| match action {
//!         Action::RunMethod(run) => Some(run),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(runs.len(), 1);
//! assert_eq!(runs[0].fmri.as_str(), "svc:/network/physical:default");
//! assert_eq!(runs[0].method, MethodName::Start);
//!
//! // The shell reports the start method's exit; the network is online and DHCP starts.
//! let actions = engine.handle(
//!     Event::MethodExited { run: runs[0].run, status: MethodStatus::Exited(0) },
//!     Timestamp::from_secs(101),
//! );
//! let network = engine.status(&"svc:/network/physical:default".parse().expect("FMRI"));
//! assert_eq!(network.map(|s| s.state), Some(State::Online));
//! assert!(actions.iter().any(|action| matches!(action,
//!     Action::RunMethod(run) if run.fmri.as_str() == "svc:/network/dhcp:default")));
//! ```

#![warn(missing_docs, unreachable_pub)]
#![warn(clippy::unwrap_used)]

pub mod engine;
pub mod explain;
pub mod fast_hash;
pub mod fmri;
pub mod graph;
pub mod manifest;
pub mod protocol;
pub mod signal;
pub mod sim;
pub mod state;
