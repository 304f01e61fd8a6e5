//! The expected-results ledger over HTTP on both backends: every check an
//! item's events called for, with where it stands and why (queued,
//! debounced, no worker can run it, running, finished; a task missing; an
//! ignored event), and the QUEUED and RUNNING results that stand in the
//! ResultsDB API until the final result replaces them, even when the
//! placeholder is written after the final result.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Api, plain};
use serde_json::{Value, json};
use taskotron_store::Store;
use taskotron_store::events::{EventState, NewEvent, PlanJob};
use taskotron_store::jobs::{JobKey, NewJob, Requirements};
use taskotron_web::auth::WorkerAuth;
use taskotron_web::worker_api::WorkerSettings;
use taskotron_web::{AppState, router};

const NVR: &str = "tk-ledger-1.0-1.fc44";
const W1: &str = "Bearer w1-secret";
const W2: &str = "Bearer w2-secret";

fn event(message_id: &str, state: EventState, reason: Option<&str>) -> NewEvent {
    NewEvent {
        source: "bus".into(),
        message_id: Some(message_id.into()),
        natural_key: Some(format!("koji_build:{NVR}:{message_id}")),
        topic: Some("buildsys.build.state.change".into()),
        schema: None,
        fact: Some(json!({"message_type": "KojiBuildPackageCompleted",
                          "item_type": "koji_build", "item": NVR})),
        body: None,
        state,
        reason: reason.map(str::to_owned),
    }
}

fn plan_job(check: &str, arch: &str, needs_arch: bool, delay: Duration) -> PlanJob {
    PlanJob {
        job: NewJob {
            key: JobKey {
                check: check.into(),
                check_revision: "r1".into(),
                item_type: "koji_build".into(),
                item: NVR.into(),
                item_revision: NVR.into(),
                arch: arch.into(),
                rerun: 0,
            },
            priority: 0,
            delay,
            requires: Requirements {
                arch: needs_arch.then(|| arch.to_owned()),
                sandbox: None,
                labels: Vec::new(),
            },
            max_attempts: 2,
        },
        debounce: None,
        rerun: false,
        source: None,
    }
}

async fn send(api: &Api, method: &str, path: &str, auth: Option<&str>, body: &Value) -> Value {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(auth) = auth {
        headers.push(("authorization", auth));
    }
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let answer = api.send(method, path, &headers, &body).await;
    assert!(
        (200..300).contains(&answer.status),
        "{method} {path}: {} {}",
        answer.status,
        answer.text
    );
    if answer.text.is_empty() {
        Value::Null
    } else {
        answer.json()
    }
}

/// The ledger's checks by "check/arch".
async fn ledger(api: &Api) -> (BTreeMap<String, Value>, Value) {
    let all = send(
        api,
        "GET",
        &format!("/api/v1/items/koji_build/{NVR}/expected"),
        None,
        &Value::Null,
    )
    .await;
    let checks = all["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                format!(
                    "{}/{}",
                    it["check"].as_str().unwrap(),
                    it["arch"].as_str().unwrap()
                ),
                it.clone(),
            )
        })
        .collect();
    (checks, all)
}

/// The latest outcome of each testcase for the item, from the ResultsDB API.
async fn latest(api: &Api) -> BTreeMap<String, (String, Value)> {
    let answer = send(
        api,
        "GET",
        &format!("/api/v2.0/results/latest?item={NVR}&type=koji_build"),
        None,
        &Value::Null,
    )
    .await;
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["testcase"]["name"].as_str().unwrap().to_owned(),
                (it["outcome"].as_str().unwrap().to_owned(), it.clone()),
            )
        })
        .collect()
}

