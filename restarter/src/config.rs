//! svccfg's side of svc.startd: `import` kept in the repository, `export`, `delete`,
//! `setprop`, and where their effects enter the daemon (import, start, rescan, refresh).
//!
//! - **Imports.** A manifest `svccfg import` brings in from outside the manifest directories
//!   is remembered (`imported`, its text in `manifest`): every start imports it again from
//!   that text, even when the file is gone, and a rescan never takes it for a file that
//!   disappeared. Files inside the directories follow the directories' rules.
//! - **Deletions.** `svccfg delete` records what it deleted with the manifest that delivered
//!   it and that file's hash (`deleted`). Importing that file unchanged leaves the deleted
//!   service or instance out, at start and at rescan; a changed file (a new hash: an upgrade)
//!   brings it back, as illumos's manifest-import re-imports a manifest whose hash changed,
//!   and so does an explicit `svccfg import` of any file that defines it.
//! - **Overrides.** `svccfg setprop` stores a property (`property_override`) over what the
//!   manifests say. It is applied to the imported model every time the service is imported
//!   (start, rescan, `svccfg import`), and to a running service at `svcadm refresh` of one of
//!   its instances: SMF's running snapshot. Until then the instance runs, and `svcs -l` and
//!   `svccfg listprop` show, the values it had; `svccfg export` shows the new ones at once.
//!
//! Names are resolved against the services the engine has imported: a full FMRI, or the
//! last components of a service name (`app`, `site/app`, `app:default`) when they name one
//! service.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use smf_core::engine::Event;
use smf_core::fmri::{self, Fmri, FmriKind};
use smf_core::manifest::{self, BundleKind, EffectiveInstance, Property, PropertyType, Service};
use smf_core::protocol::{ErrorKind, Response};

use crate::daemon::Daemon;
use crate::manifests::{self, Loaded};
use smf_core::manifest::customize::{
    apply_overrides, default_group_type, has_instance, remove_instance, setprop_value,
};

use crate::repository::{Deletion, StoredOverride};

/// Property groups svc.startd keeps itself: `setprop` refuses them.
const RESERVED_GROUPS: [(&str, &str); 3] = [
    (
        "general",
        "is kept by svc.startd from the manifest; use svcadm enable or disable",
    ),
    (
        "restarter",
        "is svc.startd's record of the instance's state",
    ),
    (
        "restarter_actions",
        "is svc.startd's record of administrative requests; use svcadm",
    ),
];

/// What a name given to svccfg stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entity {
    /// A service, by name.
    Service(String),
    /// An instance: service name, instance name.
    Instance(String, String),
}

impl Entity {
    fn service(&self) -> &str {
        match self {
            Entity::Service(service) | Entity::Instance(service, _) => service,
        }
    }

    fn instance(&self) -> Option<&str> {
        match self {
            Entity::Service(_) => None,
            Entity::Instance(_, instance) => Some(instance),
        }
    }

    fn fmri(&self) -> String {
        match self {
            Entity::Service(service) => format!("svc:/{service}"),
            Entity::Instance(service, instance) => format!("svc:/{service}:{instance}"),
        }
    }
}

impl Daemon {
    // ----- requests ------------------------------------------------------------------------

    /// `svccfg import`: the files are imported as svc.startd imports manifests; those outside
    /// the manifest directories are remembered, and what `svccfg delete` deleted from them
    /// comes back.
    pub(crate) fn import_request(&mut self, paths: &[String]) -> Response {
        let loaded: Vec<Loaded> = paths
            .iter()
            .map(|path| manifests::load(Path::new(path)))
            .collect();
        let defined: HashSet<String> = loaded.iter().flat_map(Loaded::services).collect();
        // Remembered unless a rescan finds it under the same name anyway.
        let (scanned, _) = manifests::find(&self.dirs);
        let scanned: HashSet<String> = scanned
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        let explicit: Vec<String> = loaded
            .iter()
            .filter(|file| file.bundle.is_some() && !scanned.contains(&file.path))
            .map(|file| file.path.clone())
            .collect();
        let revived: Vec<Deletion> = match self.repository.deletions() {
            Ok(deletions) => deletions
                .into_iter()
                .filter(|deletion| defined.contains(&deletion.service))
                .collect(),
            Err(error) => return Response::error(ErrorKind::Failed, error.to_string()),
        };
        let written = self
            .repository
            .record_deletions(&[], &revived)
            .and_then(|()| self.repository.set_imported(&explicit, &[]));
        if let Err(error) = written {
            return Response::error(ErrorKind::Failed, error.to_string());
        }
        let files = self.import_loaded(loaded);
        Response::Imported { files }
    }

