//! `taskotron serve`: the system's main job.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use std::time::Duration;
use taskotron_config::Config;
use taskotron_store::Store;

use taskotron_web::auth::{WorkerAuth, WriteAuth};
use taskotron_web::outbox::StoreOutbox;
use taskotron_web::resultsdb::ResultsdbSettings;
use taskotron_web::worker_api::WorkerSettings;
use taskotron_web::{AppState, router};
use tokio_util::sync::CancellationToken;

use crate::cmd::serve_pool::LocalPool;

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
    let data_dir = args.data_dir.unwrap_or(config.server.data_dir.clone());
    if let Some(origin) = &origin {
        tracing::info!(config.path = %origin.display(), "configuration loaded");
    }
    let store = Store::open(
        config.database.effective_url().as_deref(),
        config.database.schema.as_deref(),
        &data_dir,
    )
    .await?;
    let mut settings = ResultsdbSettings::new(&config.api.additional_outcomes);
    settings.public_url = config
        .api
        .public_url
        .as_ref()
        .map(|it| it.trim_end_matches('/').to_owned());
    settings.max_body_bytes = config.api.max_body_bytes;
    settings.auth = WriteAuth::load(
        config.api.tokens_file.as_deref(),
        config.api.users_file.as_deref(),
    )
    .context("cannot load the API credentials")?;
    let amqp_url = config.amqp.effective_url();
    if amqp_url.is_some() {
        settings.publish_prefix = Some(config.amqp.topic_prefix.clone());
    }
    let gating = crate::cmd::policies::gating_settings(&config)?;
    tracing::info!(policies = gating.policies.len(), "gating policies loaded");
    let worker_auth = config
        .api
        .worker_tokens_file
        .as_deref()
        .map(WorkerAuth::load)
        .transpose()
        .context("cannot load the worker tokens")?;
    let worker_api = worker_auth.is_some();
    let wake = settings.outbox_wake.clone();
    let write_auth = settings.auth.is_enabled();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    // The worker pool of this process, with its own token.
    let pool = LocalPool::plan(&config, store.backend_name() == "postgres", local);
    let worker_auth = match &pool {
        Some(pool) => Some(pool.auth(worker_auth)),
        None => worker_auth,
    };
    tracing::info!(
        listen = %local,
        database = store.describe(),
        backend = store.backend_name(),
        write_auth,
        worker_api,
        version = taskotron_web::VERSION,
        "taskotron serving on http://{local}/ with data in {}",
        store.describe()
    );
    let shutdown = CancellationToken::new();
    let relay = amqp_url.clone().map(|url| {
        let exchange = config.amqp.exchange.clone();
        let outbox = StoreOutbox::new(store.clone(), relay_name(local));
        let shutdown = shutdown.clone();
        tracing::info!(amqp.url = %taskotron_bus::redact_password(&url), amqp.exchange = %exchange, "publishing to AMQP");
        tokio::spawn(async move {
            taskotron_bus::relay(
                &outbox,
                || taskotron_bus::Publisher::connect(&url, &exchange),
                &wake,
                shutdown,
                Duration::from_secs(5),
            )
            .await;
        })
    });
    let mut scheduler =
        taskotron_scheduler::Scheduler::from_config(&config, &store, amqp_url.as_deref())
            .context("cannot set up the scheduler")?;
    let state = AppState::with_settings(store.clone(), settings)
        .with_gating(gating)
        .with_worker_api({
            let mut settings = WorkerSettings::new(worker_auth);
            settings.lease = config.worker.lease;
            settings.retry_backoff = config.worker.retry_backoff;
            settings
        })
        .with_job_files(job_files(&config, &data_dir))
        .with_scheduler_wake(scheduler.wake.clone());
    state
        .metrics
        .register_with(|registry| scheduler.metrics.register(registry));
    scheduler.wake_jobs_with(state.worker.wake.clone());
    tracing::info!(
        rules = scheduler
            .planner
            .as_ref()
            .map_or(0, |it| it.rules.rules.len()),
        bus = scheduler.intake.is_some(),
        pollers = scheduler.pollers.len(),
        "scheduler set up"
    );
    let scheduler_tasks = scheduler.spawn(&shutdown);
    // Wakes waiting lease requests when another server enqueues (PostgreSQL).
    let job_listener = tokio::spawn(taskotron_web::worker_api::listen_for_jobs(
        store.clone(),
        state.worker.wake.clone(),
    ));
    let pool = match pool {
        Some(pool) => Some(pool.spawn(&config, &data_dir, local, shutdown.clone())?),
        None => None,
    };
    // Turns the decision checks committed with results and waivers into
    // greenwave.decision.update messages, where the relay publishes them.
    let checker = relay
        .is_some()
        .then(|| tokio::spawn(taskotron_web::greenwave::run_decision_checks(state.clone())));
    // Deletes finished jobs' logs and artifacts after the retention.
    let file_sweeper = tokio::spawn(taskotron_web::artifacts::run_file_sweeper(
        state.clone(),
        Duration::from_secs(3600),
    ));
    // Takes back the jobs of workers that stopped heartbeating.
    let sweeper = tokio::spawn(taskotron_web::jobs::run_sweeper(
        state.clone(),
        Duration::from_secs(5),
    ));
    let workers = state.worker.clone();
    let app = router(state);
    let stop = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            stop.cancel();
            workers.close();
        })
        .await
        .context("the server stopped with an error")?;
    shutdown.cancel();
    sweeper.abort();
    job_listener.abort();
    if let Some(pool) = pool {
        // Its tasks are killed at once; a result being posted gets a moment.
        if tokio::time::timeout(Duration::from_secs(10), pool)
            .await
            .is_err()
        {
            tracing::warn!("the local worker pool did not stop within 10 s");
        }
    }
    file_sweeper.abort();
    if let Some(checker) = &checker {
        checker.abort();
    }
    for task in scheduler_tasks {
        let _ = task.await;
    }
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    store.close().await;
    tracing::info!("taskotron stopped");
    Ok(())
}

/// Where workers' logs and artifacts go (`<data-dir>/jobs`), with the
/// `[artifacts]` limits and retention.
fn job_files(config: &Config, data_dir: &Path) -> taskotron_web::artifacts::JobFiles {
    let mut files = taskotron_web::artifacts::JobFiles::new(Some(data_dir.to_owned()));
    let artifacts = &config.artifacts;
    files.max_log_bytes = artifacts.max_log_bytes;
    files.max_artifact_bytes = artifacts.max_artifact_bytes;
    files.retention = (artifacts.retention_days > 0)
        .then(|| Duration::from_secs(u64::from(artifacts.retention_days) * 24 * 3600));
    files
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

/// The name this process's relay claims the outbox under: unique among the
/// `taskotron serve` processes sharing a database, and telling an operator
/// which one it is.
fn relay_name(listen: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|it| it.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!(
        "{host}:{listen}:pid{}:{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}
