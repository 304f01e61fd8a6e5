//! The rules file: a YAML list of rules, each `{when: QUERY, do: [ACTION…]}`
//! with an optional `name`.
//!
//! An action is either `tasks: [NAME…]` or `discover: {repo, branch,
//! fallback_branch, recursive}`, with optional keys:
//!
//! - `arches: [ARCH…]`: the architectures to run for (`noarch` for an
//!   arch-independent check); without it, once per configured architecture;
//! - `match_host_arch: true`: the job needs a worker of its own architecture;
//! - `priority: N`: higher runs first (default 0);
//! - `debounce: DURATION` (`15m`): wait that long before running, and fold
//!   further events for the same check and item into the waiting job (the old
//!   trigger's `fuse_delay` for bursts of tag changes);
//! - `labels: [LABEL…]`: worker labels the job needs.
//!
//! `discover`'s strings may use `${field}` for any text field of the event
//! (`${name}`, `${distgit_branch}`, …).

use std::time::Duration;

use taskotron_task_format::yaml::Node;
use taskotron_task_format::{Diagnostic, Pos};

use crate::query::{Query, parse_query};

/// Every rule of a rules file, in order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
}

/// One `when`/`do` rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Where it starts in the file.
    pub pos: Pos,
    /// Its `name`, or `rule N` (1-based) without one.
    pub name: String,
    /// Which events it applies to.
    pub when: Query,
    /// What it asks for.
    pub actions: Vec<Action>,
}

/// One item of a rule's `do` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Where it starts in the file.
    pub pos: Pos,
    /// Tasks or a discovery.
    pub kind: ActionKind,
    /// `arches`, when given.
    pub arches: Option<Vec<String>>,
    /// `match_host_arch`.
    pub match_host_arch: bool,
    /// `priority`.
    pub priority: i64,
    /// `debounce`.
    pub debounce: Option<Duration>,
    /// `labels`.
    pub labels: Vec<String>,
}

/// What an action asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// Run these tasks.
    Tasks(Vec<String>),
    /// Find task formulas in a git repository.
    Discover {
        /// The repository, a `${…}` template.
        repo: String,
        /// The branch, a `${…}` template.
        branch: String,
        /// The branch to use when `branch` does not exist.
        fallback_branch: Option<String>,
        /// Look in subdirectories too.
        recursive: bool,
    },
}

const RULE_KEYS: [&str; 3] = ["name", "when", "do"];
const ACTION_KEYS: [&str; 7] = [
    "tasks",
    "discover",
    "arches",
    "match_host_arch",
    "priority",
    "debounce",
    "labels",
];
const DISCOVER_KEYS: [&str; 4] = ["repo", "branch", "fallback_branch", "recursive"];

/// Parse and validate a rules file, reporting every problem with its line
/// and column.
///
/// # Errors
///
/// Every problem found, in source order.
pub fn parse_rules(src: &str) -> Result<RuleSet, Vec<Diagnostic>> {
    let Some(doc) = taskotron_task_format::yaml::parse(src)? else {
        return Ok(RuleSet::default());
    };
    let mut errors = Vec::new();
    let mut rules = Vec::new();
    match &doc.kind {
        _ if doc.is_null() => {}
        taskotron_task_format::yaml::NodeKind::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                if let Some(rule) = parse_rule(item, index, &mut errors) {
                    rules.push(rule);
                }
            }
        }
        _ => errors.push(
            Diagnostic::new(
                doc.pos,
                format!("a rules file is a list of rules, found {}", doc.describe()),
            )
            .with_help("each rule is `- when: {…}` followed by `do: [...]`"),
        ),
    }
    if errors.is_empty() {
        Ok(RuleSet { rules })
    } else {
        errors.sort_by_key(|it| it.pos);
        Err(errors)
    }
}

fn unknown_keys(
    entries: &[(Node, Node)],
    known: &[&str],
    what: &str,
    errors: &mut Vec<Diagnostic>,
) {
    for (key, _) in entries {
        let name = key.key_text();
        if !known.contains(&name.as_str()) {
            let diag = Diagnostic::new(key.pos, format!("unknown {what} key `{name}`"));
            errors.push(
                match taskotron_task_format::diagnostic::did_you_mean(&name, known.iter().copied())
                {
                    Some(near) => diag.with_help(format!("did you mean `{near}`?")),
                    None => diag.with_help(format!("{what} keys: {}", known.join(", "))),
                },
            );
        }
    }
}

