//! The scheduler's events, planning and watermarks, with the same test
//! bodies on SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::time::Duration;

use common::each_backend;
use serde_json::json;
use taskotron_store::StoreError;
use taskotron_store::events::{EventFilter, EventState, NewEvent, PlanJob, Recorded};
use taskotron_store::jobs::{JobFilter, JobKey, JobState, NewJob, Requirements};

fn build_event(message_id: Option<&str>, nvr: &str, source: &str) -> NewEvent {
    NewEvent {
        source: source.into(),
        message_id: message_id.map(str::to_owned),
        natural_key: Some(format!("koji_build:{nvr}:complete")),
        topic: Some("buildsys.build.state.change".into()),
        schema: None,
        fact: Some(json!({
            "message_type": "KojiBuildPackageCompleted",
            "item_type": "koji_build",
            "item": nvr,
            "item_revision": nvr,
        })),
        body: Some("{}".into()),
        state: EventState::New,
        reason: None,
    }
}

fn plan_job(check: &str, item: &str, arch: &str) -> PlanJob {
    PlanJob {
        job: NewJob {
            key: JobKey {
                check: check.into(),
                check_revision: "r1".into(),
                item_type: "koji_build".into(),
                item: item.into(),
                item_revision: item.into(),
                arch: arch.into(),
                rerun: 0,
            },
            priority: 0,
            delay: Duration::ZERO,
            requires: Requirements::default(),
            max_attempts: 3,
        },
        debounce: None,
        rerun: false,
        source: None,
    }
}

#[tokio::test]
async fn message_ids_and_natural_keys_dedupe() {
    each_backend(|store| async move {
        let first = store
            .record_events(&[build_event(Some("m1"), "a-1-1", "bus")])
            .await
            .unwrap();
        assert!(matches!(first[0], Recorded::Inserted(_)));
        // Redelivery of the same message, the poller finding the same
        // build, and a second message about it: nothing new.
        let again = store
            .record_events(&[
                build_event(Some("m1"), "a-1-1", "bus"),
                build_event(None, "a-1-1", "koji"),
                build_event(Some("m2"), "a-1-1", "bus"),
                build_event(None, "b-1-1", "koji"),
            ])
            .await
            .unwrap();
        assert_eq!(again[0], Recorded::Duplicate);
        assert_eq!(again[1], Recorded::Duplicate);
        assert_eq!(again[2], Recorded::Duplicate);
        assert!(matches!(again[3], Recorded::Inserted(_)));
        // Rejected messages have no natural key: each message id once.
        let rejected = NewEvent {
            source: "bus".into(),
            message_id: Some("m3".into()),
            natural_key: None,
            topic: Some("buildsys.tag".into()),
            schema: None,
            fact: None,
            body: Some("not json".into()),
            state: EventState::Rejected,
            reason: Some("the body is not JSON".into()),
        };
        let out = store
            .record_events(&[rejected.clone(), rejected.clone()])
            .await
            .unwrap();
        assert!(matches!(out[0], Recorded::Inserted(_)));
        assert_eq!(out[1], Recorded::Duplicate);
        // A new event without a fact is refused whole.
        let mut bad = build_event(Some("m9"), "c-1-1", "bus");
        bad.fact = None;
        let err = store
            .record_events(&[build_event(Some("m8"), "d-1-1", "bus"), bad])
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidEvent(_)), "{err:?}");
        let all = store.list_events(&EventFilter::default()).await.unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
        let rejected = store
            .list_events(&EventFilter {
                state: Some(EventState::Rejected),
                ..EventFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].reason.as_deref(), Some("the body is not JSON"));
        assert_eq!(rejected[0].topic.as_deref(), Some("buildsys.tag"));
        let by_source = store
            .list_events(&EventFilter {
                source: Some("koji".into()),
                ..EventFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(by_source.len(), 1);
        assert_eq!(by_source[0].item.as_deref(), Some("b-1-1"));
    })
    .await;
}

