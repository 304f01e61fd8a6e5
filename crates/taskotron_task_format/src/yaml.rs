//! A YAML tree that remembers where every node came from.
//!
//! Built from yaml-rust2's event parser so that each scalar keeps its position
//! and whether it was quoted (a quoted `"3"` is a string, a plain `3` an integer,
//! as in YAML 1.2's core schema). Duplicate mapping keys are reported, aliases
//! are expanded with a size limit, and nothing here panics on any input.

use std::collections::HashMap;

use serde_json::{Map, Number, Value as Json};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Diagnostic, Pos};

/// Most nodes one document may expand to, aliases included.
const MAX_NODES: usize = 100_000;
/// Longest mapping key accepted (YAML's limit for implicit keys, so that
/// whatever is read can be written back).
const MAX_KEY_CHARS: usize = 1024;
/// Deepest nesting accepted.
const MAX_DEPTH: usize = 64;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// What the node holds.
    pub kind: NodeKind,
    /// Its local tag, without the `!` (`Policy` for `!Policy`), if it has one.
    pub tag: Option<String>,
}

/// The three shapes of YAML data.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar, with its text and whether it was written plain (unquoted).
    Scalar {
        /// The scalar's text after unescaping.
        value: String,
        /// True for plain scalars, which YAML's core schema may read as null,
        /// booleans or numbers; false for quoted and block scalars, always strings.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The mapping's entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The sequence's items, if this is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is a null (`~`, `null` or nothing at all).
    pub fn is_null(&self) -> bool {
        matches!(self.to_json(), Json::Null)
    }

    /// A short description of the node's type, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Scalar { .. } => match self.to_json() {
                Json::Null => "nothing (null)",
                Json::Bool(_) => "a boolean",
                Json::Number(_) => "a number",
                _ => "a string",
            },
        }
    }

    /// The node as JSON data, with plain scalars resolved by YAML 1.2's core schema.
    pub fn to_json(&self) -> Json {
        match &self.kind {
            NodeKind::Scalar { value, plain: true } => resolve_plain(value),
            NodeKind::Scalar {
                value,
                plain: false,
            } => Json::String(value.clone()),
            NodeKind::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                let mut map = Map::new();
                for (key, value) in entries {
                    map.insert(key.key_text(), value.to_json());
                }
                Json::Object(map)
            }
        }
    }

    /// The text a node stands for when used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.kind {
            NodeKind::Scalar { value, .. } => value.clone(),
            _ => self.to_json().to_string(),
        }
    }
}

/// Resolve a plain scalar as YAML 1.2's core schema does.
pub fn resolve_plain(text: &str) -> Json {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Json::Null,
        "true" | "True" | "TRUE" => return Json::Bool(true),
        "false" | "False" | "FALSE" => return Json::Bool(false),
        _ => {}
    }
    let int = if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = text.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()
    } else if text
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+')
        && text.bytes().skip(1).all(|b| b.is_ascii_digit())
    {
        text.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(int) = int {
        return Json::Number(int.into());
    }
    let looks_float = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && text.bytes().filter(|b| *b == b'.').count() <= 1;
    if looks_float && let Some(num) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Json::Number(num);
    }
    Json::String(text.to_owned())
}

/// Parse one YAML document. `Ok(None)` for an empty document.
///
/// Errors are returned as diagnostics: a syntax error stops parsing (one
/// diagnostic); duplicate keys are all reported.
pub fn parse(src: &str) -> Result<Option<Node>, Vec<Diagnostic>> {
    parse_documents(src, false).map(|docs| docs.into_iter().next())
}

/// Parse a stream of YAML documents (`---` separated); empty documents are
/// left out. Errors as for [`parse`].
pub fn parse_stream(src: &str) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let mut docs = parse_documents(src, true)?;
    docs.retain(|it| !(it.is_null() && it.tag.is_none()));
    Ok(docs)
}

