//! `when` queries: the subset of MongoDB's query language taskotron-trigger
//! used (through the `mongoquery` library), over a [`Fact`].
//!
//! A query is a mapping. Each plain key names a field (dotted names walk
//! into objects) and its value is either the value the field must equal or
//! a mapping of operators, all of which must hold: `$eq`, `$ne`, `$in`,
//! `$nin`, `$regex`, `$exists` and `$not` (which negates the operators under
//! it). Keys `$and` and `$or` take lists of queries and `$not` a query. As in
//! MongoDB, a field holding a list matches a value when any of its items
//! does, `$nin` and `$ne` match a missing field, and numbers compare by
//! value (`1` equals `1.0`). A `$regex` is searched for anywhere in the
//! text unless anchored; taskotron-trigger's `'/…/'` form, with optional
//! `i`, `m`, `s` or `x` flags after the closing slash, is accepted.

use regex::Regex;
use serde_json::Value as Json;
use taskotron_task_format::yaml::Node;
use taskotron_task_format::{Diagnostic, Pos};

use crate::Fact;

/// A parsed `when` query.
#[derive(Debug, Clone)]
pub enum Query {
    /// Every query holds (a mapping's keys, or `$and`).
    And(Vec<Query>),
    /// At least one holds (`$or`).
    Or(Vec<Query>),
    /// The query does not hold (`$not` at the top of a query).
    Not(Box<Query>),
    /// A field passes every test.
    Field {
        /// The dotted field name.
        path: String,
        /// The tests.
        tests: Vec<Test>,
    },
}

/// One test of a field's value.
#[derive(Debug, Clone)]
pub enum Test {
    /// Equal (or a list holding an equal item).
    Eq(Json),
    /// Not [`Test::Eq`].
    Ne(Json),
    /// Equal to one of them.
    In(Vec<Json>),
    /// Equal to none of them.
    Nin(Vec<Json>),
    /// A string (or a list holding a string) the pattern matches.
    Regex(Regex),
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// None of the tests under it holds together.
    Not(Vec<Test>),
}

impl Query {
    /// When the query is about the fact's kind of event (it tests
    /// `message_type` or `item_type` at its top level, and those tests
    /// hold) but does not match: its top-level conditions that fail, as
    /// their field names (`$or`, `$not`, `$and` for the others). `None`
    /// when it matches or is about other events.
    #[must_use]
    pub fn exclusion(&self, fact: &Fact) -> Option<Vec<String>> {
        let parts: &[Query] = match self {
            Query::And(all) => all,
            other => std::slice::from_ref(other),
        };
        let is_kind = |query: &Query| matches!(query, Query::Field { path, .. } if path == "message_type" || path == "item_type");
        let kinds: Vec<&Query> = parts.iter().filter(|it| is_kind(it)).collect();
        if kinds.is_empty() || !kinds.iter().all(|it| it.matches(fact)) {
            return None;
        }
        let failing: Vec<String> = parts
            .iter()
            .filter(|it| !it.matches(fact))
            .map(|it| match it {
                Query::Field { path, .. } => path.clone(),
                Query::Or(_) => "$or".to_owned(),
                Query::Not(_) => "$not".to_owned(),
                Query::And(_) => "$and".to_owned(),
            })
            .collect();
        (!failing.is_empty()).then_some(failing)
    }

    /// Whether `fact` satisfies the query.
    #[must_use]
    pub fn matches(&self, fact: &Fact) -> bool {
        match self {
            Query::And(all) => all.iter().all(|it| it.matches(fact)),
            Query::Or(any) => any.iter().any(|it| it.matches(fact)),
            Query::Not(query) => !query.matches(fact),
            Query::Field { path, tests } => {
                let value = fact.get(path);
                tests.iter().all(|test| test.holds(value))
            }
        }
    }
}

