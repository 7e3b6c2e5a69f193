//! The columns form (`svcs`, `-a`, `-o`, `-s`/`-S`, `-v`, `-H`, `-p`, `-d`/`-D`) as svcs.c
//! prints it: each cell left-justified to its column's width and followed by one space,
//! the line right-trimmed; a longer value pushes the rest of the line.

use std::cmp::Ordering;
use std::io::Write;

use smf_core::protocol::InstanceInfo;
use smf_core::state::{State, Timestamp};

use crate::{Args, Style, paint};

/// A column of `-o`, `-s` and `-S`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Ctid,
    Desc,
    Fmri,
    Inst,
    N,
    Nsta,
    Nstate,
    S,
    Scope,
    Sn,
    Sta,
    State,
    Stime,
    Svc,
}

impl Column {
    /// By name, in any case.
    pub(crate) fn parse(name: &str) -> Option<Column> {
        Some(match name.to_ascii_uppercase().as_str() {
            "CTID" => Column::Ctid,
            "DESC" => Column::Desc,
            "FMRI" => Column::Fmri,
            "INST" => Column::Inst,
            "N" => Column::N,
            "NSTA" => Column::Nsta,
            "NSTATE" => Column::Nstate,
            "S" => Column::S,
            "SCOPE" => Column::Scope,
            "SN" => Column::Sn,
            "STA" => Column::Sta,
            "STATE" => Column::State,
            "STIME" => Column::Stime,
            "SVC" => Column::Svc,
            _ => return None,
        })
    }

    fn header(self) -> &'static str {
        match self {
            Column::Ctid => "CTID",
            Column::Desc => "DESC",
            Column::Fmri => "FMRI",
            Column::Inst => "INST",
            Column::N => "N",
            Column::Nsta => "NSTA",
            Column::Nstate => "NSTATE",
            Column::S => "S",
            Column::Scope => "SCOPE",
            Column::Sn => "SN",
            Column::Sta => "STA",
            Column::State => "STATE",
            Column::Stime => "STIME",
            Column::Svc => "SVC",
        }
    }

    /// svcs.c's widths (STATE 14 and STIME 8 as the code prints them).
    fn width(self) -> usize {
        match self {
            Column::Ctid => 6,
            Column::Desc => 100,
            Column::Fmri => 50,
            Column::Inst | Column::Scope | Column::Svc => 20,
            Column::N => 1,
            Column::Nsta | Column::Sta => 4,
            Column::Nstate => 13,
            Column::S | Column::Sn => 2,
            Column::State => 14,
            Column::Stime => 8,
        }
    }

    /// The text of the cell (uncoloured).
    fn cell(self, instance: &InstanceInfo, now: Timestamp) -> String {
        let status = &instance.status;
        let star = if status.next_state.is_some() { "*" } else { "" };
        match self {
            Column::Ctid => instance
                .contract_id
                .map_or_else(|| "-".to_string(), |id| id.to_string()),
            Column::Desc => instance
                .common_name
                .as_deref()
                .map_or_else(|| "-".to_string(), |name| name.replace('\n', " ")),
            Column::Fmri => status.fmri.to_string(),
            Column::Inst => status.fmri.instance_name().unwrap_or("-").to_string(),
            Column::N => status
                .next_state
                .map_or_else(|| "-".to_string(), |next| next.letter().to_string()),
            Column::Nsta => status
                .next_state
                .map_or("-", State::abbreviation)
                .to_string(),
            Column::Nstate => status.next_state.map_or("-", State::as_str).to_string(),
            Column::S => format!("{}{star}", status.state.letter()),
            Column::Scope => "localhost".to_string(),
            Column::Sn => format!(
                "{}{}",
                status.state.letter(),
                status.next_state.map_or('-', State::letter)
            ),
            Column::Sta => format!("{}{star}", status.state.abbreviation()),
            Column::State => format!("{}{star}", status.state.as_str()),
            Column::Stime => smf_client::time::stime(status.since, now),
            Column::Svc => status.fmri.service_name().unwrap_or("-").to_string(),
        }
    }

    /// Whether the cell shows the state (and may be coloured).
    fn shows_state(self) -> bool {
        matches!(self, Column::S | Column::Sn | Column::Sta | Column::State)
    }

    fn compare(self, a: &InstanceInfo, b: &InstanceInfo) -> Ordering {
        match self {
            Column::State | Column::Sta | Column::S | Column::Sn => {
                state_rank(a.status.state).cmp(&state_rank(b.status.state))
            }
            Column::Nstate | Column::Nsta | Column::N => a
                .status
                .next_state
                .map(state_rank)
                .cmp(&b.status.next_state.map(state_rank)),
            Column::Stime => a.status.since.cmp(&b.status.since),
            Column::Ctid => a.contract_id.cmp(&b.contract_id),
            Column::Fmri => a.status.fmri.as_str().cmp(b.status.fmri.as_str()),
            other => other
                .cell(a, Timestamp(0))
                .cmp(&other.cell(b, Timestamp(0))),
        }
    }
}

