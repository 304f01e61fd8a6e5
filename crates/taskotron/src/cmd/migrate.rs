//! `taskotron migrate`: bring the database's schema up to date.

use std::path::{Path, PathBuf};

use anyhow::Context;
use taskotron_config::Config;
use taskotron_store::Store;

/// Arguments of `migrate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Data directory of the SQLite store [config: server.data-dir]; ignored
    /// when database.url or TASKOTRON_DATABASE_URL names a database.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Exit 0 when the schema is current, 1 when it cannot be made so.
pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let result = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(migrate(config_path, args)));
    match result {
        Ok(what) => {
            crate::display::stdout(&format!("{what}: the schema is up to date\n"));
            0
        }
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

async fn migrate(config_path: Option<&Path>, args: Args) -> anyhow::Result<String> {
    let (config, _) = Config::resolve(config_path)?;
    let data_dir = args.data_dir.unwrap_or(config.server.data_dir.clone());
    // Opening the store applies every pending migration.
    let store = Store::open(
        config.database.effective_url().as_deref(),
        config.database.schema.as_deref(),
        &data_dir,
    )
    .await?;
    let what = store.describe().to_owned();
    store.close().await;
    Ok(what)
}
