//! `!RemoteRule` and `valid_since` / `valid_until` against a real
//! `taskotron fake-infra` (its Koji hub and dist-git raw files, served
//! over HTTP on loopback), on both backends: gating.yaml found, invalid,
//! missing (required or not), a build Koji does not know, and a Koji that
//! does not answer (never satisfied, saying so).

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{Api, each_state, plain};
use serde_json::{Value, json};
use taskotron_gating::{Origin, parse_policies};
use taskotron_web::AppState;
use taskotron_web::greenwave::GatingSettings;

const POLICIES: &str = "--- !Policy
id: stable
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_stable]
subject_type: koji_build
rules:
  - !RemoteRule {required: true}
--- !Policy
id: testing
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_testing]
subject_type: koji_build
rules:
  - !RemoteRule {}
  - !PassingTestCaseRule {test_case_name: dist.new, valid_since: 2026-06-01}
  - !PassingTestCaseRule {test_case_name: dist.old, valid_until: 2026-06-01}
";

const INFRA: &str = "koji:
  builds:
    - nvr: good-1.0-1.fc44
      completed: 2026-11-20T10:20:00Z
      source: git+https://src.fedoraproject.org/rpms/good.git#abc123
    - nvr: broken-1.0-1.fc44
      completed: 2026-01-10T10:00:00Z
      source: git+https://src.fedoraproject.org/rpms/broken.git#def456
    - nvr: bare-1.0-1.fc44
      completed: 2026-01-10T10:00:00Z
      source: git+https://src.fedoraproject.org/rpms/bare.git#789abc
";

const GOOD_GATING: &str = "--- !Policy
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_stable, bodhi_update_push_testing]
rules:
  - !PassingTestCaseRule {test_case_name: dist.fromgit}
--- !Policy
decision_context: a_context_no_server_policy_has
rules:
  - !PassingTestCaseRule {test_case_name: dist.never}
";

fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("a directory");
    std::fs::write(file, text).expect("written");
}

