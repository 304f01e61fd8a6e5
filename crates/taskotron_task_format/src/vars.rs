//! `$var` and `${var.attr}` substitution, with Python `string.Template`'s syntax.
//!
//! `$$` is a literal `$`. `$name` and `${name}` name a variable; inside braces a
//! dotted path reaches into mappings (`${build.nvr}`) and lists (`${rpms.0}`).
//! Any other `$` is an error: write `$$` for a literal dollar (shell commands
//! such as `echo $$HOME` need it).
//!
//! A string that is exactly one reference (`"${koji_output}"`) becomes the
//! referenced value itself, keeping its type (a list stays a list). A reference
//! inside longer text is rendered as text: strings as they are, numbers and
//! booleans as written, null as the empty string, lists and mappings as JSON.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value as Json};

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// A variable reference.
    Var(VarRef),
}

/// A reference to a variable, possibly with a dotted path into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarRef {
    /// The variable's name (the part before the first dot).
    pub name: String,
    /// The dotted path after the name, possibly empty.
    pub path: Vec<String>,
    /// The character offset of the `$` in the template.
    pub offset: usize,
}

impl fmt::Display for VarRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for part in &self.path {
            write!(f, ".{part}")?;
        }
        Ok(())
    }
}

/// A `$` that starts no valid placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceholderError {
    /// The character offset of the `$`.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

/// Parse a template string into text and references.
pub fn parse_template(text: &str) -> Result<Vec<Segment>, PlaceholderError> {
    let chars: Vec<char> = text.chars().collect();
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut idx = 0;
    while idx < chars.len() {
        let c = chars[idx];
        if c != '$' {
            literal.push(c);
            idx += 1;
            continue;
        }
        let start = idx;
        match chars.get(idx + 1) {
            Some('$') => {
                literal.push('$');
                idx += 2;
            }
            Some('{') => {
                let Some(close) = chars[idx + 2..].iter().position(|c| *c == '}') else {
                    return Err(PlaceholderError {
                        offset: start,
                        message: "`${` without a closing `}`".to_owned(),
                    });
                };
                let inner: String = chars[idx + 2..idx + 2 + close].iter().collect();
                let mut parts = inner.split('.');
                let name = parts.next().unwrap_or_default();
                let path: Vec<String> = parts.map(str::to_owned).collect();
                let valid_name = name.chars().next().is_some_and(is_ident_start)
                    && name.chars().all(is_ident_char);
                let valid_path = path
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(is_ident_char));
                if !valid_name || !valid_path {
                    return Err(PlaceholderError {
                        offset: start,
                        message: format!("`${{{inner}}}` is not a valid variable reference"),
                    });
                }
                flush(&mut literal, &mut segments);
                segments.push(Segment::Var(VarRef {
                    name: name.to_owned(),
                    path,
                    offset: start,
                }));
                idx += close + 3;
            }
            Some(c) if is_ident_start(*c) => {
                let end = chars[idx + 1..]
                    .iter()
                    .position(|c| !is_ident_char(*c))
                    .map_or(chars.len(), |it| idx + 1 + it);
                let name: String = chars[idx + 1..end].iter().collect();
                flush(&mut literal, &mut segments);
                segments.push(Segment::Var(VarRef {
                    name,
                    path: Vec::new(),
                    offset: start,
                }));
                idx = end;
            }
            _ => {
                let shown: String = chars[idx..chars.len().min(idx + 2)].iter().collect();
                return Err(PlaceholderError {
                    offset: start,
                    message: format!("`{shown}` is not a variable reference"),
                });
            }
        }
    }
    flush(&mut literal, &mut segments);
    Ok(segments)
}

fn flush(literal: &mut String, segments: &mut Vec<Segment>) {
    if !literal.is_empty() {
        segments.push(Segment::Text(std::mem::take(literal)));
    }
}

/// Why a substitution failed at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    /// A `$` that starts no valid placeholder.
    #[error("{message}; write `$$` for a literal `$`")]
    Placeholder {
        /// What is wrong.
        message: String,
    },
    /// The variable is not defined.
    #[error("unknown variable `{name}`; variables in scope: {in_scope}")]
    Unknown {
        /// The variable.
        name: String,
        /// The names in scope, comma-separated.
        in_scope: String,
    },
    /// A dotted path does not lead anywhere.
    #[error("`{reference}`: {problem}")]
    BadPath {
        /// The whole reference.
        reference: String,
        /// What went wrong on the way.
        problem: String,
    },
}

/// The variables of a running task, by name.
pub type Scope = BTreeMap<String, Json>;

