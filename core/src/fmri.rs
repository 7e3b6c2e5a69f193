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
//! Not here: where the known instances come from (the restarter's repository), and how svcs
//! and svcadm print these errors (their renderers add the `svcs: ` prefix).

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest service, instance, property group or property name, in bytes:
/// `REP_PROTOCOL_NAME_LEN` (120, `usr/src/common/svc/repcache_protocol.h`) minus the NUL, which
/// is what `scf_limit(SCF_LIMIT_MAX_NAME_LENGTH)` returns.
pub const MAX_NAME_LENGTH: usize = 119;

/// Longest `svc:` or `lrc:` FMRI, in bytes: `scf_limit(SCF_LIMIT_MAX_FMRI_LENGTH)` in
/// lowlevel.c, the longest prefix (`file:`) plus `//`, `@localhost`, `/`, `:`, `/:properties/`,
/// `/` and five names: 5 + 2 + 10 + 1 + 1 + 13 + 1 + 5 × 119 = 628. `scf_walk_fmri()` refuses
/// longer arguments.
pub const MAX_FMRI_LENGTH: usize = 628;

/// Longest file FMRI, in bytes. File FMRIs live only in property values (a dependency's
/// `entities`), bounded by `REP_PROTOCOL_VALUE_LEN` (4096) minus the NUL.
pub const MAX_FILE_FMRI_LENGTH: usize = 4095;

/// `SCF_FMRI_PROPERTYGRP_PREFIX` (libscf_impl.h / libscf.h).
const PROPERTIES_PREFIX: &str = "/:properties/";

/// What a file FMRI prints before its path, whatever host it was written with.
const FILE_PREFIX: &str = "file://localhost";

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
#[derive(Clone)]
pub struct Fmri {
    /// The canonical text.
    text: String,
    kind: FmriKind,
    /// The service name, or the path of a legacy or file FMRI.
    main: Range<usize>,
    instance: Option<Range<usize>>,
    property_group: Option<Range<usize>>,
    property: Option<Range<usize>>,
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
            return Ok(Fmri::from_path(FmriKind::Legacy, "lrc:", path));
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
        self.kind
    }

    /// The canonical form, as [`Display`](fmt::Display) prints it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The service name (`network/smtp`); `None` for legacy and file FMRIs.
    pub fn service_name(&self) -> Option<&str> {
        match self.kind {
            FmriKind::Legacy | FmriKind::File => None,
            _ => self.slice(&self.main),
        }
    }

    /// The instance name (`sendmail`), if the FMRI names an instance or something in one.
    pub fn instance_name(&self) -> Option<&str> {
        self.instance.as_ref().and_then(|range| self.slice(range))
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
        self.property_group
            .as_ref()
            .and_then(|range| self.slice(range))
    }

    /// The property name, for property FMRIs.
    pub fn property_name(&self) -> Option<&str> {
        self.property.as_ref().and_then(|range| self.slice(range))
    }

    /// The absolute path a file FMRI names (`/etc/foo`); `None` for every other kind.
    pub fn path(&self) -> Option<&str> {
        match self.kind {
            FmriKind::File => self.slice(&self.main),
            _ => None,
        }
    }

    /// Whether this names a service instance (not a legacy pseudo-instance).
    pub fn is_instance(&self) -> bool {
        self.kind == FmriKind::Instance
    }

    /// Whether this names a legacy rc script (`lrc:`).
    pub fn is_legacy(&self) -> bool {
        self.kind == FmriKind::Legacy
    }

    /// The FMRI of the service this one belongs to (`svc:/network/smtp` for
    /// `svc:/network/smtp:sendmail`); `None` for legacy and file FMRIs.
    pub fn service_fmri(&self) -> Option<Fmri> {
        self.service_name()
            .map(|service| Fmri::from_names(service, None, None, None))
    }

    fn slice(&self, range: &Range<usize>) -> Option<&str> {
        self.text.get(range.clone())
    }

    /// Assembles the canonical form from names already validated.
    fn from_names(
        service: &str,
        instance: Option<&str>,
        property_group: Option<&str>,
        property: Option<&str>,
    ) -> Fmri {
        let mut text = String::from("svc:/");
        let mut push = |separator: &str, name: &str| {
            text.push_str(separator);
            let start = text.len();
            text.push_str(name);
            start..text.len()
        };
        let main = push("", service);
        let instance = instance.map(|name| push(":", name));
        let property_group = property_group.map(|name| push(PROPERTIES_PREFIX, name));
        let property = property.map(|name| push("/", name));
        let kind = match (&instance, &property_group, &property) {
            (_, _, Some(_)) => FmriKind::Property,
            (_, Some(_), None) => FmriKind::PropertyGroup,
            (Some(_), None, None) => FmriKind::Instance,
            (None, None, None) => FmriKind::Service,
        };
        Fmri {
            text,
            kind,
            main,
            instance,
            property_group,
            property,
        }
    }

    /// Assembles a legacy or file FMRI from a path already validated.
    fn from_path(kind: FmriKind, prefix: &str, path: &str) -> Fmri {
        let text = format!("{prefix}{path}");
        Fmri {
            main: prefix.len()..text.len(),
            text,
            kind,
            instance: None,
            property_group: None,
            property: None,
        }
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

/// A legacy or file path: absolute, more than `/` (as `scf_parse_file_fmri()` requires), and
/// printable.
fn check_path(input: &str, start: usize, part: NamePart) -> Result<(), FmriError> {
    let path = &input[start..];
    let invalid =
        |offset: usize, character: char, expected: &'static str| FmriError::InvalidCharacter {
            input: input.to_owned(),
            offset,
            character,
            part,
            expected,
        };
    match path.chars().next() {
        Some('/') => {}
        Some(character) => return Err(invalid(start, character, "'/'")),
        None => {
            return Err(FmriError::Missing {
                input: input.to_owned(),
                offset: start,
                part,
                expected: "'/'",
            });
        }
    }
    if path.len() == 1 {
        return Err(FmriError::Missing {
            input: input.to_owned(),
            offset: start + 1,
            part,
            expected: "a name after '/'",
        });
    }
    match path
        .char_indices()
        .find(|(_, character)| character.is_control())
    {
        Some((at, character)) => Err(invalid(start + at, character, "a printable character")),
        None => Ok(()),
    }
}

