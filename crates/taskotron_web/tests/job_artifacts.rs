//! Job logs and artifacts over HTTP, on both backends: a worker streams a
//! log in chunks and uploads artifacts with its fencing token; anyone reads
//! them back with the right content types, gzip when asked; limits answer
//! 413 and keep nothing, bad names 400, bad tokens 401, stale attempts 409;
//! the retention sweep deletes finished jobs' files and the API says so.

mod common;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use common::{HOST, plain};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_web::artifacts::{JobFiles, sweep_files};
use taskotron_web::auth::WorkerAuth;
use taskotron_web::worker_api::WorkerSettings;
use taskotron_web::{AppState, router};
use tower::ServiceExt as _;

const W1: &str = "Bearer w1-secret";
const W2: &str = "Bearer w2-secret";

/// One answer, with its body as bytes.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!("not JSON ({err}): {}", String::from_utf8_lossy(&self.body))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |it| it.to_str().unwrap_or("?"))
    }

    /// The body, gunzipped when it says it is gzip.
    fn decoded(&self) -> Vec<u8> {
        if self.header("content-encoding") == "gzip" {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(self.body.as_slice())
                .read_to_end(&mut out)
                .expect("gzip body");
            out
        } else {
            self.body.clone()
        }
    }
}

/// The application over one store, with its state and data directory.
struct App {
    state: AppState,
    data_dir: PathBuf,
}

impl App {
    async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            request = request.header(header::HOST, HOST);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router(self.state.clone())
            .oneshot(request.body(Body::from(body)).expect("request"))
            .await
            .expect("answer");
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send("GET", uri, &[], Vec::new()).await
    }

    async fn get_gzip(&self, uri: &str) -> Reply {
        self.send("GET", uri, &[("accept-encoding", "gzip")], Vec::new())
            .await
    }

    async fn post_json(&self, uri: &str, auth: Option<&str>, body: &Value) -> Reply {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(auth) = auth {
            headers.push(("authorization", auth));
        }
        self.send("POST", uri, &headers, body.to_string().into_bytes())
            .await
    }

    async fn log(
        &self,
        auth: Option<&str>,
        uuid: &str,
        token: i64,
        offset: u64,
        bytes: &[u8],
    ) -> Reply {
        let headers: Vec<(&str, &str)> = auth.map(|it| ("authorization", it)).into_iter().collect();
        self.send(
            "POST",
            &format!("/api/v1/worker/jobs/{uuid}/log?token={token}&offset={offset}"),
            &headers,
            bytes.to_vec(),
        )
        .await
    }

    async fn put(
        &self,
        auth: Option<&str>,
        uuid: &str,
        token: i64,
        name: &str,
        bytes: &[u8],
    ) -> Reply {
        let headers: Vec<(&str, &str)> = auth.map(|it| ("authorization", it)).into_iter().collect();
        self.send(
            "PUT",
            &format!("/api/v1/worker/jobs/{uuid}/artifacts/{name}?token={token}"),
            &headers,
            bytes.to_vec(),
        )
        .await
    }

    /// Enqueue a job and lease it to w1: its uuid and token.
    async fn leased(&self, check: &str) -> (String, i64) {
        let enqueued = self
            .post_json(
                "/api/v1/jobs",
                None,
                &json!({"jobs": [{"check": check, "check_revision": "r1", "item_type": "koji_build",
                                  "item": "foo-1.0-1.fc42", "arch": "x86_64"}]}),
            )
            .await;
        assert_eq!(enqueued.status, 201, "{}", enqueued.text());
        let uuid = enqueued.json()["data"][0]["uuid"]
            .as_str()
            .expect("uuid")
            .to_owned();
        let registered = self
            .post_json("/api/v1/worker/register", Some(W1), &json!({}))
            .await;
        assert_eq!(registered.status, 200, "{}", registered.text());
        let lease = self
            .post_json(
                "/api/v1/worker/lease",
                Some(W1),
                &json!({"wait_seconds": 1}),
            )
            .await;
        assert_eq!(lease.status, 200, "{}", lease.text());
        assert_eq!(lease.json()["uuid"], uuid.as_str());
        (uuid, lease.json()["token"].as_i64().expect("token"))
    }

    async fn finish(&self, uuid: &str, token: i64) {
        let done = self
            .post_json(
                &format!("/api/v1/worker/jobs/{uuid}/result"),
                Some(W1),
                &json!({"token": token, "state": "finished", "outcome": "PASSED"}),
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text());
    }

    async fn job(&self, uuid: &str) -> Value {
        let answer = self.get(&format!("/api/v1/jobs/{uuid}")).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// Every file under the job's directory, relative to it.
    fn files_of(&self, uuid: &str) -> Vec<String> {
        fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                if entry.path().is_dir() {
                    walk(&entry.path(), &format!("{name}/"), out);
                } else {
                    out.push(name);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data_dir.join("jobs").join(uuid), "", &mut out);
        out.sort();
        out
    }
}

