//! The README's walk-through on the shipped demo set (`manifests/demo`), as a newcomer runs
//! it: everything comes up (the network after its moment), the crash loop lands in
//! maintenance and `svcs -x` says why, `svcs -p` shows the daemon that forked away,
//! disable/enable and clear do what the README says.

use smf_core::state::State;
use smf_tests::daemon::Daemon;

use super::{run, transcript};

fn svcs(daemon: &Daemon, args: &[&str]) -> String {
    let result = run(daemon, "svcs", args);
    let mut line = vec!["svcs"];
    line.extend_from_slice(args);
    transcript(&line, &result)
}

#[test]
fn the_demo_set_runs_as_the_readme_says() {
    let demo = smf_tests::workspace().join("manifests/demo");
    let demo = demo.to_string_lossy().into_owned();
    let daemon = Daemon::start_with(&[], &["--manifests", &demo]);
    // The network takes a moment: dhcp waits for it.
    for (fmri, state) in [
        ("svc:/demo/network:default", State::Online),
        ("svc:/demo/dhcp:default", State::Online),
        ("svc:/demo/web:default", State::Online),
        ("svc:/demo/daemon:default", State::Online),
        ("svc:/demo/optional:default", State::Online),
        ("svc:/demo/all:default", State::Online),
        ("svc:/demo/clock:default", State::Online),
        ("svc:/demo/flaky:default", State::Maintenance),
        ("svc:/demo/alternate:default", State::Disabled),
    ] {
        daemon.wait_state(fmri, state);
    }
    let log = daemon.log("svc:/demo/dhcp:default");
    let network_log = daemon.log("svc:/demo/network:default");
    assert!(network_log.contains("network up"), "{network_log}");
    assert!(log.contains("lease acquired"), "{log}");
    daemon.wait_for("the daemon's process listed", |d| {
        d.pids("svc:/demo/daemon:default").len() == 1
    });
    for fmri in ["svc:/demo/daemon:default", "svc:/demo/dhcp:default"] {
        daemon.remember(&daemon.pids(fmri));
    }
    let mut transcripts = vec![
        svcs(&daemon, &["-a", "-s", "fmri"]),
        svcs(&daemon, &["-x"]),
        svcs(&daemon, &["-p", "demo/daemon"]),
    ];
    // Disable web: it stops; dhcp keeps running.
    let (status, _, _) = run(&daemon, "svcadm", &["disable", "-s", "demo/web"]);
    assert_eq!(status, 0);
    assert_eq!(daemon.state("svc:/demo/web:default"), Some(State::Disabled));
    assert_eq!(daemon.state("svc:/demo/dhcp:default"), Some(State::Online));
    let (status, _, _) = run(&daemon, "svcadm", &["enable", "-s", "demo/web"]);
    assert_eq!(status, 0);
    // Clear: flaky tries again (and fails again, as it always does).
    let (status, _, _) = run(&daemon, "svcadm", &["clear", "demo/flaky"]);
    assert_eq!(status, 0);
    daemon.wait_for("flaky trying again", |d| {
        d.log("svc:/demo/flaky:default")
            .matches("Leaving maintenance because clear requested.")
            .count()
            == 1
    });
    transcripts.push(svcs(&daemon, &["-xv", "demo/web"]));
    insta::assert_snapshot!("demo", transcripts.join("\n"));
}
