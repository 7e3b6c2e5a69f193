//! Lowering of `<exec_method>` and `<method_context>`: method tokens (`:true`, `:kill`,
//! `:kill -SIGNAL`), timeouts with SMF's 0 and -1, credentials and environments.
//!
//! What a method means at run time (durations, exit codes) is the engine's business, not here.

use super::diagnostic::Severity;
use super::lower::{At, Lowerer, children};
use super::model::*;

/// Linux signal names accepted after `:kill -` (without the `SIG` prefix).
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CLD", "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
];

impl Lowerer<'_> {
    pub(crate) fn exec_method(&mut self, at: At<'_>) -> Option<ExecMethod> {
        self.allow_attributes(at, &["type", "name", "exec", "timeout_seconds", "delete"]);
        let kind = self.enumerated(
            at,
            "type",
            &[
                ("method", MethodKind::Method),
                ("monitor", MethodKind::Monitor),
            ],
            true,
        );
        let name = self.required(at, "name", "a method name such as start");
        let exec = self
            .required(at, "exec", "a command or a method token such as :kill")
            .map(|exec| self.exec(at, &exec));
        let timeout = self
            .required(at, "timeout_seconds", "a number of seconds")
            .and_then(|text| self.timeout(at, &text));
        let delete = self.boolean(at, "delete", false);
        let mut method_context = None;
        for child in children(&at) {
            if child.element.name == "method_context" {
                method_context = Some(Box::new(self.method_context(child)));
            }
        }
        let properties = self.nested_properties(at, &["method_context", "stability"]);
        Some(ExecMethod {
            name: name?,
            kind: kind?,
            exec: exec?,
            timeout: timeout?,
            method_context,
            delete,
            properties,
        })
    }

    /// Splits method tokens from commands (smf_method(7)).
    pub(crate) fn exec(&mut self, at: At<'_>, exec: &str) -> Exec {
        let trimmed = exec.trim();
        if trimmed.is_empty() {
            self.attribute_problem(
                Severity::Error,
                at,
                "exec",
                "empty exec: expected a command or a method token such as :kill".to_string(),
            );
            return Exec::Command(String::new());
        }
        if !trimmed.starts_with(':') {
            return Exec::Command(exec.to_string());
        }
        let mut words = trimmed.split_whitespace();
        let token = words.next().unwrap_or_default();
        let rest: Vec<&str> = words.collect();
        match (token, rest.as_slice()) {
            (":true", []) => Exec::True,
            (":kill", []) => Exec::Kill { signal: None },
            (":kill", [signal]) if signal.starts_with('-') => {
                let signal = &signal[1..];
                let bare = signal.strip_prefix("SIG").unwrap_or(signal);
                let known = SIGNALS.contains(&bare)
                    || bare
                        .parse::<u8>()
                        .is_ok_and(|number| (1..=64).contains(&number));
                if !known {
                    self.attribute_problem(
                        Severity::Warning,
                        at,
                        "exec",
                        format!("':kill -{signal}' names a signal Linux does not have; the method will fail when it runs"),
                    );
                }
                Exec::Kill {
                    signal: Some(signal.to_string()),
                }
            }
            _ => {
                self.attribute_problem(
                    Severity::Warning,
                    at,
                    "exec",
                    format!("exec \"{trimmed}\" looks like a method token but is not one (known: :true, :kill, :kill -SIGNAL); it will be run as a shell command"),
                );
                Exec::Command(exec.to_string())
            }
        }
    }

    /// `timeout_seconds`: a count; SMF stores -1 as 2^64-1 and treats it and 0 as no limit.
    pub(crate) fn timeout(&mut self, at: At<'_>, text: &str) -> Option<Timeout> {
        let trimmed = text.trim();
        if let Ok(seconds) = trimmed.parse::<u64>() {
            return Some(if seconds == 0 || seconds == u64::MAX {
                Timeout::Infinite
            } else {
                Timeout::Seconds(seconds)
            });
        }
        match trimmed.parse::<i64>() {
            Ok(-1) => Some(Timeout::Infinite),
            Ok(negative) if negative < 0 => {
                self.attribute_problem(
                    Severity::Warning,
                    at,
                    "timeout_seconds",
                    format!("timeout_seconds {negative} is negative; like SMF, smf takes it as no limit (write 0 or -1 to say so)"),
                );
                Some(Timeout::Infinite)
            }
            _ => {
                self.problem_unless_placeholder(
                    at,
                    "timeout_seconds",
                    text,
                    format!("illegal value \"{text}\" for timeout_seconds: expected a whole number of seconds (0 or -1 for no limit)"),
                );
                None
            }
        }
    }

    pub(crate) fn method_context(&mut self, at: At<'_>) -> MethodContext {
        self.allow_attributes(
            at,
            &[
                "working_directory",
                "project",
                "resource_pool",
                "security_flags",
            ],
        );
        let attribute = |name: &str| at.element.attribute(name).map(str::to_string);
        let mut context = MethodContext {
            working_directory: attribute("working_directory"),
            project: attribute("project"),
            resource_pool: attribute("resource_pool"),
            security_flags: attribute("security_flags"),
            ..MethodContext::default()
        };
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "method_credential" => {
                    self.allow_attributes(
                        child_at,
                        &[
                            "user",
                            "group",
                            "supp_groups",
                            "privileges",
                            "limit_privileges",
                        ],
                    );
                    let optional = |name: &str| child.attribute(name).map(str::to_string);
                    // The illumos DTD requires `user`; Solaris 11 made it optional (a
                    // credential may carry only a `clearance`). Without one the method runs
                    // as the restarter's own user.
                    let user = child.attribute("user").map(str::to_string);
                    if user.is_none() {
                        self.warning(
                            child_at,
                            "<method_credential> has no user (a Solaris 11 form): the method runs as svc.startd's own user".to_string(),
                        );
                    }
                    context.credential = Some(MethodCredential {
                        user,
                        group: optional("group"),
                        supp_groups: optional("supp_groups"),
                        privileges: optional("privileges"),
                        limit_privileges: optional("limit_privileges"),
                    });
                }
                "method_profile" => {
                    self.allow_attributes(child_at, &["name"]);
                    context.profile = self.required(child_at, "name", "an RBAC profile name");
                }
                "method_environment" => {
                    self.allow_attributes(child_at, &[]);
                    for variable_at in children(&child_at) {
                        let variable = variable_at.element;
                        if variable.name != "envvar" {
                            self.unknown_element(variable_at, "method_environment");
                            continue;
                        }
                        self.allow_attributes(variable_at, &["name", "value"]);
                        let name = self.required(variable_at, "name", "a variable name");
                        let value = self.required(variable_at, "value", "the variable's value");
                        if let (Some(name), Some(value)) = (name, value) {
                            if name.is_empty() || name.contains('=') {
                                self.error(
                                    variable_at,
                                    format!("environment variable name \"{name}\" is empty or contains '='"),
                                );
                            }
                            context.environment.push(EnvVar { name, value });
                        }
                    }
                }
                _ => self.unknown_element(child_at, "method_context"),
            }
        }
        context
    }
}
