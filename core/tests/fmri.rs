//! Properties of `smf_core::fmri` over generated input: parsing never panics, printing and
//! parsing agree, every instance answers to its own abbreviations, and matching never invents
//! an FMRI. The hand-picked cases live in the unit tests at the bottom of `core/src/fmri/`.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use smf_core::fmri::{self, Fmri, FmriKind};

/// `[A-Za-z][A-Za-z0-9_-]*`: an identifier as libuutil's `is_valid_ident()` accepts it.
fn identifier() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,8}"
}

/// `[provider,]identifier`, the provider sometimes present and allowed to contain '.'.
fn name() -> impl Strategy<Value = String> {
    (
        prop::option::weighted(0.2, "[A-Za-z][A-Za-z0-9._-]{0,6}"),
        identifier(),
    )
        .prop_map(|(provider, identifier)| match provider {
            Some(provider) => format!("{provider},{identifier}"),
            None => identifier,
        })
}

fn service_name() -> impl Strategy<Value = String> {
    prop::collection::vec(name(), 1..4).prop_map(|components| components.join("/"))
}

fn instance_fmri() -> impl Strategy<Value = Fmri> {
    (service_name(), name()).prop_map(|(service, instance)| {
        Fmri::instance(&service, &instance).expect("generated names are valid")
    })
}

/// A valid FMRI written in one of the forms libscf accepts, with its canonical form.
fn written_fmri() -> impl Strategy<Value = (String, String)> {
    let svc = (
        prop::sample::select(vec![
            "svc:/",
            "svc://localhost/",
            "svc:///",
            "",
            "/",
            "svc:",
        ]),
        service_name(),
        prop::option::of(name()),
        prop::option::weighted(0.2, (name(), prop::option::of(name()))),
    )
        .prop_map(|(prefix, service, instance, properties)| {
            let mut tail = service;
            if let Some(instance) = instance {
                tail = format!("{tail}:{instance}");
            }
            if let Some((group, property)) = properties {
                tail = format!("{tail}/:properties/{group}");
                if let Some(property) = property {
                    tail = format!("{tail}/{property}");
                }
            }
            (format!("{prefix}{tail}"), format!("svc:/{tail}"))
        });
    let path = "(/[A-Za-z0-9_.-]{1,10}){1,4}";
    let legacy = path.prop_map(|path| (format!("lrc:{path}"), format!("lrc:{path}")));
    let file = (
        prop::sample::select(vec!["file://localhost", "file://", "file://host", "file:"]),
        path,
    )
        .prop_map(|(prefix, path)| (format!("{prefix}{path}"), format!("file://localhost{path}")));
    prop_oneof![4 => svc, 1 => legacy, 1 => file]
}

/// Strings close to FMRIs and patterns: schemes, separators, glob characters and junk.
fn fmri_like() -> impl Strategy<Value = String> {
    "(svc:|lrc:|file:|)/{0,3}[a-zA-Z0-9:/,._*?!^@\\[\\] \u{e9}-]{0,40}"
}

fn known_instances() -> impl Strategy<Value = Vec<Fmri>> {
    prop::collection::vec(instance_fmri(), 0..8)
}

