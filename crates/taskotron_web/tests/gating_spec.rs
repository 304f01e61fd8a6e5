//! The Greenwave behaviours of resultsdb-api.md §4 that the other suites
//! do not show, over HTTP on both backends: subject types (the
//! `brew-build` alias, composes by `productmd.compose.id`, a generic type a
//! policy names, `bodhi_update` without a policy), every latest result per
//! scenario and architecture, scenario-limited waivers, `when`, and
//! `/version` redirecting to `/about`.

mod common;

use common::{Api, each_state};
use serde_json::{Value, json};
use taskotron_gating::{Origin, parse_policies};
use taskotron_web::AppState;
use taskotron_web::greenwave::GatingSettings;
use taskotron_web::resultsdb::ResultsdbSettings;

const POLICIES: &str = "--- !Policy
id: builds
product_versions: [fedora-*]
decision_context: gate
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.install}
--- !Policy
id: composes
product_versions: [fedora-*]
decision_context: gate
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: compose.boot}
--- !Policy
id: things
product_versions: [fedora-*]
decision_context: gate
subject_type: my_thing
rules:
  - !PassingTestCaseRule {test_case_name: thing.check}
";

fn state(store: taskotron_store::Store) -> AppState {
    AppState::with_settings(store, ResultsdbSettings::new(&[])).with_gating(GatingSettings {
        policies: parse_policies(POLICIES, Origin::Server).expect("valid policies"),
        ..GatingSettings::default()
    })
}

async fn decide(api: &Api, subject_type: &str, item: &str, extra: &Value) -> (u16, Value) {
    let mut body = json!({"product_version": "fedora-44", "decision_context": "gate",
        "subject_type": subject_type, "subject_identifier": item});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    api.send(
        "POST",
        "/api/v1.0/decision",
        &[("content-type", "application/json")],
        &body.to_string(),
    )
    .await
    .pair()
}

/// The requirements' types and architectures, sorted.
fn kinds(answer: &Value, list: &str) -> Vec<String> {
    let mut out: Vec<String> = answer[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            format!(
                "{} {}",
                it["type"].as_str().unwrap_or_default(),
                it["system_architecture"].as_str().unwrap_or("-")
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_types_as_greenwave_ships_them() {
    each_state(state, |api| async move {
        // brew-build results and requests are koji_build ones.
        api.result(
            &json!({"testcase": {"name": "dist.install"}, "outcome": "PASSED",
            "data": {"item": "a-1-1.fc44", "type": "brew-build"}}),
        )
        .await;
        let (status, answer) = decide(&api, "brew-build", "a-1-1.fc44", &json!({})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert_eq!(
            answer["satisfied_requirements"][0]["subject_type"],
            "koji_build"
        );

        // Composes are found by productmd.compose.id.
        api.result(
            &json!({"testcase": {"name": "compose.boot"}, "outcome": "FAILED",
            "data": {"productmd.compose.id": "Fedora-44-20261127.n.0"}}),
        )
        .await;
        let (_, answer) = decide(&api, "compose", "Fedora-44-20261127.n.0", &json!({})).await;
        assert_eq!(
            kinds(&answer, "unsatisfied_requirements"),
            ["test-result-failed -"]
        );

        // A type only a policy names is Greenwave's generic type: type and item.
        api.result(
            &json!({"testcase": {"name": "thing.check"}, "outcome": "PASSED",
            "data": {"item": "t-7", "type": "my_thing"}}),
        )
        .await;
        let (_, answer) = decide(&api, "my_thing", "t-7", &json!({})).await;
        assert_eq!(answer["policies_satisfied"], true, "{answer}");

        // bodhi_update ignores a missing policy: no 404, nothing required.
        let (status, answer) = decide(&api, "bodhi_update", "FEDORA-2026-1", &json!({})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["summary"], "No tests are required");
        assert_eq!(answer["applicable_policies"], json!([]));
        // A koji_build with no policy is a 404.
        let (status, _) = api
            .send(
                "POST",
                "/api/v1.0/decision",
                &[("content-type", "application/json")],
                &json!({"product_version": "epel-9", "decision_context": "gate",
                    "subject_type": "koji_build", "subject_identifier": "a-1-1.el9"})
                .to_string(),
            )
            .await
            .pair();
        assert_eq!(status, 404);

        // /version redirects to /about.
        let answer = api.send("GET", "/api/v1.0/version", &[], "").await;
        assert_eq!(answer.status, 308);
        assert_eq!(
            answer.headers.get("location").map(|it| it.as_bytes()),
            Some(&b"/api/v1.0/about"[..])
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_latest_result_scenario_waivers_and_when() {
    each_state(state, |api| async move {
        let nvr = "b-1-1.fc44";
        let post = |arch: &str, outcome: &str| {
            json!({"testcase": {"name": "dist.install"}, "outcome": outcome,
                "data": {"item": nvr, "type": "koji_build", "system_architecture": arch,
                    "scenario": format!("fedora.{arch}")}})
        };
        api.result(&post("x86_64", "FAILED")).await;
        api.result(&post("aarch64", "PASSED")).await;
        let (_, answer) = decide(&api, "koji_build", nvr, &json!({})).await;
        // One requirement per latest result (scenario, architecture).
        assert_eq!(
            kinds(&answer, "unsatisfied_requirements"),
            ["test-result-failed x86_64"]
        );
        assert_eq!(
            kinds(&answer, "satisfied_requirements"),
            ["test-result-passed aarch64"]
        );
        let failed_at = chrono::Utc::now().naive_utc();

        // A waiver for another scenario does not cover it; one for its scenario does.
        for (scenario, expect) in [("fedora.aarch64", false), ("fedora.x86_64", true)] {
            let answer = api
                .send(
                    "POST",
                    "/api/v1.0/waivers/",
                    &[("content-type", "application/json")],
                    &json!({"subject_type": "koji_build", "subject_identifier": nvr,
                        "testcase": "dist.install", "scenario": scenario,
                        "product_version": "fedora-44", "comment": "arch-specific flake"})
                    .to_string(),
                )
                .await;
            assert_eq!(answer.status, 201, "{}", answer.text);
            let (_, decision) = decide(&api, "koji_build", nvr, &json!({})).await;
            assert_eq!(
                decision["policies_satisfied"], expect,
                "{scenario}: {decision}"
            );
        }

        // A newer passing result; asked as of before it (`when`), the failure
        // and no waiver count again.
        api.result(&post("x86_64", "PASSED")).await;
        let (_, now) = decide(&api, "koji_build", nvr, &json!({})).await;
        assert_eq!(
            kinds(&now, "satisfied_requirements"),
            ["test-result-passed aarch64", "test-result-passed x86_64"]
        );
        let when = failed_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
        let (_, then) = decide(&api, "koji_build", nvr, &json!({"when": when})).await;
        assert_eq!(
            kinds(&then, "unsatisfied_requirements"),
            ["test-result-failed x86_64"],
            "{then}"
        );
    })
    .await;
}
