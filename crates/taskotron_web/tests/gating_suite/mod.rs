//! The HTTP-level suite of the Greenwave and WaiverDB behaviours of
//! resultsdb-api.md §4 and §5, written once and run two ways: in-process
//! against the router on both backends (`gating_spec.rs` in
//! `taskotron_web`), and against a spawned `taskotron serve` on its own
//! data directory and PostgreSQL schema (`gating_serve.rs` in
//! `taskotron`). Each scenario takes anything that sends HTTP requests
//! ([`Http`]) to a server set up as [`POLICIES`], [`TOKENS`],
//! [`SUPERUSERS`], [`PERMISSION`] and [`OUTCOMES`] say, asking Koji and
//! dist-git from a `fake-infra` directory [`write_infra`] fills, and uses
//! subjects of its own, so the scenarios can share one server.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "shared test helpers: each runner uses all of them, and they fail loudly"
)]

use std::future::Future;
use std::path::Path;

use serde_json::{Value, json};

/// The server's policies.
pub(crate) const POLICIES: &str = "--- !Policy
id: builds
product_versions: [fedora-*]
decision_context: gate
subject_type: koji_build
rules:
  - !PassingTestCaseRule {test_case_name: dist.install}
--- !Policy
id: composes
product_versions: [fedora-*]
decision_context: gate
subject_type: compose
rules:
  - !PassingTestCaseRule {test_case_name: compose.boot}
--- !Policy
id: things
product_versions: [fedora-*]
decision_context: gate
subject_type: my_thing
rules:
  - !PassingTestCaseRule {test_case_name: thing.check}
--- !Policy
id: testing
product_versions: [fedora-*]
decision_contexts: [bodhi_update_push_testing]
subject_type: koji_build
excluded_packages: [skipme]
rules:
  - !PassingTestCaseRule {test_case_name: dist.depcheck}
  - !PassingTestCaseRule {test_case_name: dist.rpmlint}
--- !Policy
id: remote
product_versions: [fedora-*]
decision_context: bodhi_update_push_stable
subject_type: koji_build
rules:
  - !RemoteRule {required: false}
--- !Policy
id: remote-stable
product_versions: [fedora-*]
decision_contexts: [remote_stable]
subject_type: koji_build
rules:
  - !RemoteRule {required: true}
--- !Policy
id: remote-testing
product_versions: [fedora-*]
decision_contexts: [remote_testing]
subject_type: koji_build
rules:
  - !RemoteRule {}
  - !PassingTestCaseRule {test_case_name: dist.new, valid_since: 2026-06-01}
  - !PassingTestCaseRule {test_case_name: dist.old, valid_until: 2026-06-01}
";

/// The builds the fake Koji knows.
const INFRA: &str = "koji:
  builds:
    - nvr: good-1.0-1.fc44
      completed: 2026-11-20T10:20:00Z
      source: git+https://src.fedoraproject.org/rpms/good.git#abc123
    - nvr: broken-1.0-1.fc44
      completed: 2026-01-10T10:00:00Z
      source: git+https://src.fedoraproject.org/rpms/broken.git#def456
    - nvr: bare-1.0-1.fc44
      completed: 2026-01-10T10:00:00Z
      source: git+https://src.fedoraproject.org/rpms/bare.git#789abc
";

/// The gating.yaml of the good build.
const GOOD_GATING: &str = "--- !Policy
product_versions: [fedora-*]
decision_contexts: [remote_stable, remote_testing]
rules:
  - !PassingTestCaseRule {test_case_name: dist.fromgit}
--- !Policy
decision_context: a_context_no_server_policy_has
rules:
  - !PassingTestCaseRule {test_case_name: dist.never}
";

/// Fill a `fake-infra` directory: Koji's builds and dist-git's gating.yaml
/// files. The server asks its Koji hub at `<base>/kojihub` and dist-git at
/// `<base>/distgit`.
pub(crate) fn write_infra(dir: &Path) {
    let write = |path: &str, text: &str| {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    write("infra.yaml", INFRA);
    write("distgit/rpms/good/abc123/gating.yaml", GOOD_GATING);
    write(
        "distgit/rpms/broken/def456/gating.yaml",
        "--- !Policy\nrules:\n  - !RemoteRule {}\n",
    );
}

/// The API's tokens (name, token).
pub(crate) const TOKENS: [(&str, &str); 3] = [
    ("alice", "alice-token"),
    ("bob", "bob-token"),
    ("bodhi", "bodhi-token"),
];

/// Who may waive for someone else.
pub(crate) const SUPERUSERS: [&str; 1] = ["bodhi"];

/// The one permission entry: (test case globs, ignored globs, users).
pub(crate) const PERMISSION: (&[&str], &[&str], &[&str]) =
    (&["*"], &["dist.secret*"], &["alice", "bodhi"]);

/// The outcomes accepted besides ResultsDB's four (`serve`'s default).
pub(crate) const OUTCOMES: [&str; 5] = ["ABORTED", "CRASHED", "QUEUED", "RUNNING", "ERROR"];

/// One HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// Header names in lower case.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    pub(crate) fn pair(&self) -> (u16, Value) {
        (self.status, self.json())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Something that sends a request to the server (a path from its root,
/// redirects not followed).
pub(crate) trait Http {
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> impl Future<Output = Reply>;
}

const JSON: (&str, &str) = ("content-type", "application/json");

async fn post<H: Http>(api: &H, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let mut headers = vec![JSON];
    if !token.is_empty() {
        headers.push(("authorization", auth.as_str()));
    }
    api.send("POST", path, &headers, &body.to_string())
        .await
        .pair()
}

async fn get<H: Http>(api: &H, path: &str) -> (u16, Value) {
    api.send("GET", path, &[], "").await.pair()
}

/// POST a result (as alice) that must be accepted; its JSON.
async fn result<H: Http>(api: &H, body: &Value) -> Value {
    let (status, answer) = post(api, "/api/v2.0/results", "alice-token", body).await;
    assert_eq!(status, 201, "POST /results {body}: {answer}");
    answer
}

/// A koji_build result: its id.
async fn build_result<H: Http>(api: &H, testcase: &str, nvr: &str, outcome: &str) -> i64 {
    let answer = result(
        api,
        &json!({"testcase": {"name": testcase}, "outcome": outcome,
            "data": {"item": nvr, "type": "koji_build"}}),
    )
    .await;
    answer["id"].as_i64().expect("an id")
}

async fn decide<H: Http>(api: &H, body: &Value) -> (u16, Value) {
    post(api, "/api/v1.0/decision", "", body).await
}

/// A decision in the `gate` context.
async fn decide_gate<H: Http>(
    api: &H,
    subject_type: &str,
    item: &str,
    extra: &Value,
) -> (u16, Value) {
    let mut body = json!({"product_version": "fedora-44", "decision_context": "gate",
        "subject_type": subject_type, "subject_identifier": item});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    decide(api, &body).await
}

/// A waiver (as `token`'s user).
async fn waive<H: Http>(api: &H, token: &str, body: &Value) -> (u16, Value) {
    post(api, "/api/v1.0/waivers/", token, body).await
}

/// The requirements' types and architectures, sorted.
fn kinds(answer: &Value, list: &str) -> Vec<String> {
    let mut out: Vec<String> = answer[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            format!(
                "{} {}",
                it["type"].as_str().unwrap_or_default(),
                it["system_architecture"].as_str().unwrap_or("-")
            )
        })
        .collect();
    out.sort();
    out
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|it| it["id"].as_i64())
        .collect()
}

