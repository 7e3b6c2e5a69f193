//! Building the graph: vertices for instances, services and files, one group vertex per
//! dependency (inherited ones and `<dependent>`s included), then the neighbourhood lists the
//! queries read and the cycle search. Everything here runs once per build, in time linear
//! in instances + edges.

use std::sync::Arc;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

use super::{DependencyGraph, DependencyGroup, GraphProblem, ServiceEntry, Target, Vertex, cycle};
use crate::fast_hash::FastMap;
use crate::fmri::{Fmri, FmriKind};
use crate::manifest::effective::{EffectiveInstance, STARTD_FMRI};
use crate::manifest::{Dependency, Service};

/// svc.startd's service name (its instance is built in).
const STARTD_SERVICE: &str = "system/svc/restarter";

/// Builds the graph of `services` (in import order) with their composed definitions.
pub(super) fn build(services: Vec<ServiceEntry<'_>>) -> DependencyGraph {
    let mut builder = Builder::default();
    // Room for the instances, their groups and the groups' targets, so the vectors behind
    // the graph are not copied as they grow (trimmed in `finish`).
    let instances: usize = services.iter().map(|entry| entry.instances.len()).sum();
    let dependencies: usize = services
        .iter()
        .flat_map(|entry| &entry.instances)
        .map(|definition| definition.settings.dependencies.len())
        .sum();
    builder.graph = DiGraph::with_capacity(
        instances + 2 * dependencies + 1,
        3 * dependencies + instances,
    );
    builder.add_startd();
    let mut declaring = Vec::new();
    for entry in services {
        builder.add_service(entry.name, entry.instances);
        declaring.extend(entry.dependents);
    }
    builder.add_dependents(&declaring);
    builder.add_dependencies();
    builder.finish()
}
/// The graph's neighbourhoods, computed once when it is built, in the order the queries
/// promise, so the engine's hot path neither allocates nor sorts (indexed by vertex).
#[derive(Debug, Clone, Default)]
pub(super) struct Adjacency {
    /// Instance -> its groups, in declaration order.
    pub(super) groups: Vec<Vec<NodeIndex>>,
    /// Group -> what it cites, in the order written.
    pub(super) targets: Vec<Vec<Target>>,
    /// Service -> its configured instances.
    pub(super) members: Vec<Vec<NodeIndex>>,
    /// Instance -> (group, owner) of every group citing it, directly or through its
    /// service, each once, by group.
    pub(super) dependents: Vec<Vec<(NodeIndex, NodeIndex)>>,
}

impl Adjacency {
    fn of(graph: &DiGraph<Vertex, ()>) -> Adjacency {
        let count = graph.node_count();
        let mut adjacency = Adjacency {
            groups: vec![Vec::new(); count],
            targets: vec![Vec::new(); count],
            members: vec![Vec::new(); count],
            dependents: vec![Vec::new(); count],
        };
        let configured = |node: NodeIndex| {
            matches!(
                graph.node_weight(node),
                Some(Vertex::Instance {
                    configured: true,
                    ..
                })
            )
        };
        for node in graph.node_indices() {
            match &graph[node] {
                Vertex::Service(_) => {
                    let mut members: Vec<NodeIndex> = graph
                        .neighbors_directed(node, Direction::Outgoing)
                        .filter(|&member| configured(member))
                        .collect();
                    members.sort();
                    adjacency.members[node.index()] = members;
                }
                Vertex::Group(_) => {
                    let mut targets: Vec<(usize, Target)> = graph
                        .edges_directed(node, Direction::Outgoing)
                        .filter_map(|edge| {
                            let target = edge.target();
                            let target = match graph.node_weight(target)? {
                                Vertex::Instance { .. } => Target::Instance(target),
                                Vertex::Service(_) => Target::Service(target),
                                Vertex::File(_) => Target::File(target),
                                Vertex::Group(_) => return None,
                            };
                            Some((edge.id().index(), target))
                        })
                        .collect();
                    // petgraph lists the newest edge first.
                    targets.sort_by_key(|(edge, _)| *edge);
                    adjacency.targets[node.index()] =
                        targets.into_iter().map(|(_, target)| target).collect();
                }
                _ => {}
            }
        }
        for group in graph.node_indices() {
            if !matches!(graph[group], Vertex::Group(_)) {
                continue;
            }
            let Some(owner) = graph
                .neighbors_directed(group, Direction::Incoming)
                .find(|&node| matches!(graph[node], Vertex::Instance { .. }))
            else {
                continue;
            };
            adjacency.groups[owner.index()].push(group);
            for index in 0..adjacency.targets[group.index()].len() {
                match adjacency.targets[group.index()][index] {
                    Target::Instance(instance) => {
                        adjacency.dependents[instance.index()].push((group, owner))
                    }
                    Target::Service(service) => {
                        for m in 0..adjacency.members[service.index()].len() {
                            let member = adjacency.members[service.index()][m];
                            adjacency.dependents[member.index()].push((group, owner));
                        }
                    }
                    Target::File(_) => {}
                }
            }
        }
        for list in &mut adjacency.dependents {
            list.dedup();
        }
        adjacency
    }
}

