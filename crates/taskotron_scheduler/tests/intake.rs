//! Bus intake against a real RabbitMQ: each message becomes one event, a
//! redelivered message id nothing, a broken or unknown message a rejected
//! event with its reason (acknowledged, never requeued), a failed build an
//! ignored one; Bodhi's three ready-for-testing schemas on one topic are
//! told apart by the schema header; the planner makes the jobs.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "tests fail loudly and explain skips"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use taskotron_bus::{ConsumerConfig, OutgoingMessage, Publisher, schema};
use taskotron_scheduler::SchedulerMetrics;
use taskotron_scheduler::intake::Intake;
use taskotron_scheduler::planner::{Planner, Revisions};
use taskotron_store::Store;
use taskotron_store::events::{EventFilter, EventState};
use taskotron_store::jobs::JobFilter;
use taskotron_triggers::PlanContext;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

fn amqp_url() -> Option<String> {
    match std::env::var("TASKOTRON_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_AMQP_URL is not set, but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: TASKOTRON_TEST_AMQP_URL is not set");
            None
        }
    }
}

async fn delete_queue(url: &str, queue: &str) {
    let connection = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_delete(queue.into(), lapin::options::QueueDeleteOptions::default())
        .await
        .unwrap();
    let _ = connection.close(200, "OK".into()).await;
}

fn build_change(prefix: &str, nvr_n: u32, new: i64) -> OutgoingMessage {
    OutgoingMessage::fedora(
        prefix,
        "buildsys.build.state.change",
        schema::BUILD_STATE_CHANGE,
        json!({
            "build_id": 1000 + nvr_n, "name": "tk-hello", "version": "1.2",
            "release": format!("{nvr_n}.fc44"), "owner": "alice", "task_id": 7,
            "old": 0, "new": new, "attribute": "state", "instance": "primary",
            "epoch": null,
        }),
        Utc::now(),
    )
}

