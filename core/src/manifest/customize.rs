//! svccfg's edits of an imported service, applied to its parsed model before it is composed:
//! the properties `svccfg setprop` set ([`Override`], [`apply_overrides`]) and the instances
//! `svccfg delete` removed ([`remove_instance`]). svc.startd stores them and applies them at
//! every import of the service and at `svcadm refresh` (restarter's `config.rs`); the rules
//! of what may be set and how a value reads live here.

use crate::fmri::Fmri;
use crate::manifest::{Instance, Property, PropertyGroup, PropertyType, Service, Settings, Value};

/// A property `svccfg setprop` set, kept over the manifests' value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The service (`site/app`).
    pub service: String,
    /// The instance, or `None` for the service itself.
    pub instance: Option<String>,
    /// The property group.
    pub group: String,
    /// The property group's type (used when the group has to be created).
    pub group_type: String,
    /// The property.
    pub name: String,
    /// Its type (`astring`, `count`...).
    pub kind: String,
    /// Its values, as text.
    pub values: Vec<String>,
}

/// The type of a property group `setprop` creates: svc.startd's own groups are framework
/// groups, the rest belong to the application.
pub fn default_group_type(group: &str) -> &'static str {
    match group {
        "startd" | "process" | "method_context" => "framework",
        _ => "application",
    }
}

/// Whether the service (as imported) has instance `name`.
pub fn has_instance(service: &Service, name: &str) -> bool {
    service
        .instances
        .iter()
        .any(|instance| instance.name == name)
        || (name == "default" && service.create_default_instance.is_some())
}

/// Drops instance `name` from a service model.
pub fn remove_instance(service: &mut Service, name: &str) {
    service.instances.retain(|instance| instance.name != name);
    if name == "default" {
        service.create_default_instance = None;
    }
}

/// Applies `overrides` (those of this service) to a service model: a service's go into its
/// settings, an instance's into the instance's (the instance `create_default_instance`
/// implies is spelled out for that). Overrides of an instance the model lacks are skipped.
pub fn apply_overrides(service: &mut Service, overrides: &[Override]) {
    for value in overrides {
        if value.service != service.name {
            continue;
        }
        let Some(kind) = PropertyType::from_name(&value.kind) else {
            continue;
        };
        let values: Vec<Value> = value
            .values
            .iter()
            .map(|text| setprop_value(kind, text).unwrap_or_else(|_| Value::Text(text.clone())))
            .collect();
        let settings = match &value.instance {
            None => &mut service.settings,
            Some(name) => match instance_settings(service, name) {
                Some(settings) => settings,
                None => continue,
            },
        };
        let index = match settings
            .property_groups
            .iter()
            .position(|group| group.name == value.group)
        {
            Some(index) => index,
            None => {
                settings.property_groups.push(PropertyGroup {
                    name: value.group.clone(),
                    kind: Some(value.group_type.clone()),
                    delete: false,
                    stability: None,
                    properties: Vec::new(),
                });
                settings.property_groups.len() - 1
            }
        };
        let Some(group) = settings.property_groups.get_mut(index) else {
            continue;
        };
        match group
            .properties
            .iter_mut()
            .find(|property| property.name == value.name)
        {
            Some(property) => {
                property.kind = Some(kind);
                property.values = values;
            }
            None => group.properties.push(Property {
                name: value.name.clone(),
                kind: Some(kind),
                values,
                r#override: false,
            }),
        }
    }
}

/// The settings of instance `name`, spelling out the instance `create_default_instance`
/// implies when that is the one.
fn instance_settings<'a>(service: &'a mut Service, name: &str) -> Option<&'a mut Settings> {
    if !service
        .instances
        .iter()
        .any(|instance| instance.name == name)
    {
        let enabled = service
            .create_default_instance
            .filter(|_| name == "default")?;
        service.create_default_instance = None;
        service.instances.insert(
            0,
            Instance {
                name: name.to_string(),
                enabled: Some(enabled),
                settings: Settings::default(),
            },
        );
    }
    service
        .instances
        .iter_mut()
        .find(|instance| instance.name == name)
        .map(|instance| &mut instance.settings)
}

