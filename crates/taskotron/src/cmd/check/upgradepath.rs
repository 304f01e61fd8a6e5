//! `taskotron check upgradepath`.

use std::path::Path;

use anyhow::Context;
use taskotron_checks::koji::{self, Target};
use taskotron_checks::upgradepath;
use taskotron_config::Config;
use taskotron_types::Outcome;

use crate::display::stdout;

/// `taskotron check upgradepath`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Each build must not be newer than the same package in any higher release, \
nor older than in any lower one (the release and its stable updates; what is \
pending push to stable counts, and makes the result INFO when only it keeps \
the path; updates-testing does not count). Releases come from Bodhi ([bodhi] \
url), builds from Koji ([koji] hub-url). docs/checks.md has the details.

With --tag and nothing in the tag, there is nothing to check: PASSED.

Exit codes: 0 every build PASSED or INFO, 1 a build FAILED, 2 bad arguments \
or the check could not be made (Koji or Bodhi unreadable, unknown build or \
update).")]
pub(crate) struct Args {
    /// A Bodhi update: check each of its builds in its release.
    #[arg(long, value_name = "ALIAS", conflicts_with_all = ["nvrs", "release", "tag"])]
    update: Option<String>,
    /// A Koji tag (e.g. f44-updates-pending): check its latest builds in the
    /// release the tag belongs to.
    #[arg(long, value_name = "TAG", conflicts_with_all = ["nvrs", "release"])]
    tag: Option<String>,
    /// Builds by NVR (name-version-release), each in the release its dist
    /// tag names.
    #[arg(value_name = "NVR", required_unless_present_any = ["update", "tag"])]
    nvrs: Vec<String>,
    /// The Bodhi release of the NVRs (e.g. F44), instead of their dist tag's.
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// Print JSON: one result per build with each release's comparison.
    #[arg(long)]
    json: bool,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(config_path, &args)));
    match result {
        Ok((text, outcome)) => {
            stdout(&text);
            if outcome.is_passing() { 0 } else { 1 }
        }
        Err(err) => {
            crate::report_error(&err);
            2
        }
    }
}

async fn run(config_path: Option<&Path>, args: &Args) -> anyhow::Result<(String, Outcome)> {
    let (config, _) = Config::resolve(config_path)?;
    let target = match (&args.update, &args.tag) {
        (Some(alias), _) => Target::Update(alias.clone()),
        (None, Some(tag)) => Target::Tag(tag.clone()),
        (None, None) => Target::Builds {
            nvrs: args.nvrs.clone(),
            release: args.release.clone(),
        },
    };
    let results = koji::check_at(&config.koji.hub_url, &config.bodhi.url, &target)
        .await
        .context("upgradepath could not check")?;
    let outcome = Outcome::worst(results.iter().map(|it| it.outcome)).unwrap_or(Outcome::Passed);
    if args.json {
        let mut body = serde_json::json!({
            "outcome": outcome.as_str(),
            "results": results,
        });
        if let Some(alias) = &args.update {
            body["update"] = serde_json::json!(alias);
        }
        if let Some(tag) = &args.tag {
            body["tag"] = serde_json::json!(tag);
        }
        return Ok((format!("{body:#}\n"), outcome));
    }
    let mut text = String::new();
    for result in &results {
        text.push_str(&upgradepath::render(result));
        text.push('\n');
    }
    text.push_str(&format!(
        "{}: {}\n",
        args.update
            .as_deref()
            .or(args.tag.as_deref())
            .unwrap_or("upgradepath"),
        outcome.as_str()
    ));
    Ok((text, outcome))
}
