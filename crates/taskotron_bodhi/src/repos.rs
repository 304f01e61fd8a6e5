//! Which package repositories a Koji tag stands for: what Taskotron's
//! `yumrepoinfo.conf` listed by hand, derived here from Bodhi's releases.
//!
//! Every Bodhi release names its Koji tags (`dist_tag` f44, `stable_tag`
//! f44-updates, `testing_tag` f44-updates-testing, and the candidate and
//! pending tags that lead to them). A tag's role in its release decides its
//! repositories, newest layer first:
//!
//! | tag | repositories |
//! | --- | --- |
//! | `dist_tag`, `override_tag` | base |
//! | `stable_tag`, `pending_stable_tag` | updates, base |
//! | `testing_tag`, `pending_testing_tag`, `pending_signing_tag`, `candidate_tag` | updates-testing, updates, base |
//!
//! Each layer's URL comes from a template ([`RepoTemplates`]) with `{arch}`,
//! `{version}`, `{branch}`, `{tag}`, `{release}` and `{devel}` (the
//! development tree's name: `rawhide` for the rawhide branch, the version
//! otherwise). A release whose `stable_tag` is its `dist_tag` (rawhide) has
//! only the base layer. Explicit entries ([`TagOverride`]) win over the
//! derivation, for tags Bodhi does not know or mirrors laid out otherwise.
//!
//! Pure: no IO. The caller fetches the releases.

use std::collections::BTreeMap;

use crate::Release;

/// URL templates of the repository layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoTemplates {
    /// The release tree of a released version (`dist_tag` of a `current`,
    /// `frozen` or `archived` release).
    pub release: String,
    /// The development tree (`dist_tag` of a `pending` release: branched or
    /// rawhide).
    pub development: String,
    /// The stable updates.
    pub updates: String,
    /// The updates in testing.
    pub updates_testing: String,
}

impl RepoTemplates {
    /// Fedora's mirror layout on `base` (e.g.
    /// `https://dl.fedoraproject.org/pub/fedora/linux`).
    pub fn fedora(base: &str) -> RepoTemplates {
        let base = base.trim_end_matches('/');
        RepoTemplates {
            release: format!("{base}/releases/{{version}}/Everything/{{arch}}/os/"),
            development: format!("{base}/development/{{devel}}/Everything/{{arch}}/os/"),
            updates: format!("{base}/updates/{{version}}/Everything/{{arch}}/"),
            updates_testing: format!("{base}/updates/testing/{{version}}/Everything/{{arch}}/"),
        }
    }
}

impl Default for RepoTemplates {
    fn default() -> RepoTemplates {
        RepoTemplates::fedora("https://dl.fedoraproject.org/pub/fedora/linux")
    }
}

/// A tag's repository given explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagOverride {
    /// Its URL template (`{arch}` and `{tag}` are filled in).
    pub url: String,
    /// The tag whose repositories lie under it, if any (f44-updates → f44).
    pub parent: Option<String>,
}

/// One repository layer: a tag and its URL per arch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoLayer {
    /// The tag the layer stands for.
    pub tag: String,
    /// The URL for each requested arch.
    pub urls: BTreeMap<String, String>,
}

/// Why a tag has no repositories.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// Neither a release nor an override knows the tag.
    #[error(
        "Koji tag `{tag}` belongs to no Bodhi release and has no [repos.tags] entry{}",
        known_list(.known)
    )]
    UnknownTag {
        /// The tag.
        tag: String,
        /// Some tags that are known, for the message.
        known: Vec<String>,
    },
    /// A template names a placeholder the tag's release has no value for.
    #[error("template {template:?} for tag `{tag}`: {why}")]
    Template {
        /// The template.
        template: String,
        /// The tag.
        tag: String,
        /// What is wrong.
        why: String,
    },
    /// Overrides' parents go round in a circle.
    #[error("[repos.tags] parents go round in a circle at `{0}`")]
    Cycle(String),
    /// No arch was asked for.
    #[error("no architecture given (repositories are per arch, e.g. x86_64; noarch has none)")]
    NoArch,
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (no releases are known)".to_owned()
    } else {
        format!("; known tags include {}", known.join(", "))
    }
}

/// The role a tag plays in its release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Base,
    Stable,
    Testing,
}

/// Releases plus templates plus overrides: answers "which repositories does
/// tag T mean for arch A".
#[derive(Debug, Clone)]
pub struct RepoMap {
    releases: Vec<Release>,
    templates: RepoTemplates,
    overrides: BTreeMap<String, TagOverride>,
}

impl RepoMap {
    /// A map over these releases (as Bodhi lists them).
    pub fn new(
        releases: Vec<Release>,
        templates: RepoTemplates,
        overrides: BTreeMap<String, TagOverride>,
    ) -> RepoMap {
        RepoMap {
            releases,
            templates,
            overrides,
        }
    }

