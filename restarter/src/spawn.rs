//! Fork and exec one method run with its method context: SMF's environment, the instance
//! log as stdout and stderr, its own process group, its cgroup, resource limits, umask,
//! credentials and working directory.
//!
//! Everything that can be decided before the fork is decided in [`resolve`] and the plan
//! (users, groups, directories, what to execute): those failures are fatal [`SpawnError`]s
//! and no process exists. The fork is `clone3(CLONE_INTO_CGROUP)` where svc.startd gives the
//! instance a cgroup (the child is born in it; moving it afterwards would cost the kernel an
//! RCU grace period, milliseconds), else glibc's `fork`. The child runs only async-signal-safe
//! system calls on data prepared before the fork, in svc.startd's order (librestart.c
//! `restarter_set_method_context`): standard descriptors, process group, signals, cgroup
//! (when not born in it), limits, umask, groups, gid, uid, and the working directory last,
//! "as only the user might have access to the specified directory". The parent does not wait
//! for the exec: a child that cannot finish its setup writes a restarter line saying why to
//! the log (prepared before the fork, plus the error number) and exits 96
//! (`SMF_EXIT_ERR_CONFIG`), which the reaper reports like any exit and the engine treats as
//! a configuration error (maintenance).
//!
//! What runs: `/bin/sh -c "exec COMMAND"` as svc.startd does, or, when the command is plain
//! words (no quote, variable, glob, redirection or separator) whose first is an executable
//! on the method's `PATH`, that program directly with those words: the same program, the
//! same arguments, one exec fewer.
//!
//! Not here: reaping (reaper.rs), killing (contract.rs), the "Executing start method" marker
//! (the caller writes it with `Logs::marker`).

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
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
        // svc.startd's own user may lack a passwd entry (a container's arbitrary uid). Looked
        // up once: most methods run as svc.startd's user, and a restart should not read
        // /etc/passwd and /etc/group.
        None => own_user().cloned(),
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
        // Nothing named: the method keeps svc.startd's own groups (its identity is not
        // changed), so they are not looked up in the group database.
        (None, Some(_)) if named_user.is_none() && named_group.is_none() => {
            nix::unistd::getgroups().unwrap_or_default()
        }
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

    let plan = Plan::new(run, &environment)?;
    let stdin = dev_null()?;
    // CLONE_INTO_CGROUP takes the cgroup's directory; the fallback writes to cgroup.procs.
    let cgroup_dir = match cgroup_procs.and_then(Path::parent) {
        Some(dir) => Some(
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY)
                .open(dir)
                .map_err(|error| {
                    SpawnError::retryable(format!(
                        "could not join cgroup {}: {}",
                        dir.display(),
                        io_desc(&error)
                    ))
                })?,
        ),
        None => None,
    };
    let working_directory = CString::new(resolved.working_directory.as_os_str().as_bytes())
        .map_err(|_| SpawnError::fatal("the working directory contains a NUL byte".into()))?;
    let limits: Vec<(libc::c_int, rlim_t)> = run
        .process
        .limits
        .iter()
        .map(|limit| {
            (
                nix_resource(limit.resource) as libc::c_int,
                limit.value.map_or(RLIM_INFINITY, |value| value as rlim_t),
            )
        })
        .collect();
    let failures = std::cell::OnceCell::new();
    let report = Report::default();
    let mut setup = ChildSetup {
        ignored_signals: IGNORED_SIGNALS.get().map(Vec::as_slice),
        file_limit: STARTING_FILE_LIMIT.get().copied(),
        stdin,
        log: log.as_raw_fd(),
        limits: &limits,
        umask: run.process.umask.unwrap_or(0o022),
        identity: (resolved.changes_identity).then(|| {
            (
                resolved.groups.iter().map(|gid| gid.as_raw()).collect(),
                resolved.gid.as_raw(),
                resolved.uid.as_raw(),
            )
        }),
        working_directory: &working_directory,
        plan: &plan,
        failures: None,
        report: &report,
    };
    let make_failures = || failures.get_or_init(|| Failures::new(run, &resolved, cgroup_procs));
    let pid = fork_and_exec(
        &mut setup,
        &make_failures,
        cgroup_dir.as_ref().map(AsRawFd::as_raw_fd),
        cgroup_procs,
    )?;
    // A child that shared this memory and gave up left its reason here (it exits 96, which
    // the reaper reports): the line it would have written goes to its log now.
    if let Some((stage, index, errno)) = report.take() {
        make_failures().write(log.as_raw_fd(), stage, index, errno);
    }
    // The parent's copies of the log, /dev/null and cgroup descriptors close here.
    drop((log, cgroup_dir));
    Ok(pid)
}

