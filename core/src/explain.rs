//! Why an instance is not running, and what it takes down with it: `svcs -x` as data
//! (svcs' explain.c; smf-reference.md §6.7).
//!
//! For an instance that is not online, [`explain`] finds the root cause: its own failure
//! (maintenance, disabled, a start in flight...) or, for an offline instance waiting on its
//! dependencies, the first broken thing down each dependency chain. An offline dependency that
//! is itself only waiting is looked through, so "why is X offline?" names the instance in
//! maintenance three hops away, with the path. [`Explanation::reasons`] words it as svcs -x
//! does; the impact set is every enabled instance that cannot come online because of it.
//!
//! [`root_causes`] is `svcs -x` without operands: every instance that is itself a root
//! cause, the most harmful first.
//!
//! Cause rules per dependency group (explain.c `determine_causes`): `require_all`: each cited
//! instance not running (a cited service only when none of its instances runs); `require_any`:
//! only when none runs, every non-running one; `optional_all`: each cited instance that is
//! enabled and neither running nor in maintenance; `exclude_all`: each running cited instance;
//! files: missing ones (present ones for `exclude_all`). Absent instances and files are
//! reported as "absent".

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use crate::engine::method::describe_status;
use crate::engine::{Engine, InstanceStatus, MethodStatus, Reason};
use crate::fmri::Fmri;
use crate::graph::{DependencyGraph, Target};
use crate::manifest::Grouping;
use crate::state::{State, Timestamp};

/// Where SMF's message articles live (`SMF-8000-XX`).
pub const MESSAGE_BASE: &str = "http://illumos.org/msg/";

/// Something that keeps an offline instance from starting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    /// The broken instance, or the absent instance or file (`file://localhost/...`).
    pub fmri: String,
    /// What is wrong with it.
    pub problem: Problem,
    /// From the explained instance down to the blocker, through instances that only wait.
    pub path: Vec<String>,
}

/// What is wrong with a [`Blocker`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Problem {
    /// It is not imported (or the file does not exist).
    Absent,
    /// It runs, and the explained instance excludes it (or the excluded file exists).
    Running,
    /// It is not running, for this reason (svcs' summary, e.g. `is disabled.`).
    NotRunning {
        /// Its state.
        state: State,
        /// Why, in svcs' words.
        summary: String,
    },
}

/// The whole explanation of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The instance.
    pub fmri: Fmri,
    /// Its template's common name, if any.
    pub common_name: Option<String>,
    /// Its state.
    pub state: State,
    /// Where it is heading.
    pub next_state: Option<State>,
    /// Since when.
    pub since: Timestamp,
    /// The machine-readable reason of its last state change.
    pub reason: Reason,
    /// The `Reason:` lines, in svcs -x's words.
    pub reasons: Vec<String>,
    /// What keeps it offline, when it waits on dependencies.
    pub blockers: Vec<Blocker>,
    /// The `SMF-8000-XX` article.
    pub message_id: String,
    /// Its log file, relative to the root (`log/network-dhcp:default.log`).
    pub log_file: String,
    /// Documentation links from its template.
    pub documentation: Vec<String>,
    /// Enabled instances that cannot come online because of it, in import order.
    pub impact: Vec<Fmri>,
}

/// `log/<service with / as ->:<instance>.log`, relative to the root (svc.startd's naming:
/// only the service part changes).
pub fn log_file(fmri: &Fmri) -> String {
    let service = fmri.service_name().unwrap_or_default().replace('/', "-");
    match fmri.instance_name() {
        Some(instance) => format!("log/{service}:{instance}.log"),
        None => format!("log/{service}.log"),
    }
}

