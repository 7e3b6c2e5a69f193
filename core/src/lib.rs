//! smf-core: every SMF rule smf implements, as pure logic.
//!
//! This crate reads names and manifests; it spawns no process, opens no file or socket and
//! reads no clock, so everything in it is tested in microseconds and reused unchanged by the
//! daemon (`svc.startd`) and the command-line tools.
//!
//! - [`fmri`]: `svc:/network/dhcp:default` and the abbreviations `svcs` and `svcadm` accept.
//! - [`manifest`]: `service_bundle` XML (manifests and profiles) into a typed model, with
//!   positioned diagnostics; what `svccfg validate` checks.
//!
//! ```
//! use smf_core::{fmri::Fmri, manifest};
//!
//! let xml = br#"<service_bundle type='manifest' name='demo'>
//!   <service name='network/dhcp' type='service' version='1'>
//!     <create_default_instance enabled='false'/>
//!     <dependency name='net' grouping='require_all' restart_on='error' type='service'>
//!       <service_fmri value='svc:/milestone/network'/>
//!     </dependency>
//!     <exec_method type='method' name='start' exec='/usr/sbin/dhcpd -f' timeout_seconds='60'/>
//!     <exec_method type='method' name='stop' exec=':kill' timeout_seconds='60'/>
//!   </service>
//! </service_bundle>"#;
//! let parsed = manifest::parse("dhcp.xml", xml);
//! assert!(parsed.is_valid(), "{:?}", parsed.diagnostics);
//! let dhcp = &parsed.bundle.expect("well-formed").services[0];
//! let default = &dhcp.effective_instances()[0];
//! assert_eq!(default.settings.dependencies[0].targets, ["svc:/milestone/network"]);
//! let fmri = Fmri::parse(&default.fmri()).expect("valid FMRI");
//! assert_eq!(fmri.to_string(), "svc:/network/dhcp:default");
//! ```

#![warn(missing_docs, unreachable_pub)]
#![warn(clippy::unwrap_used)]

pub mod engine;
pub mod explain;
pub mod fmri;
pub mod graph;
pub mod manifest;
pub mod signal;
pub mod sim;
pub mod state;
