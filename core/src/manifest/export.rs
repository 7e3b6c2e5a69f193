//! `svccfg export` as a pure function: the typed model back into a `service_bundle` document.
//!
//! [`bundle_to_xml`] writes a whole [`Bundle`]; [`service_to_xml`] writes one [`Service`] as a
//! manifest bundle of its own (what `svccfg export FMRI` prints). The output is what svccfg's
//! own export looks like: an XML declaration, the service_bundle DOCTYPE, two-space
//! indentation, one element per line, empty elements closed as `<x/>`, and children in the
//! order the DTD (`service_bundle.dtd.1`) requires, so our validator and real SMF both read it.
//!
//! The law, tested over the whole corpus: for every file that parses,
//! `parse(bundle_to_xml(parse(file))) == parse(file)` on the model. Writing never fails and
//! never panics, whatever the model holds.
//!
//! # What is written
//!
//! Everything the model holds: the bundle's name and type and its `xi:include` hrefs (before
//! the services, with the `xmlns:xi` declaration real profiles use); each service's name,
//! type, version, `create_default_instance`, `single_instance`, restarter, dependencies,
//! dependents (as `<dependent>` elements of this entity), method context, exec methods,
//! notification parameters, property groups, instances, stability and template; each
//! instance's name, `enabled` and settings. A property with exactly one value is a
//! `<propval>`, any other a `<property>` with the `*_list` element of its type. Attributes
//! that only restate a default (`delete="false"`, `override="false"`) are left out.
//!
//! # What is not written
//!
//! - What the model never held, because parsing drops it: comments, unknown elements and
//!   attributes (Solaris 11's `periodic_method`, `logfile_attributes`, ...), nested
//!   `<service_bundle>`s, `<stability>` inside dependencies, dependents and exec methods, and
//!   a prop_pattern's `<units>`, `<internal_separators>` and `<include_values>`; a
//!   notification type's `active` flag, `<parameter>`s and `<paramval>`s.
//!
//!   One of them changes what validation says: an instance that has a `periodic_method` or
//!   `scheduled_method` needs no start method (validation looks at the elements, which the
//!   model does not keep), so its export is reported as having none. Closing this needs the
//!   model to record those methods.
//! - What SMF's export skips as `external` (the property groups a `<dependent>` creates on
//!   its target, runtime groups such as `restarter`) and snapshots: the model holds a file's
//!   declarations, not a repository, so it has none of them to skip.
//!
//! # Where the model says less than the file did
//!
//! The output always re-reads into the same model, but some distinctions the model does not
//! keep come out in one fixed form:
//!
//! - A prop_pattern's `values` are written in one `<values>` element and its `ranges` in one
//!   `<constraints>` element: the model does not record whether a value came from
//!   `<values>`, `<constraints>` or `<choices>`. `<values>` only documents, so export never
//!   makes a template stricter than it was; ranges, which real manifests put in
//!   `<constraints>`, stay constraints.
//! - An infinite timeout is written `timeout_seconds="0"` (the file may have said `-1`).
//! - A one-valued `<property>` becomes a `<propval>`; a manpage's `manpath` is always written.
//!
//! # Models no document can reproduce
//!
//! A model built by hand (not by [`super::parse`]) can hold what no file parses into. It is
//! still written, as faithfully as the format allows, and re-reading then says what differs:
//!
//! - `Exec::Command` text that reads as a method token (`:true`, `:kill`), a `:kill` signal
//!   with whitespace in it, and `Timeout::Seconds(0)` or `Seconds(u64::MAX)` (both mean no
//!   limit) re-read as the token or as [`Timeout::Infinite`].
//! - A value whose variant does not fit its property's type (a [`Value::Text`] in a `count`
//!   property) is written as its text and re-read as that type's parser reads it.
//! - Loctext with leading, trailing or repeated whitespace re-reads collapsed.
//! - An invalid pg_pattern `target` re-reads as `this` (with an error).
//! - Two property groups of one name in one entity re-read as one (svccfg merges them: the
//!   second one's properties join the first).
//! - In a manifest or archive, which require types: a property without a type is refused and
//!   dropped, a property group without one is an error, and an instance without `enabled`
//!   re-reads as `enabled="false"` (with an error).
//! - U+0000 cannot be written in XML at all: it is written `&#0;`, which the reader refuses
//!   with a positioned error rather than silently changing the value. Other characters XML 1.0
//!   forbids (C0 controls, U+FFFE, U+FFFF) are written as character references, which our
//!   reader accepts and libxml2 does not.
//!
//! Some models are readable but outside the DTD, and their export is too: a method context
//! with both a credential and a profile, a notification parameter without types, a template
//! without a common name, a property list mixing value kinds in a profile (one `*_list` per
//! run of one kind). [`service_to_xml`] writes a service as it is: one that came from a
//! profile may lack what a manifest requires (`version`, property and group types,
//! `enabled`), and validation then says so; export invents nothing.

