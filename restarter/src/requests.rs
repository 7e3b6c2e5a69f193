//! Answers to control requests, on the engine thread. Names are resolved here with SMF's
//! pattern rules against the instances the engine knows.

use smf_core::engine::{Event, Requester};
use smf_core::explain;
use smf_core::fmri::{self, Fmri};
use smf_core::graph::{Satisfaction, Target};
use smf_core::manifest::Grouping;
use smf_core::protocol::{
    AdminAction, AdminOutcome, DependencyInfo, Detail, EntityInfo, ErrorKind, HistoryEntry,
    InstanceInfo, Process, PropertyInfo, Relation, Request, Response, WaitGoal, WaitOutcome,
    WaitResult,
};
use smf_core::state::{State, Timestamp};

use crate::daemon::Daemon;
use crate::proc;

/// Up to this many instances listed, only their processes are read from `/proc`.
const FEW_INSTANCES: usize = 16;

impl Daemon {
    /// The answer to one request.
    pub(crate) fn answer(&mut self, request: Request) -> Response {
        match request {
            Request::Ping => Response::Pong {
                pid: std::process::id(),
                root: self.root.dir().display().to_string(),
                contracts: self.contracts.mode().as_str().into(),
            },
            Request::List {
                patterns,
                relation,
                detail,
                processes,
            } => {
                let (mut instances, errors) = self.select(&patterns);
                if let Some(relation) = relation {
                    instances = self.related(&instances, relation);
                }
                // Many instances: one reading of all /proc. A few: only their processes'
                // subtrees (svcs -p web at 10,000 services need not read 10,000 stats).
                // None at all when the processes are not asked for.
                let whole = if processes {
                    self.attribute_orphans();
                    (instances.len() > FEW_INSTANCES).then(proc::Tree::read)
                } else {
                    None
                };
                let instances = instances
                    .iter()
                    .filter_map(|fmri| self.info(fmri, processes, whole.as_ref(), detail))
                    .collect();
                Response::Instances { instances, errors }
            }
            // Answered from the loop (`Daemon::on_call`), never here.
            Request::Wait { fmris, goal } => match self.wait_results(&fmris, goal) {
                Some(results) => Response::Waited { results },
                None => Response::error(ErrorKind::Failed, "the instances are still on their way"),
            },
            // svccfg (config.rs).
            Request::Export { pattern } => self.export(&pattern),
            Request::Delete { pattern } => self.delete(&pattern),
            Request::SetProperty {
                pattern,
                name,
                kind,
                values,
            } => self.set_property(&pattern, &name, kind.as_deref(), &values),
            Request::Explain { patterns } => {
                let (explanations, mut errors) = if patterns.is_empty() {
                    (explain::root_causes(&self.engine), Vec::new())
                } else {
                    let (instances, errors) = self.select(&patterns);
                    let explanations = instances
                        .iter()
                        .filter_map(|fmri| explain::explain(&self.engine, fmri))
                        .collect();
                    (explanations, errors)
                };
                for (path, lines) in &self.broken {
                    let first = lines.first().cloned().unwrap_or_default();
                    errors.push(format!("manifest {path} could not be imported: {first}"));
                }
                Response::Explanations {
                    explanations,
                    errors,
                }
            }
            Request::Admin { action, patterns } => self.admin(&action, &patterns),
            // svccfg import: remembered in the repository (config.rs).
            Request::Import { paths } => self.import_request(&paths),
            Request::Rescan => {
                let files = self.rescan();
                Response::Imported { files }
            }
            Request::History { pattern, limit } => {
                let known = self.known_instances();
                let fmri = match fmri::resolve_one(&pattern, &known) {
                    Ok(fmri) => fmri,
                    Err(error) => return Response::error(ErrorKind::NoMatch, error.to_string()),
                };
                self.flush();
                match self.repository.history(&fmri, limit as usize) {
                    Ok(transitions) => Response::History {
                        fmri,
                        entries: transitions
                            .into_iter()
                            .map(|t| HistoryEntry {
                                at: t.at,
                                from: t.from,
                                to: t.state,
                                reason: t.reason.description().to_string(),
                            })
                            .collect(),
                    },
                    Err(error) => Response::error(ErrorKind::Failed, error.to_string()),
                }
            }
        }
    }

    /// Every instance, in import order, svc.startd's own excluded.
    fn known_instances(&self) -> Vec<Fmri> {
        self.engine
            .statuses()
            .into_iter()
            .map(|status| status.fmri)
            .collect()
    }

    /// The instances `patterns` select (all when empty), each once, and one error line per
    /// pattern that matched nothing.
    fn select(&self, patterns: &[String]) -> (Vec<Fmri>, Vec<String>) {
        let known = self.known_instances();
        if patterns.is_empty() {
            return (known, Vec::new());
        }
        let mut selected: Vec<Fmri> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut errors = Vec::new();
        for pattern in patterns {
            match fmri::resolve(pattern, &known) {
                Ok(found) => {
                    for fmri in found {
                        if seen.insert(fmri.clone()) {
                            selected.push(fmri);
                        }
                    }
                }
                Err(error) => errors.push(error.to_string()),
            }
        }
        (selected, errors)
    }

