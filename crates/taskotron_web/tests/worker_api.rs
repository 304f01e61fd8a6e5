//! The worker protocol and the jobs API over HTTP, on both backends:
//! enqueue → lease → heartbeat → result, long polls woken by an enqueue,
//! stale attempts after the sweeper took a job back, refusals, cancel and
//! the list filters.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Answer, Api, each_state, plain};
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_web::AppState;
use taskotron_web::auth::{WorkerAuth, WriteAuth};
use taskotron_web::resultsdb::ResultsdbSettings;
use taskotron_web::worker_api::WorkerSettings;

const W1: &str = "Bearer w1-secret";
const W2: &str = "Bearer w2-secret";
const WRITER: &str = "Bearer writer-secret";

fn workers() -> WorkerSettings {
    let mut settings = WorkerSettings::new(Some(WorkerAuth::from_pairs(vec![
        ("w1".into(), "w1-secret".into()),
        ("w2".into(), "w2-secret".into()),
    ])));
    settings.max_wait = Duration::from_secs(3);
    settings
}

/// Worker API on, writes open.
fn state(store: Store) -> AppState {
    AppState::with_settings(store, plain()).with_worker_api(workers())
}

/// Worker API on, writes need `WRITER`.
fn guarded(store: Store) -> AppState {
    let mut settings = ResultsdbSettings::new(&[]);
    settings.auth = WriteAuth::from_pairs(vec![("ci".into(), "writer-secret".into())], vec![]);
    AppState::with_settings(store, settings).with_worker_api(workers())
}

async fn post(api: &Api, path: &str, auth: Option<&str>, body: &Value) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    api.send("POST", path, &headers, &body.to_string()).await
}

async fn get(api: &Api, path: &str) -> Answer {
    api.send("GET", path, &[], "").await
}

fn job(check: &str, item: &str) -> Value {
    json!({"check": check, "check_revision": "r1", "item_type": "koji_build",
           "item": item, "arch": "x86_64"})
}

/// Enqueue `jobs` with `auth`; their uuids.
async fn enqueue(api: &Api, auth: Option<&str>, jobs: &[Value]) -> Vec<String> {
    let answer = post(api, "/api/v1/jobs", auth, &json!({"jobs": jobs})).await;
    assert!(
        answer.status == 200 || answer.status == 201,
        "enqueue: {} {}",
        answer.status,
        answer.text
    );
    answer.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|it| it["uuid"].as_str().expect("uuid").to_owned())
        .collect()
}

async fn register(api: &Api, auth: &str, body: &Value) {
    let answer = post(api, "/api/v1/worker/register", Some(auth), body).await;
    assert_eq!(answer.status, 200, "register: {}", answer.text);
}

async fn lease(api: &Api, auth: &str, wait: f64) -> Answer {
    post(
        api,
        "/api/v1/worker/lease",
        Some(auth),
        &json!({"wait_seconds": wait}),
    )
    .await
}