impl Test {
    fn holds(&self, value: Option<&Json>) -> bool {
        match self {
            Test::Eq(want) => equals(value, want),
            Test::Ne(want) => !equals(value, want),
            Test::In(options) => options.iter().any(|want| equals(value, want)),
            Test::Nin(options) => !options.iter().any(|want| equals(value, want)),
            Test::Regex(pattern) => match value {
                Some(Json::String(text)) => pattern.is_match(text),
                Some(Json::Array(items)) => items
                    .iter()
                    .any(|it| it.as_str().is_some_and(|text| pattern.is_match(text))),
                _ => false,
            },
            Test::Exists(want) => value.is_some() == *want,
            Test::Not(tests) => !tests.iter().all(|it| it.holds(value)),
        }
    }
}

/// Mongo's equality: a missing field equals null; a list equals a value
/// when it is that value or holds it.
fn equals(value: Option<&Json>, want: &Json) -> bool {
    match value {
        None => want.is_null(),
        Some(value) => {
            same(value, want)
                || matches!(value, Json::Array(items) if items.iter().any(|it| same(it, want)))
        }
    }
}

fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < f64::EPSILON,
            _ => x == y,
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, a)| y.get(key).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

const FIELD_OPERATORS: [&str; 7] = ["$eq", "$ne", "$in", "$nin", "$regex", "$exists", "$not"];
const QUERY_OPERATORS: [&str; 3] = ["$and", "$or", "$not"];

/// Parse a `when` query, adding what is wrong to `errors`.
pub(crate) fn parse_query(node: &Node, errors: &mut Vec<Diagnostic>) -> Option<Query> {
    let Some(entries) = node.as_map() else {
        errors.push(
            Diagnostic::new(
                node.pos,
                format!("a query is a mapping, found {}", node.describe()),
            )
            .with_help("for example `when: {message_type: KojiBuildPackageCompleted}`"),
        );
        return None;
    };
    let before = errors.len();
    let mut all = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let name = key.key_text();
        let query = match name.as_str() {
            "$and" | "$or" => parse_list(value, &name, errors).map(|list| {
                if name == "$and" {
                    Query::And(list)
                } else {
                    Query::Or(list)
                }
            }),
            "$not" => parse_query(value, errors).map(|it| Query::Not(Box::new(it))),
            _ if name.starts_with('$') => {
                errors.push(unknown_operator(key.pos, &name, &QUERY_OPERATORS));
                None
            }
            _ if name.is_empty() => {
                errors.push(Diagnostic::new(key.pos, "a field name is empty"));
                None
            }
            _ => parse_tests(value, errors).map(|tests| Query::Field { path: name, tests }),
        };
        if let Some(query) = query {
            all.push(query);
        }
    }
    (errors.len() == before).then_some(Query::And(all))
}

fn parse_list(node: &Node, name: &str, errors: &mut Vec<Diagnostic>) -> Option<Vec<Query>> {
    let Some(items) = node.as_seq() else {
        errors.push(Diagnostic::new(
            node.pos,
            format!(
                "`{name}` takes a list of queries, found {}",
                node.describe()
            ),
        ));
        return None;
    };
    if items.is_empty() {
        errors.push(Diagnostic::new(
            node.pos,
            format!("`{name}` needs at least one query"),
        ));
        return None;
    }
    let before = errors.len();
    let list: Vec<Query> = items
        .iter()
        .filter_map(|it| parse_query(it, errors))
        .collect();
    (errors.len() == before).then_some(list)
}

