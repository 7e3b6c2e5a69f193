//! `svccfg validate`: output lines, exit codes and JSON, on shipped, corpus and broken files.

use smf_tests::{corpus, run, workspace};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn shipped_manifests_are_valid_without_warnings() {
    let mut files = Vec::new();
    for folder in [
        "manifests/demo",
        "manifests/milestone",
        "manifests/network",
        "manifests/system",
    ] {
        let before = files.len();
        files.extend(
            std::fs::read_dir(workspace().join(folder))
                .expect("the shipped manifest folders exist")
                .map(|entry| entry.expect("readable directory").path())
                .filter(|path| path.extension().is_some_and(|extension| extension == "xml")),
        );
        assert!(files.len() > before, "{folder} has no manifests");
    }
    let mut args = vec!["validate".into()];
    args.extend(files.iter().map(|path| path.clone().into_os_string()));
    let output = run("svccfg", &args);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    // What smf ships sets the example: not even a warning.
    assert_eq!(stdout(&output), "");
}

#[test]
fn broken_manifest_prints_file_line_column_and_exits_one() {
    let output = run(
        "svccfg",
        ["validate", "core/tests/data/broken/bad_grouping.xml"],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let first = text.lines().next().expect("one line per problem");
    assert!(
        first.starts_with("core/tests/data/broken/bad_grouping.xml:6:28: error: service[name=network/dhcp]/dependency[name=net]: invalid value \"require_most\" for attribute 'grouping'"),
        "{text}"
    );
}

#[test]
fn one_bad_file_among_good_ones_fails_the_run_but_reports_all() {
    let output = run(
        "svccfg",
        [
            "validate",
            "manifests/demo/network.xml",
            "core/tests/data/broken/empty.xml",
            "core/tests/data/broken/unclosed_tag.xml",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("empty.xml:1:1: error: file is empty"),
        "{text}"
    );
    assert!(text.contains("unclosed_tag.xml:"), "{text}");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let output = run("svccfg", ["validate", "no/such/manifest.xml"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.starts_with("no/such/manifest.xml: error: cannot read the file:"),
        "{text}"
    );
}

#[test]
fn json_output_carries_the_same_diagnostics() {
    let output = run(
        "svccfg",
        [
            "validate",
            "--json",
            "core/tests/data/broken/semantic.xml",
            "manifests/demo/network.xml",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let reports: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("--json prints JSON");
    let reports = reports.as_array().expect("one report per file");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["valid"], false);
    assert_eq!(reports[1]["valid"], true);
    let first = &reports[0]["diagnostics"][0];
    assert_eq!(first["file"], "core/tests/data/broken/semantic.xml");
    assert!(first["line"].as_u64().is_some_and(|line| line > 0));
    assert!(first["column"].as_u64().is_some_and(|column| column > 0));
    assert!(matches!(
        first["severity"].as_str(),
        Some("error" | "warning")
    ));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(run("svccfg", ["validate"]).status.code(), Some(2));
    assert_eq!(run("svccfg", ["frobnicate"]).status.code(), Some(2));
}

#[test]
fn whole_corpus_validates_in_one_run() {
    let Some(corpus) = corpus() else {
        println!("skipped: no corpus at ../shared/corpus (set SMF_CORPUS to point at one)");
        return;
    };
    let mut files = Vec::new();
    let mut pending = vec![corpus.join("smf-manifests")];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("readable corpus") {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "xml") {
                files.push(path);
            }
        }
    }
    let mut args = vec![std::ffi::OsString::from("validate")];
    args.extend(files.iter().map(|path| path.clone().into_os_string()));
    let output = run("svccfg", &args);
    let text = stdout(&output);
    let errors: Vec<_> = text
        .lines()
        .filter(|line| line.contains(": error:"))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(output.status.code(), Some(0));
    println!("svccfg validated {} corpus files", files.len());
    assert!(files.len() >= 900);
}
