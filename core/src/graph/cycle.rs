//! Dependency cycles, found when the graph is built and returned as data that names them.
//!
//! SMF checks each dependency edge as it is inserted (graph.c `graph_insert_dependency`: is
//! there already a path from the target back to the source?) and puts the instance whose
//! dependency would close the loop in maintenance, reason `dependency_cycle`; the other
//! members then wait on it, unsatisfiable, and nothing else is touched (smf-reference.md §3.5).
//! Building the whole graph at once, the same instance is the one imported last among the
//! cycle's members. `exclude_all` dependencies are not followed, as in SMF.
//!
//! Strongly connected components (Kosaraju, iterative) find every cycle in linear time; after
//! the completing instance of a component is chosen its dependencies are set aside and the
//! rest of the component is searched again, so overlapping cycles are each broken once.

use std::collections::VecDeque;

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use super::{DependencyGraph, Target};
use crate::fast_hash::{FastMap, FastSet};
use crate::fmri::Fmri;
use crate::manifest::Grouping;

/// Instance that completes a cycle -> the cycle, from it through its dependencies back to it.
pub(crate) fn find(graph: &DependencyGraph) -> FastMap<NodeIndex, Vec<Fmri>> {
    let successors = instance_edges(graph);
    let mut cycles = FastMap::default();
    let mut broken: FastSet<NodeIndex> = FastSet::default();
    let mut work: Vec<Vec<NodeIndex>> = components(&successors, None, &broken);
    while let Some(component) = work.pop() {
        let members: FastSet<NodeIndex> = component.iter().copied().collect();
        let self_loop = component.len() == 1
            && successors
                .get(&component[0])
                .is_some_and(|next| next.contains(&component[0]));
        if component.len() < 2 && !self_loop {
            continue;
        }
        let Some(&completing) = component.iter().max() else {
            continue;
        };
        let path = path_back(&successors, completing, &members, &broken);
        let fmris: Vec<Fmri> = path
            .iter()
            .filter_map(|&node| graph.fmri(node).cloned())
            .collect();
        cycles.insert(completing, fmris);
        broken.insert(completing);
        work.extend(components(&successors, Some(&members), &broken));
    }
    cycles
}

/// Instance -> the instances its non-exclusion dependencies cite (services expanded).
fn instance_edges(graph: &DependencyGraph) -> FastMap<NodeIndex, Vec<NodeIndex>> {
    let mut edges: FastMap<NodeIndex, Vec<NodeIndex>> = FastMap::default();
    for &instance in graph.instances() {
        let mut next = Vec::new();
        for (group, dependency) in graph.groups(instance) {
            if dependency.grouping == Grouping::ExcludeAll {
                continue;
            }
            for &target in graph.targets(group) {
                match target {
                    Target::Instance(node) if graph.is_configured(node) => next.push(node),
                    Target::Service(node) => next.extend(graph.members(node)),
                    _ => {}
                }
            }
        }
        if !next.is_empty() {
            edges.insert(instance, next);
        }
    }
    edges
}

/// Strongly connected components of the edges among `within` (all when `None`), leaving
/// out the dependencies of `broken` instances.
fn components(
    successors: &FastMap<NodeIndex, Vec<NodeIndex>>,
    within: Option<&FastSet<NodeIndex>>,
    broken: &FastSet<NodeIndex>,
) -> Vec<Vec<NodeIndex>> {
    let keep = |node: &NodeIndex| within.is_none_or(|set| set.contains(node));
    let mut index: FastMap<NodeIndex, NodeIndex> = FastMap::default();
    let mut back: Vec<NodeIndex> = Vec::new();
    let mut small: DiGraph<(), ()> = DiGraph::new();
    let mut local = |node: NodeIndex, small: &mut DiGraph<(), ()>| {
        *index.entry(node).or_insert_with(|| {
            back.push(node);
            small.add_node(())
        })
    };
    let mut sources: Vec<&NodeIndex> = successors.keys().filter(|n| keep(n)).collect();
    sources.sort();
    for &from in sources {
        if broken.contains(&from) {
            continue;
        }
        for to in successors.get(&from).into_iter().flatten() {
            if keep(to) {
                let a = local(from, &mut small);
                let b = local(*to, &mut small);
                small.add_edge(a, b, ());
            }
        }
    }
    kosaraju_scc(&small)
        .into_iter()
        .map(|component| {
            let mut nodes: Vec<NodeIndex> = component.iter().map(|n| back[n.index()]).collect();
            nodes.sort();
            nodes
        })
        .collect()
}

/// The shortest path from `start` through its dependencies back to `start`, inside `members`.
fn path_back(
    successors: &FastMap<NodeIndex, Vec<NodeIndex>>,
    start: NodeIndex,
    members: &FastSet<NodeIndex>,
    broken: &FastSet<NodeIndex>,
) -> Vec<NodeIndex> {
    let mut parent: FastMap<NodeIndex, NodeIndex> = FastMap::default();
    let mut queue = VecDeque::new();
    for &next in successors.get(&start).into_iter().flatten() {
        if next == start {
            return vec![start, start];
        }
        if members.contains(&next) && !parent.contains_key(&next) {
            parent.insert(next, start);
            queue.push_back(next);
        }
    }
    while let Some(node) = queue.pop_front() {
        if broken.contains(&node) {
            continue;
        }
        for &next in successors.get(&node).into_iter().flatten() {
            if next == start {
                let mut path = vec![start, node];
                let mut at = node;
                while let Some(&previous) = parent.get(&at) {
                    if previous == start {
                        break;
                    }
                    path.push(previous);
                    at = previous;
                }
                // path is start, last, ..., first; the cycle reads start, first, ..., last, start.
                let mut cycle = vec![start];
                cycle.extend(path[1..].iter().rev());
                cycle.push(start);
                return cycle;
            }
            if members.contains(&next) && !parent.contains_key(&next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}