fn worker_settings() -> WorkerSettings {
    let mut settings = WorkerSettings::new(Some(WorkerAuth::from_pairs(vec![
        ("w1".into(), "w1-secret".into()),
        ("w2".into(), "w2-secret".into()),
    ])));
    settings.max_wait = Duration::from_secs(2);
    settings
}

/// Run `body` over a fresh SQLite store, then a fresh PostgreSQL schema,
/// each with its own data directory; `files` adjusts the limits.
async fn each_backend<F, Fut>(files: impl Fn(&mut JobFiles), body: F)
where
    F: Fn(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = |store: Store, name: &str| {
        let data_dir = tmp.path().join(name);
        let mut settings = JobFiles::new(Some(data_dir.clone()));
        files(&mut settings);
        let state = AppState::with_settings(store, plain())
            .with_worker_api(worker_settings())
            .with_job_files(settings);
        App { state, data_dir }
    };
    let sqlite_dir = tmp.path().join("db");
    let store = Store::open_sqlite(&sqlite_dir).await.expect("sqlite");
    body(app(store, "sqlite")).await;
    match std::env::var("TASKOTRON_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let pg = Store::open_postgres(&url, Some(&schema))
                .await
                .expect("postgres");
            body(app(pg.clone(), "postgres")).await;
            pg.drop_schema_for_tests(&schema)
                .await
                .expect("drop schema");
        }
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
            );
            skipped();
        }
    }
}

#[expect(clippy::print_stderr, reason = "a skipped backend is said")]
fn skipped() {
    eprintln!("skipped PostgreSQL: TASKOTRON_TEST_DATABASE_URL is not set");
}

