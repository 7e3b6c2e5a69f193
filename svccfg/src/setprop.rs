//! `setprop`'s assignment, as svccfg's grammar reads it, one shell word at a time:
//!
//! ```text
//! pg/prop = [TYPE:] VALUE
//! pg/prop = [TYPE:] ( [VALUE...] )
//! ```
//!
//! `=` and the parentheses may stand alone or touch their neighbours (`pg/prop=5`,
//! `(a b)`). A value in double quotes loses them, with `\"` and `\\` read as `"` and `\`
//! (svccfg's quoting, for lines written for svccfg itself: `'"hello world"'`). A word ending
//! in `:` before the value is the type. Several values need the parentheses.

use smf_core::manifest::PropertyType;

/// A parsed assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// `pg/prop`.
    pub name: String,
    /// The type, when given (without its `:`).
    pub kind: Option<String>,
    /// The values, unquoted.
    pub values: Vec<String>,
}

/// Reads the words after the FMRI; the error is one line for `svccfg: setprop: ...`.
pub fn parse_assignment(words: &[String]) -> Result<Assignment, String> {
    let mut words: Vec<&str> = words.iter().map(String::as_str).collect();
    let Some(first) = words.first().copied() else {
        return Err("expected pg/prop = [type:] value".into());
    };
    // `pg/prop=value`, `pg/prop=`, `pg/prop =value`, `pg/prop = value`.
    let (name, rest) = match first.split_once('=') {
        Some((name, rest)) => (name, rest),
        None => match words.get(1) {
            Some(second) if second.starts_with('=') => {
                let rest = &second[1..];
                words.remove(1);
                (first, rest)
            }
            _ => return Err(format!("expected \"=\" after {first}")),
        },
    };
    check_name(name)?;
    words.remove(0);
    if !rest.is_empty() {
        words.insert(0, rest);
    }
    let mut words = words.into_iter().peekable();
    let mut kind = None;
    if let Some(word) = words.peek().copied()
        && let Some(type_name) = word.strip_suffix(':')
        && !word.starts_with('"')
    {
        let known = PropertyType::from_name(type_name).is_some();
        let more = words.len() > 1;
        if known || more {
            if !known {
                return Err(format!(
                    "unknown type \"{type_name}\": expected one of {}",
                    type_names()
                ));
            }
            if !more {
                return Err(format!("expected a value after {word}"));
            }
            kind = Some(type_name.to_string());
            words.next();
        }
    }
    let rest: Vec<&str> = words.collect();
    let values = match rest.first() {
        None => return Err(format!("expected a value after {name} =")),
        Some(first) if first.starts_with('(') => list(&rest)?,
        Some(only) if rest.len() == 1 => vec![unquote(only)?],
        Some(_) => {
            return Err(format!(
                "{} values: a list is written in parentheses, ( value value ... )",
                rest.len()
            ));
        }
    };
    Ok(Assignment {
        name: name.to_string(),
        kind,
        values,
    })
}

/// `( a b c )` over words, the parentheses alone or touching the first and last value.
fn list(words: &[&str]) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    let mut closed = false;
    for (index, word) in words.iter().enumerate() {
        if closed {
            return Err(format!("\"{word}\" after the list's \")\""));
        }
        let mut word = *word;
        if index == 0 {
            word = &word[1..];
        }
        // A complete quoted value keeps a `)` inside its quotes.
        let quoted = word.len() >= 2 && word.starts_with('"') && word.ends_with('"');
        if !quoted && let Some(before) = word.strip_suffix(')') {
            closed = true;
            word = before;
        }
        if !word.is_empty() {
            values.push(unquote(word)?);
        }
    }
    if !closed {
        return Err("the list has no closing \")\"".into());
    }
    Ok(values)
}

/// A value without its double quotes, if it has them.
fn unquote(word: &str) -> Result<String, String> {
    let Some(inner) = word
        .strip_prefix('"')
        .filter(|_| word.len() >= 2)
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        if word.starts_with('"') {
            return Err(format!("the value {word} has no closing double quote"));
        }
        return Ok(word.to_string());
    };
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(escaped) => value.push(escaped),
                None => return Err(format!("the value {word} ends with a lone \\")),
            }
        } else if c == '"' {
            return Err(format!(
                "the value {word} has a double quote inside: write it \\\""
            ));
        } else {
            value.push(c);
        }
    }
    Ok(value)
}

fn check_name(name: &str) -> Result<(), String> {
    match name.split_once('/') {
        Some((group, property))
            if !group.is_empty() && !property.is_empty() && !property.contains('/') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "\"{name}\" is not a property name: expected pg/property"
        )),
    }
}