#[tokio::test]
async fn planning_makes_each_job_once_and_only_once_per_event() {
    each_backend(|store| async move {
        store
            .record_events(&[
                build_event(Some("m1"), "a-1-1", "bus"),
                build_event(Some("m2"), "b-1-1", "bus"),
            ])
            .await
            .unwrap();
        let pending = store.new_events(10).await.unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0].fact["item"], "a-1-1");
        let batch = vec![
            (
                pending[0].id,
                vec![
                    plan_job("rpmlint", "a-1-1", "x86_64"),
                    plan_job("rpmlint", "a-1-1", "noarch"),
                ],
                None,
            ),
            // The second event asks for a job the first already made.
            (
                pending[1].id,
                vec![
                    plan_job("rpmlint", "a-1-1", "x86_64"),
                    plan_job("rpmlint", "b-1-1", "x86_64"),
                ],
                Some("a note".to_owned()),
            ),
        ];
        let out = store.plan_events(&batch).await.unwrap();
        let first = out[0].as_ref().unwrap();
        assert_eq!(first.inserted.len(), 2);
        let second = out[1].as_ref().unwrap();
        assert_eq!(second.inserted.len(), 1);
        assert_eq!(second.existing.len(), 1);
        // The job the first event inserted for that key.
        let made = first
            .inserted
            .iter()
            .find(|(key, _)| *key == second.existing[0].0)
            .unwrap();
        assert_eq!(second.existing[0].1, made.1);
        // Planning again (a second planner, or a restart): nothing happens.
        let again = store.plan_events(&batch).await.unwrap();
        assert_eq!(again, vec![None, None]);
        assert!(store.new_events(10).await.unwrap().is_empty());
        let jobs = store.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(jobs.len(), 3);
        let event = store
            .get_event(&store.list_events(&EventFilter::default()).await.unwrap()[0].uuid)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.state, EventState::Planned);
        assert_eq!(event.job_count, 2);
        assert_eq!(event.reason.as_deref(), Some("a note"));
        assert_eq!(event.fact.as_ref().unwrap()["item"], "b-1-1");
        let mut how: Vec<&str> = event.jobs.iter().map(|(_, how)| how.as_str()).collect();
        how.sort_unstable();
        assert_eq!(how, ["existing", "inserted"]);
    })
    .await;
}

