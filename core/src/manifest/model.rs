//! The typed model of a service_bundle: what a manifest or profile says, with defaults applied
//! but nothing inherited yet.
//!
//! Names follow the DTD and svccfg(8) (`Service`, `Instance`, `Dependency`, `ExecMethod`,
//! `MethodContext`, `PropertyGroup`). Inheritance from service to instance is computed by
//! [`Service::effective_instances`], not stored, so a serialized bundle says exactly what its
//! file said. FMRIs inside the model are kept as the text the file gave (validation checks them
//! and reports the position); everything else is typed.

use serde::{Deserialize, Serialize};

/// A whole `<service_bundle>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// The bundle's `name` attribute.
    pub name: String,
    /// Manifest, profile or archive.
    pub kind: BundleKind,
    /// Services in document order.
    pub services: Vec<Service>,
    /// `xi:include` hrefs, kept (not followed) so a caller can report them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
}

/// `service_bundle type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    /// Delivers services (the usual case).
    Manifest,
    /// Site customisation: enables, disables and property values for existing services.
    Profile,
    /// svccfg archive output.
    Archive,
}

/// `service type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// An ordinary service.
    Service,
    /// A delegated restarter (like inetd).
    Restarter,
    /// A milestone: a synchronization point with no methods of its own.
    Milestone,
}

/// One `<service>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// `network/dhcp`.
    pub name: String,
    /// Service, restarter or milestone (absent in some profiles: then `service`).
    pub kind: ServiceKind,
    /// The `version` attribute as written (SMF ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `<create_default_instance enabled=…>`: the instance `default` with that enabled value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_default_instance: Option<bool>,
    /// `<single_instance/>` (obsolete in SMF, never enforced; kept for export).
    #[serde(default, skip_serializing_if = "is_false")]
    pub single_instance: bool,
    /// Everything an instance may also say, at service level (inherited by every instance).
    #[serde(flatten)]
    pub settings: Settings,
    /// Instances in document order (without the one create_default_instance implies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<Instance>,
    /// `<stability value=…>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<String>,
}

/// One `<instance>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// `default`.
    pub name: String,
    /// `enabled=` as written (profiles may leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// What this instance says of itself; overrides the service's settings.
    #[serde(flatten)]
    pub settings: Settings,
}

/// What services and instances can both carry. Instance settings override service settings as
/// SMF composes them ([`Service::effective_instances`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    /// `<restarter><service_fmri value=…/></restarter>`: a delegated restarter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarter: Option<String>,
    /// `<dependency>` elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// `<dependent>` elements: dependencies this entity adds to others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependents: Vec<Dependent>,
    /// The default method context for every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_context: Option<Box<MethodContext>>,
    /// `<exec_method>` elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exec_methods: Vec<ExecMethod>,
    /// `<property_group>` elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub property_groups: Vec<PropertyGroup>,
    /// `<notification_parameters>` elements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_parameters: Vec<NotificationParameters>,
    /// `<template>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Box<Template>>,
}

impl Settings {
    /// Trims every vector to its length (the parser grows them as elements come), for
    /// settings that are kept for long.
    pub fn shrink_to_fit(&mut self) {
        fn properties(list: &mut Vec<Property>) {
            for property in list.iter_mut() {
                property.values.shrink_to_fit();
            }
            list.shrink_to_fit();
        }
        for dependency in &mut self.dependencies {
            dependency.targets.shrink_to_fit();
            properties(&mut dependency.properties);
        }
        self.dependencies.shrink_to_fit();
        for dependent in &mut self.dependents {
            properties(&mut dependent.properties);
        }
        self.dependents.shrink_to_fit();
        if let Some(context) = &mut self.method_context {
            context.environment.shrink_to_fit();
        }
        for method in &mut self.exec_methods {
            if let Some(context) = &mut method.method_context {
                context.environment.shrink_to_fit();
            }
            properties(&mut method.properties);
        }
        self.exec_methods.shrink_to_fit();
        for group in &mut self.property_groups {
            properties(&mut group.properties);
        }
        self.property_groups.shrink_to_fit();
        self.notification_parameters.shrink_to_fit();
    }
}

/// `grouping=` of a dependency (smf(7); satisfaction rules live in the graph).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Every target must be online or degraded.
    RequireAll,
    /// At least one target must be online or degraded.
    RequireAny,
    /// Every target that can run must be online or degraded.
    OptionalAll,
    /// No target may be running.
    ExcludeAll,
}

/// `restart_on=` of a dependency: which events of a target propagate a stop to the dependent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartOn {
    /// Nothing propagates.
    None,
    /// The target failed.
    Error,
    /// The target failed or restarted.
    Restart,
    /// The target failed, restarted or was refreshed.
    Refresh,
}

/// `type=` of a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// Targets are `svc:` FMRIs.
    Service,
    /// Targets are `file:` FMRIs, satisfied when the path exists.
    Path,
}

