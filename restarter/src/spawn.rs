//! Fork and exec one method run with its method context: `/bin/sh -c <command>` with SMF's
//! environment, the instance log as stdout and stderr, its own process group, the cgroup,
//! resource limits, umask, credentials and working directory.
//!
//! Everything that can be decided before the fork is decided in [`resolve`] (users, groups,
//! the working directory, whether a non-root svc.startd is asked to change user): those
//! failures are fatal [`SpawnError`]s and no process exists. What only the child can do runs
//! in one `pre_exec` closure (`install_child_setup`), using async-signal-safe system calls. A failure
//! there is written to a close-on-exec pipe as (stage, index, errno) and the child `_exit`s
//! with `SMF_EXIT_ERR_CONFIG` (96) instead of returning the error to std: std answers such an
//! error with its own `waitpid` on the child, which would race the reaper's `waitid(P_ALL)`
//! (and std asserts that wait succeeds). The parent reads the pipe and returns the stage's
//! error; the reaper sees the short-lived child exit like any pid it does not know. Only a
//! failed `execve` of `/bin/sh` itself still goes through std's path; the size checks below
//! keep E2BIG out of it.
//!
//! The order in the child follows svc.startd (librestart.c `restarter_set_method_context`):
//! limits and the cgroup while still privileged, then groups, gid, uid, and the working
//! directory last, "as only the user might have access to the specified directory".
//!
//! Not here: reaping (reaper.rs), killing (contract.rs), the "Executing start method" marker
//! (the caller writes it with `Logs::marker`).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use nix::errno::Errno;
use nix::sys::resource::{self, RLIM_INFINITY, rlim_t};
use nix::unistd::{Gid, Group, Uid, User};
use smf_core::engine::{MethodRun, Resource};

use crate::logs::marker_line;

/// The shell every method runs under (svc.startd: `/sbin/sh -c`).
const SHELL: &str = "/bin/sh";
/// `PATH` unless the manifest sets one (svc.startd: `/usr/sbin:/usr/bin`; Linux distributions
/// without a merged /usr still keep programs in /sbin and /bin).
const DEFAULT_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// `SMF_RESTARTER`.
const RESTARTER: &str = "svc:/system/svc/restarter:default";
/// Linux's `MAX_ARG_STRLEN`: no single argument or environment string may reach it.
const MAX_ARG_STRLEN: usize = 32 * 4096;
/// What the child exits with when it cannot apply the context (`SMF_EXIT_ERR_CONFIG`).
const EXIT_CONFIG: i32 = 96;

/// A method run to start.
#[derive(Debug)]
pub struct SpawnRequest<'a> {
    /// What to run.
    pub run: &'a MethodRun,
    /// The instance log: the method's stdout and stderr (stdin is /dev/null).
    pub log: File,
    /// The readiness socket, given to the method as `NOTIFY_SOCKET` when `run.notify`.
    pub notify_socket: Option<&'a Path>,
    /// A `cgroup.procs` file the method joins (with all its descendants) before exec.
    pub cgroup_procs: Option<&'a Path>,
}

/// Why a method could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SpawnError {
    /// What went wrong, naming the setting or the step.
    pub message: String,
    /// The method context cannot be applied (unknown user, missing directory, bad limit):
    /// retrying cannot help. Resource shortages (fork's EAGAIN) are not fatal.
    pub fatal: bool,
}

impl SpawnError {
    fn fatal(message: String) -> SpawnError {
        SpawnError {
            message,
            fatal: true,
        }
    }

    fn retryable(message: String) -> SpawnError {
        SpawnError {
            message,
            fatal: false,
        }
    }

    /// Fatal unless the errno says the system was short of something for a moment.
    fn from_errno(message: String, errno: Errno) -> SpawnError {
        let transient = matches!(
            errno,
            Errno::EAGAIN
                | Errno::ENOMEM
                | Errno::EINTR
                | Errno::EMFILE
                | Errno::ENFILE
                | Errno::ENOBUFS
        );
        SpawnError {
            message: format!("{message}: {}", errno.desc()),
            fatal: !transient,
        }
    }
}

