//! svccfg validate's semantic checks: what a well-formed bundle can still get wrong.
//!
//! Names (SMF's character and length rules), FMRIs in dependencies, dependents and restarters,
//! duplicate names (services, instances, property groups of one entity), dependencies on
//! oneself, and methods as smf-reference.md part 1 §6 decides: an instance run by svc.startd
//! that has no effective start method is an error, a missing stop method a warning (it means
//! `:kill`; transient services need none). Profiles and archives only carry settings, so they
//! skip the method checks. Structural checks of single elements are in [`super::lower`].

use std::collections::HashMap;

use super::diagnostic::Severity;
use super::effective::{is_startd, startd_duration};
use super::lower::{At, Lowerer};
use super::model::*;
use super::xml::Element;
use crate::fmri::{self, Fmri};

/// A dependency target as validation sees it.
enum Target {
    /// `svc:/service[:instance]`.
    Service {
        service: String,
        instance: Option<String>,
    },
    /// `file://…`.
    Path,
}

/// Parses a target FMRI into what validation needs, or says why it is not one.
fn target(text: &str) -> Result<Target, String> {
    let parsed = Fmri::parse(text).map_err(|error| error.to_string())?;
    if parsed.path().is_some() {
        return Ok(Target::Path);
    }
    match parsed.service_name() {
        Some(service) if !parsed.is_legacy() => Ok(Target::Service {
            service: service.to_string(),
            instance: parsed.instance_name().map(str::to_string),
        }),
        _ => Err(format!("\"{text}\" is not a service FMRI")),
    }
}

/// Runs every check over the lowered services of one bundle.
pub(crate) fn bundle(lowerer: &mut Lowerer<'_>, services: &[(Service, At<'_>)]) {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for (service, at) in services {
        let at = *at;
        let element = at.element;
        if let Some(first_line) = seen.get(service.name.as_str()) {
            lowerer.error(
                at,
                format!(
                    "service '{}' is declared twice in this bundle (first at line {first_line})",
                    service.name
                ),
            );
        } else {
            let line = lowerer.line_of(element.offset);
            seen.insert(&service.name, line);
        }
        service_checks(lowerer, service, at);
    }
}

fn service_checks(lowerer: &mut Lowerer<'_>, service: &Service, at: At<'_>) {
    if let Err(error) = fmri::validate_service_name(&service.name) {
        lowerer.problem_unless_placeholder(
            at,
            "name",
            &service.name,
            format!("invalid service name: {error}"),
        );
    }
    entity_checks(lowerer, service, None, at);

    let mut instances: HashMap<&str, u32> = HashMap::new();
    for element in at
        .element
        .children
        .iter()
        .filter(|child| child.name == "instance")
    {
        let Some(name) = element.attribute("name") else {
            continue;
        };
        let instance_at = At {
            element,
            parent: Some(&at),
        };
        if let Err(error) = fmri::validate_instance_name(name) {
            lowerer.problem_unless_placeholder(
                instance_at,
                "name",
                name,
                format!("invalid instance name: {error}"),
            );
        }
        if let Some(first_line) = instances.get(name) {
            lowerer.error(
                instance_at,
                format!("instance '{name}' is declared twice (first at line {first_line})"),
            );
            continue;
        }
        let line = lowerer.line_of(element.offset);
        instances.insert(name, line);
        if name == "default" && service.create_default_instance.is_some() {
            lowerer.warning(
                instance_at,
                "instance 'default' is declared and also implied by <create_default_instance>; the <instance> element wins".to_string(),
            );
        }
        if let Some(instance) = service
            .instances
            .iter()
            .find(|instance| instance.name == name)
        {
            entity_checks(lowerer, service, Some(instance), instance_at);
        }
    }

    if lowerer.kind == BundleKind::Manifest {
        method_checks(lowerer, service, at);
    }
}