/// One `<dependency>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The dependency's name (also its property group's name).
    pub name: String,
    /// How its targets combine.
    pub grouping: Grouping,
    /// Which target events stop or restart the dependent.
    pub restart_on: RestartOn,
    /// Service or path.
    pub kind: DependencyKind,
    /// `service_fmri` values, as written.
    pub targets: Vec<String>,
    /// `delete="true"`: remove this dependency on import.
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete: bool,
    /// Extra properties of the dependency's property group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// One `<dependent>`: the named target gains a dependency on this entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependent {
    /// The name of the dependency created on the target.
    pub name: String,
    /// Grouping of the created dependency.
    pub grouping: Grouping,
    /// restart_on of the created dependency.
    pub restart_on: RestartOn,
    /// The entity that gains the dependency, as written.
    pub target: String,
    /// `delete="true"`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete: bool,
    /// `override="true"`: replace a dependency of that name on the target.
    #[serde(default, skip_serializing_if = "is_false")]
    pub r#override: bool,
    /// Extra properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `exec_method type=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// start, stop, refresh and other methods.
    Method,
    /// A monitor method.
    Monitor,
}

/// What a method runs: a command for `/bin/sh -c`, or one of svc.startd's method tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exec {
    /// A command line (with `%r %i %f %m %s` tokens still unexpanded).
    Command(String),
    /// `:true`: succeed without running anything.
    True,
    /// `:kill` (SIGTERM) or `:kill -SIGNAL`: signal every process of the instance.
    Kill {
        /// The signal as written after `-` (`HUP`, `SIGHUP`, `9`); none means SIGTERM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<String>,
    },
}

/// The `exec` attribute as a manifest writes it: the command, or the token.
impl std::fmt::Display for Exec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exec::Command(command) => f.write_str(command),
            Exec::True => f.write_str(":true"),
            Exec::Kill { signal: None } => f.write_str(":kill"),
            Exec::Kill {
                signal: Some(signal),
            } => write!(f, ":kill -{signal}"),
        }
    }
}

/// A method timeout. SMF: 0 and -1 (stored as 2^64-1) mean no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeout {
    /// No limit.
    Infinite,
    /// This many seconds.
    Seconds(u64),
}

/// One `<exec_method>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecMethod {
    /// `start`, `stop`, `refresh`, ...
    pub name: String,
    /// Method or monitor.
    pub kind: MethodKind,
    /// What it runs.
    pub exec: Exec,
    /// How long it may take.
    pub timeout: Timeout,
    /// This method's own context (overrides the entity's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method_context: Option<Box<MethodContext>>,
    /// `delete="true"`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete: bool,
    /// Extra properties of the method's property group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// `<method_context>`: how a method's process is set up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MethodContext {
    /// `working_directory` (`:default` means the user's home directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Solaris project: parsed and shown, otherwise ignored on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Solaris resource pool: parsed and shown, otherwise ignored on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_pool: Option<String>,
    /// Solaris security flags: parsed and shown, otherwise ignored on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_flags: Option<String>,
    /// `<method_credential>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<MethodCredential>,
    /// `<method_profile name=…>` (an RBAC profile: kept, ignored on Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `<method_environment>` variables, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<EnvVar>,
}

/// `<method_credential>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MethodCredential {
    /// User name or uid (absent in the Solaris 11 form that only sets a clearance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Group name or gid (`:default`: the user's primary group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Supplementary groups as written (`:default`: from the group database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supp_groups: Option<String>,
    /// Solaris privilege set: kept and shown, ignored on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<String>,
    /// Solaris limit privilege set: kept and shown, ignored on Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_privileges: Option<String>,
}

/// `<envvar name value>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// `<property_group>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyGroup {
    /// Its name (`startd`, `config`, ...).
    pub name: String,
    /// Its type (`application`, `framework`, ...); optional in profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `delete="true"`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub delete: bool,
    /// `<stability>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<String>,
    /// `<propval>` and `<property>` elements, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

impl PropertyGroup {
    /// The property `name`, if present.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|property| property.name == name)
    }
}

/// SMF's property types (the DTD's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyType {
    /// Unsigned 64-bit.
    Count,
    /// Signed 64-bit.
    Integer,
    /// Opaque bytes written as hex.
    Opaque,
    /// Host name or address.
    Host,
    /// Host name.
    Hostname,
    /// IPv4 or IPv6 address.
    NetAddress,
    /// IPv4 address.
    #[serde(rename = "net_address_v4")]
    NetAddressV4,
    /// IPv6 address.
    #[serde(rename = "net_address_v6")]
    NetAddressV6,
    /// A time (`seconds[.fraction]`).
    Time,
    /// ASCII string.
    Astring,
    /// UTF-8 string.
    Ustring,
    /// `true` or `false`.
    Boolean,
    /// An FMRI.
    Fmri,
    /// A URI.
    Uri,
}

