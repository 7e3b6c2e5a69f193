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

/// Builds the graph of `services` (in import order) with their composed definitions, taking
/// the FMRIs of the vertices `previous` already has from it.
pub(super) fn build(
    services: Vec<ServiceEntry<'_>>,
    previous: Option<&DependencyGraph>,
) -> DependencyGraph {
    let mut builder = Builder {
        previous,
        ..Builder::default()
    };
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
    builder.definitions = Vec::with_capacity(instances + 1);
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
    pub(super) groups: Rows<NodeIndex>,
    /// Group -> what it cites, in the order written.
    pub(super) targets: Rows<Target>,
    /// Service -> its configured instances.
    pub(super) members: Rows<NodeIndex>,
    /// Instance -> (group, owner) of every group citing it, directly or through its
    /// service, each once, by group.
    pub(super) dependents: Rows<(NodeIndex, NodeIndex)>,
}

/// One relation in compressed rows: the entries of vertex `v` are
/// `entries[offsets[v]..offsets[v + 1]]`, all rows in one vector. Most vertices have none
/// of a given relation (a group has no members, an instance no targets), and a vertex past
/// the last one that has some costs nothing.
#[derive(Debug, Clone)]
pub(super) struct Rows<T> {
    /// Where each row starts in `entries`, and where the last one ends.
    offsets: Vec<u32>,
    entries: Vec<T>,
}

impl<T> Default for Rows<T> {
    fn default() -> Self {
        Rows {
            offsets: Vec::new(),
            entries: Vec::new(),
        }
    }
}

