//! ResultYAML: the results file every task produces.
//!
//! ```yaml
//! results:
//!   - item: foo-1.2-3.fc40
//!     type: koji_build
//!     checkname: dist.mycheck
//!     outcome: FAILED
//!     note: 2 errors, 7 warnings
//!     artifact: logs/foo.log
//!     arch: x86_64        # any other key is a keyval, ResultsDB's extra data
//! ```
//!
//! [`parse_results`] validates a document (required keys, the outcome ladder,
//! reserved keys, keyval values) and reports every problem with its position;
//! [`ResultYaml::to_yaml`] emits a document that parses back to the same value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use taskotron_types::{CheckName, Outcome};

use crate::diagnostic::{Diagnostic, Diagnostics, Pos};
use crate::yaml::{self, Node};

/// Keys of a result that are not keyvals.
pub const RESERVED_KEYS: &[&str] = &[
    "item",
    "type",
    "outcome",
    "note",
    "results",
    "checkname",
    "artifact",
    "_internal",
];

/// A ResultYAML document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResultYaml {
    /// The results, in order.
    pub results: Vec<TaskResult>,
}

/// One result of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskResult {
    /// What was checked.
    pub item: String,
    /// The item's type (`koji_build`…).
    #[serde(rename = "type")]
    pub item_type: String,
    /// The check's name; the task's `namespace.name` when not given.
    pub checkname: Option<CheckName>,
    /// The verdict.
    pub outcome: Outcome,
    /// A short human summary.
    pub note: Option<String>,
    /// A path inside the artifacts directory with details.
    pub artifact: Option<String>,
    /// Any other keys: extra data for ResultsDB (strings, numbers, booleans, or lists of them).
    pub keyvals: BTreeMap<String, Json>,
    /// Data the runner passes between directives (e.g. `resultsdb_result_id`).
    pub internal: Option<Json>,
}

impl TaskResult {
    /// A result with only the required fields.
    pub fn new(
        item: impl Into<String>,
        item_type: impl Into<String>,
        outcome: Outcome,
    ) -> TaskResult {
        TaskResult {
            item: item.into(),
            item_type: item_type.into(),
            checkname: None,
            outcome,
            note: None,
            artifact: None,
            keyvals: BTreeMap::new(),
            internal: None,
        }
    }
}

impl ResultYaml {
    /// The worst outcome of all results, `None` when there are none.
    pub fn worst(&self) -> Option<Outcome> {
        Outcome::worst(self.results.iter().map(|it| it.outcome))
    }

    /// A summary such as `3 PASSED, 1 INFO, 2 FAILED`, outcomes in ladder order.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = Outcome::ALL
            .iter()
            .filter_map(|outcome| {
                let n = self
                    .results
                    .iter()
                    .filter(|it| it.outcome == *outcome)
                    .count();
                (n > 0).then(|| format!("{n} {outcome}"))
            })
            .collect();
        if parts.is_empty() {
            "no results".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// The document as YAML text.
    ///
    /// Strings are written plain only when no YAML reader (1.1 or 1.2) could
    /// take them for anything but a string; otherwise they are double-quoted
    /// with JSON escapes, which every YAML reader understands.
    pub fn to_yaml(&self) -> String {
        if self.results.is_empty() {
            return "results: []\n".to_owned();
        }
        let mut out = String::from("results:\n");
        for result in &self.results {
            let mut fields: Vec<(&str, Json)> = vec![
                ("item", Json::String(result.item.clone())),
                ("type", Json::String(result.item_type.clone())),
            ];
            if let Some(checkname) = &result.checkname {
                fields.push(("checkname", Json::String(checkname.to_string())));
            }
            fields.push(("outcome", Json::String(result.outcome.to_string())));
            if let Some(note) = &result.note {
                fields.push(("note", Json::String(note.clone())));
            }
            if let Some(artifact) = result.artifact.as_ref().filter(|it| !it.is_empty()) {
                fields.push(("artifact", Json::String(artifact.clone())));
            }
            for (key, value) in &result.keyvals {
                fields.push((key, value.clone()));
            }
            if let Some(internal) = &result.internal {
                fields.push(("_internal", internal.clone()));
            }
            for (idx, (key, value)) in fields.iter().enumerate() {
                out.push_str(if idx == 0 { "  - " } else { "    " });
                emit_entry(&mut out, key, value, 4);
            }
        }
        out
    }
}

/// Emit `key: value` (and a newline) at the current position; nested mappings
/// go below, indented by two more spaces than `indent`.
fn emit_entry(out: &mut String, key: &str, value: &Json, indent: usize) {
    out.push_str(&scalar_text(key));
    out.push(':');
    match value {
        Json::Object(map) if !map.is_empty() => {
            out.push('\n');
            for (key, value) in map {
                out.push_str(&" ".repeat(indent + 2));
                emit_entry(out, key, value, indent + 2);
            }
        }
        other => {
            out.push(' ');
            out.push_str(&flow(other));
            out.push('\n');
        }
    }
}

/// A value in flow style: scalars, `[a, b]`, `{k: v}`.
fn flow(value: &Json) -> String {
    match value {
        Json::Null => "null".to_owned(),
        Json::Bool(it) => it.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(it) => scalar_text(it),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", scalar_text(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A string as a YAML scalar: plain when unambiguous, else double-quoted.
fn scalar_text(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        // JSON string syntax is valid YAML double-quoted syntax.
        Json::String(text.to_owned()).to_string()
    }
}

/// Whether every YAML reader takes `text`, written plain, for this very string:
/// it starts with a letter or `_`, holds only name-like characters, and is none of
/// the words YAML 1.1 or 1.2 read as null or a boolean.
fn is_plain_safe(text: &str) -> bool {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+' | '~' | '/' | '@')
        })
        && !WORDS.contains(&text.to_ascii_lowercase().as_str())
}

