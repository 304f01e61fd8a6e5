//! Helpers shared by the ResultsDB API tests: the router over a fresh store
//! per backend, requests, answers and table-driven assertions.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "shared test helpers: each file uses some of them; they fail loudly and explain skips"
)]

use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use http_body_util::BodyExt as _;
use serde_json::Value;
use taskotron_store::Store;
use taskotron_web::resultsdb::ResultsdbSettings;
use taskotron_web::{AppState, router};
use tower::ServiceExt as _;

/// The Host every request carries unless a test gives another.
pub(crate) const HOST: &str = "rdb.example.test";
/// The API's absolute URL as that Host makes it.
pub(crate) const API: &str = "http://rdb.example.test/api/v2.0";

/// One HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The status and the JSON body.
    pub(crate) fn pair(&self) -> (u16, Value) {
        (self.status, self.json())
    }

    pub(crate) fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub(crate) fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map_or("", |it| it.to_str().unwrap())
    }
}

/// The router over one store.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) app: Router,
    pub(crate) store: Store,
}

impl Api {
    pub(crate) async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request = request.header(header::HOST, HOST);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::from(body.to_owned())).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        Answer {
            status,
            headers,
            text,
        }
    }

    /// GET a path under `/api/v2.0`.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.send("GET", &format!("/api/v2.0{path}"), &[], "").await
    }

    /// POST JSON text to a path under `/api/v2.0`.
    pub(crate) async fn post_text(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        text: &str,
    ) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send("POST", &format!("/api/v2.0{path}"), &all, text)
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_text(path, &[], &body.to_string()).await
    }

    /// POST a result that must be accepted; its JSON.
    pub(crate) async fn result(&self, body: &Value) -> Value {
        let answer = self.post("/results", body).await;
        assert_eq!(answer.status, 201, "POST /results {body}: {}", answer.text);
        answer.json()
    }
}

/// Run `body` on a fresh SQLite store, then on a fresh PostgreSQL schema.
pub(crate) async fn each_backend<S, F, Fut>(settings: S, body: F)
where
    S: Fn() -> ResultsdbSettings,
    F: Fn(Api) -> Fut,
    Fut: Future<Output = ()>,
{
    each_state(|store| AppState::with_settings(store, settings()), body).await;
}

/// [`each_backend`] with the application state made by `state`.
pub(crate) async fn each_state<S, F, Fut>(state: S, body: F)
where
    S: Fn(Store) -> AppState,
    F: Fn(Api) -> Fut,
    Fut: Future<Output = ()>,
{
    let api = |store: Store| Api {
        app: router(state(store.clone())),
        store,
    };
    let tmp = tempfile::tempdir().unwrap();
    body(api(Store::open_sqlite(tmp.path()).await.unwrap())).await;
    match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let pg = Store::open_postgres(&url, Some(&schema)).await.unwrap();
            body(api(pg.clone())).await;
            pg.drop_schema_for_tests(&schema).await.unwrap();
        }
        _ => {
            let required = std::env::var("TASKOTRON_REQUIRE_SERVICES");
            assert_ne!(
                required.as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped PostgreSQL: TASKOTRON_TEST_DATABASE_URL is not set");
        }
    }
}

pub(crate) fn plain() -> ResultsdbSettings {
    ResultsdbSettings::new(&[])
}

/// A name no other test uses.
pub(crate) fn unique(prefix: &str) -> String {
    format!(
        "{prefix}.{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub(crate) fn is_uuid4(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|it| it.get_version_num() == 4)
}

/// Fail once, listing every mismatch a table-driven test collected.
pub(crate) fn assert_no_mismatch(mismatches: &[String]) {
    let count = mismatches.len();
    assert!(count == 0, "{count} mismatches:\n{}", mismatches.join("\n"));
}
