//! svc.startd as PID 1 of a container: a new PID namespace (and a mount namespace with its
//! own /proc) made with unshare(1), as `docker run` would. It reaps every orphan, takes
//! SIGTERM as an orderly shutdown, and its exit status says whether everything stopped
//! cleanly (0) or not (1: an instance had to be killed and is in maintenance).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use smf_tests::daemon::{bundle, service};

const DEADLINE: Duration = Duration::from_secs(30);

/// svc.startd running as PID 1 in its own namespaces.
struct Container {
    unshare: Child,
    /// svc.startd's pid as the host sees it.
    init: u32,
}

impl Container {
    fn start(root: &Path) -> Container {
        let mut unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(smf_tests::binary("svc-startd"))
            .arg("--root")
            .arg(root)
            .stderr(std::fs::File::create(root.join("stderr")).expect("stderr file"))
            .spawn()
            .expect("unshare runs (util-linux)");
        let started = Instant::now();
        let init = loop {
            let children =
                std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id()))
                    .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().find_map(|p| p.parse().ok()) {
                break pid;
            }
            if let Ok(Some(status)) = unshare.try_wait() {
                panic!(
                    "unshare exited ({status}): {}",
                    std::fs::read_to_string(root.join("stderr")).unwrap_or_default()
                );
            }
            assert!(started.elapsed() < DEADLINE, "svc.startd did not start");
            std::thread::sleep(Duration::from_millis(10));
        };
        Container { unshare, init }
    }

    /// Waits for svc.startd's exit, at most `DEADLINE`.
    fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.unshare.try_wait() {
                return status;
            }
            assert!(started.elapsed() < DEADLINE, "svc.startd did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.init as i32);
        nix::sys::signal::kill(pid, signal).expect("svc.startd can be signalled");
    }

    /// Every child process of PID 1 (each thread's list: orphans are re-parented to the
    /// thread group), zombies included, with its `stat` line.
    fn children(&self) -> Vec<(u32, String)> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.init))
            .map(|dir| dir.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default();
        let mut pids: Vec<u32> = Vec::new();
        for task in tasks {
            let text = std::fs::read_to_string(task.join("children")).unwrap_or_default();
            pids.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
        pids.sort_unstable();
        pids.dedup();
        pids.into_iter()
            .map(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
                (pid, stat.unwrap_or_default())
            })
            .collect()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // Killing a namespace's init kills every process in it.
        if self.unshare.try_wait().ok().flatten().is_none() {
            self.signal(nix::sys::signal::Signal::SIGKILL);
            let _ = self.unshare.wait();
        }
    }
}

/// One request to svc.startd's socket (None until it answers).
fn request(root: &Path, json: &str) -> Option<String> {
    let mut stream = UnixStream::connect(root.join("run/startd.sock")).ok()?;
    stream.write_all(format!("{json}\n").as_bytes()).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line)
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const CHILD: &str = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='child'/></property_group>";

/// A service whose start method leaves 10 short-lived orphans behind, for PID 1 to reap.
fn orphan_maker() -> String {
    service(
        "site/orphans",
        true,
        "/bin/sh -c \"for i in 1 2 3 4 5 6 7 8 9 10; do (/bin/sleep 0.2 &amp;); done; exec /bin/sleep 1000\"",
        CHILD,
    )
}

fn prepare(services: &[String]) -> tempfile::TempDir {
    let root = tempfile::Builder::new()
        .prefix("smf-container-")
        .tempdir()
        .expect("a temporary root");
    std::fs::create_dir_all(root.path().join("manifest")).expect("manifest dir");
    std::fs::write(root.path().join("manifest/site.xml"), bundle(services)).expect("manifest");
    root
}

#[test]
fn as_pid_1_it_reaps_every_orphan_and_stops_cleanly_on_sigterm() {
    let root = prepare(&[orphan_maker()]);
    let mut container = Container::start(root.path());
    wait_until("site/orphans online", || {
        request(
            root.path(),
            r#"{"request":"list","patterns":["site/orphans"]}"#,
        )
        .is_some_and(|line| line.contains(r#""state":"online""#))
    });
    // The 10 orphans were re-parented to PID 1. Once they have exited and been reaped, its
    // only child is the service's own sleep; an orphan left a zombie would stay a child.
    wait_until("every orphan exited and reaped", || {
        let children = container.children();
        children.len() == 1 && !children[0].1.contains(") Z ")
    });
    let pong = request(root.path(), r#"{"request":"ping"}"#).unwrap_or_default();
    assert!(pong.contains(r#""pid":1"#), "svc.startd is PID 1: {pong}");
    // `docker stop`: SIGTERM from outside the namespace.
    container.signal(nix::sys::signal::Signal::SIGTERM);
    let status = container.wait();
    let stderr = std::fs::read_to_string(root.path().join("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let log = std::fs::read_to_string(root.path().join("log/site-orphans:default.log"))
        .unwrap_or_default();
    assert!(log.contains("Executing start method"), "{log}");
}

#[test]
fn as_pid_1_its_exit_status_says_when_a_service_had_to_be_killed() {
    let stubborn = service(
        "site/stubborn",
        true,
        "/bin/sh -c \"trap &apos;&apos; TERM; exec /bin/sleep 1000\"",
        CHILD,
    )
    // A one-second stop: SIGTERM is ignored, so svc.startd must SIGKILL it.
    .replace(
        "exec=':kill' timeout_seconds='5'",
        "exec=':kill' timeout_seconds='1'",
    );
    let root = prepare(&[orphan_maker(), stubborn]);
    let mut container = Container::start(root.path());
    wait_until("both online", || {
        request(root.path(), r#"{"request":"list"}"#)
            .is_some_and(|line| line.matches(r#""state":"online""#).count() == 3)
    });
    container.signal(nix::sys::signal::Signal::SIGTERM);
    let status = container.wait();
    let stderr = std::fs::read_to_string(root.path().join("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{stderr}");
    let log = std::fs::read_to_string(root.path().join("log/site-stubborn:default.log"))
        .unwrap_or_default();
    assert!(log.contains("had to be killed"), "{log}");
}
