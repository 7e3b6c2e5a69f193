//! Diagnostics: every problem found in a manifest, error or warning, with its place.
//!
//! One type for both severities, so `svccfg validate` prints them in one list and `--json`
//! serializes them as they are. A diagnostic never carries a stack trace or a Rust type name:
//! the message is for the person who wrote the manifest.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The manifest cannot be imported as written.
    Error,
    /// The manifest loads, but something in it is ignored, unusual or will behave differently
    /// from what its author may expect.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// Where a problem is: file, 1-based line and column (in characters), and the element path
/// (`service[name=network/dhcp]/dependency[name=net]`; empty for the document itself).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Span {
    /// The file (or other origin) the manifest came from, as the caller named it.
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file (it could not be read).
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// The path of elements from the bundle down to the one at fault.
    pub path: String,
}

/// One problem in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where it is.
    #[serde(flatten)]
    pub span: Span,
    /// What is wrong and what was expected, in one sentence without a trailing period.
    pub message: String,
}

impl Diagnostic {
    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `FILE:LINE:COL: error: PATH: message`, the shape compilers use, so editors can jump to it.
impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Span {
            file,
            line,
            column,
            path,
        } = &self.span;
        // Line 0 means the problem is with the file as a whole (it could not be read).
        if *line == 0 {
            write!(formatter, "{file}: {}: ", self.severity)?;
        } else {
            write!(formatter, "{file}:{line}:{column}: {}: ", self.severity)?;
        }
        if !path.is_empty() {
            write!(formatter, "{path}: ")?;
        }
        formatter.write_str(&self.message)
    }
}
