//! FMRIs: SMF's names for services, instances, legacy rc scripts and files, the name rules
//! behind them, and the abbreviated patterns `svcs` and `svcadm` accept.
//!
//! # Parsing
//!
//! [`Fmri::parse`] takes a complete FMRI, as libscf's `scf_parse_svc_fmri()` and
//! `scf_parse_file_fmri()` read one (illumos `usr/src/lib/libscf/common/lowlevel.c`), plus the
//! legacy `lrc:` form that `scf_walk_fmri()` builds for rc scripts:
//!
//! | input | kind | printed as |
//! |---|---|---|
//! | `svc:/network/smtp:sendmail` | instance | the same |
//! | `svc://localhost/network/smtp:sendmail`, `svc:///network/smtp:sendmail` | instance | `svc:/network/smtp:sendmail` |
//! | `network/smtp:sendmail`, `/network/smtp:sendmail`, `svc:network/smtp:sendmail` | instance | `svc:/network/smtp:sendmail` |
//! | `svc:/network/smtp`, `network/smtp`, `smtp` | service | `svc:/network/smtp`, `svc:/smtp` |
//! | `svc:/network/smtp:sendmail/:properties/config/local_only` | property | the same |
//! | `lrc:/etc/rc3_d/S42myscript` | legacy | the same |
//! | `file://localhost/etc/foo`, `file:///etc/foo`, `file://host/etc/foo`, `file:/etc/foo` | file | `file://localhost/etc/foo` |
//!
//! Without a scheme the input is a `svc:` FMRI, exactly as libscf reads it: `smtp` alone parses
//! as the service `svc:/smtp`. Whether that service exists is the matcher's question (below).
//! Only the scope `localhost` is accepted (libscf decodes no other). A file FMRI's host is
//! skipped, as svc.startd's `file_ready()` (`startd/file.c`) does.
//!
//! # Names
//!
//! Service, instance, property group and property names follow libuutil's `uu_check_name()`
//! (`usr/src/lib/libuutil/common/uu_ident.c`) with the flags svc.configd's `rc_types` table
//! gives each entity (`usr/src/cmd/svc/configd/rc_node.c`): a name is `[provider,]identifier`,
//! where the identifier starts with an ASCII letter and continues with letters, digits, `-` and
//! `_`, and the optional provider (a stock symbol such as `SUNW` or a reversed domain such as
//! `com.sun`) follows the same rule but may also contain `.`. Service names are `/`-separated
//! paths of such names (`UU_NAME_DOMAIN | UU_NAME_PATH`); the others are single names
//! (`UU_NAME_DOMAIN`). A name is at most 119 bytes (`REP_PROTOCOL_NAME_LEN` - 1,
//! `repcache_protocol.h`, via `scf_limit(SCF_LIMIT_MAX_NAME_LENGTH)`), and a `svc:` or `lrc:`
//! FMRI at most 628 (`scf_limit(SCF_LIMIT_MAX_FMRI_LENGTH)`).
//!
//! # Matching
//!
//! [`FmriPattern::classify`] sorts a command-line argument as `scf_walk_fmri()` does: EXACT when
//! it parses as a service or instance FMRI that exists (a service expands to its instances),
//! else GLOB when it contains `*`, `?` or `[`, else PARTIAL (smf-reference.md §1.2).
//! [`resolve`] serves svcs, [`resolve_one`] a command that needs one instance, and
//! [`walk_for_action`] / [`resolve_for_action`] svcadm's `SCF_WALK_UNIPARTIAL | SCF_WALK_MULTIPLE`.
//!
//! Deliberate differences from illumos, each for a reason:
//! - libscf's `strstr()` tries only the first occurrence of a partial pattern, so `b` misses
//!   `svc:/ab/b:b`; every occurrence is tried here. Everything SMF matches still matches, and a
//!   pattern of colons alone (which SMF never matches) still matches nothing.
//! - `uu_check_name()` validates each `/`-separated component but the last up to one byte short
//!   of the `/` (`p - 1`), so illumos rejects `a/b` and accepts `ab!/c`; the rule its comment
//!   states is applied here instead.
//!
//! # Files
//!
//! This file holds [`Fmri`], its parsing and printing, and [`FmriError`]; `name` the name and
//! path rules and the length limits; `pattern` the classification and the resolvers; `glob`
//! the `fnmatch()` that GLOB patterns use.
//!
//! Not here: where the known instances come from (the restarter's repository), and how svcs
//! and svcadm print these errors (their renderers add the `svcs: ` prefix).

