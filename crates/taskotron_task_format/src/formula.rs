//! The task formula: libtaskotron's `runtask.yml`, parsed and validated whole.
//!
//! [`parse_formula`] reads the YAML, checks every key, every directive and its
//! parameters, and every variable reference against what is in scope at that
//! action (runner variables, the inputs, and exports of earlier actions). It
//! returns every problem at once, each with its line and column; a formula that
//! comes back `Ok` can run without a validation surprise.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value as Json;
use taskotron_types::{CheckName, ItemType};

use crate::diagnostic::{Diagnostic, Diagnostics, Pos, did_you_mean};
use crate::directives::{self, DirectiveSpec, ParamType, Shape};
use crate::vars::{Segment, parse_template};
use crate::yaml::{self, Node, NodeKind};

/// Variables the runner defines for every task.
pub const RUNNER_VARS: &[&str] = &[
    "arch",
    "artifactsdir",
    "checkname",
    "item",
    "jobid",
    "namespace",
    "taskdir",
    "type",
    "uuid",
    "workdir",
];

/// Keys a formula may have at the top level.
const TOP_KEYS: &[&str] = &[
    "name",
    "namespace",
    "desc",
    "maintainer",
    "input",
    "environment",
    "actions",
    "timeout",
];
/// Keys an action may have besides its directive.
const ACTION_KEYS: &[&str] = &["name", "export", "timeout"];

/// A validated task formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    /// The task's name.
    pub name: String,
    /// The result namespace (`dist`, `pkg`, `scratch`…); `scratch` when not given.
    pub namespace: String,
    /// Free-text description.
    pub desc: Option<String>,
    /// Who maintains the task.
    pub maintainer: Option<String>,
    /// The declared inputs: item type names and/or `arch`.
    pub input_args: Vec<String>,
    /// What the task needs from its environment.
    pub environment: Environment,
    /// The whole task's time limit, when the formula sets one.
    pub timeout: Option<Duration>,
    /// The actions, in order.
    pub actions: Vec<Action>,
}

impl Formula {
    /// The default check name of the task's results: `namespace.name`.
    pub fn checkname(&self) -> String {
        format!("{}.{}", self.namespace, self.name)
    }
}

/// What a task needs from the machine it runs on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Environment {
    /// Packages the task needs installed (`environment.rpm`).
    pub rpm: Vec<String>,
    /// Whether actions need network access; without it the sandbox cuts them off.
    pub network: bool,
}

/// One step of a formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// 1-based position in the formula.
    pub index: usize,
    /// The action's name.
    pub name: String,
    /// Which directive it runs.
    pub directive: &'static DirectiveSpec,
    /// The directive's parameters before substitution.
    pub params: Json,
    /// The variable the directive's return value is stored in.
    pub export: Option<String>,
    /// This action's time limit, when the formula sets one.
    pub timeout: Option<Duration>,
    /// Where the action starts in the formula.
    pub pos: Pos,
}

/// What the formula is validated against.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// The item type the task will run with; `None` checks the formula on its own,
    /// taking every item type of `input.args` as given.
    pub item_type: Option<ItemType>,
}

/// Parse and validate a formula. `origin` names it in diagnostics.
pub fn parse_formula(
    src: &str,
    origin: &str,
    options: &ValidateOptions,
) -> Result<Formula, Diagnostics> {
    let root = match yaml::parse(src) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(Diagnostics::new(
                origin,
                vec![
                    Diagnostic::new(Pos { line: 1, column: 1 }, "the formula is empty")
                        .with_help("a formula needs at least `name` and `actions`"),
                ],
            ));
        }
        Err(errors) => return Err(Diagnostics::new(origin, errors)),
    };
    let mut cx = Cx { diags: Vec::new() };
    let formula = cx.formula(&root, options);
    match formula {
        Some(formula) if cx.diags.is_empty() => Ok(formula),
        _ => Err(Diagnostics::new(origin, cx.diags)),
    }
}

struct Cx {
    diags: Vec<Diagnostic>,
}

