//! The corpus test: ~950 real manifests and profiles written by others must parse and validate,
//! build templates must parse, and every broken file must be rejected at a position.
//! ../shared/corpus/README.md says what each folder must do; the counts asserted here are the
//! ones read at run time, so adding files to the corpus never needs this test edited.

#![allow(clippy::unwrap_used)]

mod support;

use smf_core::manifest::{self, BundleKind};
use support::{corpus, files_under};

struct Tally {
    files: usize,
    manifests: usize,
    profiles: usize,
    services: usize,
    instances: usize,
    warnings: usize,
    failures: Vec<String>,
}

#[test]
fn corpus_manifests_parse_and_validate() {
    let Some(corpus) = corpus() else {
        println!("skipped: no corpus at ../shared/corpus (set SMF_CORPUS to point at one)");
        return;
    };
    let mut files = Vec::new();
    files_under(&corpus.join("smf-manifests"), &mut files);
    let (xml, other): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|path| path.extension().is_some_and(|extension| extension == "xml"));

    let mut tally = Tally {
        files: 0,
        manifests: 0,
        profiles: 0,
        services: 0,
        instances: 0,
        warnings: 0,
        failures: Vec::new(),
    };
    for path in &xml {
        let name = path.strip_prefix(&corpus).unwrap().display().to_string();
        let parsed = manifest::parse(&name, &std::fs::read(path).unwrap());
        tally.files += 1;
        tally.warnings += parsed.diagnostics.len() - parsed.errors().count();
        match &parsed.bundle {
            Some(bundle) if !parsed.has_errors() => {
                match bundle.kind {
                    BundleKind::Profile => tally.profiles += 1,
                    _ => tally.manifests += 1,
                }
                tally.services += bundle.services.len();
                tally.instances += bundle
                    .services
                    .iter()
                    .map(|service| service.effective_instances().len())
                    .sum::<usize>();
            }
            _ => tally
                .failures
                .extend(parsed.errors().map(ToString::to_string)),
        }
    }
    println!(
        "corpus: {} .xml files ({} manifests, {} profiles), {} services, {} instances, {} warnings",
        tally.files,
        tally.manifests,
        tally.profiles,
        tally.services,
        tally.instances,
        tally.warnings
    );
    assert!(
        tally.failures.is_empty(),
        "{} corpus files did not validate:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    // The corpus README promises about 950 files from 58 sources; fewer means the walk broke.
    assert!(tally.files >= 900, "read only {} .xml files", tally.files);
    assert_eq!(tally.files, xml.len());
    assert_eq!(tally.manifests + tally.profiles, tally.files);

    // Build templates (`*.xml.in`, `*.smf.in`, `*.stub`): placeholders may fail validation, but
    // the XML must be well-formed.
    let templates: Vec<_> = other
        .iter()
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.ends_with(".in") || name.ends_with(".stub")
        })
        .collect();
    let mut template_failures = Vec::new();
    for path in &templates {
        let name = path.strip_prefix(&corpus).unwrap().display().to_string();
        let parsed = manifest::parse(&name, &std::fs::read(path).unwrap());
        if parsed.bundle.is_none() {
            template_failures.extend(parsed.errors().map(ToString::to_string));
        }
    }
    println!("corpus: {} build templates parsed", templates.len());
    assert!(
        template_failures.is_empty(),
        "{}",
        template_failures.join("\n")
    );
    assert!(!templates.is_empty());
}

#[test]
fn corpus_broken_files_are_rejected_with_a_position() {
    let Some(corpus) = corpus() else {
        println!("skipped: no corpus at ../shared/corpus (set SMF_CORPUS to point at one)");
        return;
    };
    let mut files = Vec::new();
    files_under(&corpus.join("smf-broken"), &mut files);
    for path in &files {
        let name = path.strip_prefix(&corpus).unwrap().display().to_string();
        let parsed = manifest::parse(&name, &std::fs::read(path).unwrap());
        let first = parsed.errors().next();
        assert!(first.is_some(), "{name} was accepted");
        let span = &first.unwrap().span;
        assert!(span.line > 0 && span.column > 0, "{name}: no position");
        println!("{}", first.unwrap());
    }
    println!("corpus: {} broken files rejected", files.len());
    assert!(!files.is_empty());
}

/// Every real manifest (and profile) of the corpus imported into one engine, each service
/// run by the simulated world: the engine must settle (no hot loop, nothing left in
/// flight), and every instance that is not running must be explained in words.
#[test]
fn corpus_manifests_run_in_the_engine() {
    use smf_core::engine::Event;
    use smf_core::explain::explain;
    use smf_core::sim::World;
    use smf_core::state::State;
    use std::collections::BTreeMap;

    let Some(corpus) = corpus() else {
        println!("skipped: no corpus at ../shared/corpus (set SMF_CORPUS to point at one)");
        return;
    };
    let mut files = Vec::new();
    files_under(&corpus.join("smf-manifests"), &mut files);
    // As svc.startd does at start: every manifest in one import (a later service of the same
    // name replaces an earlier one), then the profiles.
    let mut world = World::new();
    let mut bundles = 0;
    let (mut manifests, mut profiles) = (Vec::new(), Vec::new());
    for path in files
        .iter()
        .filter(|path| path.extension().is_some_and(|extension| extension == "xml"))
    {
        let bytes = std::fs::read(path).unwrap();
        let parsed = manifest::parse(&path.display().to_string(), &bytes);
        let Some(bundle) = parsed.bundle else {
            continue;
        };
        bundles += 1;
        match bundle.kind {
            BundleKind::Profile => profiles.extend(bundle.services),
            _ => manifests.extend(bundle.services),
        }
    }
    world.send(Event::Imported {
        kind: BundleKind::Manifest,
        services: manifests,
    });
    world.send(Event::Imported {
        kind: BundleKind::Profile,
        services: profiles,
    });
    assert!(world.run_steps(2_000_000), "the corpus did not settle");
    let engine = world.engine();
    assert!(engine.is_settled(), "something is still in flight");

    let mut states: BTreeMap<State, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for status in engine.statuses() {
        *states.entry(status.state).or_default() += 1;
        if status.state.is_running() {
            continue;
        }
        let explanation = explain(engine, &status.fmri).unwrap();
        if explanation.reasons.is_empty() || explanation.reasons.iter().any(|r| r == "Unknown.") {
            unexplained.push(format!(
                "{} ({}): {:?}",
                status.fmri, status.state, explanation.reasons
            ));
        }
    }
    println!("{bundles} bundles imported; final states: {states:?}");
    for status in engine.statuses() {
        if status.state == State::Maintenance {
            let explanation = explain(engine, &status.fmri).unwrap();
            println!("maintenance: {} {:?}", status.fmri, explanation.reasons);
        }
    }
    assert!(
        unexplained.is_empty(),
        "unexplained:\n{}",
        unexplained.join("\n")
    );
    assert!(
        states.get(&State::Online).copied().unwrap_or(0) > 0,
        "{states:?}"
    );
    // Nothing enabled is left waiting on dependencies that are already satisfied.
    for status in engine.statuses() {
        if status.state == State::Offline && status.enabled {
            let (now, _) = engine.satisfaction(&status.fmri).unwrap();
            assert_ne!(
                now,
                smf_core::graph::Satisfaction::Satisfied,
                "{} should have started",
                status.fmri
            );
        }
    }
}