/// One dependency waiting for its group vertex.
struct PendingDependency {
    owner: NodeIndex,
    declared: Declared,
}

/// Where a pending dependency comes from.
enum Declared {
    /// The owner's own (composed) definition, `dependencies[index]`.
    Own {
        definition: Arc<EffectiveInstance>,
        index: usize,
    },
    /// A `<dependent>` of another entity.
    Dependent { dependency: Dependency, by: Fmri },
}

impl PendingDependency {
    fn dependency(&self) -> Option<&Dependency> {
        match &self.declared {
            Declared::Own { definition, index } => definition.settings.dependencies.get(*index),
            Declared::Dependent { dependency, .. } => Some(dependency),
        }
    }

    fn declared_by(&self) -> Option<Fmri> {
        match &self.declared {
            Declared::Own { .. } => None,
            Declared::Dependent { by, .. } => Some(by.clone()),
        }
    }
}

#[derive(Default)]
struct Builder {
    graph: DiGraph<Vertex, ()>,
    by_fmri: FastMap<Fmri, NodeIndex>,
    files: FastMap<String, NodeIndex>,
    instances: Vec<NodeIndex>,
    definitions: FastMap<NodeIndex, Arc<EffectiveInstance>>,
    /// Service name -> its configured instances.
    service_instances: FastMap<String, Vec<NodeIndex>>,
    pending: Vec<PendingDependency>,
    /// Owner -> its entries in `pending`.
    pending_of: FastMap<NodeIndex, Vec<usize>>,
    /// Dependency entity text -> its vertex (or why it has none).
    targets_seen: FastMap<Box<str>, Result<NodeIndex, String>>,
    invalid: FastMap<NodeIndex, String>,
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

    fn add_service(&mut self, name: &str, effective: Vec<Arc<EffectiveInstance>>) {
        if name.trim_start_matches('/') == STARTD_SERVICE {
            self.problem(
                format!("svc:/{name}"),
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
            for (index, dependency) in effective.settings.dependencies.iter().enumerate() {
                if !dependency.delete {
                    self.pending.push(PendingDependency {
                        owner: node,
                        declared: Declared::Own {
                            definition: Arc::clone(&effective),
                            index,
                        },
                    });
                }
            }
            self.definitions.insert(node, effective);
        }
    }

    /// `<dependent>`s: each becomes a dependency of its target (every instance of it, when
    /// the target is a service) citing the declaring entity.
    fn add_dependents(&mut self, services: &[&Service]) {
        let declares = |service: &&&Service| {
            !service.settings.dependents.is_empty()
                || service
                    .instances
                    .iter()
                    .any(|instance| !instance.settings.dependents.is_empty())
        };
        if !services.iter().any(|service| declares(&service)) {
            return;
        }
        for (index, pending) in self.pending.iter().enumerate() {
            self.pending_of
                .entry(pending.owner)
                .or_default()
                .push(index);
        }
        for service in services.iter().filter(declares) {
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
        let existing = self.pending_of.get(&owner).and_then(|indices| {
            indices.iter().copied().find(|&i| {
                self.pending[i]
                    .dependency()
                    .is_some_and(|d| d.name == dependent.name)
            })
        });
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
            declared: Declared::Dependent {
                dependency,
                by: declaring.clone(),
            },
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
            None => {
                self.pending_of
                    .entry(owner)
                    .or_default()
                    .push(self.pending.len());
                self.pending.push(pending);
            }
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
        for item in &pending {
            let owner = item.owner;
            let (Some(owner_fmri), Some(dependency)) = (self.fmri_of(owner), item.dependency())
            else {
                continue;
            };
            let declared_by = item.declared_by();
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

    /// The vertex a dependency's entity names, created on first mention (each distinct text
    /// is parsed once).
    fn target_node(&mut self, text: &str) -> Result<NodeIndex, String> {
        if let Some(known) = self.targets_seen.get(text) {
            return known.clone();
        }
        let answer = self.parse_target(text);
        self.targets_seen.insert(text.into(), answer.clone());
        answer
    }

    fn parse_target(&mut self, text: &str) -> Result<NodeIndex, String> {
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

    fn finish(mut self) -> DependencyGraph {
        self.graph.shrink_to_fit();
        self.instances.shrink_to_fit();
        self.problems.shrink_to_fit();
        let adjacency = Adjacency::of(&self.graph);
        let mut graph = DependencyGraph {
            adjacency,
            graph: self.graph,
            by_fmri: self.by_fmri,
            files: self.files,
            instances: self.instances,
            definitions: self.definitions,
            cycles: FastMap::default(),
            invalid: self.invalid,
            problems: self.problems,
        };
        graph.cycles = cycle::find(&graph);
        graph
    }
}