/// Every scenario, one after the other, on one server whose fake
/// infrastructure answers at `infra` (`http://host:port`).
pub(crate) async fn all<H: Http>(api: &H, infra: &str) {
    decisions_follow_the_results(api).await;
    subject_types_as_greenwave_ships_them(api).await;
    every_latest_result_scenario_waivers_and_when(api).await;
    bad_requests_say_what_is_wrong(api).await;
    the_other_greenwave_endpoints(api).await;
    waivers_are_written_read_revoked_and_applied(api).await;
    who_may_waive_what(api).await;
    the_deprecated_waiver_query(api).await;
    remote_rules_and_validity_windows(api, infra).await;
}

/// §5.2: `+by-subjects-and-testcases`, the deprecated query in the old
/// subject-dict format: subjects and test cases ORed within, ANDed
/// together, the newest waiver per key unless `include_obsolete`.
pub(crate) async fn the_deprecated_waiver_query<H: Http>(api: &H) {
    let (first, second) = ("dq-1.0-1.fc44", "dq-2.0-1.fc44");
    let waiver = |nvr: &str, testcase: &str, waived: bool| {
        json!({"subject_type": "koji_build", "subject_identifier": nvr,
            "testcase": testcase, "product_version": "fedora-44",
            "waived": waived, "comment": "known flake"})
    };
    for body in [
        waiver(first, "dist.rpmlint", true),
        waiver(first, "dist.depcheck", true),
        waiver(second, "dist.rpmlint", true),
        waiver(first, "dist.rpmlint", false),
    ] {
        let (status, answer) = waive(api, "alice-token", &body).await;
        assert_eq!(status, 201, "{body}: {answer}");
    }
    let path = "/api/v1.0/waivers/+by-subjects-and-testcases";
    let keys = |answer: &Value| -> Vec<(String, String, bool)> {
        answer["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|it| {
                (
                    it["subject_identifier"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    it["testcase"].as_str().unwrap_or_default().to_owned(),
                    it["waived"].as_bool().unwrap_or_default(),
                )
            })
            .collect()
    };
    let key =
        |nvr: &str, testcase: &str, waived: bool| (nvr.to_owned(), testcase.to_owned(), waived);
    let (status, answer) = post(
        api,
        path,
        "",
        &json!({"subject": [{"type": "koji_build", "item": first}, {"original_spec_nvr": second}],
                "testcase": ["dist.rpmlint"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        keys(&answer),
        [
            key(first, "dist.rpmlint", false),
            key(second, "dist.rpmlint", true)
        ]
    );
    let (_, answer) = post(
        api,
        path,
        "",
        &json!({"subject": [{"type": "koji_build", "item": first}], "include_obsolete": true}),
    )
    .await;
    assert_eq!(
        keys(&answer),
        [
            key(first, "dist.rpmlint", false),
            key(first, "dist.depcheck", true),
            key(first, "dist.rpmlint", true),
        ]
    );
    let (status, answer) = post(api, path, "", &json!({"subject": {"item": first}})).await;
    assert_eq!(status, 400, "{answer}");
}

/// §4.2: requirements of every kind, the summary, Bodhi's subject list,
/// excluded packages, verbose answers, on-demand rules, `ignore_result`,
/// CI results by `original_spec_nvr`, a remote rule without Koji.
pub(crate) async fn decisions_follow_the_results<H: Http>(api: &H) {
    let nvr = "dec-1.0-1.fc44";
    let ask = json!({"product_version": "fedora-44",
        "decision_context": "bodhi_update_push_testing",
        "subject_type": "koji_build", "subject_identifier": nvr});
    let (status, answer) = decide(api, &ask).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["policies_satisfied"], false);
    assert_eq!(answer["applicable_policies"], json!(["testing"]));
    assert_eq!(answer["summary"], "Of 2 required tests, 2 results missing");
    assert_eq!(
        answer["unsatisfied_requirements"][0],
        json!({"type": "test-result-missing", "testcase": "dist.depcheck",
            "subject_type": "koji_build", "subject_identifier": nvr,
            "scenario": null, "source": null,
            "item": {"type": "koji_build", "item": nvr}})
    );

    let depcheck = build_result(api, "dist.depcheck", nvr, "PASSED").await;
    build_result(api, "dist.rpmlint", nvr, "FAILED").await;
    build_result(api, "dist.rpmlint", "dec-other-1-1.fc44", "PASSED").await;
    let (_, answer) = decide(api, &ask).await;
    assert_eq!(answer["summary"], "Of 2 required tests, 1 test failed");
    let passed = &answer["satisfied_requirements"][0];
    assert_eq!(passed["type"], "test-result-passed");
    assert_eq!(passed["result_id"], depcheck);
    assert_eq!(passed["system_architecture"], Value::Null);
    assert_eq!(
        answer["unsatisfied_requirements"][0]["type"],
        "test-result-failed"
    );
    assert_eq!(
        answer["unsatisfied_requirements"][0]["item"],
        json!({"type": "koji_build", "item": nvr})
    );

    // ERROR is errored, with its reason; RUNNING is incomplete (missing,
    // with the result's id).
    let errored = result(
        api,
        &json!({"testcase": {"name": "dist.rpmlint"}, "outcome": "ERROR",
            "data": {"item": nvr, "type": "koji_build", "error_reason": "disk full"}}),
    )
    .await;
    let (_, answer) = decide(api, &ask).await;
    assert_eq!(answer["summary"], "Of 2 required tests, 1 test errored");
    let requirement = &answer["unsatisfied_requirements"][0];
    assert_eq!(requirement["type"], "test-result-errored");
    assert_eq!(requirement["error_reason"], "disk full");
    assert_eq!(requirement["result_id"], errored["id"]);
    let running = build_result(api, "dist.rpmlint", nvr, "RUNNING").await;
    let (_, answer) = decide(api, &ask).await;
    assert_eq!(answer["summary"], "Of 2 required tests, 1 test incomplete");
    let requirement = &answer["unsatisfied_requirements"][0];
    assert_eq!(requirement["type"], "test-result-missing");
    assert_eq!(requirement["result_id"], running);

    // The newest result counts.
    let fixed = build_result(api, "dist.rpmlint", nvr, "PASSED").await;
    let (_, answer) = decide(api, &ask).await;
    assert_eq!(answer["policies_satisfied"], true, "{answer}");
    assert_eq!(
        answer["summary"],
        "All required tests (2 total) have passed or been waived"
    );
    assert_eq!(answer["unsatisfied_requirements"], json!([]));

    // ignore_result leaves a result out; an older one does not take its place.
    let mut ignoring = ask.clone();
    ignoring["ignore_result"] = json!([fixed]);
    let (_, answer) = decide(api, &ignoring).await;
    assert_eq!(answer["summary"], "Of 2 required tests, 1 result missing");

    // Bodhi's shape: the builds and the update; an excluded package; verbose
    // results exactly as the ResultsDB API shows them.
    let (status, answer) = decide(
        api,
        &json!({"product_version": "fedora-44",
            "decision_context": "bodhi_update_push_testing",
            "subject": [{"type": "koji_build", "item": nvr},
                {"type": "koji_build", "item": "skipme-1-1.fc44"},
                {"type": "bodhi_update", "item": "FEDORA-2026-dec"}],
            "verbose": true}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["policies_satisfied"], true, "{answer}");
    assert!(
        kinds(&answer, "satisfied_requirements").contains(&"excluded -".to_owned()),
        "{answer}"
    );
    let results = answer["results"].as_array().expect("verbose results");
    assert_eq!(results.len(), 2, "{answer}");
    for shown in results {
        let (_, stored) = get(api, &format!("/api/v2.0/results/{}", shown["id"])).await;
        assert_eq!(shown, &stored);
    }
    assert_eq!(answer["waivers"], json!([]));

    // Several builds: each result counts for its own build.
    build_result(api, "dist.depcheck", "dec-two-2-1.fc44", "FAILED").await;
    build_result(api, "dist.rpmlint", "dec-two-2-1.fc44", "PASSED").await;
    let (_, answer) = decide(
        api,
        &json!({"product_version": "fedora-44",
            "decision_context": "bodhi_update_push_testing",
            "subject": [{"type": "koji_build", "item": nvr},
                {"type": "koji_build", "item": "dec-two-2-1.fc44"}]}),
    )
    .await;
    assert_eq!(
        answer["summary"], "Of 4 required tests, 1 test failed",
        "{answer}"
    );
    assert_eq!(
        answer["unsatisfied_requirements"][0]["subject_identifier"],
        "dec-two-2-1.fc44"
    );

    // CI results name the build in original_spec_nvr.
    let ci = result(
        api,
        &json!({"testcase": {"name": "dist.depcheck"}, "outcome": "PASSED",
            "data": {"original_spec_nvr": "dec-ci-1-1.fc44"}}),
    )
    .await;
    let mut ci_ask = ask.clone();
    ci_ask["subject_identifier"] = json!("dec-ci-1-1.fc44");
    let (_, answer) = decide(api, &ci_ask).await;
    assert_eq!(
        answer["satisfied_requirements"][0]["result_id"], ci["id"],
        "{answer}"
    );

    // On-demand rules: no policy file, no applicable_policies.
    let (status, answer) = decide(
        api,
        &json!({"product_version": "fedora-44", "subject_type": "koji_build",
            "subject_identifier": "dec-other-1-1.fc44",
            "rules": [{"type": "PassingTestCaseRule", "test_case_name": "dist.rpmlint"}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["policies_satisfied"], true, "{answer}");
    assert!(answer.get("applicable_policies").is_none());

    // A remote rule for a build Koji cannot tell about never passes.
    let mut stable = ask.clone();
    stable["decision_context"] = json!("bodhi_update_push_stable");
    let (_, answer) = decide(api, &stable).await;
    assert_eq!(answer["policies_satisfied"], false, "{answer}");
    assert_eq!(
        answer["unsatisfied_requirements"][0]["type"],
        "failed-fetch-gating-yaml"
    );
}

/// §4.1 subject types: the `brew-build` alias, composes by
/// `productmd.compose.id`, a generic type a policy names, `bodhi_update`
/// without a policy, a 404 for a build without one.
pub(crate) async fn subject_types_as_greenwave_ships_them<H: Http>(api: &H) {
    result(
        api,
        &json!({"testcase": {"name": "dist.install"}, "outcome": "PASSED",
            "data": {"item": "a-1-1.fc44", "type": "brew-build"}}),
    )
    .await;
    let (status, answer) = decide_gate(api, "brew-build", "a-1-1.fc44", &json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["policies_satisfied"], true, "{answer}");
    assert_eq!(
        answer["satisfied_requirements"][0]["subject_type"],
        "koji_build"
    );

    result(
        api,
        &json!({"testcase": {"name": "compose.boot"}, "outcome": "FAILED",
            "data": {"productmd.compose.id": "Fedora-44-20261127.n.0"}}),
    )
    .await;
    let (_, answer) = decide_gate(api, "compose", "Fedora-44-20261127.n.0", &json!({})).await;
    assert_eq!(
        kinds(&answer, "unsatisfied_requirements"),
        ["test-result-failed -"]
    );

    result(
        api,
        &json!({"testcase": {"name": "thing.check"}, "outcome": "PASSED",
            "data": {"item": "t-7", "type": "my_thing"}}),
    )
    .await;
    let (_, answer) = decide_gate(api, "my_thing", "t-7", &json!({})).await;
    assert_eq!(answer["policies_satisfied"], true, "{answer}");

    let (status, answer) = decide_gate(api, "bodhi_update", "FEDORA-2026-1", &json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["summary"], "No tests are required");
    assert_eq!(answer["applicable_policies"], json!([]));
    let (status, _) = decide(
        api,
        &json!({"product_version": "epel-9", "decision_context": "gate",
            "subject_type": "koji_build", "subject_identifier": "a-1-1.el9"}),
    )
    .await;
    assert_eq!(status, 404);
}

/// §4.1 and §4.4: every latest result per scenario and architecture,
/// scenario-limited waivers, and `when`.
pub(crate) async fn every_latest_result_scenario_waivers_and_when<H: Http>(api: &H) {
    let nvr = "b-1-1.fc44";
    let post_arch = |arch: &str, outcome: &str| {
        json!({"testcase": {"name": "dist.install"}, "outcome": outcome,
            "data": {"item": nvr, "type": "koji_build", "system_architecture": arch,
                "scenario": format!("fedora.{arch}")}})
    };
    result(api, &post_arch("x86_64", "FAILED")).await;
    result(api, &post_arch("aarch64", "PASSED")).await;
    let (_, answer) = decide_gate(api, "koji_build", nvr, &json!({})).await;
    assert_eq!(
        kinds(&answer, "unsatisfied_requirements"),
        ["test-result-failed x86_64"]
    );
    assert_eq!(
        kinds(&answer, "satisfied_requirements"),
        ["test-result-passed aarch64"]
    );
    let failed_at = chrono::Utc::now().naive_utc();

    // A waiver for another scenario does not cover it; one for its scenario does.
    for (scenario, expect) in [("fedora.aarch64", false), ("fedora.x86_64", true)] {
        let (status, created) = waive(
            api,
            "alice-token",
            &json!({"subject_type": "koji_build", "subject_identifier": nvr,
                "testcase": "dist.install", "scenario": scenario,
                "product_version": "fedora-44", "comment": "arch-specific flake"}),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let (_, decision) = decide_gate(api, "koji_build", nvr, &json!({})).await;
        assert_eq!(
            decision["policies_satisfied"], expect,
            "{scenario}: {decision}"
        );
    }

    // A newer passing result; asked as of before it (`when`), the failure
    // and no waiver count again.
    result(api, &post_arch("x86_64", "PASSED")).await;
    let (_, now) = decide_gate(api, "koji_build", nvr, &json!({})).await;
    assert_eq!(
        kinds(&now, "satisfied_requirements"),
        ["test-result-passed aarch64", "test-result-passed x86_64"]
    );
    let when = failed_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let (_, then) = decide_gate(api, "koji_build", nvr, &json!({"when": when})).await;
    assert_eq!(
        kinds(&then, "unsatisfied_requirements"),
        ["test-result-failed x86_64"],
        "{then}"
    );
}

/// §4.2 request errors: 400 naming what is wrong, 404 without a policy,
/// 415 without JSON; all `{"message": ...}`.
pub(crate) async fn bad_requests_say_what_is_wrong<H: Http>(api: &H) {
    let base = json!({"product_version": "fedora-44", "decision_context": "gate",
        "subject_type": "koji_build", "subject_identifier": "bad-1-1.fc44"});
    let with = |key: &str, value: Value| {
        let mut it = base.clone();
        it[key] = value;
        it
    };
    let without = |key: &str| {
        let mut it = base.clone();
        if let Some(object) = it.as_object_mut() {
            object.remove(key);
        }
        it
    };
    for (body, status, message) in [
        (
            without("product_version"),
            400,
            "Missing required product version",
        ),
        (
            without("decision_context"),
            400,
            "Either decision_context or rules is required.",
        ),
        (
            with("rules", json!([])),
            400,
            "Cannot have both decision_context and rules",
        ),
        (
            without("subject_type"),
            400,
            "Missing required subject_type",
        ),
        (
            without("subject_identifier"),
            400,
            "Missing required subject_identifier",
        ),
        (
            with("subject", json!([{"item": "x"}])),
            400,
            "Invalid subject",
        ),
        (
            with("verbose", json!("yes")),
            400,
            "Invalid verbose flag, must be a boolean",
        ),
        (
            with("when", json!("yesterday")),
            400,
            "Invalid 'when' value",
        ),
        (
            with("ignore_result", json!("1")),
            400,
            "ignore_result must be a list of ids",
        ),
        (
            with("subject_type", json!("no_such_type")),
            400,
            "subject_type: unknown subject type",
        ),
        (
            with("decision_context", json!("nothing_gates_here")),
            404,
            "Found no applicable policies for koji_build subjects at gating point(s) nothing_gates_here in fedora-44",
        ),
    ] {
        let (got, answer) = decide(api, &body).await;
        assert_eq!(got, status, "{body}: {answer}");
        let text = answer["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{body}: {answer}");
    }
    let answer = api.send("POST", "/api/v1.0/decision", &[], "{}").await;
    assert_eq!(answer.status, 415, "{}", answer.text);
    let answer = api
        .send("POST", "/api/v1.0/decision", &[JSON], "{not json")
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.json()["message"].is_string());
}

/// §4.3: the landing page, `/about`, `/version`, `/policies`,
/// `/subject_types`, the CORS preflight, `validate-gating-yaml`,
/// `/healthcheck`, JSONP; and doubled slashes served as single ones.
pub(crate) async fn the_other_greenwave_endpoints<H: Http>(api: &H) {
    let (status, landing) = get(api, "/api/v1.0/").await;
    assert_eq!(status, 200, "{landing}");
    assert!(
        landing["api_v1"]
            .as_str()
            .is_some_and(|it| it.ends_with("/api/v1.0/")),
        "{landing}"
    );
    assert!(
        landing["outcomes_passed"]
            .as_array()
            .is_some_and(|it| it.contains(&json!("PASSED"))),
        "{landing}"
    );
    let (status, about) = get(api, "/api/v1.0/about").await;
    assert_eq!(status, 200);
    assert_eq!(about["version"], "2.3.0");
    assert!(about["taskotron_version"].is_string());
    let answer = api.send("GET", "/api/v1.0/version", &[], "").await;
    assert_eq!(answer.status, 308);
    assert_eq!(answer.header("location"), Some("/api/v1.0/about"));

    let (status, policies) = get(api, "/api/v1.0/policies").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = policies["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|it| it["id"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "builds",
            "composes",
            "things",
            "testing",
            "remote",
            "remote-stable",
            "remote-testing"
        ]
    );
    assert_eq!(
        policies["policies"][3]["rules"][1]["test_case_name"],
        "dist.rpmlint"
    );
    let (status, types) = get(api, "/api/v1.0/subject_types").await;
    assert_eq!(status, 200);
    let koji = types["subject_types"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|it| it["id"] == "koji_build")
        .cloned()
        .unwrap_or_default();
    assert_eq!(koji["aliases"], json!(["brew-build"]), "{types}");

    let preflight = api.send("OPTIONS", "/api/v1.0/decision", &[], "").await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    let gating_yaml = |context: &str| {
        format!(
            "--- !Policy\ndecision_context: {context}\nrules:\n  - !PassingTestCaseRule {{test_case_name: dist.abicheck}}\n"
        )
    };
    for (text, status, fragment) in [
        (gating_yaml("bodhi_update_push_stable"), 200, "All OK"),
        (gating_yaml("elsewhere"), 200, "no parent policy"),
        (
            "--- !Policy\nrules: [!RemoteRule {}]\n".to_owned(),
            400,
            "line",
        ),
    ] {
        let answer = api
            .send("POST", "/api/v1.0/validate-gating-yaml", &[], &text)
            .await;
        assert_eq!(answer.status, status, "{text}: {}", answer.text);
        assert!(
            answer.json()["message"]
                .as_str()
                .is_some_and(|it| it.contains(fragment)),
            "{text}: {}",
            answer.text
        );
    }
    let (status, health) = get(api, "/healthcheck").await;
    assert_eq!(
        (status, health),
        (200, json!({"message": "Health check OK"}))
    );

    // JSONP: ?callback= wraps the JSON of the GET endpoints.
    for path in [
        "/api/v1.0/about",
        "/api/v1.0/policies",
        "/api/v1.0/subject_types",
    ] {
        let (_, plain) = get(api, path).await;
        let answer = api
            .send("GET", &format!("{path}?callback=show.it"), &[], "")
            .await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        assert_eq!(
            answer.header("content-type"),
            Some("application/javascript")
        );
        let inner = answer
            .text
            .strip_prefix("show.it(")
            .and_then(|it| it.strip_suffix(");"))
            .unwrap_or_else(|| panic!("{path}: not wrapped: {}", answer.text));
        assert_eq!(serde_json::from_str::<Value>(inner).ok(), Some(plain));
    }
    let answer = api
        .send("GET", "/api/v1.0/about?callback=alert(1)//", &[], "")
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|it| it.starts_with("callback:"))
    );

    // Doubled slashes, as clients joining a base URL ending in / make them:
    // the same answers, no redirect.
    let ask = json!({"product_version": "fedora-44", "decision_context": "gate",
        "subject_type": "bodhi_update", "subject_identifier": "FEDORA-2026-slash"});
    let single = decide(api, &ask).await;
    let doubled = post(api, "//api/v1.0//decision", "", &ask).await;
    assert_eq!(single.0, 200);
    assert_eq!(doubled, single);
    for path in [
        "//api/v1.0/about",
        "//api/v2.0//results?limit=1",
        "//api/v1.0/waivers/",
        "//healthcheck",
    ] {
        let answer = api.send("GET", path, &[], "").await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    }
}

/// §5.1 and §5.2: waivers written one or many, read by id and in pages,
/// `+filtered`, the subject's three forms, revocation, and waivers in
/// decisions (`verbose`, `ignore_waiver`).
pub(crate) async fn waivers_are_written_read_revoked_and_applied<H: Http>(api: &H) {
    let nvr = "wv-1.0-1.fc44";
    let failed = result(
        api,
        &json!({"testcase": {"name": "dist.rpmlint"}, "outcome": "FAILED",
            "data": {"item": nvr, "type": "koji_build", "scenario": "x86_64"}}),
    )
    .await;
    build_result(api, "dist.depcheck", nvr, "PASSED").await;
    let ask = json!({"product_version": "fedora-44",
        "decision_context": "bodhi_update_push_testing",
        "subject_type": "koji_build", "subject_identifier": nvr, "verbose": true});
    let (_, decision) = decide(api, &ask).await;
    assert_eq!(decision["policies_satisfied"], false, "{decision}");

    let waiver = |waived: bool| {
        json!({"subject_type": "koji_build", "subject_identifier": nvr,
            "testcase": "dist.rpmlint", "product_version": "fedora-44",
            "waived": waived, "comment": "known flake"})
    };
    let (status, created) = waive(api, "alice-token", &waiver(true)).await;
    assert_eq!(status, 201, "{created}");
    for (key, value) in [
        ("subject_type", json!("koji_build")),
        ("subject_identifier", json!(nvr)),
        ("subject", json!({"type": "koji_build", "item": nvr})),
        ("testcase", json!("dist.rpmlint")),
        ("scenario", Value::Null),
        ("username", json!("alice")),
        ("proxied_by", Value::Null),
        ("product_version", json!("fedora-44")),
        ("waived", json!(true)),
        ("comment", json!("known flake")),
    ] {
        assert_eq!(created[key], value, "{key}: {created}");
    }
    assert!(
        created["timestamp"]
            .as_str()
            .is_some_and(|it| it.len() == 26),
        "{created}"
    );
    let id = created["id"].as_i64().expect("an id");
    let (status, one) = get(api, &format!("/api/v1.0/waivers/{id}")).await;
    assert_eq!((status, &one), (200, &created));
    let (status, missing) = get(api, "/api/v1.0/waivers/999999999").await;
    assert_eq!(
        (status, missing["message"].as_str()),
        (404, Some("Waiver not found"))
    );

    // In the decision: the waived form, the waiver exactly as WaiverDB shows it.
    let (_, decision) = decide(api, &ask).await;
    assert_eq!(decision["policies_satisfied"], true, "{decision}");
    let requirement = &decision["satisfied_requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|it| it["testcase"] == "dist.rpmlint")
        .cloned()
        .unwrap_or_default();
    assert_eq!(requirement["type"], "test-result-failed-waived");
    assert_eq!(requirement["waiver_id"], id);
    assert_eq!(requirement["result_id"], failed["id"]);
    assert!(requirement.get("item").is_none(), "{requirement}");
    assert_eq!(decision["waivers"], json!([created]));
    // Another product version's decision does not see it; ignore_waiver
    // leaves it out.
    let mut elsewhere = ask.clone();
    elsewhere["product_version"] = json!("fedora-43");
    let (_, decision) = decide(api, &elsewhere).await;
    assert_eq!(decision["policies_satisfied"], false, "{decision}");
    let mut ignoring = ask.clone();
    ignoring["ignore_waiver"] = json!([id]);
    let (_, decision) = decide(api, &ignoring).await;
    assert_eq!(decision["policies_satisfied"], false, "{decision}");

    // Revoked by a newer waiver with waived: false (bodhi for alice).
    let mut revoke = waiver(false);
    revoke["username"] = json!("alice");
    let (status, revoked) = waive(api, "bodhi-token", &revoke).await;
    assert_eq!(status, 201, "{revoked}");
    assert_eq!(revoked["proxied_by"], "bodhi");
    let (_, decision) = decide(api, &ask).await;
    assert_eq!(decision["policies_satisfied"], false, "{decision}");

    // A list: all written, 201 with a list.
    let mut other = waiver(true);
    other["testcase"] = json!("dist.depcheck");
    let mut compose = waiver(true);
    compose["subject_type"] = json!("compose");
    compose["subject_identifier"] = json!("Fedora-44-wv.n.0");
    let (status, many) = waive(api, "alice-token", &json!([other, compose])).await;
    assert_eq!(status, 201, "{many}");
    assert_eq!(many.as_array().map(Vec::len), Some(2));
    assert_eq!(
        many[1]["subject"],
        json!({"productmd.compose.id": "Fedora-44-wv.n.0"})
    );

    // +filtered keys on subject, test case and scenario: the newest only,
    // unless include_obsolete; filters are ORed.
    let filter = json!({"filters": [{"subject_type": "koji_build", "subject_identifier": nvr,
        "testcase": "dist.rpmlint"}]});
    let (_, found) = post(api, "/api/v1.0/waivers/+filtered", "", &filter).await;
    assert_eq!(ids(&found["data"]), [revoked["id"].as_i64().expect("id")]);
    let mut all = filter.clone();
    all["include_obsolete"] = json!(true);
    let (_, found) = post(api, "/api/v1.0/waivers/+filtered", "", &all).await;
    assert_eq!(found["data"].as_array().map(Vec::len), Some(2));
    let either = json!({"filters": [
        {"subject_type": "koji_build", "subject_identifier": nvr, "testcase": "dist.depcheck"},
        {"subject_type": "compose", "subject_identifier": "Fedora-44-wv.n.0"}]});
    let (_, found) = post(api, "/api/v1.0/waivers/+filtered", "", &either).await;
    let mut expected = ids(&many);
    expected.reverse();
    assert_eq!(ids(&found["data"]), expected);

    // GET /waivers/ keys on the user and product version too, newest
    // first, in pages from 1.
    let list = format!("/api/v1.0/waivers/?subject_identifier={nvr}&limit=1");
    let (_, listed) = get(api, &list).await;
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["prev"], Value::Null);
    assert!(
        listed["next"]
            .as_str()
            .is_some_and(|it| it.contains("page=2")),
        "{listed}"
    );
    let (_, page2) = get(api, &format!("{list}&page=2")).await;
    assert_eq!(page2["data"].as_array().map(Vec::len), Some(1), "{page2}");
    assert_eq!(page2["next"], Value::Null);
    let (_, by_user) = get(
        api,
        &format!(
            "/api/v1.0/waivers/?subject_identifier={nvr}&testcase=dist.rpmlint&username=alice"
        ),
    )
    .await;
    assert_eq!(ids(&by_user["data"]), [revoked["id"].as_i64().expect("id")]);
    let (_, with_obsolete) = get(
        api,
        &format!(
            "/api/v1.0/waivers/?subject_identifier={nvr}&testcase=dist.rpmlint&include_obsolete=1"
        ),
    )
    .await;
    assert_eq!(with_obsolete["data"].as_array().map(Vec::len), Some(2));

    // The subject's other forms: a subject dict, a result id; brew-build
    // is stored as koji_build.
    let (status, from_result) = waive(
        api,
        "alice-token",
        &json!({"result_id": failed["id"], "product_version": "fedora-44", "comment": "fine"}),
    )
    .await;
    assert_eq!(status, 201, "{from_result}");
    assert_eq!(
        (
            &from_result["testcase"],
            &from_result["scenario"],
            &from_result["subject_identifier"]
        ),
        (&json!("dist.rpmlint"), &json!("x86_64"), &json!(nvr))
    );
    let (status, brew) = waive(
        api,
        "alice-token",
        &json!({"subject": {"type": "brew-build", "item": "wv-brew-1-1.fc44"},
            "testcase": "dist.rpmlint", "product_version": "fedora-44", "comment": "c"}),
    )
    .await;
    assert_eq!(status, 201, "{brew}");
    assert_eq!(brew["subject_type"], "koji_build");
    let (status, spec) = waive(
        api,
        "alice-token",
        &json!({"subject": {"original_spec_nvr": "wv-ci-1-1.fc44"},
            "testcase": "dist.rpmlint", "product_version": "fedora-44", "comment": "c"}),
    )
    .await;
    assert_eq!(status, 201, "{spec}");
    assert_eq!(
        spec["subject"],
        json!({"type": "koji_build", "item": "wv-ci-1-1.fc44"})
    );
}

/// §5.3 and the bad input: credentials, proxying by superusers,
/// permissions per test case, and every refusal naming its field with
/// nothing written.
pub(crate) async fn who_may_waive_what<H: Http>(api: &H) {
    let nvr = "who-1-1.fc44";
    let waiver = json!({"subject_type": "koji_build", "subject_identifier": nvr,
        "testcase": "dist.rpmlint", "product_version": "fedora-44", "comment": "flaky"});
    let count = || async {
        let (_, listed) = get(
            api,
            &format!("/api/v1.0/waivers/?subject_identifier={nvr}&include_obsolete=1&limit=100"),
        )
        .await;
        listed["data"].as_array().map_or(0, Vec::len)
    };

    let (status, answer) = waive(api, "", &waiver).await;
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = waive(api, "wrong-token", &waiver).await;
    assert_eq!(status, 401, "{answer}");
    // bob may write but not waive (the permission entry lists alice and bodhi).
    let (status, answer) = waive(api, "bob-token", &waiver).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        answer["message"],
        "User bob is not authorized to submit waivers for the test case dist.rpmlint"
    );
    // alice may not waive dist.secret*, nor waive as someone else.
    let mut secret = waiver.clone();
    secret["testcase"] = json!("dist.secret.check");
    let (status, _) = waive(api, "alice-token", &secret).await;
    assert_eq!(status, 403);
    let mut as_carol = waiver.clone();
    as_carol["username"] = json!("alice2");
    let (status, _) = waive(api, "alice-token", &as_carol).await;
    assert_eq!(status, 403);
    // bodhi may, for alice (judged for alice), not for bob.
    as_carol["username"] = json!("alice");
    let (status, proxied) = waive(api, "bodhi-token", &as_carol).await;
    assert_eq!(status, 201, "{proxied}");
    assert_eq!(
        (proxied["username"].as_str(), proxied["proxied_by"].as_str()),
        (Some("alice"), Some("bodhi"))
    );
    as_carol["username"] = json!("bob");
    let (status, _) = waive(api, "bodhi-token", &as_carol).await;
    assert_eq!(status, 403);
    assert_eq!(count().await, 1);

    // Bad waivers: a 400 naming the field, and nothing written, even for a
    // list with one good waiver.
    for (body, fragment) in [
        (
            json!({"subject_type": "koji_build", "subject_identifier": nvr, "testcase": "t", "comment": "c"}),
            "product_version",
        ),
        (
            json!({"subject_type": "koji_build", "subject_identifier": nvr, "testcase": "t", "product_version": "fedora-44"}),
            "comment",
        ),
        (
            json!({"subject_type": "koji_build", "subject_identifier": nvr, "testcase": "t", "product_version": "fedora-44", "comment": "  "}),
            "comment",
        ),
        (
            json!({"subject_type": "koji_build", "subject_identifier": nvr, "product_version": "fedora-44", "comment": "c"}),
            "testcase",
        ),
        (
            json!({"subject_type": "no_such_type", "subject_identifier": nvr, "testcase": "t", "product_version": "fedora-44", "comment": "c"}),
            "subject_type",
        ),
        (
            json!({"result_id": 999_999_999, "product_version": "fedora-44", "comment": "c"}),
            "Result id not found in Resultsdb",
        ),
        (
            json!({"result_id": 1, "testcase": "t", "product_version": "fedora-44", "comment": "c"}),
            "result_id cannot be combined",
        ),
        (
            json!({"subject": {"type": "koji_build", "item": nvr}, "subject_type": "koji_build", "testcase": "t", "product_version": "fedora-44", "comment": "c"}),
            "subject cannot be combined",
        ),
        (
            json!({"subject_type": "koji_build", "subject_identifier": nvr, "testcase": "t", "product_version": "fedora-44", "comment": "c", "waived": "yes"}),
            "waived",
        ),
        (
            json!([waiver, {"subject_type": "koji_build", "subject_identifier": nvr}]),
            "product_version",
        ),
        (json!([]), "non-empty list"),
    ] {
        let (status, answer) = waive(api, "alice-token", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|it| it.contains(fragment)),
            "{body}: {answer}"
        );
    }
    let answer = api
        .send(
            "POST",
            "/api/v1.0/waivers/",
            &[JSON, ("authorization", "Bearer alice-token")],
            "{not json",
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(count().await, 1);
    for filters in [
        json!([]),
        json!([{"subject_type": "koji_build", "subject_identifier": 123}]),
        json!([{}]),
        json!([{"subject_type": "koji_build", "subject_identifier": nvr, "colour": "red"}]),
    ] {
        let (status, answer) = post(
            api,
            "/api/v1.0/waivers/+filtered",
            "",
            &json!({"filters": filters}),
        )
        .await;
        assert_eq!(status, 400, "{filters}: {answer}");
    }
    let (status, answer) = get(api, "/api/v1.0/waivers/?since=someday").await;
    assert_eq!(status, 400, "{answer}");

    // The rules, as WaiverDB shows them.
    let (status, config) = get(api, "/api/v1.0/config").await;
    assert_eq!(status, 200);
    assert_eq!(config["superusers"], json!(SUPERUSERS));
    assert_eq!(
        config["permission_mapping"][0]["testcases_ignore"],
        json!(PERMISSION.1)
    );
    let (_, covering) = get(api, "/api/v1.0/permissions?testcase=dist.secret.x").await;
    assert_eq!(covering, json!([]));
    let (_, covering) = get(api, "/api/v1.0/permissions?testcase=dist.rpmlint").await;
    assert_eq!(covering[0]["users"], json!(PERMISSION.2));
}

fn types(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            (
                it["type"].as_str().unwrap_or_default().to_owned(),
                it["testcase"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pair(kind: &str, testcase: &str) -> (String, String) {
    (kind.to_owned(), testcase.to_owned())
}

/// §4.1 remote rules and validity windows, with Koji and dist-git from
/// `fake-infra` at `infra`: gating.yaml found (its policies that share a
/// context apply), invalid, missing (required or not), a build Koji does
/// not know; `valid_since` and `valid_until` against the build's creation.
pub(crate) async fn remote_rules_and_validity_windows<H: Http>(api: &H, infra: &str) {
    let ask = |nvr: &str, context: &str| {
        json!({"product_version": "fedora-44", "decision_context": context,
            "subject_type": "koji_build", "subject_identifier": nvr})
    };
    let answer = |nvr: &'static str, context: &'static str| async move {
        let (status, answer) = decide(api, &ask(nvr, context)).await;
        assert_eq!(status, 200, "{answer}");
        answer
    };

    // Found: its policies that share a context apply, the others do not.
    let found = answer("good-1.0-1.fc44", "remote_stable").await;
    assert_eq!(found["policies_satisfied"], false, "{found}");
    assert_eq!(
        types(&found["satisfied_requirements"]),
        [pair("fetched-gating-yaml", "fetched-gating-yaml")]
    );
    assert_eq!(
        found["satisfied_requirements"][0]["source"],
        format!("{infra}/distgit/rpms/good/raw/abc123/f/gating.yaml")
    );
    assert_eq!(
        types(&found["unsatisfied_requirements"]),
        [pair("test-result-missing", "dist.fromgit")]
    );
    build_result(api, "dist.fromgit", "good-1.0-1.fc44", "PASSED").await;
    let found = answer("good-1.0-1.fc44", "remote_stable").await;
    assert_eq!(found["policies_satisfied"], true, "{found}");

    // Invalid: unsatisfied, with the problems and their lines.
    let invalid = answer("broken-1.0-1.fc44", "remote_stable").await;
    assert_eq!(
        types(&invalid["unsatisfied_requirements"]),
        [pair("invalid-gating-yaml", "invalid-gating-yaml")]
    );
    let details = invalid["unsatisfied_requirements"][0]["details"]
        .as_str()
        .unwrap_or_default();
    assert!(
        details.contains("line 3") && details.contains("RemoteRule"),
        "{details}"
    );

    // Missing and required: unsatisfied.
    let missing = answer("bare-1.0-1.fc44", "remote_stable").await;
    assert_eq!(
        types(&missing["unsatisfied_requirements"]),
        [pair("missing-gating-yaml", "missing-gating-yaml")]
    );
    // Missing and optional: nothing; the bare build was made before
    // 2026-06-01, so dist.old applies and dist.new does not.
    let windows = answer("bare-1.0-1.fc44", "remote_testing").await;
    assert_eq!(
        types(&windows["unsatisfied_requirements"]),
        [pair("test-result-missing", "dist.old")]
    );
    // The good build was made after: dist.new, and its gating.yaml's test.
    let windows = answer("good-1.0-1.fc44", "remote_testing").await;
    assert_eq!(
        types(&windows["unsatisfied_requirements"]),
        [pair("test-result-missing", "dist.new")],
        "{windows}"
    );
    assert!(
        types(&windows["satisfied_requirements"])
            .contains(&pair("test-result-passed", "dist.fromgit"))
    );

    // A build Koji does not know: the rule cannot be checked.
    let ghost = answer("ghost-1.0-1.fc44", "remote_stable").await;
    assert_eq!(
        types(&ghost["unsatisfied_requirements"]),
        [pair("failed-fetch-gating-yaml", "failed-fetch-gating-yaml")]
    );
    assert!(
        ghost["unsatisfied_requirements"][0]["error"]
            .as_str()
            .is_some_and(|it| it.contains("Koji has no build ghost-1.0-1.fc44")),
        "{ghost}"
    );
}
