//! svcadm: every subcommand with `-v`, `-s` waits and their exit codes, and every error,
//! against the fixed set ([`super::fixture`]).

use smf_core::state::State;

use super::{command, fixture, outcome, run, transcript};

fn svcadm(daemon: &smf_tests::daemon::Daemon, args: &[&str]) -> String {
    let result = run(daemon, "svcadm", args);
    let mut line = vec!["svcadm"];
    line.extend_from_slice(args);
    transcript(&line, &result)
}

#[test]
fn every_subcommand_says_what_it_did() {
    let daemon = fixture();
    let web = "svc:/test/c-web:default";
    let mut transcripts = Vec::new();

    transcripts.push(svcadm(&daemon, &["-v", "disable", "-t", "c-web"]));
    daemon.wait_state(web, State::Disabled);
    assert_eq!(daemon.info(web).map(|i| i.status.temporary), Some(true));

    transcripts.push(svcadm(&daemon, &["-v", "enable", "c-web"]));
    daemon.wait_state(web, State::Online);

    let off = "svc:/test/f-off:default";
    transcripts.push(svcadm(&daemon, &["-v", "enable", "-t", "f-off"]));
    daemon.wait_state(off, State::Online);
    assert_eq!(daemon.info(off).map(|i| i.status.temporary), Some(true));

    transcripts.push(svcadm(&daemon, &["-v", "restart", "c-web"]));
    transcripts.push(svcadm(&daemon, &["-v", "refresh", "c-web"]));
    daemon.wait_for("web settled", |d| {
        d.info(web)
            .is_some_and(|i| i.status.state == State::Online && i.status.next_state.is_none())
    });

    transcripts.push(svcadm(&daemon, &["-v", "mark", "degraded", "c-web"]));
    daemon.wait_state(web, State::Degraded);
    transcripts.push(svcadm(&daemon, &["-v", "clear", "c-web"]));
    daemon.wait_state(web, State::Online);

    transcripts.push(svcadm(
        &daemon,
        &["-v", "mark", "-t", "maintenance", "c-web"],
    ));
    daemon.wait_state(web, State::Maintenance);
    transcripts.push(svcadm(&daemon, &["-v", "clear", "c-web"]));
    daemon.wait_state(web, State::Online);

    transcripts.push(svcadm(
        &daemon,
        &["-v", "mark", "-I", "maintenance", "c-web"],
    ));
    daemon.wait_state(web, State::Maintenance);
    // Not verbose: nothing on stdout.
    transcripts.push(svcadm(&daemon, &["clear", "c-web"]));
    daemon.wait_state(web, State::Online);

    insta::assert_snapshot!("subcommands", transcripts.join("\n"));
}

#[test]
fn synchronous_requests_wait_and_report_why_they_cannot_finish() {
    let daemon = fixture();
    let mut transcripts = Vec::new();
    // Waits for the stop: when svcadm returns, the instance is disabled.
    transcripts.push(svcadm(&daemon, &["disable", "-s", "c-web"]));
    assert_eq!(
        daemon.state("svc:/test/c-web:default"),
        Some(State::Disabled)
    );
    // Waits for the start.
    // Several instances need full FMRIs (svcadm refuses abbreviations that add up to more
    // than one instance).
    transcripts.push(svcadm(
        &daemon,
        &[
            "enable",
            "-s",
            "svc:/test/c-web:default",
            "svc:/test/f-off:default",
        ],
    ));
    assert_eq!(
        daemon.state("svc:/test/c-web:default"),
        Some(State::Online),
        "{transcripts:?}"
    );
    assert_eq!(daemon.state("svc:/test/f-off:default"), Some(State::Online));
    // -r: what the instance requires is enabled too (and -s waits for all of it).
    transcripts.push(svcadm(&daemon, &["disable", "-s", "a-network"]));
    transcripts.push(svcadm(&daemon, &["-v", "enable", "-rs", "c-web"]));
    for fmri in [
        "svc:/test/a-network:default",
        "svc:/test/b-dhcp:default",
        "svc:/test/c-web:default",
    ] {
        assert_eq!(daemon.state(fmri), Some(State::Online), "{fmri}");
    }
    // In maintenance: exit 3, with the reason.
    transcripts.push(svcadm(&daemon, &["enable", "-s", "d-broken"]));
    // Its dependency is in maintenance: exit 4.
    transcripts.push(svcadm(&daemon, &["enable", "-s", "e-waiter"]));
    // Both: 3 wins.
    transcripts.push(svcadm(
        &daemon,
        &[
            "enable",
            "-s",
            "svc:/test/e-waiter:default",
            "svc:/test/d-broken:default",
        ],
    ));
    insta::assert_snapshot!("synchronous", transcripts.join("\n"));
}

#[test]
fn every_error_is_one_clear_line_with_smfs_exit_code() {
    let daemon = fixture();
    let transcripts = [
        svcadm(&daemon, &["enable", "nosuch"]),
        svcadm(&daemon, &["restart", "nosuch", "c-web"]),
        svcadm(&daemon, &["restart", "default"]),
        svcadm(&daemon, &["restart", "c-web", "b-dhcp"]),
        svcadm(&daemon, &["clear", "c-web"]),
        svcadm(&daemon, &["mark", "degraded", "f-off"]),
        svcadm(&daemon, &["mark", "-t", "degraded", "c-web"]),
        svcadm(&daemon, &["mark", "online", "c-web"]),
        svcadm(&daemon, &["enable"]),
        svcadm(&daemon, &["frobnicate", "c-web"]),
        svcadm(&daemon, &["enable", "svc:/bad name"]),
    ];
    insta::assert_snapshot!("errors", transcripts.join("\n"));
    // Nothing was changed by any of them.
    assert_eq!(daemon.state("svc:/test/c-web:default"), Some(State::Online));
    assert_eq!(
        daemon.state("svc:/test/f-off:default"),
        Some(State::Disabled)
    );
}

#[test]
fn without_a_daemon_svcadm_says_so_and_exits_1() {
    let root = tempfile::tempdir().expect("tempdir");
    let output = command(root.path(), "svcadm", &["enable", "x"])
        .output()
        .expect("svcadm runs");
    let result = outcome(root.path(), &output);
    insta::assert_snapshot!(
        "error_no_daemon",
        transcript(&["svcadm", "enable", "x"], &result)
    );
}

#[test]
fn another_user_is_refused_with_permission_denied() {
    if !nix::unistd::geteuid().is_root() {
        // As the daemon's own uid every change is allowed; the refusal needs a second uid.
        return;
    }
    let daemon = fixture();
    use std::os::unix::fs::PermissionsExt;
    for dir in [daemon.root().to_path_buf(), daemon.root().join("run")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mut as_nobody = command(
        daemon.root(),
        "svcadm",
        &["disable", "c-web", "svc:/test/b-dhcp"],
    );
    {
        use std::os::unix::process::CommandExt;
        as_nobody.uid(65534).gid(65534);
    }
    let output = as_nobody.output().expect("svcadm runs");
    let result = outcome(daemon.root(), &output);
    insta::assert_snapshot!(
        "error_permission_denied",
        transcript(&["svcadm", "disable", "c-web", "svc:/test/b-dhcp"], &result)
    );
    assert_eq!(daemon.state("svc:/test/c-web:default"), Some(State::Online));
}
