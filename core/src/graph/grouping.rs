//! When a dependency is satisfied: the four groupings, exactly as svc.startd's graph.c
//! evaluates them (smf-reference.md §3.1).
//!
//! Every evaluation has three answers, graph.c's 1 / 0 / -1: [`Satisfaction::Satisfied`],
//! [`Satisfaction::Waiting`] (may become satisfied without anyone's help) and
//! [`Satisfaction::Unsatisfiable`] (not without an administrator).
//!
//! | cited entity | as one entity |
//! |---|---|
//! | instance online / degraded | satisfied (waiting while it stops; unsatisfiable while it is being disabled or taken to maintenance) |
//! | instance offline | waiting; when asking whether it *can* come up: its own dependencies decide |
//! | instance uninitialized | waiting |
//! | instance disabled / maintenance / absent | unsatisfiable |
//! | service | any of its instances (none: unsatisfiable) |
//! | file | exists: satisfied; missing: unsatisfiable; not looked at yet: waiting |
//!
//! - `require_all`: every entity satisfied (an empty list is satisfied); unsatisfiable if one is.
//! - `require_any`: one entity satisfied (empty: satisfied); unsatisfiable only if all are.
//! - `optional_all`: ignores absent instances and instances in maintenance; an offline
//!   instance that can never come up, and a disabled one not being enabled, count as
//!   satisfied; a missing file makes the group unsatisfiable.
//! - `exclude_all`: an enabled running instance makes it unsatisfiable (a disabled one still
//!   stopping, waiting), so does an offline or uninitialized one (waiting) and an existing file
//!   (unsatisfiable); disabled, maintenance and absent instances and missing files are ignored.
//!
//! The recursive question "can this offline instance ever come up?" is answered without
//! recursion (an explicit stack with memoisation), so depth costs nothing.

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use super::{DependencyGraph, Target};
use crate::fast_hash::FastMap;
use crate::manifest::Grouping;
use crate::state::State;

/// graph.c's 1 / 0 / -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    /// 1: satisfied now.
    Satisfied,
    /// 0: not now, but it may become satisfied on its own.
    Waiting,
    /// -1: not without administrative action.
    Unsatisfiable,
}

/// What the graph needs to know about one configured instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityStatus {
    /// Its state.
    pub state: State,
    /// The state it is moving to, while a transition is in flight.
    pub next_state: Option<State>,
    /// Whether it is (effectively) enabled.
    pub enabled: bool,
}

/// The states the graph evaluates against, provided by the engine.
pub trait StateLookup {
    /// The status of a configured instance.
    fn status(&self, instance: NodeIndex) -> EntityStatus;
    /// Whether a file exists: `None` until the shell has looked.
    fn file_exists(&self, path: &str) -> Option<bool>;
}

/// Answers to "can it ever come up?" kept between evaluations while no state changes.
#[derive(Debug, Clone, Default)]
pub struct Memo(FastMap<NodeIndex, Option<Satisfaction>>);

impl Memo {
    /// Forgets every answer (a state changed).
    pub fn clear(&mut self) {
        // `HashMap::clear` costs the map's capacity even when it is empty; the engine clears
        // at every state change that matters, so only a non-empty memo is dropped.
        if !self.0.is_empty() {
            self.0 = FastMap::default();
        }
    }
}

/// Evaluates satisfaction over one graph and one set of states; remembers the answers to
/// "can it ever come up?" for as long as it lives.
pub struct Evaluator<'a, L: StateLookup> {
    graph: &'a DependencyGraph,
    lookup: &'a L,
    /// Instance -> whether its dependencies can ever be satisfied (`None`: being computed).
    memo: FastMap<NodeIndex, Option<Satisfaction>>,
}

impl<'a, L: StateLookup> Evaluator<'a, L> {
    /// An evaluator with an empty memo.
    pub fn new(graph: &'a DependencyGraph, lookup: &'a L) -> Self {
        Evaluator::with_memo(graph, lookup, Memo::default())
    }

    /// An evaluator that starts from the answers of an earlier one over the same graph and
    /// the same states (the caller must drop the memo when a state changes).
    pub fn with_memo(graph: &'a DependencyGraph, lookup: &'a L, memo: Memo) -> Self {
        Evaluator {
            graph,
            lookup,
            memo: memo.0,
        }
    }

    /// The answers so far, to hand to the next evaluator while nothing has changed.
    pub fn into_memo(self) -> Memo {
        Memo(self.memo)
    }