fn value_of<'a>(entries: &'a [(Node, Node)], name: &str) -> Option<&'a Node> {
    entries
        .iter()
        .find(|(key, _)| key.key_text() == name)
        .map(|(_, value)| value)
}

fn parse_rule(node: &Node, index: usize, errors: &mut Vec<Diagnostic>) -> Option<Rule> {
    let Some(entries) = node.as_map() else {
        errors.push(Diagnostic::new(
            node.pos,
            format!(
                "a rule is a mapping with `when` and `do`, found {}",
                node.describe()
            ),
        ));
        return None;
    };
    let before = errors.len();
    unknown_keys(entries, &RULE_KEYS, "rule", errors);
    let name = match value_of(entries, "name") {
        Some(node) => text(node, "name", errors).unwrap_or_default(),
        None => format!("rule {}", index + 1),
    };
    let when = match value_of(entries, "when") {
        Some(node) => parse_query(node, errors),
        None => {
            errors.push(
                Diagnostic::new(node.pos, "a rule needs `when`")
                    .with_help("`when: {}` applies the rule to every event"),
            );
            None
        }
    };
    let mut actions = Vec::new();
    match value_of(entries, "do") {
        Some(list) => match list.as_seq() {
            Some([]) => errors.push(Diagnostic::new(list.pos, "`do` needs at least one action")),
            Some(items) => actions.extend(items.iter().filter_map(|it| parse_action(it, errors))),
            None => errors.push(Diagnostic::new(
                list.pos,
                format!("`do` takes a list of actions, found {}", list.describe()),
            )),
        },
        None => errors.push(
            Diagnostic::new(node.pos, "a rule needs `do`")
                .with_help("for example `do: [{tasks: [rpmlint]}]`"),
        ),
    }
    if errors.len() != before {
        return None;
    }
    Some(Rule {
        pos: node.pos,
        name,
        when: when?,
        actions,
    })
}

