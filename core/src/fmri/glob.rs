//! A small `fnmatch(pattern, text, 0)`: the matcher behind GLOB patterns
//! ([`FmriPattern::Glob`](super::FmriPattern::Glob)), in the C locale.
//!
//! Not here: deciding which arguments are globs or prepending `svc:/` to them (`pattern`).

/// `fnmatch(pattern, text, 0)` as `scf_cmp_pattern()` calls it: `*` and `?` match any
/// character, `/` and a leading `.` included; `[...]` is a bracket expression with ranges, `!`
/// or `^` negation and POSIX classes; `\` escapes; an unterminated `[` is literal.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // After a '*': where the pattern resumes and the text position it last resumed from.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&character) = text.get(t) {
        if pattern.get(p) == Some(&'*') {
            star = Some((p + 1, t));
            p += 1;
            continue;
        }
        if let Some(next) = match_one(&pattern, p, character) {
            p = next;
            t += 1;
            continue;
        }
        // Let the last '*' swallow one more character and retry.
        let Some((resume, from)) = star else {
            return false;
        };
        p = resume;
        t = from + 1;
        star = Some((resume, from + 1));
    }
    pattern.get(p..).unwrap_or(&[]).iter().all(|&c| c == '*')
}

/// Matches the single-character token at `p` (not `*`) against `character`; the position
/// after the token if it matches.
fn match_one(pattern: &[char], p: usize, character: char) -> Option<usize> {
    match *pattern.get(p)? {
        '?' => Some(p + 1),
        '[' => match bracket(pattern, p, character) {
            Some((matched, next)) => matched.then_some(next),
            None => (character == '[').then_some(p + 1),
        },
        '\\' => match pattern.get(p + 1) {
            Some(&escaped) => (escaped == character).then_some(p + 2),
            None => (character == '\\').then_some(p + 1),
        },
        literal => (literal == character).then_some(p + 1),
    }
}

/// The bracket expression starting at `pattern[open] == '['`: whether it matches `character`
/// and the position after its `]`; `None` when it is not terminated.
fn bracket(pattern: &[char], open: usize, character: char) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let current = *pattern.get(i)?;
        if current == ']' && !first {
            return Some((matched != negated, i + 1));
        }
        first = false;
        if current == '[' && pattern.get(i + 1) == Some(&':') {
            let close = (i + 2..pattern.len().saturating_sub(1))
                .find(|&at| pattern.get(at) == Some(&':') && pattern.get(at + 1) == Some(&']'));
            if let Some(close) = close {
                let name: String = pattern.get(i + 2..close).unwrap_or(&[]).iter().collect();
                if let Some(in_class) = in_character_class(&name, character) {
                    matched |= in_class;
                    i = close + 2;
                    continue;
                }
            }
        }
        let (low, after_low) = escaped(pattern, i)?;
        let is_range = pattern.get(after_low) == Some(&'-')
            && pattern.get(after_low + 1).is_some_and(|&high| high != ']');
        if is_range {
            let (high, after_high) = escaped(pattern, after_low + 1)?;
            matched |= low <= character && character <= high;
            i = after_high;
        } else {
            matched |= low == character;
            i = after_low;
        }
    }
}

/// The character at `i` inside a bracket expression, `\` escapes resolved, and the position
/// after it.
fn escaped(pattern: &[char], i: usize) -> Option<(char, usize)> {
    match *pattern.get(i)? {
        '\\' => pattern.get(i + 1).map(|&c| (c, i + 2)),
        c => Some((c, i + 1)),
    }
}

/// POSIX character classes in the C locale; `None` for an unknown name.
fn in_character_class(name: &str, c: char) -> Option<bool> {
    Some(match name {
        "alnum" => c.is_ascii_alphanumeric(),
        "alpha" => c.is_ascii_alphabetic(),
        "blank" => c == ' ' || c == '\t',
        "cntrl" => c.is_ascii_control(),
        "digit" => c.is_ascii_digit(),
        "graph" => c.is_ascii_graphic(),
        "lower" => c.is_ascii_lowercase(),
        "print" => c.is_ascii_graphic() || c == ' ',
        "punct" => c.is_ascii_punctuation(),
        "space" => c.is_ascii_whitespace() || c == '\x0b',
        "upper" => c.is_ascii_uppercase(),
        "xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_cases() {
        let cases = [
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("**a", "ba", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*/*", "svc:/a", true),
            ("svc:/*:default", "svc:/network/smtp:default", true),
            ("[abc]x", "bx", true),
            ("[!abc]x", "bx", false),
            ("[^abc]x", "dx", true),
            ("[a-c]", "b", true),
            ("[c-a]", "b", false),
            ("[]]", "]", true),
            ("[!]]", "a", true),
            ("[a-]", "-", true),
            ("a[-]b", "a-b", true),
            ("[", "[", true),
            ("[ab", "[ab", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a\\", "a\\", true),
            ("[\\]]", "]", true),
            ("[[:digit:]]x", "5x", true),
            ("[[:alpha:][:digit:]]", "_", false),
            ("[[:bogus:]]", "b", false),
            ("*\u{e9}?", "x\u{e9}y", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                fnmatch(pattern, text),
                expected,
                "fnmatch({pattern:?}, {text:?})"
            );
        }
    }
}
