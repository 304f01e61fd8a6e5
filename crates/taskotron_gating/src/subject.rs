//! Subject types, as Greenwave's `conf/subject_types/*.yaml` describe them:
//! aliases, which result data keys identify an item, whether the identifier
//! is an NVR or a Koji build, and whether a decision without an applicable
//! policy is an error. Fedora's types are built in ([`SubjectTypes::fedora`]);
//! configuration may add types or replace built-in ones.

use crate::glob::fnmatch;

/// One ResultsDB query that finds a subject's results: the data key that
/// holds the identifier, and fixed data values the results must also have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultQuery {
    /// The data key whose value is the subject's identifier (`item`,
    /// `original_spec_nvr`, `productmd.compose.id`, …).
    pub item_key: String,
    /// Other data keys and the values they may have (any of them).
    pub keys: Vec<(String, Vec<String>)>,
}

/// One subject type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectType {
    /// Its name, e.g. `koji_build`.
    pub id: String,
    /// Other names that mean it, e.g. `brew-build`.
    pub aliases: Vec<String>,
    /// The data key that holds the identifier in results and in the
    /// waivers' `subject` object (`item` by default).
    pub item_key: String,
    /// The subject can be looked up in Koji (creation time, source).
    pub is_koji_build: bool,
    /// The identifier is an NVR: package rules and package waivers apply.
    pub is_nvr: bool,
    /// A decision with no applicable policy is not an error (no 404).
    pub ignore_missing_policy: bool,
    /// The queries that find its results; none means the generic
    /// `{type: <id and aliases>, item: ID}`.
    pub result_queries: Vec<ResultQuery>,
}

impl SubjectType {
    /// The generic type Greenwave uses for a name it does not know.
    pub fn generic(id: &str) -> SubjectType {
        SubjectType {
            id: id.to_owned(),
            aliases: Vec::new(),
            item_key: "item".to_owned(),
            is_koji_build: false,
            is_nvr: false,
            ignore_missing_policy: false,
            result_queries: Vec::new(),
        }
    }

    /// Whether `name` is this type's id or one of its aliases.
    pub fn is_named(&self, name: &str) -> bool {
        self.id == name || self.aliases.iter().any(|it| it == name)
    }

    /// Its id and aliases.
    pub fn names(&self) -> Vec<String> {
        let mut out = vec![self.id.clone()];
        out.extend(self.aliases.iter().cloned());
        out
    }

    /// The queries that find its results (the generic one when none are set).
    pub fn queries(&self) -> Vec<ResultQuery> {
        if self.result_queries.is_empty() {
            vec![ResultQuery {
                item_key: self.item_key.clone(),
                keys: vec![("type".to_owned(), self.names())],
            }]
        } else {
            self.result_queries.clone()
        }
    }
}

/// The known subject types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTypes {
    types: Vec<SubjectType>,
}

impl Default for SubjectTypes {
    fn default() -> SubjectTypes {
        SubjectTypes::fedora()
    }
}

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|it| (*it).to_owned()).collect()
}

impl SubjectTypes {
    /// Fedora's types, as Greenwave ships them: `koji_build` (alias
    /// `brew-build`; results by `item` and `type`, or by
    /// `original_spec_nvr`), `bodhi_update` (no policy is no error),
    /// `compose` (by `productmd.compose.id`), `redhat-container-image` and
    /// `redhat-module`.
    pub fn fedora() -> SubjectTypes {
        let koji_build = SubjectType {
            id: "koji_build".to_owned(),
            aliases: list(&["brew-build"]),
            is_koji_build: true,
            is_nvr: true,
            result_queries: vec![
                ResultQuery {
                    item_key: "item".to_owned(),
                    keys: vec![("type".to_owned(), list(&["koji_build", "brew-build"]))],
                },
                ResultQuery {
                    item_key: "original_spec_nvr".to_owned(),
                    keys: Vec::new(),
                },
            ],
            ..SubjectType::generic("koji_build")
        };
        let bodhi_update = SubjectType {
            ignore_missing_policy: true,
            ..SubjectType::generic("bodhi_update")
        };
        let compose = SubjectType {
            item_key: "productmd.compose.id".to_owned(),
            result_queries: vec![ResultQuery {
                item_key: "productmd.compose.id".to_owned(),
                keys: Vec::new(),
            }],
            ..SubjectType::generic("compose")
        };
        let container = SubjectType {
            is_koji_build: true,
            is_nvr: true,
            result_queries: vec![
                ResultQuery {
                    item_key: "nvr".to_owned(),
                    keys: vec![("type".to_owned(), list(&["redhat-container-image"]))],
                },
                ResultQuery {
                    item_key: "item".to_owned(),
                    keys: vec![("type".to_owned(), list(&["koji_build"]))],
                },
            ],
            ..SubjectType::generic("redhat-container-image")
        };
        let module = SubjectType {
            is_koji_build: true,
            is_nvr: true,
            ..SubjectType::generic("redhat-module")
        };
        SubjectTypes {
            types: vec![koji_build, bodhi_update, compose, container, module],
        }
    }