async fn body(state: AppState, store: Store) {
    let api = Api {
        app: router(state.clone()),
        store: store.clone(),
    };
    // An event planned into three jobs, with a task that has no formula;
    // an ignored event about the same build.
    let (_, planned) = store
        .record_and_plan(
            &[
                event("m1", EventState::New, None),
                event("m2", EventState::Ignored, Some("the build failed")),
            ],
            &[
                Some((
                    vec![
                        plan_job("dist.rpmlint", "x86_64", true, Duration::ZERO),
                        plan_job("dist.abicheck", "ppc64le", true, Duration::ZERO),
                        plan_job(
                            "dist.upgradepath",
                            "noarch",
                            false,
                            Duration::from_secs(900),
                        ),
                    ],
                    Some(
                        "no task formula for check `dist.missing` on this worker (looked for \
                         /tasks/dist.missing/runtask.yml); task `dist.kabi` excluded by rule \
                         `kabi`: its test of name does not hold"
                            .to_owned(),
                    ),
                )),
                None,
            ],
        )
        .await
        .unwrap();
    assert_eq!(planned[0].as_ref().unwrap().inserted.len(), 3);
    send(
        &api,
        "POST",
        "/api/v1/worker/register",
        Some(W1),
        &json!({"name": "w1", "arches": ["x86_64", "noarch"]}),
    )
    .await;

    let (checks, all) = ledger(&api).await;
    assert_eq!(checks.len(), 3, "{all:#}");
    assert_eq!(checks["dist.rpmlint/x86_64"]["reason_code"], "queued");
    assert_eq!(checks["dist.rpmlint/x86_64"]["state"], "queued");
    let abicheck = &checks["dist.abicheck/ppc64le"];
    assert_eq!(abicheck["reason_code"], "no-worker", "{abicheck}");
    assert!(
        abicheck["reason"]
            .as_str()
            .unwrap()
            .contains("arch ppc64le"),
        "{abicheck}"
    );
    assert_eq!(
        checks["dist.upgradepath/noarch"]["reason_code"],
        "debounced"
    );
    let not_run = all["not_run"].as_array().unwrap();
    let codes: Vec<(&str, &Value)> = not_run
        .iter()
        .map(|it| (it["reason_code"].as_str().unwrap(), &it["check"]))
        .collect();
    assert!(
        codes.contains(&("task-missing", &json!("dist.missing"))),
        "{all:#}"
    );
    assert!(codes.contains(&("event-ignored", &Value::Null)), "{all:#}");
    assert!(
        codes.contains(&("excluded", &json!("dist.kabi"))),
        "{all:#}"
    );
    assert_eq!(all["summary"]["queued"], 1);

    // Nothing stands in the result store yet; one pass writes a QUEUED
    // result for each waiting job, in its group; a second pass nothing.
    assert!(latest(&api).await.is_empty());
    assert_eq!(
        taskotron_web::ledger::placeholders_once(&state)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        taskotron_web::ledger::placeholders_once(&state)
            .await
            .unwrap(),
        0
    );
    let now = latest(&api).await;
    assert_eq!(now.len(), 3, "{now:?}");
    assert!(
        now.values().all(|(outcome, _)| outcome == "QUEUED"),
        "{now:?}"
    );
    let rpmlint_job = checks["dist.rpmlint/x86_64"]["job"].as_str().unwrap();
    let (_, queued) = &now["dist.rpmlint"];
    assert_eq!(queued["groups"], json!([rpmlint_job]));
    assert_eq!(queued["data"]["arch"], json!(["x86_64"]));

    // A ppc64le worker comes and takes abicheck; w1 takes rpmlint.
    send(
        &api,
        "POST",
        "/api/v1/worker/register",
        Some(W2),
        &json!({"name": "w2", "arches": ["ppc64le"]}),
    )
    .await;
    let lease = |auth: &'static str| {
        let api = api.clone();
        async move {
            send(
                &api,
                "POST",
                "/api/v1/worker/lease",
                Some(auth),
                &json!({"wait_seconds": 0}),
            )
            .await
        }
    };
    let abicheck_job = checks["dist.abicheck/ppc64le"]["job"].as_str().unwrap();
    assert_eq!(lease(W2).await["uuid"], abicheck_job);
    let leased = lease(W1).await;
    assert_eq!(leased["uuid"], rpmlint_job);
    let token = leased["token"].as_i64().unwrap();
    let (checks, all) = ledger(&api).await;
    assert_eq!(
        checks["dist.rpmlint/x86_64"]["reason_code"], "running",
        "{all:#}"
    );
    assert_eq!(
        checks["dist.abicheck/ppc64le"]["reason_code"], "running",
        "{all:#}"
    );

    // rpmlint's final result arrives before the placeholder writer has
    // run: the RUNNING result it then writes is dated when the attempt
    // started, so the final result stays the latest; abicheck reads
    // RUNNING.
    send(
        &api,
        "POST",
        "/api/v2.0/results",
        None,
        &json!({"testcase": {"name": "dist.rpmlint"}, "outcome": "PASSED",
                "groups": [rpmlint_job],
                "data": {"item": NVR, "type": "koji_build", "arch": "x86_64"}}),
    )
    .await;
    assert_eq!(
        taskotron_web::ledger::placeholders_once(&state)
            .await
            .unwrap(),
        2
    );
    let now = latest(&api).await;
    assert_eq!(now["dist.rpmlint"].0, "PASSED", "{now:?}");
    assert_eq!(now["dist.abicheck"].0, "RUNNING", "{now:?}");
    assert_eq!(now["dist.upgradepath"].0, "QUEUED", "{now:?}");
    send(
        &api,
        "POST",
        &format!("/api/v1/worker/jobs/{rpmlint_job}/result"),
        Some(W1),
        &json!({"token": token, "state": "finished", "exit_status": 0, "outcome": "PASSED"}),
    )
    .await;
    assert_eq!(
        taskotron_web::ledger::placeholders_once(&state)
            .await
            .unwrap(),
        0
    );
    assert_eq!(latest(&api).await["dist.rpmlint"].0, "PASSED");
    let (checks, _) = ledger(&api).await;
    assert_eq!(checks["dist.rpmlint/x86_64"]["reason_code"], "finished");
    assert_eq!(checks["dist.rpmlint/x86_64"]["outcome"], "PASSED");

    // abicheck's attempt ends in an infrastructure fault: it waits for its
    // retry, and says so.
    let abicheck = checks["dist.abicheck/ppc64le"]["job"]
        .as_str()
        .unwrap()
        .to_owned();
    let holder = store.get_job(&abicheck).await.unwrap().unwrap();
    send(
        &api,
        "POST",
        &format!("/api/v1/worker/jobs/{abicheck}/result"),
        Some(W2),
        &json!({"token": holder.token, "state": "crashed", "class": "infra",
                "outcome": "CRASHED: the Koji hub did not answer"}),
    )
    .await;
    let (checks, all) = ledger(&api).await;
    let retrying = &checks["dist.abicheck/ppc64le"];
    assert_eq!(retrying["reason_code"], "retrying", "{all:#}");
    assert!(
        retrying["reason"]
            .as_str()
            .unwrap()
            .contains("attempt 2 of 2"),
        "{retrying}"
    );
}

#[tokio::test]
async fn the_ledger_says_where_each_check_stands_and_placeholders_give_way() {
    let state_of = |store: Store| {
        AppState::with_settings(store, plain()).with_worker_api(WorkerSettings::new(Some(
            WorkerAuth::from_pairs(vec![
                ("w1".into(), "w1-secret".into()),
                ("w2".into(), "w2-secret".into()),
            ]),
        )))
    };
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = Store::open_sqlite(tmp.path()).await.unwrap();
    body(state_of(sqlite.clone()), sqlite).await;
    if let Ok(url) = std::env::var("TASKOTRON_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let pg = Store::open_postgres(&url, Some(&schema)).await.unwrap();
        body(state_of(pg.clone()), pg.clone()).await;
        pg.drop_schema_for_tests(&schema).await.unwrap();
    } else {
        assert_ne!(
            std::env::var("TASKOTRON_REQUIRE_SERVICES").as_deref(),
            Ok("1"),
            "TASKOTRON_TEST_DATABASE_URL is not set but TASKOTRON_REQUIRE_SERVICES=1"
        );
    }
}
