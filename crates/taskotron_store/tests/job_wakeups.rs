//! PostgreSQL's `NOTIFY` wake-ups: every way a job becomes claimable
//! (enqueue, planning, re-run, a requeue by the sweeper) notifies the other
//! processes sharing the database once its transaction commits. On SQLite
//! there is nothing to listen to.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "tests fail loudly and explain skips"
)]

use std::time::Duration;

use serde_json::json;
use taskotron_store::Store;
use taskotron_store::events::{EventState, NewEvent, PlanJob};
use taskotron_store::jobs::{
    Enqueued, JobKey, JobWakeups, NewJob, Requirements, Wakeup, WorkerCaps,
};

fn key(item: &str) -> JobKey {
    JobKey {
        check: "dist.rpmlint".into(),
        check_revision: "r1".into(),
        item_type: "koji_build".into(),
        item: item.into(),
        item_revision: item.into(),
        arch: "x86_64".into(),
        rerun: 0,
    }
}

fn job(item: &str) -> NewJob {
    NewJob {
        key: key(item),
        priority: 0,
        delay: Duration::ZERO,
        requires: Requirements::default(),
        max_attempts: 3,
    }
}

fn worker() -> WorkerCaps {
    WorkerCaps {
        name: "w1".into(),
        arches: vec!["x86_64".into()],
        sandboxes: Vec::new(),
        labels: Vec::new(),
    }
}

/// The next wake-up. The timeout only keeps a broken build from hanging
/// the suite: a notification arrives within milliseconds.
async fn next(wakeups: &mut JobWakeups) -> Wakeup {
    tokio::time::timeout(Duration::from_secs(60), wakeups.next())
        .await
        .expect("no notification came")
        .unwrap()
}

/// Two stores on one PostgreSQL schema, as two `taskotron serve` would
/// have; `None` (after saying why) without a test database.
async fn two_stores() -> Option<(Store, Store, String)> {
    let Ok(url) = std::env::var("TASKOTRON_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("TASKOTRON_REQUIRE_SERVICES").is_err(),
            "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES is"
        );
        eprintln!("skipped: TASKOTRON_TEST_DATABASE_URL is not set");
        return None;
    };
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let a = Store::open_postgres(&url, Some(&schema)).await.unwrap();
    let b = Store::open_postgres(&url, Some(&schema)).await.unwrap();
    Some((a, b, schema))
}

#[tokio::test]
async fn sqlite_has_nothing_to_listen_to() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(tmp.path()).await.unwrap();
    assert!(store.job_wakeups().await.unwrap().is_none());
}

#[tokio::test]
async fn each_way_a_job_becomes_claimable_notifies_the_other_stores() {
    let Some((a, b, schema)) = two_stores().await else {
        return;
    };

    // Enqueue.
    let mut wakeups = a.job_wakeups().await.unwrap().unwrap();
    assert!(wakeups.channel().starts_with("taskotron_jobs:"));
    assert!(wakeups.channel().ends_with(&schema));
    let out = b.enqueue_jobs(&[job("a-1-1")]).await.unwrap();
    let Enqueued::Inserted(first) = &out[0].1 else {
        panic!("{out:?}")
    };
    assert_eq!(next(&mut wakeups).await, Wakeup::Jobs);

    // A re-run.
    let mut wakeups = a.job_wakeups().await.unwrap().unwrap();
    b.rerun_job(first).await.unwrap().unwrap();
    assert_eq!(next(&mut wakeups).await, Wakeup::Jobs);

    // The sweeper puts a job whose lease ran out back in the queue.
    let lease = b.claim_job(&worker(), Duration::ZERO).await.unwrap();
    assert!(lease.is_some());
    let mut wakeups = a.job_wakeups().await.unwrap().unwrap();
    let expired = b.expire_leases().await.unwrap();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(next(&mut wakeups).await, Wakeup::Jobs);

    // The planner inserts an event's jobs.
    b.record_events(&[NewEvent {
        source: "api".into(),
        message_id: None,
        natural_key: Some("koji_build:b-1-1:complete".into()),
        topic: None,
        schema: None,
        fact: Some(json!({"message_type": "KojiBuildPackageCompleted",
            "item_type": "koji_build", "item": "b-1-1", "item_revision": "b-1-1"})),
        body: None,
        state: EventState::New,
        reason: None,
    }])
    .await
    .unwrap();
    let pending = b.new_events(10).await.unwrap();
    let mut wakeups = a.job_wakeups().await.unwrap().unwrap();
    let planned = b
        .plan_events(&[(
            pending[0].id,
            vec![PlanJob {
                job: job("b-1-1"),
                debounce: None,
                rerun: false,
                source: None,
            }],
            None,
        )])
        .await
        .unwrap();
    assert_eq!(planned[0].as_ref().unwrap().inserted.len(), 1);
    assert_eq!(next(&mut wakeups).await, Wakeup::Jobs);

    drop(wakeups);
    b.close().await;
    a.drop_schema_for_tests(&schema).await.unwrap();
}

#[tokio::test]
async fn a_lost_listening_connection_is_made_again() {
    let Some((a, b, schema)) = two_stores().await else {
        return;
    };
    let url = std::env::var("TASKOTRON_TEST_DATABASE_URL").unwrap();
    let mut wakeups = a.job_wakeups().await.unwrap().unwrap();
    // Cut the listening connection from the database's side, as a
    // restarted PostgreSQL or a proxy would.
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let listen = format!("LISTEN \"{}\"", wakeups.channel());
    let cut: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1")
            .bind(&listen)
            .fetch_all(&admin)
            .await
            .unwrap();
    assert_eq!(cut, [(true,)]);
    // The listener says so (notifications may have been missed), listens
    // again, and hears the next enqueue.
    assert_eq!(next(&mut wakeups).await, Wakeup::Reconnected);
    b.enqueue_jobs(&[job("after-1-1")]).await.unwrap();
    assert_eq!(next(&mut wakeups).await, Wakeup::Jobs);

    admin.close().await;
    drop(wakeups);
    b.close().await;
    a.drop_schema_for_tests(&schema).await.unwrap();
}
