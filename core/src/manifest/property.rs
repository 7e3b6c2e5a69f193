//! Lowering of `<property_group>`, `<propval>` and `<property>`: typed values parsed as
//! svccfg parses them (strtoull/strtoll semantics for numbers, `true`/`false` booleans).

use super::diagnostic::Severity;
use super::lower::{At, Lowerer, children, one_of};
use super::model::*;

impl Lowerer<'_> {
    pub(crate) fn property_group(&mut self, at: At<'_>) -> Option<PropertyGroup> {
        self.allow_attributes(at, &["name", "type", "delete"]);
        let name = self.required(at, "name", "a property group name");
        let kind = if self.is_profile() {
            at.element.attribute("type").map(str::to_string)
        } else {
            self.required(at, "type", "a property group type such as application")
        };
        let delete = self.boolean(at, "delete", false);
        let mut stability = None;
        for child in children(&at) {
            if child.element.name == "stability" {
                stability = self.stability(child);
            }
        }
        let properties = self.nested_properties(at, &["stability"]);
        Some(PropertyGroup {
            name: name?,
            kind,
            delete,
            stability,
            properties,
        })
    }

    /// The `<propval>`/`<property>` children; `also` lists other children the caller handles.
    pub(crate) fn nested_properties(&mut self, at: At<'_>, also: &[&str]) -> Vec<Property> {
        let mut properties = Vec::new();
        for child_at in children(&at) {
            let child = child_at.element;
            match child.name.as_ref() {
                "propval" => properties.extend(self.propval(child_at)),
                "property" => properties.extend(self.property(child_at)),
                name if also.contains(&name) => {}
                _ => self.unknown_element(child_at, &at.element.name),
            }
        }
        properties
    }

    pub(crate) fn property_type(&mut self, at: At<'_>) -> Option<Option<PropertyType>> {
        let expected = one_of(PropertyType::ALL.iter().map(|(name, _)| *name));
        let text = if self.is_profile() {
            match at.element.attribute("type") {
                Some(text) => text.to_string(),
                None => return Some(None),
            }
        } else {
            self.required(at, "type", &expected)?
        };
        match PropertyType::from_name(&text) {
            Some(kind) => Some(Some(kind)),
            None => {
                self.attribute_problem(
                    Severity::Error,
                    at,
                    "type",
                    format!("invalid property type \"{text}\": expected {expected}"),
                );
                None
            }
        }
    }

    pub(crate) fn propval(&mut self, at: At<'_>) -> Option<Property> {
        self.allow_attributes(at, &["name", "type", "value", "override"]);
        let name = self.required(at, "name", "a property name");
        let kind = self.property_type(at);
        let value = self.required(at, "value", "the property's value");
        let r#override = self.boolean(at, "override", false);
        let kind = kind?;
        let value = self.value(at, "value", kind, &value?)?;
        Some(Property {
            name: name?,
            kind,
            values: vec![value],
            r#override,
        })
    }

    pub(crate) fn property(&mut self, at: At<'_>) -> Option<Property> {
        self.allow_attributes(at, &["name", "type", "override"]);
        let name = self.required(at, "name", "a property name");
        let kind = self.property_type(at);
        let r#override = self.boolean(at, "override", false);
        let mut values = Vec::new();
        for list_at in children(&at) {
            let list = list_at.element;
            let Some(list_type) = list.name.strip_suffix("_list") else {
                self.unknown_element(list_at, "property");
                continue;
            };
            let Some(list_kind) = PropertyType::from_name(list_type) else {
                self.unknown_element(list_at, "property");
                continue;
            };
            if let Some(Some(kind)) = kind
                && kind != list_kind
            {
                self.error(
                    list_at,
                    format!(
                        "<{}> inside a property of type {}: expected <{}_list>",
                        list.name,
                        kind.name(),
                        kind.name()
                    ),
                );
                continue;
            }
            for node_at in children(&list_at) {
                let node = node_at.element;
                if node.name != "value_node" {
                    self.unknown_element(node_at, &list.name);
                    continue;
                }
                self.allow_attributes(node_at, &["value"]);
                if let Some(text) = self.required(node_at, "value", "a value")
                    && let Some(value) = self.value(node_at, "value", Some(list_kind), &text)
                {
                    values.push(value);
                }
            }
        }
        Some(Property {
            name: name?,
            kind: kind?,
            values,
            r#override,
        })
    }

    /// Parses one value by type, with svccfg's wording for bad ones.
    pub(crate) fn value(
        &mut self,
        at: At<'_>,
        attribute: &str,
        kind: Option<PropertyType>,
        text: &str,
    ) -> Option<Value> {
        // svccfg converts numbers with strtoull/strtoll, which take leading blanks and read an
        // empty string as 0; smf accepts the same and says so.
        let number = text.trim_start();
        if number.is_empty() && matches!(kind, Some(PropertyType::Count | PropertyType::Integer)) {
            self.attribute_problem(
                Severity::Warning,
                at,
                attribute,
                "empty number is read as 0, as svccfg does".to_string(),
            );
        }
        let parsed = match kind {
            Some(kind) => parse_value(kind, text),
            None => Ok(Value::Text(text.to_string())),
        };
        match parsed {
            Ok(value) => Some(value),
            // A profile's values are applied to properties that already exist, and often come
            // from templates with placeholders: a bad one is refused when applied, not here.
            Err(message) if self.is_profile() => {
                self.attribute_problem(
                    Severity::Warning,
                    at,
                    attribute,
                    format!("{message}; this profile value will be refused when applied"),
                );
                Some(Value::Text(text.to_string()))
            }
            Err(message) => {
                self.problem_unless_placeholder(at, attribute, text, message);
                None
            }
        }
    }
}

/// Reads one value of type `kind` as svccfg does: booleans `true`/`false`/`1`/`0`, numbers as
/// strtoull/strtoll read them (leading blanks and a `+` allowed, an empty string is 0), every
/// other type as text. The error says what was expected, in svccfg's words. Used for manifest
/// values and for `svccfg setprop`.
pub fn parse_value(kind: PropertyType, text: &str) -> Result<Value, String> {
    let number = text.trim_start();
    let number = number.strip_prefix('+').unwrap_or(number);
    match kind {
        PropertyType::Boolean => match text {
            "true" | "1" => Ok(Value::Boolean(true)),
            "false" | "0" => Ok(Value::Boolean(false)),
            _ => Err(format!(
                "illegal boolean value \"{text}\": expected true or false"
            )),
        },
        PropertyType::Count if number.is_empty() => Ok(Value::Count(0)),
        PropertyType::Count => number.parse::<u64>().map(Value::Count).map_err(|_| {
            format!(
                "illegal value \"{text}\" for count: expected a whole number from 0 to {}",
                u64::MAX
            )
        }),
        PropertyType::Integer if number.is_empty() => Ok(Value::Integer(0)),
        PropertyType::Integer => number.parse::<i64>().map(Value::Integer).map_err(|_| {
            format!(
                "illegal value \"{text}\" for integer: expected a whole number that fits in 64 bits"
            )
        }),
        _ => Ok(Value::Text(text.to_string())),
    }
}
