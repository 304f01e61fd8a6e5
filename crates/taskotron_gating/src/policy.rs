//! Greenwave's policy files: a stream of `--- !Policy` documents, each with
//! rules tagged `!PassingTestCaseRule` or `!RemoteRule`.
//!
//! [`parse_policies`] reads a whole file and returns every policy, or every
//! problem at once, each with its line and column and, where it helps, a
//! hint. Server policies ([`Origin::Server`]) need an `id`, product versions,
//! decision contexts and subject types; remote ones (`gating.yaml` in
//! dist-git, [`Origin::Remote`]) default the product versions and subject
//! type to `*` and may not hold a `RemoteRule`.

use chrono::{NaiveDate, NaiveDateTime};
use taskotron_task_format::diagnostic::{Diagnostic, Pos, did_you_mean};
use taskotron_task_format::yaml::{Node, NodeKind, parse_stream};

use crate::glob::any_match;

/// Where a policy file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The server's own policies.
    Server,
    /// A package's `gating.yaml`, read for a `RemoteRule`.
    Remote,
}

/// One policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its id (remote policies may have none).
    pub id: Option<String>,
    /// Globs of the product versions it applies to.
    pub product_versions: Vec<String>,
    /// The decision contexts it applies to.
    pub decision_contexts: Vec<String>,
    /// The subject types it applies to (`*` for any).
    pub subject_types: Vec<String>,
    /// What it requires; none means always satisfied.
    pub rules: Vec<Rule>,
    /// Globs of the package names it applies to (empty: all).
    pub packages: Vec<String>,
    /// Globs of the package names it never applies to; they win over `packages`.
    pub excluded_packages: Vec<String>,
    /// Where the policy starts in its file.
    pub pos: Pos,
}

/// A rule of a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `!PassingTestCaseRule`: the test case's latest results must pass.
    PassingTestCase {
        /// The test case.
        test_case_name: String,
        /// Only results whose `scenario` is this.
        scenario: Option<String>,
        /// The rule applies to builds made at or after this time (UTC).
        valid_since: Option<NaiveDateTime>,
        /// The rule applies to builds made before this time (UTC).
        valid_until: Option<NaiveDateTime>,
        /// Where it is in the file.
        pos: Pos,
    },
    /// `!RemoteRule`: the policies of the package's `gating.yaml` also apply.
    Remote {
        /// URL templates to fetch `gating.yaml` from; empty for the default.
        sources: Vec<String>,
        /// Whether a missing `gating.yaml` fails the decision.
        required: bool,
        /// Where it is in the file.
        pos: Pos,
    },
}

/// Whether a policy applies to a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// It applies.
    Yes,
    /// It does not.
    No,
    /// It would apply, but the package is excluded.
    Excluded,
}

impl Policy {
    /// Whether the policy applies to a decision about a subject of
    /// `subject_type` in `product_version` and `decision_context`;
    /// `package` is the subject's package name when the subject is an NVR.
    pub fn applies(
        &self,
        decision_context: &str,
        product_version: &str,
        subject_type: &str,
        package: Option<&str>,
    ) -> Applies {
        let context = self
            .decision_contexts
            .iter()
            .any(|it| it == decision_context);
        let subject = self
            .subject_types
            .iter()
            .any(|it| it == "*" || it == subject_type);
        if !context || !subject || !any_match(&self.product_versions, product_version) {
            return Applies::No;
        }
        let Some(package) = package else {
            return Applies::Yes;
        };
        if any_match(&self.excluded_packages, package) {
            return Applies::Excluded;
        }
        if self.packages.is_empty() || any_match(&self.packages, package) {
            Applies::Yes
        } else {
            Applies::No
        }
    }

    /// A name for messages: the id, or where the policy is.
    pub fn label(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| format!("the policy at line {}", self.pos.line))
    }
}

