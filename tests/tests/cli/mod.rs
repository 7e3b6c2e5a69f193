//! The command line (svcs, svcadm, svccfg) against a real svc.startd on a temporary root.
//!
//! Outputs are pinned with insta snapshots (`tests/tests/cli/snapshots/`), after
//! [`normalise`] has replaced what changes from run to run: the root's path, times, dates,
//! pids and contract ids.

mod demo;
mod docs;
mod svcadm;
mod svccfg;
mod svcs;

use std::path::Path;
use std::process::{Command, Output};

use smf_core::state::State;
use smf_tests::daemon::{Daemon, bundle, dependency, service};

/// The fixed set the snapshots run against, under category `test/` so that svc.startd's
/// own instance sorts first and the names sort in start order (ties in STIME fall back on
/// the FMRI):
///
/// - `test/a-network` online, `test/b-dhcp` requires it, `test/c-web` requires both;
/// - `test/d-broken` fails its start method until it is in maintenance;
/// - `test/e-waiter` requires `d-broken`, so it waits offline;
/// - `test/f-off` disabled;
/// - `test/g-forker` a classic daemon (its start method leaves a `setsid` child behind),
///   started after `c-web`;
/// - `test/h-cycle-a` and `test/h-cycle-b` require each other.
pub fn fixture() -> Daemon {
    let long_running = "/bin/sleep 1000";
    let child = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='child'/></property_group>";
    let described = |name: &str| {
        format!(
            "<template><common_name><loctext xml:lang='C'>{name}</loctext></common_name>\
             <documentation><manpage title='{name}' section='8'/></documentation></template>"
        )
    };
    let xml = bundle(&[
        service(
            "test/a-network",
            true,
            long_running,
            &format!("{child}{}", described("network")),
        ),
        service(
            "test/b-dhcp",
            true,
            long_running,
            &format!(
                "{}{child}",
                dependency("network", "require_all", "error", &["svc:/test/a-network"])
            ),
        ),
        service(
            "test/c-web",
            true,
            long_running,
            &format!(
                "{}{}{child}",
                dependency(
                    "dhcp",
                    "require_all",
                    "restart",
                    &["svc:/test/b-dhcp:default"]
                ),
                dependency("network", "optional_all", "none", &["svc:/test/a-network"])
            ),
        ),
        service(
            "test/d-broken",
            true,
            "/bin/sh -c \"echo cannot bind port 80 &gt;&amp;2; exit 1\"",
            &described("broken"),
        ),
        service(
            "test/e-waiter",
            true,
            long_running,
            &format!(
                "{}{child}",
                dependency("broken", "require_all", "none", &["svc:/test/d-broken"])
            ),
        ),
        service("test/f-off", false, long_running, child),
        service(
            "test/g-forker",
            true,
            "/bin/sh -c \"setsid /bin/sleep 1000 &lt;/dev/null &gt;/dev/null 2&gt;&amp;1 &amp;\"",
            // After c-web, so STIME orders the listing the same way in every run.
            &dependency("web", "require_all", "none", &["svc:/test/c-web"]),
        ),
        service(
            "test/h-cycle-a",
            true,
            long_running,
            &format!(
                "{}{child}",
                dependency("b", "require_all", "none", &["svc:/test/h-cycle-b"])
            ),
        ),
        service(
            "test/h-cycle-b",
            true,
            long_running,
            &format!(
                "{}{child}",
                dependency("a", "require_all", "none", &["svc:/test/h-cycle-a"])
            ),
        ),
    ]);
    let daemon = Daemon::start(&[("test.xml", &xml)]);
    for (fmri, state) in [
        ("svc:/test/a-network:default", State::Online),
        ("svc:/test/b-dhcp:default", State::Online),
        ("svc:/test/c-web:default", State::Online),
        ("svc:/test/d-broken:default", State::Maintenance),
        ("svc:/test/e-waiter:default", State::Offline),
        ("svc:/test/f-off:default", State::Disabled),
        ("svc:/test/g-forker:default", State::Online),
    ] {
        daemon.wait_state(fmri, state);
    }
    daemon.wait_for(
        "every instance settled, the forker's daemon listed",
        |daemon| {
            let instances = daemon.instances();
            instances
                .iter()
                .all(|instance| instance.status.next_state.is_none())
                && instances.iter().any(|instance| {
                    instance.status.fmri.as_str() == "svc:/test/g-forker:default"
                        && instance.processes.len() == 1
                })
        },
    );
    daemon.remember(&daemon.pids("svc:/test/g-forker:default"));
    daemon
}

/// Runs a workspace binary on the daemon's root (UTC, no colour), returning (status,
/// stdout, stderr), all normalised.
pub fn run(daemon: &Daemon, program: &str, args: &[&str]) -> (i32, String, String) {
    let output = command(daemon.root(), program, args)
        .output()
        .expect("the binary runs");
    outcome(daemon.root(), &output)
}

/// The command [`run`] runs.
pub fn command(root: &Path, program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(smf_tests::binary(program));
    command
        .arg("--root")
        .arg(root)
        .args(args)
        .env("TZ", "UTC")
        .env("NO_COLOR", "1")
        .env_remove("SMF_ROOT");
    command
}

/// (status, stdout, stderr) of a finished command, normalised.
pub fn outcome(root: &Path, output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        normalise(root, &String::from_utf8_lossy(&output.stdout)),
        normalise(root, &String::from_utf8_lossy(&output.stderr)),
    )
}

/// Replaces what changes between runs: the root, long dates, log-marker dates, STIME
/// times, pids, contract ids and JSON times.
pub fn normalise(root: &Path, text: &str) -> String {
    let rules: &[(&str, &str)] = &[
        // Long dates: `Wed Nov 25 13:57:38 2026`.
        (
            r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}",
            "[DATE]",
        ),
        // Log markers: `[ Nov 25 13:57:49 `.
        (r"\[ [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ", "[ [MARKER] "),
        // `svcs -p`: time, then the pid right-aligned in 6.
        (
            r"(?m)^( {15})[ \d]\d:\d\d:\d\d   [ \d]{5}\d ",
            "${1}HH:MM:SS    [PID] ",
        ),
        // STIME (8 wide).
        (r"[ \d]\d:\d\d:\d\d", "HH:MM:SS"),
        // -v's CTID column (right-aligned in 6, may overflow).
        (r" +\d+ svc:/", "  [CTID] svc:/"),
        (r"contract_id  \d+", "contract_id  [CTID]"),
        (r"process      \d+ ", "process      [PID] "),
        (
            r#""(state_time|start_time|time)": "[^"]*""#,
            r#""$1": "[TIME]""#,
        ),
        (r#""(state_time_ms|pid|contract_id)": \d+"#, r#""$1": 0"#),
        (r"\(pid \d+\)", "(pid [PID])"),
    ];
    let mut text = text.replace(&root.display().to_string(), "[ROOT]");
    for (pattern, replacement) in rules {
        let regex = regex::Regex::new(pattern).expect("a valid pattern");
        text = regex.replace_all(&text, *replacement).into_owned();
    }
    text
}

/// A snapshot of one command: the command line, its status and both streams.
pub fn transcript(args: &[&str], (status, stdout, stderr): &(i32, String, String)) -> String {
    let mut text = format!("$ {}\n[exit {status}]\n", args.join(" "));
    text.push_str(stdout);
    if !stderr.is_empty() {
        text.push_str("--- stderr ---\n");
        text.push_str(stderr);
    }
    text
}