#[tokio::test]
async fn a_log_streams_in_chunks_and_reads_back_live() {
    each_backend(
        |_| {},
        |app| async move {
            let (uuid, token) = app.leased("dist.log").await;
            let log = format!("/api/v1/jobs/{uuid}/log");

            // Queued or just leased: the log is empty, and not complete.
            let empty = app.get(&log).await;
            assert_eq!(empty.status, 200, "{}", empty.text());
            assert_eq!(empty.body, b"");
            assert_eq!(empty.header("x-log-complete"), "false");

            let first = app.log(Some(W1), &uuid, token, 0, b"line one\n").await;
            assert_eq!((first.status, first.json()), (200, json!({"size": 9})));
            // The same chunk again (its answer was lost): kept once.
            let again = app.log(Some(W1), &uuid, token, 0, b"line one\n").await;
            assert_eq!((again.status, again.json()), (200, json!({"size": 9})));
            // Overlapping the end: only the new bytes are appended.
            let overlap = app.log(Some(W1), &uuid, token, 5, b"one\nline two\n").await;
            assert_eq!((overlap.status, overlap.json()), (200, json!({"size": 18})));
            // A gap: refused with the size to resume from.
            let gap = app.log(Some(W1), &uuid, token, 100, b"lost").await;
            assert_eq!(gap.status, 400, "{}", gap.text());
            assert_eq!(gap.json()["size"], 18);

            let whole = app.get(&log).await;
            assert_eq!(whole.status, 200);
            assert_eq!(whole.text(), "line one\nline two\n");
            assert_eq!(whole.header("content-type"), "text/plain; charset=utf-8");
            assert_eq!(whole.header("x-log-size"), "18");
            assert_eq!(whole.header("x-log-attempt"), "1");
            assert_eq!(whole.header("x-log-complete"), "false");
            // Following: from an offset, and past the end.
            let tail = app.get(&format!("{log}?offset=9")).await;
            assert_eq!(tail.text(), "line two\n");
            assert_eq!(tail.header("x-log-offset"), "9");
            let past = app.get(&format!("{log}?offset=500")).await;
            assert_eq!((past.status, past.body.len()), (200, 0));
            assert_eq!(past.header("x-log-size"), "18");

            // The first chunk linked the attempt to its log on this server.
            let record = app.job(&uuid).await;
            let link = format!("http://{HOST}/api/v1/jobs/{uuid}/log?attempt=1");
            assert_eq!(record["attempts"][0]["log_url"], link.as_str());

            // A longer log is gzip-encoded for a client that takes gzip.
            let long: String = (0..200).map(|n| format!("[build] step {n} ok\n")).collect();
            let more = app.log(Some(W1), &uuid, token, 18, long.as_bytes()).await;
            assert_eq!(more.status, 200, "{}", more.text());
            let packed = app.get_gzip(&log).await;
            assert_eq!(packed.header("content-encoding"), "gzip");
            assert!(packed.body.len() < 18 + long.len());
            assert_eq!(
                String::from_utf8(packed.decoded()).unwrap_or_default(),
                format!("line one\nline two\n{long}")
            );
            let plain = app.get(&log).await;
            assert_eq!(plain.header("content-encoding"), "");
            assert_eq!(plain.body.len(), 18 + long.len());

            // Finished: the link stays and the log is complete.
            app.finish(&uuid, token).await;
            let record = app.job(&uuid).await;
            assert_eq!(record["attempts"][0]["log_url"], link.as_str());
            let done = app.get(&format!("{log}?attempt=1")).await;
            assert_eq!(done.header("x-log-complete"), "true");
            let missing = app.get(&format!("{log}?attempt=2")).await;
            assert_eq!(missing.status, 404, "{}", missing.text());
            let bad = app.get(&format!("{log}?offset=-1")).await;
            assert_eq!(bad.status, 400, "{}", bad.text());
            assert_eq!(app.files_of(&uuid), ["1/log"]);
        },
    )
    .await;
}