mod glob;
pub use glob::fnmatch;
mod name;
mod pattern;

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use name::{
    MAX_FILE_FMRI_LENGTH, MAX_FMRI_LENGTH, MAX_NAME_LENGTH, NamePart, validate_instance_name,
    validate_property_group_name, validate_property_name, validate_service_name,
};
pub use pattern::{
    ActionTargets, FmriPattern, MatchError, resolve, resolve_for_action, resolve_one,
    walk_for_action,
};

use name::{check_name, check_path};

/// `SCF_FMRI_PROPERTYGRP_PREFIX` (libscf_impl.h / libscf.h).
const PROPERTIES_PREFIX: &str = "/:properties/";

/// What a file FMRI prints before its path, whatever host it was written with.
const FILE_PREFIX: &str = "file://localhost";

/// What a canonical service, instance or property FMRI starts with.
const SVC_PREFIX: &str = "svc:/";

/// What a legacy rc script's FMRI starts with, before its path.
const LEGACY_PREFIX: &str = "lrc:";

/// What an [`Fmri`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FmriKind {
    /// A service: `svc:/network/smtp`.
    Service,
    /// An instance of a service: `svc:/network/smtp:sendmail`.
    Instance,
    /// A property group of a service or instance: `svc:/network/smtp:sendmail/:properties/config`.
    PropertyGroup,
    /// A property: `svc:/network/smtp:sendmail/:properties/config/local_only`.
    Property,
    /// A legacy rc script's pseudo-instance: `lrc:/etc/rc3_d/S42myscript`.
    Legacy,
    /// A file, as `path` dependencies name one: `file://localhost/etc/foo`.
    File,
}

/// A parsed, validated FMRI, held in its canonical form.
///
/// Equality, ordering and hashing are those of the canonical string, so
/// `svc://localhost/a:b` and `svc:/a:b` are equal. It serializes as that string.
///
/// One pointer wide: an FMRI is cloned into every record, event, action, graph vertex and
/// table of svc.startd, most of them maps keyed by it, so its size is paid in every bucket of
/// every such map (BENCHMARKS.md, memory). The text and where its names end are shared.
#[derive(Clone)]
pub struct Fmri(Arc<Inner>);

struct Inner {
    /// The canonical text.
    text: Box<str>,
    kind: FmriKind,
    /// Where the service name (or a legacy or file FMRI's path), the instance name and the
    /// property group name end in `text` (0: absent). Every other boundary follows from the
    /// canonical form: `svc:/` before the service, `:` before the instance,
    /// [`PROPERTIES_PREFIX`] before the property group, `/` before the property. FMRIs are
    /// at most a few KiB (file FMRIs 4095 bytes, the others 628), so 16 bits suffice.
    ends: [u16; 3],
}

/// A byte offset of an FMRI's text, at most 16 bits (see [`Inner::ends`]).
fn offset(at: usize) -> u16 {
    u16::try_from(at).unwrap_or(u16::MAX)
}

impl Fmri {
    /// Parses a complete FMRI (see the module documentation for the accepted forms).
    pub fn parse(input: &str) -> Result<Fmri, FmriError> {
        if input.is_empty() {
            return Err(FmriError::Empty);
        }
        let max = if input.starts_with("file:") {
            MAX_FILE_FMRI_LENGTH
        } else {
            MAX_FMRI_LENGTH
        };
        if input.len() > max {
            return Err(FmriError::TooLong {
                input: input.to_owned(),
                len: input.len(),
                max,
            });
        }
        if let Some(path) = input.strip_prefix("lrc:") {
            check_path(input, input.len() - path.len(), NamePart::LegacyPath)?;
            return Ok(Fmri::from_path(FmriKind::Legacy, LEGACY_PREFIX, path));
        }
        if input.starts_with("file:") {
            return parse_file(input);
        }
        parse_svc(input)
    }

    /// Builds the instance FMRI `svc:/<service>:<instance>`, validating both names.
    pub fn instance(service: &str, instance: &str) -> Result<Fmri, FmriError> {
        validate_service_name(service)?;
        validate_instance_name(instance)?;
        Ok(Fmri::from_names(service, Some(instance), None, None))
    }

    /// Builds the service FMRI `svc:/<service>`, validating the name.
    pub fn service(service: &str) -> Result<Fmri, FmriError> {
        validate_service_name(service)?;
        Ok(Fmri::from_names(service, None, None, None))
    }