/// A field's value: a mapping whose keys are all operators is a list of
/// tests; anything else is the value to equal.
fn parse_tests(node: &Node, errors: &mut Vec<Diagnostic>) -> Option<Vec<Test>> {
    let operators = node
        .as_map()
        .filter(|entries| {
            !entries.is_empty() && entries.iter().any(|(k, _)| k.key_text().starts_with('$'))
        })
        .map(<[(Node, Node)]>::to_vec);
    let Some(entries) = operators else {
        return Some(vec![Test::Eq(node.to_json())]);
    };
    let before = errors.len();
    let mut tests = Vec::new();
    for (key, value) in &entries {
        let name = key.key_text();
        let test = match name.as_str() {
            "$eq" => Some(Test::Eq(value.to_json())),
            "$ne" => Some(Test::Ne(value.to_json())),
            "$in" | "$nin" => match value.to_json() {
                Json::Array(items) if name == "$in" => Some(Test::In(items)),
                Json::Array(items) => Some(Test::Nin(items)),
                _ => {
                    errors.push(Diagnostic::new(
                        value.pos,
                        format!(
                            "`{name}` takes a list of values, found {}",
                            value.describe()
                        ),
                    ));
                    None
                }
            },
            "$regex" => parse_regex(value, errors).map(Test::Regex),
            "$exists" => match value.to_json() {
                Json::Bool(it) => Some(Test::Exists(it)),
                _ => {
                    errors.push(Diagnostic::new(
                        value.pos,
                        format!("`$exists` takes true or false, found {}", value.describe()),
                    ));
                    None
                }
            },
            "$not" => match parse_tests(value, errors) {
                Some(tests) if value.as_map().is_some() => Some(Test::Not(tests)),
                Some(_) => {
                    errors.push(
                        Diagnostic::new(
                            value.pos,
                            format!(
                                "`$not` on a field takes a mapping of operators, found {}",
                                value.describe()
                            ),
                        )
                        .with_help("for example `name: {$not: {$regex: '^python-'}}`"),
                    );
                    None
                }
                None => None,
            },
            _ if name.starts_with('$') => {
                errors.push(unknown_operator(key.pos, &name, &FIELD_OPERATORS));
                None
            }
            _ => {
                errors.push(
                    Diagnostic::new(
                        key.pos,
                        format!("`{name}` is mixed with operators in one mapping"),
                    )
                    .with_help("a field's mapping is either all operators or a value to equal"),
                );
                None
            }
        };
        if let Some(test) = test {
            tests.push(test);
        }
    }
    (errors.len() == before).then_some(tests)
}

/// Compile a `$regex`, accepting taskotron-trigger's `/pattern/flags` form.
fn parse_regex(node: &Node, errors: &mut Vec<Diagnostic>) -> Option<Regex> {
    let Some(text) = node.as_scalar().filter(|_| node.to_json().is_string()) else {
        errors.push(Diagnostic::new(
            node.pos,
            format!("`$regex` takes a string, found {}", node.describe()),
        ));
        return None;
    };
    let (pattern, flags) = match text
        .strip_prefix('/')
        .and_then(|rest| rest.rsplit_once('/'))
    {
        Some((pattern, flags)) if flags.chars().all(|c| "imsx".contains(c)) => (pattern, flags),
        _ => (text, ""),
    };
    let source = if flags.is_empty() {
        pattern.to_owned()
    } else {
        format!("(?{flags}){pattern}")
    };
    match regex::RegexBuilder::new(&source)
        .size_limit(1 << 20)
        .build()
    {
        Ok(it) => Some(it),
        Err(err) => {
            let detail = err.to_string();
            let last = detail.lines().last().unwrap_or_default().trim().to_owned();
            errors.push(Diagnostic::new(
                node.pos,
                format!("`$regex` {text:?} does not compile: {last}"),
            ));
            None
        }
    }
}