fn parse_documents(src: &str, many: bool) -> Result<Vec<Node>, Vec<Diagnostic>> {
    if let Some(offset) = src.find('\0') {
        let line = src[..offset].matches('\n').count() + 1;
        let column = src[..offset]
            .rsplit('\n')
            .next()
            .map_or(0, |it| it.chars().count())
            + 1;
        return Err(vec![
            Diagnostic::new(
                Pos { line, column },
                "the document contains a NUL character",
            )
            .with_help("YAML documents are text; remove the NUL byte"),
        ]);
    }
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(src);
    let mut documents = 0usize;
    let mut docs = Vec::new();
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(it) => it,
            Err(err) => {
                let pos = pos_of(err.marker());
                return Err(vec![Diagnostic::new(
                    pos,
                    format!("invalid YAML: {}", err.info()),
                )]);
            }
        };
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 && !many {
                    return Err(vec![
                        Diagnostic::new(pos_of(&mark), "a second YAML document is not allowed")
                            .with_help("put everything in one document; remove the extra `---`"),
                    ]);
                }
            }
            Event::DocumentEnd => {
                if let Some(root) = builder.root.take() {
                    docs.push(root);
                }
            }
            Event::StreamStart | Event::Nothing => {}
            other => {
                if let Err(diag) = builder.event(other, pos_of(&mark)) {
                    return Err(vec![diag]);
                }
            }
        }
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    docs.extend(builder.root);
    Ok(docs)
}

fn pos_of(mark: &Marker) -> Pos {
    Pos {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        tag: Option<String>,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Keys seen so far and the line each was first set on.
        seen: HashMap<String, usize>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    nodes: usize,
    errors: Vec<Diagnostic>,
}

impl Builder {
    fn event(&mut self, event: Event, pos: Pos) -> Result<(), Diagnostic> {
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let plain = style == TScalarStyle::Plain && !forced_string;
                self.count(1, pos)?;
                self.finish(
                    Node {
                        pos,
                        kind: NodeKind::Scalar { value, plain },
                        tag: local_tag(tag.as_ref()),
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, tag) => self.push(
                Frame::Seq {
                    pos,
                    anchor,
                    tag: local_tag(tag.as_ref()),
                    items: Vec::new(),
                },
                pos,
            ),
            Event::MappingStart(anchor, tag) => self.push(
                Frame::Map {
                    pos,
                    anchor,
                    tag: local_tag(tag.as_ref()),
                    entries: Vec::new(),
                    key: None,
                    seen: HashMap::new(),
                },
                pos,
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(Diagnostic::new(
                        pos,
                        "invalid YAML: unbalanced collection end",
                    ));
                };
                let (node, anchor) = match frame {
                    Frame::Seq {
                        pos,
                        anchor,
                        tag,
                        items,
                    } => (
                        Node {
                            pos,
                            kind: NodeKind::Seq(items),
                            tag,
                        },
                        anchor,
                    ),
                    Frame::Map {
                        pos,
                        anchor,
                        tag,
                        entries,
                        ..
                    } => {
                        // A block mapping's start event is marked after its first
                        // key; the first key is where a reader sees it start.
                        let pos = entries.first().map_or(pos, |(key, _)| pos.min(key.pos));
                        (
                            Node {
                                pos,
                                kind: NodeKind::Map(entries),
                                tag,
                            },
                            anchor,
                        )
                    }
                };
                self.finish(node, anchor)
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id).cloned() else {
                    return Err(Diagnostic::new(pos, "alias to an unknown anchor"));
                };
                self.count(count_nodes(&node), pos)?;
                self.finish(Node { pos, ..node }, 0)
            }
            _ => Ok(()),
        }
    }

    fn push(&mut self, frame: Frame, pos: Pos) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::new(
                pos,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(1, pos)?;
        self.stack.push(frame);
        Ok(())
    }

    fn count(&mut self, n: usize, pos: Pos) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::new(
                pos,
                format!("document expands to more than {MAX_NODES} nodes (aliases included)"),
            ));
        }
        Ok(())
    }

    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries, key, seen, ..
            }) => match key.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar { .. }) {
                        self.errors.push(Diagnostic::new(
                            node.pos,
                            format!(
                                "a mapping key must be a plain value, found {}",
                                node.describe()
                            ),
                        ));
                    }
                    if node.key_text().chars().count() > MAX_KEY_CHARS {
                        self.errors.push(Diagnostic::new(
                            node.pos,
                            format!("a mapping key is longer than {MAX_KEY_CHARS} characters"),
                        ));
                    }
                    *key = Some(node);
                }
                Some(k) => {
                    let text = k.key_text();
                    match seen.get(&text) {
                        Some(first_line) => self.errors.push(
                            Diagnostic::new(k.pos, format!("duplicate key `{text}`"))
                                .with_help(format!("`{text}` is first set at line {first_line}")),
                        ),
                        None => {
                            seen.insert(text, k.pos.line);
                        }
                    }
                    entries.push((k, node));
                }
            },
        }
        Ok(())
    }
}

