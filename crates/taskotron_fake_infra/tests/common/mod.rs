//! Test RPMs, built with rpmbuild from the spec files in
//! `tests/fixtures/rpms/`, a fake infrastructure directory around them,
//! and the helpers the tests share.

#![allow(dead_code, reason = "each test binary uses part of the helpers")]

use std::path::{Path, PathBuf};

/// Whether a missing tool fails the test (scripts/test sets it) or skips it.
pub(crate) fn required() -> bool {
    std::env::var_os("TASKOTRON_REQUIRE_SERVICES").is_some_and(|it| it == "1")
}

/// Run a program of the host (rpmbuild, python): the tests are not Taskotron
/// and do not go through its runner.
#[expect(
    clippy::disallowed_methods,
    reason = "tests run host tools directly to build fixtures"
)]
pub(crate) fn host_command(program: &str) -> std::process::Command {
    <std::process::Command>::new(program)
}

/// Build `spec` (with `defines`) into `out`; `None` when rpmbuild is missing
/// and not required.
pub(crate) fn rpmbuild(spec: &str, defines: &[(&str, &str)], out: &Path) -> Option<Vec<PathBuf>> {
    let topdir = tempfile::tempdir().unwrap();
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rpms")
        .join(spec);
    let mut cmd = host_command("rpmbuild");
    cmd.arg("--quiet")
        .arg("-ba")
        .arg("--define")
        .arg(format!("_topdir {}", topdir.path().display()));
    for (name, value) in defines {
        cmd.arg("--define").arg(format!("{name} {value}"));
    }
    cmd.arg(&spec_path);
    match cmd.output() {
        Ok(output) => assert!(
            output.status.success(),
            "rpmbuild {spec} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(err) => {
            assert!(!required(), "rpmbuild cannot run: {err}");
            eprintln!("skipped: rpmbuild cannot run ({err}); scripts/test installs it");
            return None;
        }
    }
    let mut built = Vec::new();
    for sub in ["SRPMS", "RPMS/noarch"] {
        for entry in std::fs::read_dir(topdir.path().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let dest = out.join(path.file_name().unwrap());
            std::fs::copy(&path, &dest).unwrap();
            built.push(dest);
        }
    }
    built.sort();
    Some(built)
}

/// A directory with tk-hello 1.2-3.fc44 (two binary RPMs), tk-other
/// 1.0-1.fc44 and 1.1-1.fc44 (epoch 2), and an `infra.yaml` that tags them
/// and puts tk-hello and tk-other 1.1 in Bodhi updates of F44.
pub(crate) fn infra_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let rpms = dir.path().join("rpms");
    std::fs::create_dir(&rpms).unwrap();
    rpmbuild("tk-hello.spec", &[], &rpms)?;
    rpmbuild("tk-other.spec", &[("tk_version", "1.0")], &rpms)?;
    rpmbuild("tk-other.spec", &[("tk_version", "1.1")], &rpms)?;
    std::fs::write(
        dir.path().join("infra.yaml"),
        "koji:\n  tags: [f44]\n  builds:\n\
         \x20   - nvr: tk-other-1.0-1.fc44\n      epoch: 2\n      completed: 2026-11-01T08:00:00Z\n      tags: [f44]\n\
         \x20   - nvr: tk-other-1.1-1.fc44\n      epoch: 2\n      owner: bob\n      completed: 2026-11-10T08:00:00Z\n      tags: [f44-updates-candidate, f44]\n\
         \x20   - nvr: tk-hello-1.2-3.fc44\n      owner: alice\n      completed: 2026-11-20T10:20:00Z\n      task_id: 140000001\n      tags: [f44-updates-candidate]\n\
         \x20   - nvr: tk-broken-1-1.fc44\n      state: failed\n\
         bodhi:\n  releases:\n    - name: F44\n  updates:\n\
         \x20   - alias: FEDORA-2026-0000000001\n      builds: [tk-hello-1.2-3.fc44]\n      release: F44\n      status: testing\n      user: alice\n      submitted: 2026-11-20T11:00:00Z\n\
         \x20   - alias: FEDORA-2026-0000000002\n      builds: [tk-other-1.1-1.fc44]\n      release: F44\n      status: stable\n      user: bob\n      submitted: 2026-11-10T09:00:00Z\n      modified: 2026-11-12T09:00:00Z\n",
    )
    .unwrap();
    Some(dir)
}

/// Serve `dir` with the fake in this test's runtime.
pub(crate) async fn start(dir: &Path) -> std::net::SocketAddr {
    taskotron_fake_infra::spawn(dir, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Serve `app` on a free loopback port in this test's runtime.
pub(crate) async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// POST `body` to `url` and return the answer's text.
pub(crate) async fn post_text(url: &str, body: String) -> String {
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", "text/xml")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The venv's Python (TASKOTRON_TEST_PYTHON) when it can import `module`;
/// `None` (after saying why) when the test should skip.
pub(crate) fn python_with(module: &str) -> Option<PathBuf> {
    let Some(python) = std::env::var_os("TASKOTRON_TEST_PYTHON").map(PathBuf::from) else {
        assert!(
            !required(),
            "TASKOTRON_TEST_PYTHON is not set (scripts/test sets it to its venv's python)"
        );
        eprintln!("skipped: TASKOTRON_TEST_PYTHON is not set (scripts/test sets it)");
        return None;
    };
    let probe = host_command(python.to_str().unwrap())
        .args(["-c", &format!("import {module}")])
        .output();
    let why = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
        Err(err) => err.to_string(),
    };
    assert!(
        !required(),
        "{} cannot import {module}: {why}",
        python.display()
    );
    eprintln!("skipped: {} cannot import {module}", python.display());
    None
}

/// Run `tests/python/<script>` with `args` (and a HOME of its own, where
/// clients keep tokens); it must succeed.
pub(crate) async fn run_python_check(python: PathBuf, script: &str, args: Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        host_command(python.to_str().unwrap())
            .arg(path)
            .args(args)
            .env("HOME", home_path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{script} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The test broker (TASKOTRON_TEST_AMQP_URL); `None` (after saying why) when
/// the test should skip.
pub(crate) fn amqp_url() -> Option<String> {
    match std::env::var("TASKOTRON_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !required(),
                "TASKOTRON_TEST_AMQP_URL is not set, but TASKOTRON_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: TASKOTRON_TEST_AMQP_URL is not set (scripts/test sets it)");
            None
        }
    }
}

/// POST `body` as JSON to the fake's admin API; the answer, which must be a
/// success.
pub(crate) async fn admin(base: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "POST {path} {body}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// `GET /admin/messages`.
pub(crate) async fn messages(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/admin/messages"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `GET /admin/messages` until `done` says yes; fails after `timeout`.
pub(crate) async fn wait_for_messages(
    base: &str,
    timeout: std::time::Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let answer = messages(base).await;
        if done(&answer) {
            return answer;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {timeout:?}: {}",
            serde_json::to_string_pretty(&answer).unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A topic prefix no other test uses.
pub(crate) fn unique_prefix() -> String {
    format!("taskotron.test.{}", uuid::Uuid::new_v4().simple())
}
