//! The control socket: permissions, bad requests, many clients, one daemon per root.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;

use smf_core::protocol::{ErrorKind, Request, Response};
use smf_core::state::State;
use smf_tests::daemon::{Daemon, bundle, service};

const TRANSIENT: &str = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='transient'/></property_group>";

fn raw(daemon: &Daemon, line: &[u8]) -> String {
    let mut stream = UnixStream::connect(daemon.root().join("run/startd.sock")).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(line).expect("write");
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .expect("an answer");
    answer
}

#[test]
fn malformed_oversized_and_half_sent_requests_get_errors_and_block_nothing() {
    let xml = bundle(&[service("site/a", true, "/bin/true", TRANSIENT)]);
    let daemon = Daemon::start(&[("a.xml", &xml)]);
    assert!(raw(&daemon, b"this is not json\n").contains("bad_request"));
    assert!(raw(&daemon, b"{\"request\":\"reboot_the_moon\"}\n").contains("bad_request"));
    let mut huge = vec![b'x'; smf_core::protocol::MAX_LINE + 100];
    huge.push(b'\n');
    assert!(raw(&daemon, &huge).contains("longer than"));
    // A client that sends half a line and waits does not hold anyone else up.
    let mut stuck = UnixStream::connect(daemon.root().join("run/startd.sock")).expect("connect");
    stuck.write_all(b"{\"request\":\"li").expect("half a line");
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let socket = daemon.root().join("run/startd.sock");
            std::thread::spawn(move || {
                let mut stream = UnixStream::connect(socket).expect("connect");
                stream
                    .write_all(b"{\"request\":\"ping\"}\n")
                    .expect("write");
                let mut answer = String::new();
                BufReader::new(stream).read_line(&mut answer).expect("read");
                answer
            })
        })
        .collect();
    for client in clients {
        assert!(client.join().expect("client").contains("pong"));
    }
    drop(stuck);
    daemon.wait_state("svc:/site/a:default", State::Online);
}

#[test]
fn another_uid_may_read_but_not_change_state() {
    let xml = bundle(&[service("site/a", true, "/bin/true", TRANSIENT)]);
    let daemon = Daemon::start(&[("a.xml", &xml)]);
    let request = smf_tests::binary("smf-request");
    // Let the other user reach the socket.
    use std::os::unix::fs::PermissionsExt;
    for dir in [daemon.root().to_path_buf(), daemon.root().join("run")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let as_other = |json: &str| {
        let mut command = Command::new(&request);
        command.arg("--root").arg(daemon.root()).arg(json);
        if nix::unistd::geteuid().is_root() {
            use std::os::unix::process::CommandExt;
            command.uid(65534).gid(65534);
        }
        let output = command.output().expect("smf-request runs");
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let read = as_other("{\"request\":\"list\"}");
    assert!(read.contains("svc:/site/a:default"), "{read}");
    let change = as_other(
        "{\"request\":\"admin\",\"action\":{\"action\":\"disable\"},\"patterns\":[\"site/a\"]}",
    );
    if nix::unistd::geteuid().is_root() {
        let response: Response = serde_json::from_str(&change).expect("a response");
        assert!(
            matches!(&response, Response::Error { kind: ErrorKind::PermissionDenied, message } if message.contains("permission denied")),
            "{response:?}"
        );
        assert_ne!(daemon.state("svc:/site/a:default"), Some(State::Disabled));
    } else {
        // Not root: the test runs as the daemon's own uid, which may change state.
        assert!(change.contains("done"), "{change}");
    }
    let _ = Request::Ping;
}

#[test]
fn a_second_daemon_on_the_same_root_names_the_first_and_exits_1() {
    let daemon = Daemon::start(&[]);
    let output = Command::new(smf_tests::binary("svc-startd"))
        .arg("--root")
        .arg(daemon.root())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let pid = daemon.pid().expect("running").to_string();
    assert!(
        stderr.contains("already running") && stderr.contains(&pid),
        "{stderr}"
    );
}
