//! svccfg import, export, delete, listprop and setprop against a running svc.startd.

use std::path::{Path, PathBuf};

use smf_core::protocol::{InstanceInfo, Request, Response};
use smf_core::state::State;
use smf_tests::daemon::{Daemon, alive, bundle, dependency, service};

use super::run;

fn svccfg(daemon: &Daemon, args: &[&str]) -> (i32, String, String) {
    run(daemon, "svccfg", args)
}

fn svcadm(daemon: &Daemon, args: &[&str]) {
    let (status, stdout, stderr) = run(daemon, "svcadm", args);
    assert_eq!(status, 0, "svcadm {args:?}: {stdout}{stderr}");
}

/// Writes `text` at `relative` under the daemon's root (outside its manifest directory
/// unless `relative` starts with `manifest/`).
fn write(daemon: &Daemon, relative: &str, text: &str) -> PathBuf {
    let path = daemon.root().join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a directory for the file");
    }
    std::fs::write(&path, text).expect("write the file");
    path
}

fn rescan(daemon: &Daemon) {
    match daemon.request(&Request::Rescan) {
        Response::Imported { .. } => {}
        other => panic!("unexpected answer to rescan: {other:?}"),
    }
}

/// Stops svc.startd (and with it every instance) and starts it again on the same root.
fn restart(daemon: &mut Daemon) {
    daemon.terminate();
    daemon.launch();
}

/// A child service that runs `sleep`, with `extra` inside the service element.
fn sleeper(name: &str, enabled: bool, extra: &str) -> String {
    let child = "<property_group name='startd' type='framework'>\
                 <propval name='duration' type='astring' value='child'/></property_group>";
    service(name, enabled, "/bin/sleep 1000", &format!("{extra}{child}"))
}

fn path(text: &Path) -> &str {
    text.to_str().expect("a UTF-8 path")
}

#[test]
fn import_checks_every_file_first_and_sends_nothing_when_one_is_broken() {
    let daemon = Daemon::start(&[]);
    let good = write(
        &daemon,
        "elsewhere/good.xml",
        &bundle(&[sleeper("site/good", true, "")]),
    );
    let broken = write(
        &daemon,
        "elsewhere/broken.xml",
        &bundle(&[sleeper(
            "site/broken",
            true,
            &dependency("net", "require_most", "error", &["svc:/site/good"]),
        )]),
    );
    let (status, stdout, stderr) = svccfg(&daemon, &["import", path(&good), path(&broken)]);
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("[ROOT]/elsewhere/broken.xml:")
            && lines[0].contains(": error: ")
            && lines[0].contains("require_most"),
        "{stderr}"
    );
    assert_eq!(lines.last(), Some(&"svccfg: nothing was imported."));
    assert!(daemon.info("svc:/site/good:default").is_none());

    let missing = daemon.root().join("elsewhere/missing.xml");
    let (status, _, stderr) = svccfg(&daemon, &["import", path(&missing)]);
    assert_eq!(status, 1);
    assert!(
        stderr.starts_with("[ROOT]/elsewhere/missing.xml: error: cannot read the file:"),
        "{stderr}"
    );

    // A relative path is sent absolute; instances come up as `enabled` says.
    let mut command = super::command(daemon.root(), "svccfg", &["import", "good.xml"]);
    let output = command
        .current_dir(daemon.root().join("elsewhere"))
        .output()
        .expect("svccfg runs");
    let (status, stdout, stderr) = super::outcome(daemon.root(), &output);
    assert_eq!((status, stdout.as_str()), (0, ""), "{stderr}");
    daemon.wait_state("svc:/site/good:default", State::Online);

    // Usage errors exit 2; help exits 0 and names the subcommands.
    let (status, _, _) = svccfg(&daemon, &["import"]);
    assert_eq!(status, 2);
    let (status, stdout, _) = svccfg(&daemon, &["--help"]);
    assert_eq!(status, 0);
    for subcommand in [
        "validate", "import", "export", "delete", "listprop", "setprop",
    ] {
        assert!(stdout.contains(subcommand), "{stdout}");
        let (status, help, _) = svccfg(&daemon, &[subcommand, "--help"]);
        assert_eq!(status, 0, "{subcommand} --help");
        assert!(help.contains("Usage: svccfg"), "{help}");
    }
}

