//! `taskotron serve`: the main job starts on its defaults, answers, and stops cleanly.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::time::{Duration, Instant};

use common::{free_port, taskotron};

fn get(url: &str) -> Option<(u16, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::get(url).await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    })
}

fn wait_for(url: &str) -> (u16, String) {
    let started = Instant::now();
    loop {
        if let Some(answer) = get(url) {
            return answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never answered {url}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(child: &mut std::process::Child) -> Option<i32> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap().code()
}

#[test]
fn serves_health_version_and_home_with_a_data_dir_it_creates() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let data_dir = tmp.path().join("data");
    let mut child = taskotron(tmp.path())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data_dir)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let (status, body) = wait_for(&format!("{base}/healthz"));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"database":"ok","status":"ok"}"#)
    );
    let (status, body) = get(&format!("{base}/version")).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        format!(
            r#"{{"name":"taskotron","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )
    );
    let (status, body) = get(&format!("{base}/")).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("<h1>Taskotron</h1>"));
    let (status, body) = get(&format!("{base}/metrics")).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("taskotron_http_requests_total"), "{body}");
    assert!(data_dir.join("taskotron.db").is_file());
    assert_eq!(stop(&mut child), Some(0));
}

#[test]
fn the_config_file_sets_listen_and_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        tmp.path().join("taskotron.toml"),
        format!("[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"from-config\"\n"),
    )
    .unwrap();
    let mut child = taskotron(tmp.path())
        .arg("serve")
        .env("TASKOTRON_CONFIG", "taskotron.toml")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (status, _) = wait_for(&format!("http://127.0.0.1:{port}/healthz"));
    assert_eq!(status, 200);
    assert!(tmp.path().join("from-config/taskotron.db").is_file());
    assert_eq!(stop(&mut child), Some(0));
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = common::output(taskotron(tmp.path()).args([
        "serve",
        "--listen",
        &addr.to_string(),
        "--data-dir",
        "d",
    ]));
    let (_, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("error: cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn the_policies_dir_feeds_the_decision_api_and_bad_policies_stop_it() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::create_dir(tmp.path().join("policies")).unwrap();
    std::fs::write(
        tmp.path().join("policies/fedora.yaml"),
        "--- !Policy\nid: depcheck\nproduct_versions: [fedora-*]\ndecision_context: bodhi_update_push_testing\nsubject_type: koji_build\nrules:\n  - !PassingTestCaseRule {test_case_name: dist.depcheck}\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("taskotron.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"d\"\n[gating]\npolicies-dir = \"policies\"\n"
        ),
    )
    .unwrap();
    let mut child = taskotron(tmp.path())
        .arg("serve")
        .env("TASKOTRON_CONFIG", "taskotron.toml")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{base}/healthz"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1.0/decision"))
            .json(&serde_json::json!({
                "product_version": "fedora-44",
                "decision_context": "bodhi_update_push_testing",
                "subject_type": "koji_build",
                "subject_identifier": "foo-1.0-1.fc44",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        answer["applicable_policies"],
        serde_json::json!(["depcheck"])
    );
    assert_eq!(answer["summary"], "Of 1 required test, 1 result missing");

    // `taskotron decision` says the same in words, and exits 100 while blocked.
    let decision = |dir: &std::path::Path| {
        common::output(taskotron(dir).args([
            "decision",
            "--server",
            &base,
            "--subject",
            "foo-1.0-1.fc44",
            "--product-version",
            "fedora-44",
            "--context",
            "bodhi_update_push_testing",
        ]))
    };
    let out = decision(tmp.path());
    let (stdout, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(100), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "koji_build foo-1.0-1.fc44 in fedora-44 (bodhi_update_push_testing): BLOCKED"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("  MISSING  dist.depcheck"), "{stdout}");
    runtime.block_on(async {
        let status = reqwest::Client::new()
            .post(format!("{base}/api/v2.0/results"))
            .json(&serde_json::json!({
                "testcase": {"name": "dist.depcheck"}, "outcome": "PASSED",
                "data": {"item": "foo-1.0-1.fc44", "type": "koji_build"},
            }))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 201);
    });
    let out = decision(tmp.path());
    let (stdout, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(": may pass"), "{stdout}");
    assert!(
        stdout.contains("  PASSED   dist.depcheck (result "),
        "{stdout}"
    );
    assert_eq!(stop(&mut child), Some(0));

    std::fs::write(
        tmp.path().join("policies/broken.yaml"),
        "--- !Policy\nid: broken\nrules: []\n",
    )
    .unwrap();
    let out = common::output(
        taskotron(tmp.path())
            .arg("serve")
            .env("TASKOTRON_CONFIG", "taskotron.toml"),
    );
    let (_, stderr) = common::texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("policies/broken.yaml:")
            && stderr.contains("the policy has no `product_versions`"),
        "{stderr}"
    );
}
