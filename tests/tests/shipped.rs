//! The manifests smf ships for real Linux services (everything under `manifests/` but the
//! demo set, which `svccfg_validate` and core's model snapshots cover): each is valid without
//! a warning and pinned by a readable snapshot of what it defines, so any change to one shows
//! up in review; each has a documented template; only what cannot fight the host's own init
//! is enabled by default; together they come online in the simulated engine; and the start
//! methods of network/loopback and network/physical do what they say in network namespaces
//! of their own (root needed, as CI runs the tests).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use smf_core::engine::MethodName;
use smf_core::graph::{DependencyGraph, Target};
use smf_core::manifest::{
    self, Bundle, DependencyKind, Documentation, EffectiveInstance, Exec, Grouping, RestartOn,
    ServiceKind, Timeout,
};
use smf_core::sim::World;
use smf_core::state::State;
use smf_tests::workspace;

/// How many manifests the Linux services are: a file added or lost must be noticed here.
const SHIPPED: usize = 13;

/// How long a method may take to do what it should (generous: CI shares two cores).
const DEADLINE: Duration = Duration::from_secs(20);

/// The instances enabled out of the box: those that run nothing (milestones), do nothing when
/// done already (loopback) or only wait (physical). Every daemon ships disabled, since the
/// host's own init may already run it (manifests/README.md).
const ENABLED_BY_DEFAULT: [&str; 5] = [
    "svc:/milestone/multi-user-server:default",
    "svc:/milestone/multi-user:default",
    "svc:/milestone/network:default",
    "svc:/network/loopback:default",
    "svc:/network/physical:default",
];

/// Where the manifests name the method scripts, and where they are in the checkout.
const METHOD_INSTALL_DIR: &str = "/lib/svc/method/";
const METHOD_SOURCE_DIR: &str = "manifests/method";

/// Every shipped manifest outside `manifests/demo`, as (path relative to `manifests/`,
/// bundle), in path order. Panics on any diagnostic, warnings included.
fn shipped() -> Vec<(String, Bundle)> {
    let root = workspace().join("manifests");
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("manifests/ is readable") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                if path != root.join("demo") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|extension| extension == "xml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = relative(&root, &path);
            let bytes = std::fs::read(&path).expect("readable manifest");
            let parsed = manifest::parse(&name, &bytes);
            let diagnostics: Vec<String> =
                parsed.diagnostics.iter().map(ToString::to_string).collect();
            assert!(
                diagnostics.is_empty(),
                "shipped manifests must be valid without a warning:\n{}",
                diagnostics.join("\n")
            );
            let bundle = parsed.bundle.expect("a valid manifest has a bundle");
            (name, bundle)
        })
        .collect()
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("found under the root")
        .display()
        .to_string()
}

fn instances(bundle: &Bundle) -> Vec<EffectiveInstance> {
    bundle
        .services
        .iter()
        .flat_map(manifest::Service::effective_instances)
        .collect()
}

fn grouping(grouping: Grouping) -> &'static str {
    match grouping {
        Grouping::RequireAll => "require_all",
        Grouping::RequireAny => "require_any",
        Grouping::OptionalAll => "optional_all",
        Grouping::ExcludeAll => "exclude_all",
    }
}

fn restart_on(restart_on: RestartOn) -> &'static str {
    match restart_on {
        RestartOn::None => "none",
        RestartOn::Error => "error",
        RestartOn::Restart => "restart",
        RestartOn::Refresh => "refresh",
    }
}

fn dependency_kind(kind: DependencyKind) -> &'static str {
    match kind {
        DependencyKind::Service => "service",
        DependencyKind::Path => "path",
    }
}

fn service_kind(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Service => "service",
        ServiceKind::Restarter => "restarter",
        ServiceKind::Milestone => "milestone",
    }
}

fn timeout_text(timeout: Timeout) -> String {
    match timeout {
        Timeout::Infinite => "no timeout".to_string(),
        Timeout::Seconds(seconds) => format!("timeout {seconds} s"),
    }
}