async fn job_json(api: &Api, uuid: &str) -> Value {
    let answer = get(api, &format!("/api/v1/jobs/{uuid}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

#[tokio::test]
async fn the_protocol_happy_path() {
    each_state(state, |api| async move {
        let uuids = enqueue(&api, None, &[job("dist.rpmlint", "foo-1.0-1.fc42")]).await;
        let uuid = &uuids[0];
        let answer = post(
            &api,
            "/api/v1/worker/register",
            Some(W1),
            &json!({"name": "w1", "arches": ["x86_64"], "sandboxes": ["bwrap"], "slots": 2}),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["name"], "w1");
        assert_eq!(answer.json()["config"]["lease_seconds"], 60.0);
        let listed = get(&api, "/api/v1/workers").await.json();
        assert_eq!(listed["data"][0]["name"], "w1");
        assert_eq!(listed["data"][0]["slots"], 2);

        let leased = lease(&api, W1, 1.0).await;
        assert_eq!(leased.status, 200, "{}", leased.text);
        let leased = leased.json();
        assert_eq!(&leased["uuid"], uuid);
        assert_eq!(leased["key"]["check"], "dist.rpmlint");
        assert_eq!(leased["key"]["item_revision"], "foo-1.0-1.fc42");
        assert_eq!(leased["attempt"], 1);
        assert_eq!(leased["token"], 1);
        let token = leased["token"].as_i64().unwrap();
        assert_eq!(job_json(&api, uuid).await["state"], "running");
        let listed = get(&api, "/api/v1/workers").await.json();
        assert_eq!(listed["data"][0]["jobs"], json!([uuid]));

        // Nothing else to run: an empty lease answers 204 after its wait.
        let empty = lease(&api, W1, 0.0).await;
        assert_eq!(empty.status, 204, "{}", empty.text);

        let beat = post(
            &api,
            &format!("/api/v1/worker/jobs/{uuid}/heartbeat"),
            Some(W1),
            &json!({"token": token}),
        )
        .await;
        assert_eq!(beat.status, 200, "{}", beat.text);
        assert!(
            beat.json()["lease_expires_at"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );

        let done = post(
            &api,
            &format!("/api/v1/worker/jobs/{uuid}/result"),
            Some(W1),
            &json!({"token": token, "state": "finished", "exit_status": 0, "outcome": "PASSED",
                    "log_url": "http://logs/1", "artifacts_url": "http://artifacts/1",
                    "result_group": uuid}),
        )
        .await;
        assert_eq!(
            done.pair(),
            (200, json!({"uuid": uuid, "state": "finished"}))
        );

        let record = job_json(&api, uuid).await;
        assert_eq!(record["state"], "finished");
        assert_eq!(record["outcome"], "PASSED");
        assert_eq!(&record["result_group"], uuid);
        assert_eq!(record["worker"], "w1");
        let attempts = record["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{record}");
        assert_eq!(attempts[0]["worker"], "w1");
        assert_eq!(attempts[0]["end_reason"], "finished");
        assert_eq!(attempts[0]["exit_status"], 0);
        assert_eq!(attempts[0]["log_url"], "http://logs/1");
        assert_eq!(attempts[0]["artifacts_url"], "http://artifacts/1");
        assert!(record.get("token").is_none());

        // A second result for the finished job is stale.
        let again = post(
            &api,
            &format!("/api/v1/worker/jobs/{uuid}/result"),
            Some(W1),
            &json!({"token": token, "state": "crashed"}),
        )
        .await;
        assert_eq!(again.status, 409, "{}", again.text);
        assert!(
            again.message().contains("no longer holds"),
            "{}",
            again.text
        );
        assert_eq!(job_json(&api, uuid).await["state"], "finished");
    })
    .await;
}

#[tokio::test]
async fn a_long_poll_wakes_on_enqueue() {
    each_state(
        |store| {
            let mut settings = workers();
            // Only the wake-up can answer the poll early.
            settings.max_wait = Duration::from_secs(20);
            settings.recheck = Duration::from_secs(20);
            AppState::with_settings(store, plain()).with_worker_api(settings)
        },
        |api| async move {
            register(&api, W1, &json!({"arches": ["x86_64"]})).await;
            let started = Instant::now();
            let (leased, uuids) = tokio::join!(lease(&api, W1, 20.0), async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                enqueue(&api, None, &[job("dist.wake", "wake-1-1")]).await
            });
            let waited = started.elapsed();
            assert_eq!(leased.status, 200, "{}", leased.text);
            assert_eq!(leased.json()["uuid"], uuids[0].as_str());
            assert!(waited >= Duration::from_millis(300), "{waited:?}");
            assert!(waited < Duration::from_secs(10), "woken late: {waited:?}");
        },
    )
    .await;
}

#[tokio::test]
async fn a_lost_lease_is_swept_and_its_token_goes_stale() {
    let sweepers = Mutex::new(Vec::new());
    each_state(
        |store| {
            let mut settings = workers();
            settings.lease = Duration::from_secs(1);
            let state = AppState::with_settings(store, plain()).with_worker_api(settings);
            let sweeper = tokio::spawn(taskotron_web::jobs::run_sweeper(
                state.clone(),
                Duration::from_millis(100),
            ));
            sweepers.lock().unwrap().push(sweeper);
            state
        },
        |api| async move {
            let uuids = enqueue(&api, None, &[job("dist.lost", "lost-1-1")]).await;
            let uuid = &uuids[0];
            register(&api, W1, &json!({})).await;
            let first = lease(&api, W1, 1.0).await.json();
            assert_eq!(first["token"], 1);
            // No heartbeat: the sweeper takes the job back once the lease ran out.
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let record = job_json(&api, uuid).await;
                if record["state"] == "queued" {
                    assert_eq!(
                        record["attempts"][0]["end_reason"], "lease-expired",
                        "{record}"
                    );
                    break;
                }
                assert!(Instant::now() < deadline, "never swept: {record}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for (route, body) in [
                ("heartbeat", json!({"token": 1})),
                (
                    "result",
                    json!({"token": 1, "state": "finished", "outcome": "PASSED"}),
                ),
            ] {
                let path = format!("/api/v1/worker/jobs/{uuid}/{route}");
                let stale = post(&api, &path, Some(W1), &body).await;
                assert_eq!(stale.status, 409, "{route}: {}", stale.text);
                assert!(stale.message().contains("token 1"), "{}", stale.text);
            }
            // The next attempt gets the next token, and only it counts.
            let second = lease(&api, W2, 0.0).await;
            assert_eq!(second.status, 400, "w2 never registered: {}", second.text);
            let second = post(
                &api,
                "/api/v1/worker/lease",
                Some(W2),
                &json!({"wait_seconds": 1, "capabilities": {"arches": ["x86_64"]}}),
            )
            .await;
            assert_eq!(second.status, 200, "{}", second.text);
            assert_eq!(second.json()["token"], 2);
            assert_eq!(second.json()["attempt"], 2);
            let done = post(
                &api,
                &format!("/api/v1/worker/jobs/{uuid}/result"),
                Some(W2),
                &json!({"token": 2, "state": "finished", "outcome": "FAILED"}),
            )
            .await;
            assert_eq!(done.status, 200, "{}", done.text);
            let record = job_json(&api, uuid).await;
            assert_eq!(record["state"], "finished");
            assert_eq!(record["outcome"], "FAILED");
            let attempts = record["attempts"].as_array().unwrap();
            assert_eq!(attempts.len(), 2);
            assert_eq!(attempts[0]["worker"], "w1");
            assert_eq!(attempts[1]["worker"], "w2");
            assert_eq!(attempts[1]["end_reason"], "finished");
        },
    )
    .await;
    for sweeper in sweepers.lock().unwrap().drain(..) {
        sweeper.abort();
    }
}

#[tokio::test]
async fn refusals_change_nothing() {
    each_state(guarded, |api| async move {
        // Writes to the jobs API need the writer's credentials.
        let anonymous = post(
            &api,
            "/api/v1/jobs",
            None,
            &json!({"jobs": [job("c", "i")]}),
        )
        .await;
        assert_eq!(anonymous.status, 401, "{}", anonymous.text);
        let as_worker = post(
            &api,
            "/api/v1/jobs",
            Some(W1),
            &json!({"jobs": [job("c", "i")]}),
        )
        .await;
        assert_eq!(as_worker.status, 401, "{}", as_worker.text);
        assert_eq!(get(&api, "/api/v1/jobs").await.json()["data"], json!([]));
        let uuids = enqueue(&api, Some(WRITER), &[job("dist.auth", "auth-1-1")]).await;
        let uuid = &uuids[0];

        // The worker API needs a worker's token.
        for auth in [
            None,
            Some("Bearer nope"),
            Some(WRITER),
            Some("Basic dzE6dzEtc2VjcmV0"),
        ] {
            for path in ["/api/v1/worker/register", "/api/v1/worker/lease"] {
                let answer = post(&api, path, auth, &json!({})).await;
                assert_eq!(answer.status, 401, "{path} {auth:?}: {}", answer.text);
                assert!(!answer.message().is_empty());
            }
        }
        assert_eq!(job_json(&api, uuid).await["state"], "queued");

        // A worker may not register under another's name, nor lease unregistered.
        let other = post(
            &api,
            "/api/v1/worker/register",
            Some(W1),
            &json!({"name": "w2"}),
        )
        .await;
        assert_eq!(other.status, 400, "{}", other.text);
        assert!(other.message().contains("not \"w2\""), "{}", other.text);
        let unregistered = lease(&api, W1, 0.0).await;
        assert_eq!(unregistered.status, 400, "{}", unregistered.text);
        assert!(
            unregistered.message().contains("not registered"),
            "{}",
            unregistered.text
        );
        let bad = post(
            &api,
            "/api/v1/worker/register",
            Some(W1),
            &json!({"labels": ["a b"]}),
        )
        .await;
        assert_eq!(bad.status, 400, "{}", bad.text);
        let unknown = post(
            &api,
            "/api/v1/worker/register",
            Some(W1),
            &json!({"colour": 1}),
        )
        .await;
        assert_eq!(unknown.status, 400, "{}", unknown.text);
        let text = api
            .send(
                "POST",
                "/api/v1/worker/register",
                &[("authorization", W1), ("content-type", "text/plain")],
                "{}",
            )
            .await;
        assert_eq!(text.status, 415, "{}", text.text);
        assert_eq!(job_json(&api, uuid).await["state"], "queued");

        // Only the worker holding the job may speak for it.
        register(&api, W1, &json!({})).await;
        let leased = lease(&api, W1, 1.0).await.json();
        assert_eq!(&leased["uuid"], uuid);
        for (route, body, wrong_token) in [
            ("heartbeat", json!({"token": 1}), json!({"token": 7})),
            (
                "result",
                json!({"token": 1, "state": "finished"}),
                json!({"token": 7, "state": "finished"}),
            ),
        ] {
            let path = format!("/api/v1/worker/jobs/{uuid}/{route}");
            let thief = post(&api, &path, Some(W2), &body).await;
            assert_eq!(thief.status, 409, "{route}: {}", thief.text);
            let wrong = post(&api, &path, Some(W1), &wrong_token).await;
            assert_eq!(wrong.status, 409, "{route}: {}", wrong.text);
            let missing = post(
                &api,
                &format!("/api/v1/worker/jobs/{}/{route}", uuid::Uuid::new_v4()),
                Some(W1),
                &body,
            )
            .await;
            assert_eq!(missing.status, 404, "{route}: {}", missing.text);
            let garbage = post(&api, &path, Some(W1), &json!({"token": "one"})).await;
            assert_eq!(garbage.status, 400, "{route}: {}", garbage.text);
        }
        let bad_state = post(
            &api,
            &format!("/api/v1/worker/jobs/{uuid}/result"),
            Some(W1),
            &json!({"token": 1, "state": "passed"}),
        )
        .await;
        assert_eq!(bad_state.status, 400, "{}", bad_state.text);
        let record = job_json(&api, uuid).await;
        assert_eq!(record["state"], "running");
        assert_eq!(record["attempts"][0]["ended_at"], Value::Null);
    })
    .await;
}

#[tokio::test]
async fn without_worker_tokens_the_worker_api_is_disabled() {
    each_state(
        |store| AppState::with_settings(store, plain()),
        |api| async move {
            for path in [
                "/api/v1/worker/register",
                "/api/v1/worker/lease",
                &format!("/api/v1/worker/jobs/{}/heartbeat", uuid::Uuid::new_v4()),
            ] {
                let answer = post(&api, path, Some(W1), &json!({"token": 1})).await;
                assert_eq!(answer.status, 404, "{path}: {}", answer.text);
                assert!(
                    answer.message().contains("api.worker-tokens-file"),
                    "{}",
                    answer.text
                );
            }
            let workers = get(&api, "/api/v1/workers").await;
            assert_eq!(workers.status, 404, "{}", workers.text);
            // The jobs API still works.
            assert_eq!(get(&api, "/api/v1/jobs").await.status, 200);
        },
    )
    .await;
}

#[tokio::test]
async fn cancel_ends_a_job_and_its_attempt() {
    each_state(guarded, |api| async move {
        let uuids = enqueue(
            &api,
            Some(WRITER),
            &[job("dist.cancel", "c-1-1"), job("dist.cancel", "c-2-1")],
        )
        .await;
        let (running, queued) = (&uuids[0], &uuids[1]);
        register(&api, W1, &json!({})).await;
        assert_eq!(&lease(&api, W1, 1.0).await.json()["uuid"], running);

        let path = format!("/api/v1/jobs/{running}/cancel");
        assert_eq!(post(&api, &path, None, &json!({})).await.status, 401);
        let cancelled = post(&api, &path, Some(WRITER), &json!({})).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text);
        assert_eq!(cancelled.json()["cancelled"], true);
        assert_eq!(cancelled.json()["job"]["state"], "cancelled");
        assert_eq!(
            cancelled.json()["job"]["attempts"][0]["end_reason"],
            "cancelled"
        );
        // Its worker learns at its next heartbeat.
        let beat = post(
            &api,
            &format!("/api/v1/worker/jobs/{running}/heartbeat"),
            Some(W1),
            &json!({"token": 1}),
        )
        .await;
        assert_eq!(beat.status, 409, "{}", beat.text);
        let again = post(&api, &path, Some(WRITER), &json!({})).await;
        assert_eq!(again.pair().0, 200);
        assert_eq!(again.json()["cancelled"], false);

        // A queued job is cancelled before any worker takes it.
        let path = format!("/api/v1/jobs/{queued}/cancel");
        assert_eq!(
            post(&api, &path, Some(WRITER), &json!({})).await.json()["cancelled"],
            true
        );
        assert_eq!(lease(&api, W1, 0.0).await.status, 204);

        let missing = format!("/api/v1/jobs/{}/cancel", uuid::Uuid::new_v4());
        assert_eq!(
            post(&api, &missing, Some(WRITER), &json!({})).await.status,
            404
        );
        assert_eq!(
            get(&api, &format!("/api/v1/jobs/{}", uuid::Uuid::new_v4()))
                .await
                .status,
            404
        );
        assert_eq!(get(&api, "/api/v1/jobs/not-a-uuid").await.status, 404);
    })
    .await;
}

#[tokio::test]
async fn enqueue_dedupes_and_validates() {
    each_state(state, |api| async move {
        let first = post(
            &api,
            "/api/v1/jobs",
            None,
            &json!({"jobs": [job("dist.a", "a-1-1")]}),
        )
        .await;
        assert_eq!(first.status, 201, "{}", first.text);
        assert_eq!(first.json()["data"][0]["status"], "inserted");
        let both = post(
            &api,
            "/api/v1/jobs",
            None,
            &json!({"jobs": [job("dist.a", "a-1-1"), job("dist.a", "a-2-1")]}),
        )
        .await;
        assert_eq!(both.status, 201, "{}", both.text);
        assert_eq!(both.json()["data"][0]["status"], "existing");
        assert_eq!(
            both.json()["data"][0]["uuid"],
            first.json()["data"][0]["uuid"]
        );
        assert_eq!(both.json()["data"][1]["status"], "inserted");
        let same = post(
            &api,
            "/api/v1/jobs",
            None,
            &json!({"jobs": [job("dist.a", "a-1-1")]}),
        )
        .await;
        assert_eq!(same.status, 200, "{}", same.text);
        assert_eq!(same.json()["data"][0]["status"], "existing");

        let mut labelled = job("dist.a", "a-3-1");
        labelled["requires"] = json!({"labels": ["has space"]});
        let mut no_attempts = job("dist.a", "a-4-1");
        no_attempts["max_attempts"] = json!(0);
        let mut empty = job("dist.a", "a-5-1");
        empty["check"] = json!("");
        for (bad, status) in [
            (json!({"jobs": [job("dist.a", "a-6-1"), labelled]}), 400),
            (json!({"jobs": [no_attempts]}), 400),
            (json!({"jobs": [empty]}), 400),
            (json!({"jobs": []}), 400),
            (json!({"jobs": [{"check": "x"}]}), 400),
            (json!([1, 2]), 400),
        ] {
            let answer = post(&api, "/api/v1/jobs", None, &bad).await;
            assert_eq!(answer.status, status, "{bad}: {}", answer.text);
            assert!(!answer.message().is_empty(), "{}", answer.text);
        }
        // A refused batch writes nothing, not even its good jobs.
        let all = get(&api, "/api/v1/jobs").await.json();
        assert_eq!(all["data"].as_array().unwrap().len(), 2, "{all}");
    })
    .await;
}

#[tokio::test]
async fn list_filters() {
    each_state(state, |api| async move {
        let mut arm = job("dist.rpmlint", "bar-1-1");
        arm["arch"] = json!("aarch64");
        arm["requires"] = json!({"arch": "aarch64"});
        let x86 = |check: &str| {
            let mut it = job(check, "foo-1-1");
            it["requires"] = json!({"arch": "x86_64"});
            it
        };
        let uuids = enqueue(
            &api,
            None,
            &[x86("dist.rpmlint"), x86("dist.depcheck"), arm],
        )
        .await;
        register(&api, W1, &json!({"arches": ["x86_64"]})).await;
        register(&api, W2, &json!({"arches": ["aarch64"]})).await;
        assert_eq!(&lease(&api, W1, 1.0).await.json()["uuid"], &uuids[0]);
        assert_eq!(&lease(&api, W2, 1.0).await.json()["uuid"], &uuids[2]);

        let cases: [(&str, &[usize]); 9] = [
            ("", &[2, 1, 0]),
            ("?state=running", &[2, 0]),
            ("?state=queued", &[1]),
            ("?state=finished", &[]),
            ("?item=foo-1-1", &[1, 0]),
            ("?check=dist.rpmlint", &[2, 0]),
            ("?worker=w2", &[2]),
            (
                "?check=dist.rpmlint&item=foo-1-1&state=running&worker=w1",
                &[0],
            ),
            ("?limit=2", &[2, 1]),
        ];
        let mut mismatches = Vec::new();
        for (query, want) in cases {
            let answer = get(&api, &format!("/api/v1/jobs{query}")).await;
            let got: Vec<String> = answer.json()["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|it| it["uuid"].as_str().unwrap().to_owned())
                .collect();
            let want: Vec<String> = want.iter().map(|idx| uuids[*idx].clone()).collect();
            if got != want {
                mismatches.push(format!("{query}: got {got:?}, want {want:?}"));
            }
        }
        common::assert_no_mismatch(&mismatches);
        for bad in ["?state=done", "?limit=0", "?limit=1001", "?colour=red"] {
            let answer = get(&api, &format!("/api/v1/jobs{bad}")).await;
            assert_eq!(answer.status, 400, "{bad}: {}", answer.text);
        }
    })
    .await;
}

#[tokio::test]
async fn closing_answers_waiting_polls() {
    let current = Mutex::new(None);
    each_state(
        |store| {
            let mut settings = workers();
            settings.max_wait = Duration::from_secs(20);
            settings.recheck = Duration::from_secs(20);
            let state = AppState::with_settings(store, plain()).with_worker_api(settings);
            *current.lock().unwrap() = Some(state.worker.clone());
            state
        },
        |api| {
            let settings = current.lock().unwrap().clone().unwrap();
            async move {
                register(&api, W1, &json!({})).await;
                let started = Instant::now();
                let (leased, ()) = tokio::join!(lease(&api, W1, 20.0), async {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    settings.close();
                });
                assert_eq!(leased.status, 204, "{}", leased.text);
                assert!(started.elapsed() < Duration::from_secs(10));
                // A closing server leases nothing, even with jobs queued.
                enqueue(&api, None, &[job("dist.closing", "z-1-1")]).await;
                assert_eq!(lease(&api, W1, 5.0).await.status, 204);
            }
        },
    )
    .await;
}

#[tokio::test]
async fn infrastructure_faults_are_retried_and_the_earlier_attempts_shown() {
    each_state(
        |store| {
            let mut settings = workers();
            settings.retry_backoff = Duration::ZERO;
            AppState::with_settings(store, plain()).with_worker_api(settings)
        },
        |api| async move {
            let uuid =
                enqueue(&api, None, &[job("dist.rpmlint", "infra-1.0-1.fc44")]).await[0].clone();
            register(&api, W1, &json!({"arches": ["x86_64"]})).await;
            let first = lease(&api, W1, 0.0).await.json();
            assert_eq!(first["uuid"], uuid.as_str());
            let token = first["token"].as_i64().unwrap();
            let result_path = format!("/api/v1/worker/jobs/{uuid}/result");

            // Classes are checked before anything is written.
            for (body, field) in [
                (
                    json!({"token": token, "state": "crashed", "class": "weather"}),
                    "class",
                ),
                (
                    json!({"token": token, "state": "crashed", "class": "verdict"}),
                    "class",
                ),
            ] {
                let answer = post(&api, &result_path, Some(W1), &body).await;
                assert_eq!(answer.status, 400, "{}", answer.text);
                assert!(answer.text.contains(field), "{}", answer.text);
            }
            assert_eq!(job_json(&api, &uuid).await["state"], "running");

            // A download that failed: the job is queued again.
            let answer = post(
                &api,
                &result_path,
                Some(W1),
                &json!({"token": token, "state": "crashed", "class": "infra", "exit_status": 3,
                        "outcome": "CRASHED: action 1 `koji` failed: the hub did not answer"}),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert_eq!(answer.json()["state"], "queued", "{}", answer.text);
            assert!(
                answer.json()["retry_at"].as_str().is_some(),
                "{}",
                answer.text
            );
            let record = job_json(&api, &uuid).await;
            assert_eq!(record["state"], "queued", "{record:#}");
            assert_eq!(record["attempts"][0]["class"], "infra");
            assert_eq!(record["attempts"][0]["end_reason"], "infra-fault");

            // The second attempt gives the verdict; the fault stays visible.
            let second = lease(&api, W1, 0.0).await.json();
            assert_eq!(second["uuid"], uuid.as_str());
            assert_eq!(second["attempt"], 2);
            let answer = post(
                &api,
                &result_path,
                Some(W1),
                &json!({"token": second["token"], "state": "finished", "exit_status": 0,
                        "outcome": "PASSED"}),
            )
            .await;
            assert_eq!(
                answer.pair(),
                (200, json!({"uuid": uuid, "state": "finished"}))
            );
            let record = job_json(&api, &uuid).await;
            assert_eq!(record["state"], "finished");
            assert_eq!(record["attempts"][0]["class"], "infra");
            assert_eq!(record["attempts"][1]["class"], "verdict");
            assert_eq!(record["infra_faults"], 1);
            assert_eq!(record["verdict_on_retry"], true);

            // A task's own crash ends the job although attempts are left.
            let other =
                enqueue(&api, None, &[job("dist.rpmlint", "crash-1.0-1.fc44")]).await[0].clone();
            let leased = lease(&api, W1, 0.0).await.json();
            assert_eq!(leased["uuid"], other.as_str());
            let answer = post(
                &api,
                &format!("/api/v1/worker/jobs/{other}/result"),
                Some(W1),
                &json!({"token": leased["token"], "state": "crashed", "outcome": "CRASHED"}),
            )
            .await;
            assert_eq!(answer.json()["state"], "crashed", "{}", answer.text);
            let record = job_json(&api, &other).await;
            assert_eq!(record["state"], "crashed");
            assert_eq!(record["attempts"][0]["class"], "task");
            assert_eq!(record["verdict_on_retry"], false);

            let flakiness = get(&api, "/api/v1/checks/flakiness").await.json();
            assert_eq!(
                flakiness["data"],
                json!([{"check": "dist.rpmlint", "runs": 1, "repeated_runs": 0, "flips": 0,
                        "flip_rate": 0.0}])
            );
        },
    )
    .await;
}

#[tokio::test]
async fn reported_results_are_stored_once_in_the_jobs_group() {
    each_state(
        |store| {
            let mut settings = workers();
            settings.retry_backoff = Duration::ZERO;
            AppState::with_settings(store, plain()).with_worker_api(settings)
        },
        |api| async move {
            let state = AppState::with_settings(api.store.clone(), plain());
            let item = "reported-1.0-1.fc44";
            let uuid = enqueue(&api, None, &[job("dist.rpmlint", item)]).await[0].clone();
            register(&api, W1, &json!({"arches": ["x86_64"]})).await;
            let leased = lease(&api, W1, 0.0).await.json();
            let token = leased["token"].as_i64().unwrap();
            let path = format!("/api/v1/worker/jobs/{uuid}/result");
            let reported = |outcome: &str, scenario: &str| {
                json!({"testcase": {"name": "dist.rpmlint"}, "outcome": outcome,
                       "data": {"item": item, "type": "koji_build", "scenario": scenario},
                       "groups": [{"uuid": uuid}]})
            };

            // A result POST /results would refuse refuses the attempt's
            // result, naming it; nothing changes.
            let answer = post(
                &api,
                &path,
                Some(W1),
                &json!({"token": token, "state": "finished", "outcome": "PASSED",
                        "results": [reported("PASSED", "a"), reported("SPLENDID", "b")]}),
            )
            .await;
            assert_eq!(answer.status, 400, "{}", answer.text);
            assert!(
                answer.text.contains("results[1].outcome"),
                "{}",
                answer.text
            );
            assert_eq!(job_json(&api, &uuid).await["state"], "running");

            // An infrastructure fault's results are not kept.
            let answer = post(
                &api,
                &path,
                Some(W1),
                &json!({"token": token, "state": "crashed", "class": "infra",
                        "results": [reported("PASSED", "lost")]}),
            )
            .await;
            assert_eq!(answer.json()["state"], "queued", "{}", answer.text);
            assert_eq!(
                taskotron_web::job_results::store_pending(&state)
                    .await
                    .unwrap(),
                0
            );

            // The accepted attempt's results are stored once, in the job's
            // group, with the job's page as ref_url.
            let again = lease(&api, W1, 0.0).await.json();
            let answer = post(
                &api,
                &path,
                Some(W1),
                &json!({"token": again["token"], "state": "finished", "outcome": "FAILED",
                        "results": [reported("PASSED", "x86_64"), reported("FAILED", "aarch64")]}),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            // The handler stores them at once; further passes add nothing.
            let started = std::time::Instant::now();
            loop {
                let listed = get(&api, &format!("/api/v2.0/results?groups={uuid}"))
                    .await
                    .json();
                if listed["data"].as_array().unwrap().len() >= 2 {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(10), "{listed}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            taskotron_web::job_results::store_pending(&state)
                .await
                .unwrap();
            taskotron_web::job_results::store_pending(&state)
                .await
                .unwrap();
            let listed = get(&api, &format!("/api/v2.0/results?groups={uuid}"))
                .await
                .json();
            let data = listed["data"].as_array().unwrap();
            assert_eq!(data.len(), 2, "{listed}");
            let mut outcomes: Vec<&str> = data
                .iter()
                .map(|it| it["outcome"].as_str().unwrap())
                .collect();
            outcomes.sort_unstable();
            assert_eq!(outcomes, ["FAILED", "PASSED"]);
            for result in data {
                assert_eq!(result["groups"], json!([uuid]), "{result}");
                assert_eq!(
                    result["ref_url"],
                    json!(format!("/api/v1/jobs/{uuid}")),
                    "{result}"
                );
                assert_ne!(result["data"]["scenario"], json!(["lost"]));
            }
            assert!(api.store.pending_job_results(10).await.unwrap().is_empty());
        },
    )
    .await;
}
