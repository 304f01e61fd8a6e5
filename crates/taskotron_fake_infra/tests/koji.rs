//! Taskotron's Koji client against `fake-infra`'s hub and kojipkgs tree,
//! with RPMs built by rpmbuild; the hub's faults; downloads that arrive
//! wrong; and a hub that fails for a while.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use taskotron_koji::{
    BuildRef, BuildState, Check, Download, Downloader, FaultKind, KojiClient, KojiError,
    ListBuilds, ListTagged, NoProgress, PathInfo, Retry, TagHistory,
};

fn quick_retry(attempts: u32) -> Retry {
    Retry {
        attempts,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

async fn start(dir: &std::path::Path) -> SocketAddr {
    common::start(dir).await
}

#[tokio::test]
async fn the_client_reads_builds_tags_rpms_and_tasks() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = start(dir.path()).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub")).unwrap();

    let hello = koji
        .get_build(&BuildRef::Nvr("tk-hello-1.2-3.fc44".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hello.name, "tk-hello");
    assert_eq!(hello.build_state(), Some(BuildState::Complete));
    assert_eq!(hello.owner_name.as_deref(), Some("alice"));
    assert_eq!(hello.task_id, Some(140_000_001));
    assert_eq!(hello.completion_ts, Some(1_795_170_000.0));
    assert_eq!(
        hello.completion_time.as_deref(),
        Some("2026-11-20 10:20:00.000000+00:00")
    );
    let by_id = koji
        .get_build(&BuildRef::Id(hello.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id, hello);
    assert_eq!(
        koji.get_build(&BuildRef::Nvr("nope-1-1".into()))
            .await
            .unwrap(),
        None
    );

    // Completed strictly after the first tk-other build, oldest first.
    let after = koji
        .list_builds(&ListBuilds {
            state: Some(BuildState::Complete),
            complete_after: Some(1_793_520_000.0),
            order: Some("completion_time".into()),
            ..ListBuilds::default()
        })
        .await
        .unwrap();
    let nvrs: Vec<&str> = after.iter().map(|it| it.nvr.as_str()).collect();
    assert_eq!(nvrs, ["tk-other-1.1-1.fc44", "tk-hello-1.2-3.fc44"]);
    let other = &after[0];
    assert_eq!(other.epoch, Some(serde_json::json!(2)));

    let rpms = koji.list_rpms(hello.id, None).await.unwrap();
    let mut files: Vec<String> = rpms.iter().map(|it| it.filename()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "tk-hello-1.2-3.fc44.noarch.rpm",
            "tk-hello-1.2-3.fc44.src.rpm",
            "tk-hello-libs-1.2-3.fc44.noarch.rpm"
        ]
    );
    assert!(
        rpms.iter()
            .all(|it| it.payloadhash.as_ref().is_some_and(|hash| hash.len() == 32))
    );
    let sources = koji
        .list_rpms(hello.id, Some(&["src".to_owned()]))
        .await
        .unwrap();
    assert_eq!(sources.len(), 1);

    // Several builds in one multiCall; a missing one is None, not a failure.
    let many = koji
        .get_builds(&[
            BuildRef::Nvr("tk-other-1.0-1.fc44".into()),
            BuildRef::Nvr("missing-1-1".into()),
            BuildRef::Id(hello.id),
        ])
        .await
        .unwrap();
    assert_eq!(many.len(), 3);
    assert_eq!(
        many[0].as_ref().unwrap().as_ref().unwrap().nvr,
        "tk-other-1.0-1.fc44"
    );
    assert_eq!(many[1], Ok(None));
    assert_eq!(many[2].as_ref().unwrap().as_ref().unwrap().id, hello.id);

    let latest = koji.get_latest_builds("f44", None).await.unwrap();
    let nvrs: Vec<&str> = latest.iter().map(|it| it.nvr.as_str()).collect();
    assert_eq!(nvrs, ["tk-other-1.1-1.fc44"]);
    let tagged = koji
        .list_tagged("f44", &ListTagged::default())
        .await
        .unwrap();
    assert_eq!(tagged.len(), 2);
    assert_eq!(tagged[0].tag_name.as_deref(), Some("f44"));

    let history = koji
        .tag_history(&TagHistory {
            tag: Some("f44-updates-candidate".into()),
            ..TagHistory::default()
        })
        .await
        .unwrap();
    let nvrs: Vec<String> = history.iter().map(|it| it.nvr()).collect();
    assert_eq!(nvrs, ["tk-other-1.1-1.fc44", "tk-hello-1.2-3.fc44"]);
    let last = koji.get_last_event().await.unwrap();
    assert!(history.iter().all(|it| it.create_event <= last.id));
    let since = koji
        .tag_history(&TagHistory {
            after_event: Some(last.id),
            ..TagHistory::default()
        })
        .await
        .unwrap();
    assert!(since.is_empty(), "{since:?}");

    let task = koji
        .get_task_info(140_000_001, true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.method, "build");
    assert_eq!(task.state, 2);
    assert!(task.request.is_some());
    assert_eq!(koji.get_task_info(7, false).await.unwrap(), None);
}

#[tokio::test]
async fn faults_are_typed_and_not_retried() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = start(dir.path()).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub")).unwrap();
    let err = koji
        .list_tagged("f99-nope", &ListTagged::default())
        .await
        .unwrap_err();
    assert_eq!(err.fault().unwrap().kind, FaultKind::GenericError);
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("listTagged") && text.contains("/kojihub") && text.contains("f99-nope"),
        "{text}"
    );
    let err = koji
        .call(&taskotron_koji::Call::new("listBuilds").kwarg("colour", "red"))
        .await
        .unwrap_err();
    assert_eq!(err.fault().unwrap().kind, FaultKind::ParameterError);
}

