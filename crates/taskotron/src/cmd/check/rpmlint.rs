//! `taskotron check rpmlint`.

use std::path::Path;

/// `taskotron check rpmlint`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn main(_config: Option<&Path>, _args: Args) -> i32 {
    crate::report_error(&anyhow::anyhow!("rpmlint is not built yet"));
    2
}