impl<T: Copy> Rows<T> {
    /// The entries of row `vertex` (none past the last row).
    pub(super) fn get(&self, vertex: usize) -> &[T] {
        match self.offsets.get(vertex..) {
            Some(&[start, end, ..]) => self
                .entries
                .get(start as usize..end as usize)
                .unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Rows from `(row, entry)` pairs, each row keeping its entries in the order given (a
    /// stable counting sort: linear in rows + pairs). Offsets are 32 bits: a graph cannot
    /// get near 2^32 entries before memory runs out (petgraph's indices are 32 bits too); if
    /// it did, the entries past that would be left out rather than wrap.
    fn from_pairs(pairs: &[(usize, T)]) -> Rows<T> {
        let Some(rows) = pairs.iter().map(|&(row, _)| row + 1).max() else {
            return Rows::default();
        };
        let pairs = &pairs[..pairs.len().min(u32::MAX as usize)];
        let mut offsets = vec![0u32; rows + 1];
        for &(row, _) in pairs {
            offsets[row + 1] += 1;
        }
        for row in 0..rows {
            offsets[row + 1] += offsets[row];
        }
        let mut next: Vec<u32> = offsets[..rows].to_vec();
        let mut entries: Vec<T> = pairs.iter().map(|&(_, entry)| entry).collect();
        for &(row, entry) in pairs {
            entries[next[row] as usize] = entry;
            next[row] += 1;
        }
        Rows { offsets, entries }
    }
}

impl<T: Copy + PartialEq> Rows<T> {
    /// Drops the entries equal to the one before them in the same row.
    fn dedup_rows(&mut self) {
        let mut kept = 0u32;
        let mut start = 0u32;
        for row in 0..self.offsets.len().saturating_sub(1) {
            let end = self.offsets[row + 1];
            for index in start..end {
                let entry = self.entries[index as usize];
                let first = index == start;
                if first || self.entries[index as usize - 1] != entry {
                    self.entries[kept as usize] = entry;
                    kept += 1;
                }
            }
            start = end;
            self.offsets[row + 1] = kept;
        }
        self.entries.truncate(kept as usize);
        self.entries.shrink_to_fit();
    }
}

impl Adjacency {
    fn of(graph: &DiGraph<Vertex, ()>) -> Adjacency {
        let configured = |node: NodeIndex| {
            matches!(
                graph.node_weight(node),
                Some(Vertex::Instance {
                    configured: true,
                    ..
                })
            )
        };
        let mut members: Vec<(usize, NodeIndex)> = Vec::new();
        let mut targets: Vec<(usize, Target)> = Vec::new();
        for node in graph.node_indices() {
            match &graph[node] {
                Vertex::Service(_) => {
                    let start = members.len();
                    members.extend(
                        graph
                            .neighbors_directed(node, Direction::Outgoing)
                            .filter(|&member| configured(member))
                            .map(|member| (node.index(), member)),
                    );
                    members[start..].sort_by_key(|&(_, member)| member);
                }
                Vertex::Group(_) => {
                    let mut cited: Vec<(usize, Target)> = graph
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
                    cited.sort_by_key(|(edge, _)| *edge);
                    targets.extend(cited.into_iter().map(|(_, target)| (node.index(), target)));
                }
                _ => {}
            }
        }
        let members = Rows::from_pairs(&members);
        let targets = Rows::from_pairs(&targets);
        let mut groups: Vec<(usize, NodeIndex)> = Vec::new();
        let mut dependents: Vec<(usize, (NodeIndex, NodeIndex))> = Vec::new();
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
            groups.push((owner.index(), group));
            for &target in targets.get(group.index()) {
                match target {
                    Target::Instance(instance) => {
                        dependents.push((instance.index(), (group, owner)))
                    }
                    Target::Service(service) => dependents.extend(
                        members
                            .get(service.index())
                            .iter()
                            .map(|member| (member.index(), (group, owner))),
                    ),
                    Target::File(_) => {}
                }
            }
        }
        let mut dependents = Rows::from_pairs(&dependents);
        dependents.dedup_rows();
        Adjacency {
            groups: Rows::from_pairs(&groups),
            targets,
            members,
            dependents,
        }
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
struct Builder<'p> {
    /// The graph this one replaces: its FMRIs are reused.
    previous: Option<&'p DependencyGraph>,
    graph: DiGraph<Vertex, ()>,
    by_fmri: FastMap<Fmri, NodeIndex>,
    files: FastMap<String, NodeIndex>,
    instances: Vec<NodeIndex>,
    /// By vertex (instances are the first vertices, so this ends with the last of them).
    definitions: Vec<Option<Arc<EffectiveInstance>>>,
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

impl Builder<'_> {
    /// The previous graph's copy of `fmri` when it has one: whoever holds it (records, maps
    /// keyed by FMRI) keeps sharing one copy instead of one per build.
    fn reuse(&self, fmri: Fmri) -> Fmri {
        match self
            .previous
            .and_then(|graph| graph.by_fmri.get_key_value(&fmri))
        {
            Some((known, _)) => known.clone(),
            None => fmri,
        }
    }

    fn add_startd(&mut self) {
        if let Ok(fmri) = Fmri::parse(STARTD_FMRI) {
            let fmri = self.reuse(fmri);
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
                Ok(fmri) => self.reuse(fmri),
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
            if self.definitions.len() <= node.index() {
                self.definitions.resize(node.index() + 1, None);
            }
            self.definitions[node.index()] = Some(effective);
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
                let fmri = self.reuse(fmri);
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
                let fmri = self.reuse(fmri);
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
        self.instances.shrink_to_fit();
        self.problems.shrink_to_fit();
        self.definitions.shrink_to_fit();
        let adjacency = Adjacency::of(&self.graph);
        let edge_count = self.graph.edge_count();
        let (nodes, _) = self.graph.into_nodes_edges();
        let mut vertices: Vec<Vertex> = nodes.into_iter().map(|node| node.weight).collect();
        vertices.shrink_to_fit();
        let mut graph = DependencyGraph {
            adjacency,
            vertices,
            edge_count,
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

#[cfg(test)]
mod tests {
    use super::Rows;

    #[test]
    fn rows_keep_each_rows_order_and_cost_nothing_past_the_last() {
        let rows = Rows::from_pairs(&[(3, 'a'), (1, 'b'), (3, 'c'), (1, 'd'), (3, 'e')]);
        assert_eq!(rows.get(0), &[] as &[char]);
        assert_eq!(rows.get(1), &['b', 'd']);
        assert_eq!(rows.get(2), &[] as &[char]);
        assert_eq!(rows.get(3), &['a', 'c', 'e']);
        assert_eq!(rows.get(4), &[] as &[char]);
        assert_eq!(rows.get(usize::MAX), &[] as &[char]);
        assert_eq!(rows.offsets.len(), 5);
        let none: Rows<char> = Rows::from_pairs(&[]);
        assert!(none.offsets.is_empty() && none.get(0).is_empty());
    }

    #[test]
    fn dedup_drops_repeats_within_a_row_only() {
        let mut rows = Rows::from_pairs(&[(0, 1), (0, 1), (0, 2), (0, 1), (1, 1), (2, 2), (2, 2)]);
        rows.dedup_rows();
        assert_eq!(rows.get(0), &[1, 2, 1]);
        assert_eq!(rows.get(1), &[1]);
        assert_eq!(rows.get(2), &[2]);
        assert_eq!(rows.entries.len(), 5);
    }
}
