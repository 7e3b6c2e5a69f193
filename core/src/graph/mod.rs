//! The dependency graph: svc.startd's `graph.c`, the half that knows who depends on whom.
//!
//! Vertices are instances, services (a dependency may name a whole service: any one of its
//! instances running satisfies it), files (`path` dependencies) and dependency groups. As in
//! SMF, each `<dependency>` is a *group vertex* between its instance and the entities it cites:
//!
//! ```text
//! svc:/network/dhcp:default ──▶ [net: require_all, restart_on=error] ──▶ svc:/network/physical:default
//!                           ──▶ [conf: require_all, path] ──▶ file://localhost/etc/dhcpd.conf
//! ```
//!
//! Edges point from dependent to dependency: instance → group → instance | service | file, and
//! service → each of its instances. Dependents are the incoming edges.
//!
//! The graph is built whole from the imported services ([`DependencyGraph::build`]), in import
//! order: service-level dependencies are inherited by every instance, `<dependent>` elements
//! become dependencies of their targets, and cycles are found ([`cycle`]). It holds no states;
//! satisfaction ([`grouping`]) reads them through [`StateLookup`], which the engine provides.
//! Building is linear in instances + edges and nothing in here recurses, so a chain 100,000
//! deep is as fine as a wide graph.

pub mod cycle;
pub mod grouping;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use crate::fmri::{Fmri, FmriKind};
use crate::manifest::effective::{EffectiveInstance, STARTD_FMRI};
use crate::manifest::{Dependency, Grouping, RestartOn, Service};

pub use grouping::{EntityStatus, Evaluator, Memo, Satisfaction, StateLookup};

/// A vertex of the graph.
#[derive(Debug, Clone)]
pub enum Vertex {
    /// An instance: configured (imported), or only cited by a dependency (absent).
    Instance {
        /// Its FMRI.
        fmri: Fmri,
        /// Whether it was imported (an absent instance is an unsatisfiable dependency).
        configured: bool,
    },
    /// A service cited by a dependency; its out-edges go to its configured instances.
    Service(Fmri),
    /// A file cited by a `path` dependency.
    File(String),
    /// One dependency of one instance.
    Group(DependencyGroup),
}

/// One `<dependency>` (or `<dependent>`) as it applies to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyGroup {
    /// The instance that has the dependency.
    pub owner: Fmri,
    /// The dependency's name (its property group's).
    pub name: String,
    /// How its entities combine.
    pub grouping: Grouping,
    /// Which of their events stop or restart the owner.
    pub restart_on: RestartOn,
    /// Set when the dependency came from a `<dependent>` element of this entity.
    pub declared_by: Option<Fmri>,
}

/// What a dependency group cites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// An instance vertex (perhaps absent).
    Instance(NodeIndex),
    /// A service vertex: satisfied through its instances.
    Service(NodeIndex),
    /// A file vertex.
    File(NodeIndex),
}

/// Something in the imported services the graph could not use as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphProblem {
    /// The instance or service concerned.
    pub fmri: String,
    /// What is wrong, in words.
    pub message: String,
}

/// The dependency graph of every imported instance.
#[derive(Debug, Clone)]
pub struct DependencyGraph {
    graph: DiGraph<Vertex, ()>,
    /// Instances and services by FMRI.
    by_fmri: HashMap<Fmri, NodeIndex>,
    files: HashMap<String, NodeIndex>,
    /// Configured instances, in import order.
    instances: Vec<NodeIndex>,
    /// The composed definition of each configured instance, by its position in `instances`.
    definitions: HashMap<NodeIndex, Arc<EffectiveInstance>>,
    /// Instance that completes a dependency cycle -> the cycle, starting and ending with it.
    cycles: HashMap<NodeIndex, Vec<Fmri>>,
    /// Instance -> why one of its dependencies cannot be used.
    invalid: HashMap<NodeIndex, String>,
    problems: Vec<GraphProblem>,
}

impl Default for DependencyGraph {
    fn default() -> Self {
        DependencyGraph::build(&[])
    }
}

