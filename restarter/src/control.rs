//! `ROOT/run/startd.sock`: the control socket (DESIGN.md §5). One thread accepts; each
//! client gets a thread that reads its requests (JSON lines, `smf_core::protocol`), checks
//! the peer's uid (`SO_PEERCRED`) and hands each request to the engine thread, then writes
//! the answer. A client that sends garbage, too much, or half a line and nothing more only
//! ever occupies its own thread, for at most [`IDLE_TIMEOUT`].

use std::io::BufReader;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::Duration;

use crossbeam_channel::{Sender, bounded};

use crate::inbox;
use nix::sys::socket::{getsockopt, sockopt};
use smf_core::protocol::{self, ErrorKind, LineError, Request, Response};

/// How long a client may stay silent mid-conversation.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many clients are served at once; more wait in the listen queue.
pub const MAX_CLIENTS: usize = 256;

/// A request for the engine thread, with where to send the answer.
#[derive(Debug)]
pub struct Call {
    /// The request.
    pub request: Request,
    /// The answer goes here.
    pub reply: Sender<Response>,
}

/// Who may change state: root and svc.startd's own uid.
pub fn may_change_state(peer_uid: u32) -> bool {
    peer_uid == 0 || peer_uid == nix::unistd::geteuid().as_raw()
}

/// Binds the socket (replacing a stale one: the caller holds the root's lock) and starts the
/// accepting thread.
pub fn start(path: &Path, calls: inbox::Sender<Call>) -> std::io::Result<()> {
    // Anyone may connect (reading is open to all); changes are checked per request.
    let listener = crate::root::bind_socket(path, |p| UnixListener::bind(p))?;
    let clients = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("control".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else {
                    continue;
                };
                if clients.load(std::sync::atomic::Ordering::Relaxed) >= MAX_CLIENTS {
                    let mut stream = stream;
                    let _ = protocol::write_line(
                        &mut stream,
                        &Response::error(ErrorKind::Failed, "too many clients; try again"),
                    );
                    continue;
                }
                let calls = calls.clone();
                let counter = std::sync::Arc::clone(&clients);
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let spawned = std::thread::Builder::new()
                    .name("client".into())
                    .stack_size(256 * 1024)
                    .spawn(move || {
                        serve(stream, &calls);
                        counter.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    clients.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })?;
    Ok(())
}

/// Serves one client until it hangs up, stays silent too long, or sends a line that cannot
/// be resynchronised (too long).
fn serve(stream: UnixStream, calls: &inbox::Sender<Call>) {
    let peer_uid = match getsockopt(&stream, sockopt::PeerCredentials) {
        Ok(credentials) => credentials.uid(),
        Err(_) => return,
    };
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IDLE_TIMEOUT));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let response = match protocol::read_line::<Request>(&mut reader) {
            Ok(request) => {
                if request.changes_state() && !may_change_state(peer_uid) {
                    Response::error(
                        ErrorKind::PermissionDenied,
                        format!(
                            "permission denied: uid {peer_uid} may read but not change state \
                             (only root and uid {} may)",
                            nix::unistd::geteuid().as_raw()
                        ),
                    )
                } else {
                    let (reply, answer) = bounded(1);
                    if calls.send(Call { request, reply }).is_err() {
                        return;
                    }
                    match answer.recv() {
                        Ok(response) => response,
                        Err(_) => Response::error(ErrorKind::Failed, "svc.startd is shutting down"),
                    }
                }
            }
            Err(LineError::Closed) => return,
            Err(LineError::Io(_)) => return,
            Err(LineError::TooLong(_)) => {
                let _ = protocol::write_line(
                    &mut writer,
                    &Response::error(
                        ErrorKind::BadRequest,
                        format!("request longer than {} bytes", protocol::MAX_LINE),
                    ),
                );
                return;
            }
            Err(LineError::Malformed(why)) => {
                Response::error(ErrorKind::BadRequest, format!("malformed request: {why}"))
            }
        };
        if protocol::write_line(&mut writer, &response).is_err() {
            return;
        }
    }
}
