//! dist-git's raw file URLs, as Pagure serves them on src.fedoraproject.org:
//! `GET /distgit/<namespace>/<package>/raw/<gitref>/f/<path>`.
//!
//! The files come from `<dir>/distgit/<namespace>/<package>/<gitref>/<path>`:
//! one directory per branch or commit, holding the files as they are at that
//! ref. There is no git here; a test or a task author lays out the refs it
//! needs.

use std::path::{Component, Path};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::FakeInfra;

/// The route's pattern.
pub(crate) const ROUTE: &str = "/distgit/{namespace}/{package}/raw/{gitref}/f/{*path}";

/// Serve one file of one ref.
pub(crate) async fn raw(
    State(infra): State<FakeInfra>,
    UrlPath((namespace, package, gitref, path)): UrlPath<(String, String, String, String)>,
) -> Response {
    let Some(file) = file_of(&infra.dir, &namespace, &package, &gitref, &path) else {
        return missing(&namespace, &package, &gitref, &path);
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            Body::from(bytes),
        )
            .into_response(),
        Err(_) => missing(&namespace, &package, &gitref, &path),
    }
}

/// The file behind a raw URL, if its parts are plain path segments.
fn file_of(
    dir: &Path,
    namespace: &str,
    package: &str,
    gitref: &str,
    path: &str,
) -> Option<std::path::PathBuf> {
    let plain = |part: &str| {
        !part.is_empty()
            && Path::new(part)
                .components()
                .all(|it| matches!(it, Component::Normal(_)))
    };
    if ![namespace, package, gitref, path].into_iter().all(plain) {
        return None;
    }
    let file = dir
        .join("distgit")
        .join(namespace)
        .join(package)
        .join(gitref)
        .join(path);
    file.is_file().then_some(file)
}

fn missing(namespace: &str, package: &str, gitref: &str, path: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{namespace}/{package}: no file {path} at {gitref}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_segments_reach_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("distgit/rpms/foo/f44");
        std::fs::create_dir_all(at.join("tests")).unwrap();
        std::fs::write(at.join("foo.spec"), "Name: foo\n").unwrap();
        std::fs::write(at.join("tests/run.sh"), "true\n").unwrap();
        assert!(file_of(dir.path(), "rpms", "foo", "f44", "foo.spec").is_some());
        assert!(file_of(dir.path(), "rpms", "foo", "f44", "tests/run.sh").is_some());
        assert!(file_of(dir.path(), "rpms", "foo", "f44", "nope").is_none());
        assert!(file_of(dir.path(), "rpms", "foo", "..", "f44/foo.spec").is_none());
        assert!(file_of(dir.path(), "rpms", "foo", "f44", "../f44/foo.spec").is_none());
        assert!(file_of(dir.path(), "rpms", "foo", "f44", "/etc/passwd").is_none());
        assert!(file_of(dir.path(), "rpms", "foo", "f44", "tests").is_none());
    }
}