/// Parse and validate a ResultYAML document. `origin` names it in diagnostics.
pub fn parse_results(src: &str, origin: &str) -> Result<ResultYaml, Diagnostics> {
    let root = match yaml::parse(src) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(Diagnostics::new(
                origin,
                vec![
                    Diagnostic::new(
                        Pos { line: 1, column: 1 },
                        "the ResultYAML document is empty",
                    )
                    .with_help("write `results: []` for a task that reports nothing"),
                ],
            ));
        }
        Err(errors) => return Err(Diagnostics::new(origin, errors)),
    };
    let mut diags = Vec::new();
    let doc = results_of(&root, &mut diags);
    if diags.is_empty() {
        Ok(doc)
    } else {
        Err(Diagnostics::new(origin, diags))
    }
}

fn results_of(root: &Node, diags: &mut Vec<Diagnostic>) -> ResultYaml {
    let mut doc = ResultYaml::default();
    let Some(entries) = root.as_map() else {
        diags.push(
            Diagnostic::new(
                root.pos,
                format!("ResultYAML must be a mapping, found {}", root.describe()),
            )
            .with_help("start the document with `results:`"),
        );
        return doc;
    };
    let mut seen = false;
    for (key, value) in entries {
        let key_text = key.key_text();
        if key_text != "results" {
            diags.push(
                Diagnostic::new(
                    key.pos,
                    format!("unknown key `{key_text}` at the top of ResultYAML"),
                )
                .with_help("the document holds only `results:`, a list of results"),
            );
            continue;
        }
        seen = true;
        match value.as_seq() {
            Some(items) => {
                for (idx, item) in items.iter().enumerate() {
                    if let Some(result) = result_of(idx + 1, item, diags) {
                        doc.results.push(result);
                    }
                }
            }
            None if value.is_null() => {}
            None => diags.push(Diagnostic::new(
                value.pos,
                format!("`results` must be a list, found {}", value.describe()),
            )),
        }
    }
    if !seen {
        diags.push(Diagnostic::new(root.pos, "ResultYAML has no `results` key"));
    }
    doc
}

