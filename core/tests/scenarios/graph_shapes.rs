//! Whole graphs: cycles, depth, re-imports.

use smf_core::engine::{MethodName, Reason};
use smf_core::manifest::Service;
use smf_core::sim::World;
use smf_core::state::State;

use super::*;

/// Ten services: s0 <- s1 <- ... <- s9 (each requires the previous), plus `extra`.
fn ten(extra_on_s2: &str) -> Vec<String> {
    (0..10)
        .map(|i| {
            let mut deps = String::new();
            if i > 0 {
                deps.push_str(&dep(
                    "prev",
                    "require_all",
                    "error",
                    &[&format!("svc:/s{}:default", i - 1)],
                ));
            }
            if i == 2 {
                deps.push_str(extra_on_s2);
            }
            service(&format!("s{i}"), true, &deps)
        })
        .collect()
}

#[test]
fn a_cycle_in_a_ten_service_graph_is_isolated_and_named() {
    // s2 also requires s5, and s5 (through s3, s4) requires s2: s2 -> s5 -> s4 -> s3 -> s2.
    // s5 is imported after s2, but s2's own dependency is the one that closes the loop when
    // the whole manifest is read: the last-imported member completes it.
    let world = world(&ten(&dep(
        "late",
        "require_all",
        "none",
        &["svc:/s5:default"],
    )));
    assert_states(
        &world,
        &[
            ("svc:/s0:default", State::Online),
            ("svc:/s1:default", State::Online),
        ],
    );
    let in_maintenance: Vec<String> = (0..10)
        .map(|i| format!("svc:/s{i}:default"))
        .filter(|f| world.state(f) == Some(State::Maintenance))
        .collect();
    assert_eq!(in_maintenance, ["svc:/s5:default"]);
    assert_eq!(
        world.status("svc:/s5:default").map(|s| s.reason),
        Some(Reason::DependencyCycle)
    );
    for i in [2, 3, 4, 6, 7, 8, 9] {
        assert_states(&world, &[(&format!("svc:/s{i}:default"), State::Offline)]);
    }
    let log = world.logs("svc:/s5:default").join("\n");
    assert!(
        log.contains(
            "svc:/s5:default, svc:/s4:default, svc:/s3:default, svc:/s2:default, svc:/s5:default"
        ),
        "{log}"
    );
}

#[test]
fn fixing_the_cycle_with_a_reimport_brings_everything_up() {
    let mut world = world(&ten(&dep(
        "late",
        "require_all",
        "none",
        &["svc:/s5:default"],
    )));
    world.import(&bundle(&ten("")));
    world.run();
    for i in 0..10 {
        assert_states(&world, &[(&format!("svc:/s{i}:default"), State::Online)]);
    }
}

#[test]
fn importing_a_cycle_of_one_into_itself_never_hangs() {
    // svccfg validate refuses a self-dependency; the engine must survive one anyway.
    let xml = bundle(&[service(
        "selfish",
        true,
        &dep("me", "require_all", "none", &["svc:/selfish"]),
    )]);
    let parsed = smf_core::manifest::parse("selfish.xml", xml.as_bytes());
    assert!(!parsed.is_valid());
    let mut world = World::new();
    world.import_services(parsed.bundle.expect("well-formed").services);
    world.run();
    assert_states(&world, &[("svc:/selfish:default", State::Maintenance)]);
    assert_eq!(
        world.status("svc:/selfish:default").map(|s| s.reason),
        Some(Reason::DependencyCycle)
    );
}

fn chain(n: usize) -> Vec<Service> {
    let xml = bundle(&[
        service("c0", true, ""),
        service(
            "c1",
            true,
            &dep("prev", "require_all", "error", &["svc:/c0:default"]),
        ),
    ]);
    let parsed = smf_core::manifest::parse("chain.xml", xml.as_bytes());
    let template = parsed
        .bundle
        .expect("valid")
        .services
        .pop()
        .expect("two services");
    (0..n)
        .map(|i| {
            let mut service = template.clone();
            service.name = format!("c{i}");
            if i == 0 {
                service.settings.dependencies.clear();
            } else {
                service.settings.dependencies[0].targets = vec![format!("svc:/c{}:default", i - 1)];
            }
            service
        })
        .collect()
}

#[test]
fn a_chain_ten_thousand_deep_comes_up_in_order() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let mut world = World::new();
    world.import_services(chain(n));
    world.run();
    for i in [0, 1, n / 2, n - 1] {
        assert_states(&world, &[(&format!("svc:/c{i}:default"), State::Online)]);
    }
    let starts: Vec<String> = world
        .method_runs()
        .iter()
        .filter(|(_, _, m)| *m == MethodName::Start)
        .map(|(_, f, _)| f.to_string())
        .collect();
    assert_eq!(starts.len(), n);
    assert_eq!(starts[0], "svc:/c0:default");
    assert_eq!(starts[n - 1], format!("svc:/c{}:default", n - 1));

    // And back down: disabling the root takes the whole chain offline, leaves first.
    world.disable("svc:/c0:default");
    world.run();
    assert_states(&world, &[("svc:/c0:default", State::Disabled)]);
    assert_states(
        &world,
        &[(&format!("svc:/c{}:default", n - 1), State::Offline)],
    );
}