/// What the child executes: the program itself when the command is a plain list of words
/// (nothing a shell would interpret, the program found on the method's `PATH`), else
/// `/bin/sh -c "exec COMMAND"` as svc.startd does. Both run the same program with the same
/// arguments; the first saves a shell's start (half a millisecond a restart).
#[derive(Debug)]
struct Plan {
    program: CString,
    _arguments: Vec<CString>,
    _environment: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

impl Plan {
    fn new(run: &MethodRun, environment: &[(String, String)]) -> Result<Plan, SpawnError> {
        let nul = |_| SpawnError::fatal("the method's command contains a NUL byte".into());
        let path = environment
            .iter()
            .find(|(name, _)| name == "PATH")
            .map_or(DEFAULT_PATH, |(_, value)| value.as_str());
        let (program, arguments) = match direct(&run.command, path) {
            Some((program, words)) => (program, words),
            None => (
                SHELL.to_string(),
                vec![
                    SHELL.to_string(),
                    "-c".to_string(),
                    format!("exec {}", run.command),
                ],
            ),
        };
        let program = CString::new(program).map_err(nul)?;
        let arguments = arguments
            .into_iter()
            .map(CString::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(nul)?;
        let environment = environment
            .iter()
            .map(|(name, value)| CString::new(format!("{name}={value}")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(nul)?;
        let mut argv: Vec<*const libc::c_char> = arguments.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = environment.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        Ok(Plan {
            program,
            _arguments: arguments,
            _environment: environment,
            argv,
            envp,
        })
    }
}

/// The program and its arguments, when `command` is words a shell would pass on unchanged
/// and its first word is an executable file (found on `path` unless it holds a `/`).
fn direct(command: &str, path: &str) -> Option<(String, Vec<String>)> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-,:+@%^".contains(c);
    if !command.chars().all(|c| plain(c) || c == ' ' || c == '\t') {
        return None;
    }
    let words: Vec<String> = command
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    let first = words.first()?;
    let executable = |candidate: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(candidate)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let program = if first.contains('/') {
        let candidate = PathBuf::from(first);
        executable(&candidate).then_some(candidate)?
    } else {
        path.split(':')
            .filter(|dir| dir.starts_with('/'))
            .map(|dir| Path::new(dir).join(first))
            .find(|candidate| executable(candidate))?
    };
    Some((program.to_string_lossy().into_owned(), words))
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

/// The open-file limits svc.startd started with, before it raised its own (see
/// [`remember_file_limit`]): what methods get unless their manifest sets `limit_nofile`.
static STARTING_FILE_LIMIT: std::sync::OnceLock<(rlim_t, rlim_t)> = std::sync::OnceLock::new();

/// Records the open-file limits svc.startd inherited, before it raises its own soft limit:
/// methods are given the inherited ones back.
pub fn remember_file_limit() {
    if let Ok(limits) = resource::getrlimit(resource::Resource::RLIMIT_NOFILE) {
        let _ = STARTING_FILE_LIMIT.set(limits);
    }
}

/// `/dev/null`, opened once (every method's standard input).
fn dev_null() -> Result<RawFd, SpawnError> {
    static DEV_NULL: std::sync::OnceLock<File> = std::sync::OnceLock::new();
    if let Some(file) = DEV_NULL.get() {
        return Ok(file.as_raw_fd());
    }
    let file = OpenOptions::new()
        .read(true)
        .open("/dev/null")
        .map_err(|error| SpawnError::retryable(format!("/dev/null: {}", io_desc(&error))))?;
    Ok(DEV_NULL.get_or_init(|| file).as_raw_fd())
}

/// The signals svc.startd found ignored when it started (see [`remember_signals`]).
static IGNORED_SIGNALS: std::sync::OnceLock<Vec<libc::c_int>> = std::sync::OnceLock::new();

/// Records which signals are ignored in svc.startd (inherited, or SIGPIPE by Rust's
/// runtime): a method resets only those (handlers are reset by exec itself) instead of all
/// 64, which matters because a vfork child holds svc.startd's thread until it execs. Until
/// this is called, methods reset every signal.
#[allow(unsafe_code)]
pub fn remember_signals() {
    let mut ignored = Vec::new();
    for signal in 1..=64 {
        let mut old = [0u64; 4];
        // SAFETY: a query (no new action) into a buffer the size of the kernel's sigaction.
        let queried = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                signal,
                std::ptr::null::<u64>(),
                old.as_mut_ptr(),
                8,
            )
        };
        if queried == 0 && old[0] == libc::SIG_IGN as u64 {
            ignored.push(signal);
        }
    }
    let _ = IGNORED_SIGNALS.set(ignored);
}

/// svc.startd's own passwd entry, looked up once (for `HOME`, `USER`, `LOGNAME`). Its
/// supplementary groups are not listed from the group database (`getgrouplist` asks every
/// source in nsswitch.conf, loading their libraries into svc.startd for good): a method
/// that names no user or group keeps svc.startd's own.
fn own_user() -> Option<&'static User> {
    static OWN: std::sync::OnceLock<Option<User>> = std::sync::OnceLock::new();
    OWN.get_or_init(|| User::from_uid(nix::unistd::geteuid()).ok().flatten())
        .as_ref()
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
struct ChildSetup<'a> {
    /// The signals to reset (none known: all of them).
    ignored_signals: Option<&'a [libc::c_int]>,
    /// The open-file limits svc.startd inherited (soft, hard), restored first.
    file_limit: Option<(rlim_t, rlim_t)>,
    stdin: RawFd,
    log: RawFd,
    limits: &'a [(libc::c_int, rlim_t)],
    umask: u32,
    /// Supplementary groups, gid, uid: set only when they change.
    identity: Option<(Vec<libc::gid_t>, libc::gid_t, libc::uid_t)>,
    working_directory: &'a CString,
    plan: &'a Plan,
    /// The lines a failing child writes itself: a forked child, which does not share this
    /// memory. A child that shares it (the vfork ways) leaves its reason in `report`
    /// instead, and svc.startd writes the line after the clone returns, so that no line is
    /// formatted for the children that succeed.
    failures: Option<&'a Failures>,
    report: &'a Report,
}

/// Where a child that shares svc.startd's memory leaves why it gave up: stage, index (of a
/// limit), errno; zero while it has not.
#[derive(Debug, Default)]
struct Report(std::sync::atomic::AtomicU64);

impl Report {
    fn set(&self, stage: Stage, index: usize, errno: i32) {
        let value = (1 << 63)
            | ((stage as u64) << 48)
            | ((index as u64 & 0xffff) << 32)
            | u64::from(errno.unsigned_abs());
        self.0.store(value, std::sync::atomic::Ordering::Release);
    }

