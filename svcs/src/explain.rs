//! `svcs -x` and `svcs -xv`: one block per instance in explain.c's shape, field names
//! right-aligned on the colon, a blank line between blocks:
//!
//! ```text
//! svc:/site/flaky:default (Flaky demo service)
//!  State: maintenance since Wed Nov 25 14:02:11 2026
//! Reason: Start method failed repeatedly, last exited with status 1.
//!    See: http://illumos.org/msg/SMF-8000-KS
//!    See: /home/me/demo-root/log/site-flaky:default.log
//!         [ Nov 25 14:02:11 Method "start" exited with status 1. ]
//! Impact: 1 dependent service is not running.  (Use -v for list.)
//! ```
//!
//! Beyond SMF: the last lines of the log follow its `See:` line, indented as continuation
//! lines (so a parser reading `See:` lines still finds the path), and `-v` adds `Events:`,
//! the instance's last state changes.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use smf_client::Client;
use smf_client::time;
use smf_core::explain::{Explanation, MESSAGE_BASE, Problem};
use smf_core::protocol::{HistoryEntry, Request, Response};

use crate::{Args, Failure, Style, call, json, paint};

/// Lines of the log shown under its `See:` line.
const LOG_LINES: usize = 3;

/// How many state changes `-xv` shows.
const EVENTS: u32 = 5;

