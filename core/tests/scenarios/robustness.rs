//! Reports and requests that make no sense (unknown instances, runs that ended long ago,
//! deadlines with no timer) change nothing and never panic.

use smf_core::engine::{Engine, Event, MarkState, MethodStatus, Requester, RunId};
use smf_core::manifest::BundleKind;
use smf_core::sim::fmri_of;
use smf_core::state::{State, Timestamp};

use super::*;

#[test]
fn nonsense_events_change_nothing() {
    let mut world = world(&[service("app", true, "")]);
    let before = world.engine().statuses();
    let ghost = fmri_of("svc:/not/imported:default");
    let events = vec![
        Event::Enable {
            fmri: ghost.clone(),
            temporary: false,
            recursive: true,
        },
        Event::Disable {
            fmri: ghost.clone(),
            temporary: true,
        },
        Event::Restart {
            fmri: ghost.clone(),
        },
        Event::Refresh {
            fmri: ghost.clone(),
        },
        Event::Clear {
            fmri: ghost.clone(),
        },
        Event::Mark {
            fmri: ghost.clone(),
            state: MarkState::Maintenance,
            immediate: true,
            temporary: false,
            requester: Requester::Service("svc:/other:default".into()),
        },
        Event::MethodExited {
            run: RunId(9_999),
            status: MethodStatus::Exited(1),
        },
        Event::MethodTimedOut { run: RunId(9_999) },
        Event::ContractEmptied {
            fmri: ghost.clone(),
        },
        Event::ProcessFaulted {
            fmri: ghost.clone(),
            core_dumped: true,
        },
        Event::Notified {
            fmri: ghost.clone(),
            ready: true,
            status: None,
        },
        Event::FilesProbed {
            files: vec![("/nowhere".into(), true)],
        },
        Event::DeadlineReached,
        Event::Removed {
            services: vec!["not/imported".into()],
        },
        Event::Imported {
            kind: BundleKind::Profile,
            services: Vec::new(),
        },
        // svc.startd's own instance cannot be acted upon.
        Event::Disable {
            fmri: fmri_of("svc:/system/svc/restarter:default"),
            temporary: false,
        },
        Event::Mark {
            fmri: fmri_of("svc:/system/svc/restarter:default"),
            state: MarkState::Maintenance,
            immediate: false,
            temporary: false,
            requester: Requester::Administrator,
        },
    ];
    for event in events {
        world.send(event);
    }
    world.run();
    assert_eq!(world.engine().statuses(), before);
}

#[test]
fn a_clear_of_an_instance_that_is_not_in_maintenance_does_nothing() {
    let mut world = world(&[service("app", true, "")]);
    let before = world.engine().statuses();
    world.clear("svc:/app:default");
    world.run();
    assert_eq!(world.engine().statuses(), before);
}

#[test]
fn time_going_backwards_is_ignored() {
    let mut engine = Engine::new();
    let xml = bundle(&[service("app", true, "")]);
    let parsed = smf_core::manifest::parse("t.xml", xml.as_bytes());
    let services = parsed.bundle.expect("valid").services;
    engine.handle(
        Event::Imported {
            kind: BundleKind::Manifest,
            services,
        },
        Timestamp(5_000),
    );
    // An event stamped earlier than the last one is handled at the later time.
    engine.handle(
        Event::Disable {
            fmri: fmri_of("svc:/app:default"),
            temporary: true,
        },
        Timestamp(1_000),
    );
    let status = engine.status(&fmri_of("svc:/app:default")).expect("known");
    assert!(status.since >= Timestamp(5_000));
    assert_ne!(status.state, State::Uninitialized);
}