    /// `svccfg export`: the service `pattern` names (or the service of the instance it
    /// names), with every `svccfg setprop` applied, as a manifest.
    pub(crate) fn export(&self, pattern: &str) -> Response {
        let entity = match self.entity(pattern) {
            Ok(entity) => entity,
            Err(response) => return response,
        };
        let Some(service) = self.editing(entity.service()) else {
            return not_found(&entity.fmri());
        };
        match service {
            Ok(service) => Response::Exported {
                service: format!("svc:/{}", service.name),
                xml: manifest::service_to_xml(&service, "export"),
            },
            Err(response) => response,
        }
    }

    /// `svccfg delete`: a service's instances are stopped (dependents first) and the service
    /// is forgotten; an instance is dropped from its service (stopped at once). Either stays
    /// deleted while the manifest that delivered it is unchanged.
    pub(crate) fn delete(&mut self, pattern: &str) -> Response {
        let entity = match self.entity(pattern) {
            Ok(entity) => entity,
            Err(response) => return response,
        };
        let service = entity.service().to_string();
        let files: Vec<String> = self
            .defined
            .iter()
            .filter(|(_, services)| services.contains(&service))
            .map(|(path, _)| path.clone())
            .collect();
        let mut deletions: Vec<Deletion> = files
            .iter()
            .map(|path| Deletion {
                service: service.clone(),
                instance: entity.instance().map(str::to_string),
                path: path.clone(),
                hash: self.known.get(path).cloned().unwrap_or_default(),
            })
            .collect();
        if deletions.is_empty() {
            // No file to hold it back from, but its overrides still go.
            deletions.push(Deletion {
                service: service.clone(),
                instance: entity.instance().map(str::to_string),
                path: String::new(),
                hash: String::new(),
            });
        }
        if let Err(error) = self.repository.record_deletions(&deletions, &[]) {
            return Response::error(ErrorKind::Failed, error.to_string());
        }
        match entity.instance() {
            None => {
                let imported = match self.repository.imported_paths() {
                    Ok(paths) => paths,
                    Err(error) => return Response::error(ErrorKind::Failed, error.to_string()),
                };
                let mut forgotten = Vec::new();
                for path in &files {
                    let Some(services) = self.defined.get_mut(path) else {
                        continue;
                    };
                    services.retain(|name| *name != service);
                    // An svccfg-imported file that now delivers nothing is forgotten.
                    if services.is_empty() && imported.contains(path) {
                        self.defined.remove(path);
                        self.known.remove(path);
                        self.pending.removed_manifests.push(path.clone());
                        forgotten.push(path.clone());
                    }
                }
                if let Err(error) = self.repository.set_imported(&[], &forgotten) {
                    eprintln!("svc.startd: {error}");
                }
                self.feed(Event::Removed {
                    services: vec![service],
                });
            }
            Some(instance) => {
                if let Some(Ok(mut model)) = self.editing(&service) {
                    remove_instance(&mut model, instance);
                    self.feed(Event::Imported {
                        kind: BundleKind::Manifest,
                        services: vec![model],
                    });
                }
            }
        }
        Response::Changed {
            fmris: vec![entity.fmri()],
        }
    }

