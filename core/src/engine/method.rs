//! What an instance's definition means to the restarter: its duration, thresholds, readiness
//! and methods (svc.startd's `libscf_get_startd_properties`, `method.c`), the exit codes
//! (smf-reference.md §4.4) and method token expansion (§4.2, `startd/expand.c`).

use crate::manifest::effective::EffectiveInstance;
use crate::manifest::{ExecMethod, ServiceKind, Timeout, Value};

use serde::{Deserialize, Serialize};

use super::action::Duration;
use super::event::{MethodName, MethodStatus};
use super::threshold::StartRate;

/// `SMF_EXIT_NODAEMON`: success, nothing left to track.
pub const SMF_EXIT_NODAEMON: i32 = 94;
/// `SMF_EXIT_ERR_FATAL`: no retry, maintenance.
pub const SMF_EXIT_ERR_FATAL: i32 = 95;
/// `SMF_EXIT_ERR_CONFIG`: no retry, maintenance.
pub const SMF_EXIT_ERR_CONFIG: i32 = 96;
/// `SMF_EXIT_MON_DEGRADE`: a start method asks for degraded.
pub const SMF_EXIT_MON_DEGRADE: i32 = 97;
/// `SMF_EXIT_ERR_NOSMF`: no retry, maintenance.
pub const SMF_EXIT_ERR_NOSMF: i32 = 99;
/// `SMF_EXIT_ERR_PERM`: no retry, maintenance.
pub const SMF_EXIT_ERR_PERM: i32 = 100;
/// `SMF_EXIT_TEMP_DISABLE`: a start method asks to be disabled temporarily.
pub const SMF_EXIT_TEMP_DISABLE: i32 = 101;

/// What a method's end means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Success,
    /// 94: success, and nothing is left to track.
    NoDaemon,
    /// 97 from a start method: running, degraded.
    Degrade,
    /// 101 from a start method: success, then a temporary disable.
    TempDisable,
    /// 95, 96, 99, 100, or a method context that cannot be applied: maintenance at once.
    Fatal,
    /// Anything else: try again, up to the fault threshold.
    Retryable,
}

/// Classifies a method's end (method.c, with the newest illumos codes).
pub(crate) fn outcome(method: MethodName, status: &MethodStatus) -> Outcome {
    match status {
        MethodStatus::Exited(0) => Outcome::Success,
        MethodStatus::Exited(SMF_EXIT_NODAEMON) if method == MethodName::Start => Outcome::NoDaemon,
        MethodStatus::Exited(SMF_EXIT_MON_DEGRADE) if method == MethodName::Start => {
            Outcome::Degrade
        }
        MethodStatus::Exited(SMF_EXIT_TEMP_DISABLE) if method == MethodName::Start => {
            Outcome::TempDisable
        }
        // From other methods 94 and 101 are logged and ignored: they count as success.
        MethodStatus::Exited(SMF_EXIT_NODAEMON | SMF_EXIT_TEMP_DISABLE) => Outcome::Success,
        MethodStatus::Exited(
            SMF_EXIT_ERR_FATAL | SMF_EXIT_ERR_CONFIG | SMF_EXIT_ERR_NOSMF | SMF_EXIT_ERR_PERM,
        ) => Outcome::Fatal,
        MethodStatus::NotStarted { fatal: true, .. } => Outcome::Fatal,
        _ => Outcome::Retryable,
    }
}

/// How svcs -x and the log word a method's end: `exited with status 1`,
/// `exited with $SMF_EXIT_ERR_CONFIG`, `died on Killed (9)`, `dumped core on ...`.
pub fn describe_status(status: &MethodStatus) -> String {
    match status {
        MethodStatus::Exited(SMF_EXIT_ERR_CONFIG) => "exited with $SMF_EXIT_ERR_CONFIG".into(),
        MethodStatus::Exited(SMF_EXIT_ERR_FATAL) => "exited with $SMF_EXIT_ERR_FATAL".into(),
        MethodStatus::Exited(code) => format!("exited with status {code}"),
        MethodStatus::Signaled {
            signal,
            core_dumped: true,
        } => format!("dumped core on {} ({})", signal.description(), signal.0),
        MethodStatus::Signaled { signal, .. } => {
            format!("died on {} ({})", signal.description(), signal.0)
        }
        MethodStatus::NotStarted { message, .. } => format!("could not be started: {message}"),
    }
}