    /// What this FMRI names.
    pub fn kind(&self) -> FmriKind {
        self.0.kind
    }

    /// The canonical form, as [`Display`](fmt::Display) prints it.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// The service name (`network/smtp`); `None` for legacy and file FMRIs.
    pub fn service_name(&self) -> Option<&str> {
        match self.0.kind {
            FmriKind::Legacy | FmriKind::File => None,
            _ => self.slice(self.main_range()),
        }
    }

    /// The instance name (`sendmail`), if the FMRI names an instance or something in one.
    pub fn instance_name(&self) -> Option<&str> {
        self.instance_range().and_then(|range| self.slice(range))
    }

    /// The category: every component of the service name but the last (`network` for
    /// `network/smtp`, `application/pkg` for `application/pkg/server`); `None` when the service
    /// name has a single component, and for legacy and file FMRIs.
    pub fn category(&self) -> Option<&str> {
        let service = self.service_name()?;
        service.rfind('/').map(|slash| &service[..slash])
    }

    /// The property group name, for property group and property FMRIs.
    pub fn property_group_name(&self) -> Option<&str> {
        self.property_group_range()
            .and_then(|range| self.slice(range))
    }

    /// The property name, for property FMRIs.
    pub fn property_name(&self) -> Option<&str> {
        self.property_range().and_then(|range| self.slice(range))
    }

    /// The absolute path a file FMRI names (`/etc/foo`); `None` for every other kind.
    pub fn path(&self) -> Option<&str> {
        match self.0.kind {
            FmriKind::File => self.slice(self.main_range()),
            _ => None,
        }
    }

    /// Whether this names a service instance (not a legacy pseudo-instance).
    pub fn is_instance(&self) -> bool {
        self.0.kind == FmriKind::Instance
    }

    /// Whether this names a legacy rc script (`lrc:`).
    pub fn is_legacy(&self) -> bool {
        self.0.kind == FmriKind::Legacy
    }

    /// The FMRI of the service this one belongs to (`svc:/network/smtp` for
    /// `svc:/network/smtp:sendmail`); `None` for legacy and file FMRIs.
    pub fn service_fmri(&self) -> Option<Fmri> {
        self.service_name()
            .map(|service| Fmri::from_names(service, None, None, None))
    }

    fn slice(&self, range: Range<usize>) -> Option<&str> {
        self.0.text.get(range)
    }

    /// Where the service name (or the path) sits in the text.
    fn main_range(&self) -> Range<usize> {
        let start = match self.0.kind {
            FmriKind::Legacy => LEGACY_PREFIX.len(),
            FmriKind::File => FILE_PREFIX.len(),
            _ => SVC_PREFIX.len(),
        };
        start..usize::from(self.0.ends[0])
    }

    /// Where the instance name sits, if there is one.
    fn instance_range(&self) -> Option<Range<usize>> {
        let [main_end, instance_end, _] = self.0.ends.map(usize::from);
        (instance_end != 0).then(|| main_end + 1..instance_end)
    }

    /// Where the property group name sits, if there is one.
    fn property_group_range(&self) -> Option<Range<usize>> {
        let [main_end, instance_end, group_end] = self.0.ends.map(usize::from);
        let before = if instance_end != 0 {
            instance_end
        } else {
            main_end
        };
        (group_end != 0).then(|| before + PROPERTIES_PREFIX.len()..group_end)
    }

    /// Where the property name sits, if there is one.
    fn property_range(&self) -> Option<Range<usize>> {
        (self.0.kind == FmriKind::Property)
            .then(|| usize::from(self.0.ends[2]) + 1..self.0.text.len())
    }

    /// Assembles the canonical form from names already validated.
    fn from_names(
        service: &str,
        instance: Option<&str>,
        property_group: Option<&str>,
        property: Option<&str>,
    ) -> Fmri {
        let mut text = String::from(SVC_PREFIX);
        let mut push = |separator: &str, name: &str| {
            text.push_str(separator);
            text.push_str(name);
            offset(text.len())
        };
        let main_end = push("", service);
        let instance_end = instance.map_or(0, |name| push(":", name));
        let group_end = property_group.map_or(0, |name| push(PROPERTIES_PREFIX, name));
        if let Some(name) = property {
            push("/", name);
        }
        let kind = match (instance_end, group_end, property) {
            (_, _, Some(_)) => FmriKind::Property,
            (_, 1.., None) => FmriKind::PropertyGroup,
            (1.., 0, None) => FmriKind::Instance,
            (0, 0, None) => FmriKind::Service,
        };
        Fmri(Arc::new(Inner {
            text: text.into_boxed_str(),
            kind,
            ends: [main_end, instance_end, group_end],
        }))
    }