#[test]
fn imported_manifests_survive_a_rescan_and_a_restart_without_their_file() {
    let mut daemon = Daemon::start(&[]);
    let file = write(
        &daemon,
        "elsewhere/app.xml",
        &bundle(&[
            sleeper("site/app", true, ""),
            sleeper("site/off", false, ""),
        ]),
    );
    let (status, _, stderr) = svccfg(&daemon, &["import", path(&file)]);
    assert_eq!(status, 0, "{stderr}");
    daemon.wait_state("svc:/site/app:default", State::Online);
    daemon.wait_state("svc:/site/off:default", State::Disabled);

    // The file goes: the repository's copy is the truth.
    std::fs::remove_file(&file).expect("remove the manifest");
    rescan(&daemon);
    assert_eq!(daemon.state("svc:/site/app:default"), Some(State::Online));
    assert_eq!(daemon.state("svc:/site/off:default"), Some(State::Disabled));

    restart(&mut daemon);
    daemon.wait_state("svc:/site/app:default", State::Online);
    daemon.wait_state("svc:/site/off:default", State::Disabled);
    rescan(&daemon);
    assert_eq!(daemon.state("svc:/site/app:default"), Some(State::Online));

    // Exported, it is the manifest that was imported.
    let (status, xml, _) = svccfg(&daemon, &["export", "app"]);
    assert_eq!(status, 0);
    assert!(xml.contains("<service name=\"site/app\""), "{xml}");
}

/// The service the export test exports: dependencies of both kinds, a method context,
/// three methods, property groups with lists, a second instance with its own settings,
/// stability and a template.
fn rich_service() -> String {
    format!(
        "<service name='site/app' type='service' version='1'>
           <create_default_instance enabled='true'/>
           {}
           <dependency name='passwd' grouping='optional_all' restart_on='none' type='path'>
             <service_fmri value='file://localhost/etc/passwd'/>
           </dependency>
           <method_context working_directory='/tmp'>
             <method_environment><envvar name='GREETING' value='hello world'/></method_environment>
           </method_context>
           <exec_method type='method' name='start' exec='/bin/sleep 1000' timeout_seconds='10'/>
           <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>
           <exec_method type='method' name='refresh' exec=':true' timeout_seconds='5'/>
           <property_group name='startd' type='framework'>
             <propval name='duration' type='astring' value='child'/>
           </property_group>
           <property_group name='config' type='application'>
             <propval name='greeting' type='astring' value='hello world'/>
             <property name='ports' type='count'>
               <count_list><value_node value='80'/><value_node value='443'/></count_list>
             </property>
             <propval name='verbose' type='boolean' value='true'/>
           </property_group>
           <instance name='second' enabled='false'>
             <property_group name='config' type='application'>
               <propval name='greeting' type='astring' value='hi'/>
             </property_group>
           </instance>
           <stability value='Unstable'/>
           <template><common_name><loctext xml:lang='C'>the app</loctext></common_name></template>
         </service>",
        dependency("net", "require_all", "error", &["svc:/site/net"])
    )
}

/// What `svcs -l` knows of each instance of site/app, in a form two daemons can compare.
fn described(daemon: &Daemon) -> Vec<InstanceInfo> {
    let mut instances: Vec<InstanceInfo> = match daemon.request(&Request::List {
        patterns: vec!["svc:/site/app".into()],
        relation: None,
        detail: true,
        processes: true,
    }) {
        Response::Instances { instances, .. } => instances,
        other => panic!("unexpected answer: {other:?}"),
    };
    for instance in &mut instances {
        instance.processes.clear();
        instance.contract_id = None;
        instance.log_file.clear();
        instance.status.since = Default::default();
        instance.status.start_status = None;
        if let Some(detail) = &mut instance.detail {
            for property in &mut detail.properties {
                property.customized = false;
            }
        }
    }
    instances
}

