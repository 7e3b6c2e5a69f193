//! Benchmark support for the smf workspace: inputs the benchmarks in `benches/` measure.
//!
//! For manifest parsing that is [`generate_manifests`], a deterministic generator of
//! realistic, valid `service_bundle` manifests shaped like the ones illumos ships (XML
//! declaration, DOCTYPE, licence-style comment header, one service with dependencies,
//! methods, a method context, property groups, instances, stability and a template). The
//! generated services form a DAG: `site/gen/svcNNNNN` only depends on services with a smaller
//! number, so the same set can later feed graph and simulation benchmarks.
//!
//! For the dependency graph and the engine it is [`layered_dag`]: already-parsed services
//! forming a deterministic pseudo-random layered DAG, every instance enabled, so that
//! `DependencyGraph::build` and a simulated boot (`smf_core::sim::World`) can be measured at
//! 1,000 to 100,000 instances. [`edge_count`] says how many dependency edges it has.
//!
//! ```
//! let manifests = smf_benches::generate_manifests(3);
//! assert_eq!(manifests[2].0, "svc00002.xml");
//! assert!(smf_core::manifest::parse(&manifests[2].0, &manifests[2].1).is_valid());
//! ```

pub mod harness;

use std::fmt::Write as _;

use smf_core::manifest::{Dependency, DependencyKind, Grouping, RestartOn, Service};

