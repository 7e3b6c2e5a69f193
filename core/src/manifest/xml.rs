//! The XML layer: bytes -> a small positioned element tree.
//!
//! This is the only module that talks to quick-xml. It accepts what real manifests contain
//! (the XML declaration, a DOCTYPE line, comments, CDATA, processing instructions, the five
//! predefined entities and character references) and refuses what a manifest must never do to
//! its reader: input that is not UTF-8, input over [`MAX_MANIFEST_BYTES`], and entities that
//! expand without bound. Entities declared in an internal DTD subset are expanded within a
//! budget ([`MAX_ENTITY_EXPANSION`] bytes in all, [`MAX_ENTITY_DEPTH`] levels deep); external
//! entities (`SYSTEM`/`PUBLIC`) are never fetched.
//!
//! What is not here: any knowledge of the service_bundle DTD. [`super::lower`] gives the tree
//! its meaning.

use std::borrow::Cow;
use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// The largest manifest we read. The largest real manifest we know of (Solaris userland's
/// puppet.xml) is about 100 KiB; anything forty times that is not a manifest.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Total bytes that entity expansion may produce in one document.
pub const MAX_ENTITY_EXPANSION: usize = 64 * 1024;

/// How deeply entities may refer to other entities.
pub const MAX_ENTITY_DEPTH: usize = 8;

/// A position in the source text, 1-based, columns counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// One attribute, with where its name starts. Names and values borrow from the document
/// unless a value had references to expand.
#[derive(Debug, Clone)]
pub(crate) struct Attribute<'t> {
    pub(crate) name: Cow<'t, str>,
    pub(crate) value: Cow<'t, str>,
    /// Byte offset of the attribute's name.
    pub(crate) offset: usize,
}

/// One element of the document, with its attributes, children and text content.
#[derive(Debug, Clone)]
pub(crate) struct Element<'t> {
    pub(crate) name: Cow<'t, str>,
    pub(crate) attributes: Vec<Attribute<'t>>,
    pub(crate) children: Vec<Element<'t>>,
    /// Character data directly inside the element (text, CDATA, expanded references).
    pub(crate) text: String,
    /// Byte offset of the element's `<`. Positions are computed only for diagnostics.
    pub(crate) offset: usize,
}

impl<'t> Element<'t> {
    /// The value of attribute `name`, if present.
    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .map(|attribute| &*attribute.value)
    }

    /// The attribute itself (for its position).
    pub(crate) fn attribute_entry(&self, name: &str) -> Option<&Attribute<'t>> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    /// The step this element adds to an element path: `dependency[name=net]`.
    pub(crate) fn path_step(&self) -> String {
        let key = match &*self.name {
            "service_fmri" | "value_node" | "stability" | "event" => "value",
            "loctext" => "xml:lang",
            "manpage" => "title",
            _ => "name",
        };
        match self.attribute(key) {
            Some(value) => format!("{}[{key}={value}]", self.name),
            None => self.name.to_string(),
        }
    }
}

/// A fatal problem: the document could not be read into a tree.
#[derive(Debug, Clone)]
pub(crate) struct XmlError {
    pub(crate) pos: Pos,
    /// The element path of the innermost open element, if any.
    pub(crate) path: String,
    pub(crate) message: String,
}

