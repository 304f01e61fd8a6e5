//! The scheduler: learns what changed in Koji and Bodhi and plans the jobs
//! the trigger rules call for, without missing an event or planning one
//! twice.
//!
//! Three kinds of task feed one events table ([`taskotron_store::events`]):
//! bus intake ([`intake`]) records each fedora-messaging message and
//! acknowledges it after the commit; the pollers ([`pollers`]) ask Koji and
//! Bodhi for what the bus may have dropped; the API records events other
//! sources send. Every event carries a natural key derived from its fact
//! alone ([`taskotron_triggers::Fact::natural_key`]), so whoever finds an
//! event first records it and the others record nothing. The planner
//! ([`planner`]) evaluates the rules on new events and inserts their jobs,
//! whose keys are unique, in the transaction that marks the events planned.
//! Any number of `taskotron serve` processes may run all of this against
//! one database: they share the queue, the events and the watermarks.

pub mod discover;
pub mod intake;
pub mod metrics;
pub mod normalize;
pub mod planner;
pub mod pollers;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use taskotron_config::Config;
use taskotron_store::Store;
use taskotron_triggers::{PlanContext, RuleSet};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use metrics::SchedulerMetrics;

/// Why the scheduler cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The rules file cannot be read.
    #[error("cannot read the trigger rules {}", .path.display())]
    ReadRules {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The rules file is not valid.
    #[error("{0}")]
    Rules(taskotron_task_format::Diagnostics),
    /// A Koji or Bodhi client cannot be made (a bad URL).
    #[error("cannot set up the {what} client: {reason}")]
    Client {
        /// `Koji` or `Bodhi`.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// Read and check a rules file.
///
/// # Errors
///
/// [`SetupError`] with every problem and its line and column.
pub fn load_rules(path: &Path) -> Result<RuleSet, SetupError> {
    let text = std::fs::read_to_string(path).map_err(|source| SetupError::ReadRules {
        path: path.to_owned(),
        source,
    })?;
    taskotron_triggers::parse_rules(&text).map_err(|items| {
        SetupError::Rules(taskotron_task_format::Diagnostics::new(
            path.display().to_string(),
            items,
        ))
    })
}

/// Everything the scheduler runs, ready to spawn.
#[derive(Debug)]
pub struct Scheduler {
    /// Shared counters; register them with the server's registry.
    pub metrics: Arc<SchedulerMetrics>,
    /// Fire to make the planner look for new events at once.
    pub wake: Arc<Notify>,
    /// The planner, when there are rules.
    pub planner: Option<planner::Planner>,
    /// Bus intake, when there is a broker and `bus` is on.
    pub intake: Option<intake::Intake>,
    /// The pollers that are on.
    pub pollers: Vec<pollers::Poller>,
}

impl Scheduler {
    /// Set up from the configuration. Scheduling is on when `[scheduler]
    /// rules` names a rules file; then the planner runs, intake consumes
    /// from `amqp_url` (when given and `[scheduler] bus` is on), the Koji
    /// pollers ask `[koji] hub-url` every `koji-poll` and the Bodhi pollers
    /// `[bodhi] url` every `bodhi-poll` (`0s` turns either off). Without
    /// rules nothing runs: no queue is declared and nobody is polled.
    ///
    /// # Errors
    ///
    /// A rules file that cannot be read or is invalid, or a bad URL.
    pub fn from_config(
        config: &Config,
        store: &Store,
        amqp_url: Option<&str>,
    ) -> Result<Scheduler, SetupError> {
        let metrics = Arc::new(SchedulerMetrics::default());
        let wake = Arc::new(Notify::new());
        if config.scheduler.rules.is_none() {
            return Ok(Scheduler {
                metrics,
                wake,
                planner: None,
                intake: None,
                pollers: Vec::new(),
            });
        }
        let scheduler = &config.scheduler;
        let planner = match &scheduler.rules {
            Some(path) => Some(planner::Planner {
                store: store.clone(),
                rules: Arc::new(load_rules(path)?),
                context: PlanContext {
                    arches: scheduler.arches.clone(),
                },
                revisions: planner::Revisions {
                    tasks_dir: scheduler.tasks_dir.clone(),
                },
                max_attempts: scheduler.max_attempts,
                metrics: metrics.clone(),
                jobs_wake: Arc::new(Notify::new()),
                discoverer: discover::Discoverer {
                    cache_dir: config.server.data_dir.join("cache").join("discover"),
                },
            }),
            None => None,
        };
        let intake = amqp_url.filter(|_| scheduler.bus).map(|url| {
            let mut consumer = taskotron_bus::ConsumerConfig::new(
                url,
                &scheduler.queue,
                &scheduler.consume_prefix,
            );
            consumer.prefetch = 1000;
            intake::Intake {
                consumer,
                store: store.clone(),
                metrics: metrics.clone(),
                wake: wake.clone(),
                planner: planner.clone(),
            }
        });
        let settings = pollers::PollSettings {
            overlap: scheduler.overlap,
            koji_event_overlap: scheduler.koji_event_overlap,
            lookback: scheduler.lookback,
        };
        let mut pollers = Vec::new();
        if !scheduler.koji_poll.is_zero() {
            let client = taskotron_koji::KojiClient::new(&config.koji.hub_url).map_err(|err| {
                SetupError::Client {
                    what: "Koji",
                    reason: err.to_string(),
                }
            })?;
            for tags in [false, true] {
                pollers.push(pollers::Poller {
                    source: pollers::Source::Koji {
                        client: client.clone(),
                        tags,
                    },
                    interval: scheduler.koji_poll,
                    settings: settings.clone(),
                    store: store.clone(),
                    metrics: metrics.clone(),
                    wake: wake.clone(),
                });
            }
        }
        if !scheduler.bodhi_poll.is_zero() {
            let client = taskotron_bodhi::BodhiClient::new(&config.bodhi.url).map_err(|err| {
                SetupError::Client {
                    what: "Bodhi",
                    reason: err.to_string(),
                }
            })?;
            for modified in [false, true] {
                pollers.push(pollers::Poller {
                    source: pollers::Source::Bodhi {
                        client: client.clone(),
                        modified,
                    },
                    interval: scheduler.bodhi_poll,
                    settings: settings.clone(),
                    store: store.clone(),
                    metrics: metrics.clone(),
                    wake: wake.clone(),
                });
            }
        }
        Ok(Scheduler {
            metrics,
            wake,
            planner,
            intake,
            pollers,
        })
    }

    /// Wake `jobs` (the workers' long polls) whenever planning inserts
    /// jobs.
    pub fn wake_jobs_with(&mut self, jobs: Arc<Notify>) {
        if let Some(planner) = &mut self.planner {
            planner.jobs_wake = jobs.clone();
        }
        if let Some(planner) = self.intake.as_mut().and_then(|it| it.planner.as_mut()) {
            planner.jobs_wake = jobs;
        }
    }

    /// Start every part until `shutdown`.
    #[must_use]
    pub fn spawn(self, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(planner) = self.planner {
            tasks.push(tokio::spawn(
                planner.run(self.wake.clone(), shutdown.clone()),
            ));
        } else {
            tracing::info!("scheduling is off: no trigger rules ([scheduler] rules)");
        }
        if let Some(intake) = self.intake {
            tasks.push(tokio::spawn(intake.run(shutdown.clone())));
        }
        for poller in self.pollers {
            tasks.push(tokio::spawn(poller.run(shutdown.clone())));
        }
        tasks
    }
}
