//! Administrative requests: enable, disable, restart, refresh, clear, mark, and what
//! survives a restart of svc.startd.

use smf_core::engine::{Engine, Event, MarkState, MethodName, Reason};
use smf_core::sim::{World, fmri_of};
use smf_core::state::State;

use super::*;

const APP: &str = "svc:/app:default";

fn app_disabled() -> String {
    bundle(&[service("app", false, "")])
}

/// svc.startd restarts: a new engine with what the repository persisted, the same manifests.
fn restart_startd(world: &World, manifest: &str) -> World {
    let engine = Engine::with_admin_state(world.persisted().clone());
    let mut next = World::with_engine(engine);
    next.import(manifest);
    next.run();
    next
}

#[test]
fn a_temporary_enable_is_forgotten_when_startd_restarts_a_persistent_one_is_kept() {
    let manifest = app_disabled();
    let mut world = World::new();
    world.import(&manifest);
    world.run();
    assert_states(&world, &[(APP, State::Disabled)]);

    world.send(Event::Enable {
        fmri: fmri_of(APP),
        temporary: true,
        recursive: false,
    });
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    assert!(
        world.persisted().is_empty(),
        "nothing temporary is persisted"
    );
    let world = restart_startd(&world, &manifest);
    assert_states(&world, &[(APP, State::Disabled)]);

    let mut world = world;
    world.enable(APP);
    world.run();
    assert_eq!(
        world.persisted().get(&fmri_of(APP)).and_then(|a| a.enabled),
        Some(true)
    );
    let world = restart_startd(&world, &manifest);
    assert_states(&world, &[(APP, State::Online)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::DependenciesSatisfied)
    );
}

#[test]
fn a_persistent_disable_overrides_the_manifest_after_a_restart() {
    let manifest = bundle(&[service("app", true, "")]);
    let mut world = World::new();
    world.import(&manifest);
    world.run();
    world.disable(APP);
    world.run();
    let world = restart_startd(&world, &manifest);
    assert_states(&world, &[(APP, State::Disabled)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::DisableRequest)
    );
}

#[test]
fn mark_temporary_degraded_then_clear() {
    let mut world = world(&[service("app", true, "")]);
    world.mark(APP, MarkState::Degraded, false, true);
    world.run();
    assert_states(&world, &[(APP, State::Degraded)]);
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::AdministrativeRequest)
    );
    world.clear(APP);
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    // Degraded is still running: the daemon was never restarted.
    assert_eq!(world.runs_of(APP, MethodName::Start), 1);
}

#[test]
fn mark_maintenance_stops_the_instance_and_survives_a_restart_unless_temporary() {
    let manifest = bundle(&[service("app", true, "")]);
    let mut world = World::new();
    world.import(&manifest);
    world.run();
    world.mark(APP, MarkState::Maintenance, false, false);
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.daemons(APP), 0, "the stop method ran");
    assert_eq!(
        world.status(APP).map(|s| s.reason),
        Some(Reason::AdministrativeRequest)
    );
    let mut after = restart_startd(&world, &manifest);
    assert_states(&after, &[(APP, State::Maintenance)]);
    after.clear(APP);
    after.run();
    assert_states(&after, &[(APP, State::Online)]);

    let mut world = World::new();
    world.import(&manifest);
    world.run();
    world.mark(APP, MarkState::Maintenance, false, true);
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    let after = restart_startd(&world, &manifest);
    assert_states(&after, &[(APP, State::Online)]);
}

#[test]
fn immediate_maintenance_leaves_the_processes_alone() {
    let mut world = world(&[service("app", true, "")]);
    world.mark(APP, MarkState::Maintenance, true, false);
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
    assert_eq!(world.runs_of(APP, MethodName::Stop), 0);
}

#[test]
fn disabling_an_instance_in_maintenance_leaves_maintenance() {
    let mut world = world(&[service("app", true, "")]);
    world.mark(APP, MarkState::Maintenance, false, false);
    world.run();
    world.disable(APP);
    world.run();
    assert_states(&world, &[(APP, State::Disabled)]);
    assert!(
        world
            .logs(APP)
            .contains(&"Leaving maintenance because disable requested.")
    );
    world.enable(APP);
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
}

#[test]
fn enable_in_maintenance_changes_nothing() {
    let mut world = world(&[service("app", true, "")]);
    world.mark(APP, MarkState::Maintenance, false, false);
    world.run();
    world.enable(APP);
    world.run();
    assert_states(&world, &[(APP, State::Maintenance)]);
}

#[test]
fn restart_of_an_instance_that_is_not_running_is_ignored() {
    let mut world = world(&[service("app", false, "")]);
    world.restart(APP);
    world.run();
    assert_states(&world, &[(APP, State::Disabled)]);
    assert_eq!(world.runs_of(APP, MethodName::Start), 0);
}

