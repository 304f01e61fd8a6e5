//! What a `!RemoteRule` needs before the server fetches `gating.yaml`: the
//! package's dist-git namespace, name and revision from the Koji build's
//! `source`, and the URL templates filled with them; and the product
//! version an NVR belongs to, for messages about a result.

/// Where a build's sources are in dist-git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The namespace with its trailing slash (`rpms/`), or empty.
    pub namespace: String,
    /// The repository name (`python-requests`).
    pub name: String,
    /// The commit or branch (`#...` of the source URL).
    pub rev: String,
}

/// Read a Koji build's `source`, e.g.
/// `git+https://src.fedoraproject.org/rpms/foo.git#0123abcd`; `None` when
/// it has no revision or no repository path.
pub fn parse_source(source: &str) -> Option<Source> {
    let (url, rev) = source.split_once('#')?;
    if rev.is_empty() {
        return None;
    }
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme.split_once('/').map(|(_, path)| path)?;
    let path = path.split('?').next().unwrap_or_default().trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if path.is_empty() {
        return None;
    }
    let (namespace, name) = match path.rsplit_once('/') {
        Some((namespace, name)) => (format!("{namespace}/"), name.to_owned()),
        None => (String::new(), path.to_owned()),
    };
    Some(Source {
        namespace,
        name,
        rev: rev.to_owned(),
    })
}

/// The default URL template, under a dist-git base URL.
pub fn default_template(distgit: &str) -> String {
    format!(
        "{}/{{pkg_namespace}}{{pkg_name}}/raw/{{rev}}/f/gating.yaml",
        distgit.trim_end_matches('/')
    )
}

/// Fill a URL template: `{pkg_namespace}`, `{pkg_name}`, `{rev}` and
/// `{subject_id}`. An unknown placeholder is an error naming it.
pub fn fill_template(template: &str, source: &Source, subject_id: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err(format!(
                "the URL template {template:?} has an unclosed `{{`"
            ));
        };
        match &after[..end] {
            "pkg_namespace" => out.push_str(&source.namespace),
            "pkg_name" => out.push_str(&source.name),
            "rev" => out.push_str(&source.rev),
            "subject_id" => out.push_str(subject_id),
            other => {
                return Err(format!(
                    "the URL template {template:?} has an unknown placeholder {{{other}}} \
                     (use pkg_namespace, pkg_name, rev, subject_id)"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The product version an NVR's dist tag names, as Greenwave guesses it:
/// `.fc44` is `fedora-44`, `.el9` is `epel-9`; `None` otherwise.
pub fn product_version_of_nvr(nvr: &str) -> Option<String> {
    let release = nvr.rsplit('-').next()?;
    for part in release.split('.').rev() {
        for (prefix, product) in [("fc", "fedora"), ("el", "epel")] {
            if let Some(number) = part.strip_prefix(prefix)
                && !number.is_empty()
                && number.chars().all(|it| it.is_ascii_digit())
            {
                return Some(format!("{product}-{number}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_templates() {
        let source =
            parse_source("git+https://src.fedoraproject.org/rpms/python-requests.git#abc123")
                .expect("a source");
        assert_eq!(
            source,
            Source {
                namespace: "rpms/".into(),
                name: "python-requests".into(),
                rev: "abc123".into()
            }
        );
        assert_eq!(
            fill_template(
                &default_template("http://127.0.0.1:1/distgit/"),
                &source,
                "x"
            )
            .expect("filled"),
            "http://127.0.0.1:1/distgit/rpms/python-requests/raw/abc123/f/gating.yaml"
        );
        assert_eq!(
            fill_template("http://h/{subject_id}.yaml", &source, "foo-1-1.fc44").expect("filled"),
            "http://h/foo-1-1.fc44.yaml"
        );
        assert!(fill_template("http://h/{nope}", &source, "x").is_err());
        assert!(fill_template("http://h/{rev", &source, "x").is_err());
        assert_eq!(parse_source("git+https://h/foo#"), None);
        assert_eq!(parse_source("https://h/foo"), None);
        assert_eq!(
            parse_source("git://h/foo.git#r").map(|it| it.namespace),
            Some(String::new())
        );
    }

    #[test]
    fn product_versions_from_dist_tags() {
        assert_eq!(
            product_version_of_nvr("foo-1.0-1.fc44").as_deref(),
            Some("fedora-44")
        );
        assert_eq!(product_version_of_nvr("foo-1.0-1.el9_2").as_deref(), None);
        assert_eq!(
            product_version_of_nvr("foo-1.0-1.el9").as_deref(),
            Some("epel-9")
        );
        assert_eq!(product_version_of_nvr("FEDORA-2026-abc"), None);
    }
}