/// The restarter's reading of one instance's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) duration: Duration,
    pub(crate) rate: StartRate,
    /// `startd/timeout_retry` (default true): a start that timed out is retried.
    pub(crate) timeout_retry: bool,
    /// `startd/ignore_error` contains `core`.
    pub(crate) ignore_core: bool,
    /// `startd/ignore_error` contains `signal`.
    pub(crate) ignore_signal: bool,
    /// `startd/readiness` is `notify`.
    pub(crate) notify: bool,
    /// A milestone, or an instance without a start method: nothing runs.
    pub(crate) milestone: bool,
}

impl Config {
    /// svc.startd's own instance: nothing to run, like a milestone.
    pub(crate) fn builtin() -> Config {
        Config {
            duration: Duration::Transient,
            rate: StartRate::default(),
            timeout_retry: true,
            ignore_core: false,
            ignore_signal: false,
            notify: false,
            milestone: true,
        }
    }

    pub(crate) fn of(definition: &EffectiveInstance) -> Config {
        let duration = match definition.duration().as_str() {
            "child" => Duration::Child,
            "transient" => Duration::Transient,
            _ => Duration::Contract,
        };
        let count = integer(definition.property("startd", "critical_failure_count"));
        let period = integer(definition.property("startd", "critical_failure_period"));
        let mut rate = StartRate::default();
        if let Some(count) = count.filter(|&c| c >= 1) {
            rate.count = u32::try_from(count).unwrap_or(u32::MAX);
        }
        if let Some(period) = period.filter(|&p| p >= 0) {
            rate.period_ms = (period as u64).saturating_mul(1000);
        }
        let ignore = text(definition.property("startd", "ignore_error")).unwrap_or_default();
        // svc.startd accepts exactly these spellings.
        let (ignore_core, ignore_signal) = match ignore.as_str() {
            "core" => (true, false),
            "signal" => (false, true),
            "core,signal" | "signal,core" => (true, true),
            _ => (false, false),
        };
        Config {
            duration,
            rate,
            timeout_retry: !matches!(
                definition.property("startd", "timeout_retry"),
                Some(Value::Boolean(false))
            ),
            ignore_core,
            ignore_signal,
            notify: text(definition.property("startd", "readiness")).as_deref() == Some("notify"),
            milestone: definition.service_kind == ServiceKind::Milestone,
        }
    }
}

fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Count(count) => i64::try_from(*count).ok(),
        Value::Integer(integer) => Some(*integer),
        Value::Text(text) => text.trim().parse().ok(),
        Value::Boolean(_) => None,
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Text(text) => Some(text.trim().to_string()),
        _ => None,
    }
}

/// What a method's processes run with beyond SMF's method context: smf's own property group
/// `process` (`umask`, an octal string, and `limit_<resource>`, a count or `unlimited`).
/// SMF has neither setting (Solaris uses projects for limits).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProcessSettings {
    /// The file mode creation mask (none: inherited, 022 for svc.startd).
    pub umask: Option<u32>,
    /// Resource limits (soft and hard set alike), in the order written.
    pub limits: Vec<ResourceLimit>,
}

/// One `setrlimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimit {
    /// Which resource.
    pub resource: Resource,
    /// The limit (none: unlimited).
    pub value: Option<u64>,
}

/// The resources `process/limit_<name>` can set (`RLIMIT_<NAME>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// Address space (bytes).
    As,
    /// Core file size (bytes).
    Core,
    /// CPU time (seconds).
    Cpu,
    /// Data segment (bytes).
    Data,
    /// File size (bytes).
    Fsize,
    /// Locked memory (bytes).
    Memlock,
    /// Open files.
    Nofile,
    /// Processes of the user.
    Nproc,
    /// Stack (bytes).
    Stack,
}

