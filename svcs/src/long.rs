//! `svcs -l`: a paragraph per instance, labels left-justified in 13 columns, in svcs.c's
//! order (fmri, name, enabled, state, next_state, state_time, logfile, restarter,
//! contract_id, dependency...), then what smf adds: the readiness `status` a service
//! reported, `process` lines with `-p`, properties with `-v`, and the last state changes
//! (`history`).

use std::io::Write;

use smf_client::Client;
use smf_client::time;
use smf_core::protocol::{HistoryEntry, InstanceInfo, Request, Response};

use crate::{Args, Style, paint};

/// How many state changes `-l` shows.
const HISTORY: u32 = 10;

/// The recent state changes of each instance (empty where the daemon has none to give).
/// The repository also records the start of a transition (`offline -> offline` on the way
/// online); only real changes of state are shown.
pub(crate) fn histories(
    client: &mut Client,
    instances: &[InstanceInfo],
    err: &mut impl Write,
) -> Vec<Vec<HistoryEntry>> {
    instances
        .iter()
        .map(|instance| {
            let request = Request::History {
                pattern: instance.status.fmri.to_string(),
                limit: HISTORY,
            };
            match crate::call(client, &request, err) {
                Ok(Response::History { entries, .. }) => changes(entries),
                _ => Vec::new(),
            }
        })
        .collect()
}

/// One state change as `-l` and `-xv` print it: `Wed Nov 25 14:11:42 2026 online ->
/// offline: why`.
pub(crate) fn change_line(entry: &HistoryEntry) -> String {
    format!(
        "{} {} -> {}: {}",
        time::long(entry.at),
        entry.from,
        entry.to,
        entry.reason
    )
}

/// The entries that change the state.
pub(crate) fn changes(entries: Vec<HistoryEntry>) -> Vec<HistoryEntry> {
    entries
        .into_iter()
        .filter(|entry| entry.from != entry.to)
        .collect()
}

fn field(out: &mut impl Write, label: &str, value: &str) -> std::io::Result<()> {
    writeln!(out, "{}", format!("{label:<13}{value}").trim_end())
}

/// Prints the paragraphs, a blank line between them.
pub(crate) fn write(
    out: &mut impl Write,
    instances: &[InstanceInfo],
    histories: &[Vec<HistoryEntry>],
    args: &Args,
    style: Style,
) -> std::io::Result<()> {
    for (index, instance) in instances.iter().enumerate() {
        if index > 0 {
            writeln!(out)?;
        }
        let status = &instance.status;
        field(out, "fmri", status.fmri.as_str())?;
        if let Some(name) = &instance.common_name {
            field(out, "name", &name.replace('\n', " "))?;
        }
        let enabled = if status.temporary {
            format!("{} (temporary)", status.enabled)
        } else {
            status.enabled.to_string()
        };
        field(out, "enabled", &enabled)?;
        field(
            out,
            "state",
            &paint(status.state.as_str(), status.state, style),
        )?;
        field(
            out,
            "next_state",
            status.next_state.map_or("none", |next| next.as_str()),
        )?;
        field(out, "state_time", &time::long(status.since))?;
        field(out, "logfile", &instance.log_file)?;
        let detail = instance.detail.as_ref();
        field(
            out,
            "restarter",
            detail.map_or("svc:/system/svc/restarter:default", |d| &d.restarter),
        )?;
        // svcs.c prints the id followed by a space, and the label even without one.
        let contract = instance
            .contract_id
            .map_or_else(String::new, |id| format!("{id} "));
        writeln!(
            out,
            "{}",
            format!("{:<13}{contract}", "contract_id").trim_end()
        )?;
        for dependency in detail.map_or(&[][..], |d| &d.dependencies) {
            let entities: Vec<String> = dependency
                .entities
                .iter()
                .map(|entity| format!("{} ({})", entity.fmri, entity.state))
                .collect();
            field(
                out,
                "dependency",
                &format!(
                    "{}/{} {}",
                    grouping_name(dependency.grouping),
                    restart_on_name(dependency.restart_on),
                    entities.join(" ")
                ),
            )?;
        }
        if let Some(text) = &status.status_text {
            field(out, "status", text)?;
        }
        if args.processes {
            for process in &instance.processes {
                field(
                    out,
                    "process",
                    &format!("{} {}", process.pid, process.command),
                )?;
            }
        }
        if args.verbose {
            let mut group = None;
            for property in detail.map_or(&[][..], |d| &d.properties) {
                if group != Some(&property.group) {
                    group = Some(&property.group);
                    let kind = property.group_type.as_deref().unwrap_or("application");
                    field(out, "", &format!("{} ({kind})", property.group))?;
                }
                field(
                    out,
                    "",
                    &format!(
                        "{}/{} ({}) = {}",
                        property.group,
                        property.name,
                        property.kind,
                        property.values.join(" ")
                    ),
                )?;
            }
        }
        for entry in histories.get(index).map_or(&[][..], Vec::as_slice) {
            field(out, "history", &change_line(entry))?;
        }
    }
    Ok(())
}

/// The name a manifest uses (`require_all`...).
pub(crate) fn grouping_name(grouping: smf_core::manifest::Grouping) -> String {
    serde_json::to_value(grouping)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The name a manifest uses (`none`, `error`, `restart`, `refresh`).
pub(crate) fn restart_on_name(restart_on: smf_core::manifest::RestartOn) -> String {
    serde_json::to_value(restart_on)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}