impl DependencyGraph {
    /// Builds the graph of `services`, in the order they were imported (the order decides
    /// which instance "completes" a cycle). svc.startd's own instance is always present and
    /// configured.
    pub fn build<'a>(services: impl IntoIterator<Item = &'a Service>) -> DependencyGraph {
        DependencyGraph::build_with(services, |service| {
            service
                .effective_instances()
                .into_iter()
                .map(Arc::new)
                .collect()
        })
    }

    /// [`DependencyGraph::build`] with the instances' composed definitions supplied by the
    /// caller (the engine keeps them between builds, so a re-import composes only what
    /// changed).
    pub fn build_with<'a>(
        services: impl IntoIterator<Item = &'a Service>,
        mut effective: impl FnMut(&Service) -> Vec<Arc<EffectiveInstance>>,
    ) -> DependencyGraph {
        let mut builder = Builder::default();
        builder.add_startd();
        let services: Vec<&Service> = services.into_iter().collect();
        for service in &services {
            builder.add_service(service, effective(service));
        }
        builder.add_dependents(&services);
        builder.add_dependencies();
        builder.finish()
    }

    /// svc.startd's own instance.
    pub fn startd(&self) -> NodeIndex {
        NodeIndex::new(0)
    }

    /// The vertex of an instance or service FMRI, if the graph has one.
    pub fn node(&self, fmri: &Fmri) -> Option<NodeIndex> {
        self.by_fmri.get(fmri).copied()
    }

    /// The vertex of a configured instance.
    pub fn instance(&self, fmri: &Fmri) -> Option<NodeIndex> {
        self.node(fmri).filter(|&node| self.is_configured(node))
    }

    /// Configured instances, in import order (svc.startd's first).
    pub fn instances(&self) -> &[NodeIndex] {
        &self.instances
    }

    /// The vertex itself.
    pub fn vertex(&self, node: NodeIndex) -> Option<&Vertex> {
        self.graph.node_weight(node)
    }

    /// Number of vertices and edges.
    pub fn size(&self) -> (usize, usize) {
        (self.graph.node_count(), self.graph.edge_count())
    }

    /// The FMRI of an instance or service vertex.
    pub fn fmri(&self, node: NodeIndex) -> Option<&Fmri> {
        match self.graph.node_weight(node)? {
            Vertex::Instance { fmri, .. } | Vertex::Service(fmri) => Some(fmri),
            _ => None,
        }
    }

    /// Whether `node` is an imported instance.
    pub fn is_configured(&self, node: NodeIndex) -> bool {
        matches!(
            self.graph.node_weight(node),
            Some(Vertex::Instance {
                configured: true,
                ..
            })
        )
    }

    /// The composed definition of a configured instance (none for svc.startd's own).
    pub fn definition(&self, node: NodeIndex) -> Option<&EffectiveInstance> {
        self.definitions.get(&node).map(Arc::as_ref)
    }

    /// The same definition, shared.
    pub fn shared_definition(&self, node: NodeIndex) -> Option<&Arc<EffectiveInstance>> {
        self.definitions.get(&node)
    }

    /// The dependency groups of an instance, in declaration order.
    pub fn groups(&self, instance: NodeIndex) -> Vec<(NodeIndex, &DependencyGroup)> {
        let mut groups: Vec<(NodeIndex, &DependencyGroup)> = self
            .graph
            .neighbors_directed(instance, Direction::Outgoing)
            .filter_map(|node| match self.graph.node_weight(node) {
                Some(Vertex::Group(group)) => Some((node, group)),
                _ => None,
            })
            .collect();
        // petgraph lists the newest edge first.
        groups.sort_by_key(|(node, _)| *node);
        groups
    }

    /// The group at `node`.
    pub fn group(&self, node: NodeIndex) -> Option<&DependencyGroup> {
        match self.graph.node_weight(node)? {
            Vertex::Group(group) => Some(group),
            _ => None,
        }
    }

    /// What a group cites, in the order written.
    pub fn targets(&self, group: NodeIndex) -> Vec<Target> {
        let mut targets: Vec<(usize, Target)> = self
            .graph
            .edges_directed(group, Direction::Outgoing)
            .filter_map(|edge| {
                let node = edge.target();
                let target = match self.graph.node_weight(node)? {
                    Vertex::Instance { .. } => Target::Instance(node),
                    Vertex::Service(_) => Target::Service(node),
                    Vertex::File(_) => Target::File(node),
                    Vertex::Group(_) => return None,
                };
                Some((edge.id().index(), target))
            })
            .collect();
        targets.sort_by_key(|(edge, _)| *edge);
        targets.into_iter().map(|(_, target)| target).collect()
    }

    /// The configured instances of a service vertex.
    pub fn members(&self, service: NodeIndex) -> Vec<NodeIndex> {
        let mut members: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(service, Direction::Outgoing)
            .filter(|&node| self.is_configured(node))
            .collect();
        members.sort();
        members
    }

    /// The path of a file vertex.
    pub fn file_path(&self, node: NodeIndex) -> Option<&str> {
        match self.graph.node_weight(node)? {
            Vertex::File(path) => Some(path),
            _ => None,
        }
    }

    /// Every file any dependency cites.
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = self.files.keys().map(String::as_str).collect();
        files.sort_unstable();
        files
    }

    /// The files `instance`'s own dependencies cite.
    pub fn files_of(&self, instance: NodeIndex) -> Vec<&str> {
        let mut files = Vec::new();
        for (group, _) in self.groups(instance) {
            for target in self.targets(group) {
                if let Target::File(node) = target
                    && let Some(path) = self.file_path(node)
                {
                    files.push(path);
                }
            }
        }
        files
    }

    /// The groups that cite `instance`, directly or through its service, with each group's
    /// owner: who is affected when `instance` changes.
    pub fn dependent_groups(&self, instance: NodeIndex) -> Vec<(NodeIndex, NodeIndex)> {
        let mut citing: Vec<NodeIndex> = Vec::new();
        for node in self.graph.neighbors_directed(instance, Direction::Incoming) {
            match self.graph.node_weight(node) {
                Some(Vertex::Group(_)) => citing.push(node),
                Some(Vertex::Service(_)) => citing.extend(
                    self.graph
                        .neighbors_directed(node, Direction::Incoming)
                        .filter(|&group| matches!(self.graph[group], Vertex::Group(_))),
                ),
                _ => {}
            }
        }
        citing.sort();
        citing.dedup();
        citing
            .into_iter()
            .filter_map(|group| Some((group, self.group_owner(group)?)))
            .collect()
    }

    /// The instance a group belongs to.
    pub fn group_owner(&self, group: NodeIndex) -> Option<NodeIndex> {
        self.graph
            .neighbors_directed(group, Direction::Incoming)
            .find(|&node| matches!(self.graph[node], Vertex::Instance { .. }))
    }

    /// `svcs -d`: the FMRIs `instance` depends on (instances, services and files), in the
    /// order written, each once.
    pub fn dependencies(&self, instance: NodeIndex) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (group, _) in self.groups(instance) {
            for target in self.targets(group) {
                let text = match target {
                    Target::Instance(node) | Target::Service(node) => {
                        self.fmri(node).map(Fmri::to_string)
                    }
                    Target::File(node) => self
                        .file_path(node)
                        .map(|path| format!("file://localhost{path}")),
                };
                if let Some(text) = text
                    && seen.insert(text.clone())
                {
                    out.push(text);
                }
            }
        }
        out
    }

    /// `svcs -D`: the configured instances that depend on `instance` (directly or through its
    /// service), exclusions included, each once, in import order.
    pub fn dependents(&self, instance: NodeIndex) -> Vec<NodeIndex> {
        let mut owners: Vec<NodeIndex> = self
            .dependent_groups(instance)
            .into_iter()
            .map(|(_, owner)| owner)
            .collect();
        owners.sort();
        owners.dedup();
        owners
    }

    /// The cycle `instance` completes, if it completes one: FMRIs from it back to it.
    pub fn cycle(&self, instance: NodeIndex) -> Option<&[Fmri]> {
        self.cycles.get(&instance).map(Vec::as_slice)
    }

    /// Why a dependency of `instance` cannot be used (an FMRI that does not parse, names a
    /// property or a legacy script, or still holds a build placeholder).
    pub fn invalid_dependency(&self, instance: NodeIndex) -> Option<&str> {
        self.invalid.get(&instance).map(String::as_str)
    }

    /// What the build could not use, for the log and `svcs -x`.
    pub fn problems(&self) -> &[GraphProblem] {
        &self.problems
    }
}