#[tokio::test]
async fn rpms_download_verified_into_a_shared_cache() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = start(dir.path()).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub")).unwrap();
    let paths = PathInfo::new(&format!("http://{addr}/kojipkgs"));
    let build = koji
        .get_build(&BuildRef::Nvr("tk-hello-1.2-3.fc44".into()))
        .await
        .unwrap()
        .unwrap();
    let rpms = koji.list_rpms(build.id, None).await.unwrap();
    let downloads: Vec<Download> = rpms
        .iter()
        .map(|it| Download::rpm(&paths, &build, it))
        .collect();
    let cache = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let downloader = Downloader::new(cache.path()).unwrap().with_concurrency(2);
    let files = downloader
        .fetch_all(&downloads, target.path(), Arc::new(NoProgress))
        .await
        .unwrap();
    assert_eq!(files.len(), 3);
    for (file, rpm) in files.iter().zip(&rpms) {
        let original = dir.path().join("rpms").join(rpm.filename());
        assert_eq!(
            std::fs::read(file).unwrap(),
            std::fs::read(original).unwrap()
        );
    }
    // A second job finds them in the cache: the server is not asked again.
    let second = tempfile::tempdir().unwrap();
    struct Count(AtomicUsize, AtomicUsize);
    impl taskotron_koji::Progress for Count {
        fn finished(&self, _url: &str, cached: bool) {
            if cached {
                self.0.fetch_add(1, Ordering::SeqCst);
            } else {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let count = Arc::new(Count(AtomicUsize::new(0), AtomicUsize::new(0)));
    downloader
        .fetch_all(&downloads, second.path(), count.clone())
        .await
        .unwrap();
    assert_eq!(
        (
            count.0.load(Ordering::SeqCst),
            count.1.load(Ordering::SeqCst)
        ),
        (3, 0)
    );
    // A build log.
    let log = Download {
        url: paths.build_log(&build, "noarch", "build.log"),
        size: None,
        check: Check::Whole,
    };
    let got = downloader.fetch(&log, &NoProgress).await.unwrap();
    assert!(
        std::fs::read_to_string(got)
            .unwrap()
            .contains("tk-hello-1.2-3.fc44")
    );
}

#[tokio::test]
async fn a_download_that_is_not_what_koji_said_is_never_used() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = start(dir.path()).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub")).unwrap();
    let paths = PathInfo::new(&format!("http://{addr}/kojipkgs"));
    let build = koji
        .get_build(&BuildRef::Nvr("tk-hello-1.2-3.fc44".into()))
        .await
        .unwrap()
        .unwrap();
    let rpm = koji
        .list_rpms(build.id, Some(&["src".to_owned()]))
        .await
        .unwrap()
        .remove(0);
    let cache = tempfile::tempdir().unwrap();
    let downloader = Downloader::new(cache.path())
        .unwrap()
        .with_retry(quick_retry(2));
    let good = Download::rpm(&paths, &build, &rpm);

    let wrong_hash = Download {
        check: Check::RpmSigmd5("0".repeat(32)),
        ..good.clone()
    };
    let err = downloader
        .fetch(&wrong_hash, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, KojiError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("payloadhash"), "{err}");
    let wrong_size = Download {
        size: Some(rpm.size.unwrap() + 1),
        ..good.clone()
    };
    let err = downloader
        .fetch(&wrong_size, &NoProgress)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("bytes"), "{err}");
    let missing = Download {
        url: good.url.replace("src/", "x86_64/"),
        ..good.clone()
    };
    let err = downloader.fetch(&missing, &NoProgress).await.unwrap_err();
    assert!(matches!(err, KojiError::Http { status: 404, .. }), "{err}");
    // Nothing of those is left in the cache, not even a partial file.
    let mut left = Vec::new();
    let mut stack = vec![cache.path().to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                left.push(path);
            }
        }
    }
    assert!(left.is_empty(), "{left:?}");
    // The right one is fine.
    downloader.fetch(&good, &NoProgress).await.unwrap();
}

