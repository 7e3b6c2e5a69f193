//! Failures and thresholds: retries, crash loops, exit codes, timeouts, stop escalation.

use smf_core::engine::{MethodName, MethodStatus, Reason};
use smf_core::signal::Signal;
use smf_core::sim::{Script, World};
use smf_core::state::State;

use super::*;

const APP: &str = "svc:/app:default";

#[test]
fn a_start_method_that_always_fails_reaches_maintenance_on_the_third_failure() {
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::exit(1));
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 3);
    let status = world.status(APP).expect("known");
    assert_eq!(status.reason, Reason::FaultThresholdReached);
    assert_eq!(status.start_status, Some(MethodStatus::Exited(1)));
    // Retries are immediate: each start right after the previous failure.
    let starts: Vec<u64> = world
        .method_runs()
        .iter()
        .filter(|(_, f, m)| f.as_str() == APP && *m == MethodName::Start)
        .map(|(at, _, _)| at.millis())
        .collect();
    assert_eq!(
        starts.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>(),
        [10, 10]
    );
}

#[test]
fn config_and_fatal_exit_codes_go_to_maintenance_at_once() {
    for code in [95, 96, 99, 100] {
        let mut world = World::new();
        world.behave(APP, MethodName::Start, Script::exit(code));
        world.import(&bundle(&[service("app", true, "")]));
        world.run();
        assert_states(&world, &[(APP, State::Maintenance)]);
        assert_eq!(world.runs_of(APP, MethodName::Start), 1, "exit {code}");
        assert_eq!(
            world.status(APP).map(|s| s.reason),
            Some(Reason::MethodFailed)
        );
    }
}

#[test]
fn a_crash_loop_reaches_maintenance_on_exactly_the_thresholds_start() {
    // The daemon starts fine and crashes a second later, again and again. With the default
    // critical_failure_count of 5 (600 s), the fifth start within the window is refused.
    let mut world = world(&[service("app", true, "")]);
    for crash in 1..=4 {
        assert_states(&world, &[(APP, State::Online)]);
        world.advance(1_000);
        world.crash(APP);
        world.run();
        let expected = if crash < 4 {
            State::Online
        } else {
            State::Maintenance
        };
        assert_eq!(world.state(APP), Some(expected), "after crash {crash}");
    }
    assert_eq!(world.runs_of(APP, MethodName::Start), 4);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::RestartingTooQuickly)
    );
    assert!(
        world
            .logs(APP)
            .contains(&"Restarting too quickly, changing state to maintenance.")
    );
}

#[test]
fn restarts_below_the_threshold_are_immediate() {
    let mut world = world(&[service("app", true, "")]);
    world.advance(1_000);
    world.crash(APP);
    let crashed_at = world.now().millis();
    world.run();
    let restarted_at = world
        .method_runs()
        .iter()
        .rev()
        .find(|(_, f, m)| f.as_str() == APP && *m == MethodName::Start)
        .map(|(at, _, _)| at.millis())
        .expect("restarted");
    // Only the simulated 1-2 ms of the crash reports lie between: no back-off delay.
    assert!(
        restarted_at - crashed_at <= 5,
        "{}",
        restarted_at - crashed_at
    );
}

#[test]
fn the_start_rate_threshold_is_overridable_per_instance() {
    let props = startd(&[
        ("critical_failure_count", "integer", "2"),
        ("critical_failure_period", "integer", "60"),
    ]);
    let mut world = world(&[service("app", true, &props)]);
    world.advance(1_000);
    world.crash(APP);
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 1);

    // Spaced further apart than the period, the same crashes are fine.
    let mut world = World::new();
    world.import(&bundle(&[service("app", true, &props)]));
    world.run();
    for _ in 0..5 {
        world.advance(120_000);
        world.crash(APP);
        world.run();
        assert_states(&world, &[(APP, State::Online)]);
    }
}

#[test]
fn clear_after_maintenance_resets_the_history_and_retries() {
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::exit(1));
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);

    world.behave(APP, MethodName::Start, Script::exit(0));
    world.clear(APP);
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    let status = world.status(APP).expect("known");
    assert_eq!(status.reason, Reason::ClearRequest);
    assert_eq!(status.faults, 0);
    // Clear goes through uninitialized, as SMF's does.
    let tail: Vec<State> = world.states_of(APP).into_iter().rev().take(4).collect();
    assert_eq!(
        tail,
        [
            State::Online,
            State::Offline,
            State::Uninitialized,
            State::Maintenance
        ]
    );
}