/// One dependency waiting for its group vertex.
struct PendingDependency {
    owner: NodeIndex,
    dependency: Dependency,
    declared_by: Option<Fmri>,
}

#[derive(Default)]
struct Builder {
    graph: DiGraph<Vertex, ()>,
    by_fmri: HashMap<Fmri, NodeIndex>,
    files: HashMap<String, NodeIndex>,
    instances: Vec<NodeIndex>,
    definitions: HashMap<NodeIndex, Arc<EffectiveInstance>>,
    /// Service name -> its configured instances.
    service_instances: HashMap<String, Vec<NodeIndex>>,
    pending: Vec<PendingDependency>,
    invalid: HashMap<NodeIndex, String>,
    problems: Vec<GraphProblem>,
}

impl Builder {
    fn add_startd(&mut self) {
        if let Ok(fmri) = Fmri::parse(STARTD_FMRI) {
            let node = self.graph.add_node(Vertex::Instance {
                fmri: fmri.clone(),
                configured: true,
            });
            self.by_fmri.insert(fmri, node);
            self.instances.push(node);
        }
    }

    fn problem(&mut self, fmri: impl Into<String>, message: impl Into<String>) {
        self.problems.push(GraphProblem {
            fmri: fmri.into(),
            message: message.into(),
        });
    }

