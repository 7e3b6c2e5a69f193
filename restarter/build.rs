//! Link settings for svc.startd.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Relative relocations packed (DT_RELR): the dynamic loader reads them once at start,
    // but as plain RELA entries they are ~130 KB of the binary mapped for as long as
    // svc.startd runs. Only for a native Linux build whose linker knows the option
    // (binutils >= 2.38) and whose C library reads such binaries (glibc >= 2.36).
    let native = std::env::var("TARGET").ok() == std::env::var("HOST").ok();
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if native && linux && linker_packs_relocations() && glibc_reads_packed_relocations() {
        println!("cargo:rustc-link-arg-bin=svc-startd=-Wl,-z,pack-relative-relocs");
    }
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether the system's `ld` accepts `-z pack-relative-relocs`.
fn linker_packs_relocations() -> bool {
    output("ld", &["--help"]).contains("pack-relative-relocs")
}

/// Whether the C library is glibc 2.36 or later (`getconf GNU_LIBC_VERSION`: `glibc 2.36`).
fn glibc_reads_packed_relocations() -> bool {
    let version = output("getconf", &["GNU_LIBC_VERSION"]);
    let Some(number) = version.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = number
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (2, 36)
}