/// The byte offset of `needle` in `haystack` at or after `from`.
fn find_from(haystack: &str, from: usize, needle: &str) -> Option<usize> {
    haystack
        .get(from..)
        .and_then(|rest| rest.find(needle))
        .map(|at| from + at)
}

impl fmt::Display for Fmri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.text)
    }
}

impl fmt::Debug for Fmri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fmri").field(&self.text).finish()
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
        &self.text
    }
}

impl PartialEq for Fmri {
    fn eq(&self, other: &Fmri) -> bool {
        self.text == other.text
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
        self.text.cmp(&other.text)
    }
}

impl std::hash::Hash for Fmri {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Serialize for Fmri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Fmri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Fmri, D::Error> {
        let text = String::deserialize(deserializer)?;
        Fmri::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Which part of an FMRI an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamePart {
    /// The service name, `/`-separated.
    Service,
    /// The instance name.
    Instance,
    /// The property group name.
    PropertyGroup,
    /// The property name.
    Property,
    /// The script path of a legacy FMRI.
    LegacyPath,
    /// The path of a file FMRI.
    FilePath,
}

impl fmt::Display for NamePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NamePart::Service => "service name",
            NamePart::Instance => "instance name",
            NamePart::PropertyGroup => "property group name",
            NamePart::Property => "property name",
            NamePart::LegacyPath => "legacy script path",
            NamePart::FilePath => "file path",
        })
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

/// Checks a service name: `/`-separated components, each `[provider,]identifier`
/// (`uu_check_name(name, UU_NAME_DOMAIN | UU_NAME_PATH)`, as svc.configd's `rc_types` table
/// requires for services), at most [`MAX_NAME_LENGTH`] bytes.
pub fn validate_service_name(name: &str) -> Result<(), FmriError> {
    check_name(name, 0..name.len(), NamePart::Service)
}

/// Checks an instance name: `[provider,]identifier` (`uu_check_name(name, UU_NAME_DOMAIN)`),
/// at most [`MAX_NAME_LENGTH`] bytes.
pub fn validate_instance_name(name: &str) -> Result<(), FmriError> {
    check_name(name, 0..name.len(), NamePart::Instance)
}

/// Checks a property group name; the rule is the instance name rule (`UU_NAME_DOMAIN` in
/// svc.configd's `rc_types`).
pub fn validate_property_group_name(name: &str) -> Result<(), FmriError> {
    check_name(name, 0..name.len(), NamePart::PropertyGroup)
}

/// Checks a property name; the rule is the instance name rule (`UU_NAME_DOMAIN` in
/// svc.configd's `rc_types`).
pub fn validate_property_name(name: &str) -> Result<(), FmriError> {
    check_name(name, 0..name.len(), NamePart::Property)
}

/// Checks the name at `range` of `input`; errors quote `input` with offsets into it.
fn check_name(input: &str, range: Range<usize>, part: NamePart) -> Result<(), FmriError> {
    let name = &input[range.clone()];
    if part == NamePart::Service {
        let mut start = range.start;
        for component in name.split('/') {
            check_component(input, start..start + component.len(), part)?;
            start += component.len() + 1;
        }
    } else {
        check_component(input, range.clone(), part)?;
    }
    if name.len() > MAX_NAME_LENGTH {
        return Err(FmriError::NameTooLong {
            input: input.to_owned(),
            offset: range.start,
            part,
            len: name.len(),
            max: MAX_NAME_LENGTH,
        });
    }
    Ok(())
}

/// Where an identifier sits in `[provider,]identifier`; decides the characters allowed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Identifier {
    /// Before the first `,`: may also contain `.` (`is_valid_ident(.., allowdot = 1)`).
    Provider,
    /// After a provider.
    AfterProvider,
    /// A component without a `,`.
    Plain,
}

/// `is_valid_component()`: an optional provider up to the first `,`, then an identifier.
fn check_component(input: &str, range: Range<usize>, part: NamePart) -> Result<(), FmriError> {
    match input[range.clone()].find(',') {
        Some(comma) => {
            let comma = range.start + comma;
            check_identifier(input, range.start..comma, part, Identifier::Provider)?;
            check_identifier(input, comma + 1..range.end, part, Identifier::AfterProvider)
        }
        None => check_identifier(input, range, part, Identifier::Plain),
    }
}

/// `is_valid_ident()`: an ASCII letter, then ASCII letters, digits, `-`, `_` (and `.` in a
/// provider). libuutil avoids `<ctype.h>` so the locale cannot widen the set; so do we.
fn check_identifier(
    input: &str,
    range: Range<usize>,
    part: NamePart,
    identifier: Identifier,
) -> Result<(), FmriError> {
    let invalid =
        |offset: usize, character: char, expected: &'static str| FmriError::InvalidCharacter {
            input: input.to_owned(),
            offset,
            character,
            part,
            expected,
        };
    let mut characters = input[range.clone()].char_indices();
    match characters.next() {
        None => {
            return Err(FmriError::Missing {
                input: input.to_owned(),
                offset: range.start,
                part,
                expected: "a letter",
            });
        }
        Some((_, first)) if !first.is_ascii_alphabetic() => {
            return Err(invalid(range.start, first, "a letter"));
        }
        Some(_) => {}
    }
    let allow_dot = identifier == Identifier::Provider;
    for (at, character) in characters {
        let allowed = character.is_ascii_alphanumeric()
            || character == '-'
            || character == '_'
            || (allow_dot && character == '.');
        if !allowed {
            return Err(invalid(
                range.start + at,
                character,
                expected_in(part, identifier),
            ));
        }
    }
    Ok(())
}

