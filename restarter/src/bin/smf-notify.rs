//! `smf-notify [READY=1] [STATUS=text]...`: tells svc.startd (through `$NOTIFY_SOCKET`) that
//! the service calling it is ready, or how it is doing: the sd_notify protocol from a shell
//! script, as `systemd-notify` does.
//!
//! The message carries the write end of a pipe, and smf-notify waits (at most 10 s) until
//! svc.startd closes it: by then svc.startd has looked up who sent the message, so the
//! sender exiting at once cannot make it anonymous.

use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::ExitCode;

use nix::sys::socket::{ControlMessage, MsgFlags, UnixAddr, sendmsg};

fn main() -> ExitCode {
    let assignments: Vec<String> = std::env::args().skip(1).collect();
    if assignments.is_empty() || assignments.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!(
            "usage: smf-notify READY=1 | STATUS=TEXT ...\nSends the assignments to $NOTIFY_SOCKET (set by svc.startd for services with startd/readiness=notify)."
        );
        return ExitCode::from(2);
    }
    if let Some(bad) = assignments.iter().find(|a| !a.contains('=')) {
        eprintln!("smf-notify: \"{bad}\" is not KEY=VALUE");
        return ExitCode::from(2);
    }
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        eprintln!(
            "smf-notify: NOTIFY_SOCKET is not set (is startd/readiness=notify set for this service?)"
        );
        return ExitCode::from(1);
    };
    let path = Path::new(&path);
    match send(&assignments.join("\n"), path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("smf-notify: {}: {error}", path.display());
            ExitCode::from(1)
        }
    }
}

/// Sends the message with a barrier descriptor and waits for svc.startd to close it.
fn send(message: &str, path: &Path) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let (barrier_read, barrier_write) = nix::unistd::pipe().map_err(std::io::Error::from)?;
    let address = UnixAddr::new(path).map_err(std::io::Error::from)?;
    let fds = [barrier_write.as_raw_fd()];
    let control = [ControlMessage::ScmRights(&fds)];
    let iov = [std::io::IoSlice::new(message.as_bytes())];
    sendmsg(
        socket.as_raw_fd(),
        &iov,
        &control,
        MsgFlags::empty(),
        Some(&address),
    )
    .map_err(std::io::Error::from)?;
    drop(barrier_write);
    let mut poll = [nix::poll::PollFd::new(
        barrier_read.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    // End of file once svc.startd has closed its copy; a timeout is not an error (an older
    // reader that ignores descriptors closes it when it drops the message anyway).
    let _ = nix::poll::poll(&mut poll, nix::poll::PollTimeout::from(10_000u16));
    Ok(())
}