/// A method's credentials and directories, looked up in the parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The user's name (`LOGNAME`, `USER`); none when svc.startd's own uid has no passwd entry.
    pub user: Option<String>,
    /// The user id the method runs as.
    pub uid: Uid,
    /// Its group id.
    pub gid: Gid,
    /// Its supplementary groups.
    pub groups: Vec<Gid>,
    /// Whether the child calls setgroups, setgid and setuid (the credential names someone
    /// other than svc.startd's own user and group).
    pub changes_identity: bool,
    /// The user's home directory (`HOME`; `/` without a passwd entry).
    pub home: PathBuf,
    /// Where the method starts.
    pub working_directory: PathBuf,
}

/// Looks up the run's user, groups and working directory, and refuses what a non-root
/// svc.startd cannot do. Defaults (smf_method.7, librestart.c; smf-reference.md §4.5):
/// without a user, the method runs as svc.startd's user; the `:default` group is the user's
/// primary group; `:default` supplementary groups are the user's groups in the group
/// database (`initgroups`); `working_directory` `:default` or `:home` is the user's home, and
/// so is an unset one when the credential names a user or group; otherwise `/`.
pub fn resolve(run: &MethodRun) -> Result<Resolved, SpawnError> {
    let credential = run.context.credential.clone().unwrap_or_default();
    let setting = |value: Option<String>| {
        value
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty() && text != ":default")
    };
    let named_user = setting(credential.user);
    let named_group = setting(credential.group);
    // An empty supp_groups is a setting (no supplementary groups), unlike an empty group.
    let named_supplementary = credential
        .supp_groups
        .map(|groups| groups.trim().to_string())
        .filter(|groups| groups != ":default");
    let names_identity =
        named_user.is_some() || named_group.is_some() || named_supplementary.is_some();
    let daemon_uid = nix::unistd::geteuid();
    let daemon_gid = nix::unistd::getegid();

    let passwd = match &named_user {
        Some(text) => Some(lookup_user(text)?),
        // svc.startd's own user may lack a passwd entry (a container's arbitrary uid).
        None => User::from_uid(daemon_uid).ok().flatten(),
    };
    let uid = passwd.as_ref().map_or(daemon_uid, |passwd| passwd.uid);
    let gid = match &named_group {
        Some(text) => lookup_group(text, "group")?,
        None => passwd.as_ref().map_or(daemon_gid, |passwd| passwd.gid),
    };
    let groups = match (&named_supplementary, &passwd) {
        (Some(list), _) => list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|name| !name.is_empty())
            .map(|name| lookup_group(name, "supplementary group"))
            .collect::<Result<Vec<_>, _>>()?,
        (None, Some(passwd)) => CString::new(passwd.name.as_bytes())
            .map_err(|_| Errno::EINVAL)
            .and_then(|name| nix::unistd::getgrouplist(&name, gid))
            .map_err(|errno| {
                let message = format!("could not list the groups of user \"{}\"", passwd.name);
                SpawnError::from_errno(message, errno)
            })?,
        (None, None) => vec![gid],
    };
    let changes_identity = names_identity
        && (uid != daemon_uid
            || gid != daemon_gid
            || (daemon_uid.is_root() && named_supplementary.is_some()));
    if changes_identity && !daemon_uid.is_root() {
        let who = match (&named_user, &named_group) {
            (Some(user), _) => format!("user \"{user}\""),
            (None, Some(group)) => format!("group \"{group}\""),
            (None, None) => "other supplementary groups".to_string(),
        };
        return Err(SpawnError::fatal(format!(
            "cannot run as {who}: svc.startd is not running as root"
        )));
    }

    let user = passwd.as_ref().map(|passwd| passwd.name.clone());
    let home = passwd.map_or_else(|| PathBuf::from("/"), |passwd| passwd.dir);
    let written = run.context.working_directory.as_deref().map(str::trim);
    let written = written.filter(|path| !path.is_empty());
    let use_home = match written {
        Some(":default" | ":home") => true,
        Some(_) => false,
        None => names_identity,
    };
    let (working_directory, described) = if use_home {
        let who = user.clone().unwrap_or_else(|| uid.to_string());
        let described = format!(
            "working directory \"{}\" (the home directory of user \"{who}\")",
            home.display()
        );
        (home.clone(), described)
    } else {
        let path = PathBuf::from(written.unwrap_or("/"));
        let described = format!("working directory \"{}\"", path.display());
        (path, described)
    };
    let problem = match std::fs::metadata(&working_directory) {
        _ if !working_directory.is_absolute() => Some("not an absolute path".to_string()),
        Ok(metadata) if metadata.is_dir() => None,
        Ok(_) => Some(Errno::ENOTDIR.desc().to_string()),
        Err(error) => Some(io_desc(&error)),
    };
    if let Some(problem) = problem {
        return Err(SpawnError::fatal(format!("{described}: {problem}")));
    }

    Ok(Resolved {
        user,
        uid,
        gid,
        groups,
        changes_identity,
        home,
        working_directory,
    })
}