#[test]
fn export_validates_and_imports_back_to_the_same_service() {
    let net = bundle(&[sleeper("site/net", true, "")]);
    let daemon = Daemon::start(&[("net.xml", &net), ("app.xml", &bundle(&[rich_service()]))]);
    daemon.wait_state("svc:/site/app:default", State::Online);
    // Properties set with svccfg are part of the export (the default instance gains
    // settings of its own, so it is spelled out).
    for args in [
        &[
            "setprop",
            "app",
            "config/greeting",
            "=",
            "astring:",
            "\"bonjour le monde\"",
        ][..],
        &["setprop", "app:default", "config/verbose", "=", "false"],
        &[
            "setprop",
            "app:second",
            "startd/critical_failure_count",
            "=",
            "count:",
            "3",
        ],
    ] {
        let (status, stdout, stderr) = svccfg(&daemon, args);
        assert_eq!(
            (status, stdout.as_str(), stderr.as_str()),
            (0, "", ""),
            "{args:?}"
        );
    }
    svcadm(
        &daemon,
        &["refresh", "svc:/site/app:default", "svc:/site/app:second"],
    );
    daemon.wait_for(
        "the default instance to run with its new properties",
        |daemon| {
            described(daemon).iter().any(|instance| {
                instance.detail.as_ref().is_some_and(|detail| {
                    detail
                        .properties
                        .iter()
                        .any(|p| p.name == "verbose" && p.values == ["false"])
                }) && instance.status.next_state.is_none()
            })
        },
    );

    let (status, xml, stderr) = svccfg(&daemon, &["export", "svc:/site/app"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("bonjour le monde"), "{xml}");
    let (status, by_instance, _) = svccfg(&daemon, &["export", "site/app:second"]);
    assert_eq!(status, 0);
    assert_eq!(by_instance, xml, "an instance exports its whole service");

    let exported = write(&daemon, "exported/app.xml", &xml);
    let (status, stdout, _) = svccfg(&daemon, &["validate", path(&exported)]);
    assert_eq!((status, stdout.as_str()), (0, ""));

    // A fresh daemon with the export runs the same service.
    let fresh = Daemon::start(&[("net.xml", &net), ("app.xml", &xml)]);
    fresh.wait_state("svc:/site/app:default", State::Online);
    fresh.wait_state("svc:/site/app:second", State::Disabled);
    let before = described(&daemon);
    let after = described(&fresh);
    assert_eq!(before.len(), 2);
    assert_eq!(after, before);
    let (status, again, _) = svccfg(&fresh, &["export", "site/app"]);
    assert_eq!(status, 0);
    assert_eq!(again, xml, "the export of the import is the export");

    let (status, stdout, stderr) = svccfg(&daemon, &["export", "svc:/site/nothing"]);
    assert_eq!(
        (status, stdout.as_str(), stderr.as_str()),
        (1, "", "svccfg: svc:/site/nothing: not found.\n")
    );
}

#[test]
fn delete_stops_and_forgets_until_the_manifest_changes() {
    let manifest = bundle(&[
        sleeper("site/doomed", true, ""),
        sleeper("site/keeper", true, ""),
        "<service name='site/pair' type='service' version='1'>
               <exec_method type='method' name='start' exec='/bin/sleep 1000' timeout_seconds='10'/>
               <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>
               <property_group name='startd' type='framework'>
                 <propval name='duration' type='astring' value='child'/>
               </property_group>
               <instance name='one' enabled='true'/>
               <instance name='two' enabled='true'/>
             </service>"
            .to_string(),
    ]);
    let mut daemon = Daemon::start(&[("site.xml", &manifest)]);
    for fmri in [
        "svc:/site/doomed:default",
        "svc:/site/keeper:default",
        "svc:/site/pair:one",
        "svc:/site/pair:two",
    ] {
        daemon.wait_state(fmri, State::Online);
    }
    let pids = daemon.pids("svc:/site/doomed:default");
    assert!(!pids.is_empty());

    let (status, stdout, stderr) = svccfg(&daemon, &["delete", "doomed"]);
    assert_eq!((status, stdout.as_str(), stderr.as_str()), (0, "", ""));
    daemon.wait_for("doomed to be gone", |d| {
        d.info("svc:/site/doomed:default").is_none()
    });
    daemon.wait_for("its process to end", |_| {
        !pids.iter().any(|&pid| alive(pid))
    });
    let (status, _, stderr) = svccfg(&daemon, &["delete", "pair:one"]);
    assert_eq!(status, 0, "{stderr}");
    daemon.wait_for("pair:one to be gone", |d| {
        d.info("svc:/site/pair:one").is_none()
    });
    assert_eq!(daemon.state("svc:/site/pair:two"), Some(State::Online));

    // Not back at a rescan, nor at a restart: the manifest has not changed.
    rescan(&daemon);
    restart(&mut daemon);
    daemon.wait_state("svc:/site/keeper:default", State::Online);
    daemon.wait_state("svc:/site/pair:two", State::Online);
    assert!(daemon.info("svc:/site/doomed:default").is_none());
    assert!(daemon.info("svc:/site/pair:one").is_none());

    for (name, shown) in [
        ("svc:/site/doomed", "svc:/site/doomed"),
        ("nothing", "svc:/nothing"),
        ("site/pair:one", "svc:/site/pair:one"),
    ] {
        let (status, stdout, stderr) = svccfg(&daemon, &["delete", name]);
        assert_eq!(
            (status, stdout.as_str(), stderr),
            (1, "", format!("svccfg: {shown}: not found.\n"))
        );
    }

    // A changed manifest brings them back (illumos's manifest-import re-imports it).
    write(
        &daemon,
        "manifest/site.xml",
        &format!("{manifest}<!-- v2 -->\n"),
    );
    rescan(&daemon);
    daemon.wait_state("svc:/site/doomed:default", State::Online);
    daemon.wait_state("svc:/site/pair:one", State::Online);

    // So does svccfg import of the file.
    let (status, _, _) = svccfg(&daemon, &["delete", "svc:/site/doomed"]);
    assert_eq!(status, 0);
    daemon.wait_for("doomed to be gone again", |d| {
        d.info("svc:/site/doomed:default").is_none()
    });
    let file = daemon.root().join("manifest/site.xml");
    let (status, _, stderr) = svccfg(&daemon, &["import", path(&file)]);
    assert_eq!(status, 0, "{stderr}");
    daemon.wait_state("svc:/site/doomed:default", State::Online);
}

#[test]
fn listprop_prints_groups_and_properties_aligned() {
    let extra = "<property_group name='config' type='application'>
                   <propval name='greeting' type='astring' value='hello world'/>
                   <property name='ports' type='count'>
                     <count_list><value_node value='80'/><value_node value='443'/></count_list>
                   </property>
                   <propval name='verbose' type='boolean' value='true'/>
                 </property_group>";
    let daemon = Daemon::start(&[(
        "app.xml",
        &bundle(&[
            sleeper("site/app", true, extra),
            "<service name='site/multi' type='service' version='1'>
                   <exec_method type='method' name='start' exec=':true' timeout_seconds='10'/>
                   <instance name='a' enabled='false'/>
                   <instance name='b' enabled='false'/>
                 </service>"
                .to_string(),
        ]),
    )]);
    daemon.wait_state("svc:/site/app:default", State::Online);
    let (status, stdout, stderr) = svccfg(&daemon, &["listprop", "app"]);
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        stdout,
        "config           application\n\
         config/greeting  astring  \"hello world\"\n\
         config/ports     count    80 443\n\
         config/verbose   boolean  true\n\
         startd           framework\n\
         startd/duration  astring  child\n"
    );
    let (status, stdout, _) = svccfg(&daemon, &["listprop", "svc:/site/app:default", "config/p*"]);
    assert_eq!(status, 0);
    assert_eq!(
        stdout,
        "config        application\nconfig/ports  count    80 443\n"
    );
    let (status, stdout, _) = svccfg(&daemon, &["listprop", "app", "startd"]);
    assert_eq!(status, 0);
    assert_eq!(
        stdout,
        "startd           framework\nstartd/duration  astring  child\n"
    );

    let (status, _, stderr) = svccfg(&daemon, &["listprop", "site/nothing"]);
    assert_eq!(
        (status, stderr.as_str()),
        (1, "svccfg: svc:/site/nothing: not found.\n")
    );
    let (status, _, stderr) = svccfg(&daemon, &["listprop", "multi"]);
    assert_eq!(status, 1);
    assert_eq!(
        stderr,
        "svccfg: multi: matches several instances (svc:/site/multi:a, svc:/site/multi:b); name one.\n"
    );
}