/// A hub that answers 503 to the first `failures` requests, then passes
/// them to the fake hub.
async fn flaky_hub(dir: &std::path::Path, failures: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let real = start(dir).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().route(
        "/kojihub",
        axum::routing::post(move |body: String| {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) < failures {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "<html>maintenance</html>".to_owned(),
                    );
                }
                let answer = common::post_text(&format!("http://{real}/kojihub"), body).await;
                (axum::http::StatusCode::OK, answer)
            }
        }),
    );
    (common::serve(app).await, seen)
}

#[tokio::test]
async fn a_failing_hub_is_retried_and_then_reported() {
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let (addr, seen) = flaky_hub(dir.path(), 2).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub"))
        .unwrap()
        .with_retry(quick_retry(3));
    let event = koji.get_last_event().await.unwrap();
    assert!(event.id >= 1000);
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    let (addr, _) = flaky_hub(dir.path(), 10).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub"))
        .unwrap()
        .with_retry(quick_retry(2));
    let err = koji.get_last_event().await.unwrap_err();
    assert!(matches!(err, KojiError::Http { status: 503, .. }), "{err}");
    assert!(err.to_string().contains("maintenance"), "{err}");

    // Nobody listening: a transport error, retried, then reported.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let koji = KojiClient::new(&format!("http://{closed}/kojihub"))
        .unwrap()
        .with_retry(quick_retry(2));
    let err = koji.get_last_event().await.unwrap_err();
    assert!(matches!(err, KojiError::Transport { .. }), "{err}");
}

#[tokio::test]
async fn an_answer_that_is_not_xml_rpc_names_what_came() {
    let app = axum::Router::new().route(
        "/kojihub",
        axum::routing::post(|| async { "<html><title>Login required</title></html>" }),
    );
    let addr = common::serve(app).await;
    let koji = KojiClient::new(&format!("http://{addr}/kojihub")).unwrap();
    let err = koji.get_last_event().await.unwrap_err();
    assert!(matches!(err, KojiError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("Login required"), "{err}");
    assert!(!err.is_retryable());
}
