//! From one event to the jobs the rules ask for.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value as Json;

use crate::rules::{ActionKind, RuleSet};
use crate::{Fact, fact};

/// What planning needs besides the rules and the event.
#[derive(Debug, Clone)]
pub struct PlanContext {
    /// The architectures a `tasks` action without `arches` runs for (the
    /// old trigger's `valid_arches`).
    pub arches: Vec<String>,
}

impl Default for PlanContext {
    fn default() -> PlanContext {
        PlanContext {
            arches: vec!["x86_64".into()],
        }
    }
}

/// One job the rules ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedJob {
    /// The task (check) to run.
    pub task: String,
    /// The architecture it runs for (`noarch` for arch-independent checks).
    pub arch: String,
    /// The item's type.
    pub item_type: String,
    /// The item.
    pub item: String,
    /// The item's revision.
    pub item_revision: String,
    /// Higher runs first.
    pub priority: i64,
    /// Wait this long, folding further events into the waiting job.
    #[serde(with = "humantime_opt")]
    pub debounce: Option<Duration>,
    /// The job needs a worker of architecture `arch`.
    pub match_host_arch: bool,
    /// Worker labels the job needs.
    pub labels: Vec<String>,
    /// The name of the rule that asked first.
    pub rule: String,
}

/// A repository to look for task formulas in, for this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    /// The repository, its `${…}` filled in.
    pub repo: String,
    /// The branch.
    pub branch: String,
    /// The branch to use when `branch` does not exist.
    pub fallback_branch: Option<String>,
    /// Look in subdirectories too.
    pub recursive: bool,
    /// The architectures the discovered tasks run for.
    pub arches: Vec<String>,
    /// The name of the rule.
    pub rule: String,
}

/// Everything the rules ask for one event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The names of the rules whose `when` matched, in order.
    pub matched: Vec<String>,
    /// The jobs, one per (task, arch), in the order first asked.
    pub jobs: Vec<PlannedJob>,
    /// Repositories to discover tasks in.
    pub discoveries: Vec<Discovery>,
    /// Problems that skipped part of an action (a `${field}` the event does
    /// not have).
    pub notes: Vec<String>,
    /// Tasks a rule about this kind of event left out because its other
    /// conditions did not hold, in words (`task `T` excluded by rule `R`:
    /// …`), for the expected-results ledger.
    pub excluded: Vec<String>,
}

