//! Issue 8's decision behaviours beyond the basics, over HTTP on both
//! backends: plain words with reason codes (a queued check means "wait"),
//! a decision that cannot read the store is never satisfied, dry runs
//! against a proposed policy file, `validate-gating-yaml`, doubled slashes,
//! `about`, verbose results exactly as ResultsDB shows them, configured
//! subject types and unknown ones.

mod common;

use std::time::Duration;

use common::{Api, each_state};
use serde_json::{Value, json};
use taskotron_gating::{Origin, ResultQuery, SubjectType, SubjectTypes, parse_policies};
use taskotron_store::jobs::{JobKey, NewJob, Requirements};
use taskotron_web::AppState;
use taskotron_web::greenwave::GatingSettings;
use taskotron_web::resultsdb::ResultsdbSettings;

const POLICIES: &str = "--- !Policy
id: testing
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
  - !PassingTestCaseRule {test_case_name: dist.abicheck}
--- !Policy
id: images
product_versions: [fedora-*]
decision_context: image_gate
subject_type: my_image
rules:
  - !PassingTestCaseRule {test_case_name: image.boots}
";

fn settings() -> GatingSettings {
    GatingSettings {
        policies: parse_policies(POLICIES, Origin::Server).expect("valid policies"),
        greenwave_version: "2.3.0-test".to_owned(),
        subject_types: SubjectTypes::fedora().with(vec![SubjectType {
            aliases: vec!["image".into()],
            item_key: "image_id".into(),
            result_queries: vec![ResultQuery {
                item_key: "image_id".into(),
                keys: Vec::new(),
            }],
            ..SubjectType::generic("my_image")
        }]),
        ..GatingSettings::default()
    }
}

fn state(store: taskotron_store::Store) -> AppState {
    let outcomes = ["ERROR", "QUEUED", "RUNNING"].map(str::to_owned);
    AppState::with_settings(store, ResultsdbSettings::new(&outcomes)).with_gating(settings())
}

async fn decide_at(api: &Api, path: &str, body: &Value) -> (u16, Value) {
    api.send(
        "POST",
        path,
        &[("content-type", "application/json")],
        &body.to_string(),
    )
    .await
    .pair()
}

async fn decide(api: &Api, body: &Value) -> (u16, Value) {
    decide_at(api, "/api/v1.0/decision", body).await
}

fn ask(nvr: &str) -> Value {
    json!({
        "product_version": "fedora-44",
        "decision_context": "bodhi_update_push_testing",
        "subject_type": "koji_build",
        "subject_identifier": nvr,
    })
}

