//! The watched directory: RPM files that appear and edits of `infra.yaml`
//! change the fake while it runs, as the admin API would, messages
//! included.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::time::Duration;

use serde_json::Value;
use taskotron_fake_infra::BackgroundOptions;
use taskotron_fake_infra::messages::MessageOptions;
use taskotron_koji::{BuildRef, KojiClient};

fn topics(listed: &Value) -> Vec<String> {
    listed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            it["topic"]
                .as_str()
                .unwrap()
                .trim_start_matches("org.fedoraproject.prod.")
                .to_owned()
        })
        .collect()
}

fn has_total(n: usize) -> impl Fn(&Value) -> bool {
    move |it| it["total"] == n
}

#[tokio::test(flavor = "multi_thread")]
async fn new_rpms_and_infra_yaml_edits_change_the_fake() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("infra.yaml");
    std::fs::write(
        &yaml,
        "koji:\n  builds:\n    - nvr: tk-base-1.0-1.fc44\n      owner: carol\nbodhi:\n  releases:\n    - name: F44\n",
    )
    .unwrap();
    // Built elsewhere, moved in whole.
    let staging = tempfile::tempdir().unwrap();
    let Some(built) = common::rpmbuild("tk-hello.spec", &[], staging.path()) else {
        return;
    };
    let background = BackgroundOptions {
        amqp: None,
        watch: Some(Duration::from_millis(100)),
    };
    let addr = taskotron_fake_infra::spawn_with(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        MessageOptions::default(),
        &background,
    )
    .await
    .unwrap();
    let base = format!("http://{addr}");
    let koji = KojiClient::new(&format!("{base}/kojihub")).unwrap();
    let hello = BuildRef::Nvr("tk-hello-1.2-3.fc44".into());
    assert!(koji.get_build(&hello).await.unwrap().is_none());

    let rpms = dir.path().join("new");
    std::fs::create_dir(&rpms).unwrap();
    for path in &built {
        std::fs::rename(path, rpms.join(path.file_name().unwrap())).unwrap();
    }
    let listed = common::wait_for_messages(&base, Duration::from_secs(10), has_total(2)).await;
    assert_eq!(topics(&listed), ["buildsys.build.state.change"; 2]);
    assert_eq!(listed["messages"][1]["body"]["name"], "tk-hello");
    assert_eq!(listed["messages"][1]["body"]["new"], 1);
    let build = koji.get_build(&hello).await.unwrap().unwrap();
    assert_eq!(build.name, "tk-hello");
    let rpms = koji.list_rpms(build.id, None).await.unwrap();
    assert_eq!(rpms.len(), built.len());

    // Tag a build, add an update and a build.
    std::fs::write(
        &yaml,
        "koji:\n  builds:\n    - nvr: tk-base-1.0-1.fc44\n      owner: carol\n      tags: [f44]\n    - nvr: tk-new-2-1.fc44\n      task_id: 0\n\
         bodhi:\n  releases:\n    - name: F44\n  updates:\n    - alias: FEDORA-2026-0000000bee\n      builds: [tk-hello-1.2-3.fc44]\n      release: F44\n      status: pending\n      request: testing\n",
    )
    .unwrap();
    let listed = common::wait_for_messages(&base, Duration::from_secs(10), has_total(6)).await;
    assert_eq!(
        topics(&listed)[2..],
        [
            "buildsys.tag",
            "buildsys.build.state.change",
            "bodhi.update.request.testing",
            "bodhi.update.status.testing.koji-build-group.build.complete",
        ]
    );
    assert_eq!(listed["messages"][2]["body"]["tag"], "f44");
    assert_eq!(listed["messages"][2]["body"]["user"], "carol");
    assert_eq!(listed["messages"][3]["body"]["name"], "tk-new");
    assert_eq!(
        listed["messages"][5]["body"]["artifact"]["builds"][0]["id"],
        build.id
    );

    // A broken file changes nothing...
    std::fs::write(&yaml, "koji:\n  builds: [\n").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(common::messages(&base).await["total"], 6);

    // ...until it is fixed: the update goes stable, the tag goes.
    std::fs::write(
        &yaml,
        "koji:\n  builds:\n    - nvr: tk-base-1.0-1.fc44\n      owner: carol\n    - nvr: tk-new-2-1.fc44\n      task_id: 0\n\
         bodhi:\n  releases:\n    - name: F44\n  updates:\n    - alias: FEDORA-2026-0000000bee\n      builds: [tk-hello-1.2-3.fc44]\n      release: F44\n      status: stable\n",
    )
    .unwrap();
    let listed = common::wait_for_messages(&base, Duration::from_secs(10), has_total(8)).await;
    assert_eq!(
        topics(&listed)[6..],
        ["buildsys.untag", "bodhi.update.complete.stable"]
    );
    let update: Value = reqwest::get(format!("{base}/bodhi/updates/FEDORA-2026-0000000bee"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(update["update"]["status"], "stable");
    assert_eq!(update["update"]["request"], Value::Null);
}
