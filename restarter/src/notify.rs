//! `$NOTIFY_SOCKET`: the sd_notify protocol. Services write datagrams such as
//! `READY=1\nSTATUS=Listening on :80\n` to `ROOT/run/notify.sock`; the kernel tells who sent
//! each one (`SO_PASSCRED`), and the engine thread attributes the sender to an instance.

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use crate::inbox::Sender;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};

/// One datagram, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The sender.
    pub pid: u32,
    /// `READY=1` was in it.
    pub ready: bool,
    /// `STATUS=...`, if given.
    pub status: Option<String>,
    /// Where the sender comes from, read as the datagram arrived.
    pub lineage: crate::contract::Lineage,
}

/// Parses a datagram's `KEY=VALUE` lines (unknown keys are ignored, as sd_notify's readers
/// do). `None` if nothing in it matters.
pub fn parse(pid: u32, datagram: &[u8]) -> Option<Notification> {
    let text = String::from_utf8_lossy(datagram);
    let mut notification = Notification {
        pid,
        ready: false,
        status: None,
        lineage: crate::contract::Lineage::default(),
    };
    for line in text.lines() {
        match line.split_once('=') {
            Some(("READY", "1")) => notification.ready = true,
            Some(("STATUS", status)) => {
                notification.status = Some(status.chars().take(512).collect())
            }
            _ => {}
        }
    }
    (notification.ready || notification.status.is_some()).then_some(notification)
}

/// Binds the socket (replacing a stale one) and starts the thread that reads it.
pub fn start(path: &Path, out: Sender<Notification>) -> std::io::Result<()> {
    // Services running as other users must be able to write to it.
    let socket = crate::root::bind_socket(path, |p| UnixDatagram::bind(p))?;
    setsockopt(&socket, sockopt::PassCred, &true).map_err(std::io::Error::from)?;
    std::thread::Builder::new()
        .name("notify".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let mut buffer = vec![0u8; 4096];
            loop {
                let mut control =
                    nix::cmsg_space!(nix::sys::socket::UnixCredentials, [std::os::fd::RawFd; 8]);
                let (length, pid, barrier) = {
                    let mut iov = [IoSliceMut::new(&mut buffer)];
                    let message = match recvmsg::<()>(
                        socket.as_raw_fd(),
                        &mut iov,
                        Some(&mut control),
                        MsgFlags::MSG_CMSG_CLOEXEC,
                    ) {
                        Ok(message) => message,
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(error) => {
                            eprintln!("svc.startd: notify socket: {error}");
                            return;
                        }
                    };
                    let mut pid = None;
                    let mut barrier = Vec::new();
                    if let Ok(cmsgs) = message.cmsgs() {
                        for cmsg in cmsgs {
                            match cmsg {
                                ControlMessageOwned::ScmCredentials(credentials) => {
                                    pid = u32::try_from(credentials.pid()).ok();
                                }
                                ControlMessageOwned::ScmRights(fds) => barrier.extend(fds),
                                _ => {}
                            }
                        }
                    }
                    (message.bytes, pid, barrier)
                };
                let (length, pid, barrier) = (length, pid, barrier);
                let notification = pid.and_then(|pid| {
                    let mut notification = parse(pid, &buffer[..length.min(buffer.len())])?;
                    // Read now: the sender (smf-notify) waits for the barrier descriptors
                    // to close, so it is alive while we look.
                    notification.lineage = crate::contract::Lineage::of(pid);
                    Some(notification)
                });
                close_all(barrier);
                if let Some(notification) = notification
                    && out.send(notification).is_err()
                {
                    return;
                }
            }
        })?;
    Ok(())
}

/// Closes descriptors passed with a datagram (a sender's barrier: it waits for them to
/// close to know its message was read).
#[allow(unsafe_code)]
fn close_all(fds: Vec<std::os::fd::RawFd>) {
    use std::os::fd::FromRawFd;
    for fd in fds {
        // SAFETY: the kernel just installed these descriptors in this process for us
        // (SCM_RIGHTS); nothing else knows them.
        drop(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_are_read_as_sd_notify_does() {
        let parsed = parse(7, b"STATUS=Listening on :80\nREADY=1\nMAINPID=7\n").expect("relevant");
        assert!(parsed.ready);
        assert_eq!(parsed.status.as_deref(), Some("Listening on :80"));
        assert_eq!(parse(7, b"WATCHDOG=1\n"), None);
        assert_eq!(parse(7, b"READY=0"), None);
        assert_eq!(parse(7, b"\xff\xfe"), None);
    }

    #[test]
    fn the_sender_is_known_by_its_credentials() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let (tx, rx) = crossbeam_channel::unbounded();
        let inbox = crate::inbox::Inbox::new().expect("inbox");
        start(&path, Sender::new(tx, &inbox)).expect("bind");
        let client = UnixDatagram::unbound().expect("socket");
        client.send_to(b"READY=1", &path).expect("send");
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a notification");
        assert_eq!(got.pid, std::process::id());
        assert!(got.ready);
    }
}