fn type_names() -> String {
    let names: Vec<&str> = PropertyType::ALL.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&str]) -> Result<Assignment, String> {
        let words: Vec<String> = words.iter().map(|word| word.to_string()).collect();
        parse_assignment(&words)
    }

    fn ok(words: &[&str], kind: Option<&str>, values: &[&str]) {
        assert_eq!(
            parse(words),
            Ok(Assignment {
                name: "config/x".into(),
                kind: kind.map(str::to_string),
                values: values.iter().map(|value| value.to_string()).collect(),
            }),
            "{words:?}"
        );
    }

    #[test]
    fn single_values_with_and_without_a_type() {
        ok(&["config/x", "=", "5"], None, &["5"]);
        ok(&["config/x", "=", "count:", "5"], Some("count"), &["5"]);
        ok(
            &["config/x", "=", "integer:", "-5"],
            Some("integer"),
            &["-5"],
        );
        ok(&["config/x=5"], None, &["5"]);
        ok(&["config/x", "=5"], None, &["5"]);
        ok(&["config/x=", "astring:", "a=b"], Some("astring"), &["a=b"]);
        // A lone word ending in ':' that is no type name is a value.
        ok(&["config/x", "=", "http:"], None, &["http:"]);
        ok(&["config/x", "=", "-v"], None, &["-v"]);
    }

    #[test]
    fn quoted_values_lose_their_quotes() {
        ok(
            &["config/x", "=", "astring:", "\"hello world\""],
            Some("astring"),
            &["hello world"],
        );
        ok(
            &["config/x", "=", r#""say \"hi\" \\o/""#],
            None,
            &[r#"say "hi" \o/"#],
        );
        ok(&["config/x", "=", "\"\""], None, &[""]);
        ok(&["config/x", "=", "\"count:\""], None, &["count:"]);
    }

    #[test]
    fn lists_in_parentheses() {
        ok(
            &["config/x", "=", "astring:", "(", "a", "b c", ")"],
            Some("astring"),
            &["a", "b c"],
        );
        ok(&["config/x", "=", "(a", "b)"], None, &["a", "b"]);
        ok(&["config/x", "=", "(a)"], None, &["a"]);
        ok(&["config/x", "=", "()"], None, &[]);
        ok(&["config/x", "=", "count:", "(", ")"], Some("count"), &[]);
        ok(&["config/x", "=", "(", "\"x)\"", ")"], None, &["x)"]);
    }

    #[test]
    fn mistakes_are_one_clear_line() {
        let error = |words: &[&str]| parse(words).expect_err("refused");
        assert_eq!(error(&[]), "expected pg/prop = [type:] value");
        assert_eq!(error(&["config/x"]), "expected \"=\" after config/x");
        assert_eq!(error(&["config/x", "5"]), "expected \"=\" after config/x");
        assert_eq!(
            error(&["config/x", "="]),
            "expected a value after config/x ="
        );
        assert_eq!(
            error(&["config/x", "=", "count:"]),
            "expected a value after count:"
        );
        assert_eq!(
            error(&["config/x", "=", "a", "b"]),
            "2 values: a list is written in parentheses, ( value value ... )"
        );
        assert!(
            error(&["config/x", "=", "strng:", "a"])
                .starts_with("unknown type \"strng\": expected one of count, integer,")
        );
        assert_eq!(
            error(&["config", "=", "a"]),
            "\"config\" is not a property name: expected pg/property"
        );
        assert!(error(&["a/b/c", "=", "a"]).contains("expected pg/property"));
        assert!(error(&["/x", "=", "a"]).contains("expected pg/property"));
        assert_eq!(
            error(&["config/x", "=", "(", "a"]),
            "the list has no closing \")\""
        );
        assert_eq!(
            error(&["config/x", "=", "(", "a", ")", "b"]),
            "\"b\" after the list's \")\""
        );
        assert!(error(&["config/x", "=", "\"open"]).contains("no closing double quote"));
        assert!(error(&["config/x", "=", "\"a\"b\""]).contains("double quote inside"));
    }

    #[test]
    fn no_input_panics() {
        let samples = [
            "=", "(", ")", "\"", ":", "=(", "=)", "(\"", "\")", "\\", "é", "a/b", "count:",
        ];
        for a in samples {
            for b in samples {
                for c in samples {
                    let _ = parse(&[a, b, c]);
                    let _ = parse(&["x/y", a, b, c]);
                }
            }
        }
    }
}