const POLICY_KEYS: [&str; 11] = [
    "id",
    "product_versions",
    "decision_context",
    "decision_contexts",
    "subject_type",
    "subject_types",
    "rules",
    "packages",
    "excluded_packages",
    "relevance_key",
    "relevance_value",
];
const RULE_TAGS: [&str; 2] = ["PassingTestCaseRule", "RemoteRule"];
const OBSOLETE_RULE_TAGS: [&str; 2] = ["PackageSpecificBuild", "FedoraAtomicCi"];

/// Parse every policy of a file.
pub fn parse_policies(src: &str, origin: Origin) -> Result<Vec<Policy>, Vec<Diagnostic>> {
    let docs = parse_stream(src)?;
    let mut reader = Reader::default();
    let mut policies = Vec::new();
    for doc in &docs {
        if let Some(policy) = reader.policy(doc, origin) {
            policies.push(policy);
        }
    }
    if origin == Origin::Server {
        let mut seen: Vec<(&str, Pos)> = Vec::new();
        for policy in &policies {
            let Some(id) = policy.id.as_deref() else {
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(it, _)| *it == id) {
                reader.errors.push(
                    Diagnostic::new(policy.pos, format!("policy id `{id}` is used twice"))
                        .with_help(format!("the first is at line {}", first.line)),
                );
            } else {
                seen.push((id, policy.pos));
            }
        }
    }
    if reader.errors.is_empty() {
        Ok(policies)
    } else {
        Err(reader.errors)
    }
}

#[derive(Default)]
struct Reader {
    errors: Vec<Diagnostic>,
}

impl Reader {
    fn error(&mut self, pos: Pos, message: impl Into<String>) -> &mut Diagnostic {
        self.errors.push(Diagnostic::new(pos, message));
        let last = self.errors.len() - 1;
        &mut self.errors[last]
    }

    fn policy(&mut self, doc: &Node, origin: Origin) -> Option<Policy> {
        match doc.tag.as_deref() {
            Some("Policy") => {}
            Some(other) => {
                self.error(doc.pos, format!("`!{other}` is not a policy"))
                    .help = Some("each document of a policy file starts with `--- !Policy`".into());
                return None;
            }
            None => {
                self.error(doc.pos, "a policy document must be tagged `!Policy`")
                    .help = Some("start the document with `--- !Policy`".into());
                return None;
            }
        }
        let Some(entries) = doc.as_map() else {
            self.error(
                doc.pos,
                format!("a policy is a mapping, found {}", doc.describe()),
            );
            return None;
        };
        let errors_before = self.errors.len();
        self.unknown_keys(entries, &POLICY_KEYS, |name| {
            (
                format!("unknown policy key `{name}`"),
                format!("policy keys: {}", POLICY_KEYS.join(", ")),
            )
        });
        let get = |name: &str| value_of(entries, name);

        let id = match get("id") {
            Some(node) => self.text(node, "id"),
            None => {
                if origin == Origin::Server {
                    self.error(doc.pos, "the policy has no `id`");
                }
                None
            }
        };
        let product_versions = match get("product_versions") {
            Some(node) => self.list(node, "product_versions", false),
            None if origin == Origin::Remote => vec!["*".to_owned()],
            None => {
                self.error(doc.pos, "the policy has no `product_versions`")
                    .help = Some("e.g. `product_versions: [fedora-*]`".into());
                Vec::new()
            }
        };
        let decision_contexts = self.one_of(
            doc.pos,
            get("decision_context"),
            get("decision_contexts"),
            ("decision_context", "decision_contexts"),
            None,
        );
        let subject_types = self.one_of(
            doc.pos,
            get("subject_type"),
            get("subject_types"),
            ("subject_type", "subject_types"),
            (origin == Origin::Remote).then_some("*"),
        );
        let rules = match get("rules") {
            None => {
                self.error(doc.pos, "the policy has no `rules`").help =
                    Some("give `rules: []` for a policy that is always satisfied".into());
                Vec::new()
            }
            Some(node) => match node.as_seq() {
                Some(items) => items
                    .iter()
                    .filter_map(|it| self.rule(it, origin))
                    .collect(),
                None if node.is_null() => Vec::new(),
                None => {
                    self.error(
                        node.pos,
                        format!("`rules` must be a list, found {}", node.describe()),
                    );
                    Vec::new()
                }
            },
        };
        let packages = get("packages").map_or_else(Vec::new, |it| self.list(it, "packages", true));
        let excluded_packages = get("excluded_packages")
            .map_or_else(Vec::new, |it| self.list(it, "excluded_packages", true));
        for name in ["relevance_key", "relevance_value"] {
            if let Some(node) = get(name) {
                self.text(node, name);
            }
        }
        (self.errors.len() == errors_before).then_some(Policy {
            id,
            product_versions,
            decision_contexts,
            subject_types,
            rules,
            packages,
            excluded_packages,
            pos: doc.pos,
        })
    }