/// Checks of one service or instance's own elements: property group names, dependency targets,
/// self-dependencies, dependents and the restarter.
fn entity_checks(
    lowerer: &mut Lowerer<'_>,
    service: &Service,
    instance: Option<&Instance>,
    at: At<'_>,
) {
    // Dependencies, methods and property groups share one namespace: each becomes a property
    // group of the entity (svccfg_xml.c).
    let mut groups: HashMap<String, (&str, u32)> = HashMap::new();
    for element in &at.element.children {
        let kind = match element.name.as_ref() {
            "dependency" => "dependency",
            "exec_method" => "method",
            "property_group" => "property group",
            _ => continue,
        };
        let Some(name) = element.attribute("name") else {
            continue;
        };
        let child_at = At {
            element,
            parent: Some(&at),
        };
        // Real Solaris manifests name dependencies "BIND dns server" or
        // "system/manifest-import", which illumos's repository would refuse. The name is only a
        // key to smf, so this is a warning.
        if let Err(error) = fmri::validate_property_group_name(name) {
            lowerer.attribute_problem(
                Severity::Warning,
                child_at,
                "name",
                format!("{kind} name is not a valid SMF property group name ({error}); illumos would refuse it, smf accepts it"),
            );
        }
        match groups.get(name) {
            Some(("property group", first_line)) if kind == "property group" => lowerer.warning(
                child_at,
                format!(
                    "property group '{name}' is declared twice (first at line {first_line}): its properties are merged into the first"
                ),
            ),
            Some((first_kind, first_line)) => lowerer.error(
                child_at,
                format!(
                    "{kind} '{name}' has the same name as the {first_kind} at line {first_line}: each becomes a property group, so names must differ"
                ),
            ),
            None => {
                let line = lowerer.line_of(element.offset);
                groups.insert(name.to_string(), (kind, line));
            }
        }
        if element.name == "dependency" {
            dependency_checks(lowerer, service, instance, child_at);
        }
        if element.name == "property_group" {
            property_checks(lowerer, child_at);
        }
    }
    for element in &at.element.children {
        let child_at = At {
            element,
            parent: Some(&at),
        };
        match element.name.as_ref() {
            "dependent" => {
                for (fmri_element, text) in service_fmri_children(element) {
                    let fmri_at = At {
                        element: fmri_element,
                        parent: Some(&child_at),
                    };
                    match target(text) {
                        Ok(Target::Service { service: target, .. }) if target == service.name => {
                            lowerer.error(
                                fmri_at,
                                format!("dependent '{}' names this service itself: a service cannot depend on itself", element.attribute("name").unwrap_or_default()),
                            );
                        }
                        Ok(Target::Service { .. }) => {}
                        Ok(Target::Path) => lowerer.error(
                            fmri_at,
                            format!("dependent target \"{text}\" is a file: expected a service FMRI such as svc:/milestone/multi-user"),
                        ),
                        Err(error) => lowerer.problem_unless_placeholder(
                            fmri_at,
                            "value",
                            text,
                            format!("invalid FMRI in dependent: {error}"),
                        ),
                    }
                }
            }
            "restarter" => {
                for (fmri_element, text) in service_fmri_children(element) {
                    let fmri_at = At {
                        element: fmri_element,
                        parent: Some(&child_at),
                    };
                    match target(text) {
                        Ok(Target::Service {
                            instance: Some(_), ..
                        }) => {}
                        Ok(_) => lowerer.error(
                            fmri_at,
                            format!("restarter \"{text}\" is not a service instance: expected an instance FMRI such as svc:/network/inetd:default"),
                        ),
                        Err(error) => lowerer.problem_unless_placeholder(
                            fmri_at,
                            "value",
                            text,
                            format!("invalid restarter FMRI: {error}"),
                        ),
                    }
                }
                let _ = child_at;
            }
            _ => {}
        }
    }
}

fn service_fmri_children<'e>(
    element: &'e Element<'e>,
) -> impl Iterator<Item = (&'e Element<'e>, &'e str)> {
    element
        .children
        .iter()
        .filter(|child| child.name == "service_fmri")
        .filter_map(|child| child.attribute("value").map(|value| (child, value)))
}

/// Target FMRIs of one dependency: the right kind for its type, and never the entity itself.
fn dependency_checks(
    lowerer: &mut Lowerer<'_>,
    service: &Service,
    instance: Option<&Instance>,
    at: At<'_>,
) {
    let dependency_name = at.element.attribute("name").unwrap_or_default();
    let kind = at.element.attribute("type").unwrap_or("service");
    for (fmri_element, text) in service_fmri_children(at.element) {
        let fmri_at = At {
            element: fmri_element,
            parent: Some(&at),
        };
        let parsed = match target(text) {
            Ok(parsed) => parsed,
            Err(error) => {
                lowerer.problem_unless_placeholder(
                    fmri_at,
                    "value",
                    text,
                    format!("invalid FMRI in dependency '{dependency_name}': {error}"),
                );
                continue;
            }
        };
        match (kind, &parsed) {
            ("path", Target::Service { .. }) => lowerer.error(
                fmri_at,
                format!("dependency '{dependency_name}' has type path but \"{text}\" is a service: expected a file FMRI such as file://localhost/etc/hosts"),
            ),
            ("service", Target::Path) => lowerer.error(
                fmri_at,
                format!("dependency '{dependency_name}' has type service but \"{text}\" is a file: expected type='path'"),
            ),
            _ => {}
        }
        let Target::Service {
            service: target_service,
            instance: target_instance,
        } = parsed
        else {
            continue;
        };
        if target_service != service.name {
            continue;
        }
        let names_itself = match (instance, target_instance.as_deref()) {
            // A dependency on one's own service waits for an instance of it: itself included.
            (_, None) => true,
            (Some(instance), Some(target)) => instance.name == target,
            // Service level: every instance inherits it, so it is a self-dependency for the
            // instance it names, if that instance exists.
            (None, Some(target)) => {
                service
                    .instances
                    .iter()
                    .any(|instance| instance.name == target)
                    || (target == "default" && service.create_default_instance.is_some())
            }
        };
        if names_itself {
            lowerer.error(
                fmri_at,
                format!(
                    "dependency '{dependency_name}' names \"{text}\", which is {}: an instance cannot depend on itself",
                    match (instance, target_instance.as_deref()) {
                        (Some(instance), _) => format!("svc:/{}:{}", service.name, instance.name),
                        (None, Some(target)) => format!("its own instance svc:/{}:{target}", service.name),
                        (None, None) => "its own service".to_string(),
                    }
                ),
            );
        }
    }
}