    fn take(&self) -> Option<(Stage, usize, i32)> {
        let value = self.0.swap(0, std::sync::atomic::Ordering::Acquire);
        if value == 0 {
            return None;
        }
        let stage = Stage::ALL
            .get(usize::try_from((value >> 48) & 0x7fff).unwrap_or(usize::MAX))
            .copied()?;
        let index = usize::try_from((value >> 32) & 0xffff).unwrap_or(0);
        let errno = i32::try_from(value & 0xffff_ffff).unwrap_or(0);
        Some((stage, index, errno))
    }
}

/// The steps the child can fail at, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Stdio,
    Cgroup,
    Limit,
    Groups,
    Gid,
    Uid,
    Chdir,
    Exec,
}

impl Stage {
    /// Every stage, in declaration order (`Stage as usize` indexes it).
    const ALL: [Stage; 8] = [
        Stage::Stdio,
        Stage::Cgroup,
        Stage::Limit,
        Stage::Groups,
        Stage::Gid,
        Stage::Uid,
        Stage::Chdir,
        Stage::Exec,
    ];
}

/// The log lines of a child that could not finish its setup, formatted only when needed:
/// after a shared-memory (vfork) child reported its reason, or before a plain fork, whose
/// child only copies the bytes and appends the error number.
struct Failures {
    lines: Vec<(Stage, Vec<u8>)>,
    limits: Vec<Vec<u8>>,
}