/// Starts the method and returns its pid, which is also its process group id. The child is
/// not waited for here: the reaper collects every child.
pub fn spawn(request: SpawnRequest<'_>) -> Result<u32, SpawnError> {
    let SpawnRequest {
        run,
        log,
        notify_socket,
        cgroup_procs,
    } = request;
    let resolved = resolve(run)?;
    if run.command.contains('\0') {
        return Err(SpawnError::fatal(
            "the method's command contains a NUL byte".into(),
        ));
    }
    if run.command.len() >= MAX_ARG_STRLEN {
        return Err(SpawnError::fatal(format!(
            "the method's command is {} bytes long; Linux takes at most {} in one argument",
            run.command.len(),
            MAX_ARG_STRLEN - 1
        )));
    }
    let (environment, warnings) = environment(run, &resolved, notify_socket);
    for warning in warnings {
        // SMF writes these to the instance log and runs the method anyway.
        let _ = (&log).write_all(marker_line(SystemTime::now(), &warning).as_bytes());
    }

    let cgroup = match cgroup_procs {
        Some(path) => Some(OpenOptions::new().write(true).open(path).map_err(|error| {
            SpawnError::retryable(format!(
                "could not join cgroup {}: {}",
                path.display(),
                io_desc(&error)
            ))
        })?),
        None => None,
    };
    let (report_read, report_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|errno| SpawnError::from_errno("could not create a pipe".into(), errno))?;
    let stdout = log.try_clone().map_err(|error| {
        SpawnError::retryable(format!(
            "could not duplicate the log file: {}",
            io_desc(&error)
        ))
    })?;
    let working_directory = CString::new(resolved.working_directory.as_os_str().as_bytes())
        .map_err(|_| SpawnError::fatal("the working directory contains a NUL byte".into()))?;
    let setup = ChildSetup {
        cgroup: cgroup.as_ref().map(AsRawFd::as_raw_fd),
        limits: run
            .process
            .limits
            .iter()
            .map(|limit| {
                (
                    nix_resource(limit.resource),
                    limit.value.map_or(RLIM_INFINITY, |value| value as rlim_t),
                )
            })
            .collect(),
        umask: run.process.umask.unwrap_or(0o022),
        identity: (resolved.changes_identity)
            .then(|| (resolved.groups.clone(), resolved.gid, resolved.uid)),
        working_directory,
        report: report_write.as_raw_fd(),
    };

    let mut command = Command::new(SHELL);
    command
        // As svc.startd does (method.c): `exec` makes the command itself the method's
        // process, so a child instance's process is the service, not a shell around it.
        .args(["-c", &format!("exec {}", run.command)])
        .env_clear()
        .envs(environment)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(log)
        .process_group(0);
    install_child_setup(&mut command, setup);
    let spawned = command.spawn();
    // Close the parent's copies: the log descriptors, the cgroup file and the pipe's write
    // end (after this, the pipe holds a failure report or reads as end of file).
    drop(command);
    drop(cgroup);
    drop(report_write);
    match spawned {
        Err(error) => {
            let errno = Errno::from_raw(error.raw_os_error().unwrap_or(libc::EINVAL));
            Err(SpawnError::from_errno(
                format!("could not run {SHELL}"),
                errno,
            ))
        }
        Ok(child) => {
            let pid = child.id();
            // Dropping a Child neither kills nor waits for it.
            drop(child);
            match read_report(&report_read) {
                None => Ok(pid),
                Some(report) => Err(report_error(report, run, cgroup_procs, &resolved)),
            }
        }
    }
}

