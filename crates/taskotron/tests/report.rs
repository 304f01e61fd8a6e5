//! The `resultsdb` directive posting to a ResultsDB v2.0 endpoint, with a token.
//!
//! The endpoint here is a small recording server in the test: it checks the
//! wire payload our runner sends; wire compatibility with the real ResultsDB
//! clients is proven against Taskotron's own ResultsDB API in its own tests.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{Task, texts};
use serde_json::{Value as Json_, json};

type Seen = Arc<Mutex<Vec<(Option<String>, Json_)>>>;

async fn record(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Json(body): Json<Json_>,
) -> (StatusCode, Json<Json_>) {
    let auth = headers
        .get("authorization")
        .and_then(|it| it.to_str().ok())
        .map(str::to_owned);
    let mut seen = seen.lock().unwrap();
    seen.push((auth, body.clone()));
    let id = 100 + seen.len();
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "outcome": body["outcome"]})),
    )
}

fn start_server(fail: bool) -> (String, Seen, tokio::runtime::Runtime) {
    let seen: Seen = Arc::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = if fail {
        axum::Router::new().route(
            "/api/v2.0/results",
            post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "database down") }),
        )
    } else {
        axum::Router::new()
            .route("/api/v2.0/results", post(record))
            .with_state(seen.clone())
    };
    runtime.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/api/v2.0"), seen, runtime)
}

const FORMULA: &str = "name: reporter
namespace: dist
input: {args: [koji_build]}
actions:
  - name: report
    resultsdb:
      results: |
        results:
          - item: ${koji_build}
            type: koji_build
            outcome: FAILED
            note: two problems
            artifact: logs/x.log
            arch: [x86_64, i686]
          - item: ${koji_build}
            type: koji_build
            checkname: dist.reporter.sub
            outcome: PASSED
    export: reported
";

#[test]
fn results_are_posted_with_group_testcase_data_and_token() {
    let (url, seen, _runtime) = start_server(false);
    let task = Task::new(FORMULA)
        .file("token", "s3cret\n")
        .file(
            "config.toml",
            &format!("[resultsdb]\nurl = \"{url}\"\ntoken-file = \"token\"\nartifacts-base-url = \"http://artifacts.example/all/\"\n"),
        );
    let out = task.run(&["--local", "--uuid", "job-1", "--config", "config.toml"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0.as_deref(), Some("Bearer s3cret"));
    assert_eq!(
        seen[0].1,
        json!({
            "testcase": {"name": "dist.reporter"},
            "outcome": "FAILED",
            "note": "two problems",
            "ref_url": "http://artifacts.example/all/job-1/logs/x.log",
            "groups": [{"uuid": "job-1", "ref_url": "http://artifacts.example/all/job-1"}],
            "data": {"item": "foo-1.0-1.fc40", "type": "koji_build", "arch": ["x86_64", "i686"]},
        })
    );
    assert_eq!(seen[1].1["testcase"]["name"], "dist.reporter.sub");
    assert_eq!(seen[1].1["ref_url"], "http://artifacts.example/all/job-1");
    // The ids ResultsDB gave come back in the exported ResultYAML.
    let vars: Json_ = serde_json::from_str(&task.artifact("taskotron/task_vars.json")).unwrap();
    let reported = vars["reported"].as_str().unwrap();
    assert!(
        reported.contains("resultsdb_result_id: 101")
            && reported.contains("resultsdb_result_id: 102"),
        "{reported}"
    );
}

#[test]
fn an_unreachable_resultsdb_crashes_the_task_but_keeps_the_results() {
    let (url, _seen, _runtime) = start_server(true);
    let task = Task::new(FORMULA).file("config.toml", &format!("[resultsdb]\nurl = \"{url}\"\n"));
    let out = task.run(&["--local", "--config", "config.toml"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("2 of 2 results could not be reported to ResultsDB (they are kept in taskotron/results.yml)"), "{stderr}");
    assert!(
        stderr.contains("answered 500 Internal Server Error: database down"),
        "{stderr}"
    );
    let kept = task.artifact("taskotron/results.yml");
    assert!(kept.contains("checkname: dist.reporter.sub"), "{kept}");
}

#[test]
fn a_token_env_var_wins_over_the_file_and_never_shows() {
    let (url, seen, _runtime) = start_server(false);
    let task = Task::new(FORMULA).file("token", "from-file").file(
        "config.toml",
        &format!("[resultsdb]\nurl = \"{url}\"\ntoken-file = \"token\"\n"),
    );
    let out = common::output(
        task.command(&["--local", "--config", "config.toml"])
            .env("TASKOTRON_RESULTSDB_TOKEN", "from-env"),
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    assert_eq!(
        seen.lock().unwrap()[0].0.as_deref(),
        Some("Bearer from-env")
    );
    let log = task.artifact("taskotron/taskotron.log");
    assert!(
        !log.contains("from-env") && !log.contains("from-file"),
        "a secret reached the log"
    );
}

#[test]
fn actions_see_neither_the_token_nor_its_file() {
    if !common::sandbox_available() {
        return;
    }
    let (url, _seen, _runtime) = start_server(false);
    let task = Task::new(
        "name: peek
actions:
  - name: look for secrets
    shell:
      - \"echo env=$${TASKOTRON_RESULTSDB_TOKEN:-none} file=$$(cat ${taskdir}/token)\"
    export: seen
  - name: try to read the token through a directive
    resultsdb: {file: token}
",
    )
    .file("token", "s3cret")
    .file(
        "config.toml",
        &format!("[resultsdb]\nurl = \"{url}\"\ntoken-file = \"token\"\n"),
    );
    let out = common::output(
        task.command(&["--config", "config.toml"])
            .env("TASKOTRON_RESULTSDB_TOKEN", "from-env"),
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let vars: Json_ = serde_json::from_str(&task.artifact("taskotron/task_vars.json")).unwrap();
    assert_eq!(vars["seen"], "env=none file=");
    assert!(
        stderr.contains("is outside the directories a directive may use"),
        "{stderr}"
    );
}

#[test]
fn directives_stay_inside_the_jobs_directories() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("r.yml"), "results: []\n").unwrap();
    let task = Task::new(&format!(
        "name: escape
actions:
  - name: read outside
    resultsdb: {{file: {}/r.yml}}
",
        outside.path().display()
    ));
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        texts(&out)
            .1
            .contains("is outside the directories a directive may use"),
        "{:?}",
        texts(&out)
    );

    let task = Task::new(&format!(
        "name: escape
actions:
  - name: write outside
    create_report: {{results: 'results: []', artifactsdir: {}}}
",
        outside.path().display()
    ));
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        texts(&out).1.contains("`artifactsdir`"),
        "{:?}",
        texts(&out)
    );
    assert!(!outside.path().join("report.html").exists());
}