impl Failures {
    fn new(run: &MethodRun, resolved: &Resolved, cgroup_procs: Option<&Path>) -> Failures {
        let user = resolved
            .user
            .clone()
            .unwrap_or_else(|| resolved.uid.to_string());
        let mut prefix = marker_line(SystemTime::now(), "X").into_bytes();
        // "[ time X ]\n" -> "[ time "
        prefix.truncate(prefix.len().saturating_sub(4));
        let line = |what: String| {
            let mut text = prefix.clone();
            text.extend_from_slice(
                format!(
                    "Method \"{}\" could not be started: {what} (errno ",
                    run.method.as_str()
                )
                .as_bytes(),
            );
            text
        };
        let cgroup = cgroup_procs.map_or_else(String::new, |p| p.display().to_string());
        Failures {
            lines: vec![
                (
                    Stage::Stdio,
                    line("could not set up standard input and output".into()),
                ),
                (
                    Stage::Cgroup,
                    line(format!("could not join cgroup {cgroup}")),
                ),
                (
                    Stage::Groups,
                    line(format!(
                        "could not set the supplementary groups of user \"{user}\""
                    )),
                ),
                (
                    Stage::Gid,
                    line(format!("could not set group {}", resolved.gid)),
                ),
                (
                    Stage::Uid,
                    line(format!("could not run as user \"{user}\"")),
                ),
                (
                    Stage::Chdir,
                    line(format!(
                        "working directory \"{}\"",
                        resolved.working_directory.display()
                    )),
                ),
                (
                    Stage::Exec,
                    line(format!("could not execute \"{}\"", run.command)),
                ),
            ],
            limits: run
                .process
                .limits
                .iter()
                .map(|limit| {
                    line(format!(
                        "could not set limit_{} to {}",
                        resource_name(limit.resource),
                        limit
                            .value
                            .map_or_else(|| "unlimited".into(), |value| value.to_string())
                    ))
                })
                .collect(),
        }
    }

    /// Writes the stage's line with the error number to `fd`: only `write` system calls on
    /// bytes prepared before (async-signal-safe: a forked child calls it).
    #[allow(unsafe_code)]
    fn write(&self, fd: RawFd, stage: Stage, index: usize, errno: i32) {
        let mut digits = [0u8; 12];
        let mut at = digits.len();
        let mut value = errno.unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 || at == 0 {
                break;
            }
        }
        for part in [self.line(stage, index), &digits[at..], b"). ]\n"] {
            // SAFETY: write(2) of a slice that lives for the call.
            unsafe {
                libc::write(fd, part.as_ptr().cast(), part.len());
            }
        }
    }

    fn line(&self, stage: Stage, index: usize) -> &[u8] {
        if stage == Stage::Limit {
            return self.limits.get(index).map_or(&b""[..], Vec::as_slice);
        }
        self.lines
            .iter()
            .find(|(candidate, _)| *candidate == stage)
            .map_or(&b""[..], |(_, line)| line.as_slice())
    }
}

