//! `taskotron serve` runs jobs itself: with no worker process and no worker
//! token file, a job enqueued through the jobs API is leased by the
//! server's own worker pool, run from the tasks directory and finished with
//! its result; SIGTERM stops the server cleanly and kills the task the pool
//! was running. `[worker] local-slots = 0` turns the pool off.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{block_on, free_port, get_json, taskotron};
use serde_json::{Value, json};

fn post_json(url: &str, body: &Value) -> (u16, Value) {
    block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// Wait for `what`, failing after `within` (a guard against a hang, not a
/// measurement).
fn wait_until<T>(what: &str, within: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(it) = probe() {
            return it;
        }
        assert!(started.elapsed() < within, "{what} never happened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A tasks directory under `root`: `dist.hello` reports PASSED for its
/// item; `dist.sleeper` writes its process id to `root/sleeper.pid` and
/// sleeps.
fn tasks(root: &Path) {
    let hello = root.join("tasks/dist.hello");
    std::fs::create_dir_all(&hello).unwrap();
    std::fs::write(
        hello.join("runtask.yml"),
        "name: hello\nnamespace: dist\ninput:\n  args: [koji_build]\nactions:\n\
         \x20 - name: greet\n    shell:\n\
         \x20     - taskotron result -f ${workdir}/results.yml -i ${koji_build} -t koji_build -o PASSED\n\
         \x20 - name: report\n    resultsdb:\n      file: ${workdir}/results.yml\n    export: reported\n\
         \x20 - name: exit code\n    exitcode:\n      result_worst: ${reported}\n",
    )
    .unwrap();
    let sleeper = root.join("tasks/sleeper");
    std::fs::create_dir_all(&sleeper).unwrap();
    std::fs::write(
        sleeper.join("runtask.yml"),
        format!(
            "name: sleeper\nnamespace: dist\nactions:\n  - name: sleep\n    shell:\n\
             \x20     - ./sleep.sh {}\n",
            root.join("sleeper.pid").display()
        ),
    )
    .unwrap();
    std::fs::write(
        sleeper.join("sleep.sh"),
        "#!/bin/sh\necho $$ > \"$1\"\nexec sleep 600\n",
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(sleeper.join("sleep.sh"), mode).unwrap();
}

/// A child process killed when dropped (a failed test leaves nothing
/// running).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `taskotron serve` in `root` on `port`, on the embedded defaults but for
/// `extra_config`: no worker token file, no tasks directory setting (the
/// pool reads `./tasks`).
fn serve(root: &Path, port: u16, extra_config: &str) -> Killed {
    std::fs::write(root.join("taskotron.toml"), extra_config).unwrap();
    let child = taskotron(root)
        .args(["--config", "taskotron.toml", "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("TASKOTRON_DATABASE_URL")
        .env_remove("TASKOTRON_AMQP_URL")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(root.join("serve.log")).unwrap())
        .spawn()
        .unwrap();
    let child = Killed(child);
    wait_until("the server answering", Duration::from_secs(30), || {
        get_json(&format!("http://127.0.0.1:{port}/healthz"))
    });
    child
}

fn enqueue(base: &str, check: &str, item: &str) -> String {
    let (status, answer) = post_json(
        &format!("{base}/api/v1/jobs"),
        &json!({"jobs": [{"check": check, "check_revision": "1", "item_type": "koji_build",
                          "item": item, "arch": "noarch"}]}),
    );
    assert_eq!(status, 201, "{answer:#}");
    answer["data"][0]["uuid"].as_str().unwrap().to_owned()
}

fn job_in(base: &str, uuid: &str, states: &[&str], log: &Path) -> Value {
    wait_until(
        &format!("job {uuid} reaching {states:?}"),
        Duration::from_secs(90),
        || {
            let job = get_json(&format!("{base}/api/v1/jobs/{uuid}"))?;
            let state = job["state"].as_str()?;
            if states.contains(&state) {
                return Some(job);
            }
            assert!(
                !["crashed", "finished", "timed-out", "cancelled"].contains(&state),
                "job ended {state}: {job:#}\nserver log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            None
        },
    )
}

fn sigterm(child: &Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn serve_runs_jobs_itself_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tasks(root);
    let port = free_port();
    let mut server = serve(root, port, "[runner]\nsandbox = \"none\"\n");
    let base = format!("http://127.0.0.1:{port}");
    let log = root.join("serve.log");

    let uuid = enqueue(&base, "dist.hello", "hello-1.0-1.fc44");
    let job = job_in(&base, &uuid, &["finished"], &log);
    assert_eq!(job["outcome"], "PASSED", "{job:#}");
    let worker = job["attempts"][0]["worker"].as_str().unwrap().to_owned();
    assert!(
        worker.starts_with("local@") && worker.ends_with(&format!(":{port}")),
        "{job:#}"
    );
    // The pool is a registered worker like any other.
    let workers = get_json(&format!("{base}/api/v1/workers")).unwrap();
    assert_eq!(workers["data"][0]["name"], worker, "{workers:#}");
    // Yet the worker API takes no other token: none is configured.
    let (status, _) = block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{base}/api/v1/worker/register"))
            .bearer_auth("guess")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), ())
    });
    assert_eq!(status, 401);

    // A running task dies with the server, which exits 0.
    let sleeper = enqueue(&base, "dist.sleeper", "sleepy-1.0-1.fc44");
    job_in(&base, &sleeper, &["running"], &log);
    let pid_file = root.join("sleeper.pid");
    let pid: i32 = wait_until("the task starting", Duration::from_secs(30), || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|it| it.trim().parse().ok())
    });
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    sigterm(&server.0);
    let status = wait_until("serve exiting", Duration::from_secs(30), || {
        server.0.try_wait().unwrap()
    });
    assert!(
        status.success(),
        "{status}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    wait_until("the task's process ending", Duration::from_secs(10), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for its reaper.
        (stat.is_empty() || stat.contains(") Z ")).then_some(())
    });
}

#[test]
fn local_slots_zero_leaves_jobs_queued() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tasks(root);
    let port = free_port();
    let server = serve(
        root,
        port,
        "[runner]\nsandbox = \"none\"\n\n[worker]\nlocal-slots = 0\n",
    );
    let base = format!("http://127.0.0.1:{port}");
    let uuid = enqueue(&base, "dist.hello", "hello-1.0-1.fc44");
    // Without a pool and without a token file the worker API is off.
    let answer = block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/worker/lease"))
            .bearer_auth("guess")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(answer, 404);
    let job = get_json(&format!("{base}/api/v1/jobs/{uuid}")).unwrap();
    assert_eq!(job["state"], "queued", "{job:#}");
    assert_eq!(job["attempts"], json!([]), "{job:#}");
    let workers = get_json(&format!("{base}/api/v1/workers"));
    assert!(workers.is_none(), "{workers:?}");
    sigterm(&server.0);
    drop(server);
}
