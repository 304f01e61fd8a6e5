//! Reconcilers: ask Koji and Bodhi what happened, so that a lost message
//! never means a missed check.
//!
//! Each poller keeps a watermark in the store and reads again an overlap
//! behind it, because what Koji and Bodhi commit can become visible after
//! newer things (spec: Koji's completion times and event ids are taken
//! inside transactions that commit later). What it finds goes through the
//! same natural keys as bus messages, so finding something twice, or
//! finding what a message already said, records nothing; the watermark
//! moves in the same transaction as the events.
//!
//! - `koji.builds`: `listBuilds(state=COMPLETE, completeAfter=W - overlap)`
//!   by completion time, 500 at a time; W is a completion time (seconds).
//! - `koji.tags`: `queryHistory(tables=['tag_listing'], afterEvent=W - N)`;
//!   W is a Koji event id, N `koji-event-overlap`.
//! - `bodhi.submitted` and `bodhi.modified`: `GET /updates/` with
//!   `submitted_since` (`modified_since`) `= W - overlap` and a fixed
//!   `*_before` = the scan's start, which becomes W.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use taskotron_bodhi::{BodhiClient, UpdateQuery};
use taskotron_koji::{BuildState, KojiClient, ListBuilds, TagHistory};
use taskotron_store::Store;
use taskotron_store::events::{NewEvent, Recorded};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::SchedulerMetrics;
use crate::normalize;

/// Builds asked for per `listBuilds` page.
const PAGE: i64 = 500;

/// The pollers' names (and watermark names).
pub mod name {
    /// Completed Koji builds.
    pub const KOJI_BUILDS: &str = "koji.builds";
    /// Koji tag history.
    pub const KOJI_TAGS: &str = "koji.tags";
    /// Bodhi updates by submission time.
    pub const BODHI_SUBMITTED: &str = "bodhi.submitted";
    /// Bodhi updates by edit time.
    pub const BODHI_MODIFIED: &str = "bodhi.modified";
}

/// Why a poller run failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Koji failed.
    #[error("Koji: {0}")]
    Koji(#[from] taskotron_koji::KojiError),
    /// Bodhi failed.
    #[error("Bodhi: {0}")]
    Bodhi(#[from] taskotron_bodhi::BodhiError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] taskotron_store::StoreError),
    /// A stored watermark is not what this poller writes.
    #[error("watermark {name} holds {value:?}, which is not a {what}")]
    Watermark {
        /// The poller.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        what: &'static str,
    },
}

/// How the pollers run.
#[derive(Debug, Clone)]
pub struct PollSettings {
    /// How far behind its watermark a time-based poller reads again.
    pub overlap: Duration,
    /// How many Koji events behind its watermark the tag poller reads again.
    pub koji_event_overlap: u64,
    /// How far back a poller reads on its first run.
    pub lookback: Duration,
}

/// What one run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollReport {
    /// Records Koji or Bodhi returned.
    pub seen: usize,
    /// Events nobody had recorded before.
    pub new: usize,
}

/// Now, in microseconds since the epoch.
pub(crate) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

fn seconds(now: DateTime<Utc>) -> f64 {
    now.timestamp_micros() as f64 / 1e6
}

fn parse_f64(name: &'static str, value: &str) -> Result<f64, PollError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|it| it.is_finite())
        .ok_or_else(|| PollError::Watermark {
            name,
            value: value.to_owned(),
            what: "time in seconds",
        })
}

fn count_new(recorded: &[Recorded]) -> usize {
    recorded
        .iter()
        .filter(|it| matches!(it, Recorded::Inserted(_)))
        .count()
}

/// Bodhi's time format: UTC without an offset.
fn bodhi_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn parse_bodhi_time(name: &'static str, value: &str) -> Result<DateTime<Utc>, PollError> {
    NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S")
        .map(|it| it.and_utc())
        .map_err(|_| PollError::Watermark {
            name,
            value: value.to_owned(),
            what: "Bodhi time (YYYY-MM-DD HH:MM:SS)",
        })
}