    /// Whether `instance` may start now: `require_all` over its dependency groups
    /// (graph.c `instance_satisfied(v, B_FALSE)`). An instance that completes a cycle or has
    /// an invalid dependency is unsatisfiable.
    pub fn instance(&mut self, instance: NodeIndex) -> Satisfaction {
        self.instance_in(instance, false)
    }

    /// Whether `instance`'s dependencies can ever be satisfied without an administrator
    /// (graph.c `instance_satisfied(v, B_TRUE)`).
    pub fn satisfiability(&mut self, instance: NodeIndex) -> Satisfaction {
        self.prepare(instance);
        match self.memo.get(&instance) {
            Some(Some(answer)) => *answer,
            _ => Satisfaction::Waiting,
        }
    }

    /// One group's satisfaction now.
    pub fn group(&mut self, group: NodeIndex) -> Satisfaction {
        self.group_in(group, false)
    }

    fn instance_in(&mut self, instance: NodeIndex, satbility: bool) -> Satisfaction {
        if self.graph.cycle(instance).is_some() || self.graph.invalid_dependency(instance).is_some()
        {
            return Satisfaction::Unsatisfiable;
        }
        let mut result = Satisfaction::Satisfied;
        for (group, _) in self.graph.groups(instance) {
            match self.group_in(group, satbility) {
                Satisfaction::Unsatisfiable => return Satisfaction::Unsatisfiable,
                Satisfaction::Waiting => result = Satisfaction::Waiting,
                Satisfaction::Satisfied => {}
            }
        }
        result
    }

    fn group_in(&mut self, group: NodeIndex, satbility: bool) -> Satisfaction {
        let Some(grouping) = self.graph.group(group).map(|g| g.grouping) else {
            return Satisfaction::Satisfied;
        };
        let targets = self.graph.targets(group);
        match grouping {
            Grouping::RequireAll => all(targets.iter().map(|&t| self.entity(t, satbility))),
            Grouping::RequireAny => any(targets.iter().map(|&t| self.entity(t, satbility))),
            Grouping::OptionalAll => all(targets.iter().map(|&t| self.optional(t))),
            Grouping::ExcludeAll => all(targets.iter().map(|&t| self.excluded(t))),
        }
    }

    /// One entity as require_all and require_any see it (graph.c `dependency_satisfied`).
    fn entity(&mut self, target: Target, satbility: bool) -> Satisfaction {
        match target {
            Target::Instance(node) => {
                if !self.graph.is_configured(node) {
                    return Satisfaction::Unsatisfiable;
                }
                let status = self.lookup.status(node);
                match status.state {
                    State::Online | State::Degraded => match status.next_state {
                        Some(State::Disabled | State::Maintenance) => Satisfaction::Unsatisfiable,
                        Some(State::Offline) => Satisfaction::Waiting,
                        _ => Satisfaction::Satisfied,
                    },
                    State::Offline if satbility => match self.satisfiability(node) {
                        Satisfaction::Unsatisfiable => Satisfaction::Unsatisfiable,
                        _ => Satisfaction::Waiting,
                    },
                    State::Offline | State::Uninitialized => Satisfaction::Waiting,
                    State::Disabled | State::Maintenance => Satisfaction::Unsatisfiable,
                }
            }
            Target::Service(node) => {
                let members = self.graph.members(node);
                if members.is_empty() {
                    return Satisfaction::Unsatisfiable;
                }
                any(members
                    .iter()
                    .map(|&member| self.entity(Target::Instance(member), satbility)))
            }
            Target::File(node) => self.file(node, true),
        }
    }

    /// One entity as optional_all sees it (graph.c `optional_all_satisfied`).
    fn optional(&mut self, target: Target) -> Satisfaction {
        match target {
            Target::Instance(node) => {
                if !self.graph.is_configured(node) {
                    return Satisfaction::Satisfied;
                }
                let status = self.lookup.status(node);
                match status.state {
                    State::Maintenance => Satisfaction::Satisfied,
                    State::Offline => match self.satisfiability(node) {
                        Satisfaction::Unsatisfiable => Satisfaction::Satisfied,
                        _ => Satisfaction::Waiting,
                    },
                    State::Disabled if status.enabled => Satisfaction::Waiting,
                    State::Disabled => Satisfaction::Satisfied,
                    // Being disabled or taken to maintenance ends in a state that satisfies.
                    _ => match self.entity(target, false) {
                        Satisfaction::Unsatisfiable => Satisfaction::Satisfied,
                        other => other,
                    },
                }
            }
            Target::Service(node) => all(self
                .graph
                .members(node)
                .iter()
                .map(|&member| self.optional(Target::Instance(member)))),
            Target::File(node) => self.file(node, true),
        }
    }

