//! `smf-notify [READY=1] [STATUS=text]...`: tells svc.startd (through `$NOTIFY_SOCKET`) that
//! the service calling it is ready, or how it is doing: the sd_notify protocol from a shell
//! script, as `systemd-notify` does.

use std::os::unix::net::UnixDatagram;
use std::process::ExitCode;

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
    let message = assignments.join("\n");
    let sent = UnixDatagram::unbound().and_then(|socket| socket.send_to(message.as_bytes(), &path));
    match sent {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "smf-notify: {}: {error}",
                std::path::Path::new(&path).display()
            );
            ExitCode::from(1)
        }
    }
}
