//! Composition: what an instance really gets once the service's settings are inherited.
//!
//! SMF composes an instance's view from its own property groups and its service's (smf(7),
//! "Property composition"): a property group, dependency or method the instance declares wins
//! over the service's of the same name; properties of a property group compose one by one;
//! the method context composes field by field. `create_default_instance` adds the instance
//! `default` with no settings of its own. This module does no validation.

use serde::{Deserialize, Serialize};

use super::model::*;
use crate::fmri::Fmri;

/// The fully composed settings of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveInstance {
    /// `network/dhcp`.
    pub service: String,
    /// `default`.
    pub instance: String,
    /// The service's kind (milestones have no methods).
    pub service_kind: ServiceKind,
    /// Enabled as the bundle says (absent in a profile that does not say).
    pub enabled: Option<bool>,
    /// The composed settings.
    pub settings: Settings,
}

impl EffectiveInstance {
    /// `svc:/network/dhcp:default`.
    pub fn fmri(&self) -> String {
        format!("svc:/{}:{}", self.service, self.instance)
    }

    /// The method named `name` (`start`, `stop`, `refresh`).
    pub fn method(&self, name: &str) -> Option<&ExecMethod> {
        self.settings
            .exec_methods
            .iter()
            .find(|method| method.name == name)
    }

    /// The property group named `name`.
    pub fn property_group(&self, name: &str) -> Option<&PropertyGroup> {
        self.settings
            .property_groups
            .iter()
            .find(|group| group.name == name)
    }

    /// `pg/property`'s first value.
    pub fn property(&self, group: &str, name: &str) -> Option<&Value> {
        self.property_group(group)?.property(name)?.values.first()
    }

    /// The context a method runs with: the method's own context over the instance's.
    pub fn method_context(&self, method: &ExecMethod) -> MethodContext {
        let base = self
            .settings
            .method_context
            .as_deref()
            .cloned()
            .unwrap_or_default();
        match &method.method_context {
            Some(own) => compose_context(&base, own),
            None => base,
        }
    }

    /// `startd/duration` as written (`contract` when absent; `wait` is the old name of
    /// `child`). The engine interprets it.
    pub fn duration(&self) -> String {
        match startd_duration(&self.settings) {
            Some("wait") => "child".to_string(),
            Some(text) => text.to_string(),
            None => "contract".to_string(),
        }
    }

    /// Whether svc.startd runs this instance (no delegated restarter).
    pub fn is_run_by_startd(&self) -> bool {
        self.settings.restarter.as_deref().is_none_or(is_startd)
    }
}

/// svc.startd's own FMRI, the default restarter (smf-reference.md §1.1).
pub const STARTD_FMRI: &str = "svc:/system/svc/restarter:default";

/// Whether a restarter FMRI, in any spelling libscf accepts, names svc.startd itself.
pub fn is_startd(restarter: &str) -> bool {
    Fmri::parse(restarter).is_ok_and(|fmri| fmri.as_str() == STARTD_FMRI)
}

/// `startd/duration` as these settings write it, if they do.
pub(crate) fn startd_duration(settings: &Settings) -> Option<&str> {
    let group = settings
        .property_groups
        .iter()
        .find(|group| group.name == "startd")?;
    match group.property("duration")?.values.first()? {
        Value::Text(text) => Some(text),
        _ => None,
    }
}

impl Service {
    /// Every instance of this service with the service's settings composed in, in document
    /// order; the instance `create_default_instance` implies comes first.
    pub fn effective_instances(&self) -> Vec<EffectiveInstance> {
        let mut instances = Vec::with_capacity(self.instances.len() + 1);
        if let Some(enabled) = self.create_default_instance
            && !self
                .instances
                .iter()
                .any(|instance| instance.name == "default")
        {
            instances.push(EffectiveInstance {
                service: self.name.clone(),
                instance: "default".to_string(),
                service_kind: self.kind,
                enabled: Some(enabled),
                settings: self.settings.clone(),
            });
        }
        for instance in &self.instances {
            // A name declared twice is an error validation reports; the first one counts.
            if instances
                .iter()
                .any(|existing: &EffectiveInstance| existing.instance == instance.name)
            {
                continue;
            }
            instances.push(EffectiveInstance {
                service: self.name.clone(),
                instance: instance.name.clone(),
                service_kind: self.kind,
                enabled: instance.enabled,
                settings: compose(&self.settings, &instance.settings),
            });
        }
        instances
    }