/// SMF's method environment (startd/env.c `set_smf_env`, smf-reference.md §4.5), and the
/// warnings for entries it refuses. The SMF variables come first, then `PATH` and the user's
/// `HOME`, `LOGNAME` and `USER` (not set by svc.startd, which inherits init's environment;
/// Linux daemons expect them), then the manifest's variables in order (a later one replaces
/// an earlier one or a default; `SMF_` names are reserved), then `NOTIFY_SOCKET`.
fn environment(
    run: &MethodRun,
    resolved: &Resolved,
    notify_socket: Option<&Path>,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut variables: Vec<(String, String)> = vec![
        ("SMF_FMRI".into(), run.fmri.to_string()),
        ("SMF_METHOD".into(), run.method.as_str().into()),
        ("SMF_RESTARTER".into(), RESTARTER.into()),
        // Linux has no zones; every method runs in what illumos calls the global zone.
        ("SMF_ZONENAME".into(), "global".into()),
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOME".into(), resolved.home.to_string_lossy().into_owned()),
    ];
    if let Some(user) = &resolved.user {
        variables.push(("LOGNAME".into(), user.clone()));
        variables.push(("USER".into(), user.clone()));
    }
    let mut warnings = Vec::new();
    for variable in &run.context.environment {
        let (name, value) = (&variable.name, &variable.value);
        if name.starts_with("SMF_") {
            warnings.push(format!(
                "Invalid environment variable \"{name}={value}\"; \"SMF_\" prefix is reserved."
            ));
        } else if name.is_empty()
            || name.contains(['=', '\0'])
            || value.contains('\0')
            || name.len() + value.len() + 1 >= MAX_ARG_STRLEN
        {
            warnings.push(format!("Invalid environment variable \"{name}={value}\"."));
        } else {
            set(&mut variables, name, value);
        }
    }
    if let (true, Some(socket)) = (run.notify, notify_socket) {
        set(&mut variables, "NOTIFY_SOCKET", &socket.to_string_lossy());
    }
    (variables, warnings)
}

fn set(variables: &mut Vec<(String, String)>, name: &str, value: &str) {
    match variables.iter_mut().find(|(existing, _)| existing == name) {
        Some(entry) => entry.1 = value.to_string(),
        None => variables.push((name.to_string(), value.to_string())),
    }
}

/// A name or a numeric uid, with its passwd entry.
fn lookup_user(text: &str) -> Result<User, SpawnError> {
    let found = match text.parse::<u32>() {
        Ok(number) => User::from_uid(Uid::from_raw(number)),
        Err(_) => User::from_name(text),
    };
    match found {
        Ok(Some(passwd)) => Ok(passwd),
        Ok(None) => Err(SpawnError::fatal(format!("user \"{text}\" does not exist"))),
        Err(errno) => Err(SpawnError::from_errno(
            format!("could not look up user \"{text}\""),
            errno,
        )),
    }
}

/// A group name or a numeric gid; `what` names the setting in errors.
fn lookup_group(text: &str, what: &str) -> Result<Gid, SpawnError> {
    if let Ok(number) = text.parse::<u32>() {
        return Ok(Gid::from_raw(number));
    }
    match Group::from_name(text) {
        Ok(Some(group)) => Ok(group.gid),
        Ok(None) => Err(SpawnError::fatal(format!(
            "{what} \"{text}\" does not exist"
        ))),
        Err(errno) => Err(SpawnError::from_errno(
            format!("could not look up {what} \"{text}\""),
            errno,
        )),
    }
}

