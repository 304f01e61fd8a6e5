//! The scheduler's API: events recorded through `POST /api/v1/events` are
//! deduplicated by their natural key, listed and filtered, shown whole with
//! the jobs the planner made; the scheduler's state; job re-runs; bad input
//! answered with the field named and nothing written.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;

use common::{Answer, Api, each_state};
use serde_json::{Value, json};
use taskotron_scheduler::SchedulerMetrics;
use taskotron_scheduler::planner::{Planner, Revisions};
use taskotron_store::Store;
use taskotron_triggers::PlanContext;
use taskotron_web::AppState;
use taskotron_web::auth::WriteAuth;
use taskotron_web::resultsdb::ResultsdbSettings;

const WRITER: &str = "Bearer writer-secret";

const RULES: &str = "
- when: {message_type: KojiBuildPackageCompleted}
  do:
    - tasks: [rpmlint]
    - tasks: [python-versions]
      arches: [noarch]
- when: {message_type: BodhiUpdateReady, release: F44}
  do:
    - tasks: [depcheck]
";

fn state(store: Store) -> AppState {
    let mut settings = ResultsdbSettings::new(&[]);
    settings.auth = WriteAuth::from_pairs(vec![("ci".into(), "writer-secret".into())], vec![]);
    AppState::with_settings(store, settings)
}

fn planner(store: &Store) -> Planner {
    Planner {
        store: store.clone(),
        rules: Arc::new(taskotron_triggers::parse_rules(RULES).unwrap()),
        context: PlanContext {
            arches: vec!["x86_64".into(), "aarch64".into()],
        },
        revisions: Revisions::default(),
        max_attempts: 3,
        metrics: Arc::new(SchedulerMetrics::default()),
        jobs_wake: Arc::default(),
        discoverer: taskotron_scheduler::discover::Discoverer {
            cache_dir: std::env::temp_dir().join("taskotron-discover-cache"),
        },
    }
}

async fn post(api: &Api, path: &str, auth: Option<&str>, body: &str) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    api.send("POST", path, &headers, body).await
}

async fn get(api: &Api, path: &str) -> Value {
    let answer = api.send("GET", path, &[], "").await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.text);
    answer.json()
}

