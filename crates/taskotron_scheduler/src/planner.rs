//! The planner: new events in, jobs out, in the store's transactions.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use taskotron_store::events::{EventPlan, PendingEvent, PlanJob, Planned};
use taskotron_store::jobs::{JobKey, NewJob, Requirements};
use taskotron_store::{Store, StoreError};
use taskotron_triggers::{Fact, PlanContext, PlannedJob, RuleSet};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::discover::{Discovered, Discoverer};
use crate::metrics::SchedulerMetrics;

/// Events planned per transaction.
pub const BATCH: u32 = 1000;

/// Where check revisions come from.
#[derive(Debug, Clone, Default)]
pub struct Revisions {
    /// The formulas, found as the worker finds them
    /// ([`taskotron_worker::find_formula`]); without a directory every
    /// check has revision `1`.
    pub tasks_dir: Option<PathBuf>,
}

impl Revisions {
    /// The revision of `task`: the first 12 hex digits of its formula's
    /// SHA-256, so that changing a formula makes new job keys.
    ///
    /// # Errors
    ///
    /// Why the task has no formula.
    pub fn of(&self, task: &str) -> Result<String, String> {
        let Some(dir) = &self.tasks_dir else {
            return Ok("1".to_owned());
        };
        // The same formula the worker will run: `<dir>/<check>/` or, without
        // the namespace, `<dir>/<name>/`.
        let path = taskotron_worker::find_formula(dir, task)?;
        let bytes = std::fs::read(&path)
            .map_err(|err| format!("task {task}: cannot read {}: {err}", path.display()))?;
        let digest = Sha256::digest(&bytes);
        Ok(digest.iter().take(6).map(|b| format!("{b:02x}")).collect())
    }
}

/// Turns new events into jobs.
#[derive(Debug, Clone)]
pub struct Planner {
    /// The store.
    pub store: Store,
    /// The rules.
    pub rules: Arc<RuleSet>,
    /// Architectures and the like.
    pub context: PlanContext,
    /// Check revisions.
    pub revisions: Revisions,
    /// Attempts each job gets.
    pub max_attempts: u32,
    /// Where counts go.
    pub metrics: Arc<SchedulerMetrics>,
    /// Woken (all waiters) when planning inserted jobs: the workers' long
    /// polls.
    pub jobs_wake: Arc<Notify>,
    /// Runs the rules' `discover` actions.
    pub discoverer: Discoverer,
}

/// How long after its arrival an event whose discovery fails (a repository
/// that cannot be reached) is tried again before it is planned without.
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(3600);

/// Discoveries already run in this batch, by what they asked.
type DiscoveryCache =
    BTreeMap<(String, String, Option<String>, bool), Result<Option<Discovered>, String>>;

/// What one event asks for, as the store takes it; `None` when a discovery
/// failed and the event should be tried again later.
async fn plan_one(
    planner: &Planner,
    event: &PendingEvent,
    revisions: &mut BTreeMap<String, Result<String, String>>,
    discoveries: &mut DiscoveryCache,
) -> Option<(Vec<PlanJob>, Option<String>)> {
    let fact = match Fact::from_json(event.fact.clone()) {
        Ok(it) => it,
        Err(err) => return Some((Vec::new(), Some(format!("cannot plan: {err}")))),
    };
    let plan = taskotron_triggers::plan(&planner.rules, &fact, &planner.context);
    let mut notes = plan.notes;
    notes.extend(plan.excluded);
    if plan.matched.is_empty() {
        notes.push("no rule matched".to_owned());
    }
    let retrigger = fact.is_retrigger();
    let mut discovered_jobs = Vec::new();
    for discovery in &plan.discoveries {
        let key = (
            discovery.repo.clone(),
            discovery.branch.clone(),
            discovery.fallback_branch.clone(),
            discovery.recursive,
        );
        if !discoveries.contains_key(&key) {
            let outcome = planner.discoverer.discover(discovery).await;
            discoveries.insert(key.clone(), outcome);
        }
        match &discoveries[&key] {
            Ok(Some(found)) => {
                for problem in &found.problems {
                    notes.push(format!("{}: {}: {problem}", discovery.rule, discovery.repo));
                }
                if found.formulas.is_empty() {
                    notes.push(format!(
                        "{}: no formula in {} at {}",
                        discovery.rule, discovery.repo, found.branch
                    ));
                }
                let revision: String = found.commit.chars().take(12).collect();
                for formula in &found.formulas {
                    let source = serde_json::json!({
                        "repo": discovery.repo,
                        "commit": found.commit,
                        "path": formula.path,
                    })
                    .to_string();
                    for arch in &discovery.arches {
                        let job = PlannedJob {
                            task: formula.check.clone(),
                            arch: arch.clone(),
                            item_type: fact.item_type().to_owned(),
                            item: fact.item().to_owned(),
                            item_revision: fact.item_revision().to_owned(),
                            priority: 0,
                            debounce: None,
                            match_host_arch: false,
                            labels: Vec::new(),
                            rule: discovery.rule.clone(),
                        };
                        let mut planned =
                            plan_job(&job, &revision, planner.max_attempts, retrigger);
                        planned.source = Some(source.clone());
                        discovered_jobs.push(planned);
                    }
                }
            }
            Ok(None) => notes.push(format!(
                "{}: {} does not exist or has no branch {}{}",
                discovery.rule,
                discovery.repo,
                discovery.branch,
                discovery
                    .fallback_branch
                    .as_ref()
                    .map(|it| format!(" nor {it}"))
                    .unwrap_or_default()
            )),
            Err(why) => {
                let age = crate::pollers::now_micros().saturating_sub(event.received_at);
                if u128::try_from(age).unwrap_or(0) < DISCOVERY_RETRY.as_micros() {
                    tracing::warn!(event = %event.uuid, error = %why, "discovery failed; the event waits for the next try");
                    return None;
                }
                notes.push(format!("{}: gave up discovering: {why}", discovery.rule));
            }
        }
    }
    Some(finish(
        planner,
        &plan.jobs,
        discovered_jobs,
        notes,
        retrigger,
        revisions,
    ))
}