    /// The release a Koji tag belongs to, if any.
    pub fn release_of_tag(&self, tag: &str) -> Option<&Release> {
        self.classify(tag).map(|(release, _)| release)
    }

    /// The release whose `dist_tag` goes with an NVR's dist tag (`fc44` →
    /// `f44`, `el9` → `epel9`), if any.
    pub fn release_of_nvr(&self, nvr: &str) -> Option<&Release> {
        let tag = dist_tag_of_nvr(nvr)?;
        self.releases
            .iter()
            .find(|it| it.dist_tag.as_deref() == Some(tag.as_str()))
    }

    /// The layers of `tag` (a trailing `-pending` that names no tag of its
    /// own is dropped, as yumrepoinfo did), newest first, with a URL for
    /// each of `arches` (`noarch` is skipped: it has no repository).
    pub fn layers(&self, tag: &str, arches: &[String]) -> Result<Vec<RepoLayer>, RepoError> {
        let arches: Vec<&String> = arches.iter().filter(|it| *it != "noarch").collect();
        if arches.is_empty() {
            return Err(RepoError::NoArch);
        }
        let mut layers = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let mut next = Some(self.normalise(tag));
        while let Some(tag) = next.take() {
            if seen.contains(&tag) {
                return Err(RepoError::Cycle(tag));
            }
            seen.push(tag.clone());
            if let Some(entry) = self.overrides.get(&tag) {
                let mut urls = BTreeMap::new();
                for arch in &arches {
                    let url = fill(&entry.url, &tag, &[("arch", arch), ("tag", &tag)])?;
                    urls.insert((*arch).clone(), url);
                }
                layers.push(RepoLayer {
                    tag: tag.clone(),
                    urls,
                });
                next = entry.parent.clone();
                continue;
            }
            let Some((release, role)) = self.classify(&tag) else {
                return Err(RepoError::UnknownTag {
                    tag,
                    known: self.some_known_tags(),
                });
            };
            for (layer_tag, template) in self.chain(release, role) {
                let mut urls = BTreeMap::new();
                for arch in &arches {
                    urls.insert(
                        (*arch).clone(),
                        self.url(template, release, &layer_tag, arch)?,
                    );
                }
                layers.push(RepoLayer {
                    tag: layer_tag,
                    urls,
                });
            }
        }
        Ok(layers)
    }

    fn normalise(&self, tag: &str) -> String {
        if self.overrides.contains_key(tag) || self.classify(tag).is_some() {
            return tag.to_owned();
        }
        tag.strip_suffix("-pending").unwrap_or(tag).to_owned()
    }

    fn classify(&self, tag: &str) -> Option<(&Release, Role)> {
        let is = |field: &Option<String>| field.as_deref() == Some(tag);
        // Exact roles first, so that rawhide's stable_tag (= its dist_tag)
        // reads as the base.
        for release in &self.releases {
            if is(&release.dist_tag) || is(&release.override_tag) {
                return Some((release, Role::Base));
            }
        }
        for release in &self.releases {
            if is(&release.stable_tag) || is(&release.pending_stable_tag) {
                return Some((release, Role::Stable));
            }
            if is(&release.testing_tag)
                || is(&release.pending_testing_tag)
                || is(&release.pending_signing_tag)
                || is(&release.candidate_tag)
            {
                return Some((release, Role::Testing));
            }
        }
        None
    }

    /// The tags and templates of a role's layers, newest first.
    fn chain<'a>(&'a self, release: &Release, role: Role) -> Vec<(String, &'a str)> {
        let templates = &self.templates;
        let dist = release.dist_tag.clone().unwrap_or_default();
        let base_template = if release.state.as_deref() == Some("pending") {
            templates.development.as_str()
        } else {
            templates.release.as_str()
        };
        let base = (dist.clone(), base_template);
        // Rawhide: updates go straight into the release; there is no
        // separate updates tree.
        let stable = release
            .stable_tag
            .clone()
            .filter(|it| *it != dist)
            .map(|tag| (tag, templates.updates.as_str()));
        let testing = release
            .testing_tag
            .clone()
            .filter(|_| stable.is_some())
            .map(|tag| (tag, templates.updates_testing.as_str()));
        let mut chain = Vec::new();
        if role == Role::Testing {
            chain.extend(testing);
        }
        if role != Role::Base {
            chain.extend(stable);
        }
        chain.push(base);
        chain
    }

    fn url(
        &self,
        template: &str,
        release: &Release,
        tag: &str,
        arch: &str,
    ) -> Result<String, RepoError> {
        let version = release.version.as_deref();
        let branch = release.branch.as_deref();
        let devel = match (branch, version) {
            (Some("rawhide"), _) => Some("rawhide"),
            (_, version) => version,
        };
        let mut values: Vec<(&str, &str)> = vec![
            ("arch", arch),
            ("tag", tag),
            ("release", release.name.as_str()),
        ];
        for (name, value) in [("version", version), ("branch", branch), ("devel", devel)] {
            if let Some(value) = value {
                values.push((name, value));
            }
        }
        fill(template, tag, &values)
    }

    fn some_known_tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self.overrides.keys().cloned().collect();
        for release in &self.releases {
            tags.extend(
                [&release.dist_tag, &release.stable_tag, &release.testing_tag]
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
        tags.sort();
        tags.dedup();
        tags.truncate(12);
        tags
    }
}

