//! Running services: dependencies, faults, double-forking daemons, stop escalation, method
//! timeouts, bad method contexts, readiness.

use smf_core::protocol::{AdminAction, Request, Response};
use smf_core::state::State;
use smf_tests::daemon::{Daemon, alive, bundle, dependency, service};

use super::script;

#[test]
fn dhcp_waits_for_the_network() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let flag = dir.join("network-up");
    let net = script(
        dir,
        "net",
        &format!("sleep 0.5\ntouch {}\nsleep 1000 &\nexit 0", flag.display()),
    );
    let dhcp = script(
        dir,
        "dhcp",
        &format!(
            "[ -e {} ] || {{ echo 'no network yet'; exit 1; }}\nsleep 1000 &\nexit 0",
            flag.display()
        ),
    );
    let xml = bundle(&[
        service("network/physical", true, &net, ""),
        service(
            "network/dhcp",
            true,
            &dhcp,
            &dependency("net", "require_all", "error", &["svc:/network/physical"]),
        ),
    ]);
    let daemon = Daemon::start(&[("net.xml", &xml)]);
    // While the network comes up, DHCP waits offline.
    let dhcp_state = daemon.state("svc:/network/dhcp:default");
    if !flag.exists() {
        assert_eq!(dhcp_state, Some(State::Offline));
    }
    daemon.wait_state("svc:/network/dhcp:default", State::Online);
    daemon.wait_state("svc:/network/physical:default", State::Online);
    let log = daemon.log("svc:/network/dhcp:default");
    assert!(
        !log.contains("no network yet"),
        "DHCP started before the network:\n{log}"
    );
    assert_eq!(log.matches("Executing start method").count(), 1, "{log}");
    assert!(
        log.contains("Method \"start\" exited with status 0."),
        "{log}"
    );
}

#[test]
fn a_crash_loop_ends_in_maintenance_and_clear_brings_it_back() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let start = script(dir, "flaky", "echo 'cannot start'\nexit 1");
    let xml = bundle(&[service("site/flaky", true, &start, "")]);
    let daemon = Daemon::start(&[("flaky.xml", &xml)]);
    daemon.wait_state("svc:/site/flaky:default", State::Maintenance);
    let log = daemon.log("svc:/site/flaky:default");
    assert_eq!(log.matches("Executing start method").count(), 3, "{log}");
    assert_eq!(
        log.matches("Method \"start\" exited with status 1.")
            .count(),
        3,
        "{log}"
    );
    // Explained in words.
    match daemon.request(&Request::Explain {
        patterns: vec!["flaky".into()],
    }) {
        Response::Explanations { explanations, .. } => {
            let reasons = explanations[0].reasons.join(" ");
            assert!(reasons.contains("exited with status 1"), "{reasons}");
        }
        other => panic!("{other:?}"),
    }
    // Fixed, then cleared: online.
    script(dir, "flaky", "sleep 1000 &\nexit 0");
    daemon.admin(AdminAction::Clear, "flaky");
    daemon.wait_state("svc:/site/flaky:default", State::Online);
}

#[test]
fn a_double_forking_daemon_is_tracked_restarted_and_killed() {
    // Cgroups where svc.startd can create them (this machine's kind can).
    double_forking_daemon(&[], None);
}

#[test]
fn a_double_forking_daemon_is_tracked_by_process_group_and_subreaper() {
    double_forking_daemon(&["--contracts", "process-group"], Some("process-group"));
}