/// What may follow inside an identifier, separators included, for the error message.
fn expected_in(part: NamePart, identifier: Identifier) -> &'static str {
    match (identifier, part == NamePart::Service) {
        (Identifier::Provider, _) => "letters, digits, '-', '_', '.' or ','",
        (Identifier::AfterProvider, true) => "letters, digits, '-', '_' or '/'",
        (Identifier::AfterProvider, false) => "letters, digits, '-' or '_'",
        (Identifier::Plain, true) => "letters, digits, '-', '_', ',' or '/'",
        (Identifier::Plain, false) => "letters, digits, '-', '_' or ','",
    }
}

/// A command-line argument naming instances, classified as `scf_walk_fmri()` classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FmriPattern {
    /// A complete FMRI of an instance that exists, or of a service with instances (it stands
    /// for all of them).
    Exact(Fmri),
    /// An `fnmatch()` pattern, `svc:/` already prepended where SMF prepends it.
    Glob(String),
    /// An abbreviation, matched by the substring rule.
    Partial(String),
}

impl FmriPattern {
    /// Classifies `argument` against the instances in `known`: EXACT if it parses as a service
    /// or instance FMRI that exists there, else GLOB if it contains `*`, `?` or `[` (with
    /// `svc:/` prepended unless it starts with `*` or its fourth byte is `:`), else PARTIAL.
    pub fn classify(argument: &str, known: &[Fmri]) -> Result<FmriPattern, MatchError> {
        if argument.is_empty() {
            return Err(MatchError::Invalid(FmriError::Empty));
        }
        if argument.len() > MAX_FMRI_LENGTH {
            return Err(MatchError::TooLong {
                pattern: argument.to_owned(),
            });
        }
        if let Ok(fmri) = Fmri::parse(argument) {
            let exists = match fmri.kind() {
                FmriKind::Instance => known.contains(&fmri),
                FmriKind::Service => known.iter().any(|candidate| {
                    candidate.is_instance() && candidate.service_name() == fmri.service_name()
                }),
                _ => false,
            };
            if exists {
                return Ok(FmriPattern::Exact(fmri));
            }
        }
        if argument.contains(['*', '?', '[']) {
            let qualified = argument.starts_with('*') || argument.as_bytes().get(3) == Some(&b':');
            return Ok(FmriPattern::Glob(if qualified {
                argument.to_owned()
            } else {
                format!("svc:/{argument}")
            }));
        }
        Ok(FmriPattern::Partial(argument.to_owned()))
    }

    /// Whether this pattern selects `fmri` (an instance or legacy FMRI).
    pub fn matches(&self, fmri: &Fmri) -> bool {
        match self {
            FmriPattern::Exact(exact) if exact.kind() == FmriKind::Service => {
                fmri.is_instance() && fmri.service_name() == exact.service_name()
            }
            FmriPattern::Exact(exact) => exact == fmri,
            FmriPattern::Glob(glob) => fnmatch(glob, fmri.as_str()),
            FmriPattern::Partial(partial) => partial_match(partial, fmri.as_str()),
        }
    }

    /// The pattern as SMF quotes it in messages (`sp_arg`): the argument, or for a glob the
    /// argument with `svc:/` prepended.
    fn quoted(&self, argument: &str) -> String {
        match self {
            FmriPattern::Glob(glob) => glob.clone(),
            _ => argument.to_owned(),
        }
    }
}