/// `clone3`'s argument (linux/sched.h `struct clone_args`, up to `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Forks (straight into the instance's cgroup with `clone3(CLONE_INTO_CGROUP)` where the
/// kernel allows it: joining afterwards costs the kernel an RCU grace period, milliseconds)
/// and executes the plan in the child. Returns at once: the exec is not waited for, and a
/// child that cannot finish its setup exits 96 (`SMF_EXIT_ERR_CONFIG`), which the reaper
/// reports like any exit; why goes to the log, written by a forked child itself, or for a
/// vfork child (which shares this memory) left in `setup.report` for the caller.
#[allow(unsafe_code)]
fn fork_and_exec<'a>(
    setup: &mut ChildSetup<'a>,
    make_failures: &dyn Fn() -> &'a Failures,
    cgroup_dir: Option<RawFd>,
    cgroup_procs: Option<&Path>,
) -> Result<u32, SpawnError> {
    let mut pid: libc::c_long = -1;
    #[cfg(target_arch = "x86_64")]
    if let Some(dir) = cgroup_dir {
        pid = vfork_into_cgroup(setup, dir);
    }
    if pid < 0
        && let Some(dir) = cgroup_dir
    {
        // A forked child has its own memory: it writes its failure line itself.
        setup.failures = Some(make_failures());
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir as u64,
            ..CloneArgs::default()
        };
        // SAFETY: without CLONE_VM, clone3 is fork: the child gets a copy of this address
        // space and returns 0 here on its own copy of this stack. It then runs only `child`
        // (async-signal-safe system calls on data prepared before, then execve or _exit),
        // never returning into Rust code that could touch locks held by other threads.
        pid = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if pid == 0 {
            // SAFETY: see above; `child` never returns.
            unsafe { child(setup, None) }
        }
    }
    if pid < 0 && cgroup_dir.is_none() {
        pid = vfork_and_exec(setup);
    }
    // The last resort: a plain fork, the child joining its cgroup itself (opened only now:
    // this is rarely needed).
    let mut procs_file = None;
    if pid < 0 {
        setup.failures = Some(make_failures());
        if let Some(path) = cgroup_procs {
            let file = OpenOptions::new().write(true).open(path).map_err(|error| {
                SpawnError::retryable(format!(
                    "could not join cgroup {}: {}",
                    path.display(),
                    io_desc(&error)
                ))
            })?;
            procs_file = Some(file);
        }
        let join = procs_file.as_ref().map(AsRawFd::as_raw_fd);
        // SAFETY: glibc's fork in a threaded process: the child runs only `child`, as above.
        pid = libc::c_long::from(unsafe { libc::fork() });
        if pid == 0 {
            // SAFETY: see above; `child` never returns.
            unsafe { child(setup, join) }
        }
    }
    drop(procs_file);
    if pid < 0 {
        return Err(SpawnError::from_errno(
            "could not fork".into(),
            Errno::last(),
        ));
    }
    u32::try_from(pid).map_err(|_| SpawnError::retryable(format!("fork returned {pid}")))
}

/// What `clone`'s child runs: the child setup, on its own stack, in the parent's memory.
extern "C" fn vfork_child(setup: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `setup` is the `ChildSetup` the parent passed, alive and unchanged while the
    // parent is suspended (CLONE_VFORK); `child` never returns.
    #[allow(unsafe_code)]
    unsafe {
        child(&*(setup as *const ChildSetup<'_>), None)
    }
}

/// The size of a vfork child's stack.
const STACK: usize = 64 * 1024;

thread_local! {
    /// The stack vfork children run on before their exec, allocated (and faulted in) once per
    /// thread that spawns: the child is done with it before the parent's thread resumes.
    static CHILD_STACK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; STACK]);
}

/// `posix_spawn`'s way: `clone(CLONE_VM | CLONE_VFORK)` on a stack of its own, so no page
/// table is copied; svc.startd's thread is suspended until the child has exec'd (or given
/// up). Every signal is blocked around the clone so no handler runs in the child before it
/// resets them. Returns the pid, or -1 (the caller then forks).
#[allow(unsafe_code)]
fn vfork_and_exec(setup: &ChildSetup<'_>) -> libc::c_long {
    CHILD_STACK.with_borrow_mut(|stack| {
        let stack = stack.as_mut_slice();
        // SAFETY: the stack is ours and outlives the child's use of it (the parent resumes only
        // after the child's exec or exit). Signals are blocked in this thread around the clone
        // and restored after; the child unblocks them itself after resetting every disposition.
        // The child only reads `setup` and makes system calls (see `child`).
        unsafe {
            let top = stack.as_mut_ptr().add(STACK);
            let top = (top as usize & !15) as *mut libc::c_void;
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            let pid = libc::clone(
                vfork_child,
                top,
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                setup as *const ChildSetup<'_> as *mut libc::c_void,
            );
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            libc::c_long::from(pid)
        }
    })
}

