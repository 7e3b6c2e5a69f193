//! Dependencies: who waits for whom, and who follows whom down and back up.

use smf_core::engine::{MethodName, Reason};
use smf_core::sim::{Script, World};
use smf_core::state::State;

use super::*;

const NETWORK: &str = "svc:/network/physical:default";
const DHCP: &str = "svc:/network/dhcp:default";

fn network_and_dhcp() -> Vec<String> {
    vec![
        service("network/physical", true, ""),
        service(
            "network/dhcp",
            true,
            &dep(
                "network",
                "require_all",
                "error",
                &["svc:/network/physical"],
            ),
        ),
    ]
}

#[test]
fn dhcp_starts_only_once_the_network_is_online() {
    let mut world = World::new();
    // The network takes two seconds to come up.
    world.script(NETWORK, MethodName::Start, Script::slow(2_000));
    world.import(&bundle(&network_and_dhcp()));
    world.advance(1_000);
    assert_states(&world, &[(NETWORK, State::Offline), (DHCP, State::Offline)]);
    assert_eq!(
        world.status(NETWORK).map(|s| s.next_state),
        Some(Some(State::Online))
    );
    assert_eq!(world.runs_of(DHCP, MethodName::Start), 0, "dhcp must wait");

    world.run();
    assert_states(&world, &[(NETWORK, State::Online), (DHCP, State::Online)]);
    let network_online = world
        .transitions()
        .iter()
        .find(|t| t.fmri.as_str() == NETWORK && t.state == State::Online)
        .map(|t| t.at.millis())
        .expect("network came online");
    assert!(first_run(&world, DHCP, MethodName::Start) >= network_online);
    assert_eq!(
        world.status(DHCP).map(|s| s.reason),
        Some(Reason::DependenciesSatisfied)
    );
}

#[test]
fn dhcp_follows_a_failing_network_down_and_comes_back_when_it_is_cleared() {
    let mut world = world(&network_and_dhcp());
    assert_states(&world, &[(NETWORK, State::Online), (DHCP, State::Online)]);

    // The network daemon dumps core, and from now on its start method fails.
    world.behave(NETWORK, MethodName::Start, Script::exit(1));
    world.crash(NETWORK);
    world.run();
    assert_states(
        &world,
        &[(NETWORK, State::Maintenance), (DHCP, State::Offline)],
    );
    assert_eq!(
        world.status(NETWORK).map(|s| s.reason),
        Some(Reason::FaultThresholdReached)
    );
    // restart_on=error: a fault of the network took dhcp down.
    assert_eq!(
        world.states_of(DHCP),
        [
            State::Uninitialized,
            State::Offline,
            State::Online,
            State::Offline
        ]
    );
    assert_eq!(world.daemons(DHCP), 0);

    // The administrator repairs the network and clears it.
    world.behave(NETWORK, MethodName::Start, Script::exit(0));
    world.clear(NETWORK);
    world.run();
    assert_states(&world, &[(NETWORK, State::Online), (DHCP, State::Online)]);
    assert_eq!(
        world.status(NETWORK).map(|s| s.reason),
        Some(Reason::ClearRequest)
    );
}

#[test]
fn restart_on_error_ignores_a_clean_restart_of_the_dependency() {
    let mut world = world(&network_and_dhcp());
    let dhcp_starts = world.runs_of(DHCP, MethodName::Start);
    world.restart(NETWORK);
    world.run();
    assert_states(&world, &[(NETWORK, State::Online), (DHCP, State::Online)]);
    assert_eq!(world.runs_of(DHCP, MethodName::Start), dhcp_starts);
    assert_eq!(
        world.status(NETWORK).map(|s| s.reason),
        Some(Reason::RestartRequest)
    );
}

#[test]
fn restart_on_restart_follows_a_restart_of_the_dependency() {
    let mut world = world(&[
        service("db", true, ""),
        service(
            "web",
            true,
            &dep("db", "require_all", "restart", &["svc:/db:default"]),
        ),
    ]);
    world.restart("svc:/db:default");
    world.run();
    assert_eq!(world.runs_of("svc:/web:default", MethodName::Start), 2);
    assert_states(&world, &[("svc:/web:default", State::Online)]);
    // web stopped after db went down and started after db came back.
    let web_stop = world
        .transitions()
        .iter()
        .position(|t| {
            t.fmri.as_str() == "svc:/web:default"
                && t.state == State::Offline
                && t.reason == Reason::DependencyActivity
        })
        .expect("web stopped");
    let db_online = world
        .transitions()
        .iter()
        .rposition(|t| t.fmri.as_str() == "svc:/db:default" && t.state == State::Online)
        .expect("db back");
    assert!(web_stop < db_online);
}

