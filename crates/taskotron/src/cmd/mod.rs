//! One module per subcommand.

pub(crate) mod check;
pub(crate) mod check_config;
pub(crate) mod check_formula;
pub(crate) mod decision;
pub(crate) mod fake_infra;
pub(crate) mod migrate;
pub(crate) mod policies;
pub(crate) mod repos;
pub(crate) mod result;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod vercmp;
pub(crate) mod worker;
