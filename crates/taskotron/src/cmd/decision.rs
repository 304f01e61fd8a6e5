//! `taskotron decision`: ask a server's Greenwave-compatible API for a
//! gating decision and print it as a person reads it.

use std::path::Path;

use anyhow::Context;
use serde_json::{Value, json};
use taskotron_config::Config;

use crate::display::stdout;

/// Arguments of `decision`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints whether the subject may pass, then each requirement: what passed, what \
failed or is missing, and what was waived, by whom and why.

Exit codes: 0 the policies are satisfied, 100 they are not, 1 the server could \
not answer, 2 bad arguments.")]
pub(crate) struct Args {
    /// The subject's type: koji_build, bodhi_update, compose, ...
    #[arg(long, value_name = "TYPE", default_value = "koji_build")]
    subject_type: String,
    /// The subject: an NVR, an update alias, a compose id.
    #[arg(long, value_name = "ID")]
    subject: String,
    /// The product version, e.g. fedora-44.
    #[arg(long, value_name = "VERSION")]
    product_version: String,
    /// The decision context (repeat for several).
    #[arg(long = "context", value_name = "CONTEXT", required = true)]
    contexts: Vec<String>,
    /// The server (default: http:// and the configured server.listen).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Print the server's JSON answer instead.
    #[arg(long)]
    json: bool,
    /// Dry run: decide with this proposed policy file instead of the
    /// server's policies (nothing changes on the server).
    #[arg(long, value_name = "FILE")]
    policies: Option<std::path::PathBuf>,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(ask(config_path, &args)));
    match result {
        Ok(answer) => {
            if args.json {
                stdout(&format!("{answer:#}\n"));
            } else {
                stdout(&render(&args, &answer));
            }
            if answer["policies_satisfied"] == true {
                0
            } else {
                100
            }
        }
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

async fn ask(config_path: Option<&Path>, args: &Args) -> anyhow::Result<Value> {
    let server = match &args.server {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let (config, _) = Config::resolve(config_path)?;
            format!("http://{}", config.server.listen)
        }
    };
    let url = format!("{server}/api/v1.0/decision");
    let mut request = json!({
        "product_version": args.product_version,
        "decision_context": args.contexts,
        "subject_type": args.subject_type,
        "subject_identifier": args.subject,
        "verbose": true,
    });
    if let Some(file) = &args.policies {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the proposed policies {}", file.display()))?;
        request["policies"] = json!(text);
    }
    let response = reqwest::Client::new()
        .post(&url)
        .json(&request)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON (HTTP {status})"))?;
    if !status.is_success() {
        let message = body["message"].as_str().unwrap_or("no message");
        anyhow::bail!("{url}: HTTP {}: {message}", status.as_u16());
    }
    Ok(body)
}

/// The decision in words.
fn render(args: &Args, answer: &Value) -> String {
    let satisfied = answer["policies_satisfied"] == true;
    let mut out = format!(
        "{}{} {} in {} ({}): {}\n{}\n",
        if answer["dry_run"] == true {
            "DRY RUN with the proposed policies: "
        } else {
            ""
        },
        args.subject_type,
        args.subject,
        args.product_version,
        args.contexts.join(", "),
        if satisfied { "may pass" } else { "BLOCKED" },
        answer["summary"].as_str().unwrap_or_default()
    );
    if let Some(policies) = answer["applicable_policies"].as_array() {
        let names: Vec<&str> = policies.iter().filter_map(Value::as_str).collect();
        out.push_str(&format!("policies: {}\n", names.join(", ")));
    }
    let waivers = answer["waivers"].as_array().cloned().unwrap_or_default();
    let mut lines = Vec::new();
    for (list, satisfied) in [
        (&answer["unsatisfied_requirements"], false),
        (&answer["satisfied_requirements"], true),
    ] {
        for requirement in list.as_array().into_iter().flatten() {
            lines.push(line(requirement, satisfied, &waivers));
        }
    }
    if !lines.is_empty() {
        out.push('\n');
        for it in lines {
            out.push_str(&it);
            out.push('\n');
        }
    }
    let reasons = answer["explanation"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !reasons.is_empty() {
        out.push_str("\nWhat to do:\n");
        for it in &reasons {
            out.push_str(&format!(
                "  [{}] {}\n",
                it["code"].as_str().unwrap_or("?"),
                it["message"].as_str().unwrap_or_default()
            ));
        }
    } else if !satisfied {
        out.push_str(
            "\nWait for missing or incomplete checks, re-run failed ones, or waive them \
             (POST /api/v1.0/waivers/).\n",
        );
    }
    out
}

fn line(requirement: &Value, satisfied: bool, waivers: &[Value]) -> String {
    let kind = requirement["type"].as_str().unwrap_or_default();
    let testcase = requirement["testcase"].as_str().unwrap_or("");
    let mut details = Vec::new();
    if let Some(id) = requirement["result_id"].as_i64() {
        details.push(format!("result {id}"));
    }
    if let Some(scenario) = requirement["scenario"].as_str() {
        details.push(format!("scenario {scenario}"));
    }
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join(", "))
    };
    let (label, what) = match kind.strip_suffix("-waived") {
        Some(base) => {
            let waiver = requirement["waiver_id"]
                .as_i64()
                .and_then(|id| waivers.iter().find(|it| it["id"].as_i64() == Some(id)));
            let by = waiver.map_or_else(String::new, |it| {
                let mut scope = Vec::new();
                if it["scope"] == "package" {
                    scope.push(format!(
                        "every build of {}",
                        it["subject_identifier"].as_str().unwrap_or("?")
                    ));
                }
                if let Some(until) = it["expires_at"].as_str() {
                    scope.push(format!("until {until}"));
                }
                format!(
                    " by {}{}: \"{}\"{}",
                    it["username"].as_str().unwrap_or("?"),
                    it["proxied_by"]
                        .as_str()
                        .map(|p| format!(" (through {p})"))
                        .unwrap_or_default(),
                    it["comment"].as_str().unwrap_or_default(),
                    if scope.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", scope.join(", "))
                    }
                )
            });
            (
                "WAIVED",
                format!("{testcase}{details}, {}{by}", plain(base)),
            )
        }
        None => {
            let label = match kind {
                "test-result-passed" => "PASSED",
                "test-result-failed" => "FAILED",
                "test-result-errored" => "ERRORED",
                "test-result-missing" if requirement["result_id"].is_i64() => "RUNNING",
                "test-result-missing" => "MISSING",
                "excluded" => "EXCLUDED",
                _ if satisfied => "OK",
                _ => "PROBLEM",
            };
            let mut what = format!("{testcase}{details}");
            if let Some(reason) = requirement["error_reason"].as_str() {
                what.push_str(&format!(": {reason}"));
            }
            if what.is_empty() {
                what = plain(kind).to_owned();
            }
            (label, what)
        }
    };
    format!("  {label:<9}{what}")
}

