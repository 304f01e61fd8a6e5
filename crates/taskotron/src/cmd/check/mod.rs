//! `taskotron check`: the built-in checks, run on local inputs.

mod depcheck;
mod rpmlint;
mod upgradepath;

use std::path::Path;

/// The built-in checks.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Decide whether packages are installable against repositories.
    Depcheck(depcheck::Args),
    /// Check that an update's builds keep the upgrade path between releases.
    Upgradepath(upgradepath::Args),
    /// Run rpmlint on packages and summarise its findings per package.
    Rpmlint(rpmlint::Args),
}

pub(crate) fn main(config: Option<&Path>, command: Command) -> i32 {
    match command {
        Command::Depcheck(args) => depcheck::main(config, args),
        Command::Upgradepath(args) => upgradepath::main(config, args),
        Command::Rpmlint(args) => rpmlint::main(config, args),
    }
}