    /// `svccfg setprop`: checks the name, type and values against what the service or
    /// instance has now, and stores the property. It applies at the next refresh.
    pub(crate) fn set_property(
        &mut self,
        pattern: &str,
        name: &str,
        kind: Option<&str>,
        values: &[String],
    ) -> Response {
        let entity = match self.entity(pattern) {
            Ok(entity) => entity,
            Err(response) => return response,
        };
        let fmri = entity.fmri();
        let failed =
            |message: String| Response::error(ErrorKind::Failed, format!("{fmri}: {message}"));
        let Some((group, property)) = name.split_once('/') else {
            return Response::error(
                ErrorKind::BadRequest,
                format!("{fmri}: \"{name}\" is not a property name: expected pg/property"),
            );
        };
        if let Err(error) = fmri::validate_property_group_name(group)
            .and_then(|()| fmri::validate_property_name(property))
        {
            return Response::error(ErrorKind::BadRequest, format!("{fmri}: {name}: {error}"));
        }
        if let Some((_, why)) = RESERVED_GROUPS
            .iter()
            .find(|(reserved, _)| *reserved == group)
        {
            return failed(format!("{name}: property group \"{group}\" {why}"));
        }
        let service = match self.editing(entity.service()) {
            Some(Ok(service)) => service,
            Some(Err(response)) => return response,
            None => return not_found(&fmri),
        };
        let settings = match entity.instance() {
            None => service.settings.clone(),
            Some(instance) => match service
                .effective_instances()
                .into_iter()
                .find(|effective| effective.instance == instance)
            {
                Some(effective) => effective.settings,
                None => return not_found(&fmri),
            },
        };
        let existing_group = settings
            .property_groups
            .iter()
            .find(|candidate| candidate.name == group);
        if existing_group.is_none() {
            if settings
                .exec_methods
                .iter()
                .any(|method| method.name == group)
            {
                return failed(format!(
                    "{name}: \"{group}\" is a method; change it in the manifest and import it again"
                ));
            }
            if settings
                .dependencies
                .iter()
                .any(|dependency| dependency.name == group)
            {
                return failed(format!(
                    "{name}: \"{group}\" is a dependency; change it in the manifest and import it again"
                ));
            }
        }
        let existing = existing_group.and_then(|found| found.property(property));
        let given = match kind {
            Some(text) => match PropertyType::from_name(text) {
                Some(kind) => Some(kind),
                None => {
                    return Response::error(
                        ErrorKind::BadRequest,
                        format!(
                            "{fmri}: {name}: unknown type \"{text}\": expected {}",
                            type_names()
                        ),
                    );
                }
            },
            None => None,
        };
        let kind = match (given, existing) {
            (
                Some(given),
                Some(Property {
                    kind: Some(has), ..
                }),
            ) if given != *has => {
                return failed(format!(
                    "{name}: type mismatch: the property is of type {}, not {}",
                    has.name(),
                    given.name()
                ));
            }
            (Some(given), _) => given,
            (None, Some(existing)) => existing.kind.unwrap_or(PropertyType::Astring),
            (None, None) => {
                return failed(format!(
                    "{name}: Type required for new properties (setprop {name} = TYPE: VALUE)"
                ));
            }
        };
        let mut texts = Vec::with_capacity(values.len());
        for text in values {
            match setprop_value(kind, text) {
                Ok(value) => texts.push(value.to_text()),
                Err(message) => return failed(format!("{name}: {message}")),
            }
        }
        let stored = StoredOverride {
            service: entity.service().to_string(),
            instance: entity.instance().map(str::to_string),
            group: group.to_string(),
            group_type: existing_group
                .and_then(|found| found.kind.clone())
                .unwrap_or_else(|| default_group_type(group).to_string()),
            name: property.to_string(),
            kind: kind.name().to_string(),
            values: texts,
        };
        if let Err(error) = self.repository.set_override(&stored) {
            return Response::error(ErrorKind::Failed, error.to_string());
        }
        Response::Changed { fmris: vec![fmri] }
    }

    // ----- hooks: where svccfg's configuration enters the daemon ------------------------------

    /// Before an import: leaves out what `svccfg delete` deleted from these files (unless a
    /// file changed since: then it is back, and its deletion forgotten) and applies the
    /// `svccfg setprop` overrides.
    pub(crate) fn configure(&mut self, mut loaded: Vec<Loaded>) -> Vec<Loaded> {
        let deletions = self.repository.deletions().unwrap_or_else(|error| {
            eprintln!("svc.startd: {error}; services deleted with svccfg may come back");
            Vec::new()
        });
        let overrides = self.repository.overrides(None).unwrap_or_else(|error| {
            eprintln!("svc.startd: {error}; properties set with svccfg are not applied");
            Vec::new()
        });
        if deletions.is_empty() && overrides.is_empty() {
            return loaded;
        }
        let mut deleted: HashMap<&str, Vec<&Deletion>> = HashMap::new();
        for deletion in &deletions {
            deleted.entry(&deletion.service).or_default().push(deletion);
        }
        let mut overridden: HashMap<&str, Vec<StoredOverride>> = HashMap::new();
        for value in &overrides {
            overridden
                .entry(&value.service)
                .or_default()
                .push(value.clone());
        }
        let mut revived = Vec::new();
        for file in &mut loaded {
            let Some(bundle) = &mut file.bundle else {
                continue;
            };
            if bundle.kind == BundleKind::Profile {
                continue;
            }
            bundle.services.retain_mut(|service| {
                for deletion in deleted.get(service.name.as_str()).into_iter().flatten() {
                    if deletion.path != file.path {
                        continue;
                    }
                    if deletion.hash != file.hash {
                        revived.push((*deletion).clone());
                        continue;
                    }
                    match &deletion.instance {
                        None => return false,
                        Some(instance) => remove_instance(service, instance),
                    }
                }
                if let Some(values) = overridden.get(service.name.as_str()) {
                    apply_overrides(service, values);
                }
                true
            });
        }
        if let Err(error) = self.repository.record_deletions(&[], &revived) {
            eprintln!("svc.startd: {error}");
        }
        loaded
    }