fn double_forking_daemon(args: &[&str], mode: Option<&str>) {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    // The classic: fork, setsid, fork again, the middle process exits, the start method
    // returns at once.
    let start = script(
        dir,
        "daemonize",
        "( setsid sh -c 'sleep 0.2; exec sleep 1000' & ) \nexit 0",
    );
    let xml = bundle(&[service("site/forker", true, &start, "")]);
    let daemon = Daemon::start_with(&[("forker.xml", &xml)], args);
    let used = match daemon.request(&Request::Ping) {
        Response::Pong { contracts, .. } => contracts,
        other => panic!("{other:?}"),
    };
    if let Some(mode) = mode {
        assert_eq!(used, mode);
    }
    let fmri = "svc:/site/forker:default";
    daemon.wait_state(fmri, State::Online);
    // Once the middle process is gone, the one left is the daemon.
    daemon.wait_for("the daemon's sleep to be listed alone", |d| {
        d.info(fmri)
            .is_some_and(|i| i.processes.len() == 1 && i.processes[0].command == "sleep")
    });
    let first: Vec<u32> = daemon
        .info(fmri)
        .map(|i| {
            i.processes
                .iter()
                .filter(|p| p.command == "sleep")
                .map(|p| p.pid)
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(first.len(), 1, "{first:?}");
    if used == "cgroup" {
        let cgroup = std::fs::read_to_string(format!("/proc/{}/cgroup", first[0])).expect("cgroup");
        assert!(
            cgroup.contains("/smf-") && cgroup.contains("site-forker:default"),
            "{cgroup}"
        );
    }
    // It dies: svc.startd notices and starts it again.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    daemon.wait_for("a new daemon process", |d| {
        d.info(fmri).is_some_and(|i| {
            i.status.state == State::Online
                && i.processes
                    .iter()
                    .any(|p| p.command == "sleep" && p.pid != first[0])
        })
    });
    let second = daemon.pids(fmri);
    assert!(daemon.log(fmri).matches("Executing start method").count() >= 2);
    // Disabled: nothing of it is left.
    daemon.admin(AdminAction::Disable { temporary: false }, fmri);
    daemon.wait_state(fmri, State::Disabled);
    daemon.wait_for("every process of the instance to be gone", |_| {
        second.iter().all(|&pid| !alive(pid))
    });
    assert!(daemon.pids(fmri).is_empty());
}

#[test]
fn a_stop_that_is_ignored_escalates_to_sigkill() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let start = script(
        dir,
        "stubborn",
        "sh -c 'trap \"\" TERM; while :; do sleep 0.1; done' &\nexit 0",
    );
    let xml = bundle(&[service("site/stubborn", true, &start, "")]);
    let daemon = Daemon::start(&[("stubborn.xml", &xml)]);
    let fmri = "svc:/site/stubborn:default";
    daemon.wait_state(fmri, State::Online);
    daemon.wait_for("its processes to be listed", |d| !d.pids(fmri).is_empty());
    let pids = daemon.pids(fmri);
    daemon.admin(AdminAction::Disable { temporary: false }, fmri);
    daemon.wait_for("the stop to end", |d| {
        d.info(fmri)
            .is_some_and(|i| i.status.next_state.is_none() && !i.status.state.is_running())
    });
    assert!(
        pids.iter().all(|&pid| !alive(pid)),
        "SIGKILL ended them all"
    );
    let log = daemon.log(fmri);
    assert!(
        log.contains("still running after the stop timeout; sending SIGKILL"),
        "{log}"
    );
}

#[test]
fn a_start_method_that_hangs_times_out() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let start = script(dir, "hang", "exec sleep 1000");
    let mut xml = bundle(&[service("site/hang", true, &start, "")]);
    xml = xml.replace("timeout_seconds='10'", "timeout_seconds='1'");
    let daemon = Daemon::start(&[("hang.xml", &xml)]);
    let fmri = "svc:/site/hang:default";
    daemon.wait_state(fmri, State::Maintenance);
    let log = daemon.log(fmri);
    assert!(log.contains("timed out"), "{log}");
    assert!(daemon.pids(fmri).is_empty(), "the hung method was killed");
}