async fn fake_infra(dir: &Path) -> SocketAddr {
    write(dir, "infra.yaml", INFRA);
    write(dir, "distgit/rpms/good/abc123/gating.yaml", GOOD_GATING);
    write(
        dir,
        "distgit/rpms/broken/def456/gating.yaml",
        "--- !Policy\nrules:\n  - !RemoteRule {}\n",
    );
    taskotron_fake_infra::spawn(dir, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("fake-infra serves")
}

fn settings(base: &str) -> GatingSettings {
    GatingSettings {
        policies: parse_policies(POLICIES, Origin::Server).expect("valid policies"),
        distgit_url: Some(format!("{base}/distgit")),
        ..GatingSettings::default()
    }
    .with_koji(&format!("{base}/kojihub"))
    .expect("a Koji client")
}

async fn decide(api: &Api, nvr: &str, context: &str) -> Value {
    let (status, answer) = api
        .send(
            "POST",
            "/api/v1.0/decision",
            &[("content-type", "application/json")],
            &json!({
                "product_version": "fedora-44",
                "decision_context": context,
                "subject_type": "koji_build",
                "subject_identifier": nvr,
            })
            .to_string(),
        )
        .await
        .pair();
    assert_eq!(status, 200, "{answer}");
    answer
}

fn types(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            (
                it["type"].as_str().unwrap_or_default().to_owned(),
                it["testcase"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pair(kind: &str, testcase: &str) -> (String, String) {
    (kind.to_owned(), testcase.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_rules_read_gating_yaml_from_dist_git() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let addr = fake_infra(tmp.path()).await;
    let base = format!("http://{addr}");
    let gating = settings(&base);
    let cache = gating.builds.clone();
    each_state(
        move |store| AppState::with_settings(store, plain()).with_gating(gating.clone()),
        |api| {
            let base = base.clone();
            async move {
                // Found: its policies that share a context apply, the others do not.
                let answer = decide(&api, "good-1.0-1.fc44", "bodhi_update_push_stable").await;
                assert_eq!(answer["policies_satisfied"], false, "{answer}");
                assert_eq!(
                    types(&answer["satisfied_requirements"]),
                    vec![pair("fetched-gating-yaml", "fetched-gating-yaml")]
                );
                assert_eq!(
                    answer["satisfied_requirements"][0]["source"],
                    format!("{base}/distgit/rpms/good/raw/abc123/f/gating.yaml")
                );
                assert_eq!(
                    types(&answer["unsatisfied_requirements"]),
                    vec![pair("test-result-missing", "dist.fromgit")]
                );
                api.result(
                    &json!({"testcase": {"name": "dist.fromgit"}, "outcome": "PASSED",
                    "data": {"item": "good-1.0-1.fc44", "type": "koji_build"}}),
                )
                .await;
                let answer = decide(&api, "good-1.0-1.fc44", "bodhi_update_push_stable").await;
                assert_eq!(answer["policies_satisfied"], true, "{answer}");

                // Invalid: unsatisfied, with the problems and their lines.
                let answer = decide(&api, "broken-1.0-1.fc44", "bodhi_update_push_stable").await;
                assert_eq!(
                    types(&answer["unsatisfied_requirements"]),
                    vec![pair("invalid-gating-yaml", "invalid-gating-yaml")]
                );
                let details = answer["unsatisfied_requirements"][0]["details"]
                    .as_str()
                    .unwrap_or_default();
                assert!(
                    details.contains("line 3") && details.contains("RemoteRule"),
                    "{details}"
                );
                assert_eq!(answer["explanation"][0]["code"], "gating-yaml-invalid");
                assert!(
                    answer["summary"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("1 error in the gating.yaml"),
                    "{answer}"
                );

                // Missing and required: unsatisfied; missing and optional: nothing.
                let answer = decide(&api, "bare-1.0-1.fc44", "bodhi_update_push_stable").await;
                assert_eq!(
                    types(&answer["unsatisfied_requirements"]),
                    vec![pair("missing-gating-yaml", "missing-gating-yaml")]
                );
                assert_eq!(answer["explanation"][0]["action"], "fix-gating-yaml");
                // The bare build was made before 2026-06-01: dist.old applies, dist.new does not.
                let answer = decide(&api, "bare-1.0-1.fc44", "bodhi_update_push_testing").await;
                assert_eq!(
                    types(&answer["unsatisfied_requirements"]),
                    vec![pair("test-result-missing", "dist.old")]
                );
                // The good build was made after: dist.new, and its gating.yaml's test.
                let answer = decide(&api, "good-1.0-1.fc44", "bodhi_update_push_testing").await;
                assert_eq!(
                    types(&answer["unsatisfied_requirements"]),
                    vec![pair("test-result-missing", "dist.new")],
                    "{answer}"
                );
                assert!(
                    types(&answer["satisfied_requirements"])
                        .contains(&pair("test-result-passed", "dist.fromgit"))
                );

                // A build Koji does not know: the rule cannot be checked.
                let answer = decide(&api, "ghost-1.0-1.fc44", "bodhi_update_push_stable").await;
                assert_eq!(
                    types(&answer["unsatisfied_requirements"]),
                    vec![pair("failed-fetch-gating-yaml", "failed-fetch-gating-yaml")]
                );
                assert!(
                    answer["unsatisfied_requirements"][0]["error"]
                        .as_str()
                        .is_some_and(|it| it.contains("Koji has no build ghost-1.0-1.fc44")),
                    "{answer}"
                );
            }
        },
    )
    .await;
    // Builds Koji knows are cached; the unknown one is not.
    assert_eq!(cache.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_koji_that_does_not_answer_never_satisfies() {
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|it| it.local_addr())
        .expect("a free port");
    let gating = settings(&format!("http://{dead}"));
    each_state(
        move |store| AppState::with_settings(store, plain()).with_gating(gating.clone()),
        |api| async move {
            for (nvr, testcase) in [("any-1-1.fc44", "dist.old"), ("any-1-1.fc44", "dist.new")] {
                api.result(&json!({"testcase": {"name": testcase}, "outcome": "PASSED",
                    "data": {"item": nvr, "type": "koji_build"}}))
                    .await;
            }
            let answer = decide(&api, "any-1-1.fc44", "bodhi_update_push_testing").await;
            assert_eq!(answer["policies_satisfied"], false, "{answer}");
            assert_eq!(
                types(&answer["unsatisfied_requirements"]),
                vec![
                    pair("koji-build-unavailable", "dist.new"),
                    pair("koji-build-unavailable", "dist.old"),
                    pair("failed-fetch-gating-yaml", "failed-fetch-gating-yaml"),
                ]
            );
            let codes: Vec<&str> = answer["explanation"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|it| it["code"].as_str())
                .collect();
            assert_eq!(
                codes,
                [
                    "koji-build-unavailable",
                    "koji-build-unavailable",
                    "gating-yaml-unreachable"
                ]
            );
            assert!(
                answer["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("2 rules could not be checked without Koji"),
                "{answer}"
            );
        },
    )
    .await;
}
