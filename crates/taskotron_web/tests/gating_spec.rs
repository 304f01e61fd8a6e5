//! The Greenwave and WaiverDB behaviours of resultsdb-api.md §4 and §5
//! over HTTP, in-process on both backends (remote rules with a real
//! `fake-infra`): the shared suite (`gating_suite/`), which `taskotron`'s
//! `gating_serve.rs` also runs against a spawned `taskotron serve`.

mod common;
mod gating_suite;

use common::{Api, each_state};
use gating_suite::{Http, OUTCOMES, PERMISSION, POLICIES, Reply, SUPERUSERS, TOKENS};
use taskotron_gating::{Origin, WaivePermission, parse_policies};
use taskotron_web::AppState;
use taskotron_web::auth::WriteAuth;
use taskotron_web::greenwave::GatingSettings;
use taskotron_web::resultsdb::ResultsdbSettings;

/// The router, as the suite sees a server.
struct InProcess(Api);

impl Http for InProcess {
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let answer = self.0.send(method, path, headers, body).await;
        Reply {
            status: answer.status,
            headers: answer
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            text: answer.text,
        }
    }
}

/// The state `taskotron serve` builds from the suite's configuration,
/// without Koji and dist-git.
fn state(store: taskotron_store::Store) -> AppState {
    state_at(store, None)
}

/// The same, asking Koji and dist-git of the fake infrastructure at
/// `infra` when given.
fn state_at(store: taskotron_store::Store, infra: Option<&str>) -> AppState {
    let owned = |list: &[&str]| list.iter().map(|it| (*it).to_owned()).collect::<Vec<_>>();
    let mut settings = ResultsdbSettings::new(&owned(&OUTCOMES));
    settings.auth = WriteAuth::from_pairs(
        TOKENS
            .iter()
            .map(|(name, token)| ((*name).to_owned(), (*token).to_owned()))
            .collect(),
        Vec::new(),
    );
    let mut gating = GatingSettings {
        policies: parse_policies(POLICIES, Origin::Server).expect("valid policies"),
        superusers: owned(&SUPERUSERS),
        permissions: vec![WaivePermission {
            testcases: owned(PERMISSION.0),
            testcases_ignore: owned(PERMISSION.1),
            users: owned(PERMISSION.2),
        }],
        distgit_url: infra.map(|base| format!("{base}/distgit")),
        ..GatingSettings::default()
    };
    if let Some(base) = infra {
        gating = gating
            .with_koji(&format!("{base}/kojihub"))
            .expect("a Koji client");
    }
    AppState::with_settings(store, settings).with_gating(gating)
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_follow_the_results() {
    each_state(state, |api| async move {
        gating_suite::decisions_follow_the_results(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deprecated_waiver_query() {
    each_state(state, |api| async move {
        gating_suite::the_deprecated_waiver_query(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn subject_types_as_greenwave_ships_them() {
    each_state(state, |api| async move {
        gating_suite::subject_types_as_greenwave_ships_them(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_latest_result_scenario_waivers_and_when() {
    each_state(state, |api| async move {
        gating_suite::every_latest_result_scenario_waivers_and_when(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_say_what_is_wrong() {
    each_state(state, |api| async move {
        gating_suite::bad_requests_say_what_is_wrong(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_other_greenwave_endpoints() {
    each_state(state, |api| async move {
        gating_suite::the_other_greenwave_endpoints(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn waivers_are_written_read_revoked_and_applied() {
    each_state(state, |api| async move {
        gating_suite::waivers_are_written_read_revoked_and_applied(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn who_may_waive_what() {
    each_state(state, |api| async move {
        gating_suite::who_may_waive_what(&InProcess(api)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_rules_and_validity_windows() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    gating_suite::write_infra(tmp.path());
    let addr = taskotron_fake_infra::spawn(tmp.path(), "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("fake-infra serves");
    let infra = format!("http://{addr}");
    each_state(
        |store| state_at(store, Some(&infra)),
        |api| {
            let infra = infra.clone();
            async move {
                gating_suite::remote_rules_and_validity_windows(&InProcess(api), &infra).await;
            }
        },
    )
    .await;
}
