//! `taskotron check upgradepath`.

use std::path::Path;

/// `taskotron check upgradepath`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn main(_config: Option<&Path>, _args: Args) -> i32 {
    crate::report_error(&anyhow::anyhow!("upgradepath is not built yet"));
    2
}
