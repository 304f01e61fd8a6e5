//! Waivers beyond WaiverDB, over HTTP on both backends: waivers for every
//! build of a package, expiry dates, who may waive which test cases,
//! `GET /waivers/` paged in SQL, and bad waivers refused with the field
//! named and nothing written.

mod common;

use common::{Api, each_state, plain};
use serde_json::{Value, json};
use taskotron_gating::{Origin, WaivePermission, parse_policies};
use taskotron_web::AppState;
use taskotron_web::auth::WriteAuth;
use taskotron_web::greenwave::GatingSettings;

const POLICY: &str = "--- !Policy
id: testing
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
  - !PassingTestCaseRule {test_case_name: secret.scan}
";

fn state(store: taskotron_store::Store) -> AppState {
    let mut settings = plain();
    settings.auth = WriteAuth::from_pairs(
        vec![
            ("alice".to_owned(), "alice-token".to_owned()),
            ("bob".to_owned(), "bob-token".to_owned()),
            ("bodhi".to_owned(), "bodhi-token".to_owned()),
        ],
        Vec::new(),
    );
    AppState::with_settings(store, settings).with_gating(GatingSettings {
        policies: parse_policies(POLICY, Origin::Server).expect("a valid policy"),
        superusers: vec!["bodhi".to_owned()],
        permissions: vec![
            WaivePermission {
                testcases: vec!["dist.*".into(), "secret.*".into()],
                testcases_ignore: Vec::new(),
                users: vec!["alice".into()],
            },
            WaivePermission {
                testcases: vec!["*".into()],
                testcases_ignore: vec!["secret.*".into()],
                users: vec!["bob".into()],
            },
        ],
        ..GatingSettings::default()
    })
}

async fn post(api: &Api, token: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    api.send(
        "POST",
        "/api/v1.0/waivers/",
        &[
            ("content-type", "application/json"),
            ("authorization", &auth),
        ],
        &body.to_string(),
    )
    .await
    .pair()
}