    fn add_service(&mut self, service: &Service, effective: Vec<Arc<EffectiveInstance>>) {
        if Fmri::service(&service.name).is_ok_and(|fmri| Some(fmri) == self.startd_service()) {
            self.problem(
                format!("svc:/{}", service.name),
                "svc.startd is built in; a manifest cannot redefine it",
            );
            return;
        }
        for effective in effective {
            let fmri = match Fmri::instance(&effective.service, &effective.instance) {
                Ok(fmri) => fmri,
                Err(error) => {
                    self.problem(
                        effective.fmri(),
                        format!("not imported: invalid name ({error})"),
                    );
                    continue;
                }
            };
            if self.by_fmri.contains_key(&fmri) {
                self.problem(
                    fmri.to_string(),
                    "defined twice; the first definition is used",
                );
                continue;
            }
            let node = self.graph.add_node(Vertex::Instance {
                fmri: fmri.clone(),
                configured: true,
            });
            self.by_fmri.insert(fmri, node);
            self.instances.push(node);
            self.service_instances
                .entry(effective.service.clone())
                .or_default()
                .push(node);
            for dependency in &effective.settings.dependencies {
                if !dependency.delete {
                    self.pending.push(PendingDependency {
                        owner: node,
                        dependency: dependency.clone(),
                        declared_by: None,
                    });
                }
            }
            self.definitions.insert(node, effective);
        }
    }

    fn startd_service(&self) -> Option<Fmri> {
        Fmri::parse(STARTD_FMRI).ok()?.service_fmri()
    }

    /// `<dependent>`s: each becomes a dependency of its target (every instance of it, when
    /// the target is a service) citing the declaring entity.
    fn add_dependents(&mut self, services: &[&Service]) {
        for service in services {
            let Ok(service_fmri) = Fmri::service(&service.name) else {
                continue;
            };
            let mut declarations = vec![(service_fmri.clone(), &service.settings.dependents)];
            for instance in &service.instances {
                if let Ok(fmri) = Fmri::instance(&service.name, &instance.name) {
                    declarations.push((fmri, &instance.settings.dependents));
                }
            }
            for (declaring, dependents) in declarations {
                for dependent in dependents.iter().filter(|d| !d.delete) {
                    let owners = match Fmri::parse(&dependent.target) {
                        Ok(target) if target.kind() == FmriKind::Instance => {
                            self.instance_node(&target).into_iter().collect()
                        }
                        Ok(target) if target.kind() == FmriKind::Service => target
                            .service_name()
                            .and_then(|name| self.service_instances.get(name))
                            .cloned()
                            .unwrap_or_default(),
                        _ => {
                            self.problem(
                                declaring.to_string(),
                                format!(
                                    "dependent \"{}\" names \"{}\", which is not a service or \
                                     instance FMRI; ignored",
                                    dependent.name, dependent.target
                                ),
                            );
                            continue;
                        }
                    };
                    if owners.is_empty() {
                        self.problem(
                            declaring.to_string(),
                            format!(
                                "dependent \"{}\": {} is not imported; ignored",
                                dependent.name, dependent.target
                            ),
                        );
                    }
                    for owner in owners {
                        self.add_dependent_to(owner, &declaring, dependent);
                    }
                }
            }
        }
    }