/// What a manifest defines, per instance, in words a reviewer reads at a glance.
fn summary(name: &str, bundle: &Bundle) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "file: {name}");
    let _ = writeln!(out, "bundle: {}", bundle.name);
    for service in &bundle.services {
        let _ = writeln!(
            out,
            "service: {} ({}), stability {}",
            service.name,
            service_kind(service.kind),
            service.stability.as_deref().unwrap_or("unset")
        );
    }
    for instance in instances(bundle) {
        let settings = &instance.settings;
        let _ = writeln!(out, "\n{}", instance.fmri());
        let enabled = instance
            .enabled
            .map_or("unset".to_string(), |enabled| enabled.to_string());
        let _ = writeln!(out, "  enabled: {enabled}");
        if instance.service_kind == ServiceKind::Milestone {
            let _ = writeln!(out, "  milestone: runs no method");
        } else {
            let _ = writeln!(out, "  duration: {}", instance.duration());
        }
        if let Some(restarter) = &settings.restarter {
            let _ = writeln!(out, "  restarter: {restarter}");
        }
        let _ = writeln!(out, "  dependencies:");
        if settings.dependencies.is_empty() {
            let _ = writeln!(out, "    (none)");
        }
        for dependency in &settings.dependencies {
            let _ = writeln!(
                out,
                "    {}: {}, restart_on={}, {} -> {}",
                dependency.name,
                grouping(dependency.grouping),
                restart_on(dependency.restart_on),
                dependency_kind(dependency.kind),
                dependency.targets.join(", ")
            );
        }
        let _ = writeln!(out, "  dependents:");
        if settings.dependents.is_empty() {
            let _ = writeln!(out, "    (none)");
        }
        for dependent in &settings.dependents {
            let _ = writeln!(
                out,
                "    {}: {}, restart_on={} -> {}",
                dependent.name,
                grouping(dependent.grouping),
                restart_on(dependent.restart_on),
                dependent.target
            );
        }
        let _ = writeln!(out, "  methods:");
        if settings.exec_methods.is_empty() {
            let _ = writeln!(out, "    (none)");
        }
        for method in &settings.exec_methods {
            let _ = writeln!(
                out,
                "    {}: {} ({})",
                method.name,
                method.exec,
                timeout_text(method.timeout)
            );
        }
        let _ = writeln!(out, "  credentials:");
        let mut any_context = false;
        for method in &settings.exec_methods {
            let context = instance.method_context(method);
            let mut parts = Vec::new();
            if let Some(credential) = &context.credential {
                parts.push(format!(
                    "user={}",
                    credential.user.as_deref().unwrap_or("(unset)")
                ));
                if let Some(group) = &credential.group {
                    parts.push(format!("group={group}"));
                }
                if let Some(groups) = &credential.supp_groups {
                    parts.push(format!("supp_groups={groups}"));
                }
            }
            if let Some(directory) = &context.working_directory {
                parts.push(format!("working_directory={directory}"));
            }
            for variable in &context.environment {
                parts.push(format!("{}={}", variable.name, variable.value));
            }
            if !parts.is_empty() {
                any_context = true;
                let _ = writeln!(out, "    {}: {}", method.name, parts.join(" "));
            }
        }
        if settings.exec_methods.is_empty() {
            let _ = writeln!(out, "    (no methods)");
        } else if !any_context {
            let _ = writeln!(out, "    (none: methods run as root)");
        }
        let _ = writeln!(out, "  properties:");
        let mut any_property = false;
        for group in &settings.property_groups {
            for property in &group.properties {
                any_property = true;
                let values: Vec<String> = property.values.iter().map(|v| v.to_text()).collect();
                let _ = writeln!(
                    out,
                    "    {}/{} = {}",
                    group.name,
                    property.name,
                    values.join(" ")
                );
            }
        }
        if !any_property {
            let _ = writeln!(out, "    (none)");
        }
        match &settings.template {
            Some(template) => {
                let _ = writeln!(
                    out,
                    "  template: {}",
                    template.common_name().unwrap_or("(no common name)")
                );
                let documentation: Vec<String> = template
                    .documentation
                    .iter()
                    .map(|entry| match entry {
                        Documentation::Manpage { title, section, .. } => {
                            format!("{title}({section})")
                        }
                        Documentation::DocLink { uri, .. } => uri.clone(),
                    })
                    .collect();
                let _ = writeln!(out, "    documentation: {}", documentation.join(", "));
            }
            None => {
                let _ = writeln!(out, "  template: (none)");
            }
        }
    }
    out
}

/// `network/physical.xml` -> `network-physical`.
fn snapshot_name(name: &str) -> String {
    name.trim_end_matches(".xml").replace('/', "-")
}

