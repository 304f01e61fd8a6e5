//! One module per subcommand.

pub(crate) mod check;
pub(crate) mod check_config;
pub(crate) mod check_formula;
pub(crate) mod client;
pub(crate) mod decision;
pub(crate) mod fake_infra;
pub(crate) mod inspect;
pub(crate) mod job_files;
pub(crate) mod migrate;
pub(crate) mod policies;
pub(crate) mod repos;
pub(crate) mod reproduce;
pub(crate) mod result;
pub(crate) mod rules;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod serve_pool;
pub(crate) mod trigger;
pub(crate) mod vercmp;
pub(crate) mod worker;
