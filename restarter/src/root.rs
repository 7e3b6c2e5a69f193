//! The root directory that holds everything of one svc.startd (DESIGN.md §4), and the lock
//! that keeps it to one daemon.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// `ROOT/...` paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// `--root DIR`, else `$SMF_ROOT`, else `/var/svc` for uid 0 and `$XDG_STATE_HOME/smf`
    /// (fallback `~/.local/state/smf`) for everyone else.
    pub fn resolve(explicit: Option<PathBuf>) -> Root {
        // Relative roots are made absolute so the socket path and logs are stable. The
        // rule lives in smf-client, so the daemon and its clients cannot disagree.
        Root {
            dir: smf_client::resolve_root(explicit),
        }
    }

    /// The root itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `ROOT/manifest`: imported when svc.startd starts.
    pub fn manifests(&self) -> PathBuf {
        self.dir.join("manifest")
    }

    /// `ROOT/repository.db`.
    pub fn repository(&self) -> PathBuf {
        self.dir.join("repository.db")
    }

    /// `ROOT/log`.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// `ROOT/run`.
    pub fn run(&self) -> PathBuf {
        self.dir.join("run")
    }

    /// `ROOT/run/startd.sock`: the control socket.
    pub fn socket(&self) -> PathBuf {
        smf_client::socket_path(&self.dir)
    }

    /// `ROOT/run/startd.lock`.
    pub fn lock(&self) -> PathBuf {
        self.run().join("startd.lock")
    }

    /// `ROOT/run/notify.sock`: where services write `READY=1`.
    pub fn notify_socket(&self) -> PathBuf {
        self.run().join("notify.sock")
    }

    /// Creates the directories svc.startd writes to.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [self.dir.clone(), self.manifests(), self.logs(), self.run()] {
            std::fs::create_dir_all(&dir).map_err(|error| annotate(&dir, error))?;
        }
        Ok(())
    }
}

/// Removes a stale socket file at `path` (the caller holds the root's lock, so no live
/// daemon owns it), calls `bind`, and lets every user connect (each request is checked on
/// its own).
pub fn bind_socket<S>(
    path: &Path,
    bind: impl FnOnce(&Path) -> std::io::Result<S>,
) -> std::io::Result<S> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(annotate(path, error)),
    }
    let socket = bind(path).map_err(|error| annotate(path, error))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
        .map_err(|error| annotate(path, error))?;
    Ok(socket)
}

/// An I/O error with the path it concerns.
pub fn annotate(path: &Path, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

/// Holding it means this process is the root's only svc.startd. Released when dropped or
/// when the process dies (flock), so a killed daemon never leaves a stale lock.
#[derive(Debug)]
pub struct Lock {
    _file: Flock<File>,
}

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another daemon holds it.
    #[error("{root}: svc.startd is already running with pid {pid}")]
    Held {
        /// The root.
        root: String,
        /// The holder's pid as it wrote it (`unknown` if unreadable).
        pid: String,
    },
    /// The lock file could not be opened or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Lock {
    /// Takes the root's lock, without waiting, and writes our pid into it.
    pub fn take(root: &Root) -> Result<Lock, LockError> {
        let path = root.lock();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|error| annotate(&path, error))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(file) => file,
            Err((mut file, _)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Held {
                    root: root.dir().display().to_string(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                });
            }
        };
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}", std::process::id())?;
            file.flush()
        };
        write(&mut file).map_err(|error| annotate(&path, error))?;
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_root_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::resolve(Some(dir.path().to_path_buf()));
        root.create().expect("create");
        let held = Lock::take(&root).expect("first lock");
        match Lock::take(&root) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(held);
        Lock::take(&root).expect("free again once dropped");
    }

    #[test]
    fn relative_roots_become_absolute() {
        let root = Root::resolve(Some(PathBuf::from("demo-root")));
        assert!(root.dir().is_absolute());
        assert!(root.socket().ends_with("demo-root/run/startd.sock"));
    }
}
