//! Element tree -> model: the service_bundle DTD's structure, attributes, defaults and value
//! types, checked as svccfg's parser checks them.
//!
//! Every problem becomes a [`Diagnostic`] at the element or attribute it concerns; lowering
//! never stops at the first one, so one `svccfg validate` run shows them all. Unknown elements
//! and attributes are warnings (forward compatibility with Solaris 11 and later DTDs).
//! Checks that look across elements (duplicates, methods, self-dependencies, FMRIs) live in
//! [`super::validate`]; this module only knows one element at a time.

use super::diagnostic::{Diagnostic, Severity, Span};
use super::model::*;
use super::xml::{Element, LineIndex};

/// Collects diagnostics for one file.
pub(crate) struct Lowerer<'a> {
    pub(crate) file: &'a str,
    /// The document, for turning offsets into lines and columns when something is reported.
    text: &'a str,
    index: Option<LineIndex<'a>>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Profiles may leave out types that manifests must give (DTD comments).
    pub(crate) kind: BundleKind,
}

/// An element and the chain of elements above it, so its path (`service[name=x]/dependency[name=y]`)
/// can be spelled out when a diagnostic needs it, and never otherwise.
#[derive(Clone, Copy)]
pub(crate) struct At<'e> {
    pub(crate) element: &'e Element<'e>,
    pub(crate) parent: Option<&'e At<'e>>,
}

impl<'e> At<'e> {
    /// The root element.
    pub(crate) fn root(element: &'e Element<'e>) -> Self {
        At {
            element,
            parent: None,
        }
    }

    /// The element path, without the root (`service_bundle`) itself.
    pub(crate) fn path(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(current) = at {
            if current.parent.is_some() {
                steps.push(current.element.path_step());
            }
            at = current.parent;
        }
        steps.reverse();
        steps.join("/")
    }
}

/// The children of `at`, each knowing its parent.
pub(crate) fn children<'e>(at: &'e At<'e>) -> impl Iterator<Item = At<'e>> + 'e {
    at.element.children.iter().map(move |element| At {
        element,
        parent: Some(at),
    })
}

const GROUPINGS: &[(&str, Grouping)] = &[
    ("require_all", Grouping::RequireAll),
    ("require_any", Grouping::RequireAny),
    ("optional_all", Grouping::OptionalAll),
    ("exclude_all", Grouping::ExcludeAll),
];

const RESTART_ONS: &[(&str, RestartOn)] = &[
    ("error", RestartOn::Error),
    ("restart", RestartOn::Restart),
    ("refresh", RestartOn::Refresh),
    ("none", RestartOn::None),
];

/// The DTD's order of a service's children.
const SERVICE_ORDER: &[&str] = &[
    "create_default_instance",
    "single_instance",
    "restarter",
    "dependency",
    "dependent",
    "method_context",
    "exec_method",
    "notification_parameters",
    "property_group",
    "instance",
    "stability",
    "template",
];

/// The DTD's order of an instance's children.
const INSTANCE_ORDER: &[&str] = &[
    "restarter",
    "dependency",
    "dependent",
    "method_context",
    "exec_method",
    "notification_parameters",
    "property_group",
    "template",
];

const BOOLEANS: &[(&str, bool)] = &[("true", true), ("false", false)];

const STABILITIES: &[&str] = &[
    "Standard", "Stable", "Evolving", "Unstable", "External", "Obsolete",
];

/// Linux signal names accepted after `:kill -` (without the `SIG` prefix).
const SIGNALS: &[&str] = &[
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "IOT", "BUS", "FPE", "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CLD", "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "POLL", "PWR", "SYS",
];

