//! `listprop`'s layout, as svccfg prints it (`list_pg_info` / `list_prop_info`): one line
//! per property group, `NAME  TYPE`, then one per property, `NAME  TYPE     VALUE...`, the
//! names padded to the longest one printed and the type to 7 columns. A string value is
//! quoted (`"`, with `\"` and `\\` inside) when the property has several string values or
//! the value holds a blank or one of svccfg's special characters, so that the line reads
//! back the same.
//!
//! A pattern is a shell glob on the group's name (the group and all its properties) or on
//! `group/property` (the group and the matching properties).

use smf_core::fmri::fnmatch;
use smf_core::protocol::PropertyInfo;

/// Characters svccfg's lexer needs quoted (`CHARS_TO_QUOTE`).
const CHARS_TO_QUOTE: &[char] = &[' ', '\t', '\n', '\\', '>', '=', '"', '(', ')'];

/// The lines for `properties` (in their order, grouped by property group), filtered by
/// `pattern`.
pub fn render(properties: &[PropertyInfo], pattern: Option<&str>) -> String {
    // (group, its type, its properties), groups in order of appearance.
    let mut groups: Vec<(&str, Option<&str>, Vec<&PropertyInfo>)> = Vec::new();
    for property in properties {
        match groups
            .iter_mut()
            .find(|(name, _, _)| *name == property.group)
        {
            Some((_, _, members)) => members.push(property),
            None => groups.push((
                &property.group,
                property.group_type.as_deref(),
                vec![property],
            )),
        }
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    for (group, kind, members) in groups {
        let whole = pattern.is_none_or(|pattern| fnmatch(pattern, group));
        let shown: Vec<&PropertyInfo> = members
            .into_iter()
            .filter(|property| {
                whole
                    || pattern.is_some_and(|pattern| {
                        fnmatch(pattern, &format!("{}/{}", property.group, property.name))
                    })
            })
            .collect();
        if !whole && shown.is_empty() {
            continue;
        }
        rows.push((group.to_string(), kind.unwrap_or_default().to_string()));
        for property in shown {
            rows.push((
                format!("{}/{}", property.group, property.name),
                format!("{:<7} {}", property.kind, values(property)),
            ));
        }
    }
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (name, rest) in rows {
        let line = format!("{name:<width$}  {rest}");
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// The values, each after a blank, quoted where needed.
fn values(property: &PropertyInfo) -> String {
    let strings = matches!(property.kind.as_str(), "astring" | "ustring");
    let several = property.values.len() > 1;
    let mut text = String::new();
    for value in &property.values {
        text.push(' ');
        if (strings && several) || value.is_empty() || value.contains(CHARS_TO_QUOTE) {
            text.push('"');
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    text.push('\\');
                }
                text.push(c);
            }
            text.push('"');
        } else {
            text.push_str(value);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn property(group: &str, name: &str, kind: &str, values: &[&str]) -> PropertyInfo {
        PropertyInfo {
            group: group.into(),
            group_type: Some(
                if group == "startd" {
                    "framework"
                } else {
                    "application"
                }
                .into(),
            ),
            name: name.into(),
            kind: kind.into(),
            values: values.iter().map(|value| value.to_string()).collect(),
            customized: false,
        }
    }

    fn sample() -> Vec<PropertyInfo> {
        vec![
            property("config", "greeting", "astring", &["hello"]),
            property("startd", "duration", "astring", &["child"]),
            property("config", "ports", "count", &["80", "443"]),
            property("config", "motto", "astring", &["carpe diem", "a\"b"]),
            property("config", "empty", "astring", &[]),
        ]
    }

    #[test]
    fn groups_then_properties_aligned_as_svccfg_prints_them() {
        assert_eq!(
            render(&sample(), None),
            "config           application\n\
             config/greeting  astring  hello\n\
             config/ports     count    80 443\n\
             config/motto     astring  \"carpe diem\" \"a\\\"b\"\n\
             config/empty     astring\n\
             startd           framework\n\
             startd/duration  astring  child\n"
        );
    }

    #[test]
    fn patterns_select_groups_or_properties() {
        assert_eq!(
            render(&sample(), Some("startd")),
            "startd           framework\nstartd/duration  astring  child\n"
        );
        assert_eq!(
            render(&sample(), Some("config/p*")),
            "config        application\nconfig/ports  count    80 443\n"
        );
        assert_eq!(render(&sample(), Some("nothing*")), "");
        assert_eq!(render(&[], None), "");
    }

    #[test]
    fn globs_as_fnmatch() {
        for (pattern, text, expected) in [
            ("*", "", true),
            ("*", "abc", true),
            ("a*c", "abbbc", true),
            ("a*c", "abcd", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[!a-c]x", "bx", false),
            ("[]]", "]", true),
            ("[a", "[a", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("*/*", "config/port", true),
            ("conf*/p*t", "config/port", true),
            ("**a", "bba", true),
        ] {
            assert_eq!(fnmatch(pattern, text), expected, "{pattern} on {text}");
        }
    }
}
