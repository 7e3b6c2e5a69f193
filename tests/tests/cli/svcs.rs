//! svcs: every form, pinned as snapshots against the fixed set ([`super::fixture`]), and
//! every error.

use super::{command, fixture, outcome, run, transcript};

/// (snapshot name, arguments).
const FORMS: &[(&str, &[&str])] = &[
    ("default", &[]),
    ("all", &["-a"]),
    ("no_header", &["-H"]),
    ("verbose", &["-a", "-v"]),
    (
        "every_column",
        &[
            "-a",
            "-o",
            "state,sta,s,sn,nstate,nsta,n,svc,inst,scope,fmri,desc",
            "-s",
            "fmri",
        ],
    ),
    ("sort_by_fmri", &["-a", "-s", "fmri"]),
    ("sort_by_fmri_descending", &["-a", "-S", "fmri"]),
    (
        "sort_by_state_then_fmri_descending",
        &["-a", "-s", "state", "-S", "fmri"],
    ),
    ("pattern", &["-a", "*-d*"]),
    ("abbreviation_lists_disabled_too", &["f-off"]),
    ("processes", &["-p", "c-web", "a-network"]),
    (
        "processes_of_a_daemon_that_forked_away",
        &["-p", "g-forker"],
    ),
    ("explain_cycle", &["-x", "h-cycle-a", "h-cycle-b"]),
    ("dependencies", &["-d", "c-web"]),
    ("dependents", &["-D", "a-network"]),
    ("dependents_of_broken", &["-D", "d-broken"]),
    ("long", &["-l", "c-web"]),
    ("long_maintenance", &["-l", "d-broken"]),
    ("long_processes", &["-lp", "a-network"]),
    ("log_file", &["-L", "c-web", "d-broken"]),
    ("explain", &["-x"]),
    ("explain_verbose", &["-xv"]),
    ("explain_offline", &["-x", "e-waiter"]),
    ("explain_offline_verbose", &["-xv", "e-waiter"]),
    ("explain_online", &["-x", "c-web"]),
    ("explain_disabled", &["-x", "f-off"]),
    ("json", &["--json", "-a", "-s", "fmri"]),
    ("json_long", &["--json", "-l", "c-web"]),
    ("json_explain", &["--json", "-x"]),
    // Errors.
    ("error_no_match", &["nosuch"]),
    ("error_some_match", &["nosuch", "c-web"]),
    ("error_bad_column", &["-o", "state,bogus"]),
    ("error_long_without_operand", &["-l"]),
    ("error_two_modes", &["-x", "-l", "c-web"]),
    ("error_explain_with_processes", &["-x", "-p"]),
    ("error_bad_fmri", &["svc:/bad name"]),
];

#[test]
fn every_form_of_svcs() {
    let daemon = fixture();
    for (name, args) in FORMS {
        let result = run(&daemon, "svcs", args);
        let mut line = vec!["svcs"];
        line.extend_from_slice(args);
        insta::assert_snapshot!(*name, transcript(&line, &result));
    }
}

#[test]
fn json_documents_parse_and_carry_the_schema_version() {
    let daemon = fixture();
    let (status, stdout, _) = run(&daemon, "svcs", &["--json", "-a"]);
    assert_eq!(status, 0);
    let document: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(document["schema"], 1);
    let instances = document["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 10, "{stdout}");
    let broken = instances
        .iter()
        .find(|i| i["fmri"] == "svc:/test/d-broken:default")
        .expect("d-broken listed");
    assert_eq!(broken["state"], "maintenance");
    let (_, stdout, _) = run(&daemon, "svcs", &["--json", "-x"]);
    let document: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let first = &document["explanations"][0];
    assert_eq!(first["fmri"], "svc:/test/d-broken:default");
    assert_eq!(first["impact"][0], "svc:/test/e-waiter:default");
    assert!(
        first["log_tail"]
            .as_array()
            .is_some_and(|lines| lines.iter().any(|l| l
                .as_str()
                .is_some_and(|l| l.contains("cannot bind port 80")))),
        "{stdout}"
    );
}

#[test]
fn states_are_coloured_on_a_terminal_only() {
    let daemon = fixture();
    // Piped: never.
    let (_, piped, _) = run(&daemon, "svcs", &["d-broken"]);
    assert!(!piped.contains('\x1b'), "{piped:?}");
    // On a terminal (util-linux `script` gives svcs a pty): maintenance is red...
    let svcs = smf_tests::binary("svcs");
    let on_terminal = |no_color: bool| {
        let line = format!(
            "{} --root {} d-broken",
            svcs.display(),
            daemon.root().display()
        );
        let mut script = std::process::Command::new("script");
        script
            .args(["-qec", &line, "/dev/null"])
            .env("TERM", "xterm");
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        let output = script.output().expect("script runs");
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("\x1b[31mmaintenance\x1b[0m"),
        "{coloured:?}"
    );
    // ...unless NO_COLOR is set.
    let plain = on_terminal(true);
    assert!(
        plain.contains("maintenance") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn without_a_daemon_svcs_says_so_and_exits_1() {
    let root = tempfile::tempdir().expect("tempdir");
    let output = command(root.path(), "svcs", &[])
        .output()
        .expect("svcs runs");
    let result = outcome(root.path(), &output);
    insta::assert_snapshot!("error_no_daemon", transcript(&["svcs"], &result));
}

#[test]
fn long_form_shows_the_readiness_status_a_service_reported() {
    use smf_tests::daemon::{Daemon, bundle, service};
    let notify = smf_tests::binary("smf-notify");
    let ready = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='child'/><propval name='readiness' type='astring' value='notify'/></property_group>";
    let start = format!(
        "/bin/sh -c \"{} READY=1 STATUS=&apos;serving 3 clients&apos;; exec /bin/sleep 1000\"",
        notify.display()
    );
    let xml = bundle(&[service("site/db", true, &start, ready)]);
    let daemon = Daemon::start(&[("db.xml", &xml)]);
    daemon.wait_for("db ready with its status", |d| {
        d.info("svc:/site/db:default").is_some_and(|i| {
            i.status.state == smf_core::state::State::Online
                && i.status.status_text.as_deref() == Some("serving 3 clients")
        })
    });
    daemon.remember(&daemon.pids("svc:/site/db:default"));
    let (status, stdout, _) = run(&daemon, "svcs", &["-l", "site/db"]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains("\nstatus       serving 3 clients\n"),
        "{stdout}"
    );
    let (_, json, _) = run(&daemon, "svcs", &["--json", "site/db"]);
    assert!(
        json.contains("\"status_text\": \"serving 3 clients\""),
        "{json}"
    );
}
