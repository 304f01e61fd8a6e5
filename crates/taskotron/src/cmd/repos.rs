//! `taskotron repos`: the package repositories a Koji tag stands for, as the
//! `yumrepoinfo` directive gives them to tasks.

use std::path::Path;

use anyhow::Context;
use taskotron_bodhi::BodhiClient;
use taskotron_bodhi::repos::RepoMap;
use taskotron_config::Config;

use crate::display::stdout;

/// Arguments of `repos`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The layers come from Bodhi's releases ([bodhi] url) and the URL templates of \
[repos], newest first: a testing tag stands for updates-testing, updates and \
the release. [repos.tags.<tag>] entries override any tag. docs/configuration.md \
describes the mapping.

Exit codes: 0 printed, 1 Bodhi could not be read or the tag is unknown, 2 bad arguments.")]
pub(crate) struct Args {
    /// The Koji tag, e.g. f44-updates-testing.
    tag: String,
    /// Architectures (repeat or separate with commas); default x86_64.
    #[arg(
        short = 'a',
        long = "arch",
        value_delimiter = ',',
        default_value = "x86_64"
    )]
    arches: Vec<String>,
    /// Print JSON, as the directive returns it.
    #[arg(long)]
    json: bool,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(config_path, &args)));
    match result {
        Ok(text) => {
            stdout(&text);
            0
        }
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

async fn run(config_path: Option<&Path>, args: &Args) -> anyhow::Result<String> {
    let (config, _) = Config::resolve(config_path)?;
    let sources = super::run::sources(&config, &config.server.data_dir);
    let bodhi = BodhiClient::new(&sources.bodhi)?;
    let releases = bodhi
        .releases(None)
        .await
        .with_context(|| format!("cannot read Bodhi's releases from {}", sources.bodhi))?;
    let map = RepoMap::new(releases, sources.repo_templates, sources.repo_overrides);
    let layers = map.layers(&args.tag, &args.arches)?;
    if args.json {
        let mut out = serde_json::Map::new();
        for layer in layers {
            out.insert(layer.tag, serde_json::json!(layer.urls));
        }
        return Ok(format!("{:#}\n", serde_json::Value::Object(out)));
    }
    let mut text = String::new();
    for layer in layers {
        text.push_str(&format!("{}\n", layer.tag));
        for (arch, url) in layer.urls {
            text.push_str(&format!("  {arch:<8} {url}\n"));
        }
    }
    Ok(text)
}
