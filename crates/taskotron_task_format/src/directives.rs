//! What each directive accepts: the table the validator and the runner share.
//!
//! The runner implements the directives; this table says which parameters each
//! takes and of what type, so that a formula is checked completely before any
//! action runs.

use serde_json::Value as Json;

use crate::vars::describe;

/// The type a directive parameter must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Text (numbers are accepted and read as text).
    String,
    /// `true` or `false`.
    Bool,
    /// A whole number.
    Integer,
    /// A list of text values.
    StringList,
    /// One text value or a list of them.
    StringOrList,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// Anything.
    Any,
}

impl ParamType {
    /// How the type reads in "expected …" messages.
    pub fn expected(self) -> String {
        match self {
            ParamType::String => "a string".to_owned(),
            ParamType::Bool => "true or false".to_owned(),
            ParamType::Integer => "a whole number".to_owned(),
            ParamType::StringList => "a list of strings".to_owned(),
            ParamType::StringOrList => "a string or a list of strings".to_owned(),
            ParamType::OneOf(words) => format!("one of {}", words.join(", ")),
            ParamType::Any => "any value".to_owned(),
        }
    }

    /// Check a value (after substitution) against the type.
    pub fn check(self, value: &Json) -> Result<(), String> {
        let scalar_text = |v: &Json| matches!(v, Json::String(_) | Json::Number(_));
        let ok = match self {
            ParamType::String => scalar_text(value),
            ParamType::Bool => value.is_boolean(),
            ParamType::Integer => value.is_i64() || value.is_u64(),
            ParamType::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(scalar_text)),
            ParamType::StringOrList => {
                scalar_text(value)
                    || value
                        .as_array()
                        .is_some_and(|items| items.iter().all(scalar_text))
            }
            ParamType::OneOf(words) => value.as_str().is_some_and(|it| words.contains(&it)),
            ParamType::Any => true,
        };
        if ok {
            Ok(())
        } else {
            let found = match value {
                Json::String(it) => format!("`{it}`"),
                other => describe(other).to_owned(),
            };
            Err(format!("expected {}, found {found}", self.expected()))
        }
    }
}

/// One parameter of a directive.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// The parameter's key.
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// Whether the formula must give it.
    pub required: bool,
}

const fn req(name: &'static str, ty: ParamType) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: ParamType) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        required: false,
    }
}

/// "When `param` is `value`, the parameters `needs` must be given."
#[derive(Debug, Clone, Copy)]
pub struct NeedsWhen {
    /// The deciding parameter.
    pub param: &'static str,
    /// Its value.
    pub value: &'static str,
    /// What it then needs.
    pub needs: &'static [&'static str],
}

/// What a [`NeedsWhen`] rule finds missing from a mapping of parameters, if
/// anything: the deciding parameter's value and the missing parameter.
pub fn missing_needs(
    rules: &[NeedsWhen],
    value_of: impl Fn(&str) -> Option<String>,
    given: impl Fn(&str) -> bool,
) -> Vec<(&NeedsWhen, &'static str)> {
    let mut missing = Vec::new();
    for rule in rules {
        if value_of(rule.param).as_deref() == Some(rule.value) {
            for need in rule.needs {
                if !given(need) {
                    missing.push((rule, *need));
                }
            }
        }
    }
    missing
}

/// The shape of a directive's value in an action.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A mapping of parameters.
    Params {
        /// The known parameters.
        params: &'static [ParamSpec],
        /// Whether unknown keys are allowed (passed on as keyword arguments).
        extra_kwargs: bool,
        /// Groups of which exactly one parameter must be given.
        exactly_one_of: &'static [&'static [&'static str]],
        /// Parameters needed when another parameter has a given value.
        needs_when: &'static [NeedsWhen],
    },
    /// A command or a list of commands.
    Commands,
}

/// A directive: its name, a one-line summary, and what it accepts.
#[derive(Debug, Clone, Copy)]
pub struct DirectiveSpec {
    /// The key that names it in an action.
    pub name: &'static str,
    /// What it does, in one line.
    pub summary: &'static str,
    /// What it accepts.
    pub shape: Shape,
}

