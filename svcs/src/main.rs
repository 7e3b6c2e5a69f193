//! svcs: see the library's documentation.

fn main() -> std::process::ExitCode {
    svcs::main(std::env::args_os())
}