    fn add_dependent_to(
        &mut self,
        owner: NodeIndex,
        declaring: &Fmri,
        dependent: &crate::manifest::Dependent,
    ) {
        let existing = self
            .pending
            .iter()
            .position(|p| p.owner == owner && p.dependency.name == dependent.name);
        let dependency = Dependency {
            name: dependent.name.clone(),
            grouping: dependent.grouping,
            restart_on: dependent.restart_on,
            kind: crate::manifest::DependencyKind::Service,
            targets: vec![declaring.to_string()],
            delete: false,
            properties: Vec::new(),
        };
        let pending = PendingDependency {
            owner,
            dependency,
            declared_by: Some(declaring.clone()),
        };
        match existing {
            Some(index) if dependent.r#override => self.pending[index] = pending,
            Some(_) => {
                let owner_fmri = self.fmri_text(owner);
                self.problem(
                    declaring.to_string(),
                    format!(
                        "dependent \"{}\": {owner_fmri} already has a dependency of that name; \
                         ignored (override=\"true\" replaces it)",
                        dependent.name
                    ),
                );
            }
            None => self.pending.push(pending),
        }
    }

    fn fmri_text(&self, node: NodeIndex) -> String {
        match &self.graph[node] {
            Vertex::Instance { fmri, .. } | Vertex::Service(fmri) => fmri.to_string(),
            Vertex::File(path) => path.clone(),
            Vertex::Group(group) => group.name.clone(),
        }
    }

    fn instance_node(&self, fmri: &Fmri) -> Option<NodeIndex> {
        self.by_fmri
            .get(fmri)
            .copied()
            .filter(|&node| matches!(self.graph[node], Vertex::Instance { .. }))
    }

    fn add_dependencies(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for PendingDependency {
            owner,
            dependency,
            declared_by,
        } in pending
        {
            let Some(owner_fmri) = self.fmri_of(owner) else {
                continue;
            };
            let group = self.graph.add_node(Vertex::Group(DependencyGroup {
                owner: owner_fmri,
                name: dependency.name.clone(),
                grouping: dependency.grouping,
                restart_on: dependency.restart_on,
                declared_by,
            }));
            self.graph.add_edge(owner, group, ());
            for target in &dependency.targets {
                match self.target_node(target) {
                    Ok(node) => {
                        self.graph.add_edge(group, node, ());
                    }
                    Err(why) => {
                        let message = format!(
                            "dependency \"{}\" cites \"{target}\", {why}",
                            dependency.name
                        );
                        self.invalid.entry(owner).or_insert(message);
                    }
                }
            }
        }
    }

    fn fmri_of(&self, node: NodeIndex) -> Option<Fmri> {
        match &self.graph[node] {
            Vertex::Instance { fmri, .. } => Some(fmri.clone()),
            _ => None,
        }
    }

    /// The vertex a dependency's entity names, created on first mention.
    fn target_node(&mut self, text: &str) -> Result<NodeIndex, String> {
        let fmri = Fmri::parse(text).map_err(|error| format!("which is not an FMRI ({error})"))?;
        match fmri.kind() {
            FmriKind::File => {
                let path = fmri.path().unwrap_or_default().to_string();
                if let Some(&node) = self.files.get(&path) {
                    return Ok(node);
                }
                let node = self.graph.add_node(Vertex::File(path.clone()));
                self.files.insert(path, node);
                Ok(node)
            }
            FmriKind::Instance => {
                if let Some(&node) = self.by_fmri.get(&fmri) {
                    return Ok(node);
                }
                let node = self.graph.add_node(Vertex::Instance {
                    fmri: fmri.clone(),
                    configured: false,
                });
                self.by_fmri.insert(fmri, node);
                Ok(node)
            }
            FmriKind::Service => {
                if let Some(&node) = self.by_fmri.get(&fmri) {
                    return Ok(node);
                }
                let node = self.graph.add_node(Vertex::Service(fmri.clone()));
                let members = fmri
                    .service_name()
                    .and_then(|name| self.service_instances.get(name))
                    .cloned()
                    .unwrap_or_default();
                for member in members {
                    self.graph.add_edge(node, member, ());
                }
                self.by_fmri.insert(fmri, node);
                Ok(node)
            }
            FmriKind::PropertyGroup | FmriKind::Property => {
                Err("which names a property, not a service".to_string())
            }
            FmriKind::Legacy => Err("a legacy rc script, which cannot be a dependency".to_string()),
        }
    }

    fn finish(self) -> DependencyGraph {
        let mut graph = DependencyGraph {
            graph: self.graph,
            by_fmri: self.by_fmri,
            files: self.files,
            instances: self.instances,
            definitions: self.definitions,
            cycles: HashMap::new(),
            invalid: self.invalid,
            problems: self.problems,
        };
        graph.cycles = cycle::find(&graph);
        graph
    }
}

#[cfg(test)]
mod tests;