/// The jobs and notes of an event from the rules' jobs (each needs its
/// check's revision) and the jobs discovery found.
fn finish(
    planner: &Planner,
    planned: &[PlannedJob],
    discovered_jobs: Vec<PlanJob>,
    mut notes: Vec<String>,
    retrigger: bool,
    revisions: &mut BTreeMap<String, Result<String, String>>,
) -> EventPlan {
    let mut jobs = Vec::with_capacity(planned.len() + discovered_jobs.len());
    for job in planned {
        let revision = revisions
            .entry(job.task.clone())
            .or_insert_with(|| planner.revisions.of(&job.task));
        match revision {
            Ok(revision) => jobs.push(plan_job(job, revision, planner.max_attempts, retrigger)),
            Err(why) => {
                if !notes.contains(why) {
                    notes.push(why.clone());
                }
            }
        }
    }
    jobs.extend(discovered_jobs);
    let notes = (!notes.is_empty()).then(|| notes.join("; "));
    (jobs, notes)
}

impl Planner {
    /// Plan an event on arrival, as [`Planner::plan_pending`] would plan it
    /// later, unless its rules ask for a discovery (which talks to git and
    /// is left to the planner): `None` then.
    #[must_use]
    pub fn plan_on_arrival(
        &self,
        fact: &serde_json::Value,
        revisions: &mut BTreeMap<String, Result<String, String>>,
    ) -> Option<EventPlan> {
        let fact = match Fact::from_json(fact.clone()) {
            Ok(it) => it,
            Err(err) => return Some((Vec::new(), Some(format!("cannot plan: {err}")))),
        };
        let plan = taskotron_triggers::plan(&self.rules, &fact, &self.context);
        if !plan.discoveries.is_empty() {
            return None;
        }
        let mut notes = plan.notes;
        notes.extend(plan.excluded);
        if plan.matched.is_empty() {
            notes.push("no rule matched".to_owned());
        }
        Some(finish(
            self,
            &plan.jobs,
            Vec::new(),
            notes,
            fact.is_retrigger(),
            revisions,
        ))
    }

    /// Count what planning did, per event, and wake the workers when jobs
    /// were inserted.
    pub fn count(&self, planned: &[Option<Planned>]) -> usize {
        let mut count = 0;
        let mut inserted = 0;
        for outcome in planned.iter().flatten() {
            count += 1;
            inserted += outcome.inserted.len();
            self.metrics.job("inserted", outcome.inserted.len());
            self.metrics.job("existing", outcome.existing.len());
            self.metrics.job("debounced", outcome.debounced.len());
        }
        self.metrics.events_planned.inc_by(count as u64);
        if inserted > 0 {
            self.jobs_wake.notify_waiters();
        }
        count
    }
}

fn plan_job(job: &PlannedJob, revision: &str, max_attempts: u32, rerun: bool) -> PlanJob {
    PlanJob {
        job: NewJob {
            key: JobKey {
                check: job.task.clone(),
                check_revision: revision.to_owned(),
                item_type: job.item_type.clone(),
                item: job.item.clone(),
                item_revision: job.item_revision.clone(),
                arch: job.arch.clone(),
                rerun: 0,
            },
            priority: job.priority,
            delay: Duration::ZERO,
            requires: Requirements {
                arch: job.match_host_arch.then(|| job.arch.clone()),
                sandbox: None,
                labels: job.labels.clone(),
            },
            max_attempts: max_attempts.max(1),
        },
        debounce: job.debounce,
        rerun,
        source: None,
    }
}

impl Planner {
    /// Plan up to [`BATCH`] new events in one transaction; answers how many
    /// this planner planned (others may have taken some).
    ///
    /// # Errors
    ///
    /// A store error; nothing of the batch is planned then.
    pub async fn plan_pending(&self) -> Result<usize, StoreError> {
        let events = self.store.new_events(BATCH).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let mut revisions = BTreeMap::new();
        let mut discoveries = DiscoveryCache::new();
        let mut batch: Vec<(i64, Vec<PlanJob>, Option<String>)> = Vec::with_capacity(events.len());
        let mut taken = Vec::with_capacity(events.len());
        for event in &events {
            if let Some((jobs, notes)) =
                plan_one(self, event, &mut revisions, &mut discoveries).await
            {
                batch.push((event.id, jobs, notes));
                taken.push(event);
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let planned = self.store.plan_events(&batch).await?;
        for (event, outcome) in taken.iter().zip(&planned) {
            let Some(outcome) = outcome else { continue };
            tracing::debug!(
                event = %event.uuid,
                inserted = outcome.inserted.len(),
                existing = outcome.existing.len(),
                debounced = outcome.debounced.len(),
                "event planned"
            );
        }
        Ok(self.count(&planned))
    }

    /// Plan until `shutdown`: at once when `wake` fires, and every second
    /// for events other servers recorded.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        tracing::info!(rules = self.rules.rules.len(), "planner started");
        let mut failures = 0u32;
        loop {
            match self.plan_pending().await {
                Ok(planned) if planned > 0 => {
                    failures = 0;
                    continue;
                }
                Ok(_) => failures = 0,
                Err(err) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %err, failures, "planning failed; retrying");
                }
            }
            let pause = Duration::from_millis(if failures > 0 {
                (500 * u64::from(failures)).min(10_000)
            } else {
                1_000
            });
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("planner stopped");
    }
}