#[test]
fn a_child_instance_in_a_crash_loop_also_ends_in_maintenance() {
    let child = startd(&[("duration", "astring", "child")]);
    let mut world = World::new();
    // The process runs for 100 ms, then exits 1.
    world.behave(
        APP,
        MethodName::Start,
        Script::Exit {
            after_ms: 100,
            status: MethodStatus::Exited(1),
            daemon: false,
        },
    );
    world.import(&bundle(&[service("app", true, &child)]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::RestartingTooQuickly)
    );
    assert_eq!(world.runs_of(APP, MethodName::Start), 4);
}

#[test]
fn a_child_instance_is_online_while_its_process_runs() {
    let child = startd(&[("duration", "astring", "child")]);
    let mut world = world(&[service("app", true, &child)]);
    assert_states(&world, &[(APP, State::Online)]);
    world.advance(60_000);
    assert_states(&world, &[(APP, State::Online)]);
    world.disable(APP);
    world.run();
    assert_states(&world, &[(APP, State::Disabled)]);
}

#[test]
fn a_child_that_exits_96_goes_to_maintenance() {
    let child = startd(&[("duration", "astring", "child")]);
    let mut world = World::new();
    world.behave(
        APP,
        MethodName::Start,
        Script::Exit {
            after_ms: 500,
            status: MethodStatus::Exited(96),
            daemon: false,
        },
    );
    world.import(&bundle(&[service("app", true, &child)]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::MethodFailed)
    );
}

#[test]
fn a_transient_instance_stays_online_after_its_start_method_exits() {
    let transient = startd(&[("duration", "astring", "transient")]);
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::exit_without_daemon());
    world.import(&bundle(&[service("app", true, &transient)]));
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 1);
}

#[test]
fn a_contract_start_method_that_leaves_nothing_behind_restarts_until_too_quick() {
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::exit_without_daemon());
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::RestartingTooQuickly)
    );
    assert!(
        world
            .logs(APP)
            .contains(&"Stopping because all processes in service exited.")
    );
}

#[test]
fn exit_94_means_nothing_to_track_and_stays_online() {
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::exit(94));
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
}

#[test]
fn exit_97_is_degraded_and_101_a_temporary_disable() {
    let mut world = World::new();
    let with_daemon = |code| Script::Exit {
        after_ms: 10,
        status: MethodStatus::Exited(code),
        daemon: true,
    };
    world.behave(APP, MethodName::Start, with_daemon(97));
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Degraded)]);

    let mut world = World::new();
    world.behave(APP, MethodName::Start, with_daemon(101));
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Disabled)]);
    let status = world.status(APP).expect("known");
    assert!(status.temporary && !status.enabled);
    assert_eq!(
        status.admin.enabled, None,
        "a temporary disable is not persisted"
    );
}

#[test]
fn a_hung_start_method_is_killed_at_its_timeout_and_retried() {
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::Hang);
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 3);
    let status = world.status(APP).expect("known");
    assert_eq!(status.reason, Reason::FaultThresholdReached);
    assert_eq!(
        status.start_status,
        Some(MethodStatus::Signaled {
            signal: Signal::KILL,
            core_dumped: false
        })
    );
    // Three attempts of 30 s each.
    assert!(world.now().millis() >= 1_000_000_000 + 90_000);
}

#[test]
fn timeout_retry_false_sends_a_timed_out_start_to_maintenance_at_once() {
    let props = startd(&[("timeout_retry", "boolean", "false")]);
    let mut world = World::new();
    world.behave(APP, MethodName::Start, Script::Hang);
    world.import(&bundle(&[service("app", true, &props)]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 1);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::MethodFailed)
    );
}

#[test]
fn processes_that_ignore_sigterm_are_killed_at_the_stop_timeout() {
    let mut world = world(&[service("app", true, "")]);
    world.set_stubborn(APP);
    world.disable(APP);
    world.advance(10_000);
    // Still stopping: SIGTERM is ignored, the 30 s stop timeout has not run out.
    assert_eq!(
        world.status(APP).map(|s| (s.state, s.next_state)),
        Some((State::Online, Some(State::Disabled)))
    );
    world.run();
    // As svc.startd: SIGKILL, and a stop that needed it is a failure.
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.daemons(APP), 0);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::MethodFailed)
    );
}