/// SplitMix64: a tiny deterministic generator, so the manifests are the same on every run
/// and every machine without a dependency on `rand`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: usize) -> usize {
        // The modulo bias is irrelevant for benchmark inputs.
        (self.next() % bound as u64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const GROUPINGS: [&str; 4] = ["require_all", "require_any", "optional_all", "exclude_all"];
const RESTART_ON: [&str; 4] = ["error", "restart", "refresh", "none"];
const DURATIONS: [&str; 3] = ["contract", "child", "transient"];
const USERS: [(&str, &str); 4] = [
    ("daemon", "daemon"),
    ("root", "root"),
    ("nobody", "nogroup"),
    ("www-data", "www-data"),
];
const INSTANCE_NAMES: [&str; 3] = ["default", "secondary", "tertiary"];
const PURPOSES: [&str; 8] = [
    "log collection daemon",
    "metadata agent",
    "time synchronisation client",
    "name service cache",
    "network configuration helper",
    "storage replication agent",
    "metrics exporter",
    "job scheduler",
];
const ADDRESSES: [&str; 4] = ["127.0.0.1", "::1", "0.0.0.0", "192.0.2.10"];

/// The service name of generated manifest `index`: `site/gen/svc00042`.
pub fn service_name(index: usize) -> String {
    format!("site/gen/svc{index:05}")
}

/// Generates `count` manifests, `(file name, bytes)`, numbered from 0: `svc00000.xml` declares
/// `site/gen/svc00000`, and so on. Deterministic: the same `count` always gives the same
/// bytes, and manifest `i` does not depend on `count`. Each is 2-5 KB and valid for
/// `svccfg validate`; dependencies only point at lower-numbered services (a DAG).
pub fn generate_manifests(count: usize) -> Vec<(String, Vec<u8>)> {
    (0..count)
        .map(|index| {
            (
                format!("svc{index:05}.xml"),
                generate_manifest(index).into_bytes(),
            )
        })
        .collect()
}

/// One manifest, from its own seed so that it does not depend on the others.
fn generate_manifest(index: usize) -> String {
    let mut rng = Rng::new(0x5346_4d00_0000_0000 ^ (index as u64).wrapping_mul(0x2545_f491));
    let name = service_name(index);
    let short = format!("svc{index:05}");
    let purpose = rng.pick(&PURPOSES);
    let duration = rng.pick(&DURATIONS);
    let mut out = String::with_capacity(4096);

    // Writing to a String cannot fail; `let _ =` keeps clippy and the reader calm.
    let _ = write!(
        out,
        r#"<?xml version="1.0"?>
<!DOCTYPE service_bundle SYSTEM "/usr/share/lib/xml/dtd/service_bundle.dtd.1">
<!--
 CDDL HEADER START

 The contents of this file are subject to the terms of the
 Common Development and Distribution License (the "License").
 You may not use this file except in compliance with the License.

 CDDL HEADER END

 Copyright {year} Example Corp.  All rights reserved.

 Service manifest for the {purpose} ({short}).
 Generated for the smf-benches parse benchmark; not a real service.
-->

<service_bundle type='manifest' name='SUNWgen:{short}'>

<service
	name='{name}'
	type='service'
	version='1'>

"#,
        year = 2005 + index % 20,
    );

    // Instances: the implied default one, or 1-3 explicit ones.
    let explicit_instances = if rng.chance(50) { 0 } else { 1 + rng.below(3) };
    if explicit_instances == 0 {
        let _ = writeln!(
            out,
            "\t<create_default_instance enabled='{}' />\n",
            rng.chance(30)
        );
    }
    if rng.chance(20) {
        out.push_str("\t<single_instance />\n\n");
    }

    // Dependencies: up to 4 on lower-numbered services, sometimes one on a file.
    let path_dependency = index == 0 || rng.chance(25);
    let wanted = 1 + rng.below(4);
    let service_dependencies = wanted.min(index).min(4 - usize::from(path_dependency));
    let mut targets: Vec<usize> = Vec::with_capacity(service_dependencies);
    while targets.len() < service_dependencies {
        // Mostly near neighbours (like a real dependency chain), sometimes anything lower.
        let target = if rng.chance(70) {
            index - 1 - rng.below(index.min(50))
        } else {
            rng.below(index)
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    for target in &targets {
        let _ = write!(
            out,
            "\t<dependency\n\t\tname='dep_svc{target:05}'\n\t\tgrouping='{}'\n\t\trestart_on='{}'\n\t\ttype='service'>\n\t\t<service_fmri value='svc:/{}' />\n\t</dependency>\n\n",
            rng.pick(&GROUPINGS),
            rng.pick(&RESTART_ON),
            service_name(*target),
        );
    }
    if path_dependency {
        let _ = write!(
            out,
            "\t<dependency\n\t\tname='hosts_file'\n\t\tgrouping='{}'\n\t\trestart_on='{}'\n\t\ttype='path'>\n\t\t<service_fmri value='file://localhost/etc/hosts' />\n\t</dependency>\n\n",
            rng.pick(&["require_all", "optional_all"]),
            rng.pick(&["refresh", "none"]),
        );
    }

    // Method context: a credential and an environment, some of the time.
    if rng.chance(60) {
        let (user, group) = USERS[rng.below(USERS.len())];
        let _ = write!(
            out,
            "\t<method_context working_directory='/var/lib/gen/{short}'>\n\t\t<method_credential user='{user}' group='{group}' privileges='basic,net_privaddr' />\n\t\t<method_environment>\n\t\t\t<envvar name='LANG' value='C' />\n\t\t\t<envvar name='GEN_HOME' value='/opt/gen/{short}' />\n\t\t</method_environment>\n\t</method_context>\n\n"
        );
    }

    // Methods.
    let timeout = [30, 60, 120, 300][rng.below(4)];
    let _ = write!(
        out,
        "\t<exec_method\n\t\ttype='method'\n\t\tname='start'\n\t\texec='/opt/gen/{short}/bin/{short}d -c %{{config/file}} -p %{{config/port}}'\n\t\ttimeout_seconds='{timeout}' />\n\n\t<exec_method\n\t\ttype='method'\n\t\tname='stop'\n\t\texec=':kill'\n\t\ttimeout_seconds='{timeout}' />\n\n\t<exec_method\n\t\ttype='method'\n\t\tname='refresh'\n\t\texec=':kill -HUP'\n\t\ttimeout_seconds='{timeout}' />\n\n"
    );

    // Property groups.
    let _ = write!(
        out,
        "\t<property_group name='startd' type='framework'>\n\t\t<propval name='duration' type='astring' value='{duration}' />\n\t\t<propval name='ignore_error' type='astring' value='core,signal' />\n\t</property_group>\n\n"
    );
    let _ = write!(
        out,
        "\t<property_group name='config' type='application'>\n\t\t<propval name='file' type='astring' value='/etc/gen/{short}.conf' />\n\t\t<propval name='port' type='count' value='{port}' />\n\t\t<propval name='debug' type='boolean' value='{debug}' />\n\t\t<propval name='nice' type='integer' value='{nice}' />\n\t\t<propval name='log_level' type='astring' value='{level}' />\n\t\t<property name='listen' type='astring'>\n\t\t\t<astring_list>\n",
        port = 1024 + rng.below(60_000),
        debug = rng.chance(10),
        nice = rng.below(40) as i64 - 20,
        level = rng.pick(&["error", "warning", "notice", "info", "debug"]),
    );
    let first_address = rng.below(ADDRESSES.len());
    for offset in 0..1 + rng.below(3) {
        let address = ADDRESSES[(first_address + offset) % ADDRESSES.len()];
        let _ = writeln!(out, "\t\t\t\t<value_node value='{address}' />");
    }
    out.push_str("\t\t\t</astring_list>\n\t\t</property>\n\t</property_group>\n\n");

    // Explicit instances, each with its own settings.
    for instance in INSTANCE_NAMES.iter().take(explicit_instances) {
        let _ = writeln!(
            out,
            "\t<instance name='{instance}' enabled='{}'>",
            rng.chance(30)
        );
        if index > 0 && rng.chance(30) {
            let target = rng.below(index);
            if !targets.contains(&target) {
                let _ = write!(
                    out,
                    "\t\t<dependency name='inst_svc{target:05}' grouping='optional_all' restart_on='none' type='service'>\n\t\t\t<service_fmri value='svc:/{}:default' />\n\t\t</dependency>\n",
                    service_name(target),
                );
            }
        }
        let _ = write!(
            out,
            "\t\t<property_group name='config' type='application'>\n\t\t\t<propval name='file' type='astring' value='/etc/gen/{short}-{instance}.conf' />\n\t\t\t<propval name='port' type='count' value='{}' />\n\t\t</property_group>\n\t</instance>\n\n",
            1024 + rng.below(60_000),
        );
    }

    let _ = write!(
        out,
        "\t<stability value='Unstable' />\n\n\t<template>\n\t\t<common_name>\n\t\t\t<loctext xml:lang='C'>\n\t\t\t\t{purpose} {short}\n\t\t\t</loctext>\n\t\t</common_name>\n\t\t<description>\n\t\t\t<loctext xml:lang='C'>\n\t\t\t\tThe {purpose} for site {site}; it reads /etc/gen/{short}.conf\n\t\t\t\tand listens on the addresses in config/listen.\n\t\t\t</loctext>\n\t\t</description>\n\t\t<documentation>\n\t\t\t<manpage title='{short}d' section='8' manpath='/usr/share/man' />\n\t\t</documentation>\n\t</template>\n</service>\n\n</service_bundle>\n",
        site = index % 97,
    );
    out
}

/// How many services one layer of [`layered_dag`] holds.
pub const LAYER_WIDTH: usize = 100;

/// The one service [`layered_dag`] clones: a contract service with a default instance,
/// enabled, a start and a stop method, and no dependency yet.
const DAG_TEMPLATE: &str = "<?xml version='1.0'?>
<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>
<service_bundle type='manifest' name='bench:dag'>
  <service name='bench/template' type='service' version='1'>
    <create_default_instance enabled='true' />
    <exec_method type='method' name='start' exec='/opt/bench/bin/daemon' timeout_seconds='60' />
    <exec_method type='method' name='stop' exec=':kill' timeout_seconds='60' />
  </service>
</service_bundle>
";

/// The service name of [`layered_dag`]'s service `index`: `bench/s42`.
pub fn dag_service_name(index: usize) -> String {
    format!("bench/s{index}")
}

/// The FMRI of the default instance of [`layered_dag`]'s service `index`:
/// `svc:/bench/s42:default`.
pub fn dag_instance_fmri(index: usize) -> String {
    format!("svc:/bench/s{index}:default")
}

/// `instances` services `bench/s0` .. `bench/s{instances-1}`, each with one enabled
/// `default` instance, forming a deterministic pseudo-random layered DAG (the same `seed`
/// always gives the same services).
///
/// Services are cut into layers of [`LAYER_WIDTH`] in index order. Layer 0 has no
/// dependencies; every service of a later layer has 1 to 3 `service` dependencies
/// (`require_all` mostly, else `optional_all` or `require_any`; `restart_on='error'`), each
/// citing 1 or 2 default instances of earlier layers (half of them in the layer just before,
/// so the DAG is as deep as it has layers), never the same instance twice from one service.
/// Every dependency is satisfiable, so a simulated boot brings every instance online.
///
/// The services are built by parsing one small manifest and cloning its service with a new
/// name and dependencies, which is much cheaper than generating and parsing XML for each.
///
/// # Panics
/// If the built-in template does not parse (a bug in this crate).
pub fn layered_dag(instances: usize, seed: u64) -> Vec<Service> {
    let parsed = smf_core::manifest::parse("dag-template.xml", DAG_TEMPLATE.as_bytes());
    assert!(
        parsed.is_valid(),
        "the DAG template does not validate: {:?}",
        parsed.diagnostics
    );
    let template = parsed
        .bundle
        .and_then(|mut bundle| bundle.services.pop())
        .expect("the DAG template has one service");

    let mut rng = Rng::new(seed ^ 0x4441_4700_0000_0000);
    let mut services = Vec::with_capacity(instances);
    let mut cited: Vec<usize> = Vec::with_capacity(6);
    for index in 0..instances {
        let mut service = template.clone();
        service.name = dag_service_name(index);
        let layer_start = index - index % LAYER_WIDTH;
        if layer_start > 0 {
            let previous_layer = layer_start - LAYER_WIDTH;
            cited.clear();
            let count = 1 + rng.below(3);
            for number in 0..count {
                let grouping = match rng.below(10) {
                    0 => Grouping::OptionalAll,
                    1 => Grouping::RequireAny,
                    _ => Grouping::RequireAll,
                };
                let wanted = 1 + rng.below(2);
                let mut targets = Vec::with_capacity(wanted);
                while targets.len() < wanted {
                    let target = if rng.chance(50) {
                        previous_layer + rng.below(LAYER_WIDTH)
                    } else {
                        rng.below(layer_start)
                    };
                    if !cited.contains(&target) {
                        cited.push(target);
                        targets.push(dag_instance_fmri(target));
                    }
                }
                service.settings.dependencies.push(Dependency {
                    name: format!("dep{number}"),
                    grouping,
                    restart_on: RestartOn::Error,
                    kind: DependencyKind::Service,
                    targets,
                    delete: false,
                    properties: vec![],
                });
            }
        }
        services.push(service);
    }
    services
}

/// The dependency edges of `services`: one per FMRI a dependency cites, service-level and
/// instance-level dependencies alike (`<dependent>`s are not counted).
pub fn edge_count(services: &[Service]) -> usize {
    services
        .iter()
        .flat_map(|service| {
            std::iter::once(&service.settings)
                .chain(service.instances.iter().map(|instance| &instance.settings))
        })
        .flat_map(|settings| &settings.dependencies)
        .map(|dependency| dependency.targets.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_manifests_validate() {
        for (file, bytes) in generate_manifests(200) {
            let parsed = smf_core::manifest::parse(&file, &bytes);
            let report: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
            assert!(
                parsed.is_valid(),
                "{file} does not validate:\n{}\n--- manifest ---\n{}",
                report.join("\n"),
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn generation_is_deterministic_and_realistically_sized() {
        let first = generate_manifests(300);
        let second = generate_manifests(300);
        assert_eq!(first, second);
        assert_eq!(generate_manifests(10)[..], first[..10]);
        for (file, bytes) in &first {
            assert!(
                (2_000..=5_500).contains(&bytes.len()),
                "{file} is {} bytes",
                bytes.len()
            );
        }
    }

    #[test]
    fn dependencies_form_a_dag() {
        for (index, (_, bytes)) in generate_manifests(200).iter().enumerate() {
            let text = String::from_utf8_lossy(bytes);
            for part in text.split("svc:/site/gen/svc").skip(1) {
                let target: usize = part[..5].parse().expect("five digits");
                assert!(target < index, "svc{index:05} depends on svc{target:05}");
            }
        }
    }

    #[test]
    fn layered_dag_is_acyclic_deterministic_and_the_right_size() {
        let services = layered_dag(2_000, 7);
        assert_eq!(services.len(), 2_000);
        assert_eq!(services, layered_dag(2_000, 7));
        assert_ne!(services, layered_dag(2_000, 8));
        let edges = edge_count(&services);
        // Layer 0 has none; each later service cites 1..=6 instances.
        assert!((1_900..=1_900 * 6).contains(&edges), "{edges} edges");
        for (index, service) in services.iter().enumerate() {
            for dependency in &service.settings.dependencies {
                for target in &dependency.targets {
                    let number: usize = target
                        .strip_prefix("svc:/bench/s")
                        .and_then(|rest| rest.strip_suffix(":default"))
                        .and_then(|number| number.parse().ok())
                        .expect("a bench instance FMRI");
                    assert!(
                        number / LAYER_WIDTH < index / LAYER_WIDTH,
                        "s{index} -> {target}"
                    );
                }
            }
        }

        let graph = smf_core::graph::DependencyGraph::build(&services);
        assert!(graph.problems().is_empty(), "{:?}", graph.problems());
        // svc.startd's own instance, then the 2,000 imported ones.
        assert_eq!(graph.instances().len(), 2_001);
        for &node in graph.instances() {
            assert!(graph.cycle(node).is_none(), "{:?}", graph.cycle(node));
            assert!(graph.invalid_dependency(node).is_none());
        }
    }
}