use std::fmt::Write as _;

use super::model::*;

/// The DOCTYPE every manifest and profile carries.
const DOCTYPE: &str =
    r#"<!DOCTYPE service_bundle SYSTEM "/usr/share/lib/xml/dtd/service_bundle.dtd.1">"#;

/// The XInclude namespace illumos's own profiles declare.
const XINCLUDE_NAMESPACE: &str = "http://www.w3.org/2003/XInclude";

/// Writes a whole bundle: XML declaration, DOCTYPE and `<service_bundle>`, ending in a newline.
///
/// ```
/// use smf_core::manifest::{self, bundle_to_xml};
///
/// let text = r#"<service_bundle type="manifest" name="demo">
///   <service name="site/hello" type="service" version="1">
///     <create_default_instance enabled="true"/>
///     <exec_method type="method" name="start" exec="/usr/bin/sleep 1000" timeout_seconds="60"/>
///   </service>
/// </service_bundle>"#;
/// let bundle = manifest::parse("hello.xml", text.as_bytes()).bundle.expect("well-formed");
/// let exported = bundle_to_xml(&bundle);
/// assert!(exported.contains(r#"    <create_default_instance enabled="true"/>"#));
/// let again = manifest::parse("export.xml", exported.as_bytes()).bundle;
/// assert_eq!(again, Some(bundle));
/// ```
pub fn bundle_to_xml(bundle: &Bundle) -> String {
    let mut writer = Writer::document();
    writer.bundle(
        &bundle.name,
        bundle.kind,
        &bundle.includes,
        &bundle.services,
    );
    writer.out
}

/// Writes one service as a manifest bundle named `bundle_name` holding just that service, as
/// `svccfg export FMRI` prints it.
///
/// ```
/// use smf_core::manifest::{Service, ServiceKind, Settings, service_to_xml};
///
/// let service = Service {
///     name: "site/empty".to_string(),
///     kind: ServiceKind::Service,
///     version: Some("1".to_string()),
///     create_default_instance: None,
///     single_instance: false,
///     settings: Settings::default(),
///     instances: Vec::new(),
///     stability: None,
/// };
/// let exported = service_to_xml(&service, "export");
/// assert!(exported.ends_with(
///     "<service_bundle type=\"manifest\" name=\"export\">\n  \
///      <service name=\"site/empty\" type=\"service\" version=\"1\"/>\n\
///      </service_bundle>\n"
/// ));
/// ```
pub fn service_to_xml(service: &Service, bundle_name: &str) -> String {
    let mut writer = Writer::document();
    writer.bundle(
        bundle_name,
        BundleKind::Manifest,
        &[],
        std::slice::from_ref(service),
    );
    writer.out
}

fn bundle_kind_name(kind: BundleKind) -> &'static str {
    match kind {
        BundleKind::Manifest => "manifest",
        BundleKind::Profile => "profile",
        BundleKind::Archive => "archive",
    }
}

fn service_kind_name(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Service => "service",
        ServiceKind::Restarter => "restarter",
        ServiceKind::Milestone => "milestone",
    }
}

