//! The worker pool `taskotron serve` runs in its own process (`[worker]
//! local-slots`): on a single machine nothing else needs to run for jobs to
//! be executed.
//!
//! The pool is the same agent as `taskotron worker` ([`taskotron_worker::run_worker`]),
//! speaking the worker protocol over loopback to the server it lives in,
//! so its jobs have the same leases, heartbeats, fencing tokens, logs and
//! artifacts as those of any other worker. It authenticates with a token
//! made when the process starts and kept only in its memory: the worker API
//! needs no token file for it, and remote workers still need
//! `api.worker-tokens-file`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use taskotron_config::{Config, SandboxKind};
use taskotron_runner::SandboxMode;
use taskotron_web::auth::WorkerAuth;
use taskotron_worker::{Capabilities, Client, WorkerOptions};
use tokio_util::sync::CancellationToken;

/// The pool to start: its worker name, size and token.
pub(crate) struct LocalPool {
    /// The worker name its attempts are recorded under.
    pub(crate) name: String,
    /// How many jobs it runs at once.
    pub(crate) slots: u16,
    token: String,
}

impl std::fmt::Debug for LocalPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPool")
            .field("name", &self.name)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

impl LocalPool {
    /// The pool `config` asks for on this store (`None` for 0 slots), named
    /// after this machine and the address the server listens on.
    pub(crate) fn plan(config: &Config, postgres: bool, listen: SocketAddr) -> Option<LocalPool> {
        let slots = config.worker.effective_local_slots(postgres);
        if slots == 0 {
            return None;
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|it| it.trim().to_owned())
            .ok()
            .filter(|it| !it.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        // Two v4 uuids: 244 random bits.
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        Some(LocalPool {
            name: format!("local@{host}:{}", listen.port()),
            slots,
            token,
        })
    }

    /// The worker tokens of the server: those of the file, if any, and the
    /// pool's.
    pub(crate) fn auth(&self, file: Option<WorkerAuth>) -> WorkerAuth {
        file.unwrap_or_else(|| WorkerAuth::from_pairs(Vec::new()))
            .with_worker(&self.name, &self.token)
    }

    /// Start the pool against the server listening on `listen`, running
    /// tasks from `scheduler.tasks-dir` (else `./tasks`) with the `[runner]`
    /// settings, its artifacts and work directories under
    /// `<data-dir>/worker`. It stops when `shutdown` fires, killing the
    /// tasks it runs (their leases run out and the jobs are requeued).
    pub(crate) fn spawn(
        self,
        config: &Config,
        data_dir: &Path,
        listen: SocketAddr,
        shutdown: CancellationToken,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let data_dir = crate::cmd::worker::absolute(&data_dir.join("worker"));
        std::fs::create_dir_all(&data_dir).with_context(|| {
            format!(
                "cannot create the worker pool's directory {}",
                data_dir.display()
            )
        })?;
        let sandbox = match config.runner.sandbox {
            SandboxKind::Bwrap => SandboxMode::Bwrap,
            SandboxKind::None => SandboxMode::Local,
        };
        // The server's own secrets stay out of the tasks it runs: the
        // database and broker URLs may hold passwords, and the API's token
        // files are covered in the sandbox.
        let secret_files: Vec<PathBuf> = [
            &config.api.tokens_file,
            &config.api.users_file,
            &config.api.worker_tokens_file,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        let run_config = crate::cmd::worker::run_config(
            config,
            sandbox,
            &data_dir,
            &[
                taskotron_config::DATABASE_URL_ENV,
                taskotron_config::AMQP_URL_ENV,
                "TASKOTRON_WORKER_TOKEN",
            ],
            &secret_files,
        )?;
        let tasks_dir = crate::cmd::worker::absolute(
            config
                .scheduler
                .tasks_dir
                .as_deref()
                .unwrap_or(Path::new("tasks")),
        );
        let options = WorkerOptions {
            name: Some(self.name.clone()),
            capabilities: Capabilities {
                arches: vec![std::env::consts::ARCH.to_owned(), "noarch".to_owned()],
                sandboxes: match sandbox {
                    SandboxMode::Bwrap => vec!["bwrap".to_owned()],
                    SandboxMode::Local => Vec::new(),
                },
                labels: Vec::new(),
                slots: self.slots,
            },
            tasks_dir,
            data_dir,
            run_config,
        };
        let base = format!("http://{}", loopback(listen));
        let client =
            Client::new(&base, &self.token).context("cannot make the worker pool's HTTP client")?;
        tracing::info!(worker.name = %self.name, slots = self.slots, tasks = %options.tasks_dir.display(),
            sandbox = ?sandbox, "starting the local worker pool");
        Ok(tokio::spawn(async move {
            if let Err(err) = taskotron_worker::run_worker(client, options, shutdown).await {
                tracing::error!(error = %err, "the local worker pool stopped");
            }
        }))
    }
}

/// Where this machine reaches a server listening on `listen`: a wildcard
/// address becomes the loopback address of its family.
fn loopback(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_addresses_become_loopback() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:8080", "[::1]:8080"),
            ("192.0.2.7:80", "192.0.2.7:80"),
            ("127.0.0.1:9", "127.0.0.1:9"),
        ];
        for (listen, want) in cases {
            let listen: SocketAddr = listen.parse().unwrap_or_else(|err| panic!("{err}"));
            assert_eq!(loopback(listen).to_string(), want);
        }
    }

    #[test]
    fn no_slots_no_pool() {
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 8080));
        let mut config = Config::default();
        assert!(LocalPool::plan(&config, true, listen).is_none());
        let pool = LocalPool::plan(&config, false, listen);
        assert!(pool.is_some_and(|it| it.slots >= 1 && it.name.ends_with(":8080")));
        config.worker.local_slots = Some(0);
        assert!(LocalPool::plan(&config, false, listen).is_none());
        config.worker.local_slots = Some(2);
        let pool = LocalPool::plan(&config, true, listen);
        assert_eq!(pool.map(|it| it.slots), Some(2));
    }
}