#[test]
fn setprop_is_kept_and_applied_at_refresh() {
    let greeter = service(
        "site/greeter",
        true,
        "/bin/sh -c &quot;echo greeting=%{config/greeting}; exec /bin/sleep 1000&quot;",
        "<property_group name='startd' type='framework'>
           <propval name='duration' type='astring' value='child'/>
         </property_group>
         <property_group name='config' type='application'>
           <propval name='greeting' type='astring' value='hello'/>
         </property_group>",
    );
    let mut daemon = Daemon::start(&[("greeter.xml", &bundle(&[greeter]))]);
    let fmri = "svc:/site/greeter:default";
    daemon.wait_state(fmri, State::Online);
    let greeted = |daemon: &Daemon, word: &str| {
        daemon
            .log(fmri)
            .matches(&format!("greeting={word}\n"))
            .count()
    };
    daemon.wait_for("the first greeting", |d| greeted(d, "hello") == 1);

    let (status, stdout, stderr) = svccfg(
        &daemon,
        &["setprop", "greeter", "config/greeting", "=", "bonjour"],
    );
    assert_eq!((status, stdout.as_str(), stderr.as_str()), (0, "", ""));
    // Stored at once (export), running only after refresh: a restart still greets the old way.
    let (_, xml, _) = svccfg(&daemon, &["export", "greeter"]);
    assert!(xml.contains("value=\"bonjour\""), "{xml}");
    let (_, listed, _) = svccfg(&daemon, &["listprop", "greeter", "config/greeting"]);
    assert!(listed.contains("astring  hello\n"), "{listed}");
    svcadm(&daemon, &["restart", "greeter"]);
    daemon.wait_for("the second greeting", |d| greeted(d, "hello") == 2);

    svcadm(&daemon, &["refresh", "greeter"]);
    let (_, listed, _) = svccfg(&daemon, &["listprop", "greeter", "config/greeting"]);
    assert!(listed.contains("astring  bonjour\n"), "{listed}");
    svcadm(&daemon, &["restart", "greeter"]);
    daemon.wait_for("the new greeting", |d| greeted(d, "bonjour") == 1);

    // Kept across a restart of svc.startd, and reported as customized.
    restart(&mut daemon);
    daemon.wait_for("the greeting after the restart", |d| {
        greeted(d, "bonjour") == 2
    });
    let detail = match daemon.request(&Request::List {
        patterns: vec![fmri.into()],
        relation: None,
        detail: true,
        processes: true,
    }) {
        Response::Instances { mut instances, .. } => instances.remove(0).detail,
        other => panic!("unexpected answer: {other:?}"),
    };
    let greeting = detail
        .iter()
        .flat_map(|detail| &detail.properties)
        .find(|property| property.name == "greeting")
        .cloned()
        .expect("the property");
    assert_eq!(greeting.values, ["bonjour"]);
    assert!(greeting.customized);
}