fn plain(kind: &str) -> &str {
    match kind {
        "test-result-failed" => "it failed",
        "test-result-errored" => "it errored",
        "test-result-missing" => "it was missing",
        "excluded" => "the package is excluded",
        "failed-fetch-gating-yaml" => "gating.yaml could not be read",
        "missing-gating-yaml" => "gating.yaml is missing",
        "koji-build-unavailable" => "Koji could not say when the build was made",
        "invalid-gating-yaml" => "gating.yaml is invalid",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_kind_of_requirement() {
        let args = Args {
            subject_type: "koji_build".into(),
            subject: "foo-1.0-1.fc44".into(),
            product_version: "fedora-44".into(),
            contexts: vec!["bodhi_update_push_testing".into()],
            server: None,
            json: false,
            policies: None,
        };
        let answer = json!({
            "policies_satisfied": false,
            "summary": "Of 4 required tests, 1 test failed",
            "applicable_policies": ["testing"],
            "unsatisfied_requirements": [
                {"type": "test-result-failed", "testcase": "dist.rpmlint", "result_id": 12, "scenario": "x86_64"},
                {"type": "test-result-missing", "testcase": "dist.abicheck", "scenario": null},
            ],
            "satisfied_requirements": [
                {"type": "test-result-passed", "testcase": "dist.depcheck", "result_id": 11, "scenario": null},
                {"type": "test-result-errored-waived", "testcase": "dist.upgradepath", "result_id": 13, "waiver_id": 3, "scenario": null},
            ],
            "waivers": [{"id": 3, "username": "carol", "proxied_by": "bodhi", "comment": "infra outage"}],
        });
        assert_eq!(
            render(&args, &answer),
            "koji_build foo-1.0-1.fc44 in fedora-44 (bodhi_update_push_testing): BLOCKED\n\
             Of 4 required tests, 1 test failed\n\
             policies: testing\n\
             \n  FAILED   dist.rpmlint (result 12, scenario x86_64)\n\
             \x20 MISSING  dist.abicheck\n\
             \x20 PASSED   dist.depcheck (result 11)\n\
             \x20 WAIVED   dist.upgradepath (result 13), it errored by carol (through bodhi): \"infra outage\"\n\
             \nWait for missing or incomplete checks, re-run failed ones, or waive them (POST /api/v1.0/waivers/).\n"
        );
        let mut scoped = answer.clone();
        scoped["waivers"][0]["scope"] = json!("package");
        scoped["waivers"][0]["subject_identifier"] = json!("foo");
        scoped["waivers"][0]["expires_at"] = json!("2026-12-31T00:00:00.000000");
        assert!(
            render(&args, &scoped).contains(
                "by carol (through bodhi): \"infra outage\" (every build of foo, until 2026-12-31T00:00:00.000000)"
            ),
            "{}",
            render(&args, &scoped)
        );
        let mut explained = answer.clone();
        explained["dry_run"] = json!(true);
        explained["explanation"] = json!([
            {"code": "result-failed", "message": "dist.rpmlint failed for koji_build foo-1.0-1.fc44 (result 12): fix and re-run it, or waive it"},
            {"code": "check-running", "message": "dist.abicheck has no result for koji_build foo-1.0-1.fc44 yet, but the check is running: wait for it"},
        ]);
        let text = render(&args, &explained);
        assert!(
            text.starts_with("DRY RUN with the proposed policies: koji_build foo-1.0-1.fc44"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "What to do:\n  [result-failed] dist.rpmlint failed for koji_build foo-1.0-1.fc44 (result 12): fix and re-run it, or waive it\n  \
                 [check-running] dist.abicheck has no result for koji_build foo-1.0-1.fc44 yet, but the check is running: wait for it\n"
            ),
            "{text}"
        );
    }
}