/// Maps byte offsets to line and column.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, byte)| byte == b'\n')
                .map(|(offset, _)| offset + 1),
        );
        LineIndex { text, line_starts }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        };
        let start = self.line_starts[line];
        // Count characters, not bytes; a split inside a character cannot happen for offsets
        // quick-xml reports, but stay total anyway.
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        Pos {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Checks the raw bytes and turns them into text: UTF-8 (a byte-order mark is skipped) and not
/// over the size limit.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, XmlError> {
    let at = |pos| XmlError {
        pos,
        path: String::new(),
        message: String::new(),
    };
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(XmlError {
            message: format!(
                "file is {} bytes, over the {MAX_MANIFEST_BYTES}-byte limit for a manifest",
                bytes.len()
            ),
            ..at(Pos { line: 1, column: 1 })
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.starts_with(b"\xFE\xFF") || bytes.starts_with(b"\xFF\xFE") {
        return Err(XmlError {
            message: "file is UTF-16; manifests must be UTF-8".to_string(),
            ..at(Pos { line: 1, column: 1 })
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(error) => {
            let valid = error.valid_up_to();
            // The valid prefix is UTF-8 by construction, so the index can use it.
            let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
            let pos = LineIndex::new(prefix).pos(valid);
            Err(XmlError {
                message: format!(
                    "file is not valid UTF-8 (byte 0x{:02X} at offset {valid}); manifests must be UTF-8",
                    bytes.get(valid).copied().unwrap_or(0)
                ),
                ..at(pos)
            })
        }
    }
}

/// Entities declared in the document's internal DTD subset.
#[derive(Default)]
struct Entities {
    internal: HashMap<String, String>,
    external: HashMap<String, String>,
    /// Bytes produced by expansion so far, against [`MAX_ENTITY_EXPANSION`].
    expanded: usize,
}

impl Entities {
    /// Reads `<!ENTITY name "value">` and `<!ENTITY name SYSTEM "uri">` declarations out of a
    /// DOCTYPE's text. Parameter entities (`<!ENTITY % ...>`) are DTD plumbing and ignored.
    fn declare_from_doctype(&mut self, doctype: &str) {
        let mut rest = doctype;
        while let Some(start) = rest.find("<!ENTITY") {
            rest = &rest[start + "<!ENTITY".len()..];
            let mut words = Tokens { rest };
            let Some(name) = words.word() else { continue };
            if name == "%" {
                rest = words.rest;
                continue;
            }
            let before_value = words.rest;
            match words.word() {
                Some("SYSTEM") | Some("PUBLIC") => {
                    let uri = words.quoted().unwrap_or_default();
                    self.external
                        .entry(name.to_string())
                        .or_insert_with(|| uri.to_string());
                }
                _ => {
                    words.rest = before_value;
                    if let Some(value) = words.quoted() {
                        // XML: the first declaration of an entity is binding.
                        self.internal
                            .entry(name.to_string())
                            .or_insert_with(|| value.to_string());
                    }
                }
            }
            rest = words.rest;
        }
    }

    /// Appends the expansion of `&name;` to `out`.
    fn expand(&mut self, name: &str, out: &mut String, depth: usize) -> Result<(), String> {
        if let Some(reference) = name.strip_prefix('#') {
            let code = match reference.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16),
                None => reference.parse::<u32>(),
            };
            return match code.ok().and_then(char::from_u32) {
                Some(ch) if ch != '\0' => {
                    out.push(ch);
                    Ok(())
                }
                _ => Err(format!(
                    "character reference '&{name};' does not name a valid character"
                )),
            };
        }
        let predefined = match name {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => None,
        };
        if let Some(ch) = predefined {
            out.push(ch);
            return Ok(());
        }
        if let Some(uri) = self.external.get(name) {
            return Err(format!(
                "entity '&{name};' refers to the external resource \"{uri}\", which is never fetched"
            ));
        }
        let Some(value) = self.internal.get(name).cloned() else {
            return Err(format!(
                "entity '&{name};' is not defined: expected one of &lt; &gt; &amp; &apos; &quot;, a character reference, or an entity declared in the DOCTYPE"
            ));
        };
        if depth >= MAX_ENTITY_DEPTH {
            return Err(format!(
                "entity '&{name};' nests more than {MAX_ENTITY_DEPTH} entities deep (refusing a possible entity bomb)"
            ));
        }
        // Every expansion costs at least one unit, so entities that expand to nothing cannot
        // make the work exponential either.
        self.count(1)?;
        self.unescape_into(&value, out, depth + 1)
    }

    /// Copies `raw` to `out`, expanding every reference, within the expansion budget.
    fn unescape_into(&mut self, raw: &str, out: &mut String, depth: usize) -> Result<(), String> {
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            self.push_counted(&rest[..amp], out, depth)?;
            let after = &rest[amp + 1..];
            let Some(semicolon) = after.find(';') else {
                return Err("'&' is not followed by a reference ending in ';' (write &amp; for a literal '&')".to_string());
            };
            let name = &after[..semicolon];
            self.expand(name, out, depth)?;
            rest = &after[semicolon + 1..];
        }
        self.push_counted(rest, out, depth)
    }

    fn push_counted(&mut self, text: &str, out: &mut String, depth: usize) -> Result<(), String> {
        out.push_str(text);
        // Only text produced by expansion counts against the budget; the document's own
        // text is bounded by the file size limit.
        if depth > 0 {
            self.count(text.len())?;
        }
        Ok(())
    }

    fn count(&mut self, bytes: usize) -> Result<(), String> {
        self.expanded = self.expanded.saturating_add(bytes);
        if self.expanded > MAX_ENTITY_EXPANSION {
            return Err(format!(
                "entity expansion exceeds the limit of {MAX_ENTITY_EXPANSION} bytes (refusing a possible \"billion laughs\" entity bomb)"
            ));
        }
        Ok(())
    }
}

/// A tiny tokenizer for entity declarations.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn word(&mut self) -> Option<&'a str> {
        let trimmed = self.rest.trim_start();
        let end = trimmed
            .find(|ch: char| ch.is_whitespace() || ch == '"' || ch == '\'' || ch == '>')
            .unwrap_or(trimmed.len());
        if end == 0 {
            return None;
        }
        self.rest = &trimmed[end..];
        Some(&trimmed[..end])
    }

    fn quoted(&mut self) -> Option<&'a str> {
        let trimmed = self.rest.trim_start();
        let quote = trimmed
            .chars()
            .next()
            .filter(|&ch| ch == '"' || ch == '\'')?;
        let body = &trimmed[1..];
        let end = body.find(quote)?;
        self.rest = &body[end + 1..];
        Some(&body[..end])
    }
}