/// `clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP)`: posix_spawn's way, born in the
/// instance's cgroup. glibc has no wrapper for clone3 with a function to run, so the child's
/// side is a few instructions: after the system call it is on its own stack, and calls
/// `vfork_child(setup)`, which never returns. Returns the pid, or a negative error (the
/// caller then forks).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn vfork_into_cgroup(setup: &ChildSetup<'_>, cgroup_dir: RawFd) -> libc::c_long {
    CHILD_STACK.with_borrow_mut(|stack| {
        let stack = stack.as_mut_slice();
        let bottom = stack.as_mut_ptr() as u64;
        // The kernel starts the child at stack + stack_size: keep that 16-byte aligned.
        let size = ((bottom + STACK as u64) & !15) - bottom;
        let args = CloneArgs {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            stack: bottom,
            stack_size: size,
            cgroup: cgroup_dir as u64,
            ..CloneArgs::default()
        };
        let entry: extern "C" fn(*mut libc::c_void) -> libc::c_int = vfork_child;
        let argument = setup as *const ChildSetup<'_> as *mut libc::c_void;
        let result: libc::c_long;
        // SAFETY: every signal is blocked in this thread around the clone (the child resets
        // dispositions before unblocking). The parent's path through the assembly only makes
        // the system call (rcx and r11 are clobbered by it); this thread is suspended until the
        // child has exec'd or exited (CLONE_VFORK), so `stack`, `args` and `setup` outlive the
        // child's use of them. The child, on the new stack with a cleared frame pointer, calls
        // `entry(argument)`, which never returns (`ud2` guards it).
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
            std::arch::asm!(
                "syscall",
                "test rax, rax",
                "jnz 2f",
                "xor ebp, ebp",
                "mov rdi, r12",
                "call r13",
                "ud2",
                "2:",
                inlateout("rax") libc::SYS_clone3 => result,
                in("rdi") &args as *const CloneArgs,
                in("rsi") std::mem::size_of::<CloneArgs>(),
                in("r12") argument,
                in("r13") entry,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
        result
    })
}

/// Checks that svc.startd may start processes in the cgroup `dir`: a child is cloned into it
/// and exits at once (reaped here: call it before the reaper thread exists). `Ok(false)`
/// when the kernel cannot clone into a cgroup at all (older than 5.7).
#[allow(unsafe_code)]
pub fn probe_clone_into(dir: &Path) -> Result<bool, String> {
    let directory = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(dir)
        .map_err(|error| format!("{}: {error}", dir.display()))?;
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: directory.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM is fork; the child only calls _exit.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        // SAFETY: the child exits at once, touching nothing.
        unsafe { libc::_exit(0) }
    }
    if pid < 0 {
        let errno = Errno::last();
        return match errno {
            Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL => Ok(false),
            _ => Err(format!(
                "cannot start a process in {}: {}",
                dir.display(),
                errno.desc()
            )),
        };
    }
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
    Ok(true)
}

