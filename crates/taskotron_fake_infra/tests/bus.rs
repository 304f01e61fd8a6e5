//! The fake's messages: each change through the admin API is published to
//! the real RabbitMQ as the fedora-messaging message Koji or Bodhi would
//! send; Taskotron's own consumer decodes every one, and (with the venv of
//! scripts/test) the real `fedora-messaging` library validates each against
//! the real schema classes of `koji-fedoramessaging-messages` and
//! `bodhi-messages`. `--drop-rate` drops about the fraction asked and says
//! which; a broker that is down delays messages, never an answer.
//!
//! The broker comes from TASKOTRON_TEST_AMQP_URL and the Python from
//! TASKOTRON_TEST_PYTHON; without them a test says why and passes, unless
//! TASKOTRON_REQUIRE_SERVICES=1, where it fails. Each test uses its own
//! topic prefix and queue.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskotron_bus::{
    BuildState, Consumer, ConsumerConfig, Event, Received, Repository, Request, UpdateStatus,
};
use taskotron_fake_infra::messages::{DropRate, MessageOptions};
use taskotron_fake_infra::{AmqpTarget, BackgroundOptions};

const INFRA: &str = "koji:\n  tags: [f44]\n  builds:\n    - nvr: tk-base-1.0-1.fc44\n      owner: carol\n      tags: [f44]\nbodhi:\n  releases:\n    - name: F44\n";

fn infra_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("infra.yaml"), INFRA).unwrap();
    dir
}

/// Serve `dir` with these message options, publishing to `amqp`.
async fn start(dir: &Path, options: MessageOptions, amqp: Option<String>) -> String {
    let background = BackgroundOptions {
        amqp: amqp.map(|url| AmqpTarget {
            url,
            exchange: "amq.topic".to_owned(),
        }),
        watch: None,
    };
    let addr =
        taskotron_fake_infra::spawn_with(dir, "127.0.0.1:0".parse().unwrap(), options, &background)
            .await
            .unwrap();
    format!("http://{addr}")
}

fn options(prefix: &str, rate: f64, seed: u64) -> MessageOptions {
    MessageOptions {
        topic_prefix: prefix.to_owned(),
        drop_rate: DropRate::new(rate).unwrap(),
        seed: Some(seed),
    }
}

/// A queue of the test's own, bound to every topic behind `prefix`.
async fn consumer(url: &str, prefix: &str) -> Consumer {
    let queue = format!("taskotron-fake-infra-test-{}", uuid::Uuid::new_v4());
    Consumer::connect(&ConsumerConfig {
        durable: false,
        auto_delete: true,
        // The tests hold every delivery before they acknowledge any.
        prefetch: 1000,
        ..ConsumerConfig::new(url, &queue, prefix)
    })
    .await
    .unwrap()
}

/// Exactly `n` deliveries, then nothing more for a moment.
async fn take(consumer: &mut Consumer, n: usize) -> Vec<Received> {
    let mut got = Vec::new();
    while got.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(20), consumer.next())
            .await
            .unwrap_or_else(|_| panic!("{} of {n} messages arrived", got.len()))
            .unwrap()
            .unwrap();
        got.push(next);
    }
    if let Ok(extra) = tokio::time::timeout(Duration::from_millis(500), consumer.next()).await {
        panic!("more than {n} messages: {:?}", extra.unwrap().unwrap().wire);
    }
    got
}