/// `scf_cmp_pattern()` for PARTIAL patterns: `pattern` must occur in `fmri` starting at its
/// beginning, after a `/` or `:`, or with a `:` of its own; ending at its end, before a `:`, or
/// with a `:` of its own; and not within the first five bytes (`svc:/`, `lrc:/`).
fn partial_match(pattern: &str, fmri: &str) -> bool {
    // SMF tries only the first occurrence, which for these is always the scheme's ':'. Trying
    // every occurrence would otherwise let ":" match every instance.
    if pattern.bytes().all(|byte| byte == b':') {
        return false;
    }
    let bytes = fmri.as_bytes();
    let byte_at = |at: usize| bytes.get(at).copied();
    let mut from = 0;
    while let Some(start) = find_from(fmri, from, pattern) {
        let end = start + pattern.len();
        let starts_on_boundary = start == 0
            || matches!(start.checked_sub(1).and_then(byte_at), Some(b'/' | b':'))
            || byte_at(start) == Some(b':');
        let ends_on_boundary = end == bytes.len()
            || byte_at(end) == Some(b':')
            || end.checked_sub(1).and_then(byte_at) == Some(b':');
        if starts_on_boundary && ends_on_boundary && end > 4 {
            return true;
        }
        // The next occurrence may overlap this one: step one character.
        from = start + fmri[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Why a pattern selected no instance, or too many. The messages are SMF's
/// (`usr/src/lib/libscf/common/error.c`), without the trailing newline and program prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// `SCF_MSG_PATTERN_NOINSTANCE`.
    #[error("Pattern '{pattern}' doesn't match any instances")]
    NotFound {
        /// The pattern as SMF quotes it (a glob with `svc:/` prepended).
        pattern: String,
    },
    /// `SCF_MSG_PATTERN_MULTIMATCH`, for a caller that needs one instance.
    #[error("Pattern '{pattern}' matches multiple instances:{}", candidate_lines(.candidates))]
    Ambiguous {
        /// The pattern as SMF quotes it.
        pattern: String,
        /// Every instance it matched, in the order of `known`.
        candidates: Vec<Fmri>,
    },
    /// `SCF_MSG_PATTERN_MULTIPARTIAL`: svcadm refuses the whole command.
    #[error("Partial FMRI matches multiple instances")]
    PartialMatchesMultiple {
        /// Every instance the arguments matched together.
        candidates: Vec<Fmri>,
    },
    /// `SCF_MSG_PATTERN_LEGACY`: an `lrc:/` pattern given to a command that acts on instances.
    #[error("Operation not supported for legacy service '{pattern}'")]
    Legacy {
        /// The pattern as SMF quotes it.
        pattern: String,
    },
    /// `SCF_MSG_ARGTOOLONG`: longer than [`MAX_FMRI_LENGTH`].
    #[error("Argument '{pattern}' is too long, ignoring")]
    TooLong {
        /// The argument.
        pattern: String,
    },
    /// An argument that cannot be a pattern at all (the empty string).
    #[error(transparent)]
    Invalid(#[from] FmriError),
}

fn candidate_lines(candidates: &[Fmri]) -> String {
    candidates
        .iter()
        .map(|fmri| format!("\n\t{fmri}"))
        .collect()
}

/// Which candidates a walk visits: svcs walks legacy pseudo-instances (`SCF_WALK_LEGACY`),
/// svcadm does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    WithLegacy,
    InstancesOnly,
}

/// The instances of `known` that `pattern` selects, each once, in the order of `known`.
fn matching(pattern: &FmriPattern, known: &[Fmri], walk: Walk) -> Vec<Fmri> {
    let mut seen = HashSet::new();
    known
        .iter()
        .filter(|fmri| fmri.is_instance() || (walk == Walk::WithLegacy && fmri.is_legacy()))
        .filter(|fmri| pattern.matches(fmri))
        .filter(|fmri| seen.insert(fmri.as_str()))
        .cloned()
        .collect()
}

fn not_found(argument: &str, pattern: &FmriPattern, walk: Walk) -> MatchError {
    let pattern = pattern.quoted(argument);
    if walk == Walk::InstancesOnly && pattern.starts_with("lrc:/") {
        MatchError::Legacy { pattern }
    } else {
        MatchError::NotFound { pattern }
    }
}

/// The instances (and legacy pseudo-instances) of `known` that `pattern` selects, in the order
/// of `known`, each once: svcs's walk (`SCF_WALK_MULTIPLE | SCF_WALK_LEGACY`). Entries of
/// `known` that are neither are ignored.
pub fn resolve(pattern: &str, known: &[Fmri]) -> Result<Vec<Fmri>, MatchError> {
    let classified = FmriPattern::classify(pattern, known)?;
    let found = matching(&classified, known, Walk::WithLegacy);
    if found.is_empty() {
        return Err(not_found(pattern, &classified, Walk::WithLegacy));
    }
    Ok(found)
}

/// The one instance `pattern` selects, for a command that acts on exactly one. Legacy
/// pseudo-instances are never selected; several matches, glob or not, are
/// [`MatchError::Ambiguous`].
pub fn resolve_one(pattern: &str, known: &[Fmri]) -> Result<Fmri, MatchError> {
    let classified = FmriPattern::classify(pattern, known)?;
    let found = matching(&classified, known, Walk::InstancesOnly);
    match found.as_slice() {
        [] => Err(not_found(pattern, &classified, Walk::InstancesOnly)),
        [one] => Ok(one.clone()),
        _ => Err(MatchError::Ambiguous {
            pattern: classified.quoted(pattern),
            candidates: found,
        }),
    }
}

/// What svcadm acts on, and what it reports: SMF prints every error, acts on `instances`
/// anyway, and exits 1 if `errors` is not empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionTargets {
    /// The instances to act on, in argument order, each once.
    pub instances: Vec<Fmri>,
    /// One error per argument that matched nothing or was unusable, then
    /// [`MatchError::PartialMatchesMultiple`] if the whole command is refused.
    pub errors: Vec<MatchError>,
}

/// svcadm's walk, `SCF_WALK_UNIPARTIAL | SCF_WALK_MULTIPLE` (illumos-gate lowlevel.c): every
/// argument may match several instances, but when more than one distinct instance matched in
/// all, at least one argument was partial or a service FMRI that expanded to its instances,
/// and no argument had a wildcard, nothing is acted on and the error is
/// "Partial FMRI matches multiple instances". Legacy pseudo-instances are not walked.
pub fn walk_for_action(patterns: &[&str], known: &[Fmri]) -> ActionTargets {
    let mut targets = ActionTargets::default();
    let mut partial = false;
    let mut wildcard = false;
    let mut seen = HashSet::new();
    for &argument in patterns {
        let classified = match FmriPattern::classify(argument, known) {
            Ok(classified) => classified,
            Err(error) => {
                targets.errors.push(error);
                continue;
            }
        };
        match &classified {
            FmriPattern::Exact(fmri) => partial |= fmri.kind() == FmriKind::Service,
            FmriPattern::Glob(_) => wildcard = true,
            FmriPattern::Partial(_) => partial = true,
        }
        let found = matching(&classified, known, Walk::InstancesOnly);
        if found.is_empty() {
            targets
                .errors
                .push(not_found(argument, &classified, Walk::InstancesOnly));
        }
        for fmri in found {
            if seen.insert(fmri.as_str().to_owned()) {
                targets.instances.push(fmri);
            }
        }
    }
    if targets.instances.len() > 1 && partial && !wildcard {
        targets.errors.push(MatchError::PartialMatchesMultiple {
            candidates: std::mem::take(&mut targets.instances),
        });
    }
    targets
}

/// [`walk_for_action`] for a caller that acts on all or nothing: the instances, or the
/// refusal if the command was refused, else the first error.
pub fn resolve_for_action(patterns: &[&str], known: &[Fmri]) -> Result<Vec<Fmri>, MatchError> {
    let mut targets = walk_for_action(patterns, known);
    let refusal = targets
        .errors
        .iter()
        .position(|error| matches!(error, MatchError::PartialMatchesMultiple { .. }));
    match refusal {
        Some(index) => Err(targets.errors.swap_remove(index)),
        None if !targets.errors.is_empty() => Err(targets.errors.swap_remove(0)),
        None => Ok(targets.instances),
    }
}

/// `fnmatch(pattern, text, 0)` as `scf_cmp_pattern()` calls it: `*` and `?` match any
/// character, `/` and a leading `.` included; `[...]` is a bracket expression with ranges, `!`
/// or `^` negation and POSIX classes; `\` escapes; an unterminated `[` is literal.
fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // After a '*': where the pattern resumes and the text position it last resumed from.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&character) = text.get(t) {
        if pattern.get(p) == Some(&'*') {
            star = Some((p + 1, t));
            p += 1;
            continue;
        }
        if let Some(next) = match_one(&pattern, p, character) {
            p = next;
            t += 1;
            continue;
        }
        // Let the last '*' swallow one more character and retry.
        let Some((resume, from)) = star else {
            return false;
        };
        p = resume;
        t = from + 1;
        star = Some((resume, from + 1));
    }
    pattern.get(p..).unwrap_or(&[]).iter().all(|&c| c == '*')
}