impl PartialEq for DirectiveSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// Every directive this version of Taskotron knows.
pub static DIRECTIVES: &[DirectiveSpec] = &[
    DirectiveSpec {
        name: "shell",
        summary: "run shell commands in the task directory; returns their output",
        shape: Shape::Commands,
    },
    DirectiveSpec {
        name: "python",
        summary: "call a function in a Python file of the task; returns its return value",
        shape: Shape::Params {
            params: &[
                req("file", ParamType::String),
                req("callable", ParamType::String),
            ],
            extra_kwargs: true,
            exactly_one_of: &[],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "exitcode",
        summary: "set the task's exit code from ResultYAML: 0 when passing, 100 otherwise",
        shape: Shape::Params {
            params: &[
                opt("result_last", ParamType::String),
                opt("result_worst", ParamType::String),
            ],
            extra_kwargs: false,
            exactly_one_of: &[&["result_last", "result_worst"]],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "resultsdb",
        summary: "validate ResultYAML, record it in results.yml and report it to ResultsDB",
        shape: Shape::Params {
            params: &[
                opt("results", ParamType::String),
                opt("file", ParamType::String),
                opt("report_unchanged", ParamType::Bool),
            ],
            extra_kwargs: false,
            exactly_one_of: &[&["results", "file"]],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "xunit",
        summary: "turn an xUnit XML file into ResultYAML",
        shape: Shape::Params {
            params: &[
                req("file", ParamType::String),
                opt("item", ParamType::String),
                opt("type", ParamType::String),
                opt("checkname", ParamType::String),
                opt("aggregation", ParamType::OneOf(&["allpass", "none"])),
            ],
            extra_kwargs: false,
            exactly_one_of: &[],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "create_report",
        summary: "write an HTML report of ResultYAML into the artifacts",
        shape: Shape::Params {
            params: &[
                opt("results", ParamType::String),
                opt("file", ParamType::String),
                opt("artifactsdir", ParamType::String),
                opt("path", ParamType::String),
                opt("template", ParamType::String),
            ],
            extra_kwargs: false,
            exactly_one_of: &[&["results", "file"]],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "createrepo",
        summary: "make a repository of a directory of RPMs with createrepo_c",
        shape: Shape::Params {
            params: &[req("repodir", ParamType::String)],
            extra_kwargs: false,
            exactly_one_of: &[],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "dummy",
        summary: "do nothing and return `msg`; with result FAIL, fail",
        shape: Shape::Params {
            params: &[
                req("result", ParamType::OneOf(&["PASS", "FAIL"])),
                opt("msg", ParamType::String),
            ],
            extra_kwargs: false,
            exactly_one_of: &[],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "koji",
        summary: "download the RPMs (and build logs) of a Koji build, of a tag's latest builds, or of a package's latest stable build",
        shape: Shape::Params {
            params: &[
                req(
                    "action",
                    ParamType::OneOf(&["download", "download_tag", "download_latest_stable"]),
                ),
                opt("koji_build", ParamType::String),
                opt("koji_tag", ParamType::String),
                opt("arch", ParamType::StringOrList),
                opt("arch_exclude", ParamType::StringOrList),
                opt("src", ParamType::Bool),
                opt("debuginfo", ParamType::Bool),
                opt("build_log", ParamType::Bool),
                opt("target_dir", ParamType::String),
            ],
            extra_kwargs: false,
            exactly_one_of: &[],
            needs_when: &[
                NeedsWhen {
                    param: "action",
                    value: "download",
                    needs: &["koji_build"],
                },
                NeedsWhen {
                    param: "action",
                    value: "download_latest_stable",
                    needs: &["koji_build"],
                },
                NeedsWhen {
                    param: "action",
                    value: "download_tag",
                    needs: &["koji_tag"],
                },
            ],
        },
    },
    DirectiveSpec {
        name: "bodhi",
        summary: "download the RPMs of every build of a Bodhi update",
        shape: Shape::Params {
            params: &[
                req("action", ParamType::OneOf(&["download"])),
                req("update_id", ParamType::String),
                opt("arch", ParamType::StringOrList),
                opt("arch_exclude", ParamType::StringOrList),
                opt("src", ParamType::Bool),
                opt("debuginfo", ParamType::Bool),
                opt("build_log", ParamType::Bool),
                opt("target_dir", ParamType::String),
            ],
            extra_kwargs: false,
            exactly_one_of: &[],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "distgit",
        summary: "download files of a package's dist-git repository at a branch or commit",
        shape: Shape::Params {
            params: &[
                opt("package", ParamType::String),
                opt("nvr", ParamType::String),
                opt("gitref", ParamType::String),
                opt("namespace", ParamType::String),
                req("path", ParamType::StringOrList),
                opt("localpath", ParamType::StringOrList),
                opt("target_dir", ParamType::String),
                opt("baseurl", ParamType::String),
                opt("ignore_missing", ParamType::Bool),
            ],
            extra_kwargs: false,
            exactly_one_of: &[&["package", "nvr"]],
            needs_when: &[],
        },
    },
    DirectiveSpec {
        name: "yumrepoinfo",
        summary: "the package repositories a Koji tag stands for, as a mapping of tag to URL per arch",
        shape: Shape::Params {
            params: &[
                req("koji_tag", ParamType::String),
                opt("arch", ParamType::StringOrList),
            ],
            extra_kwargs: false,
            exactly_one_of: &[],
            needs_when: &[],
        },
    },
];

/// The directive with this name.
pub fn find(name: &str) -> Option<&'static DirectiveSpec> {
    DIRECTIVES.iter().find(|it| it.name == name)
}

/// The names of every directive, comma-separated.
pub fn names() -> String {
    DIRECTIVES
        .iter()
        .map(|it| it.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check substituted parameters against a directive's table: the runner calls
/// this after substitution, for values that were variable references when the
/// formula was validated.
pub fn check_params(spec: &DirectiveSpec, params: &Json) -> Result<(), String> {
    match spec.shape {
        Shape::Commands => ParamType::StringOrList.check(params),
        Shape::Params {
            params: known,
            needs_when,
            ..
        } => {
            let Some(map) = params.as_object() else {
                return Err(format!(
                    "expected a mapping of parameters, found {}",
                    describe(params)
                ));
            };
            for param in known {
                if let Some(value) = map.get(param.name) {
                    param
                        .ty
                        .check(value)
                        .map_err(|err| format!("parameter `{}`: {err}", param.name))?;
                }
            }
            let missing = missing_needs(
                needs_when,
                |name| map.get(name).and_then(Json::as_str).map(str::to_owned),
                |name| map.contains_key(name),
            );
            if let Some((rule, need)) = missing.first() {
                return Err(format!(
                    "parameter `{need}` is needed when `{}` is `{}`",
                    rule.param, rule.value
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn types_accept_and_reject() {
        fn check(ty: ParamType, value: Json, ok: bool) {
            assert_eq!(ty.check(&value).is_ok(), ok, "{ty:?} {value}");
        }
        check(ParamType::String, json!("x"), true);
        check(ParamType::String, json!(3), true);
        check(ParamType::String, json!(["x"]), false);
        check(ParamType::Bool, json!(true), true);
        check(ParamType::Bool, json!("yes"), false);
        check(ParamType::StringList, json!(["a", 1]), true);
        check(ParamType::StringList, json!("a"), false);
        check(ParamType::StringOrList, json!("a"), true);
        check(ParamType::OneOf(&["allpass", "none"]), json!("none"), true);
        check(ParamType::OneOf(&["allpass", "none"]), json!("some"), false);
        check(ParamType::Integer, json!(1.5), false);
    }

    #[test]
    fn runtime_check_names_the_parameter() {
        let err = check_params(find("xunit").unwrap(), &json!({"file": ["a"]})).unwrap_err();
        assert_eq!(err, "parameter `file`: expected a string, found a list");
        assert!(check_params(find("shell").unwrap(), &json!(["ls", "pwd"])).is_ok());
        let err =
            check_params(find("koji").unwrap(), &json!({"action": "download_tag"})).unwrap_err();
        assert_eq!(
            err,
            "parameter `koji_tag` is needed when `action` is `download_tag`"
        );
        assert!(
            check_params(
                find("koji").unwrap(),
                &json!({"action": "download", "koji_build": "a-1-1"})
            )
            .is_ok()
        );
    }

    #[test]
    fn every_directive_is_findable() {
        for it in DIRECTIVES {
            assert_eq!(find(it.name).map(|d| d.name), Some(it.name));
        }
        assert!(names().starts_with("shell, python, exitcode"));
    }
}
