//! Snapshots of what the parser makes of real files: every manifest smf ships, a dozen of the
//! hardest real-world manifests from the corpus, and broken files with their exact errors.
//!
//! Models are YAML snapshots (what a reviewer reads when the model changes); errors are text
//! snapshots of `svccfg validate`'s lines, positions included.

#![allow(clippy::unwrap_used)]

use std::path::Path;

mod support;

use smf_core::manifest;
use support::{corpus, workspace};

/// Parses `path`, naming it by `name` in diagnostics so snapshots do not depend on where the
/// checkout lives.
fn parse(path: &Path, name: &str) -> manifest::Parsed {
    let bytes = std::fs::read(path).unwrap();
    manifest::parse(name, &bytes)
}

fn diagnostics_text(parsed: &manifest::Parsed) -> String {
    parsed
        .diagnostics
        .iter()
        .map(|diagnostic| format!("{diagnostic}\n"))
        .collect()
}

#[test]
fn shipped_manifests() {
    let root = workspace().join("manifests").canonicalize().unwrap();
    insta::glob!(&root, "**/*.xml", |path| {
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        let parsed = parse(path, &name);
        assert!(
            parsed.is_valid(),
            "shipped manifest {name} is invalid:\n{}",
            diagnostics_text(&parsed)
        );
        insta::assert_yaml_snapshot!(parsed);
    });
}

/// The hardest real manifests we know: most property groups, most instances, templates with
/// property patterns, profiles, CRLF line ends, non-ASCII text, extreme timeouts.
const CHOSEN: &[(&str, &str)] = &[
    (
        "most_property_groups",
        "ec-userland/components/quagga/files/quagga-smf.xml",
    ),
    (
        "auto_snapshot_instances",
        "time-slider/lib/svc/manifest/system/filesystem/auto-snapshot.xml",
    ),
    (
        "isc_dhcp_instances",
        "omnios-build/build/isc-dhcp/files/isc-dhcp.xml",
    ),
    (
        "restarter_templates",
        "illumos-joyent/usr/src/cmd/svc/milestone/restarter.xml",
    ),
    (
        "global_pg_patterns",
        "illumos-joyent/usr/src/cmd/svc/milestone/global.xml",
    ),
    (
        "inetd_non_ascii",
        "illumos-joyent/usr/src/cmd/cmd-inet/usr.lib/inetd/inetd.xml",
    ),
    (
        "openldap_templates",
        "solaris-userland/components/openldap/Solaris/ldap-olslapd.xml",
    ),
    (
        "openssh",
        "solaris-userland/components/openssh/sources/ssh.xml",
    ),
    (
        "profile_generic_limited_net",
        "illumos-joyent/usr/src/cmd/svc/profile/generic_limited_net.xml",
    ),
    (
        "nfslogd_crlf",
        "illumos-joyent/usr/src/cmd/fs.d/nfs/svc/nfslogd.xml",
    ),
    (
        "timeout_u64_max",
        "pkgsrc-joyent/percona57-cluster/files/smf/manifest.xml",
    ),
    (
        "timeout_minus_one",
        "tribblix-build/patches/minidlna/minidlna.xml",
    ),
    ("oxide_transient", "omicron/smf/chrony-setup/manifest.xml"),
];

#[test]
fn chosen_corpus_manifests() {
    let Some(corpus) = corpus() else {
        println!("skipped: no corpus at ../shared/corpus (set SMF_CORPUS to point at one)");
        return;
    };
    for (snapshot, file) in CHOSEN {
        let parsed = parse(&corpus.join("smf-manifests").join(file), file);
        assert!(
            parsed.is_valid(),
            "{file} is invalid:\n{}",
            diagnostics_text(&parsed)
        );
        insta::assert_yaml_snapshot!(*snapshot, parsed);
    }
}

#[test]
fn broken_manifests_report_exact_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/broken");
    insta::glob!(&root, "*.xml", |path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let parsed = parse(path, &name);
        assert!(parsed.has_errors(), "{name} was accepted");
        insta::assert_snapshot!(diagnostics_text(&parsed));
    });
}

#[test]
fn corpus_facts() {
    let Some(corpus) = corpus() else {
        println!("skipped: no corpus at ../shared/corpus (set SMF_CORPUS to point at one)");
        return;
    };
    let manifests = corpus.join("smf-manifests");
    let bundle = |file: &str| {
        let parsed = parse(&manifests.join(file), file);
        assert!(parsed.is_valid(), "{}", diagnostics_text(&parsed));
        parsed.bundle.unwrap()
    };

    // timeout_seconds of u64::MAX and -1 both mean "no limit".
    let percona = bundle("pkgsrc-joyent/percona57-cluster/files/smf/manifest.xml");
    let timeouts: Vec<_> = percona.services[0]
        .effective_instances()
        .iter()
        .flat_map(|instance| instance.settings.exec_methods.clone())
        .map(|method| method.timeout)
        .collect();
    assert!(
        timeouts.contains(&manifest::Timeout::Infinite),
        "{timeouts:?}"
    );

    // CRLF line ends: positions still count lines.
    let crlf = std::fs::read(manifests.join("illumos-joyent/usr/src/cmd/fs.d/nfs/svc/nfslogd.xml"))
        .unwrap();
    assert!(crlf.windows(2).any(|pair| pair == b"\r\n"));

    // A profile with 95 services.
    let generic = bundle("illumos-joyent/usr/src/cmd/svc/profile/generic.xml");
    assert_eq!(generic.kind, manifest::BundleKind::Profile);
    assert_eq!(generic.services.len(), 95);

    // Non-ASCII UTF-8 without an encoding declaration survives into the model.
    let inetd = bundle("illumos-joyent/usr/src/cmd/cmd-inet/usr.lib/inetd/inetd.xml");
    let text = serde_json::to_string(&inetd).unwrap();
    assert!(!text.is_ascii());
}