impl Resource {
    /// Every resource, with its property name suffix.
    pub const ALL: [(Resource, &'static str); 9] = [
        (Resource::As, "as"),
        (Resource::Core, "core"),
        (Resource::Cpu, "cpu"),
        (Resource::Data, "data"),
        (Resource::Fsize, "fsize"),
        (Resource::Memlock, "memlock"),
        (Resource::Nofile, "nofile"),
        (Resource::Nproc, "nproc"),
        (Resource::Stack, "stack"),
    ];
}

/// Reads the `process` property group. An unknown property or a value that does not parse
/// is an error naming it (the start fails with it: a limit silently ignored would be worse).
pub fn process_settings(definition: &EffectiveInstance) -> Result<ProcessSettings, String> {
    let mut settings = ProcessSettings::default();
    let Some(group) = definition.property_group("process") else {
        return Ok(settings);
    };
    for property in &group.properties {
        let name = property.name.as_str();
        let Some(value) = property.values.first() else {
            continue;
        };
        let text = value.to_text();
        let text = text.trim();
        if name == "umask" {
            match u32::from_str_radix(text, 8) {
                Ok(mask) if mask <= 0o777 => settings.umask = Some(mask),
                _ => {
                    return Err(format!(
                        "property process/umask: \"{text}\" is not an octal mode (e.g. 022)"
                    ));
                }
            }
            continue;
        }
        let resource = name.strip_prefix("limit_").and_then(|suffix| {
            Resource::ALL
                .iter()
                .find(|(_, known)| *known == suffix)
                .map(|(resource, _)| *resource)
        });
        let Some(resource) = resource else {
            return Err(format!(
                "property process/{name}: unknown (umask, or limit_ followed by as, core, cpu, \
                 data, fsize, memlock, nofile, nproc or stack)"
            ));
        };
        let value = if text == "unlimited" || text == "infinity" {
            None
        } else {
            match text.parse::<u64>() {
                Ok(value) => Some(value),
                Err(_) => {
                    return Err(format!(
                        "property process/{name}: \"{text}\" is neither a number nor \"unlimited\""
                    ));
                }
            }
        };
        settings.limits.push(ResourceLimit { resource, value });
    }
    Ok(settings)
}

/// A method's timeout in milliseconds (none: infinite).
pub(crate) fn timeout_ms(method: &ExecMethod) -> Option<u64> {
    match method.timeout {
        Timeout::Infinite => None,
        Timeout::Seconds(seconds) => Some(seconds.saturating_mul(1000)),
    }
}

/// Expands svc.startd's method tokens in `command` (`startd/expand.c`): `%%`, `%r`, `%m`,
/// `%s`, `%i`, `%f`, and `%{prop}` / `%{pg/prop}` with property values (a bare name reads the
/// `application` group; a trailing `,` or `:` in the braces joins values with that character;
/// shell metacharacters in values are backslash-escaped). A single trailing `%` is dropped.
pub fn expand_tokens(
    command: &str,
    method: MethodName,
    definition: &EffectiveInstance,
) -> Result<String, String> {
    let mut out = String::with_capacity(command.len());
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('%') => out.push('%'),
            Some('r') => out.push_str("svc.startd"),
            Some('m') => out.push_str(method.as_str()),
            Some('s') => out.push_str(&definition.service),
            Some('i') => out.push_str(&definition.instance),
            Some('f') => out.push_str(&definition.fmri()),
            Some('{') => {
                let mut spec = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '}' {
                        closed = true;
                        break;
                    }
                    spec.push(c);
                }
                if !closed {
                    return Err(format!("unterminated %{{ in \"{command}\""));
                }
                out.push_str(&property_token(&spec, definition)?);
            }
            Some(other) => return Err(format!("unknown method token %{other}")),
        }
    }
    Ok(out)
}

fn property_token(spec: &str, definition: &EffectiveInstance) -> Result<String, String> {
    let (spec, separator) = match spec.strip_suffix(',') {
        Some(rest) => (rest, ','),
        None => match spec.strip_suffix(':') {
            Some(rest) => (rest, ':'),
            None => (spec, ' '),
        },
    };
    let (group, name) = match spec.split_once('/') {
        Some((group, name)) => (group, name),
        None => ("application", spec),
    };
    let property = definition
        .property_group(group)
        .and_then(|pg| pg.property(name))
        .ok_or_else(|| format!("property \"{spec}\" not found"))?;
    let values: Vec<String> = property
        .values
        .iter()
        .map(|value| shell_escape(&value.to_text()))
        .collect();
    Ok(values.join(&separator.to_string()))
}

fn shell_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            ';' | '&'
                | '('
                | ')'
                | '|'
                | '^'
                | '<'
                | '>'
                | '\n'
                | ' '
                | '\t'
                | '\\'
                | '"'
                | '\''
                | '`'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