impl PropertyType {
    /// Every type with its DTD name, for parsing and messages.
    pub const ALL: [(&'static str, PropertyType); 14] = [
        ("count", PropertyType::Count),
        ("integer", PropertyType::Integer),
        ("opaque", PropertyType::Opaque),
        ("host", PropertyType::Host),
        ("hostname", PropertyType::Hostname),
        ("net_address", PropertyType::NetAddress),
        ("net_address_v4", PropertyType::NetAddressV4),
        ("net_address_v6", PropertyType::NetAddressV6),
        ("time", PropertyType::Time),
        ("astring", PropertyType::Astring),
        ("ustring", PropertyType::Ustring),
        ("boolean", PropertyType::Boolean),
        ("fmri", PropertyType::Fmri),
        ("uri", PropertyType::Uri),
    ];

    /// Parses a DTD type name (`astring`).
    pub fn from_name(name: &str) -> Option<PropertyType> {
        Self::ALL
            .iter()
            .find(|(text, _)| *text == name)
            .map(|&(_, kind)| kind)
    }

    /// The DTD name (`astring`).
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("astring", |(text, _)| text)
    }
}

/// One typed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// `boolean`.
    Boolean(bool),
    /// `count`.
    Count(u64),
    /// `integer`.
    Integer(i64),
    /// Every textual type (strings, hosts, addresses, FMRIs, URIs, times, opaque).
    Text(String),
}

impl Value {
    /// The value as text, as svcprop would print it.
    pub fn to_text(&self) -> String {
        match self {
            Value::Boolean(value) => value.to_string(),
            Value::Count(value) => value.to_string(),
            Value::Integer(value) => value.to_string(),
            Value::Text(value) => value.clone(),
        }
    }
}

/// A `<propval>` (one value) or `<property>` (a typed list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    /// Its name.
    pub name: String,
    /// Its type; a profile may leave it out (then the repository's type applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PropertyType>,
    /// Its values, in order.
    pub values: Vec<Value>,
    /// `override="true"`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub r#override: bool,
}

/// `<notification_parameters>`: kept as written (smf has no notification daemon yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationParameters {
    /// `<event value=…>`.
    pub event: String,
    /// `<type name=…>` names.
    pub types: Vec<String>,
}

/// `<template>`: documentation and property patterns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Template {
    /// `<common_name>` in each language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_name: Vec<LocText>,
    /// `<description>` in each language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub description: Vec<LocText>,
    /// `<documentation>` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documentation: Vec<Documentation>,
    /// `<pg_pattern>` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pg_patterns: Vec<PgPattern>,
}

impl Template {
    /// The common name in `C` (or the first language given).
    pub fn common_name(&self) -> Option<&str> {
        pick_language(&self.common_name)
    }

    /// The description in `C` (or the first language given).
    pub fn description(&self) -> Option<&str> {
        pick_language(&self.description)
    }
}

fn pick_language(texts: &[LocText]) -> Option<&str> {
    texts
        .iter()
        .find(|text| text.lang == "C")
        .or_else(|| texts.first())
        .map(|text| text.text.as_str())
}

/// `<loctext xml:lang=…>`: text in one language, whitespace collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocText {
    /// `C`, `en`, ...
    pub lang: String,
    /// The text.
    pub text: String,
}

/// One `<documentation>` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Documentation {
    /// `<manpage title section manpath>`.
    Manpage {
        /// `dhcpd`.
        title: String,
        /// `8`.
        section: String,
        /// `:default` unless given.
        manpath: String,
    },
    /// `<doc_link name uri>`.
    DocLink {
        /// The link's name.
        name: String,
        /// Where it points.
        uri: String,
    },
}

/// `<pg_pattern>`: what a property group should look like.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PgPattern {
    /// Property group name (empty: any).
    pub name: String,
    /// Property group type (empty: any).
    pub kind: String,
    /// Whether the group must exist.
    pub required: bool,
    /// `this`, `instance`, `delegate` or `all`.
    pub target: String,
    /// Common name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_name: Vec<LocText>,
    /// Description.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub description: Vec<LocText>,
    /// Property patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prop_patterns: Vec<PropPattern>,
}

/// `<prop_pattern>`: what one property should look like.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PropPattern {
    /// Property name.
    pub name: String,
    /// Property type, if constrained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PropertyType>,
    /// Whether the property must exist.
    pub required: bool,
    /// Common name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_name: Vec<LocText>,
    /// Description.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub description: Vec<LocText>,
    /// `<cardinality min max>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardinality: Option<(u64, u64)>,
    /// `<visibility value>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Values named in `<values>`, `<constraints>` and `<choices>`, with their documentation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<PatternValue>,
    /// Allowed ranges from `<constraints>` and `<choices>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<(String, String)>,
}

/// A `<value name=…>` of a property pattern, with its common name and description.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PatternValue {
    /// The value.
    pub name: String,
    /// Common name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_name: Vec<LocText>,
    /// Description.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub description: Vec<LocText>,
}

fn is_false(value: &bool) -> bool {
    !*value
}