/// Explains one instance (running ones too: they get no `Reason` and their impact is empty).
pub fn explain(engine: &Engine, fmri: &Fmri) -> Option<Explanation> {
    let status = engine.status(fmri)?;
    let graph = engine.graph();
    let node = graph.instance(fmri)?;
    let explainer = Explainer::new(engine);
    let blockers = if status.state == State::Offline && status.next_state.is_none() {
        explainer.blockers(node)
    } else {
        Vec::new()
    };
    let (reasons, message_id) = reason_lines(&status, &blockers, graph, node);
    let template = graph
        .definition(node)
        .and_then(|d| d.settings.template.as_deref());
    let documentation = template
        .map(|t| {
            t.documentation
                .iter()
                .map(|doc| match doc {
                    crate::manifest::Documentation::Manpage { title, section, .. } => {
                        format!("{title}({section})")
                    }
                    crate::manifest::Documentation::DocLink { uri, .. } => uri.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let impact = if status.state.is_running() {
        Vec::new()
    } else {
        explainer.impact(node)
    };
    Some(Explanation {
        fmri: fmri.clone(),
        common_name: template.and_then(|t| t.common_name()).map(str::to_string),
        state: status.state,
        next_state: status.next_state,
        since: status.since,
        reason: status.reason,
        reasons,
        blockers,
        message_id: format!("SMF-8000-{message_id}"),
        log_file: log_file(fmri),
        documentation,
        impact,
    })
}

/// `svcs -x` without operands: every instance that is a root cause of something not
/// running (maintenance; a start or stop in flight; a disabled or otherwise stopped instance
/// that keeps an enabled one down; an offline instance blocked only by absent things), the
/// one with the largest impact first.
pub fn root_causes(engine: &Engine) -> Vec<Explanation> {
    let graph = engine.graph();
    let explainer = Explainer::new(engine);
    let mut out = Vec::new();
    for &node in graph.instances() {
        let Some(fmri) = graph.fmri(node) else {
            continue;
        };
        let Some(status) = engine.status(fmri) else {
            continue;
        };
        let is_root = match status.state {
            State::Maintenance | State::Uninitialized => true,
            State::Offline if status.next_state.is_some() => true,
            State::Offline => {
                let blockers = explainer.blockers(node);
                !blockers.is_empty() && blockers.iter().all(|b| b.problem == Problem::Absent)
            }
            State::Disabled => !explainer.impact(node).is_empty(),
            State::Online | State::Degraded => status.next_state.is_some(),
        };
        if is_root && let Some(explanation) = explain(engine, fmri) {
            out.push(explanation);
        }
    }
    out.sort_by_key(|explanation| std::cmp::Reverse(explanation.impact.len()));
    out
}

/// Reads the engine's states for one explanation.
struct Explainer<'a> {
    engine: &'a Engine,
    graph: &'a DependencyGraph,
    statuses: HashMap<Fmri, InstanceStatus>,
}

/// A cited entity that may be a cause, before waiting instances are looked through.
enum Candidate {
    Instance(NodeIndex),
    Absent(String),
    Excluded(NodeIndex),
    ExcludedFile(String),
}

impl<'a> Explainer<'a> {
    fn new(engine: &'a Engine) -> Self {
        let statuses = engine
            .statuses()
            .into_iter()
            .map(|status| (status.fmri.clone(), status))
            .collect();
        Explainer {
            engine,
            graph: engine.graph(),
            statuses,
        }
    }

    fn status(&self, node: NodeIndex) -> Option<&InstanceStatus> {
        self.graph.fmri(node).and_then(|f| self.statuses.get(f))
    }

    fn running(&self, node: NodeIndex) -> bool {
        self.graph.is_configured(node) && self.status(node).is_some_and(|s| s.state.is_running())
    }

    /// Whether svc.startd last saw the file (unknown counts as missing).
    fn file_exists(&self, node: NodeIndex) -> bool {
        self.graph
            .file_path(node)
            .is_some_and(|path| self.engine.file_exists(path) == Some(true))
    }

    /// An offline instance that is only waiting on its dependencies (looked through).
    fn waiting(&self, node: NodeIndex) -> bool {
        self.status(node)
            .is_some_and(|s| s.state == State::Offline && s.next_state.is_none() && s.enabled)
    }

    /// The direct cause candidates of `node`, group by group.
    fn candidates(&self, node: NodeIndex) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (group, dependency) in self.graph.groups(node) {
            let targets = self.graph.targets(group);
            match dependency.grouping {
                Grouping::RequireAll => {
                    for &target in targets {
                        self.require_candidates(target, &mut out);
                    }
                }
                Grouping::RequireAny => {
                    let any_running = targets.iter().any(|target| match *target {
                        Target::Instance(n) => self.running(n),
                        Target::Service(s) => {
                            self.graph.members(s).iter().any(|&m| self.running(m))
                        }
                        Target::File(f) => self.file_exists(f),
                    });
                    if !any_running {
                        for &target in targets {
                            self.require_candidates(target, &mut out);
                        }
                    }
                }
                Grouping::OptionalAll => {
                    for &target in targets {
                        let members = match target {
                            Target::Instance(n) => vec![n],
                            Target::Service(s) => self.graph.members(s).to_vec(),
                            Target::File(_) => Vec::new(),
                        };
                        for member in members {
                            let Some(status) = self.status(member) else {
                                continue;
                            };
                            if self.graph.is_configured(member)
                                && status.enabled
                                && !status.state.is_running()
                                && status.state != State::Maintenance
                            {
                                out.push(Candidate::Instance(member));
                            }
                        }
                    }
                }
                Grouping::ExcludeAll => {
                    for &target in targets {
                        match target {
                            Target::Instance(n) if self.running(n) => {
                                out.push(Candidate::Excluded(n))
                            }
                            Target::Service(s) => {
                                for &member in self.graph.members(s) {
                                    if self.running(member) {
                                        out.push(Candidate::Excluded(member));
                                    }
                                }
                            }
                            Target::File(f) if self.file_exists(f) => {
                                let path = self.graph.file_path(f).unwrap_or_default();
                                out.push(Candidate::ExcludedFile(format!(
                                    "file://localhost{path}"
                                )));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        out
    }

    fn require_candidates(&self, target: Target, out: &mut Vec<Candidate>) {
        match target {
            Target::Instance(n) if !self.graph.is_configured(n) => out.push(Candidate::Absent(
                self.graph.fmri(n).map(Fmri::to_string).unwrap_or_default(),
            )),
            Target::Instance(n) if !self.running(n) => out.push(Candidate::Instance(n)),
            Target::Service(s) => {
                let members = self.graph.members(s);
                if members.is_empty() {
                    out.push(Candidate::Absent(
                        self.graph.fmri(s).map(Fmri::to_string).unwrap_or_default(),
                    ));
                } else if !members.iter().any(|&m| self.running(m)) {
                    out.extend(members.iter().copied().map(Candidate::Instance));
                }
            }
            Target::File(f) if !self.file_exists(f) => {
                let path = self.graph.file_path(f).unwrap_or_default();
                out.push(Candidate::Absent(format!("file://localhost{path}")));
            }
            _ => {}
        }
    }

    /// Root causes of an offline instance, looking through instances that only wait.
    fn blockers(&self, start: NodeIndex) -> Vec<Blocker> {
        let mut out: Vec<Blocker> = Vec::new();
        let mut seen = HashSet::from([start]);
        let start_fmri = self
            .graph
            .fmri(start)
            .map(Fmri::to_string)
            .unwrap_or_default();
        let mut queue = VecDeque::from([(start, vec![start_fmri])]);
        while let Some((node, path)) = queue.pop_front() {
            for candidate in self.candidates(node) {
                match candidate {
                    Candidate::Absent(fmri) => push_unique(
                        &mut out,
                        Blocker {
                            path: extend(&path, &fmri),
                            fmri,
                            problem: Problem::Absent,
                        },
                    ),
                    Candidate::ExcludedFile(fmri) => push_unique(
                        &mut out,
                        Blocker {
                            path: extend(&path, &fmri),
                            fmri,
                            problem: Problem::Running,
                        },
                    ),
                    Candidate::Excluded(n) => {
                        let fmri = self.graph.fmri(n).map(Fmri::to_string).unwrap_or_default();
                        push_unique(
                            &mut out,
                            Blocker {
                                path: extend(&path, &fmri),
                                fmri,
                                problem: Problem::Running,
                            },
                        );
                    }
                    Candidate::Instance(n) => {
                        let fmri = self.graph.fmri(n).map(Fmri::to_string).unwrap_or_default();
                        let next_path = extend(&path, &fmri);
                        if self.waiting(n) && !self.candidates(n).is_empty() {
                            if seen.insert(n) {
                                queue.push_back((n, next_path));
                            }
                            continue;
                        }
                        let Some(status) = self.status(n) else {
                            continue;
                        };
                        push_unique(
                            &mut out,
                            Blocker {
                                fmri,
                                problem: Problem::NotRunning {
                                    state: status.state,
                                    summary: summary(status),
                                },
                                path: next_path,
                            },
                        );
                    }
                }
            }
        }
        out
    }

    /// Enabled, not running instances whose causes include `start`: reverse breadth-first
    /// search through dependents for which `start` (or an impacted waiting instance) is a
    /// direct cause.
    fn impact(&self, start: NodeIndex) -> Vec<Fmri> {
        let mut impacted: HashSet<NodeIndex> = HashSet::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for dependent in self.graph.dependents(node) {
                if impacted.contains(&dependent) || dependent == start {
                    continue;
                }
                let Some(status) = self.status(dependent) else {
                    continue;
                };
                if !status.enabled || status.state.is_running() {
                    continue;
                }
                let caused = self.candidates(dependent).iter().any(|c| match c {
                    Candidate::Instance(n) | Candidate::Excluded(n) => *n == node,
                    _ => false,
                });
                if caused {
                    impacted.insert(dependent);
                    queue.push_back(dependent);
                }
            }
        }
        let mut out: Vec<NodeIndex> = impacted.into_iter().collect();
        out.sort();
        out.into_iter()
            .filter_map(|n| self.graph.fmri(n).cloned())
            .collect()
    }
}

fn extend(path: &[String], next: &str) -> Vec<String> {
    let mut path = path.to_vec();
    path.push(next.to_string());
    path
}

fn push_unique(out: &mut Vec<Blocker>, blocker: Blocker) {
    if !out.iter().any(|b| b.fmri == blocker.fmri) {
        out.push(blocker);
    }
}

/// svcs' one-line summary of why a cited instance is not running.
fn summary(status: &InstanceStatus) -> String {
    let text = match status.state {
        State::Online | State::Degraded => "is running.",
        State::Uninitialized => "is uninitialized.",
        State::Disabled if status.temporary => "is temporarily disabled.",
        State::Disabled => "is disabled.",
        State::Offline if status.next_state == Some(State::Online) => "is starting.",
        State::Offline => "is offline.",
        State::Maintenance => match status.reason {
            Reason::AdministrativeRequest | Reason::ServiceRequest => {
                "was taken down for maintenance by an administrator."
            }
            Reason::DependencyCycle => "completed a dependency cycle.",
            Reason::FaultThresholdReached => "is not running because a method failed repeatedly.",
            Reason::MethodFailed => "is not running because a method failed.",
            Reason::InvalidDependency => "has an invalid dependency.",
            Reason::InvalidRestarter => "has an invalid restarter.",
            Reason::RestartingTooQuickly => "was restarting too quickly.",
            _ => "requires maintenance.",
        },
    };
    text.to_string()
}

/// The `Reason:` lines and the message id, by state (explain.c `print_reasons`).
fn reason_lines(
    status: &InstanceStatus,
    blockers: &[Blocker],
    graph: &DependencyGraph,
    node: NodeIndex,
) -> (Vec<String>, &'static str) {
    let one = |text: String, id: &'static str| (vec![text], id);
    match status.state {
        State::Online => (Vec::new(), "AR"),
        State::Degraded => one("Degraded by an administrator.".into(), "DX"),
        State::Uninitialized => match graph
            .definition(node)
            .and_then(|d| d.settings.restarter.as_deref())
            .filter(|restarter| !crate::manifest::effective::is_startd(restarter))
        {
            Some(restarter) => one(format!("Restarter {restarter} is not running."), "5H"),
            None => one(
                "Restarter svc:/system/svc/restarter:default has not initialized service state."
                    .into(),
                "4D",
            ),
        },
        State::Disabled if status.temporary => {
            one("Temporarily disabled by an administrator.".into(), "1S")
        }
        State::Disabled => one("Disabled by an administrator.".into(), "05"),
        State::Maintenance => match status.reason {
            Reason::AdministrativeRequest => {
                one("Maintenance requested by an administrator.".into(), "63")
            }
            Reason::ServiceRequest => match &status.requested_by {
                Some(by) => one(format!("Maintenance requested by \"{by}\"."), "R4"),
                None => one("Maintenance requested by another service.".into(), "R4"),
            },
            Reason::DependencyCycle => {
                let cycle: Vec<String> = graph
                    .cycle(node)
                    .unwrap_or_default()
                    .iter()
                    .map(Fmri::to_string)
                    .collect();
                if cycle.is_empty() {
                    one("Completes a dependency cycle.".into(), "HP")
                } else {
                    one(
                        format!("Completes a dependency cycle: {}.", cycle.join(" -> ")),
                        "HP",
                    )
                }
            }
            Reason::FaultThresholdReached => match status.start_status.as_ref() {
                Some(start) if *start != MethodStatus::Exited(0) => one(
                    format!(
                        "Start method failed repeatedly, last {}.",
                        describe_status(start)
                    ),
                    "KS",
                ),
                _ => one("Method failed repeatedly.".into(), "8Q"),
            },
            Reason::MethodFailed => match status.start_status.as_ref() {
                Some(start) if *start != MethodStatus::Exited(0) => {
                    one(format!("Start method {}.", describe_status(start)), "KS")
                }
                _ => one("Method failed.".into(), "8Q"),
            },
            Reason::InvalidDependency => {
                let why = graph.invalid_dependency(node).unwrap_or_default();
                if why.is_empty() {
                    one("Has invalid dependency.".into(), "JA")
                } else {
                    one(format!("Has invalid dependency: {why}."), "JA")
                }
            }
            Reason::InvalidRestarter => one("Restarter is invalid.".into(), "2A"),
            Reason::RestartingTooQuickly => one("Restarting too quickly.".into(), "L5"),
            Reason::None => one(
                "Restarter svc:/system/svc/restarter:default gave no explanation.".into(),
                "9C",
            ),
            _ => one("Unknown.".into(), "AR"),
        },
        State::Offline => match status.next_state {
            Some(State::Online) => one("Start method is running.".into(), "C4"),
            Some(next) => one(format!("Transitioning to state {next}."), "PH"),
            None => {
                if blockers.is_empty() {
                    return one("Unknown.".into(), "AR");
                }
                let mut lines = Vec::new();
                let mut id = "GE";
                for blocker in blockers.iter().filter(|b| b.problem == Problem::Absent) {
                    lines.push(format!("Dependency {} is absent.", blocker.fmri));
                    id = "E2";
                }
                for blocker in blockers {
                    match &blocker.problem {
                        Problem::Absent => {}
                        Problem::Running => {
                            lines.push(format!("Service {} is running.", blocker.fmri));
                            if id != "E2" {
                                id = "FJ";
                            }
                        }
                        Problem::NotRunning { summary, .. } => {
                            lines.push(format!("Service {} {summary}", blocker.fmri));
                        }
                    }
                }
                (lines, id)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_files_replace_slashes_in_the_service_only() {
        let fmri = Fmri::parse("svc:/network/dhcp:default").expect("valid");
        assert_eq!(log_file(&fmri), "log/network-dhcp:default.log");
    }
}