fn nix_resource(resource: Resource) -> resource::Resource {
    match resource {
        Resource::As => resource::Resource::RLIMIT_AS,
        Resource::Core => resource::Resource::RLIMIT_CORE,
        Resource::Cpu => resource::Resource::RLIMIT_CPU,
        Resource::Data => resource::Resource::RLIMIT_DATA,
        Resource::Fsize => resource::Resource::RLIMIT_FSIZE,
        Resource::Memlock => resource::Resource::RLIMIT_MEMLOCK,
        Resource::Nofile => resource::Resource::RLIMIT_NOFILE,
        Resource::Nproc => resource::Resource::RLIMIT_NPROC,
        Resource::Stack => resource::Resource::RLIMIT_STACK,
    }
}

fn resource_name(resource: Resource) -> &'static str {
    Resource::ALL
        .iter()
        .find(|(candidate, _)| *candidate == resource)
        .map_or("?", |(_, name)| name)
}

fn io_desc(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(raw) => Errno::from_raw(raw).desc().to_string(),
        None => error.to_string(),
    }
}

/// Everything the child needs, prepared before the fork so the child only reads it.
struct ChildSetup {
    cgroup: Option<RawFd>,
    limits: Vec<(resource::Resource, rlim_t)>,
    umask: u32,
    /// Supplementary groups, gid, uid: set only when they change.
    identity: Option<(Vec<Gid>, Gid, Uid)>,
    working_directory: CString,
    /// The write end of the failure pipe.
    report: RawFd,
}

/// The steps the child can fail at, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Cgroup,
    Limit,
    Groups,
    Gid,
    Uid,
    Chdir,
}

impl Stage {
    const ALL: [Stage; 6] = [
        Stage::Cgroup,
        Stage::Limit,
        Stage::Groups,
        Stage::Gid,
        Stage::Uid,
        Stage::Chdir,
    ];
}

/// What the child wrote before giving up: the stage, an index (which limit), the errno.
type Report = [u32; 3];

fn report_error(
    report: Report,
    run: &MethodRun,
    cgroup_procs: Option<&Path>,
    resolved: &Resolved,
) -> SpawnError {
    let [stage, index, errno] = report;
    let errno = Errno::from_raw(errno as i32);
    let user = resolved
        .user
        .clone()
        .unwrap_or_else(|| resolved.uid.to_string());
    let message = match Stage::ALL.get(stage as usize) {
        Some(Stage::Cgroup) => {
            let path = cgroup_procs.unwrap_or(Path::new("")).display();
            let message = format!("could not join cgroup {path}: {}", errno.desc());
            return SpawnError::retryable(message);
        }
        Some(Stage::Limit) => match run.process.limits.get(index as usize) {
            Some(limit) => format!(
                "could not set limit_{} to {}",
                resource_name(limit.resource),
                limit
                    .value
                    .map_or_else(|| "unlimited".into(), |value| value.to_string())
            ),
            None => "could not set a resource limit".to_string(),
        },
        Some(Stage::Groups) => format!("could not set the supplementary groups of user \"{user}\""),
        Some(Stage::Gid) => format!("could not set group {}", resolved.gid),
        Some(Stage::Uid) => format!("could not run as user \"{user}\""),
        Some(Stage::Chdir) => {
            format!(
                "working directory \"{}\"",
                resolved.working_directory.display()
            )
        }
        None => "the method's process could not be set up".to_string(),
    };
    SpawnError::from_errno(message, errno)
}

