//! `notify` readiness: online only once the service says `READY=1`.

use smf_core::engine::{Event, MethodName, Reason};
use smf_core::sim::{Script, World, fmri_of};
use smf_core::state::State;

use super::*;

const DB: &str = "svc:/db:default";
const WEB: &str = "svc:/web:default";

fn notify_db(duration: &str) -> Vec<String> {
    vec![
        service(
            "db",
            true,
            &startd(&[
                ("readiness", "astring", "notify"),
                ("duration", "astring", duration),
            ]),
        ),
        service("web", true, &dep("db", "require_all", "error", &[DB])),
    ]
}

fn ready(world: &mut World, fmri: &str) {
    world.send(Event::Notified {
        fmri: fmri_of(fmri),
        ready: true,
        status: Some("Accepting connections".to_string()),
    });
}

#[test]
fn dependents_wait_until_the_service_says_ready() {
    for duration in ["contract", "child"] {
        let mut world = World::new();
        world.import(&bundle(&notify_db(duration)));
        world.advance(5_000);
        assert_states(&world, &[(DB, State::Offline), (WEB, State::Offline)]);
        assert_eq!(
            world.status(DB).and_then(|s| s.next_state),
            Some(State::Online),
            "{duration}"
        );
        assert_eq!(world.runs_of(WEB, MethodName::Start), 0);

        ready(&mut world, DB);
        world.run();
        assert_states(&world, &[(DB, State::Online), (WEB, State::Online)]);
        assert_eq!(
            world.status(DB).and_then(|s| s.status_text),
            Some("Accepting connections".to_string())
        );
    }
}

#[test]
fn a_service_that_never_says_ready_fails_at_the_start_timeout() {
    let mut world = World::new();
    world.import(&bundle(&notify_db("contract")));
    world.run();
    assert_states(&world, &[(DB, State::Maintenance), (WEB, State::Offline)]);
    assert_eq!(
        world.status(DB).map(|s| s.reason),
        Some(Reason::FaultThresholdReached)
    );
    assert_eq!(world.runs_of(DB, MethodName::Start), 3);
}

#[test]
fn readiness_before_the_start_method_exits_counts() {
    let mut world = World::new();
    world.script(DB, MethodName::Start, Script::slow(1_000));
    world.import(&bundle(&notify_db("contract")));
    world.advance(500);
    ready(&mut world, DB);
    world.run();
    assert_states(&world, &[(DB, State::Online), (WEB, State::Online)]);
}