#[tokio::test]
async fn artifacts_upload_list_and_download_with_their_types() {
    each_backend(|_| {}, |app| async move {
        let (uuid, token) = app.leased("dist.artifacts").await;
        let yaml = b"results:\n  - outcome: PASSED\n".to_vec();
        let html: Vec<u8> = format!("<html><body>{}</body></html>", "<p>ok</p>".repeat(300)).into_bytes();
        let binary: Vec<u8> = (0..=255_u8).cycle().take(5000).collect();
        for (name, bytes) in [
            ("taskotron/results.yml", &yaml),
            ("report.html", &html),
            ("foo-1.0-1.fc42.x86_64.rpm", &binary),
            ("dir/a%20b.txt", &b"spaced\n".to_vec()),
        ] {
            let put = app.put(Some(W1), &uuid, token, name, bytes).await;
            assert_eq!(put.status, 201, "{name}: {}", put.text());
        }
        // The same name again replaces the file.
        let replaced = app
            .put(Some(W1), &uuid, token, "dir/a%20b.txt", b"spaced again\n")
            .await;
        assert_eq!(replaced.status, 201, "{}", replaced.text());
        assert_eq!(
            replaced.json(),
            json!({"name": "dir/a b.txt", "size": 13, "content_type": "text/plain; charset=utf-8"})
        );

        let listing = app.get(&format!("/api/v1/jobs/{uuid}/artifacts")).await;
        assert_eq!(listing.status, 200, "{}", listing.text());
        let listing = listing.json();
        let base = format!("http://{HOST}/api/v1/jobs/{uuid}/artifacts");
        assert_eq!(listing["attempt"], 1);
        assert_eq!(listing["expired"], false);
        assert_eq!(
            listing["data"],
            json!([
                {"name": "dir/a b.txt", "size": 13, "content_type": "text/plain; charset=utf-8",
                 "url": format!("{base}/dir/a%20b.txt?attempt=1")},
                {"name": "foo-1.0-1.fc42.x86_64.rpm", "size": 5000, "content_type": "application/x-rpm",
                 "url": format!("{base}/foo-1.0-1.fc42.x86_64.rpm?attempt=1")},
                {"name": "report.html", "size": html.len(), "content_type": "text/html; charset=utf-8",
                 "url": format!("{base}/report.html?attempt=1")},
                {"name": "taskotron/results.yml", "size": yaml.len(), "content_type": "application/yaml",
                 "url": format!("{base}/taskotron/results.yml?attempt=1")},
            ])
        );
        assert_eq!(
            listing["total_bytes"],
            13 + 5000 + html.len() + yaml.len()
        );

        // Each listed URL downloads the file with its type.
        for entry in listing["data"].as_array().into_iter().flatten() {
            let url = entry["url"].as_str().unwrap_or_default().replace(&format!("http://{HOST}"), "");
            let got = app.get_gzip(&url).await;
            assert_eq!(got.status, 200, "{url}: {}", got.text());
            assert_eq!(got.header("content-type"), entry["content_type"], "{url}");
            assert_eq!(got.header("x-content-type-options"), "nosniff");
            assert_eq!(got.header("content-security-policy"), "sandbox");
            assert_eq!(got.decoded().len() as u64, entry["size"].as_u64().unwrap_or(0), "{url}");
        }
        // Text worth compressing is gzip-encoded; small text and binaries are not.
        let page = app.get_gzip(&format!("/api/v1/jobs/{uuid}/artifacts/report.html")).await;
        assert_eq!(page.header("content-encoding"), "gzip");
        assert_eq!(page.decoded(), html);
        let page = app.get(&format!("/api/v1/jobs/{uuid}/artifacts/report.html")).await;
        assert_eq!(page.header("content-encoding"), "");
        assert_eq!(page.body, html);
        let small = app.get_gzip(&format!("/api/v1/jobs/{uuid}/artifacts/taskotron/results.yml")).await;
        assert_eq!(small.header("content-encoding"), "");
        assert_eq!(small.body, yaml);
        let rpm = app.get_gzip(&format!("/api/v1/jobs/{uuid}/artifacts/foo-1.0-1.fc42.x86_64.rpm")).await;
        assert_eq!(rpm.header("content-encoding"), "");
        assert_eq!(rpm.header("content-length"), "5000");
        assert_eq!(rpm.body, binary);

        let none = app.get(&format!("/api/v1/jobs/{uuid}/artifacts/nope.txt")).await;
        assert_eq!(none.status, 404, "{}", none.text());
        let dir = app.get(&format!("/api/v1/jobs/{uuid}/artifacts/dir")).await;
        assert_eq!(dir.status, 404, "{}", dir.text());

        // The first upload linked the attempt; the result keeps the link.
        app.finish(&uuid, token).await;
        let record = app.job(&uuid).await;
        assert_eq!(
            record["attempts"][0]["artifacts_url"],
            format!("{base}?attempt=1").as_str()
        );
        assert_eq!(record["attempts"][0]["log_url"], Value::Null);
        assert_eq!(
            app.files_of(&uuid),
            [
                "1/artifacts/dir/a b.txt",
                "1/artifacts/foo-1.0-1.fc42.x86_64.rpm",
                "1/artifacts/report.html",
                "1/artifacts/taskotron/results.yml",
            ]
        );

        // A job that has not started lists nothing.
        let queued = app
            .post_json(
                "/api/v1/jobs",
                None,
                &json!({"jobs": [{"check": "dist.later", "check_revision": "r1",
                                  "item_type": "koji_build", "item": "bar-1-1", "arch": "x86_64"}]}),
            )
            .await;
        let later = queued.json()["data"][0]["uuid"].as_str().unwrap_or_default().to_owned();
        let nothing = app.get(&format!("/api/v1/jobs/{later}/artifacts")).await;
        assert_eq!(
            (nothing.status, nothing.json()),
            (200, json!({"uuid": later, "attempt": null, "expired": false, "data": []}))
        );
    })
    .await;
}

