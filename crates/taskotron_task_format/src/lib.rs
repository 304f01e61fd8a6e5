//! Task formulas and ResultYAML, the two documents a task author writes and reads.
//!
//! - [`formula`]: libtaskotron's task formula (`runtask.yml`): parsed and validated
//!   whole before anything runs, every problem reported at once with file, line
//!   and column ([`parse_formula`]).
//! - [`result_yaml`]: the results every task produces: validation against the
//!   outcome ladder and reserved keys, and emission ([`parse_results`]).
//! - [`vars`]: `$var`/`${var.attr}` substitution with Python `string.Template` syntax.
//! - [`directives`]: the parameter table of every directive, shared by the
//!   validator and the runner.
//!
//! Architecture invariant: no IO. Callers hand in text and get values or
//! [`Diagnostics`] back; nothing here panics on any input (fuzzed, see
//! `fuzz/` and docs/testing.md).

pub mod diagnostic;
pub mod directives;
pub mod formula;
pub mod result_yaml;
pub mod vars;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics, Pos};
pub use formula::{Action, Environment, Formula, RUNNER_VARS, ValidateOptions, parse_formula};
pub use result_yaml::{ResultYaml, TaskResult, parse_results};
