//! svccfg: see the library's documentation.

fn main() -> std::process::ExitCode {
    svccfg::main(std::env::args_os())
}