#[test]
fn an_unknown_user_is_a_clear_failure() {
    let context = "<method_context><method_credential user='nosuchuser-smf' group='nogroup'/></method_context>";
    let xml = bundle(&[service("site/who", true, "/bin/true", context)]);
    let daemon = Daemon::start(&[("who.xml", &xml)]);
    let fmri = "svc:/site/who:default";
    daemon.wait_state(fmri, State::Maintenance);
    let log = daemon.log(fmri);
    assert!(log.contains("nosuchuser-smf"), "{log}");
    match daemon.request(&Request::Explain {
        patterns: vec![fmri.into()],
    }) {
        Response::Explanations { explanations, .. } => {
            let text = format!("{:?}", explanations[0].reasons);
            assert!(text.contains("nosuchuser-smf"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn notify_readiness_holds_dependents_until_ready() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let go = dir.join("go");
    let notify = smf_tests::binary("smf-notify");
    let start = script(
        dir,
        "slow-ready",
        &format!(
            "{n} STATUS=warming-up\nwhile [ ! -e {go} ]; do sleep 0.05; done\n{n} READY=1 STATUS=serving\nexec sleep 1000",
            n = notify.display(),
            go = go.display()
        ),
    );
    let ready = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='child'/><propval name='readiness' type='astring' value='notify'/></property_group>";
    let xml = bundle(&[
        service("site/db", true, &start, ready),
        service(
            "site/app",
            true,
            &script(dir, "app", "sleep 1000 &\nexit 0"),
            &dependency("db", "require_all", "error", &["svc:/site/db"]),
        ),
    ]);
    let daemon = Daemon::start(&[("ready.xml", &xml)]);
    daemon.wait_for("the warming-up status", |d| {
        d.info("svc:/site/db:default")
            .is_some_and(|i| i.status.status_text.as_deref() == Some("warming-up"))
    });
    assert_eq!(daemon.state("svc:/site/db:default"), Some(State::Offline));
    assert_eq!(daemon.state("svc:/site/app:default"), Some(State::Offline));
    std::fs::write(&go, "").expect("go");
    daemon.wait_state("svc:/site/db:default", State::Online);
    daemon.wait_state("svc:/site/app:default", State::Online);
    let db = daemon.info("svc:/site/db:default").expect("db");
    assert_eq!(db.status.status_text.as_deref(), Some("serving"));
    // Every notification was attributed (smf-notify waits until svc.startd has looked).
    assert!(
        !daemon.stderr().contains("belongs to no instance"),
        "{}",
        daemon.stderr()
    );
}

#[test]
fn methods_start_with_no_signal_ignored_or_blocked() {
    let transient = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='transient'/></property_group>";
    // A plain command: executed directly, so /proc/self is the method itself.
    let xml = bundle(&[service(
        "site/signals",
        true,
        "/bin/grep -E ^(SigIgn|SigBlk) /proc/self/status",
        transient,
    )
    .replace("^(SigIgn|SigBlk)", "^Sig[IB][gl][nk]")]);
    let daemon = Daemon::start(&[("signals.xml", &xml)]);
    daemon.wait_state("svc:/site/signals:default", State::Online);
    let log = daemon.log("svc:/site/signals:default");
    assert!(log.contains("SigIgn:\t0000000000000000"), "{log}");
    assert!(log.contains("SigBlk:\t0000000000000000"), "{log}");
}

#[test]
fn a_missing_program_or_working_directory_is_a_clear_failure() {
    let xml = bundle(&[
        service("site/ghost", true, "/nonexistent/smf-ghost --serve", ""),
        service(
            "site/nowhere",
            true,
            "/bin/sleep 1000",
            "<method_context working_directory='/nonexistent/smf-dir'/>",
        ),
    ]);
    let daemon = Daemon::start(&[("ghost.xml", &xml)]);
    daemon.wait_state("svc:/site/ghost:default", State::Maintenance);
    let log = daemon.log("svc:/site/ghost:default");
    assert!(
        log.contains("/nonexistent/smf-ghost") && log.contains("not found"),
        "{log}"
    );
    daemon.wait_state("svc:/site/nowhere:default", State::Maintenance);
    match daemon.request(&Request::Explain {
        patterns: vec!["site/nowhere".into()],
    }) {
        Response::Explanations { explanations, .. } => {
            let text = format!("{:?}", explanations[0].reasons);
            assert!(text.contains("/nonexistent/smf-dir"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}
