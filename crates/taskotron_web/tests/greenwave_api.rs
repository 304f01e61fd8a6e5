//! Greenwave's decision API over HTTP, on both backends: results posted
//! through the ResultsDB API, decisions asked as Bodhi asks them.

mod common;

use common::{Api, each_state, plain};
use serde_json::{Value, json};
use taskotron_gating::{Origin, parse_policies};
use taskotron_web::AppState;

const POLICIES: &str = "--- !Policy
id: testing
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
excluded_packages: [skipme]
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
--- !Policy
id: remote
product_versions: [fedora-*]
decision_context: bodhi_update_push_stable
subject_type: koji_build
rules:
  - !RemoteRule {required: false}
";

fn state(store: taskotron_store::Store) -> AppState {
    AppState::with_settings(store, plain())
        .with_policies(parse_policies(POLICIES, Origin::Server).expect("valid policies"))
}

async fn decide(api: &Api, body: &Value) -> (u16, Value) {
    api.send(
        "POST",
        "/api/v1.0/decision",
        &[("content-type", "application/json")],
        &body.to_string(),
    )
    .await
    .pair()
}

async fn post(api: &Api, testcase: &str, item: &str, outcome: &str) -> i64 {
    let result = api
        .result(&json!({
            "testcase": {"name": testcase},
            "outcome": outcome,
            "data": {"item": item, "type": "koji_build"},
        }))
        .await;
    result["id"].as_i64().expect("an id")
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_follow_the_results() {
    each_state(state, |api| async move {
        let ask = json!({
            "product_version": "fedora-44",
            "decision_context": "bodhi_update_push_testing",
            "subject_type": "koji_build",
            "subject_identifier": "foo-1.0-1.fc44",
        });
        let (status, answer) = decide(&api, &ask).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["policies_satisfied"], false);
        assert_eq!(answer["applicable_policies"], json!(["testing"]));
        assert_eq!(answer["summary"], "Of 2 required tests, 2 results missing");
        assert_eq!(
            answer["unsatisfied_requirements"][0],
            json!({
                "type": "test-result-missing", "testcase": "dist.depcheck",
                "subject_type": "koji_build", "subject_identifier": "foo-1.0-1.fc44",
                "scenario": null, "source": null,
                "item": {"type": "koji_build", "item": "foo-1.0-1.fc44"},
            })
        );

        let depcheck = post(&api, "dist.depcheck", "foo-1.0-1.fc44", "PASSED").await;
        post(&api, "dist.rpmlint", "foo-1.0-1.fc44", "FAILED").await;
        post(&api, "dist.rpmlint", "other-1-1.fc44", "PASSED").await;
        let (_, answer) = decide(&api, &ask).await;
        assert_eq!(answer["summary"], "Of 2 required tests, 1 test failed");
        assert_eq!(
            answer["satisfied_requirements"][0]["type"],
            "test-result-passed"
        );
        assert_eq!(answer["satisfied_requirements"][0]["result_id"], depcheck);
        assert_eq!(
            answer["unsatisfied_requirements"][0]["type"],
            "test-result-failed"
        );

        // The newest result counts.
        let fixed = post(&api, "dist.rpmlint", "foo-1.0-1.fc44", "PASSED").await;
        let (_, answer) = decide(&api, &ask).await;
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert_eq!(
            answer["summary"],
            "All required tests (2 total) have passed or been waived"
        );
        assert_eq!(answer["satisfied_requirements"][1]["result_id"], fixed);

        // Bodhi's shape: a list of subjects, the update itself included.
        let (status, answer) = decide(
            &api,
            &json!({
                "product_version": "fedora-44",
                "decision_context": "bodhi_update_push_testing",
                "subject": [
                    {"type": "koji_build", "item": "foo-1.0-1.fc44"},
                    {"type": "koji_build", "item": "skipme-1-1.fc44"},
                    {"type": "bodhi_update", "item": "FEDORA-2026-0000000001"},
                ],
                "verbose": true,
            }),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert_eq!(answer["satisfied_requirements"][2]["type"], "excluded");
        assert_eq!(answer["results"].as_array().map(Vec::len), Some(2));

        // Several builds in one decision: each result counts for its own build.
        post(&api, "dist.depcheck", "bar-2-1.fc44", "FAILED").await;
        post(&api, "dist.rpmlint", "bar-2-1.fc44", "PASSED").await;
        let (_, answer) = decide(
            &api,
            &json!({
                "product_version": "fedora-44",
                "decision_context": "bodhi_update_push_testing",
                "subject": [
                    {"type": "koji_build", "item": "foo-1.0-1.fc44"},
                    {"type": "koji_build", "item": "bar-2-1.fc44"},
                ],
            }),
        )
        .await;
        assert_eq!(
            answer["summary"], "Of 4 required tests, 1 test failed",
            "{answer}"
        );
        let failed = &answer["unsatisfied_requirements"][0];
        assert_eq!(
            (
                failed["subject_identifier"].as_str(),
                failed["testcase"].as_str()
            ),
            (Some("bar-2-1.fc44"), Some("dist.depcheck"))
        );

        // CI results name the build in original_spec_nvr.
        let ci = api
            .result(&json!({
                "testcase": {"name": "dist.depcheck"}, "outcome": "PASSED",
                "data": {"original_spec_nvr": "ci-1-1.fc44"},
            }))
            .await;
        let (_, answer) = decide(
            &api,
            &json!({
                "product_version": "fedora-44",
                "decision_context": "bodhi_update_push_testing",
                "subject_type": "koji_build",
                "subject_identifier": "ci-1-1.fc44",
            }),
        )
        .await;
        assert_eq!(
            answer["satisfied_requirements"][0]["result_id"], ci["id"],
            "{answer}"
        );

        // On-demand rules, no policy file involved.
        let (status, answer) = decide(
            &api,
            &json!({
                "product_version": "fedora-44",
                "subject_type": "koji_build",
                "subject_identifier": "other-1-1.fc44",
                "rules": [{"type": "PassingTestCaseRule", "test_case_name": "dist.rpmlint"}],
            }),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert!(answer.get("applicable_policies").is_none());

        // A remote rule cannot be evaluated yet: never satisfied.
        let (_, answer) = decide(
            &api,
            &json!({
                "product_version": "fedora-44",
                "decision_context": "bodhi_update_push_stable",
                "subject_type": "koji_build",
                "subject_identifier": "foo-1.0-1.fc44",
            }),
        )
        .await;
        assert_eq!(answer["policies_satisfied"], false, "{answer}");
        assert_eq!(
            answer["unsatisfied_requirements"][0]["type"],
            "failed-fetch-gating-yaml"
        );
        // Only builds have a gating.yaml: an update is not held by the remote rule.
        let (_, answer) = decide(
            &api,
            &json!({
                "product_version": "fedora-44",
                "subject_type": "bodhi_update",
                "subject_identifier": "FEDORA-2026-0000000001",
                "rules": [{"type": "RemoteRule", "required": true}],
            }),
        )
        .await;
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_say_what_is_wrong() {
    each_state(state, |api| async move {
        for (body, status, message) in [
            (json!({"decision_context": "c", "subject_type": "koji_build", "subject_identifier": "a-1-1"}), 400, "Missing required product version"),
            (json!({"product_version": "fedora-44", "subject_type": "koji_build", "subject_identifier": "a-1-1"}), 400, "Either decision_context or rules is required."),
            (json!({"product_version": "fedora-44", "decision_context": "c", "rules": [], "subject_type": "koji_build", "subject_identifier": "a-1-1"}), 400, "Cannot have both decision_context and rules"),
            (json!({"product_version": "fedora-44", "decision_context": "c", "subject_identifier": "a-1-1"}), 400, "Missing required subject_type"),
            (json!({"product_version": "fedora-44", "decision_context": "c", "subject_type": "koji_build", "subject_identifier": "a-1-1", "verbose": "yes"}), 400, "Invalid verbose flag, must be a boolean"),
            (json!({"product_version": "fedora-44", "decision_context": "c", "subject_type": "koji_build", "subject_identifier": "a-1-1", "when": "yesterday"}), 400, "Invalid 'when' value"),
            (json!({"product_version": "fedora-44", "decision_context": "c", "subject_type": "koji_build", "subject_identifier": "a-1-1", "ignore_result": "1"}), 400, "ignore_result must be a list of ids"),
            (json!({"product_version": "fedora-44", "decision_context": "nothing_gates_here", "subject_type": "koji_build", "subject_identifier": "a-1-1"}), 404, "Found no applicable policies for koji_build subjects at gating point(s) nothing_gates_here in fedora-44"),
        ] {
            let (got, answer) = decide(&api, &body).await;
            assert_eq!(got, status, "{body}: {answer}");
            let text = answer["message"].as_str().unwrap_or_default();
            assert!(text.contains(message), "{body}: {answer}");
        }
        let answer = api.send("POST", "/api/v1.0/decision", &[], "{}").await;
        assert_eq!(answer.status, 415);
        let (status, policies) = api.send("GET", "/api/v1.0/policies", &[], "").await.pair();
        assert_eq!(status, 200);
        assert_eq!(policies["policies"][0]["id"], "testing");
        assert_eq!(policies["policies"][0]["rules"][1]["test_case_name"], "dist.rpmlint");
        let (status, about) = api.send("GET", "/api/v1.0/about", &[], "").await.pair();
        assert_eq!(status, 200);
        assert!(about["version"].is_string());
    })
    .await;
}
