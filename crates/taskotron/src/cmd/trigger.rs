//! `taskotron trigger`: tell a running server that something happened, as
//! a message or a poller would.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Value, json};
use taskotron_config::Config;
use taskotron_scheduler::normalize;
use taskotron_triggers::Fact;

use crate::cmd::client::{Client, ServerArgs, block_on};
use crate::display::stdout;

/// Arguments of `trigger`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The server records the event once: the same build, update or fact sent again \
(or found by a poller or a message) is a duplicate and plans nothing. With \
--rerun every call asks for new runs of the item's checks.

Examples:
  taskotron trigger --build tk-hello-1.2-3.fc44
  taskotron trigger --update FEDORA-2026-0123456789 --rerun
  taskotron trigger --event event.json

Exit codes: 0 recorded (or a duplicate), 1 the server or Bodhi failed, 2 bad \
arguments.")]
pub(crate) struct Args {
    /// A Koji build that completed, by NVR.
    #[arg(long, value_name = "NVR", group = "what")]
    build: Option<String>,
    /// A Bodhi update, by alias (read from the configured Bodhi).
    #[arg(long, value_name = "ALIAS", group = "what")]
    update: Option<String>,
    /// An event's fact as JSON: message_type, item_type, item,
    /// item_revision and any field the rules look at.
    #[arg(long, value_name = "FILE", group = "what")]
    event: Option<PathBuf>,
    /// Ask for new runs of the item's checks, even if they ran.
    #[arg(long)]
    rerun: bool,
    #[command(flatten)]
    server: ServerArgs,
    /// Print the server's JSON answer.
    #[arg(long)]
    json: bool,
}

pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let fact = match build_fact(config_path, &args) {
        Ok(Some(it)) => it,
        Ok(None) => return 2,
        Err(err) => {
            crate::report_error(&err);
            return 2;
        }
    };
    block_on(async move {
        let fact = match fact {
            Pending::Ready(fact) => fact,
            Pending::Update(alias) => update_fact(config_path, &alias).await?,
        };
        let mut body = fact.to_json();
        if args.rerun {
            body["retrigger"] = json!(true);
        }
        let client = Client::new(config_path, &args.server)?;
        let answer = client.post("/api/v1/events", &body).await?;
        if args.json {
            stdout(&format!("{answer:#}\n"));
        } else if answer["duplicate"] == true {
            stdout(&format!(
                "already recorded: {} (nothing new to plan)\n",
                answer["natural_key"].as_str().unwrap_or("-")
            ));
        } else {
            let event = &answer["event"];
            stdout(&format!(
                "recorded event {} ({}); its jobs: {}\n",
                event["uuid"].as_str().unwrap_or("-"),
                event["natural_key"].as_str().unwrap_or("a re-run request"),
                client.url(&format!(
                    "/api/v1/events/{}",
                    event["uuid"].as_str().unwrap_or_default()
                ))
            ));
        }
        Ok(0)
    })
}

enum Pending {
    Ready(Fact),
    Update(String),
}

fn build_fact(_config_path: Option<&Path>, args: &Args) -> anyhow::Result<Option<Pending>> {
    if let Some(nvr) = &args.build {
        let fact = normalize::fact_from_nvr(nvr)
            .with_context(|| format!("--build {nvr:?} is not an NVR (name-version-release)"))?;
        return Ok(Some(Pending::Ready(fact)));
    }
    if let Some(alias) = &args.update {
        return Ok(Some(Pending::Update(alias.clone())));
    }
    if let Some(path) = &args.event {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let fact = Fact::from_json(value).with_context(|| format!("{}", path.display()))?;
        return Ok(Some(Pending::Ready(fact)));
    }
    crate::report_error(&anyhow::anyhow!(
        "say what happened: --build NVR, --update ALIAS or --event FILE"
    ));
    Ok(None)
}

async fn update_fact(config_path: Option<&Path>, alias: &str) -> anyhow::Result<Fact> {
    let (config, _) = Config::resolve(config_path)?;
    let bodhi = taskotron_bodhi::BodhiClient::new(&config.bodhi.url)?;
    let update = bodhi
        .update(alias)
        .await
        .with_context(|| format!("cannot read update {alias} from {}", config.bodhi.url))?
        .with_context(|| format!("Bodhi at {} has no update {alias}", config.bodhi.url))?;
    Ok(normalize::fact_from_update(&update))
}