/// Results need the API's credentials here too.
async fn result(api: &Api, body: &Value) {
    let answer = api
        .post_text(
            "/results",
            &[("authorization", "Bearer alice-token")],
            &body.to_string(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

async fn get(api: &Api, path: &str) -> (u16, Value) {
    api.send("GET", path, &[], "").await.pair()
}

async fn decide(api: &Api, nvr: &str) -> Value {
    let (status, answer) = api
        .send(
            "POST",
            "/api/v1.0/decision",
            &[("content-type", "application/json")],
            &json!({"product_version": "fedora-44", "decision_context": "bodhi_update_push_testing",
                "subject_type": "koji_build", "subject_identifier": nvr})
            .to_string(),
        )
        .await
        .pair();
    assert_eq!(status, 200, "{answer}");
    answer
}

fn waiver(identifier: &str, testcase: &str) -> Value {
    json!({"subject_type": "koji_build", "subject_identifier": identifier, "testcase": testcase,
        "product_version": "fedora-44", "comment": "known problem"})
}

async fn count(api: &Api) -> usize {
    let (_, page) = get(api, "/api/v1.0/waivers/?include_obsolete=1&limit=1000").await;
    page["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread")]
async fn package_waivers_expiry_and_permissions() {
    each_state(state, |api| async move {
        for nvr in ["foo-1.0-1.fc44", "foo-2.0-1.fc44"] {
            for testcase in ["dist.rpmlint", "secret.scan"] {
                result(
                    &api,
                    &json!({"testcase": {"name": testcase}, "outcome": "FAILED",
                        "data": {"item": nvr, "type": "koji_build"}}),
                )
                .await;
            }
        }
        // A package waiver covers every build of foo.
        let mut body = waiver("foo", "dist.rpmlint");
        body["scope"] = json!("package");
        let (status, created) = post(&api, "alice-token", &body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["scope"], "package");
        for nvr in ["foo-1.0-1.fc44", "foo-2.0-1.fc44"] {
            let answer = decide(&api, nvr).await;
            assert_eq!(
                answer["satisfied_requirements"][0]["type"], "test-result-failed-waived",
                "{answer}"
            );
            assert_eq!(answer["satisfied_requirements"][0]["waiver_id"], created["id"]);
        }
        // Another package is not covered.
        result(
            &api,
            &json!({"testcase": {"name": "dist.rpmlint"}, "outcome": "FAILED",
                "data": {"item": "foobar-1-1.fc44", "type": "koji_build"}}),
        )
        .await;
        let answer = decide(&api, "foobar-1-1.fc44").await;
        assert_eq!(answer["unsatisfied_requirements"][0]["type"], "test-result-failed");
        // Revoked like any waiver: the same key with waived false.
        body["waived"] = json!(false);
        let (status, _) = post(&api, "alice-token", &body).await;
        assert_eq!(status, 201);
        let answer = decide(&api, "foo-1.0-1.fc44").await;
        assert_eq!(answer["unsatisfied_requirements"][0]["type"], "test-result-failed", "{answer}");

        // An expiry date in the future: in force until then.
        let mut body = waiver("foo-1.0-1.fc44", "dist.rpmlint");
        body["expires_at"] = json!("2999-01-01T00:00:00Z");
        let (status, created) = post(&api, "bob-token", &body).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["expires_at"], "2999-01-01T00:00:00.000000");
        let answer = decide(&api, "foo-1.0-1.fc44").await;
        assert_eq!(answer["satisfied_requirements"][0]["type"], "test-result-failed-waived");
        // Asked as of a time after the expiry, the waiver no longer counts.
        let (_, answer) = api
            .send(
                "POST",
                "/api/v1.0/decision",
                &[("content-type", "application/json")],
                &json!({"product_version": "fedora-44", "decision_context": "bodhi_update_push_testing",
                    "subject_type": "koji_build", "subject_identifier": "foo-1.0-1.fc44",
                    "when": "3000-01-01T00:00:00.000000"})
                .to_string(),
            )
            .await
            .pair();
        assert_eq!(answer["unsatisfied_requirements"][0]["type"], "test-result-failed", "{answer}");

        // Who may waive what: bob may not waive secret.*, alice may; Bodhi
        // waiving for bob is judged as bob.
        let before = count(&api).await;
        let (status, answer) = post(&api, "bob-token", &waiver("foo-1.0-1.fc44", "secret.scan")).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(
            answer["message"],
            "User bob is not authorized to submit waivers for the test case secret.scan"
        );
        let mut proxied = waiver("foo-1.0-1.fc44", "secret.scan");
        proxied["username"] = json!("bob");
        let (status, _) = post(&api, "bodhi-token", &proxied).await;
        assert_eq!(status, 403);
        // A list is all or none.
        let (status, _) = post(
            &api,
            "bob-token",
            &json!([waiver("foo-1.0-1.fc44", "dist.rpmlint"), waiver("foo-1.0-1.fc44", "secret.scan")]),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(count(&api).await, before, "nothing written");
        let (status, _) = post(&api, "alice-token", &waiver("foo-1.0-1.fc44", "secret.scan")).await;
        assert_eq!(status, 201);

        // WaiverDB's config and permissions endpoints show the same rules.
        let (_, config) = get(&api, "/api/v1.0/config").await;
        assert_eq!(config["superusers"], json!(["bodhi"]));
        assert_eq!(config["permission_mapping"][1]["users"], json!(["bob"]));
        let (_, covering) = get(&api, "/api/v1.0/permissions?testcase=secret.scan").await;
        assert_eq!(covering.as_array().map(Vec::len), Some(1), "{covering}");
        assert_eq!(covering[0]["users"], json!(["alice"]));
        let (_, all) = get(&api, "/api/v1.0/permissions").await;
        assert_eq!(all.as_array().map(Vec::len), Some(2));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_waivers_name_the_field_and_write_nothing() {
    each_state(state, |api| async move {
        let with = |key: &str, value: Value| {
            let mut body = waiver("foo-1.0-1.fc44", "dist.rpmlint");
            body[key] = value;
            body
        };
        let mut no_comment = waiver("foo-1.0-1.fc44", "dist.rpmlint");
        no_comment.as_object_mut().map(|it| it.remove("comment"));
        for (body, status, message) in [
            (no_comment, 400, "comment: is required"),
            (with("comment", json!("  ")), 400, "comment: is required"),
            (
                with("subject_type", json!("nonsense")),
                400,
                "subject_type: unknown subject type",
            ),
            (
                with("scope", json!("everything")),
                400,
                "scope: must be \"build\" or \"package\"",
            ),
            (
                with("scope", json!("package")),
                400,
                "subject_identifier: a package waiver names the package",
            ),
            (
                with("expires_at", json!("soon")),
                400,
                "expires_at: \"soon\" is not an ISO 8601",
            ),
            (
                with("expires_at", json!("2001-01-01")),
                400,
                "expires_at: \"2001-01-01\" has already passed",
            ),
            (
                with("product_version", json!("")),
                400,
                "product_version: is required",
            ),
        ] {
            let (got, answer) = post(&api, "alice-token", &body).await;
            assert_eq!(got, status, "{body}: {answer}");
            let text = answer["message"].as_str().unwrap_or_default();
            assert!(text.starts_with(message), "{body}: {answer}");
        }
        let answer = api
            .send(
                "POST",
                "/api/v1.0/waivers/",
                &[
                    ("content-type", "application/json"),
                    ("authorization", "Bearer alice-token"),
                ],
                "{\"subject_type\": ",
            )
            .await;
        assert_eq!(answer.status, 400);
        assert!(
            answer.message().starts_with("Invalid JSON body"),
            "{}",
            answer.text
        );
        assert_eq!(count(&api).await, 0, "nothing written");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_waiver_list_pages_in_sql_without_obsolete_waivers() {
    each_state(state, |api| async move {
        // 25 waivers for 5 test cases of one build, 5 times each: the newest
        // of each key is current, the older 20 are obsolete.
        let mut newest = Vec::new();
        for round in 0..5 {
            for n in 0..5 {
                let (status, created) = post(
                    &api,
                    "alice-token",
                    &waiver("foo-1.0-1.fc44", &format!("dist.t{n}")),
                )
                .await;
                assert_eq!(status, 201);
                if round == 4 {
                    newest.push(created["id"].as_i64().unwrap_or_default());
                }
            }
        }
        newest.reverse();
        let (_, first) = get(&api, "/api/v1.0/waivers/?limit=2").await;
        let ids = |page: &Value| -> Vec<i64> {
            page["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|it| it["id"].as_i64())
                .collect()
        };
        assert_eq!(ids(&first), newest[..2]);
        assert!(first["prev"].is_null());
        assert!(
            first["last"]
                .as_str()
                .is_some_and(|it| it.ends_with("page=3")),
            "{first}"
        );
        let (_, third) = get(&api, "/api/v1.0/waivers/?limit=2&page=3").await;
        assert_eq!(ids(&third), newest[4..]);
        assert!(third["next"].is_null());
        let (_, all) = get(
            &api,
            "/api/v1.0/waivers/?limit=10&page=3&include_obsolete=true",
        )
        .await;
        assert_eq!(all["data"].as_array().map(Vec::len), Some(5));
        assert!(all["next"].is_null(), "{all}");
        let (_, beyond) = get(&api, "/api/v1.0/waivers/?limit=2&page=9").await;
        assert_eq!(beyond["data"], json!([]));
    })
    .await;
}