/// Evaluate `rules` on `fact`.
#[must_use]
pub fn plan(rules: &RuleSet, fact: &Fact, context: &PlanContext) -> Plan {
    let mut out = Plan::default();
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let variables = variables(fact);
    for rule in &rules.rules {
        if !rule.when.matches(fact) {
            if let Some(failing) = rule.when.exclusion(fact) {
                let tests = failing.join(", ");
                for action in &rule.actions {
                    let what: Vec<String> = match &action.kind {
                        ActionKind::Tasks(tasks) => {
                            tasks.iter().map(|it| format!("task `{it}`")).collect()
                        }
                        ActionKind::Discover { repo, .. } => {
                            vec![format!("tasks to discover in `{repo}`")]
                        }
                    };
                    for it in what {
                        out.excluded.push(format!(
                            "{it} excluded by rule `{}`: its test of {tests} does not hold",
                            rule.name
                        ));
                    }
                }
            }
            continue;
        }
        out.matched.push(rule.name.clone());
        for action in &rule.actions {
            let arches = action
                .arches
                .clone()
                .unwrap_or_else(|| context.arches.clone());
            match &action.kind {
                ActionKind::Tasks(tasks) => {
                    for task in tasks {
                        for arch in &arches {
                            let key = (task.clone(), arch.clone());
                            if seen.contains_key(&key) {
                                continue;
                            }
                            seen.insert(key, out.jobs.len());
                            out.jobs.push(PlannedJob {
                                task: task.clone(),
                                arch: arch.clone(),
                                item_type: fact.item_type().to_owned(),
                                item: fact.item().to_owned(),
                                item_revision: fact.item_revision().to_owned(),
                                priority: action.priority,
                                debounce: action.debounce,
                                match_host_arch: action.match_host_arch && arch != "noarch",
                                labels: action.labels.clone(),
                                rule: rule.name.clone(),
                            });
                        }
                    }
                }
                ActionKind::Discover {
                    repo,
                    branch,
                    fallback_branch,
                    recursive,
                } => {
                    let fill = |template: &str| fill(template, &variables);
                    let filled = (
                        fill(repo),
                        fill(branch),
                        fallback_branch.as_deref().map(fill).transpose(),
                    );
                    match filled {
                        (Ok(repo), Ok(branch), Ok(fallback_branch)) => {
                            out.discoveries.push(Discovery {
                                repo,
                                branch,
                                fallback_branch,
                                recursive: *recursive,
                                arches,
                                rule: rule.name.clone(),
                            });
                        }
                        (Err(missing), _, _) | (_, Err(missing), _) | (_, _, Err(missing)) => {
                            out.notes.push(format!(
                                "{}: discover skipped: the event has no text field `{missing}`",
                                rule.name
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The text fields a template may use: the fact's strings and numbers, and
/// `distgit_branch` from a build's `release` when the event does not say.
fn variables(fact: &Fact) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in fact.fields() {
        match value {
            Json::String(it) => {
                out.insert(key.clone(), it.clone());
            }
            Json::Number(it) => {
                out.insert(key.clone(), it.to_string());
            }
            _ => {}
        }
    }
    if !out.contains_key("distgit_branch")
        && let Some(branch) = fact.text("release").and_then(fact::distgit_branch)
    {
        out.insert("distgit_branch".into(), branch);
    }
    out
}

/// The `${field}` names of a template, or why it is malformed.
pub(crate) fn template_fields(text: &str) -> Result<Vec<&str>, &'static str> {
    let mut fields = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("`${` is not closed");
        };
        let name = &after[..end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            return Err("a `${…}` holds something that is not a field name");
        }
        fields.push(name);
        rest = &after[end + 1..];
    }
    Ok(fields)
}

fn fill(template: &str, variables: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').unwrap_or(after.len());
        let name = &after[..end];
        match variables.get(name) {
            Some(value) => out.push_str(value),
            None => return Err(name.to_owned()),
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

mod humantime_opt {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(it) => serializer.collect_str(&humantime::format_duration(*it)),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parse_rules;

    const RULES: &str = r"
- when: {message_type: KojiBuildPackageCompleted}
  do:
    - tasks: [rpmlint]
    - tasks: [python-versions]
      arches: [noarch]
- name: abi
  when:
    message_type: KojiBuildPackageCompleted
    name: {$nin: [kernel]}
  do:
    - tasks: [abicheck, rpmlint]
      match_host_arch: true
    - discover: {repo: 'https://src.example.org/rpms/${name}.git', branch: '${distgit_branch}', fallback_branch: rawhide}
- when: {message_type: BodhiUpdateReady}
  do:
    - tasks: [depcheck]
      arches: [x86_64]
    - discover: {repo: 'x/${nothing}', branch: b}
";

    fn build(name: &str) -> Fact {
        let nvr = format!("{name}-1.0-1.fc44");
        Fact::new("KojiBuildPackageCompleted", "koji_build", &nvr, &nvr)
            .with("name", name)
            .with("release", "1.fc44")
    }

    #[test]
    fn rules_about_the_event_say_what_they_excluded() {
        let rules = parse_rules(RULES).expect("rules");
        let kernel = plan(&rules, &build("kernel"), &PlanContext::default());
        assert_eq!(kernel.matched, ["rule 1"]);
        assert_eq!(
            kernel.excluded,
            [
                "task `abicheck` excluded by rule `abi`: its test of name does not hold",
                "task `rpmlint` excluded by rule `abi`: its test of name does not hold",
                "tasks to discover in `https://src.example.org/rpms/${name}.git` excluded by \
                 rule `abi`: its test of name does not hold",
            ]
        );
        // A rule about other events excludes nothing; neither does one
        // that matched.
        assert!(
            plan(&rules, &build("foo"), &PlanContext::default())
                .excluded
                .is_empty()
        );
    }

    #[test]
    fn one_job_per_task_and_arch() {
        let rules = parse_rules(RULES).expect("rules");
        let context = PlanContext {
            arches: vec!["x86_64".into(), "aarch64".into()],
        };
        let plan = plan(&rules, &build("foo"), &context);
        assert_eq!(plan.matched, ["rule 1", "abi"]);
        let jobs: Vec<String> = plan
            .jobs
            .iter()
            .map(|it| {
                format!(
                    "{} {} {} host={}",
                    it.task, it.arch, it.rule, it.match_host_arch
                )
            })
            .collect();
        assert_eq!(
            jobs,
            [
                "rpmlint x86_64 rule 1 host=false",
                "rpmlint aarch64 rule 1 host=false",
                "python-versions noarch rule 1 host=false",
                "abicheck x86_64 abi host=true",
                "abicheck aarch64 abi host=true",
            ]
        );
        assert_eq!(plan.jobs[0].item, "foo-1.0-1.fc44");
        assert_eq!(plan.jobs[0].item_type, "koji_build");
        assert_eq!(
            plan.discoveries,
            [Discovery {
                repo: "https://src.example.org/rpms/foo.git".into(),
                branch: "f44".into(),
                fallback_branch: Some("rawhide".into()),
                recursive: false,
                arches: context.arches.clone(),
                rule: "abi".into(),
            }]
        );
        let kernel = super::plan(&rules, &build("kernel"), &context);
        assert_eq!(kernel.matched, ["rule 1"]);
        assert_eq!(kernel.jobs.len(), 3);
        assert!(kernel.discoveries.is_empty());
    }

    #[test]
    fn missing_template_fields_are_noted_not_guessed() {
        let rules = parse_rules(RULES).expect("rules");
        let update = Fact::from_json(json!({
            "message_type": "BodhiUpdateReady",
            "item_type": "bodhi_update",
            "item": "FEDORA-2026-1",
            "item_revision": "abc",
        }))
        .expect("fact");
        let plan = plan(&rules, &update, &PlanContext::default());
        assert_eq!(plan.jobs.len(), 1);
        assert_eq!(plan.jobs[0].item_revision, "abc");
        assert!(plan.discoveries.is_empty());
        assert_eq!(
            plan.notes,
            ["rule 3: discover skipped: the event has no text field `nothing`"]
        );
    }

    #[test]
    fn unmatched_events_plan_nothing() {
        let rules = parse_rules(RULES).expect("rules");
        let fact = Fact::new("ComposeCompleted", "compose", "Fedora-1", "Fedora-1");
        assert_eq!(
            plan(&rules, &fact, &PlanContext::default()),
            Plan::default()
        );
    }

    #[test]
    fn templates_are_checked() {
        assert_eq!(template_fields("a${b}c${d.e}"), Ok(vec!["b", "d.e"]));
        assert_eq!(template_fields("plain"), Ok(vec![]));
        assert!(template_fields("${").is_err());
        assert!(template_fields("${a b}").is_err());
        assert!(template_fields("${}").is_err());
    }
}
