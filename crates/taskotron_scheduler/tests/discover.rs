//! `discover` against real git repositories made in the test: the branch or
//! its fallback is resolved, formulas are found in the root and top-level
//! directories (or at any depth when recursive), broken ones are reported,
//! a missing branch finds nothing, an unreachable repository is an error;
//! the planner makes one job per formula and arch with the commit as its
//! revision and a source the worker fetches, and the worker's fetch gives
//! the formula at that commit.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use taskotron_scheduler::SchedulerMetrics;
use taskotron_scheduler::discover::Discoverer;
use taskotron_scheduler::planner::{Planner, Revisions};
use taskotron_store::Store;
use taskotron_store::events::{EventState, NewEvent};
use taskotron_store::jobs::JobFilter;
use taskotron_triggers::{Discovery, PlanContext};

#[expect(
    clippy::disallowed_methods,
    reason = "the test makes git repositories with the host's git"
)]
fn git(dir: &Path, args: &[&str]) -> String {
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
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn formula(name: &str) -> String {
    format!(
        "name: {name}\nnamespace: pkg\ndesc: a package's own check\nmaintainer: alice\n\
         input:\n  args: [koji_build, arch]\nactions:\n  - name: say\n    shell:\n      - echo ${{koji_build}}\n"
    )
}

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

/// A repository with a `rawhide` branch (smoke, deep/inner, broken) and an
/// `f44` branch (smoke only, changed).
fn repository(root: &Path) -> (String, String) {
    git(root, &["init", "--quiet"]);
    git(root, &["checkout", "--quiet", "-b", "rawhide"]);
    write(root, "smoke/runtask.yml", &formula("smoke"));
    write(root, "deep/inner/runtask.yml", &formula("inner"));
    write(root, "broken/runtask.yml", "name: [not, a, name]\n");
    write(root, "README", "tests\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "--quiet", "-m", "tests"]);
    let rawhide = git(root, &["rev-parse", "HEAD"]);
    git(root, &["checkout", "--quiet", "-b", "f44"]);
    std::fs::remove_dir_all(root.join("deep")).unwrap();
    std::fs::remove_dir_all(root.join("broken")).unwrap();
    write(root, "smoke/runtask.yml", &formula("smoke-f44"));
    git(root, &["add", "-A"]);
    git(root, &["commit", "--quiet", "-m", "f44 tests"]);
    let f44 = git(root, &["rev-parse", "HEAD"]);
    (rawhide, f44)
}

fn discovery(repo: &str, branch: &str, fallback: Option<&str>, recursive: bool) -> Discovery {
    Discovery {
        repo: repo.to_owned(),
        branch: branch.to_owned(),
        fallback_branch: fallback.map(str::to_owned),
        recursive,
        arches: vec!["x86_64".into()],
        rule: "discover".into(),
    }
}

#[tokio::test]
async fn formulas_are_found_at_the_branch_or_its_fallback() {
    let tmp = tempfile::tempdir().unwrap();
    let repo_dir = tmp.path().join("rpms-tests-foo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    let (rawhide, f44) = repository(&repo_dir);
    let repo = repo_dir.display().to_string();
    let discoverer = Discoverer {
        cache_dir: tmp.path().join("cache"),
    };

    let found = discoverer
        .discover(&discovery(&repo, "f44", Some("rawhide"), false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.branch, "f44");
    assert_eq!(found.commit, f44);
    let checks: Vec<(&str, &str)> = found
        .formulas
        .iter()
        .map(|it| (it.check.as_str(), it.path.as_str()))
        .collect();
    assert_eq!(checks, [("pkg.smoke-f44", "smoke/runtask.yml")]);

    let found = discoverer
        .discover(&discovery(&repo, "f43", Some("rawhide"), false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.branch, "rawhide");
    assert_eq!(found.commit, rawhide);
    let checks: Vec<&str> = found.formulas.iter().map(|it| it.check.as_str()).collect();
    assert_eq!(
        checks,
        ["pkg.smoke"],
        "not recursive: deep/inner is not looked at"
    );
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert!(
        found.problems[0].starts_with("broken/runtask.yml"),
        "{:?}",
        found.problems
    );

    let found = discoverer
        .discover(&discovery(&repo, "rawhide", None, true))
        .await
        .unwrap()
        .unwrap();
    let mut checks: Vec<&str> = found.formulas.iter().map(|it| it.check.as_str()).collect();
    checks.sort_unstable();
    assert_eq!(checks, ["pkg.inner", "pkg.smoke"]);

    assert_eq!(
        discoverer
            .discover(&discovery(&repo, "f40", Some("f41"), false))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        discoverer
            .discover(&discovery(
                &tmp.path().join("nothing").display().to_string(),
                "f44",
                None,
                false
            ))
            .await
            .unwrap(),
        None,
        "a repository that does not exist finds nothing"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = discoverer
        .discover(&discovery(
            &format!("http://127.0.0.1:{port}/rpms/foo.git"),
            "f44",
            None,
            false,
        ))
        .await;
    assert!(unreachable.is_err(), "{unreachable:?}");

    // The worker fetches the formula at the commit, whatever the branch
    // became since.
    write(&repo_dir, "smoke/runtask.yml", &formula("changed"));
    git(&repo_dir, &["commit", "--quiet", "-am", "later"]);
    let data = tmp.path().join("worker");
    let path = taskotron_worker::fetch_source(
        &data,
        &taskotron_worker::FormulaSource {
            repo: repo.clone(),
            commit: f44.clone(),
            path: "smoke/runtask.yml".into(),
        },
    )
    .await
    .unwrap();
    assert!(
        std::fs::read_to_string(path)
            .unwrap()
            .contains("name: smoke-f44")
    );
    for (commit, path) in [
        (f44.as_str(), "../escape/runtask.yml"),
        ("nothex!", "smoke/runtask.yml"),
        (f44.as_str(), "none/runtask.yml"),
    ] {
        let source = taskotron_worker::FormulaSource {
            repo: repo.clone(),
            commit: commit.to_owned(),
            path: path.to_owned(),
        };
        assert!(
            taskotron_worker::fetch_source(&data, &source)
                .await
                .is_err(),
            "{source:?}"
        );
    }
}

#[tokio::test]
async fn the_planner_makes_jobs_for_discovered_formulas() {
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("repos");
    let repo_dir = repos.join("foo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    let (_, f44) = repository(&repo_dir);
    let store = Store::open_sqlite(&tmp.path().join("data")).await.unwrap();
    let rules = format!(
        "- when: {{message_type: KojiBuildPackageCompleted}}\n  do:\n    - discover: {{repo: '{}/${{name}}', branch: '${{distgit_branch}}', fallback_branch: rawhide}}\n      arches: [x86_64, noarch]\n",
        repos.display()
    );
    let planner = Planner {
        store: store.clone(),
        rules: Arc::new(taskotron_triggers::parse_rules(&rules).unwrap()),
        context: PlanContext::default(),
        revisions: Revisions::default(),
        max_attempts: 3,
        metrics: Arc::new(SchedulerMetrics::default()),
        jobs_wake: Arc::default(),
        discoverer: Discoverer {
            cache_dir: tmp.path().join("cache"),
        },
    };
    let event = |name: &str, release: &str| NewEvent {
        source: "api".into(),
        message_id: None,
        natural_key: Some(format!("koji_build:{name}-1-{release}:complete")),
        topic: None,
        schema: None,
        fact: Some(json!({
            "message_type": "KojiBuildPackageCompleted", "item_type": "koji_build",
            "item": format!("{name}-1-{release}"), "name": name, "release": release,
        })),
        body: None,
        state: EventState::New,
        reason: None,
    };
    store
        .record_events(&[event("foo", "1.fc44"), event("bar", "1.fc44")])
        .await
        .unwrap();
    assert_eq!(planner.plan_pending().await.unwrap(), 2);
    let jobs = store.list_jobs(&JobFilter::default()).await.unwrap();
    let mut keys: Vec<String> = jobs
        .iter()
        .map(|it| {
            format!(
                "{} {} {} {}",
                it.key.check, it.key.check_revision, it.key.arch, it.key.item
            )
        })
        .collect();
    keys.sort();
    let revision: String = f44.chars().take(12).collect();
    assert_eq!(
        keys,
        [
            format!("pkg.smoke-f44 {revision} noarch foo-1-1.fc44"),
            format!("pkg.smoke-f44 {revision} x86_64 foo-1-1.fc44"),
        ]
    );
    let source: serde_json::Value =
        serde_json::from_str(jobs[0].source.as_deref().unwrap()).unwrap();
    assert_eq!(source["commit"], f44.as_str());
    assert_eq!(source["path"], "smoke/runtask.yml");
    assert_eq!(source["repo"], format!("{}/foo", repos.display()));
    let events = store
        .list_events(&taskotron_store::events::EventFilter {
            item: Some("bar-1-1.fc44".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events[0].state, EventState::Planned);
    assert!(
        events[0].reason.as_deref().unwrap().contains("bar"),
        "{:?}",
        events[0].reason
    );
}
