//! `taskotron check upgradepath` against `fake-infra` serving RPMs built here
//! with rpmbuild: a build newer than a higher release fails, a pending build
//! of the higher release makes it INFO, a stable one passes; a newer build in
//! a lower release fails; epochs come from Koji; bad input is an error.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions fail loudly"
)]

mod check_support;
mod common;

use check_support::{admin, build, fake_infra};
use common::{taskotron, texts};
use serde_json::{Value as Json, json};

const INFRA: &str = "koji:
  tags: [f43, f43-updates, f43-updates-pending, f44, f44-updates, f44-updates-pending,
         f45, f45-updates, f45-updates-pending, f46, f46-updates, f46-updates-pending]
  builds:
    - nvr: tk-up-1.0-1.fc43
      tags: [f43]
    - nvr: tk-up-1.1-1.fc44
      tags: [f44-updates-candidate, f44-updates-pending]
    - nvr: tk-up-1.0-1.fc45
      tags: [f45]
    - nvr: tk-up-1.2-1.fc45
      tags: [f45-updates-candidate]
    - nvr: tk-up-1.5-1.fc43
      tags: [f43-updates-candidate]
    - nvr: tk-ep-2.0-1.fc44
      tags: [f44-updates-pending]
    - nvr: tk-ep-0.5-1.fc45
      epoch: 1
      tags: [f45]
bodhi:
  releases:
    - name: F42
      state: archived
    - name: F43
    - name: F44
    - name: F45
      state: pending
  updates:
    - alias: FEDORA-2026-00000000up
      builds: [tk-up-1.1-1.fc44]
      release: F44
      request: stable
";

struct Setup {
    dir: tempfile::TempDir,
    base: String,
}

async fn setup() -> Option<Setup> {
    let dir = tempfile::tempdir().unwrap();
    let rpms = dir.path().join("rpms");
    for (name, version, dist, epoch) in [
        ("tk-up", "1.0", ".fc43", None),
        ("tk-up", "1.5", ".fc43", None),
        ("tk-up", "1.1", ".fc44", None),
        ("tk-up", "1.0", ".fc45", None),
        ("tk-up", "1.2", ".fc45", None),
        ("tk-ep", "2.0", ".fc44", None),
        ("tk-ep", "0.5", ".fc45", Some("1")),
    ] {
        build(name, version, dist, epoch, &rpms)?;
    }
    std::fs::write(dir.path().join("infra.yaml"), INFRA).unwrap();
    let base = fake_infra(dir.path()).await;
    Some(Setup { dir, base })
}

impl Setup {
    fn check(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = taskotron(self.dir.path())
            .env("TASKOTRON_CONFIG", "taskotron.toml")
            .args(["check", "upgradepath"])
            .args(args)
            .output()
            .unwrap();
        let (stdout, stderr) = texts(&out);
        (out.status.code(), stdout, stderr)
    }