#[test]
fn refresh_runs_the_refresh_method_and_restarts_refresh_dependents() {
    let refresh = "<exec_method type='method' name='refresh' exec='/usr/bin/app-reload' timeout_seconds='5'/>";
    let app = format!(
        "<service name='app' type='service' version='1'><create_default_instance enabled='true'/>
           <exec_method type='method' name='start' exec='/usr/bin/app' timeout_seconds='5'/>
           <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>{refresh}</service>"
    );
    let mut world = world(&[
        app,
        service(
            "follower",
            true,
            &dep("app", "require_all", "refresh", &[APP]),
        ),
        service(
            "bystander",
            true,
            &dep("app", "require_all", "restart", &[APP]),
        ),
    ]);
    world.refresh(APP);
    world.run();
    assert_eq!(world.runs_of(APP, MethodName::Refresh), 1);
    assert_eq!(
        world.runs_of(APP, MethodName::Start),
        1,
        "refresh does not restart"
    );
    assert_eq!(world.runs_of("svc:/follower:default", MethodName::Start), 2);
    assert_eq!(
        world.runs_of("svc:/bystander:default", MethodName::Start),
        1
    );
    assert_states(
        &world,
        &[
            (APP, State::Online),
            ("svc:/follower:default", State::Online),
        ],
    );
}

#[test]
fn enable_recursive_enables_every_dependency() {
    let mut world = world(&[
        service("db", false, ""),
        service(
            "cache",
            false,
            &dep("db", "require_all", "none", &["svc:/db:default"]),
        ),
        service("blocked", false, ""),
        service(
            "web",
            false,
            &[
                dep("cache", "require_all", "none", &["svc:/cache:default"]),
                dep(
                    "not-blocked",
                    "exclude_all",
                    "none",
                    &["svc:/blocked:default"],
                ),
            ]
            .concat(),
        ),
    ]);
    world.send(Event::Enable {
        fmri: fmri_of("svc:/web:default"),
        temporary: false,
        recursive: true,
    });
    world.run();
    assert_states(
        &world,
        &[
            ("svc:/db:default", State::Online),
            ("svc:/cache:default", State::Online),
            ("svc:/web:default", State::Online),
            ("svc:/blocked:default", State::Disabled),
        ],
    );
}

#[test]
fn enable_recursive_through_a_cycle_terminates() {
    let mut world = world(&[
        service(
            "a",
            false,
            &dep("b", "optional_all", "none", &["svc:/b:default"]),
        ),
        service(
            "b",
            false,
            &dep("a", "optional_all", "none", &["svc:/a:default"]),
        ),
    ]);
    world.send(Event::Enable {
        fmri: fmri_of("svc:/a:default"),
        temporary: true,
        recursive: true,
    });
    world.run();
    assert_eq!(
        world.status("svc:/b:default").map(|s| s.enabled),
        Some(true)
    );
}

#[test]
fn deleting_a_service_stops_it_and_its_dependents_see_it_absent() {
    let mut world = world(&[
        service("db", true, ""),
        service(
            "web",
            true,
            &dep("db", "require_all", "error", &["svc:/db:default"]),
        ),
    ]);
    world.send(Event::Removed {
        services: vec!["db".to_string()],
    });
    world.run();
    assert_eq!(world.state("svc:/db:default"), None);
    assert_eq!(world.daemons("svc:/db:default"), 0);
    assert_states(&world, &[("svc:/web:default", State::Offline)]);
}

#[test]
fn reimporting_a_changed_manifest_refreshes_a_running_instance() {
    let mut world = world(&[service("app", true, "")]);
    world.import(&bundle(&[service(
        "app",
        true,
        &startd(&[("ignore_error", "astring", "core")]),
    )]));
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    assert!(
        world
            .logs(APP)
            .contains(&"No 'refresh' method defined.  Treating as :true.")
    );
}

#[test]
fn shutdown_stops_dependents_before_their_dependencies() {
    let mut world = world(&[
        service("db", true, ""),
        service(
            "web",
            true,
            &dep("db", "require_all", "none", &["svc:/db:default"]),
        ),
        service(
            "proxy",
            true,
            &dep("web", "optional_all", "none", &["svc:/web:default"]),
        ),
    ]);
    world.send(Event::Shutdown);
    world.run();
    assert!(world.engine().is_shut_down());
    let stopped: Vec<&str> = world
        .transitions()
        .iter()
        .filter(|t| {
            t.next_state.is_none() && !t.state.is_running() && t.reason == Reason::DisableRequest
        })
        .map(|t| t.fmri.as_str())
        .collect();
    assert_eq!(
        stopped,
        ["svc:/proxy:default", "svc:/web:default", "svc:/db:default"]
    );
}

/// db takes a second to start; web requires it. Half a second in, db is still starting.
fn db_starting_web_waiting() -> World {
    let mut world = World::new();
    world.script(
        "svc:/db:default",
        MethodName::Start,
        smf_core::sim::Script::slow(1_000),
    );
    world.import(&bundle(&[
        service("db", true, ""),
        service(
            "web",
            true,
            &dep("db", "require_all", "error", &["svc:/db:default"]),
        ),
    ]));
    world.advance(500);
    world
}

