//! `taskotron serve`: the system's main job.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use taskotron_config::Config;
use taskotron_store::Store;
use taskotron_web::{AppState, router};

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on [config: server.listen; default 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory, created when missing [config: server.data-dir; default ./taskotron-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Serve until Ctrl-C or SIGTERM; exit 1 when the server cannot start.
pub(crate) fn main(config_path: Option<&Path>, args: Args) -> i32 {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(it) => it,
        Err(err) => {
            crate::report_error(&anyhow::Error::new(err).context("cannot start the async runtime"));
            return 1;
        }
    };
    match runtime.block_on(serve(config_path, args)) {
        Ok(()) => 0,
        Err(err) => {
            crate::report_error(&err);
            1
        }
    }
}

async fn serve(config_path: Option<&Path>, args: Args) -> anyhow::Result<()> {
    let (config, origin) = Config::resolve(config_path)?;
    let listen = args.listen.unwrap_or(config.server.listen);
    let data_dir = args.data_dir.unwrap_or(config.server.data_dir);
    if let Some(origin) = &origin {
        tracing::info!(config.path = %origin.display(), "configuration loaded");
    }
    let store = Store::open_sqlite(&data_dir).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    tracing::info!(
        listen = %local,
        data_dir = %data_dir.display(),
        version = taskotron_web::VERSION,
        "taskotron serving on http://{local}/ with data in {}",
        data_dir.display()
    );
    let app = router(AppState::new(store.clone()));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error")?;
    store.close().await;
    tracing::info!("taskotron stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut it) => {
                it.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
