//! Lowering of `<template>`: common names, descriptions, documentation links and property
//! patterns, kept for `svcs -x`, `svcs -l` and a future `svccfg describe`.

use super::diagnostic::Severity;
use super::lower::{At, Lowerer, children, one_of};
use super::model::*;

impl Lowerer<'_> {
    pub(crate) fn template(&mut self, at: At<'_>) -> Template {
        self.allow_attributes(at, &[]);
        let mut template = Template::default();
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "common_name" => template.common_name = self.loctexts(child_at),
                "description" => template.description = self.loctexts(child_at),
                "documentation" => {
                    for entry_at in children(&child_at) {
                        let entry = entry_at.element;
                        match entry.name.as_ref() {
                            "manpage" => {
                                self.allow_attributes(entry_at, &["title", "section", "manpath"]);
                                let title = self.required(entry_at, "title", "a manual page title");
                                let section =
                                    self.required(entry_at, "section", "a manual section");
                                if let (Some(title), Some(section)) = (title, section) {
                                    template.documentation.push(Documentation::Manpage {
                                        title,
                                        section,
                                        manpath: entry
                                            .attribute("manpath")
                                            .unwrap_or(":default")
                                            .to_string(),
                                    });
                                }
                            }
                            "doc_link" => {
                                self.allow_attributes(entry_at, &["name", "uri"]);
                                let name = self.required(entry_at, "name", "a link name");
                                let uri = self.required(entry_at, "uri", "a URI");
                                if let (Some(name), Some(uri)) = (name, uri) {
                                    template
                                        .documentation
                                        .push(Documentation::DocLink { name, uri });
                                }
                            }
                            _ => self.unknown_element(entry_at, "documentation"),
                        }
                    }
                }
                "pg_pattern" => template.pg_patterns.push(self.pg_pattern(child_at)),
                _ => self.unknown_element(child_at, "template"),
            }
        }
        template
    }

    pub(crate) fn loctexts(&mut self, at: At<'_>) -> Vec<LocText> {
        let mut texts = Vec::new();
        for child_at in children(&at) {
            let child = child_at.element;
            if child.name != "loctext" {
                self.unknown_element(child_at, &at.element.name);
                continue;
            }
            self.allow_attributes(child_at, &["xml:lang"]);
            let lang = self
                .required(child_at, "xml:lang", "a language such as C")
                .unwrap_or_else(|| "C".to_string());
            let text = child.text.split_whitespace().collect::<Vec<_>>().join(" ");
            texts.push(LocText { lang, text });
        }
        texts
    }

    pub(crate) fn pg_pattern(&mut self, at: At<'_>) -> PgPattern {
        self.allow_attributes(at, &["name", "type", "required", "target"]);
        let element = at.element;
        let mut pattern = PgPattern {
            name: element.attribute("name").unwrap_or_default().to_string(),
            kind: element.attribute("type").unwrap_or_default().to_string(),
            required: self.boolean(at, "required", false),
            target: self
                .enumerated(
                    at,
                    "target",
                    &[
                        ("this", "this"),
                        ("instance", "instance"),
                        ("delegate", "delegate"),
                        ("all", "all"),
                    ],
                    false,
                )
                .unwrap_or("this")
                .to_string(),
            ..PgPattern::default()
        };
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "common_name" => pattern.common_name = self.loctexts(child_at),
                "description" => pattern.description = self.loctexts(child_at),
                "prop_pattern" => pattern.prop_patterns.push(self.prop_pattern(child_at)),
                _ => self.unknown_element(child_at, "pg_pattern"),
            }
        }
        pattern
    }

    pub(crate) fn prop_pattern(&mut self, at: At<'_>) -> PropPattern {
        self.allow_attributes(at, &["name", "type", "required"]);
        let name = self
            .required(at, "name", "a property name")
            .unwrap_or_default();
        let kind = match at.element.attribute("type") {
            None => None,
            Some(text) => {
                let kind = PropertyType::from_name(text);
                if kind.is_none() {
                    self.attribute_problem(
                        Severity::Error,
                        at,
                        "type",
                        format!(
                            "invalid property type \"{text}\": expected {}",
                            one_of(PropertyType::ALL.iter().map(|(name, _)| *name))
                        ),
                    );
                }
                kind
            }
        };
        let mut pattern = PropPattern {
            name,
            kind,
            required: self.boolean(at, "required", false),
            ..PropPattern::default()
        };
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "common_name" => pattern.common_name = self.loctexts(child_at),
                "description" => pattern.description = self.loctexts(child_at),
                "units" => {
                    self.loctexts(child_at);
                }
                "visibility" => {
                    pattern.visibility = child.attribute("value").map(str::to_string);
                }
                "cardinality" => {
                    let bound = |name: &str, default: u64| {
                        child
                            .attribute(name)
                            .map_or(Some(default), |text| text.trim().parse::<u64>().ok())
                    };
                    match (bound("min", 0), bound("max", u64::MAX)) {
                        (Some(min), Some(max)) => pattern.cardinality = Some((min, max)),
                        _ => self.error(
                            child_at,
                            "cardinality min and max must be whole numbers".to_string(),
                        ),
                    }
                }
                "internal_separators" => {}
                "values" | "constraints" | "choices" => {
                    for entry_at in children(&child_at) {
                        let entry = entry_at.element;
                        match &*entry.name {
                            "value" => {
                                let mut value = PatternValue {
                                    name: entry.attribute("name").unwrap_or_default().to_string(),
                                    ..PatternValue::default()
                                };
                                for text_at in children(&entry_at) {
                                    match &*text_at.element.name {
                                        "common_name" => value.common_name = self.loctexts(text_at),
                                        "description" => value.description = self.loctexts(text_at),
                                        _ => self.unknown_element(text_at, "value"),
                                    }
                                }
                                pattern.values.push(value);
                            }
                            "range" => pattern.ranges.push((
                                entry.attribute("min").unwrap_or_default().to_string(),
                                entry.attribute("max").unwrap_or_default().to_string(),
                            )),
                            _ => {}
                        }
                    }
                }
                _ => self.unknown_element(child_at, "prop_pattern"),
            }
        }
        pattern
    }
}