#[test]
fn a_core_dump_is_ignored_when_startd_ignore_error_says_so() {
    let props = startd(&[("ignore_error", "astring", "core,signal")]);
    let mut world = world(&[service("app", true, &props)]);
    world.send(smf_core::engine::Event::ProcessFaulted {
        fmri: smf_core::sim::fmri_of(APP),
        core_dumped: true,
    });
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 1);
}

#[test]
fn a_failing_stop_method_is_retried_then_maintenance() {
    let stop =
        "<exec_method type='method' name='stop' exec='/usr/bin/app-stop' timeout_seconds='5'/>";
    let xml = format!(
        "<service name='app' type='service' version='1'><create_default_instance enabled='true'/>
           <exec_method type='method' name='start' exec='/usr/bin/app' timeout_seconds='5'/>{stop}</service>"
    );
    let mut world = World::new();
    world.behave(APP, MethodName::Stop, Script::exit(1));
    world.import(&bundle(&[xml]));
    world.run();
    world.disable(APP);
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.runs_of(APP, MethodName::Stop), 3);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::FaultThresholdReached)
    );
    assert_eq!(world.daemons(APP), 0, "leftovers are killed");
}

#[test]
fn a_child_that_exits_0_at_once_lands_in_maintenance_but_one_that_ran_restarts_for_ever() {
    let child = startd(&[("duration", "astring", "child")]);
    // Exits 0 after 100 ms, again and again: an exit-0 loop is still a loop.
    let mut world = World::new();
    world.behave(
        APP,
        MethodName::Start,
        Script::Exit {
            after_ms: 100,
            status: MethodStatus::Exited(0),
            daemon: false,
        },
    );
    world.import(&bundle(&[service("app", true, &child)]));
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::RestartingTooQuickly)
    );

    // Runs 10 s each time, then exits 0: each exit starts a fresh history, as in SMF.
    let mut world = World::new();
    world.behave(
        APP,
        MethodName::Start,
        Script::Exit {
            after_ms: 10_000,
            status: MethodStatus::Exited(0),
            daemon: false,
        },
    );
    world.import(&bundle(&[service("app", true, &child)]));
    world.advance(120_000);
    assert_eq!(world.state(APP), Some(State::Online));
    assert!(world.runs_of(APP, MethodName::Start) >= 10);
}

/// The shell may give up on a method itself (`MethodTimedOut`): the engine kills it as if its
/// own timer had fired, and the kill's report is a failed start, retried.
#[test]
fn a_method_timed_out_report_kills_the_run_and_its_end_is_a_failure() {
    use smf_core::engine::{Action, Engine, Event};
    use smf_core::manifest::BundleKind;
    use smf_core::signal::Signal;
    use smf_core::state::Timestamp;

    let xml = bundle(&[service("app", true, "")]);
    let services = smf_core::manifest::parse("t.xml", xml.as_bytes())
        .bundle
        .expect("valid")
        .services;
    let mut engine = Engine::new();
    let start = |actions: &[Action]| {
        actions.iter().find_map(|action| match action {
            Action::RunMethod(run) if run.method == MethodName::Start => Some(run.run),
            _ => None,
        })
    };
    let actions = engine.handle(
        Event::Imported {
            kind: BundleKind::Manifest,
            services,
        },
        Timestamp::from_secs(10),
    );
    let run = start(&actions).expect("the start method runs");
    let actions = engine.handle(Event::MethodTimedOut { run }, Timestamp::from_secs(11));
    assert!(actions.contains(&Action::KillMethod {
        run,
        signal: Signal::KILL
    }));
    let killed = MethodStatus::Signaled {
        signal: Signal::KILL,
        core_dumped: false,
    };
    let actions = engine.handle(
        Event::MethodExited {
            run,
            status: killed.clone(),
        },
        Timestamp::from_secs(11),
    );
    let retry = start(&actions).expect("retried at once");
    assert_ne!(retry, run);
    let status = engine.status(&smf_core::sim::fmri_of(APP)).expect("known");
    assert_eq!((status.faults, status.start_status), (1, Some(killed)));
}
