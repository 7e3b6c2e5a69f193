//! `smf-request [--root DIR] JSON`: sends one raw request to svc.startd's control socket and
//! prints the response line. For debugging and tests; svcs and svcadm are the real clients.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut root = None;
    let mut request = None;
    while let Some(arg) = args.next() {
        if arg == "--root" {
            root = args.next().map(PathBuf::from);
        } else {
            request = Some(arg);
        }
    }
    let Some(request) = request else {
        eprintln!("usage: smf-request [--root DIR] '{{\"request\":\"ping\"}}'");
        return ExitCode::from(2);
    };
    let root = smf_restarter::root::Root::resolve(root);
    let socket = root.socket();
    let mut stream = match UnixStream::connect(&socket) {
        Ok(stream) => stream,
        Err(error) => {
            eprintln!(
                "smf-request: {}: {error} (is svc.startd running on this root?)",
                socket.display()
            );
            return ExitCode::from(1);
        }
    };
    if let Err(error) = stream.write_all(format!("{}\n", request.trim_end()).as_bytes()) {
        eprintln!("smf-request: {error}");
        return ExitCode::from(1);
    }
    let mut line = String::new();
    match BufReader::new(stream).read_line(&mut line) {
        Ok(_) => {
            print!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("smf-request: {error}");
            ExitCode::from(1)
        }
    }
}