fn ready_v3(prefix: &str, alias: &str, nvr: &str) -> OutgoingMessage {
    OutgoingMessage::fedora(
        prefix,
        "bodhi.update.status.testing.koji-build-group.build.complete",
        schema::UPDATE_READY_V3,
        json!({
            "re-trigger": false,
            "agent": "bodhi",
            "artifact": {
                "id": format!("{alias}-abc"),
                "type": "koji-build-group",
                "builds": [{"id": 1, "task_id": 2, "nvr": nvr, "component": "tk-hello",
                            "type": "koji-build", "issuer": "alice", "scratch": false}],
                "release": "F44", "repository": "https://bodhi/updates/x",
            },
            "update": {"alias": alias, "builds": [{"nvr": nvr}], "status": "testing",
                       "request": null, "release": {"name": "F44"}, "user": {"name": "alice"}},
        }),
        Utc::now(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_becomes_one_event_and_is_acknowledged() {
    let Some(url) = amqp_url() else { return };
    let prefix = format!("taskotron.test.{}", uuid::Uuid::new_v4().simple());
    let queue = format!("taskotron-intake-test-{}", uuid::Uuid::new_v4().simple());
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(tmp.path()).await.unwrap();
    let metrics = Arc::new(SchedulerMetrics::default());
    let wake = Arc::new(Notify::new());
    let intake = Intake {
        consumer: ConsumerConfig {
            durable: false,
            ..ConsumerConfig::new(&url, &queue, &prefix)
        },
        store: store.clone(),
        metrics: metrics.clone(),
        wake: wake.clone(),
        planner: None,
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(intake.run(shutdown.clone()));
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let encode = |registry: &prometheus_client::registry::Registry| {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    };
    let started = Instant::now();
    // A sample line, not the HELP text (which starts "1 while …").
    while !encode(&registry).contains("\nscheduler_bus_connected 1\n") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "intake never connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let publisher = Publisher::connect(&url, "amq.topic").await.unwrap();
    let complete = build_change(&prefix, 1, 1);
    let mut unknown_schema = build_change(&prefix, 2, 1);
    unknown_schema.headers.insert(
        taskotron_bus::HEADER_SCHEMA.to_owned(),
        json!("koji_fedoramessaging.build.NoSuchV9"),
    );
    let mut missing_field = build_change(&prefix, 3, 1);
    missing_field.body.as_object_mut().unwrap().remove("name");
    let failed = build_change(&prefix, 4, 3);
    let update = ready_v3(&prefix, "FEDORA-2026-77", "tk-hello-1.2-1.fc44");
    for message in [
        &complete,
        &complete,
        &unknown_schema,
        &missing_field,
        &failed,
        &update,
    ] {
        publisher.publish(message).await.unwrap();
    }
    let started = Instant::now();
    loop {
        let events = store.list_events(&EventFilter::default()).await.unwrap();
        if events.len() >= 5
            && encode(&registry).contains("scheduler_messages_total{outcome=\"duplicate\"} 1")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "intake did not record every message: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    running.await.unwrap();

    let events = store.list_events(&EventFilter::default()).await.unwrap();
    assert_eq!(events.len(), 5, "{events:#?}");
    let state_of = |message: &OutgoingMessage| {
        events
            .iter()
            .find(|it| it.message_id.as_deref() == Some(message.id.as_str()))
            .unwrap_or_else(|| panic!("no event for {}", message.id))
    };
    let build = state_of(&complete);
    assert_eq!(build.state, EventState::New);
    assert_eq!(build.source, "bus");
    assert_eq!(build.topic.as_deref(), Some("buildsys.build.state.change"));
    assert_eq!(
        build.natural_key.as_deref(),
        Some("koji_build:tk-hello-1.2-1.fc44:complete")
    );
    let rejected = state_of(&unknown_schema);
    assert_eq!(rejected.state, EventState::Rejected);
    assert!(
        rejected.reason.as_deref().unwrap().contains("NoSuchV9"),
        "{rejected:?}"
    );
    let rejected = state_of(&missing_field);
    assert_eq!(rejected.state, EventState::Rejected);
    assert!(
        rejected.reason.as_deref().unwrap().contains("name"),
        "{rejected:?}"
    );
    let ignored = state_of(&failed);
    assert_eq!(ignored.state, EventState::Ignored);
    assert!(
        ignored.reason.as_deref().unwrap().contains("Failed"),
        "{ignored:?}"
    );
    let ready = state_of(&update);
    assert_eq!(ready.message_type.as_deref(), Some("BodhiUpdateReady"));
    assert_eq!(ready.schema.as_deref(), Some(schema::UPDATE_READY_V3));
    let full = store.get_event(&ready.uuid).await.unwrap().unwrap();
    assert_eq!(full.fact.as_ref().unwrap()["packages"], json!(["tk-hello"]));
    assert!(full.body.as_deref().unwrap().contains("FEDORA-2026-77"));
    let text = encode(&registry);
    for line in [
        "scheduler_messages_total{outcome=\"recorded\"} 2",
        "scheduler_messages_total{outcome=\"rejected\"} 2",
        "scheduler_messages_total{outcome=\"ignored\"} 1",
        "\nscheduler_bus_connected 0\n",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }

    // Every message was acknowledged: a new consumer of the queue gets none.
    let mut consumer = taskotron_bus::Consumer::connect(&ConsumerConfig {
        durable: false,
        ..ConsumerConfig::new(&url, &queue, &prefix)
    })
    .await
    .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(1), consumer.next()).await;
    assert!(next.is_err(), "a message was left unacknowledged: {next:?}");
    consumer.close().await;
    delete_queue(&url, &queue).await;

    // The planner turns the two new events into jobs.
    let planner = Planner {
        store: store.clone(),
        rules: Arc::new(
            taskotron_triggers::parse_rules(
                "- when: {item_type: {$in: [koji_build, bodhi_update]}}\n  do: [{tasks: [dist.rpmlint]}]\n",
            )
            .unwrap(),
        ),
        context: PlanContext::default(),
        revisions: Revisions::default(),
        max_attempts: 2,
        metrics,
        jobs_wake: Arc::default(),
        discoverer: taskotron_scheduler::discover::Discoverer {
            cache_dir: std::env::temp_dir().join("taskotron-discover-cache"),
        },
    };
    assert_eq!(planner.plan_pending().await.unwrap(), 2);
    let jobs = store.list_jobs(&JobFilter::default()).await.unwrap();
    let mut items: Vec<String> = jobs.iter().map(|it| it.key.item.clone()).collect();
    items.sort();
    assert_eq!(items, ["FEDORA-2026-77", "tk-hello-1.2-1.fc44"]);
    assert!(jobs.iter().all(|it| it.max_attempts == 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arriving_messages_are_planned_in_the_transaction_that_records_them() {
    let Some(url) = amqp_url() else { return };
    let prefix = format!("taskotron.test.{}", uuid::Uuid::new_v4().simple());
    let queue = format!("taskotron-intake-test-{}", uuid::Uuid::new_v4().simple());
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(tmp.path()).await.unwrap();
    let metrics = Arc::new(SchedulerMetrics::default());
    let wake = Arc::new(Notify::new());
    let jobs_wake = Arc::new(Notify::new());
    // Builds get rpmlint on arrival; updates ask for a discovery, which
    // talks to git and is left to the planner.
    let planner = Planner {
        store: store.clone(),
        rules: Arc::new(
            taskotron_triggers::parse_rules(
                "- when: {item_type: koji_build}\n  do: [{tasks: [dist.rpmlint]}]\n\
                 - when: {item_type: bodhi_update}\n  do: [{discover: {repo: 'file:///nowhere/${item}.git', branch: main}}]\n",
            )
            .unwrap(),
        ),
        context: PlanContext::default(),
        revisions: Revisions::default(),
        max_attempts: 2,
        metrics: metrics.clone(),
        jobs_wake: jobs_wake.clone(),
        discoverer: taskotron_scheduler::discover::Discoverer {
            cache_dir: tmp.path().join("discover"),
        },
    };
    let intake = Intake {
        consumer: ConsumerConfig {
            durable: false,
            ..ConsumerConfig::new(&url, &queue, &prefix)
        },
        store: store.clone(),
        metrics: metrics.clone(),
        wake: wake.clone(),
        planner: Some(planner),
    };
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(intake.run(shutdown.clone()));
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let encode = |registry: &prometheus_client::registry::Registry| {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    };
    let started = Instant::now();
    while !encode(&registry).contains("\nscheduler_bus_connected 1\n") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "intake never connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let woken = jobs_wake.notified();
    let publisher = Publisher::connect(&url, "amq.topic").await.unwrap();
    let complete = build_change(&prefix, 1, 1);
    let update = ready_v3(&prefix, "FEDORA-2026-78", "tk-hello-1.2-1.fc44");
    for message in [&complete, &complete, &update] {
        publisher.publish(message).await.unwrap();
    }
    let started = Instant::now();
    loop {
        let events = store.list_events(&EventFilter::default()).await.unwrap();
        if events.len() >= 2
            && encode(&registry).contains("scheduler_messages_total{outcome=\"duplicate\"} 1")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "intake did not record every message: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    running.await.unwrap();
    // The workers' long polls were woken for the build's job.
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("workers were not woken");

    let events = store.list_events(&EventFilter::default()).await.unwrap();
    assert_eq!(events.len(), 2, "{events:#?}");
    let build = events
        .iter()
        .find(|it| it.message_id.as_deref() == Some(complete.id.as_str()))
        .unwrap();
    assert_eq!(build.state, EventState::Planned, "{build:?}");
    assert_eq!(build.job_count, 1);
    assert!(build.planned_at.is_some());
    let full = store.get_event(&build.uuid).await.unwrap().unwrap();
    assert_eq!(full.jobs.len(), 1, "{full:?}");
    assert_eq!(full.jobs[0].1, "inserted");
    let jobs = store.list_jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].uuid, full.jobs[0].0);
    assert_eq!(jobs[0].key.check, "dist.rpmlint");
    assert_eq!(jobs[0].key.item, "tk-hello-1.2-1.fc44");
    assert_eq!(jobs[0].max_attempts, 2);
    // The update waits for the planner's discovery.
    let ready = events
        .iter()
        .find(|it| it.message_id.as_deref() == Some(update.id.as_str()))
        .unwrap();
    assert_eq!(ready.state, EventState::New, "{ready:?}");
    let text = encode(&registry);
    for line in [
        "\nscheduler_events_planned_total 1\n",
        "scheduler_jobs_total{outcome=\"inserted\"} 1",
        "scheduler_messages_total{outcome=\"recorded\"} 2",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    delete_queue(&url, &queue).await;
}