    /// [`Service::effective_instances`], consuming the service: the service's own settings
    /// move into the instance `create_default_instance` implies instead of being copied, and
    /// every vector is trimmed to its length, so a long-lived engine keeps one compact copy.
    pub fn into_effective_instances(self) -> Vec<EffectiveInstance> {
        let implied_default = self.create_default_instance.filter(|_| {
            !self
                .instances
                .iter()
                .any(|instance| instance.name == "default")
        });
        let mut instances = Vec::with_capacity(self.instances.len() + 1);
        for instance in &self.instances {
            // A name declared twice is an error validation reports; the first one counts.
            if instances
                .iter()
                .any(|existing: &EffectiveInstance| existing.instance == instance.name)
            {
                continue;
            }
            let mut settings = compose(&self.settings, &instance.settings);
            settings.shrink_to_fit();
            instances.push(EffectiveInstance {
                service: self.name.clone(),
                instance: instance.name.clone(),
                service_kind: self.kind,
                enabled: instance.enabled,
                settings,
            });
        }
        if let Some(enabled) = implied_default {
            let mut settings = self.settings;
            settings.shrink_to_fit();
            instances.insert(
                0,
                EffectiveInstance {
                    service: self.name,
                    instance: "default".to_string(),
                    service_kind: self.kind,
                    enabled: Some(enabled),
                    settings,
                },
            );
        }
        instances.shrink_to_fit();
        instances
    }
}

/// Instance settings over service settings.
pub fn compose(service: &Settings, instance: &Settings) -> Settings {
    Settings {
        restarter: instance
            .restarter
            .clone()
            .or_else(|| service.restarter.clone()),
        dependencies: by_name(&service.dependencies, &instance.dependencies, |d| &d.name),
        dependents: by_name(&service.dependents, &instance.dependents, |d| &d.name),
        method_context: match (&service.method_context, &instance.method_context) {
            (Some(base), Some(own)) => Some(Box::new(compose_context(base, own))),
            (base, own) => own.clone().or_else(|| base.clone()),
        },
        exec_methods: by_name(&service.exec_methods, &instance.exec_methods, |m| &m.name),
        property_groups: compose_groups(&service.property_groups, &instance.property_groups),
        notification_parameters: if instance.notification_parameters.is_empty() {
            service.notification_parameters.clone()
        } else {
            instance.notification_parameters.clone()
        },
        template: instance
            .template
            .clone()
            .or_else(|| service.template.clone()),
    }
}

/// Items of `instance` replace items of `service` with the same name, in the service's order;
/// the instance's new items follow.
fn by_name<T: Clone>(service: &[T], instance: &[T], name: impl Fn(&T) -> &String) -> Vec<T> {
    let mut composed: Vec<T> = service
        .iter()
        .map(|item| {
            instance
                .iter()
                .find(|own| name(own) == name(item))
                .unwrap_or(item)
                .clone()
        })
        .collect();
    composed.extend(
        instance
            .iter()
            .filter(|own| !service.iter().any(|item| name(item) == name(own)))
            .cloned(),
    );
    composed
}

