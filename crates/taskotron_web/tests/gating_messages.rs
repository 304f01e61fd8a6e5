//! `greenwave.decision.update`, on both backends: through the decision
//! checker and the outbox to a real RabbitMQ, a result or a waiver that
//! changes a decision publishes one, with the decision, the subject, the
//! context, the product version and the previous decision, and one that
//! changes nothing publishes none; package waivers announce every build of
//! the package they change; and the decision check commits with the
//! result or waivers, or nothing is written.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Api, each_state};
use serde_json::{Value, json};
use taskotron_bus::{Consumer, ConsumerConfig, Publisher, relay};
use taskotron_gating::{Origin, parse_policies};
use taskotron_store::resultsdb::NewResult;
use taskotron_store::waivers::NewWaiver;
use taskotron_web::AppState;
use taskotron_web::greenwave::{GatingSettings, make_decision_checks, run_decision_checks};
use taskotron_web::outbox::StoreOutbox;
use taskotron_web::resultsdb::ResultsdbSettings;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const POLICY: &str = "--- !Policy
id: testing
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
";

/// The state of a server that publishes (with `prefix`), deciding with
/// `policy`; every state it makes shares the wake-ups, as one process's
/// handlers and checker do.
fn publishing_state(
    policy: &str,
    prefix: &str,
    wake: &Arc<Notify>,
    checks_wake: &Arc<Notify>,
) -> impl Fn(taskotron_store::Store) -> AppState + Clone + use<> {
    let (policy, prefix) = (policy.to_owned(), prefix.to_owned());
    let (wake, checks_wake) = (wake.clone(), checks_wake.clone());
    move |store| {
        let mut settings = ResultsdbSettings::new(&["RUNNING".to_owned()]);
        settings.publish_prefix = Some(prefix.clone());
        settings.outbox_wake = wake.clone();
        AppState::with_settings(store, settings).with_gating(GatingSettings {
            policies: parse_policies(&policy, Origin::Server).expect("a valid policy"),
            checks_wake: checks_wake.clone(),
            ..GatingSettings::default()
        })
    }
}

fn amqp_url() -> Option<String> {
    match std::env::var("TASKOTRON_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert_ne!(
                std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
                Ok("1"),
                "TASKOTRON_TEST_AMQP_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
            );
            None
        }
    }
}

