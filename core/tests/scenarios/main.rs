//! Engine stories: the SMF state machine driven through its public API by a fake clock and
//! scripted process outcomes (`smf_core::sim::World`). Each module is one topic; each test
//! reads as a story of what an administrator would see.

mod admin;
mod dependencies;
mod explain;
mod faults;
mod graph_shapes;
mod readiness;
mod recovery;
mod robustness;

use smf_core::engine::MethodName;
use smf_core::sim::World;
use smf_core::state::State;

/// One `<service>` with a default instance, a start method and a stop method. `extra` goes
/// inside the service element (dependencies, property groups).
pub fn service(name: &str, enabled: bool, extra: &str) -> String {
    format!(
        "<service name='{name}' type='service' version='1'>
           <create_default_instance enabled='{enabled}'/>
           {extra}
           <exec_method type='method' name='start' exec='/usr/bin/{leaf}' timeout_seconds='30'/>
           <exec_method type='method' name='stop' exec=':kill' timeout_seconds='30'/>
         </service>",
        leaf = name.rsplit('/').next().unwrap_or(name)
    )
}

/// A `<dependency>` on `targets`.
pub fn dep(name: &str, grouping: &str, restart_on: &str, targets: &[&str]) -> String {
    let mut xml = format!(
        "<dependency name='{name}' grouping='{grouping}' restart_on='{restart_on}' type='service'>"
    );
    for target in targets {
        xml.push_str(&format!("<service_fmri value='{target}'/>"));
    }
    xml.push_str("</dependency>");
    xml
}

/// A `startd` property group with these `(name, type, value)` properties.
pub fn startd(properties: &[(&str, &str, &str)]) -> String {
    let mut xml = String::from("<property_group name='startd' type='framework'>");
    for (name, kind, value) in properties {
        xml.push_str(&format!(
            "<propval name='{name}' type='{kind}' value='{value}'/>"
        ));
    }
    xml.push_str("</property_group>");
    xml
}

/// A manifest holding `services`.
pub fn bundle(services: &[String]) -> String {
    format!(
        "<service_bundle type='manifest' name='story'>{}</service_bundle>",
        services.concat()
    )
}

/// A world with `services` imported and run until nothing happens.
pub fn world(services: &[String]) -> World {
    let mut world = World::new();
    world.import(&bundle(services));
    world.run();
    world
}

/// Asserts the state of each `(fmri, state)`.
#[track_caller]
pub fn assert_states(world: &World, expected: &[(&str, State)]) {
    for (fmri, state) in expected {
        assert_eq!(
            world.state(fmri),
            Some(*state),
            "{fmri}: transitions {:#?}",
            world
                .transitions()
                .iter()
                .filter(|t| t.fmri.as_str() == *fmri)
                .collect::<Vec<_>>()
        );
    }
}

/// When `fmri`'s `method` first ran (ms), for ordering assertions.
pub fn first_run(world: &World, fmri: &str, method: MethodName) -> u64 {
    world
        .method_runs()
        .iter()
        .find(|(_, f, m)| f.as_str() == fmri && *m == method)
        .map(|(at, _, _)| at.millis())
        .unwrap_or_else(|| panic!("{fmri} never ran {method:?}"))
}