#[test]
fn setprop_of_critical_failure_count_changes_when_a_crash_loop_stops() {
    let crashy = service(
        "site/crashy",
        false,
        "/bin/sh -c &quot;sleep 0.2; exit 1&quot;",
        "<property_group name='startd' type='framework'>
           <propval name='duration' type='astring' value='child'/>
         </property_group>",
    );
    let daemon = Daemon::start(&[("crashy.xml", &bundle(&[crashy]))]);
    let fmri = "svc:/site/crashy:default";
    daemon.wait_state(fmri, State::Disabled);
    let (status, _, stderr) = svccfg(
        &daemon,
        &[
            "setprop",
            "crashy",
            "startd/critical_failure_count",
            "=",
            "count:",
            "2",
        ],
    );
    assert_eq!(status, 0, "{stderr}");
    svcadm(&daemon, &["refresh", "crashy"]);
    let (_, listed, _) = svccfg(&daemon, &["listprop", "crashy", "startd/crit*"]);
    assert_eq!(
        listed,
        "startd                         framework\n\
         startd/critical_failure_count  count    2\n"
    );
    svcadm(&daemon, &["enable", "crashy"]);
    daemon.wait_state(fmri, State::Maintenance);
    // The default (5 starts) would have run it four or five times.
    let starts = daemon.log(fmri).matches("Executing start method").count();
    assert!(starts <= 2, "{starts} starts:\n{}", daemon.log(fmri));
}