fn event(received: &Received) -> &Event {
    match &received.decoded {
        Ok(msg) => &msg.event,
        Err(e) => panic!("{e}: {:?}", received.wire),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_published_as_koji_and_bodhi_would() {
    let Some(url) = common::amqp_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let dir = infra_dir();
    let mut consumer = consumer(&url, &prefix).await;
    let base = start(dir.path(), options(&prefix, 0.0, 1), Some(url.clone())).await;

    common::admin(
        &base,
        "/admin/koji/builds",
        json!({"nvr": "tk-new-1.0-1.fc44", "owner": "dave", "tags": ["f44-updates-candidate"]}),
    )
    .await;
    common::admin(
        &base,
        "/admin/koji/builds",
        json!({"nvr": "tk-imp-2.0-1.fc44", "task_id": 0, "state": "building"}),
    )
    .await;
    let changed = common::admin(
        &base,
        "/admin/koji/state",
        json!({"build": "tk-imp-2.0-1.fc44", "state": "failed"}),
    )
    .await;
    assert_eq!(changed, json!({"old": 0, "new": 3, "changed": true}));
    common::admin(
        &base,
        "/admin/koji/tag",
        json!({"build": "tk-new-1.0-1.fc44", "tag": "f44-rebuild", "user": "releng"}),
    )
    .await;
    common::admin(
        &base,
        "/admin/koji/untag",
        json!({"build": "tk-new-1.0-1.fc44", "tag": "f44-updates-candidate", "user": "bodhi"}),
    )
    .await;
    // Already untagged: no change, no message.
    common::admin(
        &base,
        "/admin/koji/untag",
        json!({"build": "tk-new-1.0-1.fc44", "tag": "f44-updates-candidate"}),
    )
    .await;
    let alias = "FEDORA-2026-00000000aa";
    common::admin(&base, "/admin/bodhi/updates", json!({"alias": alias, "builds": ["tk-new-1.0-1.fc44"], "release": "F44", "status": "pending", "request": "testing", "user": "dave"})).await;
    let edit = format!("/admin/bodhi/updates/{alias}/edit");
    common::admin(
        &base,
        &edit,
        json!({"builds": ["tk-new-1.0-1.fc44", "tk-imp-2.0-1.fc44"], "agent": "erin"}),
    )
    .await;
    common::admin(&base, &edit, json!({"status": "testing", "request": null})).await;
    common::admin(&base, &edit, json!({"request": "stable"})).await;
    common::admin(&base, &edit, json!({"status": "stable", "request": null})).await;

    let expected_topics = [
        "buildsys.build.state.change",
        "buildsys.build.state.change",
        "buildsys.tag",
        "buildsys.build.state.change",
        "buildsys.build.state.change",
        "buildsys.tag",
        "buildsys.untag",
        "bodhi.update.request.testing",
        "bodhi.update.status.testing.koji-build-group.build.complete",
        "bodhi.update.edit",
        "bodhi.update.status.testing.koji-build-group.build.complete",
        "bodhi.update.complete.testing",
        "bodhi.update.request.stable",
        "bodhi.update.complete.stable",
    ];
    let n = expected_topics.len();
    let listed = common::wait_for_messages(&base, Duration::from_secs(20), |it| {
        it["total"] == n && it["published"] == n
    })
    .await;
    assert_eq!(listed["dropped"], 0);
    assert_eq!(listed["pending"], 0);
    assert_eq!(listed["publishing"], true);
    let got = take(&mut consumer, n).await;

    // In order, as listed, with the listed ids.
    let topics: Vec<&str> = got
        .iter()
        .map(|it| it.decoded.as_ref().map_or("?", |msg| msg.topic.as_str()))
        .collect();
    assert_eq!(topics, expected_topics);
    for (received, record) in got.iter().zip(listed["messages"].as_array().unwrap()) {
        assert_eq!(received.wire.message_id.as_deref(), record["id"].as_str());
        assert_eq!(received.wire.routing_key, record["topic"].as_str().unwrap());
        assert_eq!(record["published"], true);
        let props = &received.wire.properties;
        assert_eq!(props.content_type.as_deref(), Some("application/json"));
        assert_eq!(props.content_encoding.as_deref(), Some("utf-8"));
        assert_eq!(props.delivery_mode, Some(2));
        let headers = &received.wire.headers;
        assert!(headers["sent-at"].is_string());
        assert!(headers.contains_key("fedora_messaging_schema_package"));
        assert!(headers.contains_key("priority"));
    }

    // What each one says.
    let builds: Vec<(String, Option<BuildState>, BuildState, Option<i64>)> = got
        .iter()
        .filter_map(|it| match event(it) {
            Event::BuildStateChange(change) => {
                Some((change.nvr(), change.old, change.new, change.task_id))
            }
            _ => None,
        })
        .collect();
    assert_eq!(builds[0].0, "tk-new-1.0-1.fc44");
    assert_eq!((builds[0].1, builds[0].2), (None, BuildState::Building));
    assert_eq!(
        (builds[1].1, builds[1].2),
        (Some(BuildState::Building), BuildState::Complete)
    );
    assert!(builds[1].3.is_some(), "a build from a task");
    assert_eq!(
        builds[2],
        (
            "tk-imp-2.0-1.fc44".to_owned(),
            None,
            BuildState::Building,
            None
        )
    );
    assert_eq!(
        builds[3],
        (
            "tk-imp-2.0-1.fc44".to_owned(),
            Some(BuildState::Building),
            BuildState::Failed,
            None
        )
    );
    let Event::Tag(tag) = event(&got[2]) else {
        panic!("not a tag")
    };
    assert_eq!(
        (
            tag.nvr().as_str(),
            tag.tag.as_str(),
            tag.user.as_deref(),
            tag.owner.as_deref()
        ),
        (
            "tk-new-1.0-1.fc44",
            "f44-updates-candidate",
            Some("dave"),
            Some("dave")
        )
    );
    assert_eq!(got[2].wire.properties.priority, Some(2));
    let Event::Tag(tag) = event(&got[5]) else {
        panic!("not a tag")
    };
    assert_eq!(
        (tag.tag.as_str(), tag.user.as_deref()),
        ("f44-rebuild", Some("releng"))
    );
    assert_eq!(
        got[5].wire.properties.priority,
        Some(0),
        "a mass-rebuild tag"
    );
    let Event::Untag(untag) = event(&got[6]) else {
        panic!("not an untag")
    };
    assert_eq!(
        (untag.tag.as_str(), untag.user.as_deref()),
        ("f44-updates-candidate", Some("bodhi"))
    );

    let Event::UpdateRequested(requested) = event(&got[7]) else {
        panic!("not a request")
    };
    assert_eq!(requested.request, Request::Testing);
    assert_eq!(requested.agent, "dave");
    assert_eq!(requested.update.alias, alias);
    assert_eq!(requested.update.status, UpdateStatus::Pending);
    assert_eq!(requested.update.release, "F44");
    let Event::UpdateReady(ready) = event(&got[8]) else {
        panic!("not ready")
    };
    assert_eq!(
        (ready.version, ready.agent.as_str(), ready.re_trigger),
        (3, "bodhi", false)
    );
    assert_eq!(ready.builds.len(), 1);
    assert_eq!(ready.builds[0].nvr, "tk-new-1.0-1.fc44");
    assert_eq!(
        Some(ready.builds[0].task_id.unwrap() / 100),
        Some(ready.builds[0].id)
    );
    let Event::UpdateEdited(edited) = event(&got[9]) else {
        panic!("not an edit")
    };
    assert_eq!(edited.agent, "erin");
    assert_eq!(
        edited.new_builds,
        Some(vec!["tk-imp-2.0-1.fc44".to_owned()])
    );
    assert_eq!(edited.removed_builds, Some(vec![]));
    let Event::UpdateReady(ready) = event(&got[10]) else {
        panic!("not ready")
    };
    let nvrs: Vec<&str> = ready.builds.iter().map(|it| it.nvr.as_str()).collect();
    assert_eq!(nvrs, ["tk-new-1.0-1.fc44", "tk-imp-2.0-1.fc44"]);
    assert_eq!(ready.builds[1].task_id, None, "an import");
    let Event::UpdateCompleted(done) = event(&got[11]) else {
        panic!("not a push")
    };
    assert_eq!(
        (done.repository, done.update.status),
        (Repository::Testing, UpdateStatus::Testing)
    );
    let Event::UpdateRequested(requested) = event(&got[12]) else {
        panic!("not a request")
    };
    assert_eq!(requested.request, Request::Stable);
    assert_eq!(requested.update.request, Some(Request::Stable));
    let Event::UpdateCompleted(done) = event(&got[13]) else {
        panic!("not a push")
    };
    assert_eq!(
        (done.repository, done.update.status),
        (Repository::Stable, UpdateStatus::Stable)
    );

    // The real fedora-messaging library and schema packages validate each.
    let records: Vec<Value> = got
        .iter()
        .map(|it| {
            json!({
                "routing_key": it.wire.routing_key,
                "message_id": it.wire.message_id,
                "headers": it.wire.headers,
                "properties": it.wire.properties,
                "body": String::from_utf8(it.wire.body.clone()).unwrap(),
            })
        })
        .collect();
    for received in got {
        received.ack().await.unwrap();
    }
    consumer.close().await;
    let Some(python) = common::python_with(
        "fedora_messaging.message, koji_fedoramessaging_messages, bodhi.messages",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("deliveries.json");
    std::fs::write(&path, serde_json::to_vec(&records).unwrap()).unwrap();
    common::run_python_check(
        python,
        "check_fedora_messages.py",
        vec![path.display().to_string()],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_rate_drops_about_that_fraction_and_says_which() {
    let Some(url) = common::amqp_url() else {
        return;
    };
    let prefix = common::unique_prefix();
    let dir = infra_dir();
    let mut consumer = consumer(&url, &prefix).await;
    let rate = 0.4;
    let base = start(dir.path(), options(&prefix, rate, 99), Some(url.clone())).await;
    let n = 100;
    play_tag_cycles(&base, n).await;
    let listed = common::wait_for_messages(&base, Duration::from_secs(30), |it| {
        it["total"] == n && it["pending"] == 0
    })
    .await;
    let records = listed["messages"].as_array().unwrap();
    let dropped: Vec<bool> = records.iter().map(|it| it["dropped"] == true).collect();
    let kept: Vec<&str> = records
        .iter()
        .filter(|it| it["dropped"] == false)
        .map(|it| it["id"].as_str().unwrap())
        .collect();
    let dropped_count = n - kept.len();
    assert_eq!(listed["dropped"], dropped_count);
    assert_eq!(listed["published"], kept.len());
    // 40 expected; the binomial's standard deviation is about 4.9.
    assert!(
        (25..=55).contains(&dropped_count),
        "{dropped_count} of {n} dropped at {rate}"
    );
    // What arrives is exactly what was not dropped, in order.
    let got = take(&mut consumer, kept.len()).await;
    let ids: Vec<&str> = got
        .iter()
        .map(|it| it.wire.message_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, kept);
    for received in got {
        received.ack().await.unwrap();
    }
    consumer.close().await;

    // The same seed and the same events drop the same messages, broker or
    // not; another seed drops others.
    let same = drops_without_broker(99, rate, n).await;
    assert_eq!(same, dropped);
    let other = drops_without_broker(100, rate, n).await;
    assert_ne!(other, dropped);
    assert!(drops_without_broker(5, 0.0, 20).await.iter().all(|it| !it));
    assert!(drops_without_broker(5, 1.0, 20).await.iter().all(|it| *it));
}

/// `n` messages: the build tagged and untagged in turn.
async fn play_tag_cycles(base: &str, n: usize) {
    for i in 0..n {
        let path = if i % 2 == 0 {
            "/admin/koji/tag"
        } else {
            "/admin/koji/untag"
        };
        common::admin(
            base,
            path,
            json!({"build": "tk-base-1.0-1.fc44", "tag": "f44-updates-testing", "user": "bodhi"}),
        )
        .await;
    }
}

/// The dropped flags of `n` tag changes on a fake without a broker.
async fn drops_without_broker(seed: u64, rate: f64, n: usize) -> Vec<bool> {
    let dir = infra_dir();
    let base = start(dir.path(), options("org.test", rate, seed), None).await;
    play_tag_cycles(&base, n).await;
    let listed = common::messages(&base).await;
    assert_eq!(listed["publishing"], false);
    assert_eq!(listed["seed"], seed);
    assert_eq!(listed["total"], n);
    listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["dropped"] == true)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_broker_delays_messages_not_answers() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = infra_dir();
    let url = format!("amqp://guest:guest@127.0.0.1:{dead}/%2f");
    let base = start(dir.path(), options("org.test", 0.0, 1), Some(url)).await;
    let started = Instant::now();
    common::admin(
        &base,
        "/admin/koji/tag",
        json!({"build": "tk-base-1.0-1.fc44", "tag": "f44-updates"}),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The relay keeps trying in the background; the message waits.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let listed = common::messages(&base).await;
    assert_eq!(
        (
            &listed["total"],
            &listed["pending"],
            &listed["published"],
            &listed["publishing"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(true))
    );
    assert_eq!(listed["messages"][0]["topic"], "org.test.buildsys.tag");
}

#[tokio::test]
async fn bad_admin_requests_change_nothing() {
    let dir = infra_dir();
    let base = start(dir.path(), MessageOptions::default(), None).await;
    let client = reqwest::Client::new();
    for (path, body, expect) in [
        (
            "/admin/koji/state",
            json!({"build": "nope-1-1", "state": "failed"}),
            "no build nope-1-1",
        ),
        (
            "/admin/koji/state",
            json!({"build": "tk-base-1.0-1.fc44", "state": "done"}),
            "state \"done\" is not one of",
        ),
        (
            "/admin/koji/state",
            json!({"build": "tk-base-1.0-1.fc44"}),
            "bad state change",
        ),
        (
            "/admin/koji/tag",
            json!({"build": "nope-1-1", "tag": "f44"}),
            "no build nope-1-1",
        ),
    ] {
        let response = client
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path} {body}");
        let answer: Value = response.json().await.unwrap();
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expect), "{message}");
    }
    // The same state again: no change, no message.
    let same = common::admin(
        &base,
        "/admin/koji/state",
        json!({"build": "tk-base-1.0-1.fc44", "state": "complete"}),
    )
    .await;
    assert_eq!(same, json!({"old": null, "new": null, "changed": false}));
    let listed = common::messages(&base).await;
    assert_eq!(listed["total"], 0);
    assert_eq!(listed["topic_prefix"], "org.fedoraproject.prod");
}