/// One run of `koji.builds`.
///
/// # Errors
///
/// Koji or the store failed; the watermark did not move.
pub async fn poll_koji_builds(
    store: &Store,
    koji: &KojiClient,
    settings: &PollSettings,
) -> Result<PollReport, PollError> {
    let now = Utc::now();
    let mark = match store
        .watermark(name::KOJI_BUILDS)
        .await?
        .and_then(|it| it.value)
    {
        Some(value) => parse_f64(name::KOJI_BUILDS, &value)?,
        None => seconds(now) - settings.lookback.as_secs_f64(),
    };
    let after = mark - settings.overlap.as_secs_f64();
    let mut newest = mark;
    let mut events: Vec<NewEvent> = Vec::new();
    let mut offset = 0;
    loop {
        let page = koji
            .list_builds(&ListBuilds {
                state: Some(BuildState::Complete),
                complete_after: Some(after),
                order: Some("completion_time".to_owned()),
                limit: Some(PAGE),
                offset: Some(offset),
                ..ListBuilds::default()
            })
            .await?;
        let len = page.len();
        for build in &page {
            if let Some(ts) = build.completion_ts {
                newest = newest.max(ts);
            }
            events.push(normalize::event_from_build(build));
        }
        if i64::try_from(len).unwrap_or(PAGE) < PAGE {
            break;
        }
        offset += PAGE;
    }
    let recorded = store
        .record_poll(&events, Some((name::KOJI_BUILDS, &newest.to_string())))
        .await?;
    Ok(PollReport {
        seen: events.len(),
        new: count_new(&recorded),
    })
}

/// One run of `koji.tags`.
///
/// # Errors
///
/// Koji or the store failed; the watermark did not move.
pub async fn poll_koji_tags(
    store: &Store,
    koji: &KojiClient,
    settings: &PollSettings,
) -> Result<PollReport, PollError> {
    let mark = match store
        .watermark(name::KOJI_TAGS)
        .await?
        .and_then(|it| it.value)
    {
        Some(value) => value.parse::<i64>().map_err(|_| PollError::Watermark {
            name: name::KOJI_TAGS,
            value: value.clone(),
            what: "Koji event id",
        })?,
        None => {
            // First run: start from now, reading the overlap's worth back.
            let last = koji.get_last_event().await?;
            last.id
        }
    };
    let overlap = i64::try_from(settings.koji_event_overlap).unwrap_or(i64::MAX);
    let after = mark.saturating_sub(overlap).max(0);
    let rows = koji
        .tag_history(&TagHistory {
            after_event: Some(after),
            ..TagHistory::default()
        })
        .await?;
    let mut newest = mark;
    let mut events = Vec::new();
    for row in &rows {
        newest = newest.max(row.create_event);
        if let Some(revoke) = row.revoke_event {
            newest = newest.max(revoke);
        }
        events.extend(normalize::events_from_tag_listing(row, after));
    }
    let recorded = store
        .record_poll(&events, Some((name::KOJI_TAGS, &newest.to_string())))
        .await?;
    Ok(PollReport {
        seen: rows.len(),
        new: count_new(&recorded),
    })
}

/// One run of `bodhi.submitted` (`modified` false) or `bodhi.modified`.
///
/// # Errors
///
/// Bodhi or the store failed; the watermark did not move.
pub async fn poll_bodhi(
    store: &Store,
    bodhi: &BodhiClient,
    settings: &PollSettings,
    modified: bool,
) -> Result<PollReport, PollError> {
    let name = if modified {
        name::BODHI_MODIFIED
    } else {
        name::BODHI_SUBMITTED
    };
    let start = Utc::now();
    let mark = match store.watermark(name).await?.and_then(|it| it.value) {
        Some(value) => parse_bodhi_time(name, &value)?,
        None => start - chrono::Duration::from_std(settings.lookback).unwrap_or_default(),
    };
    let since = bodhi_time(mark - chrono::Duration::from_std(settings.overlap).unwrap_or_default());
    // Bodhi compares with whole seconds: the next second bounds the scan so
    // nothing of this second is skipped next time (the overlap re-reads it).
    let before = bodhi_time(start + chrono::Duration::seconds(1));
    let query = if modified {
        UpdateQuery {
            modified_since: Some(since),
            modified_before: Some(before),
            ..UpdateQuery::default()
        }
    } else {
        UpdateQuery {
            submitted_since: Some(since),
            submitted_before: Some(before),
            ..UpdateQuery::default()
        }
    };
    let updates = bodhi.updates(&query).await?;
    let events: Vec<NewEvent> = updates
        .iter()
        .filter_map(normalize::event_from_update)
        .collect();
    let recorded = store
        .record_poll(&events, Some((name, &bodhi_time(start))))
        .await?;
    Ok(PollReport {
        seen: updates.len(),
        new: count_new(&recorded),
    })
}