/// Matches the single-character token at `p` (not `*`) against `character`; the position
/// after the token if it matches.
fn match_one(pattern: &[char], p: usize, character: char) -> Option<usize> {
    match *pattern.get(p)? {
        '?' => Some(p + 1),
        '[' => match bracket(pattern, p, character) {
            Some((matched, next)) => matched.then_some(next),
            None => (character == '[').then_some(p + 1),
        },
        '\\' => match pattern.get(p + 1) {
            Some(&escaped) => (escaped == character).then_some(p + 2),
            None => (character == '\\').then_some(p + 1),
        },
        literal => (literal == character).then_some(p + 1),
    }
}

/// The bracket expression starting at `pattern[open] == '['`: whether it matches `character`
/// and the position after its `]`; `None` when it is not terminated.
fn bracket(pattern: &[char], open: usize, character: char) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let current = *pattern.get(i)?;
        if current == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if current == '[' && pattern.get(i + 1) == Some(&':') {
            let close = (i + 2..pattern.len().saturating_sub(1))
                .find(|&at| pattern.get(at) == Some(&':') && pattern.get(at + 1) == Some(&']'));
            if let Some(close) = close {
                let name: String = pattern.get(i + 2..close).unwrap_or(&[]).iter().collect();
                if let Some(in_class) = in_character_class(&name, character) {
                    matched |= in_class;
                    i = close + 2;
                    continue;
                }
            }
        }
        let (low, after_low) = escaped(pattern, i)?;
        let is_range = pattern.get(after_low) == Some(&'-')
            && pattern.get(after_low + 1).is_some_and(|&high| high != ']');
        if is_range {
            let (high, after_high) = escaped(pattern, after_low + 1)?;
            matched |= low <= character && character <= high;
            i = after_high;
        } else {
            matched |= low == character;
            i = after_low;
        }
    }
}

/// The character at `i` inside a bracket expression, `\` escapes resolved, and the position
/// after it.
fn escaped(pattern: &[char], i: usize) -> Option<(char, usize)> {
    match *pattern.get(i)? {
        '\\' => pattern.get(i + 1).map(|&c| (c, i + 2)),
        c => Some((c, i + 1)),
    }
}

