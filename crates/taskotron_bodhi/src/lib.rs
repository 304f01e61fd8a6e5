//! Bodhi, Fedora's update system, read through its REST API.
//!
//! [`BodhiClient::updates`] pages through `GET /updates/` with the filters
//! the scheduler's reconcilers need (builds, status, releases, time
//! windows); [`BodhiClient::update`] reads one update by alias;
//! [`BodhiClient::releases`] lists releases with their Koji tags, from
//! which Taskotron derives what yumrepoinfo.conf once listed by hand.
//! Transport errors and 5xx answers are retried ([`Retry`]); everything
//! else is a [`BodhiError`] naming the URL.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha1::{Digest, Sha1};
pub use taskotron_net::Retry;

pub mod repos;
use taskotron_net::snippet;

/// The most rows Bodhi gives per page.
pub const MAX_ROWS_PER_PAGE: u32 = 1000;

/// Why a Bodhi request failed.
#[derive(Debug, thiserror::Error)]
pub enum BodhiError {
    /// The base URL is not usable.
    #[error("bad Bodhi URL {url:?}: {why}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// Bodhi answered with an HTTP error (its `errors` list when it gave one).
    #[error("GET {url}: HTTP {status}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// Bodhi's error descriptions, or the start of the body.
        message: String,
    },
    /// No answer: connection refused or reset, timeout, TLS.
    #[error("GET {url}: {source}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        #[source]
        source: reqwest::Error,
    },
    /// The answer is not the JSON expected.
    #[error("GET {url}: unexpected answer: {what}")]
    Unexpected {
        /// The URL.
        url: String,
        /// What did not fit, and where.
        what: String,
    },
}

impl taskotron_net::Retryable for BodhiError {
    fn is_retryable(&self) -> bool {
        match self {
            BodhiError::Transport { .. } => true,
            BodhiError::Http { status, .. } => *status >= 500 || *status == 429,
            BodhiError::BadUrl { .. } | BodhiError::Unexpected { .. } => false,
        }
    }
}

/// A build of an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateBuild {
    /// `name-version-release`.
    pub nvr: String,
    /// Its epoch.
    #[serde(default)]
    pub epoch: Option<i64>,
    /// Whether Bodhi has seen it signed.
    #[serde(default)]
    pub signed: Option<bool>,
    /// `rpm`, `module`, `flatpak`, `container`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The account name.
    pub name: String,
}

/// A release and its Koji tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// `F44`, `EPEL-10`.
    pub name: String,
    /// `Fedora 44`.
    #[serde(default)]
    pub long_name: Option<String>,
    /// `44`.
    #[serde(default)]
    pub version: Option<String>,
    /// `FEDORA`, `FEDORA-EPEL`.
    #[serde(default)]
    pub id_prefix: Option<String>,
    /// The dist-git branch, `f44`.
    #[serde(default)]
    pub branch: Option<String>,
    /// The Koji tag of the release, `f44`.
    #[serde(default)]
    pub dist_tag: Option<String>,
    /// Where stable updates go, `f44-updates`.
    #[serde(default)]
    pub stable_tag: Option<String>,
    /// Where updates in testing go, `f44-updates-testing`.
    #[serde(default)]
    pub testing_tag: Option<String>,
    /// Where new builds land, `f44-updates-candidate`.
    #[serde(default)]
    pub candidate_tag: Option<String>,
    /// `f44-signing-pending`.
    #[serde(default)]
    pub pending_signing_tag: Option<String>,
    /// `f44-updates-testing-pending`.
    #[serde(default)]
    pub pending_testing_tag: Option<String>,
    /// `f44-updates-pending`.
    #[serde(default)]
    pub pending_stable_tag: Option<String>,
    /// `f44-override`.
    #[serde(default)]
    pub override_tag: Option<String>,
    /// `disabled`, `pending`, `frozen`, `current`, `archived`.
    #[serde(default)]
    pub state: Option<String>,
    /// Whether Bodhi composes it.
    #[serde(default)]
    pub composed_by_bodhi: Option<bool>,
}

/// An update, with the fields Taskotron reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// `FEDORA-2026-0123456789`.
    pub alias: String,
    /// Its title (the builds' NVRs).
    #[serde(default)]
    pub title: Option<String>,
    /// `pending`, `testing`, `stable`, `unpushed`, `obsolete`, `side_tag_active`, `side_tag_expired`.
    pub status: String,
    /// `testing`, `stable`, `obsolete`, `unpush`, `revoke`, or none.
    #[serde(default)]
    pub request: Option<String>,
    /// `bugfix`, `security`, `enhancement`, `newpackage`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Its builds.
    pub builds: Vec<UpdateBuild>,
    /// Its release.
    pub release: Release,
    /// Who submitted it.
    pub user: User,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    #[serde(default)]
    pub date_submitted: Option<String>,
    /// When it was last edited (never for a new update).
    #[serde(default)]
    pub date_modified: Option<String>,
    /// When it went to testing.
    #[serde(default)]
    pub date_testing: Option<String>,
    /// When it went stable.
    #[serde(default)]
    pub date_stable: Option<String>,
    /// SHA-1 of the sorted build NVRs joined by spaces.
    #[serde(default)]
    pub version_hash: Option<String>,
    /// Greenwave's verdict as Bodhi shows it.
    #[serde(default)]
    pub test_gating_status: Option<String>,
    /// Whether it touches the critical path.
    #[serde(default)]
    pub critpath: Option<bool>,
    /// The side tag it came from.
    #[serde(default)]
    pub from_tag: Option<String>,
    /// Its page.
    #[serde(default)]
    pub url: Option<String>,
    /// Everything else Bodhi sent.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// One page of `GET /updates/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdatePage {
    /// The updates, newest submitted first.
    pub updates: Vec<Update>,
    /// This page (from 1).
    pub page: u32,
    /// How many pages there are.
    pub pages: u32,
    /// Rows per page.
    pub rows_per_page: u32,
    /// How many updates match.
    pub total: u64,
}

