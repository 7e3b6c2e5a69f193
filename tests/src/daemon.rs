//! A real svc.startd on a temporary root, and a client for it.
//!
//! Every wait is a poll of a condition with a deadline. Dropping a [`Daemon`] stops it
//! (SIGTERM, then SIGKILL) and kills, by pid and process group, every process any of its
//! instances ever had, so a failed test leaves nothing behind.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use smf_core::protocol::{self, AdminAction, InstanceInfo, Request, Response};
use smf_core::state::State;

/// How long any condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A running svc.startd.
pub struct Daemon {
    /// The temporary root (none when the test gave its own root directory).
    temporary: Option<tempfile::TempDir>,
    root: PathBuf,
    child: Option<Child>,
    /// Every pid an instance was seen with (killed at drop).
    seen: std::cell::RefCell<BTreeSet<u32>>,
    extra_args: Vec<String>,
}

/// One `<service>` with a default instance: `start` is the start method's exec, `extra` goes
/// inside the service element.
pub fn service(name: &str, enabled: bool, start: &str, extra: &str) -> String {
    format!(
        "<service name='{name}' type='service' version='1'>
           <create_default_instance enabled='{enabled}'/>
           {extra}
           <exec_method type='method' name='start' exec='{start}' timeout_seconds='10'/>
           <exec_method type='method' name='stop' exec=':kill' timeout_seconds='5'/>
         </service>"
    )
}

/// A manifest with `services`.
pub fn bundle(services: &[String]) -> String {
    format!(
        "<?xml version='1.0'?>\n<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>\n<service_bundle type='manifest' name='test'>{}</service_bundle>\n",
        services.concat()
    )
}

/// A `<dependency>` on `targets`.
pub fn dependency(name: &str, grouping: &str, restart_on: &str, targets: &[&str]) -> String {
    let mut xml = format!(
        "<dependency name='{name}' grouping='{grouping}' restart_on='{restart_on}' type='service'>"
    );
    for target in targets {
        xml.push_str(&format!("<service_fmri value='{target}'/>"));
    }
    xml.push_str("</dependency>");
    xml
}

impl Daemon {
    /// Writes `manifests` (file name, XML) into a new root's `manifest/` and starts
    /// svc.startd on it; returns once it answers.
    pub fn start(manifests: &[(&str, &str)]) -> Daemon {
        Daemon::start_with(manifests, &[])
    }

    /// As [`Daemon::start`], with more svc.startd arguments.
    pub fn start_with(manifests: &[(&str, &str)], args: &[&str]) -> Daemon {
        let root = tempfile::Builder::new()
            .prefix("smf-test-")
            .tempdir()
            .expect("a temporary root");
        std::fs::create_dir_all(root.path().join("manifest")).expect("manifest dir");
        for (name, xml) in manifests {
            std::fs::write(root.path().join("manifest").join(name), xml).expect("write manifest");
        }
        let mut daemon = Daemon {
            root: root.path().to_path_buf(),
            temporary: Some(root),
            child: None,
            seen: Default::default(),
            extra_args: args.iter().map(|s| s.to_string()).collect(),
        };
        daemon.launch();
        daemon
    }

    /// Starts svc.startd on a root the test prepared (manifests in `root/manifest`).
    pub fn start_in(root: &Path, args: &[&str]) -> Daemon {
        let mut daemon = Daemon {
            root: root.to_path_buf(),
            temporary: None,
            child: None,
            seen: Default::default(),
            extra_args: args.iter().map(|s| s.to_string()).collect(),
        };
        daemon.launch();
        daemon
    }

