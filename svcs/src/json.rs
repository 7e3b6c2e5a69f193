//! `svcs --json`: the stable output schema (documented in `svcs/JSON.md`). These types are
//! svcs' own, not the wire protocol's, so the protocol can change without breaking scripts:
//! fields are only ever added.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use smf_core::explain::{Explanation, MESSAGE_BASE, Problem};
use smf_core::protocol::{HistoryEntry, InstanceInfo};
use smf_core::state::Timestamp;

use crate::long::{grouping_name, restart_on_name};

/// The document of every listing form (plain, `-a`, `-o`, `-v`, `-p`, `-d`, `-D`, `-l`,
/// `-L`).
#[derive(Debug, Serialize)]
pub struct Instances {
    /// Version of this schema.
    pub schema: u32,
    /// In the order the text form lists them.
    pub instances: Vec<Instance>,
}

/// One instance.
#[derive(Debug, Serialize)]
pub struct Instance {
    /// `svc:/network/dhcp:default`.
    pub fmri: String,
    /// `network/dhcp`.
    pub service: String,
    /// `default`.
    pub instance: String,
    /// Its state (`online`, `maintenance`...).
    pub state: String,
    /// Where it is heading, while in transition.
    pub next_state: Option<String>,
    /// When the state last changed, RFC 3339 in UTC.
    pub state_time: String,
    /// The same, in milliseconds since the epoch.
    pub state_time_ms: u64,
    /// Enabled, all things considered.
    pub enabled: bool,
    /// Whether `enabled` comes from a temporary (`-t`) request.
    pub temporary: bool,
    /// Its template's common name.
    pub description: Option<String>,
    /// Its contract id (see svcs -v's CTID).
    pub contract_id: Option<u64>,
    /// Its log file.
    pub log_file: String,
    /// The last `STATUS=` it reported on `$NOTIFY_SOCKET`.
    pub status_text: Option<String>,
    /// Its processes, by pid.
    pub processes: Vec<Process>,
    /// With `-l` only: its restarter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restarter: Option<String>,
    /// With `-l` only: its dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<Dependency>>,
    /// With `-l` only: the properties of its composed definition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    /// With `-l` only: its last state changes, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Event>>,
}

/// One process.
#[derive(Debug, Serialize)]
pub struct Process {
    /// Its pid.
    pub pid: u32,
    /// Its command name.
    pub command: String,
    /// When it started, RFC 3339 in UTC.
    pub start_time: String,
}

/// One dependency.
#[derive(Debug, Serialize)]
pub struct Dependency {
    /// Its name.
    pub name: String,
    /// `require_all`, `require_any`, `optional_all` or `exclude_all`.
    pub grouping: String,
    /// `none`, `error`, `restart` or `refresh`.
    pub restart_on: String,
    /// What it cites.
    pub entities: Vec<Entity>,
}

/// One cited entity.
#[derive(Debug, Serialize)]
pub struct Entity {
    /// Its FMRI (`file://localhost/...` for a file).
    pub fmri: String,
    /// Its state, or `absent`, `multiple`, `unknown`.
    pub state: String,
}

/// One property.
#[derive(Debug, Serialize)]
pub struct Property {
    /// `group/name`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its values.
    pub values: Vec<String>,
}

/// One state change.
#[derive(Debug, Serialize)]
pub struct Event {
    /// When, RFC 3339 in UTC.
    pub time: String,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// Why.
    pub reason: String,
}

/// The document of `svcs -x --json`.
#[derive(Debug, Serialize)]
pub struct Explanations {
    /// Version of this schema.
    pub schema: u32,
    /// One per instance, as the text blocks.
    pub explanations: Vec<ExplanationOut>,
}

/// One explained instance.
#[derive(Debug, Serialize)]
pub struct ExplanationOut {
    /// The instance.
    pub fmri: String,
    /// Its template's common name.
    pub description: Option<String>,
    /// Its state.
    pub state: String,
    /// Where it is heading.
    pub next_state: Option<String>,
    /// Since when, RFC 3339 in UTC.
    pub state_time: String,
    /// The `Reason:` lines.
    pub reasons: Vec<String>,
    /// The machine-readable reason (`restarting_too_quickly`...).
    pub reason_code: String,
    /// `SMF-8000-XX`.
    pub message_id: String,
    /// Its article.
    pub message_url: String,
    /// What keeps it offline, down each dependency chain.
    pub causes: Vec<Cause>,
    /// Documentation links.
    pub documentation: Vec<String>,
    /// Its log file.
    pub log_file: String,
    /// The last lines of its log.
    pub log_tail: Vec<String>,
    /// The enabled instances it keeps from running.
    pub impact: Vec<String>,
    /// With `-v`: its last state changes, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Event>,
}