fn codes(answer: &Value) -> Vec<(String, String, String)> {
    answer["explanation"]
        .as_array()
        .expect("an explanation")
        .iter()
        .map(|it| {
            (
                it["code"].as_str().unwrap_or_default().to_owned(),
                it["action"].as_str().unwrap_or_default().to_owned(),
                it["testcase"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_say_what_blocks_and_what_to_do() {
    each_state(state, |api| async move {
        let nvr = "foo-1.0-1.fc44";
        for (testcase, outcome, extra) in [
            ("dist.depcheck", "FAILED", json!({})),
            ("dist.rpmlint", "ERROR", json!({"error_reason": "VM died"})),
        ] {
            let mut data = json!({"item": nvr, "type": "koji_build"});
            if let Some(reason) = extra.get("error_reason") {
                data["error_reason"] = reason.clone();
            }
            api.result(&json!({"testcase": {"name": testcase}, "outcome": outcome, "data": data}))
                .await;
        }
        let (status, answer) = decide(&api, &ask(nvr)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            codes(&answer),
            vec![
                (
                    "result-failed".into(),
                    "rerun-or-waive".into(),
                    "dist.depcheck".into()
                ),
                (
                    "result-errored".into(),
                    "rerun-or-waive".into(),
                    "dist.rpmlint".into()
                ),
                (
                    "result-missing".into(),
                    "run-or-waive".into(),
                    "dist.abicheck".into()
                ),
            ]
        );
        let errored = answer["explanation"][1]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(errored.contains("VM died"), "{errored}");
        // ignore_result leaves a result out, as if it were not there.
        let failed = answer["unsatisfied_requirements"][0]["result_id"].clone();
        let mut ignoring = ask(nvr);
        ignoring["ignore_result"] = json!([failed]);
        let (_, answer) = decide(&api, &ignoring).await;
        assert_eq!(codes(&answer)[0].0, "result-missing", "{answer}");
        assert_eq!(codes(&answer)[0].2, "dist.depcheck");

        // A queued check of the job queue turns "missing" into "wait".
        let job = NewJob {
            key: JobKey {
                check: "dist.abicheck".into(),
                check_revision: "1".into(),
                item_type: "koji_build".into(),
                item: nvr.into(),
                item_revision: nvr.into(),
                arch: "x86_64".into(),
                rerun: 0,
            },
            priority: 0,
            delay: Duration::ZERO,
            requires: Requirements::default(),
            max_attempts: 1,
        };
        api.store.enqueue_jobs(&[job]).await.expect("enqueued");
        let (_, answer) = decide(&api, &ask(nvr)).await;
        assert_eq!(
            codes(&answer)[2],
            ("check-queued".into(), "wait".into(), "dist.abicheck".into()),
            "{answer}"
        );
        // A satisfied decision has nothing to explain.
        for testcase in ["dist.depcheck", "dist.rpmlint", "dist.abicheck"] {
            api.result(&json!({"testcase": {"name": testcase}, "outcome": "PASSED",
                "data": {"item": nvr, "type": "koji_build"}}))
                .await;
        }
        let (_, answer) = decide(&api, &ask(nvr)).await;
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert_eq!(answer["explanation"], json!([]));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_cannot_be_read_never_satisfies() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let store = taskotron_store::Store::open_sqlite(tmp.path())
        .await
        .expect("a store");
    let api = Api {
        app: taskotron_web::router(state(store.clone())),
        store: store.clone(),
    };
    store.close().await;
    let (status, answer) = decide(&api, &ask("foo-1.0-1.fc44")).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["policies_satisfied"], false);
    assert_eq!(answer["explanation"][0]["code"], "results-unreadable");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|it| it.contains("not satisfied")),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_decide_with_a_proposed_policy_file() {
    each_state(state, |api| async move {
        let nvr = "dry-1-1.fc44";
        api.result(&json!({"testcase": {"name": "dist.depcheck"}, "outcome": "PASSED",
            "data": {"item": nvr, "type": "koji_build"}}))
            .await;
        let proposed = "--- !Policy
id: lighter
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
";
        let mut body = ask(nvr);
        body["policies"] = json!(proposed);
        let (status, answer) = decide(&api, &body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["dry_run"], true);
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert_eq!(answer["applicable_policies"], json!(["lighter"]));
        // The server's own policies are unchanged.
        let (_, answer) = decide(&api, &ask(nvr)).await;
        assert_eq!(answer["policies_satisfied"], false);
        assert!(answer.get("dry_run").is_none());
        // A malformed proposal is a 400 naming the line.
        body["policies"] = json!("--- !Policy\nid: x\nrules: [!Nope {}]\n");
        let (status, answer) = decide(&api, &body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("policies: the proposed policy file is invalid: line "), "{message}");
        body["policies"] = json!(["not", "text"]);
        let (status, answer) = decide(&api, &body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap_or_default().starts_with("policies:"));

        // validate-gating-yaml: OK, a warning, or a 400 naming the line.
        let gating = "--- !Policy\ndecision_context: bodhi_update_push_testing\nrules:\n  - !PassingTestCaseRule {test_case_name: x}\n";
        let answer = api.send("POST", "/api/v1.0/validate-gating-yaml", &[], gating).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(answer.message().starts_with("Policy: no parent policy"), "{}", answer.text);
        let answer = api
            .send("POST", "/api/v1.0/validate-gating-yaml", &[], "--- !Policy\nrules: 3\n")
            .await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert!(answer.message().starts_with("line "), "{}", answer.text);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wire_details_clients_rely_on() {
    each_state(state, |api| async move {
        let nvr = "wire-1-1.fc44";
        let result = api
            .result(&json!({"testcase": {"name": "dist.depcheck"}, "outcome": "PASSED",
                "data": {"item": nvr, "type": "koji_build", "arch": "x86_64"}}))
            .await;
        // Doubled slashes are served as single ones, without a redirect.
        let mut body = ask(nvr);
        body["verbose"] = json!(true);
        let (status, doubled) = decide_at(&api, "//api/v1.0//decision", &body).await;
        assert_eq!(status, 200, "{doubled}");
        let (_, single) = decide(&api, &body).await;
        assert_eq!(doubled, single);
        for path in ["//api/v1.0/about", "//api/v2.0//results", "//api/v1.0/waivers/", "//healthz"] {
            let answer = api.send("GET", path, &[], "").await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        }
        // Greenwave's landing page, health check and CORS preflight.
        let (status, landing) = api.send("GET", "/api/v1.0/", &[], "").await.pair();
        assert_eq!(status, 200);
        assert_eq!(landing["resultsdb_api_url"], "http://rdb.example.test/api/v2.0");
        assert_eq!(landing["outcomes_passed"], json!(["PASSED", "INFO"]));
        assert_eq!(landing["outcomes_incomplete"], json!(["QUEUED", "RUNNING"]));
        let (status, health) = api.send("GET", "/healthcheck", &[], "").await.pair();
        assert_eq!((status, health["message"].as_str()), (200, Some("Health check OK")));
        let preflight = api.send("OPTIONS", "/api/v1.0/decision", &[], "").await;
        assert_eq!(preflight.status, 200);
        assert_eq!(
            preflight.headers.get("access-control-allow-origin").map(|it| it.as_bytes()),
            Some(&b"*"[..])
        );
        // Links made from a doubled-slash request have single slashes.
        let (_, page) = api
            .send("GET", "//api/v2.0//results?limit=1&page=1", &[], "")
            .await
            .pair();
        let prev = page["prev"].as_str().unwrap_or_default();
        assert!(
            prev.starts_with("http://rdb.example.test/api/v2.0/results?"),
            "{page}"
        );
        // about reports the Greenwave version we match (a setting).
        let (_, about) = api.send("GET", "/api/v1.0/about", &[], "").await.pair();
        assert_eq!(about["version"], "2.3.0-test");
        // Verbose results are exactly what ResultsDB's API shows.
        let shown = api.get(&format!("/results/{}", result["id"])).await.json();
        assert_eq!(single["results"], json!([shown]));

        // A configured subject type, reached through its alias, with its own item key.
        api.result(&json!({"testcase": {"name": "image.boots"}, "outcome": "PASSED",
            "data": {"image_id": "img-7"}}))
            .await;
        let (status, answer) = decide(
            &api,
            &json!({"product_version": "fedora-44", "decision_context": "image_gate",
                "subject_type": "image", "subject_identifier": "img-7"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["policies_satisfied"], true, "{answer}");
        assert_eq!(answer["satisfied_requirements"][0]["subject_type"], "my_image");
        let (_, types) = api.send("GET", "/api/v1.0/subject_types", &[], "").await.pair();
        let ids: Vec<&str> = types["subject_types"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|it| it["id"].as_str())
            .collect();
        assert!(ids.contains(&"koji_build") && ids.contains(&"my_image"), "{types}");

        // An unknown subject type is a 400 naming the field; nothing is decided.
        let (status, answer) = decide(
            &api,
            &json!({"product_version": "fedora-44", "decision_context": "image_gate",
                "subject_type": "nonsense", "subject_identifier": "x"}),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap_or_default().starts_with("subject_type: unknown subject type \"nonsense\""), "{answer}");
        let (status, answer) = decide(
            &api,
            &json!({"product_version": "fedora-44", "decision_context": "image_gate",
                "subject": [{"type": "koji_build", "item": nvr}, {"type": "nonsense", "item": "x"}]}),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap_or_default().starts_with("subject.1.type:"), "{answer}");
        // Malformed JSON names what is wrong.
        let answer = api
            .send("POST", "/api/v1.0/decision", &[("content-type", "application/json")], "{\"product_version\": ")
            .await;
        assert_eq!(answer.status, 400);
        assert!(answer.message().starts_with("Invalid JSON body"), "{}", answer.text);
        let (status, answer) = decide(&api, &json!({"product_version": "fedora-44", "rules": [{"type": "PassingTestCaseRule"}], "subject_type": "koji_build", "subject_identifier": nvr})).await;
        assert_eq!(status, 400);
        assert!(answer["message"].as_str().unwrap_or_default().starts_with("rules.0.test_case_name"), "{answer}");
    })
    .await;
}