    /// Starts svc.startd (again) on this root.
    pub fn launch(&mut self) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.as_path().join("startd.stderr"))
            .expect("stderr file");
        let child = Command::new(crate::binary("svc-startd"))
            .arg("--root")
            .arg(self.root.as_path())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("svc-startd starts");
        self.child = Some(child);
        self.wait_for("svc.startd to answer", |d| {
            matches!(d.try_request(&Request::Ping), Some(Response::Pong { .. }))
        });
    }

    /// The root.
    pub fn root(&self) -> &Path {
        let _ = &self.temporary;
        self.root.as_path()
    }

    /// svc.startd's pid.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What svc.startd printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.root.as_path().join("startd.stderr")).unwrap_or_default()
    }

    /// Sends a request, if the daemon answers.
    pub fn try_request(&self, request: &Request) -> Option<Response> {
        let stream = UnixStream::connect(self.root.as_path().join("run/startd.sock")).ok()?;
        stream.set_read_timeout(Some(DEADLINE)).ok()?;
        let mut writer = stream.try_clone().ok()?;
        protocol::write_line(&mut writer, request).ok()?;
        let mut reader = BufReader::new(stream);
        protocol::read_line_limited(&mut reader, protocol::MAX_RESPONSE_LINE).ok()
    }

    /// Sends a request.
    ///
    /// # Panics
    /// If svc.startd does not answer.
    pub fn request(&self, request: &Request) -> Response {
        match self.try_request(request) {
            Some(response) => response,
            None => panic!(
                "svc.startd did not answer {request:?}; stderr:\n{}",
                self.stderr()
            ),
        }
    }

    /// Every instance, with processes (remembered for cleanup).
    pub fn instances(&self) -> Vec<InstanceInfo> {
        match self.request(&Request::list(vec![])) {
            Response::Instances { instances, .. } => {
                let mut seen = self.seen.borrow_mut();
                for info in &instances {
                    seen.extend(info.processes.iter().map(|p| p.pid));
                }
                instances
            }
            other => panic!("unexpected answer to list: {other:?}"),
        }
    }

    /// One instance.
    pub fn info(&self, fmri: &str) -> Option<InstanceInfo> {
        self.instances()
            .into_iter()
            .find(|info| info.status.fmri.as_str() == fmri)
    }

    /// Its state.
    pub fn state(&self, fmri: &str) -> Option<State> {
        self.info(fmri).map(|info| info.status.state)
    }

    /// Its processes' pids.
    pub fn pids(&self, fmri: &str) -> Vec<u32> {
        self.info(fmri)
            .map(|info| info.processes.iter().map(|p| p.pid).collect())
            .unwrap_or_default()
    }

    /// An svcadm request on one instance.
    pub fn admin(&self, action: AdminAction, fmri: &str) -> Response {
        self.request(&Request::Admin {
            action,
            patterns: vec![fmri.to_string()],
        })
    }

    /// Its log file's content.
    pub fn log(&self, fmri: &str) -> String {
        let fmri = smf_core::fmri::Fmri::parse(fmri).expect("an FMRI");
        let relative = smf_core::explain::log_file(&fmri);
        std::fs::read_to_string(self.root.as_path().join(relative)).unwrap_or_default()
    }

    /// Polls `condition` until it holds.
    ///
    /// # Panics
    /// After [`DEADLINE`], with what was awaited, the instances and svc.startd's stderr.
    pub fn wait_for(&self, what: &str, condition: impl Fn(&Daemon) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        let mut pause = Duration::from_millis(2);
        while Instant::now() < deadline {
            if condition(self) {
                return;
            }
            if let Some(child) = &self.child {
                let _ = child; // still ours; exit is noticed by the caller's conditions
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        let instances = self
            .try_request(&Request::list(vec![]))
            .map(|r| format!("{r:#?}"))
            .unwrap_or_else(|| "(no answer)".into());
        panic!(
            "timed out waiting for {what}\ninstances: {instances}\nstderr:\n{}",
            self.stderr()
        );
    }

    /// Waits until `fmri` is in `state` with no transition in flight.
    pub fn wait_state(&self, fmri: &str, state: State) {
        self.wait_for(&format!("{fmri} to be {}", state.as_str()), |d| {
            d.info(fmri)
                .is_some_and(|i| i.status.state == state && i.status.next_state.is_none())
        });
    }

    /// Kills svc.startd with SIGKILL (its services keep running) and reaps it.
    pub fn kill9(&mut self) {
        self.instances();
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for svc.startd to exit (bounded).
    ///
    /// # Panics
    /// If it has not exited after [`DEADLINE`].
    pub fn terminate(&mut self) -> ExitStatus {
        self.instances();
        let mut child = self.child.take().expect("a running svc.startd");
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "svc.startd did not exit after SIGTERM; stderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Records pids to kill at the end (processes a test learned of by other means).
    pub fn remember(&self, pids: &[u32]) {
        self.seen.borrow_mut().extend(pids);
    }
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Some(Response::Instances { instances, .. }) =
                self.try_request(&Request::list(vec![]))
            {
                self.seen.borrow_mut().extend(
                    instances
                        .iter()
                        .flat_map(|i| i.processes.iter().map(|p| p.pid)),
                );
            }
            if let Some(mut child) = self.child.take() {
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for &pid in self.seen.borrow().iter() {
            if pid > 1 && alive(pid) {
                let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
                let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
        // The cgroups svc.startd made for this root (it removes them when it exits in
        // order; not when a test killed it). A cgroup whose process was just killed may be
        // busy for a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !smf_restarter::contract::remove_empty_cgroups(&self.root)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A temporary directory path for a test's own files (kept beside the root).
pub fn scratch(daemon: &Daemon, name: &str) -> PathBuf {
    daemon.root().join(name)
}
