//! `taskotron fake-infra` as a command: it serves a directory, prints where,
//! answers Koji and Bodhi clients, and stops on SIGTERM; a directory it
//! cannot serve is an error naming the file.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{output, taskotron, texts};

fn stop(child: &mut std::process::Child) -> Option<i32> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap().code()
}

#[tokio::test(flavor = "multi_thread")]
async fn it_serves_a_directory_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("infra.yaml"),
        "koji:\n  builds:\n    - nvr: foo-1.0-1.fc44\n      tags: [f44]\nbodhi:\n  releases:\n    - name: F44\n  updates:\n    - builds: [foo-1.0-1.fc44]\n      release: F44\n",
    )
    .unwrap();
    let mut child = taskotron(dir.path())
        .args(["fake-infra", "--dir", ".", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let hub = first.strip_prefix("Koji hub:").unwrap().trim().to_owned();
    let koji = taskotron_koji::KojiClient::new(&hub).unwrap();
    let build = koji
        .get_build(&taskotron_koji::BuildRef::Nvr("foo-1.0-1.fc44".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(build.name, "foo");
    let rest: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    let bodhi_line = rest.iter().find(|it| it.starts_with("Bodhi:")).unwrap();
    let bodhi =
        taskotron_bodhi::BodhiClient::new(bodhi_line.strip_prefix("Bodhi:").unwrap().trim())
            .unwrap();
    let updates = bodhi
        .updates(&taskotron_bodhi::UpdateQuery::default())
        .await
        .unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].builds[0].nvr, "foo-1.0-1.fc44");
    assert_eq!(stop(&mut child), Some(0));
}

#[test]
fn a_bad_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("infra.yaml"),
        "koji:\n  builds:\n    - nvr: foo\n",
    )
    .unwrap();
    let out =
        output(taskotron(dir.path()).args(["fake-infra", "--dir", ".", "--listen", "127.0.0.1:0"]));
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not name-version-release"), "{stderr}");
    let missing = output(taskotron(dir.path()).args([
        "fake-infra",
        "--dir",
        "nope",
        "--listen",
        "127.0.0.1:0",
    ]));
    let (_, stderr) = texts(&missing);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}
