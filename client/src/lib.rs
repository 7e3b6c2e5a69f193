//! What the command-line tools (`svcs`, `svcadm`, `svccfg`) share, and the one fact
//! svc.startd shares with them: where a root is (DESIGN.md §4).
//!
//! - [`resolve_root`]: `--root DIR`, else `$SMF_ROOT`, else `/var/svc` for uid 0 and
//!   `$XDG_STATE_HOME/smf` (fallback `~/.local/state/smf`) for everyone else.
//! - [`Client`]: one connection to `ROOT/run/startd.sock`, speaking
//!   [`smf_core::protocol`] (one JSON line each way per request).
//! - [`time`]: SMF's STIME and long date formats, in local time.

pub mod time;

/// Parses a tool's arguments with clap and runs it with stdout and stderr locked. Bad usage
/// prints clap's message and exits 2 (SMF's usage status); `--help` and `--version` exit 0.
pub fn run_tool<A: clap::Parser>(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    run: impl FnOnce(&A, &mut std::io::StdoutLock<'static>, &mut std::io::StderrLock<'static>) -> u8,
) -> std::process::ExitCode {
    let args = match A::try_parse_from(args) {
        Ok(args) => args,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::SUCCESS
            };
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    std::process::ExitCode::from(run(&args, &mut out, &mut err))
}

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use std::io::Write;

use smf_core::protocol::{self, ErrorKind, LineError, Request, Response};

/// The root: `explicit`, else `$SMF_ROOT`, else `/var/svc` for uid 0 and
/// `$XDG_STATE_HOME/smf` (fallback `~/.local/state/smf`) for everyone else. Made absolute.
pub fn resolve_root(explicit: Option<PathBuf>) -> PathBuf {
    let dir = explicit
        .or_else(|| {
            std::env::var_os("SMF_ROOT")
                .filter(|value| !value.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(default_root);
    std::path::absolute(&dir).unwrap_or(dir)
}

fn default_root() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/svc");
    }
    if let Some(state) = std::env::var_os("XDG_STATE_HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(state).join("smf");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/smf")
}

/// `ROOT/run/startd.sock`.
pub fn socket_path(root: &Path) -> PathBuf {
    root.join("run").join("startd.sock")
}

/// Why a request could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nobody listens on the socket.
    #[error("cannot reach svc.startd at {socket}: {error} (is svc.startd running on this root?)")]
    NotRunning {
        /// The socket tried.
        socket: PathBuf,
        /// What connect said.
        error: std::io::Error,
    },
    /// The connection broke or the answer made no sense.
    #[error("svc.startd at {socket}: {error}")]
    Broken {
        /// The socket.
        socket: PathBuf,
        /// What went wrong.
        error: LineError,
    },
}

/// A connection to svc.startd.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the daemon of `root`.
    pub fn connect(root: &Path) -> Result<Client, ClientError> {
        let socket = socket_path(root);
        let stream = UnixStream::connect(&socket).map_err(|error| ClientError::NotRunning {
            socket: socket.clone(),
            error,
        })?;
        let writer = stream
            .try_clone()
            .map_err(|error| ClientError::NotRunning {
                socket: socket.clone(),
                error,
            })?;
        Ok(Client {
            socket,
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends `request` and reads its response (waits as long as the daemon takes: a
    /// `Wait` lasts until the instances settle).
    pub fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        let broken = |error| ClientError::Broken {
            socket: self.socket.clone(),
            error,
        };
        protocol::write_line(&mut self.writer, request).map_err(|e| broken(LineError::Io(e)))?;
        protocol::read_line_limited(&mut self.reader, protocol::MAX_RESPONSE_LINE).map_err(broken)
    }
}

/// The exit status of a tool whose request failed (SMF's tools all use 1).
pub const FAILED: u8 = 1;

/// Sends `request` for `tool` and words what went wrong on `err`, as SMF's tools do: a
/// permission refusal once per name the user gave (`svcadm: NAME: Permission denied.`), any
/// other refusal line by line, a broken or missing daemon in one line. The error is the exit
/// status ([`FAILED`]).
pub fn ask(
    client: &mut Client,
    request: &Request,
    tool: &str,
    names: &[&str],
    err: &mut impl Write,
) -> Result<Response, u8> {
    match client.call(request) {
        Ok(Response::Error {
            kind: ErrorKind::PermissionDenied,
            ..
        }) if !names.is_empty() => {
            for name in names {
                let _ = writeln!(err, "{tool}: {name}: Permission denied.");
            }
            Err(FAILED)
        }
        Ok(Response::Error { message, .. }) => {
            for line in message.lines() {
                let _ = writeln!(err, "{tool}: {line}");
            }
            Err(FAILED)
        }
        Ok(response) => Ok(response),
        Err(error) => {
            let _ = writeln!(err, "{tool}: {error}");
            Err(FAILED)
        }
    }
}

/// Words an answer of the wrong kind (a daemon of another version) and returns [`FAILED`].
pub fn unexpected(tool: &str, response: &Response, err: &mut impl Write) -> u8 {
    let _ = writeln!(
        err,
        "{tool}: unexpected answer from svc.startd: {response:?}"
    );
    FAILED
}