fn grouping_name(grouping: Grouping) -> &'static str {
    match grouping {
        Grouping::RequireAll => "require_all",
        Grouping::RequireAny => "require_any",
        Grouping::OptionalAll => "optional_all",
        Grouping::ExcludeAll => "exclude_all",
    }
}

fn restart_on_name(restart_on: RestartOn) -> &'static str {
    match restart_on {
        RestartOn::None => "none",
        RestartOn::Error => "error",
        RestartOn::Restart => "restart",
        RestartOn::Refresh => "refresh",
    }
}

fn dependency_kind_name(kind: DependencyKind) -> &'static str {
    match kind {
        DependencyKind::Service => "service",
        DependencyKind::Path => "path",
    }
}

fn method_kind_name(kind: MethodKind) -> &'static str {
    match kind {
        MethodKind::Method => "method",
        MethodKind::Monitor => "monitor",
    }
}

fn boolean_name(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

fn timeout_text(timeout: Timeout) -> String {
    match timeout {
        Timeout::Infinite => "0".to_string(),
        Timeout::Seconds(seconds) => seconds.to_string(),
    }
}

/// The type a value reads back as when its property names none (profiles): the list element
/// that parses the value into the same variant.
fn natural_type(value: &Value) -> PropertyType {
    match value {
        Value::Boolean(_) => PropertyType::Boolean,
        Value::Count(_) => PropertyType::Count,
        Value::Integer(_) => PropertyType::Integer,
        Value::Text(_) => PropertyType::Astring,
    }
}

/// Whether `ch` may appear literally in an XML 1.0 document.
fn is_xml_char(ch: char) -> bool {
    matches!(ch,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..)
}

/// Appends `text` escaped for a double-quoted attribute (`in_attribute`) or for character
/// data. The five markup characters always become entities; in attributes tabs, newlines and
/// carriage returns become character references (a parser would turn them into spaces
/// otherwise), in text only carriage returns do (a parser would drop them from CR LF).
fn escape_into(out: &mut String, text: &str, in_attribute: bool) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' if !in_attribute => out.push(ch),
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(ch));
            }
            ch if is_xml_char(ch) => out.push(ch),
            ch => {
                let _ = write!(out, "&#{};", u32::from(ch));
            }
        }
    }
}

