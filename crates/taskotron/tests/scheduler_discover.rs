//! A package's own task, from the event to its result, with real processes:
//! `taskotron serve` schedules with a `discover` rule, `taskotron trigger`
//! announces a build, and a `taskotron worker` with an empty tasks
//! directory fetches the formula from the package's git repository at the
//! planned commit and runs it; the job ends with the formula's verdict.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, taskotron};
use serde_json::Value;

const WORKER_TOKEN: &str = "worker-secret";

fn get_json(url: &str) -> Option<Value> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let response = reqwest::get(url).await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            response.json().await.ok()
        })
}

fn git(dir: &Path, args: &[&str]) {
    #[expect(
        clippy::disallowed_methods,
        reason = "the test makes a git repository with the host's git"
    )]
    let out = <std::process::Command>::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.0.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

#[test]
fn a_discovered_task_runs_from_its_repository() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    // The package's tests repository: branch f44 has a formula (and its
    // script) that passes the build.
    let repo = root.join("tests").join("tk-hello");
    std::fs::create_dir_all(repo.join("smoke")).unwrap();
    git(&repo, &["init", "--quiet"]);
    git(&repo, &["checkout", "--quiet", "-b", "f44"]);
    std::fs::write(
        repo.join("smoke/runtask.yml"),
        "name: smoke\nnamespace: pkg\ninput:\n  args: [koji_build]\nactions:\n\
         \x20 - name: check\n    shell:\n      - ./check.sh \"${koji_build}\" \"${workdir}/results.yml\"\n\
         \x20 - name: report\n    resultsdb:\n      file: ${workdir}/results.yml\n    export: reported\n\
         \x20 - name: exit code\n    exitcode:\n      result_worst: ${reported}\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("smoke/check.sh"),
        "#!/bin/sh\ncat > \"$2\" <<EOF\nresults:\n  - item: $1\n    type: koji_build\n    outcome: PASSED\n    note: from the package repository\nEOF\n",
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(repo.join("smoke/check.sh"), mode).unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "smoke test"]);

    let port = free_port();
    std::fs::write(root.join("workers.tokens"), format!("w1:{WORKER_TOKEN}\n")).unwrap();
    std::fs::write(
        root.join("rules.yml"),
        format!(
            "- when: {{message_type: KojiBuildPackageCompleted}}\n  do:\n\
             \x20   - discover: {{repo: '{}/${{name}}', branch: '${{distgit_branch}}', fallback_branch: rawhide}}\n\
             \x20     arches: [noarch]\n",
            root.join("tests").display()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("taskotron.toml"),
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ndata-dir = \"data\"\n\n\
             [api]\nworker-tokens-file = \"workers.tokens\"\n\n\
             [scheduler]\nrules = \"rules.yml\"\nkoji-poll = \"0s\"\nbodhi-poll = \"0s\"\n\n\
             [worker]\nlocal-slots = 0\n"
        ),
    )
    .unwrap();
    let _server = Killed(
        taskotron(root)
            .args(["--config", "taskotron.toml", "serve"])
            .env_remove("TASKOTRON_DATABASE_URL")
            .env_remove("TASKOTRON_AMQP_URL")
            .stderr(std::fs::File::create(root.join("serve.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while get_json(&format!("{base}/healthz")).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "serve never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let trigger = taskotron(root)
        .args([
            "--config",
            "taskotron.toml",
            "trigger",
            "--build",
            "tk-hello-1.0-1.fc44",
        ])
        .output()
        .unwrap();
    assert!(
        trigger.status.success(),
        "{}",
        String::from_utf8_lossy(&trigger.stderr)
    );
    let printed = String::from_utf8_lossy(&trigger.stdout);
    assert!(
        printed.contains("koji_build:tk-hello-1.0-1.fc44:complete"),
        "{printed}"
    );

    let empty_tasks = root.join("no-tasks");
    std::fs::create_dir_all(&empty_tasks).unwrap();
    let _worker = Killed(
        taskotron(root)
            .args(["worker", "--server", &base, "--local", "--tasks"])
            .arg(&empty_tasks)
            .args(["--data-dir", "wdata"])
            .env("TASKOTRON_WORKER_TOKEN", WORKER_TOKEN)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let started = Instant::now();
    let job = loop {
        let jobs = get_json(&format!("{base}/api/v1/jobs?item=tk-hello-1.0-1.fc44")).unwrap();
        if let Some(job) = jobs["data"].as_array().and_then(|it| it.first())
            && (job["state"] == "finished" || job["state"] == "crashed")
        {
            break job.clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the job never ended: {jobs:#}; events: {:#}; server log: {}",
            get_json(&format!("{base}/api/v1/events")).unwrap_or_default(),
            std::fs::read_to_string(root.join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(job["state"], "finished", "{job:#}");
    assert_eq!(job["outcome"], "PASSED", "{job:#}");
    assert_eq!(job["key"]["check"], "pkg.smoke");
    assert_eq!(job["key"]["arch"], "noarch");
    assert_eq!(job["source"]["path"], "smoke/runtask.yml");
    let commit = job["source"]["commit"].as_str().unwrap();
    assert_eq!(
        job["key"]["check_revision"].as_str().unwrap(),
        &commit[..12]
    );
    let results = std::fs::read_to_string(
        root.join("wdata/artifacts")
            .join(job["uuid"].as_str().unwrap())
            .join("attempt-1/taskotron/results.yml"),
    )
    .unwrap();
    assert!(results.contains("from the package repository"), "{results}");

    // The event shows the job it made.
    let events = get_json(&format!("{base}/api/v1/events?item=tk-hello-1.0-1.fc44")).unwrap();
    let uuid = events["data"][0]["uuid"].as_str().unwrap();
    let event = get_json(&format!("{base}/api/v1/events/{uuid}")).unwrap();
    assert_eq!(event["state"], "planned");
    assert_eq!(event["jobs"][0]["uuid"], job["uuid"]);

    // The build's expected-results ledger, on the command line: the one
    // check its rules called for, finished, and the same as JSON.
    let status = |json: bool| {
        let mut command = taskotron(root);
        command.args([
            "--config",
            "taskotron.toml",
            "status",
            "tk-hello-1.0-1.fc44",
        ]);
        if json {
            command.arg("--json");
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let printed = status(false);
    assert!(
        printed.contains("koji_build tk-hello-1.0-1.fc44"),
        "{printed}"
    );
    let line = printed
        .lines()
        .find(|it| it.contains("pkg.smoke"))
        .unwrap_or_else(|| panic!("no pkg.smoke in {printed}"));
    assert!(
        line.contains("noarch") && line.contains("finished"),
        "{printed}"
    );
    let ledger: Value = serde_json::from_str(&status(true)).unwrap();
    assert_eq!(ledger["checks"][0]["check"], "pkg.smoke", "{ledger:#}");
    assert_eq!(ledger["checks"][0]["reason_code"], "finished", "{ledger:#}");
    assert_eq!(ledger["checks"][0]["outcome"], "PASSED", "{ledger:#}");
    assert_eq!(ledger["checks"][0]["job"], job["uuid"], "{ledger:#}");
}