/// Patterns likely to hit something in `known`: pieces of its FMRIs, with and without globs.
fn pattern_for(known: &[Fmri]) -> BoxedStrategy<String> {
    let texts: Vec<String> = known.iter().map(ToString::to_string).collect();
    if texts.is_empty() {
        return fmri_like().boxed();
    }
    let piece = (
        prop::sample::select(texts),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(text, start, len)| {
            let chars: Vec<char> = text.chars().collect();
            let start = start.index(chars.len());
            let len = len.index(chars.len() - start) + 1;
            chars[start..start + len].iter().collect::<String>()
        });
    prop_oneof![
        piece.clone(),
        piece.clone().prop_map(|piece| format!("*{piece}*")),
        piece.prop_map(|piece| format!("{piece}?")),
        fmri_like(),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_and_validating_never_panic(input in any::<String>(), near in fmri_like()) {
        for text in [&input, &near] {
            let _ = Fmri::parse(text);
            let _ = fmri::validate_service_name(text);
            let _ = fmri::validate_instance_name(text);
            let _ = fmri::validate_property_group_name(text);
            let _ = fmri::validate_property_name(text);
        }
    }

    #[test]
    fn matching_never_panics(known in known_instances(), input in any::<String>(), near in fmri_like()) {
        for text in [&input, &near] {
            let _ = fmri::resolve(text, &known);
            let _ = fmri::resolve_one(text, &known);
            let _ = fmri::walk_for_action(&[text.as_str(), "*"], &known);
        }
    }

    #[test]
    fn display_then_parse_round_trips((written, canonical) in written_fmri()) {
        let parsed = Fmri::parse(&written).unwrap();
        let printed = parsed.to_string();
        prop_assert_eq!(&printed, &canonical);
        let reparsed = Fmri::parse(&printed).unwrap();
        prop_assert_eq!(&reparsed, &parsed);
        prop_assert_eq!(reparsed.kind(), parsed.kind());
        let json = serde_json::to_string(&parsed).unwrap();
        prop_assert_eq!(serde_json::from_str::<Fmri>(&json).unwrap(), parsed);
    }

    #[test]
    fn instance_accessors_rebuild_the_fmri(fmri in instance_fmri()) {
        prop_assert_eq!(fmri.kind(), FmriKind::Instance);
        let service = fmri.service_name().unwrap();
        let instance = fmri.instance_name().unwrap();
        prop_assert_eq!(&Fmri::instance(service, instance).unwrap(), &fmri);
        prop_assert_eq!(fmri.service_fmri().unwrap().to_string(), format!("svc:/{service}"));
        match fmri.category() {
            Some(category) => {
                let prefix = format!("{category}/");
                prop_assert!(service.starts_with(&prefix));
            }
            None => prop_assert!(!service.contains('/')),
        }
    }

    #[test]
    fn an_instance_answers_to_its_own_abbreviations(fmri in instance_fmri(), others in known_instances()) {
        let service = fmri.service_name().unwrap().to_owned();
        let instance = fmri.instance_name().unwrap().to_owned();
        // A bare name that is also an existing service is an EXACT pattern for that service
        // (svcs.1), so it would rightly select only that service's instances.
        prop_assume!(others.iter().all(|other| other.service_name() != Some(instance.as_str())));
        let mut known = others;
        known.push(fmri.clone());
        for pattern in [instance.clone(), format!(":{instance}"), format!("{service}:{instance}"), fmri.to_string()] {
            let found = fmri::resolve(&pattern, &known).unwrap();
            prop_assert!(found.contains(&fmri), "{} did not match {}", pattern, fmri);
        }
        prop_assert_eq!(fmri::resolve(fmri.as_str(), &known).unwrap(), vec![fmri.clone()]);
        prop_assert_eq!(fmri::resolve_one(fmri.as_str(), &known).unwrap(), fmri.clone());
    }

    #[test]
    fn matching_returns_only_known_instances_once_in_known_order(
        (known, pattern) in known_instances().prop_flat_map(|known| {
            let pattern = pattern_for(&known);
            (Just(known), pattern)
        })
    ) {
        if let Ok(found) = fmri::resolve(&pattern, &known) {
            let mut positions = found.iter().map(|fmri| known.iter().position(|k| k == fmri));
            let mut last = None;
            for position in &mut positions {
                prop_assert!(position.is_some(), "resolved an unknown FMRI");
                prop_assert!(position > last, "out of order or duplicated");
                last = position;
            }
        }
        if let Ok(one) = fmri::resolve_one(&pattern, &known) {
            prop_assert!(known.contains(&one));
        }
        let targets = fmri::walk_for_action(&[pattern.as_str()], &known);
        prop_assert!(targets.instances.iter().all(|fmri| known.contains(fmri)));
    }
}