    /// Assembles a legacy or file FMRI from a path already validated.
    fn from_path(kind: FmriKind, prefix: &str, path: &str) -> Fmri {
        let text = format!("{prefix}{path}");
        Fmri(Arc::new(Inner {
            ends: [offset(text.len()), 0, 0],
            text: text.into_boxed_str(),
            kind,
        }))
    }
}

/// `scf_parse_svc_fmri()`: optional `svc:`, optional `//scope`, optional `/`, then
/// `service[:instance][/:properties/pg[/property]]`.
fn parse_svc(input: &str) -> Result<Fmri, FmriError> {
    let mut pos = if input.starts_with("svc:") { 4 } else { 0 };
    if input[pos..].starts_with("//") {
        pos += 2;
        let scope_end = find_from(input, pos, "/").unwrap_or(input.len());
        let scope = &input[pos..scope_end];
        // libscf drops an "@localhost" suffix and reads an empty scope as the local one.
        let bare_scope = scope.strip_suffix("@localhost").unwrap_or(scope);
        if !bare_scope.is_empty() && bare_scope != "localhost" {
            return Err(FmriError::UnsupportedScope {
                input: input.to_owned(),
                offset: pos,
                scope: scope.to_owned(),
            });
        }
        pos = (scope_end + 1).min(input.len());
    }
    if input[pos..].starts_with('/') {
        pos += 1;
    }
    // The instance separator counts only before the property group prefix: in
    // `svc:/a/:properties/pg` the ':' belongs to the prefix.
    let properties_at = find_from(input, pos, PROPERTIES_PREFIX);
    let (service_end, instance, properties_at) = match find_from(input, pos, ":") {
        Some(colon) if properties_at.is_none_or(|at| colon < at) => {
            let marker = find_from(input, colon + 1, PROPERTIES_PREFIX);
            let instance = colon + 1..marker.unwrap_or(input.len());
            (colon, Some(instance), marker)
        }
        _ => (properties_at.unwrap_or(input.len()), None, properties_at),
    };
    let (property_group, property) = match properties_at {
        Some(at) => {
            let start = at + PROPERTIES_PREFIX.len();
            match find_from(input, start, "/") {
                Some(slash) => (Some(start..slash), Some(slash + 1..input.len())),
                None => (Some(start..input.len()), None),
            }
        }
        None => (None, None),
    };
    check_name(input, pos..service_end, NamePart::Service)?;
    let names = [
        (&instance, NamePart::Instance),
        (&property_group, NamePart::PropertyGroup),
        (&property, NamePart::Property),
    ];
    for (range, part) in names {
        if let Some(range) = range {
            check_name(input, range.clone(), part)?;
        }
    }
    let name = |range: Option<Range<usize>>| range.and_then(|range| input.get(range));
    Ok(Fmri::from_names(
        &input[pos..service_end],
        name(instance),
        name(property_group),
        name(property),
    ))
}

/// `file://[host]/path` or `file:/path`; the host is skipped as svc.startd's `file_ready()`
/// skips it.
fn parse_file(input: &str) -> Result<Fmri, FmriError> {
    let after_scheme = "file:".len();
    let path_start = if input[after_scheme..].starts_with("//") {
        let host_start = after_scheme + 2;
        find_from(input, host_start, "/").ok_or_else(|| FmriError::Missing {
            input: input.to_owned(),
            offset: input.len(),
            part: NamePart::FilePath,
            expected: "'/'",
        })?
    } else {
        after_scheme
    };
    check_path(input, path_start, NamePart::FilePath)?;
    Ok(Fmri::from_path(
        FmriKind::File,
        FILE_PREFIX,
        &input[path_start..],
    ))
}

/// The byte offset of `needle` in `haystack` at or after `from`.
pub(super) fn find_from(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    haystack
        .get(from..)
        .and_then(|rest| rest.find(needle))
        .map(|at| from + at)
}

impl fmt::Display for Fmri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Fmri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fmri").field(&self.as_str()).finish()
    }
}

impl FromStr for Fmri {
    type Err = FmriError;