/// Reads one value of type `kind` as svccfg does (core's reading of manifest values, plus
/// the checks `setprop` makes that a manifest's parse does not: opaque values as pairs of hex
/// digits, FMRIs parsed); the message says what was expected.
pub fn setprop_value(kind: PropertyType, text: &str) -> Result<Value, String> {
    match kind {
        PropertyType::Opaque => {
            if text.len().is_multiple_of(2) && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                Ok(Value::Text(text.to_string()))
            } else {
                Err(format!(
                    "illegal value \"{text}\" for opaque: expected pairs of hexadecimal digits"
                ))
            }
        }
        PropertyType::Fmri => match Fmri::parse(text) {
            Ok(_) => Ok(Value::Text(text.to_string())),
            Err(error) => Err(format!("illegal value \"{text}\" for fmri: {error}")),
        },
        kind => crate::manifest::parse_value(kind, text),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::manifest;

    fn service() -> Service {
        let text = "<service_bundle type='manifest' name='t'>
          <service name='site/app' type='service' version='1'>
            <create_default_instance enabled='true'/>
            <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='5'/>
            <property_group name='config' type='application'>
              <propval name='greeting' type='astring' value='hello'/>
              <propval name='port' type='count' value='80'/>
            </property_group>
            <instance name='other' enabled='false'/>
          </service></service_bundle>";
        let parsed = manifest::parse("t.xml", text.as_bytes());
        assert!(parsed.is_valid(), "{:?}", parsed.diagnostics);
        parsed.bundle.unwrap().services.remove(0)
    }

    fn set(
        instance: Option<&str>,
        group: &str,
        name: &str,
        kind: &str,
        values: &[&str],
    ) -> Override {
        Override {
            service: "site/app".into(),
            instance: instance.map(str::to_string),
            group: group.into(),
            group_type: default_group_type(group).into(),
            name: name.into(),
            kind: kind.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn property(service: &Service, instance: &str, group: &str, name: &str) -> Option<Vec<Value>> {
        let effective = service
            .effective_instances()
            .into_iter()
            .find(|effective| effective.instance == instance)?;
        Some(
            effective
                .property_group(group)?
                .property(name)?
                .values
                .clone(),
        )
    }

    #[test]
    fn overrides_reach_the_instances_they_name() {
        let mut model = service();
        apply_overrides(
            &mut model,
            &[
                set(None, "config", "greeting", "astring", &["bonjour"]),
                set(Some("default"), "config", "port", "count", &["8080"]),
                set(
                    Some("default"),
                    "startd",
                    "critical_failure_count",
                    "count",
                    &["2"],
                ),
                set(Some("missing"), "config", "port", "count", &["1"]),
            ],
        );
        assert_eq!(
            property(&model, "default", "config", "greeting"),
            Some(vec![Value::Text("bonjour".into())])
        );
        assert_eq!(
            property(&model, "other", "config", "greeting"),
            Some(vec![Value::Text("bonjour".into())])
        );
        assert_eq!(
            property(&model, "default", "config", "port"),
            Some(vec![Value::Count(8080)])
        );
        assert_eq!(
            property(&model, "other", "config", "port"),
            Some(vec![Value::Count(80)])
        );
        assert_eq!(
            property(&model, "default", "startd", "critical_failure_count"),
            Some(vec![Value::Count(2)])
        );
        // The default instance is spelled out, enabled as before, and still first.
        assert_eq!(model.create_default_instance, None);
        let instances = model.effective_instances();
        assert_eq!(instances[0].instance, "default");
        assert_eq!(instances[0].enabled, Some(true));
        assert_eq!(instances.len(), 2);
        // The model still exports to a valid manifest that reads back the same.
        let xml = manifest::service_to_xml(&model, "export");
        let parsed = manifest::parse("export.xml", xml.as_bytes());
        assert!(parsed.is_valid(), "{:?}\n{xml}", parsed.diagnostics);
        assert_eq!(parsed.bundle.unwrap().services, [model]);
    }

    #[test]
    fn applying_twice_changes_nothing_more() {
        let overrides = [
            set(None, "config", "greeting", "astring", &["a", "b"]),
            set(Some("default"), "config", "port", "count", &["1"]),
        ];
        let mut once = service();
        apply_overrides(&mut once, &overrides);
        let mut twice = once.clone();
        apply_overrides(&mut twice, &overrides);
        assert_eq!(once, twice);
    }

    #[test]
    fn values_are_checked_by_type() {
        assert_eq!(
            setprop_value(PropertyType::Count, "+5"),
            Ok(Value::Count(5))
        );
        assert_eq!(
            setprop_value(PropertyType::Integer, "-5"),
            Ok(Value::Integer(-5))
        );
        assert_eq!(
            setprop_value(PropertyType::Boolean, "1"),
            Ok(Value::Boolean(true))
        );
        assert!(setprop_value(PropertyType::Count, "-1").is_err());
        // As svccfg (strtoull) and a manifest's value: an empty number is 0.
        assert_eq!(setprop_value(PropertyType::Count, ""), Ok(Value::Count(0)));
        assert!(setprop_value(PropertyType::Boolean, "yes").is_err());
        assert!(setprop_value(PropertyType::Opaque, "abc").is_err());
        assert!(setprop_value(PropertyType::Opaque, "0aFF").is_ok());
        assert!(setprop_value(PropertyType::Fmri, "svc:/a:b").is_ok());
        assert!(setprop_value(PropertyType::Fmri, "svc:/a:").is_err());
        assert_eq!(
            setprop_value(PropertyType::Count, "eighty").unwrap_err(),
            "illegal value \"eighty\" for count: expected a whole number from 0 to 18446744073709551615"
        );
    }

    #[test]
    fn an_instance_is_removed_whichever_way_it_was_declared() {
        let mut model = service();
        remove_instance(&mut model, "default");
        assert!(!has_instance(&model, "default"));
        assert!(has_instance(&model, "other"));
        remove_instance(&mut model, "other");
        assert!(model.effective_instances().is_empty());
    }
}