/// Which poller.
#[derive(Debug, Clone)]
pub enum Source {
    /// `koji.builds` or `koji.tags` (`tags` true).
    Koji {
        /// The hub.
        client: KojiClient,
        /// Tag history rather than builds.
        tags: bool,
    },
    /// `bodhi.submitted` or `bodhi.modified`.
    Bodhi {
        /// Bodhi.
        client: BodhiClient,
        /// By edit time rather than submission time.
        modified: bool,
    },
}

impl Source {
    /// The poller's name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Source::Koji { tags: false, .. } => name::KOJI_BUILDS,
            Source::Koji { tags: true, .. } => name::KOJI_TAGS,
            Source::Bodhi {
                modified: false, ..
            } => name::BODHI_SUBMITTED,
            Source::Bodhi { modified: true, .. } => name::BODHI_MODIFIED,
        }
    }

    /// Run once.
    ///
    /// # Errors
    ///
    /// What failed.
    pub async fn poll(
        &self,
        store: &Store,
        settings: &PollSettings,
    ) -> Result<PollReport, PollError> {
        match self {
            Source::Koji {
                client,
                tags: false,
            } => poll_koji_builds(store, client, settings).await,
            Source::Koji { client, tags: true } => poll_koji_tags(store, client, settings).await,
            Source::Bodhi { client, modified } => {
                poll_bodhi(store, client, settings, *modified).await
            }
        }
    }
}

/// A poller running every `interval`.
#[derive(Debug, Clone)]
pub struct Poller {
    /// What it asks.
    pub source: Source,
    /// How often.
    pub interval: Duration,
    /// Overlaps and first-run lookback.
    pub settings: PollSettings,
    /// The store.
    pub store: Store,
    /// Where counts go.
    pub metrics: Arc<SchedulerMetrics>,
    /// Fired when a run found something new.
    pub wake: Arc<Notify>,
}

impl Poller {
    /// Run once, recording the outcome (and a failure in the store).
    pub async fn run_once(&self) -> Result<PollReport, PollError> {
        let name = self.source.name();
        let outcome = self.source.poll(&self.store, &self.settings).await;
        self.metrics.poller_run(name, outcome.is_ok());
        match &outcome {
            Ok(report) => {
                self.metrics
                    .poller_found
                    .get_or_create(&crate::metrics::Poller {
                        poller: name.to_owned(),
                    })
                    .inc_by(report.new as u64);
                self.metrics
                    .poller(&self.metrics.last_ok, name, Utc::now().timestamp());
                if let Ok(Some(mark)) = self.store.watermark(name).await
                    && let Some(value) = mark.value
                {
                    let gauge = value.parse::<f64>().ok().or_else(|| {
                        parse_bodhi_time(name::BODHI_MODIFIED, &value)
                            .ok()
                            .map(|it| it.timestamp() as f64)
                    });
                    if let Some(gauge) = gauge {
                        self.metrics
                            .poller(&self.metrics.watermark, name, gauge as i64);
                    }
                }
                if report.new > 0 {
                    tracing::info!(
                        poller = name,
                        seen = report.seen,
                        new = report.new,
                        "poller found events no message announced"
                    );
                    self.wake.notify_one();
                } else {
                    tracing::debug!(
                        poller = name,
                        seen = report.seen,
                        "poller found nothing new"
                    );
                }
            }
            Err(err) => {
                tracing::warn!(poller = name, error = %err, "poller run failed");
                if let Err(store_err) = self.store.record_poll_failure(name, &err.to_string()).await
                {
                    tracing::warn!(poller = name, error = %store_err, "cannot record the poller's failure");
                }
            }
        }
        outcome
    }

    /// Run at once, then every `interval`, until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(poller = self.source.name(), interval = ?self.interval, "poller started");
        loop {
            let _ = self.run_once().await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}
