//! `taskotron run`: exit codes, bad input, crashes, timeouts, interruption
//! and the sandbox, through the real binary.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Task, texts};

const SLEEPER: &str = "name: sleeper
actions:
  - name: sleep
    shell: [\"echo started; sleep 60\"]
";

#[test]
fn an_invalid_formula_lists_every_problem_and_runs_nothing() {
    let task = Task::new(
        "name: bad
colour: blue
actions:
  - name: one
    shel: [ls]
  - name: two
    shell: [\"echo ${nope}\"]
",
    );
    let out = task.run(&[]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("runtask.yml:2:1: error: unknown key `colour` at the top level"),
        "{stderr}"
    );
    assert!(
        stderr.contains("runtask.yml:5:5: error: unknown directive or key `shel` in action 1"),
        "{stderr}"
    );
    assert!(!stderr.contains("has no directive"), "{stderr}");
    assert!(stderr.contains("help: did you mean `shell`?"), "{stderr}");
    assert!(
        stderr.contains("runtask.yml:7:13: error: unknown variable `nope`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "variables in scope here: arch, artifactsdir, checkname, item, jobid, koji_build"
        ),
        "{stderr}"
    );
    assert!(
        !task.artifacts().exists(),
        "an invalid formula must not start a job"
    );
}

#[test]
fn usage_errors_exit_2() {
    let task = Task::new(SLEEPER);
    let out = common::output(common::taskotron(task.path()).args([
        "run",
        "runtask.yml",
        "-i",
        "x",
        "-t",
        "koji-build",
    ]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown item type `koji-build`, expected one of koji_build"),
        "{stderr}"
    );

    let out = common::output(common::taskotron(task.path()).args([
        "run",
        "missing.yml",
        "-i",
        "x",
        "-t",
        "koji_build",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out)
            .1
            .contains("cannot find the formula missing.yml"),
        "{:?}",
        texts(&out)
    );

    let out = task.run(&["--uuid", "../escape"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("--uuid `../escape` must be"),
        "{:?}",
        texts(&out)
    );

    let help = common::output(common::taskotron(task.path()).args(["run", "--help"]));
    let (stdout, _) = texts(&help);
    assert!(stdout.contains("  130    interrupted"), "{stdout}");
}

#[test]
fn a_failing_directive_crashes_the_task_and_keeps_earlier_results() {
    if !common::sandbox_available() {
        return;
    }
    let task = Task::new(
        "name: crashy
input: {args: [koji_build]}
actions:
  - name: first results
    resultsdb:
      results: |
        results:
          - {item: \"${koji_build}\", type: koji_build, outcome: PASSED}
  - name: break
    shell: [\"echo about to fail; exit 7\"]
  - name: never
    dummy: {result: PASS}
",
    );
    let out = task.run(&[]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("error: action 2 `break` failed: command 1 of 1 (`echo about to fail; exit 7`) exited with status 7"), "{stderr}");
    let kept = task.artifact("taskotron/results.yml");
    assert!(
        kept.contains("outcome: PASSED") && kept.contains("checkname: scratch.crashy"),
        "{kept}"
    );
    let summary = task.summary();
    assert_eq!(summary["status"], "crashed");
    assert_eq!(summary["actions"][2]["status"], "skipped");
    let log = task.artifact("taskotron/taskotron.log");
    assert!(log.contains("about to fail"), "{log}");
    assert!(log.contains("action 2 `break` failed"), "{log}");
}

#[test]
fn an_action_timeout_kills_it_and_exits_4() {
    if !common::sandbox_available() {
        return;
    }
    let task = Task::new(
        "name: slow
actions:
  - name: sleep
    timeout: 1s
    shell: [\"sleep 60\"]
",
    );
    let started = Instant::now();
    let out = task.run(&[]);
    assert_eq!(out.status.code(), Some(4), "{:?}", texts(&out));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(task.summary()["status"], "timed_out");
    assert!(
        texts(&out)
            .1
            .contains("action 1 `sleep` ran out of its 1s limit"),
        "{:?}",
        texts(&out)
    );

    // The task-wide limit from the command line.
    let task = Task::new(SLEEPER);
    let out = task.run(&["--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(4), "{:?}", texts(&out));
    assert!(
        texts(&out)
            .1
            .contains("the task ran out of its 1s limit during action 1 `sleep`"),
        "{:?}",
        texts(&out)
    );
}

#[test]
fn ctrl_c_kills_the_task_and_keeps_the_logs() {
    if !common::sandbox_available() {
        return;
    }
    let task = Task::new(SLEEPER);
    let mut child = task
        .command(&[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = task.artifacts().join("taskotron/actions/01-sleep.log");
    let started = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|it| it.contains("started")) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the action never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(task.summary()["status"], "interrupted");
    assert!(
        task.artifact("taskotron/taskotron.log")
            .contains("was interrupted and killed")
    );
}

#[test]
fn the_sandbox_keeps_the_host_read_only_and_the_network_off() {
    if !common::sandbox_available() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let outside = tempfile::tempdir().unwrap();
    let probe = |network: bool, extra: &[&str]| {
        let task = Task::new(&format!(
            "name: probe
environment: {{network: {network}}}
actions:
  - name: probe
    shell:
      - \"echo in-workdir > ${{workdir}}/w && echo ok-workdir\"
      - \"echo in-artifacts > ${{artifactsdir}}/a && echo ok-artifacts\"
      - \"(echo outside > {outside}/x) 2>/dev/null && echo wrote-outside || echo no-outside\"
      - \"(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo net-on || echo net-off\"
    export: seen
",
            outside = outside.path().display()
        ));
        let out = task.run(&["--json", "--keep-workdir"]);
        assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
        let _ = extra;
        let vars = task.artifact("taskotron/task_vars.json");
        let vars: serde_json::Value = serde_json::from_str(&vars).unwrap();
        vars["seen"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        probe(false, &[]),
        "ok-workdir\nok-artifacts\nno-outside\nnet-off"
    );
    assert_eq!(
        probe(true, &[]),
        "ok-workdir\nok-artifacts\nno-outside\nnet-on"
    );
    assert!(!outside.path().join("x").exists());
    drop(listener);
}

#[test]
fn local_runs_say_so() {
    let task = Task::new(
        "name: local
actions:
  - name: hello
    shell: [\"echo hi\"]
",
    );
    let out = task.run(&["--local"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("note: running without a sandbox"),
        "{stderr}"
    );
    assert_eq!(task.summary()["sandbox"], "local");
}

#[test]
fn missing_programs_and_directories_stop_the_task_before_it_starts() {
    let task = Task::new(
        "name: needs
actions:
  - name: py
    python: {file: x.py, callable: run}
",
    )
    .file(
        "config.toml",
        "[runner]\nbwrap = \"/nonexistent/bwrap\"\npython = \"/nonexistent/python3\"\n",
    );
    let out = task.run(&["--config", "config.toml"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`/nonexistent/python3` is not installed or not on PATH; the `python` directive needs it"), "{stderr}");

    let task = Task::new("name: t\nactions:\n  - name: a\n    dummy: {result: PASS}\n")
        .file("config.toml", "[runner]\nbwrap = \"/nonexistent/bwrap\"\n");
    let out = task.run(&["--config", "config.toml"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bubblewrap (`/nonexistent/bwrap`) is not installed"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --local"), "{stderr}");
    assert!(!task.artifacts().join("taskotron/taskotron.log").exists());

    // An artifacts directory that cannot be created.
    let task = Task::new("name: t\nactions:\n  - name: a\n    dummy: {result: PASS}\n")
        .file("blocker", "a file");
    let out = common::output(common::taskotron(task.path()).args([
        "run",
        "runtask.yml",
        "-i",
        "x",
        "-t",
        "koji_build",
        "--local",
        "--artifacts",
        "blocker/sub",
    ]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("artifacts directory") && stderr.contains("blocker/sub is not writable"),
        "{stderr}"
    );

    // A non-empty artifacts directory is never overwritten.
    let task = Task::new("name: t\nactions:\n  - name: a\n    dummy: {result: PASS}\n");
    std::fs::create_dir_all(task.artifacts()).unwrap();
    std::fs::write(task.artifacts().join("keep"), "old job").unwrap();
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("is not empty"), "{:?}", texts(&out));
    assert_eq!(
        std::fs::read_to_string(task.artifacts().join("keep")).unwrap(),
        "old job"
    );
}

#[test]
fn python_errors_crash_the_task_with_the_traceback_in_the_log() {
    let task = Task::new(
        "name: py
actions:
  - name: call
    python: {file: check.py, callable: run, answer: 42}
",
    )
    .file(
        "check.py",
        "def run(answer):\n    raise ValueError('bad answer %d' % answer)\n",
    );
    let out = task.run(&["--local"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("run() in check.py raised ValueError: bad answer 42"),
        "{stderr}"
    );
    assert!(
        task.artifact("taskotron/actions/01-call.log")
            .contains("Traceback")
    );
}

#[test]
fn exports_substitute_with_types_kept() {
    let task = Task::new(
        "name: vars
input: {args: [koji_build]}
actions:
  - name: make a value
    python: {file: v.py, callable: make, nvr: \"${koji_build}\", n: 3, flag: true, quoted: \"3\"}
    export: made
  - name: use it
    shell: [\"echo ${made.name} ${made.parts.1} $$HOME-is-literal\"]
    export: echoed
",
    )
    .file(
        "v.py",
        "def make(nvr, n, flag, quoted):\n    assert n == 3 and flag is True and quoted == '3', (n, flag, quoted)\n    return {'name': nvr.rsplit('-', 2)[0], 'parts': nvr.split('-')}\n",
    );
    let out = task.run(&["--local"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", texts(&out));
    let vars: serde_json::Value =
        serde_json::from_str(&task.artifact("taskotron/task_vars.json")).unwrap();
    let home = std::env::var("HOME").unwrap_or_default();
    assert_eq!(vars["echoed"], format!("foo 1.0 {home}-is-literal"));
}