/// Look up a reference in a scope.
pub fn lookup<'a>(scope: &'a Scope, var: &VarRef) -> Result<&'a Json, SubstError> {
    let mut current = scope.get(&var.name).ok_or_else(|| SubstError::Unknown {
        name: var.name.clone(),
        in_scope: scope
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let mut walked = var.name.clone();
    for part in &var.path {
        let next = match current {
            Json::Object(map) => map.get(part).ok_or_else(|| SubstError::BadPath {
                reference: var.to_string(),
                problem: format!(
                    "`{walked}` has no key `{part}` (its keys: {})",
                    map.keys()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?,
            Json::Array(items) => part
                .parse::<usize>()
                .ok()
                .and_then(|idx| items.get(idx))
                .ok_or_else(|| SubstError::BadPath {
                    reference: var.to_string(),
                    problem: format!(
                        "`{walked}` is a list of {} items; `{part}` is not an index into it",
                        items.len()
                    ),
                })?,
            other => {
                return Err(SubstError::BadPath {
                    reference: var.to_string(),
                    problem: format!("`{walked}` is {}, it has no `{part}`", describe(other)),
                });
            }
        };
        walked.push('.');
        walked.push_str(part);
        current = next;
    }
    Ok(current)
}

/// Substitute the variables in one string.
pub fn substitute_str(text: &str, scope: &Scope) -> Result<Json, SubstError> {
    let segments = parse_template(text).map_err(|err| SubstError::Placeholder {
        message: err.message,
    })?;
    if let [Segment::Var(var)] = segments.as_slice() {
        return lookup(scope, var).cloned();
    }
    let mut out = String::new();
    for segment in &segments {
        match segment {
            Segment::Text(text) => out.push_str(text),
            Segment::Var(var) => out.push_str(&render_inline(lookup(scope, var)?)),
        }
    }
    Ok(Json::String(out))
}

/// Substitute the variables in every string of a value, mapping keys included.
pub fn substitute(value: &Json, scope: &Scope) -> Result<Json, SubstError> {
    Ok(match value {
        Json::String(text) => substitute_str(text, scope)?,
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|it| substitute(it, scope))
                .collect::<Result<_, _>>()?,
        ),
        Json::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match substitute_str(key, scope)? {
                    Json::String(it) => it,
                    other => render_inline(&other),
                };
                out.insert(key, substitute(value, scope)?);
            }
            Json::Object(out)
        }
        other => other.clone(),
    })
}

/// How a value reads inside a longer string.
pub fn render_inline(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(it) => it.clone(),
        Json::Bool(it) => it.to_string(),
        Json::Number(it) => it.to_string(),
        Json::Array(_) | Json::Object(_) => value.to_string(),
    }
}

/// A short description of a JSON value's type.
pub fn describe(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        let mut scope = Scope::new();
        scope.insert("koji_build".into(), json!("foo-1.0-1.fc40"));
        scope.insert("n".into(), json!(3));
        scope.insert(
            "out".into(),
            json!({"rpms": ["a.rpm", "b.rpm"], "ok": true}),
        );
        scope
    }

    fn check(template: &str, expect: Json) {
        assert_eq!(
            substitute_str(template, &scope()).unwrap(),
            expect,
            "{template}"
        );
    }

    #[test]
    fn string_template_syntax() {
        check("plain", json!("plain"));
        check("$koji_build", json!("foo-1.0-1.fc40"));
        check("${koji_build}", json!("foo-1.0-1.fc40"));
        check("x-$koji_build.rpm", json!("x-foo-1.0-1.fc40.rpm"));
        check("${koji_build}x", json!("foo-1.0-1.fc40x"));
        check("cost: $$5", json!("cost: $5"));
        check("echo $$HOME", json!("echo $HOME"));
    }

    #[test]
    fn whole_references_keep_their_type() {
        check("${n}", json!(3));
        check("${out.rpms}", json!(["a.rpm", "b.rpm"]));
        check("${out.rpms.1}", json!("b.rpm"));
        check("n=${n} ok=${out.ok}", json!("n=3 ok=true"));
        check("all: ${out.rpms}", json!(r#"all: ["a.rpm","b.rpm"]"#));
    }

    #[test]
    fn errors_name_the_problem() {
        fn check_err(template: &str, expect: &str) {
            let err = substitute_str(template, &scope()).unwrap_err().to_string();
            assert!(err.contains(expect), "{template}: {err}");
        }
        check_err(
            "$nope",
            "unknown variable `nope`; variables in scope: koji_build, n, out",
        );
        check_err(
            "${out.missing}",
            "`out` has no key `missing` (its keys: ok, rpms)",
        );
        check_err("${out.rpms.7}", "list of 2 items");
        check_err("${n.x}", "`n` is a number, it has no `x`");
        check_err("cost $5", "`$5` is not a variable reference; write `$$`");
        check_err("${unclosed", "without a closing");
        check_err("${a..b}", "not a valid variable reference");
        check_err("trailing $", "`$` is not a variable reference");
    }

    #[test]
    fn substitutes_in_keys_and_nested_values() {
        let value = json!({"${koji_build}": ["${n}", {"k": "v-$n"}], "plain": 1});
        assert_eq!(
            substitute(&value, &scope()).unwrap(),
            json!({"foo-1.0-1.fc40": [3, {"k": "v-3"}], "plain": 1})
        );
    }

    #[test]
    fn references_report_offsets() {
        let segments = parse_template("ab ${x.y} $z").unwrap();
        let offsets: Vec<_> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Var(v) => Some((v.to_string(), v.offset)),
                Segment::Text(_) => None,
            })
            .collect();
        assert_eq!(offsets, [("x.y".to_owned(), 3), ("z".to_owned(), 10)]);
    }
}