#[tokio::test]
async fn odd_artifact_names_are_refused_and_nothing_is_written() {
    each_backend(
        |_| {},
        |app| async move {
            let (uuid, token) = app.leased("dist.names").await;
            for name in [
                "../escape.txt",
                "a/../../escape.txt",
                "%2E%2E/escape.txt",
                "%2Fetc%2Fpasswd",
                "a/./b",
                "a%2F%2Fb",
                "line%0Abreak",
                "back%5Cslash",
                "nul%00byte",
            ] {
                let put = app.put(Some(W1), &uuid, token, name, b"x").await;
                assert_eq!(put.status, 400, "{name}: {}", put.text());
            }
            // A file where a directory of artifacts is, and the reverse.
            assert_eq!(
                app.put(Some(W1), &uuid, token, "d/f.txt", b"x")
                    .await
                    .status,
                201
            );
            let clash = app.put(Some(W1), &uuid, token, "d", b"x").await;
            assert_eq!(clash.status, 400, "{}", clash.text());
            let clash = app.put(Some(W1), &uuid, token, "d/f.txt/g", b"x").await;
            assert_eq!(clash.status, 400, "{}", clash.text());
            assert_eq!(app.files_of(&uuid), ["1/artifacts/d/f.txt"]);
            // Downloads refuse the same names.
            let read = app
                .get(&format!("/api/v1/jobs/{uuid}/artifacts/%2E%2E/log"))
                .await;
            assert_eq!(read.status, 400, "{}", read.text());
        },
    )
    .await;
}