    /// One entity as exclude_all sees it (graph.c `exclude_all_satisfied`).
    fn excluded(&mut self, target: Target) -> Satisfaction {
        match target {
            Target::Instance(node) => {
                if !self.graph.is_configured(node) {
                    return Satisfaction::Satisfied;
                }
                let status = self.lookup.status(node);
                match status.state {
                    State::Online | State::Degraded if status.enabled => {
                        Satisfaction::Unsatisfiable
                    }
                    State::Online | State::Degraded => Satisfaction::Waiting,
                    State::Offline | State::Uninitialized => Satisfaction::Waiting,
                    State::Disabled | State::Maintenance => Satisfaction::Satisfied,
                }
            }
            Target::Service(node) => all(self
                .graph
                .members(node)
                .iter()
                .map(|&member| self.excluded(Target::Instance(member)))),
            Target::File(node) => self.file(node, false),
        }
    }

    /// A file cited by a dependency: `wanted` says whether it should exist.
    fn file(&self, node: NodeIndex, wanted: bool) -> Satisfaction {
        let Some(path) = self.graph.file_path(node) else {
            return Satisfaction::Unsatisfiable;
        };
        match self.lookup.file_exists(path) {
            None => Satisfaction::Waiting,
            Some(exists) if exists == wanted => Satisfaction::Satisfied,
            Some(_) => Satisfaction::Unsatisfiable,
        }
    }

    /// Fills the memo for `start` and every offline instance its answer depends on, in post
    /// order, with an explicit stack. An instance met again while it is being computed (a
    /// cycle) counts as waiting.
    fn prepare(&mut self, start: NodeIndex) {
        if self.memo.contains_key(&start) {
            return;
        }
        let mut stack = vec![(start, false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                let answer = self.instance_in(node, true);
                self.memo.insert(node, Some(answer));
                continue;
            }
            if self.memo.contains_key(&node) {
                continue;
            }
            self.memo.insert(node, None);
            stack.push((node, true));
            for next in self.offline_dependencies(node) {
                if !self.memo.contains_key(&next) {
                    stack.push((next, false));
                }
            }
        }
    }

    /// The offline instances `instance`'s groups cite (services expanded): the ones whose own
    /// satisfiability its answer needs.
    fn offline_dependencies(&self, instance: NodeIndex) -> Vec<NodeIndex> {
        let mut out = Vec::new();
        for (group, _) in self.graph.groups(instance) {
            for &target in self.graph.targets(group) {
                let nodes = match target {
                    Target::Instance(node) => vec![node],
                    Target::Service(node) => self.graph.members(node).to_vec(),
                    Target::File(_) => Vec::new(),
                };
                for node in nodes {
                    if self.graph.is_configured(node)
                        && self.lookup.status(node).state == State::Offline
                    {
                        out.push(node);
                    }
                }
            }
        }
        out
    }
}

/// require_all over answers: any unsatisfiable wins, then any waiting.
fn all(answers: impl Iterator<Item = Satisfaction>) -> Satisfaction {
    let mut result = Satisfaction::Satisfied;
    for answer in answers {
        match answer {
            Satisfaction::Unsatisfiable => return Satisfaction::Unsatisfiable,
            Satisfaction::Waiting => result = Satisfaction::Waiting,
            Satisfaction::Satisfied => {}
        }
    }
    result
}

/// require_any over answers: any satisfied wins; unsatisfiable only if all are (and there
/// was at least one).
fn any(answers: impl Iterator<Item = Satisfaction>) -> Satisfaction {
    let mut seen = false;
    let mut all_unsatisfiable = true;
    for answer in answers {
        seen = true;
        match answer {
            Satisfaction::Satisfied => return Satisfaction::Satisfied,
            Satisfaction::Waiting => all_unsatisfiable = false,
            Satisfaction::Unsatisfiable => {}
        }
    }
    if !seen {
        Satisfaction::Satisfied
    } else if all_unsatisfiable {
        Satisfaction::Unsatisfiable
    } else {
        Satisfaction::Waiting
    }
}
