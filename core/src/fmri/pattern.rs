//! Matching command-line arguments against known instances, as `scf_walk_fmri()` does:
//! [`FmriPattern`] (EXACT, GLOB, PARTIAL), [`MatchError`] with SMF's messages, and the
//! resolvers svcs and svcadm use ([`resolve`], [`resolve_one`], [`walk_for_action`],
//! [`resolve_for_action`]).
//!
//! Not here: parsing the FMRIs themselves (the parent module), the `fnmatch()` GLOB patterns
//! use (`glob`), and where the known instances come from (the restarter's repository).

use std::collections::HashSet;

use super::glob::fnmatch;
use super::{Fmri, FmriError, FmriKind, MAX_FMRI_LENGTH, find_from};

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
}