/// Filters of `GET /updates/`. Times are Bodhi's `YYYY-MM-DD HH:MM:SS` (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateQuery {
    /// Updates with any of these builds (NVRs).
    pub builds: Vec<String>,
    /// In any of these statuses.
    pub status: Vec<String>,
    /// Of any of these releases (`F44`).
    pub releases: Vec<String>,
    /// Of any of these packages.
    pub packages: Vec<String>,
    /// Only this content type (`rpm`).
    pub content_type: Option<String>,
    /// Submitted at or after.
    pub submitted_since: Option<String>,
    /// Submitted before.
    pub submitted_before: Option<String>,
    /// Edited at or after.
    pub modified_since: Option<String>,
    /// Edited before.
    pub modified_before: Option<String>,
    /// Rows per page (1 to 1000; default 1000 when paging through).
    pub rows_per_page: Option<u32>,
}

impl UpdateQuery {
    fn params(&self, page: u32) -> Vec<(String, String)> {
        let mut params = Vec::new();
        let mut list = |name: &str, values: &[String]| {
            if !values.is_empty() {
                params.push((name.to_owned(), values.join(",")));
            }
        };
        list("builds", &self.builds);
        list("status", &self.status);
        list("releases", &self.releases);
        list("packages", &self.packages);
        for (name, value) in [
            ("content_type", &self.content_type),
            ("submitted_since", &self.submitted_since),
            ("submitted_before", &self.submitted_before),
            ("modified_since", &self.modified_since),
            ("modified_before", &self.modified_before),
        ] {
            if let Some(value) = value {
                params.push((name.to_owned(), value.clone()));
            }
        }
        let rows = self
            .rows_per_page
            .unwrap_or(MAX_ROWS_PER_PAGE)
            .clamp(1, MAX_ROWS_PER_PAGE);
        params.push(("rows_per_page".to_owned(), rows.to_string()));
        params.push(("page".to_owned(), page.to_string()));
        params
    }
}

/// A Bodhi server.
#[derive(Debug, Clone)]
pub struct BodhiClient {
    base: String,
    http: reqwest::Client,
    retry: Retry,
}

impl BodhiClient {
    /// A client of the Bodhi at `base` (`https://bodhi.fedoraproject.org/`).
    pub fn new(base: &str) -> Result<BodhiClient, BodhiError> {
        let bad = |why: String| BodhiError::BadUrl {
            url: base.to_owned(),
            why,
        };
        let parsed = reqwest::Url::parse(base).map_err(|err| bad(err.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("only http and https are supported".to_owned()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("taskotron/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|err| bad(format!("cannot make an HTTP client: {err}")))?;
        Ok(BodhiClient {
            base: format!("{}/", base.trim_end_matches('/')),
            http,
            retry: Retry::default(),
        })
    }

    /// Use this retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: Retry) -> BodhiClient {
        self.retry = retry;
        self
    }

    /// The base URL (ending in `/`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET base + path` with `params`, decoded; `None` on a 404.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(String, String)],
    ) -> Result<Option<T>, BodhiError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|err| {
            BodhiError::BadUrl {
                url: format!("{}{path}", self.base),
                why: err.to_string(),
            }
        })?;
        if !params.is_empty() {
            url.query_pairs_mut().extend_pairs(params);
        }
        let url = url.to_string();
        self.retry
            .run(&format!("GET {url}"), || self.get_once(&url))
            .await
    }

