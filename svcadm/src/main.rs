//! svcadm: see the library's documentation.

fn main() -> std::process::ExitCode {
    svcadm::main(std::env::args_os())
}