/// svcs' sort order of states (legacy_run first, uninitialized last).
fn state_rank(state: State) -> u8 {
    match state {
        State::Disabled => 1,
        State::Online => 2,
        State::Degraded => 3,
        State::Offline => 4,
        State::Maintenance => 5,
        State::Uninitialized => 6,
    }
}

/// The columns to print.
fn columns(args: &Args) -> Vec<Column> {
    if !args.columns.is_empty() {
        return args
            .columns
            .iter()
            .filter_map(|c| Column::parse(c))
            .collect();
    }
    if args.verbose {
        vec![
            Column::State,
            Column::Nstate,
            Column::Stime,
            Column::Ctid,
            Column::Fmri,
        ]
    } else {
        vec![Column::State, Column::Stime, Column::Fmri]
    }
}

/// Sorts as `-s`/`-S` ask, else by state, then time, then FMRI.
pub(crate) fn sort(instances: &mut [InstanceInfo], args: &Args) {
    let mut keys: Vec<(Column, bool)> = Vec::new();
    // clap keeps -s and -S apart; SMF applies them in command-line order, which only
    // matters when both are given: ascending keys first here.
    keys.extend(
        args.sort
            .iter()
            .filter_map(|c| Column::parse(c))
            .map(|c| (c, false)),
    );
    keys.extend(
        args.sort_descending
            .iter()
            .filter_map(|c| Column::parse(c))
            .map(|c| (c, true)),
    );
    if keys.is_empty() {
        keys = vec![
            (Column::State, false),
            (Column::Stime, false),
            (Column::Fmri, false),
        ];
    }
    instances.sort_by(|a, b| {
        keys.iter()
            .map(|&(column, descending)| {
                let order = column.compare(a, b);
                if descending { order.reverse() } else { order }
            })
            .find(|order| order.is_ne())
            .unwrap_or(Ordering::Equal)
    });
}

/// Prints the listing.
pub(crate) fn write(
    out: &mut impl Write,
    instances: &mut [InstanceInfo],
    args: &Args,
    style: Style,
    now: Timestamp,
) -> std::io::Result<()> {
    sort(instances, args);
    let columns = columns(args);
    if !args.no_header {
        let mut line = String::new();
        for &column in &columns {
            line.push_str(&format!(
                "{:<width$} ",
                column.header(),
                width = column.width()
            ));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    for instance in instances.iter() {
        let mut line = String::new();
        for &column in &columns {
            let text = column.cell(instance, now);
            let padded = if column == Column::Ctid {
                format!("{text:>width$} ", width = column.width())
            } else {
                format!("{text:<width$} ", width = column.width())
            };
            if column.shows_state() {
                // Colour the word only, so the padding (and the alignment) stays plain.
                let (word, rest) = padded.split_at(text.len());
                line.push_str(&paint(word, instance.status.state, style));
                line.push_str(rest);
            } else {
                line.push_str(&padded);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
        if args.processes {
            for process in &instance.processes {
                writeln!(
                    out,
                    "               {:<8}   {:>6} {}",
                    smf_client::time::stime(process.started, now),
                    process.pid,
                    process.command
                )?;
            }
        }
    }
    Ok(())
}