impl<'a> Lowerer<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Lowerer {
            file,
            text,
            index: None,
            diagnostics: Vec::new(),
            kind: BundleKind::Manifest,
        }
    }

    /// The 1-based line of a byte offset (the line index is built on first use: valid files
    /// never need it).
    pub(crate) fn line_of(&mut self, offset: usize) -> u32 {
        let text = self.text;
        self.index
            .get_or_insert_with(|| LineIndex::new(text))
            .pos(offset)
            .line
    }

    pub(crate) fn report(
        &mut self,
        severity: Severity,
        offset: usize,
        at: At<'_>,
        message: String,
    ) {
        let text = self.text;
        let pos = self
            .index
            .get_or_insert_with(|| LineIndex::new(text))
            .pos(offset);
        let path = at.path();
        self.diagnostics.push(Diagnostic {
            severity,
            span: Span {
                file: self.file.to_string(),
                line: pos.line,
                column: pos.column,
                path,
            },
            message,
        });
    }

    pub(crate) fn error(&mut self, at: At<'_>, message: String) {
        self.report(Severity::Error, at.element.offset, at, message);
    }

    pub(crate) fn warning(&mut self, at: At<'_>, message: String) {
        self.report(Severity::Warning, at.element.offset, at, message);
    }

    /// Reports at an attribute's own position when it exists, else at the element.
    pub(crate) fn attribute_problem(
        &mut self,
        severity: Severity,
        at: At<'_>,
        attribute: &str,
        message: String,
    ) {
        let offset = at
            .element
            .attribute_entry(attribute)
            .map_or(at.element.offset, |entry| entry.offset);
        self.report(severity, offset, at, message);
    }

    /// An error, unless `value` holds a build placeholder (`@VAR@`, `@@VAR@@`, `%%VAR%%`,
    /// `$(VAR)`): then the file is a template waiting for its build step, which is worth a
    /// warning, not a failure (the corpus has dozens of such `.xml` files). Import refuses
    /// names that still hold one.
    pub(crate) fn problem_unless_placeholder(
        &mut self,
        at: At<'_>,
        attribute: &str,
        value: &str,
        message: String,
    ) {
        match placeholder(value) {
            Some(token) => self.attribute_problem(
                Severity::Warning,
                at,
                attribute,
                format!("{message} (it holds the build placeholder {token}: substitute it before import)"),
            ),
            None => self.attribute_problem(Severity::Error, at, attribute, message),
        }
    }

    fn is_profile(&self) -> bool {
        self.kind == BundleKind::Profile
    }

    /// Warns about attributes the DTD does not list for this element.
    fn allow_attributes(&mut self, at: At<'_>, allowed: &[&str]) {
        for attribute in &at.element.attributes {
            let name = &*attribute.name;
            if !allowed.contains(&name) && !name.starts_with("xmlns") {
                self.report(
                    Severity::Warning,
                    attribute.offset,
                    at,
                    format!(
                        "unknown attribute '{name}' on <{}> is ignored",
                        at.element.name
                    ),
                );
            }
        }
    }

    fn unknown_element(&mut self, child: At<'_>, parent: &str) {
        if matches!(
            child.element.name.as_ref(),
            "periodic_method" | "scheduled_method"
        ) {
            self.warning(
                child,
                format!(
                    "<{}> is a Solaris 11 extension smf does not run: the instance is left to a restarter smf does not have",
                    child.element.name
                ),
            );
            return;
        }
        self.warning(
            child,
            format!(
                "unknown element <{}> in <{parent}> is ignored",
                child.element.name
            ),
        );
    }

    /// A required attribute; reports it missing.
    fn required(&mut self, at: At<'_>, attribute: &str, expected: &str) -> Option<String> {
        match at.element.attribute(attribute) {
            Some(value) => Some(value.to_string()),
            None => {
                self.error(
                    at,
                    format!(
                        "<{}> is missing the required attribute '{attribute}' (expected {expected})",
                        at.element.name
                    ),
                );
                None
            }
        }
    }

    /// An attribute with an enumerated value. `None` when absent (reported if `required`) or
    /// invalid (always reported).
    fn enumerated<T: Copy>(
        &mut self,
        at: At<'_>,
        attribute: &str,
        table: &[(&str, T)],
        required: bool,
    ) -> Option<T> {
        let expected = one_of(table.iter().map(|(name, _)| *name));
        let value = if required {
            self.required(at, attribute, &expected)?
        } else {
            at.element.attribute(attribute)?.to_string()
        };
        let found = table
            .iter()
            .find(|(name, _)| *name == value)
            .map(|&(_, parsed)| parsed);
        if found.is_none() {
            let message = format!(
                "invalid value \"{value}\" for attribute '{attribute}': expected {expected}"
            );
            self.problem_unless_placeholder(at, attribute, &value, message);
        }
        found
    }

    fn boolean(&mut self, at: At<'_>, attribute: &str, default: bool) -> bool {
        self.enumerated(at, attribute, BOOLEANS, false)
            .unwrap_or(default)
    }

    pub(crate) fn bundle(&mut self, root: &Element<'_>) -> Option<Bundle> {
        let root_at = At::root(root);
        if root.name != "service_bundle" {
            self.error(
                root_at,
                format!(
                    "the root element is <{}>: expected <service_bundle>",
                    root.name
                ),
            );
            return None;
        }
        self.allow_attributes(root_at, &["type", "name"]);
        let kind = self
            .enumerated(
                root_at,
                "type",
                &[
                    ("manifest", BundleKind::Manifest),
                    ("profile", BundleKind::Profile),
                    ("archive", BundleKind::Archive),
                ],
                true,
            )
            .unwrap_or(BundleKind::Manifest);
        self.kind = kind;
        let name = self
            .required(root_at, "name", "the bundle's name")
            .unwrap_or_default();
        let mut bundle = Bundle {
            name,
            kind,
            services: Vec::new(),
            includes: Vec::new(),
        };
        let mut services: Vec<(Service, At<'_>)> = Vec::new();
        for at in children(&root_at) {
            let child = at.element;
            match child.name.as_ref() {
                "service" => {
                    if let Some(service) = self.service(at) {
                        services.push((service, at));
                    }
                }
                "xi:include" => {
                    let href = child.attribute("href").unwrap_or_default().to_string();
                    self.warning(
                        at,
                        format!("xi:include of \"{href}\" is not followed: smf imports each file on its own"),
                    );
                    bundle.includes.push(href);
                }
                "service_bundle" => {
                    self.warning(at, "a nested <service_bundle> is ignored".to_string());
                }
                _ => self.unknown_element(at, "service_bundle"),
            }
        }
        super::validate::bundle(self, &services);
        bundle.services = services.into_iter().map(|(service, _)| service).collect();
        Some(bundle)
    }

    fn service(&mut self, at: At<'_>) -> Option<Service> {
        self.allow_attributes(at, &["name", "type", "version"]);
        let name = self.required(at, "name", "a service name such as network/dhcp")?;
        let kind = if self.is_profile() && at.element.attribute("type").is_none() {
            Some(ServiceKind::Service)
        } else {
            self.enumerated(
                at,
                "type",
                &[
                    ("service", ServiceKind::Service),
                    ("restarter", ServiceKind::Restarter),
                    ("milestone", ServiceKind::Milestone),
                ],
                true,
            )
        };
        let version = at.element.attribute("version").map(str::to_string);
        if version.is_none() && !self.is_profile() {
            self.error(
                at,
                "<service> is missing the required attribute 'version' (expected a number such as 1)".to_string(),
            );
        }
        let mut service = Service {
            name,
            kind: kind.unwrap_or(ServiceKind::Service),
            version,
            create_default_instance: None,
            single_instance: false,
            settings: Settings::default(),
            instances: Vec::new(),
            stability: None,
        };
        self.check_order(at, SERVICE_ORDER);
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "create_default_instance" => {
                    self.allow_attributes(child_at, &["enabled"]);
                    service.create_default_instance =
                        self.enumerated(child_at, "enabled", BOOLEANS, true);
                    if service.create_default_instance.is_none() {
                        service.create_default_instance = Some(false);
                    }
                }
                "single_instance" => {
                    self.allow_attributes(child_at, &[]);
                    service.single_instance = true;
                }
                "instance" => {
                    if let Some(instance) = self.instance(child_at) {
                        service.instances.push(instance);
                    }
                }
                "stability" => service.stability = self.stability(child_at),
                _ => {
                    if !self.setting(&mut service.settings, child_at, "service") {
                        self.unknown_element(child_at, "service");
                    }
                }
            }
        }
        Some(service)
    }

    fn instance(&mut self, at: At<'_>) -> Option<Instance> {
        self.allow_attributes(at, &["name", "enabled"]);
        let name = self.required(at, "name", "an instance name such as default")?;
        let enabled = if self.is_profile() {
            self.enumerated(at, "enabled", BOOLEANS, false)
        } else {
            Some(
                self.enumerated(at, "enabled", BOOLEANS, true)
                    .unwrap_or(false),
            )
        };
        let mut instance = Instance {
            name,
            enabled,
            settings: Settings::default(),
        };
        self.check_order(at, INSTANCE_ORDER);
        for child_at in children(&at) {
            if !self.setting(&mut instance.settings, child_at, "instance") {
                self.unknown_element(child_at, "instance");
            }
        }
        Some(instance)
    }

    /// Warns when children come out of the DTD's order. svccfg's DTD validation refuses such a
    /// file; order never changes what a manifest means, so smf reads it and says so.
    fn check_order(&mut self, at: At<'_>, order: &[&str]) {
        let mut latest: Option<(usize, &str)> = None;
        for child_at in children(&at) {
            let name = &*child_at.element.name;
            let Some(rank) = order.iter().position(|known| *known == name) else {
                continue;
            };
            match latest {
                Some((latest_rank, latest_name)) if rank < latest_rank => {
                    self.warning(
                        child_at,
                        format!(
                            "<{name}> comes after <{latest_name}>, against the DTD's order ({}); svccfg would refuse the file",
                            order.join(", ")
                        ),
                    );
                }
                _ => latest = Some((rank, order[rank])),
            }
        }
    }

    /// Lowers one child shared by services and instances; false when the element is not one.
    fn setting(&mut self, settings: &mut Settings, at: At<'_>, parent: &str) -> bool {
        match at.element.name.as_ref() {
            "restarter" => {
                self.allow_attributes(at, &[]);
                let targets = self.service_fmris(at);
                if targets.len() != 1 {
                    self.error(
                        at,
                        format!(
                            "<restarter> names {} restarters: expected exactly one <service_fmri>",
                            targets.len()
                        ),
                    );
                }
                settings.restarter = targets.into_iter().next();
            }
            "dependency" => {
                if let Some(dependency) = self.dependency(at) {
                    settings.dependencies.push(dependency);
                }
            }
            "dependent" => {
                if let Some(dependent) = self.dependent(at) {
                    settings.dependents.push(dependent);
                }
            }
            "method_context" => settings.method_context = Some(self.method_context(at)),
            "exec_method" => {
                if let Some(method) = self.exec_method(at) {
                    settings.exec_methods.push(method);
                }
            }
            "property_group" => {
                if let Some(group) = self.property_group(at) {
                    // svccfg finds or creates the group, so a second element of the same
                    // name adds to the first (validate warns about it).
                    match settings
                        .property_groups
                        .iter_mut()
                        .find(|existing| existing.name == group.name)
                    {
                        Some(existing) => existing.properties.extend(group.properties),
                        None => settings.property_groups.push(group),
                    }
                }
            }
            "notification_parameters" => {
                settings
                    .notification_parameters
                    .push(self.notification_parameters(at));
            }
            "template" => settings.template = Some(self.template(at)),
            "stability" if parent == "instance" => {
                self.warning(at, "<stability> on an instance is ignored".to_string());
            }
            _ => return false,
        }
        true
    }

    /// The `value`s of the `<service_fmri>` children.
    fn service_fmris(&mut self, at: At<'_>) -> Vec<String> {
        let mut targets = Vec::new();
        for child_at in children(&at) {
            let child = child_at.element;
            if child.name == "service_fmri" {
                self.allow_attributes(child_at, &["value"]);
                if let Some(value) = self.required(child_at, "value", "an FMRI") {
                    targets.push(value);
                }
            }
        }
        targets
    }

    fn dependency(&mut self, at: At<'_>) -> Option<Dependency> {
        self.allow_attributes(at, &["name", "grouping", "restart_on", "type", "delete"]);
        let name = self.required(at, "name", "a dependency name");
        let grouping = self.enumerated(at, "grouping", GROUPINGS, true);
        let restart_on = self.enumerated(at, "restart_on", RESTART_ONS, true);
        let kind = self.enumerated(
            at,
            "type",
            &[
                ("service", DependencyKind::Service),
                ("path", DependencyKind::Path),
            ],
            true,
        );
        let delete = self.boolean(at, "delete", false);
        let targets = self.service_fmris(at);
        let properties = self.nested_properties(at, &["service_fmri", "stability"]);
        if targets.is_empty() && !delete {
            self.error(
                at,
                "<dependency> has no <service_fmri>: expected at least one target".to_string(),
            );
        }
        Some(Dependency {
            name: name?,
            grouping: grouping?,
            restart_on: restart_on?,
            kind: kind?,
            targets,
            delete,
            properties,
        })
    }

    fn dependent(&mut self, at: At<'_>) -> Option<Dependent> {
        self.allow_attributes(
            at,
            &["name", "grouping", "restart_on", "delete", "override"],
        );
        let name = self.required(at, "name", "a dependent name");
        let grouping = self.enumerated(at, "grouping", GROUPINGS, true);
        let restart_on = self.enumerated(at, "restart_on", RESTART_ONS, true);
        let delete = self.boolean(at, "delete", false);
        let r#override = self.boolean(at, "override", false);
        let targets = self.service_fmris(at);
        let properties = self.nested_properties(at, &["service_fmri", "stability"]);
        if targets.len() != 1 {
            self.error(
                at,
                format!(
                    "<dependent> names {} targets: expected exactly one <service_fmri>",
                    targets.len()
                ),
            );
        }
        Some(Dependent {
            name: name?,
            grouping: grouping?,
            restart_on: restart_on?,
            target: targets.into_iter().next()?,
            delete,
            r#override,
            properties,
        })
    }

    fn exec_method(&mut self, at: At<'_>) -> Option<ExecMethod> {
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
                method_context = Some(self.method_context(child));
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
    fn exec(&mut self, at: At<'_>, exec: &str) -> Exec {
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
    fn timeout(&mut self, at: At<'_>, text: &str) -> Option<Timeout> {
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

    fn method_context(&mut self, at: At<'_>) -> MethodContext {
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

    fn property_group(&mut self, at: At<'_>) -> Option<PropertyGroup> {
        self.allow_attributes(at, &["name", "type", "delete"]);
        let name = self.required(at, "name", "a property group name");
        let kind = if self.is_profile() {
            at.element.attribute("type").map(str::to_string)
        } else {
            self.required(at, "type", "a property group type such as application")
        };
        let delete = self.boolean(at, "delete", false);
        let mut stability = None;
        for child in children(&at) {
            if child.element.name == "stability" {
                stability = self.stability(child);
            }
        }
        let properties = self.nested_properties(at, &["stability"]);
        Some(PropertyGroup {
            name: name?,
            kind,
            delete,
            stability,
            properties,
        })
    }

    /// The `<propval>`/`<property>` children; `also` lists other children the caller handles.
    fn nested_properties(&mut self, at: At<'_>, also: &[&str]) -> Vec<Property> {
        let mut properties = Vec::new();
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "propval" => properties.extend(self.propval(child_at)),
                "property" => properties.extend(self.property(child_at)),
                name if also.contains(&name) => {}
                _ => self.unknown_element(child_at, &at.element.name),
            }
        }
        properties
    }

    fn property_type(&mut self, at: At<'_>) -> Option<Option<PropertyType>> {
        let expected = one_of(PropertyType::ALL.iter().map(|(name, _)| *name));
        let text = if self.is_profile() {
            match at.element.attribute("type") {
                Some(text) => text.to_string(),
                None => return Some(None),
            }
        } else {
            self.required(at, "type", &expected)?
        };
        match PropertyType::from_name(&text) {
            Some(kind) => Some(Some(kind)),
            None => {
                self.attribute_problem(
                    Severity::Error,
                    at,
                    "type",
                    format!("invalid property type \"{text}\": expected {expected}"),
                );
                None
            }
        }
    }

    fn propval(&mut self, at: At<'_>) -> Option<Property> {
        self.allow_attributes(at, &["name", "type", "value", "override"]);
        let name = self.required(at, "name", "a property name");
        let kind = self.property_type(at);
        let value = self.required(at, "value", "the property's value");
        let r#override = self.boolean(at, "override", false);
        let kind = kind?;
        let value = self.value(at, "value", kind, &value?)?;
        Some(Property {
            name: name?,
            kind,
            values: vec![value],
            r#override,
        })
    }

    fn property(&mut self, at: At<'_>) -> Option<Property> {
        self.allow_attributes(at, &["name", "type", "override"]);
        let name = self.required(at, "name", "a property name");
        let kind = self.property_type(at);
        let r#override = self.boolean(at, "override", false);
        let mut values = Vec::new();
        for list_at in children(&at) {
            let list = list_at.element;
            let Some(list_type) = list.name.strip_suffix("_list") else {
                self.unknown_element(list_at, "property");
                continue;
            };
            let Some(list_kind) = PropertyType::from_name(list_type) else {
                self.unknown_element(list_at, "property");
                continue;
            };
            if let Some(Some(kind)) = kind
                && kind != list_kind
            {
                self.error(
                    list_at,
                    format!(
                        "<{}> inside a property of type {}: expected <{}_list>",
                        list.name,
                        kind.name(),
                        kind.name()
                    ),
                );
                continue;
            }
            for node_at in children(&list_at) {
                let node = node_at.element;
                if node.name != "value_node" {
                    self.unknown_element(node_at, &list.name);
                    continue;
                }
                self.allow_attributes(node_at, &["value"]);
                if let Some(text) = self.required(node_at, "value", "a value")
                    && let Some(value) = self.value(node_at, "value", Some(list_kind), &text)
                {
                    values.push(value);
                }
            }
        }
        Some(Property {
            name: name?,
            kind: kind?,
            values,
            r#override,
        })
    }

    /// Parses one value by type, with svccfg's wording for bad ones.
    fn value(
        &mut self,
        at: At<'_>,
        attribute: &str,
        kind: Option<PropertyType>,
        text: &str,
    ) -> Option<Value> {
        // svccfg converts numbers with strtoull/strtoll, which take leading blanks and read an
        // empty string as 0; smf accepts the same and says so.
        let number = text.trim_start();
        if number.is_empty() && matches!(kind, Some(PropertyType::Count | PropertyType::Integer)) {
            self.attribute_problem(
                Severity::Warning,
                at,
                attribute,
                "empty number is read as 0, as svccfg does".to_string(),
            );
        }
        let parsed = match kind {
            Some(PropertyType::Boolean) => match text {
                "true" | "1" => Ok(Value::Boolean(true)),
                "false" | "0" => Ok(Value::Boolean(false)),
                _ => Err(format!("illegal boolean value \"{text}\": expected true or false")),
            },
            Some(PropertyType::Count) if number.is_empty() => Ok(Value::Count(0)),
            Some(PropertyType::Count) => number
                .strip_prefix('+')
                .unwrap_or(number)
                .parse::<u64>()
                .map(Value::Count)
                .map_err(|_| format!("illegal value \"{text}\" for count: expected a whole number from 0 to 18446744073709551615")),
            Some(PropertyType::Integer) if number.is_empty() => Ok(Value::Integer(0)),
            Some(PropertyType::Integer) => number
                .strip_prefix('+')
                .unwrap_or(number)
                .parse::<i64>()
                .map(Value::Integer)
                .map_err(|_| format!("illegal value \"{text}\" for integer: expected a whole number that fits in 64 bits")),
            _ => Ok(Value::Text(text.to_string())),
        };
        match parsed {
            Ok(value) => Some(value),
            // A profile's values are applied to properties that already exist, and often come
            // from templates with placeholders: a bad one is refused when applied, not here.
            Err(message) if self.is_profile() => {
                self.attribute_problem(
                    Severity::Warning,
                    at,
                    attribute,
                    format!("{message}; this profile value will be refused when applied"),
                );
                Some(Value::Text(text.to_string()))
            }
            Err(message) => {
                self.problem_unless_placeholder(at, attribute, text, message);
                None
            }
        }
    }

    fn stability(&mut self, at: At<'_>) -> Option<String> {
        self.allow_attributes(at, &["value"]);
        let value = self.required(at, "value", &one_of(STABILITIES.iter().copied()))?;
        if !STABILITIES.contains(&value.as_str()) {
            self.attribute_problem(
                Severity::Warning,
                at,
                "value",
                format!(
                    "unknown stability \"{value}\": expected {}",
                    one_of(STABILITIES.iter().copied())
                ),
            );
        }
        Some(value)
    }

    fn notification_parameters(&mut self, at: At<'_>) -> NotificationParameters {
        let mut parameters = NotificationParameters {
            event: String::new(),
            types: Vec::new(),
        };
        for child in &at.element.children {
            match &*child.name {
                "event" => {
                    parameters.event = child.attribute("value").unwrap_or_default().to_string();
                }
                "type" => parameters
                    .types
                    .push(child.attribute("name").unwrap_or_default().to_string()),
                _ => {}
            }
        }
        parameters
    }

    fn template(&mut self, at: At<'_>) -> Template {
        self.allow_attributes(at, &[]);
        let mut template = Template::default();
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "common_name" => template.common_name = self.loctexts(child_at),
                "description" => template.description = self.loctexts(child_at),
                "documentation" => {
                    for entry_at in children(&child_at) {
                        let entry = entry_at.element;
                        match entry.name.as_ref() {
                            "manpage" => {
                                self.allow_attributes(entry_at, &["title", "section", "manpath"]);
                                let title = self.required(entry_at, "title", "a manual page title");
                                let section =
                                    self.required(entry_at, "section", "a manual section");
                                if let (Some(title), Some(section)) = (title, section) {
                                    template.documentation.push(Documentation::Manpage {
                                        title,
                                        section,
                                        manpath: entry
                                            .attribute("manpath")
                                            .unwrap_or(":default")
                                            .to_string(),
                                    });
                                }
                            }
                            "doc_link" => {
                                self.allow_attributes(entry_at, &["name", "uri"]);
                                let name = self.required(entry_at, "name", "a link name");
                                let uri = self.required(entry_at, "uri", "a URI");
                                if let (Some(name), Some(uri)) = (name, uri) {
                                    template
                                        .documentation
                                        .push(Documentation::DocLink { name, uri });
                                }
                            }
                            _ => self.unknown_element(entry_at, "documentation"),
                        }
                    }
                }
                "pg_pattern" => template.pg_patterns.push(self.pg_pattern(child_at)),
                _ => self.unknown_element(child_at, "template"),
            }
        }
        template
    }

    fn loctexts(&mut self, at: At<'_>) -> Vec<LocText> {
        let mut texts = Vec::new();
        for child_at in children(&at) {
            let child = child_at.element;
            if child.name != "loctext" {
                self.unknown_element(child_at, &at.element.name);
                continue;
            }
            self.allow_attributes(child_at, &["xml:lang"]);
            let lang = self
                .required(child_at, "xml:lang", "a language such as C")
                .unwrap_or_else(|| "C".to_string());
            let text = child.text.split_whitespace().collect::<Vec<_>>().join(" ");
            texts.push(LocText { lang, text });
        }
        texts
    }

    fn pg_pattern(&mut self, at: At<'_>) -> PgPattern {
        self.allow_attributes(at, &["name", "type", "required", "target"]);
        let element = at.element;
        let mut pattern = PgPattern {
            name: element.attribute("name").unwrap_or_default().to_string(),
            kind: element.attribute("type").unwrap_or_default().to_string(),
            required: self.boolean(at, "required", false),
            target: self
                .enumerated(
                    at,
                    "target",
                    &[
                        ("this", "this"),
                        ("instance", "instance"),
                        ("delegate", "delegate"),
                        ("all", "all"),
                    ],
                    false,
                )
                .unwrap_or("this")
                .to_string(),
            ..PgPattern::default()
        };
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "common_name" => pattern.common_name = self.loctexts(child_at),
                "description" => pattern.description = self.loctexts(child_at),
                "prop_pattern" => pattern.prop_patterns.push(self.prop_pattern(child_at)),
                _ => self.unknown_element(child_at, "pg_pattern"),
            }
        }
        pattern
    }

    fn prop_pattern(&mut self, at: At<'_>) -> PropPattern {
        self.allow_attributes(at, &["name", "type", "required"]);
        let name = self
            .required(at, "name", "a property name")
            .unwrap_or_default();
        let kind = match at.element.attribute("type") {
            None => None,
            Some(text) => {
                let kind = PropertyType::from_name(text);
                if kind.is_none() {
                    self.attribute_problem(
                        Severity::Error,
                        at,
                        "type",
                        format!(
                            "invalid property type \"{text}\": expected {}",
                            one_of(PropertyType::ALL.iter().map(|(name, _)| *name))
                        ),
                    );
                }
                kind
            }
        };
        let mut pattern = PropPattern {
            name,
            kind,
            required: self.boolean(at, "required", false),
            ..PropPattern::default()
        };
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "common_name" => pattern.common_name = self.loctexts(child_at),
                "description" => pattern.description = self.loctexts(child_at),
                "units" => {
                    self.loctexts(child_at);
                }
                "visibility" => {
                    pattern.visibility = child.attribute("value").map(str::to_string);
                }
                "cardinality" => {
                    let bound = |name: &str, default: u64| {
                        child
                            .attribute(name)
                            .map_or(Some(default), |text| text.trim().parse::<u64>().ok())
                    };
                    match (bound("min", 0), bound("max", u64::MAX)) {
                        (Some(min), Some(max)) => pattern.cardinality = Some((min, max)),
                        _ => self.error(
                            child_at,
                            "cardinality min and max must be whole numbers".to_string(),
                        ),
                    }
                }
                "internal_separators" => {}
                "values" | "constraints" | "choices" => {
                    for entry_at in children(&child_at) {
                        let entry = entry_at.element;
                        match &*entry.name {
                            "value" => {
                                let mut value = PatternValue {
                                    name: entry.attribute("name").unwrap_or_default().to_string(),
                                    ..PatternValue::default()
                                };
                                for text_at in children(&entry_at) {
                                    match &*text_at.element.name {
                                        "common_name" => value.common_name = self.loctexts(text_at),
                                        "description" => value.description = self.loctexts(text_at),
                                        _ => self.unknown_element(text_at, "value"),
                                    }
                                }
                                pattern.values.push(value);
                            }
                            "range" => pattern.ranges.push((
                                entry.attribute("min").unwrap_or_default().to_string(),
                                entry.attribute("max").unwrap_or_default().to_string(),
                            )),
                            _ => {}
                        }
                    }
                }
                _ => self.unknown_element(child_at, "prop_pattern"),
            }
        }
        pattern
    }
}

/// "a, b or c".
pub(crate) fn one_of<'s>(names: impl Iterator<Item = &'s str>) -> String {
    let names: Vec<&str> = names.collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The first build-system placeholder in `value`: `@VAR@`, `@@VAR@@`, `%%VAR%%` or `$(VAR)`,
/// where VAR is letters, digits and underscores.
fn placeholder(value: &str) -> Option<&str> {
    let is_name = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    };
    for (open, close) in [("@@", "@@"), ("%%", "%%"), ("$(", ")"), ("@", "@")] {
        let mut from = 0;
        while let Some(start) = value[from..].find(open) {
            let start = from + start;
            let body = &value[start + open.len()..];
            if let Some(end) = body.find(close)
                && is_name(&body[..end])
            {
                return Some(&value[start..start + open.len() + end + close.len()]);
            }
            from = start + open.len();
        }
    }
    None
}