/// Reads `text` into its root element.
pub(crate) fn parse(text: &str) -> Result<Element<'_>, XmlError> {
    let index = LineIndex::new(text);
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    config.trim_text(false);

    let mut entities = Entities::default();
    let mut stack: Vec<Element<'_>> = Vec::new();
    let mut root: Option<Element<'_>> = None;
    let path_of = |stack: &[Element<'_>]| -> String {
        stack
            .iter()
            .skip(1)
            .map(Element::path_step)
            .collect::<Vec<_>>()
            .join("/")
    };

    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => {
                let offset = usize::try_from(reader.error_position()).unwrap_or(start);
                return Err(XmlError {
                    pos: index.pos(offset),
                    path: path_of(&stack),
                    message: describe_xml_error(&error, &stack),
                });
            }
        };
        let fail = |message: String, offset: usize, stack: &[Element<'_>]| XmlError {
            pos: index.pos(offset),
            path: path_of(stack),
            message,
        };
        match event {
            Event::Start(tag) | Event::Empty(tag) if root.is_some() && stack.is_empty() => {
                let name = String::from_utf8_lossy(tag.name().as_ref()).into_owned();
                return Err(fail(
                    format!(
                        "element <{name}> after the end of the root element: a document has one root"
                    ),
                    start,
                    &stack,
                ));
            }
            Event::Start(tag) => {
                let element = open(&tag, start, text, &mut entities)
                    .map_err(|(message, offset)| fail(message, offset, &stack))?;
                stack.push(element);
            }
            Event::Empty(tag) => {
                let element = open(&tag, start, text, &mut entities)
                    .map_err(|(message, offset)| fail(message, offset, &stack))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                // quick-xml has checked that the name matches the open element.
                if let Some(element) = stack.pop() {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
            }
            Event::Text(content) => {
                let raw = content.xml_content().unwrap_or_default();
                match stack.last_mut() {
                    Some(parent) => parent.text.push_str(&raw),
                    None if raw.trim().is_empty() => {}
                    None => {
                        return Err(fail(
                            format!(
                                "text {:?} outside the root element",
                                raw.trim().chars().take(20).collect::<String>()
                            ),
                            start,
                            &stack,
                        ));
                    }
                }
            }
            Event::GeneralRef(reference) => {
                let name = String::from_utf8_lossy(&reference).into_owned();
                if stack.is_empty() {
                    return Err(fail(
                        format!("reference '&{name};' outside the root element"),
                        start,
                        &stack,
                    ));
                }
                let mut expanded = String::new();
                entities
                    .unescape_into(&format!("&{name};"), &mut expanded, 0)
                    .map_err(|message| fail(message, start, &stack))?;
                if let Some(parent) = stack.last_mut() {
                    parent.text.push_str(&expanded);
                }
            }
            Event::CData(content) => {
                if let Some(parent) = stack.last_mut() {
                    parent
                        .text
                        .push_str(&String::from_utf8_lossy(&content.into_inner()));
                }
            }
            Event::DocType(doctype) => {
                entities.declare_from_doctype(&String::from_utf8_lossy(&doctype.into_inner()));
            }
            Event::Decl(declaration) => {
                if let Some(Ok(encoding)) = declaration.encoding() {
                    let encoding = String::from_utf8_lossy(&encoding).to_ascii_lowercase();
                    if !matches!(encoding.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
                        return Err(fail(
                            format!(
                                "the XML declaration names encoding \"{encoding}\"; manifests must be UTF-8"
                            ),
                            start,
                            &stack,
                        ));
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }

    if let Some(open) = stack.last() {
        return Err(XmlError {
            pos: index.pos(text.len()),
            path: path_of(&stack),
            message: format!(
                "end of file inside <{}> (opened at line {}, column {}): expected </{}>",
                open.name,
                index.pos(open.offset).line,
                index.pos(open.offset).column,
                open.name
            ),
        });
    }
    root.ok_or_else(|| XmlError {
        pos: index.pos(text.len()),
        path: String::new(),
        message: if text.trim().is_empty() {
            "file is empty: expected a <service_bundle> document".to_string()
        } else {
            "no root element: expected a <service_bundle> document".to_string()
        },
    })
}

/// Builds an element from a start tag, unescaping its attribute values.
fn open<'t>(
    tag: &BytesStart<'_>,
    start: usize,
    text: &'t str,
    entities: &mut Entities,
) -> Result<Element<'t>, (String, usize)> {
    let name = borrow(text, tag.name().as_ref());
    let mut attributes: Vec<Attribute<'t>> = Vec::new();
    for attribute in tag.attributes().with_checks(true) {
        let attribute = attribute
            .map_err(|error| (format!("malformed attribute in <{name}>: {error}"), start))?;
        let key = borrow(text, attribute.key.as_ref());
        let raw = borrow(text, &attribute.value);
        let attribute_offset = offset_in(text, attribute.key.as_ref()).unwrap_or(start);
        let value = if raw.contains('&') {
            let mut value = String::new();
            entities
                .unescape_into(&raw, &mut value, 0)
                .map_err(|message| {
                    (
                        format!("in attribute {key} of <{name}>: {message}"),
                        attribute_offset,
                    )
                })?;
            Cow::Owned(value)
        } else {
            raw
        };
        if attributes.iter().any(|existing| existing.name == key) {
            return Err((
                format!("attribute {key} appears twice in <{name}>"),
                attribute_offset,
            ));
        }
        attributes.push(Attribute {
            name: key,
            value,
            offset: attribute_offset,
        });
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
        offset: start,
    })
}