    fn from_str(input: &str) -> Result<Fmri, FmriError> {
        Fmri::parse(input)
    }
}

impl AsRef<str> for Fmri {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Fmri {
    fn eq(&self, other: &Fmri) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.as_str() == other.as_str()
    }
}

impl Eq for Fmri {}

impl PartialOrd for Fmri {
    fn partial_cmp(&self, other: &Fmri) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fmri {
    fn cmp(&self, other: &Fmri) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Fmri {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Serialize for Fmri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Fmri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fmri, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fmri::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a valid FMRI or name. Offsets are byte offsets into `input`, the whole
/// string that was checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FmriError {
    /// The input is empty.
    #[error("empty FMRI")]
    Empty,
    /// The input is longer than SMF allows ([`MAX_FMRI_LENGTH`], [`MAX_FILE_FMRI_LENGTH`]).
    #[error("FMRI is {len} bytes long: expected at most {max}")]
    TooLong {
        /// The rejected input.
        input: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A name, a component of a service name, or a path is missing.
    #[error("missing {part} at offset {offset} of {input:?}: expected {expected}")]
    Missing {
        /// The rejected input.
        input: String,
        /// Where the name should start.
        offset: usize,
        /// Which name.
        part: NamePart,
        /// What should be there.
        expected: &'static str,
    },
    /// A character that may not appear at this position.
    #[error(
        "invalid character {character:?} at offset {offset} of {input:?} ({part}): expected {expected}"
    )]
    InvalidCharacter {
        /// The rejected input.
        input: String,
        /// Where the character is.
        offset: usize,
        /// The character.
        character: char,
        /// Which name it is in.
        part: NamePart,
        /// What may appear there.
        expected: &'static str,
    },
    /// A name longer than [`MAX_NAME_LENGTH`].
    #[error("{part} at offset {offset} of {input:?} is {len} bytes long: expected at most {max}")]
    NameTooLong {
        /// The rejected input.
        input: String,
        /// Where the name starts.
        offset: usize,
        /// Which name.
        part: NamePart,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A scope other than `localhost`: libscf decodes no other.
    #[error("unsupported scope {scope:?} at offset {offset} of {input:?}: expected \"localhost\"")]
    UnsupportedScope {
        /// The rejected input.
        input: String,
        /// Where the scope starts.
        offset: usize,
        /// The scope.
        scope: String,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// The canonical form, or `error: <message>`.
    pub(crate) fn check_parse(input: &str, expected: &str) {
        let actual = match Fmri::parse(input) {
            Ok(fmri) => fmri.to_string(),
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(actual, expected, "parsing {input:?}");
    }

    #[test]
    fn parses_and_prints_canonical_forms() {
        let cases = [
            ("svc:/network/dhcp", "svc:/network/dhcp"),
            ("svc:/network/dhcp:default", "svc:/network/dhcp:default"),
            (
                "svc://localhost/network/dhcp:default",
                "svc:/network/dhcp:default",
            ),
            ("svc:///network/dhcp:default", "svc:/network/dhcp:default"),
            (
                "svc://localhost@localhost/network/dhcp",
                "svc:/network/dhcp",
            ),
            (
                "svc://localhost",
                "error: missing service name at offset 15 of \"svc://localhost\": expected a letter",
            ),
            (
                "system/system-log:default",
                "svc:/system/system-log:default",
            ),
            (
                "/system/system-log:default",
                "svc:/system/system-log:default",
            ),
            ("svc:system/system-log", "svc:/system/system-log"),
            ("smtp", "svc:/smtp"),
            (
                "application/pkg/server:default",
                "svc:/application/pkg/server:default",
            ),
            ("SUNW,foo:instance-1", "svc:/SUNW,foo:instance-1"),
            ("com.sun,rpc/meta:udp6", "svc:/com.sun,rpc/meta:udp6"),
            (
                "site/zones-monitoring:name_with_underscore",
                "svc:/site/zones-monitoring:name_with_underscore",
            ),
            (
                "svc:/a/b:i/:properties/pg/prop",
                "svc:/a/b:i/:properties/pg/prop",
            ),
            ("svc:/a/b/:properties/pg", "svc:/a/b/:properties/pg"),
            ("lrc:/etc/rc3_d/S42myscript", "lrc:/etc/rc3_d/S42myscript"),
            ("file://localhost/etc/foo", "file://localhost/etc/foo"),
            ("file:///etc/foo", "file://localhost/etc/foo"),
            ("file://host/etc/foo", "file://localhost/etc/foo"),
            ("file:/etc/foo", "file://localhost/etc/foo"),
        ];
        for (input, expected) in cases {
            check_parse(input, expected);
        }
    }
    #[test]
    fn accessors() {
        let instance = Fmri::parse("svc://localhost/application/pkg/server:default").unwrap();
        assert_eq!(instance.kind(), FmriKind::Instance);
        assert_eq!(instance.service_name(), Some("application/pkg/server"));
        assert_eq!(instance.instance_name(), Some("default"));
        assert_eq!(instance.category(), Some("application/pkg"));
        assert!(instance.is_instance());
        assert_eq!(
            instance.service_fmri().unwrap().as_str(),
            "svc:/application/pkg/server"
        );
        assert_eq!(instance.path(), None);

        let service = Fmri::parse("smtp").unwrap();
        assert_eq!(service.kind(), FmriKind::Service);
        assert_eq!((service.category(), service.instance_name()), (None, None));
        assert!(!service.is_instance());

        let property = Fmri::parse("svc:/a/b:i/:properties/pg/prop").unwrap();
        assert_eq!(property.kind(), FmriKind::Property);
        assert_eq!(property.property_group_name(), Some("pg"));
        assert_eq!(property.property_name(), Some("prop"));
        assert_eq!(property.instance_name(), Some("i"));
        assert_eq!(property.service_fmri().unwrap().as_str(), "svc:/a/b");

        let group = Fmri::parse("svc:/a/b/:properties/pg").unwrap();
        assert_eq!(group.kind(), FmriKind::PropertyGroup);
        assert_eq!(group.service_name(), Some("a/b"));
        assert_eq!(group.instance_name(), None);
        assert_eq!(group.property_group_name(), Some("pg"));
        assert_eq!(group.property_name(), None);

        let service_property = Fmri::parse("svc:/a/b/:properties/pg/p").unwrap();
        assert_eq!(service_property.kind(), FmriKind::Property);
        assert_eq!(service_property.instance_name(), None);
        assert_eq!(service_property.property_group_name(), Some("pg"));
        assert_eq!(service_property.property_name(), Some("p"));

        let file = Fmri::parse("file://host/etc/foo").unwrap();
        assert_eq!(file.kind(), FmriKind::File);
        assert_eq!(file.path(), Some("/etc/foo"));
        assert_eq!((file.service_name(), file.service_fmri()), (None, None));

        let legacy = Fmri::parse("lrc:/etc/rc3_d/S42myscript").unwrap();
        assert!(legacy.is_legacy() && !legacy.is_instance());
        assert_eq!((legacy.path(), legacy.service_name()), (None, None));
    }

    #[test]
    fn an_fmri_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Fmri>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Option<Fmri>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn constructors_validate_names() {
        let fmri = Fmri::instance("network/dhcp", "default").unwrap();
        assert_eq!(fmri, Fmri::parse("svc:/network/dhcp:default").unwrap());
        assert_eq!(
            Fmri::service("network/dhcp").unwrap().as_str(),
            "svc:/network/dhcp"
        );
        assert_eq!(
            Fmri::instance("net!", "default").unwrap_err().to_string(),
            "invalid character '!' at offset 3 of \"net!\" (service name): expected letters, digits, '-', '_', ',' or '/'"
        );
        assert!(Fmri::instance("network", "a/b").is_err());
    }
    #[test]
    fn equality_ordering_and_serde_use_the_canonical_form() {
        let scoped = Fmri::parse("svc://localhost/a:b").unwrap();
        assert_eq!(scoped, Fmri::parse("a:b").unwrap());
        let mut sorted: Vec<Fmri> = ["svc:/b", "svc:/a:x", "svc:/a"]
            .iter()
            .map(|text| Fmri::parse(text).unwrap())
            .collect();
        sorted.sort();
        assert_eq!(
            sorted.iter().map(Fmri::as_str).collect::<Vec<_>>(),
            ["svc:/a", "svc:/a:x", "svc:/b"]
        );
        assert_eq!(serde_json::to_string(&scoped).unwrap(), "\"svc:/a:b\"");
        let back: Fmri = serde_json::from_str("\"svc:///a:b\"").unwrap();
        assert_eq!(back, scoped);
        assert!(serde_json::from_str::<Fmri>("\"svc:/a:\"").is_err());
        assert_eq!(format!("[{scoped:>10}]"), "[  svc:/a:b]");
    }
}
