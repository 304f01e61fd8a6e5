//! Two servers on one PostgreSQL database: a job enqueued through server A
//! is leased at once by workers long-polling on server B, woken by
//! PostgreSQL's NOTIFY. B's periodic look at the queue is set longer than
//! the lease requests wait, so only the notification can answer them.

mod common;

use std::time::Duration;

use common::{Answer, Api, plain};
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_web::auth::WorkerAuth;
use taskotron_web::worker_api::{WorkerSettings, listen_for_jobs};
use taskotron_web::{AppState, router};

const W1: &str = "Bearer w1-secret";

/// A server whose waiting lease requests look at the queue only when woken.
fn server(store: &Store) -> (Api, AppState) {
    let mut settings = WorkerSettings::new(Some(WorkerAuth::from_pairs(vec![(
        "w1".into(),
        "w1-secret".into(),
    )])));
    settings.max_wait = Duration::from_secs(120);
    settings.recheck = Duration::from_secs(600);
    let state = AppState::with_settings(store.clone(), plain()).with_worker_api(settings);
    let api = Api {
        app: router(state.clone()),
        store: store.clone(),
    };
    (api, state)
}

async fn post(api: &Api, path: &str, auth: Option<&str>, body: &Value) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    api.send("POST", path, &headers, &body.to_string()).await
}

fn job(item: &str) -> Value {
    json!({"check": "dist.rpmlint", "check_revision": "r1", "item_type": "koji_build",
           "item": item, "arch": "x86_64"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_enqueued_on_one_server_wakes_the_workers_waiting_on_another() {
    let Ok(url) = std::env::var("TASKOTRON_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
        );
        return;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let store_a = Store::open_postgres(&url, Some(&schema)).await.unwrap();
    let store_b = Store::open_postgres(&url, Some(&schema)).await.unwrap();
    let (a, _) = server(&store_a);
    let (b, state_b) = server(&store_b);
    let listener = tokio::spawn(listen_for_jobs(
        store_b.clone(),
        state_b.worker.wake.clone(),
    ));

    let answer = post(
        &b,
        "/api/v1/worker/register",
        Some(W1),
        &json!({"arches": ["x86_64"], "slots": 3}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // Three slots wait on B for up to 120 s; B itself would look at the
    // queue only after 600 s, and at the end of each wait.
    let started = std::time::Instant::now();
    let mut waiting = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let b = b.clone();
        waiting.spawn(async move {
            post(
                &b,
                "/api/v1/worker/lease",
                Some(W1),
                &json!({"wait_seconds": 120}),
            )
            .await
        });
    }
    // Let them reach their wait (were they slower, they would find the jobs
    // on their first look, and the test would prove less but still pass).
    tokio::time::sleep(Duration::from_millis(500)).await;

    let answer = post(
        &a,
        "/api/v1/jobs",
        None,
        &json!({"jobs": [job("a-1-1"), job("b-1-1")]}),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let mut enqueued: Vec<String> = answer.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["uuid"].as_str().unwrap().to_owned())
        .collect();
    enqueued.sort();

    // The first two answers are the two jobs, one each, long before the
    // waits end: only the notification can have woken them.
    let mut leased = Vec::new();
    for _ in 0..2 {
        let answer = waiting.join_next().await.unwrap().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text);
        leased.push(answer.json()["uuid"].as_str().unwrap().to_owned());
    }
    assert!(
        started.elapsed() < Duration::from_secs(100),
        "the leases answered only when their waits ended"
    );
    leased.sort();
    assert_eq!(leased, enqueued);
    // The third slot is still waiting: there is nothing for it.
    assert_eq!(waiting.len(), 1);
    waiting.abort_all();
    for uuid in &enqueued {
        let job = store_a.get_job(uuid).await.unwrap().unwrap();
        assert_eq!(job.attempts.len(), 1, "{job:?}");
        assert_eq!(job.worker.as_deref(), Some("w1"));
    }

    listener.abort();
    store_b.close().await;
    store_a.drop_schema_for_tests(&schema).await.unwrap();
}
