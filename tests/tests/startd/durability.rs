//! What svc.startd's own troubles do to services: killed at any moment during a bring-up, a
//! full disk under its repository, a service that writes without end to its log.

use std::collections::BTreeMap;

use smf_core::protocol::AdminAction;
use smf_core::state::State;
use smf_tests::daemon::{Daemon, alive, bundle, dependency, service};

use super::script;

const CHILD: &str = "<property_group name='startd' type='framework'><propval name='duration' type='astring' value='child'/></property_group>";

/// Every live process whose command line holds `marker`, by pid.
fn processes_with(marker: &str) -> BTreeMap<u32, String> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) && alive(pid) {
            found.insert(pid, cmdline);
        }
    }
    found
}

#[test]
fn killed_at_any_moment_of_a_bring_up_it_comes_back_consistent_without_duplicates() {
    // A unique sleep duration marks this test's processes.
    let marker = format!("{}", 700_000 + std::process::id() % 100_000);
    let count = 30;
    let mut services = Vec::new();
    for i in 0..count {
        // Each service depends on the previous one: a bring-up takes many turns.
        let deps = if i == 0 {
            String::new()
        } else {
            dependency(
                "prev",
                "require_all",
                "error",
                &[&format!("svc:/site/crash{:02}", i - 1)],
            )
        };
        services.push(service(
            &format!("site/crash{i:02}"),
            true,
            &format!("/bin/sleep {marker}"),
            &format!("{CHILD}{deps}"),
        ));
    }
    let xml = bundle(&services);
    let mut daemon = Daemon::start(&[("crash.xml", &xml)]);
    // Kill it at different points of the bring-up, and once while it is idle.
    for online in [0usize, 3, 11, 20, count] {
        daemon.wait_for(&format!("{online} instances online"), |d| {
            d.instances()
                .iter()
                .filter(|i| {
                    i.status.state == State::Online && i.status.fmri.as_str().contains("crash")
                })
                .count()
                >= online
        });
        daemon.remember(&processes_with(&marker).keys().copied().collect::<Vec<_>>());
        daemon.kill9();
        daemon.launch();
    }
    for i in 0..count {
        daemon.wait_state(&format!("svc:/site/crash{i:02}:default"), State::Online);
    }
    // One process per instance, each listed by its instance: nothing started twice.
    let running = processes_with(&marker);
    daemon.remember(&running.keys().copied().collect::<Vec<_>>());
    assert_eq!(running.len(), count, "{running:#?}");
    for i in 0..count {
        let pids = daemon.pids(&format!("svc:/site/crash{i:02}:default"));
        assert_eq!(pids.len(), 1, "crash{i:02}: {pids:?}");
        assert!(running.contains_key(&pids[0]));
    }
    assert!(!daemon.stderr().contains("panicked"), "{}", daemon.stderr());
}

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk { dir }
    }

    /// Fills the disk with one file.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_under_the_repository_is_reported_and_services_keep_running() {
    if !nix::unistd::geteuid().is_root() {
        // Mounting a small filesystem needs root; CI runs as root.
        eprintln!("not root: cannot mount a small filesystem for this test");
        return;
    }
    let bin = tempfile::tempdir().expect("tempdir");
    let start = script(bin.path(), "run", "sleep 1000 &\nexit 0");
    let xml = bundle(&[
        service("site/a", true, &start, ""),
        service("site/b", true, &start, ""),
    ]);
    let disk = SmallDisk::mount("8m");
    let root = disk.dir.path().join("root");
    std::fs::create_dir_all(root.join("manifest")).expect("mkdir");
    std::fs::write(root.join("manifest/full.xml"), &xml).expect("manifest");
    let mut daemon = Daemon::start_in(&root, &[]);
    daemon.wait_state("svc:/site/a:default", State::Online);
    daemon.wait_state("svc:/site/b:default", State::Online);
    let a_pids = daemon.pids("svc:/site/a:default");

    let filler = disk.fill();
    // Changes keep being made and services keep running while nothing can be written.
    for round in 0..20 {
        let action = if round % 2 == 0 {
            AdminAction::Disable { temporary: false }
        } else {
            AdminAction::Enable {
                temporary: false,
                recursive: false,
            }
        };
        daemon.admin(action, "svc:/site/b:default");
    }
    daemon.admin(
        AdminAction::Disable { temporary: false },
        "svc:/site/b:default",
    );
    daemon.wait_state("svc:/site/b:default", State::Disabled);
    daemon.wait_for("the repository failure to be reported", |d| {
        d.stderr().contains("cannot write the repository")
    });
    assert_eq!(daemon.state("svc:/site/a:default"), Some(State::Online));
    assert!(a_pids.iter().all(|&pid| alive(pid)));

    // Room again: what was kept is written, and survives a restart.
    std::fs::remove_file(filler).expect("free the disk");
    daemon.admin(AdminAction::Restart, "svc:/site/a:default");
    daemon.wait_for("the repository to recover", |d| {
        d.stderr().contains("repository is writable again")
    });
    let status = daemon.terminate();
    assert_eq!(status.code(), Some(0));
    daemon.launch();
    daemon.wait_state("svc:/site/a:default", State::Online);
    daemon.wait_state("svc:/site/b:default", State::Disabled);
    drop(daemon);
    drop(disk);
}

#[test]
fn a_service_that_writes_without_end_cannot_fill_the_disk_with_its_log() {
    let bin = tempfile::tempdir().expect("tempdir");
    let chatty = script(
        bin.path(),
        "chatty",
        "while :; do echo 'all work and no play makes jack a dull boy'; done",
    );
    let xml = bundle(&[service("site/chatty", true, &chatty, CHILD)]);
    let daemon = Daemon::start_with(
        &[("chatty.xml", &xml)],
        &["--log-max-bytes", "200000", "--log-keep", "2"],
    );
    daemon.wait_state("svc:/site/chatty:default", State::Online);
    let log_dir = daemon.root().join("log");
    let rotated = log_dir.join("site-chatty:default.log.2");
    daemon.wait_for("two rotated generations", |_| rotated.exists());
    // It keeps writing: the total stays bounded by the generations kept (plus what is
    // written while a copy is being made).
    daemon.wait_for("more rotations", |_| {
        std::fs::metadata(&rotated)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|e| e.as_millis() < 500))
    });
    let total: u64 = std::fs::read_dir(&log_dir)
        .expect("log dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("site-chatty"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    assert!(total < 4 * 200_000 + 2_000_000, "{total} bytes of logs");
    assert!(!log_dir.join("site-chatty:default.log.3").exists());
}