/// Property names, and duplicate properties within one group.
fn property_checks(lowerer: &mut Lowerer<'_>, at: At<'_>) {
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for element in &at.element.children {
        if element.name != "propval" && element.name != "property" {
            continue;
        }
        let Some(name) = element.attribute("name") else {
            continue;
        };
        let child_at = At {
            element,
            parent: Some(&at),
        };
        if let Err(error) = fmri::validate_property_name(name) {
            lowerer.problem_unless_placeholder(
                child_at,
                "name",
                name,
                format!("invalid property name: {error}"),
            );
        }
        match seen.get(name) {
            Some(first_line) => lowerer.warning(
                child_at,
                format!("property '{name}' is set twice in this group (first at line {first_line}); the last value wins"),
            ),
            None => {
                let line = lowerer.line_of(element.offset);
                seen.insert(name, line);
            }
        }
    }
}

/// smf-reference.md part 1 §6: start required, stop recommended, for instances svc.startd runs.
///
/// Works on the elements and the lowered settings directly rather than composing every
/// instance: a method element that failed to lower has been reported already and must not also
/// be called missing, and validation should not copy every setting of every instance.
fn method_checks(lowerer: &mut Lowerer<'_>, service: &Service, at: At<'_>) {
    if service.kind == ServiceKind::Milestone {
        return;
    }
    let declares = |entity: &Element<'_>, method: &str| {
        entity
            .children
            .iter()
            .any(|child| child.name == "exec_method" && child.attribute("name") == Some(method))
    };
    let periodic = |entity: &Element<'_>| {
        entity
            .children
            .iter()
            .any(|child| matches!(&*child.name, "periodic_method" | "scheduled_method"))
    };
    if periodic(at.element) {
        return;
    }
    // (instance name, its element (None for the implied default), its own settings)
    let mut slots: Vec<(&str, Option<&Element<'_>>, Option<&Settings>)> = Vec::new();
    for child in &at.element.children {
        if child.name != "instance" {
            continue;
        }
        let Some(name) = child.attribute("name") else {
            continue;
        };
        if slots.iter().any(|(existing, _, _)| *existing == name) {
            continue;
        }
        let settings = service
            .instances
            .iter()
            .find(|instance| instance.name == name)
            .map(|instance| &instance.settings);
        slots.push((name, Some(child), settings));
    }
    if service.create_default_instance.is_some()
        && !slots.iter().any(|(name, _, _)| *name == "default")
    {
        slots.insert(0, ("default", None, None));
    }

    for (name, element, settings) in slots {
        let restarter = settings
            .and_then(|own| own.restarter.as_ref())
            .or(service.settings.restarter.as_ref());
        if restarter.is_some_and(|restarter| !is_startd(restarter)) {
            continue;
        }
        if element.is_some_and(periodic) {
            continue;
        }
        let has = |method: &str| {
            declares(at.element, method) || element.is_some_and(|element| declares(element, method))
        };
        let duration = settings
            .and_then(startd_duration)
            .or_else(|| startd_duration(&service.settings))
            .unwrap_or_default();
        // Report at the instance element, or at create_default_instance for `default`.
        let report_at = match element {
            Some(element) => At {
                element,
                parent: Some(&at),
            },
            None => at
                .element
                .children
                .iter()
                .find(|child| child.name == "create_default_instance")
                .map_or(at, |element| At {
                    element,
                    parent: Some(&at),
                }),
        };
        let fmri = format!("svc:/{}:{name}", service.name);
        if !has("start") {
            lowerer.error(
                report_at,
                format!("{fmri} has no start method: svc.startd cannot run it (add <exec_method name='start'>, or a <restarter> that runs it)"),
            );
        }
        if !has("stop") && duration != "transient" {
            lowerer.warning(
                report_at,
                format!("{fmri} has no stop method: stopping it will send SIGTERM to all its processes (as exec=':kill' would)"),
            );
        }
    }
}