fn result_of(number: usize, node: &Node, diags: &mut Vec<Diagnostic>) -> Option<TaskResult> {
    let Some(entries) = node.as_map() else {
        diags.push(Diagnostic::new(
            node.pos,
            format!(
                "result {number} must be a mapping, found {}",
                node.describe()
            ),
        ));
        return None;
    };
    let before = diags.len();
    let mut item = None;
    let mut item_type = None;
    let mut checkname = None;
    let mut outcome = None;
    let mut note = None;
    let mut artifact = None;
    let mut internal = None;
    let mut keyvals = BTreeMap::new();
    let text = |value: &Node, key: &str, diags: &mut Vec<Diagnostic>| -> Option<String> {
        match value.to_json() {
            Json::String(it) if !it.is_empty() => Some(it),
            Json::Number(n) => Some(n.to_string()),
            other => {
                let found = match other {
                    Json::String(_) => "an empty string",
                    _ => value.describe(),
                };
                diags.push(Diagnostic::new(
                    value.pos,
                    format!("result {number}: `{key}` must be a non-empty string, found {found}"),
                ));
                None
            }
        }
    };
    for (key, value) in entries {
        let key_text = key.key_text();
        match key_text.as_str() {
            "item" => item = text(value, "item", diags),
            "type" => item_type = text(value, "type", diags),
            // An empty note is a note (ResultsDB stores ""); an empty artifact is none.
            "note" => {
                note = match value.to_json() {
                    Json::Null => None,
                    Json::String(it) if it.is_empty() => Some(it),
                    _ => text(value, "note", diags),
                }
            }
            "artifact" => {
                artifact = match value.to_json() {
                    Json::Null => None,
                    Json::String(it) if it.is_empty() => None,
                    _ => text(value, "artifact", diags),
                }
            }
            "checkname" => {
                if let Some(name) = text(value, "checkname", diags) {
                    match CheckName::new(name) {
                        Ok(it) => checkname = Some(it),
                        Err(err) => diags.push(Diagnostic::new(value.pos, format!("result {number}: {err}"))),
                    }
                }
            }
            "outcome" => {
                if let Some(name) = text(value, "outcome", diags) {
                    match name.parse::<Outcome>() {
                        Ok(it) => outcome = Some(it),
                        Err(err) => diags.push(Diagnostic::new(value.pos, format!("result {number}: {err}"))),
                    }
                }
            }
            "_internal" => internal = Some(value.to_json()),
            "results" => diags.push(
                Diagnostic::new(key.pos, format!("result {number}: `results` is a reserved key"))
                    .with_help(format!("reserved keys: {}", RESERVED_KEYS.join(", "))),
            ),
            _ => match keyval(&value.to_json()) {
                Ok(it) => {
                    keyvals.insert(key_text, it);
                }
                Err(found) => diags.push(
                    Diagnostic::new(
                        value.pos,
                        format!("result {number}: keyval `{key_text}` must be a string, number, boolean, null or a list of those, found {found}"),
                    ),
                ),
            },
        }
    }
    for (key, present) in [
        ("item", item.is_some()),
        ("type", item_type.is_some()),
        ("outcome", outcome.is_some()),
    ] {
        let was_given = entries.iter().any(|(k, _)| k.key_text() == key);
        if !present && !was_given {
            diags.push(
                Diagnostic::new(node.pos, format!("result {number} has no `{key}`"))
                    .with_help("every result needs `item`, `type` and `outcome`"),
            );
        }
    }
    if diags.len() > before {
        return None;
    }
    Some(TaskResult {
        item: item?,
        item_type: item_type?,
        checkname,
        outcome: outcome?,
        note,
        artifact,
        keyvals,
        internal,
    })
}

