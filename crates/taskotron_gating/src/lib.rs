//! Gating: policies in Greenwave's YAML format, and (later) the decisions
//! made from results and waivers.
//!
//! [`parse_policies`] reads a policy file (a stream of `--- !Policy`
//! documents) and returns every [`Policy`], or every problem at once with
//! its line and column. [`Policy::applies`] says whether a policy applies to
//! a decision context, product version, subject type and package, with
//! Greenwave's glob matching ([`fnmatch`]).
//!
//! Architecture invariant: pure domain code, no IO; parsing never panics.

mod glob;
mod policy;

pub use glob::{any_match, fnmatch};
pub use policy::{Applies, Origin, Policy, Rule, parse_policies};
