//! Taskotron's Bodhi client against `fake-infra`'s Bodhi, and (with the
//! venv of scripts/test) the real `bodhi-client` from PyPI against it.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::Path;

use taskotron_bodhi::{BodhiClient, BodhiError, Retry, UpdateQuery};

async fn start(dir: &Path) -> String {
    format!("http://{}/bodhi/", common::start(dir).await)
}

fn aliases(updates: &[taskotron_bodhi::Update]) -> Vec<&str> {
    updates.iter().map(|it| it.alias.as_str()).collect()
}

#[tokio::test]
async fn updates_by_build_status_release_and_time() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let bodhi = BodhiClient::new(&start(dir.path()).await).unwrap();

    let all = bodhi.updates(&UpdateQuery::default()).await.unwrap();
    // Newest submitted first.
    assert_eq!(
        aliases(&all),
        ["FEDORA-2026-0000000001", "FEDORA-2026-0000000002"]
    );
    let hello = &all[0];
    assert_eq!(hello.builds[0].nvr, "tk-hello-1.2-3.fc44");
    assert_eq!(hello.user.name, "alice");
    assert_eq!(
        hello.release.candidate_tag.as_deref(),
        Some("f44-updates-candidate")
    );
    assert_eq!(hello.date_submitted.as_deref(), Some("2026-11-20 11:00:00"));
    assert_eq!(hello.date_modified, None);
    assert_eq!(
        hello.version_hash.as_deref(),
        Some(taskotron_bodhi::version_hash(&["tk-hello-1.2-3.fc44"]).as_str())
    );

    let by_build = bodhi
        .updates(&UpdateQuery {
            builds: vec!["tk-other-1.1-1.fc44".into(), "nope-1-1".into()],
            ..UpdateQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(aliases(&by_build), ["FEDORA-2026-0000000002"]);
    let testing = bodhi
        .updates(&UpdateQuery {
            status: vec!["testing".into()],
            releases: vec!["F44".into()],
            ..UpdateQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(aliases(&testing), ["FEDORA-2026-0000000001"]);
    let submitted = bodhi
        .updates(&UpdateQuery {
            submitted_since: Some("2026-11-15 00:00:00".into()),
            submitted_before: Some("2026-11-21 00:00:00".into()),
            ..UpdateQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(aliases(&submitted), ["FEDORA-2026-0000000001"]);
    let modified = bodhi
        .updates(&UpdateQuery {
            modified_since: Some("2026-11-11 00:00:00".into()),
            ..UpdateQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(aliases(&modified), ["FEDORA-2026-0000000002"]);

    // One row per page: paging through gives the same list.
    let paged = bodhi
        .updates(&UpdateQuery {
            rows_per_page: Some(1),
            ..UpdateQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(aliases(&paged), aliases(&all));
    let page = bodhi
        .updates_page(
            &UpdateQuery {
                rows_per_page: Some(1),
                ..UpdateQuery::default()
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!((page.page, page.pages, page.total), (2, 2, 2));

    let one = bodhi
        .update("FEDORA-2026-0000000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.status, "stable");
    assert_eq!(bodhi.update("FEDORA-2026-9999999999").await.unwrap(), None);
    assert!(bodhi.update("a/b").await.is_err());

    let releases = bodhi.releases(None).await.unwrap();
    assert_eq!(releases.len(), 1);
    assert_eq!(releases[0].dist_tag.as_deref(), Some("f44"));
    assert_eq!(releases[0].branch.as_deref(), Some("f44"));
    assert_eq!(releases[0].stable_tag.as_deref(), Some("f44-updates"));
    assert!(bodhi.releases(Some("F99")).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_queries_name_the_parameter_and_edits_move_date_modified() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let base = start(dir.path()).await;
    let bodhi = BodhiClient::new(&base).unwrap().with_retry(Retry::never());
    let err = bodhi
        .updates(&UpdateQuery {
            releases: vec!["F99".into()],
            ..UpdateQuery::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, BodhiError::Http { status: 400, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("querystring.releases: Invalid releases specified: F99"),
        "{err}"
    );

    // An edit of the builds sets date_modified; a status change does not.
    let admin = reqwest::Client::new();
    let edit = format!(
        "{}admin/bodhi/updates/FEDORA-2026-0000000001/edit",
        base.trim_end_matches("bodhi/")
    );
    let answer = admin
        .post(&edit)
        .body(r#"{"status": "stable"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let update = bodhi
        .update("FEDORA-2026-0000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (update.status.as_str(), update.date_modified),
        ("stable", None)
    );
    let answer = admin
        .post(&edit)
        .body(r#"{"builds": ["tk-hello-1.2-3.fc44", "tk-other-1.1-1.fc44"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let update = bodhi
        .update("FEDORA-2026-0000000001")
        .await
        .unwrap()
        .unwrap();
    assert!(update.date_modified.is_some());
    assert_eq!(update.builds.len(), 2);
    let bad = admin
        .post(&edit)
        .body(r#"{"status": "done"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("done"));
}

#[tokio::test]
async fn a_server_that_is_not_bodhi_is_reported() {
    let app = axum::Router::new().route(
        "/bodhi/updates/",
        axum::routing::get(|| async {
            (
                axum::http::StatusCode::BAD_GATEWAY,
                "<html>proxy error</html>",
            )
        }),
    );
    let addr = common::serve(app).await;
    let bodhi = BodhiClient::new(&format!("http://{addr}/bodhi"))
        .unwrap()
        .with_retry(Retry {
            attempts: 2,
            first_delay: std::time::Duration::from_millis(5),
            max_delay: std::time::Duration::from_millis(5),
        });
    let err = bodhi.updates(&UpdateQuery::default()).await.unwrap_err();
    assert!(matches!(err, BodhiError::Http { status: 502, .. }), "{err}");
    assert!(err.to_string().contains("proxy error"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_bodhi_client_reads_the_fake() {
    let Some(python) = common::python_with("bodhi.client.bindings") else {
        return;
    };
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = common::start(dir.path()).await;
    let args = vec![
        format!("http://{addr}/bodhi/"),
        format!("http://{addr}/openidc"),
    ];
    common::run_python_check(python, "check_bodhi_client.py", args).await;
}