    async fn get_once<T: DeserializeOwned>(&self, url: &str) -> Result<Option<T>, BodhiError> {
        let transport = |source| BodhiError::Transport {
            url: url.to_owned(),
            source,
        };
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(BodhiError::Http {
                url: url.to_owned(),
                status: status.as_u16(),
                message: error_message(&text),
            });
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| BodhiError::Unexpected {
                url: url.to_owned(),
                what: if text.trim_start().starts_with('{') {
                    err.to_string()
                } else {
                    format!("not JSON: {}", snippet(&text))
                },
            })
    }

    /// One page (from 1) of `GET /updates/`.
    pub async fn updates_page(
        &self,
        query: &UpdateQuery,
        page: u32,
    ) -> Result<UpdatePage, BodhiError> {
        self.get("updates/", &query.params(page.max(1)))
            .await?
            .ok_or_else(|| BodhiError::Http {
                url: format!("{}updates/", self.base),
                status: 404,
                message: "no updates endpoint".to_owned(),
            })
    }

    /// Every update matching `query`, paging through all pages. Use a fixed
    /// `*_before` bound: pages shift when updates arrive during the scan.
    pub async fn updates(&self, query: &UpdateQuery) -> Result<Vec<Update>, BodhiError> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let got = self.updates_page(query, page).await?;
            let pages = got.pages;
            all.extend(got.updates);
            if page >= pages {
                return Ok(all);
            }
            page += 1;
        }
    }

    /// One update by alias; `None` when Bodhi has none.
    pub async fn update(&self, alias: &str) -> Result<Option<Update>, BodhiError> {
        #[derive(Deserialize)]
        struct One {
            update: Update,
        }
        if alias.is_empty() || alias.contains(['/', '?', '#']) {
            return Err(BodhiError::BadUrl {
                url: format!("{}updates/{alias}", self.base),
                why: "not an update alias".to_owned(),
            });
        }
        Ok(self
            .get::<One>(&format!("updates/{alias}"), &[])
            .await?
            .map(|it| it.update))
    }

    /// Releases, all of them or those with `name` (`F44`), paging through.
    pub async fn releases(&self, name: Option<&str>) -> Result<Vec<Release>, BodhiError> {
        #[derive(Deserialize)]
        struct Page {
            releases: Vec<Release>,
            #[serde(default)]
            page: u32,
            #[serde(default)]
            pages: u32,
        }
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let mut params = vec![
                ("rows_per_page".to_owned(), MAX_ROWS_PER_PAGE.to_string()),
                ("page".to_owned(), page.to_string()),
            ];
            if let Some(name) = name {
                params.push(("name".to_owned(), name.to_owned()));
            }
            let got: Page =
                self.get("releases/", &params)
                    .await?
                    .ok_or_else(|| BodhiError::Http {
                        url: format!("{}releases/", self.base),
                        status: 404,
                        message: "no releases endpoint".to_owned(),
                    })?;
            all.extend(got.releases);
            if got.pages <= got.page.max(page) {
                return Ok(all);
            }
            page += 1;
        }
    }
}

/// Bodhi's `{"status": "error", "errors": [{"location", "name",
/// "description"}]}` as one line, or the start of the body.
fn error_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return snippet(body);
    };
    let Some(errors) = value.get("errors").and_then(Value::as_array) else {
        return snippet(body);
    };
    let parts: Vec<String> = errors
        .iter()
        .map(|error| {
            let field = |name: &str| error.get(name).and_then(Value::as_str).unwrap_or_default();
            let place = [field("location"), field("name")]
                .into_iter()
                .filter(|it| !it.is_empty())
                .collect::<Vec<_>>()
                .join(".");
            if place.is_empty() {
                field("description").to_owned()
            } else {
                format!("{place}: {}", field("description"))
            }
        })
        .collect();
    if parts.is_empty() {
        snippet(body)
    } else {
        parts.join("; ")
    }
}

/// Bodhi's `version_hash` of a set of builds: SHA-1 of the sorted NVRs
/// joined by spaces, in hex. Computable from a message, which is why job
/// keys use it.
pub fn version_hash(nvrs: &[&str]) -> String {
    let mut sorted: Vec<&str> = nvrs.to_vec();
    sorted.sort_unstable();
    Sha1::digest(sorted.join(" ").as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_hashes_are_sha1_of_sorted_nvrs() {
        // sha1("a-1-1 b-2-2"), with the NVRs given in either order.
        assert_eq!(
            version_hash(&["b-2-2", "a-1-1"]),
            version_hash(&["a-1-1", "b-2-2"])
        );
        assert_eq!(
            version_hash(&[]),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            version_hash(&["abc"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn bodhi_errors_read_as_one_line() {
        let body = r#"{"status": "error", "errors": [{"location": "querystring", "name": "releases", "description": "Invalid releases specified: F99"}]}"#;
        assert_eq!(
            error_message(body),
            "querystring.releases: Invalid releases specified: F99"
        );
        assert_eq!(error_message("<html>oops</html>"), "<html>oops</html>");
    }

    #[test]
    fn queries_join_lists_and_cap_the_page_size() {
        let query = UpdateQuery {
            builds: vec!["a-1-1".into(), "b-2-2".into()],
            status: vec!["testing".into()],
            submitted_since: Some("2026-11-01 00:00:00".into()),
            rows_per_page: Some(5000),
            ..UpdateQuery::default()
        };
        let params = query.params(2);
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("builds"), Some("a-1-1,b-2-2"));
        assert_eq!(get("status"), Some("testing"));
        assert_eq!(get("rows_per_page"), Some("1000"));
        assert_eq!(get("page"), Some("2"));
        assert_eq!(get("releases"), None);
    }
}
