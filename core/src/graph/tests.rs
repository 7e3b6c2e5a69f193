//! Unit tests of graph building: vertices, dependents, inheritance, cycles, problems.

use std::collections::HashMap;

use super::*;
use crate::manifest;

fn services(xml: &str) -> Vec<Service> {
    let parsed = manifest::parse("test.xml", xml.as_bytes());
    parsed.bundle.expect("well-formed").services
}

fn fmri(text: &str) -> Fmri {
    Fmri::parse(text).expect("valid FMRI")
}

const CHAIN: &str = r#"<service_bundle type='manifest' name='t'>
  <service name='a' type='service' version='1'>
    <create_default_instance enabled='true'/>
    <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
  </service>
  <service name='b' type='service' version='1'>
    <dependency name='on-a' grouping='require_all' restart_on='error' type='service'>
      <service_fmri value='svc:/a'/>
    </dependency>
    <instance name='one' enabled='true'/>
    <instance name='two' enabled='false'/>
    <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
  </service>
  <service name='c' type='service' version='1'>
    <create_default_instance enabled='true'/>
    <dependent name='c-before-a' grouping='optional_all' restart_on='none'>
      <service_fmri value='svc:/a:default'/>
    </dependent>
    <dependency name='conf' grouping='require_all' restart_on='none' type='path'>
      <service_fmri value='file://localhost/etc/c.conf'/>
    </dependency>
    <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
  </service>
</service_bundle>"#;

#[test]
fn service_dependencies_are_inherited_by_every_instance() {
    let graph = DependencyGraph::build(&services(CHAIN));
    for name in ["svc:/b:one", "svc:/b:two"] {
        let node = graph.instance(&fmri(name)).expect("imported");
        assert_eq!(graph.dependencies(node), ["svc:/a"], "{name}");
    }
    let a = graph.instance(&fmri("svc:/a:default")).expect("imported");
    // b:one and b:two through the service svc:/a; nothing else cites a (c's dependent makes
    // *a* depend on c).
    let dependents: Vec<String> = graph
        .dependents(a)
        .into_iter()
        .filter_map(|n| graph.fmri(n).map(Fmri::to_string))
        .collect();
    assert_eq!(dependents, ["svc:/b:one", "svc:/b:two"]);
}

#[test]
fn a_dependent_becomes_a_dependency_of_its_target() {
    let graph = DependencyGraph::build(&services(CHAIN));
    let a = graph.instance(&fmri("svc:/a:default")).expect("imported");
    let groups: Vec<_> = graph.groups(a).collect();
    assert_eq!(groups.len(), 1);
    let (group, dependency) = groups[0];
    assert_eq!(dependency.name, "c-before-a");
    assert_eq!(dependency.grouping, Grouping::OptionalAll);
    assert_eq!(dependency.declared_by, Some(fmri("svc:/c")));
    assert_eq!(graph.targets(group).len(), 1);
    assert_eq!(graph.dependencies(a), ["svc:/c"]);
}

#[test]
fn path_dependencies_are_file_vertices() {
    let graph = DependencyGraph::build(&services(CHAIN));
    let c = graph.instance(&fmri("svc:/c:default")).expect("imported");
    assert_eq!(graph.files_of(c), ["/etc/c.conf"]);
    assert_eq!(graph.files(), ["/etc/c.conf"]);
    assert!(
        graph
            .dependencies(c)
            .contains(&"file://localhost/etc/c.conf".to_string())
    );
}

#[test]
fn an_absent_dependency_is_a_vertex_but_not_configured() {
    let xml = r#"<service_bundle type='manifest' name='t'>
      <service name='x' type='service' version='1'>
        <create_default_instance enabled='true'/>
        <dependency name='gone' grouping='require_all' restart_on='none' type='service'>
          <service_fmri value='svc:/not/there:default'/>
        </dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
      </service></service_bundle>"#;
    let graph = DependencyGraph::build(&services(xml));
    let absent = graph.node(&fmri("svc:/not/there:default")).expect("vertex");
    assert!(!graph.is_configured(absent));
    assert!(graph.instance(&fmri("svc:/not/there:default")).is_none());
}

fn ring(names: &[&str], extra: &str) -> String {
    let mut xml = String::from("<service_bundle type='manifest' name='ring'>");
    for (i, name) in names.iter().enumerate() {
        let next = names[(i + 1) % names.len()];
        xml.push_str(&format!(
            "<service name='{name}' type='service' version='1'>
               <create_default_instance enabled='true'/>
               <dependency name='next' grouping='require_all' restart_on='none' type='service'>
                 <service_fmri value='svc:/{next}:default'/>
               </dependency>
               <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
             </service>"
        ));
    }
    xml.push_str(extra);
    xml.push_str("</service_bundle>");
    xml
}

