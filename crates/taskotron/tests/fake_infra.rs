//! `taskotron fake-infra` as a command: it serves a directory, prints where,
//! answers Koji and Bodhi clients, and stops on SIGTERM; a directory it
//! cannot serve is an error naming the file; with `--amqp` (a real RabbitMQ
//! from TASKOTRON_TEST_AMQP_URL) it publishes its changes, made through the
//! admin API or, with `--watch`, through `infra.yaml`.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions fail loudly and explain skips"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{output, taskotron, texts};

fn stop(child: &mut std::process::Child) -> Option<i32> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap().code()
}

#[tokio::test(flavor = "multi_thread")]
async fn it_serves_a_directory_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("infra.yaml"),
        "koji:\n  builds:\n    - nvr: foo-1.0-1.fc44\n      tags: [f44]\nbodhi:\n  releases:\n    - name: F44\n  updates:\n    - builds: [foo-1.0-1.fc44]\n      release: F44\n",
    )
    .unwrap();
    let mut child = taskotron(dir.path())
        .args(["fake-infra", "--dir", ".", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let hub = first.strip_prefix("Koji hub:").unwrap().trim().to_owned();
    let koji = taskotron_koji::KojiClient::new(&hub).unwrap();
    let build = koji
        .get_build(&taskotron_koji::BuildRef::Nvr("foo-1.0-1.fc44".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(build.name, "foo");
    let rest: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    let bodhi_line = rest.iter().find(|it| it.starts_with("Bodhi:")).unwrap();
    let bodhi =
        taskotron_bodhi::BodhiClient::new(bodhi_line.strip_prefix("Bodhi:").unwrap().trim())
            .unwrap();
    let updates = bodhi
        .updates(&taskotron_bodhi::UpdateQuery::default())
        .await
        .unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].builds[0].nvr, "foo-1.0-1.fc44");
    assert_eq!(stop(&mut child), Some(0));
}

#[test]
fn a_bad_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("infra.yaml"),
        "koji:\n  builds:\n    - nvr: foo\n",
    )
    .unwrap();
    let out =
        output(taskotron(dir.path()).args(["fake-infra", "--dir", ".", "--listen", "127.0.0.1:0"]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not name-version-release"), "{stderr}");
    let missing = output(taskotron(dir.path()).args([
        "fake-infra",
        "--dir",
        "nope",
        "--listen",
        "127.0.0.1:0",
    ]));
    let (_, stderr) = texts(&missing);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn a_drop_rate_out_of_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["1.5", "-0.2", "half", "NaN"] {
        let out = output(
            taskotron(dir.path())
                .args(["fake-infra", "--dir", ".", "--listen", "127.0.0.1:0"])
                .arg(format!("--drop-rate={bad}")),
        );
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--drop-rate"), "{stderr}");
        assert!(
            stderr.contains("the drop rate must be a number from 0.0 to 1.0, not"),
            "{stderr}"
        );
    }
}

/// The broker's URL; `None` (after saying so) when the test should skip.
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

async fn next_event(consumer: &mut taskotron_bus::Consumer) -> taskotron_bus::Event {
    let received = tokio::time::timeout(std::time::Duration::from_secs(20), consumer.next())
        .await
        .expect("a message within 20 s")
        .unwrap()
        .unwrap();
    let event = received.decoded.as_ref().unwrap().event.clone();
    received.ack().await.unwrap();
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn it_publishes_its_changes_with_amqp() {
    let Some(url) = amqp_url() else { return };
    let prefix = format!("taskotron.test.{}", uuid::Uuid::new_v4().simple());
    let queue = format!("taskotron-cli-test-{}", uuid::Uuid::new_v4());
    let mut consumer = taskotron_bus::Consumer::connect(&taskotron_bus::ConsumerConfig {
        durable: false,
        auto_delete: true,
        ..taskotron_bus::ConsumerConfig::new(&url, &queue, &prefix)
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("infra.yaml");
    std::fs::write(&yaml, "koji:\n  builds:\n    - nvr: foo-1.0-1.fc44\n").unwrap();
    let mut child = taskotron(dir.path())
        .args([
            "fake-infra",
            "--dir",
            ".",
            "--listen",
            "127.0.0.1:0",
            "--watch",
        ])
        .args(["--amqp", &url, "--topic-prefix", &prefix, "--seed", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let hub = first.strip_prefix("Koji hub:").unwrap().trim().to_owned();
    let base = hub.strip_suffix("/kojihub").unwrap().to_owned();
    let rest: Vec<String> = lines.by_ref().take(4).map(Result::unwrap).collect();
    let bus = rest.iter().find(|it| it.starts_with("Messages:")).unwrap();
    assert!(bus.contains(&format!("topics {prefix}.*")), "{bus}");
    assert!(bus.contains("exchange amq.topic"), "{bus}");
    if url.contains(":guest@") {
        assert!(bus.contains("guest:***@"), "the password is hidden: {bus}");
    }

    let answer = reqwest::Client::new()
        .post(format!("{base}/admin/koji/tag"))
        .json(
            &serde_json::json!({"build": "foo-1.0-1.fc44", "tag": "f44-updates", "user": "bodhi"}),
        )
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let taskotron_bus::Event::Tag(tag) = next_event(&mut consumer).await else {
        panic!("not a tag")
    };
    assert_eq!(
        (tag.nvr().as_str(), tag.tag.as_str()),
        ("foo-1.0-1.fc44", "f44-updates")
    );

    // --watch: a build added to infra.yaml is announced too.
    std::fs::write(
        &yaml,
        "koji:\n  builds:\n    - nvr: foo-1.0-1.fc44\n    - nvr: bar-2-1.fc44\n      task_id: 0\n",
    )
    .unwrap();
    let taskotron_bus::Event::BuildStateChange(change) = next_event(&mut consumer).await else {
        panic!("not a build state change")
    };
    assert_eq!(change.nvr(), "bar-2-1.fc44");
    assert_eq!(change.new, taskotron_bus::BuildState::Complete);

    let listed: serde_json::Value = reqwest::get(format!("{base}/admin/messages"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["seed"], 3);
    assert_eq!(listed["total"], 2);
    assert_eq!(stop(&mut child), Some(0));
    consumer.close().await;
}