impl Cx {
    fn error(&mut self, pos: Pos, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(pos, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    fn formula(&mut self, root: &Node, options: &ValidateOptions) -> Option<Formula> {
        let Some(entries) = root.as_map() else {
            self.error(
                root.pos,
                format!("a formula must be a mapping, found {}", root.describe()),
            )
            .help = Some("start with `name:`, then `actions:`".to_owned());
            return None;
        };
        let mut name = None;
        let mut namespace = None;
        let mut desc = None;
        let mut maintainer = None;
        let mut input_args = Vec::new();
        let mut input_pos = root.pos;
        let mut environment = Environment::default();
        let mut timeout = None;
        let mut actions_node = None;
        for (key, value) in entries {
            let key_text = key.key_text();
            match key_text.as_str() {
                "name" => name = self.string(value, "name"),
                "namespace" => namespace = self.string(value, "namespace"),
                "desc" => desc = self.string(value, "desc"),
                "maintainer" => maintainer = self.string(value, "maintainer"),
                "input" => {
                    input_pos = value.pos;
                    input_args = self.input(value);
                }
                "environment" => environment = self.environment(value),
                "timeout" => timeout = self.duration(value, "timeout"),
                "actions" => actions_node = Some(value),
                other => self.unknown_key(key.pos, other, TOP_KEYS, "at the top level"),
            }
        }
        if name.is_none() && !entries.iter().any(|(k, _)| k.key_text() == "name") {
            self.error(root.pos, "the formula has no `name`").help =
                Some("add `name: my-check`; results are reported as `namespace.name`".into());
        }
        let namespace = namespace.unwrap_or_else(|| "scratch".to_owned());
        if let Some(name) = &name
            && let Err(err) = CheckName::new(format!("{namespace}.{name}"))
        {
            let pos = key_pos(entries, "name").unwrap_or(root.pos);
            self.error(
                pos,
                format!("`{namespace}.{name}` is not a valid check name: {err}"),
            );
        }

        let item_vars = self.item_vars(&input_args, input_pos, options);
        let mut scope: BTreeSet<String> = RUNNER_VARS.iter().map(|it| (*it).to_owned()).collect();
        scope.extend(item_vars);

        let actions = match actions_node {
            None => {
                self.error(root.pos, "the formula has no `actions`").help =
                    Some("add `actions:` with a list of steps".to_owned());
                Vec::new()
            }
            Some(node) => self.actions(node, scope),
        };
        Some(Formula {
            name: name?,
            namespace,
            desc,
            maintainer,
            input_args,
            environment,
            timeout,
            actions,
        })
    }

    fn unknown_key(&mut self, pos: Pos, key: &str, known: &[&str], place: &str) {
        let mut help = format!("known keys {place}: {}", known.join(", "));
        if let Some(close) = did_you_mean(key, known.iter().copied()) {
            help = format!("did you mean `{close}`? {help}");
        }
        self.error(pos, format!("unknown key `{key}` {place}")).help = Some(help);
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            NodeKind::Scalar { value, .. } if !node.is_null() => Some(value.clone()),
            _ => {
                self.error(
                    node.pos,
                    format!("`{what}` must be a string, found {}", node.describe()),
                );
                None
            }
        }
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<String> {
        if let Some(items) = node.as_seq() {
            items
                .iter()
                .filter_map(|it| self.string(it, what))
                .collect()
        } else if node.is_null() {
            Vec::new()
        } else {
            self.error(
                node.pos,
                format!(
                    "`{what}` must be a list of strings, found {}",
                    node.describe()
                ),
            );
            Vec::new()
        }
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let parsed = match node.to_json() {
            Json::Number(n) => n
                .as_u64()
                .map(Duration::from_secs)
                .ok_or_else(|| "a negative or fractional number".to_owned()),
            Json::String(text) => {
                humantime::parse_duration(&text).map_err(|err| format!("`{text}` ({err})"))
            }
            _ => Err(node.describe().to_owned()),
        };
        match parsed {
            Ok(it) if !it.is_zero() => Some(it),
            Ok(_) => {
                self.error(node.pos, format!("`{what}` must be longer than zero"));
                None
            }
            Err(found) => {
                self.error(
                    node.pos,
                    format!("`{what}` must be a duration, found {found}"),
                )
                .help = Some("write e.g. `90s`, `20m` or `1h 30m`, or a number of seconds".into());
                None
            }
        }
    }

    fn input(&mut self, node: &Node) -> Vec<String> {
        let Some(entries) = node.as_map() else {
            self.error(
                node.pos,
                format!("`input` must be a mapping, found {}", node.describe()),
            )
            .help = Some("write `input: {args: [koji_build, arch]}`".to_owned());
            return Vec::new();
        };
        let mut args = Vec::new();
        for (key, value) in entries {
            match key.key_text().as_str() {
                "args" => {
                    let items = value.as_seq().unwrap_or_default();
                    let names = self.string_list(value, "input.args");
                    for (idx, arg) in names.iter().enumerate() {
                        let pos = items.get(idx).map_or(value.pos, |it| it.pos);
                        if arg != "arch" && arg.parse::<ItemType>().is_err() {
                            let known: Vec<&str> = std::iter::once("arch")
                                .chain(ItemType::ALL.iter().map(|it| it.as_str()))
                                .collect();
                            let mut help =
                                format!("inputs are `arch` or an item type: {}", ItemType::names());
                            if let Some(close) = did_you_mean(arg, known) {
                                help = format!("did you mean `{close}`? {help}");
                            }
                            self.error(pos, format!("unknown input `{arg}`")).help = Some(help);
                        }
                    }
                    args = names;
                }
                other => self.unknown_key(key.pos, other, &["args"], "in `input`"),
            }
        }
        args
    }

    /// The item-type-named variables in scope, after checking the declared
    /// item types against the one given.
    fn item_vars(&mut self, args: &[String], pos: Pos, options: &ValidateOptions) -> Vec<String> {
        let declared: Vec<ItemType> = args.iter().filter_map(|it| it.parse().ok()).collect();
        match options.item_type {
            Some(given) => {
                if !declared.is_empty() && !declared.contains(&given) {
                    let wanted: Vec<&str> = declared.iter().map(|it| it.as_str()).collect();
                    self.error(
                        pos,
                        format!(
                            "this task takes a {} item, but it was given a {given} item",
                            wanted.join(" or ")
                        ),
                    )
                    .help = Some(format!("run it with `-t {}`", wanted[0]));
                }
                vec![given.as_str().to_owned()]
            }
            None => declared.iter().map(|it| it.as_str().to_owned()).collect(),
        }
    }

    fn environment(&mut self, node: &Node) -> Environment {
        let mut env = Environment::default();
        let Some(entries) = node.as_map() else {
            self.error(
                node.pos,
                format!("`environment` must be a mapping, found {}", node.describe()),
            );
            return env;
        };
        for (key, value) in entries {
            match key.key_text().as_str() {
                "rpm" => env.rpm = self.string_list(value, "environment.rpm"),
                "network" => match value.to_json() {
                    Json::Bool(it) => env.network = it,
                    _ => {
                        self.error(
                            value.pos,
                            format!(
                                "`environment.network` must be true or false, found {}",
                                value.describe()
                            ),
                        );
                    }
                },
                other => self.unknown_key(key.pos, other, &["rpm", "network"], "in `environment`"),
            }
        }
        env
    }

    fn actions(&mut self, node: &Node, mut scope: BTreeSet<String>) -> Vec<Action> {
        let Some(items) = node.as_seq() else {
            self.error(
                node.pos,
                format!("`actions` must be a list, found {}", node.describe()),
            );
            return Vec::new();
        };
        if items.is_empty() {
            self.error(node.pos, "`actions` is empty").help =
                Some("a task needs at least one action".to_owned());
        }
        // Exports of every action, to explain a reference to a later one.
        let exports: Vec<(usize, String, Pos)> = items
            .iter()
            .enumerate()
            .filter_map(|(idx, it)| {
                let (_, value) = it
                    .as_map()?
                    .iter()
                    .find(|(k, _)| k.key_text() == "export")?;
                Some((idx, value.as_scalar()?.to_owned(), value.pos))
            })
            .collect();
        let mut actions = Vec::new();
        for (idx, item) in items.iter().enumerate() {
            if let Some(action) = self.action(idx, item, &scope, &exports) {
                if let Some(export) = &action.export {
                    scope.insert(export.clone());
                }
                actions.push(action);
            } else if let Some((_, name, _)) = exports.iter().find(|(i, _, _)| *i == idx) {
                // Keep checking later actions as if the export had worked.
                scope.insert(name.clone());
            }
        }
        actions
    }

    fn action(
        &mut self,
        idx: usize,
        node: &Node,
        scope: &BTreeSet<String>,
        exports: &[(usize, String, Pos)],
    ) -> Option<Action> {
        let number = idx + 1;
        let Some(entries) = node.as_map() else {
            self.error(
                node.pos,
                format!(
                    "action {number} must be a mapping, found {}",
                    node.describe()
                ),
            )
            .help = Some(
                "write `- name: …` followed by one directive, e.g. `shell: [make check]`".into(),
            );
            return None;
        };
        let errors_before = self.diags.len();
        let mut name = None;
        let mut export = None;
        let mut timeout = None;
        let mut directive: Option<(&'static DirectiveSpec, &Node, Pos)> = None;
        for (key, value) in entries {
            let key_text = key.key_text();
            match key_text.as_str() {
                "name" => name = self.string(value, "name"),
                "timeout" => timeout = self.duration(value, "timeout"),
                "export" => {
                    export = self.string(value, "export");
                    if let Some(var) = &export {
                        let ident = var
                            .chars()
                            .next()
                            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                            && var.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
                        if !ident {
                            self.error(
                                value.pos,
                                format!("`{var}` is not a valid variable name"),
                            )
                            .help = Some(
                                "use letters, digits and `_`, not starting with a digit".into(),
                            );
                        } else if RUNNER_VARS.contains(&var.as_str()) {
                            self.error(
                                value.pos,
                                format!("`{var}` is a runner variable and cannot be exported to"),
                            )
                            .help = Some(format!("runner variables: {}", RUNNER_VARS.join(", ")));
                        }
                    }
                }
                other => match directives::find(other) {
                    Some(spec) => {
                        if let Some((first, _, first_pos)) = directive {
                            self.error(
                                key.pos,
                                format!("action {number} has a second directive `{other}`"),
                            )
                            .help = Some(format!(
                                "an action runs exactly one directive; `{}` is at line {}. Split it into two actions",
                                first.name, first_pos.line
                            ));
                        } else {
                            directive = Some((spec, value, key.pos));
                        }
                    }
                    None => {
                        let known: Vec<&str> = directives::DIRECTIVES
                            .iter()
                            .map(|it| it.name)
                            .chain(ACTION_KEYS.iter().copied())
                            .collect();
                        let mut help = format!(
                            "known directives: {}; action keys: {}",
                            directives::names(),
                            ACTION_KEYS.join(", ")
                        );
                        if let Some(close) = did_you_mean(other, known) {
                            help = format!("did you mean `{close}`? {help}");
                        }
                        self.error(
                            key.pos,
                            format!("unknown directive or key `{other}` in action {number}"),
                        )
                        .help = Some(help);
                    }
                },
            }
        }
        if name.is_none() && !entries.iter().any(|(k, _)| k.key_text() == "name") {
            self.error(node.pos, format!("action {number} has no `name`"))
                .help =
                Some("give every action a `name:`; logs and the live display use it".into());
        }
        let Some((spec, params, _)) = directive else {
            if self.diags.len() > errors_before {
                // An unknown key was reported: most likely the misspelt directive.
                return None;
            }
            self.error(node.pos, format!("action {number} has no directive"))
                .help = Some(format!("add one of: {}", directives::names()));
            return None;
        };
        self.params(spec, params);
        self.references(params, scope, idx, exports);
        if self.diags.len() > errors_before {
            return None;
        }
        Some(Action {
            index: number,
            name: name.unwrap_or_default(),
            directive: spec,
            params: params.to_json(),
            export,
            timeout,
            pos: node.pos,
        })
    }

    fn params(&mut self, spec: &DirectiveSpec, node: &Node) {
        match spec.shape {
            Shape::Commands => {
                let help = "write e.g. `shell: [make check]` or `shell: \"./check.sh ${item}\"`; quote a command that holds `: `";
                let command_ok = |it: &Node| {
                    it.as_scalar().is_some()
                        && matches!(it.to_json(), Json::String(_) | Json::Number(_))
                };
                match &node.kind {
                    NodeKind::Seq(items) => {
                        for (idx, item) in items.iter().enumerate() {
                            if !command_ok(item) {
                                self.error(
                                    item.pos,
                                    format!(
                                        "command {} of `{}` must be text, found {}",
                                        idx + 1,
                                        spec.name,
                                        item.describe()
                                    ),
                                )
                                .help = Some(help.into());
                            }
                        }
                    }
                    _ if command_ok(node) => {}
                    _ => {
                        self.error(
                            node.pos,
                            format!(
                                "`{}` takes a command or a list of commands, found {}",
                                spec.name,
                                node.describe()
                            ),
                        )
                        .help = Some(help.into());
                    }
                }
            }
            Shape::Params {
                params,
                extra_kwargs,
                exactly_one_of,
                needs_when,
            } => {
                let Some(entries) = node.as_map() else {
                    self.error(
                        node.pos,
                        format!(
                            "`{}` takes a mapping of parameters, found {}",
                            spec.name,
                            node.describe()
                        ),
                    )
                    .help = Some(format!(
                        "parameters of `{}`: {}",
                        spec.name,
                        param_names(params)
                    ));
                    return;
                };
                for (key, value) in entries {
                    let key_text = key.key_text();
                    match params.iter().find(|it| it.name == key_text) {
                        Some(param) => self.param_type(spec, param.name, param.ty, value),
                        None if extra_kwargs => {}
                        None => {
                            let mut help =
                                format!("parameters of `{}`: {}", spec.name, param_names(params));
                            if let Some(close) =
                                did_you_mean(&key_text, params.iter().map(|it| it.name))
                            {
                                help = format!("did you mean `{close}`? {help}");
                            }
                            self.error(
                                key.pos,
                                format!("`{}` has no parameter `{key_text}`", spec.name),
                            )
                            .help = Some(help);
                        }
                    }
                }
                let given = |name: &str| entries.iter().any(|(k, _)| k.key_text() == name);
                for param in params.iter().filter(|it| it.required) {
                    if !given(param.name) {
                        self.error(
                            node.pos,
                            format!("`{}` needs the parameter `{}`", spec.name, param.name),
                        )
                        .help = Some(format!("`{}` must be {}", param.name, param.ty.expected()));
                    }
                }
                let value_of = |name: &str| {
                    entries
                        .iter()
                        .find(|(k, _)| k.key_text() == name)
                        .and_then(|(_, v)| v.as_scalar().map(str::to_owned))
                };
                for (rule, need) in
                    crate::directives::missing_needs(needs_when, value_of, |name| given(name))
                {
                    self.error(
                        node.pos,
                        format!(
                            "`{}` with `{}: {}` needs the parameter `{need}`",
                            spec.name, rule.param, rule.value
                        ),
                    );
                }
                for group in exactly_one_of {
                    let count = group.iter().filter(|it| given(it)).count();
                    if count != 1 {
                        let which = if count == 0 {
                            "needs one"
                        } else {
                            "takes only one"
                        };
                        self.error(
                            node.pos,
                            format!("`{}` {which} of `{}`", spec.name, group.join("` or `")),
                        );
                    }
                }
            }
        }
    }

    fn param_type(&mut self, spec: &DirectiveSpec, name: &str, ty: ParamType, value: &Node) {
        // A value that is one variable reference is checked after substitution.
        if let Some(text) = value.as_scalar()
            && let Ok([Segment::Var(_)]) = parse_template(text).as_deref()
        {
            return;
        }
        if let Err(err) = ty.check(&value.to_json()) {
            self.error(
                value.pos,
                format!("`{}` parameter `{name}`: {err}", spec.name),
            );
        }
    }

    fn references(
        &mut self,
        node: &Node,
        scope: &BTreeSet<String>,
        idx: usize,
        exports: &[(usize, String, Pos)],
    ) {
        match &node.kind {
            NodeKind::Scalar { value, .. } => self.template(value, node.pos, scope, idx, exports),
            NodeKind::Seq(items) => {
                for it in items {
                    self.references(it, scope, idx, exports);
                }
            }
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    self.references(key, scope, idx, exports);
                    self.references(value, scope, idx, exports);
                }
            }
        }
    }

    fn template(
        &mut self,
        text: &str,
        pos: Pos,
        scope: &BTreeSet<String>,
        idx: usize,
        exports: &[(usize, String, Pos)],
    ) {
        let segments = match parse_template(text) {
            Ok(it) => it,
            Err(err) => {
                self.error(pos, err.message).help = Some("write `$$` for a literal `$`".to_owned());
                return;
            }
        };
        for segment in segments {
            let Segment::Var(var) = segment else { continue };
            if scope.contains(&var.name) {
                continue;
            }
            let mut help = format!(
                "variables in scope here: {}",
                scope
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some((later, _, export_pos)) =
                exports.iter().find(|(i, n, _)| *n == var.name && *i >= idx)
            {
                let exporter = if *later == idx {
                    format!(
                        "this action (line {}), so only later actions can use it",
                        export_pos.line
                    )
                } else {
                    format!(
                        "action {} (line {}), which runs after this one",
                        later + 1,
                        export_pos.line
                    )
                };
                help = format!("`{}` is exported by {exporter}; {help}", var.name);
            } else if let Some(close) = did_you_mean(&var.name, scope.iter().map(String::as_str)) {
                help = format!("did you mean `{close}`? {help}");
            }
            self.error(pos, format!("unknown variable `{}`", var.name))
                .help = Some(help);
        }
    }
}

fn key_pos(entries: &[(Node, Node)], key: &str) -> Option<Pos> {
    entries
        .iter()
        .find(|(k, _)| k.key_text() == key)
        .map(|(k, _)| k.pos)
}

fn param_names(params: &[directives::ParamSpec]) -> String {
    params
        .iter()
        .map(|it| it.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