#[tokio::test]
async fn limits_answer_413_and_keep_nothing_over_them() {
    each_backend(
        |files| {
            files.max_log_bytes = 100;
            files.max_artifact_bytes = 1000;
        },
        |app| async move {
            let (uuid, token) = app.leased("dist.limits").await;
            assert_eq!(
                app.log(Some(W1), &uuid, token, 0, &[b'a'; 60]).await.status,
                200
            );
            let over = app.log(Some(W1), &uuid, token, 60, &[b'b'; 60]).await;
            assert_eq!(over.status, 413, "{}", over.text());
            assert!(
                over.json()["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("max-log-bytes")
            );
            let kept = app.get(&format!("/api/v1/jobs/{uuid}/log")).await;
            assert_eq!(kept.body, vec![b'a'; 60]);
            // A chunk over the per-request limit is refused before the log's.
            let huge = vec![b'c'; taskotron_web::artifacts::MAX_CHUNK_BYTES + 1];
            assert_eq!(app.log(Some(W1), &uuid, token, 60, &huge).await.status, 413);

            assert_eq!(
                app.put(Some(W1), &uuid, token, "one.bin", &[1; 600])
                    .await
                    .status,
                201
            );
            let two = app.put(Some(W1), &uuid, token, "two.bin", &[2; 600]).await;
            assert_eq!(two.status, 413, "{}", two.text());
            assert!(
                two.json()["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("max-artifact-bytes")
            );
            // Replacing a file counts its new size, not both.
            assert_eq!(
                app.put(Some(W1), &uuid, token, "one.bin", &[3; 900])
                    .await
                    .status,
                201
            );
            assert_eq!(
                app.put(Some(W1), &uuid, token, "two.bin", &[4; 101])
                    .await
                    .status,
                413
            );
            assert_eq!(
                app.put(Some(W1), &uuid, token, "two.bin", &[4; 100])
                    .await
                    .status,
                201
            );
            assert_eq!(
                app.files_of(&uuid),
                ["1/artifacts/one.bin", "1/artifacts/two.bin", "1/log"]
            );
            let one = app
                .get(&format!("/api/v1/jobs/{uuid}/artifacts/one.bin"))
                .await;
            assert_eq!(one.body, vec![3; 900]);
        },
    )
    .await;
}

#[tokio::test]
async fn bad_tokens_and_stale_attempts_change_nothing() {
    each_backend(
        |_| {},
        |app| async move {
            let (uuid, token) = app.leased("dist.tokens").await;
            // No token, a wrong one: 401.
            for auth in [None, Some("Bearer nope")] {
                let log = app.log(auth, &uuid, token, 0, b"x").await;
                assert_eq!(log.status, 401, "{}", log.text());
                let put = app.put(auth, &uuid, token, "a.txt", b"x").await;
                assert_eq!(put.status, 401, "{}", put.text());
            }
            // Another worker, or a token that is not the lease's: 409.
            assert_eq!(app.log(Some(W2), &uuid, token, 0, b"x").await.status, 409);
            assert_eq!(
                app.put(Some(W2), &uuid, token, "a.txt", b"x").await.status,
                409
            );
            assert_eq!(
                app.log(Some(W1), &uuid, token + 1, 0, b"x").await.status,
                409
            );
            assert_eq!(
                app.put(Some(W1), &uuid, token + 1, "a.txt", b"x")
                    .await
                    .status,
                409
            );
            assert!(app.files_of(&uuid).is_empty(), "{:?}", app.files_of(&uuid));
            // A missing token, an unknown job.
            let missing = app
                .send(
                    "POST",
                    &format!("/api/v1/worker/jobs/{uuid}/log?offset=0"),
                    &[("authorization", W1)],
                    b"x".to_vec(),
                )
                .await;
            assert_eq!(missing.status, 400, "{}", missing.text());
            let unknown = uuid::Uuid::new_v4();
            assert_eq!(
                app.log(Some(W1), &unknown.to_string(), token, 0, b"x")
                    .await
                    .status,
                404
            );

            // After the result, the attempt holds nothing any more.
            app.finish(&uuid, token).await;
            assert_eq!(app.log(Some(W1), &uuid, token, 0, b"x").await.status, 409);
            assert_eq!(
                app.put(Some(W1), &uuid, token, "a.txt", b"x").await.status,
                409
            );
            assert!(app.files_of(&uuid).is_empty());
            let record = app.job(&uuid).await;
            assert_eq!(record["attempts"][0]["log_url"], Value::Null);
            assert_eq!(record["attempts"][0]["artifacts_url"], Value::Null);
            let log = app.get(&format!("/api/v1/jobs/{uuid}/log")).await;
            assert_eq!(log.status, 404, "{}", log.text());
        },
    )
    .await;
}

#[tokio::test]
async fn retention_deletes_finished_jobs_files_and_keeps_the_record() {
    each_backend(
        |files| files.retention = Some(Duration::ZERO),
        |app| async move {
            let (done, done_token) = app.leased("dist.old").await;
            assert_eq!(
                app.log(Some(W1), &done, done_token, 0, b"old log\n")
                    .await
                    .status,
                200
            );
            assert_eq!(
                app.put(Some(W1), &done, done_token, "r.txt", b"old")
                    .await
                    .status,
                201
            );
            app.finish(&done, done_token).await;
            let (running, running_token) = app.leased("dist.running").await;
            assert_eq!(
                app.log(Some(W1), &running, running_token, 0, b"live\n")
                    .await
                    .status,
                200
            );

            // Only the finished job's files go.
            assert_eq!(sweep_files(&app.state).await.expect("sweep"), 1);
            assert_eq!(app.files_of(&done), ["expired"]);
            assert_eq!(app.files_of(&running), ["1/log"]);
            // Swept once: a second pass has nothing to do.
            assert_eq!(sweep_files(&app.state).await.expect("sweep"), 0);

            // The listing says they expired; the log and files are gone (410).
            let listing = app.get(&format!("/api/v1/jobs/{done}/artifacts")).await;
            assert_eq!(listing.status, 200, "{}", listing.text());
            let listing = listing.json();
            assert_eq!(listing["expired"], true, "{listing}");
            assert_eq!(listing["attempt"], 1, "{listing}");
            assert_eq!(listing["data"], json!([]), "{listing}");
            assert!(listing["expired_at"].is_string(), "{listing}");
            assert!(
                listing["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("expired"),
                "{listing}"
            );
            for path in ["log", "artifacts/r.txt"] {
                let gone = app.get(&format!("/api/v1/jobs/{done}/{path}")).await;
                assert_eq!(gone.status, 410, "{path}: {}", gone.text());
                assert_eq!(gone.json()["expired"], true);
                assert!(gone.json()["expired_at"].is_string(), "{}", gone.text());
            }
            // The record stays, with its links.
            let record = app.job(&done).await;
            assert_eq!(record["state"], "finished");
            assert!(record["attempts"][0]["log_url"].is_string(), "{record}");
            let live = app.get(&format!("/api/v1/jobs/{running}/log")).await;
            assert_eq!(live.text(), "live\n");
        },
    )
    .await;
}

#[tokio::test]
async fn retention_keeps_young_files_and_zero_keeps_everything() {
    for retention in [Some(Duration::from_secs(24 * 3600)), None] {
        each_backend(
            |files| files.retention = retention,
            |app| async move {
                let (uuid, token) = app.leased("dist.young").await;
                assert_eq!(
                    app.put(Some(W1), &uuid, token, "r.txt", b"x").await.status,
                    201
                );
                app.finish(&uuid, token).await;
                assert_eq!(sweep_files(&app.state).await.expect("sweep"), 0);
                assert_eq!(app.files_of(&uuid), ["1/artifacts/r.txt"]);
            },
        )
        .await;
    }
}

#[tokio::test]
async fn another_server_sharing_the_database_points_at_the_files() {
    each_backend(
        |_| {},
        |app| async move {
            let (uuid, token) = app.leased("dist.elsewhere").await;
            assert_eq!(
                app.log(Some(W1), &uuid, token, 0, b"here\n").await.status,
                200
            );
            assert_eq!(
                app.put(Some(W1), &uuid, token, "r.txt", b"x").await.status,
                201
            );
            app.finish(&uuid, token).await;
            // A second server on the same database, with its own data directory.
            let other = App {
                state: AppState::with_settings(app.state.store.clone(), plain())
                    .with_worker_api(worker_settings())
                    .with_job_files(JobFiles::new(Some(app.data_dir.join("other")))),
                data_dir: app.data_dir.join("other"),
            };
            let host = [("host", "other.example.test")];
            let log = other
                .send(
                    "GET",
                    &format!("/api/v1/jobs/{uuid}/log"),
                    &host,
                    Vec::new(),
                )
                .await;
            assert_eq!(log.status, 404, "{}", log.text());
            let link = format!("http://{HOST}/api/v1/jobs/{uuid}/log?attempt=1");
            assert!(
                log.json()["message"].as_str().unwrap_or("").contains(&link),
                "{}",
                log.text()
            );
            let listing = other
                .send(
                    "GET",
                    &format!("/api/v1/jobs/{uuid}/artifacts"),
                    &host,
                    Vec::new(),
                )
                .await;
            assert_eq!(listing.status, 200, "{}", listing.text());
            assert_eq!(listing.json()["data"], json!([]));
            let link = format!("http://{HOST}/api/v1/jobs/{uuid}/artifacts?attempt=1");
            assert!(
                listing.json()["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&link),
                "{}",
                listing.text()
            );
            // The server that received them serves them.
            assert_eq!(
                app.get(&format!("/api/v1/jobs/{uuid}/log")).await.text(),
                "here\n"
            );
        },
    )
    .await;
}