/// Where `part` (a slice quick-xml handed out) sits in `text`, if it borrows from it.
fn offset_in(text: &str, part: &[u8]) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (start + part.len() <= text.len()).then_some(start)
}

/// `part` as text borrowed from the document when it is a slice of it (the usual case with a
/// slice reader), else copied.
fn borrow<'t>(text: &'t str, part: &[u8]) -> Cow<'t, str> {
    match offset_in(text, part).and_then(|start| text.get(start..start + part.len())) {
        Some(borrowed) => Cow::Borrowed(borrowed),
        None => Cow::Owned(String::from_utf8_lossy(part).into_owned()),
    }
}

/// Words a quick-xml error the way a manifest author can act on.
fn describe_xml_error(error: &quick_xml::Error, stack: &[Element]) -> String {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match error {
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!(
                "closing tag </{found}> does not match the open element: expected </{expected}>"
            )
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("closing tag </{name}> has no matching open element")
        }
        quick_xml::Error::Syntax(syntax) => {
            let what = match syntax {
                SyntaxError::UnclosedTag => "a tag is not closed: expected '>'",
                SyntaxError::UnclosedComment => "a comment is not closed: expected '-->'",
                SyntaxError::UnclosedCData => "a CDATA section is not closed: expected ']]>'",
                SyntaxError::UnclosedDoctype => "the DOCTYPE is not closed: expected '>'",
                SyntaxError::UnclosedPIOrXmlDecl => {
                    "a processing instruction or the XML declaration is not closed: expected '?>'"
                }
                SyntaxError::InvalidBangMarkup => {
                    "'<!' starts neither a comment, a CDATA section nor a DOCTYPE"
                }
            };
            match stack.last() {
                Some(open) => format!("{what} (inside <{}>)", open.name),
                None => what.to_string(),
            }
        }
        other => format!("the markup is not well-formed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_entities_cdata_and_character_references() {
        let root = parse(
            "<?xml version='1.0'?>\n<!DOCTYPE a SYSTEM 'x.dtd' [ <!ENTITY who \"w&#111;rld\"> ]>\n<a x='&lt;&#x41;&who;'><![CDATA[<raw>]]> &amp; &who;</a>",
        )
        .unwrap();
        assert_eq!(root.attribute("x"), Some("<Aworld"));
        assert_eq!(root.text, "<raw> & world");
    }

    #[test]
    fn refuses_entity_bomb() {
        let mut doc = String::from("<!DOCTYPE a [ <!ENTITY l0 \"lol\">");
        for level in 1..10 {
            let previous = format!("&l{};", level - 1).repeat(10);
            doc.push_str(&format!("<!ENTITY l{level} \"{previous}\">"));
        }
        doc.push_str("]>\n<a>&l9;</a>");
        let error = parse(&doc).unwrap_err();
        assert!(error.message.contains("entity bomb"), "{}", error.message);
        assert_eq!(error.pos.line, 2);
    }

    #[test]
    fn accepts_what_real_manifests_contain() {
        let root = parse(
            "\u{feff}<?xml version='1.0' encoding='UTF-8'?>\r\n<!DOCTYPE service_bundle SYSTEM \"/usr/share/lib/xml/dtd/service_bundle.dtd.1\">\r\n<!-- CDDL header -->\r\n<?pi data?>\r\n<service_bundle type='manifest' name='x'><loctext>caf\u{e9} &quot;ok&quot; &#233;</loctext></service_bundle>\r\n",
        )
        .unwrap();
        assert_eq!(root.name, "service_bundle");
        assert_eq!(root.children[0].text, "caf\u{e9} \"ok\" \u{e9}");
    }

    #[test]
    fn refuses_oversized_non_utf8_and_utf16_input() {
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(decode(&big).unwrap_err().message.contains("over the"));
        let latin1 = b"<a>\n caf\xe9</a>";
        let error = decode(latin1).unwrap_err();
        assert_eq!(error.pos, Pos { line: 2, column: 5 });
        assert!(error.message.contains("not valid UTF-8"));
        assert!(
            decode(b"\xff\xfe<\x00a\x00")
                .unwrap_err()
                .message
                .contains("UTF-16")
        );
        assert_eq!(decode(b"\xef\xbb\xbf<a/>").unwrap(), "<a/>");
    }

    #[test]
    fn refuses_declared_foreign_encodings_and_stray_content() {
        let error = parse("<?xml version='1.0' encoding='ISO-8859-1'?><a/>").unwrap_err();
        assert!(error.message.contains("ISO-8859-1") || error.message.contains("iso-8859-1"));
        assert!(parse("<a/><b/>").unwrap_err().message.contains("one root"));
        assert!(
            parse("<a/>text")
                .unwrap_err()
                .message
                .contains("outside the root")
        );
        assert!(
            parse("<a>&undefined;</a>")
                .unwrap_err()
                .message
                .contains("not defined")
        );
        let duplicate = parse("<a x='1' x='2'/>").unwrap_err().message;
        assert!(
            duplicate.contains("duplicate") || duplicate.contains("twice"),
            "{duplicate}"
        );
    }

    #[test]
    fn positions_count_characters() {
        let index = LineIndex::new("ab\né<x");
        assert_eq!(index.pos(5), Pos { line: 2, column: 2 });
    }
}