fn parse_action(node: &Node, errors: &mut Vec<Diagnostic>) -> Option<Action> {
    let Some(entries) = node.as_map() else {
        errors.push(Diagnostic::new(
            node.pos,
            format!(
                "an action is a mapping with `tasks` or `discover`, found {}",
                node.describe()
            ),
        ));
        return None;
    };
    let before = errors.len();
    unknown_keys(entries, &ACTION_KEYS, "action", errors);
    let kind = match (value_of(entries, "tasks"), value_of(entries, "discover")) {
        (Some(_), Some(_)) => {
            errors.push(Diagnostic::new(
                node.pos,
                "an action has `tasks` or `discover`, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(
                Diagnostic::new(node.pos, "an action needs `tasks` or `discover`")
                    .with_help("for example `- tasks: [rpmlint]`"),
            );
            None
        }
        (Some(tasks), None) => names(tasks, "tasks", errors).map(ActionKind::Tasks),
        (None, Some(discover)) => parse_discover(discover, errors),
    };
    let arches = value_of(entries, "arches").and_then(|it| names(it, "arches", errors));
    let match_host_arch = match value_of(entries, "match_host_arch") {
        Some(node) => match node.to_json() {
            serde_json::Value::Bool(it) => it,
            _ => {
                errors.push(Diagnostic::new(
                    node.pos,
                    format!(
                        "`match_host_arch` takes true or false, found {}",
                        node.describe()
                    ),
                ));
                false
            }
        },
        None => false,
    };
    let priority = match value_of(entries, "priority") {
        Some(node) => match node.to_json().as_i64() {
            Some(it) if it.abs() <= 1_000_000 => it,
            _ => {
                errors.push(Diagnostic::new(
                    node.pos,
                    format!(
                        "`priority` takes a whole number between -1000000 and 1000000, found {}",
                        node.describe()
                    ),
                ));
                0
            }
        },
        None => 0,
    };
    let debounce = value_of(entries, "debounce").and_then(|node| {
        let parsed = text(node, "debounce", errors).map(|it| (humantime::parse_duration(&it), it));
        match parsed {
            Some((Ok(it), _)) if it <= Duration::from_secs(7 * 86_400) => Some(it),
            Some((Ok(_), it)) => {
                errors.push(Diagnostic::new(
                    node.pos,
                    format!("`debounce` {it:?} is longer than a week"),
                ));
                None
            }
            Some((Err(err), it)) => {
                errors.push(
                    Diagnostic::new(
                        node.pos,
                        format!("`debounce` {it:?} is not a duration: {err}"),
                    )
                    .with_help("for example `15m` or `90s`"),
                );
                None
            }
            None => None,
        }
    });
    let labels = value_of(entries, "labels")
        .and_then(|it| names(it, "labels", errors))
        .unwrap_or_default();
    if errors.len() != before {
        return None;
    }
    Some(Action {
        pos: node.pos,
        kind: kind?,
        arches,
        match_host_arch,
        priority,
        debounce,
        labels,
    })
}

fn parse_discover(node: &Node, errors: &mut Vec<Diagnostic>) -> Option<ActionKind> {
    let Some(entries) = node.as_map() else {
        errors.push(Diagnostic::new(
            node.pos,
            format!(
                "`discover` takes a mapping with `repo` and `branch`, found {}",
                node.describe()
            ),
        ));
        return None;
    };
    unknown_keys(entries, &DISCOVER_KEYS, "discover", errors);
    let mut template = |name: &str, required: bool| match value_of(entries, name) {
        Some(node) => {
            text(node, name, errors).filter(|it| check_template(it, node.pos, name, errors))
        }
        None => {
            if required {
                errors.push(Diagnostic::new(
                    node.pos,
                    format!("`discover` needs `{name}`"),
                ));
            }
            None
        }
    };
    let repo = template("repo", true);
    let branch = template("branch", true);
    let fallback_branch = template("fallback_branch", false);
    let recursive = match value_of(entries, "recursive") {
        Some(node) => match node.to_json() {
            serde_json::Value::Bool(it) => it,
            _ => {
                errors.push(Diagnostic::new(
                    node.pos,
                    format!("`recursive` takes true or false, found {}", node.describe()),
                ));
                false
            }
        },
        None => false,
    };
    Some(ActionKind::Discover {
        repo: repo?,
        branch: branch?,
        fallback_branch,
        recursive,
    })
}

/// Check a `${field}` template's syntax.
fn check_template(text: &str, pos: Pos, key: &str, errors: &mut Vec<Diagnostic>) -> bool {
    match crate::plan::template_fields(text) {
        Ok(_) => true,
        Err(reason) => {
            errors.push(
                Diagnostic::new(pos, format!("`{key}` {text:?}: {reason}")).with_help(
                    "write `${field}` with a field name of letters, digits, `_` and `.`",
                ),
            );
            false
        }
    }
}

fn text(node: &Node, key: &str, errors: &mut Vec<Diagnostic>) -> Option<String> {
    match node.to_json() {
        serde_json::Value::String(it) if !it.trim().is_empty() => Some(it),
        _ => {
            errors.push(Diagnostic::new(
                node.pos,
                format!(
                    "`{key}` takes a non-empty string, found {}",
                    node.describe()
                ),
            ));
            None
        }
    }
}

/// A non-empty list of names (tasks, arches, labels): letters, digits and
/// `._+-`, no white space.
fn names(node: &Node, key: &str, errors: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let single;
    let items = match &node.kind {
        taskotron_task_format::yaml::NodeKind::Seq(items) => items.as_slice(),
        taskotron_task_format::yaml::NodeKind::Scalar { .. } => {
            single = [node.clone()];
            &single[..]
        }
        taskotron_task_format::yaml::NodeKind::Map(_) => {
            errors.push(Diagnostic::new(
                node.pos,
                format!("`{key}` takes a list of names, found a mapping"),
            ));
            return None;
        }
    };
    if items.is_empty() {
        errors.push(Diagnostic::new(node.pos, format!("`{key}` is empty")));
        return None;
    }
    let before = errors.len();
    let mut out: Vec<String> = Vec::new();
    for item in items {
        match item.to_json() {
            serde_json::Value::String(name)
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._+-/".contains(c)) =>
            {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
            _ => errors.push(
                Diagnostic::new(
                    item.pos,
                    format!("`{key}` holds {}, which is not a name", item.describe()),
                )
                .with_help("names are letters, digits and `._+-/`"),
            ),
        }
    }
    (errors.len() == before).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(src: &str) -> Vec<String> {
        parse_rules(src)
            .expect_err("invalid")
            .iter()
            .map(|it| format!("{}: {}", it.pos, it.message))
            .collect()
    }

    #[test]
    fn the_trigger_example_parses() {
        let rules = parse_rules(
            r"
- when: {message_type: KojiBuildPackageCompleted}
  do:
    - tasks: [rpmlint]
    - tasks: [python-versions, rpmgrill]
      arches: [noarch]
- name: abicheck, not for the big ones
  when:
    message_type: KojiBuildPackageCompleted
    name: {$nin: [kernel, firefox, libreoffice]}
  do:
    - tasks: [abicheck]
      priority: -5
- when:
    message_type: KojiTagChanged
    tag: {$regex: '/^f[0-9]{2}-updates(-testing)?-pending$/'}
  do:
    - tasks: [rpmdeplint]
      debounce: 15m
      labels: [big]
- when: {message_type: KojiBuildPackageCompleted}
  do:
    - discover: {repo: 'https://src.example.org/rpms/${name}', branch: '${distgit_branch}',
                 fallback_branch: rawhide, recursive: true}
",
        )
        .expect("valid rules");
        assert_eq!(rules.rules.len(), 4);
        assert_eq!(rules.rules[0].name, "rule 1");
        assert_eq!(rules.rules[1].name, "abicheck, not for the big ones");
        assert_eq!(rules.rules[1].actions[0].priority, -5);
        let tag = &rules.rules[2].actions[0];
        assert_eq!(tag.debounce, Some(Duration::from_secs(900)));
        assert_eq!(tag.labels, ["big"]);
        assert_eq!(
            rules.rules[0].actions[1].kind,
            ActionKind::Tasks(vec!["python-versions".into(), "rpmgrill".into()])
        );
        assert_eq!(
            rules.rules[3].actions[0].kind,
            ActionKind::Discover {
                repo: "https://src.example.org/rpms/${name}".into(),
                branch: "${distgit_branch}".into(),
                fallback_branch: Some("rawhide".into()),
                recursive: true,
            }
        );
    }

    #[test]
    fn empty_files_have_no_rules() {
        assert!(parse_rules("").expect("empty").rules.is_empty());
        assert!(parse_rules("# nothing\n").expect("empty").rules.is_empty());
        assert!(parse_rules("[]").expect("empty").rules.is_empty());
    }

    #[test]
    fn every_problem_is_located() {
        assert_eq!(
            errors("{when: {}}"),
            ["1:1: a rules file is a list of rules, found a mapping"]
        );
        assert_eq!(
            errors("- when: {}\n  do: [{tasks: [a b]}]\n- whne: {}\n  do: []\n"),
            [
                "2:17: `tasks` holds a string, which is not a name",
                "3:3: unknown rule key `whne`",
                "3:3: a rule needs `when`",
                "4:7: `do` needs at least one action",
            ]
        );
        assert_eq!(
            errors("- when: {}\n  do:\n    - {tasks: [a], discover: {repo: x, branch: y}}\n"),
            ["3:7: an action has `tasks` or `discover`, not both"]
        );
        assert_eq!(
            errors("- when: {}\n  do: [{tasks: a, debounce: soon, priority: high, arches: []}]\n"),
            [
                "2:29: `debounce` \"soon\" is not a duration: expected number at 0",
                "2:45: `priority` takes a whole number between -1000000 and 1000000, found a string",
                "2:59: `arches` is empty",
            ]
        );
        assert_eq!(
            errors("- when: {}\n  do: [{discover: {repo: 'x/${name', brnch: y}}]\n"),
            [
                "2:19: `discover` needs `branch`",
                "2:26: `repo` \"x/${name\": `${` is not closed",
                "2:38: unknown discover key `brnch`",
            ]
        );
        assert_eq!(
            errors("- when: {name: {$regex: '['}}\n  do: [{task: [a]}]\n"),
            [
                "1:25: `$regex` \"[\" does not compile: error: unclosed character class",
                "2:8: an action needs `tasks` or `discover`",
                "2:9: unknown action key `task`",
            ]
        );
    }
}
