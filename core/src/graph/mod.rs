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

mod build;
pub mod cycle;
pub mod grouping;

use std::sync::Arc;

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use crate::fast_hash::{FastMap, FastSet};
use crate::fmri::Fmri;
use crate::manifest::effective::EffectiveInstance;

use crate::manifest::{Grouping, RestartOn, Service};
use build::Adjacency;

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

/// One service as the graph build reads it.
#[derive(Debug)]
pub struct ServiceEntry<'a> {
    /// The service's name (`network/dhcp`).
    pub name: &'a str,
    /// Its instances' composed definitions, in order.
    pub instances: Vec<Arc<EffectiveInstance>>,
    /// The service as parsed, for its `<dependent>` elements and its instances'; `None`
    /// when it declares none.
    pub dependents: Option<&'a Service>,
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
    /// The vertices, by index. The edges are built as a petgraph graph and then kept only as
    /// the neighbourhoods the queries read (`adjacency`).
    vertices: Vec<Vertex>,
    /// How many edges the built graph had.
    edge_count: usize,
    /// Instances and services by FMRI.
    by_fmri: FastMap<Fmri, NodeIndex>,
    files: FastMap<String, NodeIndex>,
    /// Configured instances, in import order.
    instances: Vec<NodeIndex>,
    /// The composed definition of each configured instance, by vertex (none past the last
    /// instance that has one).
    definitions: Vec<Option<Arc<EffectiveInstance>>>,
    /// Instance that completes a dependency cycle -> the cycle, starting and ending with it.
    cycles: FastMap<NodeIndex, Vec<Fmri>>,
    /// Instance -> why one of its dependencies cannot be used.
    invalid: FastMap<NodeIndex, String>,
    problems: Vec<GraphProblem>,
    adjacency: Adjacency,
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
    /// caller.
    pub fn build_with<'a>(
        services: impl IntoIterator<Item = &'a Service>,
        mut effective: impl FnMut(&Service) -> Vec<Arc<EffectiveInstance>>,
    ) -> DependencyGraph {
        build::build(
            services
                .into_iter()
                .map(|service| ServiceEntry {
                    name: &service.name,
                    instances: effective(service),
                    dependents: Some(service),
                })
                .collect(),
            None,
        )
    }

    /// The graph of services already composed (the engine composes each service once, at
    /// its import, and keeps only the composed definitions).
    pub fn build_composed<'a>(
        services: impl IntoIterator<Item = ServiceEntry<'a>>,
    ) -> DependencyGraph {
        build::build(services.into_iter().collect(), None)
    }

    /// [`DependencyGraph::build_composed`] for a graph that replaces this one: the vertices
    /// both have keep this graph's FMRIs, so what holds them (the engine's records and
    /// maps) keeps sharing one copy of each rather than one per build.
    pub fn rebuild_composed<'a>(
        &self,
        services: impl IntoIterator<Item = ServiceEntry<'a>>,
    ) -> DependencyGraph {
        build::build(services.into_iter().collect(), Some(self))
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
        self.vertices.get(node.index())
    }

    /// Number of vertices and edges.
    pub fn size(&self) -> (usize, usize) {
        (self.vertices.len(), self.edge_count)
    }

    /// The FMRI of an instance or service vertex.
    pub fn fmri(&self, node: NodeIndex) -> Option<&Fmri> {
        match self.vertex(node)? {
            Vertex::Instance { fmri, .. } | Vertex::Service(fmri) => Some(fmri),
            _ => None,
        }
    }

    /// Whether `node` is an imported instance.
    pub fn is_configured(&self, node: NodeIndex) -> bool {
        matches!(
            self.vertex(node),
            Some(Vertex::Instance {
                configured: true,
                ..
            })
        )
    }

    /// The composed definition of a configured instance (none for svc.startd's own).
    pub fn definition(&self, node: NodeIndex) -> Option<&EffectiveInstance> {
        self.shared_definition(node).map(Arc::as_ref)
    }

    /// The same definition, shared.
    pub fn shared_definition(&self, node: NodeIndex) -> Option<&Arc<EffectiveInstance>> {
        self.definitions.get(node.index())?.as_ref()
    }

    /// The dependency groups of an instance, in declaration order.
    pub fn groups(
        &self,
        instance: NodeIndex,
    ) -> impl Iterator<Item = (NodeIndex, &DependencyGroup)> + '_ {
        self.adjacency
            .groups
            .get(instance.index())
            .iter()
            .filter_map(|&node| Some((node, self.group(node)?)))
    }

    /// The group at `node`.
    pub fn group(&self, node: NodeIndex) -> Option<&DependencyGroup> {
        match self.vertex(node)? {
            Vertex::Group(group) => Some(group),
            _ => None,
        }
    }

    /// What a group cites, in the order written.
    pub fn targets(&self, group: NodeIndex) -> &[Target] {
        self.adjacency.targets.get(group.index())
    }

    /// The configured instances of a service vertex.
    pub fn members(&self, service: NodeIndex) -> &[NodeIndex] {
        self.adjacency.members.get(service.index())
    }

    /// The path of a file vertex.
    pub fn file_path(&self, node: NodeIndex) -> Option<&str> {
        match self.vertex(node)? {
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
            for &target in self.targets(group) {
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
    pub fn dependent_groups(&self, instance: NodeIndex) -> &[(NodeIndex, NodeIndex)] {
        self.adjacency.dependents.get(instance.index())
    }

    /// The instance a group belongs to.
    pub fn group_owner(&self, group: NodeIndex) -> Option<NodeIndex> {
        self.instance(&self.group(group)?.owner)
    }

    /// `svcs -d`: the FMRIs `instance` depends on (instances, services and files), in the
    /// order written, each once.
    pub fn dependencies(&self, instance: NodeIndex) -> Vec<String> {
        let mut seen = FastSet::default();
        let mut out = Vec::new();
        for (group, _) in self.groups(instance) {
            for &target in self.targets(group) {
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
            .iter()
            .map(|&(_, owner)| owner)
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

#[cfg(test)]
mod tests;