/// A report if the child wrote one; none once the pipe reads as end of file (the child
/// exec'd: the write end is close-on-exec).
fn read_report(pipe: &OwnedFd) -> Option<Report> {
    let mut bytes = [0u8; 12];
    let mut filled = 0;
    while filled < bytes.len() {
        match nix::unistd::read(pipe, &mut bytes[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    let word =
        |at: usize| u32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    (filled == bytes.len()).then(|| [word(0), word(4), word(8)])
}

/// Installs the closure that runs in the child between fork and exec: signals, cgroup,
/// limits, umask, groups, gid, uid, working directory.
#[allow(unsafe_code)]
fn install_child_setup(command: &mut Command, setup: ChildSetup) {
    /// Reports a failed step on the pipe (a stack buffer written to an open descriptor) and
    /// exits without running destructors or atexit handlers. Only for the forked child.
    fn fail(report: RawFd, stage: Stage, index: usize, errno: i32) -> ! {
        let mut record = [0u8; 12];
        let words = [stage as u32, index as u32, errno as u32];
        for (chunk, word) in record.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        // SAFETY: see below; both calls are async-signal-safe.
        unsafe {
            libc::write(report, record.as_ptr().cast(), record.len());
            libc::_exit(EXIT_CONFIG)
        }
    }

    // SAFETY: svc.startd has threads, so between fork and exec the child may only make
    // async-signal-safe calls: another thread may have held the allocator's lock at the
    // fork. The closure only reads `setup` (allocated before the fork), builds fixed-size
    // values on the stack and makes raw system calls (sigprocmask, rt_sigaction, write,
    // setrlimit, umask, setgroups, setgid, setuid, chdir, _exit), directly through libc or
    // through nix wrappers that do nothing but the call. It never returns an error to std
    // (see the module doc): on failure it writes 12 bytes to the pipe and calls `_exit`.
    unsafe {
        command.pre_exec(move || {
            let fail =
                |stage: Stage, index: usize, errno: i32| fail(setup.report, stage, index, errno);

            // The daemon ignores or blocks signals a service must see (SIGPIPE, SIGCHLD,
            // SIGTERM, SIGHUP...): ignored dispositions and the mask survive exec, handlers
            // do not. Reset every signal. The raw system call, because glibc's sigaction
            // refuses the two signals it reserves (32 and 33), which can be inherited ignored
            // too. A zeroed kernel sigaction is SIG_DFL with no flags and an empty mask.
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            let default = [0u64; 4];
            for signal in 1..=64 {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    let null = std::ptr::null_mut::<u64>();
                    libc::syscall(libc::SYS_rt_sigaction, signal, default.as_ptr(), null, 8);
                }
            }

            if let Some(procs) = setup.cgroup
                && libc::write(procs, b"0".as_ptr().cast(), 1) != 1
            {
                fail(Stage::Cgroup, 0, Errno::last_raw());
            }
            for (index, (resource, value)) in setup.limits.iter().enumerate() {
                if let Err(errno) = resource::setrlimit(*resource, *value, *value) {
                    fail(Stage::Limit, index, errno as i32);
                }
            }
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(setup.umask));
            if let Some((groups, gid, uid)) = &setup.identity {
                if let Err(errno) = nix::unistd::setgroups(groups) {
                    fail(Stage::Groups, 0, errno as i32);
                }
                if let Err(errno) = nix::unistd::setgid(*gid) {
                    fail(Stage::Gid, 0, errno as i32);
                }
                if let Err(errno) = nix::unistd::setuid(*uid) {
                    fail(Stage::Uid, 0, errno as i32);
                }
            }
            if libc::chdir(setup.working_directory.as_ptr()) != 0 {
                fail(Stage::Chdir, 0, Errno::last_raw());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    use nix::sys::wait::waitpid;
    use nix::unistd::Pid;
    use smf_core::engine::{Duration, MethodName, ProcessSettings, ResourceLimit, RunId};
    use smf_core::fmri::Fmri;
    use smf_core::manifest::{EnvVar, MethodContext, MethodCredential};

    use super::*;

    /// A method running `script` (the command is exec'd, as SMF does: a script of several
    /// commands goes through its own shell).
    fn method(script: &str) -> MethodRun {
        let command = format!("/bin/sh -c '{}'", script.replace('\'', "'\\''"));
        MethodRun {
            run: RunId(1),
            fmri: Fmri::parse("svc:/site/foo:default").unwrap(),
            method: MethodName::Start,
            command: command.clone(),
            written: command,
            context: MethodContext::default(),
            process: ProcessSettings::default(),
            timeout_ms: None,
            duration: Duration::Transient,
            notify: false,
        }
    }

    fn as_user(user: &str) -> Option<MethodCredential> {
        Some(MethodCredential {
            user: Some(user.into()),
            ..MethodCredential::default()
        })
    }

    fn variable(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Spawns with a fresh log in a temporary directory (the directory holds the log).
    fn start(
        run: &MethodRun,
        notify_socket: Option<&Path>,
        cgroup_procs: Option<&Path>,
    ) -> (tempfile::TempDir, Result<u32, SpawnError>) {
        let dir = tempfile::tempdir().unwrap();
        let log = File::options()
            .append(true)
            .create(true)
            .open(dir.path().join("log"));
        let request = SpawnRequest {
            run,
            log: log.unwrap(),
            notify_socket,
            cgroup_procs,
        };
        (dir, spawn(request))
    }

    /// Runs the method to its end (reaping only this child) and returns its log and pid.
    fn output(run: &MethodRun, notify_socket: Option<&Path>) -> (String, u32) {
        let (dir, result) = start(run, notify_socket, None);
        let pid = result.unwrap();
        waitpid(Pid::from_raw(pid as i32), None).unwrap();
        (
            std::fs::read_to_string(dir.path().join("log")).unwrap(),
            pid,
        )
    }

    fn fatal(run: &MethodRun, message: &str) {
        let error = start(run, None, None).1.unwrap_err();
        assert_eq!(
            error,
            SpawnError {
                message: message.into(),
                fatal: true
            }
        );
    }

    #[test]
    fn the_environment_is_smfs_and_nothing_inherited() {
        let mut run = method("env");
        run.context.environment = vec![variable("FOO", "bar baz")];
        let (log, _) = output(&run, Some(Path::new("/run/notify.sock")));
        let lines: Vec<&str> = log.lines().collect();
        for expected in [
            "SMF_FMRI=svc:/site/foo:default",
            "SMF_METHOD=start",
            "SMF_RESTARTER=svc:/system/svc/restarter:default",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
            "LOGNAME=root",
            "USER=root",
            "FOO=bar baz",
        ] {
            assert!(lines.contains(&expected), "{expected} missing from\n{log}");
        }
        // Not notify: no NOTIFY_SOCKET although svc.startd has one.
        assert!(
            !log.contains("CARGO") && !log.contains("NOTIFY_SOCKET"),
            "{log}"
        );
        run.notify = true;
        let (log, _) = output(&run, Some(Path::new("/run/notify.sock")));
        assert!(
            log.lines()
                .any(|line| line == "NOTIFY_SOCKET=/run/notify.sock"),
            "{log}"
        );
    }

    #[test]
    fn the_manifest_may_set_path_but_not_smf_variables() {
        let mut run = method("env");
        run.context.environment = vec![
            variable("PATH", "/opt/site/bin:/usr/bin:/bin"),
            variable("SMF_FMRI", "svc:/evil:default"),
        ];
        let (log, _) = output(&run, None);
        let warning = "Invalid environment variable \"SMF_FMRI=svc:/evil:default\"; \"SMF_\" \
                       prefix is reserved. ]";
        assert!(log.lines().next().unwrap().ends_with(warning), "{log}");
        assert!(
            log.lines()
                .any(|line| line == "PATH=/opt/site/bin:/usr/bin:/bin"),
            "{log}"
        );
        assert!(
            log.lines()
                .any(|line| line == "SMF_FMRI=svc:/site/foo:default"),
            "{log}"
        );
    }

    #[test]
    fn working_directory_umask_and_limits_are_applied() {
        let directory = tempfile::tempdir().unwrap();
        let mut run = method("pwd; umask; ulimit -n");
        run.context.working_directory = Some(directory.path().display().to_string());
        run.process.umask = Some(0o027);
        run.process.limits = vec![ResourceLimit {
            resource: Resource::Nofile,
            value: Some(64),
        }];
        let expected = format!("{}\n0027\n64\n", directory.path().display());
        assert_eq!(output(&run, None).0, expected);
        // Without settings: `/` and svc.startd's umask, 022.
        assert_eq!(output(&method("pwd; umask"), None).0, "/\n0022\n");
    }

    #[test]
    fn the_process_leads_its_own_group_with_default_signals() {
        // Rust ignores SIGPIPE in every program; block SIGHUP in this thread as well.
        let hangup = SigSet::from(Signal::SIGHUP);
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&hangup), None).unwrap();
        let command = "cut -d' ' -f5 /proc/$$/stat; grep -E '^Sig(Ign|Blk)' /proc/self/status";
        let (log, pid) = output(&method(command), None);
        pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&hangup), None).unwrap();
        let expected = format!("{pid}\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        assert_eq!(log, expected);
    }

    #[test]
    fn context_errors_are_fatal_and_start_nothing() {
        let marker = tempfile::tempdir().unwrap().path().join("ran");
        let mut run = method(&format!("touch {}", marker.display()));
        run.context.credential = as_user("nosuchuser");
        fatal(&run, "user \"nosuchuser\" does not exist");
        run.context.credential = None;
        run.context.working_directory = Some("/nope/smf".into());
        fatal(
            &run,
            "working directory \"/nope/smf\": No such file or directory",
        );
        run.context.working_directory = None;
        let groups = Some("root,nosuchgroup".to_string());
        let credential = MethodCredential {
            supp_groups: groups,
            ..MethodCredential::default()
        };
        run.context.credential = Some(credential);
        fatal(&run, "supplementary group \"nosuchgroup\" does not exist");
        assert!(!marker.exists());
    }

    #[test]
    fn runs_as_another_user_with_its_groups() {
        let nobody = User::from_name("nobody")
            .unwrap()
            .expect("the tests need a user nobody");
        let mut run = method("id -u; id -g; id -G; echo $HOME $LOGNAME; pwd");
        run.context.credential = as_user("nobody");
        run.context.working_directory = Some("/".into());
        assert!(resolve(&run).unwrap().changes_identity);
        let name = CString::new("nobody").unwrap();
        let groups = nix::unistd::getgrouplist(&name, nobody.gid).unwrap();
        let groups: Vec<String> = groups.iter().map(ToString::to_string).collect();
        let (uid, gid, home) = (nobody.uid, nobody.gid, nobody.dir.display());
        let expected = format!("{uid}\n{gid}\n{}\n{home} nobody\n/\n", groups.join(" "));
        assert_eq!(output(&run, None).0, expected);
    }

    #[test]
    fn child_failures_name_their_stage() {
        // svc.startd enters the directory after changing user: root may enter this 0700
        // directory of root's, nobody may not.
        let private = tempfile::tempdir().unwrap();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o700);
        std::fs::set_permissions(private.path(), mode).unwrap();
        let mut run = method("true");
        run.context.credential = as_user("nobody");
        run.context.working_directory = Some(private.path().display().to_string());
        let path = private.path().display();
        fatal(
            &run,
            &format!("working directory \"{path}\": Permission denied"),
        );
        // Above fs.nr_open even root cannot raise RLIMIT_NOFILE.
        let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open").unwrap();
        let too_many = nr_open.trim().parse::<u64>().unwrap() + 1;
        let mut run = method("true");
        let limit = ResourceLimit {
            resource: Resource::Nofile,
            value: Some(too_many),
        };
        run.process.limits = vec![limit];
        fatal(
            &run,
            &format!("could not set limit_nofile to {too_many}: Operation not permitted"),
        );
    }

    #[test]
    fn the_child_joins_the_cgroup_before_exec() {
        // A plain file stands in for cgroup.procs: the child writes "0" to it.
        let directory = tempfile::tempdir().unwrap();
        let procs = directory.path().join("cgroup.procs");
        std::fs::write(&procs, "").unwrap();
        let (_log, result) = start(&method("true"), None, Some(&procs));
        waitpid(Pid::from_raw(result.unwrap() as i32), None).unwrap();
        assert_eq!(std::fs::read_to_string(&procs).unwrap(), "0");
        let missing = directory.path().join("gone/cgroup.procs");
        let error = start(&method("true"), None, Some(&missing)).1.unwrap_err();
        assert!(
            !error.fatal && error.message.starts_with("could not join cgroup"),
            "{error:?}"
        );
    }
}