    /// Exactly one of a singular key and its plural.
    fn one_of(
        &mut self,
        pos: Pos,
        one: Option<&Node>,
        many: Option<&Node>,
        (one_name, many_name): (&str, &str),
        default: Option<&str>,
    ) -> Vec<String> {
        match (one, many) {
            (Some(node), None) => self.text(node, one_name).into_iter().collect(),
            (None, Some(node)) => self.list(node, many_name, false),
            (Some(node), Some(_)) => {
                self.error(
                    node.pos,
                    format!("give `{one_name}` or `{many_name}`, not both"),
                );
                Vec::new()
            }
            (None, None) => match default {
                Some(it) => vec![it.to_owned()],
                None => {
                    self.error(
                        pos,
                        format!("the policy has no `{one_name}` or `{many_name}`"),
                    );
                    Vec::new()
                }
            },
        }
    }

    fn rule(&mut self, node: &Node, origin: Origin) -> Option<Rule> {
        let tag = match node.tag.as_deref() {
            Some(tag) if RULE_TAGS.contains(&tag) => tag,
            Some(tag) if OBSOLETE_RULE_TAGS.contains(&tag) => {
                self.error(
                    node.pos,
                    format!("`!{tag}` is obsolete and no longer supported"),
                )
                .help = Some("use `!PassingTestCaseRule` or `!RemoteRule`".into());
                return None;
            }
            Some(tag) => {
                let mut help = "rules are `!PassingTestCaseRule` or `!RemoteRule`".to_owned();
                if let Some(close) = did_you_mean(tag, RULE_TAGS) {
                    help = format!("did you mean `!{close}`? {help}");
                }
                self.error(node.pos, format!("unknown rule `!{tag}`")).help = Some(help);
                return None;
            }
            None => {
                self.error(
                    node.pos,
                    "a rule must be tagged `!PassingTestCaseRule` or `!RemoteRule`",
                );
                return None;
            }
        };
        let empty: &[(Node, Node)] = &[];
        let entries = match node.as_map() {
            Some(entries) => entries,
            None if node.is_null() => empty,
            None => {
                self.error(
                    node.pos,
                    format!("`!{tag}` takes a mapping, found {}", node.describe()),
                );
                return None;
            }
        };
        let known: &[&str] = if tag == "RemoteRule" {
            &["sources", "required"]
        } else {
            &["test_case_name", "scenario", "valid_since", "valid_until"]
        };
        let before = self.errors.len();
        self.unknown_keys(entries, known, |name| {
            (
                format!("`!{tag}` has no key `{name}`"),
                format!("`!{tag}` takes {}", known.join(", ")),
            )
        });
        let get = |name: &str| value_of(entries, name);
        let rule = if tag == "RemoteRule" {
            if origin == Origin::Remote {
                self.error(
                    node.pos,
                    "a `gating.yaml` policy may not hold a `!RemoteRule`",
                );
            }
            let sources = get("sources").map_or_else(Vec::new, |it| self.list(it, "sources", true));
            let required = match get("required") {
                None => false,
                Some(value) => match (value.as_scalar(), &value.kind) {
                    (Some("true"), NodeKind::Scalar { plain: true, .. }) => true,
                    (Some("false"), NodeKind::Scalar { plain: true, .. }) => false,
                    _ => {
                        self.error(value.pos, "`required` must be true or false");
                        false
                    }
                },
            };
            Rule::Remote {
                sources,
                required,
                pos: node.pos,
            }
        } else {
            let test_case_name = match get("test_case_name") {
                Some(value) => self.text(value, "test_case_name").unwrap_or_default(),
                None => {
                    self.error(node.pos, "`!PassingTestCaseRule` needs `test_case_name`");
                    String::new()
                }
            };
            let scenario = get("scenario").and_then(|it| self.text(it, "scenario"));
            let valid_since = get("valid_since").and_then(|it| self.date(it, "valid_since"));
            let valid_until = get("valid_until").and_then(|it| self.date(it, "valid_until"));
            if let (Some(since), Some(until)) = (valid_since, valid_until)
                && since >= until
            {
                self.error(node.pos, "`valid_since` must be before `valid_until`");
            }
            Rule::PassingTestCase {
                test_case_name,
                scenario,
                valid_since,
                valid_until,
                pos: node.pos,
            }
        };
        (self.errors.len() == before).then_some(rule)
    }

