//! `taskotron check depcheck`.

use std::path::Path;

/// `taskotron check depcheck`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn main(_config: Option<&Path>, _args: Args) -> i32 {
    crate::report_error(&anyhow::anyhow!("depcheck is not built yet"));
    2
}