#[test]
fn disabling_an_instance_while_it_starts_never_lets_its_dependents_start() {
    let mut world = db_starting_web_waiting();
    world.disable("svc:/db:default");
    world.run();
    assert_states(
        &world,
        &[
            ("svc:/db:default", State::Disabled),
            ("svc:/web:default", State::Offline),
        ],
    );
    assert_eq!(world.runs_of("svc:/web:default", MethodName::Start), 0);
    assert_eq!(world.daemons("svc:/db:default"), 0);
}

#[test]
fn shutdown_while_starting_stops_it_once_started_and_starts_nothing_else() {
    let mut world = db_starting_web_waiting();
    world.send(Event::Shutdown);
    world.run();
    assert!(world.engine().is_shut_down());
    assert_eq!(world.runs_of("svc:/web:default", MethodName::Start), 0);
    assert_eq!(world.daemons("svc:/db:default"), 0);
}

/// Found by the property test: s0 is restarted (its stop already in flight) and then marked
/// for maintenance; s2, taken down with it, waits for its own dependents s5 and s7 (s7 still
/// starting). s0 settles first; s5 must not start again before s2's stop is over, or s2
/// waits for it forever.
#[test]
fn dependents_taken_down_stay_down_until_every_stop_of_the_take_down_is_over() {
    let mut world = World::new();
    world.behave(
        "svc:/s0:default",
        MethodName::Start,
        smf_core::sim::Script::slow(400),
    );
    world.import(&bundle(&[
        service("s0", true, ""),
        service(
            "s1",
            false,
            &dep("d0", "require_all", "error", &["svc:/s0:default"]),
        ),
        service(
            "s2",
            false,
            &dep("d0", "optional_all", "restart", &["svc:/s0:default"]),
        ),
        service("s3", true, ""),
        service(
            "s5",
            true,
            &dep(
                "d0",
                "require_any",
                "restart",
                &["svc:/s2:default", "svc:/s3:default"],
            ),
        ),
        service(
            "s7",
            true,
            &dep("d0", "require_any", "restart", &["svc:/s2"]),
        ),
    ]));
    world.run();
    world.enable("svc:/s2:default");
    world.step(None);
    world.restart("svc:/s0:default");
    world.mark("svc:/s0:default", MarkState::Maintenance, false, false);
    world.run();
    assert!(
        world.engine().is_settled(),
        "{:#?}",
        world.engine().statuses()
    );
    assert_states(
        &world,
        &[
            ("svc:/s0:default", State::Maintenance),
            ("svc:/s2:default", State::Online),
            ("svc:/s5:default", State::Online),
        ],
    );
}

fn app_with_refresh() -> String {
    "<service name='app' type='service' version='1'><create_default_instance enabled='true'/>
       <exec_method type='method' name='start' exec='/usr/bin/app' timeout_seconds='5'/>
       <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>
       <exec_method type='method' name='refresh' exec='/usr/bin/app-reload' timeout_seconds='5'/>
     </service>"
        .to_string()
}

fn slow_refresh(world: &mut World) {
    world.script(
        APP,
        MethodName::Refresh,
        smf_core::sim::Script::Exit {
            after_ms: 1_000,
            status: smf_core::engine::MethodStatus::Exited(0),
            daemon: false,
        },
    );
}

#[test]
fn a_disable_during_a_refresh_waits_for_the_refresh_method() {
    let mut world = world(&[app_with_refresh()]);
    slow_refresh(&mut world);
    world.refresh(APP);
    world.advance(100);
    world.disable(APP);
    world.advance(100);
    // Still refreshing; nothing signalled yet.
    assert_eq!(world.daemons(APP), 1);
    world.run();
    assert_states(&world, &[(APP, State::Disabled)]);
    // Dependents saw it on its way out at once; its processes went only after the refresh.
    let first = |wanted: &dyn Fn(&smf_core::engine::Transition) -> bool| {
        world
            .transitions()
            .iter()
            .find(|t| t.fmri.as_str() == APP && wanted(t))
            .map(|t| t.at.millis())
            .expect("that transition happened")
    };
    let heading_out = first(&|t| t.next_state == Some(State::Disabled));
    let disabled = first(&|t| t.state == State::Disabled);
    assert!(heading_out < 1_000_000_500, "{heading_out}");
    assert!(
        disabled >= 1_000_001_000,
        "the stop waited for the refresh: {disabled}"
    );
}

#[test]
fn processes_that_exit_during_a_refresh_are_noticed_when_it_ends() {
    let mut world = world(&[app_with_refresh()]);
    slow_refresh(&mut world);
    world.refresh(APP);
    world.advance(100);
    world.exit_daemons(APP);
    world.run();
    assert_states(&world, &[(APP, State::Online)]);
    assert_eq!(
        world.runs_of(APP, MethodName::Start),
        2,
        "restarted after the refresh"
    );
    assert!(
        world
            .logs(APP)
            .contains(&"Stopping because all processes in service exited.")
    );
}
