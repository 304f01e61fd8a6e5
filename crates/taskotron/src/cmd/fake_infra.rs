//! `taskotron fake-infra`: serve a local Koji hub, kojipkgs tree and Bodhi
//! over a directory of RPMs (see `taskotron_fake_infra`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `fake-infra`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The directory holds RPM files (in any subdirectory) and optionally infra.yaml, \
which describes builds, their owners, states, completion times and tags. Every \
source RPM makes a build; binary RPMs join the build of their source RPM. \
docs/fake-infra.md describes the file and the admin API.

Point Taskotron, or Koji's Python library, at the URLs it prints:
  koji.ClientSession(\"http://127.0.0.1:8091/kojihub\")")]
pub(crate) struct Args {
    /// The directory of RPMs and infra.yaml.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8091")]
    listen: SocketAddr,
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
    let infra = taskotron_fake_infra::FakeInfra::load(&args.dir)
        .with_context(|| format!("cannot serve {}", args.dir.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let (builds, rpms, tags) = infra.counts();
    let urls = taskotron_fake_infra::urls(&format!("http://{local}"));
    tracing::info!(
        dir = %args.dir.display(),
        builds, rpms, tags,
        koji.hub = %urls["koji_hub"].as_str().unwrap_or_default(),
        koji.topurl = %urls["kojipkgs"].as_str().unwrap_or_default(),
        bodhi = %urls["bodhi"].as_str().unwrap_or_default(),
        "fake infrastructure serving on http://{local}/"
    );
    let url = |name: &str| urls[name].as_str().unwrap_or_default().to_owned();
    crate::display::stdout(&format!(
        "Koji hub:  {}\nkojipkgs:  {}\nBodhi:     {}\n({builds} builds, {rpms} RPMs, {tags} tags from {}; Ctrl-C stops)\n",
        url("koji_hub"),
        url("kojipkgs"),
        url("bodhi"),
        args.dir.display(),
    ));
    taskotron_fake_infra::serve(infra, listener, crate::cmd::serve::shutdown_signal())
        .await
        .context("the server failed")
}
