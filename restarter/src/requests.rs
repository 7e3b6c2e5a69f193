//! Answers to control requests, on the engine thread. Names are resolved here with SMF's
//! pattern rules against the instances the engine knows.

use smf_core::engine::{Event, Requester};
use smf_core::explain;
use smf_core::fmri::{self, Fmri};
use smf_core::protocol::{
    AdminAction, AdminOutcome, ErrorKind, HistoryEntry, InstanceInfo, Process, Request, Response,
};
use smf_core::state::Timestamp;

use crate::daemon::Daemon;
use crate::proc;

impl Daemon {
    /// The answer to one request.
    pub(crate) fn answer(&mut self, request: Request) -> Response {
        match request {
            Request::Ping => Response::Pong {
                pid: std::process::id(),
                root: self.root.dir().display().to_string(),
                contracts: self.contracts.mode().as_str().into(),
            },
            Request::List { patterns } => {
                let (instances, errors) = self.select(&patterns);
                self.attribute_orphans();
                // One reading of /proc for every instance listed.
                let tree = proc::Tree::read();
                let instances = instances
                    .iter()
                    .filter_map(|fmri| self.info(fmri, &tree))
                    .collect();
                Response::Instances { instances, errors }
            }
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
            Request::Import { paths } => {
                let loaded = paths
                    .iter()
                    .map(|path| crate::manifests::load(std::path::Path::new(path)))
                    .collect();
                let files = self.import_loaded(loaded);
                Response::Imported { files }
            }
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

    fn info(&self, fmri: &Fmri, tree: &proc::Tree) -> Option<InstanceInfo> {
        let status = self.engine.status(fmri)?;
        let mut pids = self.contracts.processes(fmri, tree);
        let methods = self.methods_of(fmri);
        if !methods.is_empty() {
            pids.extend(tree.with_descendants(methods));
        }
        pids.sort_unstable();
        pids.dedup();
        let ticks = proc::ticks_per_second();
        let boot = proc::boot_time_ms().unwrap_or(0);
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
            self.feed(event);
            if let Some(status) = self.engine.status(&fmri) {
                outcomes.push(AdminOutcome {
                    fmri,
                    state: status.state,
                    next_state: status.next_state,
                });
            }
        }
        Response::Done { outcomes, errors }
    }
}