    /// These types plus `extra`; one with the id of a known type replaces it.
    #[must_use]
    pub fn with(mut self, extra: Vec<SubjectType>) -> SubjectTypes {
        for it in extra {
            self.types.retain(|known| known.id != it.id);
            self.types.push(it);
        }
        self
    }

    /// The type `name` stands for (an id or an alias); the generic type
    /// for a name nobody declared.
    pub fn resolve(&self, name: &str) -> SubjectType {
        self.types
            .iter()
            .find(|it| it.is_named(name))
            .cloned()
            .unwrap_or_else(|| SubjectType::generic(name))
    }

    /// Whether `name` is a declared type or alias.
    pub fn is_known(&self, name: &str) -> bool {
        self.types.iter().any(|it| it.is_named(name))
    }

    /// Every declared type.
    pub fn all(&self) -> &[SubjectType] {
        &self.types
    }
}

/// Who may waive which test cases (WaiverDB's `PERMISSIONS`): a user may
/// waive a test case when an entry whose `testcases` globs match it (and
/// whose `testcases_ignore` globs do not) lists the user. With no entries,
/// every authenticated user may waive everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaivePermission {
    /// Globs of the test cases.
    pub testcases: Vec<String>,
    /// Globs of test cases the entry does not cover.
    pub testcases_ignore: Vec<String>,
    /// The users it lets waive them.
    pub users: Vec<String>,
}

/// Whether `user` may waive `testcase` under `permissions`.
pub fn may_waive(permissions: &[WaivePermission], user: &str, testcase: &str) -> bool {
    permissions.is_empty()
        || permissions.iter().any(|entry| {
            entry.testcases.iter().any(|glob| fnmatch(glob, testcase))
                && !entry
                    .testcases_ignore
                    .iter()
                    .any(|glob| fnmatch(glob, testcase))
                && entry.users.iter().any(|it| it == user)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fedora_types_resolve_with_their_aliases_and_unknown_ones_are_generic() {
        let types = SubjectTypes::fedora();
        assert_eq!(types.resolve("brew-build").id, "koji_build");
        assert!(types.resolve("koji_build").is_nvr);
        assert!(types.resolve("bodhi_update").ignore_missing_policy);
        assert_eq!(
            types.resolve("compose").queries()[0].item_key,
            "productmd.compose.id"
        );
        let odd = types.resolve("my_thing");
        assert!(!types.is_known("my_thing"));
        assert_eq!(
            odd.queries(),
            vec![ResultQuery {
                item_key: "item".into(),
                keys: vec![("type".into(), vec!["my_thing".into()])]
            }]
        );
        let replaced = types.with(vec![SubjectType {
            aliases: vec!["update".into()],
            ..SubjectType::generic("bodhi_update")
        }]);
        assert!(!replaced.resolve("update").ignore_missing_policy);
        assert_eq!(replaced.resolve("update").id, "bodhi_update");
    }

    #[test]
    fn permissions_match_globs_minus_ignored_ones() {
        let permissions = vec![WaivePermission {
            testcases: vec!["dist.*".into()],
            testcases_ignore: vec!["dist.secret*".into()],
            users: vec!["alice".into()],
        }];
        assert!(may_waive(&permissions, "alice", "dist.rpmlint"));
        assert!(!may_waive(&permissions, "alice", "dist.secretscan"));
        assert!(!may_waive(&permissions, "bob", "dist.rpmlint"));
        assert!(!may_waive(&permissions, "alice", "fedora-ci.koji-build"));
        assert!(may_waive(&[], "anyone", "anything"));
    }
}