#[tokio::test]
async fn events_are_recorded_once_planned_and_listed() {
    each_state(state, |api| async move {
        let build = json!({
            "message_type": "KojiBuildPackageCompleted",
            "item_type": "koji_build",
            "item": "foo-1.0-1.fc44",
            "name": "foo",
        });
        let first = post(&api, "/api/v1/events", Some(WRITER), &build.to_string()).await;
        assert_eq!(first.status, 201, "{}", first.text);
        let event = first.json()["event"].clone();
        assert_eq!(event["state"], "new");
        assert_eq!(event["source"], "api");
        assert_eq!(event["natural_key"], "koji_build:foo-1.0-1.fc44:complete");
        assert_eq!(event["item_revision"], "foo-1.0-1.fc44");
        // The same fact again is the same event.
        let again = post(&api, "/api/v1/events", Some(WRITER), &build.to_string()).await;
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(again.json()["duplicate"], true);

        let update = json!({
            "message_type": "BodhiUpdateReady",
            "item_type": "bodhi_update",
            "item": "FEDORA-2026-1",
            "item_revision": "abc",
            "release": "F44",
        });
        let answer = post(&api, "/api/v1/events", Some(WRITER), &update.to_string()).await;
        assert_eq!(answer.status, 201);
        let other = json!({"message_type": "Nothing", "item_type": "x", "item": "y"});
        post(&api, "/api/v1/events", Some(WRITER), &other.to_string()).await;

        let planner = planner(&api.store);
        assert_eq!(planner.plan_pending().await.unwrap(), 3);
        assert_eq!(planner.plan_pending().await.unwrap(), 0);

        let one = get(
            &api,
            &format!("/api/v1/events/{}", event["uuid"].as_str().unwrap()),
        )
        .await;
        assert_eq!(one["state"], "planned");
        assert_eq!(one["job_count"], 3);
        assert_eq!(one["fact"]["name"], "foo");
        assert_eq!(one["jobs"].as_array().unwrap().len(), 3);
        let jobs = get(&api, "/api/v1/jobs?item=foo-1.0-1.fc44").await;
        let mut keys: Vec<String> = jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| {
                format!(
                    "{} {}",
                    it["key"]["check"].as_str().unwrap(),
                    it["key"]["arch"].as_str().unwrap()
                )
            })
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "python-versions noarch",
                "rpmlint aarch64",
                "rpmlint x86_64"
            ]
        );
        let update_jobs = get(&api, "/api/v1/jobs?item=FEDORA-2026-1").await;
        assert_eq!(update_jobs["data"].as_array().unwrap().len(), 2);
        assert_eq!(update_jobs["data"][0]["key"]["item_revision"], "abc");

        let listed = get(&api, "/api/v1/events?state=planned&source=api").await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 3);
        let unmatched = get(&api, "/api/v1/events?item=y").await;
        assert_eq!(unmatched["data"][0]["reason"], "no rule matched");
        assert_eq!(unmatched["data"][0]["job_count"], 0);
        // Paging: two at a time, newest first.
        let page = get(&api, "/api/v1/events?limit=2").await;
        assert_eq!(page["data"].as_array().unwrap().len(), 2);
        let next = page["next_before"].as_str().unwrap();
        let rest = get(&api, &format!("/api/v1/events?limit=2&before={next}")).await;
        assert_eq!(rest["data"].as_array().unwrap().len(), 1);
        assert_eq!(rest["next_before"], Value::Null);

        let status = get(&api, "/api/v1/scheduler").await;
        assert_eq!(
            status["events"],
            json!({"new": 0, "planned": 3, "rejected": 0, "ignored": 0})
        );
        assert_eq!(status["pollers"], json!([]));

        // A re-trigger is never a duplicate and makes re-runs.
        let retrigger = json!({
            "message_type": "KojiBuildPackageCompleted",
            "item_type": "koji_build",
            "item": "foo-1.0-1.fc44",
            "retrigger": true,
        });
        for _ in 0..2 {
            let answer = post(&api, "/api/v1/events", Some(WRITER), &retrigger.to_string()).await;
            assert_eq!(answer.status, 201, "{}", answer.text);
            assert_eq!(answer.json()["event"]["natural_key"], Value::Null);
        }
        assert_eq!(planner.plan_pending().await.unwrap(), 2);
        let jobs = get(&api, "/api/v1/jobs?item=foo-1.0-1.fc44&limit=100").await;
        let mut reruns: Vec<u64> = jobs["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|it| it["key"]["check"] == "rpmlint" && it["key"]["arch"] == "x86_64")
            .map(|it| it["key"]["rerun"].as_u64().unwrap())
            .collect();
        reruns.sort_unstable();
        assert_eq!(reruns, [0, 1, 2]);

        // An explicit job re-run.
        let uuid = jobs["data"][0]["uuid"].as_str().unwrap().to_owned();
        let denied = post(&api, &format!("/api/v1/jobs/{uuid}/rerun"), None, "").await;
        assert_eq!(denied.status, 401);
        let rerun = post(
            &api,
            &format!("/api/v1/jobs/{uuid}/rerun"),
            Some(WRITER),
            "",
        )
        .await;
        assert_eq!(rerun.status, 201, "{}", rerun.text);
        assert_eq!(rerun.json()["rerun_of"], uuid.as_str());
        assert_eq!(rerun.json()["job"]["state"], "queued");
        let missing = post(
            &api,
            "/api/v1/jobs/00000000-0000-0000-0000-000000000000/rerun",
            Some(WRITER),
            "",
        )
        .await;
        assert_eq!(missing.status, 404);
    })
    .await;
}

#[tokio::test]
async fn bad_events_are_refused_and_nothing_is_written() {
    each_state(state, |api| async move {
        let denied = post(&api, "/api/v1/events", None, "{}").await;
        assert_eq!(denied.status, 401);
        let cases = [
            ("not json", 400, "invalid"),
            ("[1, 2]", 400, "JSON object"),
            (
                r#"{"item_type": "koji_build", "item": "a"}"#,
                400,
                "message_type",
            ),
            (
                r#"{"message_type": "X", "item_type": "koji_build", "item": 5}"#,
                400,
                "item",
            ),
            (
                r#"{"message_type": "X", "item_type": "t", "item": "a", "item_revision": ""}"#,
                400,
                "item_revision",
            ),
        ];
        for (body, status, fragment) in cases {
            let answer = post(&api, "/api/v1/events", Some(WRITER), body).await;
            assert_eq!(answer.status, status, "{body}: {}", answer.text);
            assert!(answer.text.contains(fragment), "{body}: {}", answer.text);
        }
        let answer = api
            .send("POST", "/api/v1/events", &[("authorization", WRITER)], "{}")
            .await;
        assert_eq!(answer.status, 415);
        let listed = get(&api, "/api/v1/events").await;
        assert_eq!(listed["data"], json!([]));
        for (query, field) in [
            ("state=done", "state"),
            ("limit=0", "limit"),
            ("before=nope", "before"),
            ("colour=red", "colour"),
        ] {
            let answer = api
                .send("GET", &format!("/api/v1/events?{query}"), &[], "")
                .await;
            assert_eq!(answer.status, 400, "{query}: {}", answer.text);
            assert!(answer.text.contains(field), "{query}: {}", answer.text);
        }
        let answer = api.send("GET", "/api/v1/events/nope", &[], "").await;
        assert_eq!(answer.status, 404);
    })
    .await;
}