/// Property groups compose property by property.
fn compose_groups(service: &[PropertyGroup], instance: &[PropertyGroup]) -> Vec<PropertyGroup> {
    let mut composed: Vec<PropertyGroup> = service
        .iter()
        .map(
            |group| match instance.iter().find(|own| own.name == group.name) {
                Some(own) => PropertyGroup {
                    name: group.name.clone(),
                    kind: own.kind.clone().or_else(|| group.kind.clone()),
                    delete: own.delete,
                    stability: own.stability.clone().or_else(|| group.stability.clone()),
                    properties: by_name(&group.properties, &own.properties, |p| &p.name),
                },
                None => group.clone(),
            },
        )
        .collect();
    composed.extend(
        instance
            .iter()
            .filter(|own| !service.iter().any(|group| group.name == own.name))
            .cloned(),
    );
    composed
}

/// Field by field: what `own` sets wins.
fn compose_context(base: &MethodContext, own: &MethodContext) -> MethodContext {
    let pick = |own: &Option<String>, base: &Option<String>| own.clone().or_else(|| base.clone());
    MethodContext {
        working_directory: pick(&own.working_directory, &base.working_directory),
        project: pick(&own.project, &base.project),
        resource_pool: pick(&own.resource_pool, &base.resource_pool),
        security_flags: pick(&own.security_flags, &base.security_flags),
        credential: own.credential.clone().or_else(|| base.credential.clone()),
        profile: pick(&own.profile, &base.profile),
        environment: if own.environment.is_empty() {
            base.environment.clone()
        } else {
            own.environment.clone()
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::manifest::parse;

    fn instances(xml: &str) -> Vec<EffectiveInstance> {
        let parsed = parse("test.xml", xml.as_bytes());
        assert!(parsed.is_valid(), "{:#?}", parsed.diagnostics);
        parsed.bundle.unwrap().services[0].effective_instances()
    }

    const TWO_INSTANCES: &str = r#"<service_bundle type='manifest' name='t'>
      <service name='network/dhcp' type='service' version='1'>
        <dependency name='net' grouping='require_all' restart_on='error' type='service'>
          <service_fmri value='svc:/milestone/network'/>
        </dependency>
        <method_context working_directory='/var/db'>
          <method_credential user='dhcp' group='dhcp'/>
          <method_environment><envvar name='MODE' value='service'/></method_environment>
        </method_context>
        <exec_method type='method' name='start' exec='/usr/sbin/dhcpd -4' timeout_seconds='60'/>
        <exec_method type='method' name='stop' exec=':kill' timeout_seconds='60'/>
        <property_group name='config' type='application'>
          <propval name='port' type='count' value='67'/>
          <propval name='verbose' type='boolean' value='false'/>
        </property_group>
        <instance name='v4' enabled='true'/>
        <instance name='v6' enabled='false'>
          <dependency name='net' grouping='optional_all' restart_on='none' type='service'>
            <service_fmri value='svc:/network/ipv6'/>
          </dependency>
          <method_context><method_credential user='root'/></method_context>
          <exec_method type='method' name='start' exec='/usr/sbin/dhcpd -6' timeout_seconds='30'/>
          <property_group name='config' type='application'>
            <propval name='port' type='count' value='547'/>
          </property_group>
        </instance>
      </service>
    </service_bundle>"#;

    #[test]
    fn composing_by_value_gives_the_same_instances() {
        let with_default = TWO_INSTANCES.replace(
            "<instance name='v4' enabled='true'/>",
            "<create_default_instance enabled='false'/><instance name='v4' enabled='true'/>",
        );
        for xml in [TWO_INSTANCES, with_default.as_str()] {
            let parsed = parse("test.xml", xml.as_bytes());
            assert!(parsed.is_valid(), "{:#?}", parsed.diagnostics);
            let service = parsed.bundle.unwrap().services.remove(0);
            let borrowed = service.effective_instances();
            assert_eq!(service.into_effective_instances(), borrowed);
        }
        assert_eq!(
            parse("test.xml", with_default.as_bytes())
                .bundle
                .unwrap()
                .services
                .remove(0)
                .into_effective_instances()
                .iter()
                .map(|instance| instance.instance.as_str())
                .collect::<Vec<_>>(),
            ["default", "v4", "v6"]
        );
    }

    #[test]
    fn instances_inherit_service_settings() {
        let v4 = &instances(TWO_INSTANCES)[0];
        assert_eq!(v4.fmri(), "svc:/network/dhcp:v4");
        assert_eq!(v4.enabled, Some(true));
        assert_eq!(v4.settings.dependencies[0].grouping, Grouping::RequireAll);
        assert_eq!(
            v4.method("start").unwrap().exec,
            Exec::Command("/usr/sbin/dhcpd -4".into())
        );
        assert_eq!(v4.property("config", "port"), Some(&Value::Count(67)));
        let context = v4.method_context(v4.method("start").unwrap());
        assert_eq!(context.working_directory.as_deref(), Some("/var/db"));
        assert_eq!(context.credential.unwrap().user.as_deref(), Some("dhcp"));
    }

    #[test]
    fn instance_settings_override_by_name_and_properties_compose() {
        let v6 = &instances(TWO_INSTANCES)[1];
        assert_eq!(v6.settings.dependencies.len(), 1);
        assert_eq!(v6.settings.dependencies[0].grouping, Grouping::OptionalAll);
        assert_eq!(v6.settings.dependencies[0].targets, ["svc:/network/ipv6"]);
        let start = v6.method("start").unwrap();
        assert_eq!(start.exec, Exec::Command("/usr/sbin/dhcpd -6".into()));
        assert_eq!(start.timeout, Timeout::Seconds(30));
        // The stop method is the service's.
        assert_eq!(v6.method("stop").unwrap().exec, Exec::Kill { signal: None });
        // `port` is the instance's, `verbose` still the service's.
        assert_eq!(v6.property("config", "port"), Some(&Value::Count(547)));
        assert_eq!(
            v6.property("config", "verbose"),
            Some(&Value::Boolean(false))
        );
        // The method context composes field by field.
        let context = v6.method_context(start);
        assert_eq!(context.credential.unwrap().user.as_deref(), Some("root"));
        assert_eq!(context.working_directory.as_deref(), Some("/var/db"));
        assert_eq!(context.environment[0].name, "MODE");
    }

    #[test]
    fn create_default_instance_adds_default_first() {
        let all = instances(
            r#"<service_bundle type='manifest' name='t'>
              <service name='site/x' type='service' version='1'>
                <create_default_instance enabled='false'/>
                <exec_method type='method' name='start' exec='/bin/x' timeout_seconds='60'/>
                <property_group name='startd' type='framework'>
                  <propval name='duration' type='astring' value='wait'/>
                </property_group>
                <instance name='other' enabled='true'/>
              </service>
            </service_bundle>"#,
        );
        let names: Vec<_> = all
            .iter()
            .map(|instance| instance.instance.as_str())
            .collect();
        assert_eq!(names, ["default", "other"]);
        assert_eq!(all[0].enabled, Some(false));
        assert_eq!(all[0].duration(), "child");
    }

    #[test]
    fn startd_is_recognised_in_every_spelling() {
        for spelling in [
            "svc:/system/svc/restarter:default",
            "svc://localhost/system/svc/restarter:default",
            "system/svc/restarter:default",
        ] {
            assert!(is_startd(spelling), "{spelling}");
        }
        assert!(!is_startd("svc:/network/inetd:default"));
        assert!(!is_startd("not an fmri"));
    }

    #[test]
    fn a_service_without_instances_has_none() {
        let parsed = parse(
            "t.xml",
            br#"<service_bundle type='manifest' name='t'>
              <service name='site/abstract' type='service' version='1'/>
            </service_bundle>"#,
        );
        assert!(parsed.is_valid(), "{:?}", parsed.diagnostics);
        assert!(
            parsed.bundle.unwrap().services[0]
                .effective_instances()
                .is_empty()
        );
    }
}
