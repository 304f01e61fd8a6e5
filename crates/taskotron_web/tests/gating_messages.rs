//! `greenwave.decision.update` through the outbox to a real RabbitMQ, on
//! both backends: a result or a waiver that changes a decision publishes
//! one, with the decision, the subject, the context, the product version
//! and the previous decision; one that changes nothing publishes none.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Api, each_state};
use serde_json::{Value, json};
use taskotron_bus::{Consumer, ConsumerConfig, Publisher, relay};
use taskotron_gating::{Origin, parse_policies};
use taskotron_web::AppState;
use taskotron_web::greenwave::GatingSettings;
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
    let prefix = format!("org.taskotron.test{}", uuid::Uuid::new_v4().simple());
    let state = {
        let (wake, prefix) = (wake.clone(), prefix.clone());
        move |store| {
            let mut settings = ResultsdbSettings::new(&["RUNNING".to_owned()]);
            settings.publish_prefix = Some(prefix.clone());
            settings.outbox_wake = wake.clone();
            AppState::with_settings(store, settings).with_gating(GatingSettings {
                policies: parse_policies(POLICY, Origin::Server).expect("a valid policy"),
                ..GatingSettings::default()
            })
        }
    };
    each_state(state, |api: Api| {
        let (url, wake, prefix) = (url.clone(), wake.clone(), prefix.clone());
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
            consumer.close().await;
        }
    })
    .await;
}
