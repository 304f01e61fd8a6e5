//! Proof that the fake hub and Taskotron's client speak Koji's protocol:
//! Koji's own Python client library (koji on PyPI, in scripts/test's venv)
//! against the fake, and Taskotron's decoder on what Koji's own encoder
//! writes.
//!
//! The Python comes from TASKOTRON_TEST_PYTHON. Without it a test says why
//! and passes, unless TASKOTRON_REQUIRE_SERVICES=1, where it fails.

#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers fail loudly and explain skips"
)]

mod common;

use std::path::Path;

use serde_json::Value;
use taskotron_koji::{Call, FaultKind, KojiClient, Retry};

#[tokio::test(flavor = "multi_thread")]
async fn kojis_python_client_reads_the_fake_hub() {
    let Some(python) = common::python_with("koji") else {
        return;
    };
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = common::start(dir.path()).await;
    let args = vec![
        format!("http://{addr}/kojihub"),
        format!("http://{addr}/kojipkgs"),
    ];
    common::run_python_check(python, "check_koji_client.py", args).await;
}

/// Serve `text` as every answer of a hub.
async fn serve_text(text: String) -> String {
    let app = axum::Router::new().route(
        "/kojihub",
        axum::routing::post(move || {
            let text = text.clone();
            async move { text }
        }),
    );
    format!("http://{}/kojihub", common::serve(app).await)
}

#[tokio::test(flavor = "multi_thread")]
async fn what_kojis_encoder_writes_decodes() {
    let Some(python) = common::python_with("koji") else {
        return;
    };
    let output = common::host_command(python.to_str().unwrap())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/koji_encoder.py"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let encoded: Value = serde_json::from_slice(&output.stdout).unwrap();
    let response = encoded["response"].as_str().unwrap().to_owned();
    assert!(
        response.contains("<i8>") && response.contains("<nil/>"),
        "{response}"
    );

    // A response with <i8>, <nil/>, doubles, nested structs and markup.
    let koji = KojiClient::new(&serve_text(response).await).unwrap();
    let value = koji.call(&Call::new("getBuild").arg(1)).await.unwrap();
    assert_eq!(value, encoded["value"]);

    // A fault.
    let fault_text = encoded["fault"].as_str().unwrap().to_owned();
    let koji = KojiClient::new(&serve_text(fault_text).await)
        .unwrap()
        .with_retry(Retry::never());
    let err = koji.call(&Call::new("getBuild").arg(1)).await.unwrap_err();
    let fault = err.fault().unwrap();
    assert_eq!(fault.kind, FaultKind::ServerOffline);
    assert_eq!(fault.message, "server is offline");

    // A call with keyword arguments, as Koji's client sends it, to the fake hub.
    let Some(dir) = common::infra_dir() else {
        return;
    };
    let addr = common::start(dir.path()).await;
    let call = encoded["call"].as_str().unwrap().to_owned();
    let answer = common::post_text(&format!("http://{addr}/kojihub"), call).await;
    let body = answer.trim_start_matches("<?xml version='1.0'?>").trim();
    let decoded =
        dxr::MethodResponse::from_xml(body).unwrap_or_else(|err| panic!("{err}: {answer}"));
    let builds = taskotron_koji::value::to_json(&decoded.value);
    let nvrs: Vec<&str> = builds
        .as_array()
        .unwrap()
        .iter()
        .map(|it| it["nvr"].as_str().unwrap())
        .collect();
    assert_eq!(nvrs, ["tk-other-1.1-1.fc44", "tk-hello-1.2-3.fc44"]);
}