/// `CLONE_INTO_CGROUP` (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The child, between fork and exec: only async-signal-safe system calls, on data prepared
/// before the fork. Identity changes use the raw system calls: glibc's wrappers would try to
/// reach the parent's other threads, which do not exist here.
#[allow(unsafe_code)]
unsafe fn child(setup: &ChildSetup<'_>, join_cgroup: Option<RawFd>) -> ! {
    // SAFETY (whole body): raw system calls on descriptors and memory that belong to this
    // child; `fail` writes bytes and calls _exit.
    unsafe {
        if libc::dup2(setup.stdin, 0) < 0
            || libc::dup2(setup.log, 1) < 0
            || libc::dup2(setup.log, 2) < 0
        {
            fail(setup, Stage::Stdio, 0);
        }
        libc::setpgid(0, 0);
        // The daemon ignores or blocks signals a service must see: reset every disposition
        // (the raw call: glibc refuses 32 and 33), then empty the mask (in this order: a
        // vfork child must not run one of the daemon's handlers).
        let default = [0u64; 4];
        let null = std::ptr::null_mut::<u64>();
        match setup.ignored_signals {
            Some(ignored) => {
                for &signal in ignored {
                    libc::syscall(libc::SYS_rt_sigaction, signal, default.as_ptr(), null, 8);
                }
            }
            None => {
                for signal in 1..=64 {
                    if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                        libc::syscall(libc::SYS_rt_sigaction, signal, default.as_ptr(), null, 8);
                    }
                }
            }
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        if let Some(procs) = join_cgroup
            && libc::write(procs, b"0".as_ptr().cast(), 1) != 1
        {
            fail(setup, Stage::Cgroup, 0);
        }
        if let Some((soft, hard)) = setup.file_limit {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        for (index, (resource, value)) in setup.limits.iter().enumerate() {
            let limit = libc::rlimit {
                rlim_cur: *value,
                rlim_max: *value,
            };
            if libc::setrlimit(*resource as _, &limit) != 0 {
                fail(setup, Stage::Limit, index);
            }
        }
        libc::umask(setup.umask as libc::mode_t);
        if let Some((groups, gid, uid)) = &setup.identity {
            if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0 {
                fail(setup, Stage::Groups, 0);
            }
            if libc::syscall(libc::SYS_setresgid, *gid, *gid, *gid) != 0 {
                fail(setup, Stage::Gid, 0);
            }
            if libc::syscall(libc::SYS_setresuid, *uid, *uid, *uid) != 0 {
                fail(setup, Stage::Uid, 0);
            }
        }
        if libc::chdir(setup.working_directory.as_ptr()) != 0 {
            fail(setup, Stage::Chdir, 0);
        }
        libc::execve(
            setup.plan.program.as_ptr(),
            setup.plan.argv.as_ptr(),
            setup.plan.envp.as_ptr(),
        );
        fail(setup, Stage::Exec, 0)
    }
}

/// Gives up: writes the stage's prepared line and the error number to the log (a forked
/// child), or leaves them in the report (a child sharing svc.startd's memory), then exits
/// 96.
#[allow(unsafe_code)]
unsafe fn fail(setup: &ChildSetup<'_>, stage: Stage, index: usize) -> ! {
    // SAFETY: reads errno, writes to fd 2 (or the log) or stores one atomic word, and calls
    // _exit: all async-signal-safe.
    unsafe {
        let errno = *libc::__errno_location();
        match setup.failures {
            Some(failures) => {
                let fd = if stage == Stage::Stdio { setup.log } else { 2 };
                failures.write(fd, stage, index, errno);
            }
            None => setup.report.set(stage, index, errno),
        }
        libc::_exit(EXIT_CONFIG)
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

    /// A method whose command is `command` itself.
    fn method_raw(command: &str) -> MethodRun {
        let mut run = method("true");
        run.command = command.into();
        run.written = command.into();
        run
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

    /// Spawns `run`, whose child must fail its setup: it exits 96 and the log says why.
    fn child_fails(run: &MethodRun, message: &str) {
        let (dir, result) = start(run, None, None);
        let pid = result.unwrap();
        let status = waitpid(Pid::from_raw(pid as i32), None).unwrap();
        assert_eq!(
            status,
            nix::sys::wait::WaitStatus::Exited(Pid::from_raw(pid as i32), EXIT_CONFIG)
        );
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(log.contains(message), "{log}");
        assert!(log.trim_end().ends_with("). ]"), "{log}");
    }

    #[test]
    fn child_failures_name_their_stage_in_the_log() {
        // svc.startd enters the directory after changing user: root may enter this 0700
        // directory of root's, nobody may not.
        let private = tempfile::tempdir().unwrap();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o700);
        std::fs::set_permissions(private.path(), mode).unwrap();
        let mut run = method("true");
        run.context.credential = as_user("nobody");
        run.context.working_directory = Some(private.path().display().to_string());
        let path = private.path().display();
        child_fails(
            &run,
            &format!(
                "Method \"start\" could not be started: working directory \"{path}\" (errno {})",
                libc::EACCES
            ),
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
        child_fails(
            &run,
            &format!(
                "could not set limit_nofile to {too_many} (errno {})",
                libc::EPERM
            ),
        );
    }

    #[test]
    fn plain_commands_are_executed_without_a_shell() {
        assert_eq!(
            direct("/bin/sleep 10", DEFAULT_PATH),
            Some(("/bin/sleep".into(), vec!["/bin/sleep".into(), "10".into()]))
        );
        let (program, words) = direct("sleep 1", DEFAULT_PATH).unwrap();
        assert!(program.ends_with("/sleep") && words == ["sleep", "1"]);
        for shell in [
            "sleep 1; echo hi",
            "echo $HOME",
            "echo 'quoted'",
            "ls *",
            "FOO=bar sleep 1",
            "/nonexistent/program",
            "no-such-program-smf 1",
        ] {
            assert_eq!(direct(shell, DEFAULT_PATH), None, "{shell}");
        }
        // Both ways, $0 is what was written and the program runs with its arguments.
        let (log, _) = output(&method_raw("/bin/echo direct"), None);
        assert_eq!(log, "direct\n");
        let (log, _) = output(&method_raw("echo $SMF_METHOD"), None);
        assert_eq!(log, "start\n");
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