#[test]
fn the_instance_imported_last_completes_the_cycle() {
    let graph = DependencyGraph::build(&services(&ring(&["p", "q", "r"], "")));
    let r = graph.instance(&fmri("svc:/r:default")).expect("imported");
    let cycle: Vec<String> = graph
        .cycle(r)
        .expect("r completes the cycle")
        .iter()
        .map(Fmri::to_string)
        .collect();
    assert_eq!(
        cycle,
        [
            "svc:/r:default",
            "svc:/p:default",
            "svc:/q:default",
            "svc:/r:default"
        ]
    );
    for name in ["svc:/p:default", "svc:/q:default"] {
        let node = graph.instance(&fmri(name)).expect("imported");
        assert!(graph.cycle(node).is_none(), "{name}");
    }
}

#[test]
fn exclusions_do_not_make_cycles() {
    let xml = r#"<service_bundle type='manifest' name='t'>
      <service name='x' type='service' version='1'>
        <create_default_instance enabled='true'/>
        <dependency name='not-y' grouping='exclude_all' restart_on='none' type='service'>
          <service_fmri value='svc:/y:default'/>
        </dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
      </service>
      <service name='y' type='service' version='1'>
        <create_default_instance enabled='true'/>
        <dependency name='x' grouping='require_all' restart_on='none' type='service'>
          <service_fmri value='svc:/x:default'/>
        </dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
      </service></service_bundle>"#;
    let graph = DependencyGraph::build(&services(xml));
    assert!(graph.instances().iter().all(|&n| graph.cycle(n).is_none()));
}

#[test]
fn two_cycles_sharing_an_instance_are_each_broken() {
    // p -> q -> p and q -> r -> q: one component, two cycles.
    let xml = r#"<service_bundle type='manifest' name='t'>
      <service name='p' type='service' version='1'><create_default_instance enabled='true'/>
        <dependency name='d' grouping='require_all' restart_on='none' type='service'>
          <service_fmri value='svc:/q:default'/></dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
      <service name='q' type='service' version='1'><create_default_instance enabled='true'/>
        <dependency name='d' grouping='require_all' restart_on='none' type='service'>
          <service_fmri value='svc:/p:default'/><service_fmri value='svc:/r:default'/></dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
      <service name='r' type='service' version='1'><create_default_instance enabled='true'/>
        <dependency name='d' grouping='require_all' restart_on='none' type='service'>
          <service_fmri value='svc:/q:default'/></dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
    </service_bundle>"#;
    let graph = DependencyGraph::build(&services(xml));
    let broken: Vec<String> = graph
        .instances()
        .iter()
        .filter(|&&n| graph.cycle(n).is_some())
        .filter_map(|&n| graph.fmri(n).map(Fmri::to_string))
        .collect();
    // r closes q <-> r; once r is set aside, q closes p <-> q... unless p's edge is kept:
    // whichever it is, every remaining loop is broken.
    assert!(!broken.is_empty());
    assert!(broken.contains(&"svc:/r:default".to_string()));
}

#[test]
fn a_deep_chain_builds_without_recursion() {
    let n = 20_000;
    let template = services(&ring(&["s0"], "")).pop().expect("one service");
    let chain: Vec<Service> = (0..n)
        .map(|i| {
            let mut service = template.clone();
            service.name = format!("s{i}");
            if i == 0 {
                service.settings.dependencies.clear();
            } else {
                service.settings.dependencies[0].targets = vec![format!("svc:/s{}:default", i - 1)];
            }
            service
        })
        .collect();
    let graph = DependencyGraph::build(&chain);
    assert_eq!(graph.instances().len(), n + 1);
    assert!(
        graph
            .instances()
            .iter()
            .all(|&node| graph.cycle(node).is_none())
    );
    let last = graph
        .instance(&fmri(&format!("svc:/s{}:default", n - 1)))
        .expect("imported");
    assert_eq!(
        graph.dependencies(last),
        [format!("svc:/s{}:default", n - 2)]
    );
}