async fn next_body(consumer: &mut Consumer) -> (String, Value) {
    let received = tokio::time::timeout(Duration::from_secs(20), consumer.next())
        .await
        .expect("a message within 20 s")
        .expect("the broker answers")
        .expect("the queue is open");
    let routing_key = received.wire.routing_key.clone();
    let body: Value = serde_json::from_slice(&received.wire.body).expect("a JSON body");
    received.ack().await.expect("acknowledged");
    (routing_key, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_decisions_are_published() {
    let Some(url) = amqp_url() else { return };
    let wake = Arc::new(Notify::new());
    let checks_wake = Arc::new(Notify::new());
    let prefix = format!("org.taskotron.test{}", uuid::Uuid::new_v4().simple());
    let state = publishing_state(POLICY, &prefix, &wake, &checks_wake);
    each_state(state.clone(), |api: Api| {
        let (url, wake, prefix) = (url.clone(), wake.clone(), prefix.clone());
        let checker_state = state(api.store.clone());
        async move {
            let topic = format!("{prefix}.greenwave.decision.update");
            let mut consumer = Consumer::connect(&ConsumerConfig {
                routing_keys: vec![topic.clone()],
                durable: false,
                auto_delete: true,
                ..ConsumerConfig::new(&url, &format!("q-{}", uuid::Uuid::new_v4()), "")
            })
            .await
            .expect("a consumer");
            let shutdown = CancellationToken::new();
            let checker = tokio::spawn(run_decision_checks(checker_state));
            let outbox = StoreOutbox::new(api.store.clone(), "gating-test");
            let relay_task = tokio::spawn({
                let (url, wake, shutdown) = (url.clone(), wake.clone(), shutdown.clone());
                async move {
                    relay(
                        &outbox,
                        || Publisher::connect(&url, "amq.topic"),
                        &wake,
                        shutdown,
                        Duration::from_millis(500),
                    )
                    .await;
                }
            });
            let nvr = "foo-1.0-1.fc44";
            let post = |testcase: &str, outcome: &str| {
                json!({"testcase": {"name": testcase}, "outcome": outcome,
                    "data": {"item": nvr, "type": "koji_build"}})
            };
            // Missing, then failed: a change.
            api.result(&post("dist.depcheck", "FAILED")).await;
            let (key, body) = next_body(&mut consumer).await;
            assert_eq!(key, topic);
            assert_eq!(body["subject_type"], "koji_build");
            assert_eq!(body["subject_identifier"], nvr);
            assert_eq!(
                body["subject"],
                json!([{"type": "koji_build", "item": nvr}])
            );
            assert_eq!(body["decision_context"], "bodhi_update_push_testing");
            assert_eq!(body["product_version"], "fedora-44");
            assert_eq!(body["policies_satisfied"], false);
            assert_eq!(body["summary"], "Of 1 required test, 1 test failed");
            assert_eq!(body["applicable_policies"], json!(["testing"]));
            assert_eq!(
                body["previous"]["summary"],
                "Of 1 required test, 1 result missing"
            );
            assert_eq!(body["previous"]["policies_satisfied"], false);

            // A RUNNING result and a result no policy asks for change nothing.
            api.result(&post("dist.depcheck", "RUNNING")).await;
            api.result(&post("dist.unrelated", "FAILED")).await;

            // A waiver does (the RUNNING result is the latest: incomplete, waived).
            let answer = api
                .send(
                    "POST",
                    "/api/v1.0/waivers/",
                    &[("content-type", "application/json")],
                    &json!({"subject_type": "koji_build", "subject_identifier": nvr,
                        "testcase": "dist.depcheck", "product_version": "fedora-44",
                        "comment": "known flake", "username": "alice"})
                    .to_string(),
                )
                .await;
            assert_eq!(answer.status, 201, "{}", answer.text);
            let (_, body) = next_body(&mut consumer).await;
            assert_eq!(body["policies_satisfied"], true, "{body}");
            assert_eq!(
                body["satisfied_requirements"][0]["type"],
                "test-result-missing-waived"
            );
            assert_eq!(
                body["previous"]["summary"],
                "Of 1 required test, 1 test incomplete"
            );

            // A passing result: waived to passed is a change too.
            api.result(&post("dist.depcheck", "PASSED")).await;
            let (_, body) = next_body(&mut consumer).await;
            assert_eq!(
                body["satisfied_requirements"][0]["type"], "test-result-passed",
                "{body}"
            );
            assert_eq!(
                body["previous"]["satisfied_requirements"][0]["type"],
                "test-result-missing-waived"
            );

            shutdown.cancel();
            relay_task.await.expect("the relay stops");
            checker.abort();
            consumer.close().await;
        }
    })
    .await;
}

/// The outbox's messages, oldest first, as (topic, body).
async fn outbox(store: &taskotron_store::Store) -> Vec<(String, Value)> {
    store
        .outbox_pending(1000)
        .await
        .expect("the outbox reads")
        .iter()
        .map(|row| {
            let message: Value = serde_json::from_str(&row.message).expect("a JSON message");
            let topic = message["topic"].as_str().unwrap_or_default().to_owned();
            (topic, message["body"].clone())
        })
        .collect()
}

/// The `greenwave.decision.update` bodies in the outbox, by subject.
async fn decision_updates(store: &taskotron_store::Store) -> Vec<Value> {
    let mut out: Vec<Value> = outbox(store)
        .await
        .into_iter()
        .filter(|(topic, _)| topic.ends_with(".greenwave.decision.update"))
        .map(|(_, body)| body)
        .collect();
    out.sort_by_key(|it| {
        it["subject_identifier"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    out
}

/// Empty the outbox, as a relay would after publishing.
async fn clear_outbox(store: &taskotron_store::Store) {
    let ids: Vec<i64> = store
        .outbox_pending(1000)
        .await
        .expect("the outbox reads")
        .iter()
        .map(|it| it.id)
        .collect();
    store
        .outbox_published(&ids)
        .await
        .expect("the outbox empties");
}

async fn waive(api: &Api, body: &Value) -> u16 {
    let answer = api
        .send(
            "POST",
            "/api/v1.0/waivers/",
            &[("content-type", "application/json")],
            &body.to_string(),
        )
        .await;
    answer.status
}

fn failed(nvr: &str) -> Value {
    json!({"testcase": {"name": "dist.depcheck"}, "outcome": "FAILED",
        "data": {"item": nvr, "type": "koji_build"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn package_waivers_announce_every_build_they_change() {
    let prefix = "org.taskotron.test";
    let state = publishing_state(POLICY, prefix, &Arc::default(), &Arc::default());
    each_state(state.clone(), |api: Api| {
        let checker = state(api.store.clone());
        async move {
            // Builds of foo in fedora-44 (one found by original_spec_nvr), and
            // builds the waiver does not cover: another product version,
            // another package whose name starts the same, another package.
            for nvr in [
                "foo-1.0-1.fc44",
                "foo-1.1-1.fc44",
                "foo-1.0-1.fc43",
                "foo-bar-1.0-1.fc44",
                "bar-1.0-1.fc44",
            ] {
                api.result(&failed(nvr)).await;
            }
            api.result(
                &json!({"testcase": {"name": "dist.depcheck"}, "outcome": "FAILED",
                "data": {"original_spec_nvr": "foo-2.0-1.fc44"}}),
            )
            .await;
            assert_eq!(
                make_decision_checks(&checker).await.expect("checks made"),
                6
            );
            clear_outbox(&api.store).await;

            let waiver = |waived: bool| {
                json!({"subject_type": "koji_build", "subject_identifier": "foo",
                    "scope": "package", "testcase": "dist.depcheck",
                    "product_version": "fedora-44", "waived": waived,
                    "comment": "depcheck is wrong about foo", "username": "alice"})
            };
            let covered = ["foo-1.0-1.fc44", "foo-1.1-1.fc44", "foo-2.0-1.fc44"];
            let subjects = |updates: &[Value]| -> Vec<String> {
                updates
                    .iter()
                    .map(|it| {
                        it["subject_identifier"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                    })
                    .collect()
            };

            // The package waiver: every covered build's decision changes.
            assert_eq!(waive(&api, &waiver(true)).await, 201);
            assert_eq!(
                make_decision_checks(&checker).await.expect("checks made"),
                1
            );
            let updates = decision_updates(&api.store).await;
            assert_eq!(subjects(&updates), covered, "{updates:?}");
            for body in &updates {
                assert_eq!(body["policies_satisfied"], true, "{body}");
                assert_eq!(body["product_version"], "fedora-44");
                assert_eq!(body["decision_context"], "bodhi_update_push_testing");
                assert_eq!(
                    body["satisfied_requirements"][0]["type"],
                    "test-result-failed-waived"
                );
                assert_eq!(body["previous"]["policies_satisfied"], false);
            }
            clear_outbox(&api.store).await;

            // Revoking it changes them back.
            assert_eq!(waive(&api, &waiver(false)).await, 201);
            assert_eq!(
                make_decision_checks(&checker).await.expect("checks made"),
                1
            );
            let updates = decision_updates(&api.store).await;
            assert_eq!(subjects(&updates), covered, "{updates:?}");
            for body in &updates {
                assert_eq!(body["policies_satisfied"], false, "{body}");
                assert_eq!(
                    body["previous"]["satisfied_requirements"][0]["type"],
                    "test-result-failed-waived"
                );
            }
            clear_outbox(&api.store).await;

            // A package waiver that changes no decision announces nothing.
            let mut other = waiver(true);
            other["testcase"] = json!("dist.unrelated");
            assert_eq!(waive(&api, &other).await, 201);
            assert_eq!(
                make_decision_checks(&checker).await.expect("checks made"),
                1
            );
            assert_eq!(decision_updates(&api.store).await, Vec::<Value>::new());
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn decision_checks_commit_with_what_they_check() {
    let prefix = "org.taskotron.test";
    let state = publishing_state(POLICY, prefix, &Arc::default(), &Arc::default());
    each_state(state.clone(), |api: Api| {
        // No checker runs in this process: another one, started later (as
        // after a crash), makes the checks.
        let later = state(api.store.clone());
        async move {
            let store = &api.store;
            let nvr = "foo-1.0-1.fc44";
            let count = |path: &'static str| {
                let api = api.clone();
                async move {
                    let answer = api.send("GET", path, &[], "").await;
                    answer.json()["data"].as_array().map_or(0, Vec::len)
                }
            };
            let results = "/api/v2.0/results?limit=100";
            let waivers = "/api/v1.0/waivers/?include_obsolete=1&limit=100";

            // When the POST returns, the check and result.new are committed.
            api.result(&failed(nvr)).await;
            assert_eq!(store.decision_checks_len().await.expect("counted"), 1);
            let topics: Vec<String> = outbox(store).await.into_iter().map(|it| it.0).collect();
            assert_eq!(topics, [format!("{prefix}.resultsdb.result.new")]);

            // A RUNNING result and one no policy asks for need no check.
            let mut running = failed(nvr);
            running["outcome"] = json!("RUNNING");
            api.result(&running).await;
            let mut unrelated = failed(nvr);
            unrelated["testcase"]["name"] = json!("dist.unrelated");
            api.result(&unrelated).await;
            assert_eq!(store.decision_checks_len().await.expect("counted"), 1);

            // Waivers stored together: one check with them.
            let waiver = json!({"subject_type": "koji_build", "subject_identifier": nvr,
                "testcase": "dist.depcheck", "product_version": "fedora-44",
                "comment": "known flake", "username": "alice"});
            let mut scenario = waiver.clone();
            scenario["scenario"] = json!("x86_64");
            assert_eq!(waive(&api, &json!([waiver, scenario])).await, 201);
            assert_eq!(store.decision_checks_len().await.expect("counted"), 2);

            // A list with a bad waiver writes nothing.
            let before = (count(waivers).await, outbox(store).await.len());
            let mut bad = waiver.clone();
            bad["comment"] = json!("");
            assert_eq!(waive(&api, &json!([waiver, bad])).await, 400);
            assert_eq!(store.decision_checks_len().await.expect("counted"), 2);
            assert_eq!((count(waivers).await, outbox(store).await.len()), before);

            // A commit that fails leaves neither the rows nor their check.
            let before = (count(results).await, outbox(store).await.len());
            let new = NewResult {
                testcase: "dist.depcheck".to_owned(),
                testcase_ref_url: None,
                outcome: "FAILED".to_owned(),
                note: None,
                ref_url: None,
                submit_time: chrono::Utc::now().timestamp_micros(),
                groups: Vec::new(),
                data: vec![
                    ("item".to_owned(), nvr.to_owned()),
                    ("type".to_owned(), "koji_build".to_owned()),
                ],
            };
            assert!(store.create_result_failing_for_tests(&new).await.is_err());
            let stored_waiver = NewWaiver {
                subject_type: "koji_build".to_owned(),
                subject_identifier: nvr.to_owned(),
                testcase: "dist.depcheck".to_owned(),
                scenario: None,
                product_version: "fedora-44".to_owned(),
                username: "alice".to_owned(),
                proxied_by: None,
                waived: true,
                comment: "never committed".to_owned(),
                covers_package: false,
                expires_at: None,
            };
            assert!(
                store
                    .create_waivers_failing_for_tests(&[stored_waiver])
                    .await
                    .is_err()
            );
            assert_eq!(store.decision_checks_len().await.expect("counted"), 2);
            assert_eq!((count(results).await, outbox(store).await.len()), before);
            assert_eq!(count(waivers).await, 2);

            // The later checker makes both: missing to failed, then failed
            // to waived (the newest result is RUNNING: incomplete, waived).
            assert_eq!(make_decision_checks(&later).await.expect("checks made"), 2);
            assert_eq!(store.decision_checks_len().await.expect("counted"), 0);
            let updates: Vec<Value> = outbox(store)
                .await
                .into_iter()
                .filter(|(topic, _)| topic.ends_with(".greenwave.decision.update"))
                .map(|it| it.1)
                .collect();
            assert_eq!(updates.len(), 2, "{updates:?}");
            assert_eq!(updates[0]["summary"], "Of 1 required test, 1 test failed");
            assert_eq!(updates[1]["policies_satisfied"], true, "{}", updates[1]);

            // A check two processes make writes its messages once.
            api.result(&failed(nvr)).await;
            let pending = store.decision_checks_pending(0, 10).await.expect("read");
            assert_eq!(pending.len(), 1);
            let before = outbox(store).await.len();
            let message = vec!["{}".to_owned()];
            assert!(
                store
                    .decision_check_done(pending[0].id, &message)
                    .await
                    .expect("done")
            );
            assert!(
                !store
                    .decision_check_done(pending[0].id, &message)
                    .await
                    .expect("done")
            );
            assert_eq!(outbox(store).await.len(), before + 1);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_waiver_commits_with_its_waiver_new_message() {
    let wake = Arc::new(Notify::new());
    let checks_wake = Arc::new(Notify::new());
    each_state(
        publishing_state(POLICY, "org.example.test", &wake, &checks_wake),
        |api| async move {
            let one = json!({"subject_type": "koji_build", "subject_identifier": "wn-1.0-1.fc44",
                "testcase": "dist.depcheck", "product_version": "fedora-44",
                "comment": "known flake", "username": "alice"});
            let mut two = one.clone();
            two["subject_identifier"] = json!("wn-2.0-1.fc44");
            two["waived"] = json!(false);
            assert_eq!(waive(&api, &json!([one, two])).await, 201);
            let news: Vec<Value> = outbox(&api.store)
                .await
                .into_iter()
                .filter(|(topic, _)| topic == "org.example.test.waiverdb.waiver.new")
                .map(|(_, body)| body)
                .collect();
            assert_eq!(news.len(), 2, "{news:?}");
            // The body is the waiver as the API returns it.
            let listed = api
                .send("GET", "/api/v1.0/waivers/?limit=10", &[], "")
                .await
                .json();
            let mut expected: Vec<Value> = listed["data"].as_array().unwrap().clone();
            expected.sort_by_key(|it| it["id"].as_i64());
            assert_eq!(news, expected);
            assert_eq!(news[1]["waived"], false);
            // A refused waiver writes no message.
            clear_outbox(&api.store).await;
            assert_eq!(
                waive(&api, &json!({"subject_type": "koji_build"})).await,
                400
            );
            assert!(outbox(&api.store).await.is_empty());
        },
    )
    .await;
}