    /// `svcs -d` / `-D`: the instances `of` depend on, or that depend on them, each once, in
    /// the order found.
    fn related(&self, of: &[Fmri], relation: Relation) -> Vec<Fmri> {
        let graph = self.engine.graph();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut push = |node| {
            if graph.is_configured(node)
                && let Some(fmri) = graph.fmri(node)
                && seen.insert(fmri.clone())
            {
                out.push(fmri.clone());
            }
        };
        for fmri in of {
            let Some(node) = graph.instance(fmri) else {
                continue;
            };
            match relation {
                Relation::Dependencies => {
                    for (group, dependency) in graph.groups(node) {
                        if dependency.grouping == Grouping::ExcludeAll {
                            continue;
                        }
                        for &target in graph.targets(group) {
                            match target {
                                Target::Instance(node) => push(node),
                                Target::Service(service) => {
                                    for &member in graph.members(service) {
                                        push(member);
                                    }
                                }
                                Target::File(_) => {}
                            }
                        }
                    }
                }
                Relation::Dependents => {
                    for dependent in graph.dependents(node) {
                        push(dependent);
                    }
                }
            }
        }
        out
    }

    /// `svcs -l`'s extra fields.
    fn detail(&self, fmri: &Fmri) -> Option<Detail> {
        let graph = self.engine.graph();
        let node = graph.instance(fmri)?;
        let definition = graph.definition(node);
        let state_of = |node| {
            graph
                .fmri(node)
                .and_then(|fmri| self.engine.status(fmri))
                .map_or_else(|| "absent".to_string(), |status| status.state.to_string())
        };
        let dependencies = graph
            .groups(node)
            .map(|(group, dependency)| DependencyInfo {
                name: dependency.name.clone(),
                grouping: dependency.grouping,
                restart_on: dependency.restart_on,
                entities: graph
                    .targets(group)
                    .iter()
                    .map(|&target| match target {
                        Target::Instance(node) => EntityInfo {
                            fmri: graph.fmri(node).map(Fmri::to_string).unwrap_or_default(),
                            state: state_of(node),
                        },
                        Target::Service(service) => EntityInfo {
                            fmri: graph.fmri(service).map(Fmri::to_string).unwrap_or_default(),
                            state: match graph.members(service) {
                                [] => "absent".to_string(),
                                [only] => state_of(*only),
                                _ => "multiple".to_string(),
                            },
                        },
                        Target::File(file) => {
                            let path = graph.file_path(file).unwrap_or_default();
                            EntityInfo {
                                fmri: format!("file://localhost{path}"),
                                state: match self.engine.file_exists(path) {
                                    Some(true) => "online",
                                    Some(false) => "absent",
                                    None => "unknown",
                                }
                                .to_string(),
                            }
                        }
                    })
                    .collect(),
            })
            .collect();
        // Set by svccfg setprop, and applied (refreshed) already.
        let overrides = self.overrides_of(fmri);
        let properties = definition
            .map(|definition| {
                definition
                    .settings
                    .property_groups
                    .iter()
                    .flat_map(|group| {
                        let overrides = &overrides;
                        group.properties.iter().map(move |property| {
                            let values: Vec<String> = property
                                .values
                                .iter()
                                .map(|value| value.to_text())
                                .collect();
                            let customized = overrides
                                .get(&(group.name.clone(), property.name.clone()))
                                .is_some_and(|set| *set == values);
                            PropertyInfo {
                                group: group.name.clone(),
                                group_type: group.kind.clone(),
                                name: property.name.clone(),
                                kind: property
                                    .kind
                                    .map_or("astring", |kind| kind.name())
                                    .to_string(),
                                values,
                                customized,
                            }
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Detail {
            restarter: definition
                .and_then(|definition| definition.settings.restarter.clone())
                .unwrap_or_else(|| "svc:/system/svc/restarter:default".to_string()),
            dependencies,
            properties,
        })
    }

    /// Where each of `fmris` stands against `goal`; None while any is still on its way.
    pub(crate) fn wait_results(&self, fmris: &[String], goal: WaitGoal) -> Option<Vec<WaitResult>> {
        let mut results = Vec::with_capacity(fmris.len());
        for text in fmris {
            let status = Fmri::parse(text)
                .ok()
                .and_then(|fmri| self.engine.status(&fmri));
            let Some(status) = status else {
                results.push(WaitResult {
                    fmri: text.clone(),
                    outcome: WaitOutcome::Gone,
                    state: None,
                    reason: None,
                });
                continue;
            };
            let settled = status.next_state.is_none();
            let outcome = match goal {
                WaitGoal::Running => {
                    if !status.enabled {
                        Some(WaitOutcome::DisabledByOther)
                    } else if settled && status.state.is_running() {
                        Some(WaitOutcome::Reached)
                    } else if settled && status.state == State::Maintenance {
                        Some(WaitOutcome::Maintenance)
                    } else if settled
                        && status.state == State::Offline
                        && self.unsatisfiable(&status.fmri)
                    {
                        Some(WaitOutcome::Unsatisfiable)
                    } else {
                        None
                    }
                }
                WaitGoal::Disabled => {
                    if status.enabled {
                        Some(WaitOutcome::EnabledByOther)
                    } else if settled && status.state == State::Disabled {
                        Some(WaitOutcome::Reached)
                    } else {
                        None
                    }
                }
            };
            let outcome = outcome?;
            let reason = (outcome != WaitOutcome::Reached)
                .then(|| explain::explain(&self.engine, &status.fmri))
                .flatten()
                .and_then(|explanation| explanation.reasons.into_iter().next());
            results.push(WaitResult {
                fmri: status.fmri.to_string(),
                outcome,
                state: Some(status.state),
                reason,
            });
        }
        Some(results)
    }

    /// Whether an offline instance cannot start without an administrator.
    fn unsatisfiable(&self, fmri: &Fmri) -> bool {
        self.engine
            .satisfaction(fmri)
            .is_some_and(|(_, possible)| possible == Satisfaction::Unsatisfiable)
    }

    fn info(
        &self,
        fmri: &Fmri,
        with_processes: bool,
        whole: Option<&proc::Tree>,
        detail: bool,
    ) -> Option<InstanceInfo> {
        let status = self.engine.status(fmri)?;
        let around;
        let tree = match whole {
            Some(tree) => tree,
            None if !with_processes => {
                around = proc::Tree::default();
                &around
            }
            None => {
                let mut roots = self.contracts.roots(fmri);
                roots.extend_from_slice(self.methods_of(fmri));
                around = proc::Tree::around(&roots);
                &around
            }
        };
        let mut pids = self.contracts.processes(fmri, tree);
        let methods = self.methods_of(fmri);
        if !methods.is_empty() {
            pids.extend(tree.with_descendants(methods));
        }
        pids.sort_unstable();
        pids.dedup();
        let ticks = proc::ticks_per_second();
        let boot = proc::boot_time_ms().unwrap_or(0);
        let contract_id = self.contracts.contract_id(fmri, &pids, tree);
        let processes = pids
            .into_iter()
            .filter_map(|pid| {
                let stat = tree.stat(pid)?;
                Some(Process {
                    pid,
                    started: Timestamp(boot + stat.start_ticks * 1000 / ticks),
                    command: stat.command.clone(),
                })
            })
            .collect();
        let common_name = self
            .engine
            .graph()
            .node(fmri)
            .and_then(|node| self.engine.graph().definition(node))
            .and_then(|definition| definition.settings.template.as_deref())
            .and_then(|template| template.common_name())
            .map(str::to_string);
        Some(InstanceInfo {
            status,
            processes,
            log_file: self.logs.path(fmri).display().to_string(),
            common_name,
            contract_id,
            detail: if detail { self.detail(fmri) } else { None },
        })
    }

    fn admin(&mut self, action: &AdminAction, patterns: &[String]) -> Response {
        if patterns.is_empty() {
            return Response::error(ErrorKind::BadRequest, "no instance named");
        }
        let known = self.known_instances();
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let targets = fmri::walk_for_action(&patterns, &known);
        let errors: Vec<String> = targets.errors.iter().map(ToString::to_string).collect();
        if targets.instances.is_empty() {
            return Response::Error {
                kind: ErrorKind::NoMatch,
                message: errors.join("\n"),
            };
        }
        let mut outcomes = Vec::new();
        for fmri in targets.instances {
            let before = self
                .engine
                .status(&fmri)
                .map_or(State::Uninitialized, |status| status.state);
            let event = match action {
                AdminAction::Enable {
                    temporary,
                    recursive,
                } => Event::Enable {
                    fmri: fmri.clone(),
                    temporary: *temporary,
                    recursive: *recursive,
                },
                AdminAction::Disable { temporary } => Event::Disable {
                    fmri: fmri.clone(),
                    temporary: *temporary,
                },
                AdminAction::Restart => Event::Restart { fmri: fmri.clone() },
                AdminAction::Refresh => Event::Refresh { fmri: fmri.clone() },
                AdminAction::Clear => Event::Clear { fmri: fmri.clone() },
                AdminAction::Mark {
                    state,
                    immediate,
                    temporary,
                } => Event::Mark {
                    fmri: fmri.clone(),
                    state: *state,
                    immediate: *immediate,
                    temporary: *temporary,
                    requester: Requester::Administrator,
                },
            };
            // svccfg setprop's changes reach a service at its refresh (config.rs): when they
            // change the instance, re-importing the service has refreshed it already.
            let applied = matches!(action, AdminAction::Refresh) && self.apply_configuration(&fmri);
            if !applied {
                self.feed(event);
            }
            if let Some(status) = self.engine.status(&fmri) {
                outcomes.push(AdminOutcome {
                    fmri,
                    before,
                    state: status.state,
                    next_state: status.next_state,
                });
            }
        }
        Response::Done { outcomes, errors }
    }
}