#[test]
fn bad_targets_are_invalid_dependencies_and_redefining_startd_is_refused() {
    let xml = r#"<service_bundle type='manifest' name='t'>
      <service name='x' type='service' version='1'>
        <create_default_instance enabled='true'/>
        <dependency name='bad' grouping='require_all' restart_on='none' type='service'>
          <service_fmri value='svc:/x:default/:properties/general'/>
        </dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/>
      </service>
      <service name='system/svc/restarter' type='restarter' version='1'>
        <create_default_instance enabled='true'/>
      </service></service_bundle>"#;
    let graph = DependencyGraph::build(&services(xml));
    let x = graph.instance(&fmri("svc:/x:default")).expect("imported");
    assert!(
        graph
            .invalid_dependency(x)
            .expect("invalid")
            .contains("names a property")
    );
    assert!(
        graph
            .problems()
            .iter()
            .any(|p| p.message.contains("svc.startd is built in"))
    );
}

/// States as a test sets them.
struct Fake {
    statuses: HashMap<NodeIndex, EntityStatus>,
    files: HashMap<String, bool>,
}

impl StateLookup for Fake {
    fn status(&self, instance: NodeIndex) -> EntityStatus {
        self.statuses
            .get(&instance)
            .copied()
            .unwrap_or(EntityStatus {
                state: crate::state::State::Online,
                next_state: None,
                enabled: true,
            })
    }

    fn file_exists(&self, path: &str) -> Option<bool> {
        self.files.get(path).copied()
    }
}

/// `x` has one dependency of `grouping` on `target`; `t` itself requires `svc:/gone:default`
/// when `t_blocked` (so an offline `t` can never come up).
fn one_group(grouping: &str, target: &str, t_blocked: bool) -> DependencyGraph {
    let t_dep = if t_blocked {
        "<dependency name='g' grouping='require_all' restart_on='none' type='service'>
           <service_fmri value='svc:/gone:default'/></dependency>"
    } else {
        ""
    };
    let kind = if target.starts_with("file:") {
        "path"
    } else {
        "service"
    };
    let xml = format!(
        "<service_bundle type='manifest' name='t'>
          <service name='t' type='service' version='1'><create_default_instance enabled='true'/>{t_dep}
            <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
          <service name='x' type='service' version='1'><create_default_instance enabled='true'/>
            <dependency name='d' grouping='{grouping}' restart_on='none' type='{kind}'>
              <service_fmri value='{target}'/></dependency>
            <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
        </service_bundle>"
    );
    DependencyGraph::build(&services(&xml))
}

#[test]
fn every_grouping_against_every_state_of_its_target() {
    use crate::state::State::*;
    use Satisfaction::{Satisfied as S, Unsatisfiable as U, Waiting as W};
    // (target state, next state, enabled, t blocked) -> require_all, require_any,
    // optional_all, exclude_all (smf-reference.md §3.1).
    let table = [
        ("online", Online, None, true, false, [S, S, S, U]),
        ("degraded", Degraded, None, true, false, [S, S, S, U]),
        (
            "online, disabled but still running",
            Online,
            None,
            false,
            false,
            [S, S, S, W],
        ),
        (
            "online, stopping",
            Online,
            Some(Offline),
            true,
            false,
            [W, W, W, U],
        ),
        (
            "online, being disabled",
            Online,
            Some(Disabled),
            false,
            false,
            [U, U, S, W],
        ),
        (
            "offline, can come up",
            Offline,
            None,
            true,
            false,
            [W, W, W, W],
        ),
        (
            "offline, never comes up",
            Offline,
            None,
            true,
            true,
            [W, W, S, W],
        ),
        ("starting", Offline, Some(Online), true, false, [W, W, W, W]),
        (
            "uninitialized",
            Uninitialized,
            None,
            true,
            false,
            [W, W, W, W],
        ),
        ("disabled", Disabled, None, false, false, [U, U, S, S]),
        (
            "disabled, being enabled",
            Disabled,
            None,
            true,
            false,
            [U, U, W, S],
        ),
        ("maintenance", Maintenance, None, true, false, [U, U, S, S]),
    ];
    let groupings = ["require_all", "require_any", "optional_all", "exclude_all"];
    for (what, state, next_state, enabled, blocked, expected) in table {
        for (grouping, want) in groupings.iter().zip(expected) {
            let graph = one_group(grouping, "svc:/t:default", blocked);
            let t = graph.instance(&fmri("svc:/t:default")).expect("t");
            let x = graph.instance(&fmri("svc:/x:default")).expect("x");
            let mut statuses = HashMap::new();
            statuses.insert(
                t,
                EntityStatus {
                    state,
                    next_state,
                    enabled,
                },
            );
            statuses.insert(
                x,
                EntityStatus {
                    state: Offline,
                    next_state: None,
                    enabled: true,
                },
            );
            let fake = Fake {
                statuses,
                files: HashMap::new(),
            };
            let got = Evaluator::new(&graph, &fake).instance(x);
            assert_eq!(got, want, "{grouping} on a target that is {what}");
        }
    }
}