    /// At start: the manifests `svccfg import` brought in, from the text the repository
    /// keeps (those the directories' scan did not find already).
    pub(crate) fn stored_imports(&self, scanned: &[Loaded]) -> Vec<Loaded> {
        let present: HashSet<&str> = scanned.iter().map(|file| file.path.as_str()).collect();
        match self.repository.imported() {
            Ok(stored) => stored
                .into_iter()
                .filter(|manifest| !present.contains(manifest.path.as_str()))
                .map(|manifest| manifests::check(manifest.path, manifest.text))
                .collect(),
            Err(error) => {
                eprintln!("svc.startd: {error}; manifests imported with svccfg are not loaded");
                Vec::new()
            }
        }
    }

    /// At rescan: a manifest `svccfg import` brought in is not gone when its file is.
    pub(crate) fn keep_imported(&self, gone: &mut Vec<String>) {
        if gone.is_empty() {
            return;
        }
        match self.repository.imported_paths() {
            Ok(imported) => gone.retain(|path| !imported.contains(path)),
            Err(error) => {
                eprintln!("svc.startd: {error}; keeping every manifest that seems gone");
                gone.clear();
            }
        }
    }

    /// At `svcadm refresh`: the service is imported again with its overrides when they
    /// change it. True when that import already refreshed the instance (its definition
    /// changed: the engine refreshes a running instance whose definition changes, and
    /// re-evaluates the others), so the refresh itself must not run twice.
    pub(crate) fn apply_configuration(&mut self, fmri: &Fmri) -> bool {
        let Some(name) = fmri.service_name() else {
            return false;
        };
        match self.repository.overrides(Some(name)) {
            Ok(overrides) if !overrides.is_empty() => {}
            Ok(_) => return false,
            Err(error) => {
                eprintln!("svc.startd: {error}; {fmri} is refreshed without svccfg's changes");
                return false;
            }
        }
        let Some(Ok(next)) = self.editing(name) else {
            return false;
        };
        // Only when an override changes what an instance runs with is the service imported
        // again (which refreshes the instances it changed).
        let graph = self.engine.graph();
        let changed = next.effective_instances().iter().any(|effective| {
            let fmri = Fmri::instance(&effective.service, &effective.instance).ok();
            let running = fmri
                .and_then(|fmri| graph.instance(&fmri))
                .and_then(|node| graph.definition(node));
            running != Some(effective)
        });
        if !changed {
            return false;
        }
        let before = self.definition(fmri);
        self.feed(Event::Imported {
            kind: BundleKind::Manifest,
            services: vec![next],
        });
        before != self.definition(fmri)
    }

    /// For `svcs -l` and `svccfg listprop`: the overrides that reach instance `fmri`
    /// (its own over its service's), `(group, property) -> values`.
    pub(crate) fn overrides_of(&self, fmri: &Fmri) -> HashMap<(String, String), Vec<String>> {
        let (Some(service), Some(instance)) = (fmri.service_name(), fmri.instance_name()) else {
            return HashMap::new();
        };
        let overrides = self.repository.overrides(Some(service)).unwrap_or_default();
        let (own, inherited): (Vec<_>, Vec<_>) = overrides
            .into_iter()
            .filter(|value| {
                value
                    .instance
                    .as_deref()
                    .is_none_or(|name| name == instance)
            })
            .partition(|value| value.instance.is_some());
        inherited
            .into_iter()
            .chain(own)
            .map(|value| ((value.group, value.name), value.values))
            .collect()
    }

    // ----- helpers -----------------------------------------------------------------------

