//! The `taskotron` command: one binary whose subcommands are Taskotron's roles.

mod cmd;
mod display;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Taskotron: QA automation for RPM-based distributions.
///
/// Runs checks on Koji builds, Bodhi updates and other items, stores the
/// results in a ResultsDB-compatible service and turns them into gating
/// decisions.
#[derive(Debug, Parser)]
#[command(
    name = "taskotron",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// The configuration file (TOML). Without it, TASKOTRON_CONFIG is read,
    /// and without that the built-in defaults apply.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (web UI and APIs) on its configured address.
    Serve(cmd::serve::Args),
    /// Run a task formula on this machine, exactly as production runs it.
    Run(cmd::run::Args),
    /// Append one result to a ResultYAML file (for shell tasks).
    Result(cmd::result::Args),
    /// Check a configuration file and print what is wrong with it.
    CheckConfig(cmd::check_config::Args),
    /// Check a task formula without running it.
    CheckFormula(cmd::check_formula::Args),
    /// Create or update the database schema (serve also does it on start).
    Migrate(cmd::migrate::Args),
    /// Serve a local Koji hub, kojipkgs tree and Bodhi over a directory of RPMs.
    FakeInfra(cmd::fake_infra::Args),
    /// Show the package repositories a Koji tag stands for (yumrepoinfo).
    Repos(cmd::repos::Args),
    /// Ask a server for a gating decision and print it in words.
    Decision(cmd::decision::Args),
    /// Gating policies (Greenwave's format): check them.
    Policies(cmd::policies::Args),
    /// Run a built-in check (depcheck, …) on local packages and repositories.
    #[command(subcommand)]
    Check(cmd::check::Command),
    /// Compare two versions ([epoch:]version[-release]) as rpm does.
    Vercmp(cmd::vercmp::Args),
    /// Lease jobs from a server and run them on this machine.
    Worker(cmd::worker::Args),
    /// Tell a running server that a build, update or other event happened.
    Trigger(cmd::trigger::Args),
    /// Trigger rules: check a file, or see what an event would plan.
    #[command(subcommand)]
    Rules(cmd::rules::Command),
    /// List a server's events (what the scheduler learnt), or show one.
    Events(cmd::inspect::EventsArgs),
    /// List, show, re-run or cancel a server's jobs.
    #[command(subcommand)]
    Jobs(cmd::inspect::JobsCommand),
    /// List the workers a server knows.
    Workers(cmd::inspect::PlainArgs),
    /// Print (or with --run, run here) the `taskotron run` command that
    /// runs a job's check as its worker did.
    Reproduce(cmd::reproduce::Args),
    /// The scheduler's state (events by state, pollers and their
    /// watermarks), or with ITEM that item's expected-results ledger.
    Status(cmd::inspect::StatusArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let code = match cli.command {
        Command::Serve(args) => cmd::serve::main(cli.config.as_deref(), args),
        Command::Run(args) => cmd::run::main(cli.config.as_deref(), args),
        Command::Reproduce(args) => cmd::reproduce::main(cli.config.as_deref(), args),
        Command::Result(args) => cmd::result::main(args),
        Command::CheckConfig(args) => cmd::check_config::main(args),
        Command::CheckFormula(args) => cmd::check_formula::main(args),
        Command::Migrate(args) => cmd::migrate::main(cli.config.as_deref(), args),
        Command::FakeInfra(args) => cmd::fake_infra::main(args),
        Command::Repos(args) => cmd::repos::main(cli.config.as_deref(), args),
        Command::Vercmp(args) => cmd::vercmp::main(args),
        Command::Check(command) => cmd::check::main(cli.config.as_deref(), command),
        Command::Worker(args) => cmd::worker::main(cli.config.as_deref(), args),
        Command::Policies(args) => cmd::policies::main(args),
        Command::Decision(args) => cmd::decision::main(cli.config.as_deref(), args),
        Command::Trigger(args) => cmd::trigger::main(cli.config.as_deref(), args),
        Command::Rules(command) => cmd::rules::main(cli.config.as_deref(), command),
        Command::Events(args) => cmd::inspect::events(cli.config.as_deref(), args),
        Command::Jobs(command) => cmd::inspect::jobs(cli.config.as_deref(), command),
        Command::Workers(args) => cmd::inspect::workers(cli.config.as_deref(), args),
        Command::Status(args) => cmd::inspect::status(cli.config.as_deref(), args),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Logs go to stderr; `RUST_LOG` filters them, `TASKOTRON_LOG_FORMAT=json`
/// makes them JSON lines.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("TASKOTRON_LOG_FORMAT").is_ok_and(|it| it == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Print an error with its whole chain, as every subcommand does on failure.
fn report_error(err: &anyhow::Error) {
    #[expect(clippy::print_stderr, reason = "the command's own error output")]
    {
        eprintln!("error: {err:#}");
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