/// The whole of `svcs -x [-v] [FMRI...]`.
pub(crate) fn run(
    args: &Args,
    root: &Path,
    client: &mut Client,
    style: Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<u8, Failure> {
    let request = Request::Explain {
        patterns: args.operands.clone(),
    };
    let (explanations, errors) = match call(client, &request, err)? {
        Response::Explanations {
            explanations,
            errors,
        } => (explanations, errors),
        other => {
            let _ = writeln!(err, "svcs: unexpected answer from svc.startd: {other:?}");
            return Err(Failure(1));
        }
    };
    // Manifests that could not be imported are reported too, but only a pattern that
    // matched nothing makes the exit status 1.
    let mut status = 0;
    for line in &errors {
        let _ = writeln!(err, "svcs: {line}");
        if !line.starts_with("manifest ") {
            status = 1;
        }
    }
    let histories: Vec<Vec<HistoryEntry>> = if args.verbose {
        explanations
            .iter()
            .map(|explanation| {
                let request = Request::History {
                    pattern: explanation.fmri.to_string(),
                    limit: EVENTS,
                };
                match call(client, &request, err) {
                    Ok(Response::History { entries, .. }) => crate::long::changes(entries),
                    _ => Vec::new(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let written = if args.json {
        json::write(
            out,
            &json::explanations(&explanations, root, &histories, LOG_LINES),
        )
    } else {
        explanations
            .iter()
            .enumerate()
            .try_for_each(|(index, explanation)| {
                if index > 0 {
                    writeln!(out)?;
                }
                let history = histories.get(index).map_or(&[][..], Vec::as_slice);
                block(out, explanation, root, history, args.verbose, style)
            })
    };
    if let Err(error) = written
        && error.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(err, "svcs: cannot write: {error}");
        return Ok(1);
    }
    Ok(status)
}

/// One block.
fn block(
    out: &mut impl Write,
    explanation: &Explanation,
    root: &Path,
    history: &[HistoryEntry],
    verbose: bool,
    style: Style,
) -> std::io::Result<()> {
    let name = explanation.common_name.as_deref().unwrap_or("?");
    writeln!(out, "{} ({})", explanation.fmri, name.replace('\n', " "))?;
    writeln!(
        out,
        " State: {} since {}",
        paint(explanation.state.as_str(), explanation.state, style),
        time::long(explanation.since)
    )?;
    for reason in &explanation.reasons {
        reason_line(out, reason)?;
    }
    // A running instance has no reason, and so no article (explain.c).
    if !explanation.reasons.is_empty() {
        writeln!(out, "   See: {MESSAGE_BASE}{}", explanation.message_id)?;
    }
    if verbose {
        // The chain from this instance down to each cause, each hop 2 columns deeper.
        for blocker in &explanation.blockers {
            if blocker.path.len() < 2 && !matches!(blocker.problem, Problem::NotRunning { .. }) {
                continue;
            }
            for (depth, hop) in blocker.path.iter().enumerate() {
                let label = if depth == 0 { "Path:" } else { "" };
                writeln!(out, "{label:>7} {:width$}{hop}", "", width = depth * 2)?;
            }
        }
    }
    for doc in &explanation.documentation {
        writeln!(out, "   See: {doc}")?;
    }
    let log = root.join(&explanation.log_file);
    writeln!(out, "   See: {}", log.display())?;
    for line in tail(&log, LOG_LINES) {
        writeln!(out, "        {line}")?;
    }
    let impact = &explanation.impact;
    match (explanation.state.is_running(), impact.len(), verbose) {
        (true, 0, _) => writeln!(out, "Impact: None.")?,
        (false, 0, _) => writeln!(out, "Impact: This service is not running.")?,
        (_, 1, false) => writeln!(
            out,
            "Impact: 1 dependent service is not running.  (Use -v for list.)"
        )?,
        (_, n, false) => writeln!(
            out,
            "Impact: {n} dependent services are not running.  (Use -v for list.)"
        )?,
        (_, 1, true) => writeln!(out, "Impact: 1 dependent service is not running:")?,
        (_, n, true) => writeln!(out, "Impact: {n} dependent services are not running:")?,
    }
    if verbose {
        for fmri in impact {
            writeln!(out, "        {fmri}")?;
        }
        for (index, entry) in history.iter().enumerate() {
            let label = if index == 0 { "Events:" } else { "" };
            writeln!(out, "{label:>7} {}", crate::long::change_line(entry))?;
        }
    }
    Ok(())
}

/// `Reason: ...`, split after the FMRI as explain.c does when a `Service svc:/... <summary>`
/// line would pass 80 columns.
fn reason_line(out: &mut impl Write, reason: &str) -> std::io::Result<()> {
    let line = format!("Reason: {reason}");
    if line.len() > 80
        && let Some(rest) = reason.strip_prefix("Service ")
        && let Some((fmri, summary)) = rest.split_once(' ')
    {
        writeln!(out, "Reason: Service {fmri}")?;
        return writeln!(out, "        {summary}");
    }
    writeln!(out, "{line}")
}

/// The last `count` lines of a log (at most its last 64 KiB are read); none when it cannot
/// be read.
pub(crate) fn tail(path: &Path, count: usize) -> Vec<String> {
    const WINDOW: u64 = 64 * 1024;
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let size = file.metadata().map_or(0, |m| m.len());
    if size > WINDOW && file.seek(SeekFrom::Start(size - WINDOW)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if file.take(WINDOW).read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| line.chars().filter(|c| !c.is_control()).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_service_reasons_are_split_after_the_fmri() {
        let mut out = Vec::new();
        reason_line(
            &mut out,
            "Service svc:/network/nfs/status:default is not running because a method failed repeatedly.",
        )
        .expect("write");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "Reason: Service svc:/network/nfs/status:default\n        is not running because a method failed repeatedly.\n"
        );
        let mut out = Vec::new();
        reason_line(&mut out, "Disabled by an administrator.").expect("write");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "Reason: Disabled by an administrator.\n"
        );
    }

    #[test]
    fn the_tail_of_a_log_skips_blank_lines_and_control_characters() {
        let dir = std::env::temp_dir().join(format!("svcs-tail-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let log = dir.join("a.log");
        std::fs::write(&log, "one\ntwo\n\nthree\x1b[31m\nfour\n").expect("write");
        assert_eq!(tail(&log, 3), ["two", "three[31m", "four"]);
        assert!(tail(&dir.join("missing.log"), 3).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
