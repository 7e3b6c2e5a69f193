//! Element tree -> model: the service_bundle DTD's structure, attributes, defaults and value
//! types, checked as svccfg's parser checks them.
//!
//! Every problem becomes a [`Diagnostic`] at the element or attribute it concerns; lowering
//! never stops at the first one, so one `svccfg validate` run shows them all. Unknown elements
//! and attributes are warnings (forward compatibility with Solaris 11 and later DTDs).
//! This file holds the shared machinery (positions, element paths, attribute helpers) and the
//! bundle, service, instance and dependency elements; methods, properties and templates are
//! lowered in `method.rs`, `property.rs` and `template.rs`. Checks that look across elements
//! (duplicates, methods, self-dependencies, FMRIs) live in [`super::validate`]; lowering only
//! knows one element at a time.

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

    pub(crate) fn is_profile(&self) -> bool {
        self.kind == BundleKind::Profile
    }

    /// Warns about attributes the DTD does not list for this element.
    pub(crate) fn allow_attributes(&mut self, at: At<'_>, allowed: &[&str]) {
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

    pub(crate) fn unknown_element(&mut self, child: At<'_>, parent: &str) {
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
    pub(crate) fn required(
        &mut self,
        at: At<'_>,
        attribute: &str,
        expected: &str,
    ) -> Option<String> {
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
    pub(crate) fn enumerated<T: Copy>(
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

    pub(crate) fn boolean(&mut self, at: At<'_>, attribute: &str, default: bool) -> bool {
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

    pub(crate) fn service(&mut self, at: At<'_>) -> Option<Service> {
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

    pub(crate) fn instance(&mut self, at: At<'_>) -> Option<Instance> {
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
    pub(crate) fn check_order(&mut self, at: At<'_>, order: &[&str]) {
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
    pub(crate) fn setting(&mut self, settings: &mut Settings, at: At<'_>, parent: &str) -> bool {
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
            "method_context" => settings.method_context = Some(Box::new(self.method_context(at))),
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
            "template" => settings.template = Some(Box::new(self.template(at))),
            "stability" if parent == "instance" => {
                self.warning(at, "<stability> on an instance is ignored".to_string());
            }
            _ => return false,
        }
        true
    }

    /// The `value`s of the `<service_fmri>` children.
    pub(crate) fn service_fmris(&mut self, at: At<'_>) -> Vec<String> {
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

    pub(crate) fn dependency(&mut self, at: At<'_>) -> Option<Dependency> {
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

    pub(crate) fn dependent(&mut self, at: At<'_>) -> Option<Dependent> {
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

    pub(crate) fn stability(&mut self, at: At<'_>) -> Option<String> {
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

    pub(crate) fn notification_parameters(&mut self, at: At<'_>) -> NotificationParameters {
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
/// where VAR is letters, digits and underscores. A manifest whose service or instance names
/// still hold one validates (with a warning) but cannot be imported.
pub fn placeholder(value: &str) -> Option<&str> {
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