/// A local tag (`!Policy`) without its `!`; global tags such as `!!str` give `None`.
fn local_tag(tag: Option<&yaml_rust2::parser::Tag>) -> Option<String> {
    tag.filter(|it| it.handle == "!")
        .map(|it| it.suffix.clone())
}

fn count_nodes(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn json_of(src: &str) -> Json {
        parse(src)
            .unwrap()
            .map(|it| it.to_json())
            .unwrap_or(Json::Null)
    }

    #[test]
    fn core_schema_resolution() {
        assert_eq!(
            json_of(
                "a: 3\nb: '3'\nc: true\nd: 'true'\ne: ~\nf: 1.5\ng: x1\nh: -7\ni: 0x10\nj: 1.2.3"
            ),
            json!({"a": 3, "b": "3", "c": true, "d": "true", "e": null, "f": 1.5, "g": "x1",
                   "h": -7, "i": 16, "j": "1.2.3"})
        );
        assert_eq!(json_of("!!str 12"), json!("12"));
        assert_eq!(json_of("|\n  text\n"), json!("text\n"));
    }

    #[test]
    fn positions_are_one_based() {
        let root = parse("name: x\nactions:\n  - shell: [true]\n")
            .unwrap()
            .unwrap();
        let entries = root.as_map().unwrap();
        assert_eq!(entries[0].0.pos, Pos { line: 1, column: 1 });
        assert_eq!(entries[0].1.pos, Pos { line: 1, column: 7 });
        let first_action = &entries[1].1.as_seq().unwrap()[0];
        assert_eq!(first_action.pos, Pos { line: 3, column: 5 });
    }

    #[test]
    fn duplicate_keys_are_all_reported() {
        let errors = parse("a: 1\nb: 2\na: 3\nb: 4\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].message, "duplicate key `a`");
        assert_eq!(errors[0].pos.line, 3);
        assert_eq!(
            errors[0].help.as_deref(),
            Some("`a` is first set at line 1")
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let errors = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.starts_with("invalid YAML"),
            "{:?}",
            errors[0]
        );
        assert!(errors[0].pos.line >= 1);
    }

    #[test]
    fn aliases_expand_but_not_without_bound() {
        assert_eq!(
            json_of("a: &x [1, 2]\nb: *x\n"),
            json!({"a": [1, 2], "b": [1, 2]})
        );
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        let errors = parse(&bomb).unwrap_err();
        assert!(errors[0].message.contains("more than"), "{errors:?}");
    }

    #[test]
    fn multiple_documents_are_rejected() {
        let errors = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(errors[0].message.contains("second YAML document"));
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let src = "[".repeat(10_000);
        assert!(parse(&src).is_err());
    }

    #[test]
    fn nul_characters_and_overlong_keys_are_reported() {
        let errors = parse("a: 1\nb: x\0y\n").unwrap_err();
        assert_eq!(errors[0].pos, Pos { line: 2, column: 5 });
        assert_eq!(errors[0].message, "the document contains a NUL character");
        let long = format!("{}: 1\n", "k".repeat(1025));
        assert!(parse(&long).is_err());
        let quoted = format!("\"{}\": 1\n", "k".repeat(1100));
        let errors = parse(&quoted).unwrap_err();
        assert!(
            errors[0].message.contains("invalid YAML")
                || errors[0].message.contains("longer than 1024"),
            "{errors:?}"
        );
        assert!(parse(&format!("{}: 1\n", "k".repeat(1024))).is_ok());
    }

    #[test]
    fn streams_keep_local_tags() {
        let docs = parse_stream(
            "--- !Policy\nid: a\nrules:\n  - !Rule {x: 1}\n  - !!str 3\n--- !Policy\nid: b\n---\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].tag.as_deref(), Some("Policy"));
        assert_eq!(docs[1].pos.line, 7);
        let rules = docs[0].as_map().unwrap()[1].1.as_seq().unwrap();
        assert_eq!(rules[0].tag.as_deref(), Some("Rule"));
        assert_eq!(rules[1].tag, None);
        assert!(parse("--- a\n--- b\n").is_err());
        assert!(parse_stream("").unwrap().is_empty());
    }
}