#[test]
fn setprop_refuses_what_it_cannot_store() {
    let extra = "<property_group name='config' type='application'>
                   <propval name='port' type='count' value='80'/>
                 </property_group>";
    let daemon = Daemon::start(&[("app.xml", &bundle(&[sleeper("site/app", true, extra)]))]);
    daemon.wait_state("svc:/site/app:default", State::Online);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["config/port", "=", "eighty"],
            1,
            "svccfg: svc:/site/app: config/port: illegal value \"eighty\" for count: expected a whole number from 0 to 18446744073709551615\n",
        ),
        (
            &["config/port", "=", "astring:", "80"],
            1,
            "svccfg: svc:/site/app: config/port: type mismatch: the property is of type count, not astring\n",
        ),
        (
            &["config/new", "=", "1"],
            1,
            "svccfg: svc:/site/app: config/new: Type required for new properties (setprop config/new = TYPE: VALUE)\n",
        ),
        (
            &["start/exec", "=", "astring:", "/bin/true"],
            1,
            "svccfg: svc:/site/app: start/exec: \"start\" is a method; change it in the manifest and import it again\n",
        ),
        (
            &["general/enabled", "=", "false"],
            1,
            "svccfg: svc:/site/app: general/enabled: property group \"general\" is kept by svc.startd from the manifest; use svcadm enable or disable\n",
        ),
        (
            &["config/port", "=", "1", "2"],
            2,
            "svccfg: setprop: 2 values: a list is written in parentheses, ( value value ... )\n",
        ),
        (
            &["config/port"],
            2,
            "svccfg: setprop: expected \"=\" after config/port\n",
        ),
    ];
    for (assignment, expected_status, expected) in cases {
        let mut args = vec!["setprop", "site/app"];
        args.extend_from_slice(assignment);
        let (status, stdout, stderr) = svccfg(&daemon, &args);
        assert_eq!(
            (status, stdout.as_str(), stderr.as_str()),
            (*expected_status, "", *expected),
            "{args:?}"
        );
    }
    let (status, _, stderr) = svccfg(
        &daemon,
        &["setprop", "site/nothing", "config/port", "=", "1"],
    );
    assert_eq!(
        (status, stderr.as_str()),
        (1, "svccfg: svc:/site/nothing: not found.\n")
    );
    // A list is stored whole; the service still lists its one value until it is refreshed.
    let (status, _, stderr) = svccfg(
        &daemon,
        &["setprop", "app", "config/port", "=", "(", "80", "+443", ")"],
    );
    assert_eq!(status, 0, "{stderr}");
    let (_, xml, _) = svccfg(&daemon, &["export", "app"]);
    assert!(
        xml.contains("<value_node value=\"80\"/>") && xml.contains("<value_node value=\"443\"/>"),
        "{xml}"
    );
}

/// Every svccfg form against the fixed set, and every error message, pinned as one
/// snapshot (what a user reads, normalised like svcs' snapshots).
#[test]
fn every_svccfg_form_and_error() {
    let daemon = super::fixture();
    let broken = write(
        &daemon,
        "elsewhere/broken.xml",
        "<?xml version='1.0'?>\n<service_bundle type='manifest' name='x'>\n<service name='site/bad' type='service' version='1'>\n<dependency name='x' grouping='require_most' restart_on='none' type='service'><service_fmri value='svc:/a'/></dependency>\n</service>\n</service_bundle>\n",
    );
    let broken = path(&broken).to_string();
    let forms: Vec<Vec<&str>> = vec![
        vec!["listprop", "c-web"],
        vec!["listprop", "c-web", "startd/*"],
        vec!["export", "b-dhcp"],
        vec![
            "setprop",
            "c-web",
            "config/greeting",
            "=",
            "astring:",
            "hello",
        ],
        vec!["listprop", "c-web", "config/*"],
        // Errors.
        vec!["validate", &broken],
        vec!["import", &broken],
        vec!["import", "no/such/file.xml"],
        vec!["export", "svc:/site/nothing"],
        vec!["delete", "svc:/site/nothing"],
        vec!["listprop", "svc:/site/nothing"],
        vec!["listprop", "test/"],
        vec!["setprop", "c-web", "startd/duration", "=", "count:", "5"],
        vec!["setprop", "c-web", "config/port", "=", "count:", "eighty"],
        vec!["setprop", "c-web", "config/new", "=", "1"],
        vec!["setprop", "c-web", "config/x", "5"],
        vec![
            "setprop",
            "c-web",
            "general/enabled",
            "=",
            "boolean:",
            "false",
        ],
        vec!["frobnicate"],
    ];
    let transcripts: Vec<String> = forms
        .iter()
        .map(|args| {
            let result = run(&daemon, "svccfg", args);
            let mut line = vec!["svccfg".to_string()];
            line.extend(args.iter().map(|arg| super::normalise(daemon.root(), arg)));
            let line: Vec<&str> = line.iter().map(String::as_str).collect();
            super::transcript(&line, &result)
        })
        .collect();
    insta::assert_snapshot!("svccfg_forms", transcripts.join("\n"));
}
