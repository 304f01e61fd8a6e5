//! `taskotron-bench`: the ResultsDB API benchmarks (not shipped).
//!
//! - `seed` builds a large data set directly through `taskotron_store`
//!   (SQLite data directory or a PostgreSQL schema), resumable and reusable;
//! - `load` drives a running `taskotron serve` with one scenario at a fixed
//!   concurrency and prints latency percentiles and requests per second;
//! - `report` turns several rounds of `load` output into a Markdown table with
//!   ratios against the reference ResultsDB;
//! - `scheduler` measures the scheduler's intake and planner, and `queue`
//!   the job queue through the worker protocol.
//!
//! `scripts/bench-resultsdb` runs the whole thing; docs/benchmarks.md has the
//! method and the figures.

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its report goes to stdout"
)]

mod http;
mod load;
mod payload;
mod queue;
mod report;
mod scheduler;
mod seed;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "taskotron-bench",
    about = "Benchmarks of Taskotron's ResultsDB API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build (or reuse, trimming what benchmarks added) the data set.
    Seed(seed::SeedArgs),
    /// Run one load scenario against a server and report on it.
    Load(load::LoadArgs),
    /// Summarise `load` reports (medians of the rounds) as a Markdown table.
    Report(report::ReportArgs),
    /// The scheduler: messages per second from RabbitMQ to events and jobs,
    /// and publish-to-job latency at a steady rate.
    Scheduler(scheduler::SchedulerArgs),
    /// The job queue: claim+complete cycles per second with concurrent
    /// workers through the worker protocol, and enqueue-to-lease latency.
    Queue(queue::QueueArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Seed(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(seed::run(args)),
        // One thread: the load generator must leave the CPUs to the server.
        Command::Load(args) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(load::run(args)),
        Command::Report(args) => report::run(args),
        Command::Scheduler(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(scheduler::run(args)),
        Command::Queue(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(queue::run(args)),
    }
}
