//! service_bundle manifests and profiles: XML in, a typed [`Bundle`] and positioned
//! [`Diagnostic`]s out.
//!
//! [`parse`] is the whole surface: it never fails and never panics; what is wrong with the file
//! comes back as diagnostics (errors and warnings), each naming the file, line, column and
//! element path. A file that is not well-formed XML (or not UTF-8, or too big, or an entity
//! bomb) yields no bundle and exactly one error; a well-formed file yields a bundle, which is
//! valid for import when no diagnostic is an error.
//!
//! The pipeline: `xml` reads bytes into a positioned element tree; `lower` maps the tree onto
//! the DTD's model (structure, required attributes, enumerations, value types); `validate`
//! runs svccfg validate's cross-element checks (names, FMRIs, duplicates, methods,
//! self-dependencies). [`effective`] composes service settings into instances.
//!
//! ```
//! use smf_core::manifest;
//!
//! let text = r#"<?xml version="1.0"?>
//! <service_bundle type="manifest" name="demo">
//!   <service name="site/hello" type="service" version="1">
//!     <create_default_instance enabled="true"/>
//!     <exec_method type="method" name="start" exec="/usr/bin/sleep 1000" timeout_seconds="60"/>
//!     <exec_method type="method" name="stop" exec=":kill" timeout_seconds="60"/>
//!   </service>
//! </service_bundle>"#;
//! let parsed = manifest::parse("hello.xml", text.as_bytes());
//! assert!(parsed.is_valid());
//! let bundle = parsed.bundle.expect("well-formed");
//! let instances = bundle.services[0].effective_instances();
//! assert_eq!(instances[0].fmri(), "svc:/site/hello:default");
//! ```

pub mod customize;
mod diagnostic;
pub mod effective;
pub mod export;
mod lower;
mod method;
mod model;
mod property;
pub use property::parse_value;
mod template;
mod validate;
pub(crate) mod xml;

pub use diagnostic::{Diagnostic, Severity, Span};
pub use effective::EffectiveInstance;
pub use export::{bundle_to_xml, service_to_xml};
pub use lower::placeholder;
pub use model::*;
pub use xml::{MAX_ENTITY_DEPTH, MAX_ENTITY_EXPANSION, MAX_MANIFEST_BYTES};

use serde::{Deserialize, Serialize};

/// The result of reading one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// The bundle, when the file was well-formed XML with a `<service_bundle>` root.
    pub bundle: Option<Bundle>,
    /// Every problem found, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// Whether the bundle exists and no diagnostic is an error.
    pub fn is_valid(&self) -> bool {
        self.bundle.is_some() && !self.has_errors()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.is_error())
    }
}

/// Reads a manifest or profile. `origin` names the file in diagnostics.
pub fn parse(origin: &str, bytes: &[u8]) -> Parsed {
    let fatal = |error: xml::XmlError| Parsed {
        bundle: None,
        diagnostics: vec![Diagnostic {
            severity: Severity::Error,
            span: Span {
                file: origin.to_string(),
                line: error.pos.line,
                column: error.pos.column,
                path: error.path,
            },
            message: error.message,
        }],
    };
    let text = match xml::decode(bytes) {
        Ok(text) => text,
        Err(error) => return fatal(error),
    };
    let root = match xml::parse(text) {
        Ok(root) => root,
        Err(error) => return fatal(error),
    };
    let mut lowerer = lower::Lowerer::new(origin, text);
    let bundle = lowerer.bundle(&root);
    let mut diagnostics = lowerer.diagnostics;
    diagnostics.sort_by_key(|diagnostic| (diagnostic.span.line, diagnostic.span.column));
    Parsed {
        bundle,
        diagnostics,
    }
}