/// Keyvals are scalars (null included: libtaskotron's `None`, which ResultsDB
/// stores as `"None"`) or lists of scalars.
fn keyval(value: &Json) -> Result<Json, &'static str> {
    let scalar = |v: &Json| !matches!(v, Json::Array(_) | Json::Object(_));
    match value {
        v if scalar(v) => Ok(v.clone()),
        Json::Array(items) if items.iter().all(scalar) => Ok(value.clone()),
        Json::Array(_) => Err("a list holding lists or mappings"),
        _ => Err("a mapping"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const GOOD: &str = "results:
  - item: foo-1.2-3.fc40
    type: koji_build
    checkname: dist.mycheck
    outcome: FAILED
    note: 2 errors, 7 warnings
    artifact: logs/foo.log
    arch: x86_64
    count: 3
  - item: foo-1.2-3.fc40
    type: koji_build
    outcome: PASSED
";

    #[test]
    fn parses_a_full_document() {
        let doc = parse_results(GOOD, "results.yml").unwrap();
        assert_eq!(doc.results.len(), 2);
        let first = &doc.results[0];
        assert_eq!(
            first.checkname.as_ref().map(CheckName::as_str),
            Some("dist.mycheck")
        );
        assert_eq!(first.outcome, Outcome::Failed);
        assert_eq!(first.keyvals["arch"], json!("x86_64"));
        assert_eq!(first.keyvals["count"], json!(3));
        assert_eq!(doc.worst(), Some(Outcome::Failed));
        assert_eq!(doc.summary(), "1 PASSED, 1 FAILED");
    }

    #[test]
    fn emits_what_it_parses() {
        let mut doc = parse_results(GOOD, "results.yml").unwrap();
        let mut tricky =
            TaskResult::new("x: #1 'quoted' \"dq\"\nnext", "koji_build", Outcome::Info);
        tricky.note = Some("true".into());
        tricky.keyvals.insert("n".into(), json!("123"));
        tricky.keyvals.insert("list".into(), json!(["a", 1, false]));
        tricky
            .keyvals
            .insert("unicode".into(), json!("žluťoučký kůň"));
        tricky.internal = Some(json!({"resultsdb_result_id": 7}));
        doc.results.push(tricky);
        let text = doc.to_yaml();
        assert!(text.starts_with("results:\n"), "{text}");
        let back = parse_results(&text, "emitted").unwrap();
        assert_eq!(back, doc, "{text}");
    }

    #[test]
    fn empty_results_list_round_trips() {
        let doc = ResultYaml::default();
        assert_eq!(parse_results(&doc.to_yaml(), "x").unwrap(), doc);
        assert_eq!(parse_results("results:\n", "x").unwrap(), doc);
        assert_eq!(doc.summary(), "no results");
    }

    fn check_errors(src: &str, expect: &[&str]) {
        let err = parse_results(src, "r.yml").unwrap_err();
        let messages: Vec<String> = err
            .items
            .iter()
            .map(|it| format!("{}: {}", it.pos, it.message))
            .collect();
        assert_eq!(messages, expect, "{err}");
    }

    #[test]
    fn reports_every_problem_with_its_place() {
        check_errors(
            "results:
  - item: foo
    outcome: GREAT
  - type: koji_build
    item: bar
    outcome: PASSED
    results: nested
    extra: {a: 1}
  - just a string
",
            &[
                "2:5: result 1 has no `type`",
                "3:14: result 1: unknown outcome `GREAT`, expected one of PASSED, INFO, FAILED, NEEDS_INSPECTION, ABORTED, CRASHED",
                "7:5: result 2: `results` is a reserved key",
                "8:12: result 2: keyval `extra` must be a string, number, boolean, null or a list of those, found a mapping",
                "9:5: result 3 must be a mapping, found a string",
            ],
        );
        check_errors(
            "- a\n- b\n",
            &["1:1: ResultYAML must be a mapping, found a list"],
        );
        check_errors(
            "result: []\n",
            &[
                "1:1: unknown key `result` at the top of ResultYAML",
                "1:1: ResultYAML has no `results` key",
            ],
        );
        check_errors("", &["1:1: the ResultYAML document is empty"]);
        check_errors(
            "results:\n  - {item: x, type: t, outcome: PASSED, checkname: 'a..b'}\n",
            &["2:52: result 1: check name `a..b` has an empty part between dots"],
        );
    }

    #[test]
    fn quotes_only_what_a_yaml_reader_could_misread() {
        let mut result = TaskResult::new("foo-1.0-1.fc40", "koji_build", Outcome::Passed);
        for (key, value) in [
            ("octal", "0o17"),
            ("yes", "yes"),
            ("on", "On"),
            ("null", "~"),
            ("lines", "a\n\n"),
            ("space", " x"),
            ("plain", "x86_64"),
        ] {
            result.keyvals.insert(key.into(), json!(value));
        }
        result.internal = Some(json!({"resultsdb_result_id": 7, "list": [{"a": null}]}));
        let doc = ResultYaml {
            results: vec![result],
        };
        assert_eq!(
            doc.to_yaml(),
            "results:
  - item: foo-1.0-1.fc40
    type: koji_build
    outcome: PASSED
    lines: \"a\\n\\n\"
    \"null\": \"~\"
    octal: \"0o17\"
    \"on\": \"On\"
    plain: x86_64
    space: \" x\"
    \"yes\": \"yes\"
    _internal:
      list: [{a: null}]
      resultsdb_result_id: 7
"
        );
        assert_eq!(parse_results(&doc.to_yaml(), "x").unwrap(), doc);
    }

    #[test]
    fn empty_notes_null_keyvals_and_empty_required_fields() {
        let doc = parse_results(
            "results:\n  - {item: x, type: t, outcome: PASSED, note: '', artifact: '', k: null}\n",
            "r",
        )
        .unwrap();
        assert_eq!(doc.results[0].note.as_deref(), Some(""));
        assert_eq!(doc.results[0].artifact, None);
        assert_eq!(doc.results[0].keyvals["k"], Json::Null);
        assert_eq!(parse_results(&doc.to_yaml(), "again").unwrap(), doc);
        check_errors(
            "results:\n  - {item: '', type: t, outcome: PASSED}\n",
            &["2:12: result 1: `item` must be a non-empty string, found an empty string"],
        );
    }
}
