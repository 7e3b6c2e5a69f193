//! svc.startd restarted: instances whose processes survived are adopted, not started again;
//! the others start as usual.

use smf_core::engine::{Action, Engine, Event, MethodName};
use smf_core::manifest::{self, BundleKind};
use smf_core::sim::{World, fmri_of};
use smf_core::state::{State, Timestamp};

use super::*;

fn services(xml: &str) -> Vec<manifest::Service> {
    let parsed = manifest::parse("story.xml", xml.as_bytes());
    assert!(parsed.is_valid(), "{:#?}", parsed.diagnostics);
    parsed.bundle.expect("bundle").services
}

#[test]
fn recovered_instances_are_adopted_instead_of_started() {
    let xml = bundle(&[
        service("network/physical", true, ""),
        service(
            "network/dhcp",
            true,
            &dep("net", "require_all", "error", &["svc:/network/physical"]),
        ),
        service("site/web", true, ""),
    ]);
    let mut engine = Engine::new();
    engine.handle(
        Event::Recovered {
            instances: vec![
                fmri_of("svc:/network/physical:default"),
                fmri_of("svc:/network/dhcp:default"),
            ],
        },
        Timestamp::from_secs(10),
    );
    let actions = engine.handle(
        Event::Imported {
            kind: BundleKind::Manifest,
            services: services(&xml),
        },
        Timestamp::from_secs(10),
    );
    let adopted: Vec<&str> = actions
        .iter()
        .filter_map(|action| match action {
            Action::Adopt {
                fmri,
                main_run: None,
            } => Some(fmri.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        adopted,
        ["svc:/network/physical:default", "svc:/network/dhcp:default"]
    );
    let started: Vec<&str> = actions
        .iter()
        .filter_map(|action| match action {
            Action::RunMethod(run) => Some(run.fmri.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        ["svc:/site/web:default"],
        "only the one not recovered starts"
    );
    for fmri in ["svc:/network/physical:default", "svc:/network/dhcp:default"] {
        let status = engine.status(&fmri_of(fmri)).expect("imported");
        assert_eq!(status.state, State::Online, "{fmri}");
    }
}

#[test]
fn an_adopted_service_that_dies_is_restarted() {
    let mut engine = Engine::new();
    engine.handle(
        Event::Recovered {
            instances: vec![fmri_of("svc:/app:default")],
        },
        Timestamp::from_secs(10),
    );
    let mut world = World::with_engine(engine);
    world.import(&bundle(&[service("app", true, "")]));
    world.run();
    assert_states(&world, &[("svc:/app:default", State::Online)]);
    assert_eq!(world.runs_of("svc:/app:default", MethodName::Start), 0);
    world.crash("svc:/app:default");
    world.run();
    assert_states(&world, &[("svc:/app:default", State::Online)]);
    assert_eq!(world.runs_of("svc:/app:default", MethodName::Start), 1);
}

#[test]
fn a_recovered_instance_waiting_on_a_dependency_that_must_start_is_started_afresh() {
    let mut engine = Engine::new();
    engine.handle(
        Event::Recovered {
            instances: vec![fmri_of("svc:/app:default")],
        },
        Timestamp::from_secs(10),
    );
    // The shell stops the processes it was not told to adopt; when the database is up,
    // the application starts anew.
    let mut world = World::with_engine(engine);
    world.import(&bundle(&[
        service("db", true, ""),
        service(
            "app",
            true,
            &dep("db", "require_all", "error", &["svc:/db"]),
        ),
    ]));
    world.run();
    assert_states(&world, &[("svc:/app:default", State::Online)]);
    assert_eq!(world.runs_of("svc:/db:default", MethodName::Start), 1);
    assert_eq!(world.runs_of("svc:/app:default", MethodName::Start), 1);
}

#[test]
fn an_adopted_child_instance_is_watched_through_its_main_run() {
    let xml = bundle(&[service(
        "worker",
        true,
        &startd(&[("duration", "astring", "child")]),
    )]);
    let mut engine = Engine::new();
    engine.handle(
        Event::Recovered {
            instances: vec![fmri_of("svc:/worker:default")],
        },
        Timestamp::from_secs(10),
    );
    let actions = engine.handle(
        Event::Imported {
            kind: BundleKind::Manifest,
            services: services(&xml),
        },
        Timestamp::from_secs(10),
    );
    let run = actions
        .iter()
        .find_map(|action| match action {
            Action::Adopt { main_run, .. } => *main_run,
            _ => None,
        })
        .expect("a main run for the child");
    let actions = engine.handle(
        Event::MethodExited {
            run,
            status: smf_core::engine::MethodStatus::Exited(1),
        },
        Timestamp::from_secs(20),
    );
    let status = engine
        .status(&fmri_of("svc:/worker:default"))
        .expect("imported");
    assert_eq!(
        status.next_state,
        Some(State::Offline),
        "its death was noticed: {actions:#?}"
    );
}