#[test]
fn require_any_is_satisfied_by_one_of_two_alternatives() {
    let world = world(&[
        service("net/wired", false, ""),
        service("net/wifi", true, ""),
        service(
            "app",
            true,
            &dep(
                "uplink",
                "require_any",
                "none",
                &["svc:/net/wired:default", "svc:/net/wifi:default"],
            ),
        ),
    ]);
    assert_states(
        &world,
        &[
            ("svc:/net/wired:default", State::Disabled),
            ("svc:/net/wifi:default", State::Online),
            ("svc:/app:default", State::Online),
        ],
    );
}

#[test]
fn require_any_waits_while_an_alternative_may_still_come_up() {
    let mut world = World::new();
    world.behave("svc:/net/wifi:default", MethodName::Start, Script::Hang);
    world.import(&bundle(&[
        service("net/wired", false, ""),
        service("net/wifi", true, ""),
        service(
            "app",
            true,
            &dep(
                "uplink",
                "require_any",
                "none",
                &["svc:/net/wired:default", "svc:/net/wifi:default"],
            ),
        ),
    ]));
    world.advance(5_000);
    assert_states(&world, &[("svc:/app:default", State::Offline)]);
    let (now, ever) = world
        .engine()
        .satisfaction(&smf_core::sim::fmri_of("svc:/app:default"))
        .expect("known");
    assert_eq!(now, smf_core::graph::Satisfaction::Waiting);
    assert_eq!(ever, smf_core::graph::Satisfaction::Waiting);
    // Once both are gone, it cannot come up without an administrator.
    world.disable("svc:/net/wifi:default");
    world.run();
    let (_, ever) = world
        .engine()
        .satisfaction(&smf_core::sim::fmri_of("svc:/app:default"))
        .expect("known");
    assert_eq!(ever, smf_core::graph::Satisfaction::Unsatisfiable);
}

#[test]
fn optional_all_is_satisfied_by_a_disabled_and_an_absent_dependency() {
    let world = world(&[
        service("extras", false, ""),
        service(
            "app",
            true,
            &dep(
                "nice-to-have",
                "optional_all",
                "none",
                &["svc:/extras:default", "svc:/not/installed:default"],
            ),
        ),
    ]);
    assert_states(
        &world,
        &[
            ("svc:/extras:default", State::Disabled),
            ("svc:/app:default", State::Online),
        ],
    );
}

#[test]
fn optional_all_waits_for_an_enabled_dependency_that_is_coming_up() {
    let mut world = World::new();
    world.script(
        "svc:/extras:default",
        MethodName::Start,
        Script::slow(3_000),
    );
    world.import(&bundle(&[
        service("extras", true, ""),
        service(
            "app",
            true,
            &dep("nice", "optional_all", "none", &["svc:/extras:default"]),
        ),
    ]));
    world.advance(1_000);
    assert_states(&world, &[("svc:/app:default", State::Offline)]);
    world.run();
    assert!(first_run(&world, "svc:/app:default", MethodName::Start) >= 1_000_000_000 + 3_000);
    assert_states(&world, &[("svc:/app:default", State::Online)]);
}

#[test]
fn exclude_all_keeps_a_conflicting_service_from_starting() {
    let mut world = world(&[
        service("ntp", true, ""),
        service(
            "chrony",
            true,
            &dep("no-ntp", "exclude_all", "restart", &["svc:/ntp:default"]),
        ),
    ]);
    assert_states(
        &world,
        &[
            ("svc:/ntp:default", State::Online),
            ("svc:/chrony:default", State::Offline),
        ],
    );
    assert_eq!(world.runs_of("svc:/chrony:default", MethodName::Start), 0);

    // With ntp disabled, chrony may run...
    world.disable("svc:/ntp:default");
    world.run();
    assert_states(
        &world,
        &[
            ("svc:/ntp:default", State::Disabled),
            ("svc:/chrony:default", State::Online),
        ],
    );

    // ...and when ntp comes back, chrony (restart_on=restart) is stopped again.
    world.enable("svc:/ntp:default");
    world.run();
    assert_states(
        &world,
        &[
            ("svc:/ntp:default", State::Online),
            ("svc:/chrony:default", State::Offline),
        ],
    );
}

