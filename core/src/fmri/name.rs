//! The name rules behind FMRIs: service, instance, property group and property names
//! (libuutil's `uu_check_name()`), legacy and file paths, and the length limits
//! (`scf_limit()`), with [`NamePart`] saying which part an error is about.
//!
//! Not here: splitting an FMRI into its parts (the parent module's parser) and the error type
//! itself ([`FmriError`], in the parent module).

use std::fmt;
use std::ops::Range;

use super::FmriError;

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
pub(super) fn check_name(
    input: &str,
    range: Range<usize>,
    part: NamePart,
) -> Result<(), FmriError> {
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
        |offset, character, expected| invalid_character(input, part, offset, character, expected);
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

/// The error for `character` at `offset` of `input`, where `expected` was wanted.
fn invalid_character(
    input: &str,
    part: NamePart,
    offset: usize,
    character: char,
    expected: &'static str,
) -> FmriError {
    FmriError::InvalidCharacter {
        input: input.to_owned(),
        offset,
        character,
        part,
        expected,
    }
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

/// A legacy or file path: absolute, more than `/` (as `scf_parse_file_fmri()` requires), and
/// printable.
pub(super) fn check_path(input: &str, start: usize, part: NamePart) -> Result<(), FmriError> {
    let path = &input[start..];
    let invalid =
        |offset, character, expected| invalid_character(input, part, offset, character, expected);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::fmri::tests::check_parse;
    use crate::fmri::{Fmri, FmriError};
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
}
