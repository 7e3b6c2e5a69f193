//! The man pages and shell completions build (`smf-docgen`, the README's documented
//! command), say what the tools do, and the bash ones are valid bash.

use std::process::Command;

#[test]
fn man_pages_and_completions_are_generated_for_every_tool() {
    let out = tempfile::tempdir().expect("tempdir");
    let output = Command::new(smf_tests::binary("smf-docgen"))
        .arg(out.path())
        .output()
        .expect("smf-docgen runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (tool, section, option) in [("svcs", "1", "explain"), ("svcadm", "8", "enable")] {
        let page = std::fs::read_to_string(
            out.path()
                .join(format!("man/man{section}/{tool}.{section}")),
        )
        .expect("man page written");
        assert!(
            page.contains(&format!(".TH {tool} {section}")),
            "{tool}: {page}"
        );
        assert!(page.contains(option), "{tool}'s page lacks {option}");
        for file in [
            format!("bash/{tool}"),
            format!("zsh/_{tool}"),
            format!("fish/{tool}.fish"),
        ] {
            let script = std::fs::read_to_string(out.path().join("completions").join(&file))
                .expect("completion written");
            assert!(script.contains(tool), "{file}");
        }
        let bash = Command::new("bash")
            .arg("-n")
            .arg(out.path().join("completions/bash").join(tool))
            .output()
            .expect("bash runs");
        assert!(
            bash.status.success(),
            "{tool}'s bash completion: {}",
            String::from_utf8_lossy(&bash.stderr)
        );
    }
}

#[test]
fn the_readmes_example_manifest_is_valid() {
    let readme =
        std::fs::read_to_string(smf_tests::workspace().join("README.md")).expect("README.md");
    let start = readme
        .find("```xml\n")
        .expect("the README has an XML example")
        + 7;
    let end = start + readme[start..].find("```").expect("the example ends");
    let example = &readme.as_bytes()[start..end];
    let parsed = smf_core::manifest::parse("README.md", example);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    let bundle = parsed.bundle.expect("a bundle");
    assert_eq!(bundle.services[0].name, "site/myapp");
}