/// POSIX character classes in the C locale; `None` for an unknown name.
fn in_character_class(name: &str, c: char) -> Option<bool> {
    Some(match name {
        "alnum" => c.is_ascii_alphanumeric(),
        "alpha" => c.is_ascii_alphabetic(),
        "blank" => c == ' ' || c == '\t',
        "cntrl" => c.is_ascii_control(),
        "digit" => c.is_ascii_digit(),
        "graph" => c.is_ascii_graphic(),
        "lower" => c.is_ascii_lowercase(),
        "print" => c.is_ascii_graphic() || c == ' ',
        "punct" => c.is_ascii_punctuation(),
        "space" => c.is_ascii_whitespace() || c == '\x0b',
        "upper" => c.is_ascii_uppercase(),
        "xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The canonical form, or `error: <message>`.
    fn check_parse(input: &str, expected: &str) {
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
    fn rejects_invalid_fmris_with_position() {
        let cases = [
            ("", "error: empty FMRI"),
            (
                "svc:",
                "error: missing service name at offset 4 of \"svc:\": expected a letter",
            ),
            (
                "svc:/",
                "error: missing service name at offset 5 of \"svc:/\": expected a letter",
            ),
            (
                "svc://host/a",
                "error: unsupported scope \"host\" at offset 6 of \"svc://host/a\": expected \"localhost\"",
            ),
            (
                "svc:/network/dh!cp",
                "error: invalid character '!' at offset 15 of \"svc:/network/dh!cp\" (service name): expected letters, digits, '-', '_', ',' or '/'",
            ),
            (
                "svc:/network//smtp",
                "error: missing service name at offset 13 of \"svc:/network//smtp\": expected a letter",
            ),
            (
                "svc:/network/",
                "error: missing service name at offset 13 of \"svc:/network/\": expected a letter",
            ),
            (
                "svc:/network/smtp:",
                "error: missing instance name at offset 18 of \"svc:/network/smtp:\": expected a letter",
            ),
            (
                "svc:/a:b:c",
                "error: invalid character ':' at offset 8 of \"svc:/a:b:c\" (instance name): expected letters, digits, '-', '_' or ','",
            ),
            (
                "svc:/a:b/c",
                "error: invalid character '/' at offset 8 of \"svc:/a:b/c\" (instance name): expected letters, digits, '-', '_' or ','",
            ),
            (
                "svc:/1abc",
                "error: invalid character '1' at offset 5 of \"svc:/1abc\" (service name): expected a letter",
            ),
            (
                "svc:/my.svc",
                "error: invalid character '.' at offset 7 of \"svc:/my.svc\" (service name): expected letters, digits, '-', '_', ',' or '/'",
            ),
            (
                "svc:/a,b,c",
                "error: invalid character ',' at offset 8 of \"svc:/a,b,c\" (service name): expected letters, digits, '-', '_' or '/'",
            ),
            (
                "svc:/a!,b",
                "error: invalid character '!' at offset 6 of \"svc:/a!,b\" (service name): expected letters, digits, '-', '_', '.' or ','",
            ),
            (
                "svc:/a,",
                "error: missing service name at offset 7 of \"svc:/a,\": expected a letter",
            ),
            (
                "svc:/a:b/:properties/",
                "error: missing property group name at offset 21 of \"svc:/a:b/:properties/\": expected a letter",
            ),
            (
                "svc:/a:b/:properties/pg/p/q",
                "error: invalid character '/' at offset 25 of \"svc:/a:b/:properties/pg/p/q\" (property name): expected letters, digits, '-', '_' or ','",
            ),
            (
                "svc:/r\u{e9}seau",
                "error: invalid character '\u{e9}' at offset 6 of \"svc:/r\u{e9}seau\" (service name): expected letters, digits, '-', '_', ',' or '/'",
            ),
            (
                "svc:/a\nb",
                "error: invalid character '\\n' at offset 6 of \"svc:/a\\nb\" (service name): expected letters, digits, '-', '_', ',' or '/'",
            ),
            (
                "svc:/network/*",
                "error: invalid character '*' at offset 13 of \"svc:/network/*\" (service name): expected a letter",
            ),
            (
                "lrc:etc",
                "error: invalid character 'e' at offset 4 of \"lrc:etc\" (legacy script path): expected '/'",
            ),
            (
                "lrc:/",
                "error: missing legacy script path at offset 5 of \"lrc:/\": expected a name after '/'",
            ),
            (
                "lrc:",
                "error: missing legacy script path at offset 4 of \"lrc:\": expected '/'",
            ),
            (
                "file://host",
                "error: missing file path at offset 11 of \"file://host\": expected '/'",
            ),
            (
                "file:etc/foo",
                "error: invalid character 'e' at offset 5 of \"file:etc/foo\" (file path): expected '/'",
            ),
            (
                "file:///",
                "error: missing file path at offset 8 of \"file:///\": expected a name after '/'",
            ),
            (
                "file:///a\tb",
                "error: invalid character '\\t' at offset 9 of \"file:///a\\tb\" (file path): expected a printable character",
            ),
        ];
        for (input, expected) in cases {
            check_parse(input, expected);
        }
    }

    #[test]
    fn enforces_smf_length_limits() {
        let longest_name = "a".repeat(MAX_NAME_LENGTH);
        assert!(Fmri::parse(&format!("svc:/{longest_name}:{longest_name}")).is_ok());
        let too_long = format!("svc:/{longest_name}b:default");
        assert!(matches!(
            Fmri::parse(&too_long),
            Err(FmriError::NameTooLong {
                offset: 5,
                len: 120,
                max: 119,
                part: NamePart::Service,
                ..
            })
        ));
        let huge = format!("svc:/{}", "a/".repeat(400));
        assert!(matches!(
            Fmri::parse(&huge),
            Err(FmriError::TooLong { max: 628, .. })
        ));
        let deep_file = format!("file:///{}", "d/".repeat(1000));
        assert!(Fmri::parse(&deep_file).is_ok());
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

        let file = Fmri::parse("file://host/etc/foo").unwrap();
        assert_eq!(file.kind(), FmriKind::File);
        assert_eq!(file.path(), Some("/etc/foo"));
        assert_eq!((file.service_name(), file.service_fmri()), (None, None));

        let legacy = Fmri::parse("lrc:/etc/rc3_d/S42myscript").unwrap();
        assert!(legacy.is_legacy() && !legacy.is_instance());
        assert_eq!((legacy.path(), legacy.service_name()), (None, None));
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
    fn name_validators() {
        type Validator = fn(&str) -> Result<(), FmriError>;
        let cases: [(Validator, &str, &str); 10] = [
            (validate_service_name, "network/rpc/meta", "ok"),
            (validate_service_name, "SUNW,foo/bar", "ok"),
            (validate_service_name, "a/b", "ok"),
            (
                validate_service_name,
                "",
                "missing service name at offset 0 of \"\": expected a letter",
            ),
            (validate_instance_name, "name_with_underscore", "ok"),
            (validate_instance_name, "udp6", "ok"),
            (
                validate_instance_name,
                "a/b",
                "invalid character '/' at offset 1 of \"a/b\" (instance name): expected letters, digits, '-', '_' or ','",
            ),
            (
                validate_property_group_name,
                "BIND dns server",
                "invalid character ' ' at offset 4 of \"BIND dns server\" (property group name): expected letters, digits, '-', '_' or ','",
            ),
            (validate_property_name, "timeout_seconds", "ok"),
            (
                validate_property_name,
                "-x",
                "invalid character '-' at offset 0 of \"-x\" (property name): expected a letter",
            ),
        ];
        for (validate, name, expected) in cases {
            let actual =
                validate(name).map_or_else(|error| error.to_string(), |()| "ok".to_owned());
            assert_eq!(actual, expected, "validating {name:?}");
        }
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

    fn fmris(texts: &[&str]) -> Vec<Fmri> {
        texts
            .iter()
            .map(|text| Fmri::parse(text).unwrap())
            .collect()
    }

    fn outcome(result: Result<Vec<Fmri>, MatchError>) -> String {
        match result {
            Ok(found) => found.iter().map(Fmri::as_str).collect::<Vec<_>>().join(" "),
            Err(error) => format!("error: {error}"),
        }
    }

    const SENDMAIL: &[&str] = &["svc:/network/smtp:sendmail"];
    const DHCP: &[&str] = &[
        "svc:/network/dhcp:default",
        "svc:/network/dhcp:v6",
        "svc:/network/smtp:sendmail",
    ];
    const LEGACY: &[&str] = &["svc:/network/smtp:sendmail", "lrc:/etc/rc3_d/S42myscript"];

    fn check_resolve(pattern: &str, known: &[&str], expected: &str) {
        assert_eq!(
            outcome(resolve(pattern, &fmris(known))),
            expected,
            "resolving {pattern:?}"
        );
    }

    #[test]
    fn resolves_abbreviations_as_svcs_does() {
        let sendmail = "svc:/network/smtp:sendmail";
        for pattern in [
            "sendmail",
            ":sendmail",
            "smtp",
            "smtp:sendmail",
            "network/smtp",
            "svc:/network/smtp",
            "svc:/network/smtp:sendmail",
            "network/smtp:sendmail",
            "svc://localhost/network/smtp:sendmail",
            "smtp:",
            "*smtp*",
            "svc:/network/*",
            "network/*",
            "*:sendmail",
            "svc:/network/smtp:sendmai?",
            "net[a-z]ork/smtp:[!x]endmail",
        ] {
            check_resolve(pattern, SENDMAIL, sendmail);
        }
        for (pattern, quoted) in [
            ("mail", "mail"),
            ("network", "network"),
            ("network/smt", "network/smt"),
            ("svc:", "svc:"),
            ("svc", "svc"),
            (":", ":"),
            ("svc:/network/smtp:other", "svc:/network/smtp:other"),
            ("smtp*", "svc:/smtp*"),
            ("lrc:/*", "lrc:/*"),
        ] {
            check_resolve(
                pattern,
                SENDMAIL,
                &format!("error: Pattern '{quoted}' doesn't match any instances"),
            );
        }
    }

    #[test]
    fn resolves_every_match_in_known_order() {
        check_resolve(
            "dhcp",
            DHCP,
            "svc:/network/dhcp:default svc:/network/dhcp:v6",
        );
        check_resolve(
            "svc:/network/*",
            DHCP,
            "svc:/network/dhcp:default svc:/network/dhcp:v6 svc:/network/smtp:sendmail",
        );
        check_resolve(
            "network/dhcp",
            DHCP,
            "svc:/network/dhcp:default svc:/network/dhcp:v6",
        );
        check_resolve("b", &["svc:/ab/b:b"], "svc:/ab/b:b");
        check_resolve("S42myscript", LEGACY, "lrc:/etc/rc3_d/S42myscript");
        check_resolve(
            "lrc:/etc/rc3_d/S42myscript",
            LEGACY,
            "lrc:/etc/rc3_d/S42myscript",
        );
        check_resolve("lrc:/etc/*", LEGACY, "lrc:/etc/rc3_d/S42myscript");
        check_resolve(
            "S42*",
            LEGACY,
            "error: Pattern 'svc:/S42*' doesn't match any instances",
        );
        check_resolve("", SENDMAIL, "error: empty FMRI");
        let long = "x".repeat(MAX_FMRI_LENGTH + 1);
        check_resolve(
            &long,
            SENDMAIL,
            &format!("error: Argument '{long}' is too long, ignoring"),
        );
    }

    #[test]
    fn classifies_like_scf_walk_fmri() {
        let known = fmris(DHCP);
        let exact = |text: &str| FmriPattern::Exact(Fmri::parse(text).unwrap());
        let cases = [
            ("svc:/network/dhcp:v6", exact("svc:/network/dhcp:v6")),
            ("network/dhcp", exact("svc:/network/dhcp")),
            (
                "svc:/network/dhcp:v4",
                FmriPattern::Partial("svc:/network/dhcp:v4".into()),
            ),
            ("dhcp", FmriPattern::Partial("dhcp".into())),
            ("dhcp*", FmriPattern::Glob("svc:/dhcp*".into())),
            ("*dhcp", FmriPattern::Glob("*dhcp".into())),
            ("lrc:/x[0-9]", FmriPattern::Glob("lrc:/x[0-9]".into())),
        ];
        for (argument, expected) in cases {
            assert_eq!(
                FmriPattern::classify(argument, &known).unwrap(),
                expected,
                "{argument:?}"
            );
        }
    }

    #[test]
    fn resolve_one_wants_exactly_one_instance() {
        let known = fmris(DHCP);
        let one = |pattern: &str| {
            resolve_one(pattern, &known).map_or_else(|e| format!("error: {e}"), |f| f.to_string())
        };
        assert_eq!(one("dhcp:v6"), "svc:/network/dhcp:v6");
        assert_eq!(one("sendmail"), "svc:/network/smtp:sendmail");
        assert_eq!(
            one("dhcp"),
            "error: Pattern 'dhcp' matches multiple instances:\n\tsvc:/network/dhcp:default\n\tsvc:/network/dhcp:v6"
        );
        assert_eq!(
            one("network/dhcp*"),
            "error: Pattern 'svc:/network/dhcp*' matches multiple instances:\n\tsvc:/network/dhcp:default\n\tsvc:/network/dhcp:v6"
        );
        assert_eq!(
            one("dhcp*"),
            "error: Pattern 'svc:/dhcp*' doesn't match any instances"
        );
        let legacy = fmris(LEGACY);
        assert_eq!(
            resolve_one("lrc:/etc/rc3_d/S42myscript", &legacy)
                .unwrap_err()
                .to_string(),
            "Operation not supported for legacy service 'lrc:/etc/rc3_d/S42myscript'"
        );
        assert!(matches!(
            resolve_one("S42myscript", &legacy),
            Err(MatchError::NotFound { .. })
        ));
    }

    /// `instances | errors`, each list space- or semicolon-separated.
    fn check_action(patterns: &[&str], known: &[&str], expected: &str) {
        let targets = walk_for_action(patterns, &fmris(known));
        let instances: Vec<&str> = targets.instances.iter().map(Fmri::as_str).collect();
        let errors: Vec<String> = targets.errors.iter().map(ToString::to_string).collect();
        let actual = format!("{} | {}", instances.join(" "), errors.join("; "));
        assert_eq!(actual, expected, "walking {patterns:?}");
    }

    #[test]
    fn walks_for_action_as_svcadm_does() {
        let refused = " | Partial FMRI matches multiple instances";
        check_action(&["dhcp"], DHCP, refused);
        check_action(&["network/dhcp"], DHCP, refused);
        check_action(&["svc:/network/dhcp"], DHCP, refused);
        // illumos counts instances across all arguments: one partial argument is enough.
        check_action(&["svc:/network/dhcp:default", "smtp"], DHCP, refused);
        check_action(&["dhcp:default"], DHCP, "svc:/network/dhcp:default | ");
        check_action(&["network/smtp"], DHCP, "svc:/network/smtp:sendmail | ");
        check_action(
            &["*dhcp*"],
            DHCP,
            "svc:/network/dhcp:default svc:/network/dhcp:v6 | ",
        );
        check_action(
            &["dhcp", "*v6"],
            DHCP,
            "svc:/network/dhcp:default svc:/network/dhcp:v6 | ",
        );
        check_action(
            &["svc:/network/dhcp:v6", "svc:/network/dhcp:default", "v6"],
            DHCP,
            " | Partial FMRI matches multiple instances",
        );
        check_action(
            &["svc:/network/dhcp:v6", "svc:/network/dhcp:default"],
            DHCP,
            "svc:/network/dhcp:v6 svc:/network/dhcp:default | ",
        );
        check_action(
            &["nothing", "dhcp:v6"],
            DHCP,
            "svc:/network/dhcp:v6 | Pattern 'nothing' doesn't match any instances",
        );
        check_action(
            &["lrc:/etc/rc3_d/S42myscript", ""],
            LEGACY,
            " | Operation not supported for legacy service 'lrc:/etc/rc3_d/S42myscript'; empty FMRI",
        );
    }

    #[test]
    fn resolve_for_action_is_all_or_nothing() {
        let known = fmris(DHCP);
        assert_eq!(
            outcome(resolve_for_action(&["*dhcp*"], &known)),
            "svc:/network/dhcp:default svc:/network/dhcp:v6"
        );
        assert_eq!(
            outcome(resolve_for_action(&["nothing", "dhcp"], &known)),
            "error: Partial FMRI matches multiple instances"
        );
        assert_eq!(
            outcome(resolve_for_action(&["nothing", "dhcp:v6"], &known)),
            "error: Pattern 'nothing' doesn't match any instances"
        );
    }

    #[test]
    fn partial_boundaries() {
        let fmri = "svc:/network/smtp:sendmail";
        let cases = [
            ("sendmail", true),
            (":sendmail", true),
            ("smtp", true),
            ("smtp:", true),
            ("network/smtp", true),
            ("svc:/network/smtp:sendmail", true),
            ("/network/smtp", true),
            ("mail", false),
            ("network", false),
            ("network/smt", false),
            ("svc:", false),
            ("svc:/", false),
            (":", false),
            ("::", false),
            ("", false),
        ];
        for (pattern, expected) in cases {
            assert_eq!(partial_match(pattern, fmri), expected, "{pattern:?}");
        }
        assert!(partial_match("aa", "svc:/x/aaa:aa"));
        assert!(partial_match("b", "svc:/ab/b:b"));
    }

    #[test]
    fn fnmatch_cases() {
        let cases = [
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("**a", "ba", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*/*", "svc:/a", true),
            ("svc:/*:default", "svc:/network/smtp:default", true),
            ("[abc]x", "bx", true),
            ("[!abc]x", "bx", false),
            ("[^abc]x", "dx", true),
            ("[a-c]", "b", true),
            ("[c-a]", "b", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[a-]", "-", true),
            ("a[-]b", "a-b", true),
            ("[", "[", true),
            ("[ab", "[ab", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a\\", "a\\", true),
            ("[\\]]", "]", true),
            ("[[:digit:]]x", "5x", true),
            ("[[:alpha:][:digit:]]", "_", false),
            ("[[:bogus:]]", "b", false),
            ("*\u{e9}?", "x\u{e9}y", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                fnmatch(pattern, text),
                expected,
                "fnmatch({pattern:?}, {text:?})"
            );
        }
    }
}
