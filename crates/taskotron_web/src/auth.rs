//! Who may write: optional Bearer tokens and HTTP Basic users, read from
//! files named in the config. Reads are always open.

use std::path::Path;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;

use crate::error::ApiError;

/// The credentials that allow writes; with none configured, writes are open.
#[derive(Clone, Default)]
pub struct WriteAuth {
    tokens: Vec<(String, String)>,
    users: Vec<(String, String)>,
}

impl std::fmt::Debug for WriteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteAuth")
            .field("tokens", &self.tokens.len())
            .field(
                "users",
                &self.users.iter().map(|(user, _)| user).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a credentials file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    /// It cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `NAME:SECRET`.
    #[error("{path}:{line}: expected NAME:SECRET")]
    Line {
        /// The file.
        path: String,
        /// The 1-based line.
        line: usize,
    },
}

impl WriteAuth {
    /// Load `NAME:TOKEN` and `USER:PASSWORD` files; blank lines and `#` comments are skipped.
    pub fn load(
        tokens_file: Option<&Path>,
        users_file: Option<&Path>,
    ) -> Result<WriteAuth, AuthFileError> {
        Ok(WriteAuth {
            tokens: tokens_file.map(read_pairs).transpose()?.unwrap_or_default(),
            users: users_file.map(read_pairs).transpose()?.unwrap_or_default(),
        })
    }

    /// Credentials given directly (tests).
    pub fn from_pairs(tokens: Vec<(String, String)>, users: Vec<(String, String)>) -> WriteAuth {
        WriteAuth { tokens, users }
    }

    /// Whether writes need credentials.
    pub fn is_enabled(&self) -> bool {
        !self.tokens.is_empty() || !self.users.is_empty()
    }

    /// Check a write request; returns who is writing.
    pub fn check(&self, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
        if !self.is_enabled() {
            return Ok(None);
        }
        let header = headers
            .get(AUTHORIZATION)
            .and_then(|it| it.to_str().ok())
            .unwrap_or("");
        if let Some(token) = header.strip_prefix("Bearer ") {
            if let Some((name, _)) = self
                .tokens
                .iter()
                .find(|(_, secret)| same(secret, token.trim()))
            {
                return Ok(Some(name.clone()));
            }
        } else if let Some(encoded) = header.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded);
            if let Some((user, password)) = decoded.split_once(':')
                && self
                    .users
                    .iter()
                    .any(|(name, secret)| name == user && same(secret, password))
            {
                return Ok(Some(user.to_owned()));
            }
        }
        Err(ApiError::Unauthorized(if header.is_empty() {
            "writing needs credentials: a Bearer token or HTTP Basic".to_owned()
        } else {
            "the credentials are not valid".to_owned()
        }))
    }
}

/// The per-worker tokens of the worker API (`api.worker-tokens-file`):
/// `NAME:TOKEN` lines, the name being the worker's. Without a file the
/// worker API is disabled.
#[derive(Clone, Default)]
pub struct WorkerAuth {
    tokens: Vec<(String, String)>,
}

impl std::fmt::Debug for WorkerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerAuth")
            .field(
                "workers",
                &self.tokens.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl WorkerAuth {
    /// Load a `NAME:TOKEN` file; blank lines and `#` comments are skipped.
    pub fn load(path: &Path) -> Result<WorkerAuth, AuthFileError> {
        Ok(WorkerAuth {
            tokens: read_pairs(path)?,
        })
    }

    /// Tokens given directly (tests).
    pub fn from_pairs(tokens: Vec<(String, String)>) -> WorkerAuth {
        WorkerAuth { tokens }
    }

    /// The same tokens and one more, for worker `name` (`serve`'s own
    /// pool, whose token lives only in its memory).
    #[must_use]
    pub fn with_worker(mut self, name: &str, token: &str) -> WorkerAuth {
        self.tokens.push((name.to_owned(), token.to_owned()));
        self
    }

    /// The name of the worker whose `Authorization: Bearer TOKEN` this is.
    pub fn check(&self, headers: &HeaderMap) -> Result<String, ApiError> {
        let header = headers
            .get(AUTHORIZATION)
            .and_then(|it| it.to_str().ok())
            .unwrap_or("");
        let Some(token) = header.strip_prefix("Bearer ") else {
            return Err(ApiError::Unauthorized(if header.is_empty() {
                "the worker API needs a worker's token: Authorization: Bearer TOKEN".to_owned()
            } else {
                "the worker API takes only Bearer tokens".to_owned()
            }));
        };
        self.tokens
            .iter()
            .find(|(_, secret)| same(secret, token.trim()))
            .map(|(name, _)| name.clone())
            .ok_or_else(|| ApiError::Unauthorized("the worker token is not valid".to_owned()))
    }
}

/// Compare secrets in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = a.len() ^ b.len();
    for idx in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(idx).copied().unwrap_or(0) ^ b.get(idx).copied().unwrap_or(0));
    }
    diff == 0
}

fn read_pairs(path: &Path) -> Result<Vec<(String, String)>, AuthFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AuthFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((name, secret)) if !name.is_empty() && !secret.is_empty() => {
                out.push((name.to_owned(), secret.to_owned()));
            }
            _ => {
                return Err(AuthFileError::Line {
                    path: shown,
                    line: idx + 1,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn tokens_and_users() {
        let auth = WriteAuth::from_pairs(
            vec![("ci".into(), "t0k".into())],
            vec![("bob".into(), "pw:x".into())],
        );
        assert_eq!(
            auth.check(&headers("Bearer t0k")).unwrap().as_deref(),
            Some("ci")
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("bob:pw:x");
        assert_eq!(
            auth.check(&headers(&format!("Basic {basic}")))
                .unwrap()
                .as_deref(),
            Some("bob")
        );
        assert!(auth.check(&headers("Bearer nope")).is_err());
        assert!(auth.check(&HeaderMap::new()).is_err());
        assert_eq!(WriteAuth::default().check(&HeaderMap::new()).unwrap(), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn worker_tokens_name_the_worker() {
        let auth =
            WorkerAuth::from_pairs(vec![("w1".into(), "s1".into()), ("w2".into(), "s2".into())]);
        assert_eq!(auth.check(&headers("Bearer s2")).unwrap(), "w2");
        for bad in [
            headers("Bearer s3"),
            headers("Basic czE="),
            HeaderMap::new(),
        ] {
            assert!(matches!(auth.check(&bad), Err(ApiError::Unauthorized(_))));
        }
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("workers");
        std::fs::write(&file, "# workers\nbuilder-1:sekrit\n").unwrap();
        let loaded = WorkerAuth::load(&file).unwrap();
        assert_eq!(
            loaded.check(&headers("Bearer sekrit")).unwrap(),
            "builder-1"
        );
        assert!(!format!("{loaded:?}").contains("sekrit"));
    }

    #[test]
    fn bad_files_name_the_line() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("tokens");
        std::fs::write(&file, "# comment\nci:tok\n\nbroken\n").unwrap();
        let err = WriteAuth::load(Some(&file), None).unwrap_err().to_string();
        assert!(err.ends_with("tokens:4: expected NAME:SECRET"), "{err}");
    }
}