#[test]
fn an_absent_require_all_dependency_keeps_the_instance_offline() {
    let world = world(&[service(
        "app",
        true,
        &dep("db", "require_all", "none", &["svc:/not/installed:default"]),
    )]);
    assert_states(&world, &[("svc:/app:default", State::Offline)]);
    let (_, ever) = world
        .engine()
        .satisfaction(&smf_core::sim::fmri_of("svc:/app:default"))
        .expect("known");
    assert_eq!(ever, smf_core::graph::Satisfaction::Unsatisfiable);
}

#[test]
fn path_dependencies_start_once_the_file_is_seen() {
    let conf = "<dependency name='conf' grouping='require_all' restart_on='none' type='path'>
                  <service_fmri value='file://localhost/etc/app.conf'/></dependency>";
    let mut world = world(&[service("app", true, conf)]);
    assert_states(&world, &[("svc:/app:default", State::Offline)]);
    // The file appears; svcadm refresh makes svc.startd look again.
    world.create_file("/etc/app.conf");
    world.refresh("svc:/app:default");
    world.run();
    assert_states(&world, &[("svc:/app:default", State::Online)]);
}

#[test]
fn a_dependency_on_a_service_is_satisfied_by_any_of_its_instances() {
    let instances = "<service name='db' type='service' version='1'>
        <instance name='primary' enabled='false'/>
        <instance name='replica' enabled='true'/>
        <exec_method type='method' name='start' exec='/usr/bin/db' timeout_seconds='30'/>
        <exec_method type='method' name='stop' exec=':kill' timeout_seconds='30'/>
      </service>";
    let world = world(&[
        instances.to_string(),
        service("app", true, &dep("db", "require_all", "none", &["svc:/db"])),
    ]);
    assert_states(
        &world,
        &[
            ("svc:/db:replica", State::Online),
            ("svc:/app:default", State::Online),
        ],
    );
}

#[test]
fn disabling_a_dependency_takes_require_all_dependents_offline_first_and_back_up_later() {
    let mut world = world(&network_and_dhcp());
    world.disable(NETWORK);
    world.run();
    assert_states(
        &world,
        &[(NETWORK, State::Disabled), (DHCP, State::Offline)],
    );
    assert_eq!(
        world.status(DHCP).map(|s| s.enabled),
        Some(true),
        "offline, not disabled"
    );
    // The dependent stopped before the dependency did.
    let order: Vec<&str> = world
        .transitions()
        .iter()
        .filter(|t| t.next_state.is_none() && matches!(t.state, State::Offline | State::Disabled))
        .map(|t| t.fmri.as_str())
        .collect();
    assert_eq!(order.last(), Some(&NETWORK));
    world.enable(NETWORK);
    world.run();
    assert_states(&world, &[(NETWORK, State::Online), (DHCP, State::Online)]);
}

#[test]
fn restart_on_none_dependents_stay_up_when_the_dependency_is_disabled() {
    let mut world = world(&[
        service("logger", true, ""),
        service(
            "app",
            true,
            &dep("log", "require_all", "none", &["svc:/logger:default"]),
        ),
    ]);
    world.disable("svc:/logger:default");
    world.run();
    assert_states(
        &world,
        &[
            ("svc:/logger:default", State::Disabled),
            ("svc:/app:default", State::Online),
        ],
    );
}

#[test]
fn to_start_lists_the_enabled_instances_not_running_in_import_order_with_their_durations() {
    let transient = startd(&[("duration", "astring", "transient")]);
    let mut world = World::new();
    world.import(&bundle(&[
        service("a", true, ""),
        service(
            "b",
            true,
            &dep("a", "require_all", "none", &["svc:/a:default"]),
        ),
        service("off", false, ""),
        service("once", true, &transient),
    ]));
    let listed = |world: &World| -> Vec<(String, smf_core::engine::Duration)> {
        world
            .engine()
            .to_start()
            .into_iter()
            .map(|(fmri, duration)| (fmri.to_string(), duration))
            .collect()
    };
    // Before anything ran: every enabled instance, b although it waits for a; not the
    // disabled one.
    assert_eq!(
        listed(&world),
        vec![
            (
                "svc:/a:default".to_string(),
                smf_core::engine::Duration::Contract
            ),
            (
                "svc:/b:default".to_string(),
                smf_core::engine::Duration::Contract
            ),
            (
                "svc:/once:default".to_string(),
                smf_core::engine::Duration::Transient
            ),
        ]
    );
    world.run();
    assert_states(
        &world,
        &[
            ("svc:/a:default", State::Online),
            ("svc:/b:default", State::Online),
            ("svc:/off:default", State::Disabled),
        ],
    );
    assert_eq!(listed(&world), vec![], "all running");
}