fn unknown_operator(pos: Pos, name: &str, known: &[&str]) -> Diagnostic {
    let diag = Diagnostic::new(pos, format!("unknown operator `{name}`"));
    match taskotron_task_format::diagnostic::did_you_mean(name, known.iter().copied()) {
        Some(near) => diag.with_help(format!("did you mean `{near}`?")),
        None => diag.with_help(format!("operators here: {}", known.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn query(src: &str) -> Query {
        let node = taskotron_task_format::yaml::parse(src)
            .expect("yaml")
            .expect("a document");
        let mut errors = Vec::new();
        let query = parse_query(&node, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        query.expect("a query")
    }

    fn errors(src: &str) -> Vec<String> {
        let node = taskotron_task_format::yaml::parse(src)
            .expect("yaml")
            .expect("a document");
        let mut errors = Vec::new();
        assert!(parse_query(&node, &mut errors).is_none());
        errors
            .iter()
            .map(|it| format!("{}: {}", it.pos, it.message))
            .collect()
    }

    fn build(name: &str) -> Fact {
        Fact::new("KojiBuildPackageCompleted", "koji_build", name, name)
            .with("name", name.split('-').next().unwrap_or_default())
            .with("tags", json!(["f44-updates-candidate", "f44"]))
            .with("build_id", 17)
    }

    #[test]
    fn equality_in_and_nin() {
        let q = query("{message_type: KojiBuildPackageCompleted, name: {$nin: [kernel, firefox]}}");
        assert!(q.matches(&build("foo-1-1")));
        assert!(!q.matches(&build("kernel-1-1")));
        let q = query("name: {$in: [kernel, firefox]}");
        assert!(q.matches(&build("firefox-1-1")));
        assert!(!q.matches(&build("foo-1-1")));
        // Lists match when they hold the value; numbers compare by value.
        assert!(query("tags: f44").matches(&build("a-1-1")));
        assert!(!query("tags: f43").matches(&build("a-1-1")));
        assert!(query("build_id: 17.0").matches(&build("a-1-1")));
        assert!(query("tags: {$in: [f42, f44]}").matches(&build("a-1-1")));
    }

    #[test]
    fn missing_fields_follow_mongo() {
        let fact = build("foo-1-1");
        assert!(query("nothing: {$nin: [a]}").matches(&fact));
        assert!(query("nothing: {$ne: a}").matches(&fact));
        assert!(!query("nothing: {$in: [a]}").matches(&fact));
        assert!(query("nothing: null").matches(&fact));
        assert!(query("nothing: {$exists: false}").matches(&fact));
        assert!(!query("name: {$exists: false}").matches(&fact));
    }

    #[test]
    fn regexes_in_both_spellings() {
        let tag = |t: &str| Fact::new("KojiTagChanged", "koji_tag", t, t).with("tag", t);
        let q = query(r"tag: {$regex: '/^f[0-9]{2}-updates(-testing)?-pending$/'}");
        assert!(q.matches(&tag("f44-updates-testing-pending")));
        assert!(q.matches(&tag("f44-updates-pending")));
        assert!(!q.matches(&tag("f44-updates-testing")));
        assert!(!q.matches(&tag("xf44-updates-pending")));
        assert!(query("tag: {$regex: '/F44/i'}").matches(&tag("f44")));
        assert!(query("tag: {$regex: 'updates'}").matches(&tag("f44-updates")));
        assert!(!query("tag: {$not: {$regex: 'updates'}}").matches(&tag("f44-updates")));
        assert!(query("tags: {$regex: '^f44$'}").matches(&build("a-1-1")));
    }

    #[test]
    fn and_or_not() {
        let q = query("{$or: [{name: kernel}, {$and: [{name: foo}, {build_id: 17}]}]}");
        assert!(q.matches(&build("kernel-1-1")));
        assert!(q.matches(&build("foo-1-1")));
        assert!(!q.matches(&build("bar-1-1")));
        let q = query("{$not: {name: {$in: [kernel]}}}");
        assert!(!q.matches(&build("kernel-1-1")));
        assert!(q.matches(&build("foo-1-1")));
        assert!(query("{}").matches(&build("foo-1-1")));
    }

    #[test]
    fn bad_queries_are_located() {
        assert_eq!(
            errors("name: {$inn: [a]}"),
            ["1:8: unknown operator `$inn`"]
        );
        assert_eq!(
            errors("name: {$in: a}"),
            ["1:13: `$in` takes a list of values, found a string"]
        );
        assert_eq!(
            errors("tag: {$regex: '(unclosed'}"),
            ["1:15: `$regex` \"(unclosed\" does not compile: error: unclosed group"]
        );
        assert_eq!(errors("{$or: []}"), ["1:7: `$or` needs at least one query"]);
        assert_eq!(errors("{$nor: [{a: b}]}"), ["1:2: unknown operator `$nor`"]);
        assert_eq!(errors("[a]"), ["1:1: a query is a mapping, found a list"]);
        assert_eq!(
            errors("name: {$in: [a], x: 1}"),
            ["1:18: `x` is mixed with operators in one mapping"]
        );
        assert_eq!(
            errors("name: {$exists: yes}"),
            ["1:17: `$exists` takes true or false, found a string"]
        );
    }
}