/// Fill `{name}` placeholders; an unknown or unfilled one is an error.
fn fill(template: &str, tag: &str, values: &[(&str, &str)]) -> Result<String, RepoError> {
    let error = |why: String| RepoError::Template {
        template: template.to_owned(),
        tag: tag.to_owned(),
        why,
    };
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| error("a `{` is not closed".to_owned()))?;
        let name = &after[..end];
        let value = values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| error(format!("no value for `{{{name}}}` here")))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Check a template's placeholders without filling it: every one must be one
/// of `{arch}`, `{version}`, `{branch}`, `{tag}`, `{release}`, `{devel}`.
pub fn check_template(template: &str) -> Result<(), String> {
    const NAMES: [&str; 6] = ["arch", "version", "branch", "tag", "release", "devel"];
    let values: Vec<(&str, &str)> = NAMES.iter().map(|it| (*it, "x")).collect();
    fill(template, "", &values)
        .map(|_| ())
        .map_err(|err| match err {
            RepoError::Template { why, .. } => why,
            other => other.to_string(),
        })
}

/// The Koji dist tag an NVR's release suffix points at: `.fc44` → `f44`,
/// `.el9` / `.el9_3` → `epel9`. `None` when the release has no such suffix.
pub fn dist_tag_of_nvr(nvr: &str) -> Option<String> {
    let mut parts = nvr.rsplitn(3, '-');
    let release = parts.next()?;
    // A name and a version must come before the release.
    parts.nth(1)?;
    for part in release.split('.').rev() {
        if let Some(version) = part.strip_prefix("fc")
            && !version.is_empty()
            && version.bytes().all(|it| it.is_ascii_digit())
        {
            return Some(format!("f{version}"));
        }
        if let Some(version) = part.strip_prefix("el") {
            let major = version.split('_').next().unwrap_or_default();
            if !major.is_empty() && major.bytes().all(|it| it.is_ascii_digit()) {
                return Some(format!("epel{major}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str, version: &str, state: &str, rawhide: bool) -> Release {
        let dist = format!("f{version}");
        Release {
            name: name.to_owned(),
            long_name: None,
            version: Some(version.to_owned()),
            id_prefix: Some("FEDORA".to_owned()),
            branch: Some(if rawhide {
                "rawhide".to_owned()
            } else {
                dist.clone()
            }),
            dist_tag: Some(dist.clone()),
            stable_tag: Some(if rawhide {
                dist.clone()
            } else {
                format!("{dist}-updates")
            }),
            testing_tag: Some(format!("{dist}-updates-testing")),
            candidate_tag: Some(format!("{dist}-updates-candidate")),
            pending_signing_tag: Some(format!("{dist}-signing-pending")),
            pending_testing_tag: Some(format!("{dist}-updates-testing-pending")),
            pending_stable_tag: Some(format!("{dist}-updates-pending")),
            override_tag: Some(format!("{dist}-override")),
            state: Some(state.to_owned()),
            composed_by_bodhi: Some(!rawhide),
        }
    }

    fn map() -> RepoMap {
        RepoMap::new(
            vec![
                release("F44", "44", "current", false),
                release("F45", "45", "pending", true),
            ],
            RepoTemplates::fedora("http://mirror.test/fedora"),
            BTreeMap::new(),
        )
    }

    fn tags(layers: &[RepoLayer]) -> Vec<&str> {
        layers.iter().map(|it| it.tag.as_str()).collect()
    }

    #[test]
    fn each_role_has_its_layers_newest_first() {
        let map = map();
        let arches = ["x86_64".to_owned()];
        for (tag, want) in [
            ("f44", vec!["f44"]),
            ("f44-override", vec!["f44"]),
            ("f44-updates", vec!["f44-updates", "f44"]),
            ("f44-updates-pending", vec!["f44-updates", "f44"]),
            (
                "f44-updates-candidate",
                vec!["f44-updates-testing", "f44-updates", "f44"],
            ),
            (
                "f44-updates-testing-pending",
                vec!["f44-updates-testing", "f44-updates", "f44"],
            ),
            ("f45", vec!["f45"]),
            ("f45-updates-candidate", vec!["f45"]),
        ] {
            let layers = map.layers(tag, &arches).unwrap();
            assert_eq!(tags(&layers), want, "{tag}");
        }
    }

    #[test]
    fn urls_follow_the_templates() {
        let map = map();
        let arches = [
            "x86_64".to_owned(),
            "aarch64".to_owned(),
            "noarch".to_owned(),
        ];
        let layers = map.layers("f44-updates-testing", &arches).unwrap();
        assert_eq!(
            layers[0].urls["aarch64"],
            "http://mirror.test/fedora/updates/testing/44/Everything/aarch64/"
        );
        assert_eq!(
            layers[1].urls["x86_64"],
            "http://mirror.test/fedora/updates/44/Everything/x86_64/"
        );
        assert_eq!(
            layers[2].urls["x86_64"],
            "http://mirror.test/fedora/releases/44/Everything/x86_64/os/"
        );
        assert!(!layers[0].urls.contains_key("noarch"));
        let rawhide = map.layers("f45", &arches).unwrap();
        assert_eq!(
            rawhide[0].urls["x86_64"],
            "http://mirror.test/fedora/development/rawhide/Everything/x86_64/os/"
        );
    }

    #[test]
    fn overrides_win_and_chain_through_parents() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "side-tag-1".to_owned(),
            TagOverride {
                url: "http://kojipkgs.test/repos/{tag}/latest/{arch}/".to_owned(),
                parent: Some("f44-updates".to_owned()),
            },
        );
        overrides.insert(
            "f44".to_owned(),
            TagOverride {
                url: "http://local.test/f44/{arch}/".to_owned(),
                parent: None,
            },
        );
        let map = RepoMap::new(map().releases, RepoTemplates::default(), overrides);
        let layers = map.layers("side-tag-1", &["x86_64".to_owned()]).unwrap();
        assert_eq!(tags(&layers), ["side-tag-1", "f44-updates", "f44"]);
        assert_eq!(
            layers[0].urls["x86_64"],
            "http://kojipkgs.test/repos/side-tag-1/latest/x86_64/"
        );
        // The release's own derivation still gives f44's layer, not the override:
        // an override replaces a tag only where the chain reaches it by name.
        assert!(layers[2].urls["x86_64"].contains("releases/44"));
        let alone = map.layers("f44", &["x86_64".to_owned()]).unwrap();
        assert_eq!(alone[0].urls["x86_64"], "http://local.test/f44/x86_64/");
    }

    #[test]
    fn errors_name_the_problem() {
        let map = map();
        let err = map
            .layers("f12-updates", &["x86_64".to_owned()])
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`f12-updates` belongs to no Bodhi release"),
            "{err}"
        );
        assert!(err.to_string().contains("f44-updates"), "{err}");
        assert_eq!(
            map.layers("f44", &["noarch".to_owned()]).unwrap_err(),
            RepoError::NoArch
        );
        let mut overrides = BTreeMap::new();
        for (tag, parent) in [("a", "b"), ("b", "a")] {
            overrides.insert(
                tag.to_owned(),
                TagOverride {
                    url: "http://x.test/{arch}".to_owned(),
                    parent: Some(parent.to_owned()),
                },
            );
        }
        let looped = RepoMap::new(Vec::new(), RepoTemplates::default(), overrides);
        assert_eq!(
            looped.layers("a", &["x86_64".to_owned()]).unwrap_err(),
            RepoError::Cycle("a".to_owned())
        );
        assert!(
            check_template("http://x/{arch}/{nope}")
                .unwrap_err()
                .contains("{nope}")
        );
        assert!(check_template("http://x/{arch").is_err());
        assert!(check_template("http://x/{arch}/{devel}/{tag}").is_ok());
    }

    #[test]
    fn nvrs_name_their_dist_tag() {
        assert_eq!(dist_tag_of_nvr("foo-1.2-3.fc44").as_deref(), Some("f44"));
        assert_eq!(dist_tag_of_nvr("foo-1.2-3.fc44.1").as_deref(), Some("f44"));
        assert_eq!(dist_tag_of_nvr("foo-1.2-3.el9_3").as_deref(), Some("epel9"));
        assert_eq!(dist_tag_of_nvr("foo-1.2-3"), None);
        assert_eq!(dist_tag_of_nvr("fc44"), None);
        let map = map();
        assert_eq!(
            map.release_of_nvr("x-1-1.fc45").map(|it| it.name.as_str()),
            Some("F45")
        );
        assert_eq!(
            map.release_of_tag("f44-updates").map(|it| it.name.as_str()),
            Some("F44")
        );
    }
}