/// One cause of an offline instance.
#[derive(Debug, Serialize)]
pub struct Cause {
    /// The broken instance, or the absent instance or file.
    pub fmri: String,
    /// `absent`, `running` (an exclusion) or `not_running`.
    pub problem: String,
    /// Its state, when it is an instance.
    pub state: Option<String>,
    /// From the explained instance down to the cause.
    pub path: Vec<String>,
}

/// Version of both documents.
const SCHEMA: u32 = 1;

fn rfc3339(at: Timestamp) -> String {
    i64::try_from(at.0)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(String::new, |when| {
            when.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
}

fn events(history: &[HistoryEntry]) -> Vec<Event> {
    history
        .iter()
        .map(|entry| Event {
            time: rfc3339(entry.at),
            from: entry.from.to_string(),
            to: entry.to.to_string(),
            reason: entry.reason.clone(),
        })
        .collect()
}

/// The listing document; `histories` (one per instance) for `-l`.
pub fn instances(instances: &[InstanceInfo], histories: Option<&[Vec<HistoryEntry>]>) -> Instances {
    let instances = instances
        .iter()
        .enumerate()
        .map(|(index, info)| {
            let status = &info.status;
            let detail = info.detail.as_ref();
            Instance {
                fmri: status.fmri.to_string(),
                service: status.fmri.service_name().unwrap_or_default().to_string(),
                instance: status.fmri.instance_name().unwrap_or_default().to_string(),
                state: status.state.to_string(),
                next_state: status.next_state.map(|next| next.to_string()),
                state_time: rfc3339(status.since),
                state_time_ms: status.since.0,
                enabled: status.enabled,
                temporary: status.temporary,
                description: info.common_name.clone(),
                contract_id: info.contract_id,
                log_file: info.log_file.clone(),
                status_text: status.status_text.clone(),
                processes: info
                    .processes
                    .iter()
                    .map(|process| Process {
                        pid: process.pid,
                        command: process.command.clone(),
                        start_time: rfc3339(process.started),
                    })
                    .collect(),
                restarter: detail.map(|d| d.restarter.clone()),
                dependencies: detail.map(|d| {
                    d.dependencies
                        .iter()
                        .map(|dependency| Dependency {
                            name: dependency.name.clone(),
                            grouping: grouping_name(dependency.grouping),
                            restart_on: restart_on_name(dependency.restart_on),
                            entities: dependency
                                .entities
                                .iter()
                                .map(|entity| Entity {
                                    fmri: entity.fmri.clone(),
                                    state: entity.state.clone(),
                                })
                                .collect(),
                        })
                        .collect()
                }),
                properties: detail.map(|d| {
                    d.properties
                        .iter()
                        .map(|property| Property {
                            name: format!("{}/{}", property.group, property.name),
                            kind: property.kind.clone(),
                            values: property.values.clone(),
                        })
                        .collect()
                }),
                history: histories.map(|all| events(all.get(index).map_or(&[][..], Vec::as_slice))),
            }
        })
        .collect();
    Instances {
        schema: SCHEMA,
        instances,
    }
}

/// The `-x` document.
pub fn explanations(
    explanations: &[Explanation],
    root: &Path,
    histories: &[Vec<HistoryEntry>],
    log_lines: usize,
) -> Explanations {
    let explanations = explanations
        .iter()
        .enumerate()
        .map(|(index, explanation)| {
            let log = root.join(&explanation.log_file);
            ExplanationOut {
                fmri: explanation.fmri.to_string(),
                description: explanation.common_name.clone(),
                state: explanation.state.to_string(),
                next_state: explanation.next_state.map(|next| next.to_string()),
                state_time: rfc3339(explanation.since),
                reasons: explanation.reasons.clone(),
                reason_code: serde_json::to_value(explanation.reason)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_string))
                    .unwrap_or_default(),
                message_id: explanation.message_id.clone(),
                message_url: format!("{MESSAGE_BASE}{}", explanation.message_id),
                causes: explanation
                    .blockers
                    .iter()
                    .map(|blocker| {
                        let (problem, state) = match &blocker.problem {
                            Problem::Absent => ("absent", None),
                            Problem::Running => ("running", None),
                            Problem::NotRunning { state, .. } => {
                                ("not_running", Some(state.to_string()))
                            }
                        };
                        Cause {
                            fmri: blocker.fmri.clone(),
                            problem: problem.to_string(),
                            state,
                            path: blocker.path.clone(),
                        }
                    })
                    .collect(),
                documentation: explanation.documentation.clone(),
                log_file: log.display().to_string(),
                log_tail: crate::explain::tail(&log, log_lines),
                impact: explanation.impact.iter().map(ToString::to_string).collect(),
                history: events(histories.get(index).map_or(&[][..], Vec::as_slice)),
            }
        })
        .collect();
    Explanations {
        schema: SCHEMA,
        explanations,
    }
}

/// Writes a document, pretty-printed, with a final newline.
pub fn write(out: &mut impl Write, document: &impl Serialize) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(document).map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}