    /// The service or instance `pattern` names, or the error response.
    fn entity(&self, pattern: &str) -> Result<Entity, Response> {
        let parsed = Fmri::parse(pattern)
            .map_err(|error| Response::error(ErrorKind::NoMatch, format!("{pattern}: {error}")))?;
        let (Some(wanted), instance) = (parsed.service_name(), parsed.instance_name()) else {
            return Err(not_a_service(pattern));
        };
        if !matches!(parsed.kind(), FmriKind::Service | FmriKind::Instance) {
            return Err(not_a_service(pattern));
        }
        let services = self.service_names();
        let service = if services.iter().any(|service| service == wanted) {
            wanted.to_string()
        } else {
            let suffix = format!("/{wanted}");
            let found: Vec<&String> = services
                .iter()
                .filter(|name| name.ends_with(&suffix))
                .collect();
            match found.as_slice() {
                [] => return Err(not_found(parsed.as_str())),
                [one] => (*one).clone(),
                several => {
                    let names: Vec<String> =
                        several.iter().map(|name| format!("svc:/{name}")).collect();
                    return Err(Response::error(
                        ErrorKind::NoMatch,
                        format!("{pattern}: matches several services: {}", names.join(", ")),
                    ));
                }
            }
        };
        match instance {
            None => Ok(Entity::Service(service)),
            Some(instance) => {
                let entity = Entity::Instance(service, instance.to_string());
                let exists = self
                    .imported_service(entity.service())
                    .is_some_and(|model| has_instance(&model, instance));
                if exists {
                    Ok(entity)
                } else {
                    Err(not_found(&entity.fmri()))
                }
            }
        }
    }

    /// The services the manifests imported define (the engine keeps only their composed
    /// instances), each once.
    fn service_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.defined.values().flatten().cloned().collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The service as svccfg last imported it: its manifest's stored text read again (the
    /// engine keeps only composed definitions), without what svccfg deleted. None when no
    /// manifest defines it.
    fn imported_service(&self, name: &str) -> Option<Service> {
        let deletions = self.repository.deletions().unwrap_or_default();
        for (path, services) in self.defined.iter().rev() {
            if !services.iter().any(|service| service == name) {
                continue;
            }
            // A manifest imported this turn may not be written yet.
            let text = match self
                .pending
                .manifests
                .iter()
                .rev()
                .find(|m| &m.path == path)
            {
                Some(manifest) => manifest.text.clone(),
                None => match self.repository.manifest_text(path) {
                    Ok(Some(text)) => text,
                    _ => continue,
                },
            };
            let loaded = manifests::check(path.clone(), text);
            let Some(bundle) = loaded.bundle else {
                continue;
            };
            if bundle.kind == BundleKind::Profile {
                continue;
            }
            let Some(mut service) = bundle.services.into_iter().find(|s| s.name == name) else {
                continue;
            };
            for deletion in &deletions {
                if deletion.service != name
                    || deletion.path != *path
                    || deletion.hash != loaded.hash
                {
                    continue;
                }
                match &deletion.instance {
                    None => return None,
                    Some(instance) => remove_instance(&mut service, instance),
                }
            }
            return Some(service);
        }
        None
    }

    /// The service as svccfg edits it: imported, with every override applied (those not
    /// refreshed yet included).
    fn editing(&self, name: &str) -> Option<Result<Service, Response>> {
        let mut service = self.imported_service(name)?;
        match self.repository.overrides(Some(name)) {
            Ok(overrides) => {
                apply_overrides(&mut service, &overrides);
                Some(Ok(service))
            }
            Err(error) => Some(Err(Response::error(ErrorKind::Failed, error.to_string()))),
        }
    }

    /// The composed definition the engine runs `fmri` with.
    fn definition(&self, fmri: &Fmri) -> Option<Arc<EffectiveInstance>> {
        let graph = self.engine.graph();
        graph
            .instance(fmri)
            .and_then(|node| graph.shared_definition(node))
            .cloned()
    }
}

fn not_found(fmri: &str) -> Response {
    Response::error(ErrorKind::NoMatch, format!("{fmri}: not found."))
}

fn not_a_service(pattern: &str) -> Response {
    Response::error(
        ErrorKind::NoMatch,
        format!("{pattern}: not the FMRI of a service or an instance"),
    )
}

fn type_names() -> String {
    let names: Vec<&str> = PropertyType::ALL.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}