#[test]
fn every_grouping_against_absent_instances_services_and_files() {
    use Satisfaction::{Satisfied as S, Unsatisfiable as U, Waiting as W};
    let groupings = ["require_all", "require_any", "optional_all", "exclude_all"];
    let cases = [
        (
            "an absent instance",
            "svc:/gone:default",
            None,
            [U, U, S, S],
        ),
        (
            "a service with no instances",
            "svc:/gone",
            None,
            [U, U, S, S],
        ),
        (
            "a service with a running instance",
            "svc:/t",
            None,
            [S, S, S, U],
        ),
        (
            "an existing file",
            "file://localhost/etc/f",
            Some(true),
            [S, S, S, U],
        ),
        (
            "a missing file",
            "file://localhost/etc/f",
            Some(false),
            [U, U, U, S],
        ),
        (
            "a file not looked at yet",
            "file://localhost/etc/f",
            None,
            [W, W, W, W],
        ),
    ];
    for (what, target, file, expected) in cases {
        for (grouping, want) in groupings.iter().zip(expected) {
            let graph = one_group(grouping, target, false);
            let x = graph.instance(&fmri("svc:/x:default")).expect("x");
            let mut files = HashMap::new();
            if let Some(exists) = file {
                files.insert("/etc/f".to_string(), exists);
            }
            let fake = Fake {
                statuses: HashMap::new(),
                files,
            };
            let got = Evaluator::new(&graph, &fake).instance(x);
            assert_eq!(got, want, "{grouping} on {what}");
        }
    }
}

#[test]
fn require_any_needs_one_and_gives_up_only_when_all_are_gone() {
    use crate::state::State::*;
    let xml = "<service_bundle type='manifest' name='t'>
      <service name='a' type='service' version='1'><create_default_instance enabled='true'/>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
      <service name='x' type='service' version='1'><create_default_instance enabled='true'/>
        <dependency name='d' grouping='require_any' restart_on='none' type='service'>
          <service_fmri value='svc:/a:default'/><service_fmri value='svc:/gone:default'/></dependency>
        <exec_method type='method' name='start' exec='/bin/true' timeout_seconds='1'/></service>
    </service_bundle>";
    let graph = DependencyGraph::build(&services(xml));
    let a = graph.instance(&fmri("svc:/a:default")).expect("a");
    let x = graph.instance(&fmri("svc:/x:default")).expect("x");
    for (state, want) in [
        (Online, Satisfaction::Satisfied),
        (Offline, Satisfaction::Waiting),
        (Maintenance, Satisfaction::Unsatisfiable),
    ] {
        let mut statuses = HashMap::new();
        statuses.insert(
            a,
            EntityStatus {
                state,
                next_state: None,
                enabled: true,
            },
        );
        let fake = Fake {
            statuses,
            files: HashMap::new(),
        };
        assert_eq!(Evaluator::new(&graph, &fake).instance(x), want, "a {state}");
    }
}

#[test]
fn a_rebuild_shares_the_fmris_of_the_vertices_it_keeps() {
    let entries = |services: &[Service]| -> Vec<(String, Vec<Arc<EffectiveInstance>>)> {
        services
            .iter()
            .map(|service| {
                let instances = service.effective_instances().into_iter().map(Arc::new);
                (service.name.clone(), instances.collect())
            })
            .collect()
    };
    let composed = entries(&services(CHAIN));
    let graph = |previous: Option<&DependencyGraph>| {
        let services = composed.iter().map(|(name, instances)| ServiceEntry {
            name,
            instances: instances.clone(),
            dependents: None,
        });
        match previous {
            Some(previous) => previous.rebuild_composed(services),
            None => DependencyGraph::build_composed(services),
        }
    };
    let first = graph(None);
    let second = graph(Some(&first));
    let fresh = graph(None);
    // Instances, the service svc:/a cited by b, and svc.startd's own instance.
    let startd = crate::manifest::effective::STARTD_FMRI;
    for name in [
        "svc:/a:default",
        "svc:/b:one",
        "svc:/c:default",
        "svc:/a",
        startd,
    ] {
        let text = |graph: &DependencyGraph| {
            let node = graph.node(&fmri(name)).expect("a vertex");
            graph.fmri(node).expect("an FMRI").as_str().as_ptr()
        };
        assert_eq!(text(&first), text(&second), "{name}");
        assert_ne!(text(&first), text(&fresh), "{name}");
    }
    assert_eq!(first.size(), second.size());
}
