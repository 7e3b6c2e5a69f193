//! svcs -x as data: root causes down dependency chains, in SMF's words, and impact sets.

use smf_core::engine::MethodName;
use smf_core::explain::{Problem, explain, root_causes};
use smf_core::sim::{Script, World, fmri_of};
use smf_core::state::State;

use super::*;

const NET: &str = "svc:/network/physical:default";
const DHCP: &str = "svc:/network/dhcp:default";
const WEB: &str = "svc:/web:default";

fn stack() -> Vec<String> {
    vec![
        service("network/physical", true, ""),
        service(
            "network/dhcp",
            true,
            &dep("net", "require_all", "error", &["svc:/network/physical"]),
        ),
        service("web", true, &dep("dhcp", "require_all", "restart", &[DHCP])),
    ]
}

fn broken_network() -> World {
    let mut world = World::new();
    world.behave(NET, MethodName::Start, Script::exit(1));
    world.import(&bundle(&stack()));
    world.run();
    world
}

#[test]
fn a_failed_instance_explains_itself_and_names_what_it_takes_down() {
    let world = broken_network();
    let network = explain(world.engine(), &fmri_of(NET)).expect("known");
    assert_eq!(network.state, State::Maintenance);
    assert_eq!(
        network.reasons,
        ["Start method failed repeatedly, last exited with status 1."]
    );
    assert_eq!(network.message_id, "SMF-8000-KS");
    assert_eq!(network.log_file, "log/network-physical:default.log");
    let impact: Vec<String> = network.impact.iter().map(|f| f.to_string()).collect();
    assert_eq!(impact, [DHCP, WEB]);
}

#[test]
fn why_is_web_offline_names_the_network_two_hops_away() {
    let world = broken_network();
    let web = explain(world.engine(), &fmri_of(WEB)).expect("known");
    assert_eq!(web.state, State::Offline);
    assert_eq!(
        web.reasons,
        [
            "Service svc:/network/physical:default is not running because a method failed repeatedly."
        ]
    );
    assert_eq!(web.blockers.len(), 1);
    assert_eq!(web.blockers[0].path, [WEB, DHCP, NET]);
    assert!(web.impact.is_empty());
}

#[test]
fn svcs_x_lists_the_root_cause_only() {
    let world = broken_network();
    let roots: Vec<String> = root_causes(world.engine())
        .iter()
        .map(|e| e.fmri.to_string())
        .collect();
    assert_eq!(roots, [NET]);
}

#[test]
fn a_disabled_dependency_is_a_root_cause_with_its_impact() {
    let mut world = world(&stack());
    world.disable(NET);
    world.run();
    let roots = root_causes(world.engine());
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].reasons, ["Disabled by an administrator."]);
    assert_eq!(roots[0].message_id, "SMF-8000-05");
    assert_eq!(roots[0].impact.len(), 2);
    let dhcp = explain(world.engine(), &fmri_of(DHCP)).expect("known");
    assert_eq!(
        dhcp.reasons,
        ["Service svc:/network/physical:default is disabled."]
    );
}

#[test]
fn absent_dependencies_and_exclusions_are_named() {
    let world = world(&[
        service("ntp", true, ""),
        service(
            "app",
            true,
            &[
                dep("db", "require_all", "none", &["svc:/not/installed:default"]),
                dep("no-ntp", "exclude_all", "none", &["svc:/ntp:default"]),
            ]
            .concat(),
        ),
    ]);
    let app = explain(world.engine(), &fmri_of("svc:/app:default")).expect("known");
    assert_eq!(
        app.reasons,
        [
            "Dependency svc:/not/installed:default is absent.",
            "Service svc:/ntp:default is running.",
        ]
    );
    assert_eq!(app.message_id, "SMF-8000-E2");
    assert_eq!(app.blockers[1].problem, Problem::Running);
}

#[test]
fn a_cycle_is_explained_with_its_path() {
    let world = world(&[
        service(
            "a",
            true,
            &dep("b", "require_all", "none", &["svc:/b:default"]),
        ),
        service(
            "b",
            true,
            &dep("a", "require_all", "none", &["svc:/a:default"]),
        ),
    ]);
    let b = explain(world.engine(), &fmri_of("svc:/b:default")).expect("known");
    assert_eq!(
        b.reasons,
        ["Completes a dependency cycle: svc:/b:default -> svc:/a:default -> svc:/b:default."]
    );
    let a = explain(world.engine(), &fmri_of("svc:/a:default")).expect("known");
    assert_eq!(
        a.reasons,
        ["Service svc:/b:default completed a dependency cycle."]
    );
}

#[test]
fn running_instances_have_no_reason_and_a_starting_one_says_so() {
    let mut world = World::new();
    world.behave("svc:/slow:default", MethodName::Start, Script::Hang);
    world.import(&bundle(&[
        service("fast", true, ""),
        service("slow", true, ""),
    ]));
    world.advance(1_000);
    let fast = explain(world.engine(), &fmri_of("svc:/fast:default")).expect("known");
    assert!(fast.reasons.is_empty());
    let slow = explain(world.engine(), &fmri_of("svc:/slow:default")).expect("known");
    assert_eq!(slow.reasons, ["Start method is running."]);
}

#[test]
fn a_temporarily_disabled_instance_says_so() {
    let mut world = world(&stack());
    world.send(smf_core::engine::Event::Disable {
        fmri: fmri_of(WEB),
        temporary: true,
    });
    world.run();
    let web = explain(world.engine(), &fmri_of(WEB)).expect("known");
    assert_eq!(web.reasons, ["Temporarily disabled by an administrator."]);
}
