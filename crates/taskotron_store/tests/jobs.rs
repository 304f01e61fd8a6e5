//! The job queue, with the same test bodies on SQLite and PostgreSQL.
//!
//! PostgreSQL runs when TASKOTRON_TEST_DATABASE_URL is set (scripts/test sets
//! it), each test in a schema of its own; with TASKOTRON_REQUIRE_SERVICES=1 a
//! missing URL fails instead of skipping.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use common::each_backend;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use taskotron_store::jobs::{
    Enqueued, FailureClass, FinalState, Finished, JobFilter, JobKey, JobOutcome, JobState, NewJob,
    Requirements, WorkerCaps,
};
use taskotron_store::{Store, StoreError};

fn key(check: &str, item: &str) -> JobKey {
    JobKey {
        check: check.into(),
        check_revision: "r1".into(),
        item_type: "koji_build".into(),
        item: item.into(),
        item_revision: item.into(),
        arch: "x86_64".into(),
        rerun: 0,
    }
}

fn job(key: JobKey) -> NewJob {
    NewJob {
        key,
        priority: 0,
        delay: Duration::ZERO,
        requires: Requirements::default(),
        max_attempts: 3,
    }
}

fn worker(name: &str) -> WorkerCaps {
    WorkerCaps {
        name: name.into(),
        arches: vec!["x86_64".into()],
        sandboxes: vec!["bwrap".into()],
        labels: Vec::new(),
    }
}

fn passed() -> JobOutcome {
    JobOutcome {
        state: FinalState::Finished,
        exit_status: Some(0),
        outcome: Some("PASSED".into()),
        log_url: Some("https://logs/1".into()),
        artifacts_url: Some("https://artifacts/1".into()),
        result_group: Some("group-1".into()),
        class: Some(FailureClass::Verdict),
        retry_after: None,
        results: None,
    }
}

const LEASE: Duration = Duration::from_secs(3600);

async fn enqueue_one(store: &Store, new: NewJob) -> String {
    let out = store.enqueue_jobs(&[new]).await.unwrap();
    match &out[..] {
        [(_, Enqueued::Inserted(uuid))] => uuid.clone(),
        other => panic!("expected one new job, got {other:?}"),
    }
}

async fn state(store: &Store, uuid: &str) -> JobState {
    store.get_job(uuid).await.unwrap().unwrap().state
}

