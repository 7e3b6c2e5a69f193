//! svc.startd killed and started again: services keep running and are found, not started
//! twice; what died meanwhile is started again. SIGTERM stops everything in order; SIGHUP
//! re-reads manifests.

use smf_core::protocol::{AdminAction, Request, Response};
use smf_core::state::State;
use smf_tests::daemon::{Daemon, alive, bundle, dependency, service};

use super::script;

#[test]
fn killed_with_sigkill_and_restarted_it_readopts_everything_without_duplicates() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let daemon_start = script(dir, "daemon", "sleep 1000 &\nexit 0");
    let child_start = script(dir, "child", "exec sleep 1000");
    let child = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='child'/></property_group>";
    let transient = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='transient'/></property_group>";
    let xml = bundle(&[
        service("site/daemon", true, &daemon_start, ""),
        service("site/child", true, &child_start, child),
        service(
            "site/once",
            true,
            &script(dir, "once", "echo ran >> \"$0.count\"\nexit 0"),
            transient,
        ),
        service(
            "site/victim",
            true,
            &daemon_start,
            &dependency("d", "require_all", "error", &["svc:/site/daemon"]),
        ),
    ]);
    let mut daemon = Daemon::start(&[("adopt.xml", &xml)]);
    let all = [
        "svc:/site/daemon:default",
        "svc:/site/child:default",
        "svc:/site/once:default",
        "svc:/site/victim:default",
    ];
    for fmri in all {
        daemon.wait_state(fmri, State::Online);
    }
    daemon.wait_for("the processes to be listed", |d| {
        !d.pids("svc:/site/daemon:default").is_empty()
            && !d.pids("svc:/site/child:default").is_empty()
            && !d.pids("svc:/site/victim:default").is_empty()
    });
    let before_daemon = daemon.pids("svc:/site/daemon:default");
    let before_child = daemon.pids("svc:/site/child:default");
    let before_victim = daemon.pids("svc:/site/victim:default");

    daemon.kill9();
    for pid in before_daemon
        .iter()
        .chain(&before_child)
        .chain(&before_victim)
    {
        assert!(alive(*pid), "services keep running when svc.startd dies");
    }
    // While it is down, one service dies.
    for &pid in &before_victim {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    daemon.launch();
    for fmri in all {
        daemon.wait_state(fmri, State::Online);
    }
    assert_eq!(
        daemon.pids("svc:/site/daemon:default"),
        before_daemon,
        "adopted, not restarted"
    );
    assert_eq!(
        daemon.pids("svc:/site/child:default"),
        before_child,
        "adopted, not restarted"
    );
    for fmri in ["svc:/site/daemon:default", "svc:/site/child:default"] {
        let log = daemon.log(fmri);
        assert_eq!(
            log.matches("Executing start method").count(),
            1,
            "{fmri}:\n{log}"
        );
    }
    let once = std::fs::read_to_string(format!("{}/once.count", dir.display())).unwrap_or_default();
    assert_eq!(
        once.lines().count(),
        1,
        "a transient service is not run again"
    );
    daemon.wait_for("the dead service to run again", |d| {
        let pids = d.pids("svc:/site/victim:default");
        !pids.is_empty() && pids.iter().all(|pid| !before_victim.contains(pid))
    });

    // An adopted process that dies is noticed (pidfd) and its service restarted.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(before_child[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
    daemon.wait_for("the adopted child to be replaced", |d| {
        d.info("svc:/site/child:default").is_some_and(|i| {
            i.status.state == State::Online
                && !i.processes.is_empty()
                && i.processes.iter().all(|p| p.pid != before_child[0])
        })
    });
}