/// The document being written and the current indentation depth.
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    /// A document with its XML declaration and DOCTYPE written.
    fn document() -> Self {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(DOCTYPE);
        out.push('\n');
        Writer { out, depth: 0 }
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attributes {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_into(&mut self.out, value, true);
            self.out.push('"');
        }
    }

    /// `<name a="v"/>`.
    fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.start_tag(name, attributes);
        self.out.push_str("/>\n");
    }

    /// `<name a="v">`, its children written by `body` one level deeper, `</name>`; or
    /// `<name a="v"/>` when it has no children.
    fn element(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
        has_children: bool,
        body: impl FnOnce(&mut Self),
    ) {
        if !has_children {
            self.empty(name, attributes);
            return;
        }
        self.start_tag(name, attributes);
        self.out.push_str(">\n");
        self.depth += 1;
        body(self);
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name a="v">text</name>` on one line.
    fn text_element(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.start_tag(name, attributes);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn bundle(&mut self, name: &str, kind: BundleKind, includes: &[String], services: &[Service]) {
        let mut attributes = vec![("type", bundle_kind_name(kind)), ("name", name)];
        if !includes.is_empty() {
            attributes.push(("xmlns:xi", XINCLUDE_NAMESPACE));
        }
        let has_children = !includes.is_empty() || !services.is_empty();
        self.element("service_bundle", &attributes, has_children, |writer| {
            for href in includes {
                writer.empty("xi:include", &[("href", href)]);
            }
            for service in services {
                writer.service(service);
            }
        });
    }

    fn service(&mut self, service: &Service) {
        let mut attributes = vec![
            ("name", service.name.as_str()),
            ("type", service_kind_name(service.kind)),
        ];
        if let Some(version) = &service.version {
            attributes.push(("version", version));
        }
        let has_children = service.create_default_instance.is_some()
            || service.single_instance
            || !is_empty(&service.settings)
            || !service.instances.is_empty()
            || service.stability.is_some();
        self.element("service", &attributes, has_children, |writer| {
            if let Some(enabled) = service.create_default_instance {
                writer.empty(
                    "create_default_instance",
                    &[("enabled", boolean_name(enabled))],
                );
            }
            if service.single_instance {
                writer.empty("single_instance", &[]);
            }
            writer.settings(&service.settings);
            for instance in &service.instances {
                writer.instance(instance);
            }
            if let Some(stability) = &service.stability {
                writer.empty("stability", &[("value", stability)]);
            }
            if let Some(template) = &service.settings.template {
                writer.template(template);
            }
        });
    }

    fn instance(&mut self, instance: &Instance) {
        let mut attributes = vec![("name", instance.name.as_str())];
        if let Some(enabled) = instance.enabled {
            attributes.push(("enabled", boolean_name(enabled)));
        }
        let has_children = !is_empty(&instance.settings);
        self.element("instance", &attributes, has_children, |writer| {
            writer.settings(&instance.settings);
            if let Some(template) = &instance.settings.template {
                writer.template(template);
            }
        });
    }

    /// Everything services and instances share, in the DTD's order, except the template
    /// (which a service writes after its instances and stability).
    fn settings(&mut self, settings: &Settings) {
        if let Some(restarter) = &settings.restarter {
            self.element("restarter", &[], true, |writer| {
                writer.empty("service_fmri", &[("value", restarter)]);
            });
        }
        for dependency in &settings.dependencies {
            self.dependency(dependency);
        }
        for dependent in &settings.dependents {
            self.dependent(dependent);
        }
        if let Some(context) = &settings.method_context {
            self.method_context(context);
        }
        for method in &settings.exec_methods {
            self.exec_method(method);
        }
        for parameters in &settings.notification_parameters {
            self.notification_parameters(parameters);
        }
        for group in &settings.property_groups {
            self.property_group(group);
        }
    }

    fn dependency(&mut self, dependency: &Dependency) {
        let mut attributes = vec![
            ("name", dependency.name.as_str()),
            ("grouping", grouping_name(dependency.grouping)),
            ("restart_on", restart_on_name(dependency.restart_on)),
            ("type", dependency_kind_name(dependency.kind)),
        ];
        if dependency.delete {
            attributes.push(("delete", "true"));
        }
        let has_children = !dependency.targets.is_empty() || !dependency.properties.is_empty();
        self.element("dependency", &attributes, has_children, |writer| {
            for target in &dependency.targets {
                writer.empty("service_fmri", &[("value", target)]);
            }
            writer.properties(&dependency.properties);
        });
    }

    fn dependent(&mut self, dependent: &Dependent) {
        let mut attributes = vec![
            ("name", dependent.name.as_str()),
            ("grouping", grouping_name(dependent.grouping)),
            ("restart_on", restart_on_name(dependent.restart_on)),
        ];
        if dependent.delete {
            attributes.push(("delete", "true"));
        }
        if dependent.r#override {
            attributes.push(("override", "true"));
        }
        self.element("dependent", &attributes, true, |writer| {
            writer.empty("service_fmri", &[("value", &dependent.target)]);
            writer.properties(&dependent.properties);
        });
    }

    fn method_context(&mut self, context: &MethodContext) {
        let mut attributes = Vec::new();
        for (key, value) in [
            ("working_directory", &context.working_directory),
            ("project", &context.project),
            ("resource_pool", &context.resource_pool),
            ("security_flags", &context.security_flags),
        ] {
            if let Some(value) = value {
                attributes.push((key, value.as_str()));
            }
        }
        let has_children = context.credential.is_some()
            || context.profile.is_some()
            || !context.environment.is_empty();
        self.element("method_context", &attributes, has_children, |writer| {
            if let Some(credential) = &context.credential {
                let mut attributes = Vec::new();
                for (key, value) in [
                    ("user", &credential.user),
                    ("group", &credential.group),
                    ("supp_groups", &credential.supp_groups),
                    ("privileges", &credential.privileges),
                    ("limit_privileges", &credential.limit_privileges),
                ] {
                    if let Some(value) = value {
                        attributes.push((key, value.as_str()));
                    }
                }
                writer.empty("method_credential", &attributes);
            }
            if let Some(profile) = &context.profile {
                writer.empty("method_profile", &[("name", profile)]);
            }
            if !context.environment.is_empty() {
                writer.element("method_environment", &[], true, |writer| {
                    for variable in &context.environment {
                        writer.empty(
                            "envvar",
                            &[("name", &variable.name), ("value", &variable.value)],
                        );
                    }
                });
            }
        });
    }

    fn exec_method(&mut self, method: &ExecMethod) {
        let exec = method.exec.to_string();
        let timeout = timeout_text(method.timeout);
        let mut attributes = vec![
            ("type", method_kind_name(method.kind)),
            ("name", method.name.as_str()),
            ("exec", exec.as_str()),
            ("timeout_seconds", timeout.as_str()),
        ];
        if method.delete {
            attributes.push(("delete", "true"));
        }
        let has_children = method.method_context.is_some() || !method.properties.is_empty();
        self.element("exec_method", &attributes, has_children, |writer| {
            if let Some(context) = &method.method_context {
                writer.method_context(context);
            }
            writer.properties(&method.properties);
        });
    }

    fn notification_parameters(&mut self, parameters: &NotificationParameters) {
        self.element("notification_parameters", &[], true, |writer| {
            writer.empty("event", &[("value", &parameters.event)]);
            for kind in &parameters.types {
                writer.empty("type", &[("name", kind)]);
            }
        });
    }

    fn property_group(&mut self, group: &PropertyGroup) {
        let mut attributes = vec![("name", group.name.as_str())];
        if let Some(kind) = &group.kind {
            attributes.push(("type", kind));
        }
        if group.delete {
            attributes.push(("delete", "true"));
        }
        let has_children = group.stability.is_some() || !group.properties.is_empty();
        self.element("property_group", &attributes, has_children, |writer| {
            if let Some(stability) = &group.stability {
                writer.empty("stability", &[("value", stability)]);
            }
            writer.properties(&group.properties);
        });
    }

    fn properties(&mut self, properties: &[Property]) {
        for property in properties {
            self.property(property);
        }
    }

    /// A `<propval>` when the property has one value that reads back the same way (always
    /// with a type; without one only text, since an untyped propval reads as text); else a
    /// `<property>` with the list of its type, or, untyped, one list per run of values of one
    /// kind.
    fn property(&mut self, property: &Property) {
        let mut attributes = vec![("name", property.name.as_str())];
        if let Some(kind) = property.kind {
            attributes.push(("type", kind.name()));
        }
        if property.r#override {
            attributes.push(("override", "true"));
        }
        if let [value] = property.values.as_slice()
            && (property.kind.is_some() || matches!(value, Value::Text(_)))
        {
            let text = value.to_text();
            // `value` goes after `type`, before `override`, as svccfg writes it.
            let at = attributes.len() - usize::from(property.r#override);
            attributes.insert(at, ("value", text.as_str()));
            self.empty("propval", &attributes);
            return;
        }
        let has_children = !property.values.is_empty();
        self.element("property", &attributes, has_children, |writer| {
            let mut rest = property.values.as_slice();
            while let Some(first) = rest.first() {
                let kind = property.kind.unwrap_or_else(|| natural_type(first));
                let run = if property.kind.is_some() {
                    rest.len()
                } else {
                    rest.iter()
                        .take_while(|value| natural_type(value) == kind)
                        .count()
                };
                let (list, tail) = rest.split_at(run.max(1));
                let list_name = format!("{}_list", kind.name());
                writer.element(&list_name, &[], true, |writer| {
                    for value in list {
                        writer.empty("value_node", &[("value", &value.to_text())]);
                    }
                });
                rest = tail;
            }
        });
    }

    fn loctexts(&mut self, name: &str, texts: &[LocText]) {
        if texts.is_empty() {
            return;
        }
        self.element(name, &[], true, |writer| {
            for text in texts {
                writer.text_element("loctext", &[("xml:lang", &text.lang)], &text.text);
            }
        });
    }

    fn template(&mut self, template: &Template) {
        let has_children = !template.common_name.is_empty()
            || !template.description.is_empty()
            || !template.documentation.is_empty()
            || !template.pg_patterns.is_empty();
        self.element("template", &[], has_children, |writer| {
            writer.loctexts("common_name", &template.common_name);
            writer.loctexts("description", &template.description);
            if !template.documentation.is_empty() {
                writer.element("documentation", &[], true, |writer| {
                    for entry in &template.documentation {
                        match entry {
                            Documentation::Manpage {
                                title,
                                section,
                                manpath,
                            } => writer.empty(
                                "manpage",
                                &[("title", title), ("section", section), ("manpath", manpath)],
                            ),
                            Documentation::DocLink { name, uri } => {
                                writer.empty("doc_link", &[("name", name), ("uri", uri)]);
                            }
                        }
                    }
                });
            }
            for pattern in &template.pg_patterns {
                writer.pg_pattern(pattern);
            }
        });
    }

    fn pg_pattern(&mut self, pattern: &PgPattern) {
        let mut attributes = Vec::new();
        if !pattern.name.is_empty() {
            attributes.push(("name", pattern.name.as_str()));
        }
        if !pattern.kind.is_empty() {
            attributes.push(("type", pattern.kind.as_str()));
        }
        attributes.push(("target", pattern.target.as_str()));
        attributes.push(("required", boolean_name(pattern.required)));
        let has_children = !pattern.common_name.is_empty()
            || !pattern.description.is_empty()
            || !pattern.prop_patterns.is_empty();
        self.element("pg_pattern", &attributes, has_children, |writer| {
            writer.loctexts("common_name", &pattern.common_name);
            writer.loctexts("description", &pattern.description);
            for property in &pattern.prop_patterns {
                writer.prop_pattern(property);
            }
        });
    }

    fn prop_pattern(&mut self, pattern: &PropPattern) {
        let mut attributes = vec![("name", pattern.name.as_str())];
        if let Some(kind) = pattern.kind {
            attributes.push(("type", kind.name()));
        }
        attributes.push(("required", boolean_name(pattern.required)));
        let has_children = !pattern.common_name.is_empty()
            || !pattern.description.is_empty()
            || pattern.visibility.is_some()
            || pattern.cardinality.is_some()
            || !pattern.values.is_empty()
            || !pattern.ranges.is_empty();
        self.element("prop_pattern", &attributes, has_children, |writer| {
            writer.loctexts("common_name", &pattern.common_name);
            writer.loctexts("description", &pattern.description);
            if let Some(visibility) = &pattern.visibility {
                writer.empty("visibility", &[("value", visibility)]);
            }
            if let Some((min, max)) = pattern.cardinality {
                let (min, max) = (min.to_string(), max.to_string());
                writer.empty("cardinality", &[("min", &min), ("max", &max)]);
            }
            if !pattern.values.is_empty() {
                writer.element("values", &[], true, |writer| {
                    for value in &pattern.values {
                        writer.pattern_value(value);
                    }
                });
            }
            if !pattern.ranges.is_empty() {
                writer.element("constraints", &[], true, |writer| {
                    for (min, max) in &pattern.ranges {
                        writer.empty("range", &[("min", min), ("max", max)]);
                    }
                });
            }
        });
    }

    fn pattern_value(&mut self, value: &PatternValue) {
        let has_children = !value.common_name.is_empty() || !value.description.is_empty();
        self.element("value", &[("name", &value.name)], has_children, |writer| {
            writer.loctexts("common_name", &value.common_name);
            writer.loctexts("description", &value.description);
        });
    }
}

/// Whether settings would write no element at all.
fn is_empty(settings: &Settings) -> bool {
    *settings == Settings::default()
}