    /// Report every key not in `known`, with the message and help `describe`
    /// gives for it and a did-you-mean hint.
    fn unknown_keys(
        &mut self,
        entries: &[(Node, Node)],
        known: &[&str],
        describe: impl Fn(&str) -> (String, String),
    ) {
        for (key, _) in entries {
            let name = key.key_text();
            if !known.contains(&name.as_str()) {
                let (message, mut help) = describe(&name);
                if let Some(close) = did_you_mean(&name, known.iter().copied()) {
                    help = format!("did you mean `{close}`? {help}");
                }
                self.error(key.pos, message).help = Some(help);
            }
        }
    }

    fn text(&mut self, node: &Node, name: &str) -> Option<String> {
        match node.as_scalar() {
            Some(text) if !(node.is_null() || text.is_empty()) => Some(text.to_owned()),
            _ => {
                self.error(
                    node.pos,
                    format!(
                        "`{name}` must be a non-empty string, found {}",
                        node.describe()
                    ),
                );
                None
            }
        }
    }

    fn list(&mut self, node: &Node, name: &str, may_be_empty: bool) -> Vec<String> {
        let Some(items) = node.as_seq() else {
            self.error(
                node.pos,
                format!(
                    "`{name}` must be a list of strings, found {}",
                    node.describe()
                ),
            );
            return Vec::new();
        };
        if items.is_empty() && !may_be_empty {
            self.error(node.pos, format!("`{name}` must not be empty"));
        }
        items.iter().filter_map(|it| self.text(it, name)).collect()
    }

    fn date(&mut self, node: &Node, name: &str) -> Option<NaiveDateTime> {
        let text = self.text(node, name)?;
        let parsed = chrono::DateTime::parse_from_rfc3339(&text)
            .map(|it| it.naive_utc())
            .ok()
            .or_else(|| NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").ok())
            .or_else(|| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S").ok())
            .or_else(|| {
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .ok()
                    .and_then(|it| it.and_hms_opt(0, 0, 0))
            });
        if parsed.is_none() {
            self.error(node.pos, format!("`{name}` {text:?} is not a date"))
                .help = Some("write e.g. 2026-11-27 or 2026-11-27T10:00:00Z".into());
        }
        parsed
    }
}

/// The value of `name` in a mapping's entries.
fn value_of<'a>(entries: &'a [(Node, Node)], name: &str) -> Option<&'a Node> {
    entries
        .iter()
        .find(|(key, _)| key.key_text() == name)
        .map(|(_, value)| value)
}
