//! `taskotron fake-infra`: serve a local Koji hub, kojipkgs tree and Bodhi
//! over a directory of RPMs, and announce its changes on a message bus (see
//! `taskotron_fake_infra`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use taskotron_fake_infra::messages::{DEFAULT_TOPIC_PREFIX, DropRate, MessageOptions};
use taskotron_fake_infra::{AmqpTarget, BackgroundOptions};
use tokio_util::sync::CancellationToken;

/// How often `--watch` polls the directory.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Arguments of `fake-infra`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The directory holds RPM files (in any subdirectory) and optionally infra.yaml, \
which describes builds, their owners, states, completion times and tags. Every \
source RPM makes a build; binary RPMs join the build of their source RPM. \
docs/fake-infra.md describes the file, the admin API and the messages.

Point Taskotron, or Koji's Python library, at the URLs it prints:
  koji.ClientSession(\"http://127.0.0.1:8091/kojihub\")

With --amqp, every change made through the admin API (or, with --watch, by new \
RPM files and edits of infra.yaml) is published as the fedora-messaging message \
Koji or Bodhi would send; GET /admin/messages lists them, dropped ones included.")]
pub(crate) struct Args {
    /// The directory of RPMs and infra.yaml.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8091")]
    listen: SocketAddr,
    /// Publish Koji's and Bodhi's messages to this AMQP broker, e.g.
    /// amqp://guest:guest@127.0.0.1:5672/%2f (a URL with a password is
    /// better given in the environment).
    #[arg(
        long,
        value_name = "URL",
        env = "TASKOTRON_FAKE_INFRA_AMQP_URL",
        hide_env_values = true
    )]
    amqp: Option<String>,
    /// The exchange to publish to.
    #[arg(long, value_name = "NAME", default_value = "amq.topic")]
    exchange: String,
    /// Put before every topic.
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_TOPIC_PREFIX)]
    topic_prefix: String,
    /// Drop this fraction of the messages on purpose (0.0 to 1.0); they are
    /// listed at /admin/messages with "dropped": true.
    #[arg(long, value_name = "F", default_value = "0")]
    drop_rate: DropRate,
    /// Seed the drops: the same seed and the same events drop the same
    /// messages.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Poll the directory every second: new RPM files (once they stop
    /// growing) and changes of infra.yaml change the fake as the admin API
    /// would.
    #[arg(long)]
    watch: bool,
}

/// Exit 0 after Ctrl-C or SIGTERM, 1 when the directory cannot be served.
pub(crate) fn main(args: Args) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(run(args)));
    match result {
        Ok(()) => 0,
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let options = MessageOptions {
        topic_prefix: args.topic_prefix.clone(),
        drop_rate: args.drop_rate,
        seed: args.seed,
    };
    let infra = taskotron_fake_infra::FakeInfra::load_with(&args.dir, options)
        .with_context(|| format!("cannot serve {}", args.dir.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let infra = infra.with_base_url(&format!("http://{local}"));
    let (builds, rpms, tags) = infra.counts();
    let urls = taskotron_fake_infra::urls(&format!("http://{local}"));
    let broker = args.amqp.as_deref().map(taskotron_bus::redact_password);
    tracing::info!(
        dir = %args.dir.display(),
        builds, rpms, tags,
        koji.hub = %urls["koji_hub"].as_str().unwrap_or_default(),
        koji.topurl = %urls["kojipkgs"].as_str().unwrap_or_default(),
        bodhi = %urls["bodhi"].as_str().unwrap_or_default(),
        amqp = broker.as_deref().unwrap_or("none"),
        topic_prefix = %args.topic_prefix,
        drop_rate = %args.drop_rate,
        watch = args.watch,
        "fake infrastructure serving on http://{local}/"
    );
    let url = |name: &str| urls[name].as_str().unwrap_or_default().to_owned();
    let bus = match &broker {
        Some(broker) => format!(
            "{broker}, exchange {}, topics {}.*{}",
            args.exchange,
            args.topic_prefix.trim_end_matches('.'),
            if args.drop_rate.get() > 0.0 {
                format!(", dropping {}", args.drop_rate)
            } else {
                String::new()
            }
        ),
        None => "not published (no --amqp); listed at /admin/messages".to_owned(),
    };
    crate::display::stdout(&format!(
        "Koji hub:  {}\nkojipkgs:  {}\nBodhi:     {}\nMessages:  {bus}\n({builds} builds, {rpms} RPMs, {tags} tags from {}{}; Ctrl-C stops)\n",
        url("koji_hub"),
        url("kojipkgs"),
        url("bodhi"),
        args.dir.display(),
        if args.watch { ", watched" } else { "" },
    ));
    let background = BackgroundOptions {
        amqp: args.amqp.map(|url| AmqpTarget {
            url,
            exchange: args.exchange,
        }),
        watch: args.watch.then_some(WATCH_INTERVAL),
    };
    let stop = CancellationToken::new();
    let tasks = infra.start_background(&background, &stop);
    let served = taskotron_fake_infra::serve(infra, listener, crate::cmd::serve::shutdown_signal())
        .await
        .context("the server failed");
    stop.cancel();
    for task in tasks {
        let _ = task.await;
    }
    served
}
