//! The scheduler's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Labels naming one outcome.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Outcome {
    pub(crate) outcome: String,
}

/// Labels naming a poller.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Poller {
    pub(crate) poller: String,
}

/// Labels naming a poller and how its run ended.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PollerRun {
    pub(crate) poller: String,
    pub(crate) outcome: String,
}

/// Counters and gauges of intake, planning and polling.
#[derive(Debug, Default)]
pub struct SchedulerMetrics {
    /// Messages consumed, by what became of them (recorded, duplicate,
    /// rejected, ignored).
    pub(crate) messages: Family<Outcome, Counter>,
    /// Events planned.
    pub(crate) events_planned: Counter,
    /// Jobs asked for by planned events, by how (inserted, existing,
    /// debounced).
    pub(crate) jobs: Family<Outcome, Counter>,
    /// Poller runs, by poller and outcome (ok, error).
    pub(crate) poller_runs: Family<PollerRun, Counter>,
    /// Events pollers found that nobody had recorded before.
    pub(crate) poller_found: Family<Poller, Counter>,
    /// Each poller's watermark: seconds since the epoch, or a Koji event id.
    pub(crate) watermark: Family<Poller, Gauge>,
    /// When each poller last ran without error, seconds since the epoch.
    pub(crate) last_ok: Family<Poller, Gauge>,
    /// 1 while intake is connected to the broker.
    pub(crate) bus_connected: Gauge,
}

impl SchedulerMetrics {
    /// Register every metric under `scheduler_…`.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("scheduler");
        sub.register(
            "messages",
            "Bus messages consumed, by what became of them",
            self.messages.clone(),
        );
        sub.register(
            "events_planned",
            "Events planned into jobs",
            self.events_planned.clone(),
        );
        sub.register(
            "jobs",
            "Jobs planned events asked for, by how (inserted, existing, debounced, rerun)",
            self.jobs.clone(),
        );
        sub.register(
            "poller_runs",
            "Poller runs, by outcome",
            self.poller_runs.clone(),
        );
        sub.register(
            "poller_found",
            "Events the pollers found that no message had announced",
            self.poller_found.clone(),
        );
        sub.register(
            "watermark",
            "Each poller's watermark: seconds since the epoch, or a Koji event id",
            self.watermark.clone(),
        );
        sub.register(
            "poller_last_ok_seconds",
            "When each poller last ran without error, seconds since the epoch",
            self.last_ok.clone(),
        );
        sub.register(
            "bus_connected",
            "1 while intake is connected to the broker",
            self.bus_connected.clone(),
        );
    }

    /// How many jobs planning has inserted so far.
    #[must_use]
    pub fn jobs_inserted(&self) -> u64 {
        self.jobs
            .get_or_create(&Outcome {
                outcome: "inserted".to_owned(),
            })
            .get()
    }

    pub(crate) fn message(&self, outcome: &str) {
        self.messages
            .get_or_create(&Outcome {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub(crate) fn job(&self, how: &str, count: usize) {
        self.jobs
            .get_or_create(&Outcome {
                outcome: how.to_owned(),
            })
            .inc_by(count as u64);
    }

    pub(crate) fn poller_run(&self, poller: &str, ok: bool) {
        self.poller_runs
            .get_or_create(&PollerRun {
                poller: poller.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
    }

    pub(crate) fn poller(&self, family: &Family<Poller, Gauge>, poller: &str, value: i64) {
        family
            .get_or_create(&Poller {
                poller: poller.to_owned(),
            })
            .set(value);
    }
}