#[tokio::test]
async fn events_planned_on_arrival_get_their_jobs_in_the_same_transaction() {
    each_backend(|store| async move {
        // An existing job for c-1-1: planning it again finds it.
        store
            .record_and_plan(
                &[build_event(Some("m0"), "c-1-1", "bus")],
                &[Some((
                    vec![plan_job("dist.rpmlint", "c-1-1", "x86_64")],
                    None,
                ))],
            )
            .await
            .unwrap();
        let events = [
            build_event(Some("m1"), "a-1-1", "bus"),
            build_event(Some("m2"), "b-1-1", "bus"),
            // A duplicate of m1 by natural key: nothing written or planned.
            build_event(None, "a-1-1", "koji"),
            // Another event about c-1-1 (a tag, say) asks for its job again.
            NewEvent {
                natural_key: Some("koji_tag:c-1-1:f44:tagged".into()),
                ..build_event(Some("m3"), "c-1-1", "bus")
            },
        ];
        let plans = [
            Some((
                vec![
                    plan_job("dist.rpmlint", "a-1-1", "x86_64"),
                    plan_job("dist.rpmlint", "a-1-1", "aarch64"),
                ],
                Some("one note".to_owned()),
            )),
            None,
            Some((vec![plan_job("dist.rpmlint", "a-1-1", "s390x")], None)),
            Some((vec![plan_job("dist.rpmlint", "c-1-1", "x86_64")], None)),
        ];
        let (recorded, planned) = store.record_and_plan(&events, &plans).await.unwrap();
        assert!(matches!(recorded[0], Recorded::Inserted(_)));
        assert!(matches!(recorded[1], Recorded::Inserted(_)));
        assert_eq!(recorded[2], Recorded::Duplicate);
        assert!(matches!(recorded[3], Recorded::Inserted(_)));
        assert_eq!(planned[0].as_ref().unwrap().inserted.len(), 2);
        assert!(planned[1].is_none());
        assert!(planned[2].is_none(), "a duplicate plans nothing");
        let existing = planned[3].as_ref().unwrap();
        assert!(existing.inserted.is_empty());
        assert_eq!(existing.existing.len(), 1);

        let uuid_of = |it: &Recorded| match it {
            Recorded::Inserted(uuid) => uuid.clone(),
            Recorded::Duplicate => panic!("not inserted"),
        };
        let a = store
            .get_event(&uuid_of(&recorded[0]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.state, EventState::Planned);
        assert_eq!(a.job_count, 2);
        assert_eq!(a.reason.as_deref(), Some("one note"));
        assert!(a.planned_at.is_some());
        assert_eq!(a.jobs.len(), 2);
        assert!(a.jobs.iter().all(|(_, how)| how == "inserted"));
        let b = store
            .get_event(&uuid_of(&recorded[1]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.state, EventState::New);
        assert_eq!(b.planned_at, None);
        assert_eq!(b.job_count, 0);
        let c = store
            .get_event(&uuid_of(&recorded[3]))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.state, EventState::Planned);
        assert_eq!(c.jobs.len(), 1);
        assert_eq!(c.jobs[0].1, "existing");
        // The planner sees only the event left without a plan.
        let pending = store.new_events(100).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].uuid, b.uuid);
        let jobs = store.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(jobs.len(), 3, "{jobs:?}");
        assert!(jobs.iter().all(|it| it.state == JobState::Queued));

        // A malformed job writes nothing, not even the events.
        let mut bad = plan_job("dist.rpmlint", "d-1-1", "x86_64");
        bad.job.max_attempts = 0;
        let err = store
            .record_and_plan(
                &[build_event(Some("m4"), "d-1-1", "bus")],
                &[Some((vec![bad], None))],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidJob { .. }), "{err:?}");
        let all = store.list_events(&EventFilter::default()).await.unwrap();
        assert!(all.iter().all(|it| it.item.as_deref() != Some("d-1-1")));
        // Plans must match the events one for one.
        assert!(
            store
                .record_and_plan(&[build_event(Some("m5"), "e-1-1", "bus")], &[])
                .await
                .is_err()
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_planners_plan_each_event_once() {
    each_backend(|store| async move {
        let events: Vec<NewEvent> = (0..40)
            .map(|n| build_event(Some(&format!("m{n}")), &format!("p{n}-1-1"), "bus"))
            .collect();
        store.record_events(&events).await.unwrap();
        let pending = store.new_events(100).await.unwrap();
        let batch: Vec<_> = pending
            .iter()
            .map(|it| {
                let item = it.fact["item"].as_str().unwrap().to_owned();
                (it.id, vec![plan_job("rpmlint", &item, "x86_64")], None)
            })
            .collect();
        let (a, b) = tokio::join!(store.plan_events(&batch), store.plan_events(&batch));
        let (a, b) = (a.unwrap(), b.unwrap());
        for (x, y) in a.iter().zip(&b) {
            assert!(
                x.is_some() != y.is_some(),
                "each event planned by exactly one planner"
            );
        }
        assert_eq!(
            store.list_jobs(&JobFilter::default()).await.unwrap().len(),
            40
        );
    })
    .await;
}

#[tokio::test]
async fn debounce_folds_bursts_and_reruns_take_the_next_number() {
    each_backend(|store| async move {
        let tag_event = |n: u32| NewEvent {
            natural_key: Some(format!("koji_tag:{n}:f44-pending")),
            fact: Some(json!({
                "message_type": "KojiTagChanged",
                "item_type": "koji_tag",
                "item": "f44-pending",
                "item_revision": format!("b{n}"),
            })),
            ..build_event(Some(&format!("t{n}")), "x", "bus")
        };
        let debounced = |n: u32| {
            let mut job = plan_job("rpmdeplint", "f44-pending", "x86_64");
            job.job.key.item_type = "koji_tag".into();
            job.job.key.item_revision = format!("b{n}");
            job.debounce = Some(Duration::from_secs(600));
            job
        };
        store
            .record_events(&[tag_event(1), tag_event(2), tag_event(3)])
            .await
            .unwrap();
        let pending = store.new_events(10).await.unwrap();
        let batch: Vec<_> = pending
            .iter()
            .zip(1..)
            .map(|(it, n)| (it.id, vec![debounced(n)], None))
            .collect();
        let out = store.plan_events(&batch).await.unwrap();
        assert_eq!(out[0].as_ref().unwrap().inserted.len(), 1);
        let waiting = &out[0].as_ref().unwrap().inserted[0].1;
        for later in &out[1..] {
            let later = later.as_ref().unwrap();
            assert!(later.inserted.is_empty());
            assert_eq!(&later.debounced[0].1, waiting);
        }
        let jobs = store.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(jobs.len(), 1, "a burst makes one job");
        let job = &jobs[0];
        assert_eq!(job.state, JobState::Queued);
        assert!(job.not_before > job.created_at + 590_000_000, "{job:?}");

        // An explicit re-run of a planned key takes re-run number 1, then 2.
        let (key, uuid) = store.rerun_job(&job.uuid).await.unwrap().unwrap();
        assert_eq!(key.rerun, 1);
        assert_ne!(uuid, job.uuid);
        let (key, _) = store.rerun_job(&job.uuid).await.unwrap().unwrap();
        assert_eq!(key.rerun, 2);
        assert!(store.rerun_job("no-such-job").await.unwrap().is_none());

        // A re-trigger event for a key with jobs makes the next re-run; one
        // for a key without any makes the first run.
        let retrigger = NewEvent {
            natural_key: None,
            ..build_event(Some("r1"), "a-1-1", "bus")
        };
        store.record_events(&[retrigger]).await.unwrap();
        let pending = store.new_events(10).await.unwrap();
        let mut again = debounced(1);
        again.rerun = true;
        let mut fresh = plan_job("rpmlint", "a-1-1", "x86_64");
        fresh.rerun = true;
        let out = store
            .plan_events(&[(pending[0].id, vec![again, fresh], None)])
            .await
            .unwrap();
        let planned = out[0].as_ref().unwrap();
        let reruns: Vec<u32> = planned.inserted.iter().map(|(key, _)| key.rerun).collect();
        assert_eq!(reruns, [3, 0]);
    })
    .await;
}

#[tokio::test]
async fn watermarks_move_with_what_the_poller_found() {
    each_backend(|store| async move {
        assert!(store.watermark("koji.builds").await.unwrap().is_none());
        store
            .record_poll(
                &[build_event(None, "a-1-1", "koji")],
                Some(("koji.builds", "100")),
            )
            .await
            .unwrap();
        store
            .record_poll_failure("koji.builds", "connection refused")
            .await
            .unwrap();
        let mark = store.watermark("koji.builds").await.unwrap().unwrap();
        assert_eq!(mark.value.as_deref(), Some("100"));
        assert_eq!(mark.runs, 2);
        assert_eq!(mark.failures, 1);
        assert_eq!(mark.found, 1);
        assert_eq!(mark.last_error.as_deref(), Some("connection refused"));
        store
            .record_poll(
                &[
                    build_event(None, "a-1-1", "koji"),
                    build_event(None, "b-1-1", "koji"),
                ],
                Some(("koji.builds", "200")),
            )
            .await
            .unwrap();
        let mark = store.watermark("koji.builds").await.unwrap().unwrap();
        assert_eq!(mark.value.as_deref(), Some("200"));
        assert_eq!(mark.found, 2, "the duplicate is not counted");
        assert_eq!(mark.last_error, None);
        assert!(mark.last_ok_at.is_some());
        // A poller that never succeeded has a row with no value.
        store
            .record_poll_failure("bodhi.modified", "boom")
            .await
            .unwrap();
        let names: Vec<String> = store
            .watermarks()
            .await
            .unwrap()
            .into_iter()
            .map(|it| format!("{}={:?}", it.name, it.value))
            .collect();
        assert_eq!(names, ["bodhi.modified=None", "koji.builds=Some(\"200\")"]);
        let counts = store.event_counts().await.unwrap();
        assert_eq!(counts, vec![(EventState::New, 2)]);
    })
    .await;
}