    fn json(&self, args: &[&str]) -> (Option<i32>, Json) {
        let mut all = args.to_vec();
        all.push("--json");
        let (code, stdout, stderr) = self.check(&all);
        let json = serde_json::from_str(&stdout)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}\n{stderr}"));
        (code, json)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upgradepath_follows_koji_and_bodhi() {
    let Some(setup) = setup().await else {
        return;
    };

    // F45 has only 1.0: pushing 1.1 to F44 breaks the path. F42 is archived
    // and does not count; F43's 1.0 is older.
    let (code, body) = setup.json(&["--update", "FEDORA-2026-00000000up"]);
    assert_eq!(code, Some(1), "{body:#}");
    assert_eq!(body["outcome"], "FAILED");
    assert_eq!(body["update"], "FEDORA-2026-00000000up");
    let result = &body["results"][0];
    assert_eq!(result["item"], "tk-up-1.1-1.fc44");
    assert_eq!(result["release"], "F44");
    assert_eq!(
        result["note"],
        "tk-up-1.1-1.fc44 into F44: F45: tk-up-1.0-1.fc45 is older than tk-up-1.1-1.fc44"
    );
    let releases: Vec<&str> = result["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["release"].as_str().unwrap())
        .collect();
    assert_eq!(releases, ["F43", "F45"]);
    assert_eq!(result["comparisons"][0]["latest"], "tk-up-1.0-1.fc43");
    assert_eq!(result["comparisons"][0]["verdict"], "OK");
    assert_eq!(
        result["comparisons"][1]["stable_tags"],
        json!(["f45", "f45-updates"])
    );

    // A tag: its latest builds, in the tag's release.
    let (code, body) = setup.json(&["--tag", "f44-updates-pending"]);
    assert_eq!(code, Some(1), "{body:#}");
    assert_eq!(body["tag"], "f44-updates-pending");
    let verdicts: Vec<(&str, &str, &str)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            (
                it["item"].as_str().unwrap(),
                it["release"].as_str().unwrap(),
                it["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("tk-ep-2.0-1.fc44", "F44", "PASSED"),
            ("tk-up-1.1-1.fc44", "F44", "FAILED")
        ]
    );

    // 1.2 pending push to F45's stable updates: INFO, they must go together.
    admin(
        &setup.base,
        "/admin/koji/tag",
        json!({"build": "tk-up-1.2-1.fc45", "tag": "f45-updates-pending"}),
    )
    .await;
    let (code, body) = setup.json(&["tk-up-1.1-1.fc44"]);
    assert_eq!(code, Some(0), "{body:#}");
    assert_eq!(body["outcome"], "INFO");
    let note = body["results"][0]["note"].as_str().unwrap();
    assert!(
        note.contains("F45: only tk-up-1.2-1.fc45 (f45-updates-pending) is not older"),
        "{note}"
    );

    // Once it is stable in F45 the path is kept; the text report says so.
    admin(
        &setup.base,
        "/admin/koji/tag",
        json!({"build": "tk-up-1.2-1.fc45", "tag": "f45-updates"}),
    )
    .await;
    let (code, stdout, stderr) = setup.check(&["tk-up-1.1-1.fc44"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "tk-up-1.1-1.fc44 into F44\n============================================================\n[ OK ] F43 (f43 + f43-updates)\n\tLatest package: tk-up-1.0-1.fc43\n\tLatest pending package: None\n[ OK ] F45 (f45 + f45-updates)\n\tLatest package: tk-up-1.2-1.fc45\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("RESULT: PASSED\n\nupgradepath: PASSED\n"),
        "{stdout}"
    );

    // A newer build reaching F43's updates breaks the path from below.
    admin(
        &setup.base,
        "/admin/koji/tag",
        json!({"build": "tk-up-1.5-1.fc43", "tag": "f43-updates"}),
    )
    .await;
    let (code, body) = setup.json(&["tk-up-1.1-1.fc44"]);
    assert_eq!(code, Some(1), "{body:#}");
    assert_eq!(
        body["results"][0]["note"],
        "tk-up-1.1-1.fc44 into F44: F43: tk-up-1.5-1.fc43 is newer than tk-up-1.1-1.fc44"
    );

    // The epoch comes from Koji: 1:0.5 in F45 is newer than 2.0 in F44.
    let (code, body) = setup.json(&["tk-ep-2.0-1.fc44"]);
    assert_eq!(code, Some(0), "{body:#}");
    assert_eq!(
        body["results"][0]["comparisons"][1]["latest"],
        "1:tk-ep-0.5-1.fc45"
    );
    // --release places a build explicitly: as an F43 build, only F44's
    // pending 2.0 (itself) keeps the path there: INFO.
    let (code, body) = setup.json(&["tk-ep-2.0-1.fc44", "--release", "F43"]);
    assert_eq!(code, Some(0), "{body:#}");
    assert_eq!(body["results"][0]["release"], "F43");
    assert_eq!(body["outcome"], "INFO");
}

#[tokio::test(flavor = "multi_thread")]
async fn upgradepath_refuses_what_it_cannot_check() {
    let Some(setup) = setup().await else {
        return;
    };
    for (args, want) in [
        (
            vec!["tk-none-1-1.fc44"],
            "Koji has no build tk-none-1-1.fc44",
        ),
        (
            vec!["--update", "FEDORA-2026-ffffffffff"],
            "Bodhi has no update FEDORA-2026-ffffffffff",
        ),
        (
            vec!["--tag", "nope-updates"],
            "Koji tag `nope-updates` belongs to no Bodhi release",
        ),
        (
            vec!["tk-up-1.1-1.fc44", "--release", "F7"],
            "release `F7` is not among the releases Bodhi lists",
        ),
    ] {
        let (code, stdout, stderr) = setup.check(&args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    // Neither an update nor a build: a usage error.
    let (code, _, stderr) = setup.check(&[]);
    assert_eq!(code, Some(2), "{stderr}");
}
