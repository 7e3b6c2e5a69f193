//! `smf-docgen OUT_DIR`: writes the man pages (`OUT_DIR/man/man1/svcs.1`,
//! `OUT_DIR/man/man8/svcadm.8`, `OUT_DIR/man/man8/svccfg.8`) and the shell completions
//! (`OUT_DIR/completions/{bash,zsh,fish}/...`) of the command-line tools, from the same clap
//! definitions the tools parse their arguments with, so they cannot drift apart.
//!
//! ```sh
//! cargo run -p smf-docgen -- target/docs
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap_complete::Shell;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: smf-docgen OUT_DIR");
        return ExitCode::from(2);
    };
    match generate(&PathBuf::from(out)) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("smf-docgen: {error}");
            ExitCode::from(1)
        }
    }
}

/// The tools, with their man page sections (svcs is a user command, the others are for
/// administrators, as in illumos).
fn tools() -> Vec<(clap::Command, &'static str)> {
    vec![
        (svcs::command(), "1"),
        (svcadm::command(), "8"),
        (svccfg::command(), "8"),
    ]
}

fn generate(out: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let write = |path: PathBuf, bytes: &[u8], written: &mut Vec<PathBuf>| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("{}: {error}", parent.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|error| format!("{}: {error}", path.display()))?;
        written.push(path);
        Ok::<(), String>(())
    };
    for (command, section) in tools() {
        let name = command.get_name().to_string();
        let mut page = Vec::new();
        clap_mangen::Man::new(command.clone())
            .section(section)
            .manual("smf")
            .render(&mut page)
            .map_err(|error| format!("{name}: {error}"))?;
        write(
            out.join(format!("man/man{section}/{name}.{section}")),
            &page,
            &mut written,
        )?;
        for (shell, file) in [
            (Shell::Bash, format!("bash/{name}")),
            (Shell::Zsh, format!("zsh/_{name}")),
            (Shell::Fish, format!("fish/{name}.fish")),
        ] {
            let mut script = Vec::new();
            let mut command = command.clone();
            clap_complete::generate(shell, &mut command, name.clone(), &mut script);
            write(out.join("completions").join(file), &script, &mut written)?;
        }
    }
    Ok(written)
}