#[test]
fn sigterm_stops_dependents_first_then_exits_0() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let order = dir.join("order");
    let stop = |name: &str| {
        script(
            dir,
            &format!("stop-{name}"),
            &format!(
                "echo {name} >> {}\nkill $(cat {}/{name}.pid)\nexit 0",
                order.display(),
                dir.display()
            ),
        )
    };
    let start = |name: &str| {
        script(
            dir,
            &format!("start-{name}"),
            &format!(
                "sleep 1000 &\necho $! > {}/{name}.pid\nexit 0",
                dir.display()
            ),
        )
    };
    let with_stop = |name: &str, deps: &str| {
        service(&format!("site/{name}"), true, &start(name), deps)
            .replace("exec=':kill'", &format!("exec='{}'", stop(name)))
    };
    let xml = bundle(&[
        with_stop("a", ""),
        with_stop(
            "b",
            &dependency("a", "require_all", "none", &["svc:/site/a"]),
        ),
        with_stop(
            "c",
            &dependency("b", "require_all", "none", &["svc:/site/b"]),
        ),
    ]);
    let mut daemon = Daemon::start(&[("chain.xml", &xml)]);
    for name in ["a", "b", "c"] {
        daemon.wait_state(&format!("svc:/site/{name}:default"), State::Online);
    }
    let pids: Vec<u32> = ["a", "b", "c"]
        .iter()
        .flat_map(|n| daemon.pids(&format!("svc:/site/{n}:default")))
        .collect();
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0), "stderr:\n{}", daemon.stderr());
    let order = std::fs::read_to_string(&order).expect("stop methods ran");
    assert_eq!(order.lines().collect::<Vec<_>>(), ["c", "b", "a"]);
    assert!(pids.iter().all(|&pid| !alive(pid)));
}

#[test]
fn sighup_imports_changed_manifests_and_a_broken_one_does_not_stop_the_others() {
    let bin = tempfile::tempdir().expect("tempdir");
    let dir = bin.path();
    let start = script(dir, "run", "sleep 1000 &\nexit 0");
    let first = bundle(&[service("site/one", true, &start, "")]);
    let daemon = Daemon::start(&[
        ("one.xml", &first),
        ("broken.xml", "<service_bundle type='manifest'"),
    ]);
    daemon.wait_state("svc:/site/one:default", State::Online);
    match daemon.request(&Request::Explain { patterns: vec![] }) {
        Response::Explanations { errors, .. } => {
            assert!(
                errors.iter().any(|e| e.contains("broken.xml")),
                "{errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let second = bundle(&[service("site/two", true, &start, "")]);
    std::fs::write(daemon.root().join("manifest/two.xml"), second).expect("write");
    let pid = daemon.pid().expect("running");
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGHUP,
    );
    daemon.wait_state("svc:/site/two:default", State::Online);
    assert_eq!(daemon.state("svc:/site/one:default"), Some(State::Online));
    // A disabled instance stays disabled across a restart of svc.startd (persistent state).
    daemon.admin(
        AdminAction::Disable { temporary: false },
        "svc:/site/one:default",
    );
    daemon.wait_state("svc:/site/one:default", State::Disabled);
}

#[test]
fn admin_state_survives_a_restart() {
    let bin = tempfile::tempdir().expect("tempdir");
    let start = script(bin.path(), "run", "sleep 1000 &\nexit 0");
    let xml = bundle(&[service("site/kept", true, &start, "")]);
    let mut daemon = Daemon::start(&[("kept.xml", &xml)]);
    let fmri = "svc:/site/kept:default";
    daemon.wait_state(fmri, State::Online);
    daemon.admin(AdminAction::Disable { temporary: false }, fmri);
    daemon.wait_state(fmri, State::Disabled);
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0));
    daemon.launch();
    daemon.wait_state(fmri, State::Disabled);
    match daemon.request(&Request::History {
        pattern: fmri.into(),
        limit: 50,
    }) {
        Response::History { entries, .. } => {
            assert!(entries.iter().any(|e| e.to == State::Online));
            assert!(entries.iter().any(|e| e.to == State::Disabled));
        }
        other => panic!("{other:?}"),
    }
}
