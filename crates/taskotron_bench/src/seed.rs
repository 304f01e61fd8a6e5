//! `taskotron-bench seed`: build the benchmark's data set directly through
//! the store, in large transactions.
//!
//! Result `i` (from 0) is generated from its own random stream, so a seeding
//! that was interrupted resumes where its last committed batch ended, and a
//! store that benchmarks posted to is trimmed back to the seeded results.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use taskotron_store::Store;
use taskotron_store::resultsdb::{BulkExtent, GroupUpdate, NewResult};

use crate::payload::{self, Rng};

/// 2025-01-01T00:00:00Z, in microseconds: the seeded year starts here.
const YEAR_START: i64 = 1_735_689_600 * 1_000_000;
/// 365 days, in microseconds.
const YEAR: i64 = 365 * 24 * 3600 * 1_000_000;

const STREAM_RESULT: u64 = 1;
const STREAM_GROUP: u64 = 2;

/// Where and what to seed.
#[derive(Debug, clap::Args)]
pub(crate) struct SeedArgs {
    /// Seed the SQLite store in this data directory.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "postgres",
        required_unless_present = "postgres"
    )]
    sqlite: Option<PathBuf>,
    /// Seed this PostgreSQL database (in --schema).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// The PostgreSQL schema to seed.
    #[arg(long, default_value = "bench")]
    schema: String,
    /// How many results.
    #[arg(long, default_value_t = 1_000_000)]
    results: u64,
    /// How many distinct items (`pkg00000-1.2-3.fc41` …).
    #[arg(long, default_value_t = 100_000)]
    items: u64,
    /// Results per group.
    #[arg(long, default_value_t = 5)]
    group_size: u64,
    /// Results per transaction.
    #[arg(long, default_value_t = 20_000)]
    batch: u64,
    /// The random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Skip what the database would do after a bulk load by itself
    /// (PostgreSQL: VACUUM ANALYZE; SQLite: a WAL checkpoint).
    #[arg(long)]
    no_finish: bool,
}

pub(crate) async fn run(args: SeedArgs) -> anyhow::Result<()> {
    if args.results == 0 || args.group_size == 0 || args.items == 0 {
        bail!("--results, --items and --group-size must be positive");
    }
    let store = match (&args.sqlite, &args.postgres) {
        (Some(dir), _) => Store::open_sqlite(dir).await,
        (None, Some(url)) => Store::open_postgres(url, Some(&args.schema)).await,
        (None, None) => bail!("give --sqlite DIR or --postgres URL"),
    }
    .context("cannot open the store")?;
    let want = BulkExtent {
        max_result_id: i64::try_from(args.results)?,
        max_group_id: i64::try_from(args.results.div_ceil(args.group_size))?,
    };
    let found = store.bulk_extent().await?;
    let mut out = std::io::stderr();
    if found.max_result_id >= want.max_result_id {
        if found.max_group_id < want.max_group_id {
            bail!(
                "{} holds {} results but only {} groups: not a store this seeder made; use an empty one",
                store.describe(),
                found.max_result_id,
                found.max_group_id
            );
        }
        let trimmed = store.truncate_bulk(want).await?;
        // What the trim left behind (PostgreSQL's dead rows, at the newest
        // end of the time index where every list starts) is cleaned as
        // autovacuum would, so that each round starts from the same store.
        if trimmed > 0 && !args.no_finish {
            store.finish_bulk_load().await?;
        }
        writeln!(
            out,
            "reusing {} ({} results; removed {trimmed} added since)",
            store.describe(),
            want.max_result_id
        )?;
        store.close().await;
        return Ok(());
    }
    // Batches are whole groups, so a resumed seeding starts on a group boundary.
    let batch = args.batch.max(1).div_ceil(args.group_size) * args.group_size;
    let mut next = u64::try_from(found.max_result_id)?;
    if next % args.group_size != 0 || found.max_group_id != i64::try_from(next / args.group_size)? {
        bail!(
            "{} holds {} results in {} groups: not a store this seeder made; use an empty one",
            store.describe(),
            found.max_result_id,
            found.max_group_id
        );
    }
    if next > 0 {
        writeln!(out, "resuming {} after result {next}", store.describe())?;
    }
    let tty = out.is_terminal();
    let started = Instant::now();
    let first = next;
    let mut last_line = 0;
    while next < args.results {
        let end = (next + batch).min(args.results);
        let results: Vec<NewResult> = (next..end).map(|i| result(&args, i)).collect();
        let ids = store.create_results_bulk(&results).await?;
        if ids.first() != Some(&(i64::try_from(next)? + 1)) {
            bail!(
                "the store gave ids from {:?}, expected {}",
                ids.first(),
                next + 1
            );
        }
        next = end;
        let done = next - first;
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let eta = (args.results - next) as f64 / rate.max(1.0);
        let line = format!(
            "seeded {next}/{} results ({:.0}%), {rate:.0}/s, {eta:.0} s left",
            args.results,
            next as f64 * 100.0 / args.results as f64
        );
        if tty {
            write!(out, "\r{line}   ")?;
        } else if next * 10 / args.results > last_line || next == args.results {
            last_line = next * 10 / args.results;
            writeln!(out, "{line}")?;
        }
    }
    if tty {
        writeln!(out)?;
    }
    if !args.no_finish {
        writeln!(out, "finishing the load (PostgreSQL: VACUUM ANALYZE)…")?;
        store.finish_bulk_load().await?;
    }
    writeln!(
        out,
        "seeded {} with {} results in {:.1} s",
        store.describe(),
        args.results - first,
        started.elapsed().as_secs_f64()
    )?;
    store.close().await;
    Ok(())
}

/// Result `i` of the data set.
fn result(args: &SeedArgs, i: u64) -> NewResult {
    let group_no = i / args.group_size;
    let group = Rng::stream(args.seed, STREAM_GROUP, group_no).uuid();
    let mut rng = Rng::stream(args.seed, STREAM_RESULT, i);
    let sample = payload::sample(
        &mut rng,
        args.items,
        &group,
        i % args.group_size + 1,
        payload::SCENARIO_SHARE,
    );
    // Spread over the year in id order, each in its own slot.
    let slot = YEAR / i64::try_from(args.results).unwrap_or(i64::MAX).max(1);
    let i = i64::try_from(i).unwrap_or(i64::MAX);
    let jitter = i64::try_from(rng.below(u64::try_from(slot).unwrap_or(1).max(1))).unwrap_or(0);
    NewResult {
        testcase: sample.testcase.to_owned(),
        testcase_ref_url: Some(Some(payload::testcase_ref_url(sample.testcase))),
        outcome: sample.outcome.to_owned(),
        note: Some(sample.note),
        ref_url: Some(sample.ref_url),
        submit_time: YEAR_START + i * slot + jitter,
        groups: vec![GroupUpdate {
            uuid: group,
            description: None,
            ref_url: None,
        }],
        data: sample
            .data
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    }
}
