//! WaiverDB's API over HTTP on both backends, and waivers in decisions.

mod common;

use common::{Api, each_state, plain};
use serde_json::{Value, json};
use taskotron_gating::{Origin, parse_policies};
use taskotron_web::AppState;
use taskotron_web::auth::WriteAuth;

const POLICY: &str = "--- !Policy
id: testing
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
";

fn state(store: taskotron_store::Store) -> AppState {
    let mut settings = plain();
    settings.auth = WriteAuth::from_pairs(
        vec![
            ("alice".to_owned(), "alice-token".to_owned()),
            ("bodhi".to_owned(), "bodhi-token".to_owned()),
        ],
        Vec::new(),
    );
    AppState::with_settings(store, settings)
        .with_policies(parse_policies(POLICY, Origin::Server).expect("a valid policy"))
        .with_waiver_superusers(vec!["bodhi".to_owned()])
}

async fn post(api: &Api, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("content-type", "application/json")];
    if !token.is_empty() {
        headers.push(("authorization", auth.as_str()));
    }
    api.send("POST", path, &headers, &body.to_string())
        .await
        .pair()
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    api.send("GET", path, &[], "").await.pair()
}

fn waiver(testcase: &str, waived: bool) -> Value {
    json!({
        "subject_type": "koji_build", "subject_identifier": "foo-1.0-1.fc44",
        "testcase": testcase, "product_version": "fedora-44",
        "waived": waived, "comment": "known flake",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn waivers_are_written_read_revoked_and_applied() {
    each_state(state, |api| async move {
        // A failed result gates the build.
        let answer = api
            .post_text(
                "/results",
                &[("authorization", "Bearer alice-token")],
                &json!({
                    "testcase": {"name": "dist.rpmlint"}, "outcome": "FAILED",
                    "data": {"item": "foo-1.0-1.fc44", "type": "koji_build", "scenario": "x86_64"},
                })
                .to_string(),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let failed = answer.json();
        let ask = json!({
            "product_version": "fedora-44", "decision_context": "bodhi_update_push_testing",
            "subject_type": "koji_build", "subject_identifier": "foo-1.0-1.fc44", "verbose": true,
        });
        let (_, decision) = post(&api, "/api/v1.0/decision", "", &ask).await;
        assert_eq!(decision["policies_satisfied"], false, "{decision}");

        // Writing needs credentials; the token's name is the user.
        let (status, _) = post(&api, "/api/v1.0/waivers/", "", &waiver("dist.rpmlint", true)).await;
        assert_eq!(status, 401);
        let (status, created) =
            post(&api, "/api/v1.0/waivers/", "alice-token", &waiver("dist.rpmlint", true)).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["username"], "alice");
        assert_eq!(created["proxied_by"], Value::Null);
        assert_eq!(created["subject"], json!({"type": "koji_build", "item": "foo-1.0-1.fc44"}));
        assert!(created["timestamp"].as_str().is_some_and(|it| it.len() == 26), "{created}");
        let id = created["id"].as_i64().expect("an id");
        let (status, one) = get(&api, &format!("/api/v1.0/waivers/{id}")).await;
        assert_eq!((status, &one), (200, &created));
        let (status, missing) = get(&api, "/api/v1.0/waivers/999999").await;
        assert_eq!((status, missing["message"].as_str()), (404, Some("Waiver not found")));

        // A waiver for another product version does not count here.
        let mut elsewhere = ask.clone();
        elsewhere["product_version"] = json!("fedora-43");
        let (_, decision) = post(&api, "/api/v1.0/decision", "", &elsewhere).await;
        assert_eq!(decision["policies_satisfied"], false, "{decision}");

        // The decision now passes, with the waived form of the requirement.
        let (_, decision) = post(&api, "/api/v1.0/decision", "", &ask).await;
        assert_eq!(decision["policies_satisfied"], true, "{decision}");
        let requirement = &decision["satisfied_requirements"][0];
        assert_eq!(requirement["type"], "test-result-failed-waived");
        assert_eq!(requirement["waiver_id"], id);
        assert_eq!(requirement["result_id"], failed["id"]);
        assert_eq!(decision["waivers"][0]["id"], id);
        // ignore_waiver leaves it out.
        let mut ignoring = ask.clone();
        ignoring["ignore_waiver"] = json!([id]);
        let (_, decision) = post(&api, "/api/v1.0/decision", "", &ignoring).await;
        assert_eq!(decision["policies_satisfied"], false, "{decision}");

        // Only a superuser may waive for someone else.
        let mut proxied = waiver("dist.rpmlint", false);
        proxied["username"] = json!("carol");
        let (status, refused) = post(&api, "/api/v1.0/waivers/", "alice-token", &proxied).await;
        assert_eq!(status, 403, "{refused}");
        let (status, revoked) = post(&api, "/api/v1.0/waivers/", "bodhi-token", &proxied).await;
        assert_eq!(status, 201, "{revoked}");
        assert_eq!((revoked["username"].as_str(), revoked["proxied_by"].as_str()), (Some("carol"), Some("bodhi")));

        // The revocation is newer: gating again.
        let (_, decision) = post(&api, "/api/v1.0/decision", "", &ask).await;
        assert_eq!(decision["policies_satisfied"], false, "{decision}");

        // +filtered keys on subject, test case and scenario: only the newest.
        let filter = json!({"filters": [{"subject_type": "koji_build", "subject_identifier": "foo-1.0-1.fc44"}]});
        let (_, found) = post(&api, "/api/v1.0/waivers/+filtered", "", &filter).await;
        let ids: Vec<i64> = found["data"].as_array().expect("data").iter().filter_map(|it| it["id"].as_i64()).collect();
        assert_eq!(ids, [revoked["id"].as_i64().expect("id")]);
        let mut all = filter.clone();
        all["include_obsolete"] = json!(true);
        let (_, found) = post(&api, "/api/v1.0/waivers/+filtered", "", &all).await;
        assert_eq!(found["data"].as_array().map(Vec::len), Some(2));

        // GET /waivers/ keys on the user too, so both are current there.
        let (_, listed) = get(&api, "/api/v1.0/waivers/?subject_identifier=foo-1.0-1.fc44&limit=1").await;
        assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(listed["prev"], Value::Null);
        assert!(listed["next"].as_str().is_some_and(|it| it.contains("page=2")), "{listed}");
        let (_, page2) = get(&api, "/api/v1.0/waivers/?subject_identifier=foo-1.0-1.fc44&limit=1&page=2").await;
        assert_eq!(page2["data"][0]["id"], id);
        assert_eq!(page2["next"], Value::Null);

        // A waiver made from a result id.
        let (status, from_result) = post(
            &api,
            "/api/v1.0/waivers/",
            "alice-token",
            &json!({"result_id": failed["id"], "product_version": "fedora-44", "comment": "fine"}),
        )
        .await;
        assert_eq!(status, 201, "{from_result}");
        assert_eq!(from_result["testcase"], "dist.rpmlint");
        assert_eq!(from_result["scenario"], "x86_64");
        assert_eq!(from_result["subject_identifier"], "foo-1.0-1.fc44");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_waivers_are_refused_with_the_reason() {
    each_state(state, |api| async move {
        for (body, fragment) in [
            (json!({"subject_type": "koji_build", "subject_identifier": "a-1-1", "testcase": "t", "comment": "c"}), "product_version: is required"),
            (json!({"subject_type": "koji_build", "subject_identifier": "a-1-1", "testcase": "t", "product_version": "fedora-44"}), "comment: is required"),
            (json!({"subject_type": "koji_build", "subject_identifier": "a-1-1", "product_version": "f", "comment": "c"}), "testcase: is required"),
            (json!({"result_id": 424242, "product_version": "f", "comment": "c"}), "Result id not found in Resultsdb"),
            (json!({"result_id": 1, "testcase": "t", "product_version": "f", "comment": "c"}), "result_id cannot be combined"),
            (json!({"subject": {"type": "koji_build", "item": "a-1-1"}, "subject_type": "koji_build", "testcase": "t", "product_version": "f", "comment": "c"}), "subject cannot be combined"),
            (json!({"subject_type": "koji_build", "subject_identifier": "a-1-1", "testcase": "t", "product_version": "f", "comment": "c", "waived": "yes"}), "waived: must be a boolean"),
            (json!([]), "non-empty list"),
        ] {
            let (status, answer) = post(&api, "/api/v1.0/waivers/", "alice-token", &body).await;
            assert_eq!(status, 400, "{body}: {answer}");
            assert!(answer["message"].as_str().is_some_and(|it| it.contains(fragment)), "{body}: {answer}");
        }
        // A list is all or nothing.
        let list = json!([waiver("a", true), {"subject_type": "koji_build"}]);
        let (status, _) = post(&api, "/api/v1.0/waivers/", "alice-token", &list).await;
        assert_eq!(status, 400);
        let (_, all) = get(&api, "/api/v1.0/waivers/").await;
        assert_eq!(all["data"], json!([]));
        let (status, answer) = post(&api, "/api/v1.0/waivers/+filtered", "", &json!({"filters": []})).await;
        assert_eq!(status, 400, "{answer}");
        for filters in [
            json!([{"subject_type": "koji_build", "subject_identifier": 123}]),
            json!([{}]),
            json!([{"subject_type": "koji_build", "subject_identifier": "a-1-1", "colour": "red"}]),
        ] {
            let (status, answer) = post(&api, "/api/v1.0/waivers/+filtered", "", &json!({"filters": filters})).await;
            assert_eq!(status, 400, "{filters}: {answer}");
        }
        let (status, answer) = get(&api, "/api/v1.0/waivers/?since=someday").await;
        assert_eq!(status, 400, "{answer}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deprecated_by_subjects_and_testcases_query() {
    each_state(state, |api| async move {
        let path = "/api/v1.0/waivers/+by-subjects-and-testcases";
        let mut bar = waiver("dist.rpmlint", true);
        bar["subject_identifier"] = json!("bar-2.0-1.fc44");
        for body in [
            waiver("dist.rpmlint", true),
            waiver("dist.depcheck", true),
            bar,
            // Revokes foo's rpmlint waiver: the newest for its key wins.
            waiver("dist.rpmlint", false),
        ] {
            let (status, answer) = post(&api, "/api/v1.0/waivers/", "alice-token", &body).await;
            assert_eq!(status, 201, "{answer}");
        }
        let keys = |answer: &Value| -> Vec<(String, String, bool)> {
            answer["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|it| {
                    (
                        it["subject_identifier"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        it["testcase"].as_str().unwrap_or_default().to_owned(),
                        it["waived"].as_bool().unwrap_or_default(),
                    )
                })
                .collect()
        };
        let key = |item: &str, testcase: &str, waived: bool| {
            (item.to_owned(), testcase.to_owned(), waived)
        };
        // Subjects in both old forms, one test case: the newest per key.
        let (status, answer) = post(
            &api,
            path,
            "",
            &json!({"subject": [{"type": "koji_build", "item": "foo-1.0-1.fc44"},
                                {"original_spec_nvr": "bar-2.0-1.fc44"}],
                    "testcase": ["dist.rpmlint"]}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            keys(&answer),
            [
                key("foo-1.0-1.fc44", "dist.rpmlint", false),
                key("bar-2.0-1.fc44", "dist.rpmlint", true),
            ]
        );
        // Without test cases, every test case of the subject; with
        // include_obsolete, the revoked waiver too.
        let (_, answer) = post(
            &api,
            path,
            "",
            &json!({"subject": [{"type": "koji_build", "item": "foo-1.0-1.fc44"}],
                    "include_obsolete": true}),
        )
        .await;
        assert_eq!(
            keys(&answer),
            [
                key("foo-1.0-1.fc44", "dist.rpmlint", false),
                key("foo-1.0-1.fc44", "dist.depcheck", true),
                key("foo-1.0-1.fc44", "dist.rpmlint", true),
            ]
        );
        for bad in [
            json!({"subject": {"type": "koji_build", "item": "x"}}),
            json!({"subject": [{"type": "koji_build"}]}),
            json!({"testcase": "dist.rpmlint"}),
            json!({"colour": "red"}),
            json!({"include_obsolete": "yes"}),
        ] {
            let (status, answer) = post(&api, path, "", &bad).await;
            assert_eq!(status, 400, "{bad}: {answer}");
        }
    })
    .await;
}