#[test]
fn every_shipped_manifest_is_pinned_by_a_snapshot() {
    let shipped = shipped();
    let names: Vec<&str> = shipped.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        shipped.len(),
        SHIPPED,
        "shipped manifests found: {names:?}; update SHIPPED (and the README's table) when adding or removing one"
    );
    for (name, bundle) in &shipped {
        insta::assert_snapshot!(snapshot_name(name), summary(name, bundle));
    }
    // A manifest removed or renamed must take its snapshot with it.
    let expected: BTreeSet<String> = shipped
        .iter()
        .map(|(name, _)| format!("main__shipped__{}.snap", snapshot_name(name)))
        .collect();
    let snapshots = workspace().join("tests/tests/snapshots");
    let found: BTreeSet<String> = std::fs::read_dir(&snapshots)
        .expect("the snapshots folder exists once the snapshots are written")
        .map(|entry| entry.expect("readable entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with("main__shipped__") && name.ends_with(".snap"))
        .collect();
    let stale: Vec<&String> = found.difference(&expected).collect();
    assert!(
        stale.is_empty(),
        "snapshots of manifests that are no longer shipped: {stale:?}"
    );
}

#[test]
fn every_shipped_instance_has_a_documented_template() {
    for (name, bundle) in shipped() {
        for instance in instances(&bundle) {
            let fmri = instance.fmri();
            let template = instance
                .settings
                .template
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: {fmri} has no template"));
            assert!(
                template.common_name().is_some_and(|text| !text.is_empty()),
                "{name}: {fmri} has no common_name"
            );
            assert!(
                template.description().is_some_and(|text| !text.is_empty()),
                "{name}: {fmri} has no description"
            );
            assert!(
                !template.documentation.is_empty(),
                "{name}: {fmri} has no documentation (manpage or doc_link)"
            );
        }
    }
}

#[test]
fn only_what_cannot_fight_the_hosts_init_is_enabled_by_default() {
    let mut enabled = Vec::new();
    let mut disabled = Vec::new();
    for (_, bundle) in shipped() {
        for instance in instances(&bundle) {
            match instance.enabled {
                Some(true) => enabled.push(instance.fmri()),
                Some(false) => disabled.push(instance.fmri()),
                None => panic!("{} does not say whether it is enabled", instance.fmri()),
            }
        }
    }
    enabled.sort();
    assert_eq!(enabled, ENABLED_BY_DEFAULT);
    disabled.sort();
    assert_eq!(
        disabled,
        [
            "svc:/network/chrony:default",
            "svc:/network/dhcp-client:default",
            "svc:/network/dhcp-server:default",
            "svc:/network/http:nginx",
            "svc:/network/ssh:default",
            "svc:/system/cron:default",
            "svc:/system/dbus:default",
            "svc:/system/system-log:rsyslog",
        ]
    );
}

#[test]
fn method_scripts_the_manifests_name_are_shipped_and_every_shipped_one_is_used() {
    let mut named = BTreeSet::new();
    for (name, bundle) in shipped() {
        for instance in instances(&bundle) {
            for method in &instance.settings.exec_methods {
                let Exec::Command(command) = &method.exec else {
                    continue;
                };
                let program = command.split_whitespace().next().unwrap_or_default();
                if let Some(script) = program.strip_prefix(METHOD_INSTALL_DIR) {
                    named.insert(script.to_string());
                } else {
                    assert!(
                        !program.contains("/svc/method/"),
                        "{name}: method scripts install in {METHOD_INSTALL_DIR}, not {program}"
                    );
                }
            }
        }
    }
    let shipped: BTreeSet<String> = std::fs::read_dir(workspace().join(METHOD_SOURCE_DIR))
        .expect("manifests/method exists")
        .map(|entry| entry.expect("readable entry"))
        .map(|entry| {
            let path = entry.path();
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert!(mode & 0o111 != 0, "{} is not executable", path.display());
            let text = std::fs::read_to_string(&path).expect("a text script");
            assert!(
                text.starts_with("#!/bin/sh\n"),
                "{} is not a POSIX sh script",
                path.display()
            );
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    assert_eq!(named, shipped);
    assert!(named.contains("net-physical"));
}

#[test]
fn every_dependency_resolves_inside_the_shipped_set_without_cycles() {
    let shipped = shipped();
    let services: Vec<manifest::Service> = shipped
        .iter()
        .flat_map(|(_, bundle)| bundle.services.clone())
        .collect();
    let graph = DependencyGraph::build(&services);
    assert!(graph.problems().is_empty(), "{:?}", graph.problems());
    for &instance in graph.instances() {
        let fmri = graph.fmri(instance).map(ToString::to_string);
        assert!(graph.cycle(instance).is_none(), "{fmri:?} is in a cycle");
        assert!(
            graph.invalid_dependency(instance).is_none(),
            "{fmri:?}: {:?}",
            graph.invalid_dependency(instance)
        );
        for (group, dependency) in graph.groups(instance) {
            for &target in graph.targets(group) {
                let resolved = match target {
                    Target::Instance(node) => graph.is_configured(node),
                    Target::Service(node) => !graph.members(node).is_empty(),
                    Target::File(_) => true,
                };
                assert!(
                    resolved,
                    "{fmri:?}: dependency {} names something no shipped manifest delivers",
                    dependency.name
                );
            }
        }
    }
}

/// The shipped services in the simulated engine, with every configuration file present; with
/// `enable_all`, every instance is enabled as if its manifest said so.
fn world(enable_all: bool) -> World {
    let mut services: Vec<manifest::Service> = shipped()
        .into_iter()
        .flat_map(|(_, bundle)| bundle.services)
        .collect();
    if enable_all {
        for service in &mut services {
            if service.create_default_instance.is_some() {
                service.create_default_instance = Some(true);
            }
            for instance in &mut service.instances {
                instance.enabled = Some(true);
            }
        }
    }
    let mut world = World::new();
    for path in DependencyGraph::build(&services).files() {
        world.create_file(path);
    }
    world.import_services(services);
    world
}

#[test]
fn as_shipped_what_is_enabled_comes_online_and_the_daemons_stay_disabled() {
    let mut world = world(false);
    world.run();
    for status in world.engine().statuses() {
        let fmri = status.fmri.to_string();
        if fmri == "svc:/system/svc/restarter:default" {
            continue;
        }
        let expected = if ENABLED_BY_DEFAULT.contains(&fmri.as_str()) {
            State::Online
        } else {
            State::Disabled
        };
        assert_eq!(status.state, expected, "{fmri}");
    }
}

#[test]
fn with_every_service_enabled_everything_comes_online_and_dhcp_comes_before_physical() {
    let mut world = world(true);
    world.run();
    let all: Vec<String> = world
        .engine()
        .statuses()
        .into_iter()
        .map(|status| status.fmri.to_string())
        .filter(|fmri| fmri != "svc:/system/svc/restarter:default")
        .collect();
    assert_eq!(all.len(), ENABLED_BY_DEFAULT.len() + 8, "{all:?}");
    for fmri in &all {
        assert_eq!(world.state(fmri), Some(State::Online), "{fmri}");
    }
    // network/physical waits for the address the DHCP client obtains, so it starts after it.
    let started = |fmri: &str| {
        world
            .method_runs()
            .iter()
            .position(|(_, run, method)| run.to_string() == fmri && *method == MethodName::Start)
            .unwrap_or_else(|| panic!("{fmri} never started"))
    };
    assert!(started("svc:/network/dhcp-client:default") < started("svc:/network/physical:default"));
    assert!(started("svc:/network/physical:default") < started("svc:/network/ssh:default"));
}

/// A network namespace of this test's own, deleted when dropped (even when the test fails).
struct Namespace {
    name: String,
}

impl Namespace {
    fn new(tag: &str) -> Namespace {
        let name = format!("smf-test-{}-{tag}", std::process::id());
        let output = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("ip (iproute2) can be run");
        assert!(
            output.status.success(),
            "cannot create the network namespace {name}: these tests need root, as CI runs them, and this is uid {}: {}",
            nix::unistd::getuid(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Namespace { name }
    }

    /// `ip -n NAME ARGS...`, which must succeed.
    fn ip(&self, args: &[&str]) -> String {
        let output = Command::new("ip")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .expect("ip can be run");
        assert!(
            output.status.success(),
            "ip -n {} {}: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A veth pair, `d0` (with `address`) and its peer `d1`, both down. A dummy link would
    /// do with one, but not every kernel has the dummy driver (this workplace's has not);
    /// veth is what containers use, so it is there wherever network namespaces are.
    fn add_link_with_address(&self, address: &str) {
        self.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
        self.ip(&["address", "add", address, "dev", "d0"]);
    }

    /// `ip netns exec NAME ARGV...` from the checkout, in a process group of its own.
    fn spawn(&self, argv: &[&str]) -> Running {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .current_dir(workspace())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("ip netns exec can be started");
        Running::new(child)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// A method running in a namespace: its stdout line by line, killed with its whole process
/// group (ip monitor included) when dropped.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
}

impl Running {
    fn new(mut child: Child) -> Running {
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stdout: Vec::new(),
        }
    }

    /// Waits (bounded) for a line of output containing `text`.
    fn wait_for_line(&mut self, text: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !self.stdout.iter().any(|line| line.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.stdout.push(line),
                Err(_) => {
                    let stderr = self.stderr_if_exited();
                    panic!(
                        "no line with {text:?} within {DEADLINE:?}; output so far: {:?}, stderr: {stderr}",
                        self.stdout
                    )
                }
            }
        }
    }

    /// Asserts the method keeps running for `period`, checking every 20 ms.
    fn assert_still_waiting(&mut self, period: Duration, what: &str) {
        let until = Instant::now() + period;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "the method exited ({status}) {what}; stdout: {:?}, stderr: {}",
                    self.output(),
                    self.stderr_if_exited()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls until the method exits, within [`DEADLINE`].
    fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the method did not exit within {DEADLINE:?}; stdout: {:?}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every stdout line so far (after an exit: all of them).
    fn output(&mut self) -> Vec<String> {
        if self.child.try_wait().ok().flatten().is_some() {
            // The reader thread ends at EOF, once every writer (ip monitor too) has gone.
            while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
                self.stdout.push(line);
            }
        } else {
            self.stdout.extend(self.lines.try_iter());
        }
        self.stdout.clone()
    }

    fn stderr_if_exited(&mut self) -> String {
        if self.child.try_wait().ok().flatten().is_none() {
            return "(still running)".to_string();
        }
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// `manifests/method/net-physical`, relative to the checkout, where the tests run it.
fn net_physical() -> String {
    let script = PathBuf::from(METHOD_SOURCE_DIR).join("net-physical");
    assert!(workspace().join(&script).is_file());
    script.display().to_string()
}

#[test]
fn net_physical_waits_until_a_link_is_up_with_carrier_and_an_address() {
    let namespace = Namespace::new("wait");
    let mut method = namespace.spawn(&["sh", &net_physical()]);
    // It found nothing usable (only lo, which is down) and is waiting on ip monitor.
    method.wait_for_line("waiting for a link other than lo");
    method.assert_still_waiting(Duration::from_millis(300), "with no link but lo");

    // An address on a link that is down, then up without carrier: not yet.
    namespace.add_link_with_address("192.0.2.1/24");
    method.assert_still_waiting(Duration::from_millis(300), "with the link down");
    namespace.ip(&["link", "set", "d0", "up"]);
    method.assert_still_waiting(Duration::from_millis(500), "with no carrier");

    // The peer comes up: d0 has carrier, and the method is done.
    namespace.ip(&["link", "set", "d1", "up"]);
    let status = method.wait_for_exit();
    let output = method.output();
    assert!(status.success(), "{status}; stdout: {output:?}");
    assert_eq!(
        output.last().map(String::as_str),
        Some("net-physical: d0 is up with address 192.0.2.1/24")
    );
}

#[test]
fn net_physical_exits_at_once_when_a_link_already_has_an_address() {
    let namespace = Namespace::new("ready");
    namespace.add_link_with_address("192.0.2.1/24");
    namespace.ip(&["link", "set", "d1", "up"]);
    namespace.ip(&["link", "set", "d0", "up"]);
    let started = Instant::now();
    let mut method = namespace.spawn(&["sh", &net_physical()]);
    let status = method.wait_for_exit();
    let output = method.output();
    assert!(status.success(), "{status}; stdout: {output:?}");
    assert_eq!(
        output,
        ["net-physical: d0 is up with address 192.0.2.1/24"],
        "it must not wait"
    );
    assert!(started.elapsed() < DEADLINE);
}

#[test]
fn network_loopback_start_method_brings_lo_up() {
    let (_, bundle) = shipped()
        .into_iter()
        .find(|(name, _)| name == "network/loopback.xml")
        .expect("network/loopback.xml is shipped");
    let instance = instances(&bundle).remove(0);
    let start = instance.method("start").expect("a start method");
    let Exec::Command(command) = &start.exec else {
        panic!("the start method runs a command");
    };
    let namespace = Namespace::new("loopback");
    let flags = |namespace: &Namespace| namespace.ip(&["-o", "link", "show", "lo"]);
    assert!(!flags(&namespace).contains(",UP"), "{}", flags(&namespace));
    let mut method = namespace.spawn(&["sh", "-c", command]);
    assert!(method.wait_for_exit().success());
    assert!(flags(&namespace).contains(",UP"), "{}", flags(&namespace));
    // Running it again changes nothing and still succeeds: it cannot fight the host.
    let mut again = namespace.spawn(&["sh", "-c", command]);
    assert!(again.wait_for_exit().success());
}