#[tokio::test]
async fn enqueuing_a_key_twice_makes_one_job() {
    each_backend(|store| async move {
        let a = key("dist.rpmlint", "foo-1.0-1.fc40");
        let b = key("dist.rpmlint", "bar-2.0-1.fc40");
        let out = store
            .enqueue_jobs(&[job(a.clone()), job(b.clone()), job(a.clone())])
            .await
            .unwrap();
        let keys: Vec<_> = out.iter().map(|(key, _)| key.clone()).collect();
        assert_eq!(keys, [a.clone(), b.clone(), a.clone()]);
        let Enqueued::Inserted(first) = &out[0].1 else {
            panic!("{out:?}")
        };
        assert!(matches!(out[1].1, Enqueued::Inserted(_)), "{out:?}");
        assert_eq!(out[2].1, Enqueued::Existing(first.clone()));
        assert_ne!(out[0].1.uuid(), out[1].1.uuid());

        // Again later, and after it ran: still the same job.
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        let again = store.enqueue_jobs(&[job(a.clone())]).await.unwrap();
        assert_eq!(again[0].1, Enqueued::Existing(first.clone()));
        assert_eq!(state(&store, &lease.uuid).await, JobState::Running);

        // A re-run and another arch are new keys.
        let mut rerun = a.clone();
        rerun.rerun = 1;
        let mut arm = a.clone();
        arm.arch = "aarch64".into();
        let out = store
            .enqueue_jobs(&[job(rerun.clone()), job(arm)])
            .await
            .unwrap();
        assert!(
            out.iter()
                .all(|(_, it)| matches!(it, Enqueued::Inserted(_))),
            "{out:?}"
        );
        let all = store.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(all.len(), 4);
        let stored = store.get_job(out[0].1.uuid()).await.unwrap().unwrap();
        assert_eq!(stored.key, rerun);
        assert_eq!(
            stored.key.to_string(),
            "dist.rpmlint@r1 koji_build:foo-1.0-1.fc40@foo-1.0-1.fc40 x86_64 rerun:1"
        );
        assert_eq!(stored.state, JobState::Queued);
        assert_eq!(stored.max_attempts, 3);
        assert!(stored.attempts.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_malformed_job_refuses_its_whole_batch() {
    each_backend(|store| async move {
        let mut no_attempts = job(key("c", "none"));
        no_attempts.max_attempts = 0;
        let mut spaced = job(key("c", "spaced"));
        spaced.requires.labels = vec!["two words".into()];
        let mut empty = job(key("c", "empty"));
        empty.requires.labels = vec![String::new()];
        for bad in [no_attempts, spaced, empty] {
            let err = store
                .enqueue_jobs(&[job(key("c", "fine")), bad.clone()])
                .await
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::InvalidJob { key, .. } if *key == bad.key.to_string()),
                "{err:?}"
            );
        }
        assert_eq!(store.list_jobs(&JobFilter::default()).await.unwrap(), []);
    })
    .await;
}

#[tokio::test]
async fn claims_take_the_highest_priority_then_the_oldest_once_not_before_passed() {
    each_backend(|store| async move {
        let mut later = job(key("c", "later"));
        later.priority = 100;
        later.delay = Duration::from_secs(3600);
        let mut soon = job(key("c", "soon"));
        soon.priority = 50;
        soon.delay = Duration::from_secs(1);
        let mut high = job(key("c", "high"));
        high.priority = 10;
        let mut negative = job(key("c", "negative"));
        negative.priority = -5;
        store
            .enqueue_jobs(&[
                job(key("c", "old")),
                later,
                soon,
                high,
                negative,
                job(key("c", "young")),
            ])
            .await
            .unwrap();
        let w = worker("w1");
        let mut order = Vec::new();
        while let Some(lease) = store.claim_job(&w, LEASE).await.unwrap() {
            assert_eq!((lease.attempt, lease.token), (1, 1));
            order.push(lease.key.item);
        }
        assert_eq!(order, ["high", "old", "young", "negative"]);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let lease = store.claim_job(&w, LEASE).await.unwrap().unwrap();
        assert_eq!(lease.key.item, "soon");
        assert_eq!(store.claim_job(&w, LEASE).await.unwrap(), None);
        let queued = store
            .list_jobs(&JobFilter {
                state: Some(JobState::Queued),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        let items: Vec<_> = queued.iter().map(|it| it.key.item.as_str()).collect();
        assert_eq!(items, ["later"]);
    })
    .await;
}

#[tokio::test]
async fn a_worker_gets_only_the_jobs_it_can_run() {
    each_backend(|store| async move {
        let mut on_arm = job(key("c", "on-arm"));
        on_arm.requires.arch = Some("aarch64".into());
        let mut in_vm = job(key("c", "in-vm"));
        in_vm.requires.sandbox = Some("vm".into());
        let mut gpu_big = job(key("c", "gpu-big"));
        gpu_big.requires.labels = vec!["gpu".into(), "big".into(), "gpu".into()];
        let mut gpu = job(key("c", "gpu"));
        gpu.requires.labels = vec!["gpu".into()];
        store
            .enqueue_jobs(&[on_arm, in_vm, gpu_big, gpu, job(key("c", "any"))])
            .await
            .unwrap();

        let plain = worker("plain");
        let lease = store.claim_job(&plain, LEASE).await.unwrap().unwrap();
        assert_eq!(lease.key.item, "any");
        assert_eq!(store.claim_job(&plain, LEASE).await.unwrap(), None);

        let mut with_gpu = worker("with-gpu");
        with_gpu.labels = vec!["gpu".into()];
        let lease = store.claim_job(&with_gpu, LEASE).await.unwrap().unwrap();
        assert_eq!(lease.key.item, "gpu");
        assert_eq!(store.claim_job(&with_gpu, LEASE).await.unwrap(), None);

        let nothing = WorkerCaps {
            name: "bare".into(),
            ..WorkerCaps::default()
        };
        assert_eq!(store.claim_job(&nothing, LEASE).await.unwrap(), None);

        let big = WorkerCaps {
            name: "big".into(),
            arches: vec!["aarch64".into()],
            sandboxes: vec!["bwrap".into(), "vm".into()],
            labels: vec!["big".into(), "gpu".into(), "extra".into()],
        };
        let mut got = Vec::new();
        while let Some(lease) = store.claim_job(&big, LEASE).await.unwrap() {
            got.push(lease.key.item);
        }
        got.sort();
        assert_eq!(got, ["gpu-big", "in-vm", "on-arm"]);
        let stored = store
            .list_jobs(&JobFilter {
                item: Some("gpu-big".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(stored[0].requires.labels, ["big", "gpu"]);
        assert_eq!(stored[0].worker.as_deref(), Some("big"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_get_the_same_job() {
    each_backend(|store| async move {
        let jobs: Vec<_> = (0..200)
            .map(|n| job(key("c", &format!("item-{n}"))))
            .collect();
        store.enqueue_jobs(&jobs).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let w = worker(&format!("w{n}"));
                let mut got = Vec::new();
                while let Some(lease) = store.claim_job(&w, LEASE).await.unwrap() {
                    got.push(lease.uuid);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        assert_eq!(all.len(), 200);
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 200);
        let running = store
            .list_jobs(&JobFilter {
                state: Some(JobState::Running),
                limit: 1000,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(running.len(), 200);
        for job in &running {
            assert_eq!((job.attempt_count, job.token), (1, 1), "{job:?}");
            assert_eq!(job.attempts.len(), 1, "{job:?}");
            assert_eq!(job.worker.as_deref(), Some(job.attempts[0].worker.as_str()));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_leases_lost_while_workers_race_each_job_gets_one_accepted_result() {
    each_backend(|store| async move {
        const JOBS: usize = 60;
        let jobs: Vec<_> = (0..JOBS)
            .map(|n| {
                let mut new = job(key("c", &format!("item-{n}")));
                new.max_attempts = 1000;
                new
            })
            .collect();
        store.enqueue_jobs(&jobs).await.unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let rejected = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let sweeper = {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    store.expire_leases().await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let mut workers = Vec::new();
        for n in 0..4 {
            let (store, accepted, rejected) = (store.clone(), accepted.clone(), rejected.clone());
            workers.push(tokio::spawn(async move {
                let w = worker(&format!("w{n}"));
                let mut mine = Vec::new();
                let mut claims = 0_u32;
                while accepted.load(Ordering::SeqCst) < JOBS {
                    let Some(lease) = store
                        .claim_job(&w, Duration::from_millis(30))
                        .await
                        .unwrap()
                    else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    claims += 1;
                    if claims.is_multiple_of(3) {
                        // Outlive the lease: the sweeper takes the job back.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        if let Err(err) = store
                            .heartbeat(&lease.uuid, lease.token, Duration::from_secs(60))
                            .await
                        {
                            assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
                            // A zombie's late result never counts.
                            let err = store
                                .finish_job(&lease.uuid, lease.token, &passed())
                                .await
                                .unwrap_err();
                            assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
                            rejected.fetch_add(1, Ordering::SeqCst);
                            continue;
                        }
                    }
                    match store.finish_job(&lease.uuid, lease.token, &passed()).await {
                        Ok(_) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            mine.push(lease.uuid);
                        }
                        Err(StoreError::StaleAttempt { .. }) => {
                            rejected.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(err) => panic!("{err:?}"),
                    }
                }
                mine
            }));
        }
        let mut finished = Vec::new();
        for task in workers {
            finished.extend(task.await.unwrap());
        }
        stop.store(true, Ordering::SeqCst);
        sweeper.await.unwrap();

        assert_eq!(finished.len(), JOBS);
        assert_eq!(finished.iter().collect::<HashSet<_>>().len(), JOBS);
        assert!(
            rejected.load(Ordering::SeqCst) > 0,
            "no lease was ever lost"
        );
        let all = store
            .list_jobs(&JobFilter {
                limit: 1000,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), JOBS);
        let mut attempts = 0;
        for job in &all {
            assert_eq!(job.state, JobState::Finished, "{job:?}");
            let ends: Vec<_> = job
                .attempts
                .iter()
                .map(|it| it.end_reason.as_deref())
                .collect();
            assert_eq!(
                ends.iter().filter(|it| **it == Some("finished")).count(),
                1,
                "{job:?}"
            );
            assert_eq!(
                job.attempts.last().unwrap().end_reason.as_deref(),
                Some("finished")
            );
            let tokens: Vec<_> = job.attempts.iter().map(|it| it.token).collect();
            assert!(tokens.windows(2).all(|it| it[0] < it[1]), "{tokens:?}");
            attempts += job.attempts.len();
        }
        assert!(attempts > JOBS, "{attempts} attempts for {JOBS} jobs");
    })
    .await;
}

#[tokio::test]
async fn a_stale_token_can_neither_heartbeat_nor_finish() {
    each_backend(|store| async move {
        let mut new = job(key("c", "foo"));
        new.max_attempts = 3;
        let uuid = enqueue_one(&store, new).await;
        let w = worker("w1");
        let first = store
            .claim_job(&w, Duration::from_millis(20))
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let expired = store.expire_leases().await.unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].state, JobState::Queued);
        let second = store.claim_job(&w, LEASE).await.unwrap().unwrap();
        assert_eq!(second.uuid, uuid);
        assert_eq!(second.attempt, 2);
        assert!(second.token > first.token);

        let err = store
            .heartbeat(&uuid, first.token, LEASE)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::StaleAttempt { job, token } if *job == uuid && *token == first.token),
            "{err:?}"
        );
        let err = store
            .finish_job(&uuid, first.token, &passed())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
        assert_eq!(state(&store, &uuid).await, JobState::Running);

        let renewed = store
            .heartbeat(&uuid, second.token, Duration::from_secs(7200))
            .await
            .unwrap();
        assert!(renewed > second.expires_at);
        store
            .finish_job(&uuid, second.token, &passed())
            .await
            .unwrap();
        // Once finished, even the current token is refused.
        let err = store
            .finish_job(&uuid, second.token, &passed())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
        let err = store
            .heartbeat(&uuid, second.token, LEASE)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
        let err = store
            .heartbeat("no-such-job", 1, LEASE)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::NotFound("job")), "{err:?}");

        let record = store.get_job(&uuid).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Finished);
        assert_eq!(record.outcome.as_deref(), Some("PASSED"));
        assert_eq!(record.result_group.as_deref(), Some("group-1"));
        assert_eq!(record.lease_expires_at, None);
        assert_eq!(record.attempts.len(), 2);
        let (a1, a2) = (&record.attempts[0], &record.attempts[1]);
        assert_eq!((a1.attempt, a1.token), (1, first.token));
        assert_eq!(a1.end_reason.as_deref(), Some("lease-expired"));
        assert_eq!(a1.outcome, None);
        assert_eq!((a2.attempt, a2.token), (2, second.token));
        assert_eq!(a2.end_reason.as_deref(), Some("finished"));
        assert_eq!(a2.lease_expires_at, renewed);
        assert_eq!(a2.exit_status, Some(0));
        assert_eq!(a2.log_url.as_deref(), Some("https://logs/1"));
        assert_eq!(a2.artifacts_url.as_deref(), Some("https://artifacts/1"));
        assert!(a2.ended_at.unwrap() >= a2.started_at);
    })
    .await;
}

#[tokio::test]
async fn an_expired_lease_requeues_until_the_attempts_run_out() {
    each_backend(|store| async move {
        let mut flaky = job(key("c", "flaky"));
        flaky.priority = 10;
        flaky.max_attempts = 2;
        let flaky = enqueue_one(&store, flaky).await;
        let steady = enqueue_one(&store, job(key("c", "steady"))).await;
        let kept = enqueue_one(&store, job(key("c", "kept"))).await;
        let w = worker("w1");
        let short = Duration::from_millis(20);

        let lease = store.claim_job(&w, short).await.unwrap().unwrap();
        assert_eq!(lease.uuid, flaky);
        let lease = store.claim_job(&w, LEASE).await.unwrap().unwrap();
        assert_eq!(lease.uuid, steady);
        let lease = store.claim_job(&w, short).await.unwrap().unwrap();
        assert_eq!(lease.uuid, kept);
        // A heartbeat keeps a short lease alive.
        store.heartbeat(&kept, lease.token, LEASE).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;

        let expired = store.expire_leases().await.unwrap();
        let got: Vec<_> = expired
            .iter()
            .map(|it| (it.uuid.as_str(), it.token, it.state))
            .collect();
        assert_eq!(got, [(flaky.as_str(), 1, JobState::Queued)]);
        assert_eq!(store.expire_leases().await.unwrap(), []);
        assert_eq!(state(&store, &flaky).await, JobState::Queued);

        let lease = store.claim_job(&w, short).await.unwrap().unwrap();
        assert_eq!((lease.uuid.as_str(), lease.attempt), (flaky.as_str(), 2));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let expired = store.expire_leases().await.unwrap();
        let got: Vec<_> = expired
            .iter()
            .map(|it| (it.uuid.as_str(), it.token, it.state))
            .collect();
        assert_eq!(got, [(flaky.as_str(), 2, JobState::Crashed)]);
        assert_eq!(store.claim_job(&w, LEASE).await.unwrap(), None);

        let record = store.get_job(&flaky).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Crashed);
        assert_eq!(record.attempt_count, 2);
        assert!(
            record.outcome.as_deref().unwrap().contains("lease expired"),
            "{record:?}"
        );
        let reasons: Vec<_> = record
            .attempts
            .iter()
            .map(|it| it.end_reason.as_deref())
            .collect();
        assert_eq!(reasons, [Some("lease-expired"), Some("lease-expired")]);
        assert_eq!(state(&store, &steady).await, JobState::Running);
        assert_eq!(state(&store, &kept).await, JobState::Running);
    })
    .await;
}

#[tokio::test]
async fn cancelling_stops_queued_and_running_jobs() {
    each_backend(|store| async move {
        let running = enqueue_one(&store, job(key("c", "running"))).await;
        let w = worker("w1");
        let lease = store.claim_job(&w, LEASE).await.unwrap().unwrap();
        assert_eq!(lease.uuid, running);
        let queued = enqueue_one(&store, job(key("c", "queued"))).await;

        assert!(store.cancel_job(&queued).await.unwrap());
        assert_eq!(state(&store, &queued).await, JobState::Cancelled);
        assert_eq!(store.claim_job(&w, LEASE).await.unwrap(), None);

        assert!(store.cancel_job(&running).await.unwrap());
        let err = store
            .heartbeat(&running, lease.token, LEASE)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
        let err = store
            .finish_job(&running, lease.token, &passed())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::StaleAttempt { .. }), "{err:?}");
        let record = store.get_job(&running).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Cancelled);
        assert_eq!(record.outcome, None);
        assert_eq!(record.attempts.len(), 1);
        assert_eq!(record.attempts[0].end_reason.as_deref(), Some("cancelled"));
        assert!(record.attempts[0].ended_at.is_some());

        // Ended jobs stay as they are.
        assert!(!store.cancel_job(&running).await.unwrap());
        let err = store.cancel_job("no-such-job").await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound("job")), "{err:?}");
        assert_eq!(store.expire_leases().await.unwrap(), []);
    })
    .await;
}

#[tokio::test]
async fn jobs_list_by_state_item_check_and_worker() {
    each_backend(|store| async move {
        let mut other_check = key("dist.depcheck", "foo-1");
        other_check.item_revision = "foo-1".into();
        store
            .enqueue_jobs(&[
                job(key("dist.rpmlint", "foo-1")),
                job(key("dist.rpmlint", "bar-1")),
                job(other_check),
            ])
            .await
            .unwrap();
        let one = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        store
            .finish_job(&one.uuid, one.token, &passed())
            .await
            .unwrap();
        let two = store
            .claim_job(&worker("w2"), LEASE)
            .await
            .unwrap()
            .unwrap();

        let list = |filter: JobFilter| {
            let store = store.clone();
            async move {
                let jobs = store.list_jobs(&filter).await.unwrap();
                jobs.into_iter()
                    .map(|it| (it.key.check, it.key.item))
                    .collect::<Vec<_>>()
            }
        };
        let pair = |check: &str, item: &str| (check.to_owned(), item.to_owned());
        // Newest first.
        assert_eq!(
            list(JobFilter::default()).await,
            [
                pair("dist.depcheck", "foo-1"),
                pair("dist.rpmlint", "bar-1"),
                pair("dist.rpmlint", "foo-1"),
            ]
        );
        assert_eq!(
            list(JobFilter {
                limit: 1,
                ..JobFilter::default()
            })
            .await,
            [pair("dist.depcheck", "foo-1")]
        );
        assert_eq!(
            list(JobFilter {
                item: Some("foo-1".into()),
                ..JobFilter::default()
            })
            .await,
            [
                pair("dist.depcheck", "foo-1"),
                pair("dist.rpmlint", "foo-1")
            ]
        );
        assert_eq!(
            list(JobFilter {
                check: Some("dist.rpmlint".into()),
                state: Some(JobState::Finished),
                ..JobFilter::default()
            })
            .await,
            [pair("dist.rpmlint", "foo-1")]
        );
        assert_eq!(
            list(JobFilter {
                worker: Some("w2".into()),
                ..JobFilter::default()
            })
            .await,
            [pair(&two.key.check, &two.key.item)]
        );
        assert_eq!(
            list(JobFilter {
                worker: Some("w3".into()),
                ..JobFilter::default()
            })
            .await,
            []
        );
        assert_eq!(store.get_job("no-such-job").await.unwrap(), None);
    })
    .await;
}

fn infra_fault(retry_after: Option<Duration>) -> JobOutcome {
    JobOutcome {
        state: FinalState::Crashed,
        exit_status: Some(1),
        outcome: Some("CRASHED: action 1 `download` failed: Koji did not answer".into()),
        log_url: None,
        artifacts_url: None,
        result_group: None,
        class: Some(FailureClass::Infra),
        retry_after,
        results: None,
    }
}

#[tokio::test]
async fn only_infrastructure_faults_are_retried_with_their_attempts_kept() {
    each_backend(|store| async move {
        // An infrastructure fault with attempts left: queued again, not
        // before the backoff.
        let mut new = job(key("dist.rpmlint", "retry-1.0-1.fc44"));
        new.max_attempts = 3;
        let uuid = enqueue_one(&store, new).await;
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        let done = store
            .finish_job(
                &uuid,
                lease.token,
                &infra_fault(Some(Duration::from_secs(600))),
            )
            .await
            .unwrap();
        let Finished::Retrying { not_before } = done else {
            panic!("{done:?}")
        };
        let record = store.get_job(&uuid).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Queued);
        assert_eq!(record.not_before, not_before);
        assert!(record.worker.is_none(), "{record:?}");
        assert_eq!(
            record.attempts[0].end_reason.as_deref(),
            Some("infra-fault")
        );
        assert_eq!(record.attempts[0].class, Some(FailureClass::Infra));
        // Not claimable during the backoff.
        assert!(
            store
                .claim_job(&worker("w1"), LEASE)
                .await
                .unwrap()
                .is_none()
        );

        // Without a backoff it is claimable at once; the verdict of the
        // second attempt finishes it, the first attempt still shown.
        let uuid = enqueue_one(&store, job(key("dist.rpmlint", "retry-2.0-1.fc44"))).await;
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .finish_job(&uuid, lease.token, &infra_fault(Some(Duration::ZERO)))
                .await
                .unwrap(),
            Finished::Retrying {
                not_before: store.get_job(&uuid).await.unwrap().unwrap().not_before
            }
        );
        let again = store
            .claim_job(&worker("w2"), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.uuid, uuid);
        assert_eq!(again.attempt, 2);
        assert_eq!(
            store
                .finish_job(&uuid, again.token, &passed())
                .await
                .unwrap(),
            Finished::Ended
        );
        let record = store.get_job(&uuid).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Finished);
        assert_eq!(record.outcome.as_deref(), Some("PASSED"));
        let classes: Vec<_> = record.attempts.iter().map(|it| it.class).collect();
        assert_eq!(
            classes,
            [Some(FailureClass::Infra), Some(FailureClass::Verdict)]
        );

        // Out of attempts: the fault ends the job in the reported state.
        let mut new = job(key("dist.rpmlint", "retry-3.0-1.fc44"));
        new.max_attempts = 1;
        let uuid = enqueue_one(&store, new).await;
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store
                .finish_job(&uuid, lease.token, &infra_fault(Some(Duration::ZERO)))
                .await
                .unwrap(),
            Finished::Ended
        );
        let record = store.get_job(&uuid).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Crashed);
        assert_eq!(record.attempts[0].end_reason.as_deref(), Some("finished"));

        // The task's own crash is never retried, attempts left or not.
        let uuid = enqueue_one(&store, job(key("dist.rpmlint", "retry-4.0-1.fc44"))).await;
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut crash = infra_fault(Some(Duration::ZERO));
        crash.class = Some(FailureClass::Task);
        assert_eq!(
            store.finish_job(&uuid, lease.token, &crash).await.unwrap(),
            Finished::Ended
        );
        assert_eq!(state(&store, &uuid).await, JobState::Crashed);
    })
    .await;
}

#[tokio::test]
async fn verdict_flips_on_the_same_input_are_counted_per_check() {
    each_backend(|store| async move {
        // dist.rpmlint on one build: PASSED, FAILED, PASSED (two re-runs,
        // two flips); on another build once. dist.abicheck twice, the same.
        let runs = [
            ("dist.rpmlint", "flip-1.0-1.fc44", 0, "PASSED"),
            ("dist.rpmlint", "flip-1.0-1.fc44", 1, "FAILED"),
            ("dist.rpmlint", "flip-1.0-1.fc44", 2, "PASSED"),
            ("dist.rpmlint", "other-1.0-1.fc44", 0, "FAILED"),
            ("dist.abicheck", "flip-1.0-1.fc44", 0, "PASSED"),
            ("dist.abicheck", "flip-1.0-1.fc44", 1, "PASSED"),
        ];
        for (check, item, rerun, outcome) in runs {
            let mut k = key(check, item);
            k.rerun = rerun;
            let uuid = enqueue_one(&store, job(k)).await;
            let lease = store
                .claim_job(&worker("w1"), LEASE)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(lease.uuid, uuid);
            let mut done = passed();
            done.outcome = Some(outcome.into());
            store.finish_job(&uuid, lease.token, &done).await.unwrap();
        }
        let flakiness = store.flakiness().await.unwrap();
        let summary: Vec<(String, i64, i64, i64)> = flakiness
            .iter()
            .map(|it| (it.check.clone(), it.runs, it.repeated, it.flips))
            .collect();
        assert_eq!(
            summary,
            [
                ("dist.abicheck".to_owned(), 2, 1, 0),
                ("dist.rpmlint".to_owned(), 4, 2, 2),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_jobs_reported_results_are_kept_with_its_end_and_stored_once() {
    each_backend(|store| async move {
        let uuid = enqueue_one(&store, job(key("dist.rpmlint", "kept-1.0-1.fc44"))).await;
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut done = passed();
        done.results = Some(r#"[{"outcome": "PASSED"}, {"outcome": "FAILED"}]"#.into());
        store.finish_job(&uuid, lease.token, &done).await.unwrap();
        let kept = store.pending_job_results(10).await.unwrap();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(
            (kept[0].job_uuid.as_str(), kept[0].attempt, kept[0].written),
            (uuid.as_str(), 1, 0)
        );
        let result = |outcome: &str| taskotron_store::resultsdb::NewResult {
            testcase: "dist.rpmlint".into(),
            testcase_ref_url: None,
            outcome: outcome.into(),
            note: None,
            ref_url: None,
            submit_time: 1_700_000_000_000_000,
            groups: Vec::new(),
            data: vec![("item".into(), "kept-1.0-1.fc44".into())],
        };
        let row = kept[0].id;
        store
            .create_job_result(&result("PASSED"), |_| None, false, row, 0)
            .await
            .unwrap();
        // Index 0 again (a second relay, or a retry after a crash): refused,
        // nothing written.
        let again = store
            .create_job_result(&result("PASSED"), |_| None, false, row, 0)
            .await
            .unwrap_err();
        assert!(again.to_string().contains("written already"), "{again}");
        assert_eq!(store.pending_job_results(10).await.unwrap()[0].written, 1);
        store
            .create_job_result(&result("FAILED"), |_| None, false, row, 1)
            .await
            .unwrap();
        let filter = taskotron_store::resultsdb::ResultFilter::default();
        let page = taskotron_store::resultsdb::Page { page: 0, limit: 10 };
        let listed = store
            .list_results(
                &filter,
                taskotron_store::resultsdb::Order::NewestFirst,
                page,
            )
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 2, "{listed:?}");
        store.job_results_stored(row).await.unwrap();
        assert!(store.pending_job_results(10).await.unwrap().is_empty());

        // An attempt that is retried keeps no results.
        let uuid = enqueue_one(&store, job(key("dist.rpmlint", "kept-2.0-1.fc44"))).await;
        let lease = store
            .claim_job(&worker("w1"), LEASE)
            .await
            .unwrap()
            .unwrap();
        let mut fault = infra_fault(Some(Duration::ZERO));
        fault.results = Some("[]".into());
        store.finish_job(&uuid, lease.token, &fault).await.unwrap();
        assert!(store.pending_job_results(10).await.unwrap().is_empty());
    })
    .await;
}
